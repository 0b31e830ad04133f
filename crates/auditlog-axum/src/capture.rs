//! Copies of bodies (up to the cap) as they stream through, with their
//! length, content type and, past the cap, a running SHA-256.

use std::io::IoSlice;

use bytes::Buf;
use http::{header, HeaderMap};
use sha2::{Digest, Sha256};

/// The `Content-Type` of a request or response, when it is text.
pub(crate) fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::CONTENT_TYPE)?.to_str().ok()
}

/// The first `cap` bytes of a body, and how many passed in all.
#[derive(Debug)]
pub(crate) struct Capture {
    bytes: Vec<u8>,
    cap: usize,
    total: u64,
    truncated: bool,
    content_type: Option<String>,
    /// Running over every byte once the body outgrew the cap (or from the
    /// start for a body that is never stored); `None` while the copy holds
    /// the whole body, which is then hashed off the request path.
    hasher: Option<Sha256>,
    /// Whether the hasher saw every byte (see [`for_each_chunk`]).
    hashed_all: bool,
}

impl Capture {
    /// A capture of up to `cap` bytes of a body of `content_type` (its
    /// media type, lower-case, parameters dropped). Multipart bodies are
    /// never stored: only hashed.
    pub(crate) fn new(cap: usize, content_type: Option<&str>) -> Self {
        let content_type = content_type.map(media_type);
        let stored = !content_type.as_deref().is_some_and(is_multipart);
        Capture {
            bytes: Vec::new(),
            cap: if stored { cap } else { 0 },
            total: 0,
            truncated: false,
            content_type,
            hasher: (!stored).then(Sha256::new),
            hashed_all: true,
        }
    }

    /// Copies what fits of `data` without consuming it.
    pub(crate) fn copy_from<D: Buf>(&mut self, data: &D) {
        let remaining = data.remaining();
        self.total += remaining as u64;
        let room = self.cap - self.bytes.len();
        if remaining > room {
            self.truncated = true;
            if self.hasher.is_none() {
                self.hasher = Some(Sha256::new_with_prefix(&self.bytes));
            }
        }
        if let Some(hasher) = &mut self.hasher {
            self.hashed_all &= for_each_chunk(data, |chunk| hasher.update(chunk));
        }
        if room == 0 || remaining == 0 {
            return;
        }
        let mut copied = 0;
        let whole = for_each_chunk(data, |chunk| {
            let take = chunk.len().min(room - copied);
            self.bytes.extend_from_slice(&chunk[..take]);
            copied += take;
        });
        if !whole && copied < remaining.min(room) {
            // More fragments than we look at: what we have is a prefix.
            self.truncated = true;
        }
    }

    pub(crate) fn finish(self) -> Captured {
        Captured {
            bytes: self.bytes,
            truncated: self.truncated,
            total: self.total,
            content_type: self.content_type,
            hasher: self.hasher,
            hashed_all: self.hashed_all,
        }
    }
}

/// Calls `f` with each chunk of `data` in order, up to 64 fragments;
/// returns whether those were all of it.
fn for_each_chunk<D: Buf>(data: &D, mut f: impl FnMut(&[u8])) -> bool {
    let remaining = data.remaining();
    let chunk = data.chunk();
    if chunk.len() >= remaining {
        f(&chunk[..remaining]);
        return true;
    }
    let mut slices = [IoSlice::new(&[]); 64];
    let count = data.chunks_vectored(&mut slices);
    let mut seen = 0;
    for slice in &slices[..count] {
        f(slice);
        seen += slice.len();
    }
    seen == remaining
}

/// `Multipart/Form-Data; boundary=x` → `multipart/form-data`.
fn media_type(content_type: &str) -> String {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    // Client text: bounded, and only what a media type is made of.
    essence
        .chars()
        .take(100)
        .filter(|c| c.is_ascii_graphic())
        .collect::<String>()
        .to_ascii_lowercase()
}

fn is_multipart(media_type: &str) -> bool {
    media_type.starts_with("multipart/")
}

/// A finished capture, turned into a payload off the request path.
#[derive(Debug, Default)]
pub(crate) struct Captured {
    pub(crate) bytes: Vec<u8>,
    pub(crate) truncated: bool,
    /// Bytes that passed in all.
    pub(crate) total: u64,
    pub(crate) content_type: Option<String>,
    hasher: Option<Sha256>,
    hashed_all: bool,
}

impl Captured {
    /// Whether the body is multipart (never stored).
    pub(crate) fn is_multipart(&self) -> bool {
        self.content_type.as_deref().is_some_and(is_multipart)
    }

    /// The SHA-256 of the whole body in lower-case hex, when every byte was
    /// seen.
    pub(crate) fn sha256(&self) -> Option<String> {
        let digest = match &self.hasher {
            Some(hasher) => self.hashed_all.then(|| hasher.clone().finalize())?,
            None => Sha256::digest(&self.bytes),
        };
        Some(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    const HELLO_SHA256: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn fragmented_buffers_are_copied_in_order() {
        let data = Bytes::from_static(b"abc").chain(Bytes::from_static(b"defg"));
        let mut capture = Capture::new(5, None);
        capture.copy_from(&data);
        let captured = capture.finish();
        assert_eq!(captured.bytes, b"abcde");
        assert!(captured.truncated);
        assert_eq!(captured.total, 7);
    }

    #[test]
    fn the_digest_covers_the_whole_body_past_the_cap() {
        let mut capture = Capture::new(2, Some("Text/Plain; charset=utf-8"));
        capture.copy_from(&Bytes::from_static(b"hel"));
        capture.copy_from(&Bytes::from_static(b"lo"));
        let captured = capture.finish();
        assert_eq!((captured.bytes.as_slice(), captured.total), (&b"he"[..], 5));
        assert_eq!(captured.content_type.as_deref(), Some("text/plain"));
        assert_eq!(captured.sha256().as_deref(), Some(HELLO_SHA256));

        let mut capture = Capture::new(64, None);
        capture.copy_from(&Bytes::from_static(b"hello"));
        assert_eq!(capture.finish().sha256().as_deref(), Some(HELLO_SHA256));
    }

    #[test]
    fn multipart_bodies_are_hashed_never_stored() {
        let mut capture = Capture::new(64, Some("multipart/form-data; boundary=x"));
        capture.copy_from(&Bytes::from_static(b"hello"));
        let captured = capture.finish();
        assert!(captured.is_multipart());
        assert!(captured.bytes.is_empty());
        assert_eq!(captured.sha256().as_deref(), Some(HELLO_SHA256));
    }
}
