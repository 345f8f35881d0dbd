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

use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use lexopt::prelude::*;
use uuid::Uuid;

use crate::client::{Login, Mechanism, Security, Tls};
use crate::order::{self, Invalid, Order};
use crate::properties::{self, Jaas};
use crate::Error;

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
    /// First pause between attempts (at most 2 s); doubles up to 2 s.
    pub backoff: Duration,
    /// Longest wait for any single answer from the broker (0.1 s to 1 hour).
    pub request_timeout: Duration,
    /// Longest wait for a TCP connection to one broker (0.1 s to 300 s).
    pub connect_timeout: Duration,
    /// TLS and SASL (security.protocol and what it needs).
    pub security: Security,
    /// client.id; the program's name when `None`.
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    None,
    Leader,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

/// Which records of transactions the consumer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Only committed ones: records of aborted or open transactions are skipped.
    ReadCommitted,
    /// Every record, as written.
    ReadUncommitted,
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
    pub compression: Codec,
    /// Orders per produce request (1 to 100000).
    pub batch_size: usize,
    /// Orders per second; `None` is as fast as the broker takes them.
    pub rate: Option<f64>,
    pub format: Format,
    pub quiet: bool,
    pub strict: bool,
    pub seeing: Seeing,
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
    /// `None` with `--no-dlq`; never the topic itself.
    pub dlq_topic: Option<String>,
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
    pub seeing: Seeing,
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command<T> {
    Run(T),
    Help,
    Version,
}

/// One setting: everything the parser and the help text know about it. Built with [`flag`] and
/// the methods below, one row per setting.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The flag without its dashes.
    pub long: &'static str,
    pub short: Option<char>,
    /// The value's name in the help (`N`, `SECS`); `None` for a flag without a value.
    pub value: Option<&'static str>,
    pub env: Option<&'static str>,
    pub default: Fallback,
    pub rule: Rule,
    /// One line of help, without the range (which comes from `rule`).
    pub help: &'static str,
    /// The Kafka client property (Java and librdkafka name) that sets it in `--config` files
    /// and `-X`.
    pub property: Option<&'static str>,
    /// The property is in milliseconds where the flag is in seconds (`session.timeout.ms`).
    pub property_ms: bool,
    /// The value is a secret: messages show `****` in its place.
    pub secret: bool,
}

/// A block of settings under one title in the help.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    pub title: &'static str,
    pub settings: &'static [Setting],
}

/// What a setting is when neither its flag nor its environment variable gives it.
#[derive(Debug, Clone, Copy)]
pub enum Fallback {
    /// This text, checked by the same rule as a value given by flag.
    Value(&'static str),
    /// No value; the text says what that means (shown in the help unless empty).
    Absent(&'static str),
}

/// What a value must look like.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// A flag without a value.
    Switch,
    /// A flag without a value whose environment variable is `true` or `false`.
    Bool,
    /// A whole number from `min` to `max`.
    Int { min: u64, max: u64 },
    /// A number, decimals allowed, from `min` to `max`.
    Decimal { min: f64, max: f64 },
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A Kafka topic name.
    Topic,
    /// A consumer group name.
    Group,
    /// `host:port[,host:port...]`.
    Brokers,
    /// `earliest`, `latest` or an offset.
    Start,
    /// The user or item of an order (the order's own rule).
    OrderText,
    /// A file path.
    Path,
    /// Any text without control characters (a user name, a password, a client id).
    Text,
    /// `KEY=VALUE`, a Kafka client property.
    Property,
}

impl Rule {
    const fn int(min: u64, max: u64) -> Rule {
        Rule::Int { min, max }
    }

    const fn decimal(min: f64, max: f64) -> Rule {
        Rule::Decimal { min, max }
    }

    /// The range or the choices, as the help states them.
    fn range(&self) -> Option<String> {
        match self {
            Rule::Switch | Rule::Brokers | Rule::Path | Rule::Text | Rule::Property => None,
            Rule::Bool => Some("true or false".into()),
            Rule::Int { min, max } => Some(format!("{min} to {max}")),
            Rule::Decimal { min, max } => Some(format!("{min} to {max}")),
            Rule::Choice(words) => Some(match words.split_last() {
                Some((last, [])) => last.to_string(),
                Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                None => String::new(),
            }),
            Rule::Topic => Some(format!("1 to {MAX_TOPIC_CHARS} of a-z A-Z 0-9 . _ -")),
            Rule::Group => Some(format!("1 to {MAX_GROUP_CHARS} characters")),
            Rule::Start => Some(format!(
                "earliest, latest or an offset from 0 to {}",
                i64::MAX
            )),
            Rule::OrderText => Some(format!("1 to {} characters", order::MAX_TEXT_CHARS)),
        }
    }
}

/// A flag without a value, variable or default: the start of every row.
const fn flag(long: &'static str) -> Setting {
    Setting {
        long,
        short: None,
        value: None,
        env: None,
        default: Fallback::Absent(""),
        rule: Rule::Switch,
        help: "",
        property: None,
        property_ms: false,
        secret: false,
    }
}

impl Setting {
    const fn short(self, c: char) -> Setting {
        Setting {
            short: Some(c),
            ..self
        }
    }

    /// Takes a value, checked by `rule`.
    const fn value(self, name: &'static str, rule: Rule) -> Setting {
        Setting {
            value: Some(name),
            rule,
            ..self
        }
    }

    const fn env(self, name: &'static str) -> Setting {
        Setting {
            env: Some(name),
            ..self
        }
    }

    const fn default(self, text: &'static str) -> Setting {
        Setting {
            default: Fallback::Value(text),
            ..self
        }
    }

    /// No default value; `meaning` says what happens without one.
    const fn when_unset(self, meaning: &'static str) -> Setting {
        Setting {
            default: Fallback::Absent(meaning),
            ..self
        }
    }

    const fn help(self, text: &'static str) -> Setting {
        Setting { help: text, ..self }
    }

    /// Also set by this Kafka client property.
    const fn property(self, name: &'static str) -> Setting {
        Setting {
            property: Some(name),
            ..self
        }
    }

    /// Also set by this Kafka client property, given in milliseconds.
    const fn property_ms(self, name: &'static str) -> Setting {
        Setting {
            property: Some(name),
            property_ms: true,
            ..self
        }
    }

    const fn secret(self) -> Setting {
        Setting {
            secret: true,
            ..self
        }
    }
}

const FORMATS: Rule = Rule::Choice(&["human", "json"]);

const CONNECTION: Section = Section {
    title: "Connection",
    settings: &[
        flag("brokers")
            .short('b')
            .value("LIST", Rule::Brokers)
            .env("KAFKA_BROKERS")
            .property("bootstrap.servers")
            .default("localhost:9092")
            .help("brokers to start from, host:port[,host:port...]"),
        flag("retries")
            .value("N", Rule::int(1, 1000))
            .env("KAFKA_RETRIES")
            .default("10")
            .help("attempts per request"),
        flag("retry-backoff-ms")
            .value("MS", Rule::int(0, 2000))
            .env("KAFKA_RETRY_BACKOFF_MS")
            .property("retry.backoff.ms")
            .default("200")
            .help("first pause between attempts, doubling up to 2 s"),
        flag("request-timeout")
            .value("SECS", Rule::decimal(0.1, 3600.0))
            .env("KAFKA_REQUEST_TIMEOUT")
            .property_ms("request.timeout.ms")
            .default("30")
            .help("longest wait for any answer"),
        flag("connect-timeout")
            .value("SECS", Rule::decimal(0.1, 300.0))
            .env("KAFKA_CONNECT_TIMEOUT")
            .property_ms("socket.connection.setup.timeout.ms")
            .default("10")
            .help("longest wait to connect to a broker and be ready for requests (TLS, versions, SASL login)"),
    ],
};

/// TLS, SASL and the Kafka client properties, shared by both binaries.
const SECURITY: Section = Section {
    title: "Security and Kafka client properties",
    settings: &[
        flag("config")
            .short('F')
            .value("FILE", Rule::Path)
            .env("KAFKA_CONFIG")
            .when_unset("none")
            .help("read Kafka client properties (a client.properties file) from FILE"),
        flag("property")
            .short('X')
            .value("KEY=VALUE", Rule::Property)
            .help("set a Kafka client property, as kcat -X does; repeatable"),
        flag("security-protocol")
            .value(
                "PROTOCOL",
                Rule::Choice(&["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]),
            )
            .env("KAFKA_SECURITY_PROTOCOL")
            .property("security.protocol")
            .default("PLAINTEXT")
            .help("how to talk to the brokers"),
        flag("sasl-mechanism")
            .value(
                "NAME",
                Rule::Choice(&["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]),
            )
            .env("KAFKA_SASL_MECHANISM")
            .property("sasl.mechanism")
            .default("PLAIN")
            .help("SASL login mechanism"),
        flag("sasl-username")
            .value("NAME", Rule::Text)
            .env("KAFKA_SASL_USERNAME")
            .property("sasl.username")
            .help("SASL user (or the username of sasl.jaas.config)"),
        flag("sasl-password")
            .value("SECRET", Rule::Text)
            .env("KAFKA_SASL_PASSWORD")
            .property("sasl.password")
            .secret()
            .help("SASL password (or that of sasl.jaas.config); a flag shows in ps, a variable does not"),
        flag("ssl-ca-location")
            .value("FILE", Rule::Path)
            .env("KAFKA_SSL_CA_LOCATION")
            .property("ssl.ca.location")
            .when_unset("the system's CA bundle")
            .help("the CAs (PEM) that sign the brokers' certificates"),
        flag("ssl-certificate-location")
            .value("FILE", Rule::Path)
            .env("KAFKA_SSL_CERTIFICATE_LOCATION")
            .property("ssl.certificate.location")
            .help("client certificate (PEM), for mutual TLS"),
        flag("ssl-key-location")
            .value("FILE", Rule::Path)
            .env("KAFKA_SSL_KEY_LOCATION")
            .property("ssl.key.location")
            .help("the client certificate's private key (PEM, unencrypted)"),
        flag("ssl-endpoint-identification-algorithm")
            .value("ALG", Rule::Choice(&["https", "none"]))
            .env("KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM")
            .property("ssl.endpoint.identification.algorithm")
            .default("https")
            .help("https: the broker's certificate must name its host; none (or empty): no check"),
        flag("client-id")
            .value("ID", Rule::Text)
            .env("KAFKA_CLIENT_ID")
            .property("client.id")
            .when_unset("the program's name")
            .help("the name brokers log and set quotas by"),
    ],
};

const HELP: Setting = flag("help").short('h').help("print this help");
const VERSION: Setting = flag("version").short('V').help("print the version");

/// Figures while running, shared by both binaries.
const SEEING: Section = Section {
    title: "Seeing inside",
    settings: &[
        flag("stats")
            .value("SECS", Rule::decimal(0.1, 86_400.0))
            .env("KAFKA_STATS_INTERVAL")
            .when_unset("off")
            .help("every SECS, write the run's figures (counters, latencies, lag)"),
        flag("stats-file")
            .value("PATH", Rule::Path)
            .env("KAFKA_STATS_FILE")
            .when_unset("stderr")
            .help("write them to PATH (replaced whole each time) instead of stderr"),
        flag("stats-format")
            .value("FORMAT", Rule::Choice(&["json", "prometheus"]))
            .env("KAFKA_STATS_FORMAT")
            .default("json")
            .help("one JSON object, or the Prometheus text format (needs --stats-file)"),
        flag("no-progress")
            .help("no status line on a terminal (there is none when stderr is not one)"),
    ],
};

/// Every setting of `order-producer`, in help order.
pub const PRODUCER: &[Section] = &[
    Section {
        title: "Orders",
        settings: &[
            flag("user")
                .value("NAME", Rule::OrderText)
                .default("demo-user")
                .help("user of the one order"),
            flag("item")
                .value("NAME", Rule::OrderText)
                .default("demo-item")
                .help("item of the one order"),
            flag("quantity")
                .value("N", Rule::int(1, order::MAX_QUANTITY))
                .default("1")
                .help("quantity of the one order"),
            flag("count")
                .short('n')
                .value("N", Rule::int(1, 1_000_000_000_000))
                .help("send N random orders instead"),
            flag("stdin").help("send the JSON lines of standard input instead"),
            flag("strict").help("stop at the first invalid input line"),
        ],
    },
    Section {
        title: "Sending",
        settings: &[
            flag("topic")
                .short('t')
                .value("NAME", Rule::Topic)
                .env("KAFKA_TOPIC")
                .default("orders")
                .help("topic to send to"),
            flag("acks")
                .value("ACKS", Rule::Choice(&["0", "1", "all", "-1"]))
                .env("KAFKA_ACKS")
                .property("acks")
                .default("all")
                .help("acknowledgement to wait for"),
            Setting {
                rule: Rule::Bool,
                ..flag("idempotence")
                    .env("KAFKA_ENABLE_IDEMPOTENCE")
                    .property("enable.idempotence")
                    .default("true")
                    .help("store each order once even when a request is retried; needs --acks all")
            },
            flag("no-idempotence").help("turn idempotence off (--acks 0 or 1 does too)"),
            flag("ack-timeout")
                .value("SECS", Rule::decimal(0.0, 3600.0))
                .env("KAFKA_ACK_TIMEOUT")
                .default("10")
                .help("how long the broker may wait for replicas"),
            flag("compression")
                .value(
                    "CODEC",
                    Rule::Choice(&["none", "gzip", "snappy", "lz4", "zstd"]),
                )
                .env("KAFKA_COMPRESSION")
                .property("compression.type")
                .default("none")
                .help("compression of each batch"),
            flag("batch-size")
                .value("N", Rule::int(1, 100_000))
                .env("KAFKA_BATCH_SIZE")
                .default("500")
                .help("orders per produce request"),
            flag("rate")
                .value("N", Rule::decimal(0.001, 1_000_000.0))
                .when_unset("unlimited")
                .help("send at most N orders per second"),
        ],
    },
    CONNECTION,
    SECURITY,
    SEEING,
    Section {
        title: "Output",
        settings: &[
            flag("format")
                .value("FORMAT", FORMATS)
                .default("human")
                .help("how to print deliveries"),
            flag("quiet")
                .short('q')
                .help("print no deliveries, only the summary and errors"),
            HELP,
            VERSION,
        ],
    },
];

/// Every setting of `order-consumer`, in help order.
pub const CONSUMER: &[Section] = &[
    Section {
        title: "Reading",
        settings: &[
            flag("topic")
                .short('t')
                .value("NAME", Rule::Topic)
                .env("KAFKA_TOPIC")
                .default("orders")
                .help("topic to read"),
            flag("from")
                .value("POS", Rule::Start)
                .env("KAFKA_FROM")
                .property("auto.offset.reset")
                .default("earliest")
                .help("where to start without a committed offset"),
            flag("partition")
                .short('p')
                .value("P", Rule::int(0, i32::MAX as u64))
                .when_unset("all")
                .help("read only partition P; repeatable"),
            flag("max-messages")
                .short('n')
                .value("N", Rule::int(1, 1_000_000_000_000))
                .help("stop after N records, valid or not"),
            flag("idle-timeout")
                .value("SECS", Rule::decimal(0.0, 604_800.0))
                .env("KAFKA_IDLE_TIMEOUT")
                .when_unset("never")
                .help("stop after SECS with nothing new"),
            flag("isolation")
                .value(
                    "LEVEL",
                    Rule::Choice(&["read_committed", "read_uncommitted"]),
                )
                .env("KAFKA_ISOLATION")
                .property("isolation.level")
                .default("read_committed")
                .help("skip records of aborted transactions, or not"),
        ],
    },
    Section {
        title: "Group",
        settings: &[
            flag("group")
                .short('g')
                .value("NAME", Rule::Group)
                .env("KAFKA_GROUP")
                .property("group.id")
                .default("order_consumer_group")
                .help("consumer group, which stores the offsets"),
            flag("no-group").help("skip the group: read partitions directly, commit nothing"),
            flag("lag").help(
                "print the group's committed offset, end offset and lag per partition, then exit",
            ),
            flag("commit-every")
                .value("N", Rule::int(1, 1_000_000))
                .env("KAFKA_COMMIT_EVERY")
                .default("100")
                .help("commit at least every N records"),
            flag("instance-id")
                .value("ID", Rule::Topic)
                .env("KAFKA_GROUP_INSTANCE_ID")
                .property("group.instance.id")
                .when_unset("none")
                .help("static membership: the same ID keeps its partitions across restarts"),
            flag("session-timeout")
                .value("SECS", Rule::decimal(1.0, 3600.0))
                .env("KAFKA_SESSION_TIMEOUT")
                .property_ms("session.timeout.ms")
                .default("45")
                .help(
                    "how long the group waits for a member whose heartbeats stop (they go on \
                     while output blocks); the broker allows 6 to 1800 unless changed",
                ),
            flag("heartbeat-interval")
                .value("SECS", Rule::decimal(0.1, 3600.0))
                .env("KAFKA_HEARTBEAT_INTERVAL")
                .property_ms("heartbeat.interval.ms")
                .default("3")
                .help("pause between heartbeats, below --session-timeout"),
            flag("max-poll-interval")
                .value("SECS", Rule::decimal(1.0, 86_400.0))
                .env("KAFKA_MAX_POLL_INTERVAL")
                .property_ms("max.poll.interval.ms")
                .default("300")
                .help(
                    "longest a member may take over one fetch (a blocked stdout included) before \
                     it leaves the group and rejoins; also how long a rebalance may wait",
                ),
        ],
    },
    Section {
        title: "Dead letters",
        settings: &[
            flag("dlq-topic")
                .value("NAME", Rule::Topic)
                .env("KAFKA_DLQ_TOPIC")
                .when_unset("<topic>.dlq")
                .help("topic for invalid records (not --topic)"),
            flag("no-dlq").help("only log invalid records"),
        ],
    },
    Section {
        title: "Fetching",
        settings: &[
            flag("fetch-wait-ms")
                .value("MS", Rule::int(0, 300_000))
                .env("KAFKA_FETCH_WAIT_MS")
                .property("fetch.max.wait.ms")
                .default("500")
                .help("longest broker wait per fetch, below --request-timeout"),
            flag("fetch-min-bytes")
                .value("N", Rule::int(1, MAX_FETCH_BYTES))
                .env("KAFKA_FETCH_MIN_BYTES")
                .property("fetch.min.bytes")
                .default("1")
                .help("bytes the broker waits for"),
            flag("fetch-max-bytes")
                .value("N", Rule::int(1024, MAX_FETCH_BYTES))
                .env("KAFKA_FETCH_MAX_BYTES")
                .default("1048576")
                .help("bytes per partition and fetch, grown for a larger record"),
            flag("metadata-max-age")
                .value("SECS", Rule::decimal(1.0, 86_400.0))
                .env("KAFKA_METADATA_MAX_AGE")
                .property_ms("metadata.max.age.ms")
                .default("300")
                .help(
                    "how often the topic's partitions are looked up again: partitions added to \
                     it are read from their earliest offset (a group rebalances for them)",
                ),
        ],
    },
    CONNECTION,
    SECURITY,
    SEEING,
    Section {
        title: "Output",
        settings: &[
            flag("format")
                .value("FORMAT", FORMATS)
                .default("human")
                .help("how to print orders"),
            HELP,
            VERSION,
        ],
    },
];

/// Every setting of `table`, in order.
fn settings(table: &'static [Section]) -> impl Iterator<Item = &'static Setting> {
    table.iter().flat_map(|section| section.settings)
}

/// Looks a setting of `table` up by its flag; every name asked for is in the table.
fn find(table: &'static [Section], long: &str) -> &'static Setting {
    settings(table)
        .find(|s| s.long == long)
        .unwrap_or_else(|| panic!("--{long} is in the table"))
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
    let input = r.input()?;
    let (acks, idempotence) = r.acks_and_idempotence()?;
    Ok(Command::Run(ProducerConfig {
        connection: r.connection()?,
        topic: r.topic("topic")?.text,
        input,
        acks,
        idempotence,
        ack_timeout: required(r.secs("ack-timeout")?),
        compression: match required(r.choice("compression")?) {
            "none" => Codec::None,
            "gzip" => Codec::Gzip,
            "snappy" => Codec::Snappy,
            "lz4" => Codec::Lz4,
            "zstd" => Codec::Zstd,
            other => unreachable!("--compression {other} is not in the table"),
        },
        batch_size: required(r.int("batch-size")?),
        rate: r.decimal("rate")?,
        format: r.format()?,
        quiet: r.switch("quiet"),
        strict: r.switch("strict"),
        seeing: r.seeing()?,
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
    let connection = r.connection()?;
    let topic = r.topic("topic")?;

    if r.switch("lag") {
        // --lag prints and exits: what shapes a run that reads does not apply.
        for long in ["max-messages", "idle-timeout", "stats"] {
            if let Some(given) = r.flag(long)? {
                return Err(usage(
                    &given,
                    "does not go with --lag (it prints the lag and exits)",
                ));
            }
        }
    }
    let use_group = !r.switch("no-group");
    if !use_group {
        for long in ["group", "instance-id", "lag"] {
            if let Some(given) = r.flag(long)? {
                return Err(usage(&given, "does not go with --no-group"));
            }
        }
    }
    // Without a group, KAFKA_GROUP and KAFKA_GROUP_INSTANCE_ID do not matter, and so cannot be
    // wrong.
    let (group, instance_id) = match use_group {
        true => (r.group("group")?, r.kafka_name("instance-id")?),
        false => (String::new(), None),
    };
    let session_timeout = required(r.secs("session-timeout")?);
    let heartbeat_interval = required(r.secs("heartbeat-interval")?);
    if use_group && heartbeat_interval >= session_timeout {
        return Err(r.not_shorter(
            ("heartbeat-interval", "the heartbeat interval", "s"),
            ("session-timeout", "the session timeout", "s"),
        )?);
    }

    let dlq_topic = if r.switch("no-dlq") {
        if let Some(dlq) = r.flag("dlq-topic")? {
            return Err(usage(&dlq, "does not go with --no-dlq"));
        }
        None
    } else {
        Some(r.dlq_topic(&topic)?)
    };

    // The broker's fetch wait is added to the request timeout, not counted against it.
    let fetch_wait = required(r.millis("fetch-wait-ms")?);

    let mut partitions = r.all_ints("partition")?;
    partitions.sort_unstable();
    partitions.dedup();
    Ok(Command::Run(ConsumerConfig {
        connection,
        topic: topic.text,
        group,
        use_group,
        start: required(r.start("from")?),
        partitions,
        max_messages: r.int("max-messages")?,
        idle_timeout: r.secs("idle-timeout")?,
        commit_every: required(r.int("commit-every")?),
        format: r.format()?,
        fetch_wait,
        fetch_min_bytes: required(r.int("fetch-min-bytes")?),
        fetch_max_bytes: required(r.int("fetch-max-bytes")?),
        dlq_topic,
        isolation: match required(r.choice("isolation")?) {
            "read_committed" => Isolation::ReadCommitted,
            "read_uncommitted" => Isolation::ReadUncommitted,
            other => unreachable!("--isolation {other} is not in the table"),
        },
        session_timeout,
        heartbeat_interval,
        max_poll_interval: required(r.secs("max-poll-interval")?),
        metadata_max_age: required(r.secs("metadata-max-age")?),
        instance_id,
        lag: r.switch("lag"),
        seeing: r.seeing()?,
    }))
}

/// The option lines of `--help` for `table`: one block per section. Each option shows its
/// flags, value, help and range, then its environment variable and default.
pub fn options_help(table: &[Section]) -> String {
    let mut out = String::new();
    for section in table {
        out.push_str(&format!("\n{}:\n", section.title));
        for s in section.settings {
            option_help(&mut out, s);
        }
    }
    out
}

fn option_help(out: &mut String, s: &Setting) {
    let flags = match s.short {
        Some(c) => format!("  -{c}, --{}", s.long),
        None => format!("      --{}", s.long),
    };
    let value = s.value.map(|v| format!(" {v}")).unwrap_or_default();
    let mut words: Vec<String> = s.help.split(' ').map(String::from).collect();
    if let Some(range) = s.rule.range().filter(|_| s.value.is_some()) {
        let range = format!("({range})");
        // A range is read as one: it moves to the next line whole when it fits there.
        if range.len() <= HELP_WIDTH - HELP_COLUMN {
            words.push(range);
        } else {
            words.extend(range.split(' ').map(String::from));
        }
    }
    fill(out, &format!("{flags}{value}"), &words);
    let mut notes = Vec::new();
    match (s.env, s.rule) {
        (Some(env), Rule::Bool) => notes.push(format!("[env: {env}=true|false]")),
        (Some(env), _) => notes.push(format!("[env: {env}]")),
        (None, _) => {}
    }
    if let Some(property) = s.property {
        notes.push(format!("[property: {property}]"));
    }
    match s.default {
        Fallback::Value(v) | Fallback::Absent(v) if !v.is_empty() => {
            notes.push(format!("[default: {v}]"))
        }
        _ => {}
    }
    if !notes.is_empty() {
        fill(out, "", &notes);
    }
}

/// Where option help starts, and where no help line goes past.
const HELP_COLUMN: usize = 30;
const HELP_WIDTH: usize = 80;

/// Writes `words` as lines that start at the help column and end before the width, the first
/// one after `lead` (on a line of its own when `lead` leaves no room for two spaces).
fn fill(out: &mut String, lead: &str, words: &[String]) {
    let mut line = lead.to_string();
    if line.len() + 2 > HELP_COLUMN {
        out.push_str(&line);
        out.push('\n');
        line.clear();
    }
    let mut empty = true;
    for word in words {
        if !empty && line.len() + 1 + word.len() > HELP_WIDTH {
            out.push_str(&line);
            out.push('\n');
            line.clear();
            empty = true;
        }
        if empty {
            line = format!("{line:HELP_COLUMN$}{word}");
            empty = false;
        } else {
            line.push(' ');
            line.push_str(word);
        }
    }
    out.push_str(&line);
    out.push('\n');
}

/// A wait as cross-checks name it: its flag, what it is, its unit.
type Wait = (&'static str, &'static str, &'static str);

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Flag(&'static str),
    /// A Kafka client property from `-X` or a `--config` file, as written there.
    Property(Prop),
    Env(&'static str),
    Default,
}

/// A Kafka client property as given: `key` and `value` as written, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Prop {
    key: String,
    value: String,
    origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    X,
    File { path: String, line: usize },
}

impl fmt::Display for Prop {
    /// A value shows only under a key this program knows and that holds no secret: a misspelled
    /// key (`sasl.pasword`) may well hold one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = match properties::redacted(&self.key) || !known_key(&self.key) {
            true => "****".to_string(),
            false => shown(&self.value),
        };
        match &self.origin {
            Origin::X => write!(f, "-X {}={value}", self.key),
            Origin::File { path, line } => write!(f, "{path} line {line}: {}={value}", self.key),
        }
    }
}

/// A value with its source; shows as in messages: `--batch-size 0`, `KAFKA_BATCH_SIZE=0`,
/// `-X acks=2`, `client.properties line 3: acks=2`, `default 500`, or `--quiet` for a flag
/// without a value. A secret shows as `****`.
#[derive(Debug, Clone)]
struct Given {
    source: Source,
    text: String,
    secret: bool,
    /// Read from a property in milliseconds; `text` is in seconds.
    millis: bool,
}

impl fmt::Display for Given {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = match self.secret {
            true => "****".to_string(),
            false => shown(&self.text),
        };
        match &self.source {
            // Empty flag values are refused, so an empty one is a flag that takes none.
            Source::Flag(long) if self.text.is_empty() => write!(f, "--{long}"),
            Source::Flag(long) => write!(f, "--{long} {shown}"),
            Source::Property(prop) => write!(f, "{prop}"),
            Source::Env(name) => write!(f, "{name}={shown}"),
            Source::Default => write!(f, "default {shown}"),
        }
    }
}

/// A value as messages show it: as is when it is a short plain word, else quoted (and cut
/// short, so one bad value cannot flood the terminal).
fn shown(text: &str) -> String {
    const SHOWN: usize = 40;
    let plain = |c: char| c.is_alphanumeric() || "._-:,+/@<>".contains(c);
    if !text.is_empty() && text.chars().count() <= SHOWN && text.chars().all(plain) {
        text.to_string()
    } else if text.chars().count() <= SHOWN {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(SHOWN).collect();
        format!("{head:?}...")
    }
}

fn usage(given: &Given, what: &str) -> Error {
    Error::Usage(format!("{given}: {what}"))
}

enum Collected<'e> {
    Flags(Resolver<'e>),
    Help,
    Version,
}

/// The flags as given, the properties, and the environment: resolves each setting on demand.
struct Resolver<'e> {
    table: &'static [Section],
    /// In command-line order; `None` for a flag without a value.
    flags: Vec<(&'static Setting, Option<OsString>)>,
    env: &'e dyn Fn(&str) -> Option<String>,
    /// `-X` properties, in order (the last one of a key wins).
    x_props: Vec<Prop>,
    /// The `--config` file's properties, in order.
    file_props: Vec<Prop>,
}

impl<'e> Resolver<'e> {
    /// Step one: the flags as written. Only unknown flags and missing values are errors here.
    fn collect(
        table: &'static [Section],
        args: impl IntoIterator<Item = OsString>,
        env: &'e dyn Fn(&str) -> Option<String>,
    ) -> Result<Collected<'e>, Error> {
        let mut parser = lexopt::Parser::from_args(args);
        let mut flags = Vec::new();
        while let Some(arg) = parser.next().map_err(lexopt_error)? {
            let setting = match &arg {
                Short(c) => settings(table).find(|s| s.short == Some(*c)),
                Long(name) => settings(table).find(|s| s.long == *name),
                Value(_) => None,
            };
            let Some(setting) = setting else {
                return Err(lexopt_error(arg.unexpected()));
            };
            match setting.long {
                "help" => return Ok(Collected::Help),
                "version" => return Ok(Collected::Version),
                _ => {}
            }
            let value = match setting.value {
                Some(_) => Some(parser.value().map_err(lexopt_error)?),
                None => None,
            };
            flags.push((setting, value));
        }
        let mut r = Resolver {
            table,
            flags,
            env,
            x_props: Vec::new(),
            file_props: Vec::new(),
        };
        r.x_props = r
            .flag_values("property")?
            .into_iter()
            .map(|given| match given.text.split_once('=') {
                Some((key, value)) if !key.trim().is_empty() => Ok(Prop {
                    key: key.trim().to_string(),
                    value: value.trim().to_string(),
                    origin: Origin::X,
                }),
                _ => {
                    // `-X sasl.passwd:...` may hold a password: only the key shows.
                    let key = given.text.split(['=', ':', ' ']).next().unwrap_or_default();
                    let rest = match key.len() < given.text.len() {
                        true => "...",
                        false => "",
                    };
                    let key = match properties::redacted(key) {
                        true => "****".to_string(),
                        false => shown(key),
                    };
                    Err(Error::Usage(format!(
                        "--property {key}{rest}: must be KEY=VALUE (a Kafka client property)"
                    )))
                }
            })
            .collect::<Result<_, _>>()?;
        r.file_props = r.read_config_file()?;
        for prop in r.x_props.iter().chain(&r.file_props) {
            r.check_property(prop)?;
        }
        Ok(Collected::Flags(r))
    }

    /// The `--config` file's properties, if one is given.
    fn read_config_file(&self) -> Result<Vec<Prop>, Error> {
        let Some(given) = self.get("config")? else {
            return Ok(Vec::new());
        };
        let mut bytes = Vec::new();
        std::fs::File::open(&given.text)
            .and_then(|file| file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| usage(&given, &format!("cannot read it: {e}")))?;
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(usage(
                &given,
                "larger than 1 MiB: not a client.properties file (is it the right path?)",
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| usage(&given, "cannot read it: stream did not contain valid UTF-8"))?;
        let parsed = properties::parse(&text)
            .map_err(|e| Error::Usage(format!("{} line {}: {}", given.text, e.line, e.what)))?;
        Ok(parsed
            .into_iter()
            .map(|p| Prop {
                key: p.key,
                value: p.value,
                origin: Origin::File {
                    path: given.text.clone(),
                    line: p.line,
                },
            })
            .collect())
    }

    /// Every property must be one this program reads, one the other program reads (a shared
    /// client.properties), or one handled here; anything else is an error that says what to do.
    fn check_property(&self, prop: &Prop) -> Result<(), Error> {
        let key = prop.key.as_str();
        let pem = |type_key: &str| {
            (self.x_props.iter().chain(&self.file_props))
                .rfind(|p| p.key == type_key)
                .is_some_and(|p| p.value.eq_ignore_ascii_case("PEM"))
        };
        let store = match key {
            "ssl.truststore.location" => Some(pem("ssl.truststore.type")),
            "ssl.keystore.location" => Some(pem("ssl.keystore.type")),
            _ => None,
        };
        // A JKS or PKCS12 store location is refused below, whichever program reads it.
        if store != Some(false) {
            if settings(self.table).any(|s| property_keys(s).contains(&key)) {
                return Ok(());
            }
            if settings(PRODUCER)
                .chain(settings(CONSUMER))
                .any(|s| property_keys(s).contains(&key))
            {
                log::debug!("{prop}: a setting of the other program; ignored");
                return Ok(());
            }
        }
        let fault = match key {
            "sasl.jaas.config" => match properties::parse_jaas(&prop.value) {
                Ok(jaas) => match jaas_mechanisms(&jaas) {
                    Some(_) => return Ok(()),
                    None => format!(
                        "login module {} is not supported: use \
                         org.apache.kafka.common.security.plain.PlainLoginModule (PLAIN) or \
                         org.apache.kafka.common.security.scram.ScramLoginModule (SCRAM)",
                        jaas.module
                    ),
                },
                Err(e) => e,
            },
            "ssl.truststore.type" | "ssl.keystore.type"
                if prop.value.eq_ignore_ascii_case("PEM") =>
            {
                return Ok(())
            }
            "ssl.truststore.type" | "ssl.keystore.type" => {
                "only PEM stores are read: export the CA as PEM for ssl.ca.location, and the \
                 client certificate and key for ssl.certificate.location and ssl.key.location"
                    .into()
            }
            "ssl.truststore.location" => "a JKS or PKCS12 truststore is not read: export its CA \
                 as PEM (keytool -exportcert -rfc -keystore FILE -alias ALIAS > ca.pem) and give \
                 ssl.ca.location=ca.pem, or ssl.truststore.type=PEM if the file is PEM already"
                .into(),
            "ssl.keystore.location" => "a JKS or PKCS12 keystore is not read: export its \
                 certificate and key as PEM (openssl pkcs12 -in FILE -nodes) and give \
                 ssl.certificate.location and ssl.key.location, or ssl.keystore.type=PEM"
                .into(),
            // A PEM store has no password; an empty one is what tools write by default.
            "ssl.truststore.password" | "ssl.keystore.password" | "ssl.key.password"
                if prop.value.is_empty() =>
            {
                return Ok(())
            }
            "ssl.truststore.password" | "ssl.keystore.password" => {
                "PEM stores have no password: leave it out".into()
            }
            "ssl.key.password" => "encrypted private keys are not read: decrypt the key \
                 (openssl pkcs8 -topk8 -nocrypt -in key.pem -out plain.pem) and leave this out"
                .into(),
            // What this client does anyway: it tries every address a name resolves to.
            "client.dns.lookup" if prop.value == "use_all_dns_ips" => return Ok(()),
            _ if key.starts_with("sasl.kerberos.")
                || key.starts_with("sasl.oauthbearer.")
                || key.starts_with("sasl.login.") =>
            {
                "Kerberos (GSSAPI) and OAUTHBEARER are not supported: use sasl.mechanism PLAIN, \
                 SCRAM-SHA-256 or SCRAM-SHA-512"
                    .into()
            }
            _ => format!(
                "not a property this program reads{}: --help lists each one beside its flag \
                 ([property: ...]); the value of an unknown key is never shown",
                match nearest_key(key) {
                    Some(meant) => format!(" (did you mean {meant}?)"),
                    None => String::new(),
                }
            ),
        };
        Err(Error::Usage(format!("{prop}: {fault}")))
    }

    /// The last property in `props` that sets `setting`.
    fn property(&self, props: &[Prop], setting: &Setting) -> Option<Given> {
        let keys = property_keys(setting);
        if let Some(prop) = props.iter().rev().find(|p| keys.contains(&p.key.as_str())) {
            return Some(Given {
                source: Source::Property(prop.clone()),
                text: prop.value.clone(),
                secret: setting.secret,
                millis: setting.property_ms,
            });
        }
        // sasl.jaas.config holds the user and password of a Java client's login.
        let option = match setting.long {
            "sasl-username" => "username",
            "sasl-password" => "password",
            _ => return None,
        };
        let prop = props.iter().rev().find(|p| p.key == "sasl.jaas.config")?;
        let jaas = properties::parse_jaas(&prop.value).ok()?;
        Some(Given {
            source: Source::Property(prop.clone()),
            text: jaas.option(option)?.to_string(),
            secret: true,
            millis: false,
        })
    }

    /// The login module of the `sasl.jaas.config` in use, if any.
    fn jaas(&self) -> Option<(Prop, Jaas)> {
        [&self.x_props, &self.file_props]
            .into_iter()
            .find_map(|props| {
                let prop = props.iter().rev().find(|p| p.key == "sasl.jaas.config")?;
                Some((prop.clone(), properties::parse_jaas(&prop.value).ok()?))
            })
    }

    fn switch(&self, long: &str) -> bool {
        self.flags.iter().any(|(s, _)| s.long == long)
    }

    /// Every value given by flag to `long`, in order.
    fn flag_values(&self, long: &str) -> Result<Vec<Given>, Error> {
        let setting = find(self.table, long);
        let mut values = Vec::new();
        for (s, value) in &self.flags {
            if s.long != long {
                continue;
            }
            let source = Source::Flag(setting.long);
            let text = match value {
                None => String::new(),
                Some(os) => match os.to_str() {
                    Some("") => {
                        return Err(Error::Usage(format!(
                            "--{long} \"\": must not be empty (leave the flag out for the default)"
                        )))
                    }
                    Some(text) => text.to_string(),
                    None => {
                        return Err(Error::Usage(format!(
                            "--{long} {os:?}: must be valid UTF-8"
                        )))
                    }
                },
            };
            values.push(Given {
                source,
                text,
                secret: setting.secret,
                millis: false,
            });
        }
        Ok(values)
    }

    /// The last value given by flag, if any.
    fn flag(&self, long: &str) -> Result<Option<Given>, Error> {
        Ok(self.flag_values(long)?.pop())
    }

    /// Step two: flag, else `-X` property, else environment variable (unless empty), else
    /// `--config` property, else default. An empty property counts as unset too, except where
    /// emptiness means something (`ssl.endpoint.identification.algorithm=`: no check).
    fn get(&self, long: &str) -> Result<Option<Given>, Error> {
        let setting = find(self.table, long);
        if let Some(mut given) = self.flag(long)? {
            given.secret = setting.secret;
            return Ok(Some(given));
        }
        if let Some(given) = self.property_at(&self.x_props, setting)? {
            return Ok(Some(given));
        }
        if let Some(name) = setting.env {
            if let Some(text) = (self.env)(name).filter(|v| !v.is_empty()) {
                return Ok(Some(Given {
                    source: Source::Env(name),
                    text,
                    secret: setting.secret,
                    millis: false,
                }));
            }
        }
        if let Some(given) = self.property_at(&self.file_props, setting)? {
            return Ok(Some(given));
        }
        Ok(match setting.default {
            Fallback::Value(text) => Some(Given {
                source: Source::Default,
                text: text.to_string(),
                secret: false,
                millis: false,
            }),
            Fallback::Absent(_) => None,
        })
    }

    /// A property's value in the flag's terms: milliseconds become seconds, an empty
    /// `ssl.endpoint.identification.algorithm` becomes `none`.
    fn property_at(&self, props: &[Prop], setting: &Setting) -> Result<Option<Given>, Error> {
        let Some(mut given) = self.property(props, setting) else {
            return Ok(None);
        };
        if given.text.is_empty() {
            return Ok(match setting.long {
                "ssl-endpoint-identification-algorithm" => Some(Given {
                    text: "none".into(),
                    ..given
                }),
                _ => None,
            });
        }
        if given.millis {
            let ms: u64 = given
                .text
                .trim()
                .parse()
                .map_err(|_| usage(&given, "must be a whole number of milliseconds"))?;
            given.text = (ms as f64 / 1000.0).to_string();
        }
        Ok(Some(given))
    }

    /// Like `get`, for a setting that has a default.
    fn given(&self, long: &str) -> Result<Given, Error> {
        Ok(required(self.get(long)?))
    }

    /// Checks the value of `long` against its rule with `check`.
    fn checked<T>(
        &self,
        long: &str,
        check: impl Fn(&Rule, &str) -> Result<T, String>,
    ) -> Result<Option<T>, Error> {
        let rule = find(self.table, long).rule;
        match self.get(long)? {
            Some(given) => check(&rule, &given.text).map(Some).map_err(|what| {
                let what = match (given.millis, rule) {
                    (true, Rule::Decimal { min, max }) => format!(
                        "must be from {} to {} (milliseconds)",
                        min * 1000.0,
                        max * 1000.0
                    ),
                    _ => what,
                };
                usage(&given, &what)
            }),
            None => Ok(None),
        }
    }

    /// A text setting: not empty, no control characters.
    fn text(&self, long: &str) -> Result<Option<String>, Error> {
        match self.get(long)? {
            Some(given) if given.text.chars().any(char::is_control) => {
                Err(usage(&given, "must not contain control characters"))
            }
            Some(given) => Ok(Some(given.text)),
            None => Ok(None),
        }
    }

    fn path(&self, long: &str) -> Result<Option<PathBuf>, Error> {
        Ok(self.text(long)?.map(PathBuf::from))
    }

    /// security.protocol and what it needs: TLS settings, a SASL login.
    fn security(&self) -> Result<Security, Error> {
        let protocol_given = self.given("security-protocol")?;
        let protocol = required(self.choice("security-protocol")?);
        let tls = matches!(protocol, "SSL" | "SASL_SSL");
        if tls && !cfg!(feature = "tls") {
            return Err(usage(&protocol_given, crate::client::NO_TLS));
        }
        let tls = match tls {
            true => Some(Tls {
                ca: self.path("ssl-ca-location")?,
                certificate: self.path("ssl-certificate-location")?,
                key: self.path("ssl-key-location")?,
                verify_hostname: required(self.choice("ssl-endpoint-identification-algorithm")?)
                    == "https",
            }),
            false => None,
        };
        let sasl = match protocol {
            "SASL_PLAINTEXT" | "SASL_SSL" => Some(self.login(protocol)?),
            _ => None,
        };
        Ok(Security { tls, sasl })
    }

    fn login(&self, protocol: &str) -> Result<Login, Error> {
        let given = self.given("sasl-mechanism")?;
        if matches!(
            given.text.trim().to_ascii_uppercase().as_str(),
            "GSSAPI" | "OAUTHBEARER"
        ) {
            return Err(usage(
                &given,
                "Kerberos (GSSAPI) and OAUTHBEARER are not supported: use PLAIN, SCRAM-SHA-256 \
                 or SCRAM-SHA-512",
            ));
        }
        let name = required(self.choice("sasl-mechanism")?);
        let mechanism = Mechanism::parse(name).expect("every choice is a mechanism");
        if mechanism != Mechanism::Plain && !cfg!(feature = "scram") {
            return Err(usage(&given, crate::client::NO_SCRAM));
        }
        if let Some((prop, jaas)) = self.jaas() {
            let fits = jaas_mechanisms(&jaas).is_some_and(|m| m.contains(&mechanism));
            if !fits {
                return Err(usage(
                    &given,
                    &format!(
                        "does not go with the login module of {prop} ({}): PlainLoginModule \
                         logs in with PLAIN, ScramLoginModule with SCRAM-SHA-256 or SCRAM-SHA-512",
                        jaas.module
                    ),
                ));
            }
        }
        let needed = |what: &str, long: &str, env: &str, property: &str| {
            Error::Usage(format!(
                "security.protocol {protocol} needs a SASL {what}: give --{long}, {env}, \
                 -X {property}=... or sasl.jaas.config in a --config file"
            ))
        };
        let username = self.text("sasl-username")?.ok_or_else(|| {
            needed(
                "user",
                "sasl-username",
                "KAFKA_SASL_USERNAME",
                "sasl.username",
            )
        })?;
        let password = self.text("sasl-password")?.ok_or_else(|| {
            needed(
                "password",
                "sasl-password",
                "KAFKA_SASL_PASSWORD",
                "sasl.password",
            )
        })?;
        Ok(Login {
            mechanism,
            username,
            password,
        })
    }

    fn int<T: TryFrom<u64>>(&self, long: &str) -> Result<Option<T>, Error> {
        self.checked(long, whole)
    }

    /// Every value given to a repeatable flag.
    fn all_ints<T: TryFrom<u64>>(&self, long: &str) -> Result<Vec<T>, Error> {
        let rule = find(self.table, long).rule;
        self.flag_values(long)?
            .iter()
            .map(|given| whole(&rule, &given.text).map_err(|what| usage(given, &what)))
            .collect()
    }

    fn decimal(&self, long: &str) -> Result<Option<f64>, Error> {
        self.checked(long, decimal)
    }

    fn secs(&self, long: &str) -> Result<Option<Duration>, Error> {
        Ok(self.decimal(long)?.map(Duration::from_secs_f64))
    }

    fn millis(&self, long: &str) -> Result<Option<Duration>, Error> {
        Ok(self.int(long)?.map(Duration::from_millis))
    }

    fn choice(&self, long: &str) -> Result<Option<&'static str>, Error> {
        self.checked(long, choice)
    }

    fn format(&self) -> Result<Format, Error> {
        Ok(match required(self.choice("format")?) {
            "human" => Format::Human,
            "json" => Format::Json,
            other => unreachable!("--format {other} is not in the table"),
        })
    }

    fn start(&self, long: &str) -> Result<Option<Start>, Error> {
        // Java's names and librdkafka's (smallest, beginning; largest, end), in any case.
        self.checked(long, |rule, text| {
            match text.trim().to_ascii_lowercase().as_str() {
                "earliest" | "smallest" | "beginning" => Ok(Start::Earliest),
                "latest" | "largest" | "end" => Ok(Start::Latest),
                offset => match offset.parse::<i64>() {
                    Ok(o) if o >= 0 => Ok(Start::Offset(o)),
                    _ => Err(format!("must be {}", rule.range().unwrap_or_default())),
                },
            }
        })
    }

    /// The error for a wait that is not shorter than the one it must fit in, blaming the value
    /// the user chose (a default is not a choice). Each wait is (flag, what it is, unit).
    fn not_shorter(&self, short: Wait, long: Wait) -> Result<Error, Error> {
        let (short_given, long_given) = (self.given(short.0)?, self.given(long.0)?);
        // A property in milliseconds shows as written, its unit in its name.
        let with_unit = |given: &Given, unit: &str| match given.millis {
            true => given.to_string(),
            false => format!("{given} {unit}"),
        };
        Ok(match long_given.source {
            Source::Default => usage(
                &short_given,
                &format!(
                    "must be shorter than {} ({})",
                    long.1,
                    with_unit(&long_given, long.2)
                ),
            ),
            _ => usage(
                &long_given,
                &format!(
                    "must be longer than {} ({})",
                    short.1,
                    with_unit(&short_given, short.2)
                ),
            ),
        })
    }

    /// An optional name under Kafka's rule for topic names (also that of group instance ids).
    fn kafka_name(&self, long: &str) -> Result<Option<String>, Error> {
        match self.get(long)? {
            Some(given) => match topic_name(&given.text) {
                Ok(()) => Ok(Some(given.text)),
                Err(what) => Err(usage(&given, &what)),
            },
            None => Ok(None),
        }
    }

    fn topic(&self, long: &str) -> Result<Given, Error> {
        let given = self.given(long)?;
        match topic_name(&given.text) {
            Ok(()) => Ok(given),
            Err(what) => Err(usage(&given, &what)),
        }
    }

    fn group(&self, long: &str) -> Result<String, Error> {
        let given = self.given(long)?;
        let chars = given.text.chars().count();
        if chars > MAX_GROUP_CHARS {
            return Err(usage(
                &given,
                &format!("must be at most {MAX_GROUP_CHARS} characters, got {chars}"),
            ));
        }
        if given.text.chars().any(char::is_control) {
            return Err(usage(&given, "must not contain control characters"));
        }
        Ok(given.text)
    }

    /// The dead-letter topic: given, or `<topic>.dlq`; never the topic itself.
    fn dlq_topic(&self, topic: &Given) -> Result<String, Error> {
        match self.get("dlq-topic")? {
            Some(given) => {
                topic_name(&given.text).map_err(|what| usage(&given, &what))?;
                if given.text == topic.text {
                    return Err(usage(
                        &given,
                        &format!(
                            "must differ from the topic read ({topic}), or its dead letters \
                             would be read again"
                        ),
                    ));
                }
                Ok(given.text)
            }
            None => {
                let dlq = format!("{}{DLQ_SUFFIX}", topic.text);
                topic_name(&dlq).map_err(|_| {
                    usage(
                        topic,
                        &format!(
                            "too long to name its dead-letter topic '<topic>{DLQ_SUFFIX}' \
                             (at most {MAX_TOPIC_CHARS} characters): give --dlq-topic or --no-dlq"
                        ),
                    )
                })?;
                Ok(dlq)
            }
        }
    }

    fn seeing(&self) -> Result<Seeing, Error> {
        let stats = self.secs("stats")?;
        let stats_file = self.get("stats-file")?;
        let format = self
            .get("stats-format")?
            .map(|g| (g.text == "prometheus", g));
        if let (None, Some(file)) = (stats, &stats_file) {
            return Err(usage(file, "needs --stats SECS (how often to write it)"));
        }
        let stats_format = match format {
            Some((true, given)) if stats_file.is_none() && stats.is_some() => {
                return Err(usage(
                    &given,
                    "needs --stats-file (a file for node_exporter to read)",
                ))
            }
            Some((true, _)) => StatsFormat::Prometheus,
            _ => StatsFormat::Json,
        };
        Ok(Seeing {
            stats,
            stats_file: stats_file.map(|g| g.text.into()),
            stats_format,
            progress: !self.switch("no-progress"),
        })
    }

    fn connection(&self) -> Result<Connection, Error> {
        let brokers = self.given("brokers")?;
        Ok(Connection {
            brokers: broker_list(&brokers.text).map_err(|what| usage(&brokers, &what))?,
            attempts: required(self.int("retries")?),
            backoff: required(self.millis("retry-backoff-ms")?),
            request_timeout: required(self.secs("request-timeout")?),
            connect_timeout: required(self.secs("connect-timeout")?),
            security: self.security()?,
            client_id: self.client_id()?,
        })
    }

    /// A client id is sent in every request header as a protocol string: at most 32767 bytes.
    fn client_id(&self) -> Result<Option<String>, Error> {
        let id = self.text("client-id")?;
        match id {
            Some(id) if id.len() > MAX_CLIENT_ID_BYTES => {
                let given = required(self.get("client-id")?);
                Err(usage(
                    &given,
                    &format!(
                        "must be at most {MAX_CLIENT_ID_BYTES} bytes (the longest string the \
                         Kafka protocol encodes), got {}",
                        id.len()
                    ),
                ))
            }
            other => Ok(other),
        }
    }

    /// `--count`, `--stdin` or the one order, checked with the order rules.
    fn input(&self) -> Result<Input, Error> {
        let count = self.flag("count")?;
        let stdin = self.switch("stdin");
        if let (Some(count), true) = (&count, stdin) {
            return Err(usage(count, "does not go with --stdin"));
        }
        let one_order = ["user", "item", "quantity"]
            .into_iter()
            .find_map(|long| self.flag(long).transpose())
            .transpose()?;
        if let Some(given) = one_order {
            if count.is_some() || stdin {
                let other = if stdin { "--stdin" } else { "--count" };
                return Err(usage(
                    &given,
                    &format!("does not go with {other} (it describes the one order)"),
                ));
            }
        }
        if stdin {
            return Ok(Input::Stdin);
        }
        if let Some(n) = self.int("count")? {
            return Ok(Input::Count(n));
        }
        let user = self.given("user")?;
        let item = self.given("item")?;
        let quantity: u64 = required(self.int("quantity")?);
        // The order rules, on an id that is not used: the producer gives the order its own.
        match Order::new(Uuid::nil(), &user.text, &item.text, quantity) {
            Ok(order) => Ok(Input::One {
                user: order.user().to_string(),
                item: order.item().to_string(),
                quantity: order.quantity(),
            }),
            Err(Invalid::Field { field, rule }) => Err(match field {
                "user" => usage(&user, &rule),
                "item" => usage(&item, &rule),
                _ => usage(&self.given("quantity")?, &rule),
            }),
            Err(other) => Err(Error::Usage(other.to_string())),
        }
    }

    /// `--acks` and idempotence. Acks 0 or 1 turn idempotence off, unless it was asked for by
    /// `--idempotence` or `KAFKA_ENABLE_IDEMPOTENCE=true`: then the two disagree.
    fn acks_and_idempotence(&self) -> Result<(Acks, bool), Error> {
        let acks = match required(self.choice("acks")?) {
            "0" => Acks::None,
            "1" => Acks::Leader,
            "all" | "-1" => Acks::All,
            other => unreachable!("--acks {other} is not in the table"),
        };
        let last_switch = self
            .flags
            .iter()
            .rev()
            .find(|(s, _)| matches!(s.long, "idempotence" | "no-idempotence"));
        let (idempotence, explicit) = match last_switch {
            Some((s, _)) => (s.long == "idempotence", self.flag(s.long)?),
            None => {
                let given = self.given("idempotence")?;
                let on = match given.text.trim().to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(usage(&given, "must be true or false")),
                };
                let explicit = (given.source != Source::Default).then_some(given);
                (on, explicit)
            }
        };
        if idempotence && acks != Acks::All {
            if let Some(asked) = explicit {
                return Err(usage(
                    &self.given("acks")?,
                    &format!("does not go with {asked}: idempotence needs --acks all"),
                ));
            }
        }
        Ok((acks, idempotence && acks == Acks::All))
    }
}

/// The value of a setting that has a default, so is always there.
fn required<T>(value: Option<T>) -> T {
    value.expect("a setting with a default always has a value")
}

fn lexopt_error(e: lexopt::Error) -> Error {
    Error::Usage(e.to_string())
}

/// A whole number within an `Int` rule's range.
fn whole<T: TryFrom<u64>>(rule: &Rule, text: &str) -> Result<T, String> {
    let Rule::Int { min, max } = *rule else {
        unreachable!("a whole number setting has an Int rule")
    };
    let text = text.trim();
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let is_number = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => {
            T::try_from(n).map_err(|_| format!("must be from {min} to {max}"))
        }
        _ if is_number => Err(format!("must be from {min} to {max}")),
        _ => Err(format!("must be a whole number from {min} to {max}")),
    }
}

/// A number, decimals allowed, within a `Decimal` rule's range.
fn decimal(rule: &Rule, text: &str) -> Result<f64, String> {
    let Rule::Decimal { min, max } = *rule else {
        unreachable!("a decimal setting has a Decimal rule")
    };
    match text.trim().parse::<f64>() {
        Ok(x) if x >= min && x <= max => Ok(x),
        Ok(_) => Err(format!("must be from {min} to {max}")),
        Err(_) => Err(format!("must be a number from {min} to {max}")),
    }
}

fn choice(rule: &Rule, text: &str) -> Result<&'static str, String> {
    let Rule::Choice(words) = *rule else {
        unreachable!("a choice setting has a Choice rule")
    };
    // Any case, as the Java client takes security.protocol and librdkafka writes it.
    words
        .iter()
        .find(|w| w.eq_ignore_ascii_case(text.trim()))
        .copied()
        .ok_or_else(|| format!("must be {}", rule.range().unwrap_or_default()))
}

/// Every property name that sets `setting`: its own, and the librdkafka name where it differs.
/// A PEM store (Java's ssl.truststore.type=PEM, ssl.keystore.type=PEM) stands for the CA file, and
/// for the certificate and key in one file.
fn property_keys(setting: &Setting) -> &'static [&'static str] {
    match setting.property {
        Some("bootstrap.servers") => &["bootstrap.servers", "metadata.broker.list"],
        Some("sasl.mechanism") => &["sasl.mechanism", "sasl.mechanisms"],
        Some("compression.type") => &["compression.type", "compression.codec"],
        Some("ssl.ca.location") => &["ssl.ca.location", "ssl.truststore.location"],
        Some("ssl.certificate.location") => &["ssl.certificate.location", "ssl.keystore.location"],
        Some("ssl.key.location") => &["ssl.key.location", "ssl.keystore.location"],
        Some(property) => match settings(PRODUCER)
            .chain(settings(CONSUMER))
            .find(|s| s.property == Some(property))
        {
            Some(s) => std::slice::from_ref(s.property.as_ref().expect("found by it")),
            None => &[],
        },
        None => &[],
    }
}

/// Keys whose values may show in messages: the properties of either program's settings, and
/// those `check_property` reads for their value. Any other key may be a misspelled secret.
fn known_key(key: &str) -> bool {
    const READ_FOR_THEIR_VALUE: &[&str] = &[
        "sasl.jaas.config",
        "ssl.truststore.type",
        "ssl.keystore.type",
        "ssl.truststore.location",
        "ssl.keystore.location",
        "client.dns.lookup",
    ];
    READ_FOR_THEIR_VALUE.contains(&key)
        || settings(PRODUCER)
            .chain(settings(CONSUMER))
            .any(|s| property_keys(s).contains(&key))
}

/// The known property nearest to a misspelled `key`: at most two edits away (a letter left out,
/// added, changed), compared without case.
fn nearest_key(key: &str) -> Option<&'static str> {
    let key = key.to_ascii_lowercase();
    settings(PRODUCER)
        .chain(settings(CONSUMER))
        .flat_map(property_keys)
        .map(|k| (edit_distance(&key, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance, by bytes (property names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The mechanisms a `sasl.jaas.config` login module logs in with; `None` for other modules.
fn jaas_mechanisms(jaas: &Jaas) -> Option<&'static [Mechanism]> {
    match jaas.module.rsplit('.').next() {
        Some("PlainLoginModule") => Some(&[Mechanism::Plain]),
        Some("ScramLoginModule") => Some(&[Mechanism::ScramSha256, Mechanism::ScramSha512]),
        _ => None,
    }
}

/// Kafka's rule for topic names.
fn topic_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if chars > MAX_TOPIC_CHARS {
        return Err(format!(
            "must be at most {MAX_TOPIC_CHARS} characters, got {chars}"
        ));
    }
    if name == "." || name == ".." {
        return Err("must not be '.' or '..'".into());
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        Some(c) => Err(format!("may only hold a-z A-Z 0-9 . _ - (not {:?})", c)),
        None => Ok(()),
    }
}

fn broker_list(value: &str) -> Result<Vec<String>, String> {
    let brokers: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(String::from)
        .collect();
    if brokers.is_empty() {
        return Err("needs at least one host:port".into());
    }
    for b in &brokers {
        let port_ok = b.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !port_ok {
            return Err(format!("{} is not host:port (port 1 to 65535)", shown(b)));
        }
    }
    Ok(brokers)
}

#[cfg(test)]
mod tests;
