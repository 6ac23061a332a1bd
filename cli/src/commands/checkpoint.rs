//! `toykv checkpoint DIR DEST`: a complete copy of the database in DIR, in the new directory
//! DEST, made by `Db::checkpoint` (sstables hard-linked, or copied across file systems).

use super::open_read_only;
use crate::status::{Failure, Status};
use std::path::PathBuf;
use toykv::CheckpointOptions;

/// Write a checkpoint of the database into a new directory: a complete database that opens
/// on its own. Its sstables are hard-linked where DEST is on the same file system (they are
/// never changed, so the two databases can share them) and copied otherwise.
///
/// The database is opened read-only, so no file of it changes, and like any open it must
/// not be open in another process: a running program takes its checkpoints itself
/// (`toykv_checkpoint`, `Db::checkpoint`).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database directory.
    dir: PathBuf,
    /// Where the checkpoint goes: a directory that must not exist yet (missing parents are
    /// created).
    dest: PathBuf,
    /// Copy the sstables instead of hard-linking them.
    #[arg(long)]
    copy: bool,
}

pub fn run(args: Args) -> Result<Status, Failure> {
    let db = open_read_only(&args.dir)?;
    let opts = CheckpointOptions {
        copy_sstables: args.copy,
    };
    let stats = db.checkpoint_with(&args.dest, &opts)?;
    db.close()?;
    println!(
        "checkpoint of {} in {}: up to sequence {}; sstables: {} linked ({} bytes), {} copied \
         ({} bytes); {} bytes written",
        args.dir.display(),
        args.dest.display(),
        stats.sequence,
        stats.linked_files,
        stats.linked_bytes,
        stats.copied_files,
        stats.copied_bytes,
        stats.bytes_written
    );
    Ok(Status::Fine)
}
