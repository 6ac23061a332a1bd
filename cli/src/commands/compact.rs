//! `toykv compact DIR`: a full compaction (flush, then one sorted run at the last level).

use super::open_writable;
use crate::status::{Failure, Status};
use std::path::PathBuf;
use toykv::Db;

/// Compact the whole database into one sorted run, dropping overwritten and deleted data.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database directory.
    dir: PathBuf,
}

pub fn run(args: Args) -> Result<Status, Failure> {
    let db = open_writable(&args.dir, false)?;
    let (files_before, bytes_before) = sstables(&db)?;
    db.compact()?;
    let (files_after, bytes_after) = sstables(&db)?;
    db.close()?;
    println!(
        "compacted {}: {files_before} sstables ({bytes_before} bytes) -> {files_after} sstables ({bytes_after} bytes)",
        args.dir.display()
    );
    Ok(Status::Fine)
}

/// The number of live sstables and their total size, from `toykv.sstables` (one line per
/// file: level, name, size, smallest, largest).
fn sstables(db: &Db) -> Result<(usize, u64), Failure> {
    let listing = db.property("toykv.sstables")?;
    let sizes: Vec<u64> = listing
        .lines()
        .filter_map(|line| line.split(' ').nth(2)?.parse().ok())
        .collect();
    Ok((sizes.len(), sizes.iter().sum()))
}
