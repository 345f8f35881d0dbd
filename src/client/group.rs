//! A consumer group's offsets, stored in Kafka: find the group's coordinator, fetch and commit
//! offsets. Commits go in as a group with no members (generation -1), as a standalone consumer
//! with `--partition` assignment does with the Java client.

use std::collections::HashMap;
use std::time::Duration;

use super::conn::garbled;
use super::membership::Member;
use super::request::{
    ApiKey, DescribeConfigsRequest, FindCoordinatorRequest, OffsetCommitRequest,
    OffsetFetchRequest, GROUP_KEY,
};
use super::wire::{Reader, Result as WireResult};
use super::{codes, Client, Failure};
use crate::error::Error;

pub(super) const FIND_COORDINATOR: std::ops::RangeInclusive<i16> = 1..=3;
pub(super) const OFFSET_FETCH: std::ops::RangeInclusive<i16> = 1..=7;
pub(super) const OFFSET_COMMIT: std::ops::RangeInclusive<i16> = 2..=8;
pub(super) const DESCRIBE_CONFIGS: std::ops::RangeInclusive<i16> = 1..=4;
/// DescribeConfigs' resource type of a broker.
const BROKER_RESOURCE: i8 = 4;

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
        let scope = format!("group '{group}'");
        let node = self.find_coordinator_of(group, GROUP_KEY, &scope)?;
        self.coordinator = Some((group.to_string(), node));
        Ok(node)
    }

    /// Asks any broker for the coordinator of `key` (a group or a transactional id, by
    /// `key_type`), and learns its address. `scope` names the key in messages.
    pub(super) fn find_coordinator_of(
        &mut self,
        key: &str,
        key_type: i8,
        scope: &str,
    ) -> Result<i32, Failure> {
        let stop = self.stop;
        let conn = self.any_conn()?;
        let version = conn.version(ApiKey::FindCoordinator, FIND_COORDINATOR)?;
        let request = FindCoordinatorRequest { key, key_type };
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
            return Err(codes::failure(error, scope, "use", scope, || {
                format!("finding the coordinator of {scope}")
            }));
        }
        self.learn_node(node, format!("{host}:{port}"));
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
                let request = |version| OffsetFetchRequest {
                    group_id: group,
                    topic,
                    partitions,
                    require_stable: version >= 7,
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
            let request = |version| OffsetCommitRequest {
                group_id: group,
                generation_id_or_member_epoch: member.map_or(-1, |m| m.generation),
                member_id: member.map(Member::id).unwrap_or_default(),
                group_instance_id: member
                    .and_then(Member::instance_id)
                    .filter(|_| version >= 7),
                topic,
                offsets,
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

    /// The values of broker `node`'s settings `names` that it shows this user, in one attempt:
    /// what goes into a message, where a refusal (no DescribeConfigs ACL) only leaves words out.
    pub(super) fn broker_settings(
        &mut self,
        node: i32,
        names: &[&str],
    ) -> Result<HashMap<String, String>, Failure> {
        let node_name = node.to_string();
        let request = |_| DescribeConfigsRequest {
            resource_type: BROKER_RESOURCE,
            resource_name: &node_name,
            keys: names,
        };
        self.call_node(
            node,
            ApiKey::DescribeConfigs,
            DESCRIBE_CONFIGS,
            Duration::ZERO,
            request,
            parse_describe_configs,
        )
    }

    /// A group-level error: a moved or loading coordinator is worth a retry (and a new look-up).
    fn group_failure(&mut self, group: &str, error: i16) -> Failure {
        if codes::retriable(error) {
            self.coordinator = None;
        }
        let scope = format!("group '{group}'");
        codes::failure(error, &scope, "use", &scope, || {
            format!("using group '{group}'")
        })
    }
}

type OffsetAnswers = (i16, Vec<(i32, i64, i16)>);

pub(super) fn parse_offset_fetch(body: &[u8], version: i16) -> WireResult<OffsetAnswers> {
    let mut r = Reader::new(body, version >= 6);
    if version >= 3 {
        r.i32()?;
    }
    let mut out = Vec::new();
    r.topics(16, |r, _| {
        let p = r.i32()?;
        let offset = r.i64()?;
        if version >= 5 {
            r.i32()?; // leader epoch
        }
        r.nullable_string()?; // metadata
        let error = r.i16()?;
        r.tags()?;
        out.push((p, offset, error));
        Ok(())
    })?;
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
    r.topics(6, |r, _| {
        out.push((r.i32()?, r.i16()?));
        r.tags()
    })?;
    r.tags()?;
    Ok(out)
}

/// The settings of a DescribeConfigs answer that came with a value, of every resource that
/// answered without an error.
pub(super) fn parse_describe_configs(
    body: &[u8],
    version: i16,
) -> WireResult<HashMap<String, String>> {
    let mut r = Reader::new(body, version >= 4);
    r.i32()?; // throttle
    let mut found = HashMap::new();
    let resources = r.count(9)?;
    for _ in 0..resources {
        let error = r.i16()?;
        r.nullable_string()?; // message
        r.i8()?; // resource type
        r.string()?; // resource name
        let configs = r.count(8)?;
        for _ in 0..configs {
            let name = r.string()?.to_string();
            let value = r.nullable_string()?.map(str::to_string);
            r.bool()?; // read only
            r.i8()?; // source
            r.bool()?; // sensitive
            let synonyms = r.count(4)?;
            for _ in 0..synonyms {
                r.string()?;
                r.nullable_string()?;
                r.i8()?;
                r.tags()?;
            }
            if version >= 3 {
                r.i8()?; // type
                r.nullable_string()?; // documentation
            }
            r.tags()?;
            if let (codes::NONE, Some(value)) = (error, value) {
                found.insert(name, value);
            }
        }
        r.tags()?;
    }
    r.tags()?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as i16).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    #[test]
    fn describe_configs_answers_give_the_values_shown_and_a_cut_one_is_an_error() {
        let mut body = Vec::new();
        body.extend_from_slice(&0i32.to_be_bytes()); // throttle
        body.extend_from_slice(&1i32.to_be_bytes()); // one resource
        body.extend_from_slice(&0i16.to_be_bytes()); // no error
        body.extend_from_slice(&(-1i16).to_be_bytes()); // no message
        body.push(BROKER_RESOURCE as u8);
        string(&mut body, "1");
        body.extend_from_slice(&2i32.to_be_bytes()); // two configs
        for (name, value) in [("group.min.session.timeout.ms", Some("6000")), ("x", None)] {
            string(&mut body, name);
            match value {
                Some(v) => string(&mut body, v),
                None => body.extend_from_slice(&(-1i16).to_be_bytes()),
            }
            body.extend_from_slice(&[0, 5, 0]); // read only, source, sensitive
            body.extend_from_slice(&0i32.to_be_bytes()); // no synonyms
        }
        let found = parse_describe_configs(&body, 1).unwrap();
        assert_eq!(
            found,
            HashMap::from([("group.min.session.timeout.ms".into(), "6000".into())])
        );
        assert!(parse_describe_configs(&body[..body.len() - 3], 1).is_err());
    }
}
