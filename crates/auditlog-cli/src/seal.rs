//! `auditlog seal`: each event sealed, as the JSON that goes on the wire;
//! with `--chain`, sealed into a chain with checkpoints.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use auditlog_core::AuditEvent;
use auditlog_seal::{Algorithm, ChainKey, ChainSealer, Keyring, SigningKey};

use crate::key::{self, KeyEnv};
use crate::lines::{
    finish, for_each_line, for_each_line_in_order, with_recycled_event, MAX_LINE_BYTES,
};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    key_env: KeyEnv,
    /// Seal into a chain with this id (a new UUID when none is given): number
    /// the events, link each to the one before, write checkpoints. Needs a key.
    #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "")]
    chain: Option<String>,
    /// Keyring file (JSON): seal with its newest key that is not retired
    /// (HMAC or Ed25519) instead of the key in --key-env. Refused when group
    /// or others can read or write it (`chmod 600` it).
    #[arg(long, value_name = "FILE", requires = "chain")]
    keyring: Option<PathBuf>,
    /// Key id written with links made with the key in --key-env.
    #[arg(long, value_name = "ID", default_value = "default", requires = "chain")]
    kid: String,
    /// Write a checkpoint after this many events.
    #[arg(long, value_name = "N", default_value_t = 1000, requires = "chain")]
    checkpoint_every: u64,
    /// Also write a checkpoint when this many seconds have passed since the
    /// last one (for live input).
    #[arg(long, value_name = "SECONDS", requires = "chain")]
    checkpoint_secs: Option<u64>,
    /// Append checkpoints to FILE instead of writing them between the events
    /// (keep them apart to detect a cut-off tail).
    #[arg(long, value_name = "FILE", requires = "chain")]
    checkpoints: Option<PathBuf>,
    /// Continue the chain of the last checkpoint in the --checkpoints file
    /// (checked with the key) instead of starting one; a new chain when the
    /// file has none yet.
    #[arg(long, requires = "checkpoints")]
    resume: bool,
}

pub(crate) fn run(args: Args) -> ExitCode {
    if args.chain.is_some() {
        return match run_chain(args) {
            Ok(code) => code,
            Err(message) => {
                eprintln!("auditlog: {message}");
                ExitCode::from(2)
            }
        };
    }
    let key = match args.key_env.load("events are hashed but not signed") {
        Ok(key) => key,
        Err(message) => {
            eprintln!("auditlog: {message}");
            return ExitCode::from(2);
        }
    };
    let result = for_each_line(MAX_LINE_BYTES, |number, line, out| {
        with_recycled_event(|event| {
            parse_into(event, number, line)?;
            auditlog_seal::seal_into(event, key.as_ref(), out);
            out.push(b'\n');
            Ok(())
        })
    });
    finish(result, |_| {})
}

/// Reads `line` into `event` (replacing it; see `AuditEvent::parse_into`)
/// and reports the members the model drops.
fn parse_into(event: &mut AuditEvent, number: u64, line: &str) -> Result<(), String> {
    let unknown_fields = event.parse_into(line).map_err(|e| e.to_string())?;
    if !unknown_fields.is_empty() {
        // Not an error: the Python library drops them the same way.
        eprintln!(
            "line {number}: dropped fields the v1 model does not know (Python drops them too): {}",
            unknown_fields.join(", ")
        );
    }
    Ok(())
}

/// The key a chain is sealed with (the keyring's active key, or the HMAC key
/// of `--key-env` under `--kid`) and the keys that check a checkpoint to
/// resume after.
fn chain_key(args: &Args) -> Result<(ChainKey, Keyring), String> {
    if let Some(path) = &args.keyring {
        let ring = key::keyring(path)?;
        let key = ring.active().cloned().ok_or_else(|| {
            format!(
                "{}: no key that can seal (all retired, or public keys only)",
                path.display()
            )
        })?;
        return Ok((key, ring));
    }
    let key = SigningKey::from_env(args.key_env.variable())
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "a chain needs a key: set ${} or give --keyring",
                args.key_env.variable()
            )
        })?;
    let ring = Keyring::any_kid_hmac(key.clone());
    let key = ChainKey::hmac(args.kid.clone(), key).map_err(|e| e.to_string())?;
    Ok((key, ring))
}

/// The last checkpoint in `path`, if the file exists and has one.
fn last_checkpoint(path: &PathBuf) -> Result<Option<AuditEvent>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let Some(line) = text.lines().rev().find(|l| !l.trim().is_empty()) else {
        return Ok(None);
    };
    AuditEvent::from_json(line)
        .map(Some)
        .map_err(|e| format!("{}: last line: {e}", path.display()))
}

fn run_chain(args: Args) -> Result<ExitCode, String> {
    let (key, keys) = chain_key(&args)?;
    let given = args.chain.as_deref().filter(|id| !id.is_empty());
    let previous = match (&args.checkpoints, args.resume) {
        (Some(path), true) => last_checkpoint(path)?,
        _ => None,
    };
    let sealer = match previous {
        Some(checkpoint) => {
            let sealer =
                ChainSealer::resume_after(&checkpoint, &keys, key).map_err(|e| e.to_string())?;
            if given.is_some_and(|id| id != sealer.chain_id()) {
                return Err(format!(
                    "--chain {} differs from the chain of the checkpoint to resume after ({})",
                    given.unwrap_or_default(),
                    sealer.chain_id()
                ));
            }
            eprintln!(
                "auditlog: resuming chain {} after event {}",
                sealer.chain_id(),
                sealer.length()
            );
            sealer
        }
        None => {
            let id = given.map_or_else(ChainSealer::new_chain_id, str::to_owned);
            ChainSealer::new(id, key).map_err(|e| e.to_string())?
        }
    };
    let mut sealer = sealer.checkpoint_every(args.checkpoint_every);
    if let Some(seconds) = args.checkpoint_secs {
        sealer = sealer.checkpoint_interval(Duration::from_secs(seconds));
    }
    let key = sealer.key();
    match (key.algorithm(), key.public_key()) {
        (Algorithm::Ed25519, Some(public)) => eprintln!(
            "auditlog: chain {} sealed with Ed25519 key {} (public key {})",
            sealer.chain_id(),
            key.kid(),
            hex::encode(public)
        ),
        _ => eprintln!(
            "auditlog: chain {} sealed with {} key {}",
            sealer.chain_id(),
            key.algorithm(),
            key.kid()
        ),
    }
    let mut apart = match &args.checkpoints {
        Some(path) => Some(
            File::options()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?,
        ),
        None => None,
    };
    let checkpointed = std::cell::Cell::new(sealer.length());
    let mut write_checkpoint = |sealer: &mut ChainSealer, out: &mut Vec<u8>| -> io::Result<()> {
        let mut line = sealer.checkpoint().published_json();
        line.push('\n');
        checkpointed.set(sealer.length());
        match apart.as_mut() {
            Some(file) => file.write_all(line.as_bytes()),
            None => {
                out.extend_from_slice(line.as_bytes());
                Ok(())
            }
        }
    };
    let stdout = &mut io::stdout().lock();
    let mut checkpoint_error = None;
    // One event for the whole run: each line is read into the last one's
    // buffers.
    let mut event = AuditEvent::default();
    let result = for_each_line_in_order(
        io::stdin().lock(),
        stdout,
        0,
        MAX_LINE_BYTES,
        |number, line, out| {
            parse_into(&mut event, number, line?)?;
            sealer.seal_into(&mut event, out);
            out.push(b'\n');
            if sealer.checkpoint_due() {
                if let Err(e) = write_checkpoint(&mut sealer, out) {
                    checkpoint_error.get_or_insert(e);
                }
            }
            Ok(())
        },
    )
    .and_then(|(tally, _)| {
        if sealer.length() > checkpointed.get() || sealer.length() == 0 {
            let mut out = Vec::new();
            write_checkpoint(&mut sealer, &mut out)?;
            stdout.write_all(&out)?;
            stdout.flush()?;
        }
        checkpoint_error.map_or(Ok(tally), Err)
    });
    Ok(finish(result, |_| {}))
}
