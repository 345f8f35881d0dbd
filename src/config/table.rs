//! The table of settings: one row per setting (flag, short flag, environment variable, Kafka
//! property, default, rule and help line), in help order, for each binary ([`PRODUCER`],
//! [`CONSUMER`]). The parser, the defaults and the help all read these rows, so they cannot
//! disagree.

use crate::order;

use super::{MAX_FETCH_BYTES, MAX_GROUP_CHARS, MAX_TOPIC_CHARS};

mod schemas;
mod spool;

pub use schemas::*;
pub use spool::*;

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
    /// Other property names that set it too: librdkafka's where they differ from Java's, and a
    /// Java store location that stands for a PEM file (`ssl.truststore.type=PEM`).
    pub aliases: &'static [&'static str],
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
    pub(super) const fn int(min: u64, max: u64) -> Rule {
        Rule::Int { min, max }
    }

    pub(super) const fn decimal(min: f64, max: f64) -> Rule {
        Rule::Decimal { min, max }
    }

    /// The range or the choices, as the help states them.
    pub(super) fn range(&self) -> Option<String> {
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
pub(super) const fn flag(long: &'static str) -> Setting {
    Setting {
        long,
        short: None,
        value: None,
        env: None,
        default: Fallback::Absent(""),
        rule: Rule::Switch,
        help: "",
        property: None,
        aliases: &[],
        property_ms: false,
        secret: false,
    }
}

impl Setting {
    pub(super) const fn short(self, c: char) -> Setting {
        Setting {
            short: Some(c),
            ..self
        }
    }

    /// Takes a value, checked by `rule`.
    pub(super) const fn value(self, name: &'static str, rule: Rule) -> Setting {
        Setting {
            value: Some(name),
            rule,
            ..self
        }
    }

    pub(super) const fn env(self, name: &'static str) -> Setting {
        Setting {
            env: Some(name),
            ..self
        }
    }

    pub(super) const fn default(self, text: &'static str) -> Setting {
        Setting {
            default: Fallback::Value(text),
            ..self
        }
    }

    /// No default value; `meaning` says what happens without one.
    pub(super) const fn when_unset(self, meaning: &'static str) -> Setting {
        Setting {
            default: Fallback::Absent(meaning),
            ..self
        }
    }

    pub(super) const fn help(self, text: &'static str) -> Setting {
        Setting { help: text, ..self }
    }

    /// Also set by this Kafka client property.
    pub(super) const fn property(self, name: &'static str) -> Setting {
        Setting {
            property: Some(name),
            ..self
        }
    }

    /// Also set by these other property names.
    pub(super) const fn aliases(self, names: &'static [&'static str]) -> Setting {
        Setting {
            aliases: names,
            ..self
        }
    }

    /// Every property name that sets it: its own, then its aliases.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> {
        self.property
            .into_iter()
            .chain(self.aliases.iter().copied())
    }

    /// Also set by this Kafka client property, given in milliseconds.
    pub(super) const fn property_ms(self, name: &'static str) -> Setting {
        Setting {
            property: Some(name),
            property_ms: true,
            ..self
        }
    }

    pub(super) const fn secret(self) -> Setting {
        Setting {
            secret: true,
            ..self
        }
    }
}

pub(super) const FORMATS: Rule = Rule::Choice(&["human", "json"]);

pub(super) const CONNECTION: Section = Section {
    title: "Connection",
    settings: &[
        BROKERS,
        RETRIES,
        RETRY_BACKOFF_MS,
        RETRY_BACKOFF_MAX_MS,
        REQUEST_TIMEOUT,
        CONNECT_TIMEOUT,
    ],
};

/// TLS, SASL and the Kafka client properties, shared by both binaries.
pub(super) const SECURITY: Section = Section {
    title: "Security and Kafka client properties",
    settings: &[
        CONFIG,
        PROPERTY,
        SECURITY_PROTOCOL,
        SASL_MECHANISM,
        SASL_USERNAME,
        SASL_PASSWORD,
        SSL_CA_LOCATION,
        SSL_CERTIFICATE_LOCATION,
        SSL_KEY_LOCATION,
        SSL_ENDPOINT_IDENTIFICATION_ALGORITHM,
        CLIENT_ID,
    ],
};

pub(super) const HELP: Setting = flag("help").short('h').help("print this help");
pub(super) const VERSION: Setting = flag("version").short('V').help("print the version");

/// Figures while running, shared by both binaries.
pub(super) const SEEING: Section = Section {
    title: "Seeing inside",
    settings: &[STATS, STATS_FILE, STATS_FORMAT, NO_PROGRESS],
};

// One constant per setting: the resolver takes the setting, so a misspelt name does not
// compile.

pub const BROKERS: Setting = flag("brokers")
    .short('b')
    .value("LIST", Rule::Brokers)
    .env("KAFKA_BROKERS")
    .property("bootstrap.servers")
    .aliases(&["metadata.broker.list"])
    .default("localhost:9092")
    .help("brokers to start from, host:port[,host:port...]");

pub const RETRIES: Setting = flag("retries")
    .value("N", Rule::int(1, 1000))
    .env("KAFKA_RETRIES")
    .default("10")
    .help("attempts per request");

pub const RETRY_BACKOFF_MS: Setting = flag("retry-backoff-ms")
    .value("MS", Rule::int(0, 2000))
    .env("KAFKA_RETRY_BACKOFF_MS")
    .property("retry.backoff.ms")
    .default("200")
    .help("first pause between attempts, doubling up to --retry-backoff-max-ms");

pub const RETRY_BACKOFF_MAX_MS: Setting = flag("retry-backoff-max-ms")
    .value("MS", Rule::int(0, 60_000))
    .env("KAFKA_RETRY_BACKOFF_MAX_MS")
    .property("retry.backoff.max.ms")
    .default("2000")
    .help("longest pause between attempts");

pub const REQUEST_TIMEOUT: Setting = flag("request-timeout")
    .value("SECS", Rule::decimal(0.1, 3600.0))
    .env("KAFKA_REQUEST_TIMEOUT")
    .property_ms("request.timeout.ms")
    .default("30")
    .help("longest wait for any answer");

pub const CONNECT_TIMEOUT: Setting = flag("connect-timeout")
    .value("SECS", Rule::decimal(0.1, 300.0))
    .env("KAFKA_CONNECT_TIMEOUT")
    .property_ms("socket.connection.setup.timeout.ms")
    .default("10")
    .help(
        "longest wait to connect to a broker and be ready for requests (TLS, versions, SASL login)",
    );

pub const CONFIG: Setting = flag("config")
    .short('F')
    .value("FILE", Rule::Path)
    .env("KAFKA_CONFIG")
    .when_unset("none")
    .help("read Kafka client properties (a client.properties file) from FILE");

pub const PROPERTY: Setting = flag("property")
    .short('X')
    .value("KEY=VALUE", Rule::Property)
    .help("set a Kafka client property, as kcat -X does; repeatable");

pub const SECURITY_PROTOCOL: Setting = flag("security-protocol")
    .value(
        "PROTOCOL",
        Rule::Choice(&["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]),
    )
    .env("KAFKA_SECURITY_PROTOCOL")
    .property("security.protocol")
    .default("PLAINTEXT")
    .help("how to talk to the brokers");

pub const SASL_MECHANISM: Setting = flag("sasl-mechanism")
    .value(
        "NAME",
        Rule::Choice(&["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]),
    )
    .env("KAFKA_SASL_MECHANISM")
    .property("sasl.mechanism")
    .aliases(&["sasl.mechanisms"])
    .default("PLAIN")
    .help("SASL login mechanism");

pub const SASL_USERNAME: Setting = flag("sasl-username")
    .value("NAME", Rule::Text)
    .env("KAFKA_SASL_USERNAME")
    .property("sasl.username")
    .help("SASL user (or the username of sasl.jaas.config)");

pub const SASL_PASSWORD: Setting = flag("sasl-password")
    .value("SECRET", Rule::Text)
    .env("KAFKA_SASL_PASSWORD")
    .property("sasl.password")
    .secret()
    .help("SASL password (or that of sasl.jaas.config); a flag shows in ps, a variable does not");

pub const SSL_CA_LOCATION: Setting = flag("ssl-ca-location")
    .value("FILE", Rule::Path)
    .env("KAFKA_SSL_CA_LOCATION")
    .property("ssl.ca.location")
    .aliases(&["ssl.truststore.location"])
    .when_unset("the system's CA bundle")
    .help("the CAs (PEM) that sign the brokers' certificates");

pub const SSL_CERTIFICATE_LOCATION: Setting = flag("ssl-certificate-location")
    .value("FILE", Rule::Path)
    .env("KAFKA_SSL_CERTIFICATE_LOCATION")
    .property("ssl.certificate.location")
    .aliases(&["ssl.keystore.location"])
    .help("client certificate (PEM), for mutual TLS");

pub const SSL_KEY_LOCATION: Setting = flag("ssl-key-location")
    .value("FILE", Rule::Path)
    .env("KAFKA_SSL_KEY_LOCATION")
    .property("ssl.key.location")
    .aliases(&["ssl.keystore.location"])
    .help("the client certificate's private key (PEM, unencrypted)");

pub const SSL_ENDPOINT_IDENTIFICATION_ALGORITHM: Setting =
    flag("ssl-endpoint-identification-algorithm")
        .value("ALG", Rule::Choice(&["https", "none"]))
        .env("KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM")
        .property("ssl.endpoint.identification.algorithm")
        .default("https")
        .help("https: the broker's certificate must name its host; none (or empty): no check");

pub const CLIENT_ID: Setting = flag("client-id")
    .value("ID", Rule::Text)
    .env("KAFKA_CLIENT_ID")
    .property("client.id")
    .when_unset("the program's name")
    .help("the name brokers log and set quotas by");

pub const STATS: Setting = flag("stats")
    .value("SECS", Rule::decimal(0.1, 86_400.0))
    .env("KAFKA_STATS_INTERVAL")
    .when_unset("off")
    .help("every SECS, write the run's figures (counters, latencies, lag)");

pub const STATS_FILE: Setting = flag("stats-file")
    .value("PATH", Rule::Path)
    .env("KAFKA_STATS_FILE")
    .when_unset("stderr")
    .help("write them to PATH (replaced whole each time) instead of stderr");

pub const STATS_FORMAT: Setting = flag("stats-format")
    .value("FORMAT", Rule::Choice(&["json", "prometheus"]))
    .env("KAFKA_STATS_FORMAT")
    .default("json")
    .help("one JSON object, or the Prometheus text format (needs --stats-file)");

pub const NO_PROGRESS: Setting =
    flag("no-progress").help("no status line on a terminal (there is none when stderr is not one)");

pub const USER: Setting = flag("user")
    .value("NAME", Rule::OrderText)
    .default("demo-user")
    .help("user of the one order");

pub const ITEM: Setting = flag("item")
    .value("NAME", Rule::OrderText)
    .default("demo-item")
    .help("item of the one order");

pub const QUANTITY: Setting = flag("quantity")
    .value("N", Rule::int(1, order::MAX_QUANTITY))
    .default("1")
    .help("quantity of the one order");

pub const COUNT: Setting = flag("count")
    .short('n')
    .value("N", Rule::int(1, 1_000_000_000_000))
    .help("send N random orders instead");

pub const STDIN: Setting = flag("stdin").help("send the JSON lines of standard input instead");

pub const STRICT: Setting = flag("strict").help("stop at the first invalid input line");

pub const PRODUCER_TOPIC: Setting = flag("topic")
    .short('t')
    .value("NAME", Rule::Topic)
    .env("KAFKA_TOPIC")
    .default("orders")
    .help("topic to send to");

pub const ACKS: Setting = flag("acks")
    .value("ACKS", Rule::Choice(&["0", "1", "all", "-1"]))
    .env("KAFKA_ACKS")
    .property("acks")
    .default("all")
    .help("acknowledgement to wait for");

pub const IDEMPOTENCE: Setting = Setting {
    rule: Rule::Bool,
    ..flag("idempotence")
        .env("KAFKA_ENABLE_IDEMPOTENCE")
        .property("enable.idempotence")
        .default("true")
        .help("store each order once even when a request is retried; needs --acks all")
};

pub const NO_IDEMPOTENCE: Setting =
    flag("no-idempotence").help("turn idempotence off (--acks 0 or 1 does too)");

pub const ACK_TIMEOUT: Setting = flag("ack-timeout")
    .value("SECS", Rule::decimal(0.0, 3600.0))
    .env("KAFKA_ACK_TIMEOUT")
    .default("10")
    .help("how long the broker may wait for replicas");

pub const COMPRESSION: Setting = flag("compression")
    .value(
        "CODEC",
        Rule::Choice(&["none", "gzip", "snappy", "lz4", "zstd"]),
    )
    .env("KAFKA_COMPRESSION")
    .property("compression.type")
    .aliases(&["compression.codec"])
    .default("none")
    .help("compression of each batch");

pub const BATCH_SIZE: Setting = flag("batch-size")
    .value("N", Rule::int(1, 100_000))
    .env("KAFKA_BATCH_SIZE")
    .default("10000")
    .help("orders per produce request, at most");

pub const BATCH_BYTES: Setting = flag("batch-bytes")
    .value("BYTES", Rule::int(1024, 16 << 20))
    .env("KAFKA_BATCH_BYTES")
    .property("batch.size")
    .default("131072")
    .help("bytes per produce request's batch, at most (Java's default is 16384 per partition)");

pub const MAX_IN_FLIGHT: Setting = flag("max-in-flight")
    .value("N", Rule::int(1, crate::client::MAX_IN_FLIGHT as u64))
    .env("KAFKA_MAX_IN_FLIGHT")
    .property("max.in.flight.requests.per.connection")
    .default("5")
    .help(
        "produce requests sent before the first is acknowledged (5 at most, as idempotence allows)",
    );

pub const RATE: Setting = flag("rate")
    .value("N", Rule::decimal(0.001, 1_000_000.0))
    .when_unset("unlimited")
    .help("send at most N orders per second");

pub const PRODUCER_FORMAT: Setting = flag("format")
    .value("FORMAT", FORMATS)
    .default("human")
    .help("how to print deliveries");

pub const QUIET: Setting = flag("quiet")
    .short('q')
    .help("print no deliveries, only the summary and errors");

pub const CONSUMER_TOPIC: Setting = flag("topic")
    .short('t')
    .value("NAME", Rule::Topic)
    .env("KAFKA_TOPIC")
    .default("orders")
    .help("topic to read");

pub const FROM: Setting = flag("from")
    .value("POS", Rule::Start)
    .env("KAFKA_FROM")
    .property("auto.offset.reset")
    .default("earliest")
    .help("where to start without a committed offset");

pub const PARTITION: Setting = flag("partition")
    .short('p')
    .value("P", Rule::int(0, i32::MAX as u64))
    .when_unset("all")
    .help("read only partition P; repeatable");

pub const MAX_MESSAGES: Setting = flag("max-messages")
    .short('n')
    .value("N", Rule::int(1, 1_000_000_000_000))
    .help("stop after N records, valid or not");

pub const IDLE_TIMEOUT: Setting = flag("idle-timeout")
    .value("SECS", Rule::decimal(0.0, 604_800.0))
    .env("KAFKA_IDLE_TIMEOUT")
    .when_unset("never")
    .help("stop after SECS with nothing new");

pub const ISOLATION: Setting = flag("isolation")
    .value(
        "LEVEL",
        Rule::Choice(&["read_committed", "read_uncommitted"]),
    )
    .env("KAFKA_ISOLATION")
    .property("isolation.level")
    .default("read_committed")
    .help("skip records of aborted transactions, or not");

pub const GROUP: Setting = flag("group")
    .short('g')
    .value("NAME", Rule::Group)
    .env("KAFKA_GROUP")
    .property("group.id")
    .default("order_consumer_group")
    .help("consumer group, which stores the offsets");

pub const NO_GROUP: Setting =
    flag("no-group").help("skip the group: read partitions directly, commit nothing");

pub const LAG: Setting = flag("lag")
    .help("print the group's committed offset, end offset and lag per partition, then exit");

pub const COMMIT_EVERY: Setting = flag("commit-every")
    .value("N", Rule::int(1, 1_000_000))
    .env("KAFKA_COMMIT_EVERY")
    .default("100")
    .help("commit at least every N records");

pub const INSTANCE_ID: Setting = flag("instance-id")
    .value("ID", Rule::Topic)
    .env("KAFKA_GROUP_INSTANCE_ID")
    .property("group.instance.id")
    .when_unset("none")
    .help("static membership: the same ID keeps its partitions across restarts");

pub const SESSION_TIMEOUT: Setting = flag("session-timeout")
    .value("SECS", Rule::decimal(1.0, 3600.0))
    .env("KAFKA_SESSION_TIMEOUT")
    .property_ms("session.timeout.ms")
    .default("45")
    .help(
        "how long the group waits for a member whose heartbeats stop (they go on while output \
         blocks); the broker allows 6 to 1800 unless changed",
    );

pub const HEARTBEAT_INTERVAL: Setting = flag("heartbeat-interval")
    .value("SECS", Rule::decimal(0.1, 3600.0))
    .env("KAFKA_HEARTBEAT_INTERVAL")
    .property_ms("heartbeat.interval.ms")
    .default("3")
    .help("pause between heartbeats, below --session-timeout");

pub const MAX_POLL_INTERVAL: Setting = flag("max-poll-interval")
    .value("SECS", Rule::decimal(1.0, 86_400.0))
    .env("KAFKA_MAX_POLL_INTERVAL")
    .property_ms("max.poll.interval.ms")
    .default("300")
    .help(
        "longest a member may take over one fetch (a blocked stdout included) before it leaves \
         the group and rejoins; also how long a rebalance may wait",
    );

pub const DLQ_TOPIC: Setting = flag("dlq-topic")
    .value("NAME", Rule::Topic)
    .env("KAFKA_DLQ_TOPIC")
    .when_unset("<topic>.dlq")
    .help("topic for invalid records (not --topic)");

pub const NO_DLQ: Setting = flag("no-dlq").help("only log invalid records");

pub const DLQ_ACK_TIMEOUT: Setting = flag("dlq-ack-timeout")
    .value("SECS", Rule::decimal(0.0, 3600.0))
    .env("KAFKA_DLQ_ACK_TIMEOUT")
    .default("30")
    .help("how long the broker may wait for replicas of a dead letter");

pub const FETCH_WAIT_MS: Setting = flag("fetch-wait-ms")
    .value("MS", Rule::int(0, 300_000))
    .env("KAFKA_FETCH_WAIT_MS")
    .property("fetch.max.wait.ms")
    .default("500")
    .help("longest broker wait per fetch, below --request-timeout");

pub const FETCH_MIN_BYTES: Setting = flag("fetch-min-bytes")
    .value("N", Rule::int(1, MAX_FETCH_BYTES))
    .env("KAFKA_FETCH_MIN_BYTES")
    .property("fetch.min.bytes")
    .default("1")
    .help("bytes the broker waits for");

pub const FETCH_MAX_BYTES: Setting = flag("fetch-max-bytes")
    .value("N", Rule::int(1024, MAX_FETCH_BYTES))
    .env("KAFKA_FETCH_MAX_BYTES")
    .property("max.partition.fetch.bytes")
    .default("1048576")
    .help("bytes per partition and fetch, grown for a larger record");

pub const FETCH_TOTAL_BYTES: Setting = flag("fetch-total-bytes")
    .value("N", Rule::int(1024, MAX_FETCH_BYTES))
    .env("KAFKA_FETCH_TOTAL_BYTES")
    .property("fetch.max.bytes")
    .default("52428800")
    .help("bytes per fetch over every partition");

pub const METADATA_MAX_AGE: Setting = flag("metadata-max-age")
    .value("SECS", Rule::decimal(1.0, 86_400.0))
    .env("KAFKA_METADATA_MAX_AGE")
    .property_ms("metadata.max.age.ms")
    .default("300")
    .help(
        "how often the topic's partitions are looked up again: partitions added to it are read \
         from their earliest offset (a group rebalances for them)",
    );

pub const CONSUMER_FORMAT: Setting = flag("format")
    .value("FORMAT", FORMATS)
    .default("human")
    .help("how to print orders");

/// Every setting of `order-producer`, in help order.
pub const PRODUCER: &[Section] = &[
    Section {
        title: "Orders",
        settings: &[USER, ITEM, QUANTITY, COUNT, STDIN, STRICT],
    },
    Section {
        title: "Sending",
        settings: &[
            PRODUCER_TOPIC,
            ACKS,
            IDEMPOTENCE,
            NO_IDEMPOTENCE,
            ACK_TIMEOUT,
            COMPRESSION,
            BATCH_SIZE,
            BATCH_BYTES,
            MAX_IN_FLIGHT,
            RATE,
        ],
    },
    Section {
        title: "Store and forward",
        settings: &[
            SPOOL,
            SPOOL_SYNC,
            SPOOL_MAX_BYTES,
            TRANSACTIONAL_ID,
            TRANSACTION_TIMEOUT,
            DRAIN,
            FOLLOW,
            SPOOL_ONLY,
            SPOOL_QUARANTINE,
        ],
    },
    Section {
        title: "Schemas (a Schema Registry: the TLS build)",
        settings: &[
            SERIALIZER,
            SCHEMA_REGISTRY,
            AUTO_REGISTER,
            NO_AUTO_REGISTER,
            REGISTRY_USER_INFO,
            REGISTRY_CA,
        ],
    },
    CONNECTION,
    SECURITY,
    SEEING,
    Section {
        title: "Output",
        settings: &[PRODUCER_FORMAT, QUIET, HELP, VERSION],
    },
];

/// Every setting of `order-consumer`, in help order.
pub const CONSUMER: &[Section] = &[
    Section {
        title: "Reading",
        settings: &[
            CONSUMER_TOPIC,
            FROM,
            PARTITION,
            MAX_MESSAGES,
            IDLE_TIMEOUT,
            ISOLATION,
        ],
    },
    Section {
        title: "Group",
        settings: &[
            GROUP,
            NO_GROUP,
            LAG,
            COMMIT_EVERY,
            INSTANCE_ID,
            SESSION_TIMEOUT,
            HEARTBEAT_INTERVAL,
            MAX_POLL_INTERVAL,
        ],
    },
    Section {
        title: "Dead letters",
        settings: &[DLQ_TOPIC, NO_DLQ, DLQ_ACK_TIMEOUT],
    },
    Section {
        title: "Fetching",
        settings: &[
            FETCH_WAIT_MS,
            FETCH_MIN_BYTES,
            FETCH_MAX_BYTES,
            FETCH_TOTAL_BYTES,
            METADATA_MAX_AGE,
        ],
    },
    Section {
        title: "Schemas (a Schema Registry: the TLS build)",
        settings: &[SCHEMA_REGISTRY, REGISTRY_USER_INFO, REGISTRY_CA],
    },
    CONNECTION,
    SECURITY,
    SEEING,
    Section {
        title: "Output",
        settings: &[CONSUMER_FORMAT, HELP, VERSION],
    },
];

/// Every setting of `table`, in order.
pub(super) fn settings(table: &'static [Section]) -> impl Iterator<Item = &'static Setting> {
    table.iter().flat_map(|section| section.settings)
}
