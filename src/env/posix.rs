//! The real file system: `std::fs` plus `fcntl` record locks and directory fsync from libc.

use super::{FileLock, FileSyncer, FileSystem, MappedFile, RandomAccessFile, WritableFile};
use crate::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The operating system's file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct PosixFs;

impl FileSystem for PosixFs {
    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))
    }

    fn create_dir(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir(dir).map_err(|e| Error::io("create directory", dir, e))
    }

    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| Error::io("create", path, e))?;
        Ok(Box::new(PosixWritable {
            file: Arc::new(file),
            path: path.to_path_buf(),
            len: 0,
        }))
    }

    fn open_random(&self, path: &Path) -> Result<Arc<dyn RandomAccessFile>> {
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat", path, e))?
            .len();
        Ok(Arc::new(PosixRandom {
            file,
            path: path.to_path_buf(),
            len,
        }))
    }

    fn open_sequential(&self, path: &Path) -> Result<Box<dyn Read + Send>> {
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        Ok(Box::new(file))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        std::fs::rename(from, to).map_err(|e| Error::io("rename", from, e))
    }

    fn remove(&self, path: &Path) -> Result<()> {
        std::fs::remove_file(path).map_err(|e| Error::io("remove", path, e))
    }

    fn hard_link(&self, from: &Path, to: &Path) -> Result<()> {
        std::fs::hard_link(from, to).map_err(|e| Error::io("hard-link", from, e))
    }

    fn remove_dir(&self, dir: &Path) -> Result<()> {
        std::fs::remove_dir(dir).map_err(|e| Error::io("remove directory", dir, e))
    }

    fn list(&self, dir: &Path) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))? {
            let entry = entry.map_err(|e| Error::io("list", dir, e))?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_string());
            }
        }
        Ok(names)
    }

    fn sync_dir(&self, dir: &Path) -> Result<()> {
        // The empty path is the parent of a bare name: the working directory.
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let handle = File::open(dir).map_err(|e| Error::io("open directory", dir, e))?;
        handle
            .sync_all()
            .map_err(|e| Error::io("fsync directory", dir, e))
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn lock(&self, path: &Path) -> Result<Box<dyn FileLock>> {
        // The lock is an fcntl record lock, as LevelDB's: unlike an flock it belongs to the
        // process, so a child forked while the database is open does not keep holding it
        // after the parent closed (an flock lives in the file description the child
        // inherits, until the child exits). fcntl locks do not exclude a second open in the
        // same process, and closing any descriptor of the file drops them, so this process
        // keeps its own table of held locks and consults it before opening the file.
        let dir = path.parent().unwrap_or(path);
        let canonical = std::fs::canonicalize(dir)
            .map_err(|e| Error::io("resolve the directory of", path, e))?
            .join(path.file_name().unwrap_or_default());
        if !held_locks().insert(canonical.clone()) {
            return Err(Error::Locked(dir.to_path_buf()));
        }
        let unregister = |e| {
            held_locks().remove(&canonical);
            e
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| unregister(Error::io("open lock file", path, e)))?;
        // SAFETY: an all-zero `flock` is a valid value of this plain C struct; the fields
        // that matter are set below.
        let mut request: libc::flock = unsafe { std::mem::zeroed() };
        request.l_type = libc::F_WRLCK as libc::c_short;
        request.l_whence = libc::SEEK_SET as libc::c_short;
        // l_start = 0, l_len = 0: the whole file.
        // SAFETY: the descriptor is valid for the call (owned by `file`) and `request` is a
        // valid `flock` that outlives it.
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &request) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            drop(file);
            return Err(unregister(match err.raw_os_error() {
                Some(libc::EACCES | libc::EAGAIN) => Error::Locked(dir.to_path_buf()),
                _ => Error::io("lock", path, err),
            }));
        }
        Ok(Box::new(PosixLock {
            file: Some(file),
            canonical,
        }))
    }
}

/// Lock files this process holds (canonical paths): see [`PosixFs::lock`].
fn held_locks() -> std::sync::MutexGuard<'static, std::collections::HashSet<PathBuf>> {
    static HELD: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<PathBuf>>> =
        std::sync::OnceLock::new();
    HELD.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug)]
struct PosixWritable {
    /// Shared with the file's syncers, which fsync it from other threads.
    file: Arc<File>,
    path: PathBuf,
    len: u64,
}

impl WritableFile for PosixWritable {
    fn append(&mut self, data: &[u8]) -> Result<()> {
        (&*self.file)
            .write_all(data)
            .map_err(|e| Error::io("write", &self.path, e))?;
        self.len += data.len() as u64;
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        sync_data(&self.file, &self.path)
    }

    fn len(&self) -> u64 {
        self.len
    }

    #[cfg(not(target_os = "linux"))]
    fn preallocate(&mut self, _len: u64) -> bool {
        false
    }

    #[cfg(target_os = "linux")]
    fn preallocate(&mut self, len: u64) -> bool {
        let Ok(len) = libc::off_t::try_from(len) else {
            return false;
        };
        // Mode 0, not FALLOC_FL_KEEP_SIZE: the size must change now, once, rather than with
        // every append (measured: an append and fdatasync into reserved space of a grown
        // file took 38-44 µs here, against 50-66 µs growing the file and 55-58 µs with
        // KEEP_SIZE). Appends go through the descriptor's own offset, which stays at `len`
        // bytes appended, not at the new end.
        // SAFETY: a plain system call on a descriptor `self.file` owns.
        unsafe { libc::fallocate(self.file.as_raw_fd(), 0, 0, len) == 0 }
    }

    fn truncate_to_appended(&mut self) -> Result<()> {
        self.file
            .set_len(self.len)
            .map_err(|e| Error::io("truncate", &self.path, e))
    }

    fn syncer(&self) -> Option<Arc<dyn FileSyncer>> {
        Some(Arc::new(PosixSyncer {
            file: Arc::clone(&self.file),
            path: self.path.clone(),
        }))
    }
}

fn sync_data(file: &File, path: &Path) -> Result<()> {
    file.sync_data().map_err(|e| Error::io("fsync", path, e))
}

/// fdatasync of a file being appended to, from any thread.
#[derive(Debug)]
struct PosixSyncer {
    file: Arc<File>,
    path: PathBuf,
}

impl FileSyncer for PosixSyncer {
    fn sync(&self) -> Result<()> {
        sync_data(&self.file, &self.path)
    }
}

#[derive(Debug)]
struct PosixRandom {
    file: File,
    path: PathBuf,
    len: u64,
}

impl RandomAccessFile for PosixRandom {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        // FileExt::read_exact_at loops over short preads and reports EOF as an error.
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| Error::io("read", &self.path, e))
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn map(&self) -> Result<Option<Arc<MappedFile>>> {
        if self.len == 0 {
            return Ok(None); // an empty mapping is an error, and there is nothing to read
        }
        // SAFETY: the mapping is read-only and only ever read as bytes. The file is an
        // sstable: written once, fsynced and never modified or truncated afterwards
        // (toykv only creates and unlinks tables, and an unlinked file stays mapped), so
        // the bytes cannot change under the reader. Another process writing to the
        // database's files is outside the contract (the LOCK file keeps other toykv
        // processes out).
        let map = unsafe { memmap2::Mmap::map(&self.file) }
            .map_err(|e| Error::io("mmap", &self.path, e))?;
        Ok(Some(Arc::new(MappedFile { map })))
    }
}

/// The lock is released when the descriptor closes.
#[derive(Debug)]
struct PosixLock {
    /// Closing it releases the record lock.
    file: Option<File>,
    canonical: PathBuf,
}

impl FileLock for PosixLock {}

impl Drop for PosixLock {
    fn drop(&mut self) {
        // Release the lock before the entry: until the file is closed another open in this
        // process must still be refused, or its lock would be the one the close drops.
        drop(self.file.take());
        held_locks().remove(&self.canonical);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_in_this_process_is_refused_by_any_path_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let held = PosixFs.lock(&dir.path().join("LOCK")).unwrap();
        let dotted = dir.path().join(".").join("LOCK");
        assert!(matches!(PosixFs.lock(&dotted), Err(Error::Locked(_))));
        drop(held);
        PosixFs.lock(&dotted).unwrap();
    }

    // Regression: the lock was an flock, which lives in the open file description a forked
    // child inherits; a child that outlived the database kept it locked after close.
    #[test]
    fn a_forked_child_does_not_keep_the_lock_after_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("LOCK");
        let held = PosixFs.lock(&path).unwrap();
        // SAFETY: the child only calls async-signal-safe functions (sleep, _exit) before it
        // exits, as a child of a multi-threaded process must.
        let child = unsafe { libc::fork() };
        if child == 0 {
            // SAFETY: async-signal-safe calls in the forked child.
            unsafe {
                libc::sleep(5);
                libc::_exit(0);
            }
        }
        assert!(child > 0, "fork failed");
        drop(held);
        let again = PosixFs.lock(&path);
        // SAFETY: plain system calls on the child's pid.
        unsafe {
            libc::kill(child, libc::SIGKILL);
            libc::waitpid(child, std::ptr::null_mut(), 0);
        }
        again.unwrap();
    }
}
