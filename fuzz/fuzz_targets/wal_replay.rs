//! WAL replay: a whole WAL file's bytes, as recovery reads them.
//!
//! Whatever replay accepts must be consistent: sequence numbers increase from batch to
//! batch and are consecutive within one, and it equals what the log reader plus the batch
//! decoder make of the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toykv::fuzzing::{decode_batch, read_log, replay_wal};

fuzz_target!(|file: &[u8]| {
    let Ok(batches) = replay_wal(file) else {
        return;
    };
    let mut last = 0;
    for (first_seq, entries) in &batches {
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.seq, first_seq + i as u64);
            assert!(e.seq > last, "sequence numbers go backwards");
            last = e.seq;
        }
    }
    let log = read_log(file);
    assert!(
        log.error.is_none(),
        "replay accepted what the log reader rejects"
    );
    let decoded: Vec<_> = log
        .records
        .iter()
        .map(|r| decode_batch(r).expect("replay accepted a batch that does not decode"))
        .collect();
    assert_eq!(decoded, batches);
});
