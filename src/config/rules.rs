//! Rules that join settings: a wait that must fit in another, the dead-letter topic that is not
//! the topic, acks and idempotence, the producer's input, Kafka's rules for names and broker
//! lists.

use uuid::Uuid;

use crate::client::Acks;
use crate::order::{Invalid, Order};
use crate::Error;

use super::source::{shown, usage, Given, Resolver, Source, Wait};
use super::table::{
    Setting, ACKS, BROKERS, CLIENT_ID, CONNECT_TIMEOUT, COUNT, DLQ_TOPIC, IDEMPOTENCE, ITEM,
    NO_IDEMPOTENCE, NO_PROGRESS, QUANTITY, REQUEST_TIMEOUT, RETRIES, RETRY_BACKOFF_MAX_MS,
    RETRY_BACKOFF_MS, STATS, STATS_FILE, STATS_FORMAT, STDIN, USER,
};
use super::{
    acks, required, Connection, Input, Seeing, StatsFormat, DLQ_SUFFIX, MAX_CLIENT_ID_BYTES,
    MAX_GROUP_CHARS, MAX_TOPIC_CHARS,
};

impl Resolver<'_> {
    /// The error for a wait that is not shorter than the one it must fit in, blaming the value
    /// the user chose (a default is not a choice). Each wait is (setting, what it is, unit).
    pub(super) fn not_shorter(&self, short: Wait, long: Wait) -> Result<Error, Error> {
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
    pub(super) fn kafka_name(&self, setting: &Setting) -> Result<Option<String>, Error> {
        match self.get(setting)? {
            Some(given) => match topic_name(&given.text) {
                Ok(()) => Ok(Some(given.text)),
                Err(what) => Err(usage(&given, &what)),
            },
            None => Ok(None),
        }
    }

    pub(super) fn topic(&self, setting: &Setting) -> Result<Given, Error> {
        let given = self.given(setting)?;
        match topic_name(&given.text) {
            Ok(()) => Ok(given),
            Err(what) => Err(usage(&given, &what)),
        }
    }

    pub(super) fn group(&self, setting: &Setting) -> Result<String, Error> {
        let given = self.given(setting)?;
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
    pub(super) fn dlq_topic(&self, topic: &Given) -> Result<String, Error> {
        match self.get(&DLQ_TOPIC)? {
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

    pub(super) fn seeing(&self) -> Result<Seeing, Error> {
        let stats = self.secs(&STATS)?;
        let stats_file = self.get(&STATS_FILE)?;
        let format = self
            .get(&STATS_FORMAT)?
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
            progress: !self.switch(&NO_PROGRESS),
        })
    }

    pub(super) fn connection(&self) -> Result<Connection, Error> {
        let brokers = self.given(&BROKERS)?;
        Ok(Connection {
            brokers: broker_list(&brokers.text).map_err(|what| usage(&brokers, &what))?,
            attempts: required(self.int(&RETRIES)?),
            backoff: required(self.millis(&RETRY_BACKOFF_MS)?),
            max_backoff: required(self.millis(&RETRY_BACKOFF_MAX_MS)?),
            request_timeout: required(self.secs(&REQUEST_TIMEOUT)?),
            connect_timeout: required(self.secs(&CONNECT_TIMEOUT)?),
            security: self.security()?,
            client_id: self.client_id()?,
        })
    }

    /// A client id is sent in every request header as a protocol string: at most 32767 bytes.
    pub(super) fn client_id(&self) -> Result<Option<String>, Error> {
        let id = self.text(&CLIENT_ID)?;
        match id {
            Some(id) if id.len() > MAX_CLIENT_ID_BYTES => {
                let given = required(self.get(&CLIENT_ID)?);
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
    pub(super) fn input(&self) -> Result<Input, Error> {
        let count = self.flag(&COUNT)?;
        let stdin = self.switch(&STDIN);
        if let (Some(count), true) = (&count, stdin) {
            return Err(usage(count, "does not go with --stdin"));
        }
        let one_order = [&USER, &ITEM, &QUANTITY]
            .into_iter()
            .find_map(|setting| self.flag(setting).transpose())
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
        if let Some(n) = self.int(&COUNT)? {
            return Ok(Input::Count(n));
        }
        let user = self.given(&USER)?;
        let item = self.given(&ITEM)?;
        let quantity: u64 = required(self.int(&QUANTITY)?);
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
                _ => usage(&self.given(&QUANTITY)?, &rule),
            }),
            Err(other) => Err(Error::Usage(other.to_string())),
        }
    }

    /// `--acks` and idempotence. Acks 0 or 1 turn idempotence off, unless it was asked for by
    /// `--idempotence` or `KAFKA_ENABLE_IDEMPOTENCE=true`: then the two disagree.
    pub(super) fn acks_and_idempotence(&self) -> Result<(Acks, bool), Error> {
        let acks = self.chosen(&ACKS, acks)?;
        let last_switch = self
            .flags
            .iter()
            .rev()
            .find(|(s, _)| s.long == IDEMPOTENCE.long || s.long == NO_IDEMPOTENCE.long);
        let (idempotence, explicit) = match last_switch {
            Some((s, _)) => (s.long == IDEMPOTENCE.long, self.flag(s)?),
            None => {
                let given = self.given(&IDEMPOTENCE)?;
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
                    &self.given(&ACKS)?,
                    &format!("does not go with {asked}: idempotence needs --acks all"),
                ));
            }
        }
        Ok((acks, idempotence && acks == Acks::All))
    }
}

/// Kafka's rule for topic names.
pub(super) fn topic_name(name: &str) -> Result<(), String> {
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

pub(super) fn broker_list(value: &str) -> Result<Vec<String>, String> {
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
