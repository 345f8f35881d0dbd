//! Our own small blocking Kafka client: std sockets, one request in flight per connection, no
//! async runtime, no C library. Requests are encoded by [`request`] (from Apache Kafka's
//! schemas); responses are read by the bounded decoders in [`wire`] and each API's module;
//! record batches by [`records`].
//!
//! This folder is the one seam to the wire: nothing outside it knows the protocol. The producer
//! and consumer speak in topics, partitions, offsets and records.
//!
//! Every wait is a named setting in [`Options`]; every retriable failure (a lost connection, a
//! moved leader or coordinator, a timeout) goes through one policy, [`Client::retry`]: fresh
//! metadata, a pause that doubles up to [`RetryPolicy::max_backoff`], and at most
//! [`RetryPolicy::attempts`] attempts, the same for producing, fetching and committing.

mod cluster;
mod codes;
mod conn;
mod describe;
mod fetch;
mod group;
mod heartbeat;
mod membership;
mod pipeline;
mod produce;
mod records;
mod request;
mod sasl;
#[cfg(feature = "tls")]
mod tls;
mod transport;
mod txn;
mod wire;

/// Sockets within deadlines and TLS, for the one other peer the binaries speak to over TCP:
/// the Schema Registry's HTTP (`crate::registry`). Nothing of Kafka's wire is here.
pub mod net {
    #[cfg(feature = "tls")]
    pub use super::tls::Setup as TlsSetup;
    pub use super::transport::{connect, io_words, is_wait, Stream, SLICE};
}

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use cluster::Client;
pub use fetch::{
    Ahead, End, Fetch, FetchSettings, Fetched, Isolation, PartitionRecords, Position, Record, Step,
};
pub use heartbeat::Beat;
pub use heartbeat::GroupSettings;
pub use membership::{Heartbeat, Member};
pub use pipeline::{Sending, MAX_IN_FLIGHT};
pub use produce::{Acks, Delivery, Outgoing, ProduceSettings, Refusal, RefusalKind};
pub use records::{compress, uncompressed_only, Compression, Compressor};
pub use sasl::Mechanism;
pub use txn::{Transactional, TxnSettings};

use crate::error::Error;

/// How many attempts, and how long to pause between them.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per operation, the first included (>= 1).
    pub attempts: u32,
    /// The first pause; each next one doubles.
    pub backoff: Duration,
    /// The longest pause.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// The pause after failed attempt `attempt` (1-based).
    pub fn pause_after(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// Every setting of a connection, with the Java client's defaults where it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Bootstrap brokers, `host:port`, tried in order.
    pub brokers: Vec<String>,
    /// Sent with every request; brokers log it.
    pub client_id: String,
    /// Longest wait for a TCP connection (Java: socket.connection.setup.timeout.ms, 10 s).
    pub connect_timeout: Duration,
    /// Longest wait for an answer (Java: request.timeout.ms, 30 s); a fetch adds its max wait.
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    /// Largest response frame accepted; a longer one is refused before it is read.
    pub max_response_bytes: usize,
    /// Topics a metadata request may create when missing (the producer's own topic, the
    /// consumer's dead-letter topic); any other missing topic is [`Error::NoSuchTopic`].
    pub creatable: Vec<String>,
    /// TLS and SASL, both off for a PLAINTEXT listener.
    pub security: Security,
}

/// Why a build without the `tls` feature refuses SSL and SASL_SSL.
pub const NO_TLS: &str = "this build has no TLS (SSL, SASL_SSL): use the TLS build \
     (dist/<target>-tls/ from `make static`, or `cargo build --release --features tls`)";

/// Why a build without the `scram` feature refuses SCRAM logins.
pub const NO_SCRAM: &str = "this build has no SCRAM (SCRAM-SHA-256, SCRAM-SHA-512): use the TLS \
     build (dist/<target>-tls/ from `make static`, or `cargo build --release --features tls`), \
     or PLAIN";

/// How each connection is secured: `tls` for SSL and SASL_SSL, `sasl` for SASL_PLAINTEXT and
/// SASL_SSL.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Security {
    pub tls: Option<Tls>,
    pub sasl: Option<Login>,
}

/// TLS settings, named after the properties they come from.
#[derive(Debug, Clone, PartialEq)]
pub struct Tls {
    /// ssl.ca.location: the CAs that may sign the broker's certificate (PEM); the system's CA
    /// bundle when `None`.
    pub ca: Option<PathBuf>,
    /// ssl.certificate.location and ssl.key.location: a client certificate (PEM) for mutual TLS.
    pub certificate: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// ssl.endpoint.identification.algorithm=https (the default): the certificate must name the
    /// host connected to.
    pub verify_hostname: bool,
}

/// A SASL login. Its `Debug` leaves the password out.
#[derive(Clone, PartialEq)]
pub struct Login {
    pub mechanism: Mechanism,
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Why one attempt failed, and what another attempt needs.
#[derive(Debug)]
pub enum Failure {
    /// A connection failed: reconnect, refresh metadata, retry.
    Network(String),
    /// A broker sent bytes that are not a Kafka answer: reconnect and retry, as for `Network`,
    /// but the final error does not suggest that Kafka is down.
    Garbled(String),
    /// The cluster moved on (leader, coordinator, topic creation): refresh metadata, retry.
    Stale(String),
    /// Retrying cannot help.
    Fatal(Error),
}

/// Walks every batch and every record of `data` as a fetch's records are walked, decompressing
/// at most `max_decompressed` bytes per batch: the entry point of the fuzz target
/// (`fuzz/fuzz_targets/records.rs`). It must never panic, hang or allocate beyond the limit;
/// it panics when a batch ends before it starts or the scratch buffer outgrew the limit.
#[doc(hidden)]
pub fn walk_batches(data: &[u8], max_decompressed: usize) {
    let limits = records::Limits { max_decompressed };
    let mut scratch = Vec::new();
    let mut batches = records::Batches::new(data);
    for batch in batches.by_ref() {
        let Ok(batch) = batch else { break };
        assert!(batch.next_offset() > batch.base_offset);
        let _ = batch.control_type(&mut scratch, &limits);
        if let Ok(records) = batch.records(&mut scratch, &limits) {
            for record in records {
                if record.is_err() {
                    break;
                }
            }
        }
        assert!(scratch.len() <= limits.max_decompressed);
    }
    let _ = batches.truncated();
}

/// Decodes `body` as the answer to `api` at `version` with the client's own decoders, and, for
/// a fetch, walks every record of every batch: the entry point of the fuzz target
/// (`fuzz/fuzz_targets/responses.rs`). Returns whether it decoded; it must never panic, hang or
/// allocate by a length it read.
#[doc(hidden)]
pub fn decode_response(api: i16, version: i16, body: &[u8]) -> bool {
    let mut scratch = Vec::new();
    let limits = records::Limits {
        max_decompressed: 1 << 20,
    };
    match api {
        0 => produce::parse_produce(body, version).is_ok(),
        1 => fetch::parse_fetch(body, version).is_ok_and(|partitions| {
            for p in partitions {
                for batch in records::Batches::new(p.records).flatten() {
                    if let Ok(records) = batch.records(&mut scratch, &limits) {
                        records.for_each(drop);
                    }
                }
            }
            true
        }),
        2 => fetch::parse_list_offsets(body, version).is_ok(),
        3 => cluster::parse_metadata(body, version).is_ok(),
        8 => group::parse_offset_commit(body, version).is_ok(),
        9 => group::parse_offset_fetch(body, version).is_ok(),
        11 => membership::parse_join(body, version).is_ok(),
        14 => membership::parse_assignment(body, "orders").is_ok(),
        15 => membership::parse_describe(body, version).is_ok(),
        17 => sasl::parse_handshake(body).is_ok(),
        32 => group::parse_describe_configs(body, version).is_ok(),
        18 if version >= 3 => txn::parse_transaction_version(body).is_ok(),
        18 => conn::parse_api_versions(body).is_ok(),
        36 => sasl::parse_authenticate(body, version).is_ok(),
        69 => describe::parse_consumer_group_describe(body, version).is_ok(),
        _ => false,
    }
}
