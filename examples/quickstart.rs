//! The Rust quickstart: open, write, read, delete, batch, scan.
//!
//! Run: `cargo run --example quickstart`

use toykv::{Db, Options, WriteBatch};

fn main() -> Result<(), toykv::Error> {
    let dir = std::env::temp_dir().join(format!("toykv-quickstart-{}", std::process::id()));
    let db = Db::open(&dir, Options::default())?;

    db.put(b"apple", b"red")?;
    db.put(b"banana", b"yellow")?;
    println!(
        "get apple -> {:?}",
        db.get(b"apple")?.map(String::from_utf8)
    );

    db.delete(b"apple")?;
    println!("after delete, get apple -> {:?}", db.get(b"apple")?);

    let mut batch = WriteBatch::new();
    batch.put(b"cherry", b"dark red")?;
    batch.put(b"date", b"brown")?;
    batch.delete(b"banana")?;
    db.write(&batch)?;
    println!("applied a batch of {} operations atomically", batch.len());

    println!("scan [b, d):");
    for entry in db.scan(&b"b"[..]..&b"d"[..])? {
        let (key, value) = entry?;
        println!(
            "  {} = {}",
            String::from_utf8_lossy(&key),
            String::from_utf8_lossy(&value)
        );
    }
    db.close()?;
    drop(db);
    Db::destroy(&dir)?;
    println!("ok");
    Ok(())
}
