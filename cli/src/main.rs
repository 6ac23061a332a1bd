//! `toykv`: look inside and operate a toykv database from the shell.
//!
//! Subcommands are named as RocksDB's `ldb` and `sst_dump` name them; each lives in its own
//! file under `commands/` with its arguments and its `run`. Output pipes: one record a line,
//! keys and values escaped (or hex with `--hex`), messages on stderr. Exit status: 0 when
//! all is fine, 1 when the command found a problem (corruption, a missing key), 2 when it
//! could not run (bad arguments, a missing or locked database, an I/O error).

mod bytes;
mod commands;
mod status;

use clap::{Parser, Subcommand};
use status::{Failure, Status};
use std::process::ExitCode;

/// Inspect and operate a toykv database.
#[derive(Debug, Parser)]
#[command(
    name = "toykv",
    version,
    propagate_version = true,
    after_help = "Exit status: 0 fine, 1 a problem found (damage, a key not found), \
                  2 could not run (bad arguments, no database, locked, I/O)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Get(commands::get::Args),
    Put(commands::put::Args),
    Delete(commands::delete::Args),
    Scan(commands::scan::Args),
    Stats(commands::stats::Args),
    Compact(commands::compact::Args),
    Checkpoint(commands::checkpoint::Args),
    Verify(commands::verify::Args),
    DumpSst(commands::dump_sst::Args),
}

impl Command {
    fn run(self) -> Result<Status, Failure> {
        match self {
            Command::Get(args) => commands::get::run(args),
            Command::Put(args) => commands::put::run(args),
            Command::Delete(args) => commands::delete::run(args),
            Command::Scan(args) => commands::scan::run(args),
            Command::Stats(args) => commands::stats::run(args),
            Command::Compact(args) => commands::compact::run(args),
            Command::Checkpoint(args) => commands::checkpoint::run(args),
            Command::Verify(args) => commands::verify::run(args),
            Command::DumpSst(args) => commands::dump_sst::run(args),
        }
    }
}

fn main() -> ExitCode {
    // clap exits by itself: 0 for --help and --version, 2 for a usage error.
    let cli = Cli::parse();
    let status = cli.command.run().unwrap_or_else(|failure| {
        eprintln!("toykv: {}", failure.message);
        failure.status
    });
    ExitCode::from(status as u8)
}
