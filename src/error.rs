//! The library's one error type and the exit codes the binaries map it to.

use std::fmt;
use std::time::Duration;

/// Exit codes both binaries document in `--help` and the README.
pub mod exit {
    /// Everything was delivered or consumed.
    pub const OK: i32 = 0;
    /// The broker failed us: unreachable, refused a request, or a delivery failed.
    pub const FAILURE: i32 = 1;
    /// Bad usage or invalid input.
    pub const USAGE: i32 = 2;
    /// Interrupted a second time while shutting down.
    pub const INTERRUPTED: i32 = 130;
}

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
            Error::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::InvalidInput { .. } => exit::USAGE,
            _ => exit::FAILURE,
        }
    }
}

/// Formats a duration as seconds with one decimal, for messages and summaries.
pub fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
