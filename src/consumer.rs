//! Reads orders from Kafka, validates them, prints the good ones and dead-letters the rest.
//!
//! Two ways in, as the seed had: the group path (committed offsets of `--group`, stored in Kafka,
//! `--from` where none is stored) and, when the group coordinator stays unavailable, manual
//! assignment of the partitions from `--from`, committing nothing.
//!
//! At-least-once: positions live in memory; offsets are committed only after a batch (a fetch, or
//! `--commit-every` records of it) is printed, flushed and its dead letters acknowledged. A crash
//! re-reads at most that batch. A bad record never blocks its partition: when its dead letter is
//! refused, a shortened one goes instead, and when even that is refused, the record is logged
//! and skipped.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Write};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::Serialize;

use crate::client::records::{self, Batches, ControlType, Limits};
use crate::client::{
    codes, Acks, Client, Compression, End, FetchSettings, GroupSettings, Heartbeat,
    Isolation as ClientIsolation, Member, Outgoing, Position, ProduceSettings,
};
use crate::config::{ConsumerConfig, Format, Start, MAX_FETCH_BYTES};
use crate::dead_letter::Envelope;
use crate::error::{output_closed, secs, Error};
use crate::order::{check_key, Order};
use crate::partition;
use crate::stats::{counter, Figures, PartitionFigures, Progress, Reporter};

/// Largest decompressed batch accepted: Kafka's batches are at most message.max.bytes.
const MAX_DECOMPRESSED: usize = MAX_FETCH_BYTES as usize;
/// Largest response frame: what the fetch asks for, plus room for one oversized batch.
const MAX_FRAME: usize = 100 << 20;
/// Bytes of the original payload a shortened dead letter keeps.
const SHORT_PREFIX: usize = 1024;

/// What a run did, for the summary on stderr.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub received: u64,
    pub invalid: u64,
    pub dead_lettered: u64,
    /// Invalid records whose dead letter had to be shortened to be accepted.
    pub shortened: u64,
    /// Invalid records no dead letter could be published for: logged and skipped.
    pub skipped: u64,
    /// Last processed offset per partition.
    pub last_offsets: BTreeMap<i32, i64>,
    /// `Some(group)` when offsets were committed to a group.
    pub group: Option<String>,
    /// `Some(group)` when a stop came while joining that group.
    pub joining: Option<String>,
}

impl Summary {
    /// The summary as one JSON object (for `--format json`).
    pub fn json(&self, topic: &str) -> String {
        let last: BTreeMap<String, i64> = self
            .last_offsets
            .iter()
            .map(|(p, o)| (p.to_string(), *o))
            .collect();
        serde_json::json!({
            "type": "summary",
            "topic": topic,
            "received": self.received,
            "invalid": self.invalid,
            "dead_lettered": self.dead_lettered,
            "shortened": self.shortened,
            "skipped": self.skipped,
            "last_offsets": last,
            "group": self.group,
            "text": self.line(topic),
        })
        .to_string()
    }

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
        let commits = match (&self.group, &self.joining) {
            (Some(group), _) => format!("committed to group '{group}'"),
            (None, Some(group)) => {
                format!("stopped while joining group '{group}', nothing committed")
            }
            (None, None) => "manual assignment, nothing committed".to_string(),
        };
        let mut dead = format!("dead-lettered {}", self.dead_lettered);
        if self.shortened > 0 {
            dead += &format!(" ({} shortened)", self.shortened);
        }
        if self.skipped > 0 {
            dead += &format!(", skipped {} (no dead letter possible)", self.skipped);
        }
        format!(
            "received {}, invalid {}, {dead}; last offsets: {offsets}; {commits}",
            self.received, self.invalid
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
    // The source topic must exist; the dead-letter topic is ours to create, as a producer's.
    let creatable: Vec<&str> = config.dlq_topic.iter().map(String::as_str).collect();
    let options = config
        .connection
        .client_options("order-consumer", MAX_FRAME, &creatable);
    let client = match Client::connect(options, &[&config.topic], stop) {
        Err(Error::Interrupted) => return Ok(()),
        other => other?,
    };
    let mut consumer = Consumer {
        config,
        client,
        out,
        summary,
        positions: BTreeMap::new(),
        committed: HashMap::new(),
        commit: false,
        uncommitted: 0,
        failures: HashMap::new(),
        dlq_partitions: None,
        member: None,
        reporter: Reporter::new(&config.seeing),
        progress: Progress::new(&config.seeing),
        commits: 0,
        high_watermarks: HashMap::new(),
    };
    let result = consumer.assign().and_then(|()| {
        if human {
            say(consumer.out, "Listening for messages...")?;
        }
        consumer.poll()
    });
    // Whatever ended the run, what was printed is committed; then the group is left at once,
    // also after a stop request.
    consumer.client.finishing();
    let committed = consumer.commit();
    let left = consumer.leave();
    let committed = committed.and(left);
    consumer.progress.clear();
    if consumer.reporter.is_some() {
        consumer.report();
    }
    match result {
        Err(Error::Interrupted) => {
            log::info!("stopping: interrupted");
            committed
        }
        other => other.and(committed),
    }
}

fn say(out: &mut dyn Write, line: &str) -> Result<(), Error> {
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .or_else(output_closed)
}

struct Consumer<'a, 'c> {
    config: &'a ConsumerConfig,
    client: Client<'c>,
    out: &'a mut dyn Write,
    summary: &'a mut Summary,
    /// Next offset to read, per partition.
    positions: BTreeMap<i32, i64>,
    /// Last offset committed per partition (the next one to read).
    committed: HashMap<i32, i64>,
    /// Whether offsets are committed: true on the group path.
    commit: bool,
    /// Records processed since the last commit.
    uncommitted: u64,
    /// Consecutive failed fetches per partition, for the retry policy.
    failures: HashMap<i32, u32>,
    dlq_partitions: Option<u32>,
    /// Set while this process is a member of the group (the group path without --partition).
    member: Option<Member>,
    reporter: Option<Reporter>,
    progress: Progress,
    /// Commits the group accepted.
    commits: u64,
    /// The last high watermark a fetch reported, per partition.
    high_watermarks: HashMap<i32, i64>,
}

/// Why the poll loop ended early.
enum Stop {
    OutputClosed,
    MaxMessages,
    Interrupted,
}

/// One partition's answer, copied out of the fetch so dead letters can be sent while it is read.
struct Fetched {
    partition: i32,
    out_of_range: bool,
    aborted: Vec<(i64, i64)>,
    records: Vec<u8>,
}

#[derive(Serialize)]
struct JsonRecord<'a> {
    topic: &'a str,
    partition: i32,
    offset: i64,
    key: Option<String>,
    key_encoding: Option<&'static str>,
    order: &'a Order,
}

impl Consumer<'_, '_> {
    /// Picks the partitions and where to start in each. The group path joins the group (the
    /// coordinator assigns partitions) or, with `--partition`, reads those partitions with the
    /// group's committed offsets; without a coordinator, every partition (or `--partition`) is
    /// read from `--from`, committing nothing.
    fn assign(&mut self) -> Result<(), Error> {
        let config = self.config;
        let topic = config.topic.as_str();
        let all = self.client.partitions(topic)?;
        let partitions = if config.partitions.is_empty() {
            all
        } else {
            if let Some(p) = config.partitions.iter().find(|p| !all.contains(p)) {
                return Err(Error::Usage(format!(
                    "partition {p} does not exist: '{topic}' has partitions {all:?}"
                )));
            }
            config.partitions.clone()
        };
        if config.use_group {
            let group = config.group.as_str();
            let joined = if config.partitions.is_empty() {
                let mut member = Member::new(group, self.group_settings());
                self.client
                    .join(&mut member, topic)
                    .map(|mine| (Some(member), mine))
            } else {
                Ok((None, partitions.clone()))
            };
            let committed = joined.and_then(|(member, mine)| {
                let offsets = self.client.committed(group, topic, &mine)?;
                Ok((member, mine, offsets))
            });
            match committed {
                Ok((member, mine, offsets)) => {
                    self.commit = true;
                    self.summary.group = Some(group.to_string());
                    if member.is_some() {
                        log::info!("assigned {topic} {mine:?}");
                    }
                    self.member = member;
                    return self.start_at(&mine, offsets);
                }
                Err(Error::Interrupted) => {
                    self.summary.joining = Some(group.to_string());
                    return Err(Error::Interrupted);
                }
                // A refusal is an answer: the group is there, this user may not use it.
                Err(e @ Error::Refused { .. }) => return Err(e),
                Err(e) => log::warn!(
                    "group path unavailable ({e}); falling back to manual assignment of \
                     partitions {partitions:?} from {:?}, without committing offsets",
                    config.start
                ),
            }
        }
        self.start_at(&partitions, HashMap::new())
    }

    fn group_settings(&self) -> GroupSettings {
        let c = self.config;
        GroupSettings {
            session_timeout: c.session_timeout,
            heartbeat_interval: c.heartbeat_interval,
            max_poll_interval: c.max_poll_interval,
            instance_id: c.instance_id.clone(),
        }
    }

    /// Positions for `partitions`: the committed offset where there is one, `--from` elsewhere.
    fn start_at(&mut self, partitions: &[i32], committed: HashMap<i32, i64>) -> Result<(), Error> {
        let missing: Vec<i32> = partitions
            .iter()
            .copied()
            .filter(|p| !committed.contains_key(p))
            .collect();
        let starts = if missing.is_empty() {
            HashMap::new()
        } else {
            self.start_offsets(&missing, self.config.start)?
        };
        self.positions.clear();
        for &p in partitions {
            let start = committed.get(&p).or(starts.get(&p)).copied().unwrap_or(0);
            self.positions.insert(p, start);
        }
        self.committed = committed;
        log::info!(
            "reading '{}' partitions {:?} from offsets {:?}",
            self.config.topic,
            partitions,
            self.positions.values().collect::<Vec<_>>()
        );
        Ok(())
    }

    /// After a rebalance: commits what was read (when the group still takes it), then joins
    /// again and starts from the group's offsets of the new assignment.
    fn rejoin(&mut self) -> Result<(), Error> {
        let Some(mut member) = self.member.take() else {
            return Ok(());
        };
        let config = self.config;
        let topic = config.topic.as_str();
        let revoked: Vec<i32> = self.positions.keys().copied().collect();
        self.member = Some(member.clone());
        self.commit()?;
        log::info!("revoked {topic} {revoked:?} (the group is rebalancing)");
        let mine = self.client.join(&mut member, topic)?;
        log::info!("assigned {topic} {mine:?}");
        let offsets = self.client.committed(&config.group, topic, &mine)?;
        self.member = Some(member);
        self.failures.clear();
        self.start_at(&mine, offsets)
    }

    /// Leaves the group, if this process joined one.
    fn leave(&mut self) -> Result<(), Error> {
        match self.member.take() {
            Some(member) => self.client.leave(&member),
            None => Ok(()),
        }
    }

    /// Where `start` points in each partition. An offset past the end waits at the end, one
    /// before the start begins at the start; both with a warning.
    fn start_offsets(
        &mut self,
        partitions: &[i32],
        start: Start,
    ) -> Result<HashMap<i32, i64>, Error> {
        let topic = self.config.topic.as_str();
        let isolation = self.isolation();
        match start {
            Start::Earliest => {
                self.client
                    .list_offsets(topic, partitions, End::Earliest, isolation)
            }
            Start::Latest => self
                .client
                .list_offsets(topic, partitions, End::Latest, isolation),
            Start::Offset(o) => {
                let first =
                    self.client
                        .list_offsets(topic, partitions, End::Earliest, isolation)?;
                let end = self
                    .client
                    .list_offsets(topic, partitions, End::Latest, isolation)?;
                Ok(partitions
                    .iter()
                    .map(|&p| {
                        let (lo, hi) = (first[&p], end[&p]);
                        let at = if o > hi {
                            log::warn!(
                                "{topic}/{p}: --from {o} is past the end ({hi}); waiting at the \
                                 end for new records"
                            );
                            hi
                        } else if o < lo {
                            log::warn!(
                                "{topic}/{p}: --from {o} is before the first offset ({lo}); \
                                 starting there"
                            );
                            lo
                        } else {
                            o
                        };
                        (p, at)
                    })
                    .collect())
            }
        }
    }

    fn isolation(&self) -> ClientIsolation {
        self.config.isolation
    }

    fn poll(&mut self) -> Result<(), Error> {
        let mut last_new = Instant::now();
        loop {
            if self.client.stopped() {
                return Err(Error::Interrupted);
            }
            if let Some(member) = self.member.as_mut() {
                if self.client.heartbeat(member)? == Heartbeat::Rejoin {
                    self.rejoin()?;
                }
            }
            let before = self.summary.received + self.summary.invalid;
            let outcome = if self.positions.is_empty() {
                // More members than partitions: this one waits for a rebalance.
                self.client.sleep(self.config.fetch_wait).map(|()| None)
            } else {
                self.poll_once()
            };
            // Commit what was processed even when this round ended early.
            self.commit()?;
            // Every interval, with partitions or without: a stats file must not go stale.
            if self.reporter.as_mut().is_some_and(Reporter::due) {
                self.report();
            }
            match outcome? {
                Some(Stop::OutputClosed) => return Ok(()),
                Some(Stop::Interrupted) => return Err(Error::Interrupted),
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
                    log::info!("stopping: nothing new for {}", secs(idle));
                    return Ok(());
                }
            }
        }
    }

    /// One fetch round over every assigned partition.
    fn poll_once(&mut self) -> Result<Option<Stop>, Error> {
        let config = self.config;
        let topic = config.topic.as_str();
        let positions: Vec<Position> = self
            .positions
            .iter()
            .map(|(&partition, &offset)| Position {
                partition,
                offset,
                max_bytes: config.fetch_max_bytes,
            })
            .collect();
        let settings = FetchSettings {
            wait: config.fetch_wait,
            min_bytes: config.fetch_min_bytes,
            isolation: self.isolation(),
        };
        let mut fetched = Vec::new();
        let high_watermarks = &mut self.high_watermarks;
        let retry = self.client.fetch(topic, &positions, settings, &mut |p| {
            if p.error == codes::NONE {
                high_watermarks.insert(p.partition, p.high_watermark);
            }
            if !p.records.is_empty() || p.error != codes::NONE {
                fetched.push(Fetched {
                    partition: p.partition,
                    out_of_range: p.error == codes::OFFSET_OUT_OF_RANGE,
                    aborted: p.aborted,
                    records: p.records.to_vec(),
                });
            }
            Ok(())
        })?;
        let answered: HashSet<i32> = fetched.iter().map(|f| f.partition).collect();
        self.failures.retain(|p, _| !answered.contains(p));
        for f in fetched {
            if f.out_of_range {
                self.reset(f.partition)?;
                continue;
            }
            if let Some(stop) = self.read_partition(&f)? {
                return Ok(Some(stop));
            }
        }
        if let Err(e) = self.out.flush() {
            return self.output_failed(e);
        }
        self.retry_partitions(retry)?;
        if self.progress.due() {
            let elapsed = self.progress.elapsed();
            let read = self.summary.received + self.summary.invalid;
            let line = format!(
                "read {read}, {:.0} records/s, invalid {}, lag {}, {}",
                read as f64 / elapsed.as_secs_f64().max(1e-9),
                self.summary.invalid,
                self.partition_figures()
                    .iter()
                    .filter_map(PartitionFigures::lag)
                    .sum::<i64>(),
                secs(elapsed)
            );
            self.progress.draw(&line);
        }
        Ok(None)
    }

    fn partition_figures(&self) -> Vec<PartitionFigures> {
        self.positions
            .iter()
            .map(|(&partition, &position)| PartitionFigures {
                partition,
                position,
                committed: self.committed.get(&partition).copied(),
                high_watermark: self.high_watermarks.get(&partition).copied(),
            })
            .collect()
    }

    /// Writes one `--stats` report; one that cannot be written is a warning.
    fn report(&mut self) {
        let figures = Figures {
            role: "consumer",
            topic: &self.config.topic,
            figures: vec![
                counter("received", "valid orders printed", self.summary.received),
                counter(
                    "invalid",
                    "records that are not orders",
                    self.summary.invalid,
                ),
                counter(
                    "dead_lettered",
                    "dead letters the broker acknowledged",
                    self.summary.dead_lettered,
                ),
                counter(
                    "skipped",
                    "invalid records no dead letter could be published for",
                    self.summary.skipped,
                ),
                counter("commits", "offset commits the group accepted", self.commits),
                counter(
                    "retries",
                    "attempts repeated after a failure",
                    self.client.retries(),
                ),
            ],
            partitions: self.partition_figures(),
        };
        if let Some(reporter) = &self.reporter {
            self.progress.clear();
            if let Err(e) = reporter.write(&figures) {
                log::warn!("cannot write the stats: {e}");
            }
        }
    }

    /// Counts a failed fetch per partition under the retry policy: a pause, then another round;
    /// a partition that keeps failing ends the run with its cause.
    fn retry_partitions(&mut self, retry: Vec<(i32, String)>) -> Result<(), Error> {
        let Some(worst) = retry
            .iter()
            .map(|(p, cause)| {
                let n = self.failures.entry(*p).or_insert(0);
                *n += 1;
                (*n, *p, cause.clone())
            })
            .max_by_key(|f| f.0)
        else {
            return Ok(());
        };
        let (attempt, partition, cause) = worst;
        let attempts = self.config.connection.attempts;
        if attempt >= attempts {
            return Err(Error::Broker {
                what: format!("fetching {}/{partition}", self.config.topic),
                cause: format!("{cause} (gave up after {attempts} attempts)"),
            });
        }
        self.client.pause(attempt, &format!("fetching: {cause}"))
    }

    /// Resets a partition whose position left the log (retention deleted it), per `--from`.
    fn reset(&mut self, partition: i32) -> Result<(), Error> {
        let end = match self.config.start {
            Start::Latest => End::Latest,
            _ => End::Earliest,
        };
        let topic = self.config.topic.as_str();
        let isolation = self.isolation();
        let offset = self
            .client
            .list_offsets(topic, &[partition], end, isolation)?[&partition];
        log::warn!(
            "{topic}/{partition}: offset {} is out of range; continuing from {offset}",
            self.positions[&partition]
        );
        self.positions.insert(partition, offset);
        Ok(())
    }

    /// Reads one partition's batches: control batches and aborted transactions are skipped,
    /// every other record is processed in offset order.
    fn read_partition(&mut self, f: &Fetched) -> Result<Option<Stop>, Error> {
        let topic = self.config.topic.as_str();
        let partition = f.partition;
        let limits = Limits {
            max_decompressed: MAX_DECOMPRESSED,
        };
        let mut aborted = f.aborted.clone();
        aborted.sort_by_key(|a| a.1);
        let mut aborted = aborted.into_iter().peekable();
        let mut aborting: HashSet<i64> = HashSet::new();
        let read_committed = self.config.isolation == ClientIsolation::ReadCommitted;
        let mut scratch = Vec::new();
        let mut batches = Batches::new(&f.records);
        for batch in batches.by_ref() {
            let batch = batch.map_err(|e| Error::Broker {
                what: format!(
                    "reading {topic}/{partition} at offset {}",
                    self.positions[&partition]
                ),
                cause: e.to_string(),
            })?;
            let position = self.positions[&partition];
            if batch.next_offset() <= position {
                continue;
            }
            while let Some(&(pid, first)) = aborted.peek() {
                if first > batch.base_offset {
                    break;
                }
                aborting.insert(pid);
                aborted.next();
            }
            let skip = if batch.is_control {
                let marker =
                    batch
                        .control_type(&mut scratch, &limits)
                        .map_err(|e| Error::Broker {
                            what: format!("reading {topic}/{partition}"),
                            cause: e.to_string(),
                        })?;
                if marker == Some(ControlType::Abort) {
                    aborting.remove(&batch.producer_id);
                }
                true
            } else {
                read_committed && batch.is_transactional && aborting.contains(&batch.producer_id)
            };
            if !skip {
                let records = batch
                    .records(&mut scratch, &limits)
                    .map_err(|e| Error::Broker {
                        what: format!("reading {topic}/{partition}"),
                        cause: e.to_string(),
                    })?;
                for record in records {
                    let record = record.map_err(|e| Error::Broker {
                        what: format!("reading {topic}/{partition}"),
                        cause: e.to_string(),
                    })?;
                    if record.offset < self.positions[&partition] {
                        continue;
                    }
                    // A stop request ends the run between two records, not after the fetch.
                    if self.client.stopped() {
                        return Ok(Some(Stop::Interrupted));
                    }
                    let stop = self.process(partition, record.offset, record.key, record.value)?;
                    if stop.is_some() {
                        return Ok(stop);
                    }
                    if self.uncommitted >= self.config.commit_every {
                        if let Err(e) = self.out.flush() {
                            return self.output_failed(e);
                        }
                        self.commit()?;
                    }
                }
            }
            // Past compacted-away offsets and skipped batches too.
            let next = batch.next_offset().max(self.positions[&partition]);
            self.positions.insert(partition, next);
        }
        Ok(None)
    }

    /// Handles one record: print it when it is an order, dead-letter it when not.
    fn process(
        &mut self,
        partition: i32,
        offset: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<Option<Stop>, Error> {
        let config = self.config;
        let topic = config.topic.as_str();
        let parsed = match value {
            None => Err("the record has no value (a tombstone)".to_string()),
            Some(v) => Order::parse(v)
                .and_then(|order| check_key(key, &order).map(|()| order))
                .map_err(|reason| reason.to_string()),
        };
        match parsed {
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
                    let envelope = Envelope::new(topic, partition, offset, key, value, &reason);
                    self.dead_letter(dlq, partition, offset, key, &envelope)?;
                }
            }
        }
        self.positions.insert(partition, offset + 1);
        self.summary.last_offsets.insert(partition, offset);
        self.uncommitted += 1;
        let processed = self.summary.received + self.summary.invalid;
        if config.max_messages.is_some_and(|max| processed >= max) {
            return Ok(Some(Stop::MaxMessages));
        }
        Ok(None)
    }

    fn print(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
        key: Option<&[u8]>,
        order: &Order,
    ) -> io::Result<()> {
        crate::stats::clear_before_output();
        match self.config.format {
            Format::Human => {
                writeln!(self.out, "Received order: {}", order.to_json())?;
                writeln!(self.out, "Partition: {partition}, Offset: {offset}")
            }
            Format::Json => {
                let (key, key_encoding) = crate::dead_letter::encode(key);
                let record = JsonRecord {
                    topic,
                    partition,
                    offset,
                    key,
                    key_encoding,
                    order,
                };
                let line = serde_json::to_string(&record).map_err(io::Error::other)?;
                writeln!(self.out, "{line}")
            }
        }
    }

    /// A closed stdout ends the run quietly; any other write error is an error.
    fn output_failed(&mut self, e: io::Error) -> Result<Option<Stop>, Error> {
        output_closed(e).map(|()| {
            log::debug!("stdout closed; stopping");
            Some(Stop::OutputClosed)
        })
    }

    /// Publishes a dead letter, keyed and partitioned like the record, and waits for the
    /// broker's acknowledgement. A refused one is shortened; one refused even then is logged
    /// and skipped, so the partition moves on.
    fn dead_letter(
        &mut self,
        dlq: &str,
        partition: i32,
        offset: i64,
        key: Option<&[u8]>,
        envelope: &Envelope,
    ) -> Result<(), Error> {
        let topic = self.config.topic.as_str();
        let partitions = match self.dlq_partitions {
            Some(n) => n,
            None => {
                let n = self.client.partitions(dlq)?.len() as u32;
                self.dlq_partitions = Some(n);
                n
            }
        };
        let to = key.map_or(0, |k| partition::for_key(k, partitions));
        let settings = ProduceSettings {
            acks: Acks::All,
            ack_timeout: self.config.dlq_ack_timeout,
            compression: Compression::None,
            compressor: records::uncompressed_only,
            idempotent: false,
        };
        let send = |client: &mut Client<'_>, value: &str| {
            let record = Outgoing {
                partition: to,
                key,
                value: Some(value.as_bytes()),
            };
            let (mut results, ended) = client.produce(dlq, &[record], &settings);
            match ended {
                Some(e) => Err(e),
                None => Ok(results.pop().expect("one result per record")),
            }
        };
        let refused = match send(&mut self.client, &envelope.to_json())? {
            Ok(_) => {
                self.summary.dead_lettered += 1;
                return Ok(());
            }
            Err(cause) => cause,
        };
        log::warn!(
            "{topic}/{partition} offset {offset}: the dead letter was refused ({refused}); \
             sending a shortened one"
        );
        let short = envelope.to_shortened_json(SHORT_PREFIX);
        match send(&mut self.client, &short)? {
            Ok(_) => {
                self.summary.dead_lettered += 1;
                self.summary.shortened += 1;
            }
            Err(cause) => {
                log::error!(
                    "{topic}/{partition} offset {offset}: no dead letter could be published to \
                     '{dlq}' ({cause}); skipping the record"
                );
                self.summary.skipped += 1;
            }
        }
        Ok(())
    }

    /// Commits the next offset of every partition that moved since the last commit. A commit the
    /// group refuses because it is rebalancing leads to a new join.
    fn commit(&mut self) -> Result<(), Error> {
        self.uncommitted = 0;
        if !self.commit {
            return Ok(());
        }
        let moved: Vec<(i32, i64)> = self
            .positions
            .iter()
            .filter(|(p, o)| self.committed.get(p) != Some(o))
            .map(|(&p, &o)| (p, o))
            .collect();
        if moved.is_empty() {
            return Ok(());
        }
        let config = self.config;
        if self
            .client
            .commit(&config.group, &config.topic, &moved, self.member.as_ref())?
        {
            self.committed.extend(moved);
            self.commits += 1;
        } else if let Some(member) = self.member.as_mut() {
            log::warn!(
                "group '{}' moved to a new generation before offsets {moved:?} were committed; \
                 another member may read those records again",
                config.group
            );
            // Force the next heartbeat, which tells the poll loop to join again.
            member.generation = -1;
        }
        Ok(())
    }
}
