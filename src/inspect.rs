//! Inspection: reading a database's files directly, for tools such as `toykv verify` and
//! `toykv dump-sst`, without opening the database.
//!
//! Nothing here creates, changes, renames or deletes a file (the one exception: a database
//! directory that lacks its `LOCK` file gets one when [`DbVerifier::open`] takes the lock).
//! Files are read through the engine's own readers, so a check here fails exactly where the
//! engine would fail to read, with the same error naming the file and offset.
//!
//! - [`DbVerifier`] checks a whole database: `CURRENT`, the manifest, every block of every
//!   live sstable and every WAL still to be replayed, one [`Check`] per region, with a
//!   callback per region for progress. It holds the database's `LOCK` while it lives, so it
//!   never races a writer (and fails with [`Error::Locked`] while the database is open).
//! - [`verify_table`] does the same for one sstable file.
//! - [`Sstable`] opens one sstable and hands out what `dump-sst` prints: its footer, block
//!   index, filter summary and entries.
//!
//! Types here are plain data (owned keys and values) so that the engine's internal types
//! stay private. Everything may be used from any thread; a [`DbVerifier`] runs on the
//! caller's thread.

use crate::env::{FileLock, FileSystem, PosixFs, RandomAccessFile};
use crate::filename::{self, table_path, wal_path, FileKind, CURRENT, LOCK};
use crate::sstable::{BlockIter, Footer, Table, FILTER_BUCKET_BYTES, FOOTER_LEN, TABLE_MAGIC};
use crate::version::{manifest, FileMeta};
use crate::{wal, Error, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::types::{SeqNum, ValueKind};

/// A part of a file that is checked on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Region {
    /// A whole file, when it cannot be checked part by part: missing, unreadable, or not
    /// the size the manifest records.
    File,
    /// `CURRENT`, which names the live manifest.
    Current,
    /// A whole manifest: every record's checksums and the consistency of its edits.
    Manifest,
    /// A whole WAL: every record's checksums and the write batch inside it.
    Wal,
    /// An sstable's footer (its last 48 bytes).
    Footer,
    /// An sstable's bloom filter.
    Filter,
    /// An sstable's block index.
    Index,
    /// Data block `n` of an sstable, counted from 0 in file order.
    DataBlock(usize),
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Region::File => f.write_str("file"),
            Region::Current => f.write_str("CURRENT"),
            Region::Manifest => f.write_str("manifest"),
            Region::Wal => f.write_str("WAL"),
            Region::Footer => f.write_str("footer"),
            Region::Filter => f.write_str("filter"),
            Region::Index => f.write_str("index"),
            Region::DataBlock(n) => write!(f, "data block {n}"),
        }
    }
}

/// The outcome of checking one region of one file.
#[derive(Debug)]
pub struct Check {
    pub path: PathBuf,
    pub region: Region,
    /// Where the region starts in the file, and its length in bytes (checksum included).
    pub offset: u64,
    pub len: u64,
    /// `None` when the region is sound. Otherwise what is wrong: [`Error::Corruption`]
    /// (naming the file and the offset of the bad bytes) or [`Error::Io`].
    pub problem: Option<Error>,
}

impl Check {
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// What a verification found.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Files looked at, regions checked and the bytes they cover.
    pub files: usize,
    pub regions: u64,
    pub bytes: u64,
    /// Every check that failed, in the order they were made.
    pub problems: Vec<Check>,
    /// What is worth knowing but is not damage: a WAL's torn tail (a write interrupted by a
    /// crash, which recovery drops), or a manifest that could not be read.
    pub notes: Vec<String>,
}

impl VerifyReport {
    /// True when no check failed.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn record(&mut self, check: Check, on_check: &mut dyn FnMut(&Check)) {
        on_check(&check);
        self.regions += 1;
        self.bytes += check.len;
        if !check.is_ok() {
            self.problems.push(check);
        }
    }
}

/// One file a [`DbVerifier`] will check.
#[derive(Debug)]
enum Planned {
    /// An sstable; `meta` is what the manifest records about it (none when the manifest
    /// could not be read).
    Table {
        path: PathBuf,
        meta: Option<FileMeta>,
    },
    /// A WAL recovery would replay; `synced_len` is what a clean close recorded for it.
    Wal {
        path: PathBuf,
        synced_len: Option<u64>,
    },
}

/// A verification of a whole database, planned and holding the database's lock.
///
/// ```no_run
/// # fn main() -> toykv::Result<()> {
/// let verifier = toykv::inspect::DbVerifier::open("/tmp/db")?;
/// let total = verifier.total_bytes();
/// let mut done = 0;
/// let report = verifier.run(|check| {
///     done += check.len;
///     eprint!("\r{done}/{total} bytes");
/// });
/// for bad in &report.problems {
///     println!("{} {}: {}", bad.path.display(), bad.region, bad.problem.as_ref().unwrap());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DbVerifier {
    fs: Arc<dyn FileSystem>,
    /// Checks already made while planning: `CURRENT` and the manifest.
    early: Vec<Check>,
    files: Vec<Planned>,
    notes: Vec<String>,
    total_bytes: u64,
    _lock: Box<dyn FileLock>,
}

impl DbVerifier {
    /// Takes the lock of the database in `dir`, checks `CURRENT` and the manifest, and lists
    /// the files to check: the sstables the manifest names and the WALs recovery would
    /// replay. When `CURRENT` or the manifest is damaged, every sstable and WAL in the
    /// directory is checked instead (and a note says so).
    ///
    /// # Errors
    /// `InvalidArgument` when `dir` holds no database (no `CURRENT`); `Locked` while the
    /// database is open; `Io` when the directory cannot be read.
    pub fn open(dir: impl AsRef<Path>) -> Result<DbVerifier> {
        let dir = dir.as_ref();
        let fs: Arc<dyn FileSystem> = Arc::new(PosixFs);
        let current_path = dir.join(CURRENT);
        if !fs.exists(&current_path) {
            return Err(Error::invalid(format!(
                "{} holds no database (no CURRENT file)",
                dir.display()
            )));
        }
        let lock = fs.lock(&dir.join(LOCK))?;
        let names = fs.list(dir)?;

        let mut early = Vec::new();
        let current = manifest::read_current(&*fs, dir).and_then(|number| {
            number.ok_or_else(|| Error::corruption(&current_path, 0, "CURRENT disappeared"))
        });
        early.push(whole_file_check(
            &*fs,
            &current_path,
            Region::Current,
            current.as_ref().err(),
        ));
        let recovered = current.ok().map(|number| {
            let path = dir.join(filename::manifest_name(number));
            let recovered = manifest::recover(&*fs, dir, number);
            early.push(whole_file_check(
                &*fs,
                &path,
                Region::Manifest,
                recovered.as_ref().err(),
            ));
            recovered
        });

        let mut notes = Vec::new();
        let mut files = Vec::new();
        let numbered = |wanted: fn(FileKind) -> Option<u64>| {
            let mut numbers: Vec<u64> = names
                .iter()
                .filter_map(|n| filename::parse(n).and_then(wanted))
                .collect();
            numbers.sort_unstable();
            numbers
        };
        let wal_number = |kind| match kind {
            FileKind::Wal(n) => Some(n),
            _ => None,
        };
        match recovered {
            Some(Ok(recovered)) => {
                for (_, meta) in recovered.files {
                    let path = table_path(dir, meta.number);
                    files.push(Planned::Table {
                        path,
                        meta: Some(meta),
                    });
                }
                for n in numbered(wal_number) {
                    if n >= recovered.log_number {
                        files.push(Planned::Wal {
                            path: wal_path(dir, n),
                            synced_len: recovered.synced_wals.get(&n).copied(),
                        });
                    }
                }
            }
            _ => {
                notes.push(
                    "the live file set is unknown (CURRENT or the manifest is damaged): \
                     every sstable and WAL in the directory was checked"
                        .to_string(),
                );
                let table_number = |kind| match kind {
                    FileKind::Table(n) => Some(n),
                    _ => None,
                };
                for n in numbered(table_number) {
                    files.push(Planned::Table {
                        path: table_path(dir, n),
                        meta: None,
                    });
                }
                for n in numbered(wal_number) {
                    files.push(Planned::Wal {
                        path: wal_path(dir, n),
                        synced_len: None,
                    });
                }
            }
        }

        let early_bytes: u64 = early.iter().map(|c| c.len).sum();
        let planned_bytes: u64 = files
            .iter()
            .map(|f| match f {
                Planned::Table {
                    meta: Some(meta), ..
                } => meta.size,
                Planned::Table { path, .. } | Planned::Wal { path, .. } => file_len(&*fs, path),
            })
            .sum();
        Ok(DbVerifier {
            fs,
            early,
            files,
            notes,
            total_bytes: early_bytes + planned_bytes,
            _lock: lock,
        })
    }

    /// The bytes [`DbVerifier::run`] will check (for a progress bar): every planned file's
    /// size.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Checks every planned file, calling `on_check` after each region, and releases the
    /// lock. Damage never stops the run: each file and block is checked on its own.
    pub fn run(self, mut on_check: impl FnMut(&Check)) -> VerifyReport {
        let mut report = VerifyReport {
            notes: self.notes,
            ..VerifyReport::default()
        };
        report.files = self.early.len() + self.files.len();
        for check in self.early {
            report.record(check, &mut on_check);
        }
        for file in &self.files {
            match file {
                Planned::Table { path, meta } => {
                    check_table(&self.fs, path, meta.as_ref(), &mut report, &mut on_check);
                }
                Planned::Wal { path, synced_len } => {
                    check_wal(&*self.fs, path, *synced_len, &mut report, &mut on_check);
                }
            }
        }
        report
    }
}

/// Checks every region of the sstable at `path`: footer, filter, index and each data block,
/// calling `on_check` after each. The file is not locked: a table is never changed once
/// written.
///
/// # Errors
/// `Io` when the file cannot be opened; damage is reported in the [`VerifyReport`].
pub fn verify_table(
    path: impl AsRef<Path>,
    mut on_check: impl FnMut(&Check),
) -> Result<VerifyReport> {
    let path = path.as_ref();
    let fs: Arc<dyn FileSystem> = Arc::new(PosixFs);
    fs.open_random(path)?;
    let mut report = VerifyReport {
        files: 1,
        ..VerifyReport::default()
    };
    check_table(&fs, path, None, &mut report, &mut on_check);
    Ok(report)
}

/// A check of a file read as a whole (CURRENT, a manifest), already made.
fn whole_file_check(
    fs: &dyn FileSystem,
    path: &Path,
    region: Region,
    problem: Option<&Error>,
) -> Check {
    Check {
        path: path.to_path_buf(),
        region,
        offset: 0,
        len: file_len(fs, path),
        problem: problem.map(Error::duplicate),
    }
}

/// The size of `path`, or 0 when it cannot be opened (the check then reports why).
fn file_len(fs: &dyn FileSystem, path: &Path) -> u64 {
    fs.open_random(path).map_or(0, |f| f.len())
}

/// Reads a WAL as recovery would. `synced_len` is what a clean close recorded as fsynced:
/// damage there is corruption; past it, or with nothing recorded, a torn record or lost
/// page is where recovery would stop (a note, not damage).
fn check_wal(
    fs: &dyn FileSystem,
    path: &Path,
    synced_len: Option<u64>,
    report: &mut VerifyReport,
    on_check: &mut dyn FnMut(&Check),
) {
    let from = wal::ReplayFrom {
        synced_len,
        ..wal::ReplayFrom::default()
    };
    let replayed = wal::replay(fs, path, from, |_, _| Ok(()));
    if let Ok(stats) = &replayed {
        if let wal::ReplayEnd::Stopped {
            offset,
            dropped,
            reason,
        } = &stats.end
        {
            report.notes.push(format!(
                "{}: recovery stops at offset {offset} ({reason}; the {dropped} bytes from \
                 there were never fsynced, were cut by a crash, or are zeros reserved ahead \
                 of the writes)",
                path.display()
            ));
        }
    }
    let check = whole_file_check(fs, path, Region::Wal, replayed.as_ref().err());
    report.record(check, on_check);
}

/// Checks one sstable region by region. `meta`, when known, is what the manifest records:
/// the file's size and key range must match it.
fn check_table(
    fs: &Arc<dyn FileSystem>,
    path: &Path,
    meta: Option<&FileMeta>,
    report: &mut VerifyReport,
    on_check: &mut dyn FnMut(&Check),
) {
    // Records the check of `region` at `(offset, len)`.
    let mut record = |region: Region, (offset, len): (u64, u64), problem: Option<Error>| {
        let check = Check {
            path: path.to_path_buf(),
            region,
            offset,
            len,
            problem,
        };
        report.record(check, on_check);
    };
    let expected_len = meta.map_or(0, |m| m.size);
    let file = match fs.open_random(path) {
        Ok(file) => file,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            let e = Error::corruption(path, 0, "sstable named by the manifest is missing");
            return record(Region::File, (0, expected_len), Some(e));
        }
        Err(e) => return record(Region::File, (0, expected_len), Some(e)),
    };
    let size = file.len();
    if meta.is_some_and(|m| m.size != size) {
        let e = Error::corruption(
            path,
            0,
            format!("file is {size} bytes, the manifest records {expected_len}"),
        );
        // Its regions are still checked: the report then says where the damage shows.
        record(Region::File, (0, 0), Some(e));
    }

    let footer_region = (
        size.saturating_sub(FOOTER_LEN as u64),
        size.min(FOOTER_LEN as u64),
    );
    let footer = match read_footer(&*file, path) {
        Ok(footer) => footer,
        // Without the footer nothing else can be found.
        Err(e) => return record(Region::Footer, footer_region, Some(e)),
    };
    record(Region::Footer, footer_region, None);
    let filter_region = (footer.filter.offset, footer.filter.len);
    let index_region = (footer.index.offset, footer.index.len);

    // Opening verifies the index and the filter (and the footer again).
    let table = match Table::open(file, path.to_path_buf(), 0, None) {
        Ok(table) => table,
        Err(e) => {
            let in_filter = matches!(&e, Error::Corruption { offset, .. }
                if footer.filter.len > 0 && *offset < footer.index.offset);
            return if in_filter {
                record(Region::Filter, filter_region, Some(e))
            } else {
                record(Region::Index, index_region, Some(e))
            };
        }
    };
    if footer.filter.len > 0 {
        record(Region::Filter, filter_region, None);
    }
    let index = table.index();
    // The last block's separator is the table's largest user key (in either format
    // version); the smallest is the first block's first key, checked once that block reads.
    let largest_problem = meta.and_then(|m| {
        let last = index.separator(index.len().saturating_sub(1)).map(|s| s.0);
        (last != Some(m.largest.as_slice())).then(|| {
            Error::corruption(
                path,
                footer.index.offset,
                "the index's largest key differs from the one the manifest records",
            )
        })
    });
    record(Region::Index, index_region, largest_problem);

    // No block cache: every block is read from the file and verified.
    for i in 0..index.len() {
        let Some(handle) = index.handle(i) else { break };
        let problem = match table.read_block(i) {
            Err(e) => Some(e),
            Ok(block) if i == 0 => meta.and_then(|m| {
                let mut first = BlockIter::new(block);
                match first.seek_to_first() {
                    Err(e) => Some(table.block_error(0, e)),
                    Ok(()) if first.key() != m.smallest.as_slice() => Some(Error::corruption(
                        path,
                        handle.offset,
                        "the table's smallest key differs from the one the manifest records",
                    )),
                    Ok(()) => None,
                }
            }),
            Ok(_) => None,
        };
        record(Region::DataBlock(i), (handle.offset, handle.len), problem);
    }
}

/// Reads and verifies the footer of the sstable in `file` (named `path` in errors).
fn read_footer(file: &dyn RandomAccessFile, path: &Path) -> Result<Footer> {
    let size = file.len();
    let at = size.checked_sub(FOOTER_LEN as u64).ok_or_else(|| {
        Error::corruption(
            path,
            0,
            format!("file of {size} bytes is too short to be an sstable"),
        )
    })?;
    let mut bytes = [0u8; FOOTER_LEN];
    file.read_exact_at(&mut bytes, at)?;
    Footer::decode(&bytes, path, at)
}

/// An sstable's footer, as `dump-sst` shows it. Lengths include each region's checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FooterInfo {
    pub filter_offset: u64,
    /// 0 when the table has no filter.
    pub filter_len: u64,
    pub index_offset: u64,
    pub index_len: u64,
    pub format_version: u32,
    pub magic: u64,
}

/// What the block index says about one data block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInfo {
    pub offset: u64,
    /// Bytes on disk, checksum included.
    pub len: u64,
    /// The block's separator, an internal key (user key and sequence number) at or after
    /// every entry of the block and before every entry of the next one. Format version 2
    /// stores the shortest such user key it finds, with sequence number 0 (exactly the
    /// block's last entry when versions of one key span the two blocks); format version 1
    /// stored the block's last entry.
    pub separator: Vec<u8>,
    pub separator_seq: SeqNum,
}

/// The bloom filter's shape (a split-block filter of 32-byte buckets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterInfo {
    pub offset: u64,
    /// Bytes on disk, checksum included.
    pub len: u64,
    pub buckets: u64,
    /// Bits in the filter: 256 per bucket.
    pub bits: u64,
}

/// One entry of an sstable: a version of a key (a put, or a tombstone with an empty value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableEntry {
    pub key: Vec<u8>,
    pub seq: SeqNum,
    pub kind: ValueKind,
    pub value: Vec<u8>,
}

/// One sstable file opened for inspection: footer, index and filter read and verified;
/// data blocks read (and verified) one at a time on request.
#[derive(Debug)]
pub struct Sstable {
    table: Table,
    footer: Footer,
    file_size: u64,
}

impl Sstable {
    /// Opens the sstable at `path` and verifies its footer, index and filter.
    ///
    /// # Errors
    /// `Io` when the file cannot be read; `Corruption` naming the file and offset when the
    /// footer, the index or the filter is damaged (or the file is not an sstable).
    pub fn open(path: impl AsRef<Path>) -> Result<Sstable> {
        let path = path.as_ref();
        let file = PosixFs.open_random(path)?;
        let footer = read_footer(&*file, path)?;
        let file_size = file.len();
        let table = Table::open(file, path.to_path_buf(), 0, None)?;
        Ok(Sstable {
            table,
            footer,
            file_size,
        })
    }

    pub fn path(&self) -> &Path {
        self.table.path()
    }

    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    pub fn footer(&self) -> FooterInfo {
        FooterInfo {
            filter_offset: self.footer.filter.offset,
            filter_len: self.footer.filter.len,
            index_offset: self.footer.index.offset,
            index_len: self.footer.index.len,
            format_version: self.footer.format as u32,
            magic: TABLE_MAGIC,
        }
    }

    /// The filter's shape, or `None` when the table was built without one.
    pub fn filter(&self) -> Option<FilterInfo> {
        let handle = self.footer.filter;
        if handle.len == 0 {
            return None;
        }
        let bitset = handle.len.checked_sub(4)?;
        let buckets = bitset / FILTER_BUCKET_BYTES as u64;
        Some(FilterInfo {
            offset: handle.offset,
            len: handle.len,
            buckets,
            bits: bitset * 8,
        })
    }

    /// The block index: one entry per data block, in file order.
    pub fn blocks(&self) -> Vec<BlockInfo> {
        let index = self.table.index();
        (0..index.len())
            .filter_map(|i| Some((index.handle(i)?, index.separator(i)?)))
            .map(|(handle, (separator, separator_seq))| BlockInfo {
                offset: handle.offset,
                len: handle.len,
                separator: separator.to_vec(),
                separator_seq,
            })
            .collect()
    }

    /// The entries of data block `block` (an index position), in internal-key order.
    ///
    /// # Errors
    /// `Corruption` naming the file and the block's offset when the block fails its checks
    /// (or `block` is past the last block); `Io` from reading.
    pub fn block_entries(&self, block: usize) -> Result<Vec<TableEntry>> {
        let mut it = BlockIter::new(self.table.read_block(block)?);
        let bad = |e| self.table.block_error(block, e);
        let mut entries = Vec::new();
        it.seek_to_first().map_err(bad)?;
        while it.valid() {
            entries.push(TableEntry {
                key: it.key().to_vec(),
                seq: it.seq(),
                kind: it.kind(),
                value: it.value().to_vec(),
            });
            it.next().map_err(bad)?;
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::test_database_of_one_table;

    /// A database whose manifest records the v2 fixture as its one table, at level 1, with
    /// `smallest` and `largest` as its key range.
    fn database_claiming(dir: &Path, smallest: &[u8], largest: &[u8]) {
        let fixture: &[u8] = include_bytes!("../tests/fixtures/sstable-v2.sst");
        let meta = FileMeta {
            number: 1,
            size: 0,
            smallest: smallest.to_vec(),
            largest: largest.to_vec(),
            min_seq: 0,
            max_seq: 9,
        };
        test_database_of_one_table(dir, fixture, 1, meta);
    }

    fn problems(dir: &Path) -> Vec<(Region, String)> {
        let report = DbVerifier::open(dir).unwrap().run(|_| {});
        report
            .problems
            .iter()
            .map(|c| (c.region, c.problem.as_ref().unwrap().to_string()))
            .collect()
    }

    #[test]
    fn a_key_range_that_differs_from_the_manifest_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        database_claiming(dir.path(), b"apple", b"bandana");
        assert_eq!(problems(dir.path()), []);

        let dir = tempfile::tempdir().unwrap();
        database_claiming(dir.path(), b"apricot", b"bandana");
        let found = problems(dir.path());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Region::DataBlock(0));
        assert!(found[0].1.contains("smallest key differs"), "{found:?}");

        let dir = tempfile::tempdir().unwrap();
        database_claiming(dir.path(), b"apple", b"banana");
        let found = problems(dir.path());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Region::Index);
        assert!(found[0].1.contains("largest key differs"), "{found:?}");
    }
}
