//! One module per subcommand: its clap arguments (`Args`) and its `run`. A new subcommand is
//! a new file here plus one line in `main.rs`'s `Command` enum and its `run`.
//!
//! What the subcommands share lives here: how they open a database and read key arguments.

pub mod checkpoint;
pub mod compact;
pub mod delete;
pub mod dump_sst;
pub mod get;
pub mod put;
pub mod scan;
pub mod stats;
pub mod verify;

use crate::bytes::Format;
use crate::status::Failure;
use std::path::{Path, PathBuf};
use toykv::{Db, Options};

/// The database and the key that `get`, `put` and `delete` act on.
#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    /// The database directory.
    pub dir: PathBuf,
    /// The key: text with \\ and \xNN escapes, or hex with --hex.
    pub key: String,
    /// Keys and values are hex instead of escaped text, in the arguments and the output.
    #[arg(long)]
    pub hex: bool,
}

impl KeyArgs {
    pub fn format(&self) -> Format {
        Format::new(self.hex)
    }

    /// The key argument, decoded.
    pub fn key(&self) -> Result<Vec<u8>, Failure> {
        decode_arg(self.format(), "key", &self.key)
    }
}

/// Opens the database in `dir` without changing any of its files: its WALs are replayed
/// into memory only. Fails while another process has the database open.
pub fn open_read_only(dir: &Path) -> Result<Db, Failure> {
    let opts = Options {
        read_only: true,
        ..Options::default()
    };
    Ok(Db::open(dir, opts)?)
}

/// Opens the database in `dir` for writing (an ordinary open: recovery writes the replayed
/// WAL to an sstable and starts a new manifest).
pub fn open_writable(dir: &Path, create_if_missing: bool) -> Result<Db, Failure> {
    let opts = Options {
        create_if_missing,
        ..Options::default()
    };
    Ok(Db::open(dir, opts)?)
}

/// Reads the key or value argument `what` in `format`.
pub fn decode_arg(format: Format, what: &str, text: &str) -> Result<Vec<u8>, Failure> {
    format
        .decode(text)
        .map_err(|reason| Failure::could_not_run(format!("bad {what}: {reason}")))
}
