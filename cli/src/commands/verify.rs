//! `toykv verify PATH`: reads every block of every live file and checks every checksum.
//!
//! PATH is a database directory (`CURRENT`, the manifest, every live sstable block by block,
//! and the WALs recovery would replay; the database's lock is held meanwhile) or one sstable
//! file. Each damaged region is one line on stdout naming the file, the region and its
//! offset; a summary line follows. Exit status 1 when anything is damaged. A progress bar is
//! drawn on stderr when stderr is a terminal.

use crate::status::{finish_output, Failure, Status};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use toykv::inspect::{self, Check, DbVerifier, VerifyReport};

/// Check every checksum of a database (or of one sstable file); exit status 1 on damage.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A database directory, or one sstable file.
    path: PathBuf,
}

pub fn run(args: Args) -> Result<Status, Failure> {
    let report = if args.path.is_dir() {
        let verifier = DbVerifier::open(&args.path)?;
        let bar = progress_bar(verifier.total_bytes());
        let report = verifier.run(|check| advance(&bar, check));
        bar.finish_and_clear();
        report
    } else {
        let len = std::fs::metadata(&args.path).map_or(0, |m| m.len());
        let bar = progress_bar(len);
        let report = inspect::verify_table(&args.path, |check| advance(&bar, check))?;
        bar.finish_and_clear();
        report
    };
    let status = if report.is_ok() {
        Status::Fine
    } else {
        Status::Problem
    };
    finish_output(print_report(&report), status)
}

/// A bar over the bytes to check, or a hidden one when stderr is not a terminal (so that
/// logs and pipes get no control characters).
fn progress_bar(total_bytes: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total_bytes);
    if let Ok(style) =
        ProgressStyle::with_template("verifying [{bar:40}] {bytes}/{total_bytes} {wide_msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn advance(bar: &ProgressBar, check: &Check) {
    if let Some(name) = check.path.file_name() {
        bar.set_message(name.to_string_lossy().into_owned());
    }
    bar.inc(check.len);
}

fn print_report(report: &VerifyReport) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for bad in &report.problems {
        let reason = bad
            .problem
            .as_ref()
            .map_or_else(String::new, ToString::to_string);
        writeln!(
            out,
            "damaged: {} {} at offset {} ({} bytes): {reason}",
            bad.path.display(),
            bad.region,
            bad.offset,
            bad.len
        )?;
    }
    for note in &report.notes {
        writeln!(out, "note: {note}")?;
    }
    writeln!(
        out,
        "{}: {} files, {} regions, {} bytes checked, {} damaged",
        if report.is_ok() { "ok" } else { "DAMAGED" },
        report.files,
        report.regions,
        report.bytes,
        report.problems.len()
    )
}
