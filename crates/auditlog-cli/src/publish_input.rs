//! `auditlog publish`'s input: stdin read on a thread of its own in
//! batches of whole lines, handed over as raw bytes and cut into lines by
//! the publishing thread.

use std::io::{self, Read};
use std::sync::mpsc::SyncSender;

/// Input lines as read: `text` holds whole lines (the last one of the
/// input may lack its `\n`), the first of them numbered `first`.
pub(crate) struct Lines {
    pub(crate) first: u64,
    pub(crate) text: Vec<u8>,
}

/// Bytes asked of one `read`: a batch is what one read brings, up to its
/// last line break, so with the channel's few batches what is read ahead
/// stays a few MiB (past the longest line).
const READ_BYTES: usize = 1 << 20;

/// The lines of `text`, each with its `\n` (the last one may lack it), as
/// `split_inclusive` would cut them but with `memchr`'s search: a
/// byte-by-byte search was 6 % of `publish`'s CPU.
pub(crate) fn split_lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let unterminated = (!text.is_empty() && !text.ends_with(b"\n")).then_some(text.len());
    let mut start = 0;
    memchr::memchr_iter(b'\n', text)
        .map(|at| at + 1)
        .chain(unterminated)
        .map(move |end| {
            let line = &text[start..end];
            start = end;
            line
        })
}

/// Reads the lines of `input`, numbered from 1, in batches, until the end
/// of input or until `out` is gone. A batch goes as soon as a read brings
/// at least one whole line: the lines of a live stream are published as
/// they come, never held back for more. Each read is searched once for
/// its last line break, not line by line.
pub(crate) fn read_lines(mut input: impl Read, out: SyncSender<Lines>) -> io::Result<()> {
    let mut chunk = vec![0; READ_BYTES];
    let mut first = 1u64;
    // A line begun and not ended yet (it grows as long as the line).
    let mut partial = Vec::new();
    loop {
        let read = match input.read(&mut chunk) {
            Ok(0) => {
                // The last line, without its `\n`.
                if !partial.is_empty() {
                    let _ = out.send(Lines {
                        first,
                        text: partial,
                    });
                }
                return Ok(());
            }
            Ok(read) => &chunk[..read],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let Some(last_break) = memchr::memrchr(b'\n', read) else {
            partial.extend_from_slice(read);
            continue;
        };
        let (whole, rest) = read.split_at(last_break + 1);
        let mut text = Vec::with_capacity(partial.len() + whole.len());
        text.extend_from_slice(&partial);
        text.extend_from_slice(whole);
        partial.clear();
        partial.extend_from_slice(rest);
        let lines = memchr::memchr_iter(b'\n', &text).count() as u64;
        if out.send(Lines { first, text }).is_err() {
            return Ok(());
        }
        first += lines;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// Every line of `input` read through `read_lines`, numbered.
    fn read_all(input: impl Read + Send + 'static) -> Vec<(u64, String)> {
        let (sender, receiver) = mpsc::sync_channel(16);
        let reader = std::thread::spawn(move || read_lines(input, sender));
        let mut seen = Vec::new();
        for Lines { first, text } in receiver {
            for (offset, raw) in split_lines(&text).enumerate() {
                let line = String::from_utf8(raw.to_vec()).unwrap();
                seen.push((first + offset as u64, line.trim_end().to_owned()));
            }
        }
        reader.join().unwrap().unwrap();
        seen
    }

    /// Gives what it holds `step` bytes per read: lines cut across reads.
    struct Trickle {
        left: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(self.left.len() - self.at).min(buf.len());
            buf[..n].copy_from_slice(&self.left[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    #[test]
    fn batches_of_lines_keep_every_line_and_its_number() {
        // Past one read, a blank line and a last line without its newline.
        let count = 200_000;
        let mut input: String = (1..=count).map(|n| format!("{n}\n")).collect();
        input.push_str("\nlast");
        assert!(input.len() > READ_BYTES);
        let expected = |seen: &[(u64, String)]| {
            assert_eq!(seen.len(), count + 2);
            for (number, line) in &seen[..count] {
                assert_eq!(line, &number.to_string());
            }
            assert_eq!(seen[count], (count as u64 + 1, String::new()));
            assert_eq!(seen[count + 1], (count as u64 + 2, "last".to_owned()));
        };
        expected(&read_all(io::Cursor::new(input.clone().into_bytes())));
        let short = input[input.len() - 20_000..].to_owned();
        let whole = read_all(io::Cursor::new(short.clone().into_bytes()));
        assert!(whole.len() > 2_000);
        for step in [1, 3, 4096] {
            let trickled = read_all(Trickle {
                left: short.clone().into_bytes(),
                at: 0,
                step,
            });
            assert_eq!(trickled, whole, "{step} bytes per read");
        }
    }

    /// Blocks on each read until the test gives it bytes; the end of input
    /// when the test drops its sender.
    struct Live(mpsc::Receiver<Vec<u8>>);

    impl Read for Live {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Ok(bytes) = self.0.recv() else {
                return Ok(0);
            };
            buf[..bytes.len()].copy_from_slice(&bytes);
            Ok(bytes.len())
        }
    }

    #[test]
    fn a_line_of_a_live_stream_goes_out_without_waiting_for_more() {
        let (feed, input) = mpsc::channel();
        let (sender, batches) = mpsc::sync_channel(4);
        let reader = std::thread::spawn(move || read_lines(Live(input), sender));
        let patience = Duration::from_secs(60);
        feed.send(b"one\ntw".to_vec()).unwrap();
        // The reader is now blocked on its next read: the whole line came.
        let batch = batches.recv_timeout(patience).unwrap();
        assert_eq!((batch.first, batch.text.as_slice()), (1, &b"one\n"[..]));
        feed.send(b"o\n".to_vec()).unwrap();
        let batch = batches.recv_timeout(patience).unwrap();
        assert_eq!((batch.first, batch.text.as_slice()), (2, &b"two\n"[..]));
        feed.send(b"three".to_vec()).unwrap();
        drop(feed);
        let batch = batches.recv_timeout(patience).unwrap();
        assert_eq!((batch.first, batch.text.as_slice()), (3, &b"three"[..]));
        reader.join().unwrap().unwrap();
        assert!(batches.recv().is_err());
    }

    #[test]
    fn lines_are_cut_as_split_inclusive_cuts_them() {
        for text in ["", "\n", "a", "a\n", "a\nb", "a\n\nb\n", "\n\n", "a\r\nb"] {
            let text = text.as_bytes();
            let ours: Vec<&[u8]> = split_lines(text).collect();
            let std: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
            assert_eq!(ours, std, "{:?}", String::from_utf8_lossy(text));
        }
    }
}
