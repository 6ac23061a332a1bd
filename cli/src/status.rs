//! Exit statuses and the failures that lead to them.
//!
//! Every command returns `Result<Status, Failure>`. A library error becomes a `Failure`
//! here, in one place: corruption is a problem the command found (1); anything else means
//! the command could not do its work (2).

use std::io;

/// The process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// All is fine.
    Fine = 0,
    /// The command ran and found a problem (damage, a missing key); it said what on
    /// stdout or stderr.
    Problem = 1,
    /// The command could not run: bad arguments, no database, locked, I/O.
    CouldNotRun = 2,
}

/// A command that stopped early, with the message to print on stderr.
#[derive(Debug)]
pub struct Failure {
    pub status: Status,
    pub message: String,
}

impl Failure {
    /// The command could not run (exit status 2).
    pub fn could_not_run(message: impl Into<String>) -> Failure {
        Failure {
            status: Status::CouldNotRun,
            message: message.into(),
        }
    }

    /// The command found a problem (exit status 1).
    pub fn problem(message: impl Into<String>) -> Failure {
        Failure {
            status: Status::Problem,
            message: message.into(),
        }
    }
}

impl From<toykv::Error> for Failure {
    fn from(error: toykv::Error) -> Failure {
        match error.kind() {
            toykv::ErrorKind::Corruption => Failure::problem(error.to_string()),
            _ => Failure::could_not_run(error.to_string()),
        }
    }
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Failure {
        Failure::could_not_run(format!("writing the output: {error}"))
    }
}

/// Ends a command that wrote to stdout: a reader that went away (`toykv scan | head`) is a
/// normal end, not an error.
pub fn finish_output(written: io::Result<()>, status: Status) -> Result<Status, Failure> {
    match written {
        Ok(()) => Ok(status),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(status),
        Err(e) => Err(e.into()),
    }
}
