//! Named properties: human- and machine-readable views of the database's shape.

use super::DbInner;
use crate::compaction::policy;
use crate::version::NUM_LEVELS;
use crate::{Error, Result};
use std::fmt::Write;
use std::sync::atomic::Ordering;

pub(super) fn property(db: &DbInner, name: &str) -> Result<String> {
    if let Some(level) = name.strip_prefix("toykv.num-files-at-level") {
        let level = level
            .parse::<usize>()
            .ok()
            .filter(|l| *l < NUM_LEVELS && !level.starts_with('+'))
            .ok_or_else(|| unknown(name))?;
        return Ok(db.current().version.files(level).len().to_string());
    }
    match name {
        "toykv.stats" => Ok(stats(db)),
        // How far behind flushes and compactions are, in bytes: 0 exactly when none is due.
        "toykv.compaction-pending" => Ok(compaction_pending(db).to_string()),
        "toykv.sstables" => Ok(sstables(db)),
        _ => Err(unknown(name)),
    }
}

/// Bytes that flushes and compactions must still write to catch up: the frozen memtables'
/// and the compaction estimate (`policy::pending_compaction_bytes`). At least 1 while any
/// flush or compaction is due, so that 0 means idle, as it did when this was a flag.
fn compaction_pending(db: &DbInner) -> u64 {
    let sv = db.current();
    let frozen: u64 = sv.frozen.iter().map(|m| m.memory_usage() as u64).sum();
    let due = !sv.frozen.is_empty() || policy::most_urgent_level(&sv.version, &db.opts).is_some();
    let bytes = frozen + policy::pending_compaction_bytes(&sv.version, &db.opts);
    match due {
        true => bytes.max(1),
        false => 0,
    }
}

fn unknown(name: &str) -> Error {
    Error::invalid(format!("unknown property {name:?}"))
}

/// One line per live sstable: level, file name, size, smallest and largest key (escaped).
fn sstables(db: &DbInner) -> String {
    let mut out = String::new();
    for (level, file) in db.current().version.all_files() {
        let m = &file.meta;
        let _ = writeln!(
            out,
            "{level} {} {} {} {}",
            crate::filename::table_file_name(m.number),
            m.size,
            escape(&m.smallest),
            escape(&m.largest)
        );
    }
    out
}

fn stats(db: &DbInner) -> String {
    let sv = db.current();
    let mut out = String::from("level  files  bytes\n");
    let mut total_bytes = 0;
    for level in 0..NUM_LEVELS {
        let files = sv.version.files(level);
        let bytes: u64 = files.iter().map(|f| f.meta.size).sum();
        total_bytes += bytes;
        let _ = writeln!(out, "L{level:<5} {:<6} {bytes}", files.len());
    }
    let memtable_bytes: usize = std::iter::once(&sv.mem)
        .chain(sv.frozen.iter())
        .map(|m| m.memory_usage())
        .sum();
    let (filter_checks, filter_negatives) = sv
        .version
        .all_files()
        .filter_map(|(_, f)| f.open_table().map(|t| t.filter_stats()))
        .fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
    let (hits, misses) = db.cache.as_ref().map_or((0, 0), |c| (c.hits(), c.misses()));
    let user = db.stats.user_bytes_written.load(Ordering::Relaxed);
    let flushed = db.stats.flush_bytes_written.load(Ordering::Relaxed);
    let _ = writeln!(out, "sstable bytes: {total_bytes}");
    let _ = writeln!(
        out,
        "memtables: {} frozen, {memtable_bytes} bytes",
        sv.frozen.len()
    );
    let wal_bytes = db.writer.lock().wal.as_ref().map_or(0, |wal| wal.len());
    let _ = writeln!(out, "active WAL: {wal_bytes} bytes");
    let _ = writeln!(
        out,
        "recovery: {} WAL records replayed, {} bytes not replayed{}",
        db.stats.recovered_records.load(Ordering::Relaxed),
        db.stats.recovered_bytes_dropped.load(Ordering::Relaxed),
        match &*db.stats.recovery_stopped.lock() {
            Some(at) => format!(" (stopped at {at})"),
            None => String::new(),
        }
    );
    let _ = writeln!(out, "user bytes written: {user}");
    let _ = writeln!(
        out,
        "group commit: {} writes in {} WAL appends, {} of them while an earlier one's fsync ran",
        db.stats.writes.load(Ordering::Relaxed),
        db.stats.write_groups.load(Ordering::Relaxed),
        db.stats.write_groups_overlapped.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "flushes: {}, bytes written by flush: {flushed}",
        db.stats.flushes.load(Ordering::Relaxed)
    );
    let compacted = db.stats.compaction_bytes_written.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "compactions: {}, bytes written by compaction: {compacted}",
        db.stats.compactions.load(Ordering::Relaxed)
    );
    let by_level: Vec<String> = db
        .stats
        .compaction_bytes_by_level
        .iter()
        .enumerate()
        .filter_map(|(level, bytes)| match bytes.load(Ordering::Relaxed) {
            0 => None,
            n => Some(format!("L{level} {n}")),
        })
        .collect();
    let _ = writeln!(
        out,
        "compaction bytes written by output level: {}; moved down without a rewrite: {} \
         files, {} bytes",
        if by_level.is_empty() {
            "none".to_string()
        } else {
            by_level.join(", ")
        },
        db.stats.files_moved.load(Ordering::Relaxed),
        db.stats.bytes_moved.load(Ordering::Relaxed)
    );
    if user > 0 {
        let _ = writeln!(
            out,
            "write amplification: {:.2} (sstable bytes written / user bytes written)",
            (flushed + compacted) as f64 / user as f64
        );
    }
    let stalls = &db.stats.stalls;
    let (delays, stops) = stalls.delays_and_stops();
    let _ = writeln!(
        out,
        "write stalls: {delays} delayed writes, {stops} stops, longest {:.1} ms",
        stalls.longest().as_secs_f64() * 1000.0
    );
    let _ = writeln!(out, "write stalls by cause: {}", stalls.by_cause());
    let limit = |bytes: u64| match bytes {
        0 => "off".to_string(),
        n => n.to_string(),
    };
    let _ = writeln!(
        out,
        "pending compaction bytes: {} (writes slowed down at {}, stopped at {})",
        compaction_pending(db),
        limit(db.opts.soft_pending_compaction_bytes),
        limit(db.opts.hard_pending_compaction_bytes)
    );
    background_errors(db, &mut out);
    let _ = writeln!(out, "block cache: {hits} hits, {misses} misses");
    let (open_tables, max_open_files) = db.tables.usage();
    let _ = writeln!(
        out,
        "open tables: {open_tables} (max_open_files {max_open_files})"
    );
    let _ = writeln!(
        out,
        "bloom filter: {filter_checks} checks, {filter_negatives} reads avoided"
    );
    out
}

/// Failed flushes and compactions (retried, not sticky), the files compaction found corrupt,
/// and whether writes stopped for good.
fn background_errors(db: &DbInner, out: &mut String) {
    let errors = db.bg_errors.lock();
    let last = |e: &Option<Error>| e.as_ref().map_or("none".to_string(), |e| e.to_string());
    let _ = writeln!(
        out,
        "failed flushes: {} (failing now: {})",
        errors.flush_failures,
        last(&errors.flush)
    );
    let _ = writeln!(
        out,
        "failed compactions: {} (failing now: {})",
        errors.compaction_failures,
        last(&errors.compaction)
    );
    let corrupt: Vec<String> = errors
        .corrupt_files
        .iter()
        .map(|&n| crate::filename::table_file_name(n))
        .collect();
    let _ = writeln!(
        out,
        "corrupt sstables left out of compaction: {}",
        if corrupt.is_empty() {
            "none".to_string()
        } else {
            corrupt.join(" ")
        }
    );
    drop(errors);
    let writes = match db.check_failed() {
        Ok(()) => "accepted".to_string(),
        Err(e) => e.to_string(),
    };
    let _ = writeln!(out, "writes: {writes}");
}

/// Printable ASCII as is, everything else (and backslash) as `\xNN`.
fn escape(key: &[u8]) -> String {
    let mut out = String::with_capacity(key.len());
    for &b in key {
        if b.is_ascii_graphic() && b != b'\\' {
            out.push(b as char);
        } else {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}
