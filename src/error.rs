//! The engine's one error type.
//!
//! Every fallible engine function returns [`Result`]. Messages name the file (and where it
//! matters the byte offset) involved, so that a user reading a C `*err` string can find the
//! damaged file. The C layer maps each variant to exactly one status code (see
//! [`Error::kind`]); nothing else in the crate knows those numbers.

use std::io;
use std::path::{Path, PathBuf};

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong inside toykv.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller passed something unusable: a bad option, an oversized key, a missing database.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The operating system refused an operation on `path`.
    #[error("I/O error: {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Bytes read back from `path` failed a checksum or format check.
    #[error("corruption in {path} at offset {offset}: {reason}")]
    Corruption {
        path: PathBuf,
        offset: u64,
        reason: String,
    },

    /// Another handle (in this or another process) holds the directory's lock.
    #[error("database {0} is locked: it is already open in this or another process")]
    Locked(PathBuf),

    /// The handle was closed.
    #[error("the database is closed")]
    Closed,

    /// `op` would change a database opened with [`crate::Options::read_only`]. Reported to C
    /// as `TOYKV_INVALID_ARGUMENT`: the caller asked for something the handle cannot do.
    #[error("{op} refused: database {} is open read-only", dir.display())]
    ReadOnly { op: &'static str, dir: PathBuf },

    /// An earlier failed write or fsync of the WAL or the manifest (or a failed switch to a
    /// new WAL) left the state on disk unknown: writes stop until the database is reopened.
    #[error("the database stopped accepting writes after an earlier failure: {0}")]
    Poisoned(Box<Error>),
}

/// The coarse class of an error: what the C layer turns into a status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    InvalidArgument,
    Io,
    Corruption,
    Locked,
    Closed,
}

impl Error {
    /// The class of this error; a poisoned database reports the class of its first failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::Io { .. } => ErrorKind::Io,
            Error::Corruption { .. } => ErrorKind::Corruption,
            Error::Locked(_) => ErrorKind::Locked,
            Error::Closed => ErrorKind::Closed,
            Error::ReadOnly { .. } => ErrorKind::InvalidArgument,
            Error::Poisoned(cause) => cause.kind(),
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corruption(path: &Path, offset: u64, reason: impl Into<String>) -> Error {
        Error::Corruption {
            path: path.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::InvalidArgument(message.into())
    }

    /// A copy of this error to keep as the database's sticky failure. `io::Error` is not
    /// `Clone`, so the copy keeps its kind and text.
    pub(crate) fn duplicate(&self) -> Error {
        match self {
            Error::InvalidArgument(m) => Error::InvalidArgument(m.clone()),
            Error::Io { op, path, source } => Error::Io {
                op,
                path: path.clone(),
                source: io::Error::new(source.kind(), source.to_string()),
            },
            Error::Corruption {
                path,
                offset,
                reason,
            } => Error::Corruption {
                path: path.clone(),
                offset: *offset,
                reason: reason.clone(),
            },
            Error::Locked(p) => Error::Locked(p.clone()),
            Error::Closed => Error::Closed,
            Error::ReadOnly { op, dir } => Error::ReadOnly {
                op,
                dir: dir.clone(),
            },
            Error::Poisoned(cause) => Error::Poisoned(Box::new(cause.duplicate())),
        }
    }
}

/// A decoding failure without a file attached: the field that was bad and where.
/// Readers turn it into [`Error::Corruption`] with their file's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    pub field: &'static str,
    pub offset: usize,
}

impl DecodeError {
    /// Attach the file: `base` is the file offset of the decoded buffer's first byte.
    pub(crate) fn in_file(self, path: &Path, base: u64) -> Error {
        Error::corruption(
            path,
            base + self.offset as u64,
            format!("truncated or malformed {}", self.field),
        )
    }
}
