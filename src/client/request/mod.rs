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

mod cluster;
mod fetch;
mod group;
mod produce;
mod txn;

pub use cluster::*;
pub use fetch::*;
pub use group::*;
pub use produce::*;
pub use txn::*;

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
    AddPartitionsToTxn = 24,
    AddOffsetsToTxn = 25,
    EndTxn = 26,
    TxnOffsetCommit = 28,
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
            ApiKey::AddPartitionsToTxn => 3,
            ApiKey::AddOffsetsToTxn => 3,
            ApiKey::EndTxn => 3,
            ApiKey::TxnOffsetCommit => 3,
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

#[cfg(test)]
mod tests;
