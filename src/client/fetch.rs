//! Fetching and listing offsets, each partition from its leader.
//!
//! A fetch round is a [`Fetch`]: it owns the answers' bytes (moved out of the connections, not
//! copied) and hands out each partition's records borrowed from them, decoded by
//! [`super::records`], at or past the offset asked for, control batches and (with
//! `read_committed`) aborted transactions dropped, as rskafka's `fetch_records` does. Partitions
//! whose leader moved or whose broker failed are counted under the one retry policy by
//! [`Client::settle`], after the round is read.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::time::Duration;

use super::conn::garbled;
use super::records::{Batches, ControlType, Limits};
use super::request::{ApiKey, FetchPartition, FetchRequest, ListOffsetsRequest};
use super::wire::{Reader, Result as WireResult};
use super::{codes, Client, Failure};
use crate::error::Error;

pub use super::records::Record;

/// Fetch versions this client reads (v4 brings transactions; v13 would switch to topic ids).
pub(super) const FETCH: std::ops::RangeInclusive<i16> = 4..=12;
pub(super) const LIST_OFFSETS: std::ops::RangeInclusive<i16> = 1..=7;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    ReadUncommitted,
    /// Only committed transactions, and nothing past the last stable offset (the default).
    ReadCommitted,
}

impl Isolation {
    fn level(self) -> i8 {
        match self {
            Isolation::ReadUncommitted => 0,
            Isolation::ReadCommitted => 1,
        }
    }
}

/// Where to read a partition from, and how many bytes at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
    pub max_bytes: i32,
}

/// One partition of a fetch answer, as the wire has it.
pub(super) struct FetchedPartition<'r> {
    pub partition: i32,
    pub error: i16,
    pub high_watermark: i64,
    pub log_start_offset: i64,
    /// (producer id, first offset) of each aborted transaction in the range.
    pub aborted: Vec<(i64, i64)>,
    pub records: &'r [u8],
}

/// Where a partition's log starts or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Earliest,
    Latest,
}

/// Fetch settings that do not change between rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchSettings {
    pub wait: Duration,
    pub min_bytes: i32,
    pub isolation: Isolation,
    /// Bytes a broker may answer in all, over every partition (`fetch.max.bytes`).
    pub max_bytes: i32,
    /// Largest decompressed size of one batch's records; a larger batch is an error.
    pub max_decompressed: usize,
}

/// Frames of read fetches kept for the next answers: a round in flight and one being read,
/// from a broker or two.
pub(super) const SPARE_FRAMES: usize = 4;

/// One fetch round's answers: the bytes of every broker's answer, and where each partition's
/// records lie in them.
pub struct Fetch {
    topic: String,
    frames: Vec<Vec<u8>>,
    partitions: Vec<Answered>,
    /// The partitions to fetch again, with the cause.
    retry: Vec<(i32, String)>,
    read_committed: bool,
    limits: Limits,
}

/// One answered partition, its records a range of one of the frames.
struct Answered {
    partition: i32,
    out_of_range: bool,
    /// The offset asked for: records before it are not handed out.
    from: i64,
    high_watermark: i64,
    log_start_offset: i64,
    aborted: Vec<(i64, i64)>,
    frame: usize,
    records: Range<usize>,
}

/// A fetch round sent ahead by [`Client::fetch_ahead`], its answers not read yet.
pub struct Ahead {
    topic: String,
    positions: Vec<Position>,
    settings: FetchSettings,
    sent: Vec<SentFetch>,
    /// Partitions not asked for (no leader known, a broker that failed): retried by the round.
    retry: Vec<(i32, String)>,
}

impl Ahead {
    /// The positions the round was sent for: a caller whose positions moved otherwise
    /// abandons it.
    pub fn positions(&self) -> &[Position] {
        &self.positions
    }
}

/// One broker's request of a round sent ahead.
struct SentFetch {
    node: i32,
    serial: u64,
    correlation: i32,
    version: i16,
    parts: Vec<Position>,
}

/// One broker's part of a round: its frame, the partitions answered (their records ranges of
/// the frame), the partitions to retry.
type BrokerAnswer = (Vec<u8>, Vec<Answered>, Vec<(i32, String)>);

/// What a fetch answered for one partition.
pub enum Fetched<'f> {
    Records(PartitionRecords<'f>),
    /// The offset asked for is outside the partition's log (retention deleted it, or it is past
    /// the end): the caller resets the position.
    OutOfRange {
        partition: i32,
    },
}

/// One partition's records of a [`Fetch`], borrowed from it.
pub struct PartitionRecords<'f> {
    pub partition: i32,
    pub high_watermark: i64,
    /// The partition's first offset (-1 from a broker that does not say).
    pub log_start_offset: i64,
    fetch: &'f Fetch,
    answered: &'f Answered,
}

/// One step of reading a partition's records, in offset order.
pub enum Step<'r> {
    Record(Record<'r>),
    /// Every offset before this one is read: the end of a batch, skipped ones (control batches,
    /// aborted transactions) and offsets compaction removed included.
    Next(i64),
}

impl Fetch {
    /// Where `asked` will be once every record of this round is read, when nothing but reading
    /// moves them (no partition to retry or reset): the positions to send the next round for
    /// before reading this one.
    pub fn next_positions(&self, asked: &[Position]) -> Option<Vec<Position>> {
        if !self.retry.is_empty() || self.partitions.iter().any(|a| a.out_of_range) {
            return None;
        }
        let mut next = asked.to_vec();
        for a in &self.partitions {
            let records = &self.frames[a.frame][a.records.clone()];
            if let (Some(p), Some(end)) = (
                next.iter_mut().find(|p| p.partition == a.partition),
                super::records::end_offset(records),
            ) {
                p.offset = p.offset.max(end);
            }
        }
        Some(next)
    }

    /// The answered partitions, in the order the brokers answered.
    pub fn partitions(&self) -> impl Iterator<Item = Fetched<'_>> {
        self.partitions.iter().map(move |a| {
            if a.out_of_range {
                Fetched::OutOfRange {
                    partition: a.partition,
                }
            } else {
                Fetched::Records(PartitionRecords {
                    partition: a.partition,
                    high_watermark: a.high_watermark,
                    log_start_offset: a.log_start_offset,
                    fetch: self,
                    answered: a,
                })
            }
        })
    }
}

impl PartitionRecords<'_> {
    /// Hands each record at or past the offset asked for to `each`, in offset order, with a
    /// [`Step::Next`] after every batch; control batches and, with `read_committed`, the
    /// records of aborted transactions are dropped. Ends early with what `each` returns when it
    /// is `Some`; a batch that does not decode (a CRC that does not match, a codec that fails)
    /// ends it with [`Error::Broker`].
    pub fn read<T>(
        &self,
        mut each: impl FnMut(Step<'_>) -> Result<Option<T>, Error>,
    ) -> Result<Option<T>, Error> {
        let fetch = self.fetch;
        let a = self.answered;
        let (topic, partition) = (fetch.topic.as_str(), a.partition);
        let broken = |e: super::records::RecordError| Error::Broker {
            what: format!("reading {topic}/{partition}"),
            cause: e.to_string(),
        };
        let mut aborted = a.aborted.clone();
        aborted.sort_by_key(|a| a.1);
        let mut aborted = aborted.into_iter().peekable();
        let mut aborting: HashSet<i64> = HashSet::new();
        let mut scratch = Vec::new();
        // Where the caller is: past every record handed out and every batch walked.
        let mut position = a.from;
        let mut batches = Batches::new(&fetch.frames[a.frame][a.records.clone()]);
        for batch in batches.by_ref() {
            let batch = batch.map_err(|e| Error::Broker {
                what: format!("reading {topic}/{partition} at offset {position}"),
                cause: e.to_string(),
            })?;
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
                let marker = batch
                    .control_type(&mut scratch, &fetch.limits)
                    .map_err(broken)?;
                if marker == Some(ControlType::Abort) {
                    aborting.remove(&batch.producer_id);
                }
                true
            } else {
                fetch.read_committed
                    && batch.is_transactional
                    && aborting.contains(&batch.producer_id)
            };
            if !skip {
                for record in batch.records(&mut scratch, &fetch.limits).map_err(broken)? {
                    let record = record.map_err(broken)?;
                    if record.offset < position {
                        continue;
                    }
                    position = record.offset + 1;
                    if let Some(end) = each(Step::Record(record))? {
                        return Ok(Some(end));
                    }
                }
            }
            position = batch.next_offset().max(position);
            if let Some(end) = each(Step::Next(position))? {
                return Ok(Some(end));
            }
        }
        Ok(None)
    }
}

impl Client<'_> {
    /// One fetch round: asks each leader for its partitions of `positions`. The partitions to
    /// retry wait in the answer for [`Client::settle`].
    pub fn fetch(
        &mut self,
        topic: &str,
        positions: &[Position],
        settings: FetchSettings,
    ) -> Result<Fetch, Error> {
        let ahead = self.fetch_ahead(topic, positions, settings)?;
        self.fetched(ahead)
    }

    /// Sends a fetch round without reading its answers, on connections that carry only
    /// fetches: the brokers gather the records while the caller prints the last round's.
    /// [`Client::fetched`] reads it; [`Client::abandon`] gives it up.
    pub fn fetch_ahead(
        &mut self,
        topic: &str,
        positions: &[Position],
        settings: FetchSettings,
    ) -> Result<Ahead, Error> {
        let mut ahead = Ahead {
            topic: topic.to_string(),
            positions: positions.to_vec(),
            settings,
            sent: Vec::new(),
            retry: Vec::new(),
        };
        let mut by_node: BTreeMap<i32, Vec<Position>> = BTreeMap::new();
        for p in positions {
            match self.leader(topic, p.partition) {
                Ok(node) => by_node.entry(node).or_default().push(*p),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Network(c) | Failure::Garbled(c) | Failure::Stale(c)) => {
                    ahead.retry.push((p.partition, c))
                }
            }
        }
        // Every request may wait the whole time: they wait side by side, not one after another.
        for (node, parts) in by_node {
            match self.start_fetch(node, topic, &parts, settings) {
                Ok((serial, correlation, version)) => ahead.sent.push(SentFetch {
                    node,
                    serial,
                    correlation,
                    version,
                    parts,
                }),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Network(c) | Failure::Garbled(c)) => {
                    self.drop_fetch_node(node);
                    self.invalidate();
                    ahead
                        .retry
                        .extend(parts.iter().map(|p| (p.partition, c.clone())));
                }
                Err(Failure::Stale(c)) => ahead
                    .retry
                    .extend(parts.iter().map(|p| (p.partition, c.clone()))),
            }
        }
        Ok(ahead)
    }

    /// Reads the answers of a round sent by [`Client::fetch_ahead`].
    pub fn fetched(&mut self, ahead: Ahead) -> Result<Fetch, Error> {
        let settings = ahead.settings;
        let mut fetch = Fetch {
            topic: ahead.topic,
            frames: Vec::new(),
            partitions: Vec::new(),
            retry: ahead.retry,
            read_committed: settings.isolation == Isolation::ReadCommitted,
            limits: Limits {
                max_decompressed: settings.max_decompressed,
            },
        };
        for sent in ahead.sent {
            match self.finish_fetch(&sent, &fetch.topic, settings) {
                Ok((frame, mut answered, mut again)) => {
                    let at = fetch.frames.len();
                    answered.iter_mut().for_each(|a| a.frame = at);
                    fetch.frames.push(frame);
                    fetch.partitions.append(&mut answered);
                    fetch.retry.append(&mut again);
                }
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Network(c) | Failure::Garbled(c)) => {
                    self.drop_fetch_node(sent.node);
                    fetch
                        .retry
                        .extend(sent.parts.iter().map(|p| (p.partition, c.clone())));
                }
                Err(Failure::Stale(c)) => fetch
                    .retry
                    .extend(sent.parts.iter().map(|p| (p.partition, c.clone()))),
            }
        }
        if !fetch.retry.is_empty() {
            self.invalidate();
        }
        // A partition that answered with records, or out of range, starts its count again.
        for a in &fetch.partitions {
            if a.out_of_range || !a.records.is_empty() {
                self.fetch_failures.remove(&a.partition);
            }
        }
        Ok(fetch)
    }

    /// Gives up a round sent ahead: the connections its answers would come on are closed.
    pub fn abandon(&mut self, ahead: Ahead) {
        for sent in ahead.sent {
            self.drop_fetch_node(sent.node);
        }
    }

    /// Counts each partition a read [`Fetch`] must fetch again under the one retry policy: a
    /// pause, then another round; a partition that keeps failing ends the run with its cause.
    /// Its frames are kept for the next rounds' answers: no memory is allocated, zeroed and
    /// given back per fetch.
    pub fn settle(&mut self, mut fetch: Fetch) -> Result<(), Error> {
        for frame in fetch.frames.drain(..) {
            if self.spare_frames.len() < SPARE_FRAMES {
                self.spare_frames.push(frame);
            }
        }
        let Some((attempt, partition, cause)) = fetch
            .retry
            .iter()
            .map(|(p, cause)| {
                let n = self.fetch_failures.entry(*p).or_insert(0);
                *n += 1;
                (*n, *p, cause.clone())
            })
            .max_by_key(|f| f.0)
        else {
            return Ok(());
        };
        let attempts = self.options.retry.attempts;
        if attempt >= attempts {
            return Err(Error::Broker {
                what: format!("fetching {}/{partition}", fetch.topic),
                cause: format!("{cause} (gave up after {attempts} attempts)"),
            });
        }
        self.pause(attempt, &format!("fetching: {cause}"))
    }

    /// Starts every partition's count of failed fetches again (a new assignment).
    pub fn forget_fetch_failures(&mut self) {
        self.fetch_failures.clear();
    }

    /// Sends one broker its part of a round: (connection serial, correlation id, version).
    fn start_fetch(
        &mut self,
        node: i32,
        topic: &str,
        parts: &[Position],
        settings: FetchSettings,
    ) -> Result<(u64, i32, i16), Failure> {
        let limit = self.options.max_response_bytes;
        let conn = self.fetch_node(node)?;
        let version = conn.version(ApiKey::Fetch, FETCH)?;
        let total: i64 = parts.iter().map(|p| i64::from(p.max_bytes)).sum();
        let request = FetchRequest {
            max_wait_ms: settings.wait.as_millis().min(i32::MAX as u128) as i32,
            min_bytes: settings.min_bytes,
            max_bytes: total
                .min(i64::from(settings.max_bytes))
                .min(limit as i64 - 65536)
                .max(1) as i32,
            isolation_level: settings.isolation.level(),
            topic,
            partitions: parts
                .iter()
                .map(|p| FetchPartition {
                    partition: p.partition,
                    fetch_offset: p.offset,
                    partition_max_bytes: p.max_bytes,
                })
                .collect(),
        };
        let correlation = conn.start(ApiKey::Fetch, &request, version)?;
        Ok((conn.serial, correlation, version))
    }

    /// One broker's answer: its frame, the partitions answered (their records ranges of the
    /// frame) and the partitions to retry.
    fn finish_fetch(
        &mut self,
        sent: &SentFetch,
        topic: &str,
        settings: FetchSettings,
    ) -> Result<BrokerAnswer, Failure> {
        let stop = self.stop;
        let (parts, version) = (&sent.parts, sent.version);
        let room = self.spare_frames.pop().unwrap_or_default();
        let Some(conn) = self.same_fetch_conn(sent.node, sent.serial) else {
            return Err(Failure::Network(format!(
                "the connection a fetch of '{topic}' went out on was closed before its answer"
            )));
        };
        let addr = conn.addr.clone();
        let body = conn.answer(
            ApiKey::Fetch,
            version,
            sent.correlation,
            settings.wait,
            stop,
        )?;
        let answers = parse_fetch(body, version).map_err(|e| garbled(&addr, ApiKey::Fetch, e))?;
        let body_at = body.as_ptr() as usize;
        let body_len = body.len();
        let mut answered = Vec::new();
        let mut retry = Vec::new();
        for a in answers {
            match a.error {
                codes::NONE | codes::OFFSET_OUT_OF_RANGE => {
                    let start = a.records.as_ptr() as usize - body_at;
                    let from = parts.iter().find(|p| p.partition == a.partition);
                    answered.push(Answered {
                        partition: a.partition,
                        out_of_range: a.error == codes::OFFSET_OUT_OF_RANGE,
                        from: from.map_or(0, |p| p.offset),
                        high_watermark: a.high_watermark,
                        log_start_offset: a.log_start_offset,
                        aborted: a.aborted,
                        frame: 0,
                        records: start..start + a.records.len(),
                    });
                }
                e => match codes::failure(
                    e,
                    &format!("{topic}/{}", a.partition),
                    "read",
                    &format!("topic '{topic}'"),
                    || format!("fetching {topic}/{}", a.partition),
                ) {
                    Failure::Stale(cause) => retry.push((a.partition, cause)),
                    fatal => return Err(fatal),
                },
            }
        }
        // The answer outlives the next request on this connection: its frame moves out, from
        // the connection that answered (a new look-up could replace one whose login ends).
        let frame = conn.take_frame(room);
        let body_start = frame.len() - body_len;
        for a in &mut answered {
            a.records = a.records.start + body_start..a.records.end + body_start;
        }
        Ok((frame, answered, retry))
    }

    /// The earliest or latest offset of each of `partitions`.
    pub fn list_offsets(
        &mut self,
        topic: &str,
        partitions: &[i32],
        end: End,
        isolation: Isolation,
    ) -> Result<HashMap<i32, i64>, Error> {
        let timestamp = match end {
            End::Earliest => -2,
            End::Latest => -1,
        };
        self.retry("looking up partition offsets", |c| {
            let mut by_node: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
            for &p in partitions {
                by_node.entry(c.leader(topic, p)?).or_default().push(p);
            }
            let mut found = HashMap::new();
            for (node, parts) in by_node {
                let stop = c.stop;
                let conn = c.node(node)?;
                let version = conn.version(ApiKey::ListOffsets, LIST_OFFSETS)?;
                let request = ListOffsetsRequest {
                    isolation_level: isolation.level(),
                    topic,
                    partitions: &parts,
                    timestamp,
                };
                let addr = conn.addr.clone();
                let body =
                    conn.call(ApiKey::ListOffsets, &request, version, Duration::ZERO, stop)?;
                let answers = parse_list_offsets(body, version)
                    .map_err(|e| garbled(&addr, ApiKey::ListOffsets, e))?;
                for (p, error, offset) in answers {
                    match error {
                        codes::NONE => {
                            found.insert(p, offset);
                        }
                        e => {
                            return Err(codes::failure(
                                e,
                                &format!("{topic}/{p}"),
                                "read",
                                &format!("topic '{topic}'"),
                                || format!("looking up the offsets of {topic}/{p}"),
                            ))
                        }
                    }
                }
            }
            match partitions.iter().find(|p| !found.contains_key(p)) {
                Some(p) => Err(Failure::Stale(format!(
                    "no offsets for {topic}/{p} in the answer"
                ))),
                None => Ok(found),
            }
        })
    }
}

pub(super) fn parse_fetch(body: &[u8], version: i16) -> WireResult<Vec<FetchedPartition<'_>>> {
    let mut r = Reader::new(body, version >= 12);
    r.i32()?; // throttle
    if version >= 7 {
        let error = r.i16()?;
        r.i32()?; // session
        if error != codes::NONE {
            return Err(super::wire::WireError(format!(
                "the fetch failed as a whole: {}",
                codes::describe(error)
            )));
        }
    }
    let mut out = Vec::new();
    r.topics(30, |r, _| {
        let partition = r.i32()?;
        let error = r.i16()?;
        let high_watermark = r.i64()?;
        r.i64()?; // last stable offset
        let log_start_offset = if version >= 5 { r.i64()? } else { -1 };
        let n = r.count(16)?;
        let mut aborted = Vec::with_capacity(n);
        for _ in 0..n {
            aborted.push((r.i64()?, r.i64()?));
            r.tags()?;
        }
        if version >= 11 {
            r.i32()?; // preferred read replica
        }
        let records = r.nullable_bytes()?.unwrap_or_default();
        r.tags()?;
        out.push(FetchedPartition {
            partition,
            error,
            high_watermark,
            log_start_offset,
            aborted,
            records,
        });
        Ok(())
    })?;
    r.tags()?;
    Ok(out)
}

pub(super) fn parse_list_offsets(body: &[u8], version: i16) -> WireResult<Vec<(i32, i16, i64)>> {
    let mut r = Reader::new(body, version >= 6);
    if version >= 2 {
        r.i32()?; // throttle
    }
    let mut out = Vec::new();
    r.topics(22, |r, _| {
        let partition = r.i32()?;
        let error = r.i16()?;
        r.i64()?; // timestamp
        let offset = r.i64()?;
        if version >= 4 {
            r.i32()?; // leader epoch
        }
        r.tags()?;
        out.push((partition, error, offset));
        Ok(())
    })?;
    r.tags()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three records `0`, `1`, `2` in one committed transaction, then its commit marker (3).
    const TRANSACTION: &[u8] = include_bytes!("records/testdata/java-txn.log");

    /// What reading TRANSACTION from `from` hands out, the transaction listed as aborted or
    /// not: records as (offset, value), each batch's end as its next offset in brackets.
    fn read(from: i64, listed_aborted: bool, read_committed: bool) -> Vec<String> {
        let pid = Batches::new(TRANSACTION)
            .next()
            .unwrap()
            .unwrap()
            .producer_id;
        let fetch = Fetch {
            topic: "t".into(),
            frames: vec![TRANSACTION.to_vec()],
            partitions: vec![Answered {
                partition: 0,
                out_of_range: false,
                from,
                high_watermark: 4,
                log_start_offset: 0,
                aborted: if listed_aborted {
                    vec![(pid, 0)]
                } else {
                    vec![]
                },
                frame: 0,
                records: 0..TRANSACTION.len(),
            }],
            retry: Vec::new(),
            read_committed,
            limits: Limits {
                max_decompressed: 1 << 20,
            },
        };
        let mut seen = Vec::new();
        for p in fetch.partitions() {
            let Fetched::Records(p) = p else {
                panic!("out of range")
            };
            let end: Option<()> = p
                .read(|step| {
                    seen.push(match step {
                        Step::Record(r) => {
                            let value = String::from_utf8_lossy(r.value.unwrap()).to_string();
                            format!("{}={value}", r.offset)
                        }
                        Step::Next(next) => format!("[{next}]"),
                    });
                    Ok(None)
                })
                .unwrap();
            assert_eq!(end, None);
        }
        seen
    }

    #[test]
    fn a_partition_hands_out_its_records_without_control_batches_or_aborted_transactions() {
        // Two batches of data (0; 1 and 2), then the commit marker's batch (3).
        let all = ["0=0", "[1]", "1=1", "2=2", "[3]", "[4]"];
        assert_eq!(read(0, false, true), all);
        // Records before the offset asked for are not handed out; batches before it not walked.
        assert_eq!(read(2, false, true), ["2=2", "[3]", "[4]"]);
        assert_eq!(read(3, false, true), ["[4]"]);
        // An aborted transaction's records are dropped with read_committed only.
        assert_eq!(read(0, true, true), ["[1]", "[3]", "[4]"]);
        assert_eq!(read(0, true, false), all);
    }

    #[test]
    fn a_fetch_answer_with_an_absurd_aborted_count_is_refused_without_allocating() {
        // v11: throttle, error, session, one topic "t", one partition whose aborted-transaction
        // count claims 2^31-1 entries.
        let mut body = vec![
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1,
        ];
        body.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // partition 0, error 0
        body.extend_from_slice(&[0; 16]); // high watermark, last stable offset
        body.extend_from_slice(&[0; 8]); // log start offset
        body.extend_from_slice(&[0x7f, 0xff, 0xff, 0xff]);
        body.extend_from_slice(&[0; 40]);
        let e = parse_fetch(&body, 11).err().expect("refused");
        assert!(e.0.contains("2147483647 elements"), "{e}");
    }
}
