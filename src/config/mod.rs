//! Command line and environment -> validated configuration, for both binaries. Pure: the
//! environment comes in as a lookup function, so tests pass their own.
//!
//! Every setting is one row of a table ([`PRODUCER`], [`CONSUMER`]): flag, short flag,
//! environment variable, default, rule (type and range) and help line. The parser, the defaults
//! and the option lines of `--help` ([`options_help`]) all read the same row, so they cannot
//! disagree.
//!
//! Parsing takes two steps, as in ripgrep. First the flags are collected as written: nothing is
//! checked and no environment variable is read, so `--help` and `--version` always work. Then
//! each setting is resolved, flag first, else its environment variable, else its default, and
//! checked against its rule. An environment variable set to the empty string counts as unset; an
//! empty flag value is an error. A variable is only read (and so can only be wrong) when no flag
//! overrides it. Every message names where the value came from, in one form,
//! `<source> <value>: <what is wrong>`: `--batch-size 0: must be from 1 to 100000`, or
//! `KAFKA_BATCH_SIZE=0: must be from 1 to 100000`.
//!
//! Here: the validated types and [`producer`] / [`consumer`]. The rows are in `table`, the help
//! lines in `help`, the choice of source and its naming in `source`, Kafka properties, JAAS and
//! logins in `kafka`, the rules that join settings in `rules`.

mod help;
mod kafka;
mod rules;
mod schemas;
mod source;
mod spool;
mod table;

use std::ffi::OsString;
use std::time::Duration;

use crate::client::{Acks, Compression, Isolation, Options, RetryPolicy, Security};
use crate::Error;

pub use help::options_help;
pub use schemas::Serializer;
use source::*;
pub use spool::{SpoolConfig, SpoolMode, SYNC_INTERVAL};
pub use table::*;

/// Appended to the topic to name the dead-letter topic when none is given.
const DLQ_SUFFIX: &str = ".dlq";
/// Longest topic name Kafka accepts.
pub const MAX_TOPIC_CHARS: usize = 249;
/// Longest consumer group name we accept (Kafka sets none; this keeps requests small).
pub const MAX_GROUP_CHARS: usize = 255;
/// Largest fetch size per partition, given or grown to for a large record.
pub const MAX_FETCH_BYTES: u64 = 64 * 1024 * 1024;
/// The Kafka protocol's strings carry an i16 length.
const MAX_CLIENT_ID_BYTES: usize = i16::MAX as usize;
/// A `--config` file larger than this is not a client.properties (a log, a device): refused
/// before it is read into memory.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// How to reach the brokers and how hard to try.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub brokers: Vec<String>,
    /// Attempts per request before giving up (1 to 1000).
    pub attempts: u32,
    /// First pause between attempts (at most 2 s); doubles up to `max_backoff`.
    pub backoff: Duration,
    /// Longest pause between attempts (at most 60 s).
    pub max_backoff: Duration,
    /// Longest wait for any single answer from the broker (0.1 s to 1 hour).
    pub request_timeout: Duration,
    /// Longest wait for a TCP connection to one broker (0.1 s to 300 s).
    pub connect_timeout: Duration,
    /// TLS and SASL (security.protocol and what it needs).
    pub security: Security,
    /// client.id; the program's name when `None`.
    pub client_id: Option<String>,
}

impl Connection {
    /// The client's options from these settings: `client_id` unless `--client-id` names
    /// another, responses up to `max_response_bytes`, and the topics a metadata request may
    /// create (as the Java producer's may).
    pub fn client_options(
        &self,
        client_id: &str,
        max_response_bytes: usize,
        creatable: &[&str],
    ) -> Options {
        Options {
            brokers: self.brokers.clone(),
            client_id: self
                .client_id
                .clone()
                .unwrap_or_else(|| client_id.to_string()),
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            retry: RetryPolicy {
                attempts: self.attempts,
                backoff: self.backoff,
                max_backoff: self.max_backoff,
            },
            max_response_bytes,
            creatable: creatable.iter().map(|t| t.to_string()).collect(),
            security: self.security.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

/// Where the producer's orders come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// One order from `--user/--item/--quantity` (demo values where not given), already checked
    /// with the order rules (and trimmed).
    One {
        user: String,
        item: String,
        quantity: u64,
    },
    /// N random orders.
    Count(u64),
    /// JSON lines on standard input.
    Stdin,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProducerConfig {
    pub connection: Connection,
    pub topic: String,
    pub input: Input,
    pub acks: Acks,
    /// Idempotent produce (producer id and sequence numbers). Only ever true with `Acks::All`:
    /// `--acks 0` or `1` turns it off, unless it was asked for explicitly (then it is an error).
    pub idempotence: bool,
    /// How long the broker waits for replicas; fits the protocol's i32 milliseconds.
    pub ack_timeout: Duration,
    pub compression: Compression,
    /// Orders per produce request (1 to 100000).
    pub batch_size: usize,
    /// Bytes of order JSON per produce request, at most (`batch.size`).
    pub batch_bytes: usize,
    /// Produce requests sent ahead of their answers (`max.in.flight.requests.per.connection`).
    pub max_in_flight: usize,
    /// Orders per second; `None` is as fast as the broker takes them.
    pub rate: Option<f64>,
    /// Plain JSON, or the registry's wire format.
    pub serializer: Serializer,
    /// Register the order schema on first use (`auto.register.schemas`), else look it up.
    pub auto_register: bool,
    /// `None` without `--schema-registry`; always there for a registry serializer.
    pub registry: Option<crate::registry::Settings>,
    pub format: Format,
    pub quiet: bool,
    pub strict: bool,
    pub seeing: Seeing,
    /// `--spool DIR`: store and forward, exactly once.
    pub spool: Option<SpoolConfig>,
}

/// How a run shows its figures while it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Seeing {
    /// `--stats SECS`.
    pub stats: Option<Duration>,
    /// `--stats-file PATH`; `None` is stderr.
    pub stats_file: Option<std::path::PathBuf>,
    pub stats_format: StatsFormat,
    /// A status line on a terminal, unless `--no-progress`.
    pub progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsFormat {
    Json,
    Prometheus,
}

/// Where the consumer starts when no committed offset applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Earliest,
    Latest,
    Offset(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerConfig {
    pub connection: Connection,
    pub topic: String,
    pub group: String,
    /// `false` with `--no-group`: go straight to manual assignment.
    pub use_group: bool,
    pub start: Start,
    /// Empty: every partition of the topic. Sorted, without repeats.
    pub partitions: Vec<i32>,
    pub max_messages: Option<u64>,
    pub idle_timeout: Option<Duration>,
    /// Commit at least every this many records (and after each fetch).
    pub commit_every: u64,
    pub format: Format,
    /// Always shorter than `connection.request_timeout`.
    pub fetch_wait: Duration,
    pub fetch_min_bytes: i32,
    pub fetch_max_bytes: i32,
    /// Bytes per fetch over every partition (`fetch.max.bytes`).
    pub fetch_total_bytes: i32,
    /// `None` with `--no-dlq`; never the topic itself.
    pub dlq_topic: Option<String>,
    /// How long the broker may wait for replicas of a dead letter (acks=all).
    pub dlq_ack_timeout: Duration,
    pub isolation: Isolation,
    /// How long the coordinator waits for a silent member (Java: session.timeout.ms).
    pub session_timeout: Duration,
    /// Pause between heartbeats; always shorter than `session_timeout`.
    pub heartbeat_interval: Duration,
    /// Longest time between polls, and how long a rejoin may take (Java: max.poll.interval.ms;
    /// the join's rebalance timeout). Fits the protocol's i32 milliseconds.
    pub max_poll_interval: Duration,
    /// How often the topic's partitions are looked up again (Java: metadata.max.age.ms).
    pub metadata_max_age: Duration,
    /// Static membership (Java: group.instance.id); `None` without `--instance-id`.
    pub instance_id: Option<String>,
    /// `--lag`: print the group's lag per partition and exit.
    pub lag: bool,
    /// Where the writer schemas of wire-format records are; `None` without `--schema-registry`.
    pub registry: Option<crate::registry::Settings>,
    pub seeing: Seeing,
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command<T> {
    Run(T),
    Help,
    Version,
}
/// Parses the producer's arguments (without the program name).
pub fn producer(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command<ProducerConfig>, Error> {
    let r = match Resolver::collect(PRODUCER, args, &env)? {
        Collected::Flags(r) => r,
        Collected::Help => return Ok(Command::Help),
        Collected::Version => return Ok(Command::Version),
    };
    r.check_properties()?;
    let input = r.input()?;
    let (acks, idempotence) = r.acks_and_idempotence()?;
    let registry = r.registry()?;
    Ok(Command::Run(ProducerConfig {
        connection: r.connection()?,
        topic: r.topic(&PRODUCER_TOPIC)?.text,
        input,
        acks,
        idempotence,
        ack_timeout: required(r.secs(&ACK_TIMEOUT)?),
        compression: r.chosen(&COMPRESSION, compression)?,
        batch_size: required(r.int(&BATCH_SIZE)?),
        batch_bytes: required(r.int(&BATCH_BYTES)?),
        max_in_flight: required(r.int(&MAX_IN_FLIGHT)?),
        rate: r.decimal(&RATE)?,
        serializer: r.serializer(&registry)?,
        auto_register: r.auto_register()?,
        registry,
        format: r.chosen(&PRODUCER_FORMAT, format)?,
        quiet: r.switch(&QUIET),
        strict: r.switch(&STRICT),
        seeing: r.seeing()?,
        spool: r.spool()?,
    }))
}

/// Parses the consumer's arguments (without the program name).
pub fn consumer(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command<ConsumerConfig>, Error> {
    let r = match Resolver::collect(CONSUMER, args, &env)? {
        Collected::Flags(r) => r,
        Collected::Help => return Ok(Command::Help),
        Collected::Version => return Ok(Command::Version),
    };
    r.check_properties()?;
    let connection = r.connection()?;
    let topic = r.topic(&CONSUMER_TOPIC)?;

    if r.switch(&LAG) {
        // --lag prints and exits: what shapes a run that reads does not apply.
        for setting in [&MAX_MESSAGES, &IDLE_TIMEOUT, &STATS] {
            if let Some(given) = r.flag(setting)? {
                return Err(usage(
                    &given,
                    "does not go with --lag (it prints the lag and exits)",
                ));
            }
        }
    }
    let use_group = !r.switch(&NO_GROUP);
    if !use_group {
        for setting in [&GROUP, &INSTANCE_ID, &LAG] {
            if let Some(given) = r.flag(setting)? {
                return Err(usage(&given, "does not go with --no-group"));
            }
        }
    }
    // Without a group, KAFKA_GROUP and KAFKA_GROUP_INSTANCE_ID do not matter, and so cannot be
    // wrong.
    let (group, instance_id) = match use_group {
        true => (r.group(&GROUP)?, r.kafka_name(&INSTANCE_ID)?),
        false => (String::new(), None),
    };
    let session_timeout = required(r.secs(&SESSION_TIMEOUT)?);
    let heartbeat_interval = required(r.secs(&HEARTBEAT_INTERVAL)?);
    if use_group && heartbeat_interval >= session_timeout {
        return Err(r.not_shorter(
            (&HEARTBEAT_INTERVAL, "the heartbeat interval", "s"),
            (&SESSION_TIMEOUT, "the session timeout", "s"),
        )?);
    }

    let dlq_topic = if r.switch(&NO_DLQ) {
        for setting in [&DLQ_TOPIC, &DLQ_ACK_TIMEOUT] {
            if let Some(given) = r.flag(setting)? {
                return Err(usage(&given, "does not go with --no-dlq"));
            }
        }
        None
    } else {
        Some(r.dlq_topic(&topic)?)
    };

    // The broker's fetch wait is added to the request timeout, not counted against it.
    let fetch_wait = required(r.millis(&FETCH_WAIT_MS)?);

    let mut partitions = r.all_ints(&PARTITION)?;
    partitions.sort_unstable();
    partitions.dedup();
    Ok(Command::Run(ConsumerConfig {
        connection,
        topic: topic.text,
        group,
        use_group,
        start: required(r.start(&FROM)?),
        partitions,
        max_messages: r.int(&MAX_MESSAGES)?,
        idle_timeout: r.secs(&IDLE_TIMEOUT)?,
        commit_every: required(r.int(&COMMIT_EVERY)?),
        format: r.chosen(&CONSUMER_FORMAT, format)?,
        fetch_wait,
        fetch_min_bytes: required(r.int(&FETCH_MIN_BYTES)?),
        fetch_max_bytes: required(r.int(&FETCH_MAX_BYTES)?),
        fetch_total_bytes: required(r.int(&FETCH_TOTAL_BYTES)?),
        dlq_topic,
        dlq_ack_timeout: required(r.secs(&DLQ_ACK_TIMEOUT)?),
        isolation: r.chosen(&ISOLATION, isolation)?,
        session_timeout,
        heartbeat_interval,
        max_poll_interval: required(r.secs(&MAX_POLL_INTERVAL)?),
        metadata_max_age: required(r.secs(&METADATA_MAX_AGE)?),
        instance_id,
        lag: r.switch(&LAG),
        registry: r.registry()?,
        seeing: r.seeing()?,
    }))
}

/// The words of `--acks`: Kafka's, with `-1` for all.
fn acks(word: &str) -> Option<Acks> {
    match word {
        "0" => Some(Acks::None),
        "1" => Some(Acks::Leader),
        "all" | "-1" => Some(Acks::All),
        _ => None,
    }
}

/// The words of `--compression`: the client's names for its codecs (Kafka's `compression.type`).
fn compression(word: &str) -> Option<Compression> {
    use Compression::*;
    [None, Gzip, Snappy, Lz4, Zstd]
        .into_iter()
        .find(|c| c.name() == word)
}

/// The words of `--isolation`: Kafka's `isolation.level`.
fn isolation(word: &str) -> Option<Isolation> {
    match word {
        "read_committed" => Some(Isolation::ReadCommitted),
        "read_uncommitted" => Some(Isolation::ReadUncommitted),
        _ => None,
    }
}

fn format(word: &str) -> Option<Format> {
    match word {
        "human" => Some(Format::Human),
        "json" => Some(Format::Json),
        _ => None,
    }
}

/// The value of a setting that has a default, so is always there.
fn required<T>(value: Option<T>) -> T {
    value.expect("a setting with a default always has a value")
}

fn lexopt_error(e: lexopt::Error) -> Error {
    Error::Usage(e.to_string())
}

#[cfg(test)]
mod tests;
