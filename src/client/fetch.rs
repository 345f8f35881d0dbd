//! Fetching and listing offsets, each partition from its leader.
//!
//! A fetch hands the caller each partition's raw record batches (decoded by [`super::records`])
//! with the partition's watermarks and aborted transactions, so `read_committed` can hide what
//! was aborted. Partitions whose leader moved or whose broker failed come back as "retry these",
//! for the caller to pause on under the one retry policy.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::conn::garbled;
use super::request::{ApiKey, FetchPartition, FetchRequest, ListOffsetsRequest};
use super::wire::{Reader, Result as WireResult};
use super::{codes, Client, Failure};
use crate::error::Error;

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

/// One partition of a fetch answer. `error` is 0 or OFFSET_OUT_OF_RANGE (other errors are
/// retried or fail the fetch).
pub struct FetchedPartition<'r> {
    pub partition: i32,
    pub error: i16,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
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
}

impl Client<'_> {
    /// One fetch round: asks each leader for its partitions of `positions` and hands every
    /// answered partition to `each`. Returns the partitions to retry, with the cause.
    pub fn fetch(
        &mut self,
        topic: &str,
        positions: &[Position],
        settings: FetchSettings,
        each: &mut dyn FnMut(FetchedPartition<'_>) -> Result<(), Error>,
    ) -> Result<Vec<(i32, String)>, Error> {
        let mut retry = Vec::new();
        let mut by_node: BTreeMap<i32, Vec<Position>> = BTreeMap::new();
        for p in positions {
            match self.leader(topic, p.partition) {
                Ok(node) => by_node.entry(node).or_default().push(*p),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Network(c) | Failure::Garbled(c) | Failure::Stale(c)) => {
                    retry.push((p.partition, c))
                }
            }
        }
        // With several leaders, only the first request may wait: the others would add up.
        let mut wait = settings.wait;
        for (node, parts) in by_node {
            match self.fetch_from(
                node,
                topic,
                &parts,
                FetchSettings { wait, ..settings },
                each,
            ) {
                Ok(mut again) => retry.append(&mut again),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Network(c) | Failure::Garbled(c)) => {
                    self.drop_node(node);
                    retry.extend(parts.iter().map(|p| (p.partition, c.clone())));
                }
                Err(Failure::Stale(c)) => {
                    retry.extend(parts.iter().map(|p| (p.partition, c.clone())))
                }
            }
            wait = Duration::ZERO;
        }
        if !retry.is_empty() {
            self.invalidate();
        }
        Ok(retry)
    }

    fn fetch_from(
        &mut self,
        node: i32,
        topic: &str,
        parts: &[Position],
        settings: FetchSettings,
        each: &mut dyn FnMut(FetchedPartition<'_>) -> Result<(), Error>,
    ) -> Result<Vec<(i32, String)>, Failure> {
        let stop = self.stop;
        let limit = self.options.max_response_bytes;
        let conn = self.node(node)?;
        let version = conn.version(ApiKey::Fetch, FETCH)?;
        let total: i64 = parts.iter().map(|p| i64::from(p.max_bytes)).sum();
        let request = FetchRequest {
            max_wait_ms: settings.wait.as_millis().min(i32::MAX as u128) as i32,
            min_bytes: settings.min_bytes,
            max_bytes: total.min(limit as i64 - 65536).max(1) as i32,
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
        let addr = conn.addr.clone();
        let body = conn.call(ApiKey::Fetch, &request, version, settings.wait, stop)?;
        let answers = parse_fetch(body, version).map_err(|e| garbled(&addr, ApiKey::Fetch, e))?;
        let mut retry = Vec::new();
        for a in answers {
            match a.error {
                codes::NONE | codes::OFFSET_OUT_OF_RANGE => {
                    each(a).map_err(Failure::Fatal)?;
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
        Ok(retry)
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
        let last_stable_offset = r.i64()?;
        if version >= 5 {
            r.i64()?; // log start offset
        }
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
            last_stable_offset,
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
