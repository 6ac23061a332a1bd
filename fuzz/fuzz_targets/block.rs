//! The data block decoder: any bytes as a block's contents (trailer already checked), read
//! as either sstable format version.
//!
//! A block that decodes holds entries in strictly increasing internal-key order (key
//! ascending, sequence number descending), and its searches find each of them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toykv::fuzzing::FuzzBlock;

fuzz_target!(|contents: &[u8]| {
    for v1 in [false, true] {
        let Ok(block) = FuzzBlock::decode(contents, v1) else {
            continue;
        };
        let entries = block
            .entries()
            .expect("a decoded block fails to give its entries");
        assert!(!entries.is_empty());
        for pair in entries.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert!(
                a.key < b.key || (a.key == b.key && a.seq > b.seq),
                "entries out of order"
            );
        }
        for e in &entries {
            assert_eq!(block.seek(&e.key, e.seq).unwrap().as_ref(), Some(e));
            assert_eq!(block.get(&e.key, e.seq).unwrap().as_ref(), Some(e));
        }
        // A key taken from the input: any answer but a panic will do.
        let probe = contents.get(..contents.len().min(8)).unwrap_or_default();
        let _ = block.get(probe, u64::MAX >> 8);
        let _ = block.seek(probe, u64::MAX >> 8);
    }
});
