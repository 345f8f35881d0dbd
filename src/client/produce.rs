//! Producing: one record batch per partition, one request per leader, retried under the one
//! retry policy. With idempotence (the default, as in the Java client 3.0+ and librdkafka) each
//! batch carries the producer id, epoch and a per-partition sequence number, and a retry sends
//! the very same bytes, so the broker stores a retried batch once.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::conn::garbled;
use super::records::{self, Compression, OutRecord, ProducerIds};
use super::request::{ApiKey, InitProducerIdRequest, ProducePartition, ProduceRequest};
use super::wire::{Reader, Result as WireResult};
use super::{codes, Client, Failure};
use crate::error::Error;

/// Produce versions this client reads (v3 is the oldest Kafka 4 accepts).
pub(super) const PRODUCE: std::ops::RangeInclusive<i16> = 3..=12;
pub(super) const INIT_PRODUCER_ID: std::ops::RangeInclusive<i16> = 0..=4;

/// Which acknowledgement a produce request waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// None: the broker answers nothing (acks=0), so no offset is known.
    None,
    /// The leader's (acks=1).
    Leader,
    /// Every in-sync replica's (acks=all, -1).
    All,
}

impl Acks {
    /// The value a produce request carries.
    fn code(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProduceSettings {
    pub acks: Acks,
    /// How long the leader waits for replicas (acks=all).
    pub ack_timeout: Duration,
    pub compression: Compression,
    /// [`records::compress`], or [`records::uncompressed_only`] in a program that never
    /// compresses (the consumer's dead letters), which then links no encoder.
    pub compressor: records::Compressor,
    pub idempotent: bool,
}

/// One record to send, to a partition the caller chose.
pub struct Outgoing<'x> {
    pub partition: i32,
    pub key: Option<&'x [u8]>,
    pub value: Option<&'x [u8]>,
}

/// Where a record was stored; `offset` is `None` with acks=0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub partition: i32,
    pub offset: Option<i64>,
}

/// The idempotent producer's identity and next sequence number per partition.
#[derive(Debug, Default)]
pub(super) struct Idempotence {
    id: i64,
    epoch: i16,
    /// By topic, then partition: found without allocating a key.
    next: HashMap<String, HashMap<i32, i32>>,
}

impl Idempotence {
    /// The ids of the next batch of `count` records to `topic`/`partition`: its sequences are
    /// taken.
    fn take(&mut self, topic: &str, partition: i32, count: usize) -> ProducerIds {
        if !self.next.contains_key(topic) {
            self.next.insert(topic.to_string(), HashMap::new());
        }
        let next = self
            .next
            .get_mut(topic)
            .expect("inserted above")
            .entry(partition)
            .or_insert(0);
        let base_sequence = *next;
        // Sequences wrap to 0 after i32::MAX, as the broker expects.
        *next = ((i64::from(*next) + count as i64) % (i64::from(i32::MAX) + 1)) as i32;
        ProducerIds {
            id: self.id,
            epoch: self.epoch,
            base_sequence,
        }
    }
}

/// Why the broker refused a record (or it was not sent): its kind, and the cause in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub cause: String,
}

/// What kind of refusal a record met, for a caller that may only retry a smaller record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The record or its batch is larger than the broker or topic accepts.
    TooLarge,
    /// No ACL allows this user to write there.
    NotAuthorized,
    Other,
}

impl RefusalKind {
    fn of(code: i16) -> RefusalKind {
        match code {
            codes::MESSAGE_TOO_LARGE | codes::RECORD_LIST_TOO_LARGE => RefusalKind::TooLarge,
            codes::TOPIC_AUTHORIZATION_FAILED
            | codes::GROUP_AUTHORIZATION_FAILED
            | codes::CLUSTER_AUTHORIZATION_FAILED => RefusalKind::NotAuthorized,
            _ => RefusalKind::Other,
        }
    }
}

impl Refusal {
    /// A record not sent because of `e`, which ended the call.
    fn other(e: &Error) -> Refusal {
        Refusal {
            kind: RefusalKind::Other,
            cause: e.to_string(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.cause)
    }
}

/// What a produce call settled: one result per record (in the order given), and the error that
/// ended it early (retries ran out, or a stop request), if one did.
pub type Produced = (Vec<Result<Delivery, Refusal>>, Option<Error>);

/// Every one of `count` records refused by `e`, which ended the call.
pub(super) fn failed(count: usize, e: Error) -> Produced {
    (vec![Err(Refusal::other(&e)); count], Some(e))
}

/// One result per record, each [`unsettled`] until the call settles it.
pub(super) type Results = Vec<Result<Delivery, Refusal>>;

/// The place of a result not settled yet (no refusal has an empty cause).
pub(super) fn unsettled() -> Result<Delivery, Refusal> {
    Err(Refusal {
        kind: RefusalKind::Other,
        cause: String::new(),
    })
}

fn is_unsettled(r: &Result<Delivery, Refusal>) -> bool {
    matches!(r, Err(refusal) if refusal.cause.is_empty())
}

/// The results of a call that settled every record, or ended early with `ended`: what is not
/// settled is refused for that error.
pub(super) fn settled(mut results: Results, ended: Option<Error>) -> Produced {
    if results.iter().any(is_unsettled) {
        let why = match &ended {
            Some(e) => Refusal::other(e),
            None => Refusal {
                kind: RefusalKind::Other,
                cause: "not sent".into(),
            },
        };
        for r in results.iter_mut().filter(|r| is_unsettled(r)) {
            *r = Err(why.clone());
        }
    }
    (results, ended)
}

pub(super) struct Pending {
    pub(super) partition: i32,
    /// Indices into the caller's records, in order.
    pub(super) records: Vec<usize>,
    pub(super) batch: Vec<u8>,
}

impl Client<'_> {
    /// Asks the cluster for a producer id, for idempotent batches.
    fn init_producer_id(&mut self, topic: &str) -> Result<(), Error> {
        let idempotence = self.retry("getting a producer id (idempotence)", |c| {
            let stop = c.stop;
            let conn = c.any_conn()?;
            let version = conn.version(ApiKey::InitProducerId, INIT_PRODUCER_ID)?;
            let request = InitProducerIdRequest {
                transactional_id: None,
                transaction_timeout_ms: i32::MAX,
            };
            let addr = conn.addr.clone();
            let body = conn.call(
                ApiKey::InitProducerId,
                &request,
                version,
                Duration::ZERO,
                stop,
            )?;
            let (error, id, epoch) = (|| {
                let mut r = Reader::new(body, version >= 2);
                r.i32()?;
                Ok((r.i16()?, r.i64()?, r.i16()?))
            })()
            .map_err(|e| garbled(&addr, ApiKey::InitProducerId, e))?;
            match error {
                codes::NONE => Ok(Idempotence {
                    id,
                    epoch,
                    next: HashMap::new(),
                }),
                e if codes::retriable(e) => Err(Failure::Stale(codes::describe(e))),
                // Kafka grants a producer id to a user that may write some topic (or holds
                // IdempotentWrite on the cluster).
                codes::CLUSTER_AUTHORIZATION_FAILED => Err(Failure::Fatal(Error::Refused {
                    what: "getting a producer id (idempotence)".into(),
                    cause: format!(
                        "not authorized to write topic '{topic}': {} (a producer id needs WRITE \
                         on some topic, or IdempotentWrite on the cluster)",
                        codes::describe(codes::CLUSTER_AUTHORIZATION_FAILED)
                    ),
                })),
                e => Err(Failure::Fatal(Error::Broker {
                    what: "getting a producer id (idempotence; --no-idempotence does without)"
                        .into(),
                    cause: codes::describe(e),
                })),
            }
        })?;
        log::debug!("producer id {} epoch {}", idempotence.id, idempotence.epoch);
        self.idempotence = Some(idempotence);
        Ok(())
    }

    /// Sends `records` to `topic`, one batch per partition, and waits for the acknowledgements.
    pub fn produce(
        &mut self,
        topic: &str,
        records: &[Outgoing<'_>],
        settings: &ProduceSettings,
    ) -> Produced {
        let pending = match self.prepare(topic, records, settings) {
            Ok(p) => p,
            Err(e) => return failed(records.len(), e),
        };
        let mut results = vec![unsettled(); records.len()];
        let ended = self.deliver(topic, pending, &mut results, settings, false);
        settled(results, ended)
    }

    /// Gets a producer id when the first idempotent batch needs one, and encodes the batches.
    pub(super) fn prepare(
        &mut self,
        topic: &str,
        records: &[Outgoing<'_>],
        settings: &ProduceSettings,
    ) -> Result<Vec<Pending>, Error> {
        let idempotent = settings.idempotent && settings.acks == Acks::All;
        if idempotent && self.idempotence.is_none() {
            self.init_producer_id(topic)?;
        }
        self.batches(topic, records, settings, idempotent)
    }

    /// Sends `pending` and waits for the answers, retrying under the one policy, until every
    /// batch is settled in `results`; returns the error that ended it early, if one did.
    /// `resent`: the batches went out behind others that are being sent again, so an
    /// out-of-order sequence is the broker waiting for those, not a lost sequence.
    pub(super) fn deliver(
        &mut self,
        topic: &str,
        mut pending: Vec<Pending>,
        results: &mut [Result<Delivery, Refusal>],
        settings: &ProduceSettings,
        resent: bool,
    ) -> Option<Error> {
        let attempts = self.options.retry.attempts;
        let mut ended = None;
        let mut resent = resent;
        if std::mem::take(&mut self.renew) {
            if let Err(e) = self.renew_producer_id(topic, &mut pending) {
                ended = Some(e);
            }
        }
        for attempt in 1..=attempts {
            if ended.is_some() {
                break;
            }
            let mut cause = String::new();
            let mut by_node: BTreeMap<i32, Vec<Pending>> = BTreeMap::new();
            for p in std::mem::take(&mut pending) {
                match self.leader(topic, p.partition) {
                    Ok(node) => by_node.entry(node).or_default().push(p),
                    Err(Failure::Fatal(e)) => {
                        ended = Some(e);
                        pending.push(p);
                    }
                    Err(Failure::Network(c) | Failure::Garbled(c) | Failure::Stale(c)) => {
                        cause = c;
                        pending.push(p);
                    }
                }
            }
            if ended.is_some() {
                pending.extend(by_node.into_values().flatten());
                break;
            }
            for (node, parts) in by_node {
                match self.send_to(node, topic, &parts, settings) {
                    Ok(answers) => {
                        for p in parts {
                            let answer = answers.iter().find(|a| a.0 == p.partition);
                            let retry = match answer {
                                Some(&(_, code, base)) => self
                                    .settle_batch(topic, &p, code, base, settings, results, resent),
                                None => Some(format!("no answer for {topic}/{}", p.partition)),
                            };
                            if let Some(why) = retry {
                                cause = why;
                                pending.push(p);
                            }
                        }
                        // The batches ahead were stored by now: an out-of-order sequence from
                        // here on is the broker's lost track, not a wait.
                        resent = false;
                    }
                    Err(Failure::Fatal(e)) => {
                        pending.extend(parts);
                        ended = Some(e);
                        break;
                    }
                    Err(Failure::Network(c) | Failure::Garbled(c)) => {
                        self.drop_node(node);
                        cause = c;
                        pending.extend(parts);
                    }
                    Err(Failure::Stale(c)) => {
                        cause = c;
                        pending.extend(parts);
                    }
                }
            }
            if pending.is_empty() || ended.is_some() {
                break;
            }
            if std::mem::take(&mut self.renew) {
                if let Err(e) = self.renew_producer_id(topic, &mut pending) {
                    ended = Some(e);
                    break;
                }
            }
            self.invalidate();
            if attempt == attempts {
                let cause = format!(
                    "{cause} (gave up after {attempts} attempts; is Kafka at {} running? try `make up`)",
                    self.options.brokers.join(",")
                );
                ended = Some(Error::Broker {
                    what: format!("sending orders to '{topic}'"),
                    cause,
                });
                break;
            }
            let waiting: usize = pending.iter().map(|p| p.records.len()).sum();
            if let Err(e) = self.pause(attempt, &format!("sending {waiting} orders: {cause}")) {
                ended = Some(e);
                break;
            }
        }
        let why = match &ended {
            Some(e) => Refusal::other(e),
            None => Refusal {
                kind: RefusalKind::Other,
                cause: "not sent".into(),
            },
        };
        for p in &pending {
            for &r in &p.records {
                results[r] = Err(why.clone());
            }
        }
        ended
    }

    /// Settles one partition's batch by the broker's answer: delivered or refused in `results`,
    /// or the cause when it is to be sent again.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn settle_batch(
        &mut self,
        topic: &str,
        p: &Pending,
        code: i16,
        base: i64,
        settings: &ProduceSettings,
        results: &mut [Result<Delivery, Refusal>],
        resent: bool,
    ) -> Option<String> {
        match code {
            codes::NONE | codes::DUPLICATE_SEQUENCE => {
                for (i, &r) in p.records.iter().enumerate() {
                    results[r] = Ok(Delivery {
                        partition: p.partition,
                        offset: (settings.acks != Acks::None && base >= 0)
                            .then_some(base + i as i64),
                    });
                }
                None
            }
            e if codes::retriable(e) || (resent && e == codes::OUT_OF_ORDER_SEQUENCE) => {
                Some(format!("{topic}/{}: {}", p.partition, codes::describe(e)))
            }
            // The broker lost track of this producer's sequences (a restart forgets all but
            // the last batch of each partition): the batch goes again under a new producer id.
            // It may then be stored twice, never zero times.
            codes::OUT_OF_ORDER_SEQUENCE
            | codes::UNKNOWN_PRODUCER_ID
            | codes::INVALID_PRODUCER_EPOCH
                if records::is_idempotent(&p.batch) =>
            {
                self.renew = true;
                Some(format!(
                    "{topic}/{}: {}",
                    p.partition,
                    codes::describe(code)
                ))
            }
            e => {
                let why = Refusal {
                    kind: RefusalKind::of(e),
                    cause: format!(
                        "{topic}/{}: {}",
                        p.partition,
                        codes::describe_for(e, "write", &format!("topic '{topic}'"))
                    ),
                };
                for &r in &p.records {
                    results[r] = Err(why.clone());
                }
                None
            }
        }
    }

    /// Gets a new producer id and gives `pending`'s batches its ids and sequences, in order.
    fn renew_producer_id(&mut self, topic: &str, pending: &mut [Pending]) -> Result<(), Error> {
        log::warn!(
            "the broker lost track of this producer's sequences; sending {} batches again \
             under a new producer id (an order among them may be stored twice)",
            pending.len()
        );
        self.idempotence = None;
        self.init_producer_id(topic)?;
        let state = self.idempotence.as_mut().expect("set by init_producer_id");
        for p in pending {
            let ids = state.take(topic, p.partition, p.records.len());
            records::restamp(&mut p.batch, ids);
        }
        Ok(())
    }

    /// Encodes one batch per partition, assigning sequence numbers when idempotent.
    fn batches(
        &mut self,
        topic: &str,
        records: &[Outgoing<'_>],
        settings: &ProduceSettings,
        idempotent: bool,
    ) -> Result<Vec<Pending>, Error> {
        let mut by_partition: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
        let mut single = None;
        // The common case, every record to one partition, needs no map.
        match records.first().map(|r| r.partition) {
            Some(p) if records.iter().all(|r| r.partition == p) => {
                let mut indices = self.pipeline.recycled().0;
                indices.extend(0..records.len());
                single = Some((p, indices));
            }
            _ => {
                for (i, r) in records.iter().enumerate() {
                    by_partition
                        .entry(r.partition)
                        .or_insert_with(|| Vec::with_capacity(records.len()))
                        .push(i);
                }
            }
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let mut pending = Vec::with_capacity(by_partition.len().max(1));
        for (partition, indices) in single.into_iter().chain(by_partition) {
            let ids = match (&mut self.idempotence, idempotent) {
                (Some(state), true) => state.take(topic, partition, indices.len()),
                _ => ProducerIds::NONE,
            };
            let batch: Vec<OutRecord<'_>> = indices
                .iter()
                .map(|&i| OutRecord {
                    key: records[i].key,
                    value: records[i].value,
                })
                .collect();
            let mut out = self.pipeline.recycled().1;
            records::encode_batch(
                &mut out,
                &batch,
                now,
                settings.compression,
                settings.compressor,
                ids,
            )
            .map_err(|e| Error::Broker {
                what: format!("encoding a batch for {topic}/{partition}"),
                cause: e.to_string(),
            })?;
            pending.push(Pending {
                partition,
                records: indices,
                batch: out,
            });
        }
        Ok(pending)
    }

    /// One produce request to `node`; returns (partition, error code, base offset) per partition.
    fn send_to(
        &mut self,
        node: i32,
        topic: &str,
        parts: &[Pending],
        settings: &ProduceSettings,
    ) -> Result<Vec<(i32, i16, i64)>, Failure> {
        let stop = self.stop;
        let conn = self.node(node)?;
        let version = conn.version(ApiKey::Produce, PRODUCE)?;
        let request = produce_request(topic, parts, settings);
        if settings.acks == Acks::None {
            conn.send_only(ApiKey::Produce, &request, version)?;
            return Ok(parts
                .iter()
                .map(|p| (p.partition, codes::NONE, -1))
                .collect());
        }
        let addr = conn.addr.clone();
        let body = conn.call(
            ApiKey::Produce,
            &request,
            version,
            settings.ack_timeout,
            stop,
        )?;
        parse_produce(body, version).map_err(|e| garbled(&addr, ApiKey::Produce, e))
    }
}

/// One request carrying `parts`' batches.
pub(super) fn produce_request<'r>(
    topic: &'r str,
    parts: &'r [Pending],
    settings: &ProduceSettings,
) -> ProduceRequest<'r> {
    ProduceRequest {
        transactional_id: None,
        acks: settings.acks.code(),
        timeout_ms: settings.ack_timeout.as_millis().min(i32::MAX as u128) as i32,
        topic,
        partitions: parts
            .iter()
            .map(|p| ProducePartition {
                index: p.partition,
                records: &p.batch,
            })
            .collect(),
    }
}

pub(super) fn parse_produce(body: &[u8], version: i16) -> WireResult<Vec<(i32, i16, i64)>> {
    let mut out = Vec::new();
    parse_produce_into(body, version, &mut out).map(|()| out)
}

/// (partition, error code, base offset) per partition of a produce answer, into `out`.
pub(super) fn parse_produce_into(
    body: &[u8],
    version: i16,
    out: &mut Vec<(i32, i16, i64)>,
) -> WireResult<()> {
    let mut r = Reader::new(body, version >= 9);
    r.topics(14, |r, _| {
        let index = r.i32()?;
        let error = r.i16()?;
        let base = r.i64()?;
        r.i64()?; // log append time
        if version >= 5 {
            r.i64()?; // log start offset
        }
        if version >= 8 {
            let n = r.count(5)?;
            for _ in 0..n {
                r.i32()?;
                r.nullable_string()?;
                r.tags()?;
            }
            r.nullable_string()?;
        }
        r.tags()?;
        out.push((index, error, base));
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_told_apart_by_their_code() {
        let cases = [
            (codes::MESSAGE_TOO_LARGE, RefusalKind::TooLarge),
            (codes::RECORD_LIST_TOO_LARGE, RefusalKind::TooLarge),
            (
                codes::TOPIC_AUTHORIZATION_FAILED,
                RefusalKind::NotAuthorized,
            ),
            (
                codes::CLUSTER_AUTHORIZATION_FAILED,
                RefusalKind::NotAuthorized,
            ),
            (87, RefusalKind::Other),
            (999, RefusalKind::Other),
        ];
        for (code, expected) in cases {
            assert_eq!(RefusalKind::of(code), expected, "code {code}");
        }
    }
}
