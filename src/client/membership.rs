//! Group membership with Kafka's classic group protocol: JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup, with the "range" assignor and the standard consumer subscription and assignment
//! encodings, so Apache's Java consumer can be a member of the same group.
//!
//! The poll loop joins, syncs and leaves; heartbeats go from a thread of their own
//! ([`super::heartbeat`]), which tells the poll loop through the member's [`Beat`] when the group
//! rebalances or this member lost its partitions.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::heartbeat::{Beat, GroupSettings, News, LEAVE_GROUP};
use super::request::{
    ApiKey, DescribeGroupsRequest, JoinGroupProtocol, JoinGroupRequest, LeaveGroupRequest,
    SyncGroupRequest,
};
use super::wire::{Reader, Result as WireResult, WireError};
use super::{codes, Client, Failure};
use crate::error::Error;

pub(super) const JOIN_GROUP: std::ops::RangeInclusive<i16> = 4..=9;
pub(super) const SYNC_GROUP: std::ops::RangeInclusive<i16> = 3..=5;
pub(super) const DESCRIBE_GROUPS: std::ops::RangeInclusive<i16> = 0..=5;

const PROTOCOL_TYPE: &str = "consumer";
const ASSIGNOR: &str = "range";

/// This process as a member of a group.
#[derive(Debug, Clone)]
pub struct Member {
    pub group: String,
    pub member_id: String,
    pub generation: i32,
    pub settings: GroupSettings,
    /// Whether this member leads its generation (it computed the assignment): the one that
    /// rejoins when the topic's partition count changes, as the Java leader does.
    pub leader: bool,
    /// Shared with the heartbeat thread.
    beat: Arc<Beat>,
}

impl Member {
    pub(super) fn group_id(&self) -> &str {
        &self.group
    }

    pub(super) fn id(&self) -> &str {
        &self.member_id
    }

    pub(super) fn instance_id(&self) -> Option<&str> {
        self.settings.instance_id.as_deref()
    }

    pub fn new(group: &str, settings: GroupSettings) -> Member {
        Member {
            group: group.to_string(),
            member_id: String::new(),
            generation: -1,
            leader: false,
            beat: Arc::new(Beat::new(group, &settings)),
            settings,
        }
    }

    /// What the heartbeat thread ([`Client::send_heartbeats`]) shares with this member.
    pub fn beat(&self) -> Arc<Beat> {
        Arc::clone(&self.beat)
    }

    /// The poll loop asks for records: the max poll interval starts again.
    pub fn polled(&self) {
        self.beat.polled();
    }

    /// Whether offsets may be committed as this member: it is in a generation the coordinator
    /// has not refused.
    pub fn in_generation(&self) -> bool {
        self.generation >= 0 && self.beat.in_generation()
    }

    /// Whether this member lost its partitions since it joined (a refused commit or heartbeat,
    /// a stalled poll loop): what it fetched for them is not to be processed.
    pub fn is_lost(&self) -> bool {
        self.beat.lost()
    }

    /// What the heartbeat thread learned since the last look. A lost generation is applied to
    /// this member: the next join is a fresh one where the coordinator forgot it.
    pub fn news(&mut self) -> Result<Heartbeat, Error> {
        let forgotten = |m: &mut Member| {
            m.generation = -1;
            if m.settings.instance_id.is_none() {
                m.member_id.clear();
            }
        };
        Ok(match self.beat.take_news() {
            None => Heartbeat::Fine,
            Some(News::Rebalance) => Heartbeat::Rejoin,
            Some(News::Failed(e)) => return Err(e),
            Some(News::Lost(codes::FENCED_INSTANCE_ID)) => {
                return Err(Error::Broker {
                    what: format!("group '{}'", self.group),
                    cause: codes::describe(codes::FENCED_INSTANCE_ID),
                })
            }
            Some(News::Lost(codes::UNKNOWN_MEMBER_ID) | News::PollTimeout) => {
                forgotten(self);
                Heartbeat::Lost
            }
            Some(News::Lost(_)) => {
                self.generation = -1;
                Heartbeat::Lost
            }
        })
    }

    /// A commit was refused: the member is out of its generation until it joins again.
    pub(super) fn lose(&self, error: i16) {
        self.beat.lose(error);
    }
}

/// What the heartbeats learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    /// Nothing new: carry on.
    Fine,
    /// The group is rebalancing: commit, then join again.
    Rejoin,
    /// This member is out of its generation: its partitions may be another member's already.
    /// Drop what was fetched, commit nothing, join again.
    Lost,
}

impl Client<'_> {
    /// Joins `member.group` subscribed to `topic` and returns the partitions assigned to this
    /// member (sorted). The leader computes the range assignment for everyone.
    pub fn join(&mut self, member: &mut Member, topic: &str) -> Result<Vec<i32>, Error> {
        let what = format!("joining group '{}'", member.group);
        member.beat.joining();
        loop {
            let joined = self.retry(&what, |c| c.join_once(member, topic))?;
            let Some((leader, members)) = joined else {
                continue;
            };
            member.leader = leader;
            let assignments = if leader {
                let partitions = self.partitions(topic)?;
                range_assign(topic, &partitions, &members)
            } else {
                Vec::new()
            };
            match self.retry(&format!("syncing group '{}'", member.group), |c| {
                c.sync_once(member, &assignments)
            })? {
                Some(assignment) => {
                    member.beat.joined(&member.member_id, member.generation);
                    let mut mine =
                        parse_assignment(&assignment, topic).map_err(|e| Error::Broker {
                            what: format!("reading the assignment of group '{}'", member.group),
                            cause: e.to_string(),
                        })?;
                    mine.sort_unstable();
                    return Ok(mine);
                }
                None => continue,
            }
        }
    }

    /// One JoinGroup. `Ok(None)`: join again at once (the broker gave us a member id, or the
    /// group moved on); `Ok(Some((leader, members)))` on success.
    #[allow(clippy::type_complexity)]
    fn join_once(
        &mut self,
        member: &mut Member,
        topic: &str,
    ) -> Result<Option<(bool, Vec<(String, Option<String>, Vec<u8>)>)>, Failure> {
        let node = self.coordinator_node(&member.group)?;
        let request = |_| JoinGroupRequest {
            group_id: member.group_id(),
            session_timeout_ms: millis(member.settings.session_timeout),
            rebalance_timeout_ms: millis(member.settings.max_poll_interval),
            member_id: member.id(),
            group_instance_id: member.instance_id(),
            protocol_type: PROTOCOL_TYPE,
            protocols: vec![JoinGroupProtocol {
                name: ASSIGNOR,
                metadata: subscription(topic),
            }],
        };
        // A join may wait for the other members to rejoin, up to the rebalance timeout.
        let joined = self.call_node(
            node,
            ApiKey::JoinGroup,
            JOIN_GROUP,
            member.settings.max_poll_interval,
            request,
            parse_join,
        )?;
        match joined.error {
            codes::NONE => {}
            // The broker assigns a member id on the first join (KIP-394): join again with it.
            codes::MEMBER_ID_REQUIRED => {
                member.member_id = joined.member_id;
                return Ok(None);
            }
            codes::UNKNOWN_MEMBER_ID => {
                member.member_id.clear();
                return Ok(None);
            }
            e => return Err(self.join_refused(member, e)),
        }
        member.member_id = joined.member_id;
        member.generation = joined.generation;
        let leader = joined.leader == member.member_id && !joined.skip_assignment;
        Ok(Some((leader, joined.members)))
    }

    fn sync_once(
        &mut self,
        member: &mut Member,
        assignments: &[(String, Vec<u8>)],
    ) -> Result<Option<Vec<u8>>, Failure> {
        let node = self.coordinator_node(&member.group)?;
        let request = |_| SyncGroupRequest {
            group_id: member.group_id(),
            generation_id: member.generation,
            member_id: member.id(),
            group_instance_id: member.instance_id(),
            protocol_type: Some(PROTOCOL_TYPE),
            protocol_name: Some(ASSIGNOR),
            assignments,
        };
        let (error, assignment) = self.call_node(
            node,
            ApiKey::SyncGroup,
            SYNC_GROUP,
            member.settings.max_poll_interval,
            request,
            |body, version| {
                let mut r = Reader::new(body, version >= 4);
                r.i32()?;
                let error = r.i16()?;
                if version >= 5 {
                    r.nullable_string()?;
                    r.nullable_string()?;
                }
                Ok((error, r.nullable_bytes()?.unwrap_or_default().to_vec()))
            },
        )?;
        match error {
            codes::NONE => Ok(Some(assignment)),
            codes::REBALANCE_IN_PROGRESS | codes::ILLEGAL_GENERATION => Ok(None),
            codes::UNKNOWN_MEMBER_ID => {
                member.member_id.clear();
                Ok(None)
            }
            e => Err(self.membership_failure(&member.group, e)),
        }
    }

    /// Leaves the group at once, so the others take over without waiting for the session
    /// timeout. Static members stay (their partitions wait for them), as in the Java client.
    pub fn leave(&mut self, member: &Member) -> Result<(), Error> {
        if member.settings.instance_id.is_some() || member.member_id.is_empty() {
            return Ok(());
        }
        let what = format!("leaving group '{}'", member.group);
        self.retry(&what, |c| {
            let node = c.coordinator_node(&member.group)?;
            let request = |_| LeaveGroupRequest {
                group_id: member.group_id(),
                member_id: member.id(),
            };
            // Leaving is best done; what the coordinator answers changes nothing here.
            c.call_node(
                node,
                ApiKey::LeaveGroup,
                LEAVE_GROUP,
                Duration::ZERO,
                request,
                |_, _| Ok(()),
            )
        })
    }

    /// Which member owns each partition of `topic` in `group`, as the coordinator describes
    /// the group: partition -> "member id (client id@host)".
    pub fn owners(&mut self, group: &str, topic: &str) -> Result<HashMap<i32, String>, Error> {
        let described = self.retry(&format!("describing group '{group}'"), |c| {
            c.describe_group(group)
        })?;
        let mut owners = HashMap::new();
        for (who, assignment) in described.members {
            // A member of another protocol (not a consumer) has no partitions of ours.
            for p in parse_assignment(&assignment, topic).unwrap_or_default() {
                owners.insert(p, who.clone());
            }
        }
        Ok(owners)
    }

    /// The members of `group` now, as "member id (client id@host)", and the group's state
    /// ("Stable", "Empty", ...).
    pub fn members(&mut self, group: &str) -> Result<(Vec<String>, String), Error> {
        let described = self.retry(&format!("describing group '{group}'"), |c| {
            c.describe_group(group)
        })?;
        let members = described.members.into_iter().map(|m| m.0).collect();
        Ok((members, described.state))
    }

    fn describe_group(&mut self, group: &str) -> Result<Described, Failure> {
        let node = self.coordinator_node(group)?;
        let request = |_| DescribeGroupsRequest { group };
        let described = self.call_node(
            node,
            ApiKey::DescribeGroups,
            DESCRIBE_GROUPS,
            Duration::ZERO,
            request,
            parse_describe,
        )?;
        if described.error != codes::NONE {
            return Err(self.membership_failure(group, described.error));
        }
        Ok(described)
    }

    /// The session timeouts `group`'s coordinator accepts, in words: its own settings when it
    /// shows them to this user, else their names and Kafka's defaults.
    fn session_range(&mut self, group: &str) -> String {
        const MIN: &str = "group.min.session.timeout.ms";
        const MAX: &str = "group.max.session.timeout.ms";
        let shown = self
            .coordinator_node(group)
            .and_then(|node| self.broker_settings(node, &[MIN, MAX]));
        let secs = |ms: &str| ms.parse::<f64>().ok().map(|ms| ms / 1000.0);
        match shown {
            Ok(values) => match (
                values.get(MIN).and_then(|v| secs(v)),
                values.get(MAX).and_then(|v| secs(v)),
            ) {
                (Some(min), Some(max)) => {
                    return format!(
                        "it accepts {min} s to {max} s (its {MIN}={}, {MAX}={})",
                        values[MIN], values[MAX]
                    )
                }
                _ => log::debug!("the coordinator showed {values:?} of {MIN} and {MAX}"),
            },
            Err(e) => log::debug!("the coordinator's {MIN} and {MAX} are not shown: {e:?}"),
        }
        format!("it accepts the range its {MIN} and {MAX} set (6 s to 1800 s unless changed)")
    }

    /// A join the coordinator refused for good, in words that say what to change.
    fn join_refused(&mut self, member: &Member, error: i16) -> Failure {
        let group = member.group.as_str();
        let what = format!("joining group '{group}'");
        match error {
            codes::INVALID_SESSION_TIMEOUT => {
                let session = member.settings.session_timeout.as_secs_f64();
                let range = self.session_range(group);
                Failure::Fatal(Error::Broker {
                    what,
                    cause: format!(
                        "the broker refused the session timeout of {session} s (--session-timeout \
                         {session}, session.timeout.ms; {}): {range}",
                        codes::named(error)
                    ),
                })
            }
            codes::INCONSISTENT_GROUP_PROTOCOL => {
                // Which protocol the group's members agreed on is in its description.
                let theirs = match self.describe_group(group) {
                    Ok(d) if !d.protocol.is_empty() => format!(
                        "its members use the '{}' assignor of the '{}' protocol",
                        d.protocol, d.protocol_type
                    ),
                    Ok(d) if !d.protocol_type.is_empty() => {
                        format!("its members use the '{}' protocol", d.protocol_type)
                    }
                    _ => "its members use another protocol".to_string(),
                };
                Failure::Fatal(Error::Broker {
                    what,
                    cause: format!(
                        "{theirs}, this consumer offers only the '{ASSIGNOR}' assignor of the \
                         '{PROTOCOL_TYPE}' protocol ({}): give the Java members \
                         partition.assignment.strategy=org.apache.kafka.clients.consumer.\
                         RangeAssignor (alone or among theirs), or use another group",
                        codes::named(error)
                    ),
                })
            }
            e => self.membership_failure(group, e),
        }
    }

    /// A group-level error while a member: a moved coordinator is worth a retry.
    pub(super) fn membership_failure(&mut self, group: &str, error: i16) -> Failure {
        if codes::retriable(error) {
            self.forget_coordinator();
        }
        let scope = format!("group '{group}'");
        codes::failure(error, &scope, "use", &scope, || {
            format!("using group '{group}'")
        })
    }
}

fn millis(d: Duration) -> i32 {
    d.as_millis().min(i32::MAX as u128) as i32
}

/// ConsumerProtocolSubscription v0: the topics this member reads.
fn subscription(topic: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + topic.len());
    out.extend_from_slice(&0i16.to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    out.extend_from_slice(&(topic.len() as i16).to_be_bytes());
    out.extend_from_slice(topic.as_bytes());
    out.extend_from_slice(&(-1i32).to_be_bytes()); // no user data
    out
}

/// The topics of a member's subscription (any version: later versions only append fields).
fn subscribed_topics(metadata: &[u8]) -> WireResult<Vec<String>> {
    let mut r = Reader::new(metadata, false);
    r.i16()?;
    let n = r.count(2)?;
    let mut topics = Vec::with_capacity(n);
    for _ in 0..n {
        topics.push(r.string()?.to_string());
    }
    Ok(topics)
}

/// ConsumerProtocolAssignment v0 for one topic.
fn assignment(topic: &str, partitions: &[i32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + topic.len() + 4 * partitions.len());
    out.extend_from_slice(&0i16.to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    out.extend_from_slice(&(topic.len() as i16).to_be_bytes());
    out.extend_from_slice(topic.as_bytes());
    out.extend_from_slice(&(partitions.len() as i32).to_be_bytes());
    for p in partitions {
        out.extend_from_slice(&p.to_be_bytes());
    }
    out.extend_from_slice(&(-1i32).to_be_bytes()); // no user data
    out
}

/// This member's partitions of `topic` in an assignment (any version).
pub(super) fn parse_assignment(data: &[u8], topic: &str) -> WireResult<Vec<i32>> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    let mut r = Reader::new(data, false);
    r.i16()?;
    let mut mine = Vec::new();
    r.topics(4, |r, name| {
        let p = r.i32()?;
        if name == topic {
            mine.push(p);
        }
        Ok(())
    })?;
    Ok(mine)
}

/// The range assignor: members subscribed to `topic`, sorted (by instance id when static, then
/// member id, as the Java client sorts them), each get a consecutive run of partitions; the first
/// `partitions % members` get one more. Every member gets an assignment, empty or not.
fn range_assign(
    topic: &str,
    partitions: &[i32],
    members: &[(String, Option<String>, Vec<u8>)],
) -> Vec<(String, Vec<u8>)> {
    let mut subscribed: Vec<&(String, Option<String>, Vec<u8>)> = members
        .iter()
        .filter(|m| subscribed_topics(&m.2).is_ok_and(|t| t.iter().any(|t| t == topic)))
        .collect();
    subscribed.sort_by(|a, b| match (&a.1, &b.1) {
        (Some(x), Some(y)) => x.cmp(y).then(a.0.cmp(&b.0)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.0.cmp(&b.0),
    });
    let mut sorted = partitions.to_vec();
    sorted.sort_unstable();
    let n = subscribed.len().max(1);
    let (each, extra) = (sorted.len() / n, sorted.len() % n);
    let mut next = 0;
    let mut out: Vec<(String, Vec<u8>)> = Vec::with_capacity(members.len());
    for (i, m) in subscribed.iter().enumerate() {
        let take = each + usize::from(i < extra);
        out.push((m.0.clone(), assignment(topic, &sorted[next..next + take])));
        next += take;
    }
    for m in members {
        if !out.iter().any(|(id, _)| *id == m.0) {
            out.push((m.0.clone(), assignment(topic, &[])));
        }
    }
    out
}

pub(super) struct Joined {
    error: i16,
    generation: i32,
    leader: String,
    skip_assignment: bool,
    member_id: String,
    members: Vec<(String, Option<String>, Vec<u8>)>,
}

pub(super) fn parse_join(body: &[u8], version: i16) -> WireResult<Joined> {
    let mut r = Reader::new(body, version >= 6);
    r.i32()?;
    let error = r.i16()?;
    let generation = r.i32()?;
    if version >= 7 {
        r.nullable_string()?;
    }
    r.nullable_string()?; // protocol name
    let leader = r.string()?.to_string();
    let skip_assignment = version >= 9 && r.bool()?;
    let member_id = r.string()?.to_string();
    let n = r.count(4)?;
    let mut members = Vec::with_capacity(n);
    for _ in 0..n {
        let id = r.string()?.to_string();
        let instance = if version >= 5 {
            r.nullable_string()?.map(str::to_string)
        } else {
            None
        };
        let metadata = r.nullable_bytes()?.unwrap_or_default().to_vec();
        r.tags()?;
        members.push((id, instance, metadata));
    }
    r.tags()?;
    Ok(Joined {
        error,
        generation,
        leader,
        skip_assignment,
        member_id,
        members,
    })
}

/// The first group of a DescribeGroups answer.
pub(super) struct Described {
    error: i16,
    state: String,
    protocol_type: String,
    /// The assignor the group's members agreed on ("range", "roundrobin", ...).
    protocol: String,
    /// Per member: "member id (client id@host)" and its assignment bytes.
    members: Vec<(String, Vec<u8>)>,
}

pub(super) fn parse_describe(body: &[u8], version: i16) -> WireResult<Described> {
    let mut r = Reader::new(body, version >= 5);
    if version >= 1 {
        r.i32()?;
    }
    if r.count(12)? == 0 {
        return Err(WireError("the answer describes no group".into()));
    }
    let error = r.i16()?;
    r.string()?; // group id
    let state = r.string()?.to_string();
    let protocol_type = r.string()?.to_string();
    let protocol = r.string()?.to_string();
    let n = r.count(10)?;
    let mut members = Vec::with_capacity(n);
    for _ in 0..n {
        let id = r.string()?.to_string();
        if version >= 4 {
            r.nullable_string()?;
        }
        let client = r.string()?.to_string();
        let host = r.string()?.to_string();
        r.nullable_bytes()?; // metadata
        let assignment = r.nullable_bytes()?.unwrap_or_default().to_vec();
        r.tags()?;
        members.push((
            format!("{id} ({client}@{})", host.trim_start_matches('/')),
            assignment,
        ));
    }
    Ok(Described {
        error,
        state,
        protocol_type,
        protocol,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, instance: Option<&str>, topic: &str) -> (String, Option<String>, Vec<u8>) {
        (id.into(), instance.map(Into::into), subscription(topic))
    }

    fn assigned(out: &[(String, Vec<u8>)], id: &str) -> Vec<i32> {
        let a = &out.iter().find(|(m, _)| m == id).unwrap().1;
        parse_assignment(a, "t").unwrap()
    }

    fn settings() -> GroupSettings {
        GroupSettings {
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            max_poll_interval: Duration::from_secs(300),
            instance_id: None,
        }
    }

    #[test]
    fn a_member_out_of_its_generation_claims_none_until_it_joins_again() {
        let mut m = Member::new("g", settings());
        assert!(!m.in_generation(), "not before its first join");
        (m.member_id, m.generation) = ("m-1".into(), 4);
        m.beat.joined("m-1", 4);
        assert!(m.in_generation());
        m.lose(codes::ILLEGAL_GENERATION);
        assert!(!m.in_generation() && m.is_lost());
        assert_eq!(m.news().unwrap(), Heartbeat::Lost);
        // It keeps its member id for the next join, never generation -1 with it in a commit.
        assert_eq!((m.member_id.as_str(), m.generation), ("m-1", -1));
        assert!(!m.in_generation());

        m.generation = 5;
        m.beat.joined("m-1", 5);
        m.lose(codes::UNKNOWN_MEMBER_ID);
        assert_eq!(m.news().unwrap(), Heartbeat::Lost);
        assert_eq!((m.member_id.as_str(), m.generation), ("", -1));
        m.lose(codes::FENCED_INSTANCE_ID);
        assert!(m.news().is_err(), "another process has this --instance-id");
    }

    #[test]
    fn range_gives_consecutive_runs_and_the_first_members_one_more() {
        let members = [
            member("b", None, "t"),
            member("a", None, "t"),
            member("c", None, "t"),
        ];
        let out = range_assign("t", &[0, 1, 2, 3, 4, 5, 6], &members);
        assert_eq!(assigned(&out, "a"), [0, 1, 2]);
        assert_eq!(assigned(&out, "b"), [3, 4]);
        assert_eq!(assigned(&out, "c"), [5, 6]);
    }

    #[test]
    fn static_members_sort_first_and_other_topics_get_nothing() {
        let members = [
            member("a", None, "t"),
            member("z", Some("gw-1"), "t"),
            member("x", None, "other"),
        ];
        let out = range_assign("t", &[0, 1, 2], &members);
        assert_eq!(assigned(&out, "z"), [0, 1]);
        assert_eq!(assigned(&out, "a"), [2]);
        assert_eq!(assigned(&out, "x"), Vec::<i32>::new());
    }

    #[test]
    fn subscriptions_and_assignments_round_trip_and_bad_ones_are_errors() {
        assert_eq!(
            subscribed_topics(&subscription("orders")).unwrap(),
            ["orders"]
        );
        assert_eq!(
            parse_assignment(&assignment("t", &[4, 2]), "t").unwrap(),
            [4, 2]
        );
        assert!(parse_assignment(&[0, 0, 0x7f, 0xff, 0xff, 0xff], "t").is_err());
        assert!(subscribed_topics(&[0, 0, 0, 0, 0, 9]).is_err());
    }
}
