//! An in-memory file system for crash and fault tests.
//!
//! [`FaultFs`] keeps two states of everything: what a process sees now ("current") and what
//! would survive a power cut ("durable"). A file's bytes become durable on
//! [`WritableFile::sync`]; the entries of a directory (files created, renamed into or out of,
//! removed from it) become durable on [`FileSystem::sync_dir`] of that directory.
//! [`FaultFs::crash_copy`] builds a fresh file system from the durable state alone — the
//! database as a power cut would leave it — and [`FaultFs::snapshot_copy`] keeps everything,
//! as a `kill -9` would. Injected faults ([`FaultOp`], [`FaultKind`]) make a chosen future
//! call fail with EIO or ENOSPC, with no effect on the files.
//!
//! The model, and where it picks the outcome hardest on the database:
//! - A file is an inode shared by its directory entries and the handles open on it, as in
//!   POSIX: a handle keeps reading and writing its file after a rename or a removal, and a
//!   hard link is one more entry naming the same inode (durable, like any entry, once its
//!   directory is synced; the bytes it reaches are durable as the inode's are).
//! - A file's durable bytes are always a prefix of its current bytes: files grow only by
//!   appends, and the raw test helpers change both states at once.
//! - Space reserved with [`WritableFile::preallocate`] reads as zeros past the appended
//!   bytes, and appends fill it in place. The file's size (reserved or cut back with
//!   [`WritableFile::truncate_to_appended`]) is durable at the next sync; a power cut
//!   leaves the size last synced, with the unsynced appends in it lost page by page as
//!   elsewhere (a lost page of reserved space reads as zeros, as a real one does).
//! - `create` of an existing name truncates that file in place, and durably: after a crash
//!   the old contents are gone even if the new ones were never synced.
//! - A failed append writes nothing; a failed sync makes nothing durable. The unsynced bytes
//!   stay in the current state and a later sync that succeeds makes them durable; Linux may
//!   instead drop them, which is why the database must never retry a failed fsync.
//! - Directories are durable from the moment they are created; only the entries inside
//!   them follow the create/rename/remove -> `sync_dir` rule.
//!
//! Any thread may call any method. One mutex guards the namespace, the lock table, the
//! faults and the counters; each file has its own mutex, taken only after the first one or
//! alone, never the other way round.

use super::{FileLock, FileSyncer, FileSystem, RandomAccessFile, WritableFile};
use crate::{Error, Result};
use parking_lot::{Mutex, MutexGuard};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An operation a fault can be injected into, and the unit [`FaultFs::op_count`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultOp {
    /// [`FileSystem::create_dir_all`].
    CreateDir,
    /// [`FileSystem::create`].
    Create,
    /// [`WritableFile::append`].
    Append,
    /// [`WritableFile::sync`].
    Sync,
    /// [`FileSystem::sync_dir`].
    SyncDir,
    /// [`FileSystem::rename`]; a path filter matches either the source or the target.
    Rename,
    /// [`FileSystem::remove`].
    Remove,
    /// [`FileSystem::hard_link`]; a path filter matches either the source or the new name.
    Link,
    /// [`FileSystem::remove_dir`].
    RemoveDir,
    /// [`FileSystem::open_random`] and [`FileSystem::open_sequential`].
    OpenRead,
    /// One [`RandomAccessFile::read_exact_at`], or one `read` call on a sequential reader.
    Read,
    /// [`FileSystem::list`].
    List,
    /// [`FileSystem::lock`].
    Lock,
    /// Every operation above: a fault on `Any` fires on the nth call of whatever kind, and
    /// `op_count(Any)` is the total number of calls.
    Any,
}

/// How many [`FaultOp`] variants there are, `Any` included (the size of the counter table).
const OP_KINDS: usize = FaultOp::Any as usize + 1;

/// The error an injected fault produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// An I/O error (a bad disk, a lost network volume).
    Eio,
    /// The device is full.
    Enospc,
    /// The two paths are on different file systems (`EXDEV`): what a hard link across
    /// mount points gets.
    CrossDevice,
}

impl FaultKind {
    /// The `errno` value the fault reports.
    pub fn errno(self) -> i32 {
        match self {
            FaultKind::Eio => libc::EIO,
            FaultKind::Enospc => libc::ENOSPC,
            FaultKind::CrossDevice => libc::EXDEV,
        }
    }
}

/// In-memory file system for crash and fault tests. See the module documentation for the
/// crash model.
///
/// Create one with [`FaultFs::new`], hand it to the database as an `Arc<dyn FileSystem>`,
/// and keep an `Arc<FaultFs>` to inject faults and take crash copies.
pub struct FaultFs {
    // Shared with every handle the file system gives out, so that handles can check faults,
    // count calls and release locks after the `FaultFs` itself is gone.
    state: Arc<Mutex<State>>,
}

impl Default for FaultFs {
    fn default() -> Self {
        FaultFs::new()
    }
}

impl fmt::Debug for FaultFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultFs").finish_non_exhaustive()
    }
}

impl FaultFs {
    /// An empty file system holding only the root directory `/` and the relative root `""`
    /// (the parent of a bare file name), as a process would find its root and working
    /// directory.
    pub fn new() -> FaultFs {
        let mut dirs = BTreeMap::new();
        dirs.insert(PathBuf::from("/"), Dir::default());
        dirs.insert(PathBuf::new(), Dir::default());
        FaultFs::from_dirs(dirs)
    }

    fn from_dirs(dirs: BTreeMap<PathBuf, Dir>) -> FaultFs {
        FaultFs {
            state: Arc::new(Mutex::new(State {
                dirs,
                locks: HashSet::new(),
                faults: Vec::new(),
                counts: [0; OP_KINDS],
                sync_delay: std::time::Duration::ZERO,
            })),
        }
    }

    /// What a power cut now would leave: the durable entries of every directory, each file
    /// holding only its durable bytes. The copy has no locks held, no faults armed and its
    /// counters at zero. It shares nothing with `self`: handles still open on `self` (a
    /// "dying" database) keep working there without touching the copy.
    pub fn crash_copy(&self) -> Arc<FaultFs> {
        Arc::new(self.copy(CopyKind::Crash))
    }

    /// What a power cut now might leave on a real disk, which writes back dirty pages in any
    /// order: every durable byte and entry, and of each file's unsynced bytes a random
    /// subset of its 4 KiB pages. Each file keeps a random length between its durable
    /// length and its current one; within that, each unsynced page holds either its new
    /// bytes or zeros (never written back), chosen at random. Directory entries follow
    /// [`FaultFs::crash_copy`]. The same `seed` gives the same outcome.
    pub fn power_cut_copy(&self, seed: u64) -> Arc<FaultFs> {
        Arc::new(self.copy(CopyKind::PowerCut(std::cell::Cell::new(seed | 1))))
    }

    /// What a `kill -9` now would leave: everything written so far, synced or not (the
    /// operating system keeps it). The copy remembers which bytes and entries are durable,
    /// so its own [`FaultFs::crash_copy`] is the power cut that could follow. No locks, no
    /// faults, counters at zero, nothing shared with `self`.
    pub fn snapshot_copy(&self) -> Arc<FaultFs> {
        Arc::new(self.copy(CopyKind::Snapshot))
    }

    fn copy(&self, kind: CopyKind) -> FaultFs {
        let state = self.state.lock();
        // One new inode per old one, so that a file which is both a current and a durable
        // entry (or is in two directories after a cross-directory rename) stays one file.
        let mut copies: HashMap<*const Mutex<FileData>, Inode> = HashMap::new();
        let mut copy_inode = |inode: &Inode| -> Inode {
            Arc::clone(copies.entry(Arc::as_ptr(inode)).or_insert_with(|| {
                let file = inode.lock();
                let data = match &kind {
                    CopyKind::Crash => file.after_crash(file.durable_bytes().to_vec()),
                    CopyKind::PowerCut(rng) => file.after_crash(file.power_cut_bytes(rng)),
                    CopyKind::Snapshot => FileData {
                        bytes: file.bytes.clone(),
                        durable_len: file.durable_len,
                        reserved: file.reserved,
                        durable_reserved: file.durable_reserved,
                    },
                };
                Arc::new(Mutex::new(data))
            }))
        };
        let mut copy_entries = |entries: &BTreeMap<OsString, Inode>| {
            entries
                .iter()
                .map(|(name, inode)| (name.clone(), copy_inode(inode)))
                .collect::<BTreeMap<_, _>>()
        };
        let dirs = state
            .dirs
            .iter()
            .map(|(path, dir)| {
                let copied = match kind {
                    CopyKind::Crash | CopyKind::PowerCut(_) => {
                        let durable = copy_entries(&dir.durable);
                        Dir {
                            current: durable.clone(),
                            durable,
                        }
                    }
                    CopyKind::Snapshot => Dir {
                        current: copy_entries(&dir.current),
                        durable: copy_entries(&dir.durable),
                    },
                };
                (path.clone(), copied)
            })
            .collect();
        FaultFs::from_dirs(dirs)
    }

    /// Makes the `nth` (1-based, counting from now) future call of `op` fail with `kind`.
    /// The failed call has no effect. `nth` 0 is taken as 1.
    pub fn inject(&self, op: FaultOp, nth: u64, kind: FaultKind) {
        self.arm(op, None, nth, kind, false);
    }

    /// Like [`FaultFs::inject`], but that call and every later call of `op` fail, as on a
    /// disk that has gone bad or stays full.
    pub fn inject_sticky(&self, op: FaultOp, nth: u64, kind: FaultKind) {
        self.arm(op, None, nth, kind, true);
    }

    /// Like [`FaultFs::inject`], counting only calls whose path contains `path_contains`
    /// (e.g. `".log"` or `"MANIFEST"`).
    pub fn inject_on(&self, op: FaultOp, path_contains: &str, nth: u64, kind: FaultKind) {
        self.arm(op, Some(path_contains), nth, kind, false);
    }

    /// Like [`FaultFs::inject_sticky`], counting only calls whose path contains
    /// `path_contains`.
    pub fn inject_sticky_on(&self, op: FaultOp, path_contains: &str, nth: u64, kind: FaultKind) {
        self.arm(op, Some(path_contains), nth, kind, true);
    }

    fn arm(
        &self,
        op: FaultOp,
        path_contains: Option<&str>,
        nth: u64,
        kind: FaultKind,
        sticky: bool,
    ) {
        self.state.lock().faults.push(Fault {
            op,
            path_contains: path_contains.map(str::to_string),
            countdown: nth.max(1),
            kind,
            sticky,
        });
    }

    /// Disarms every fault, sticky or not.
    pub fn clear_faults(&self) {
        self.state.lock().faults.clear();
    }

    /// Makes every later file fsync take `delay` (a slow disk), sleeping without holding
    /// any of the file system's locks, so that other calls go on meanwhile.
    pub fn set_sync_delay(&self, delay: std::time::Duration) {
        self.state.lock().sync_delay = delay;
    }

    /// How many calls of `op` were made so far, failed ones included (`Any`: all calls).
    pub fn op_count(&self, op: FaultOp) -> u64 {
        self.state.lock().counts[op as usize]
    }

    /// The current bytes of the file at `path`, or `None` if there is no such file.
    pub fn read_file(&self, path: impl AsRef<Path>) -> Option<Vec<u8>> {
        let inode = self.state.lock().file(path.as_ref()).ok()?;
        let bytes = inode.lock().visible_bytes();
        Some(bytes)
    }

    /// Puts a file with `bytes` at `path`, already durable (entry and contents), creating
    /// missing directories. An existing file is overwritten in place, so handles open on it
    /// see the new bytes. Counts as no operation and ignores faults.
    ///
    /// # Errors
    ///
    /// `Error::Io` if `path` has no file name or is a directory, or a parent is a file.
    pub fn write_file(&self, path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
        let path = path.as_ref();
        let mut state = self.state.lock();
        let (parent, name) = split(path, "write file")?;
        if state.dirs.contains_key(path) {
            return Err(os_error("write file", path, libc::EISDIR));
        }
        state.make_dirs(parent, "write file")?;
        let dir = state.dir_mut(parent, "write file")?;
        let inode = match dir.current.get(name) {
            Some(existing) => {
                *existing.lock() = FileData::durable(bytes.to_vec());
                Arc::clone(existing)
            }
            None => Arc::new(Mutex::new(FileData::durable(bytes.to_vec()))),
        };
        dir.current.insert(name.to_os_string(), Arc::clone(&inode));
        dir.durable.insert(name.to_os_string(), inode);
        Ok(())
    }

    /// Flips every bit of the byte at `offset` of the file at `path`, in the current and
    /// (where the byte is durable) the durable contents: damage found on the disk.
    ///
    /// # Errors
    ///
    /// `Error::Io` (not found) if there is no such file; `Error::InvalidArgument` if
    /// `offset` is past its end.
    pub fn flip_byte(&self, path: impl AsRef<Path>, offset: u64) -> Result<()> {
        let path = path.as_ref();
        let inode = self.state.lock().file(path)?;
        let mut file = inode.lock();
        let len = file.visible_len();
        if usize::try_from(offset).is_ok_and(|at| at >= file.bytes.len() && at < len) {
            // A byte of reserved space becomes a real one, and the zeros before it with it
            // (a writer still open on the file appends after them).
            file.bytes.resize(len, 0);
        }
        let byte = usize::try_from(offset)
            .ok()
            .and_then(|at| file.bytes.get_mut(at))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "flip_byte: offset {offset} is past the end of {} ({len} bytes)",
                    path.display()
                ))
            })?;
        *byte ^= 0xff;
        Ok(())
    }

    /// Cuts the file at `path` to `len` bytes, in both the current and the durable contents
    /// (a torn write or a lost tail).
    ///
    /// # Errors
    ///
    /// `Error::Io` (not found) if there is no such file; `Error::InvalidArgument` if `len`
    /// is larger than the file (only shrinking is supported).
    pub fn truncate(&self, path: impl AsRef<Path>, len: u64) -> Result<()> {
        let path = path.as_ref();
        let inode = self.state.lock().file(path)?;
        let mut file = inode.lock();
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len <= file.bytes.len())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "truncate: {} has {} bytes, cannot grow it to {len}",
                    path.display(),
                    file.bytes.len()
                ))
            })?;
        file.bytes.truncate(len);
        file.durable_len = file.durable_len.min(len);
        file.reserved = file.reserved.min(len);
        file.durable_reserved = file.durable_reserved.min(len);
        Ok(())
    }

    /// The names of the files (not subdirectories) currently in `dir`, sorted; empty if
    /// `dir` does not exist.
    pub fn file_names(&self, dir: impl AsRef<Path>) -> Vec<String> {
        let state = self.state.lock();
        match state.dirs.get(dir.as_ref()) {
            Some(dir) => dir
                .current
                .keys()
                .filter_map(|name| name.to_str().map(str::to_string))
                .collect(),
            None => Vec::new(),
        }
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }
}

enum CopyKind {
    Crash,
    /// A crash whose unsynced pages survive at random; the cell is an xorshift state.
    PowerCut(std::cell::Cell<u64>),
    Snapshot,
}

/// The size of the pages a power cut keeps or loses as a whole.
const PAGE: usize = 4096;

/// One step of xorshift64: a cheap, reproducible source of coin flips for power cuts.
fn next_random(state: &std::cell::Cell<u64>) -> u64 {
    let mut x = state.get();
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    state.set(x);
    x
}

/// A file's contents. The same inode may be named by a current entry, a durable entry and
/// open handles at once.
type Inode = Arc<Mutex<FileData>>;

struct FileData {
    bytes: Vec<u8>,
    /// `bytes[..durable_len]` survives a power cut. Never more than `bytes.len()`.
    durable_len: usize,
    /// The size reserved by `preallocate`: the file reads as `bytes`, then zeros up to
    /// here. At most `bytes.len()` when nothing is reserved past the appends.
    reserved: usize,
    /// `reserved` as of the last sync: the size a power cut leaves.
    durable_reserved: usize,
}

impl FileData {
    fn durable(bytes: Vec<u8>) -> FileData {
        FileData {
            durable_len: bytes.len(),
            bytes,
            reserved: 0,
            durable_reserved: 0,
        }
    }

    /// The file's size as readers see it: its bytes, or the space reserved past them.
    fn visible_len(&self) -> usize {
        self.bytes.len().max(self.reserved)
    }

    /// What a reader of the whole file gets: its bytes, then reserved space as zeros.
    fn visible_bytes(&self) -> Vec<u8> {
        let mut bytes = self.bytes.clone();
        bytes.resize(self.visible_len(), 0);
        bytes
    }

    /// What survives a crash that keeps only durable state, `bytes` standing for whatever
    /// of the file's bytes it kept: padded with zeros to the durable size.
    fn after_crash(&self, bytes: Vec<u8>) -> FileData {
        let mut data = FileData::durable(bytes);
        data.reserved = self.durable_reserved;
        data.durable_reserved = self.durable_reserved;
        data
    }

    fn durable_bytes(&self) -> &[u8] {
        self.bytes.get(..self.durable_len).unwrap_or(&self.bytes)
    }

    /// The bytes a power cut leaves (see [`FaultFs::power_cut_copy`]): the durable prefix,
    /// then up to a random length, each page past the durable prefix new or zeroed.
    fn power_cut_bytes(&self, rng: &std::cell::Cell<u64>) -> Vec<u8> {
        let unsynced = self.bytes.len() - self.durable_len;
        let kept_len = self.durable_len + (next_random(rng) as usize) % (unsynced + 1);
        let mut out = self.bytes.get(..kept_len).unwrap_or(&self.bytes).to_vec();
        let mut page_start = self.durable_len - self.durable_len % PAGE;
        while page_start < kept_len {
            let page_end = (page_start + PAGE).min(kept_len);
            if next_random(rng) % 2 == 0 {
                // Never written back: the bytes past the durable prefix read as zeros.
                let from = page_start.max(self.durable_len);
                if let Some(lost) = out.get_mut(from..page_end) {
                    lost.fill(0);
                }
            }
            page_start += PAGE;
        }
        out
    }
}

impl fmt::Debug for FileData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileData")
            .field("len", &self.bytes.len())
            .field("durable_len", &self.durable_len)
            .finish()
    }
}

/// The entries of one directory, now and as of its last `sync_dir`.
#[derive(Default)]
struct Dir {
    current: BTreeMap<OsString, Inode>,
    durable: BTreeMap<OsString, Inode>,
}

struct Fault {
    op: FaultOp,
    path_contains: Option<String>,
    /// Matching calls left until the one that fails (1: the next one). A sticky fault stays
    /// at 1 once it has fired.
    countdown: u64,
    kind: FaultKind,
    sticky: bool,
}

impl Fault {
    fn matches(&self, op: FaultOp, path: &Path, other: Option<&Path>) -> bool {
        if self.op != FaultOp::Any && self.op != op {
            return false;
        }
        match &self.path_contains {
            None => true,
            Some(needle) => {
                let contains = |p: &Path| p.to_string_lossy().contains(needle.as_str());
                contains(path) || other.is_some_and(contains)
            }
        }
    }
}

struct State {
    dirs: BTreeMap<PathBuf, Dir>,
    /// Paths whose lock guard is alive.
    locks: HashSet<PathBuf>,
    faults: Vec<Fault>,
    /// Calls per `FaultOp as usize`; the `Any` slot counts every call.
    counts: [u64; OP_KINDS],
    /// How long each file fsync takes (see [`FaultFs::set_sync_delay`]).
    sync_delay: std::time::Duration,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("dirs", &self.dirs.len())
            .field("locks", &self.locks)
            .field("faults", &self.faults.len())
            .finish()
    }
}

impl State {
    /// Counts a call of `op` on `path` (and `other`, for a rename) and reports the fault
    /// that fires on it, if any. Every matching fault counts the call, even when another
    /// one fires.
    fn tick(&mut self, op: FaultOp, path: &Path, other: Option<&Path>) -> Option<FaultKind> {
        self.counts[op as usize] += 1;
        self.counts[FaultOp::Any as usize] += 1;
        let mut fired = None;
        self.faults.retain_mut(|fault| {
            if !fault.matches(op, path, other) {
                return true;
            }
            if fault.countdown > 1 {
                fault.countdown -= 1;
                return true;
            }
            fired.get_or_insert(fault.kind);
            fault.sticky
        });
        fired
    }

    /// [`State::tick`] as the error the operation returns.
    fn begin(
        &mut self,
        op: FaultOp,
        what: &'static str,
        path: &Path,
        other: Option<&Path>,
    ) -> Result<()> {
        match self.tick(op, path, other) {
            Some(kind) => Err(os_error(what, path, kind.errno())),
            None => Ok(()),
        }
    }

    fn dir_mut(&mut self, dir: &Path, what: &'static str) -> Result<&mut Dir> {
        self.dirs
            .get_mut(dir)
            .ok_or_else(|| os_error(what, dir, libc::ENOENT))
    }

    /// The file currently at `path`.
    fn file(&self, path: &Path) -> Result<Inode> {
        let (parent, name) = split(path, "open")?;
        self.dirs
            .get(parent)
            .and_then(|dir| dir.current.get(name))
            .map(Arc::clone)
            .ok_or_else(|| os_error("open", path, libc::ENOENT))
    }

    fn is_file(&self, path: &Path) -> bool {
        match (path.parent(), path.file_name()) {
            (Some(parent), Some(name)) => self
                .dirs
                .get(parent)
                .is_some_and(|dir| dir.current.contains_key(name)),
            _ => false,
        }
    }

    /// Records `dir` and its ancestors as directories.
    fn make_dirs(&mut self, dir: &Path, what: &'static str) -> Result<()> {
        // Check the whole chain before changing anything, so a failure leaves no trace.
        for ancestor in dir.ancestors() {
            if self.is_file(ancestor) {
                let errno = if ancestor == dir {
                    libc::EEXIST
                } else {
                    libc::ENOTDIR
                };
                return Err(os_error(what, ancestor, errno));
            }
        }
        for ancestor in dir.ancestors() {
            self.dirs.entry(ancestor.to_path_buf()).or_default();
        }
        Ok(())
    }
}

fn os_error(what: &'static str, path: &Path, errno: i32) -> Error {
    Error::io(what, path, io::Error::from_raw_os_error(errno))
}

/// The directory holding `path` and the entry name inside it.
fn split<'a>(path: &'a Path, what: &'static str) -> Result<(&'a Path, &'a OsStr)> {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => Ok((parent, name)),
        _ => Err(os_error(what, path, libc::EINVAL)),
    }
}

impl FileSystem for FaultFs {
    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        let mut state = self.lock_state();
        state.begin(FaultOp::CreateDir, "create directory", dir, None)?;
        state.make_dirs(dir, "create directory")
    }

    fn create_dir(&self, dir: &Path) -> Result<()> {
        let mut state = self.lock_state();
        state.begin(FaultOp::CreateDir, "create directory", dir, None)?;
        if state.dirs.contains_key(dir) || state.is_file(dir) {
            return Err(os_error("create directory", dir, libc::EEXIST));
        }
        match dir.parent() {
            Some(parent) if state.dirs.contains_key(parent) => {
                state.dirs.insert(dir.to_path_buf(), Dir::default());
                Ok(())
            }
            _ => Err(os_error("create directory", dir, libc::ENOENT)),
        }
    }

    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let mut state = self.lock_state();
        state.begin(FaultOp::Create, "create", path, None)?;
        if state.dirs.contains_key(path) {
            return Err(os_error("create", path, libc::EISDIR));
        }
        let (parent, name) = split(path, "create")?;
        let dir = state.dir_mut(parent, "create")?;
        let inode = match dir.current.get(name) {
            // O_TRUNC on the existing file. Its old contents are treated as durably gone:
            // the worst of the outcomes a real file system allows.
            Some(existing) => {
                *existing.lock() = FileData::durable(Vec::new());
                Arc::clone(existing)
            }
            None => {
                let inode = Arc::new(Mutex::new(FileData::durable(Vec::new())));
                dir.current.insert(name.to_os_string(), Arc::clone(&inode));
                inode
            }
        };
        Ok(Box::new(FaultWritable {
            state: Arc::clone(&self.state),
            path: path.to_path_buf(),
            inode,
            len: 0,
        }))
    }

    fn open_random(&self, path: &Path) -> Result<Arc<dyn RandomAccessFile>> {
        let inode = {
            let mut state = self.lock_state();
            state.begin(FaultOp::OpenRead, "open", path, None)?;
            state.file(path)?
        };
        let len = inode.lock().visible_len() as u64;
        Ok(Arc::new(FaultRandom {
            state: Arc::clone(&self.state),
            path: path.to_path_buf(),
            inode,
            len,
        }))
    }

    fn open_sequential(&self, path: &Path) -> Result<Box<dyn Read + Send>> {
        let inode = {
            let mut state = self.lock_state();
            state.begin(FaultOp::OpenRead, "open", path, None)?;
            state.file(path)?
        };
        let bytes = inode.lock().visible_bytes();
        Ok(Box::new(FaultSequential {
            state: Arc::clone(&self.state),
            path: path.to_path_buf(),
            bytes: io::Cursor::new(bytes),
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        let mut state = self.lock_state();
        state.begin(FaultOp::Rename, "rename", from, Some(to))?;
        if state.dirs.contains_key(from) {
            let unsupported = io::Error::new(
                io::ErrorKind::Unsupported,
                "FaultFs renames files, not directories",
            );
            return Err(Error::io("rename", from, unsupported));
        }
        if state.dirs.contains_key(to) {
            return Err(os_error("rename", to, libc::EISDIR));
        }
        let (from_dir, from_name) = split(from, "rename")?;
        let (to_dir, to_name) = split(to, "rename")?;
        let inode = state
            .file(from)
            .map_err(|_| os_error("rename", from, libc::ENOENT))?;
        if from_dir == to_dir && from_name == to_name {
            return Ok(());
        }
        // Only the current entries change: until `sync_dir`, a crash brings back the old
        // name (and whatever the target name held before).
        state
            .dir_mut(to_dir, "rename")?
            .current
            .insert(to_name.to_os_string(), inode);
        state.dir_mut(from_dir, "rename")?.current.remove(from_name);
        Ok(())
    }

    fn remove(&self, path: &Path) -> Result<()> {
        let mut state = self.lock_state();
        state.begin(FaultOp::Remove, "remove", path, None)?;
        if state.dirs.contains_key(path) {
            return Err(os_error("remove", path, libc::EISDIR));
        }
        let (parent, name) = split(path, "remove")?;
        state
            .dirs
            .get_mut(parent)
            .and_then(|dir| dir.current.remove(name))
            .map(drop)
            .ok_or_else(|| os_error("remove", path, libc::ENOENT))
    }

    fn hard_link(&self, from: &Path, to: &Path) -> Result<()> {
        let mut state = self.lock_state();
        state.begin(FaultOp::Link, "hard-link", from, Some(to))?;
        if state.dirs.contains_key(from) {
            // Linux refuses hard links to directories with EPERM.
            return Err(os_error("hard-link", from, libc::EPERM));
        }
        let inode = state
            .file(from)
            .map_err(|_| os_error("hard-link", from, libc::ENOENT))?;
        if state.dirs.contains_key(to) || state.is_file(to) {
            return Err(os_error("hard-link", to, libc::EEXIST));
        }
        let (to_dir, to_name) = split(to, "hard-link")?;
        // Only the current entry: until `sync_dir`, a crash loses the new name.
        state
            .dir_mut(to_dir, "hard-link")?
            .current
            .insert(to_name.to_os_string(), inode);
        Ok(())
    }

    fn remove_dir(&self, dir: &Path) -> Result<()> {
        let mut state = self.lock_state();
        state.begin(FaultOp::RemoveDir, "remove directory", dir, None)?;
        let Some(entry) = state.dirs.get(dir) else {
            let errno = if state.is_file(dir) {
                libc::ENOTDIR
            } else {
                libc::ENOENT
            };
            return Err(os_error("remove directory", dir, errno));
        };
        let has_subdirs = state.dirs.keys().any(|p| p.parent() == Some(dir));
        if !entry.current.is_empty() || has_subdirs {
            return Err(os_error("remove directory", dir, libc::ENOTEMPTY));
        }
        // Durable at once, like creation; durable entries not yet synced away go with it.
        state.dirs.remove(dir);
        Ok(())
    }

    fn list(&self, dir: &Path) -> Result<Vec<String>> {
        let mut state = self.lock_state();
        state.begin(FaultOp::List, "list", dir, None)?;
        let entry = state
            .dirs
            .get(dir)
            .ok_or_else(|| os_error("list", dir, libc::ENOENT))?;
        let files = entry.current.keys().map(OsString::as_os_str);
        let subdirs = state
            .dirs
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name());
        let mut names: Vec<String> = files
            .chain(subdirs)
            .filter_map(|name| name.to_str().map(str::to_string))
            .collect();
        names.sort();
        Ok(names)
    }

    fn sync_dir(&self, dir: &Path) -> Result<()> {
        let mut state = self.lock_state();
        state.begin(FaultOp::SyncDir, "fsync directory", dir, None)?;
        let entry = state.dir_mut(dir, "open directory")?;
        entry.durable = entry.current.clone();
        Ok(())
    }

    fn exists(&self, path: &Path) -> bool {
        let state = self.lock_state();
        state.dirs.contains_key(path) || state.is_file(path)
    }

    fn lock(&self, path: &Path) -> Result<Box<dyn FileLock>> {
        let mut state = self.lock_state();
        state.begin(FaultOp::Lock, "lock", path, None)?;
        if state.dirs.contains_key(path) {
            return Err(os_error("open lock file", path, libc::EISDIR));
        }
        // Like the real one, locking creates the lock file (an empty, unsynced entry).
        let (parent, name) = split(path, "open lock file")?;
        let dir = state.dir_mut(parent, "open lock file")?;
        dir.current
            .entry(name.to_os_string())
            .or_insert_with(|| Arc::new(Mutex::new(FileData::durable(Vec::new()))));
        if !state.locks.insert(path.to_path_buf()) {
            return Err(Error::Locked(parent.to_path_buf()));
        }
        Ok(Box::new(FaultLock {
            state: Arc::clone(&self.state),
            path: path.to_path_buf(),
        }))
    }
}

/// A file being appended to. Holds its inode, so it keeps writing the same file after a
/// rename or removal, and after a crash copy was taken (which never sees these writes).
#[derive(Debug)]
struct FaultWritable {
    state: Arc<Mutex<State>>,
    path: PathBuf,
    inode: Inode,
    len: u64,
}

impl WritableFile for FaultWritable {
    fn append(&mut self, data: &[u8]) -> Result<()> {
        // The fault check comes first, so a failed append writes nothing at all.
        self.state
            .lock()
            .begin(FaultOp::Append, "write", &self.path, None)?;
        self.inode.lock().bytes.extend_from_slice(data);
        self.len += data.len() as u64;
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        sync_inode(&self.state, &self.path, &self.inode)
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn preallocate(&mut self, len: u64) -> bool {
        let mut file = self.inode.lock();
        file.reserved = file
            .reserved
            .max(usize::try_from(len).unwrap_or(usize::MAX));
        true
    }

    fn truncate_to_appended(&mut self) -> Result<()> {
        let mut file = self.inode.lock();
        file.reserved = 0;
        Ok(())
    }

    fn syncer(&self) -> Option<Arc<dyn FileSyncer>> {
        Some(Arc::new(FaultSyncer {
            state: Arc::clone(&self.state),
            path: self.path.clone(),
            inode: Arc::clone(&self.inode),
        }))
    }
}

/// An fsync (counted and faulted like any other): everything appended so far is durable.
fn sync_inode(state: &Mutex<State>, path: &Path, inode: &Inode) -> Result<()> {
    let delay = {
        let mut state = state.lock();
        state.begin(FaultOp::Sync, "fsync", path, None)?;
        state.sync_delay
    };
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    let mut file = inode.lock();
    file.durable_len = file.bytes.len();
    file.durable_reserved = file.reserved;
    Ok(())
}

/// A [`FaultWritable`]'s fsync, callable from any thread.
#[derive(Debug)]
struct FaultSyncer {
    state: Arc<Mutex<State>>,
    path: PathBuf,
    inode: Inode,
}

impl FileSyncer for FaultSyncer {
    fn sync(&self) -> Result<()> {
        sync_inode(&self.state, &self.path, &self.inode)
    }
}

/// Positioned reads of a file's current bytes.
#[derive(Debug)]
struct FaultRandom {
    state: Arc<Mutex<State>>,
    path: PathBuf,
    inode: Inode,
    /// The size at open, as the real implementation reports it.
    len: u64,
}

impl RandomAccessFile for FaultRandom {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.state
            .lock()
            .begin(FaultOp::Read, "read", &self.path, None)?;
        let file = self.inode.lock();
        let range = usize::try_from(offset).ok().and_then(|start| {
            let end = start.checked_add(buf.len())?;
            (end <= file.visible_len()).then_some(start..end)
        });
        match range {
            Some(range) => {
                // Bytes past the appended ones are reserved space: zeros.
                let appended = file.bytes.get(range.start.min(file.bytes.len())..);
                let appended = appended.unwrap_or_default();
                let (from_bytes, zeros) = buf.split_at_mut(appended.len().min(buf.len()));
                from_bytes.copy_from_slice(appended.get(..from_bytes.len()).unwrap_or_default());
                zeros.fill(0);
                Ok(())
            }
            None => {
                let eof = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "read of {} bytes at offset {offset} is past the end ({} bytes)",
                        buf.len(),
                        file.visible_len()
                    ),
                );
                Err(Error::io("read", &self.path, eof))
            }
        }
    }

    fn len(&self) -> u64 {
        self.len
    }
}

/// A front-to-back read of the bytes the file held when it was opened.
#[derive(Debug)]
struct FaultSequential {
    state: Arc<Mutex<State>>,
    path: PathBuf,
    bytes: io::Cursor<Vec<u8>>,
}

impl Read for FaultSequential {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(kind) = self.state.lock().tick(FaultOp::Read, &self.path, None) {
            return Err(io::Error::from_raw_os_error(kind.errno()));
        }
        self.bytes.read(buf)
    }
}

/// An entry in the lock table, removed on drop.
#[derive(Debug)]
struct FaultLock {
    state: Arc<Mutex<State>>,
    path: PathBuf,
}

impl FileLock for FaultLock {}

impl Drop for FaultLock {
    fn drop(&mut self) {
        self.state.lock().locks.remove(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{read_all, replace_file_atomically};

    const DB: &str = "/db";

    fn new_fs() -> FaultFs {
        let fs = FaultFs::new();
        fs.create_dir_all(Path::new(DB)).unwrap();
        fs
    }

    fn path(name: &str) -> PathBuf {
        Path::new(DB).join(name)
    }

    /// Creates `name` holding `bytes`, synced, with its directory entry synced.
    fn durable_file(fs: &FaultFs, name: &str, bytes: &[u8]) {
        let mut file = fs.create(&path(name)).unwrap();
        file.append(bytes).unwrap();
        file.sync().unwrap();
        fs.sync_dir(Path::new(DB)).unwrap();
    }

    fn errno(err: &Error) -> Option<i32> {
        match err {
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    fn io_kind(err: &Error) -> Option<io::ErrorKind> {
        match err {
            Error::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }

    #[test]
    fn fault_fs_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<FaultFs>();
    }

    #[test]
    fn a_power_cut_keeps_synced_bytes_and_a_random_subset_of_unsynced_pages() {
        let fs = new_fs();
        let synced: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8 + 1).collect();
        let mut file = fs.create(&path("f")).unwrap();
        file.append(&synced).unwrap();
        file.sync().unwrap();
        fs.sync_dir(Path::new(DB)).unwrap();
        let unsynced = vec![0xab; 6 * PAGE];
        file.append(&unsynced).unwrap();
        let full: Vec<u8> = [synced.clone(), unsynced].concat();
        let (mut lengths, mut kept_pages, mut lost_pages) = (HashSet::new(), 0, 0);
        for seed in 0..200 {
            let cut = fs.power_cut_copy(seed);
            let bytes = cut.read_file(path("f")).unwrap();
            assert!(bytes.len() >= synced.len() && bytes.len() <= full.len());
            assert_eq!(&bytes[..synced.len()], &synced[..], "seed {seed}");
            lengths.insert(bytes.len());
            // Past the synced bytes, each page is all new bytes or all zeros.
            let mut page_start = synced.len() - synced.len() % PAGE;
            while page_start < bytes.len() {
                let from = page_start.max(synced.len());
                let to = (page_start + PAGE).min(bytes.len());
                let page = &bytes[from..to];
                if page.iter().all(|&b| b == 0) {
                    lost_pages += 1;
                } else {
                    assert_eq!(page, &full[from..to], "seed {seed} page {page_start}");
                    kept_pages += 1;
                }
                page_start += PAGE;
            }
            // The same seed, the same outcome.
            assert_eq!(fs.power_cut_copy(seed).read_file(path("f")).unwrap(), bytes);
        }
        assert!(lengths.len() > 50, "lengths vary: {}", lengths.len());
        assert!(
            kept_pages > 100 && lost_pages > 100,
            "{kept_pages} kept, {lost_pages} lost"
        );
        // What was never synced as an entry is gone, as with crash_copy.
        fs.create(&path("unsynced-entry")).unwrap();
        assert!(fs
            .power_cut_copy(1)
            .read_file(path("unsynced-entry"))
            .is_none());
    }

    #[test]
    fn unsynced_appends_are_lost_by_crash_copy() {
        let fs = new_fs();
        let mut file = fs.create(&path("000001.log")).unwrap();
        fs.sync_dir(Path::new(DB)).unwrap();
        file.append(b"never synced").unwrap();

        let crashed = fs.crash_copy();
        assert_eq!(crashed.read_file(path("000001.log")), Some(Vec::new()));
        assert_eq!(
            fs.read_file(path("000001.log")),
            Some(b"never synced".to_vec())
        );
    }

    #[test]
    fn synced_appends_survive_crash_copy() {
        let fs = new_fs();
        durable_file(&fs, "000001.log", b"synced");
        assert_eq!(
            fs.crash_copy().read_file(path("000001.log")),
            Some(b"synced".to_vec())
        );
    }

    #[test]
    fn partial_sync_keeps_exactly_the_synced_prefix() {
        let fs = new_fs();
        let mut file = fs.create(&path("000001.log")).unwrap();
        fs.sync_dir(Path::new(DB)).unwrap();
        file.append(b"one").unwrap();
        file.append(b"two").unwrap();
        file.sync().unwrap();
        file.append(b"three").unwrap();

        assert_eq!(
            fs.crash_copy().read_file(path("000001.log")),
            Some(b"onetwo".to_vec())
        );
        assert_eq!(file.len(), 11);
    }

    #[test]
    fn synced_file_in_unsynced_directory_vanishes_on_crash() {
        let fs = new_fs();
        let mut file = fs.create(&path("000002.sst")).unwrap();
        file.append(b"table").unwrap();
        file.sync().unwrap();

        let crashed = fs.crash_copy();
        assert!(!crashed.exists(&path("000002.sst")));
        assert!(crashed.file_names(DB).is_empty());

        fs.sync_dir(Path::new(DB)).unwrap();
        assert_eq!(
            fs.crash_copy().read_file(path("000002.sst")),
            Some(b"table".to_vec())
        );
    }

    #[test]
    fn rename_without_dir_sync_is_undone_by_crash() {
        let fs = new_fs();
        durable_file(&fs, "CURRENT", b"old");
        durable_file(&fs, "CURRENT.tmp", b"new");
        fs.rename(&path("CURRENT.tmp"), &path("CURRENT")).unwrap();
        assert_eq!(fs.read_file(path("CURRENT")), Some(b"new".to_vec()));
        assert!(!fs.exists(&path("CURRENT.tmp")));

        let crashed = fs.crash_copy();
        assert_eq!(crashed.read_file(path("CURRENT")), Some(b"old".to_vec()));
        assert_eq!(
            crashed.read_file(path("CURRENT.tmp")),
            Some(b"new".to_vec())
        );

        fs.sync_dir(Path::new(DB)).unwrap();
        let crashed = fs.crash_copy();
        assert_eq!(crashed.read_file(path("CURRENT")), Some(b"new".to_vec()));
        assert!(!crashed.exists(&path("CURRENT.tmp")));
    }

    #[test]
    fn rename_to_a_new_name_without_dir_sync_leaves_only_the_old_name() {
        let fs = new_fs();
        durable_file(&fs, "a", b"data");
        fs.rename(&path("a"), &path("b")).unwrap();
        let crashed = fs.crash_copy();
        assert_eq!(crashed.file_names(DB), vec!["a".to_string()]);
    }

    #[test]
    fn removal_without_dir_sync_comes_back_after_crash() {
        let fs = new_fs();
        durable_file(&fs, "000003.log", b"wal");
        fs.remove(&path("000003.log")).unwrap();
        assert!(!fs.exists(&path("000003.log")));

        assert_eq!(
            fs.crash_copy().read_file(path("000003.log")),
            Some(b"wal".to_vec())
        );

        fs.sync_dir(Path::new(DB)).unwrap();
        assert!(!fs.crash_copy().exists(&path("000003.log")));
    }

    #[test]
    fn a_hard_link_shares_the_inode_and_is_durable_once_its_directory_is_synced() {
        let fs = new_fs();
        durable_file(&fs, "000005.sst", b"table");
        fs.create_dir_all(Path::new("/cp")).unwrap();
        fs.hard_link(&path("000005.sst"), Path::new("/cp/000005.sst"))
            .unwrap();
        assert_eq!(fs.read_file("/cp/000005.sst"), Some(b"table".to_vec()));
        // The new name is lost by a power cut until its directory is synced.
        assert!(!fs.crash_copy().exists(Path::new("/cp/000005.sst")));
        fs.sync_dir(Path::new("/cp")).unwrap();
        // Removing the old name leaves the file reachable through the link, durably.
        fs.remove(&path("000005.sst")).unwrap();
        fs.sync_dir(Path::new(DB)).unwrap();
        let crashed = fs.crash_copy();
        assert!(!crashed.exists(&path("000005.sst")));
        assert_eq!(crashed.read_file("/cp/000005.sst"), Some(b"table".to_vec()));
        // The copy keeps the two names one file, as a power cut would.
        durable_file(&fs, "a", b"a");
        fs.hard_link(&path("a"), &path("b")).unwrap();
        fs.sync_dir(Path::new(DB)).unwrap();
        let copy = fs.snapshot_copy();
        fs.truncate(path("a"), 0).unwrap();
        assert_eq!(fs.read_file(path("b")), Some(Vec::new()));
        copy.truncate(path("b"), 0).unwrap();
        assert_eq!(copy.read_file(path("a")), Some(Vec::new()));
    }

    #[test]
    fn a_hard_link_refuses_an_existing_name_a_missing_file_and_a_directory() {
        let fs = new_fs();
        durable_file(&fs, "a", b"a");
        durable_file(&fs, "b", b"b");
        let refused = |from: &str, to: &str| {
            errno(&fs.hard_link(Path::new(from), Path::new(to)).unwrap_err())
        };
        assert_eq!(refused("/db/a", "/db/b"), Some(libc::EEXIST));
        assert_eq!(refused("/db/a", DB), Some(libc::EEXIST));
        assert_eq!(refused("/db/missing", "/db/c"), Some(libc::ENOENT));
        assert_eq!(refused(DB, "/db/c"), Some(libc::EPERM));
        assert_eq!(refused("/db/a", "/nowhere/c"), Some(libc::ENOENT));
        assert_eq!(fs.read_file(path("b")), Some(b"b".to_vec()));
        fs.inject(FaultOp::Link, 1, FaultKind::CrossDevice);
        assert_eq!(refused("/db/a", "/db/c"), Some(libc::EXDEV));
        assert!(!fs.exists(&path("c")));
        assert_eq!(fs.op_count(FaultOp::Link), 6);
    }

    /// Runs `replace_file_atomically` over a durable CURRENT holding "old" after arming a
    /// fault with `arm`; returns whether it succeeded, and the file systems a power cut and a
    /// `kill -9` would leave.
    fn replace_with(arm: impl FnOnce(&FaultFs)) -> (bool, Arc<FaultFs>, Arc<FaultFs>) {
        let fs = new_fs();
        durable_file(&fs, "CURRENT", b"old");
        arm(&fs);
        let result = replace_file_atomically(
            &fs,
            Path::new(DB),
            &path("CURRENT.tmp"),
            &path("CURRENT"),
            b"new",
        );
        (result.is_ok(), fs.crash_copy(), fs.snapshot_copy())
    }

    fn current_is_old_or_new(fs: &FaultFs, step: u64) -> Vec<u8> {
        let current = read_all(fs, &path("CURRENT")).unwrap();
        assert!(
            current == b"old" || current == b"new",
            "step {step}: CURRENT holds {current:?}"
        );
        current
    }

    #[test]
    fn atomic_replace_survives_a_crash_at_every_step() {
        // A sticky fault on every operation from the nth on is the process dying just
        // before its nth call; the crash copy is the power cut that follows.
        let mut step = 1;
        loop {
            let (ok, crashed, killed) =
                replace_with(|fs| fs.inject_sticky(FaultOp::Any, step, FaultKind::Eio));
            let after_crash = current_is_old_or_new(&crashed, step);
            current_is_old_or_new(&killed, step);
            if ok {
                assert_eq!(after_crash, b"new", "a finished replace must be durable");
                break;
            }
            step += 1;
            assert!(step < 20, "replace_file_atomically never finished");
        }
        // create, append, sync, rename, sync_dir.
        assert_eq!(step, 6);
    }

    #[test]
    fn atomic_replace_leaves_old_or_new_when_any_one_step_fails() {
        for kind in [FaultKind::Eio, FaultKind::Enospc] {
            for step in 1..=5 {
                let (ok, crashed, killed) = replace_with(|fs| fs.inject(FaultOp::Any, step, kind));
                assert!(!ok, "step {step} should have failed");
                current_is_old_or_new(&crashed, step);
                current_is_old_or_new(&killed, step);
            }
        }
    }

    #[test]
    fn replace_without_file_sync_is_caught_by_crash_copy() {
        // The model must be strict enough to catch a missing fsync: rename makes the new
        // name durable, but the bytes behind it never were.
        let fs = new_fs();
        durable_file(&fs, "CURRENT", b"old");
        let mut temp = fs.create(&path("CURRENT.tmp")).unwrap();
        temp.append(b"new").unwrap();
        drop(temp);
        fs.rename(&path("CURRENT.tmp"), &path("CURRENT")).unwrap();
        fs.sync_dir(Path::new(DB)).unwrap();
        assert_eq!(fs.crash_copy().read_file(path("CURRENT")), Some(Vec::new()));
    }

    #[test]
    fn nth_append_fails_with_enospc_and_writes_nothing() {
        let fs = new_fs();
        let mut file = fs.create(&path("000001.log")).unwrap();
        fs.inject(FaultOp::Append, 2, FaultKind::Enospc);
        file.append(b"a").unwrap();
        let err = file.append(b"b").unwrap_err();
        assert_eq!(errno(&err), Some(libc::ENOSPC));
        assert!(matches!(&err, Error::Io { op: "write", path: p, .. } if *p == path("000001.log")));
        file.append(b"c").unwrap();
        assert_eq!(file.len(), 2);
        assert_eq!(fs.read_file(path("000001.log")), Some(b"ac".to_vec()));
    }

    // Reserved space reads as zeros that appends fill in place; the size (reserved or cut
    // back) is durable at the next sync, and a power cut keeps the size last synced.
    #[test]
    fn reserved_space_reads_as_zeros_and_its_size_is_durable_once_synced() {
        let fs = new_fs();
        let name = path("000001.log");
        let mut file = fs.create(&name).unwrap();
        fs.sync_dir(Path::new(DB)).unwrap();
        file.append(b"ab").unwrap();
        assert!(file.preallocate(6));
        assert_eq!(file.len(), 2);
        assert_eq!(fs.read_file(&name).unwrap(), b"ab\0\0\0\0");
        assert_eq!(fs.crash_copy().read_file(&name).unwrap(), b"");
        file.sync().unwrap();
        file.append(b"cd").unwrap();
        assert_eq!(fs.read_file(&name).unwrap(), b"abcd\0\0");
        let reader = fs.open_random(&name).unwrap();
        assert_eq!(reader.len(), 6);
        let mut buf = [9u8; 3];
        reader.read_exact_at(&mut buf, 3).unwrap();
        assert_eq!(&buf, b"d\0\0");
        assert!(reader.read_exact_at(&mut buf, 4).is_err());
        let mut whole = Vec::new();
        fs.open_sequential(&name)
            .unwrap()
            .read_to_end(&mut whole)
            .unwrap();
        assert_eq!(whole, b"abcd\0\0");
        // The unsynced append is lost in a power cut; the synced size is not.
        assert_eq!(fs.crash_copy().read_file(&name).unwrap(), b"ab\0\0\0\0");
        for seed in 0..20 {
            let cut = fs.power_cut_copy(seed).read_file(&name).unwrap();
            assert_eq!(cut.len(), 6, "{cut:?}");
            assert!(cut.starts_with(b"ab") && cut.ends_with(b"\0\0"), "{cut:?}");
        }
        file.truncate_to_appended().unwrap();
        assert_eq!(fs.read_file(&name).unwrap(), b"abcd");
        assert_eq!(fs.crash_copy().read_file(&name).unwrap(), b"ab\0\0\0\0");
        file.sync().unwrap();
        assert_eq!(fs.crash_copy().read_file(&name).unwrap(), b"abcd");
    }

    #[test]
    fn flip_byte_reaches_reserved_space_and_no_further() {
        let fs = new_fs();
        let name = path("000001.log");
        let mut file = fs.create(&name).unwrap();
        file.append(b"ab").unwrap();
        assert!(file.preallocate(4));
        fs.flip_byte(&name, 1).unwrap();
        assert_eq!(fs.read_file(&name).unwrap(), b"a\x9d\0\0");
        fs.flip_byte(&name, 3).unwrap();
        assert_eq!(fs.read_file(&name).unwrap(), b"a\x9d\0\xff");
        assert!(fs.flip_byte(&name, 4).is_err());
    }

    #[test]
    fn failed_sync_makes_nothing_durable() {
        let fs = new_fs();
        let mut file = fs.create(&path("000001.log")).unwrap();
        fs.sync_dir(Path::new(DB)).unwrap();
        file.append(b"record").unwrap();
        fs.inject(FaultOp::Sync, 1, FaultKind::Eio);
        let err = file.sync().unwrap_err();
        assert_eq!(errno(&err), Some(libc::EIO));
        assert_eq!(
            fs.crash_copy().read_file(path("000001.log")),
            Some(Vec::new())
        );
    }

    #[test]
    fn failed_sync_dir_and_rename_change_nothing() {
        let fs = new_fs();
        durable_file(&fs, "a", b"a");
        fs.create(&path("b")).unwrap();
        fs.inject(FaultOp::SyncDir, 1, FaultKind::Eio);
        assert!(fs.sync_dir(Path::new(DB)).is_err());
        assert!(!fs.crash_copy().exists(&path("b")));

        fs.inject(FaultOp::Rename, 1, FaultKind::Eio);
        assert!(fs.rename(&path("a"), &path("c")).is_err());
        assert_eq!(fs.file_names(DB), vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn sticky_fault_keeps_failing_until_cleared() {
        let fs = new_fs();
        let mut file = fs.create(&path("000001.log")).unwrap();
        fs.inject_sticky(FaultOp::Append, 2, FaultKind::Eio);
        file.append(b"a").unwrap();
        for _ in 0..5 {
            assert_eq!(errno(&file.append(b"x").unwrap_err()), Some(libc::EIO));
        }
        fs.clear_faults();
        file.append(b"b").unwrap();
        assert_eq!(fs.read_file(path("000001.log")), Some(b"ab".to_vec()));
    }

    #[test]
    fn one_shot_fault_fires_once() {
        let fs = new_fs();
        fs.inject(FaultOp::Create, 1, FaultKind::Eio);
        assert!(fs.create(&path("a")).is_err());
        assert!(!fs.exists(&path("a")), "a failed create leaves no file");
        fs.create(&path("a")).unwrap();
    }

    #[test]
    fn path_filter_selects_the_file() {
        let fs = new_fs();
        let mut manifest = fs.create(&path("MANIFEST-000001")).unwrap();
        let mut log = fs.create(&path("000002.log")).unwrap();
        fs.inject_on(FaultOp::Sync, ".log", 1, FaultKind::Eio);
        manifest.sync().unwrap();
        assert_eq!(errno(&log.sync().unwrap_err()), Some(libc::EIO));
        log.sync().unwrap();

        // A rename filter matches the target name too.
        fs.inject_on(FaultOp::Rename, "CURRENT", 1, FaultKind::Eio);
        fs.rename(&path("000002.log"), &path("000003.log")).unwrap();
        durable_file(&fs, "tmp", b"x");
        assert!(fs.rename(&path("tmp"), &path("CURRENT")).is_err());

        // Only matching calls count towards nth.
        fs.inject_sticky_on(FaultOp::Any, "MANIFEST", 2, FaultKind::Enospc);
        log.append(b"x").unwrap();
        log.sync().unwrap();
        manifest.append(b"edit").unwrap();
        assert_eq!(errno(&manifest.sync().unwrap_err()), Some(libc::ENOSPC));
        assert!(manifest.append(b"more").is_err());
        log.append(b"y").unwrap();
    }

    #[test]
    fn op_count_counts_every_call_failed_or_not() {
        let fs = new_fs();
        assert_eq!(fs.op_count(FaultOp::CreateDir), 1);
        let mut file = fs.create(&path("a")).unwrap();
        fs.inject(FaultOp::Append, 2, FaultKind::Eio);
        for _ in 0..3 {
            let _ = file.append(b"x");
        }
        file.sync().unwrap();
        assert!(fs.open_random(&path("missing")).is_err());
        assert_eq!(fs.op_count(FaultOp::Append), 3);
        assert_eq!(fs.op_count(FaultOp::Sync), 1);
        assert_eq!(fs.op_count(FaultOp::Create), 1);
        assert_eq!(fs.op_count(FaultOp::OpenRead), 1);
        assert_eq!(fs.op_count(FaultOp::Rename), 0);
        assert_eq!(fs.op_count(FaultOp::Any), 7);
    }

    #[test]
    fn any_fault_fires_on_whatever_call_comes_nth() {
        let fs = new_fs();
        fs.inject(FaultOp::Any, 3, FaultKind::Eio);
        let mut file = fs.create(&path("a")).unwrap();
        file.append(b"x").unwrap();
        assert!(fs.list(Path::new(DB)).is_err());
        fs.list(Path::new(DB)).unwrap();
    }

    #[test]
    fn second_lock_fails_until_the_first_guard_is_dropped() {
        let fs = new_fs();
        let guard = fs.lock(&path("LOCK")).unwrap();
        assert!(fs.exists(&path("LOCK")));
        match fs.lock(&path("LOCK")) {
            Err(Error::Locked(dir)) => assert_eq!(dir, Path::new(DB)),
            other => panic!("expected Locked, got {other:?}"),
        }
        // A crash copy is a fresh boot: nobody holds the lock there.
        let crashed = fs.snapshot_copy();
        let _copy_guard = crashed.lock(&path("LOCK")).unwrap();

        drop(guard);
        let _again = fs.lock(&path("LOCK")).unwrap();
    }

    #[test]
    fn snapshot_copy_keeps_unsynced_data_and_remembers_what_is_durable() {
        let fs = new_fs();
        durable_file(&fs, "000001.log", b"synced");
        let mut file = fs.create(&path("000002.log")).unwrap();
        file.append(b"unsynced").unwrap();

        let killed = fs.snapshot_copy();
        assert_eq!(
            killed.read_file(path("000002.log")),
            Some(b"unsynced".to_vec())
        );
        assert_eq!(
            killed.read_file(path("000001.log")),
            Some(b"synced".to_vec())
        );

        let then_crashed = killed.crash_copy();
        assert!(!then_crashed.exists(&path("000002.log")));
        assert_eq!(
            then_crashed.read_file(path("000001.log")),
            Some(b"synced".to_vec())
        );
    }

    #[test]
    fn copies_are_independent_of_the_dying_original() {
        let fs = new_fs();
        let mut file = fs.create(&path("000001.log")).unwrap();
        fs.sync_dir(Path::new(DB)).unwrap();
        file.append(b"before").unwrap();
        file.sync().unwrap();
        fs.inject_sticky(FaultOp::Any, 1, FaultKind::Eio);
        let crashed = fs.crash_copy();
        let killed = fs.snapshot_copy();

        // Faults are not copied.
        let mut other = crashed.create(&path("000002.log")).unwrap();
        other.append(b"fresh").unwrap();

        // The original keeps going without touching the copies.
        fs.clear_faults();
        file.append(b" after").unwrap();
        file.sync().unwrap();
        fs.remove(&path("000001.log")).unwrap();
        fs.sync_dir(Path::new(DB)).unwrap();
        drop(file);
        assert_eq!(
            crashed.read_file(path("000001.log")),
            Some(b"before".to_vec())
        );
        assert_eq!(
            killed.read_file(path("000001.log")),
            Some(b"before".to_vec())
        );
        assert_eq!(crashed.op_count(FaultOp::Any), 2);
    }

    #[test]
    fn open_handles_follow_their_file_through_rename_and_remove() {
        let fs = new_fs();
        durable_file(&fs, "a", b"0123");
        let reader = fs.open_random(&path("a")).unwrap();
        let mut writer = fs.create(&path("b")).unwrap();
        fs.rename(&path("b"), &path("c")).unwrap();
        fs.remove(&path("a")).unwrap();
        writer.append(b"xyz").unwrap();

        let mut buf = [0u8; 2];
        reader.read_exact_at(&mut buf, 2).unwrap();
        assert_eq!(&buf, b"23");
        assert_eq!(fs.read_file(path("c")), Some(b"xyz".to_vec()));
    }

    #[test]
    fn read_past_the_end_is_unexpected_eof() {
        let fs = new_fs();
        durable_file(&fs, "a", b"0123");
        let reader = fs.open_random(&path("a")).unwrap();
        assert_eq!(reader.len(), 4);
        let mut buf = [0u8; 4];
        reader.read_exact_at(&mut buf, 0).unwrap();
        let err = reader.read_exact_at(&mut buf, 1).unwrap_err();
        assert_eq!(io_kind(&err), Some(io::ErrorKind::UnexpectedEof));
        let err = reader.read_exact_at(&mut buf, u64::MAX).unwrap_err();
        assert_eq!(io_kind(&err), Some(io::ErrorKind::UnexpectedEof));
    }

    #[test]
    fn random_reader_len_is_the_size_at_open() {
        let fs = new_fs();
        let mut writer = fs.create(&path("a")).unwrap();
        writer.append(b"ab").unwrap();
        let reader = fs.open_random(&path("a")).unwrap();
        writer.append(b"cd").unwrap();
        assert_eq!(reader.len(), 2);
        let mut buf = [0u8; 4];
        reader.read_exact_at(&mut buf, 0).unwrap();
        assert_eq!(&buf, b"abcd");
    }

    #[test]
    fn sequential_reader_reads_a_snapshot_and_can_fail() {
        let fs = new_fs();
        let mut writer = fs.create(&path("a")).unwrap();
        writer.append(b"hello").unwrap();
        let mut reader = fs.open_sequential(&path("a")).unwrap();
        writer.append(b" world").unwrap();
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello");

        fs.inject_on(FaultOp::Read, "a", 1, FaultKind::Eio);
        let err = read_all(&fs, &path("a")).unwrap_err();
        assert_eq!(errno(&err), Some(libc::EIO));
    }

    #[test]
    fn missing_files_and_directories_are_not_found() {
        let fs = new_fs();
        let missing = path("nope");
        for err in [
            fs.open_random(&missing).map(drop).unwrap_err(),
            fs.open_sequential(&missing).map(drop).unwrap_err(),
            fs.remove(&missing).unwrap_err(),
            fs.rename(&missing, &path("x")).unwrap_err(),
            fs.list(Path::new("/other")).unwrap_err(),
            fs.sync_dir(Path::new("/other")).unwrap_err(),
            fs.create(Path::new("/other/file")).map(drop).unwrap_err(),
            fs.remove_dir(Path::new("/other")).unwrap_err(),
        ] {
            assert_eq!(io_kind(&err), Some(io::ErrorKind::NotFound), "{err}");
        }
        assert!(!fs.exists(&missing));
    }

    #[test]
    fn directories_list_files_and_subdirectories() {
        let fs = new_fs();
        fs.create_dir_all(Path::new("/db/sub/deeper")).unwrap();
        fs.create(&path("b")).unwrap();
        fs.create(&path("a")).unwrap();
        assert!(fs.exists(Path::new("/db/sub")));
        assert!(fs.exists(Path::new("/db")));
        assert_eq!(fs.list(Path::new(DB)).unwrap(), vec!["a", "b", "sub"]);
        assert_eq!(fs.file_names(DB), vec!["a", "b"]);
        assert_eq!(fs.list(Path::new("/")).unwrap(), vec!["db"]);

        let err = fs.remove_dir(Path::new("/db/sub")).unwrap_err();
        assert_eq!(errno(&err), Some(libc::ENOTEMPTY));
        fs.remove_dir(Path::new("/db/sub/deeper")).unwrap();
        fs.remove_dir(Path::new("/db/sub")).unwrap();
        assert!(!fs.exists(Path::new("/db/sub")));

        // A file is not a directory.
        assert!(fs.create_dir_all(&path("a")).is_err());
        assert!(fs.create_dir_all(&path("a/b")).is_err());
    }

    #[test]
    fn create_over_an_existing_file_truncates_it_durably() {
        let fs = new_fs();
        durable_file(&fs, "a", b"old contents");
        let mut file = fs.create(&path("a")).unwrap();
        file.append(b"new").unwrap();
        assert_eq!(fs.read_file(path("a")), Some(b"new".to_vec()));
        assert_eq!(fs.crash_copy().read_file(path("a")), Some(Vec::new()));
    }

    #[test]
    fn raw_helpers_damage_current_and_durable_bytes() {
        let fs = new_fs();
        fs.write_file("/elsewhere/deep/f", b"abcdef").unwrap();
        assert_eq!(
            fs.crash_copy().read_file("/elsewhere/deep/f"),
            Some(b"abcdef".to_vec())
        );

        fs.flip_byte("/elsewhere/deep/f", 1).unwrap();
        fs.truncate("/elsewhere/deep/f", 4).unwrap();
        let expected = vec![b'a', b'b' ^ 0xff, b'c', b'd'];
        assert_eq!(fs.read_file("/elsewhere/deep/f"), Some(expected.clone()));
        assert_eq!(
            fs.crash_copy().read_file("/elsewhere/deep/f"),
            Some(expected)
        );

        assert!(fs.flip_byte("/elsewhere/deep/f", 4).is_err());
        assert!(fs.truncate("/elsewhere/deep/f", 5).is_err());
        assert!(fs.flip_byte("/elsewhere/nope", 0).is_err());
        assert_eq!(fs.read_file("/elsewhere/nope"), None);
        assert!(fs.file_names("/nowhere").is_empty());
    }

    #[test]
    fn truncate_keeps_unsynced_bytes_unsynced() {
        let fs = new_fs();
        let mut file = fs.create(&path("a")).unwrap();
        fs.sync_dir(Path::new(DB)).unwrap();
        file.append(b"ab").unwrap();
        file.sync().unwrap();
        file.append(b"cdef").unwrap();
        fs.truncate(path("a"), 4).unwrap();
        assert_eq!(fs.read_file(path("a")), Some(b"abcd".to_vec()));
        assert_eq!(fs.crash_copy().read_file(path("a")), Some(b"ab".to_vec()));
    }

    #[test]
    fn many_small_appends_are_cheap() {
        let fs = new_fs();
        let mut file = fs.create(&path("000001.log")).unwrap();
        for i in 0..100_000u32 {
            file.append(&i.to_le_bytes()).unwrap();
            if i % 10 == 0 {
                file.sync().unwrap();
            }
        }
        assert_eq!(file.len(), 400_000);
        assert_eq!(fs.op_count(FaultOp::Append), 100_000);
    }

    #[test]
    fn threads_share_one_file_system() {
        let fs = Arc::new(new_fs());
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let fs = Arc::clone(&fs);
                std::thread::spawn(move || {
                    let mut file = fs.create(&path(&format!("{t}.log"))).unwrap();
                    for _ in 0..1000 {
                        file.append(b"x").unwrap();
                    }
                    file.sync().unwrap();
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        fs.sync_dir(Path::new(DB)).unwrap();
        let crashed = fs.crash_copy();
        for t in 0..4 {
            assert_eq!(
                crashed.read_file(path(&format!("{t}.log"))).unwrap().len(),
                1000
            );
        }
    }
}
