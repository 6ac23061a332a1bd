//! Online checkpoints: a complete database in a new directory, taken while reads and writes
//! go on (`Db::checkpoint`, `toykv_checkpoint`).
//!
//! The checkpoint is the database at one moment: the read view `(S, super version)` a `get`
//! would start from. A write is acknowledged only after `visible_seq` moved past it, and
//! `visible_seq` moves a whole commit group at a time, so every write acknowledged before the
//! call is at or below `S` and no batch is split by it. The super version's memtables and
//! sstables hold exactly the writes up to `S` (and later ones in the active memtable, which
//! are left out). It also keeps those sstables alive: a compaction that replaces them only
//! marks them obsolete, and the file goes when the last holder, this checkpoint among them,
//! lets go. Once linked, a file is an inode the checkpoint names on its own, which the
//! source's compactions can no longer remove. No snapshot is pinned: the checkpoint reads
//! only the memtables and files of its own view, never a newer version, so what later
//! compactions drop does not concern it.
//!
//! What goes into the new directory, in this order (durability: each file is fsynced, and
//! the directory after it, before the manifest names it; `CURRENT` comes last, so until it
//! exists the directory is not a database):
//! 1. every sstable of the version, under its own number: hard-linked, or copied and fsynced
//!    where a link is impossible (`EXDEV`: another file system) or `copy_sstables` asks;
//! 2. the memtables' newest version of each key at or below `S` (tombstones included) as one
//!    new L0 sstable, numbered above every file of the version;
//! 3. a fresh, empty WAL;
//! 4. a manifest whose one snapshot edit lists those files, names the empty WAL as
//!    `log_number` and records `last_seq = S` exactly (every write up to `S` is in the
//!    sstables, none after it: the checkpoint's next write gets `S + 1`), then `CURRENT`
//!    (temp file, fsync, rename, fsync of the directory);
//! 5. an fsync of the parent of every directory the checkpoint created, so that the
//!    directory itself survives a power cut.
//!
//! A failure at any step removes everything created (files, then the directories) and
//! returns the error. The source is never written: the checkpoint only reads its files.
//!
//! Any thread may take a checkpoint, and several may run at once (into different
//! directories), alongside writes, flushes and compactions. The only database lock taken is
//! the brief `current` read lock of the read view.

use super::{Db, DbInner, SuperVersion};
use crate::env::FileSystem;
use crate::filename::{manifest_name, table_path, temp_path, wal_path, CURRENT};
use crate::iterators::merge::MergeIterator;
use crate::iterators::InternalIterator;
use crate::sstable::TableBuilder;
use crate::types::SeqNum;
use crate::version::manifest::ManifestWriter;
use crate::version::{FileMeta, TableCache, TableFile, VersionEdit};
use crate::wal::Wal;
use crate::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How much of an sstable a copy reads and writes at a time.
const COPY_CHUNK: usize = 1 << 20;

/// How a checkpoint is taken.
#[derive(Debug, Clone, Default)]
pub struct CheckpointOptions {
    /// Copy every sstable (each copy fsynced) instead of hard-linking it, also where the
    /// checkpoint is on the database's file system. Default false: link where possible,
    /// copy only where linking is impossible (another file system).
    pub copy_sstables: bool,
}

/// What a checkpoint holds and what it cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckpointStats {
    /// The sequence number of the last write the checkpoint holds.
    pub sequence: u64,
    /// Sstables hard-linked from the database (nothing written for them), and their size.
    pub linked_files: usize,
    pub linked_bytes: u64,
    /// Sstables copied, and their size.
    pub copied_files: usize,
    pub copied_bytes: u64,
    /// Every byte written into the checkpoint: the copies, the sstable of the memtables'
    /// writes, the manifest and `CURRENT` (the WAL starts empty).
    pub bytes_written: u64,
}

impl Db {
    /// Writes into `dir`, which must not exist, a complete database that [`Db::open`] opens
    /// on its own: every write that returned before this call, and possibly some made
    /// meanwhile, never part of a batch. Reads and writes go on meanwhile. Sstables are
    /// hard-linked where `dir` is on the database's file system and copied otherwise;
    /// everything is fsynced before this returns. See [`Db::checkpoint_with`].
    ///
    /// # Errors
    /// As for [`Db::checkpoint_with`].
    pub fn checkpoint(&self, dir: impl AsRef<Path>) -> Result<CheckpointStats> {
        self.checkpoint_with(dir, &CheckpointOptions::default())
    }

    /// [`Db::checkpoint`] with options: `copy_sstables` copies every sstable instead of
    /// linking it. Missing parents of `dir` are created. A read-only database can be
    /// checkpointed too (its replayed WAL goes into the checkpoint's sstables).
    ///
    /// # Errors
    /// `InvalidArgument` when `dir` exists; `Closed` after close; `Io` when anything cannot
    /// be read or written (nothing is left behind then: no `dir`, no parent it created);
    /// `Corruption` naming an sstable whose size differs from the manifest's record.
    pub fn checkpoint_with(
        &self,
        dir: impl AsRef<Path>,
        opts: &CheckpointOptions,
    ) -> Result<CheckpointStats> {
        self.inner.checkpoint(dir.as_ref(), opts)
    }
}

impl DbInner {
    fn checkpoint(&self, dir: &Path, opts: &CheckpointOptions) -> Result<CheckpointStats> {
        self.check_open()?;
        if dir.as_os_str().is_empty() {
            return Err(Error::invalid("the checkpoint directory is an empty path"));
        }
        if self.fs.exists(dir) {
            return Err(Error::invalid(format!(
                "the checkpoint directory {} already exists",
                dir.display()
            )));
        }
        let (seq, sv) = self.read_view();
        #[cfg(test)]
        self.test_hooks
            .pause(super::tests::PausePoint::CheckpointAfterReadView);
        // Above every file number in the view: the checkpoint's own files take the next three.
        let first_number = self.next_file_number();
        let mut target = Target::create(&self.fs, dir)?;
        let written = target.fill(self, seq, &sv, first_number, opts);
        if written.is_err() {
            target.remove();
        }
        written
    }
}

/// The directory being filled, and what was created in it, to remove on failure.
struct Target<'a> {
    fs: &'a Arc<dyn FileSystem>,
    dir: &'a Path,
    /// Directories this checkpoint created: `dir` and any parents it lacked, outermost first.
    created_dirs: Vec<PathBuf>,
    /// Every file this checkpoint tried to create, whether or not it got that far.
    created_files: Vec<PathBuf>,
}

impl<'a> Target<'a> {
    /// Creates `dir` and its missing parents. REQUIRES: `dir` does not exist.
    fn create(fs: &'a Arc<dyn FileSystem>, dir: &'a Path) -> Result<Target<'a>> {
        let mut created_dirs: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !fs.exists(a))
            .map(Path::to_path_buf)
            .collect();
        created_dirs.reverse();
        let mut target = Target {
            fs,
            dir,
            created_dirs,
            created_files: Vec::new(),
        };
        // The parents may exist already; `dir` itself is claimed atomically, so a directory
        // someone else created since the caller's check is never written into.
        let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
        if let Err(e) = parent.map_or(Ok(()), |p| fs.create_dir_all(p)) {
            target.remove();
            return Err(e);
        }
        if let Err(e) = fs.create_dir(dir) {
            let exists = matches!(&e, Error::Io { source, .. }
                if source.kind() == std::io::ErrorKind::AlreadyExists);
            if exists {
                // Not ours: remove only the parents this call made.
                target.created_dirs.retain(|d| d.as_path() != dir);
            }
            target.remove();
            return Err(if exists {
                Error::invalid(format!(
                    "the checkpoint directory {} already exists",
                    dir.display()
                ))
            } else {
                e
            });
        }
        Ok(target)
    }

    /// Writes the checkpoint of the view `(seq, sv)` (see the module documentation).
    fn fill(
        &mut self,
        db: &DbInner,
        seq: SeqNum,
        sv: &SuperVersion,
        first_number: u64,
        opts: &CheckpointOptions,
    ) -> Result<CheckpointStats> {
        let mut stats = CheckpointStats {
            sequence: seq,
            ..CheckpointStats::default()
        };
        let mut files = sv.version.snapshot_edit().added;
        let mut copying = opts.copy_sstables;
        for (_, meta) in &files {
            let from = table_path(&db.dir, meta.number);
            let to = table_path(self.dir, meta.number);
            self.created_files.push(to.clone());
            if !copying {
                match self.fs.hard_link(&from, &to) {
                    Ok(()) => {
                        stats.linked_files += 1;
                        stats.linked_bytes += meta.size;
                        continue;
                    }
                    // The rest would fail alike: copy them all.
                    Err(e) if link_impossible(&e) => copying = true,
                    Err(e) => return Err(e),
                }
            }
            self.copy_file(&from, &to, meta.size)?;
            stats.copied_files += 1;
            stats.copied_bytes += meta.size;
            stats.bytes_written += meta.size;
        }

        let (table_number, wal_number, manifest_number) =
            (first_number, first_number + 1, first_number + 2);
        if let Some(meta) = self.write_memtables(db, sv, seq, table_number)? {
            stats.bytes_written += meta.size;
            files.push((0, meta));
        }
        self.created_files.push(wal_path(self.dir, wal_number));
        Wal::create(&**self.fs, self.dir, wal_number)?;

        let edit = VersionEdit {
            log_number: Some(wal_number),
            next_file_number: Some(manifest_number + 1),
            last_seq: Some(seq),
            added: files,
            ..VersionEdit::default()
        };
        self.created_files.extend([
            self.dir.join(manifest_name(manifest_number)),
            temp_path(self.dir, manifest_number),
            self.dir.join(CURRENT),
        ]);
        // Fsyncs the manifest, then the directory (which makes the links, the WAL and every
        // other name in it durable), then writes CURRENT and fsyncs the directory again.
        let manifest = ManifestWriter::create(&**self.fs, self.dir, manifest_number, &edit)?;
        let current_len = format!("{}\n", manifest_name(manifest_number)).len() as u64;
        stats.bytes_written += manifest.size() + current_len;

        // The new directories' own entries.
        for created in &self.created_dirs {
            self.fs.sync_dir(parent(created))?;
        }
        Ok(stats)
    }

    /// Copies sstable `from` to `to` and fsyncs the copy; `len` is its size in the manifest.
    fn copy_file(&mut self, from: &Path, to: &Path, len: u64) -> Result<()> {
        let mut source = self.fs.open_sequential(from)?;
        let mut copy = self.fs.create(to)?;
        let mut buf = vec![0u8; COPY_CHUNK];
        loop {
            let n = match source.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("read", from, e)),
            };
            copy.append(buf.get(..n).unwrap_or(&buf))?;
        }
        if copy.len() != len {
            return Err(Error::corruption(
                from,
                copy.len(),
                format!(
                    "the sstable holds {} bytes, the manifest records {len}",
                    copy.len()
                ),
            ));
        }
        copy.sync()
    }

    /// Writes the newest version at or below `seq` of every key in the memtables of `sv` to
    /// sstable `number`, fsynced, and returns its manifest entry; `None` when no memtable
    /// holds a write at or below `seq`. Older versions are left out: no reader of the
    /// checkpoint can see them. Tombstones stay: they hide older versions in the sstables.
    fn write_memtables(
        &mut self,
        db: &DbInner,
        sv: &SuperVersion,
        seq: SeqNum,
        number: u64,
    ) -> Result<Option<FileMeta>> {
        let children: Vec<_> = std::iter::once(&sv.mem)
            .chain(sv.frozen.iter())
            .map(|mem| mem.iter())
            .collect();
        let mut merged = MergeIterator::new(children);
        merged.seek_to_first()?;
        let mut builder: Option<TableBuilder> = None;
        let mut last_key: Option<Vec<u8>> = None;
        while merged.valid() {
            // Versions of a key come newest first: the first at or below `seq` is the one.
            if merged.seq() <= seq && last_key.as_deref() != Some(merged.key()) {
                last_key = Some(merged.key().to_vec());
                let table = match &mut builder {
                    Some(table) => table,
                    None => {
                        let path = table_path(self.dir, number);
                        self.created_files.push(path.clone());
                        let file = self.fs.create(&path)?;
                        builder.insert(TableBuilder::new(file, path, db.opts.table_options()))
                    }
                };
                table.add(merged.key(), merged.seq(), merged.kind(), merged.value())?;
            }
            merged.next()?;
        }
        let Some(table) = builder else {
            return Ok(None);
        };
        // Fsyncs the table and the directory, and reads it back once (through a table cache
        // of its own: the table belongs to the checkpoint, not to this database).
        let tables = Arc::new(TableCache::new(None, 1));
        let file = TableFile::finish_and_open(table, self.fs, self.dir, number, &tables)?;
        Ok(Some(file.meta.clone()))
    }

    /// Removes what was created, newest first; failures are ignored (a file never created
    /// is among them), so as much as possible goes.
    fn remove(&mut self) {
        for file in self.created_files.drain(..).rev() {
            let _ = self.fs.remove(&file);
        }
        for dir in self.created_dirs.iter().rev() {
            let _ = self.fs.remove_dir(dir);
        }
        if let Some(outermost) = self.created_dirs.first() {
            let _ = self.fs.sync_dir(parent(outermost));
        }
    }
}

/// The directory holding `path` (the empty path for a bare name: the working directory).
fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

/// Whether a failed hard link means that linking cannot work here, so copying must: the two
/// paths are on different file systems, or the target's does not do hard links (`EPERM`,
/// `EOPNOTSUPP`), or the file has as many links as it may.
fn link_impossible(error: &Error) -> bool {
    match error {
        Error::Io { source, .. } => matches!(
            source.raw_os_error(),
            Some(libc::EXDEV | libc::EPERM | libc::EOPNOTSUPP | libc::EMLINK)
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    //! Checkpoints racing compactions, forced through the database's pause points.

    use super::super::tests::{manual_options, pause_at, PausePoint};
    use crate::Db;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    /// A database in `root/src` with three flushed rounds of keys 0..100 (values `[round]`)
    /// and round 3 in the memtable; and the path `root/cp` for its checkpoint.
    fn three_flushed_rounds_and_one_in_memory() -> (tempfile::TempDir, PathBuf, PathBuf, Arc<Db>) {
        let root = tempfile::tempdir().unwrap();
        let (src, cp) = (root.path().join("src"), root.path().join("cp"));
        let db = Arc::new(Db::open(&src, manual_options()).unwrap());
        for round in 0..4u8 {
            for i in 0..100u8 {
                db.put(&[i], &[round]).unwrap();
            }
            if round < 3 {
                db.flush().unwrap();
            }
        }
        (root, src, cp, db)
    }

    // The directory is claimed atomically: one created by someone else after the existence
    // check is refused, left as it was, and never written into.
    #[test]
    fn a_directory_created_by_someone_else_meanwhile_is_refused_and_left_alone() {
        let (_root, _src, cp, db) = three_flushed_rounds_and_one_in_memory();
        let (paused, resume) = pause_at(&db, PausePoint::CheckpointAfterReadView);
        let taker = {
            let (db, cp) = (Arc::clone(&db), cp.clone());
            std::thread::spawn(move || db.checkpoint(&cp))
        };
        paused.recv().unwrap();
        std::fs::create_dir(&cp).unwrap();
        std::fs::write(cp.join("theirs"), b"not a database").unwrap();
        resume.send(()).unwrap();
        let err = taker.join().unwrap().unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument, "{err}");
        let names: Vec<_> = std::fs::read_dir(&cp)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["theirs"]);
    }

    fn sstable_names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".sst"))
            .collect();
        names.sort();
        names
    }

    fn assert_every_key_is(dir: &Path, value: u8) {
        let db = Db::open(dir, manual_options()).unwrap();
        for i in 0..100u8 {
            assert_eq!(db.get(&[i]).unwrap(), Some(vec![value]), "key {i}");
        }
        db.close().unwrap();
    }

    // The checkpoint's read view names sstables that a compaction then replaces; the
    // compaction marks them obsolete, but the view still holds them, so they are on disk
    // when the checkpoint links them, and go only once it is done.
    #[test]
    fn a_compaction_completed_between_the_view_and_the_links_removes_no_file_they_need() {
        let (_root, src, cp, db) = three_flushed_rounds_and_one_in_memory();
        let before = sstable_names(&src);
        assert_eq!(before.len(), 3);

        let (paused, resume) = pause_at(&db, PausePoint::CheckpointAfterReadView);
        let taker = {
            let (db, cp) = (Arc::clone(&db), cp.clone());
            std::thread::spawn(move || db.checkpoint(cp))
        };
        paused.recv().unwrap();
        // Round 4 overwrites everything, and a full compaction replaces the view's files.
        for i in 0..100u8 {
            db.put(&[i], &[4]).unwrap();
        }
        db.compact().unwrap();
        // One live file now; the view's three, replaced, are still on disk: the view holds
        // them.
        assert_eq!(db.property("toykv.num-files-at-level6").unwrap(), "1");
        let on_disk = sstable_names(&src);
        assert_eq!(on_disk.len(), 4, "{on_disk:?}");
        assert!(before.iter().all(|name| on_disk.contains(name)));
        resume.send(()).unwrap();
        let stats = taker.join().unwrap().unwrap();
        assert_eq!(stats.linked_files, 3, "{stats:?}");

        // The view is gone: the replaced files went with it, in the source only.
        assert_eq!(sstable_names(&src).len(), 1);
        // The three linked files, and one new one with the memtable's round 3.
        let in_checkpoint = sstable_names(&cp);
        assert_eq!(in_checkpoint.len(), 4, "{in_checkpoint:?}");
        assert_eq!(in_checkpoint[..3], before[..]);
        db.close().unwrap();
        assert_every_key_is(&cp, 3);
        assert_every_key_is(&src, 4);
    }

    #[test]
    fn a_checkpoint_taken_while_a_compaction_runs_opens_with_everything() {
        let (_root, src, cp, db) = three_flushed_rounds_and_one_in_memory();
        let (paused, resume) = pause_at(&db, PausePoint::BeforeCompactionInstall);
        let compactor = {
            let db = Arc::clone(&db);
            std::thread::spawn(move || db.compact())
        };
        // The compaction flushed round 3 and wrote its output; its inputs are still live.
        paused.recv().unwrap();
        let stats = db.checkpoint(&cp).unwrap();
        assert_eq!(stats.linked_files, 4, "{stats:?}");
        resume.send(()).unwrap();
        compactor.join().unwrap().unwrap();
        // The compaction removed its inputs from the source; the checkpoint keeps its links.
        assert_eq!(sstable_names(&src).len(), 1);
        assert_eq!(sstable_names(&cp).len(), 4);
        db.close().unwrap();
        assert_every_key_is(&cp, 3);
        assert_every_key_is(&src, 3);
    }
}
