//! The log reader (WAL and manifest framing): any bytes, read in any chunking.
//!
//! The first input byte picks the largest `read()` the source returns; the rest is the file.
//! A reader must never take a short read for the end of the file, so the outcome (records,
//! torn tail, error) must be the same as when the whole file comes in one read. A clean end
//! must account for every byte, and a dropped tail must end at the end of the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Read;
use toykv::fuzzing::read_log;

/// Returns at most `chunk` bytes per `read()`.
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        buf[..n].copy_from_slice(head);
        self.data = rest;
        Ok(n)
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&chunk, file)) = input.split_first() else {
        return;
    };
    let whole = read_log(file);
    let chunked = read_log(Chunked {
        data: file,
        chunk: usize::from(chunk % 64) + 1,
    });
    assert_eq!(whole, chunked, "the outcome depends on how reads are split");

    let consumed: usize = whole.records.iter().map(|r| 12 + r.len()).sum();
    match (&whole.error, whole.dropped_tail) {
        (None, None) => assert_eq!(consumed, file.len(), "a clean end left bytes unread"),
        (None, Some((start, len))) => {
            assert_eq!(
                start as usize, consumed,
                "the torn tail starts past the last record"
            );
            assert_eq!(
                (start + len) as usize,
                file.len(),
                "the torn tail stops short"
            );
        }
        (Some(_), _) => {}
    }
});
