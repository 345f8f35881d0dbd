//! The transactional producer (KIP-98): one transactional id, its producer id and epoch, and
//! one transaction at a time that holds record batches and a group's offset commit, ended by a
//! commit or an abort. `init_transactions` fences every earlier producer of the id and aborts
//! what it left open.
//!
//! Two protocols, picked per run from what the cluster offers. Transactions v2 (KIP-890 part 2:
//! the finalized feature `transaction.version` >= 2, read from ApiVersions v3, and EndTxn v5):
//! Produce v12 and TxnOffsetCommit v5 add their partitions to the transaction themselves, and
//! every EndTxn v5 bumps the epoch (its answer carries the next one), so sequences start again at
//! 0 in each transaction. Otherwise (Kafka 3.9, or 4.x without the feature) partitions go in by
//! AddPartitionsToTxn and offsets by AddOffsetsToTxn, with Produce up to v11, EndTxn and
//! TxnOffsetCommit up to v4, and the epoch stays.
//!
//! Every request runs under the one retry policy. A retried produce sends the same bytes and
//! sequences; a moved or loading coordinator is found again; CONCURRENT_TRANSACTIONS (the last
//! transaction still ending) waits. A newer epoch of the id (PRODUCER_FENCED,
//! INVALID_PRODUCER_EPOCH) is [`Error::Fenced`]: nothing more is sent.

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::conn::garbled;
use super::produce::{parse_produce, Outgoing, INIT_PRODUCER_ID};
use super::records::{self, Compression, Compressor, OutRecord, ProducerIds};
use super::request::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, ApiKey, ApiVersionsRequest, EndTxnRequest,
    InitProducerIdRequest, ProducePartition, ProduceRequest, TxnOffsetCommitRequest, TxnProducer,
    TRANSACTION_KEY,
};
use super::wire::{Reader, Result as WireResult};
use super::{codes, Client, Failure};
use crate::error::Error;

/// The ApiVersions version whose answer carries the finalized features.
pub(super) const API_VERSIONS: i16 = 3;
pub(super) const ADD_PARTITIONS: RangeInclusive<i16> = 0..=3;
pub(super) const ADD_OFFSETS: RangeInclusive<i16> = 0..=4;
pub(super) const TXN_OFFSET_COMMIT: RangeInclusive<i16> = 0..=5;
pub(super) const END_TXN: RangeInclusive<i16> = 0..=5;
/// The last versions of transactions v1: v2 starts at Produce v12, TxnOffsetCommit v5, EndTxn v5.
const PRODUCE_V1: RangeInclusive<i16> = 3..=11;
const PRODUCE_V2: RangeInclusive<i16> = 12..=12;
const TXN_OFFSET_COMMIT_V1: RangeInclusive<i16> = 0..=4;
const END_TXN_V1: RangeInclusive<i16> = 0..=4;
const V2: i16 = 5;
/// How long CONCURRENT_TRANSACTIONS is waited out before the retry policy takes over.
const CONCURRENT_STEP: Duration = Duration::from_millis(10);
const CONCURRENT_STEPS: u32 = 50;
/// The finalized feature that turns transactions v2 on.
const TRANSACTION_VERSION: &str = "transaction.version";

/// What a transactional producer is and how it sends.
#[derive(Debug, Clone)]
pub struct TxnSettings {
    pub transactional_id: String,
    /// How long the coordinator lets a transaction stay open before it aborts it
    /// (`transaction.timeout.ms`).
    pub timeout: Duration,
    /// How long the leader waits for replicas (acks=all, always).
    pub ack_timeout: Duration,
    pub compression: Compression,
    pub compressor: Compressor,
}

/// A transactional producer: its id and epoch, and what the open transaction holds.
#[derive(Debug)]
pub struct Transactional {
    settings: TxnSettings,
    producer_id: i64,
    epoch: i16,
    v2: bool,
    /// The transaction coordinator's node id, found once and kept until a failure.
    coordinator: Option<i32>,
    /// The next sequence number per partition (one topic).
    next: HashMap<i32, i32>,
    /// Transactions v1: the partitions added to the open transaction.
    added: Vec<i32>,
    /// Set by CONCURRENT_TRANSACTIONS: the last transaction is still ending.
    concurrent: bool,
}

impl Transactional {
    fn producer(&self) -> TxnProducer<'_> {
        TxnProducer {
            transactional_id: &self.settings.transactional_id,
            producer_id: self.producer_id,
            producer_epoch: self.epoch,
        }
    }

    fn fenced(&self, code: i16) -> Failure {
        Failure::Fatal(Error::Fenced {
            transactional_id: self.settings.transactional_id.clone(),
            cause: codes::describe(code),
        })
    }
}

impl Client<'_> {
    /// Starts the transactional producer of `settings.transactional_id`: picks the protocol,
    /// then InitProducerId fences every earlier epoch of the id and aborts its open transaction.
    pub fn init_transactions(&mut self, settings: TxnSettings) -> Result<Transactional, Error> {
        let level = self.retry("asking the cluster for its features", |c| {
            c.transaction_version()
        })?;
        let mut txn = Transactional {
            settings,
            producer_id: -1,
            epoch: -1,
            v2: level >= 2,
            coordinator: None,
            next: HashMap::new(),
            added: Vec::new(),
            concurrent: false,
        };
        let what = format!(
            "initializing transactional id '{}'",
            txn.settings.transactional_id
        );
        self.retry(&what, |c| c.init_producer(&mut txn))?;
        log::info!(
            "transactional id '{}': producer id {} epoch {}, transactions v{} (transaction.version \
             {level})",
            txn.settings.transactional_id,
            txn.producer_id,
            txn.epoch,
            if txn.v2 { 2 } else { 1 }
        );
        Ok(txn)
    }

    /// Sends `records` to `topic` inside the open transaction (opening one when none is), one
    /// batch per partition, and waits until the leaders stored them.
    pub fn send_in_transaction(
        &mut self,
        txn: &mut Transactional,
        topic: &str,
        records: &[Outgoing<'_>],
    ) -> Result<(), Error> {
        let mut by_partition: BTreeMap<i32, Vec<OutRecord<'_>>> = BTreeMap::new();
        for r in records {
            by_partition
                .entry(r.partition)
                .or_default()
                .push(OutRecord {
                    key: r.key,
                    value: r.value,
                });
        }
        if !txn.v2 {
            let new: Vec<i32> = by_partition
                .keys()
                .copied()
                .filter(|p| !txn.added.contains(p))
                .collect();
            if !new.is_empty() {
                self.retry("adding partitions to the transaction", |c| {
                    c.add_partitions(txn, topic, &new)
                })?;
                txn.added.extend(new);
            }
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let mut pending = Vec::with_capacity(by_partition.len());
        for (partition, batch) in by_partition {
            let next = txn.next.entry(partition).or_insert(0);
            let ids = ProducerIds {
                id: txn.producer_id,
                epoch: txn.epoch,
                base_sequence: *next,
            };
            *next = ((i64::from(*next) + batch.len() as i64) % (i64::from(i32::MAX) + 1)) as i32;
            let mut out = Vec::new();
            let settings = &txn.settings;
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
            records::mark_transactional(&mut out);
            pending.push((partition, out));
        }
        self.retry(
            &format!("sending orders to '{topic}' in a transaction"),
            |c| c.produce_pending(txn, topic, &mut pending),
        )
    }

    /// Commits `offsets` of `topic` (partition -> offset, with `metadata`) for `group` inside
    /// the open transaction, then commits the transaction: records and offsets become visible
    /// together, or neither does.
    pub fn commit_transaction(
        &mut self,
        txn: &mut Transactional,
        group: &str,
        topic: &str,
        offsets: &[(i32, i64)],
        metadata: &str,
    ) -> Result<(), Error> {
        if !txn.v2 {
            self.retry(
                &format!("adding the offsets of group '{group}' to the transaction"),
                |c| c.add_offsets(txn, group),
            )?;
        }
        self.retry(
            &format!("committing the offsets of group '{group}' in the transaction"),
            |c| c.txn_offset_commit(txn, group, topic, offsets, metadata),
        )?;
        self.end_transaction(txn, true)
    }

    /// Ends the open transaction: `commit` or abort.
    pub fn end_transaction(&mut self, txn: &mut Transactional, commit: bool) -> Result<(), Error> {
        let what = match commit {
            true => "committing the transaction",
            false => "aborting the transaction",
        };
        self.retry(what, |c| c.end_txn(txn, commit))?;
        txn.added.clear();
        Ok(())
    }

    /// The cluster's finalized `transaction.version` (0 when the broker cannot say).
    fn transaction_version(&mut self) -> Result<i16, Failure> {
        let stop = self.stop;
        let conn = self.any_conn()?;
        if conn
            .version(ApiKey::ApiVersions, API_VERSIONS..=API_VERSIONS)
            .is_err()
        {
            return Ok(0);
        }
        let v2_offered = conn.version(ApiKey::EndTxn, V2..=V2).is_ok()
            && conn.version(ApiKey::Produce, PRODUCE_V2).is_ok();
        let addr = conn.addr.clone();
        let body = conn.call(
            ApiKey::ApiVersions,
            &ApiVersionsRequest,
            API_VERSIONS,
            Duration::ZERO,
            stop,
        )?;
        let level =
            parse_transaction_version(body).map_err(|e| garbled(&addr, ApiKey::ApiVersions, e))?;
        Ok(if v2_offered { level } else { level.min(1) })
    }

    fn txn_coordinator(&mut self, txn: &mut Transactional) -> Result<i32, Failure> {
        if let Some(node) = txn.coordinator {
            if !self.is_stale() {
                return Ok(node);
            }
        }
        let scope = format!("transactional id '{}'", txn.settings.transactional_id);
        let node =
            self.find_coordinator_of(&txn.settings.transactional_id, TRANSACTION_KEY, &scope)?;
        txn.coordinator = Some(node);
        Ok(node)
    }

    /// An error of a transactional request, as the retry policy takes it.
    fn txn_failure(&mut self, txn: &mut Transactional, code: i16, what: &str) -> Failure {
        let id = &txn.settings.transactional_id;
        match code {
            codes::PRODUCER_FENCED | codes::INVALID_PRODUCER_EPOCH => txn.fenced(code),
            codes::TRANSACTIONAL_ID_AUTHORIZATION_FAILED => Failure::Fatal(Error::Refused {
                what: what.to_string(),
                cause: format!(
                    "not authorized to use transactional id '{id}': {} (it needs Write and \
                     Describe on TransactionalId '{id}')",
                    codes::describe(code)
                ),
            }),
            codes::CONCURRENT_TRANSACTIONS => {
                txn.concurrent = true;
                Failure::Stale(codes::describe(code))
            }
            e if codes::retriable(e) => {
                // A coordinator that moved or is not there yet is looked up again.
                txn.coordinator = None;
                self.forget_coordinator();
                self.invalidate();
                Failure::Stale(codes::describe(e))
            }
            e => Failure::Fatal(Error::Broker {
                what: format!("{what} (transactional id '{id}')"),
                cause: codes::describe_for(e, "use", &format!("transactional id '{id}'")),
            }),
        }
    }

    fn init_producer(&mut self, txn: &mut Transactional) -> Result<(), Failure> {
        let node = self.txn_coordinator(txn)?;
        let timeout_ms = txn.settings.timeout.as_millis().min(i32::MAX as u128) as i32;
        let id = txn.settings.transactional_id.clone();
        let request = |_| InitProducerIdRequest {
            transactional_id: Some(&id),
            transaction_timeout_ms: timeout_ms,
        };
        let (error, producer_id, epoch) = self.call_node(
            node,
            ApiKey::InitProducerId,
            INIT_PRODUCER_ID,
            Duration::ZERO,
            request,
            |body, version| {
                let mut r = Reader::new(body, version >= 2);
                r.i32()?;
                Ok((r.i16()?, r.i64()?, r.i16()?))
            },
        )?;
        if error != codes::NONE {
            return Err(self.txn_failure(txn, error, "getting a transactional producer id"));
        }
        txn.producer_id = producer_id;
        txn.epoch = epoch;
        txn.next.clear();
        txn.added.clear();
        Ok(())
    }

    /// AddPartitionsToTxn; the markers of the last transaction take a moment to be written,
    /// so CONCURRENT_TRANSACTIONS is first waited out in short steps, as the Java client does.
    fn add_partitions(
        &mut self,
        txn: &mut Transactional,
        topic: &str,
        partitions: &[i32],
    ) -> Result<(), Failure> {
        for _ in 0..CONCURRENT_STEPS {
            match self.add_partitions_once(txn, topic, partitions) {
                Err(Failure::Stale(_)) if txn.concurrent => {
                    txn.concurrent = false;
                    self.sleep(CONCURRENT_STEP).map_err(Failure::Fatal)?;
                }
                other => return other,
            }
        }
        self.add_partitions_once(txn, topic, partitions)
    }

    fn add_partitions_once(
        &mut self,
        txn: &mut Transactional,
        topic: &str,
        partitions: &[i32],
    ) -> Result<(), Failure> {
        let node = self.txn_coordinator(txn)?;
        let producer = txn.producer();
        let answers = self.call_node(
            node,
            ApiKey::AddPartitionsToTxn,
            ADD_PARTITIONS,
            Duration::ZERO,
            |_| AddPartitionsToTxnRequest {
                producer,
                topic,
                partitions,
            },
            parse_partition_errors,
        )?;
        // OPERATION_NOT_ATTEMPTED only says another partition failed: that one's code counts.
        let worst = answers
            .iter()
            .map(|a| a.1)
            .filter(|&e| e != codes::NONE)
            .max_by_key(|&e| e != codes::OPERATION_NOT_ATTEMPTED);
        match worst {
            None => Ok(()),
            Some(e) => Err(self.txn_failure(txn, e, "adding partitions to the transaction")),
        }
    }

    fn add_offsets(&mut self, txn: &mut Transactional, group: &str) -> Result<(), Failure> {
        let node = self.txn_coordinator(txn)?;
        let producer = txn.producer();
        let error = self.call_node(
            node,
            ApiKey::AddOffsetsToTxn,
            ADD_OFFSETS,
            Duration::ZERO,
            |_| AddOffsetsToTxnRequest {
                producer,
                group_id: group,
            },
            |body, version| {
                let mut r = Reader::new(body, version >= 3);
                r.i32()?;
                r.i16()
            },
        )?;
        match error {
            codes::NONE => Ok(()),
            e => Err(self.txn_failure(txn, e, "adding offsets to the transaction")),
        }
    }

    fn txn_offset_commit(
        &mut self,
        txn: &mut Transactional,
        group: &str,
        topic: &str,
        offsets: &[(i32, i64)],
        metadata: &str,
    ) -> Result<(), Failure> {
        let node = self.coordinator_node(group)?;
        let producer = txn.producer();
        let versions = match txn.v2 {
            true => TXN_OFFSET_COMMIT,
            false => TXN_OFFSET_COMMIT_V1,
        };
        let answers = self.call_node(
            node,
            ApiKey::TxnOffsetCommit,
            versions,
            Duration::ZERO,
            |_| TxnOffsetCommitRequest {
                producer,
                group_id: group,
                topic,
                offsets,
                metadata,
            },
            parse_partition_errors,
        )?;
        match answers.iter().map(|a| a.1).find(|&e| e != codes::NONE) {
            None => Ok(()),
            Some(e) => Err(self.txn_failure(
                txn,
                e,
                &format!("committing the offsets of group '{group}' in the transaction"),
            )),
        }
    }

    fn end_txn(&mut self, txn: &mut Transactional, commit: bool) -> Result<(), Failure> {
        let node = self.txn_coordinator(txn)?;
        let producer = txn.producer();
        let versions = match txn.v2 {
            true => END_TXN,
            false => END_TXN_V1,
        };
        let (error, next) = self.call_node(
            node,
            ApiKey::EndTxn,
            versions,
            Duration::ZERO,
            |_| EndTxnRequest {
                producer,
                committed: commit,
            },
            |body, version| {
                let mut r = Reader::new(body, version >= 3);
                r.i32()?;
                let error = r.i16()?;
                let next = match version >= V2 {
                    true => Some((r.i64()?, r.i16()?)),
                    false => None,
                };
                Ok((error, next))
            },
        )?;
        if error != codes::NONE {
            let what = match commit {
                true => "committing the transaction",
                false => "aborting the transaction",
            };
            return Err(self.txn_failure(txn, error, what));
        }
        // Transactions v2: the next transaction runs under the epoch the coordinator bumped
        // to (or a new producer id when the epoch ran out), from sequence 0.
        if let Some((id, epoch)) = next.filter(|&(id, _)| id >= 0) {
            txn.producer_id = id;
            txn.epoch = epoch;
            txn.next.clear();
        }
        Ok(())
    }

    /// One attempt at the batches of `pending` not yet stored; each stored one leaves it.
    fn produce_pending(
        &mut self,
        txn: &mut Transactional,
        topic: &str,
        pending: &mut Vec<(i32, Vec<u8>)>,
    ) -> Result<(), Failure> {
        let mut by_node: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
        for (i, (partition, _)) in pending.iter().enumerate() {
            by_node
                .entry(self.leader(topic, *partition)?)
                .or_default()
                .push(i);
        }
        let versions = match txn.v2 {
            true => PRODUCE_V2,
            false => PRODUCE_V1,
        };
        let timeout_ms = txn.settings.ack_timeout.as_millis().min(i32::MAX as u128) as i32;
        let mut stored = Vec::new();
        let mut retry = None;
        for (node, indices) in by_node {
            let parts: Vec<ProducePartition<'_>> = indices
                .iter()
                .map(|&i| ProducePartition {
                    index: pending[i].0,
                    records: &pending[i].1,
                })
                .collect();
            let id = &txn.settings.transactional_id;
            let answers = self.call_node(
                node,
                ApiKey::Produce,
                versions.clone(),
                txn.settings.ack_timeout,
                |_| ProduceRequest {
                    transactional_id: Some(id),
                    acks: -1,
                    timeout_ms,
                    topic,
                    partitions: parts,
                },
                parse_produce,
            );
            let answers = match answers {
                Ok(a) => a,
                Err(Failure::Network(c) | Failure::Garbled(c)) => {
                    self.drop_node(node);
                    retry = Some(c);
                    continue;
                }
                Err(other) => return Err(other),
            };
            for (partition, code, _) in answers {
                match code {
                    codes::NONE | codes::DUPLICATE_SEQUENCE => stored.push(partition),
                    e if codes::retriable(e) => {
                        self.invalidate();
                        retry = Some(format!("{topic}/{partition}: {}", codes::describe(e)));
                    }
                    e => {
                        let what = format!("sending orders to {topic}/{partition}");
                        return Err(self.txn_failure(txn, e, &what));
                    }
                }
            }
        }
        pending.retain(|(p, _)| !stored.contains(p));
        match (pending.is_empty(), retry) {
            (true, _) => Ok(()),
            (false, Some(cause)) => Err(Failure::Stale(cause)),
            (false, None) => Err(Failure::Stale(format!(
                "no answer for {} partitions of {topic}",
                pending.len()
            ))),
        }
    }
}

/// (partition, error) of an answer by topic and partition (AddPartitionsToTxn v0 to v3,
/// TxnOffsetCommit).
fn parse_partition_errors(body: &[u8], version: i16) -> WireResult<Vec<(i32, i16)>> {
    let mut r = Reader::new(body, version >= 3);
    r.i32()?;
    let mut out = Vec::new();
    r.topics(6, |r, _| {
        out.push((r.i32()?, r.i16()?));
        r.tags()
    })?;
    r.tags()?;
    Ok(out)
}

/// The finalized `transaction.version` in an ApiVersions v3 answer, 0 when it has none.
pub(super) fn parse_transaction_version(body: &[u8]) -> WireResult<i16> {
    let mut r = Reader::new(body, true);
    r.i16()?; // error: an answer with ranges is good enough
    let n = r.count(7)?;
    for _ in 0..n {
        r.i16()?;
        r.i16()?;
        r.i16()?;
        r.tags()?;
    }
    r.i32()?; // throttle
    let mut level = 0;
    r.tagged(|tag, bytes| {
        // Tag 2: FinalizedFeatures, (name, max level, min level) each.
        if tag == 2 {
            let mut f = Reader::new(bytes, true);
            for _ in 0..f.count(6)? {
                let name = f.string()?;
                let max = f.i16()?;
                f.i16()?;
                f.tags()?;
                if name == TRANSACTION_VERSION {
                    level = max;
                }
            }
        }
        Ok(())
    })?;
    Ok(level)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ApiVersions v3 answer with one API range and the tagged fields given.
    fn answer(tagged: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut b = vec![0, 0]; // error
        b.push(2); // one API: compact length 1 + 1
        b.extend_from_slice(&[0, 18, 0, 0, 0, 4, 0]);
        b.extend_from_slice(&[0, 0, 0, 0]); // throttle
        b.push(tagged.len() as u8);
        for (tag, bytes) in tagged {
            b.push(*tag);
            b.push(bytes.len() as u8);
            b.extend_from_slice(bytes);
        }
        b
    }

    fn feature(name: &str, max: i16, min: i16) -> Vec<u8> {
        let mut b = vec![name.len() as u8 + 1];
        b.extend_from_slice(name.as_bytes());
        b.extend_from_slice(&max.to_be_bytes());
        b.extend_from_slice(&min.to_be_bytes());
        b.push(0);
        b
    }

    #[test]
    fn the_finalized_transaction_version_is_read_from_the_tagged_fields() {
        let mut finalized = vec![3];
        finalized.extend(feature("metadata.version", 27, 1));
        finalized.extend(feature(TRANSACTION_VERSION, 2, 0));
        let supported = [vec![1], feature(TRANSACTION_VERSION, 5, 0)].concat();
        let epoch = 235i64.to_be_bytes().to_vec();
        let body = answer(&[(0, supported), (1, epoch), (2, finalized)]);
        assert_eq!(parse_transaction_version(&body), Ok(2));
        // Supported is not finalized: a cluster that only could is still on v1.
        let body = answer(&[(0, [vec![2], feature(TRANSACTION_VERSION, 2, 0)].concat())]);
        assert_eq!(parse_transaction_version(&body), Ok(0));
        assert_eq!(parse_transaction_version(&answer(&[])), Ok(0));
        let cut = answer(&[(2, [vec![2], feature(TRANSACTION_VERSION, 2, 0)].concat())]);
        assert!(parse_transaction_version(&cut[..cut.len() - 3]).is_err());
    }
}
