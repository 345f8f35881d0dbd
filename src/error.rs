//! The library's one error type and the exit code each error maps to ([`crate::exit_codes`]).

use std::fmt;
use std::time::Duration;

use crate::exit_codes;

/// The exit codes under their old path, until every caller names [`crate::exit_codes`].
pub use crate::exit_codes as exit;

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
    /// The topic does not exist, or has no leader, after every retry.
    TopicUnavailable {
        topic: String,
        brokers: String,
        attempts: u32,
    },
    /// The broker refuses the old protocol versions the `kafka` crate sends (Kafka 4.x).
    BrokerTooNew {
        broker: String,
        refused: Vec<String>,
    },
    /// The broker answered a request with an error that retrying does not fix, or retries ran out.
    Broker { what: String, cause: String },
    /// A topic the consumer reads (or writes dead letters to) does not exist.
    NoSuchTopic { topic: String, brokers: String },
    /// A stop was asked for (Ctrl-C, SIGTERM) while waiting.
    Interrupted,
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
            Error::TopicUnavailable {
                topic,
                brokers,
                attempts,
            } => write!(
                f,
                "topic '{topic}' has no available partitions on {brokers} after {attempts} attempts: \
                 create it with `make topic TOPIC={topic}` (or `scripts/kafka-local topic {topic}`)"
            ),
            Error::BrokerTooNew { broker, refused } => write!(
                f,
                "the broker at {broker} is too new for this build: it refuses {}, which the `kafka` \
                 crate sends (Kafka 4.0 removed these versions). Use a Kafka 3.x broker; 3.9 is the \
                 newest that works (`make up` runs it)",
                refused.join(", ")
            ),
            Error::Broker { what, cause } => write!(f, "{what}: {cause}"),
            Error::NoSuchTopic { topic, brokers } => write!(
                f,
                "topic '{topic}' does not exist on {brokers}: create it with \
                 `make topic TOPIC={topic}` (or `scripts/kafka-local topic {topic}`)"
            ),
            Error::Interrupted => write!(f, "interrupted"),
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

/// Formats a duration as seconds with one decimal, for messages and summaries.
pub fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
