//! `toykv dump-sst FILE`: an sstable's footer, block index, filter summary and entries.
//!
//! Sections are headed by a line without indentation; entries follow the `entries` line,
//! one `key<TAB>seq<TAB>kind<TAB>value` line each, so they can be cut from the rest. A
//! damaged data block is reported on stderr and skipped; the exit status is then 1.

use crate::bytes::Format;
use crate::status::{finish_output, Failure, Status};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use toykv::inspect::{Sstable, ValueKind};

/// Print an sstable's footer, block index, filter summary and entries.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The sstable file (NNNNNN.sst); it is only read.
    file: PathBuf,
    /// Print keys and values as hex instead of escaped text.
    #[arg(long)]
    hex: bool,
}

pub fn run(args: Args) -> Result<Status, Failure> {
    let format = Format::new(args.hex);
    let table = Sstable::open(&args.file)?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut status = Status::Fine;
    let written = dump(&table, format, &mut out, &mut status).and_then(|()| out.flush());
    finish_output(written, status)
}

fn dump(
    table: &Sstable,
    format: Format,
    out: &mut impl Write,
    status: &mut Status,
) -> std::io::Result<()> {
    let footer = table.footer();
    writeln!(
        out,
        "sstable {} ({} bytes)",
        table.path().display(),
        table.file_size()
    )?;
    writeln!(out, "footer")?;
    writeln!(out, "  format version  {}", footer.format_version)?;
    writeln!(out, "  magic           {:#018x}", footer.magic)?;
    writeln!(
        out,
        "  filter          offset {}, {} bytes",
        footer.filter_offset, footer.filter_len
    )?;
    writeln!(
        out,
        "  index           offset {}, {} bytes",
        footer.index_offset, footer.index_len
    )?;

    let blocks = table.blocks();
    writeln!(out, "index: {} data blocks", blocks.len())?;
    for (i, b) in blocks.iter().enumerate() {
        writeln!(
            out,
            "  block {i}: offset {}, {} bytes, separator {} @{}",
            b.offset,
            b.len,
            format.encode(&b.separator),
            b.separator_seq,
        )?;
    }

    match table.filter() {
        Some(f) => writeln!(
            out,
            "filter: offset {}, {} bytes, {} buckets, {} bits",
            f.offset, f.len, f.buckets, f.bits
        )?,
        None => writeln!(out, "filter: none")?,
    }

    writeln!(out, "entries (key, seq, kind, value)")?;
    let (mut puts, mut deletes) = (0u64, 0u64);
    // Entries come in key order, so a key differs from the one before exactly once.
    let (mut distinct, mut previous_key) = (0u64, None::<Vec<u8>>);
    for (i, b) in blocks.iter().enumerate() {
        let entries = match table.block_entries(i) {
            Ok(entries) => entries,
            Err(e) => {
                eprintln!("toykv: data block {i} at offset {}: {e}", b.offset);
                *status = Status::Problem;
                continue;
            }
        };
        for e in entries {
            let kind = match e.kind {
                ValueKind::Put => {
                    puts += 1;
                    "put"
                }
                ValueKind::Delete => {
                    deletes += 1;
                    "delete"
                }
            };
            writeln!(
                out,
                "{}\t{}\t{kind}\t{}",
                format.encode(&e.key),
                e.seq,
                format.encode(&e.value)
            )?;
            if previous_key.as_ref() != Some(&e.key) {
                distinct += 1;
                previous_key = Some(e.key);
            }
        }
    }
    write!(
        out,
        "summary: {} entries ({puts} puts, {deletes} deletes), {} distinct keys",
        puts + deletes,
        distinct
    )?;
    match table.filter() {
        Some(f) if distinct > 0 => writeln!(
            out,
            ", {:.1} filter bits per key",
            f.bits as f64 / distinct as f64
        ),
        _ => writeln!(out),
    }
}
