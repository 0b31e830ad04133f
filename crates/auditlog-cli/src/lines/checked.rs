//! The JSON-lines loop for work whose results must be taken in input order
//! (`verify --chain`): each line checked on its own in parallel batches on
//! all cores, then the results handed over one by one, in order, on this
//! thread.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::thread;

use super::{decode_within, split_lines, too_long, Batch, BatchReader, Pool};

/// Calls `check` on each non-blank line of `input`, in parallel batches, and
/// `record` with each line's number and result in input order; the result
/// is an error message when the line is not UTF-8 or is longer than
/// `max_line` bytes (skipped without being held in memory). Line numbers
/// start after `first`; returns the number of the last line read.
pub(crate) fn for_each_line_checked<T, C, R>(
    input: impl Read,
    first: u64,
    max_line: usize,
    check: C,
    mut record: R,
) -> io::Result<u64>
where
    T: Send,
    C: Fn(&str) -> T + Sync,
    R: FnMut(u64, Result<T, String>),
{
    let workers = thread::available_parallelism().map_or(1, |n| n.get());
    let mut reader = BatchReader {
        input,
        carry: Vec::new(),
        next_line: first + 1,
        eof: false,
        max_line,
    };
    let mut last = first;
    let work = |(batch, lines): (Batch, Lines<T>)| check_batch(&batch, lines, max_line, &check);
    thread::scope(|scope| {
        let pool = Pool::start(scope, workers, &work);
        // Result lists go back to the workers, emptied, with a later round.
        let mut spare: Vec<Lines<T>> = Vec::new();
        let submit = |batches: Vec<Batch>, spare: &mut Vec<Lines<T>>| {
            let round = batches
                .into_iter()
                .map(|batch| (batch, spare.pop().unwrap_or_default()));
            pool.submit(round)
        };
        // How many batches each round in flight holds, oldest first. With
        // two rounds in flight a worker that ends its batch starts its next
        // one at once, instead of waiting for the slowest batch of its
        // round and for this thread to read and hand out the next round.
        let mut in_flight: VecDeque<usize> = VecDeque::with_capacity(ROUNDS_IN_FLIGHT);
        let mut more = true;
        while more && in_flight.len() < ROUNDS_IN_FLIGHT {
            let batches = reader.next_round(pool.workers())?;
            more = !batches.is_empty();
            if more {
                in_flight.push_back(submit(batches, &mut spare));
            }
        }
        while let Some(sent) = in_flight.pop_front() {
            let round = pool.collect(sent);
            if more {
                let batches = reader.next_round(pool.workers())?;
                more = !batches.is_empty();
                if more {
                    in_flight.push_back(submit(batches, &mut spare));
                }
            }
            // Recorded while the workers check the rounds still in flight.
            for mut batch in round {
                last = last.max(batch.last);
                for (number, result) in batch.lines.drain(..) {
                    record(number, result);
                }
                spare.push(batch.lines);
            }
        }
        Ok(last)
    })
}

/// Rounds of batches handed to the workers and not yet taken back.
const ROUNDS_IN_FLIGHT: usize = 2;

/// Line numbers and results of one batch.
type Lines<T> = Vec<(u64, Result<T, String>)>;

/// One batch's results in input order, and the number of its last line
/// (blank ones included).
struct CheckedBatch<T> {
    lines: Lines<T>,
    last: u64,
}

/// Checks the lines of `batch` into `lines` (empty).
fn check_batch<T>(
    batch: &Batch,
    mut lines: Lines<T>,
    max_line: usize,
    check: &impl Fn(&str) -> T,
) -> CheckedBatch<T> {
    if let Some(length) = batch.skipped {
        lines.push((batch.first, Err(too_long(length, max_line))));
        return CheckedBatch {
            lines,
            last: batch.first,
        };
    }
    let mut checked = CheckedBatch {
        lines,
        last: batch.first,
    };
    for (number, raw) in (batch.first..).zip(split_lines(&batch.bytes)) {
        checked.last = number;
        let result = match decode_within(raw, max_line) {
            None => continue,
            Some(Ok(line)) => Ok(check(line)),
            Some(Err(message)) => Err(message),
        };
        checked.lines.push((number, result));
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;

    type Seen = Vec<(u64, Result<String, String>)>;

    fn run(input: &[u8], first: u64, max_line: usize) -> (Seen, u64) {
        let mut seen = Vec::new();
        let last = for_each_line_checked(
            input,
            first,
            max_line,
            |line| line.to_uppercase(),
            |number, result| seen.push((number, result)),
        )
        .unwrap();
        (seen, last)
    }

    #[test]
    fn results_come_in_input_order_with_their_numbers() {
        let (seen, last) = run(b"a\n\nb\r\n\xffc\nd", 10, 100);
        assert_eq!(seen.len(), 4);
        assert_eq!(seen[0], (11, Ok("A".into())));
        assert_eq!(seen[1], (13, Ok("B".into())));
        assert_eq!(seen[2].0, 14);
        assert!(seen[2].1.as_ref().unwrap_err().contains("UTF-8"));
        assert_eq!(seen[3], (15, Ok("D".into())));
        assert_eq!(last, 15);
        // Blank lines at the end are counted, for the next file's numbers.
        assert_eq!(run(b"a\n\n\n", 0, 100).1, 3);
        assert_eq!(run(b"", 7, 100), (Vec::new(), 7));
    }

    #[test]
    fn many_batches_keep_input_order() {
        let lines = 3 * BATCH_BYTES_FOR_TESTS / 16;
        let input: String = (0..lines).map(|i| format!("line-{i:09}\n")).collect();
        let (seen, last) = run(input.as_bytes(), 0, 100);
        assert_eq!(last, lines as u64);
        assert_eq!(seen.len(), lines);
        for (i, (number, result)) in seen.iter().enumerate() {
            assert_eq!(*number, i as u64 + 1);
            assert_eq!(result.as_deref(), Ok(format!("LINE-{i:09}").as_str()));
        }
    }

    #[test]
    fn a_line_too_long_is_an_error_and_the_rest_go_on() {
        let long = "x".repeat(50);
        let input = format!("a\n{long}\nb\n");
        let (seen, last) = run(input.as_bytes(), 0, 10);
        assert_eq!(seen[0], (1, Ok("A".into())));
        assert_eq!(seen[1].0, 2);
        assert!(seen[1].1.as_ref().unwrap_err().contains("longer than 10"));
        assert_eq!(seen[2], (3, Ok("B".into())));
        assert_eq!(last, 3);
    }

    /// Gives its bytes a few at a time, interrupted now and then, then
    /// fails (when `fail_at` is inside the input) or ends.
    struct Trickle<'a> {
        bytes: &'a [u8],
        at: usize,
        calls: usize,
        fail_at: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(7) {
                return Err(io::ErrorKind::Interrupted.into());
            }
            if self.at >= self.fail_at {
                return Err(io::Error::other("disk gone"));
            }
            let n = buf
                .len()
                .min(1 + self.calls % 4093)
                .min(self.bytes.len() - self.at);
            let n = n.min(self.fail_at - self.at);
            buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn numbered(lines: usize) -> String {
        (0..lines).map(|i| format!("line-{i:09}\n")).collect()
    }

    #[test]
    fn rounds_in_flight_keep_input_order_over_short_and_interrupted_reads() {
        // Nine batches: rounds of two workers, the last one short.
        let lines = 9 * BATCH_BYTES_FOR_TESTS / 16 + 5;
        let input = numbered(lines);
        let reader = Trickle {
            bytes: input.as_bytes(),
            at: 0,
            calls: 0,
            fail_at: usize::MAX,
        };
        let mut seen = Vec::new();
        // Lines of the first batch take longer: later batches are done first.
        let check = |line: &str| {
            if line < "line-000001000" {
                (0..50).for_each(|_| thread::yield_now());
            }
            line.to_uppercase()
        };
        let last = for_each_line_checked(reader, 0, 100, check, |number, result| {
            seen.push((number, result));
        })
        .unwrap();
        assert_eq!(last, lines as u64);
        assert_eq!(seen.len(), lines);
        for (i, (number, result)) in seen.iter().enumerate() {
            assert_eq!(*number, i as u64 + 1);
            assert_eq!(result.as_deref(), Ok(format!("LINE-{i:09}").as_str()));
        }
    }

    #[test]
    fn a_read_error_ends_the_run() {
        let lines = 6 * BATCH_BYTES_FOR_TESTS / 16;
        let input = numbered(lines);
        let reader = Trickle {
            bytes: input.as_bytes(),
            at: 0,
            calls: 0,
            fail_at: 4 * BATCH_BYTES_FOR_TESTS + 3,
        };
        let mut seen = Vec::new();
        let error = for_each_line_checked(reader, 0, 100, str::to_owned, |number, result| {
            seen.push((number, result));
        })
        .unwrap_err();
        assert_eq!(error.to_string(), "disk gone");
        // Whatever was recorded before it is the input's first lines, in
        // order (the run fails as a whole: `verify --chain` exits 2).
        assert!(seen.len() < lines);
        for (i, (number, result)) in seen.iter().enumerate() {
            assert_eq!(*number, i as u64 + 1);
            assert_eq!(result.as_deref(), Ok(format!("line-{i:09}").as_str()));
        }
    }

    const BATCH_BYTES_FOR_TESTS: usize = super::super::BATCH_BYTES;
}
