//! The fixed-size footer at the end of every table: where the filter and the index are,
//! the format version and the magic number.
//!
//! ```text
//! offset  size  field
//!      0     8  filter_offset  (u64 LE)
//!      8     8  filter_len     (u64 LE; 0 = no filter, then filter_offset = index_offset)
//!     16     8  index_offset   (u64 LE)
//!     24     8  index_len      (u64 LE)
//!     32     4  format_version (u32 LE: 1 or 2)
//!     36     4  crc32 of bytes 0..36 and of the magic (bytes 40..48)
//!     40     8  magic          (u64 LE, the ASCII bytes "TOYKVSST")
//! ```
//! The magic is last so that the last eight bytes of a file say what it is. Lengths include
//! the region's 4-byte CRC trailer. Both format versions share this footer; the version says
//! how to read everything before it.

use super::index::BlockHandle;
use super::FormatVersion;
use crate::coding::{put_u32, put_u64, Decoder};
use crate::error::DecodeError;
use crate::{Error, Result};
use std::path::Path;

/// Bytes of the footer. On disk: never change.
pub(crate) const FOOTER_LEN: usize = 48;

/// The last eight bytes of every table, "TOYKVSST" read as a little-endian u64. On disk:
/// never change.
pub(crate) const TABLE_MAGIC: u64 = u64::from_le_bytes(*b"TOYKVSST");

/// Where the footer's checksum lies. On disk: never change.
const CRC_AT: usize = 36;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Footer {
    pub filter: BlockHandle,
    pub index: BlockHandle,
    pub format: FormatVersion,
}

impl Footer {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FOOTER_LEN);
        put_u64(&mut out, self.filter.offset);
        put_u64(&mut out, self.filter.len);
        put_u64(&mut out, self.index.offset);
        put_u64(&mut out, self.index.len);
        put_u32(&mut out, self.format as u32);
        let crc = footer_crc(&out, TABLE_MAGIC);
        put_u32(&mut out, crc);
        put_u64(&mut out, TABLE_MAGIC);
        out
    }

    /// Decodes and verifies the last [`FOOTER_LEN`] bytes of the table at `path`, which
    /// start at file offset `base`. Checks the magic first (a truncated or foreign file),
    /// then the checksum, then that the version is one this build reads.
    ///
    /// # Errors
    ///
    /// [`Error::Corruption`] naming `path` and the bad field's offset.
    pub(crate) fn decode(bytes: &[u8], path: &Path, base: u64) -> Result<Footer> {
        let field = |e: DecodeError| e.in_file(path, base);
        let mut d = Decoder::new(bytes);
        let filter = BlockHandle {
            offset: d.u64("footer filter offset").map_err(field)?,
            len: d.u64("footer filter length").map_err(field)?,
        };
        let index = BlockHandle {
            offset: d.u64("footer index offset").map_err(field)?,
            len: d.u64("footer index length").map_err(field)?,
        };
        let version = d.u32("footer format version").map_err(field)?;
        let crc = d.u32("footer checksum").map_err(field)?;
        let magic = d.u64("footer magic").map_err(field)?;
        if magic != TABLE_MAGIC {
            return Err(Error::corruption(
                path,
                base + 40,
                format!(
                    "not an sstable or truncated: bad magic number {magic:#018x} \
                     (expected {TABLE_MAGIC:#018x})"
                ),
            ));
        }
        let covered = bytes.get(..CRC_AT).unwrap_or_default();
        if crc != footer_crc(covered, magic) {
            return Err(Error::corruption(
                path,
                base + CRC_AT as u64,
                "sstable footer checksum mismatch",
            ));
        }
        let format = FormatVersion::from_u32(version).ok_or_else(|| {
            Error::corruption(
                path,
                base + 32,
                format!("unsupported sstable format version {version} (this build reads 1 and 2)"),
            )
        })?;
        Ok(Footer {
            filter,
            index,
            format,
        })
    }
}

/// CRC32 (the same CRC as every other region, see `super::checksum`) over the footer's first 36 bytes followed by the magic's 8 bytes.
fn footer_crc(head: &[u8], magic: u64) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(head);
    h.update(&magic.to_le_bytes());
    h.finalize()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn footer() -> Footer {
        Footer {
            filter: BlockHandle {
                offset: 1000,
                len: 36,
            },
            index: BlockHandle {
                offset: 1036,
                len: 80,
            },
            format: FormatVersion::V2,
        }
    }

    #[test]
    fn footer_round_trips_and_ends_with_the_magic() {
        let bytes = footer().encode();
        assert_eq!(bytes.len(), FOOTER_LEN);
        assert_eq!(&bytes[40..], b"TOYKVSST");
        assert_eq!(
            Footer::decode(&bytes, Path::new("t.sst"), 0).unwrap(),
            footer()
        );
    }

    #[test]
    fn any_flipped_footer_byte_is_corruption_naming_the_file() {
        let bytes = footer().encode();
        for i in 0..FOOTER_LEN {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            let err = Footer::decode(&bad, Path::new("000009.sst"), 500).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Corruption);
            assert!(err.to_string().contains("000009.sst"), "{err}");
        }
        assert!(Footer::decode(&bytes[..47], Path::new("x"), 0).is_err());
    }

    #[test]
    fn versions_one_and_two_are_read_and_others_refused_by_number() {
        for format in [FormatVersion::V1, FormatVersion::V2] {
            let f = Footer { format, ..footer() };
            let bytes = f.encode();
            assert_eq!(bytes[32..36], (format as u32).to_le_bytes());
            assert_eq!(Footer::decode(&bytes, Path::new("t.sst"), 0).unwrap(), f);
        }
        for version in [0u32, 3, u32::MAX] {
            let mut bytes = footer().encode();
            bytes[32..36].copy_from_slice(&version.to_le_bytes());
            let crc = footer_crc(&bytes[..CRC_AT], TABLE_MAGIC);
            bytes[36..40].copy_from_slice(&crc.to_le_bytes());
            let err = Footer::decode(&bytes, Path::new("000009.sst"), 0).unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("unsupported sstable format version {version}")),
                "{err}"
            );
        }
    }
}
