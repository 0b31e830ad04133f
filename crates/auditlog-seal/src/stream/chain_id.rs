//! A chain's id as a checked line carries it to the recording thread:
//! inline when short, as nearly every id is, so a line checked on one
//! thread allocates nothing that the recording thread must free.

/// The longest id kept inline: a UUID with a prefix of up to ten bytes.
const INLINE: usize = 46;

/// A chain id, inline up to [`INLINE`] bytes, else on the heap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ChainId {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(String),
}

impl ChainId {
    pub(super) fn new(id: &str) -> Self {
        match u8::try_from(id.len()) {
            Ok(len) if id.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..id.len()].copy_from_slice(id.as_bytes());
                ChainId::Inline { len, bytes }
            }
            _ => ChainId::Heap(id.to_owned()),
        }
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        match self {
            ChainId::Inline { len, bytes } => &bytes[..usize::from(*len)],
            ChainId::Heap(id) => id.as_bytes(),
        }
    }

    /// The id as text, for a map key or the report.
    pub(super) fn into_string(self) -> String {
        match self {
            ChainId::Inline { .. } => String::from_utf8(self.as_bytes().to_vec())
                .expect("an inline id is copied from a str whole"),
            ChainId::Heap(id) => id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_of_any_length_comes_back_whole() {
        for len in [0, 1, INLINE - 1, INLINE, INLINE + 1, 128, 300] {
            let id: String = "aé-".chars().cycle().take(len).collect();
            let chain = ChainId::new(&id);
            assert_eq!(chain.as_bytes(), id.as_bytes(), "length {len}");
            assert_eq!(
                matches!(chain, ChainId::Inline { .. }),
                id.len() <= INLINE,
                "length {len}"
            );
            assert_eq!(chain.into_string(), id);
        }
    }

    #[test]
    fn ids_are_equal_by_their_bytes_only() {
        assert_eq!(ChainId::new("orders"), ChainId::new("orders"));
        assert_ne!(ChainId::new("orders"), ChainId::new("orders-2"));
        // Trailing zero bytes in the buffer are not part of the id.
        assert_ne!(ChainId::new("a"), ChainId::new("a\0"));
        assert_ne!(ChainId::new(""), ChainId::new("\0"));
    }
}
