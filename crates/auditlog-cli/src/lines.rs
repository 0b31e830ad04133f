//! The JSON-lines loop every subcommand shares: one bad line is reported with
//! its number and the rest go on.

use std::fmt::Display;
use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;

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

/// Calls `handle` for each non-blank line of stdin with its 1-based number
/// and a buffered stdout. An `Err` is printed to stderr as `line N: error`.
pub fn for_each_line<E: Display>(
    mut handle: impl FnMut(u64, &str, &mut dyn Write) -> Result<(), E>,
) -> io::Result<Tally> {
    let stdin = io::stdin().lock();
    let stdout = io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let tally = process(stdin, &mut out, &mut handle)?;
    out.flush()?;
    Ok(tally)
}

fn process<E: Display>(
    mut input: impl BufRead,
    out: &mut dyn Write,
    handle: &mut dyn FnMut(u64, &str, &mut dyn Write) -> Result<(), E>,
) -> io::Result<Tally> {
    let mut tally = Tally::default();
    let mut raw = Vec::with_capacity(4096);
    let mut number = 0u64;
    loop {
        raw.clear();
        if input.read_until(b'\n', &mut raw)? == 0 {
            return Ok(tally);
        }
        number += 1;
        let outcome = match std::str::from_utf8(&raw) {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => {
                handle(number, line.trim_end_matches(['\n', '\r']), out).map_err(|e| e.to_string())
            }
            Err(e) => Err(format!("not valid UTF-8 (byte {})", e.valid_up_to() + 1)),
        };
        match outcome {
            Ok(()) => tally.ok += 1,
            Err(message) => {
                tally.failed += 1;
                eprintln!("line {number}: {message}");
            }
        }
    }
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

    #[test]
    fn bad_lines_are_counted_and_the_rest_processed() {
        let input = b"a\n\nbad\n\xff\nb\r\n" as &[u8];
        let mut out = Vec::new();
        let tally = process(
            input,
            &mut out,
            &mut |_number, line: &str, out: &mut dyn Write| {
                if line == "bad" {
                    return Err("nope");
                }
                writeln!(out, "{line}").map_err(|_| "io")
            },
        )
        .unwrap();
        assert_eq!(tally, Tally { ok: 2, failed: 2 });
        assert_eq!(out, b"a\nb\n");
    }
}
