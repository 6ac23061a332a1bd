//! Keys and values on the command line and in the output: escaped text or hex.
//!
//! Escaped form: bytes 0x20..=0x7e stand for themselves except the backslash, which is
//! `\\`; every other byte is `\xNN`. So an escaped key or value never holds a tab or a
//! newline, and `key<TAB>value` lines split unambiguously. Arguments are read in the same
//! form, so a key copied from `scan` output can be passed back to `get`.
//!
//! Hex form (`--hex`): two lowercase digits per byte; arguments may use either case and an
//! optional `0x` prefix. The empty string is the empty key in both forms.

use std::fmt::Write;

/// How keys and values are written and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Escaped,
    Hex,
}

impl Format {
    pub fn new(hex: bool) -> Format {
        if hex {
            Format::Hex
        } else {
            Format::Escaped
        }
    }

    pub fn encode(self, bytes: &[u8]) -> String {
        match self {
            Format::Escaped => escape(bytes),
            Format::Hex => hex(bytes),
        }
    }

    /// Reads a command-line argument. The error says what is wrong with it.
    pub fn decode(self, text: &str) -> Result<Vec<u8>, String> {
        match self {
            Format::Escaped => unescape(text),
            Format::Hex => unhex(text),
        }
    }
}

pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match rest {
            [b'\\', tail @ ..] => {
                out.push(b'\\');
                rest = tail;
            }
            [b'x', hi, lo, tail @ ..] => {
                out.push(hex_digit(*hi)? << 4 | hex_digit(*lo)?);
                rest = tail;
            }
            _ => {
                return Err(format!(
                    "{text:?}: a backslash must start \\\\ or \\xNN (two hex digits)"
                ))
            }
        }
    }
    Ok(out)
}

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text)
        .as_bytes();
    if digits.len() % 2 != 0 {
        return Err(format!("{text:?}: hex needs an even number of digits"));
    }
    digits
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Ok(hex_digit(*hi)? << 4 | hex_digit(*lo)?),
            _ => Err(format!("{text:?}: hex needs an even number of digits")),
        })
        .collect()
}

fn hex_digit(d: u8) -> Result<u8, String> {
    char::from(d)
        .to_digit(16)
        .map(|v| v as u8)
        .ok_or_else(|| format!("{:?} is not a hex digit", char::from(d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips_through_both_forms() {
        let all: Vec<u8> = (0..=255).collect();
        for format in [Format::Escaped, Format::Hex] {
            assert_eq!(format.decode(&format.encode(&all)).unwrap(), all);
            assert_eq!(format.decode("").unwrap(), Vec::<u8>::new());
        }
    }

    #[test]
    fn escaped_text_never_holds_a_separator() {
        let s = escape(b"a b\tc\nd\\e\x00\x7f\xff");
        assert_eq!(s, "a b\\x09c\\x0ad\\\\e\\x00\\x7f\\xff");
        assert!(!s.contains('\t') && !s.contains('\n'));
    }

    #[test]
    fn malformed_arguments_are_refused() {
        assert!(unescape("a\\").is_err());
        assert!(unescape("\\n").is_err());
        assert!(unescape("\\x4").is_err());
        assert!(unescape("\\xzz").is_err());
        assert!(unhex("abc").is_err());
        assert!(unhex("zz").is_err());
        assert_eq!(unhex("0x00FFa1").unwrap(), vec![0, 255, 0xa1]);
        assert_eq!(unescape("k\\x5c\\\\").unwrap(), b"k\\\\".to_vec());
    }
}
