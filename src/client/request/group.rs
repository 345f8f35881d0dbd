//! Requests of a consumer group: the coordinator, offsets, membership, descriptions.

use super::{since, Request, Result, Writer};

/// FindCoordinator for a group (key type [`GROUP_KEY`]) or a transactional id
/// ([`TRANSACTION_KEY`]), up to v3 (v4 asks for several keys at once).
pub struct FindCoordinatorRequest<'a> {
    pub key: &'a str,
    pub key_type: i8,
}

pub const GROUP_KEY: i8 = 0;
pub const TRANSACTION_KEY: i8 = 1;

impl Request for FindCoordinatorRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.string(self.key)?;
        if version >= 1 {
            w.i8(self.key_type);
        } else {
            since(version, 1, self.key_type != GROUP_KEY, "key_type")?;
        }
        w.tags();
        Ok(())
    }
}

/// OffsetFetch of one group's offsets for partitions of one topic, v1 to v7 (v8 asks for
/// several groups).
pub struct OffsetFetchRequest<'a> {
    pub group_id: &'a str,
    pub topic: &'a str,
    pub partitions: &'a [i32],
    pub require_stable: bool,
}

impl Request for OffsetFetchRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.string(self.group_id)?;
        w.array(1)?;
        w.string(self.topic)?;
        w.array(self.partitions.len())?;
        for &p in self.partitions {
            w.i32(p);
        }
        w.tags();
        since(version, 7, self.require_stable, "require_stable")?;
        if version >= 7 {
            w.bool(self.require_stable);
        }
        w.tags();
        Ok(())
    }
}

/// OffsetCommit of (partition, offset) pairs of one topic, without metadata, from v2.
pub struct OffsetCommitRequest<'a> {
    pub group_id: &'a str,
    pub generation_id_or_member_epoch: i32,
    pub member_id: &'a str,
    pub group_instance_id: Option<&'a str>,
    pub topic: &'a str,
    pub offsets: &'a [(i32, i64)],
}

impl Request for OffsetCommitRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.string(self.group_id)?;
        w.i32(self.generation_id_or_member_epoch);
        w.string(self.member_id)?;
        since(
            version,
            7,
            self.group_instance_id.is_some(),
            "group.instance.id",
        )?;
        if version >= 7 {
            w.nullable_string(self.group_instance_id)?;
        }
        if (2..=4).contains(&version) {
            w.i64(-1); // retention_time_ms: the broker's
        }
        w.array(1)?;
        w.string(self.topic)?;
        w.array(self.offsets.len())?;
        for &(partition, offset) in self.offsets {
            w.i32(partition);
            w.i64(offset);
            if version >= 6 {
                w.i32(-1); // committed_leader_epoch
            }
            w.string("")?; // committed_metadata
            w.tags();
        }
        w.tags();
        w.tags();
        Ok(())
    }
}

/// JoinGroup, from v1.
pub struct JoinGroupRequest<'a> {
    pub group_id: &'a str,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub member_id: &'a str,
    pub group_instance_id: Option<&'a str>,
    pub protocol_type: &'a str,
    pub protocols: Vec<JoinGroupProtocol<'a>>,
}

/// An assignor this member supports, with its subscription.
pub struct JoinGroupProtocol<'a> {
    pub name: &'a str,
    pub metadata: Vec<u8>,
}

impl Request for JoinGroupRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.string(self.group_id)?;
        w.i32(self.session_timeout_ms);
        w.i32(self.rebalance_timeout_ms);
        w.string(self.member_id)?;
        since(
            version,
            5,
            self.group_instance_id.is_some(),
            "group.instance.id",
        )?;
        if version >= 5 {
            w.nullable_string(self.group_instance_id)?;
        }
        w.string(self.protocol_type)?;
        w.array(self.protocols.len())?;
        for p in &self.protocols {
            w.string(p.name)?;
            w.bytes(&p.metadata)?;
            w.tags();
        }
        if version >= 8 {
            w.nullable_string(None)?; // reason
        }
        w.tags();
        Ok(())
    }
}

/// SyncGroup with the assignments (member id, assignment) a leader hands out (none from a
/// follower), from v3.
pub struct SyncGroupRequest<'a> {
    pub group_id: &'a str,
    pub generation_id: i32,
    pub member_id: &'a str,
    pub group_instance_id: Option<&'a str>,
    /// Sent from v5 on; older versions have no field for them and the broker does not need
    /// them.
    pub protocol_type: Option<&'a str>,
    pub protocol_name: Option<&'a str>,
    pub assignments: &'a [(String, Vec<u8>)],
}

impl Request for SyncGroupRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.string(self.group_id)?;
        w.i32(self.generation_id);
        w.string(self.member_id)?;
        since(
            version,
            3,
            self.group_instance_id.is_some(),
            "group.instance.id",
        )?;
        if version >= 3 {
            w.nullable_string(self.group_instance_id)?;
        }
        if version >= 5 {
            w.nullable_string(self.protocol_type)?;
            w.nullable_string(self.protocol_name)?;
        }
        w.array(self.assignments.len())?;
        for (member_id, assignment) in self.assignments {
            w.string(member_id)?;
            w.bytes(assignment)?;
            w.tags();
        }
        w.tags();
        Ok(())
    }
}

/// Heartbeat.
pub struct HeartbeatRequest<'a> {
    pub group_id: &'a str,
    pub generation_id: i32,
    pub member_id: &'a str,
    pub group_instance_id: Option<&'a str>,
}

impl Request for HeartbeatRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.string(self.group_id)?;
        w.i32(self.generation_id);
        w.string(self.member_id)?;
        since(
            version,
            3,
            self.group_instance_id.is_some(),
            "group.instance.id",
        )?;
        if version >= 3 {
            w.nullable_string(self.group_instance_id)?;
        }
        w.tags();
        Ok(())
    }
}

/// LeaveGroup of one (dynamic) member.
pub struct LeaveGroupRequest<'a> {
    pub group_id: &'a str,
    pub member_id: &'a str,
}

impl Request for LeaveGroupRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.string(self.group_id)?;
        if version <= 2 {
            return w.string(self.member_id);
        }
        w.array(1)?;
        w.string(self.member_id)?;
        w.nullable_string(None)?; // group_instance_id
        if version >= 5 {
            w.nullable_string(None)?; // reason
        }
        w.tags();
        w.tags();
        Ok(())
    }
}

/// DescribeGroups of one group, without authorized operations.
pub struct DescribeGroupsRequest<'a> {
    pub group: &'a str,
}

impl Request for DescribeGroupsRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.array(1)?;
        w.string(self.group)?;
        if version >= 3 {
            w.bool(false); // include_authorized_operations
        }
        w.tags();
        Ok(())
    }
}

/// ConsumerGroupDescribe (KIP-848) of one group, without authorized operations.
pub struct ConsumerGroupDescribeRequest<'a> {
    pub group: &'a str,
}

impl Request for ConsumerGroupDescribeRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, _version: i16) -> Result {
        w.array(1)?;
        w.string(self.group)?;
        w.bool(false); // include_authorized_operations
        w.tags();
        Ok(())
    }
}
