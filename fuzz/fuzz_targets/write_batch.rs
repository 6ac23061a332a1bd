//! The write-batch decoder: any bytes as a WAL record's payload.
//!
//! A payload that decodes holds operations the public `WriteBatch` accepts, and encoding
//! them again (at the same first sequence number) decodes to the same operations.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toykv::fuzzing::{decode_batch, encode_batch};
use toykv::WriteBatch;

fuzz_target!(|payload: &[u8]| {
    let Ok((first_seq, entries)) = decode_batch(payload) else {
        return;
    };
    let mut batch = WriteBatch::new();
    for e in &entries {
        if e.put {
            batch
                .put(&e.key, &e.value)
                .expect("a decoded put is refused");
        } else {
            assert!(e.value.is_empty());
            batch.delete(&e.key).expect("a decoded delete is refused");
        }
    }
    let again = decode_batch(&encode_batch(&batch, first_seq)).expect("re-encoding fails");
    assert_eq!(again, (first_seq, entries));
});
