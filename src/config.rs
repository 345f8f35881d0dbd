//! Command line and environment -> validated configuration, for both binaries. Pure: the
//! environment comes in as a lookup function, so tests pass their own.
//!
//! Precedence: flag, then environment variable, then default.

use std::ffi::OsString;
use std::time::Duration;

use lexopt::prelude::*;

use crate::Error;

pub const DEFAULT_BROKERS: &str = "localhost:9092";
pub const DEFAULT_TOPIC: &str = "orders";
pub const DEFAULT_GROUP: &str = "order_consumer_group";
pub const DEFAULT_DLQ_SUFFIX: &str = ".dlq";

/// How to reach the brokers and how hard to try.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub brokers: Vec<String>,
    /// Attempts per request before giving up (>= 1).
    pub attempts: u32,
    /// First pause between attempts; doubles up to 2 s.
    pub backoff: Duration,
    /// Longest wait for any single answer from the broker.
    pub request_timeout: Duration,
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
}

/// Where the producer's orders come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// One order from `--user/--item/--quantity` (demo values where not given).
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
    pub ack_timeout: Duration,
    pub compression: Codec,
    pub batch_size: usize,
    /// Orders per second; `None` is as fast as the broker takes them.
    pub rate: Option<f64>,
    pub format: Format,
    pub quiet: bool,
    pub strict: bool,
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
    /// Empty: every partition of the topic.
    pub partitions: Vec<i32>,
    pub max_messages: Option<u64>,
    pub idle_timeout: Option<Duration>,
    /// Commit at least every this many records (and after each fetch).
    pub commit_every: u64,
    pub format: Format,
    pub fetch_wait: Duration,
    pub fetch_min_bytes: i32,
    pub fetch_max_bytes: i32,
    /// `None` with `--no-dlq`.
    pub dlq_topic: Option<String>,
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
    let mut connection = connection_from_env(&env)?;
    let mut topic = env_or(&env, "KAFKA_TOPIC", DEFAULT_TOPIC);
    let mut acks = parse_acks(&env_or(&env, "KAFKA_ACKS", "1"))?;
    let mut ack_timeout = secs_from_env(&env, "KAFKA_ACK_TIMEOUT", 10.0)?;
    let mut compression = parse_codec(&env_or(&env, "KAFKA_COMPRESSION", "none"))?;
    let mut batch_size: usize = number(&env_or(&env, "KAFKA_BATCH_SIZE", "500"), "batch size")?;
    let mut user = None;
    let mut item = None;
    let mut quantity = None;
    let mut count = None;
    let mut stdin = false;
    let mut rate = None;
    let mut format = Format::Human;
    let mut quiet = false;
    let mut strict = false;

    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Short('V') | Long("version") => return Ok(Command::Version),
            Short('t') | Long("topic") => topic = text(&mut parser)?,
            Long("user") => user = Some(text(&mut parser)?),
            Long("item") => item = Some(text(&mut parser)?),
            Long("quantity") => quantity = Some(number(&text(&mut parser)?, "--quantity")?),
            Short('n') | Long("count") => count = Some(number(&text(&mut parser)?, "--count")?),
            Long("stdin") => stdin = true,
            Long("acks") => acks = parse_acks(&text(&mut parser)?)?,
            Long("ack-timeout") => ack_timeout = seconds(&text(&mut parser)?, "--ack-timeout")?,
            Long("compression") => compression = parse_codec(&text(&mut parser)?)?,
            Long("batch-size") => batch_size = number(&text(&mut parser)?, "--batch-size")?,
            Long("rate") => {
                let r: f64 = number(&text(&mut parser)?, "--rate")?;
                if !(r > 0.0 && r.is_finite()) {
                    return Err(Error::Usage("--rate must be a positive number".into()));
                }
                rate = Some(r);
            }
            Long("format") => format = parse_format(&text(&mut parser)?)?,
            Short('q') | Long("quiet") => quiet = true,
            Long("strict") => strict = true,
            other => {
                let name = flag_name(&other);
                let unexpected = usage(other.unexpected());
                if !connection_flag(name.as_deref(), &mut parser, &mut connection)? {
                    return Err(unexpected);
                }
            }
        }
    }

    if batch_size == 0 {
        return Err(Error::Usage("--batch-size must be at least 1".into()));
    }
    let one_order_flags = user.is_some() || item.is_some() || quantity.is_some();
    let input = match (count, stdin) {
        (Some(_), true) => {
            return Err(Error::Usage(
                "--count and --stdin exclude each other".into(),
            ))
        }
        _ if one_order_flags && (count.is_some() || stdin) => return Err(Error::Usage(
            "--user/--item/--quantity describe one order; they do not go with --count or --stdin"
                .into(),
        )),
        (Some(n), false) => Input::Count(n),
        (None, true) => Input::Stdin,
        (None, false) => Input::One {
            user: user.unwrap_or_else(|| "demo-user".into()),
            item: item.unwrap_or_else(|| "demo-item".into()),
            quantity: quantity.unwrap_or(1),
        },
    };
    Ok(Command::Run(ProducerConfig {
        connection,
        topic,
        input,
        acks,
        ack_timeout,
        compression,
        batch_size,
        rate,
        format,
        quiet,
        strict,
    }))
}

/// Parses the consumer's arguments (without the program name).
pub fn consumer(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command<ConsumerConfig>, Error> {
    let mut connection = connection_from_env(&env)?;
    let mut topic = env_or(&env, "KAFKA_TOPIC", DEFAULT_TOPIC);
    let mut group = env_or(&env, "KAFKA_GROUP", DEFAULT_GROUP);
    let mut use_group = true;
    let mut start = parse_start(&env_or(&env, "KAFKA_FROM", "earliest"))?;
    let mut partitions = Vec::new();
    let mut max_messages = None;
    let mut idle_timeout = match env("KAFKA_IDLE_TIMEOUT") {
        Some(v) => Some(seconds(&v, "KAFKA_IDLE_TIMEOUT")?),
        None => None,
    };
    let mut commit_every = number(
        &env_or(&env, "KAFKA_COMMIT_EVERY", "100"),
        "KAFKA_COMMIT_EVERY",
    )?;
    let mut format = Format::Human;
    let mut fetch_wait = Duration::from_millis(number(
        &env_or(&env, "KAFKA_FETCH_WAIT_MS", "500"),
        "KAFKA_FETCH_WAIT_MS",
    )?);
    let mut fetch_min_bytes = number(
        &env_or(&env, "KAFKA_FETCH_MIN_BYTES", "1"),
        "fetch min bytes",
    )?;
    let mut fetch_max_bytes = number(
        &env_or(&env, "KAFKA_FETCH_MAX_BYTES", "1048576"),
        "fetch max bytes",
    )?;
    let mut dlq_topic = env("KAFKA_DLQ_TOPIC");
    let mut no_dlq = false;

    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Short('V') | Long("version") => return Ok(Command::Version),
            Short('t') | Long("topic") => topic = text(&mut parser)?,
            Short('g') | Long("group") => group = text(&mut parser)?,
            Long("no-group") => use_group = false,
            Long("from") => start = parse_start(&text(&mut parser)?)?,
            Short('p') | Long("partition") => {
                partitions.push(number(&text(&mut parser)?, "--partition")?)
            }
            Short('n') | Long("max-messages") => {
                max_messages = Some(number(&text(&mut parser)?, "--max-messages")?)
            }
            Long("idle-timeout") => {
                idle_timeout = Some(seconds(&text(&mut parser)?, "--idle-timeout")?)
            }
            Long("commit-every") => commit_every = number(&text(&mut parser)?, "--commit-every")?,
            Long("format") => format = parse_format(&text(&mut parser)?)?,
            Long("fetch-wait-ms") => {
                fetch_wait = Duration::from_millis(number(&text(&mut parser)?, "--fetch-wait-ms")?)
            }
            Long("fetch-min-bytes") => {
                fetch_min_bytes = number(&text(&mut parser)?, "--fetch-min-bytes")?
            }
            Long("fetch-max-bytes") => {
                fetch_max_bytes = number(&text(&mut parser)?, "--fetch-max-bytes")?
            }
            Long("dlq-topic") => dlq_topic = Some(text(&mut parser)?),
            Long("no-dlq") => no_dlq = true,
            other => {
                let name = flag_name(&other);
                let unexpected = usage(other.unexpected());
                if !connection_flag(name.as_deref(), &mut parser, &mut connection)? {
                    return Err(unexpected);
                }
            }
        }
    }
    if fetch_max_bytes < 1024 {
        return Err(Error::Usage(
            "--fetch-max-bytes must be at least 1024".into(),
        ));
    }
    if commit_every == 0 {
        return Err(Error::Usage("--commit-every must be at least 1".into()));
    }
    if group.is_empty() {
        return Err(Error::Usage("--group must not be empty".into()));
    }
    partitions.sort_unstable();
    partitions.dedup();
    let dlq_topic = if no_dlq {
        None
    } else {
        Some(dlq_topic.unwrap_or_else(|| format!("{topic}{DEFAULT_DLQ_SUFFIX}")))
    };
    Ok(Command::Run(ConsumerConfig {
        connection,
        topic,
        group,
        use_group,
        start,
        partitions,
        max_messages,
        idle_timeout,
        commit_every,
        format,
        fetch_wait,
        fetch_min_bytes,
        fetch_max_bytes,
        dlq_topic,
    }))
}

fn connection_from_env(env: &impl Fn(&str) -> Option<String>) -> Result<Connection, Error> {
    Ok(Connection {
        brokers: broker_list(&env_or(env, "KAFKA_BROKERS", DEFAULT_BROKERS))?,
        attempts: attempts(&env_or(env, "KAFKA_RETRIES", "10"))?,
        backoff: Duration::from_millis(number(
            &env_or(env, "KAFKA_RETRY_BACKOFF_MS", "200"),
            "KAFKA_RETRY_BACKOFF_MS",
        )?),
        request_timeout: secs_from_env(env, "KAFKA_REQUEST_TIMEOUT", 30.0)?,
    })
}

/// The flags both binaries share; returns whether `arg` was one of them.
fn connection_flag(
    name: Option<&str>,
    parser: &mut lexopt::Parser,
    connection: &mut Connection,
) -> Result<bool, Error> {
    match name.unwrap_or_default() {
        "b" | "brokers" => connection.brokers = broker_list(&text(parser)?)?,
        "retries" => connection.attempts = attempts(&text(parser)?)?,
        "retry-backoff-ms" => {
            connection.backoff =
                Duration::from_millis(number(&text(parser)?, "--retry-backoff-ms")?)
        }
        "request-timeout" => {
            connection.request_timeout = seconds(&text(parser)?, "--request-timeout")?
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn flag_name(arg: &lexopt::Arg) -> Option<String> {
    match arg {
        Short(c) => Some(c.to_string()),
        Long(name) => Some(name.to_string()),
        Value(_) => None,
    }
}

fn env_or(env: &impl Fn(&str) -> Option<String>, name: &str, default: &str) -> String {
    env(name)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn secs_from_env(
    env: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: f64,
) -> Result<Duration, Error> {
    match env(name).filter(|v| !v.is_empty()) {
        Some(v) => seconds(&v, name),
        None => Ok(Duration::from_secs_f64(default)),
    }
}

fn text(parser: &mut lexopt::Parser) -> Result<String, Error> {
    let value = parser.value().map_err(usage)?;
    value
        .into_string()
        .map_err(|v| Error::Usage(format!("{v:?} is not valid UTF-8")))
}

fn usage(e: lexopt::Error) -> Error {
    Error::Usage(e.to_string())
}

fn number<T: std::str::FromStr>(value: &str, what: &str) -> Result<T, Error> {
    value
        .trim()
        .parse()
        .map_err(|_| Error::Usage(format!("{what}: {value:?} is not a valid number")))
}

fn seconds(value: &str, what: &str) -> Result<Duration, Error> {
    let s: f64 = number(value, what)?;
    if !(s >= 0.0 && s.is_finite() && s < 1e9) {
        return Err(Error::Usage(format!(
            "{what}: {value:?} is not a number of seconds"
        )));
    }
    Ok(Duration::from_secs_f64(s))
}

fn attempts(value: &str) -> Result<u32, Error> {
    match number(value, "--retries")? {
        0 => Err(Error::Usage("--retries must be at least 1".into())),
        n => Ok(n),
    }
}

fn broker_list(value: &str) -> Result<Vec<String>, Error> {
    let brokers: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(String::from)
        .collect();
    if brokers.is_empty() {
        return Err(Error::Usage(
            "--brokers needs at least one host:port".into(),
        ));
    }
    for b in &brokers {
        let port_ok = b
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            return Err(Error::Usage(format!("broker {b:?} is not host:port")));
        }
    }
    Ok(brokers)
}

fn parse_acks(value: &str) -> Result<Acks, Error> {
    match value {
        "0" => Ok(Acks::None),
        "1" => Ok(Acks::Leader),
        "all" | "-1" => Ok(Acks::All),
        _ => Err(Error::Usage(format!(
            "--acks: {value:?} is not 0, 1 or all"
        ))),
    }
}

fn parse_codec(value: &str) -> Result<Codec, Error> {
    match value {
        "none" => Ok(Codec::None),
        "gzip" => Ok(Codec::Gzip),
        "snappy" => Ok(Codec::Snappy),
        _ => Err(Error::Usage(format!(
            "--compression: {value:?} is not none, gzip or snappy"
        ))),
    }
}

fn parse_format(value: &str) -> Result<Format, Error> {
    match value {
        "human" => Ok(Format::Human),
        "json" => Ok(Format::Json),
        _ => Err(Error::Usage(format!(
            "--format: {value:?} is not human or json"
        ))),
    }
}

fn parse_start(value: &str) -> Result<Start, Error> {
    match value {
        "earliest" => Ok(Start::Earliest),
        "latest" => Ok(Start::Latest),
        n => match n.parse::<i64>() {
            Ok(o) if o >= 0 => Ok(Start::Offset(o)),
            _ => Err(Error::Usage(format!(
                "--from: {value:?} is not earliest, latest or an offset"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn producer_ok(line: &str) -> ProducerConfig {
        match producer(args(line), no_env) {
            Ok(Command::Run(c)) => c,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn producer_err(line: &str) -> String {
        match producer(args(line), no_env) {
            Err(e) => e.to_string(),
            other => panic!("{line}: expected an error, got {other:?}"),
        }
    }

    #[test]
    fn producer_defaults_send_one_demo_order_to_localhost() {
        let c = producer_ok("");
        assert_eq!(c.connection.brokers, ["localhost:9092"]);
        assert_eq!(c.topic, "orders");
        assert_eq!(c.acks, Acks::Leader);
        assert_eq!(
            c.input,
            Input::One {
                user: "demo-user".into(),
                item: "demo-item".into(),
                quantity: 1
            }
        );
    }

    #[test]
    fn producer_flags_override_environment() {
        let env = |name: &str| match name {
            "KAFKA_BROKERS" => Some("a:1,b:2".to_string()),
            "KAFKA_TOPIC" => Some("env-topic".to_string()),
            "KAFKA_ACKS" => Some("all".to_string()),
            _ => None,
        };
        let Ok(Command::Run(c)) = producer(args("-t flag-topic --count 5"), env) else {
            panic!("parse failed")
        };
        assert_eq!(c.connection.brokers, ["a:1", "b:2"]);
        assert_eq!(c.topic, "flag-topic");
        assert_eq!(c.acks, Acks::All);
        assert_eq!(c.input, Input::Count(5));

        let c = producer_ok("--acks 0 --compression snappy --batch-size 7 --rate 2.5 --retries 3");
        assert_eq!(
            (
                c.acks,
                c.compression,
                c.batch_size,
                c.rate,
                c.connection.attempts
            ),
            (Acks::None, Codec::Snappy, 7, Some(2.5), 3)
        );
    }

    #[test]
    fn producer_usage_errors_say_what_is_wrong() {
        assert_eq!(
            producer_err("--acks 2"),
            r#"--acks: "2" is not 0, 1 or all"#
        );
        assert_eq!(
            producer_err("--count 3 --stdin"),
            "--count and --stdin exclude each other"
        );
        assert_eq!(
            producer_err("--count x"),
            r#"--count: "x" is not a valid number"#
        );
        assert_eq!(
            producer_err("-b localhost"),
            r#"broker "localhost" is not host:port"#
        );
        assert_eq!(producer_err("--bogus"), "invalid option '--bogus'");
        assert_eq!(producer_err("--retries 0"), "--retries must be at least 1");
        assert!(producer_err("--user bob --count 2").contains("one order"));
    }

    #[test]
    fn help_and_version_win() {
        assert_eq!(
            producer(args("--count 3 --help"), no_env).unwrap(),
            Command::Help
        );
        assert_eq!(consumer(args("-V"), no_env).unwrap(), Command::Version);
    }

    #[test]
    fn consumer_defaults_and_flags() {
        let Ok(Command::Run(c)) = consumer(args(""), no_env) else {
            panic!("parse failed")
        };
        assert_eq!(c.group, "order_consumer_group");
        assert_eq!(c.start, Start::Earliest);
        assert_eq!(c.dlq_topic.as_deref(), Some("orders.dlq"));
        assert_eq!(c.idle_timeout, None);

        let line = "-t t1 -g g1 --from 42 -p 2 -p 0 -p 2 --idle-timeout 1.5 --no-dlq --format json";
        let Ok(Command::Run(c)) = consumer(args(line), no_env) else {
            panic!("parse failed")
        };
        assert_eq!(c.start, Start::Offset(42));
        assert_eq!(c.partitions, [0, 2]);
        assert_eq!(c.idle_timeout, Some(Duration::from_millis(1500)));
        assert_eq!(c.dlq_topic, None);
        assert_eq!(c.format, Format::Json);

        let Ok(Command::Run(c)) = consumer(args("-t t2"), no_env) else {
            panic!("parse failed")
        };
        assert_eq!(c.dlq_topic.as_deref(), Some("t2.dlq"));
        assert!(consumer(args("--from yesterday"), no_env).is_err());
    }
}
