//! The `toykv` binary, run as a subprocess the way a user runs it: every subcommand, its
//! output, its exit status (0 fine, 1 found a problem, 2 could not run), and that the
//! inspecting commands leave every file of the database as it was.

// The library's test helpers (files of a database, byte flips); they need only std and toykv.
#[path = "../../tests/common/mod.rs"]
mod common;

use common::{dir_contents, files_with_suffix, flip_byte};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use toykv::{Db, Options};

/// Held while a test has a database open in this process, and while a child is spawned.
/// The tests run on many threads: a child forked while another test's database is open
/// inherits that database's `LOCK` file description until it execs, and with it the flock,
/// so a `toykv` run on that database just after would find it locked.
static NO_FORK: Mutex<()> = Mutex::new(());

fn no_fork() -> MutexGuard<'static, ()> {
    NO_FORK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts `toykv args`. REQUIRES: the caller holds [`no_fork`] (spawn returns once the
/// child has exec'd, which closes what it inherited).
fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_toykv"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the toykv binary runs")
}

/// Runs `toykv args` to the end.
fn toykv(args: &[&str]) -> Output {
    let child = {
        let _guard = no_fork();
        spawn(args)
    };
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Asserts the exit status, showing what the command said when it differs.
fn assert_status(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A closed database with `n` keys `key00000`.. flushed to an sstable (many blocks), and
/// more writes only in its WAL: `key00001` overwritten and `wal-only` added. An ordinary
/// open would replay that WAL into a new sstable and write a new manifest.
fn build(dir: &Path, n: usize) {
    let _guard = no_fork();
    let db = Db::open(dir, Options::default()).unwrap();
    for i in 0..n {
        db.put(
            format!("key{i:05}").as_bytes(),
            format!("value {i}").as_bytes(),
        )
        .unwrap();
    }
    db.flush().unwrap();
    db.put(b"key00001", b"from the wal").unwrap();
    db.put(b"wal-only", b"x").unwrap();
    db.close().unwrap();
    assert!(!files_with_suffix(dir, ".log").is_empty());
    assert_eq!(files_with_suffix(dir, ".sst").len(), 1);
}

#[test]
fn put_get_and_delete_round_trip() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("db");
    let d = s(&dir);

    // No database yet: put refuses without --create-if-missing.
    let out = toykv(&["put", d, "k", "v"]);
    assert_status(&out, 2);
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));

    assert_status(&toykv(&["put", "--create-if-missing", d, "k", "v"]), 0);
    assert_status(&toykv(&["put", d, "bin\\x00\\x09key", "a\\\\b"]), 0);
    assert_status(&toykv(&["put", "--hex", d, "ff00", "0x6869"]), 0);

    let out = toykv(&["get", d, "k"]);
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "v\n");
    let out = toykv(&["get", d, "bin\\x00\\x09key"]);
    assert_eq!(stdout(&out), "a\\\\b\n");
    let out = toykv(&["get", "--hex", d, "62696e000909"]);
    assert_status(&out, 1);
    let out = toykv(&["get", "--hex", d, "62696e00096b6579"]);
    assert_eq!(stdout(&out), "615c62\n");
    let out = toykv(&["get", d, "\\xff\\x00"]);
    assert_eq!(stdout(&out), "hi\n");

    assert_status(&toykv(&["delete", d, "k"]), 0);
    let out = toykv(&["get", d, "k"]);
    assert_status(&out, 1);
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
    // Deleting an absent key is fine.
    assert_status(&toykv(&["delete", d, "k"]), 0);

    // What the tool wrote, the library reads.
    let _guard = no_fork();
    let db = Db::open(&dir, Options::default()).unwrap();
    assert_eq!(
        db.get(b"bin\x00\tkey").unwrap().as_deref(),
        Some(&b"a\\b"[..])
    );
    assert_eq!(db.get(b"k").unwrap(), None);
}

#[test]
fn scan_prints_one_escaped_line_per_entry_within_bounds_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let guard = no_fork();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    for (k, v) in [
        (&b"a"[..], &b"1"[..]),
        (b"b\tc", b"two\nlines"),
        (b"c\\d", b""),
        (b"d", b"\x00\xff"),
        (b"e e", b"5"),
    ] {
        db.put(k, v).unwrap();
    }
    db.put(b"gone", b"x").unwrap();
    db.delete(b"gone").unwrap();
    db.close().unwrap();
    drop(guard);
    let d = s(dir.path());
    let before = dir_contents(dir.path());

    let out = toykv(&["scan", d]);
    assert_status(&out, 0);
    assert_eq!(
        stdout(&out),
        "a\t1\nb\\x09c\ttwo\\x0alines\nc\\\\d\t\nd\t\\x00\\xff\ne e\t5\n"
    );
    let out = toykv(&["scan", d, "--start", "b\\x09c", "--end", "d"]);
    assert_eq!(stdout(&out), "b\\x09c\ttwo\\x0alines\nc\\\\d\t\n");
    let out = toykv(&["scan", d, "--start", "b", "--limit", "2"]);
    assert_eq!(stdout(&out), "b\\x09c\ttwo\\x0alines\nc\\\\d\t\n");
    let out = toykv(&["scan", d, "--limit", "0"]);
    assert_eq!(stdout(&out), "");
    let out = toykv(&["scan", d, "--start", "z"]);
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "");

    let out = toykv(&["scan", "--hex", d, "--start", "63", "--end", "0x65"]);
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "635c64\t\n64\t00ff\n");

    // Every line splits into exactly key and value.
    let out = toykv(&["scan", d]);
    for line in stdout(&out).lines() {
        assert_eq!(line.split('\t').count(), 2, "{line:?}");
    }
    // scan opens read-only: the WAL holding these writes was not replayed into files.
    assert_eq!(dir_contents(dir.path()), before);
}

#[test]
fn scan_stops_quietly_when_its_reader_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 20_000);
    let mut child = {
        let _guard = no_fork();
        spawn(&["scan", s(dir.path())])
    };
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "key00000\tvalue 0\n");
    // The pipe is closed here, as `toykv scan | head -1` would.
    let out = child.wait_with_output().unwrap();
    assert_status(&out, 0);
}

#[test]
fn inspecting_commands_see_unflushed_data_and_change_no_file() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 3000);
    let d = s(dir.path());
    let before = dir_contents(dir.path());
    let sst = files_with_suffix(dir.path(), ".sst").pop().unwrap();

    let out = toykv(&["get", d, "key00001"]);
    assert_eq!(stdout(&out), "from the wal\n");
    let out = toykv(&["scan", d, "--start", "wal"]);
    assert_eq!(stdout(&out), "wal-only\tx\n");
    assert_status(&toykv(&["stats", d]), 0);
    assert_status(&toykv(&["verify", d]), 0);
    assert_status(&toykv(&["verify", s(&sst)]), 0);
    assert_status(&toykv(&["dump-sst", s(&sst)]), 0);
    assert_status(&toykv(&["dump-sst", "--hex", s(&sst)]), 0);

    assert_eq!(
        dir_contents(dir.path()),
        before,
        "a read-only command changed the database"
    );
}

#[test]
fn stats_prints_levels_files_sizes_and_stalls() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 3000);
    let sst = files_with_suffix(dir.path(), ".sst").pop().unwrap();
    let name = sst.file_name().unwrap().to_str().unwrap();
    let size = std::fs::metadata(&sst).unwrap().len();

    let out = toykv(&["stats", s(dir.path())]);
    assert_status(&out, 0);
    let text = stdout(&out);
    assert!(text.contains(&format!("L0     1      {size}")), "{text}");
    assert!(text.contains("L6     0      0"), "{text}");
    assert!(
        text.contains("write stalls: 0 delayed writes, 0 stops"),
        "{text}"
    );
    assert!(text.contains("recovery: 2 WAL records replayed"), "{text}");
    assert!(text.contains("compaction pending: no"), "{text}");
    assert!(
        text.contains(&format!("  0 {name} {size} key00000 key02999\n")),
        "{text}"
    );
}

#[test]
fn compact_leaves_one_sorted_run_at_the_last_level() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 3000);
    let d = s(dir.path());
    let out = toykv(&["compact", d]);
    assert_status(&out, 0);
    // The WAL's writes were flushed on open, so two tables were merged into one.
    assert!(stdout(&out).contains(": 2 sstables"), "{}", stdout(&out));
    assert!(stdout(&out).contains("-> 1 sstables"), "{}", stdout(&out));
    let text = stdout(&toykv(&["stats", d]));
    assert!(text.contains("L0     0      0"), "{text}");
    assert!(text.contains("\n  6 "), "{text}");
    let out = toykv(&["get", d, "key00001"]);
    assert_eq!(stdout(&out), "from the wal\n");
}

#[test]
fn checkpoint_writes_a_database_that_opens_on_its_own_and_changes_no_source_file() {
    use std::os::unix::fs::MetadataExt;
    let root = tempfile::tempdir().unwrap();
    let (src, linked, copied) = (
        root.path().join("src"),
        root.path().join("backups/linked"),
        root.path().join("copied"),
    );
    build(&src, 3000);
    let before = dir_contents(&src);
    let out = toykv(&["checkpoint", s(&src), s(&linked)]);
    assert_status(&out, 0);
    assert!(stdout(&out).contains("1 linked"), "{}", stdout(&out));
    assert!(stdout(&out).contains("0 copied"), "{}", stdout(&out));
    let out = toykv(&["checkpoint", "--copy", s(&src), s(&copied)]);
    assert_status(&out, 0);
    assert!(stdout(&out).contains("0 linked"), "{}", stdout(&out));
    assert_eq!(dir_contents(&src), before);

    // The sstable is shared by the link, a file of its own in the copy.
    let table = &files_with_suffix(&src, ".sst")[0];
    let name = table.file_name().unwrap();
    let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
    assert_eq!(ino(table), ino(&linked.join(name)));
    assert_ne!(ino(table), ino(&copied.join(name)));

    // Each holds everything, the WAL's writes included.
    let all = stdout(&toykv(&["scan", s(&src)]));
    for cp in [&linked, &copied] {
        assert_eq!(stdout(&toykv(&["scan", s(cp)])), all);
        assert_eq!(
            stdout(&toykv(&["get", s(cp), "key00001"])),
            "from the wal\n"
        );
        assert_status(&toykv(&["verify", s(cp)]), 0);
    }

    // An existing destination, or no database: could not run, nothing written.
    let out = toykv(&["checkpoint", s(&src), s(&linked)]);
    assert_status(&out, 2);
    assert!(stderr(&out).contains("exists"), "{}", stderr(&out));
    let nowhere = root.path().join("nowhere");
    let out = toykv(&["checkpoint", s(&nowhere), s(&root.path().join("cp"))]);
    assert_status(&out, 2);
    assert!(!root.path().join("cp").exists());
}

#[test]
fn verify_names_the_sstable_and_block_with_a_flipped_bit() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 3000);
    let sst = files_with_suffix(dir.path(), ".sst").pop().unwrap();
    // Inside data block 2: blocks are about 4 KiB.
    flip_byte(&sst, 2 * 4096 + 100);
    let before = dir_contents(dir.path());

    let out = toykv(&["verify", s(dir.path())]);
    assert_status(&out, 1);
    let text = stdout(&out);
    let damaged: Vec<&str> = text.lines().filter(|l| l.starts_with("damaged:")).collect();
    assert_eq!(damaged.len(), 1, "{text}");
    assert!(damaged[0].contains(s(&sst)), "{text}");
    assert!(damaged[0].contains("data block 2 at offset"), "{text}");
    assert!(damaged[0].contains("checksum mismatch"), "{text}");
    assert!(
        text.lines().last().unwrap().starts_with("DAMAGED:"),
        "{text}"
    );
    // Not a terminal: no progress bar, nothing on stderr.
    assert_eq!(stderr(&out), "");

    let out = toykv(&["verify", s(&sst)]);
    assert_status(&out, 1);
    assert!(
        stdout(&out).contains("data block 2 at offset"),
        "{}",
        stdout(&out)
    );

    let out = toykv(&["dump-sst", s(&sst)]);
    assert_status(&out, 1);
    assert!(
        stderr(&out).contains("data block 2 at offset"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains(s(&sst)), "{}", stderr(&out));
    // The other blocks were still dumped.
    assert!(stdout(&out).contains("key02999\t3000\tput\tvalue 2999\n"));

    // A read that meets the block is a problem found, too.
    let out = toykv(&["scan", s(dir.path())]);
    assert_status(&out, 1);
    assert!(stderr(&out).contains("corruption"), "{}", stderr(&out));

    assert_eq!(
        dir_contents(dir.path()),
        before,
        "inspecting a damaged database changed it"
    );
}

#[test]
fn verify_names_a_damaged_wal_and_manifest() {
    for (suffix, offset) in [(".log", 20), ("MANIFEST-", 16)] {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), 100);
        let path = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| s(p).contains(suffix))
            .unwrap();
        flip_byte(&path, offset);
        let out = toykv(&["verify", s(dir.path())]);
        assert_status(&out, 1);
        let text = stdout(&out);
        assert!(
            text.lines()
                .any(|l| l.starts_with("damaged:") && l.contains(s(&path))),
            "{text}"
        );
    }
}

#[test]
fn dump_sst_prints_footer_index_filter_and_entries() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/sstable-v1.sst"
    );
    check_dump(
        fixture,
        &[
            "  format version  1",
            "  magic           0x545353564b594f54",
            "  filter          offset 88, 36 bytes",
            "  index           offset 124, 138 bytes",
            "index: 3 data blocks",
            "  block 0: offset 0, 30 bytes, separator apple @3",
            "  block 1: offset 30, 27 bytes, separator apple @1",
            "  block 2: offset 57, 31 bytes, separator pear @2",
            "filter: offset 88, 36 bytes, 1 buckets, 256 bits",
            "summary: 3 entries (2 puts, 1 deletes), 2 distinct keys, 128.0 filter bits per key",
        ],
        &[
            "apple\t3\tput\tred",
            "apple\t1\tdelete\t",
            "pear\t2\tput\tgreen",
        ],
    );

    let out = toykv(&["dump-sst", "--hex", fixture]);
    assert!(stdout(&out).contains("\n6170706c65\t3\tput\t726564\n"));

    // Not an sstable: the file is named, and that is a problem found.
    let wal = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/wal-v1.log");
    let out = toykv(&["dump-sst", wal]);
    assert_status(&out, 1);
    assert!(stderr(&out).contains("wal-v1.log"), "{}", stderr(&out));
}

#[test]
fn dump_sst_prints_a_format_version_2_table() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/sstable-v2.sst"
    );
    check_dump(
        fixture,
        &[
            "  format version  2",
            "  filter          offset 125, 36 bytes",
            "  index           offset 161, 29 bytes",
            "index: 3 data blocks",
            "  block 0: offset 0, 51 bytes, separator aq @0",
            "  block 1: offset 51, 39 bytes, separator banana @2",
            "  block 2: offset 90, 35 bytes, separator bandana @0",
            "filter: offset 125, 36 bytes, 1 buckets, 256 bits",
            "summary: 7 entries (5 puts, 2 deletes), 4 distinct keys, 64.0 filter bits per key",
        ],
        &[
            "apple\t9\tput\tred",
            "apple\t4\tdelete\t",
            "apricot\t0\tput\torange",
            "banana\t8\tput\tyellow",
            "banana\t2\tput\tgreen",
            "banana\t1\tdelete\t",
            "bandana\t0\tput\tdark",
        ],
    );
}

/// Runs `dump-sst` on `fixture` and checks that it succeeds, prints every one of `lines`,
/// and lists exactly `entries` between its `entries` and `summary` lines.
fn check_dump(fixture: &str, lines: &[&str], entries: &[&str]) {
    let out = toykv(&["dump-sst", fixture]);
    assert_status(&out, 0);
    let text = stdout(&out);
    for line in lines {
        assert!(
            text.lines().any(|l| l == *line),
            "missing {line:?} in\n{text}"
        );
    }
    let listed: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("entries"))
        .skip(1)
        .take_while(|l| !l.starts_with("summary"))
        .collect();
    assert_eq!(listed, entries);
}

#[test]
fn bad_arguments_and_unusable_databases_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 10);
    let d = s(dir.path());
    let missing = dir.path().join("nothing here");
    let m = s(&missing);
    for args in [
        &[][..],
        &["frobnicate"],
        &["get"],
        &["get", d],
        &["put", d, "k"],
        &["scan", d, "--limit", "ten"],
        &["scan", d, "--bogus"],
        &["get", "--hex", d, "abc"],
        &["get", "--hex", d, "zz"],
        &["get", d, "bad\\escape"],
        &["scan", d, "--start", "\\x1"],
        &["get", m, "k"],
        &["stats", m],
        &["verify", m],
        &["compact", m],
        &["dump-sst", m],
    ] {
        let out = toykv(args);
        assert_status(&out, 2);
        assert!(!stderr(&out).is_empty(), "{args:?} said nothing");
    }
    assert!(!missing.exists(), "a failed command created the directory");

    // An open database is locked: the tool says so and cannot run.
    let _guard = no_fork();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    for args in [
        &["get", d, "k"][..],
        &["stats", d],
        &["verify", d],
        &["put", d, "k", "v"],
    ] {
        let out = spawn(args).wait_with_output().unwrap();
        assert_status(&out, 2);
        assert!(
            stderr(&out).contains("locked"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    drop(db);
}

#[test]
fn help_and_version_exit_0() {
    let out = toykv(&["--help"]);
    assert_status(&out, 0);
    for sub in [
        "get", "put", "delete", "scan", "stats", "compact", "verify", "dump-sst",
    ] {
        assert!(stdout(&out).contains(sub), "{sub} missing from --help");
    }
    let out = toykv(&["scan", "--help"]);
    assert_status(&out, 0);
    assert!(stdout(&out).contains("--limit"));
    let out = toykv(&["--version"]);
    assert_status(&out, 0);
    assert!(stdout(&out).starts_with("toykv "));
}
