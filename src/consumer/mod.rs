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
//!
//! The poll and commit loop lives here; reading a fetched partition in [`read`], dead letters in
//! [`dead_letters`], `--stats` figures in [`figures`], the summary in [`summary`]; `--lag` is
//! [`crate::lag`].

mod dead_letters;
mod figures;
mod read;
mod summary;

pub use summary::Summary;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::thread;
use std::time::Instant;

use crate::client::{
    Ahead, Beat, Client, End, FetchSettings, Fetched, GroupSettings, Heartbeat,
    Isolation as ClientIsolation, Member, Position,
};
use crate::config::{ConsumerConfig, Format, Start, MAX_FETCH_BYTES};
use crate::error::{output_closed, secs, Error};
use crate::order::Order;
#[cfg(feature = "registry")]
use crate::registry::Registry;
use crate::stats::{PartitionFigures, Progress, Reporter};

/// Largest decompressed batch accepted: Kafka's batches are at most message.max.bytes.
const MAX_DECOMPRESSED: usize = MAX_FETCH_BYTES as usize;
/// Largest response frame: what the fetch asks for, plus room for one oversized batch.
const MAX_FRAME: usize = 100 << 20;

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
    // The group path without --partition joins the group: its heartbeats go from a thread of
    // their own, on connections of their own, for as long as the run lasts.
    let member = (config.use_group && config.partitions.is_empty())
        .then(|| Member::new(&config.group, group_settings(config)));
    let beat = member.as_ref().map(Member::beat);
    let heartbeats = beat.as_ref().map(|_| client.sibling());
    #[cfg(feature = "registry")]
    let registry = match &config.registry {
        Some(settings) => {
            let c = &config.connection;
            let retry = c.client_options("order-consumer", 0, &[]).retry;
            Some(Registry::new(
                settings,
                c.connect_timeout,
                c.request_timeout,
                retry,
            )?)
        }
        None => None,
    };
    thread::scope(|scope| {
        let _finish = Finish(beat.as_deref());
        if let (Some(beat), Some(heartbeats)) = (beat.as_deref(), heartbeats) {
            scope.spawn(move || heartbeats.send_heartbeats(beat));
        }
        let consumer = Consumer {
            config,
            client,
            out,
            summary,
            positions: BTreeMap::new(),
            committed: HashMap::new(),
            commit: false,
            uncommitted: 0,
            dlq_partitions: None,
            joining: member,
            member: None,
            reporter: Reporter::new(&config.seeing),
            progress: Progress::new(&config.seeing),
            commits: 0,
            high_watermarks: HashMap::new(),
            started_with: Vec::new(),
            partition_count: 0,
            metadata_checked: Instant::now(),
            order: None,
            line: Vec::new(),
            ahead: None,
            #[cfg(feature = "registry")]
            registry,
            #[cfg(feature = "registry")]
            decoded: Vec::new(),
            #[cfg(feature = "registry")]
            stop,
        };
        consumer.run(human)
    })
}

/// Ends the heartbeat thread when the run ends, also by a panic (the scope waits for it).
struct Finish<'b>(Option<&'b Beat>);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        if let Some(beat) = self.0 {
            beat.finish();
        }
    }
}

fn group_settings(c: &ConsumerConfig) -> GroupSettings {
    GroupSettings {
        session_timeout: c.session_timeout,
        heartbeat_interval: c.heartbeat_interval,
        max_poll_interval: c.max_poll_interval,
        instance_id: c.instance_id.clone(),
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
    dlq_partitions: Option<u32>,
    /// The member this process joins the group as (the group path without --partition).
    joining: Option<Member>,
    /// Set while this process is a member of the group.
    member: Option<Member>,
    reporter: Option<Reporter>,
    progress: Progress,
    /// Commits the group accepted.
    commits: u64,
    /// The last high watermark a fetch reported, per partition.
    high_watermarks: HashMap<i32, i64>,
    /// The topic's partitions when the run began: one added since is read from its earliest
    /// offset, whatever `--from` says, so no record of it is skipped.
    started_with: Vec<i32>,
    /// The topic's partition count at the last look, and when that was.
    partition_count: usize,
    metadata_checked: Instant,
    /// The last valid order's strings, lent to the next one.
    order: Option<Order>,
    /// One order's output, written in one call.
    line: Vec<u8>,
    /// The next fetch round, sent before this one's records were read.
    ahead: Option<Ahead>,
    /// The writer schemas of wire-format records; `None` without `--schema-registry`.
    #[cfg(feature = "registry")]
    registry: Option<Registry>,
    /// An Avro order read as JSON text, before it is parsed.
    #[cfg(feature = "registry")]
    decoded: Vec<u8>,
    #[cfg(feature = "registry")]
    stop: &'a AtomicBool,
}

/// Why the poll loop ended early.
enum Stop {
    OutputClosed,
    MaxMessages,
    Interrupted,
    /// This member lost its partitions: the rest of the fetch may be another member's.
    Lost,
}

impl Consumer<'_, '_> {
    fn run(mut self, human: bool) -> Result<(), Error> {
        let result = self.assign().and_then(|()| {
            if human {
                say(self.out, "Listening for messages...")?;
            }
            self.poll()
        });
        // Whatever ended the run, what was printed is committed; then the group is left at once,
        // also after a stop request.
        self.client.finishing();
        let committed = self.commit();
        let left = self.leave();
        let committed = committed.and(left);
        self.progress.clear();
        if self.reporter.is_some() {
            self.report();
        }
        match result {
            Err(Error::Interrupted) => {
                log::info!("stopping: interrupted");
                committed
            }
            other => other.and(committed),
        }
    }

    /// Picks the partitions and where to start in each. The group path joins the group (the
    /// coordinator assigns partitions) or, with `--partition`, reads those partitions with the
    /// group's committed offsets; without a coordinator, every partition (or `--partition`) is
    /// read from `--from`, committing nothing.
    fn assign(&mut self) -> Result<(), Error> {
        let config = self.config;
        let topic = config.topic.as_str();
        let all = self.client.partitions(topic)?;
        self.started_with = all.clone();
        self.partition_count = all.len();
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
            // Only a group path that is not there at all (no coordinator: the seed's case) falls
            // back to manual assignment; any other answer of the group is an answer.
            match self.client.find_coordinator(&config.group) {
                Ok(()) => return self.assign_group(partitions),
                Err(e @ (Error::Interrupted | Error::Refused { .. })) => return Err(e),
                Err(e) => log::warn!(
                    "group path unavailable ({e}); falling back to manual assignment of \
                     partitions {partitions:?} from {:?}, without committing offsets",
                    config.start
                ),
            }
        }
        self.start_at(&partitions, HashMap::new())
    }

    /// The group path: joins the group (the coordinator assigns partitions) or, with
    /// `--partition`, reads `partitions` with the group's committed offsets; either way from the
    /// group's committed offsets, `--from` where it has none.
    fn assign_group(&mut self, partitions: Vec<i32>) -> Result<(), Error> {
        let config = self.config;
        let (topic, group) = (config.topic.as_str(), config.group.as_str());
        let (member, mine) = if config.partitions.is_empty() {
            let mut member = self.joining.take().expect("a member for the group path");
            let mine = match self.client.join(&mut member, topic) {
                Ok(mine) => mine,
                Err(Error::Interrupted) => {
                    self.summary.joining = Some(group.to_string());
                    return Err(Error::Interrupted);
                }
                Err(e) => return Err(e),
            };
            log::info!("assigned {topic} {mine:?}");
            (Some(member), mine)
        } else {
            self.refuse_live_group(&partitions)?;
            (None, partitions)
        };
        let offsets = self.client.committed(group, topic, &mine)?;
        self.commit = true;
        self.summary.group = Some(group.to_string());
        self.member = member;
        self.start_at(&mine, offsets)
    }

    /// `--partition` with a group commits as no member of it: while the group has members,
    /// they own its partitions, would print the same records, and the group refuses such
    /// commits. A usage error, as a partition that does not exist is: another command line is
    /// the fix, not another attempt.
    fn refuse_live_group(&mut self, partitions: &[i32]) -> Result<(), Error> {
        let group = self.config.group.as_str();
        let (members, state) = self.client.members(group)?;
        let n = members.len();
        if n == 0 {
            return Ok(());
        }
        let (noun, verb) = if n == 1 {
            ("member", "owns")
        } else {
            ("members", "own")
        };
        Err(Error::Usage(format!(
            "group '{group}' has {n} {noun} ({state}: {}), which {verb} its partitions: reading \
             partitions {partitions:?} with this group would print what they print, and the \
             group would refuse the commits; use --no-group to read them without committing, or \
             another group (-g NAME)",
            members.join(", ")
        )))
    }

    /// Positions for `partitions`: the committed offset where there is one, `--from` elsewhere.
    fn start_at(&mut self, partitions: &[i32], committed: HashMap<i32, i64>) -> Result<(), Error> {
        let missing: Vec<i32> = partitions
            .iter()
            .copied()
            .filter(|p| !committed.contains_key(p))
            .collect();
        let (old, new): (Vec<i32>, Vec<i32>) =
            missing.iter().partition(|p| self.started_with.contains(p));
        let mut starts = if old.is_empty() {
            HashMap::new()
        } else {
            self.start_offsets(&old, self.config.start)?
        };
        if !new.is_empty() {
            starts.extend(self.start_offsets(&new, Start::Earliest)?);
        }
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

    /// After a rebalance: commits what was read (unless this member `lost` its generation, when
    /// the group takes no commit of it and its partitions may be another member's already), then
    /// joins again and starts from the group's offsets of the new assignment.
    fn rejoin(&mut self, lost: bool) -> Result<(), Error> {
        let Some(mut member) = self.member.take() else {
            return Ok(());
        };
        let config = self.config;
        let topic = config.topic.as_str();
        let revoked: Vec<i32> = self.positions.keys().copied().collect();
        if lost {
            log::warn!(
                "lost {topic} {revoked:?}: this member is out of the group's generation; what it                  read since its last commit is not committed (the next owner reads it again)"
            );
        } else {
            self.member = Some(member.clone());
            self.commit()?;
            log::info!("revoked {topic} {revoked:?} (the group is rebalancing)");
        }
        self.positions.clear();
        let mine = self.client.join(&mut member, topic)?;
        log::info!("assigned {topic} {mine:?}");
        let offsets = self.client.committed(&config.group, topic, &mine)?;
        self.member = Some(member);
        self.client.forget_fetch_failures();
        self.start_at(&mine, offsets)
    }

    /// Looks up the topic's partitions again (every `--metadata-max-age`). When their number
    /// changed, the group's leader joins again, so the coordinator rebalances and the new
    /// partitions get owners; the manual path reads every partition, so it adds the new ones.
    fn refresh_partitions(&mut self) -> Result<(), Error> {
        self.metadata_checked = Instant::now();
        let topic = self.config.topic.as_str();
        self.client.invalidate();
        let all = self.client.partitions(topic)?;
        if all.len() == self.partition_count {
            return Ok(());
        }
        log::info!(
            "'{topic}' has {} partitions now, {} before",
            all.len(),
            self.partition_count
        );
        self.partition_count = all.len();
        match &self.member {
            Some(member) if member.leader => self.rejoin(false),
            // The leader rebalances the group; the coordinator tells this member.
            Some(_) => Ok(()),
            None if self.config.partitions.is_empty() => {
                let new: Vec<i32> = all
                    .into_iter()
                    .filter(|p| !self.positions.contains_key(p))
                    .collect();
                if new.is_empty() {
                    return Ok(());
                }
                let starts = self.start_offsets(&new, Start::Earliest)?;
                log::info!("reading '{topic}' partitions {new:?} too, from offsets {starts:?}");
                self.positions.extend(starts);
                Ok(())
            }
            // --partition: the partitions asked for, no others.
            None => Ok(()),
        }
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
                member.polled();
                match member.news()? {
                    Heartbeat::Fine => {}
                    Heartbeat::Rejoin => self.rejoin(false)?,
                    Heartbeat::Lost => self.rejoin(true)?,
                }
            }
            if self.metadata_checked.elapsed() >= self.config.metadata_max_age {
                self.refresh_partitions()?;
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
                // The next round hears why and joins again.
                Some(Stop::Lost) => continue,
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
            max_bytes: config.fetch_total_bytes,
            max_decompressed: MAX_DECOMPRESSED,
        };
        // The round sent ahead last time is read when it asked for these very positions; one
        // that asked for others (a reset, a rebalance, a stop mid-round) is given up.
        let fetch = match self.ahead.take() {
            Some(ahead) if ahead.positions() == positions.as_slice() => {
                self.client.fetched(ahead)?
            }
            other => {
                if let Some(ahead) = other {
                    self.client.abandon(ahead);
                }
                self.client.fetch(topic, &positions, settings)?
            }
        };
        // The next round goes out now, so the broker gathers it while this one is printed.
        if let Some(next) = fetch.next_positions(&positions) {
            self.ahead = Some(self.client.fetch_ahead(topic, &next, settings)?);
        }
        // The records stay in the fetch's buffers while they are read, dead letters sent and
        // offsets committed on the client meanwhile.
        for p in fetch.partitions() {
            if let Fetched::Records(p) = p {
                self.high_watermarks.insert(p.partition, p.high_watermark);
            }
        }
        for p in fetch.partitions() {
            match p {
                Fetched::OutOfRange { partition } => self.reset(partition)?,
                Fetched::Records(records) => {
                    if let Some(stop) = self.read_partition(&records)? {
                        return Ok(Some(stop));
                    }
                }
            }
        }
        if let Err(e) = self.out.flush() {
            return self.output_failed(e);
        }
        self.client.settle(fetch)?;
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

    /// Commits the next offset of every partition that moved since the last commit. A commit the
    /// group refuses puts the member out of its generation: nothing more is committed, and the
    /// poll loop stops reading and joins again. A member out of its generation commits nothing.
    fn commit(&mut self) -> Result<(), Error> {
        self.uncommitted = 0;
        if !self.commit || self.member.as_ref().is_some_and(|m| !m.in_generation()) {
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
        } else {
            self.summary.refused_commits += 1;
            log::warn!(
                "group '{}' refused offsets {moved:?}: this member is out of its generation, \
                 so it stops reading those partitions and joins again; another member may read \
                 those records again",
                config.group
            );
        }
        Ok(())
    }
}
