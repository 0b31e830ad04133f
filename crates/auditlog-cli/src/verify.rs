//! `auditlog verify`: a line per failure, then a summary; with `--chain`, a
//! report on whole chains (missing, reordered, duplicated, truncated).

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use auditlog_core::printable;
use auditlog_seal::{
    keyring::decode_32, verify_json_into, Keyring, SigningKey, StreamVerifier, Strictness,
};

use crate::key::{self, KeyEnv};
use crate::lines::{
    finish, for_each_line, for_each_line_checked, with_recycled_event, MAX_LINE_BYTES,
};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    key_env: KeyEnv,
    /// Check hashes only, without a key: says whether events changed by
    /// accident, not who made them (anyone can recompute a hash).
    #[arg(long, conflicts_with_all = ["key_env", "chain"])]
    hash_only: bool,
    /// Accept any JSON encoding of an event's published form (other spacing,
    /// key order, escapes, number spelling), for lines that went through a
    /// relay that re-encodes JSON. By default a line must be exactly the
    /// published form.
    #[arg(long)]
    lenient: bool,
    /// Report and skip lines longer than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = MAX_LINE_BYTES)]
    max_line_bytes: usize,
    /// Check whole chains: links, gaps, order, duplicates, checkpoints. Prints
    /// a report; exits 1 on any problem (duplicates alone are not one).
    #[arg(long)]
    chain: bool,
    /// Keyring file (JSON) with the keys links may name, oldest first.
    #[arg(
        long,
        value_name = "FILE",
        requires = "chain",
        conflicts_with = "public_key"
    )]
    keyring: Option<PathBuf>,
    /// File with an Ed25519 public key (64 hex digits) that verifies every link.
    #[arg(long, value_name = "FILE", requires = "chain")]
    public_key: Option<PathBuf>,
    /// Checkpoints kept apart from the events (repeatable); read after them.
    #[arg(long, value_name = "FILE", requires = "chain")]
    checkpoints: Vec<PathBuf>,
    /// The stream starts in the middle of its chains (a consumer that began
    /// at the latest offset): check each from the first position seen.
    #[arg(long, requires = "chain")]
    from_the_middle: bool,
    /// Also fail when the stream proves less than it could: no chained
    /// event, a chain without a checkpoint, events after a chain's last
    /// checkpoint, a chain that does not start at seq 1 (unless
    /// --from-the-middle).
    #[arg(long, requires = "chain")]
    strict: bool,
    /// Fail when chain ID is not in the stream (repeatable).
    #[arg(long, value_name = "ID", requires = "chain")]
    expect_chain: Vec<String>,
    /// Print the report as one line of JSON instead of text.
    #[arg(long, requires = "chain")]
    json: bool,
    /// Check the audit table of this database (sqlite://PATH or
    /// postgres://...) instead of files: rows in seq order, their columns
    /// against their lines, each stream's counter row.
    #[cfg(feature = "sql")]
    #[arg(long, value_name = "URL", requires = "chain", conflicts_with_all = ["files", "checkpoints", "json"])]
    db: Option<String>,
    /// Files to check, in order (stdin when none). Lines are numbered across
    /// them, checkpoint files last.
    #[arg(value_name = "FILE", requires = "chain")]
    files: Vec<PathBuf>,
}

pub(crate) fn run(args: Args) -> ExitCode {
    if args.chain {
        return match run_chain(&args) {
            Ok(code) => code,
            Err(message) => {
                eprintln!("auditlog: {message}");
                ExitCode::from(2)
            }
        };
    }
    let key = match args.key_env.for_verifying(args.hash_only) {
        Ok(key) => key,
        Err(message) => {
            eprintln!("auditlog: {message}");
            return ExitCode::from(2);
        }
    };
    let strictness = strictness(&args);
    let chained = AtomicBool::new(false);
    let result = for_each_line(args.max_line_bytes, |_number, line, _out| {
        with_recycled_event(|event| {
            verify_json_into(event, line, key.as_ref(), strictness).map_err(|e| e.to_string())?;
            let security = event.security.as_ref();
            if security.is_some_and(|s| s.seq.is_some() || s.length.is_some())
                && !chained.swap(true, Ordering::Relaxed)
            {
                eprintln!("auditlog: the events are chained; only --chain checks their links, order and completeness");
            }
            Ok(())
        })
    });
    let (how, what) = match key {
        Some(_) => ("", "valid"),
        None => (" (hash only — not authenticated)", "hashes match"),
    };
    finish(result, |tally| {
        println!(
            "verified {} events{how}: {} {what}, {} failed",
            tally.ok + tally.failed,
            tally.ok,
            tally.failed
        );
    })
}

fn strictness(args: &Args) -> Strictness {
    if args.lenient {
        Strictness::Lenient
    } else {
        Strictness::Strict
    }
}

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// `--keyring`, else `--public-key`, else the HMAC key of `--key-env` for
/// every key id.
fn keyring(args: &Args) -> Result<Keyring, String> {
    if let Some(path) = &args.keyring {
        return key::keyring(path);
    }
    if let Some(path) = &args.public_key {
        let public = decode_32(&read(path)?).ok_or_else(|| {
            format!(
                "{}: expected an Ed25519 public key as 64 hex digits",
                path.display()
            )
        })?;
        return Keyring::any_kid_ed25519(&public).map_err(|e| format!("{}: {e}", path.display()));
    }
    SigningKey::from_env(args.key_env.variable())
        .map_err(|e| e.to_string())?
        .map(Keyring::any_kid_hmac)
        .ok_or_else(|| {
            format!(
                "checking chains needs a key: --keyring FILE, --public-key FILE or ${}",
                args.key_env.variable()
            )
        })
}

fn run_chain(args: &Args) -> Result<ExitCode, String> {
    let keys = keyring(args)?;
    let mut verifier = StreamVerifier::new(&keys).strictness(strictness(args));
    if args.from_the_middle {
        verifier = verifier.from_the_middle();
    }
    if args.strict {
        verifier = verifier.strict_chains();
    }
    for id in &args.expect_chain {
        verifier = verifier.expect_chain(id.clone());
    }
    #[cfg(feature = "sql")]
    if let Some(url) = &args.db {
        return crate::sql::verify_table(url, verifier);
    }
    let mut inputs: Vec<(String, Box<dyn Read>)> = Vec::new();
    if args.files.is_empty() {
        inputs.push(("stdin".into(), Box::new(io::stdin().lock())));
    }
    for path in args.files.iter().chain(&args.checkpoints) {
        let file = File::open(path).map_err(|e| {
            format!(
                "cannot open {}: {e}",
                printable(&path.display().to_string())
            )
        })?;
        inputs.push((
            printable(&path.display().to_string()).into_owned(),
            Box::new(file),
        ));
    }
    // Each line is checked on all cores; positions are recorded in order.
    let checker = verifier.line_checker();
    let mut number = 0;
    for (name, input) in inputs {
        number = for_each_line_checked(
            input,
            number,
            args.max_line_bytes,
            |line| checker.check(line),
            |number, checked| match checked {
                Ok(checked) => verifier.record(number, checked),
                Err(reason) => verifier.reject(number, reason),
            },
        )
        .map_err(|e| format!("reading {name}: {e}"))?;
    }
    let report = verifier.finish();
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{report}");
    }
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
