//! The manifest: an append-only log of version edits, and the `CURRENT` file naming it.
//!
//! Records use the same framing as the WAL (`log`). A new manifest starts with one edit that
//! lists every live file and the counters; later edits are appended and fsynced one by one by
//! whoever holds the database's version lock. Durability order when switching manifests:
//! write and fsync the new manifest, fsync the directory, then replace `CURRENT` atomically
//! (temp file, fsync, rename, fsync directory). A crash at any point leaves `CURRENT` naming a
//! complete manifest, old or new.

use super::{FileMeta, VersionEdit, NUM_LEVELS};
use crate::env::{read_all, replace_file_atomically, FileSystem};
use crate::filename::{manifest_name, table_path, temp_path, wal_path, CURRENT};
use crate::log::{LogReader, LogWriter};
use crate::types::SeqNum;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What replaying a manifest yields.
#[derive(Debug)]
pub(crate) struct RecoveredManifest {
    pub manifest_number: u64,
    /// Live files with their levels.
    pub files: Vec<(usize, FileMeta)>,
    pub log_number: u64,
    pub next_file_number: u64,
    /// The highest sequence number in any sstable: the WAL numbered `log_number` starts
    /// right after it (see doc/FORMAT.md).
    pub last_seq: SeqNum,
    /// WAL lengths a clean close recorded as fsynced.
    pub synced_wals: BTreeMap<u64, u64>,
}

/// The manifest number `CURRENT` names, or `None` when there is no `CURRENT` (no database).
///
/// # Errors
/// `Corruption` naming `CURRENT` when its contents are not `MANIFEST-<number>\n`.
pub(crate) fn read_current(fs: &dyn FileSystem, dir: &Path) -> Result<Option<u64>> {
    let path = dir.join(CURRENT);
    if !fs.exists(&path) {
        return Ok(None);
    }
    let bytes = read_all(fs, &path)?;
    let number = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|s| s.strip_suffix('\n'))
        .and_then(|s| s.strip_prefix("MANIFEST-"))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| Error::corruption(&path, 0, "CURRENT does not name a manifest"))?;
    Ok(Some(number))
}

/// Replays manifest `number` into the live file set and counters.
///
/// # Errors
/// `Io` when the manifest cannot be read; `Corruption` naming it when a record fails its
/// checksum or decoding, or when edits contradict each other.
pub(crate) fn recover(fs: &dyn FileSystem, dir: &Path, number: u64) -> Result<RecoveredManifest> {
    let path = dir.join(manifest_name(number));
    let recovered = replay(fs, &path, number)?;
    check_files_exist(fs, dir, &path, &recovered)?;
    Ok(recovered)
}

/// Replays the edits of manifest `number` at `path`, without looking at other files.
fn replay(fs: &dyn FileSystem, path: &Path, number: u64) -> Result<RecoveredManifest> {
    let path = path.to_path_buf();
    if !fs.exists(&path) {
        return Err(Error::corruption(
            &path,
            0,
            format!("{CURRENT} names this manifest, which is missing"),
        ));
    }
    let mut reader = LogReader::new(fs.open_sequential(&path)?, path.clone());
    let mut files: BTreeMap<u64, (usize, FileMeta)> = BTreeMap::new();
    let (mut log_number, mut next_file_number, mut last_seq) = (None, None, None);
    let mut synced_wals = BTreeMap::new();
    while let Some(record) = reader.read_record()? {
        let offset = reader.last_record_offset();
        let edit =
            VersionEdit::decode(&record, NUM_LEVELS - 1).map_err(|e| e.in_file(&path, offset))?;
        log_number = edit.log_number.or(log_number);
        next_file_number = edit.next_file_number.or(next_file_number);
        last_seq = edit.last_seq.or(last_seq);
        synced_wals.extend(edit.synced_wals.iter().copied());
        for (level, removed) in edit.removed {
            match files.remove(&removed) {
                Some((at, _)) if at == level => {}
                _ => {
                    return Err(Error::corruption(
                        &path,
                        offset,
                        format!("edit removes file {removed} not live at level {level}"),
                    ))
                }
            }
        }
        for (level, meta) in edit.added {
            if files.insert(meta.number, (level, meta)).is_some() {
                return Err(Error::corruption(
                    &path,
                    offset,
                    "edit adds a live file again",
                ));
            }
        }
    }
    let missing = |field: &str| Error::corruption(&path, 0, format!("no {field} recorded"));
    Ok(RecoveredManifest {
        manifest_number: number,
        files: files.into_values().collect(),
        log_number: log_number.ok_or_else(|| missing("log number"))?,
        next_file_number: next_file_number.ok_or_else(|| missing("next file number"))?,
        last_seq: last_seq.ok_or_else(|| missing("last sequence"))?,
        synced_wals,
    })
}

/// The manifest must describe files that exist: the WAL it names as current and every
/// sstable it lists. A torn tail only ever drops an edit that was never acknowledged, whose
/// effects (deleting the WALs a flush made redundant, the inputs of a compaction) never
/// happened; an edit lost any other way (a manifest cut at a record boundary, or by its last
/// byte after the edit was fsynced) leaves the manifest naming files that were deleted after
/// it. Opening such a state would read stale data and then delete the newer sstables as
/// orphans, so it is corruption naming the manifest.
fn check_files_exist(
    fs: &dyn FileSystem,
    dir: &Path,
    manifest: &Path,
    recovered: &RecoveredManifest,
) -> Result<()> {
    let wal = wal_path(dir, recovered.log_number);
    if !fs.exists(&wal) {
        return Err(Error::corruption(
            manifest,
            0,
            format!(
                "names {} as the current WAL, which is missing: the manifest lost edits",
                file_name(&wal)
            ),
        ));
    }
    for (_, meta) in &recovered.files {
        let table = table_path(dir, meta.number);
        if !fs.exists(&table) {
            return Err(Error::corruption(
                manifest,
                0,
                format!("names sstable {}, which is missing", file_name(&table)),
            ));
        }
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The live manifest, open for appending edits.
#[derive(Debug)]
pub(crate) struct ManifestWriter {
    log: LogWriter,
    path: PathBuf,
}

impl ManifestWriter {
    /// Writes manifest `number` whose first record is `snapshot` (every live file and all
    /// counters), makes it durable, then points `CURRENT` at it.
    ///
    /// # Errors
    /// `Io` from any step; `CURRENT` still names the previous manifest unless the final rename
    /// happened.
    pub(crate) fn create(
        fs: &dyn FileSystem,
        dir: &Path,
        number: u64,
        snapshot: &VersionEdit,
    ) -> Result<ManifestWriter> {
        let name = manifest_name(number);
        let path = dir.join(&name);
        let mut log = LogWriter::new(fs.create(&path)?);
        log.add_record(&snapshot.encode())?;
        log.sync()?;
        fs.sync_dir(dir)?;
        replace_file_atomically(
            fs,
            dir,
            &temp_path(dir, number),
            &dir.join(CURRENT),
            format!("{name}\n").as_bytes(),
        )?;
        Ok(ManifestWriter { log, path })
    }

    /// Appends `edit` and fsyncs it. On error the caller must treat the database as failed:
    /// the edit may or may not be durable.
    pub(crate) fn append(&mut self, edit: &VersionEdit) -> Result<()> {
        self.log.add_record(&edit.encode())?;
        self.log.sync()
    }

    /// Bytes written to the manifest so far.
    pub(crate) fn size(&self) -> u64 {
        self.log.len()
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::PosixFs;

    /// The edit stored in `tests/fixtures/MANIFEST-000003`.
    fn fixture_edit() -> VersionEdit {
        VersionEdit {
            log_number: Some(2),
            next_file_number: Some(4),
            last_seq: Some(3),
            added: vec![(
                0,
                FileMeta {
                    number: 1,
                    size: 310,
                    smallest: b"a".to_vec(),
                    largest: b"c".to_vec(),
                    min_seq: 1,
                    max_seq: 3,
                },
            )],
            removed: Vec::new(),
            synced_wals: Vec::new(),
        }
    }

    fn fixture_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
    }

    #[test]
    fn the_version_1_manifest_fixture_still_decodes() {
        let path = fixture_dir().join("MANIFEST-000003");
        let recovered = replay(&PosixFs, &path, 3).unwrap();
        assert_eq!(recovered.files, fixture_edit().added);
        assert_eq!(recovered.log_number, 2);
        assert_eq!(recovered.next_file_number, 4);
        assert_eq!(recovered.last_seq, 3);
    }

    #[test]
    fn the_writer_still_produces_the_fixture_bytes() {
        let dir = tempfile::tempdir().unwrap();
        ManifestWriter::create(&PosixFs, dir.path(), 3, &fixture_edit()).unwrap();
        let written = std::fs::read(dir.path().join("MANIFEST-000003")).unwrap();
        let fixture = std::fs::read(fixture_dir().join("MANIFEST-000003")).unwrap();
        assert_eq!(written, fixture);
        assert_eq!(read_current(&PosixFs, dir.path()).unwrap(), Some(3));
    }

    #[test]
    fn a_removal_of_a_file_that_is_not_live_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = ManifestWriter::create(&PosixFs, dir.path(), 5, &fixture_edit()).unwrap();
        writer
            .append(&VersionEdit {
                removed: vec![(1, 1)],
                ..VersionEdit::default()
            })
            .unwrap();
        let err = recover(&PosixFs, dir.path(), 5).unwrap_err();
        assert!(err.to_string().contains("MANIFEST-000005"), "{err}");
    }

    #[test]
    fn current_must_name_a_manifest() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_current(&PosixFs, dir.path()).unwrap(), None);
        for bad in [
            &b"MANIFEST-\n"[..],
            b"MANIFEST-12",
            b"manifest-1\n",
            b"MANIFEST-1x\n",
            b"",
        ] {
            std::fs::write(dir.path().join(CURRENT), bad).unwrap();
            assert!(read_current(&PosixFs, dir.path()).is_err());
        }
    }
}
