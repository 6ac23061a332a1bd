//! Little-endian fixed-width integers and LEB128 varints, written to a `Vec<u8>` and read back
//! through a bounds-checked [`Decoder`].
//!
//! Every on-disk format in toykv is built from these pieces. Decoding never panics and never
//! indexes unchecked: a short or malformed buffer yields a [`DecodeError`] naming the field.

use crate::error::DecodeError;

pub(crate) fn put_u8(buf: &mut Vec<u8>, v: u8) {
    buf.push(v);
}

pub(crate) fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u64(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// A varint length followed by that many bytes.
pub(crate) fn put_len_prefixed(buf: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

/// How many bytes `put_varint(v)` writes.
pub(crate) fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Reads fields in order from a byte slice, checking every length.
#[derive(Debug, Clone)]
pub(crate) struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    #[inline]
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Decoder { buf, pos: 0 }
    }

    /// Offset of the next unread byte within the original slice.
    #[inline]
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn error(&self, field: &'static str) -> DecodeError {
        DecodeError {
            field,
            offset: self.pos,
        }
    }

    #[inline]
    pub(crate) fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.error(field))?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| self.error(field))?;
        self.pos = end;
        Ok(out)
    }

    #[inline]
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let slice = self.bytes(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    #[inline]
    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    #[inline]
    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    #[inline]
    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    #[inline]
    pub(crate) fn varint(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        // Most varints on disk are one byte.
        if let Some(&byte) = self.buf.get(self.pos) {
            if byte < 0x80 {
                self.pos += 1;
                return Ok(u64::from(byte));
            }
        }
        self.varint_slow(field)
    }

    fn varint_slow(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let mut value: u64 = 0;
        // At most ten bytes; the tenth may only hold the top bit of a u64.
        for (i, &byte) in rest.iter().take(10).enumerate() {
            if i == 9 && byte > 1 {
                break;
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                self.pos += i + 1;
                return Ok(value);
            }
        }
        Err(self.error(field))
    }

    /// A varint that must fit in `usize` and in the bytes that remain (a length field).
    #[inline]
    pub(crate) fn varint_len(&mut self, field: &'static str) -> Result<usize, DecodeError> {
        let start = self.pos;
        let v = self.varint(field)?;
        match usize::try_from(v) {
            Ok(n) if n <= self.remaining() => Ok(n),
            _ => {
                self.pos = start;
                Err(self.error(field))
            }
        }
    }

    #[inline]
    pub(crate) fn len_prefixed(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let n = self.varint_len(field)?;
        self.bytes(n, field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_every_width() {
        let values = [0u64, 1, 127, 128, 300, 1 << 21, u32::MAX as u64, u64::MAX];
        let mut buf = Vec::new();
        for v in values {
            put_varint(&mut buf, v);
        }
        let mut d = Decoder::new(&buf);
        for v in values {
            assert_eq!(d.varint("v").unwrap(), v);
        }
        assert!(d.is_empty());
        for v in values {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(b.len(), varint_len(v));
        }
    }

    #[test]
    fn truncated_fields_name_the_field_and_never_panic() {
        let mut buf = Vec::new();
        put_u32(&mut buf, 7);
        let mut d = Decoder::new(&buf[..3]);
        assert_eq!(d.u32("count").unwrap_err().field, "count");
        let mut d = Decoder::new(&[0x80, 0x80]);
        assert!(d.varint("len").is_err());
        // An eleven-byte varint overflows u64.
        let mut d = Decoder::new(&[0xff; 11]);
        assert!(d.varint("len").is_err());
        // A length larger than what remains.
        let mut d = Decoder::new(&[5, 1, 2]);
        assert!(d.len_prefixed("key").is_err());
    }
}
