//! The owners of a group on the consumer protocol (KIP-848, Kafka 4's `group.protocol=consumer`):
//! the coordinator assigns its partitions itself, so the classic DescribeGroups shows none of
//! them; ConsumerGroupDescribe (API 69) does.

use std::collections::HashMap;
use std::time::Duration;

use super::request::{ApiKey, ConsumerGroupDescribeRequest};
use super::wire::{Reader, Result as WireResult, WireError};
use super::{codes, Client};
use crate::error::Error;

/// ConsumerGroupDescribe versions this client reads (v1 adds the member type).
pub(super) const CONSUMER_GROUP_DESCRIBE: std::ops::RangeInclusive<i16> = 0..=1;

/// A member and its partitions of each topic, by topic name.
type DescribedMember = (String, Vec<(String, Vec<i32>)>);

impl Client<'_> {
    /// Partition -> "member id (client id@host)" of `topic` in `group` when it is a group on
    /// the consumer protocol; empty when it is not one, or the cluster has no such groups.
    pub fn consumer_group_owners(
        &mut self,
        group: &str,
        topic: &str,
    ) -> Result<HashMap<i32, String>, Error> {
        self.retry(&format!("describing consumer group '{group}'"), |c| {
            let node = c.coordinator_node(group)?;
            let offered = c
                .node(node)?
                .version(ApiKey::ConsumerGroupDescribe, CONSUMER_GROUP_DESCRIBE);
            if offered.is_err() {
                return Ok(HashMap::new());
            }
            let request = |_| ConsumerGroupDescribeRequest { group };
            let (error, members) = c.call_node(
                node,
                ApiKey::ConsumerGroupDescribe,
                CONSUMER_GROUP_DESCRIBE,
                Duration::ZERO,
                request,
                parse_consumer_group_describe,
            )?;
            match error {
                codes::NONE => {}
                // A classic group, or a broker that has the API but not the new coordinator.
                // GROUP_ID_NOT_FOUND is also the answer for a classic group.
                codes::GROUP_ID_NOT_FOUND | codes::UNSUPPORTED_VERSION => return Ok(HashMap::new()),
                e => return Err(c.membership_failure(group, e)),
            }
            let mut owners = HashMap::new();
            for (who, assigned) in members {
                for (name, partitions) in assigned {
                    if name == topic {
                        for p in partitions {
                            owners.insert(p, who.clone());
                        }
                    }
                }
            }
            Ok(owners)
        })
    }
}

/// A ConsumerGroupDescribe answer for one group: its error and each member's assignment.
pub(super) fn parse_consumer_group_describe(
    body: &[u8],
    version: i16,
) -> WireResult<(i16, Vec<DescribedMember>)> {
    let mut r = Reader::new(body, true);
    r.i32()?; // throttle
    if r.count(16)? == 0 {
        return Err(WireError("the answer describes no group".into()));
    }
    let error = r.i16()?;
    r.nullable_string()?; // error message
    r.string()?; // group id
    r.string()?; // state
    r.i32()?; // group epoch
    r.i32()?; // assignment epoch
    r.string()?; // assignor
    let n = r.count(20)?;
    let mut members = Vec::with_capacity(n);
    for _ in 0..n {
        let id = r.string()?.to_string();
        r.nullable_string()?; // instance id
        r.nullable_string()?; // rack
        r.i32()?; // member epoch
        let client = r.string()?.to_string();
        let host = r.string()?.to_string();
        let topics = r.count(1)?;
        for _ in 0..topics {
            r.string()?;
        }
        r.nullable_string()?; // subscribed regex
        let assigned = assignment(&mut r)?;
        assignment(&mut r)?; // target assignment
        if version >= 1 {
            r.i8()?; // member type
        }
        r.tags()?;
        members.push((
            format!("{id} ({client}@{})", host.trim_start_matches('/')),
            assigned,
        ));
    }
    Ok((error, members))
}

/// An assignment: partitions by topic.
fn assignment(r: &mut Reader<'_>) -> WireResult<Vec<(String, Vec<i32>)>> {
    let n = r.count(19)?;
    let mut topics = Vec::with_capacity(n);
    for _ in 0..n {
        r.uuid()?;
        let name = r.string()?.to_string();
        let k = r.count(4)?;
        let mut partitions = Vec::with_capacity(k);
        for _ in 0..k {
            partitions.push(r.i32()?);
        }
        r.tags()?;
        topics.push((name, partitions));
    }
    r.tags()?;
    Ok(topics)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flexible encodings, to write answers by hand.
    fn uvarint(out: &mut Vec<u8>, mut n: u32) {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }

    fn string(out: &mut Vec<u8>, s: Option<&str>) {
        match s {
            None => out.push(0),
            Some(s) => {
                uvarint(out, s.len() as u32 + 1);
                out.extend_from_slice(s.as_bytes());
            }
        }
    }

    fn assignment(out: &mut Vec<u8>, topics: &[(&str, &[i32])]) {
        uvarint(out, topics.len() as u32 + 1);
        for (name, partitions) in topics {
            out.extend_from_slice(&[7; 16]);
            string(out, Some(name));
            uvarint(out, partitions.len() as u32 + 1);
            for p in *partitions {
                out.extend_from_slice(&p.to_be_bytes());
            }
            out.push(0);
        }
        out.push(0);
    }

    fn answer(version: i16, error: i16) -> Vec<u8> {
        let mut out = 0i32.to_be_bytes().to_vec();
        uvarint(&mut out, 2);
        out.extend_from_slice(&error.to_be_bytes());
        string(&mut out, None);
        string(&mut out, Some("g"));
        string(&mut out, Some("Stable"));
        out.extend_from_slice(&[0, 0, 0, 3, 0, 0, 0, 3]);
        string(&mut out, Some("uniform"));
        uvarint(&mut out, 2);
        string(&mut out, Some("m1"));
        string(&mut out, None);
        string(&mut out, None);
        out.extend_from_slice(&5i32.to_be_bytes());
        string(&mut out, Some("console-consumer"));
        string(&mut out, Some("/127.0.0.1"));
        uvarint(&mut out, 2);
        string(&mut out, Some("orders"));
        string(&mut out, None);
        assignment(&mut out, &[("orders", &[0, 2]), ("other", &[1])]);
        assignment(&mut out, &[]);
        if version >= 1 {
            out.push(0);
        }
        out.push(0);
        out.extend_from_slice(&(-1i32).to_be_bytes());
        out.push(0);
        out.push(0);
        out
    }

    #[test]
    fn members_and_their_partitions_by_topic() {
        for version in [0, 1] {
            let (error, members) =
                parse_consumer_group_describe(&answer(version, 0), version).unwrap();
            assert_eq!(error, 0);
            assert_eq!(
                members,
                vec![(
                    "m1 (console-consumer@127.0.0.1)".to_string(),
                    vec![
                        ("orders".to_string(), vec![0, 2]),
                        ("other".to_string(), vec![1])
                    ]
                )]
            );
        }
    }

    #[test]
    fn cut_off_answers_are_errors() {
        let whole = answer(1, codes::GROUP_ID_NOT_FOUND);
        // What follows the members (authorized operations, tags) is not read.
        for end in 0..whole.len() - 6 {
            assert!(
                parse_consumer_group_describe(&whole[..end], 1).is_err(),
                "{end}"
            );
        }
    }
}
