//! `toykv stats DIR`: the database's properties (levels, files, sizes, stalls) and its live
//! sstables, read through a read-only open that changes no file.

use super::open_read_only;
use crate::status::{finish_output, Failure, Status};
use std::io::Write;
use std::path::PathBuf;

/// Print the database's statistics (levels, files, sizes, stalls) and its sstables.
///
/// The database must be closed: the counters of a running process (write stalls, cache
/// hits) belong to that process, so here they start from zero.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database directory (opened read-only).
    dir: PathBuf,
}

pub fn run(args: Args) -> Result<Status, Failure> {
    let db = open_read_only(&args.dir)?;
    let stats = db.property("toykv.stats")?;
    let sstables = db.property("toykv.sstables")?;
    let pending = db.property("toykv.compaction-pending")?;
    db.close()?;
    let mut out = std::io::stdout().lock();
    let written = (|| {
        write!(out, "{stats}")?;
        writeln!(
            out,
            "compaction pending: {}",
            // A byte count, 0 when nothing is due.
            if pending == "0" { "no" } else { "yes" }
        )?;
        writeln!(
            out,
            "sstables (level, file, bytes, smallest key, largest key):"
        )?;
        for line in sstables.lines() {
            writeln!(out, "  {line}")?;
        }
        Ok(())
    })();
    finish_output(written, Status::Fine)
}
