//! Record framing, and a scanner reading records back from a segment file.
//!
//! A record is a 12-byte header — magic, body length, CRC-32 of the body,
//! each `u32` little-endian — then the body: `seq u64`, `key_len u32`
//! (`u32::MAX`: no key), the key bytes, the payload bytes.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

/// First bytes of every record: `AUDW` on disk.
pub(super) const MAGIC: u32 = u32::from_le_bytes(*b"AUDW");
/// Magic, body length, CRC.
pub(super) const HEADER_LEN: usize = 12;
/// Seq and key length.
const BODY_FIXED: usize = 12;
/// Larger bodies are refused when written and taken for garbage when read.
pub(super) const MAX_BODY: usize = 16 << 20;
const NO_KEY: u32 = u32::MAX;
/// Bytes read from a segment at once.
const CHUNK: usize = 1 << 20;

/// Body length of a record.
pub(super) fn body_len(key: Option<&[u8]>, payload: &[u8]) -> usize {
    BODY_FIXED + key.map_or(0, <[u8]>::len) + payload.len()
}

/// Replaces `out` with the record; the caller checked `body_len <= MAX_BODY`.
pub(super) fn encode(out: &mut Vec<u8>, seq: u64, key: Option<&[u8]>, payload: &[u8]) {
    let body = body_len(key, payload);
    debug_assert!(body <= MAX_BODY);
    out.clear();
    out.reserve(HEADER_LEN + body);
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&(body as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&seq.to_le_bytes());
    let key_len = key.map_or(NO_KEY, |key| key.len() as u32);
    out.extend_from_slice(&key_len.to_le_bytes());
    out.extend_from_slice(key.unwrap_or_default());
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out[HEADER_LEN..]);
    out[8..12].copy_from_slice(&crc.to_le_bytes());
}

/// A record read back, borrowing the scanner's buffer.
#[derive(Debug)]
pub(super) struct Frame<'a> {
    pub(super) seq: u64,
    pub(super) key: Option<&'a [u8]>,
    pub(super) payload: &'a [u8],
    /// Offset just past the record.
    pub(super) end: u64,
}

/// Body length from a header, or why these bytes cannot start a record.
fn parse_header(header: &[u8]) -> Result<(usize, u32), String> {
    let word = |i: usize| u32::from_le_bytes(header[i..i + 4].try_into().expect("4 bytes"));
    let magic = word(0);
    if magic != MAGIC {
        return Err(format!("bad magic {magic:#010x}"));
    }
    let len = word(4) as usize;
    if !(BODY_FIXED..=MAX_BODY).contains(&len) {
        return Err(format!("absurd body length {len}"));
    }
    Ok((len, word(8)))
}

fn parse_body(body: &[u8], crc: u32, end: u64) -> Result<Frame<'_>, String> {
    if crc32fast::hash(body) != crc {
        return Err("CRC mismatch".into());
    }
    let seq = u64::from_le_bytes(body[..8].try_into().expect("8 bytes"));
    let key_len = u32::from_le_bytes(body[8..12].try_into().expect("4 bytes"));
    let rest = &body[BODY_FIXED..];
    let (key, payload) = match key_len {
        NO_KEY => (None, rest),
        n if n as usize <= rest.len() => {
            let (key, payload) = rest.split_at(n as usize);
            (Some(key), payload)
        }
        n => return Err(format!("key length {n} beyond the body")),
    };
    Ok(Frame {
        seq,
        key,
        payload,
        end,
    })
}

/// Reads records of one segment file, up to a limit, through a buffer.
#[derive(Debug)]
pub(super) struct Scanner {
    file: File,
    limit: u64,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    start: u64,
}

impl Scanner {
    /// Reads `file` up to `limit` bytes.
    pub(super) fn new(file: File, limit: u64) -> Self {
        Scanner {
            file,
            limit,
            buf: Vec::new(),
            start: 0,
        }
    }

    /// Bytes below `limit` never change: the buffer stays valid.
    pub(super) fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// `n` bytes at `pos`, or `None` when they go past the limit.
    fn bytes(&mut self, pos: u64, n: usize) -> io::Result<Option<&[u8]>> {
        let Some(end) = pos.checked_add(n as u64).filter(|&end| end <= self.limit) else {
            return Ok(None);
        };
        let buf_end = self.start + self.buf.len() as u64;
        if pos < self.start || end > buf_end {
            let want = (n.max(CHUNK) as u64).min(self.limit - pos) as usize;
            self.buf.resize(want, 0);
            self.start = pos;
            self.file.seek(SeekFrom::Start(pos))?;
            if let Err(error) = self.file.read_exact(&mut self.buf) {
                self.buf.clear();
                return Err(error);
            }
        }
        let from = (pos - self.start) as usize;
        Ok(Some(&self.buf[from..from + n]))
    }

    /// The record at `pos`, or why there is none.
    pub(super) fn frame(&mut self, pos: u64) -> io::Result<Result<Frame<'_>, String>> {
        let left = self.limit.saturating_sub(pos);
        let Some(header) = self.bytes(pos, HEADER_LEN)? else {
            return Ok(Err(format!("short read: {left} bytes, less than a header")));
        };
        let (len, crc) = match parse_header(header) {
            Ok(parsed) => parsed,
            Err(reason) => return Ok(Err(reason)),
        };
        let total = HEADER_LEN + len;
        let Some(record) = self.bytes(pos, total)? else {
            return Ok(Err(format!(
                "short read: the record needs {total} bytes, {left} left"
            )));
        };
        Ok(parse_body(&record[HEADER_LEN..], crc, pos + total as u64))
    }

    /// The first offset from `from` on where a valid record starts.
    pub(super) fn resync(&mut self, from: u64) -> io::Result<Option<u64>> {
        let magic = MAGIC.to_le_bytes();
        let mut pos = from;
        loop {
            match self.bytes(pos, magic.len())? {
                None => return Ok(None),
                Some(bytes) if bytes != magic => {}
                Some(_) => {
                    if self.frame(pos)?.is_ok() {
                        return Ok(Some(pos));
                    }
                }
            }
            pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_and_any_flipped_bit_is_caught() {
        let mut bytes = Vec::new();
        encode(&mut bytes, 7, Some(b"key"), b"payload");
        assert_eq!(bytes.len(), HEADER_LEN + body_len(Some(b"key"), b"payload"));
        let (len, crc) = parse_header(&bytes[..HEADER_LEN]).unwrap();
        let frame = parse_body(&bytes[HEADER_LEN..HEADER_LEN + len], crc, 0).unwrap();
        assert_eq!(
            (frame.seq, frame.key, frame.payload),
            (7, Some(&b"key"[..]), &b"payload"[..])
        );
        for bit in 0..bytes.len() * 8 {
            let mut bad = bytes.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let read = parse_header(&bad[..HEADER_LEN]).and_then(|(len, crc)| {
                let body = bad.get(HEADER_LEN..HEADER_LEN + len).ok_or("short")?;
                parse_body(body, crc, 0).map(|_| ())
            });
            assert!(read.is_err(), "bit {bit} flipped went unnoticed");
        }
    }

    #[test]
    fn no_key_and_empty_key_differ() {
        let mut none = Vec::new();
        let mut empty = Vec::new();
        encode(&mut none, 1, None, b"p");
        encode(&mut empty, 1, Some(b""), b"p");
        let key = |bytes: &[u8]| {
            let (len, crc) = parse_header(&bytes[..HEADER_LEN]).unwrap();
            parse_body(&bytes[HEADER_LEN..HEADER_LEN + len], crc, 0)
                .unwrap()
                .key
                .map(<[u8]>::to_vec)
        };
        assert_eq!(key(&none), None);
        assert_eq!(key(&empty), Some(Vec::new()));
    }
}
