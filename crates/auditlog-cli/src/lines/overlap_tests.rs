//! `process` hands the next round to the workers before it writes this
//! one's output: a failing reader or writer must still end the run with its
//! error, what was written a prefix of the output in order, and the workers
//! must not run more than that one round ahead of what was written.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use super::tests::echo_except_bad;
use super::{process, BATCH_BYTES, MAX_LINE_BYTES};

/// Takes `room` bytes, then fails every write.
struct FullDisk {
    written: Vec<u8>,
    room: usize,
}

impl Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(self.room - self.written.len());
        if n == 0 {
            return Err(io::Error::other("no space left"));
        }
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_write_error_ends_the_run_with_the_next_round_at_most_done_ahead() {
    let workers = 2;
    // Twelve batches: six rounds of two.
    let lines: Vec<String> = (1..=12 * BATCH_BYTES / 9)
        .map(|i| format!("{i:08}"))
        .collect();
    let input = lines.join("\n") + "\n";
    let handled = AtomicU64::new(0);
    let echo = |_number: u64, line: &str, out: &mut Vec<u8>| -> Result<(), String> {
        handled.fetch_add(1, Ordering::Relaxed);
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
        Ok(())
    };
    // Room for a round and a half: the second round's writing fails.
    let room = 3 * BATCH_BYTES;
    let mut out = FullDisk {
        written: Vec::new(),
        room,
    };
    let error = process(input.as_bytes(), &mut out, workers, MAX_LINE_BYTES, &echo).unwrap_err();
    assert_eq!(error.to_string(), "no space left");
    assert_eq!(out.written.len(), room);
    assert!(input.as_bytes().starts_with(&out.written));
    // Two rounds were written (the second in part) and the third handed
    // out before the second's writing: nothing of the rounds after it.
    let handled = handled.into_inner();
    let per_round = (workers * BATCH_BYTES / 9) as u64;
    assert!(handled > 2 * per_round - 10, "{handled}");
    assert!(handled <= 3 * per_round + 10, "{handled}");
}

/// Gives `good` bytes, then fails every read.
struct FailingAfter<'a> {
    good: &'a [u8],
}

impl Read for FailingAfter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.good.is_empty() {
            return Err(io::Error::other("the disk went away"));
        }
        let n = self.good.len().min(buf.len());
        buf[..n].copy_from_slice(&self.good[..n]);
        self.good = &self.good[n..];
        Ok(n)
    }
}

#[test]
fn a_read_error_ends_the_run_after_the_rounds_read_before_it_are_written() {
    // Eight batches of lines read fine, then the input fails. The
    // workers overlap the next round with the writing of this one: the
    // rounds read before the failing one are all written, whole lines
    // in order, and the run ends with the error. (The round the error
    // cut short is not processed: the run failed, exit 2.)
    let lines: Vec<String> = (1..=8 * BATCH_BYTES / 9)
        .map(|i| format!("{i:08}"))
        .collect();
    let good = lines.join("\n") + "\n";
    let mut out = Vec::new();
    let error = process(
        FailingAfter {
            good: good.as_bytes(),
        },
        &mut out,
        2,
        MAX_LINE_BYTES,
        &echo_except_bad,
    )
    .unwrap_err();
    assert_eq!(error.to_string(), "the disk went away");
    assert!(good.as_bytes().starts_with(&out));
    assert_eq!(out.last(), Some(&b'\n'));
    // At most the failing round (two batches) and the line it split.
    assert!(
        out.len() + 2 * BATCH_BYTES + 9 >= good.len(),
        "{}",
        out.len()
    );
}
