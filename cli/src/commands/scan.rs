//! `toykv scan DIR [--start K] [--end K] [--limit N] [--hex]`: prints live entries in key
//! order, one `key<TAB>value` line each.

use super::{decode_arg, open_read_only};
use crate::bytes::Format;
use crate::status::{finish_output, Failure, Status};
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// Print the live entries of [START, END) in key order, one "key<TAB>value" line each.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database directory (opened read-only).
    dir: PathBuf,
    /// The first key to print (inclusive); from the first key when absent.
    #[arg(long)]
    start: Option<String>,
    /// The key to stop before (exclusive); to the last key when absent.
    #[arg(long)]
    end: Option<String>,
    /// Print at most this many entries.
    #[arg(long)]
    limit: Option<u64>,
    /// Read the bounds and print keys and values as hex instead of escaped text.
    #[arg(long)]
    hex: bool,
}

pub fn run(args: Args) -> Result<Status, Failure> {
    let format = Format::new(args.hex);
    let bound = |what, text: &Option<String>| {
        text.as_deref()
            .map(|t| decode_arg(format, what, t))
            .transpose()
    };
    let start = bound("--start", &args.start)?;
    let end = bound("--end", &args.end)?;
    let db = open_read_only(&args.dir)?;
    let mut cursor = db.scan_bounds(start.as_deref(), end.as_deref())?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut printed = 0;
    let written = loop {
        if args.limit.is_some_and(|limit| printed >= limit) {
            break Ok(());
        }
        let Some((key, value)) = cursor.next_entry()? else {
            break Ok(());
        };
        let line = writeln!(out, "{}\t{}", format.encode(key), format.encode(value));
        if line.is_err() {
            break line;
        }
        printed += 1;
    };
    drop(cursor);
    db.close()?;
    finish_output(written.and_then(|()| out.flush()), Status::Fine)
}
