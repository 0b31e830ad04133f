//! `auditlog verify`: a line per failure, then a summary; with `--chain`, a
//! report on whole chains (missing, reordered, duplicated, truncated).

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use auditlog_seal::{keyring::decode_32, verify_json, Keyring, SigningKey, StreamVerifier};

use crate::key::{self, DEFAULT_KEY_ENV};
use crate::lines::{finish, for_each_line, for_each_line_in_order, Tally};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Environment variable holding the HMAC key; without it only hashes are checked.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_KEY_ENV)]
    key_env: String,
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
    /// Print the report as one line of JSON instead of text.
    #[arg(long, requires = "chain")]
    json: bool,
    /// Files to check, in order (stdin when none). Lines are numbered across
    /// them, checkpoint files last.
    #[arg(value_name = "FILE", requires = "chain")]
    files: Vec<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    if args.chain {
        return match run_chain(&args) {
            Ok(code) => code,
            Err(message) => {
                eprintln!("auditlog: {message}");
                ExitCode::from(2)
            }
        };
    }
    let key = match key::load(&args.key_env, "signatures are not checked, only hashes") {
        Ok(key) => key,
        Err(message) => {
            eprintln!("auditlog: {message}");
            return ExitCode::from(2);
        }
    };
    let chained = AtomicBool::new(false);
    let result = for_each_line(|_number, line, _out| {
        let verified = verify_json(line, key.as_ref()).map_err(|e| e.to_string())?;
        let security = verified.event.security.as_ref();
        if security.is_some_and(|s| s.seq.is_some() || s.length.is_some())
            && !chained.swap(true, Ordering::Relaxed)
        {
            eprintln!("auditlog: the events are chained; only --chain checks their links, order and completeness");
        }
        if verified.unauthenticated_fields.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "unauthenticated fields (not covered by the hash): {}",
                verified.unauthenticated_fields.join(", ")
            ))
        }
    });
    finish(result, |tally| {
        println!(
            "verified {} events: {} valid, {} failed",
            tally.ok + tally.failed,
            tally.ok,
            tally.failed
        );
    })
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
    SigningKey::from_env(&args.key_env)
        .map_err(|e| e.to_string())?
        .map(Keyring::any_kid_hmac)
        .ok_or_else(|| {
            format!(
                "checking chains needs a key: --keyring FILE, --public-key FILE or ${}",
                args.key_env
            )
        })
}

fn run_chain(args: &Args) -> Result<ExitCode, String> {
    let keys = keyring(args)?;
    let mut verifier = StreamVerifier::new(&keys);
    if args.from_the_middle {
        verifier = verifier.from_the_middle();
    }
    let mut inputs: Vec<(String, Box<dyn Read>)> = Vec::new();
    if args.files.is_empty() {
        inputs.push(("stdin".into(), Box::new(io::stdin().lock())));
    }
    for path in args.files.iter().chain(&args.checkpoints) {
        let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        inputs.push((path.display().to_string(), Box::new(file)));
    }
    let mut number = 0;
    for (name, input) in inputs {
        let (_, last): (Tally, u64) =
            for_each_line_in_order(input, &mut io::sink(), number, |number, line, _| {
                match line {
                    Ok(line) => verifier.feed(number, line),
                    Err(reason) => verifier.reject(number, reason),
                }
                Ok(())
            })
            .map_err(|e| format!("reading {name}: {e}"))?;
        number = last;
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
