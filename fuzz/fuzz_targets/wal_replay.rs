//! WAL replay: a whole WAL file's bytes, as recovery reads them after a crash.
//!
//! Whatever replay accepts must be consistent: each batch starts at the sequence number
//! after the last one of the batch before it (point-in-time recovery stops at a hole), and
//! the batches are the first records the log reader plus the batch decoder make of the same
//! bytes (replay may stop earlier, at a page lost in a power cut, where the plain log reader
//! reports damage).
#![no_main]

use libfuzzer_sys::fuzz_target;
use toykv::fuzzing::{decode_batch, read_log, replay_wal};

fuzz_target!(|file: &[u8]| {
    let Ok(batches) = replay_wal(file) else {
        return;
    };
    let mut next: Option<u64> = None;
    for (first_seq, entries) in &batches {
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.seq, first_seq + i as u64);
        }
        if !entries.is_empty() {
            if let Some(next) = next {
                assert_eq!(*first_seq, next, "a batch after a hole was replayed");
            }
            next = Some(first_seq + entries.len() as u64);
        }
    }
    let log = read_log(file);
    assert!(
        log.records.len() >= batches.len(),
        "replay returned more batches than the log holds records"
    );
    let decoded: Vec<_> = log.records[..batches.len()]
        .iter()
        .map(|r| decode_batch(r).expect("replay accepted a batch that does not decode"))
        .collect();
    assert_eq!(decoded, batches);
});
