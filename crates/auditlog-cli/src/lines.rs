//! The JSON-lines loop every subcommand shares: one bad line is reported with
//! its number and the rest go on. Lines are processed in parallel batches and
//! written in input order.

use std::io::{self, BufRead, Read, Write};
use std::process::ExitCode;
use std::thread;

use pool::Pool;

mod checked;
mod pool;
mod recycled;

pub(crate) use checked::for_each_line_checked;
pub(crate) use recycled::with_recycled_event;

/// How a run over the input went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) ok: u64,
    pub(crate) failed: u64,
}

impl Tally {
    pub(crate) fn exit_code(self) -> ExitCode {
        if self.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// One raw input line (its `\n` optional) as text: `None` when blank, an
/// error message when not UTF-8. A trailing `\r` is dropped (CRLF files).
pub(crate) fn decode(raw: &[u8]) -> Option<Result<&str, String>> {
    let line = raw.strip_suffix(b"\n").unwrap_or(raw);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match std::str::from_utf8(line) {
        Ok(text) if text.trim_ascii().is_empty() => None,
        Ok(text) => Some(Ok(text)),
        Err(e) => Some(Err(format!(
            "not valid UTF-8 (byte {})",
            e.valid_up_to() + 1
        ))),
    }
}

/// A raw line of a batch as [`decode`] reads it, or an error when it is
/// longer than `max_line` bytes (its line end not counted).
fn decode_within(raw: &[u8], max_line: usize) -> Option<Result<&str, String>> {
    let line = raw.strip_suffix(b"\n").unwrap_or(raw);
    let length = line.strip_suffix(b"\r").unwrap_or(line).len();
    if length > max_line {
        return Some(Err(too_long(length, max_line)));
    }
    decode(raw)
}

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

/// Bytes of input per batch; big enough that a batch outweighs handing it
/// to a worker and back.
const BATCH_BYTES: usize = 1 << 20;

/// The longest line read by default; a longer one is reported and skipped.
pub(crate) const MAX_LINE_BYTES: usize = 16 << 20;

/// What a line longer than `max_line` is reported as.
pub(crate) fn too_long(length: usize, max_line: usize) -> String {
    format!("line of {length} bytes is longer than {max_line} (--max-line-bytes): skipped")
}

/// Calls `handle` for each non-blank line of stdin with its 1-based number,
/// the line, and the output buffer to append to. Output keeps input order; an
/// `Err` is printed to stderr as `line N: error`. Lines longer than
/// `max_line` bytes are reported and skipped without being held in memory.
pub(crate) fn for_each_line<H>(max_line: usize, handle: H) -> io::Result<Tally>
where
    H: Fn(u64, &str, &mut Vec<u8>) -> Result<(), String> + Sync,
{
    let workers = thread::available_parallelism().map_or(1, |n| n.get());
    process(
        io::stdin().lock(),
        &mut io::stdout().lock(),
        workers,
        max_line,
        &handle,
    )
}

/// Calls `handle` for each non-blank line of `input`, one after the other on
/// this thread: for chains, where each line depends on those before it.
/// Output is flushed whenever no more input is buffered, so a live stream
/// (`tail -f ... | auditlog seal --chain`) comes out as it goes in. Line
/// numbers start after `first`. A line longer than `max_line` bytes is
/// handed over as an error, without being held in memory.
pub(crate) fn for_each_line_in_order<H>(
    input: impl Read,
    out: &mut impl Write,
    first: u64,
    max_line: usize,
    mut handle: H,
) -> io::Result<(Tally, u64)>
where
    H: FnMut(u64, Result<&str, String>, &mut Vec<u8>) -> Result<(), String>,
{
    let mut input = io::BufReader::with_capacity(1 << 16, input);
    let mut tally = Tally::default();
    let mut raw = Vec::new();
    let mut output = Vec::new();
    let mut number = first;
    while let Some(length) = read_line(&mut input, &mut raw, max_line)? {
        number += 1;
        let text = if length > max_line {
            Err(too_long(length, max_line))
        } else {
            match decode(&raw) {
                Some(text) => text,
                None => continue,
            }
        };
        match handle(number, text, &mut output) {
            Ok(()) => tally.ok += 1,
            Err(message) => {
                tally.failed += 1;
                eprintln!("line {number}: {message}");
            }
        }
        out.write_all(&output)?;
        output.clear();
        if input.buffer().is_empty() {
            out.flush()?;
        }
    }
    out.flush()?;
    Ok((tally, number))
}

/// Reads one line into `line` (cleared first); its length without the
/// `\n`, or `None` at the end of input. Past `max_line` bytes the rest of the
/// line is counted but not kept.
pub(crate) fn read_line(
    input: &mut impl BufRead,
    line: &mut Vec<u8>,
    max_line: usize,
) -> io::Result<Option<usize>> {
    line.clear();
    let mut length = 0;
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((length > 0).then_some(length));
        }
        let (take, end) = match memchr::memchr(b'\n', available) {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        let keep = take.min((max_line + 1).saturating_sub(line.len()));
        line.extend_from_slice(&available[..keep]);
        length += take;
        input.consume(take);
        if end {
            return Ok(Some(length - 1));
        }
    }
}

/// One batch's results, merged in input order.
#[derive(Default)]
struct BatchOutcome {
    output: Vec<u8>,
    errors: Vec<(u64, String)>,
    tally: Tally,
}

fn process<H>(
    input: impl Read,
    out: &mut impl Write,
    workers: usize,
    max_line: usize,
    handle: &H,
) -> io::Result<Tally>
where
    H: Fn(u64, &str, &mut Vec<u8>) -> Result<(), String> + Sync,
{
    let mut tally = Tally::default();
    let mut reader = BatchReader {
        input,
        carry: Vec::new(),
        next_line: 1,
        eof: false,
        max_line,
    };
    let work = |(batch, output): (Batch, Vec<u8>)| run_batch(&batch, output, max_line, handle);
    thread::scope(|scope| {
        let pool = Pool::start(scope, workers, &work);
        // Output buffers go back to the workers, emptied, with the next
        // round, so they are not grown from nothing each time.
        let mut spare: Vec<Vec<u8>> = Vec::new();
        let submit = |batches: Vec<Batch>, spare: &mut Vec<Vec<u8>>| {
            let round = batches
                .into_iter()
                .map(|batch| (batch, spare.pop().unwrap_or_default()));
            pool.submit(round)
        };
        let mut sent = submit(reader.next_round(pool.workers())?, &mut spare);
        while sent > 0 {
            // The next round is read while the workers run on this one, and
            // handed to them before this one's output is written, so they
            // do not wait for the writing.
            let next = reader.next_round(pool.workers());
            let outcomes = pool.collect(sent);
            let (next, read_error) = match next {
                Ok(batches) => (batches, None),
                Err(e) => (Vec::new(), Some(e)),
            };
            sent = submit(next, &mut spare);
            for outcome in outcomes {
                out.write_all(&outcome.output)?;
                for (number, message) in outcome.errors {
                    eprintln!("line {number}: {message}");
                }
                tally.ok += outcome.tally.ok;
                tally.failed += outcome.tally.failed;
                let mut output = outcome.output;
                output.clear();
                spare.push(output);
            }
            if let Some(e) = read_error {
                return Err(e);
            }
        }
        out.flush()?;
        Ok(tally)
    })
}

/// Lines of input cut at line breaks, with the number of the first.
struct Batch {
    first: u64,
    bytes: Vec<u8>,
    /// A line too long to keep: its length. It stands in `bytes` as an
    /// empty line, so the lines after it keep their numbers.
    skipped: Option<usize>,
}

/// Cuts the input into batches that end at line breaks.
struct BatchReader<R> {
    input: R,
    carry: Vec<u8>,
    next_line: u64,
    eof: bool,
    max_line: usize,
}

impl<R: Read> BatchReader<R> {
    /// Up to `count` batches.
    fn next_round(&mut self, count: usize) -> io::Result<Vec<Batch>> {
        let mut batches = Vec::with_capacity(count);
        while batches.len() < count && !self.eof {
            let mut batch = std::mem::take(&mut self.carry);
            // A line longer than a batch makes the batch grow until it ends;
            // only the bytes read since the last look are searched.
            let mut want = BATCH_BYTES;
            let mut searched = 0;
            let cut = loop {
                self.eof = fill(&mut self.input, &mut batch, want)?;
                let cut = memchr::memrchr(b'\n', &batch[searched..]).map(|at| searched + at);
                if self.eof || cut.is_some() {
                    break cut;
                }
                if batch.len() > self.max_line {
                    // The batch is all one line, already too long.
                    let length = self.skip_line(batch.len())?;
                    batches.push(self.batch(b"\n".to_vec(), Some(length)));
                    break None;
                }
                searched = batch.len();
                want = batch.len() + BATCH_BYTES;
            };
            let Some(cut) = cut else {
                if !self.eof || batch.len() > self.max_line {
                    continue;
                }
                if !batch.is_empty() {
                    batches.push(self.batch(batch, None));
                }
                continue;
            };
            if !self.eof {
                self.carry = batch.split_off(cut + 1);
            }
            if !batch.is_empty() {
                batches.push(self.batch(batch, None));
            }
        }
        Ok(batches)
    }

    fn batch(&mut self, bytes: Vec<u8>, skipped: Option<usize>) -> Batch {
        let first = self.next_line;
        self.next_line += memchr::memchr_iter(b'\n', &bytes).count() as u64;
        Batch {
            first,
            bytes,
            skipped,
        }
    }

    /// Reads past the end of a line of which `seen` bytes were read and
    /// dropped; keeps what follows it. Returns the line's length.
    fn skip_line(&mut self, mut seen: usize) -> io::Result<usize> {
        let mut chunk = vec![0; BATCH_BYTES];
        loop {
            let read = match self.input.read(&mut chunk) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(seen);
                }
                Ok(read) => read,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if let Some(at) = memchr::memchr(b'\n', &chunk[..read]) {
                self.carry = chunk[at + 1..read].to_vec();
                return Ok(seen + at);
            }
            seen += read;
        }
    }
}

/// Reads until `buf` holds at least `want` bytes; true at end of input.
/// The bytes are read into `buf`'s spare room as it is: a file or a pipe
/// fills it without its being zeroed first (zeroing each 1 MiB batch was
/// most of this thread's own work beside the copy from the kernel).
fn fill(input: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    let Some(room) = want.checked_sub(buf.len()).filter(|&room| room > 0) else {
        return Ok(false);
    };
    buf.reserve(room);
    // Reads until `room` bytes came or the input ended; retries when
    // interrupted; on an error, what was read stays in `buf`.
    input.take(room as u64).read_to_end(buf)?;
    Ok(buf.len() < want)
}

/// Runs `handle` on the lines of `batch`, appending to `output` (empty).
fn run_batch<H>(batch: &Batch, mut output: Vec<u8>, max_line: usize, handle: &H) -> BatchOutcome
where
    H: Fn(u64, &str, &mut Vec<u8>) -> Result<(), String>,
{
    output.reserve(batch.bytes.len() + batch.bytes.len() / 4);
    let mut outcome = BatchOutcome {
        output,
        ..BatchOutcome::default()
    };
    if let Some(length) = batch.skipped {
        outcome.tally.failed += 1;
        outcome
            .errors
            .push((batch.first, too_long(length, max_line)));
        return outcome;
    }
    for (number, raw) in (batch.first..).zip(split_lines(&batch.bytes)) {
        let result = match decode_within(raw, max_line) {
            None => continue,
            Some(Ok(line)) => handle(number, line, &mut outcome.output),
            Some(Err(message)) => Err(message),
        };
        match result {
            Ok(()) => outcome.tally.ok += 1,
            Err(message) => {
                outcome.tally.failed += 1;
                outcome.errors.push((number, message));
            }
        }
    }
    outcome
}

/// Reports an I/O failure of the run itself (not of a line) and exits 2.
pub(crate) fn finish(result: io::Result<Tally>, summary: impl FnOnce(Tally)) -> ExitCode {
    match result {
        Ok(tally) => {
            summary(tally);
            tally.exit_code()
        }
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("auditlog: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod overlap_tests;
#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn echo_except_bad(
        _number: u64,
        line: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        if line == "bad" {
            return Err("nope".into());
        }
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
        Ok(())
    }

    #[test]
    fn in_order_lines_are_numbered_and_bad_ones_counted() {
        let input = b"a\n\nbad\n\xff\nb\r\nc" as &[u8];
        let mut out = Vec::new();
        let mut seen = Vec::new();
        let (tally, last) =
            for_each_line_in_order(input, &mut out, 10, 100, |number, line, out| {
                seen.push(number);
                echo_except_bad(number, line?, out)
            })
            .unwrap();
        assert_eq!(tally, Tally { ok: 3, failed: 2 });
        assert_eq!((seen, last), (vec![11, 13, 14, 15, 16], 16));
        assert_eq!(out, b"a\nb\nc\n");
    }

    #[test]
    fn bad_lines_are_counted_and_the_rest_processed() {
        let input = b"a\n\nbad\n\xff\nb\r\nc" as &[u8];
        let mut out = Vec::new();
        let tally = process(input, &mut out, 2, MAX_LINE_BYTES, &echo_except_bad).unwrap();
        assert_eq!(tally, Tally { ok: 3, failed: 2 });
        assert_eq!(out, b"a\nb\nc\n");
    }

    #[test]
    fn a_line_longer_than_a_batch_stays_whole() {
        let long = "x".repeat(3 * BATCH_BYTES);
        let input = format!("a\n{long}\nb\n");
        let mut out = Vec::new();
        let tally = process(
            input.as_bytes(),
            &mut out,
            2,
            MAX_LINE_BYTES,
            &echo_except_bad,
        )
        .unwrap();
        assert_eq!(tally.ok, 3);
        assert_eq!(String::from_utf8(out).unwrap(), input);
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

    #[test]
    fn many_batches_keep_input_order_and_line_numbers() {
        let lines: Vec<String> = (1..=300_000).map(|i| format!("{i:08}")).collect();
        let input = lines.join("\n");
        let mut out = Vec::new();
        let numbered = |number: u64, line: &str, out: &mut Vec<u8>| {
            assert_eq!(line.parse::<u64>().unwrap(), number);
            echo_except_bad(number, line, out)
        };
        let tally = process(input.as_bytes(), &mut out, 3, MAX_LINE_BYTES, &numbered).unwrap();
        assert_eq!(tally.ok, 300_000);
        assert_eq!(String::from_utf8(out).unwrap(), input + "\n");
    }

    #[test]
    fn lines_past_the_limit_are_reported_and_skipped_in_both_loops() {
        let max = BATCH_BYTES + 10;
        let long = "y".repeat(3 * BATCH_BYTES + 5);
        let just_fits = "z".repeat(max);
        let input = format!("a\n{long}\nb\n{just_fits}\n{}\nc", "w".repeat(max + 1));
        let mut out = Vec::new();
        let tally = process(input.as_bytes(), &mut out, 2, max, &echo_except_bad).unwrap();
        assert_eq!(tally, Tally { ok: 4, failed: 2 });
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("a\nb\n{just_fits}\nc\n")
        );

        let mut out = Vec::new();
        let mut failures = Vec::new();
        let (tally, last) = for_each_line_in_order(
            input.as_bytes(),
            &mut out,
            0,
            max,
            |n, line, out| match line {
                Ok(line) => echo_except_bad(n, line, out),
                Err(message) => {
                    failures.push((n, message.clone()));
                    Err(message)
                }
            },
        )
        .unwrap();
        assert_eq!((tally, last), (Tally { ok: 4, failed: 2 }, 6));
        assert_eq!(failures[0], (2, too_long(long.len(), max)));
        assert_eq!(failures[1].0, 5);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("a\nb\n{just_fits}\nc\n")
        );
    }

    #[test]
    fn a_huge_line_is_skipped_in_linear_time() {
        // 64 MiB in one line against a 1 MiB limit: quadratic rescans of the
        // growing batch would take minutes here, a linear pass well under one.
        let mut input = vec![b'x'; 64 << 20];
        input.extend_from_slice(b"\nafter\n");
        let mut out = Vec::new();
        let tally = process(&input[..], &mut out, 2, 1 << 20, &echo_except_bad).unwrap();
        assert_eq!(tally, Tally { ok: 1, failed: 1 });
        assert_eq!(out, b"after\n");
    }
}
