//! The manifest: any bytes as one version edit, and as a whole manifest file.
//!
//! An edit that decodes re-encodes to bytes that decode to the same edit (nothing is lost
//! or invented); recovering a manifest file fails with corruption or yields a file set.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toykv::fuzzing::{recover_manifest, reencode_edit};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(encoded) = reencode_edit(bytes) {
        assert_eq!(reencode_edit(&encoded).as_ref(), Ok(&encoded));
    }
    if let Ok((files, _, _, _)) = recover_manifest(bytes) {
        let mut numbers: Vec<u64> = files.iter().map(|f| f.1).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), files.len(), "a file is live twice");
    }
});
