//! The JSON-lines loop every subcommand shares: one bad line is reported with
//! its number and the rest go on. Lines are processed in parallel batches and
//! written in input order.

use std::io::{self, BufRead, Read, Write};
use std::process::ExitCode;
use std::thread;

/// How a run over the input went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub ok: u64,
    pub failed: u64,
}

impl Tally {
    pub fn exit_code(self) -> ExitCode {
        if self.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// One raw input line (its `\n` optional) as text: `None` when blank, an
/// error message when not UTF-8. A trailing `\r` is dropped (CRLF files).
pub fn decode(raw: &[u8]) -> Option<Result<&str, String>> {
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

/// Bytes of input per batch; big enough that a batch outweighs a thread spawn.
const BATCH_BYTES: usize = 1 << 20;

/// Calls `handle` for each non-blank line of stdin with its 1-based number,
/// the line, and the output buffer to append to. Output keeps input order; an
/// `Err` is printed to stderr as `line N: error`.
pub fn for_each_line<H>(handle: H) -> io::Result<Tally>
where
    H: Fn(u64, &str, &mut Vec<u8>) -> Result<(), String> + Sync,
{
    let workers = thread::available_parallelism().map_or(1, |n| n.get());
    process(
        io::stdin().lock(),
        &mut io::stdout().lock(),
        workers,
        &handle,
    )
}

/// Calls `handle` for each non-blank line of `input`, one after the other on
/// this thread: for chains, where each line depends on those before it.
/// Output is flushed whenever no more input is buffered, so a live stream
/// (`tail -f ... | auditlog seal --chain`) comes out as it goes in. Line
/// numbers start after `first`.
pub fn for_each_line_in_order<H>(
    input: impl Read,
    out: &mut impl Write,
    first: u64,
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
    loop {
        raw.clear();
        if input.read_until(b'\n', &mut raw)? == 0 {
            break;
        }
        number += 1;
        let Some(text) = decode(&raw) else {
            continue;
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
    };
    let mut batches = reader.next_round(workers)?;
    while !batches.is_empty() {
        // Workers run on this round while the next one is read.
        let (outcomes, next) = thread::scope(|scope| {
            let running: Vec<_> = batches
                .iter()
                .map(|(first, batch)| scope.spawn(move || run_batch(*first, batch, handle)))
                .collect();
            let next = reader.next_round(workers);
            let outcomes: Vec<BatchOutcome> = running
                .into_iter()
                .map(|worker| worker.join().expect("a line handler panicked"))
                .collect();
            (outcomes, next)
        });
        for outcome in outcomes {
            out.write_all(&outcome.output)?;
            for (number, message) in outcome.errors {
                eprintln!("line {number}: {message}");
            }
            tally.ok += outcome.tally.ok;
            tally.failed += outcome.tally.failed;
        }
        batches = next?;
    }
    out.flush()?;
    Ok(tally)
}

/// Cuts the input into batches that end at line breaks.
struct BatchReader<R> {
    input: R,
    carry: Vec<u8>,
    next_line: u64,
    eof: bool,
}

impl<R: Read> BatchReader<R> {
    /// Up to `count` batches, each with the number of its first line.
    fn next_round(&mut self, count: usize) -> io::Result<Vec<(u64, Vec<u8>)>> {
        let mut batches = Vec::with_capacity(count);
        while batches.len() < count && !self.eof {
            let mut batch = std::mem::take(&mut self.carry);
            // A line longer than a batch makes the batch grow until it ends.
            let mut want = BATCH_BYTES;
            let cut = loop {
                self.eof = fill(&mut self.input, &mut batch, want)?;
                let cut = memchr::memrchr(b'\n', &batch);
                if self.eof || cut.is_some() {
                    break cut;
                }
                want = batch.len() + BATCH_BYTES;
            };
            if let (false, Some(cut)) = (self.eof, cut) {
                self.carry = batch.split_off(cut + 1);
            }
            if !batch.is_empty() {
                let first = self.next_line;
                self.next_line += memchr::memchr_iter(b'\n', &batch).count() as u64;
                batches.push((first, batch));
            }
        }
        Ok(batches)
    }
}

/// Reads until `buf` holds at least `want` bytes; true at end of input.
fn fill(input: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    let mut filled = buf.len();
    buf.resize(want.max(filled), 0);
    while filled < want {
        match input.read(&mut buf[filled..]) {
            Ok(0) => {
                buf.truncate(filled);
                return Ok(true);
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.truncate(filled);
                return Err(e);
            }
        }
    }
    Ok(false)
}

fn run_batch<H>(first: u64, batch: &[u8], handle: &H) -> BatchOutcome
where
    H: Fn(u64, &str, &mut Vec<u8>) -> Result<(), String>,
{
    let mut outcome = BatchOutcome {
        output: Vec::with_capacity(batch.len() + batch.len() / 4),
        ..BatchOutcome::default()
    };
    let body = batch.strip_suffix(b"\n").unwrap_or(batch);
    let lines = memchr::memchr_iter(b'\n', body).chain([body.len()]);
    let mut start = 0;
    for (number, end) in (first..).zip(lines) {
        let raw = &body[start..end];
        start = end + 1;
        let result = match decode(raw) {
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
pub fn finish(result: io::Result<Tally>, summary: impl FnOnce(Tally)) -> ExitCode {
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
mod tests {
    use super::*;

    fn echo_except_bad(_number: u64, line: &str, out: &mut Vec<u8>) -> Result<(), String> {
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
        let (tally, last) = for_each_line_in_order(input, &mut out, 10, |number, line, out| {
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
        let tally = process(input, &mut out, 2, &echo_except_bad).unwrap();
        assert_eq!(tally, Tally { ok: 3, failed: 2 });
        assert_eq!(out, b"a\nb\nc\n");
    }

    #[test]
    fn a_line_longer_than_a_batch_stays_whole() {
        let long = "x".repeat(3 * BATCH_BYTES);
        let input = format!("a\n{long}\nb\n");
        let mut out = Vec::new();
        let tally = process(input.as_bytes(), &mut out, 2, &echo_except_bad).unwrap();
        assert_eq!(tally.ok, 3);
        assert_eq!(String::from_utf8(out).unwrap(), input);
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
        let tally = process(input.as_bytes(), &mut out, 3, &numbered).unwrap();
        assert_eq!(tally.ok, 300_000);
        assert_eq!(String::from_utf8(out).unwrap(), input + "\n");
    }
}
