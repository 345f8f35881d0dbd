//! Requests about the cluster and the connection: ApiVersions, the SASL login, Metadata,
//! DescribeConfigs.

use super::{Request, Result, Writer};

/// ApiVersions: an empty body up to v2; from v3 (whose answer carries the finalized features)
/// it names the client software, as the broker's pattern allows (letters, digits, `.`, `-`).
pub struct ApiVersionsRequest;

/// The client software a v3 ApiVersions names.
pub const SOFTWARE_NAME: &str = "order-kafka";

impl Request for ApiVersionsRequest {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        if version >= 3 {
            w.string(SOFTWARE_NAME)?;
            w.string(env!("CARGO_PKG_VERSION"))?;
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
