//! Writes the seed corpora of the fuzz targets (`fuzz/corpus/<target>/seed-*`) from files
//! the engine itself makes: a WAL, an sstable, a manifest, and the records and blocks inside
//! them. Run after a format change: `cargo run --example fuzz_seeds --features fuzzing`.

use std::path::Path;
use toykv::fuzzing::{read_log, FuzzTable};
use toykv::{Db, Options, WriteBatch};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let work = std::env::temp_dir().join(format!("toykv-fuzz-seeds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let opts = || Options {
        block_bytes: 256,
        ..Options::default()
    };

    // An sstable of two small blocks and more, and a manifest naming it.
    let db = Db::open(&work, opts())?;
    for i in 0..40u32 {
        db.put(
            format!("key{i:03}").as_bytes(),
            format!("value {i}").as_bytes(),
        )?;
    }
    db.delete(b"key007")?;
    db.flush()?;
    // Left in the WAL at close: a batch, a put with an empty value and one of an empty key.
    let mut batch = WriteBatch::new();
    batch.put(b"a", b"1")?;
    batch.delete(b"b")?;
    batch.put(b"", b"empty key")?;
    db.write(&batch)?;
    db.put(b"empty value", b"")?;
    db.close()?;

    let mut seeds: Vec<(&str, String, Vec<u8>)> = Vec::new();
    for entry in std::fs::read_dir(&work)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = std::fs::read(&path)?;
        if name.ends_with(".sst") {
            let table = FuzzTable::open(&bytes)?;
            for (i, block) in table.data_block_contents().into_iter().take(2).enumerate() {
                seeds.push(("block", format!("seed-{i}"), block));
            }
            seeds.push(("sstable", "seed-0".into(), bytes));
        } else if name.ends_with(".log") && !bytes.is_empty() {
            for (i, record) in read_log(&bytes[..]).records.into_iter().enumerate() {
                seeds.push(("write_batch", format!("seed-{i}"), record));
            }
            let mut chunked = vec![7u8];
            chunked.extend_from_slice(&bytes);
            seeds.push(("log_reader", "seed-0".into(), chunked));
            seeds.push(("wal_replay", "seed-0".into(), bytes));
        } else if name.starts_with("MANIFEST-") {
            for (i, record) in read_log(&bytes[..]).records.into_iter().enumerate() {
                seeds.push(("manifest", format!("seed-edit-{i}"), record));
            }
            seeds.push(("manifest", "seed-file".into(), bytes));
        }
    }
    for (target, name, bytes) in &seeds {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)?;
        println!("{target}/{name}: {} bytes", bytes.len());
    }
    std::fs::remove_dir_all(&work)?;
    Ok(())
}
