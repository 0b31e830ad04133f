//! `auditlog publish`'s input: stdin read on a thread of its own in
//! batches of whole lines, handed over as raw bytes and cut into lines by
//! the publishing thread.

use std::io::{self, BufRead, Read};
use std::sync::mpsc::SyncSender;

use crate::lines::{read_line, MAX_LINE_BYTES};

/// Input lines as read: `text` holds whole lines (the last one of the
/// input may lack its `\n`), the first of them numbered `first`.
pub(crate) struct Lines {
    pub(crate) first: u64,
    pub(crate) text: Vec<u8>,
    /// Lines longer than [`MAX_LINE_BYTES`], skipped as they were read (an
    /// empty line stands in `text` for each): their numbers and lengths.
    pub(crate) too_long: Vec<(u64, usize)>,
}

/// Lines per batch, at most.
const BATCH: u64 = 1024;
/// Bytes of input per batch, at most (past one line): with the channel's
/// few batches, what is read ahead stays a few MiB whatever the line size.
const BATCH_BYTES: usize = 1 << 20;

/// Reads the lines of `input`, numbered from 1, in batches of
/// [`BATCH`] lines or [`BATCH_BYTES`], or fewer at the end of input.
///
/// A batch waits for its lines: a live stream slower than a batch per
/// moment is published a batch at a time. Sending whatever one read
/// brings instead was measured: for input arriving at 33,000 lines/s
/// through a pipe it cost 8.6 µs more CPU per event (a hand-over and a
/// wake-up per few lines), against nothing gained on a file.
pub(crate) fn read_lines(input: impl Read, out: SyncSender<Lines>) -> io::Result<()> {
    let mut input = io::BufReader::with_capacity(1 << 16, input);
    let mut first = 1u64;
    loop {
        let mut text = Vec::with_capacity(BATCH_BYTES + (64 << 10));
        let mut too_long = Vec::new();
        let mut lines = 0u64;
        while lines < BATCH && text.len() < BATCH_BYTES {
            // Never more of one line than the longest kept, however long
            // a hostile file makes it: the rest is skipped, only counted.
            let start = text.len();
            let limit = MAX_LINE_BYTES as u64 + 1;
            let read = (&mut input).take(limit).read_until(b'\n', &mut text)?;
            if read == 0 {
                break;
            }
            if read as u64 == limit && text.last() != Some(&b'\n') {
                let rest = read_line(&mut input, &mut Vec::new(), 0)?.unwrap_or(0);
                text.truncate(start);
                text.push(b'\n');
                too_long.push((first + lines, read + rest));
            }
            lines += 1;
        }
        let batch = Lines {
            first,
            text,
            too_long,
        };
        if lines == 0 || out.send(batch).is_err() {
            return Ok(());
        }
        first += lines;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::split_lines;
    use std::sync::mpsc;

    /// Every line of `input` read through `read_lines`, numbered.
    fn read_all(input: impl Read + Send + 'static) -> Vec<(u64, String)> {
        let (sender, receiver) = mpsc::sync_channel(16);
        let reader = std::thread::spawn(move || read_lines(input, sender));
        let mut seen = Vec::new();
        for Lines { first, text, .. } in receiver {
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
    fn a_line_past_the_limit_is_skipped_counted_and_not_kept() {
        let long = MAX_LINE_BYTES + 5;
        for (ending, tail) in [("\n", "after\n"), ("", "")] {
            let mut input = b"first\n".to_vec();
            input.extend(std::iter::repeat_n(b'x', long));
            input.extend_from_slice(ending.as_bytes());
            input.extend_from_slice(tail.as_bytes());
            let (sender, receiver) = mpsc::sync_channel(16);
            read_lines(io::Cursor::new(input), sender).unwrap();
            let batches: Vec<Lines> = receiver.into_iter().collect();
            assert_eq!(batches.len(), 1);
            let batch = &batches[0];
            // The long line's place holds an empty line, so numbers hold.
            let expected = format!("first\n\n{tail}");
            assert_eq!(String::from_utf8_lossy(&batch.text), expected);
            assert_eq!(batch.too_long, [(2, long)]);
        }
        // A line exactly at the limit is kept whole.
        let mut input = vec![b'y'; MAX_LINE_BYTES];
        input.push(b'\n');
        let (sender, receiver) = mpsc::sync_channel(16);
        read_lines(io::Cursor::new(input.clone()), sender).unwrap();
        let batch = receiver.recv().unwrap();
        assert_eq!(batch.text, input);
        assert!(batch.too_long.is_empty());
    }

    #[test]
    fn batches_of_lines_keep_every_line_and_its_number() {
        // Past one batch, a blank line and a last line without its newline.
        let count = 200_000;
        let mut input: String = (1..=count).map(|n| format!("{n}\n")).collect();
        input.push_str("\nlast");
        assert!(input.len() > BATCH_BYTES);
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
}
