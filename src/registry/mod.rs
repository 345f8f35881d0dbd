//! Orders through a Schema Registry: Confluent's wire format (byte 0, the schema id as 4 bytes
//! big-endian, then the payload) and the registry's REST API (Confluent's, which Apicurio's
//! `ccompat` API speaks too), over the small HTTP client in [`http`].
//!
//! The producer asks once for the id of the order schema under the subject `<topic>-value`
//! (registering it on first use, or looking it up); the consumer asks for each writer schema
//! it meets by id, once: answers are kept, up to [`MAX_CACHED`] of them.
//!
//! A registry that does not answer, or answers 5xx, is retried under the brokers' retry policy
//! ([`RetryPolicy`]), each attempt trying the URLs in order; then the run ends (exit 1). What
//! the registry refuses (401, 409, an unknown subject) ends it at once, with the registry's
//! own words; an unknown schema id is the record's fault, not the run's.

pub mod http;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde::Deserialize;

use crate::avro::Schema;
use crate::client::{Failure, RetryPolicy};
use crate::error::Error;
pub use http::Endpoint;
use http::{Http, Response};

/// Writer schemas kept by id; past this, the oldest half is forgotten.
pub const MAX_CACHED: usize = 256;

/// The byte that starts every record in the wire format.
pub const MAGIC: u8 = 0;

/// The order schemas, registered as they are in `schema/`.
pub const ORDER_AVRO: &str = include_str!("../../schema/order.avsc");
pub const ORDER_JSON_SCHEMA: &str = include_str!("../../schema/order.schema.json");

/// Why a build without the `registry` feature refuses the registry's settings and records.
pub const NO_REGISTRY: &str = "this build has no Schema Registry support (Avro, JSON Schema): \
     use the TLS build (dist/<target>-tls/ from `make static`, or `cargo build --release \
     --features tls`)";

/// Where the registry is and how to log in. Its `Debug` leaves the login out.
#[derive(Clone, PartialEq)]
pub struct Settings {
    /// Tried in order, each attempt.
    pub endpoints: Vec<Endpoint>,
    /// `user:password` (basic.auth.user.info).
    pub user_info: Option<String>,
    /// The CAs of an https registry (schema.registry.ssl.ca.location).
    pub ca: Option<PathBuf>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("endpoints", &self.endpoints)
            .field("user_info", &self.user_info.as_ref().map(|_| "****"))
            .field("ca", &self.ca)
            .finish()
    }
}

impl Settings {
    /// The URLs, for messages.
    pub fn urls(&self) -> String {
        let urls: Vec<String> = self.endpoints.iter().map(Endpoint::url).collect();
        urls.join(", ")
    }
}

/// The kinds of schema an order is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Avro,
    JsonSchema,
}

impl Kind {
    /// The registry's `schemaType` (absent means AVRO).
    fn schema_type(self) -> Option<&'static str> {
        match self {
            Kind::Avro => None,
            Kind::JsonSchema => Some("JSON"),
        }
    }

    /// Our schema of this kind.
    pub fn order_schema(self) -> &'static str {
        match self {
            Kind::Avro => ORDER_AVRO,
            Kind::JsonSchema => ORDER_JSON_SCHEMA,
        }
    }
}

/// A writer schema, as far as reading orders goes.
#[derive(Debug)]
pub enum Writer {
    Avro(Schema),
    /// The payload is JSON text (a JSON Schema subject).
    Json,
    /// A schema orders cannot be read with: the reason.
    Unreadable(String),
}

/// A record's value: plain JSON, or the wire format's parts.
#[derive(Debug, PartialEq, Eq)]
pub enum Framed<'a> {
    /// Not framed: the whole value (plain JSON, or anything that is not the wire format).
    Plain(&'a [u8]),
    Schema {
        id: u32,
        payload: &'a [u8],
    },
}

/// Splits the wire format's header off `value`; a value that does not start with byte 0 is
/// left whole. `Err` when it starts with 0 but is shorter than the header.
pub fn unframe(value: &[u8]) -> Result<Framed<'_>, String> {
    match value {
        [MAGIC, a, b, c, d, payload @ ..] => Ok(Framed::Schema {
            id: u32::from_be_bytes([*a, *b, *c, *d]),
            payload,
        }),
        [MAGIC, ..] => Err(format!(
            "truncated: {} bytes, shorter than the Schema Registry wire format's 5-byte header \
             (magic byte 0 and a schema id)",
            value.len()
        )),
        _ => Ok(Framed::Plain(value)),
    }
}

/// Appends the wire format's header for schema `id`.
pub fn frame(id: u32, out: &mut Vec<u8>) {
    out.push(MAGIC);
    out.extend_from_slice(&id.to_be_bytes());
}

/// The registry, and the writer schemas it gave.
pub struct Registry {
    settings: Settings,
    http: Http,
    retry: RetryPolicy,
    /// By id; `None` for an id the registry does not know.
    writers: HashMap<u32, Option<Writer>>,
}

/// The registry's error body.
#[derive(Deserialize, Default)]
struct Refusal {
    error_code: Option<i64>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct Id {
    id: u32,
}

#[derive(Deserialize)]
struct SchemaText {
    schema: String,
    #[serde(rename = "schemaType")]
    schema_type: Option<String>,
}

impl Registry {
    pub fn new(
        settings: &Settings,
        connect_timeout: Duration,
        request_timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<Registry, Error> {
        let https = settings.endpoints.iter().any(|e| e.https);
        let http = Http::new(
            connect_timeout,
            request_timeout,
            settings.user_info.as_deref(),
            https,
            settings.ca.as_deref(),
        )?;
        Ok(Registry {
            settings: settings.clone(),
            http,
            retry,
            writers: HashMap::new(),
        })
    }

    /// The id of our order schema of `kind` under `subject`: registered when `register` (the
    /// registry answers with the existing id when it has it), else looked up.
    pub fn order_schema_id(
        &mut self,
        subject: &str,
        kind: Kind,
        register: bool,
        stop: &AtomicBool,
    ) -> Result<u32, Error> {
        let mut body = serde_json::Map::new();
        body.insert("schema".into(), kind.order_schema().into());
        if let Some(t) = kind.schema_type() {
            body.insert("schemaType".into(), t.into());
        }
        let body = serde_json::Value::Object(body).to_string();
        let subject_path = path_segment(subject);
        let (path, what) = match register {
            true => (
                format!("/subjects/{subject_path}/versions"),
                format!("registering the order schema under subject '{subject}'"),
            ),
            false => (
                format!("/subjects/{subject_path}"),
                format!("looking up the order schema under subject '{subject}'"),
            ),
        };
        let answer = self.call("POST", &path, Some(body.as_bytes()), &what, stop)?;
        match answer.status {
            200 => serde_json::from_slice::<Id>(&answer.body)
                .map(|a| a.id)
                .map_err(|e| self.garbled(&what, &answer, &e.to_string())),
            404 if !register && is_registry_refusal(&answer) => Err(self.refused(
                &what,
                format!(
                    "the order schema is not registered under subject '{subject}' \
                     (auto.register.schemas is off): register it, or drop --no-auto-register"
                ),
            )),
            409 => Err(self.refused(
                &what,
                format!(
                    "the registry refused it as incompatible with the subject's earlier \
                     versions (409): {}",
                    message(&answer)
                ),
            )),
            422 => Err(self.refused(
                &what,
                format!(
                    "the registry found the schema invalid (422): {}",
                    message(&answer)
                ),
            )),
            _ => Err(self.unexpected(&what, &answer)),
        }
    }

    /// The writer schema with this id: `None` when the registry does not know the id.
    pub fn writer(&mut self, id: u32, stop: &AtomicBool) -> Result<Option<&Writer>, Error> {
        if !self.writers.contains_key(&id) {
            let writer = self.fetch_writer(id, stop)?;
            if self.writers.len() >= MAX_CACHED {
                // Half goes; which half does not matter: a writer is fetched again if needed.
                let drop: Vec<u32> = self.writers.keys().copied().step_by(2).collect();
                for k in drop {
                    self.writers.remove(&k);
                }
            }
            self.writers.insert(id, writer);
        }
        Ok(self.writers.get(&id).and_then(Option::as_ref))
    }

    fn fetch_writer(&mut self, id: u32, stop: &AtomicBool) -> Result<Option<Writer>, Error> {
        let what = format!("fetching schema id {id}");
        let answer = self.call("GET", &format!("/schemas/ids/{id}"), None, &what, stop)?;
        match answer.status {
            200 => {
                let text = serde_json::from_slice::<SchemaText>(&answer.body)
                    .map_err(|e| self.garbled(&what, &answer, &e.to_string()))?;
                let kind = text.schema_type.as_deref().unwrap_or("AVRO");
                Ok(Some(match kind.to_ascii_uppercase().as_str() {
                    "AVRO" => match Schema::parse(&text.schema) {
                        Ok(schema) => Writer::Avro(schema),
                        Err(e) => Writer::Unreadable(format!("schema id {id}: {e}")),
                    },
                    "JSON" => Writer::Json,
                    other => Writer::Unreadable(format!(
                        "schema id {id} is a {other} schema; orders are read as JSON or Avro"
                    )),
                }))
            }
            404 if is_registry_refusal(&answer) => Ok(None),
            _ => Err(self.unexpected(&what, &answer)),
        }
    }

    /// One request, retried under the policy: each attempt tries every URL in order, and an
    /// answer under 500 from any of them is the answer.
    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        what: &str,
        stop: &AtomicBool,
    ) -> Result<Response, Error> {
        let mut last = String::new();
        for attempt in 1..=self.retry.attempts.max(1) {
            for endpoint in &self.settings.endpoints {
                match self.http.send(endpoint, method, path, body, stop) {
                    Ok(answer) if answer.status < 500 && !matches!(answer.status, 408 | 429) => {
                        if answer.status == 401 || answer.status == 403 {
                            return Err(Error::Registry {
                                url: endpoint.url(),
                                cause: format!(
                                    "{what}: the registry refused the login ({} {}): check \
                                     --registry-user-info (basic.auth.user.info)",
                                    answer.status,
                                    if answer.status == 401 {
                                        "Unauthorized"
                                    } else {
                                        "Forbidden"
                                    }
                                ),
                            });
                        }
                        return Ok(answer);
                    }
                    Ok(answer) => {
                        last =
                            format!("{}: {} {}", endpoint.url(), answer.status, message(&answer));
                    }
                    Err(Failure::Fatal(e)) => return Err(e),
                    Err(Failure::Network(why) | Failure::Garbled(why) | Failure::Stale(why)) => {
                        last = why
                    }
                }
                log::debug!("schema registry: {what}: {last}");
            }
            if attempt < self.retry.attempts {
                let pause = self.retry.pause_after(attempt);
                log::warn!(
                    "schema registry: {what}: attempt {attempt} of {} failed ({last}); \
                     retrying in {}",
                    self.retry.attempts,
                    crate::error::secs(pause)
                );
                sleep(pause, stop)?;
            }
        }
        Err(Error::Registry {
            url: self.settings.urls(),
            cause: format!(
                "{what}: no answer after {} attempts (last: {last}): is the schema registry \
                 running, and is the URL its API's base (for Apicurio: .../apis/ccompat/v7)?",
                self.retry.attempts
            ),
        })
    }

    fn refused(&self, what: &str, cause: String) -> Error {
        Error::Registry {
            url: self.settings.urls(),
            cause: format!("{what}: {cause}"),
        }
    }

    fn unexpected(&self, what: &str, answer: &Response) -> Error {
        let hint = match answer.status {
            404 | 405 => {
                ": is the URL the base of a Schema Registry API (for Apicurio: \
                         .../apis/ccompat/v7)?"
            }
            _ => "",
        };
        self.refused(
            what,
            format!(
                "unexpected answer {}: {}{hint}",
                answer.status,
                message(answer)
            ),
        )
    }

    fn garbled(&self, what: &str, answer: &Response, why: &str) -> Error {
        self.refused(
            what,
            format!(
                "the answer ({}) is not what a Schema Registry says: {why}",
                answer.status
            ),
        )
    }
}

/// Whether a 404 is the registry's own (a JSON body with an `error_code`), not a path that
/// leads nowhere.
fn is_registry_refusal(answer: &Response) -> bool {
    serde_json::from_slice::<Refusal>(&answer.body).is_ok_and(|r| r.error_code.is_some())
}

/// The registry's message, or the start of the body.
fn message(answer: &Response) -> String {
    match serde_json::from_slice::<Refusal>(&answer.body) {
        Ok(Refusal {
            message: Some(m), ..
        }) => m,
        _ => {
            let text = String::from_utf8_lossy(&answer.body);
            let text: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
            match text.trim() {
                "" => "(no body)".into(),
                t => t.to_string(),
            }
        }
    }
}

/// A subject name as one path segment.
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Waits `pause`, in slices so a stop request ends it.
fn sleep(pause: Duration, stop: &AtomicBool) -> Result<(), Error> {
    let end = std::time::Instant::now() + pause;
    loop {
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::Interrupted);
        }
        let left = end.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_format_is_framed_and_unframed() {
        let mut v = Vec::new();
        frame(0x0102_0304, &mut v);
        v.extend_from_slice(b"payload");
        assert_eq!(v[..5], [0, 1, 2, 3, 4]);
        assert_eq!(
            unframe(&v),
            Ok(Framed::Schema {
                id: 0x0102_0304,
                payload: b"payload"
            })
        );
        assert_eq!(unframe(b"{\"a\":1}"), Ok(Framed::Plain(b"{\"a\":1}")));
        assert_eq!(unframe(b""), Ok(Framed::Plain(b"")));
        assert!(unframe(&[0, 0, 1]).unwrap_err().contains("truncated"));
        assert_eq!(
            unframe(&[0, 0, 0, 0, 7]),
            Ok(Framed::Schema {
                id: 7,
                payload: b""
            })
        );
    }

    #[test]
    fn subjects_are_escaped_as_one_path_segment() {
        assert_eq!(path_segment("orders-value"), "orders-value");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn the_login_is_not_in_debug_output() {
        let s = Settings {
            endpoints: vec![Endpoint::parse("http://x:1").unwrap()],
            user_info: Some("u:hunter2".into()),
            ca: None,
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn the_order_schemas_are_the_contract_files() {
        assert!(Schema::parse(ORDER_AVRO).is_ok());
        assert!(serde_json::from_str::<serde_json::Value>(ORDER_JSON_SCHEMA).is_ok());
    }
}
