//! Reads a log file's records back, front to back, and decides where the log ends.
//!
//! The reader owns its source and one internal buffer; it is used by one thread (recovery).
//! Every read has `read_exact` semantics: a short `read()` only means "call again", and the
//! end of the file is seen only when the source returns `Ok(0)`. (The project toykv grew from
//! took a short read for the end of the file and lost every record after ~11,400.)
//!
//! How reading ends:
//!
//! - **Clean end**: the file ends exactly at a record boundary.
//! - **Torn tail** (a crash mid-append): the file ends inside a header, or inside a payload
//!   whose checksummed length runs past the end; or a record is bad, no valid record follows
//!   it, and the file ends in zeros that reach into that record (space the append never
//!   got to write: preallocated blocks, or pages lost in a power cut). The tail is dropped,
//!   reading ends normally, and [`LogReader::dropped_tail`] says where it was.
//! - **Corruption**: any other bad record (either checksum fails, or a checksummed length
//!   above [`MAX_RECORD_LEN`]): one with a valid record after it, and also a complete last
//!   record whose bytes are all there but wrong (a flipped bit is not a torn write, and
//!   dropping it would silently lose an acknowledged write). Reading fails with
//!   [`Error::Corruption`] naming the file and the bad record's offset, and keeps failing.
//!
//! Deciding between the last two needs the rest of the file, so after a bad record the reader
//! reads the remainder into memory and scans it. That happens at most once per file, and log
//! files are bounded (a WAL by the memtable size, the manifest by its rollover size).

use super::{find_valid_record, parse_header, HEADER_LEN, MAX_RECORD_LEN};
use crate::{Error, Result};
use std::io::{ErrorKind, Read};
use std::path::PathBuf;

/// Bytes read from the source per `read()` call.
const READ_BUFFER_LEN: usize = 64 * 1024;

/// At most this much is reserved for a payload before its bytes arrive, so a length that
/// runs past the end of a truncated file does not allocate for bytes that are not there.
const MAX_RESERVE: usize = 1 << 20;

#[derive(Debug)]
enum State {
    Reading,
    /// The clean end or a torn tail was reached; every later read returns `None`.
    Done,
    /// Reading failed; every later read returns this error again.
    Failed(Error),
}

/// Reads the records of one log file in order.
#[derive(Debug)]
pub(crate) struct LogReader<R: Read> {
    source: R,
    /// Named in errors.
    path: PathBuf,
    /// `buf[start..end]` holds bytes read from the source and not yet consumed.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[start]`: the next byte to consume.
    offset: u64,
    /// The source returned `Ok(0)`.
    source_done: bool,
    last_record_offset: u64,
    dropped_tail: Option<(u64, u64)>,
    state: State,
    /// Whether a bad record that shows pages lost in a power cut ends the log (see
    /// [`LogReader::ending_at_lost_pages`]).
    lost_pages_end_log: bool,
}

impl<R: Read> LogReader<R> {
    /// Reads records from `source`, which must be positioned at the start of the log file
    /// `path` (used only in error messages).
    pub(crate) fn new(source: R, path: PathBuf) -> Self {
        LogReader {
            source,
            path,
            buf: vec![0; READ_BUFFER_LEN],
            start: 0,
            end: 0,
            offset: 0,
            source_done: false,
            last_record_offset: 0,
            dropped_tail: None,
            state: State::Reading,
            lost_pages_end_log: false,
        }
    }

    /// Treats a bad record that shows pages lost in a power cut as the end of the log (a
    /// torn tail, see [`LogReader::dropped_tail`]) even when valid records follow it. A disk
    /// writes dirty pages back in any order, so a power cut can keep a later page and lose
    /// an earlier one; a lost page reads as zeros from its start (or from the end of the
    /// bytes fsynced before it, always a record boundary) to its end or the end of the file.
    /// Damage of any other shape (a flipped bit) stays corruption. For WALs, whose unsynced
    /// tail a power cut may leave with holes; never for the manifest, fsynced record by
    /// record.
    pub(crate) fn ending_at_lost_pages(mut self) -> Self {
        self.lost_pages_end_log = true;
        self
    }

    /// The next record's payload: `Ok(Some(payload))` for each record, `Ok(None)` at the
    /// clean end or at a torn tail (see [`LogReader::dropped_tail`]).
    ///
    /// # Errors
    ///
    /// As for [`LogReader::read_record_into`].
    pub(crate) fn read_record(&mut self) -> Result<Option<Vec<u8>>> {
        let mut payload = Vec::new();
        Ok(self.read_record_into(&mut payload)?.then_some(payload))
    }

    /// Replaces the contents of `payload` with the next record's payload and returns true,
    /// or returns false at the clean end or at a torn tail. Reusing one buffer across calls
    /// saves an allocation per record.
    ///
    /// # Errors
    ///
    /// `Corruption` (naming the file and the bad record's offset) when a record fails its
    /// checks and valid records follow it; `Io` when the source fails. Either way the reader
    /// stays failed: later calls return the same error.
    pub(crate) fn read_record_into(&mut self, payload: &mut Vec<u8>) -> Result<bool> {
        match &self.state {
            State::Reading => {}
            State::Done => return Ok(false),
            State::Failed(error) => return Err(error.duplicate()),
        }
        match self.next_record(payload) {
            Ok(true) => Ok(true),
            Ok(false) => {
                payload.clear();
                self.state = State::Done;
                Ok(false)
            }
            Err(error) => {
                payload.clear();
                self.state = State::Failed(error.duplicate());
                Err(error)
            }
        }
    }

    /// File offset of the next byte to read: after a record, where it ended; after the
    /// clean end, the length of the file.
    pub(crate) fn position(&self) -> u64 {
        self.offset
    }

    /// File offset where the last returned record started (its header's first byte).
    pub(crate) fn last_record_offset(&self) -> u64 {
        self.last_record_offset
    }

    /// Where a torn tail started and how many bytes it had, if one was dropped. The valid
    /// part of the file ends at that offset.
    pub(crate) fn dropped_tail(&self) -> Option<(u64, u64)> {
        self.dropped_tail
    }

    fn next_record(&mut self, payload: &mut Vec<u8>) -> Result<bool> {
        payload.clear();
        let record_start = self.offset;
        let available = self.fill_to(HEADER_LEN)?;
        if available == 0 {
            return Ok(false);
        }
        if available < HEADER_LEN {
            // The file ends inside a header: nothing can follow, so it is a torn tail.
            return self.drop_rest(record_start, Vec::new());
        }
        let Some(header) = parse_header(self.buffered()) else {
            // The length cannot be trusted, so the record's end is unknown: any valid record
            // after its first byte makes this corruption.
            return self.classify_bad_record(record_start, Vec::new(), 1, None, "header checksum");
        };
        let len = header.payload_len as usize;
        if len > MAX_RECORD_LEN {
            return Err(Error::corruption(
                &self.path,
                record_start,
                format!("record length {len} exceeds the limit of {MAX_RECORD_LEN} bytes"),
            ));
        }
        let mut header_bytes = [0u8; HEADER_LEN];
        header_bytes.copy_from_slice(self.consume(HEADER_LEN));
        self.read_payload(payload, len)?;
        if payload.len() < len {
            // A checksummed length running past the end: the append was cut short.
            self.dropped_tail = Some((record_start, (HEADER_LEN + payload.len()) as u64));
            return Ok(false);
        }
        if crc32fast::hash(payload) != header.payload_crc {
            // The header is trusted, so the next record would start right after this one.
            let mut prefix = Vec::with_capacity(HEADER_LEN + len);
            prefix.extend_from_slice(&header_bytes);
            prefix.append(payload);
            return self.classify_bad_record(
                record_start,
                prefix,
                HEADER_LEN + len,
                Some(HEADER_LEN + len),
                "payload checksum",
            );
        }
        self.last_record_offset = record_start;
        Ok(true)
    }

    /// Decides what a bad record at `record_start` is. `prefix` holds the bytes of it already
    /// consumed; the rest of the file is read after them. Valid records are looked for from
    /// `scan_from` (relative to `record_start`). `record_len` is the record's full length
    /// when its header could be trusted.
    fn classify_bad_record(
        &mut self,
        record_start: u64,
        prefix: Vec<u8>,
        scan_from: usize,
        record_len: Option<usize>,
        what: &str,
    ) -> Result<bool> {
        let rest = self.read_rest(prefix)?;
        if self.lost_pages_end_log
            && shows_lost_pages(&rest, record_start, record_len.unwrap_or(HEADER_LEN))
        {
            return self.drop_tail(record_start, &rest);
        }
        // The file's trailing zeros start here (relative to `record_start`).
        let zeros_from = rest
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |last| last + 1);
        // All zeros need no scan for a following record.
        let next_valid = if zeros_from == 0 {
            None
        } else {
            find_valid_record(&rest, scan_from)
        };
        // Never-written space reads as zeros. If they reach into this record and nothing
        // valid follows, its append did not complete: a torn tail. (With an untrusted header,
        // only the header itself may be non-zero.)
        let unwritten = zeros_from < record_len.unwrap_or(HEADER_LEN + 1);
        if unwritten && next_valid.is_none() {
            return self.drop_tail(record_start, &rest);
        }
        let reason = match next_valid {
            Some(pos) => format!(
                "{what} mismatch in a log record followed by a valid record at offset {}",
                record_start + pos as u64
            ),
            None => format!(
                "{what} mismatch in the last log record, which is complete (damaged, not torn)"
            ),
        };
        Err(Error::corruption(&self.path, record_start, reason))
    }

    /// Consumes the rest of the file and records it as a torn tail starting at `start`.
    fn drop_rest(&mut self, start: u64, prefix: Vec<u8>) -> Result<bool> {
        let rest = self.read_rest(prefix)?;
        self.drop_tail(start, &rest)
    }

    fn drop_tail(&mut self, start: u64, tail: &[u8]) -> Result<bool> {
        self.dropped_tail = Some((start, tail.len() as u64));
        Ok(false)
    }

    /// `prefix` followed by every byte not yet consumed, up to the end of the file.
    fn read_rest(&mut self, prefix: Vec<u8>) -> Result<Vec<u8>> {
        let mut rest = prefix;
        let buffered = self.end - self.start;
        rest.extend_from_slice(self.consume(buffered));
        if !self.source_done {
            // `read_to_end` retries `Interrupted` and stops only at `Ok(0)`.
            let n = self
                .source
                .read_to_end(&mut rest)
                .map_err(|e| Error::io("read", &self.path, e))?;
            self.offset += n as u64;
            self.source_done = true;
        }
        Ok(rest)
    }

    /// Appends up to `len` payload bytes to `out`; fewer only at the end of the file.
    fn read_payload(&mut self, out: &mut Vec<u8>, len: usize) -> Result<()> {
        out.reserve(len.min(MAX_RESERVE));
        let mut remaining = len;
        while remaining > 0 {
            if self.start == self.end && !self.fill()? {
                break;
            }
            let n = remaining.min(self.end - self.start);
            out.extend_from_slice(self.consume(n));
            remaining -= n;
        }
        Ok(())
    }

    /// The unread buffered bytes.
    fn buffered(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// Takes `n` buffered bytes. REQUIRES: `n <= end - start`.
    fn consume(&mut self, n: usize) -> &[u8] {
        debug_assert!(n <= self.end - self.start);
        let n = n.min(self.end - self.start);
        let from = self.start;
        self.start += n;
        self.offset += n as u64;
        self.buf.get(from..from + n).unwrap_or_default()
    }

    /// Reads until at least `want` bytes are buffered or the file ends; returns how many are
    /// buffered. REQUIRES: `want <= READ_BUFFER_LEN`.
    fn fill_to(&mut self, want: usize) -> Result<usize> {
        while self.end - self.start < want {
            if !self.fill()? {
                break;
            }
        }
        Ok(self.end - self.start)
    }

    /// One successful `read()` from the source into the buffer's free space, moving unread
    /// bytes to the front first if needed. Returns false once the source is at its end.
    fn fill(&mut self) -> Result<bool> {
        if self.source_done {
            return Ok(false);
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let space = self.buf.get_mut(self.end..).unwrap_or_default();
        if space.is_empty() {
            // Only reachable if a caller asked for more than the buffer holds; never treat
            // a zero-length read as the end of the file.
            debug_assert!(false, "log reader buffer full");
            return Ok(true);
        }
        let space_len = space.len();
        loop {
            match self.source.read(space) {
                Ok(0) => {
                    self.source_done = true;
                    return Ok(false);
                }
                Ok(n) => {
                    // A `Read` claiming more than it was given is broken; do not trust it.
                    self.end += n.min(space_len);
                    return Ok(true);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("read", &self.path, e)),
            }
        }
    }
}

/// The size of the pages a power cut keeps or loses whole.
const PAGE: u64 = 4096;

/// Whether the bad record at `start`, `len` bytes long as far as is known (`rest` holds it
/// and everything after it), has a page lost in a power cut: a run of zeros from the
/// record's start, or from a page boundary inside it, to the next page boundary or the end
/// of the file.
fn shows_lost_pages(rest: &[u8], start: u64, len: usize) -> bool {
    let end_of_file = rest.len();
    let zeros_to_next_page = |from: usize| {
        let next_page = (start + from as u64) / PAGE * PAGE + PAGE;
        let to = usize::try_from(next_page - start).map_or(end_of_file, |to| to.min(end_of_file));
        from < to
            && rest
                .get(from..to)
                .is_some_and(|run| run.iter().all(|&b| b == 0))
    };
    let first_boundary = (start / PAGE * PAGE + PAGE - start) as usize;
    std::iter::once(0)
        .chain((first_boundary..len.min(end_of_file)).step_by(PAGE as usize))
        .any(zeros_to_next_page)
}
