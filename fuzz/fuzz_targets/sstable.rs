//! The sstable reader: a whole file's bytes, opened as open and compaction open tables.
//!
//! Opening, scanning and point reads may fail with corruption, never panic; what a scan
//! returns is in strictly increasing internal-key order; a point read or a seek for a
//! scanned key finds that very entry (a point read may also say absent: a crafted but
//! checksummed filter may deny a key, which only costs a miss).
#![no_main]

use libfuzzer_sys::fuzz_target;
use toykv::fuzzing::FuzzTable;

fuzz_target!(|file: &[u8]| {
    let Ok(table) = FuzzTable::open(file) else {
        return;
    };
    let Ok(entries) = table.scan() else {
        return;
    };
    for pair in entries.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            a.key < b.key || (a.key == b.key && a.seq > b.seq),
            "scan out of order"
        );
    }
    for (i, e) in entries.iter().enumerate() {
        if let Ok(Some(found)) = table.get(&e.key, e.seq) {
            assert_eq!(&found, e, "a point read found another version");
        }
        let newest = i == 0 || entries[i - 1].key != e.key;
        if newest {
            if let Ok(found) = table.seek(&e.key) {
                assert_eq!(found.as_ref(), Some(e), "seek missed the key");
            }
        }
    }
});
