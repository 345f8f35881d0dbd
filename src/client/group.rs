//! A consumer group's offsets, stored in Kafka: find the group's coordinator, fetch and commit
//! offsets. Commits go in as a group with no members (generation -1), as a standalone consumer
//! with `--partition` assignment does with the Java client.

use std::collections::HashMap;
use std::time::Duration;

use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, GroupId, OffsetCommitRequest, OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::conn::garbled;
use super::membership::Member;
use super::wire::{Reader, Result as WireResult};
use super::{codes, Client, Failure};
use crate::error::Error;

const FIND_COORDINATOR: std::ops::RangeInclusive<i16> = 1..=3;
const OFFSET_FETCH: std::ops::RangeInclusive<i16> = 1..=7;
const OFFSET_COMMIT: std::ops::RangeInclusive<i16> = 2..=8;

impl Client<'_> {
    pub(super) fn forget_coordinator(&mut self) {
        self.coordinator = None;
    }

    /// The node id of `group`'s coordinator, asked once and kept until a failure.
    pub(super) fn coordinator_node(&mut self, group: &str) -> Result<i32, Failure> {
        if let Some((g, node)) = &self.coordinator {
            if g == group && !self.is_stale() {
                return Ok(*node);
            }
        }
        let stop = self.stop;
        let conn = self.any_conn()?;
        let version = conn.version(ApiKey::FindCoordinator, FIND_COORDINATOR)?;
        let request =
            FindCoordinatorRequest::default().with_key(StrBytes::from_string(group.to_string()));
        let addr = conn.addr.clone();
        let body = conn.call(
            ApiKey::FindCoordinator,
            &request,
            version,
            Duration::ZERO,
            stop,
        )?;
        let (error, node, host, port) = (|| {
            let mut r = Reader::new(body, version >= 3);
            r.i32()?;
            let error = r.i16()?;
            r.nullable_string()?;
            Ok((error, r.i32()?, r.string()?.to_string(), r.i32()?))
        })()
        .map_err(|e| garbled(&addr, ApiKey::FindCoordinator, e))?;
        if error != codes::NONE {
            return Err(if codes::retriable(error) {
                Failure::Stale(format!("group '{group}': {}", codes::describe(error)))
            } else {
                Failure::Fatal(codes::error_for(
                    error,
                    "use",
                    &format!("group '{group}'"),
                    format!("finding the coordinator of group '{group}'"),
                ))
            });
        }
        self.learn_node(node, format!("{host}:{port}"));
        self.coordinator = Some((group.to_string(), node));
        Ok(node)
    }

    /// Finds `group`'s coordinator, under the retry policy: whether the group path is there at
    /// all.
    pub fn find_coordinator(&mut self, group: &str) -> Result<(), Error> {
        self.retry(
            &format!("finding the coordinator of group '{group}'"),
            |c| c.coordinator_node(group).map(drop),
        )
    }

    /// The committed offset of each partition of `topic` that has one.
    pub fn committed(
        &mut self,
        group: &str,
        topic: &str,
        partitions: &[i32],
    ) -> Result<HashMap<i32, i64>, Error> {
        self.retry(
            &format!("fetching committed offsets of group '{group}'"),
            |c| {
                let node = c.coordinator_node(group)?;
                let request = |version| {
                    OffsetFetchRequest::default()
                        .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
                        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                            .with_partition_indexes(partitions.to_vec())]))
                        .with_require_stable(version >= 7)
                };
                let (error, answers) = c.call_node(
                    node,
                    ApiKey::OffsetFetch,
                    OFFSET_FETCH,
                    Duration::ZERO,
                    request,
                    parse_offset_fetch,
                )?;
                let mut found = HashMap::new();
                for (p, offset, e) in answers.into_iter().chain([(-1, -1, error)]) {
                    match e {
                        codes::NONE => {
                            if p >= 0 && offset >= 0 {
                                found.insert(p, offset);
                            }
                        }
                        e => return Err(c.group_failure(group, e)),
                    }
                }
                Ok(found)
            },
        )
    }

    /// Commits `offsets` (partition -> next offset to read), as `member` of the group when one is
    /// given. `Ok(false)`: the member is out of its generation (the coordinator refused the
    /// commit, now or before): nothing is committed until it joins again.
    pub fn commit(
        &mut self,
        group: &str,
        topic: &str,
        offsets: &[(i32, i64)],
        member: Option<&Member>,
    ) -> Result<bool, Error> {
        // Never as a member without a generation: a group that became empty meanwhile would
        // take the commit as a standalone one, over what the next owner committed.
        if member.is_some_and(|m| !m.in_generation()) {
            return Ok(false);
        }
        self.retry(&format!("committing offsets of group '{group}'"), |c| {
            let node = c.coordinator_node(group)?;
            let request = |version| {
                OffsetCommitRequest::default()
                    .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
                    .with_generation_id_or_member_epoch(member.map_or(-1, |m| m.generation))
                    .with_member_id(member.map(Member::id).unwrap_or_default())
                    .with_group_instance_id(
                        member
                            .and_then(Member::instance_id)
                            .filter(|_| version >= 7),
                    )
                    .with_topics(vec![OffsetCommitRequestTopic::default()
                        .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                        .with_partitions(
                            offsets
                                .iter()
                                .map(|&(p, o)| {
                                    OffsetCommitRequestPartition::default()
                                        .with_partition_index(p)
                                        .with_committed_offset(o)
                                })
                                .collect(),
                        )])
            };
            let answers = c.call_node(
                node,
                ApiKey::OffsetCommit,
                OFFSET_COMMIT,
                Duration::ZERO,
                request,
                parse_offset_commit,
            )?;
            for (_, e) in answers {
                match e {
                    codes::NONE => {}
                    codes::ILLEGAL_GENERATION
                    | codes::UNKNOWN_MEMBER_ID
                    | codes::REBALANCE_IN_PROGRESS
                    | codes::FENCED_INSTANCE_ID
                        if member.is_some() =>
                    {
                        member.expect("matched above").lose(e);
                        return Ok(false);
                    }
                    e => return Err(c.group_failure(group, e)),
                }
            }
            Ok(true)
        })
    }

    /// A group-level error: a moved or loading coordinator is worth a retry (and a new look-up).
    fn group_failure(&mut self, group: &str, error: i16) -> Failure {
        if codes::retriable(error) {
            self.coordinator = None;
            Failure::Stale(format!("group '{group}': {}", codes::describe(error)))
        } else {
            Failure::Fatal(codes::error_for(
                error,
                "use",
                &format!("group '{group}'"),
                format!("using group '{group}'"),
            ))
        }
    }
}

type OffsetAnswers = (i16, Vec<(i32, i64, i16)>);

pub(super) fn parse_offset_fetch(body: &[u8], version: i16) -> WireResult<OffsetAnswers> {
    let mut r = Reader::new(body, version >= 6);
    if version >= 3 {
        r.i32()?;
    }
    let mut out = Vec::new();
    let topics = r.count(6)?;
    for _ in 0..topics {
        r.string()?;
        let partitions = r.count(16)?;
        for _ in 0..partitions {
            let p = r.i32()?;
            let offset = r.i64()?;
            if version >= 5 {
                r.i32()?; // leader epoch
            }
            r.nullable_string()?; // metadata
            let error = r.i16()?;
            r.tags()?;
            out.push((p, offset, error));
        }
        r.tags()?;
    }
    let error = if version >= 2 { r.i16()? } else { codes::NONE };
    r.tags()?;
    Ok((error, out))
}

pub(super) fn parse_offset_commit(body: &[u8], version: i16) -> WireResult<Vec<(i32, i16)>> {
    let mut r = Reader::new(body, version >= 8);
    if version >= 3 {
        r.i32()?;
    }
    let mut out = Vec::new();
    let topics = r.count(6)?;
    for _ in 0..topics {
        r.string()?;
        let partitions = r.count(6)?;
        for _ in 0..partitions {
            out.push((r.i32()?, r.i16()?));
            r.tags()?;
        }
        r.tags()?;
    }
    r.tags()?;
    Ok(out)
}
