//! [`InlineText`]: text kept inside its owner up to [`INLINE`] bytes, on
//! the heap beyond. What the request path writes for the background task
//! then needs no allocation in the common case: an allocation made on the
//! request's thread and freed on the background task's costs glibc's
//! allocator on both sides (see docs/performance.md, "CPU per request").

use std::fmt;

/// Bytes held without allocating: a route, a method, a resource, an IPv6
/// address and a short user agent.
pub(crate) const INLINE: usize = 160;

/// Appendable text, inline up to [`INLINE`] bytes.
pub(crate) struct InlineText {
    inline: [u8; INLINE],
    len: usize,
    /// Everything, once it outgrew `inline` (which is then unused).
    heap: Option<String>,
}

impl fmt::Debug for InlineText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("InlineText").field(&self.as_str()).finish()
    }
}

impl Default for InlineText {
    fn default() -> Self {
        InlineText {
            inline: [0; INLINE],
            len: 0,
            heap: None,
        }
    }
}

impl InlineText {
    /// Empty; on the heap from the start when `bytes` will not fit inline.
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        InlineText {
            heap: (bytes > INLINE).then(|| String::with_capacity(bytes)),
            ..InlineText::default()
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.as_ref().map_or(self.len, String::len)
    }

    pub(crate) fn push_str(&mut self, text: &str) {
        if let Some(heap) = &mut self.heap {
            heap.push_str(text);
        } else if let Some(room) = self.inline.get_mut(self.len..self.len + text.len()) {
            room.copy_from_slice(text.as_bytes());
            self.len += text.len();
        } else {
            let mut heap = String::with_capacity(self.len + text.len());
            heap.push_str(self.inline_str());
            heap.push_str(text);
            self.heap = Some(heap);
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match &self.heap {
            Some(heap) => heap,
            None => self.inline_str(),
        }
    }

    fn inline_str(&self) -> &str {
        // Only whole `str`s are ever appended: always valid.
        std::str::from_utf8(&self.inline[..self.len]).unwrap_or_default()
    }

    /// Bytes allocated on the heap (none while inline).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.heap.as_ref().map_or(0, String::capacity)
    }
}

impl fmt::Write for InlineText {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.push_str(text);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;

    use super::*;

    #[test]
    fn text_reads_back_the_same_inline_across_the_spill_and_on_the_heap() {
        let mut text = InlineText::with_capacity(8);
        let mut expected = String::new();
        let piece = "héllo/{id} ";
        while expected.len() <= 3 * INLINE {
            text.push_str(piece);
            expected.push_str(piece);
            assert_eq!(text.as_str(), expected);
            assert_eq!(text.len(), expected.len());
            assert_eq!(text.heap_bytes() > 0, expected.len() > INLINE);
        }
        write!(text, "{}", std::net::Ipv6Addr::LOCALHOST).unwrap();
        expected.push_str("::1");
        assert_eq!(text.as_str(), expected);
    }

    #[test]
    fn characters_straddling_the_inline_limit_stay_whole() {
        for before in INLINE - 8..=INLINE + 2 {
            for character in ["é", "€", "😀", "\u{2028}"] {
                for capacity in [0, before, INLINE, INLINE + 1] {
                    let mut text = InlineText::with_capacity(capacity);
                    let head = "a".repeat(before);
                    text.push_str(&head);
                    text.push_str(character);
                    text.push_str("z");
                    let expected = format!("{head}{character}z");
                    assert_eq!(text.as_str(), expected, "{before} + {character:?}");
                    assert_eq!(text.len(), expected.len());
                    assert_eq!(
                        text.heap_bytes() > 0,
                        expected.len() > INLINE || capacity > INLINE
                    );
                }
            }
        }
    }

    #[test]
    fn text_known_to_be_long_goes_to_the_heap_at_once() {
        let mut text = InlineText::with_capacity(INLINE + 1);
        assert!(text.heap_bytes() > INLINE);
        text.push_str("GET");
        assert_eq!(text.as_str(), "GET");
        assert_eq!(InlineText::default().as_str(), "");
    }
}
