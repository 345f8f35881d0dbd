//! Reads orders from Kafka, validates them, prints the good ones and dead-letters the rest.
//!
//! Two ways in, as the seed had: the group path (committed offsets of `--group`, stored in Kafka,
//! `--from` where none is stored) and, when the group coordinator stays unavailable, manual
//! assignment of the partitions from `--from`, committing nothing.
//!
//! At-least-once: positions live in memory; offsets are committed only after a batch (a fetch, or
//! `--commit-every` records of it) is printed, flushed and its dead letters acknowledged. A crash
//! re-reads at most that batch.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kafka::client::{
    CommitOffset, FetchOffset, FetchPartition, GroupOffsetStorage, KafkaClient, ProduceMessage,
    RequiredAcks,
};
use kafka::error::{Error as KafkaError, KafkaCode};
use serde::Serialize;

use crate::broker::{self, Broker};
use crate::config::{ConsumerConfig, Format, Start};
use crate::dead_letter::Envelope;
use crate::error::Error;
use crate::order::Order;

/// Largest per-partition fetch size the consumer grows to when a record does not fit.
const MAX_FETCH_BYTES: i32 = 64 * 1024 * 1024;

/// What a run did, for the summary on stderr.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub received: u64,
    pub invalid: u64,
    pub dead_lettered: u64,
    /// Last processed offset per partition.
    pub last_offsets: BTreeMap<i32, i64>,
    /// `Some(group)` when offsets were committed to a group.
    pub group: Option<String>,
}

impl Summary {
    pub fn line(&self, topic: &str) -> String {
        let offsets: Vec<String> = self
            .last_offsets
            .iter()
            .map(|(p, o)| format!("{topic}/{p}={o}"))
            .collect();
        let offsets = if offsets.is_empty() {
            "none".to_string()
        } else {
            offsets.join(" ")
        };
        let commits = match &self.group {
            Some(group) => format!("committed to group '{group}'"),
            None => "manual assignment, nothing committed".to_string(),
        };
        format!(
            "received {}, invalid {}, dead-lettered {}; last offsets: {offsets}; {commits}",
            self.received, self.invalid, self.dead_lettered
        )
    }
}

/// Runs the consumer until `stop` is set, `--max-messages` is reached, `--idle-timeout` passes
/// with nothing new, or stdout closes. Orders go to `out`.
pub fn run(
    config: &ConsumerConfig,
    out: &mut dyn Write,
    stop: &AtomicBool,
) -> (Summary, Result<(), Error>) {
    let mut summary = Summary::default();
    let result = consume(config, out, stop, &mut summary);
    (summary, result)
}

fn consume(
    config: &ConsumerConfig,
    out: &mut dyn Write,
    stop: &AtomicBool,
    summary: &mut Summary,
) -> Result<(), Error> {
    let human = config.format == Format::Human;
    if human {
        say(out, "Starting Kafka Consumer...")?;
    }
    let mut topics = vec![config.topic.as_str()];
    if let Some(dlq) = &config.dlq_topic {
        topics.push(dlq);
    }
    let (wait, min_bytes, max_bytes) = (
        config.fetch_wait,
        config.fetch_min_bytes,
        config.fetch_max_bytes,
    );
    let broker = Broker::connect(
        &config.connection,
        "order-consumer",
        &topics,
        Box::new(move |c: &mut KafkaClient| {
            c.set_group_offset_storage(Some(GroupOffsetStorage::Kafka));
            // Fails only for waits over i32::MAX ms, which the config cannot hold.
            let _ = c.set_fetch_max_wait_time(wait);
            c.set_fetch_min_bytes(min_bytes);
            c.set_fetch_max_bytes_per_partition(max_bytes);
            // The crate rebuilds the CRC-32 table for every record it checks (40% of our CPU);
            // the broker checked each record on append and TCP checks the transfer, so, like
            // librdkafka's default (check.crcs=false), we do not check again.
            c.set_fetch_crc_validation(false);
        }),
    )?;
    let mut consumer = Consumer {
        config,
        broker,
        out,
        summary,
        positions: BTreeMap::new(),
        max_bytes: BTreeMap::new(),
        committed: BTreeMap::new(),
        commit: false,
        uncommitted: 0,
    };
    consumer.assign()?;
    if human {
        say(consumer.out, "Listening for messages...")?;
    }
    consumer.poll(stop)
}

fn say(out: &mut dyn Write, line: &str) -> Result<(), Error> {
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .or_else(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => Ok(()),
            _ => Err(Error::Io {
                what: "writing output".into(),
                source: e,
            }),
        })
}

struct Consumer<'a> {
    config: &'a ConsumerConfig,
    broker: Broker,
    out: &'a mut dyn Write,
    summary: &'a mut Summary,
    /// Next offset to read, per partition.
    positions: BTreeMap<i32, i64>,
    /// Per-partition fetch size, grown when a record does not fit.
    max_bytes: BTreeMap<i32, i32>,
    /// Last offset committed per partition (the next one to read).
    committed: BTreeMap<i32, i64>,
    /// Whether offsets are committed: true on the group path.
    commit: bool,
    /// Records processed since the last commit.
    uncommitted: u64,
}

/// Why the poll loop ended early.
enum Stop {
    OutputClosed,
    MaxMessages,
}

#[derive(Serialize)]
struct JsonRecord<'a> {
    topic: &'a str,
    partition: i32,
    offset: i64,
    key: String,
    order: &'a Order,
}

impl Consumer<'_> {
    /// Picks the partitions and where to start in each: the group's committed offsets when the
    /// group path works, `--from` otherwise.
    fn assign(&mut self) -> Result<(), Error> {
        // The config outlives `self`'s borrows: no per-call copies of its strings.
        let config = self.config;
        let topic = config.topic.as_str();
        let all = self.broker.partitions(topic);
        let partitions = if self.config.partitions.is_empty() {
            all
        } else {
            if let Some(p) = self.config.partitions.iter().find(|p| !all.contains(p)) {
                return Err(Error::Usage(format!(
                    "partition {p} does not exist: '{topic}' has partitions {all:?}"
                )));
            }
            config.partitions.clone()
        };

        let mut committed = BTreeMap::new();
        if self.config.use_group {
            let group = config.group.as_str();
            let what = format!("fetching committed offsets of group '{group}'");
            match self
                .broker
                .retry(&what, |c| c.fetch_group_topic_offset(group, topic))
            {
                Ok(offsets) => {
                    self.commit = true;
                    self.summary.group = Some(group.to_string());
                    for o in offsets.into_iter().filter(|o| o.offset >= 0) {
                        committed.insert(o.partition, o.offset);
                    }
                }
                Err(e) => log::warn!(
                    "group path unavailable ({e}); falling back to manual assignment of \
                     partitions {partitions:?} from {:?}, without committing offsets",
                    self.config.start
                ),
            }
        }
        for &p in &partitions {
            let start = match committed.get(&p) {
                Some(&offset) => offset,
                None => self.start_offset(p, self.config.start)?,
            };
            self.positions.insert(p, start);
            self.max_bytes.insert(p, self.config.fetch_max_bytes);
        }
        self.committed = committed;
        log::info!(
            "reading '{}' partitions {:?} from offsets {:?}",
            topic,
            partitions,
            self.positions.values().collect::<Vec<_>>()
        );
        Ok(())
    }

    fn start_offset(&mut self, partition: i32, start: Start) -> Result<i64, Error> {
        let which = match start {
            Start::Offset(o) => return Ok(o),
            Start::Earliest => FetchOffset::Earliest,
            Start::Latest => FetchOffset::Latest,
        };
        let topic = self.config.topic.as_str();
        let offsets = self.broker.retry("looking up partition offsets", |c| {
            c.fetch_topic_offsets(topic, which)
        })?;
        offsets
            .iter()
            .find(|o| o.partition == partition)
            .map(|o| o.offset)
            .ok_or_else(|| Error::Broker {
                what: format!("looking up the offsets of {topic}/{partition}"),
                cause: "the broker did not answer for this partition".into(),
            })
    }

    fn poll(&mut self, stop: &AtomicBool) -> Result<(), Error> {
        let mut last_new = Instant::now();
        loop {
            if stop.load(Ordering::SeqCst) {
                log::info!("stopping: interrupted");
                return Ok(());
            }
            let before = self.summary.received + self.summary.invalid;
            let outcome = self.poll_once();
            // Commit what was processed even when this round ended early.
            self.commit()?;
            match outcome? {
                Some(Stop::OutputClosed) => return Ok(()),
                Some(Stop::MaxMessages) => {
                    log::info!("stopping: read --max-messages");
                    return Ok(());
                }
                None => {}
            }
            if self.summary.received + self.summary.invalid > before {
                last_new = Instant::now();
            } else if let Some(idle) = self.config.idle_timeout {
                if last_new.elapsed() >= idle {
                    log::info!("stopping: nothing new for {}", crate::error::secs(idle));
                    return Ok(());
                }
            }
        }
    }

    /// One fetch round over every assigned partition.
    fn poll_once(&mut self) -> Result<Option<Stop>, Error> {
        let topic = self.config.topic.as_str();
        let requests: Vec<FetchPartition> = self
            .positions
            .iter()
            .map(|(&p, &offset)| {
                FetchPartition::new(topic, p, offset).with_max_bytes(self.max_bytes[&p])
            })
            .collect();
        let responses = self
            .broker
            .retry(&format!("fetching from '{topic}'"), |c| {
                c.fetch_messages(&requests)
            })?;
        let mut refresh = false;
        let mut answered = 0;
        for response in &responses {
            for t in response.topics().iter().filter(|t| t.topic() == topic) {
                for p in t.partitions() {
                    let partition = p.partition();
                    answered += 1;
                    let data = match p.data() {
                        Ok(data) => data,
                        Err(e) => {
                            refresh |= self.partition_error(partition, &e)?;
                            continue;
                        }
                    };
                    let position = self.positions[&partition];
                    let messages: Vec<_> = data
                        .messages()
                        .iter()
                        .filter(|m| m.offset >= position)
                        .collect();
                    if messages.is_empty() && data.highwatermark_offset() > position {
                        self.grow_fetch_size(partition, position);
                    }
                    for m in messages {
                        if let Some(stop) = self.process(partition, m.offset, m.key, m.value)? {
                            return Ok(Some(stop));
                        }
                        if self.uncommitted >= self.config.commit_every {
                            if let Err(e) = self.out.flush() {
                                return self.output_failed(e);
                            }
                            self.commit()?;
                        }
                    }
                }
            }
        }
        if let Err(e) = self.out.flush() {
            return self.output_failed(e);
        }
        // A partition without a known leader is left out of the request by the client.
        if refresh || answered < self.positions.len() {
            self.broker.refresh("refreshing metadata")?;
        }
        Ok(None)
    }

    /// Handles a partition-level fetch error; returns whether metadata should be refreshed.
    fn partition_error(&mut self, partition: i32, e: &KafkaError) -> Result<bool, Error> {
        let topic = &self.config.topic;
        let code = match e {
            KafkaError::Kafka(code) => Some(*code),
            KafkaError::TopicPartitionError { error_code, .. } => Some(*error_code),
            _ => None,
        };
        if code == Some(KafkaCode::OffsetOutOfRange) {
            let reset = match self.config.start {
                Start::Latest => Start::Latest,
                _ => Start::Earliest,
            };
            let offset = self.start_offset(partition, reset)?;
            log::warn!(
                "{topic}/{partition}: offset {} is out of range; continuing from {offset}",
                self.positions[&partition]
            );
            self.positions.insert(partition, offset);
            return Ok(false);
        }
        log::warn!("{topic}/{partition}: {}", broker::describe(e));
        Ok(true)
    }

    fn grow_fetch_size(&mut self, partition: i32, position: i64) {
        let size = self.max_bytes[&partition];
        if size < MAX_FETCH_BYTES {
            let grown = size.saturating_mul(2).min(MAX_FETCH_BYTES);
            log::warn!(
                "{}/{partition}: the record at offset {position} is larger than {size} bytes; \
                 fetching up to {grown}",
                self.config.topic
            );
            self.max_bytes.insert(partition, grown);
        }
    }

    /// Handles one record: print it when it is an order, dead-letter it when not.
    fn process(
        &mut self,
        partition: i32,
        offset: i64,
        key: &[u8],
        value: &[u8],
    ) -> Result<Option<Stop>, Error> {
        let config = self.config;
        let topic = config.topic.as_str();
        match Order::parse(value) {
            Ok(order) => {
                if let Err(e) = self.print(topic, partition, offset, key, &order) {
                    return self.output_failed(e);
                }
                self.summary.received += 1;
            }
            Err(reason) => {
                self.summary.invalid += 1;
                log::error!("{topic}/{partition} offset {offset}: invalid order: {reason}");
                if let Some(dlq) = &config.dlq_topic {
                    let envelope =
                        Envelope::new(topic, partition, offset, key, value, reason.to_string())
                            .to_json();
                    self.dead_letter(dlq, key, &envelope)?;
                    self.summary.dead_lettered += 1;
                }
            }
        }
        self.positions.insert(partition, offset + 1);
        self.summary.last_offsets.insert(partition, offset);
        self.uncommitted += 1;
        let processed = self.summary.received + self.summary.invalid;
        if self.config.max_messages.is_some_and(|max| processed >= max) {
            return Ok(Some(Stop::MaxMessages));
        }
        Ok(None)
    }

    fn print(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
        key: &[u8],
        order: &Order,
    ) -> io::Result<()> {
        match self.config.format {
            Format::Human => {
                writeln!(self.out, "Received order: {}", order.to_json())?;
                writeln!(self.out, "Partition: {partition}, Offset: {offset}")
            }
            Format::Json => {
                let record = JsonRecord {
                    topic,
                    partition,
                    offset,
                    key: String::from_utf8_lossy(key).into_owned(),
                    order,
                };
                let line = serde_json::to_string(&record).map_err(io::Error::other)?;
                writeln!(self.out, "{line}")
            }
        }
    }

    /// A closed stdout ends the run quietly; any other write error is an error.
    fn output_failed(&mut self, e: io::Error) -> Result<Option<Stop>, Error> {
        if e.kind() == io::ErrorKind::BrokenPipe {
            log::debug!("stdout closed; stopping");
            return Ok(Some(Stop::OutputClosed));
        }
        Err(Error::Io {
            what: "writing output".into(),
            source: e,
        })
    }

    /// Publishes a dead letter and waits for the broker to acknowledge it.
    fn dead_letter(&mut self, dlq: &str, key: &[u8], envelope: &str) -> Result<(), Error> {
        let key = (!key.is_empty()).then_some(key);
        let message = ProduceMessage::new(dlq, 0, key, Some(envelope.as_bytes()));
        let confirms = self.broker.retry(&format!("publishing to '{dlq}'"), |c| {
            c.produce_messages(RequiredAcks::One, Duration::from_secs(10), [&message])
        })?;
        for confirm in confirms {
            for p in confirm.partition_confirms {
                if let Err(code) = p.offset {
                    return Err(Error::Broker {
                        what: format!("publishing to '{dlq}'"),
                        cause: broker::describe_code(code),
                    });
                }
            }
        }
        Ok(())
    }

    /// Commits the next offset of every partition that moved since the last commit.
    fn commit(&mut self) -> Result<(), Error> {
        self.uncommitted = 0;
        if !self.commit {
            return Ok(());
        }
        let topic = self.config.topic.as_str();
        let moved: Vec<(i32, i64)> = self
            .positions
            .iter()
            .filter(|(p, o)| self.committed.get(p) != Some(o))
            .map(|(&p, &o)| (p, o))
            .collect();
        if moved.is_empty() {
            return Ok(());
        }
        let offsets: Vec<CommitOffset> = moved
            .iter()
            .map(|&(p, o)| CommitOffset::new(topic, p, o))
            .collect();
        let group = self.config.group.as_str();
        self.broker
            .retry(&format!("committing offsets of group '{group}'"), |c| {
                c.commit_offsets(group, &offsets)
            })?;
        self.committed.extend(moved);
        Ok(())
    }
}
