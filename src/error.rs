//! The library's one error type and the exit code each error maps to ([`crate::exit_codes`]).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::exit_codes;

/// Everything that can go wrong, each with a message a person can act on.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A command-line argument or environment variable is wrong.
    Usage(String),
    /// A line of input is not an order (with `--strict`).
    InvalidInput { line: u64, reason: String },
    /// No broker in the list answered, after every retry.
    Unreachable {
        brokers: String,
        attempts: u32,
        cause: String,
    },
    /// The broker answered a request with an error that retrying does not fix, or retries ran out.
    Broker { what: String, cause: String },
    /// The cluster's ACLs do not allow this user the operation: no retry, no fallback.
    Refused { what: String, cause: String },
    /// A topic the consumer reads (or writes dead letters to) does not exist.
    NoSuchTopic { topic: String, brokers: String },
    /// A stop was asked for (Ctrl-C, SIGTERM) while waiting.
    Interrupted,
    /// A spool directory that cannot be used as it is: locked by another process, made by a
    /// newer format version, not a spool at all, or asked for something it cannot do. `path` is
    /// the file or directory at fault.
    Spool { path: PathBuf, reason: String },
    /// An entry of a spool segment is damaged and more data follows it, so it is not a torn tail
    /// that recovery may cut: reading stops at byte `offset` of `file` until the segment is
    /// quarantined (moved aside).
    SpoolDamaged {
        file: PathBuf,
        offset: u64,
        reason: String,
    },
    /// Another producer took over this transactional id (a newer epoch): this one may send no
    /// more. Two forwarders on one id, or a spool copied to a second host.
    Fenced {
        transactional_id: String,
        cause: String,
    },
    /// The Schema Registry at `url` did not answer (after every retry) or refused a request;
    /// `cause` says which, in the registry's words where it gave some.
    Registry { url: String, cause: String },
    /// Reading input or writing output failed.
    Io {
        what: String,
        source: std::io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(msg) => write!(f, "{msg}"),
            Error::InvalidInput { line, reason } => write!(f, "line {line}: {reason}"),
            Error::Unreachable {
                brokers,
                attempts,
                cause,
            } => write!(
                f,
                "cannot reach {brokers} after {attempts} attempts ({cause}): is Kafka running? try `make up`"
            ),
            Error::Broker { what, cause } | Error::Refused { what, cause } => {
                write!(f, "{what}: {cause}")
            }
            Error::NoSuchTopic { topic, brokers } => write!(
                f,
                "topic '{topic}' does not exist on {brokers}: create it with \
                 `make topic TOPIC={topic}` (or `scripts/kafka-local topic {topic}`)"
            ),
            Error::Interrupted => write!(f, "interrupted"),
            Error::Spool { path, reason } => write!(f, "spool {}: {reason}", path.display()),
            Error::SpoolDamaged {
                file,
                offset,
                reason,
            } => write!(
                f,
                "spool segment {} is damaged at byte offset {offset} ({reason}): forwarding stops \
                 there until the segment is moved aside with `--spool-quarantine`",
                file.display()
            ),
            Error::Fenced {
                transactional_id,
                cause,
            } => write!(
                f,
                "transactional id '{transactional_id}' is in use by another producer ({cause}): \
                 stop the other forwarder of this spool, or give this one its own \
                 --transactional-id (a transaction that outlived --transaction-timeout is \
                 fenced the same way; a restart resumes)"
            ),
            Error::Registry { url, cause } => write!(f, "schema registry {url}: {cause}"),
            Error::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// The exit code this error ends a run with. A stop asked for by a signal is not a failure:
    /// the first signal ends the run with 0 in every phase (a second one exits at once, 130).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::InvalidInput { .. } => exit_codes::USAGE,
            Error::Interrupted => exit_codes::OK,
            _ => exit_codes::FAILURE,
        }
    }
}

/// The one rule for a failed write to stdout: a reader that went away (`| head`) ends the
/// output quietly (`Ok`); any other failure is an error.
pub fn output_closed(e: std::io::Error) -> Result<(), Error> {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe => Ok(()),
        _ => Err(Error::Io {
            what: "writing output".into(),
            source: e,
        }),
    }
}

/// Formats a duration as seconds with one decimal, for messages and summaries.
pub fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
