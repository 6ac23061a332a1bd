//! The I/O layer: every file operation toykv performs goes through [`FileSystem`].
//!
//! Two implementations exist. [`PosixFs`] is the real one. [`FaultFs`] is an in-memory file
//! system for tests that can forget everything not yet fsynced (simulating a power cut) and
//! fail a chosen operation with EIO or ENOSPC. Keeping all I/O behind this trait is what
//! makes crash and fault tests possible without root or a special kernel.
//!
//! Errors come back as [`crate::Error::Io`] with the path already attached.

mod fault;
mod posix;

pub use fault::{FaultFs, FaultKind, FaultOp};
pub use posix::PosixFs;

use crate::Result;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// A directory tree of files. Implementations are shared by every thread of a database.
pub trait FileSystem: Send + Sync + std::fmt::Debug {
    /// Creates `dir` and its parents if missing.
    fn create_dir_all(&self, dir: &Path) -> Result<()>;

    /// Creates `dir`, whose parent must exist, atomically failing (an `Io` error of kind
    /// `AlreadyExists`) when anything is already there: what claims a new directory.
    fn create_dir(&self, dir: &Path) -> Result<()>;

    /// Creates `path` empty (truncating an existing file) for appending.
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>>;

    /// Opens `path` for positioned reads.
    fn open_random(&self, path: &Path) -> Result<Arc<dyn RandomAccessFile>>;

    /// Opens `path` for one front-to-back read.
    fn open_sequential(&self, path: &Path) -> Result<Box<dyn Read + Send>>;

    /// Atomically replaces `to` with `from`. Durable only once the directory is synced.
    fn rename(&self, from: &Path, to: &Path) -> Result<()>;

    /// Deletes a file. Durable only once the directory is synced.
    fn remove(&self, path: &Path) -> Result<()>;

    /// Makes `to` a second name (a hard link) of the file at `from`: both names reach the
    /// same bytes, and removing one leaves the other. Fails when `to` exists, and with
    /// `EXDEV` when the two are on different file systems (a caller that can copy instead
    /// checks for it). The new name is durable only once `to`'s directory is synced.
    fn hard_link(&self, from: &Path, to: &Path) -> Result<()>;

    /// Deletes an empty directory.
    fn remove_dir(&self, dir: &Path) -> Result<()>;

    /// The names (not paths) of the entries of `dir`.
    fn list(&self, dir: &Path) -> Result<Vec<String>>;

    /// Makes creations, renames and deletions inside `dir` durable.
    fn sync_dir(&self, dir: &Path) -> Result<()>;

    /// Whether `path` exists (false when it cannot be checked).
    fn exists(&self, path: &Path) -> bool;

    /// Takes an exclusive lock on `path` (creating it). Fails with [`crate::Error::Locked`]
    /// while another holder, in this process or another, has it. Dropping the guard releases.
    fn lock(&self, path: &Path) -> Result<Box<dyn FileLock>>;
}

/// A file being written front to back.
pub trait WritableFile: Send + std::fmt::Debug {
    /// Appends `data`, handing it to the operating system before returning (so it survives
    /// a crash of this process, though not a power cut until [`WritableFile::sync`]).
    fn append(&mut self, data: &[u8]) -> Result<()>;

    /// Makes everything appended so far durable (fdatasync).
    fn sync(&mut self) -> Result<()>;

    /// Bytes appended so far.
    fn len(&self) -> u64;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reserves space so that the file reads as `len` bytes, zeros past what was appended,
    /// which later appends overwrite in place. Appends inside reserved space neither change
    /// the file's size nor allocate blocks, so an fdatasync after them has much less than
    /// a growing file's metadata to commit with the data: what makes the fsync of each
    /// durable write cheaper (measured in `Wal::preallocating`). Best effort: `false` (the
    /// default, and on a file system without `fallocate`) when nothing was reserved, and the
    /// file just grows by its appends.
    fn preallocate(&mut self, _len: u64) -> bool {
        false
    }

    /// Cuts the file back to the bytes appended, dropping reserved space past them, so that
    /// it ends where its last append ended. Durable after the next [`WritableFile::sync`].
    fn truncate_to_appended(&mut self) -> Result<()> {
        Ok(())
    }

    /// A handle that fsyncs this file from another thread while appends go on, so that
    /// group commit can fsync one group's records outside its lock while the next group
    /// appends. `None` (the default): the file is synced only through
    /// [`WritableFile::sync`], and such fsyncs do not overlap.
    fn syncer(&self) -> Option<Arc<dyn FileSyncer>> {
        None
    }
}

/// Fsyncs one file from any thread (see [`WritableFile::syncer`]).
pub trait FileSyncer: Send + Sync + std::fmt::Debug {
    /// Makes durable everything appended to the file before this call began (and perhaps
    /// more). Calls may overlap each other and appends.
    fn sync(&self) -> Result<()>;
}

/// A file read at arbitrary offsets, shared between threads.
pub trait RandomAccessFile: Send + Sync + std::fmt::Debug {
    /// Fills `buf` from `offset`. Reading past the end is an error, never a short buffer.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()>;

    /// The file's size when it was opened.
    fn len(&self) -> u64;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole file mapped into memory, where this file system maps files, so that
    /// readers take slices instead of copies. `Ok(None)`: read with `read_exact_at`.
    /// REQUIRES: the file is never written again while mapped (sstables are immutable).
    fn map(&self) -> Result<Option<Arc<MappedFile>>> {
        Ok(None)
    }
}

/// A read-only memory map of a whole immutable file.
pub struct MappedFile {
    map: memmap2::Mmap,
}

impl MappedFile {
    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }
}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFile")
            .field("len", &self.map.len())
            .finish()
    }
}

/// Holds a lock taken by [`FileSystem::lock`] until dropped.
pub trait FileLock: Send + Sync + std::fmt::Debug {}

/// Reads a whole small file (CURRENT) into memory.
pub(crate) fn read_all(fs: &dyn FileSystem, path: &Path) -> Result<Vec<u8>> {
    let mut reader = fs.open_sequential(path)?;
    let mut out = Vec::new();
    reader
        .read_to_end(&mut out)
        .map_err(|e| crate::Error::io("read", path, e))?;
    Ok(out)
}

/// Writes `contents` to `path` so that a crash leaves either the old file or the new one:
/// temp file, fsync, rename over `path`, fsync the directory.
pub(crate) fn replace_file_atomically(
    fs: &dyn FileSystem,
    dir: &Path,
    temp: &Path,
    path: &Path,
    contents: &[u8],
) -> Result<()> {
    let mut file = fs.create(temp)?;
    file.append(contents)?;
    file.sync()?;
    drop(file);
    fs.rename(temp, path)?;
    fs.sync_dir(dir)
}
