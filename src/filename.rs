//! The names of the files in a database directory.
//!
//! ```text
//! 000007.log        a write-ahead log
//! 000012.sst        an sstable
//! MANIFEST-000003   the log of version edits
//! CURRENT           names the live manifest; replaced atomically
//! LOCK              write-locked (fcntl) while the database is open
//! ```
//! Every file number comes from one counter kept in the manifest, so numbers never repeat.

use std::path::{Path, PathBuf};

pub(crate) const CURRENT: &str = "CURRENT";
pub(crate) const LOCK: &str = "LOCK";

/// What a file in the database directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Wal(u64),
    Table(u64),
    Manifest(u64),
    /// A `*.tmp` file left by an interrupted atomic replace.
    Temp,
    Current,
    Lock,
}

pub(crate) fn wal_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(wal_file_name(number))
}

pub(crate) fn wal_file_name(number: u64) -> String {
    format!("{number:06}.log")
}

pub(crate) fn table_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}.sst"))
}

pub(crate) fn table_file_name(number: u64) -> String {
    format!("{number:06}.sst")
}

pub(crate) fn manifest_name(number: u64) -> String {
    format!("MANIFEST-{number:06}")
}

pub(crate) fn temp_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}.tmp"))
}

/// Recognises the files toykv writes; anything else in the directory is left alone.
pub(crate) fn parse(name: &str) -> Option<FileKind> {
    match name {
        CURRENT => return Some(FileKind::Current),
        LOCK => return Some(FileKind::Lock),
        _ => {}
    }
    if let Some(num) = name.strip_prefix("MANIFEST-") {
        return parse_number(num).map(FileKind::Manifest);
    }
    let (stem, ext) = name.rsplit_once('.')?;
    let number = parse_number(stem)?;
    match ext {
        "log" => Some(FileKind::Wal(number)),
        "sst" => Some(FileKind::Table(number)),
        "tmp" => Some(FileKind::Temp),
        _ => None,
    }
}

fn parse_number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_parse() {
        let dir = Path::new("/db");
        let name = |p: PathBuf| p.file_name().unwrap().to_str().unwrap().to_string();
        assert_eq!(parse(&name(wal_path(dir, 7))), Some(FileKind::Wal(7)));
        assert_eq!(
            parse(&name(table_path(dir, 1234567))),
            Some(FileKind::Table(1234567))
        );
        assert_eq!(parse(&manifest_name(3)), Some(FileKind::Manifest(3)));
        assert_eq!(parse("CURRENT"), Some(FileKind::Current));
        assert_eq!(parse("LOCK"), Some(FileKind::Lock));
        assert_eq!(parse("000001.tmp"), Some(FileKind::Temp));
        assert_eq!(parse("notes.txt"), None);
        assert_eq!(parse("-1.log"), None);
        assert_eq!(parse(".sst"), None);
    }
}
