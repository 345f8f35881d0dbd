//! The requests the client sends, encoded by hand from Apache Kafka's message schemas
//! (`clients/src/main/resources/common/message/*Request.json`): the request header, a small
//! writer for the protocol's primitive types, and one plain struct per request that holds only
//! the fields this client sets; every other field goes out with its schema default. Each
//! request encodes every version the client negotiates for it (the ranges live at the call
//! sites); the unit tests check each one byte for byte against the `kafka-protocol` crate.
//!
//! A version is "flexible" from the schema's `flexibleVersions` on: strings, bytes and arrays
//! then carry compact (unsigned varint, length + 1) lengths, every struct ends with its tagged
//! fields (none here: an empty set is one zero byte), and the request header is v2. A value
//! too long for its field, or a field set that the chosen version does not carry, is an
//! [`EncodeError`], never a panic and never silently dropped.

use std::fmt;

/// The APIs this client speaks, numbered as on the wire. The names are Kafka's (messages print
/// them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKey {
    Produce = 0,
    Fetch = 1,
    ListOffsets = 2,
    Metadata = 3,
    OffsetCommit = 8,
    OffsetFetch = 9,
    FindCoordinator = 10,
    JoinGroup = 11,
    Heartbeat = 12,
    LeaveGroup = 13,
    SyncGroup = 14,
    DescribeGroups = 15,
    DescribeConfigs = 32,
    SaslHandshake = 17,
    ApiVersions = 18,
    InitProducerId = 22,
    SaslAuthenticate = 36,
    ConsumerGroupDescribe = 69,
}

impl ApiKey {
    /// Whether `version` of this API is flexible (its schema's `flexibleVersions`).
    pub fn flexible(self, version: i16) -> bool {
        let first = match self {
            ApiKey::Produce => 9,
            ApiKey::Fetch => 12,
            ApiKey::ListOffsets => 6,
            ApiKey::Metadata => 9,
            ApiKey::OffsetCommit => 8,
            ApiKey::OffsetFetch => 6,
            ApiKey::FindCoordinator => 3,
            ApiKey::JoinGroup => 6,
            ApiKey::Heartbeat => 4,
            ApiKey::LeaveGroup => 4,
            ApiKey::SyncGroup => 4,
            ApiKey::DescribeGroups => 5,
            ApiKey::DescribeConfigs => 4,
            ApiKey::ApiVersions => 3,
            ApiKey::InitProducerId => 2,
            ApiKey::SaslAuthenticate => 2,
            ApiKey::ConsumerGroupDescribe => 0,
            // SaslHandshake has no flexible version.
            ApiKey::SaslHandshake => return false,
        };
        version >= first
    }

    /// The request header version: v2 (with tagged fields) for flexible versions, else v1.
    pub fn request_header_version(self, version: i16) -> i16 {
        if self.flexible(version) {
            2
        } else {
            1
        }
    }

    /// The response header version: v1 (with tagged fields) for flexible versions, else v0.
    /// ApiVersions answers always with v0, so that a client that speaks an older version can
    /// still read the broker's error and ranges.
    pub fn response_header_version(self, version: i16) -> i16 {
        if self != ApiKey::ApiVersions && self.flexible(version) {
            1
        } else {
            0
        }
    }
}

/// Why a request could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// A string, bytes value or array longer than its length field can say.
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    /// A field is set that the chosen version does not carry.
    NotInVersion(&'static str),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooLong { what, len, max } => {
                let unit = if *what == "array" {
                    "elements"
                } else {
                    "bytes"
                };
                write!(f, "a {what} of {len} {unit}: the protocol allows {max}")
            }
            EncodeError::NotInVersion(field) => write!(
                f,
                "{field} is set, and this version of the request has no such field (the broker \
                 is too old for it)"
            ),
        }
    }
}

type Result = std::result::Result<(), EncodeError>;

/// A request body: encodes itself at `version` after the header.
pub trait Request {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result;
}

/// Writes one whole request frame into `out` (cleared first, its capacity reused): the size,
/// the header, the body.
pub fn frame(
    out: &mut Vec<u8>,
    api: ApiKey,
    version: i16,
    correlation: i32,
    client_id: &str,
    request: &impl Request,
) -> Result {
    out.clear();
    out.extend_from_slice(&[0; 4]);
    let mut w = Writer {
        out,
        flexible: false,
    };
    w.i16(api as i16);
    w.i16(version);
    w.i32(correlation);
    // The client id is a nullable string, never compact, even in header v2.
    w.nullable_string(Some(client_id))?;
    w.flexible = api.flexible(version);
    if api.request_header_version(version) >= 2 {
        w.tags();
    }
    request.encode(&mut w, version)?;
    let size = out.len() - 4;
    let size = i32::try_from(size).map_err(|_| EncodeError::TooLong {
        what: "request",
        len: size,
        max: i32::MAX as usize,
    })?;
    out[..4].copy_from_slice(&size.to_be_bytes());
    Ok(())
}

/// The protocol's primitive types, appended to a frame. `flexible` picks compact lengths and
/// tagged fields.
pub struct Writer<'a> {
    out: &'a mut Vec<u8>,
    flexible: bool,
}

impl Writer<'_> {
    fn i8(&mut self, v: i8) {
        self.out.push(v as u8);
    }

    fn bool(&mut self, v: bool) {
        self.out.push(u8::from(v));
    }

    fn i16(&mut self, v: i16) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    fn i32(&mut self, v: i32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    fn i64(&mut self, v: i64) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// The all-zero UUID (a topic id this client does not know).
    fn nil_uuid(&mut self) {
        self.out.extend_from_slice(&[0; 16]);
    }

    fn unsigned_varint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.out.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    /// A length (or null, `None`) of at most `max`: compact (n + 1, 0 for null) when flexible,
    /// else an i16 (strings) or i32 (bytes, arrays) with -1 for null.
    fn length(&mut self, len: Option<usize>, what: &'static str, max: usize) -> Result {
        match len {
            Some(len) if len > max => Err(EncodeError::TooLong { what, len, max }),
            // len <= i32::MAX, so len + 1 fits a u32.
            Some(len) if self.flexible => {
                self.unsigned_varint(len as u32 + 1);
                Ok(())
            }
            None if self.flexible => {
                self.unsigned_varint(0);
                Ok(())
            }
            Some(len) if max <= i16::MAX as usize => {
                self.i16(len as i16);
                Ok(())
            }
            Some(len) => {
                self.i32(len as i32);
                Ok(())
            }
            None if max <= i16::MAX as usize => {
                self.i16(-1);
                Ok(())
            }
            None => {
                self.i32(-1);
                Ok(())
            }
        }
    }

    fn string(&mut self, s: &str) -> Result {
        self.nullable_string(Some(s))
    }

    fn nullable_string(&mut self, s: Option<&str>) -> Result {
        self.length(s.map(str::len), "string", i16::MAX as usize)?;
        self.out.extend_from_slice(s.unwrap_or_default().as_bytes());
        Ok(())
    }

    fn bytes(&mut self, b: &[u8]) -> Result {
        self.length(Some(b.len()), "bytes value", i32::MAX as usize)?;
        self.out.extend_from_slice(b);
        Ok(())
    }

    /// An array's element count; the elements follow.
    fn array(&mut self, n: usize) -> Result {
        self.length(Some(n), "array", i32::MAX as usize)
    }

    /// The tagged fields that end a struct in a flexible version: none.
    fn tags(&mut self) {
        if self.flexible {
            self.unsigned_varint(0);
        }
    }
}

/// A field that `version` carries only from `since`: an error when set (`set`) before that.
fn since(version: i16, since: i16, set: bool, field: &'static str) -> Result {
    if version < since && set {
        return Err(EncodeError::NotInVersion(field));
    }
    Ok(())
}

/// ApiVersions: an empty body up to v2 (v3 would name the client software).
pub struct ApiVersionsRequest;

impl Request for ApiVersionsRequest {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        if version >= 3 {
            w.string("")?;
            w.string("")?;
        }
        w.tags();
        Ok(())
    }
}

/// SaslHandshake: the mechanism to log in with.
pub struct SaslHandshakeRequest<'a> {
    pub mechanism: &'a str,
}

impl Request for SaslHandshakeRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, _version: i16) -> Result {
        w.string(self.mechanism)
    }
}

/// SaslAuthenticate: one round of the mechanism's exchange.
pub struct SaslAuthenticateRequest<'a> {
    pub auth_bytes: &'a [u8],
}

impl Request for SaslAuthenticateRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, _version: i16) -> Result {
        w.bytes(self.auth_bytes)?;
        w.tags();
        Ok(())
    }
}

/// Metadata for the named topics (never "all topics"), from v4.
pub struct MetadataRequest<'a> {
    pub topics: &'a [String],
    pub allow_auto_topic_creation: bool,
}

impl Request for MetadataRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.array(self.topics.len())?;
        for topic in self.topics {
            if version >= 10 {
                w.nil_uuid();
            }
            w.string(topic)?;
            w.tags();
        }
        w.bool(self.allow_auto_topic_creation);
        if (8..=10).contains(&version) {
            w.bool(false); // include_cluster_authorized_operations
        }
        if version >= 8 {
            w.bool(false); // include_topic_authorized_operations
        }
        w.tags();
        Ok(())
    }
}

/// Fetch, as a consumer (replica id -1) without a fetch session, one topic by name (up to
/// v12: v13 names topics by id).
pub struct FetchRequest<'a> {
    pub max_wait_ms: i32,
    pub min_bytes: i32,
    pub max_bytes: i32,
    pub isolation_level: i8,
    pub topic: &'a str,
    pub partitions: Vec<FetchPartition>,
}

pub struct FetchPartition {
    pub partition: i32,
    pub fetch_offset: i64,
    pub partition_max_bytes: i32,
}

impl Request for FetchRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.i32(-1); // replica_id
        w.i32(self.max_wait_ms);
        w.i32(self.min_bytes);
        if version >= 3 {
            w.i32(self.max_bytes);
        }
        if version >= 4 {
            w.i8(self.isolation_level);
        }
        if version >= 7 {
            w.i32(0); // session_id
            w.i32(-1); // session_epoch: no session
        }
        w.array(1)?;
        w.string(self.topic)?;
        w.array(self.partitions.len())?;
        for p in &self.partitions {
            w.i32(p.partition);
            if version >= 9 {
                w.i32(-1); // current_leader_epoch
            }
            w.i64(p.fetch_offset);
            if version >= 12 {
                w.i32(-1); // last_fetched_epoch
            }
            if version >= 5 {
                w.i64(-1); // log_start_offset
            }
            w.i32(p.partition_max_bytes);
            w.tags();
        }
        w.tags();
        if version >= 7 {
            w.array(0)?; // forgotten_topics_data
        }
        if version >= 11 {
            w.string("")?; // rack_id
        }
        w.tags();
        Ok(())
    }
}

/// ListOffsets, as a consumer (replica id -1): one timestamp (-2 earliest, -1 latest) for
/// each partition of one topic, from v1.
pub struct ListOffsetsRequest<'a> {
    pub isolation_level: i8,
    pub topic: &'a str,
    pub partitions: &'a [i32],
    pub timestamp: i64,
}

impl Request for ListOffsetsRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.i32(-1); // replica_id
        since(
            version,
            2,
            self.isolation_level != 0,
            "the isolation level read_committed",
        )?;
        if version >= 2 {
            w.i8(self.isolation_level);
        }
        w.array(1)?;
        w.string(self.topic)?;
        w.array(self.partitions.len())?;
        for &p in self.partitions {
            w.i32(p);
            if version >= 4 {
                w.i32(-1); // current_leader_epoch
            }
            w.i64(self.timestamp);
            w.tags();
        }
        w.tags();
        if version >= 10 {
            w.i32(0); // timeout_ms
        }
        w.tags();
        Ok(())
    }
}

/// FindCoordinator for a group (key type 0), up to v3 (v4 asks for several keys at once).
pub struct FindCoordinatorRequest<'a> {
    pub key: &'a str,
}

impl Request for FindCoordinatorRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.string(self.key)?;
        if version >= 1 {
            w.i8(0); // key_type: a group
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

/// DescribeConfigs of one resource (a broker, by its node id), for the named keys only,
/// without synonyms or documentation.
pub struct DescribeConfigsRequest<'a> {
    pub resource_type: i8,
    pub resource_name: &'a str,
    pub keys: &'a [&'a str],
}

impl Request for DescribeConfigsRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.array(1)?;
        w.i8(self.resource_type);
        w.string(self.resource_name)?;
        w.array(self.keys.len())?;
        for key in self.keys {
            w.string(key)?;
        }
        w.tags();
        w.bool(false); // include_synonyms (v1+; the client asks from v1)
        if version >= 3 {
            w.bool(false); // include_documentation
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

/// Produce of one record batch per partition of one topic, outside any transaction, from v3
/// up to v12 (v13 names topics by id).
pub struct ProduceRequest<'a> {
    pub acks: i16,
    pub timeout_ms: i32,
    pub topic: &'a str,
    pub partitions: Vec<ProducePartition<'a>>,
}

pub struct ProducePartition<'a> {
    pub index: i32,
    /// One encoded record batch.
    pub records: &'a [u8],
}

impl Request for ProduceRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, _version: i16) -> Result {
        w.nullable_string(None)?; // transactional_id
        w.i16(self.acks);
        w.i32(self.timeout_ms);
        w.array(1)?;
        w.string(self.topic)?;
        w.array(self.partitions.len())?;
        for p in &self.partitions {
            w.i32(p.index);
            w.bytes(p.records)?;
            w.tags();
        }
        w.tags();
        w.tags();
        Ok(())
    }
}

/// InitProducerId for an idempotent producer (no transactional id), a new one (no producer id
/// or epoch to bump), up to v4.
pub struct InitProducerIdRequest {
    pub transaction_timeout_ms: i32,
}

impl Request for InitProducerIdRequest {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.nullable_string(None)?; // transactional_id
        w.i32(self.transaction_timeout_ms);
        if version >= 3 {
            w.i64(-1); // producer_id
            w.i16(-1); // producer_epoch
        }
        w.tags();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
