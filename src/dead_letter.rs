//! The dead-letter envelope: what the consumer publishes for a record that is not an order.
//! Pure. The original payload is kept whole, as text when it is UTF-8 and as base64 otherwise, so
//! nothing is lost and a person can replay it.
//!
//! Keys and payloads are shown the same way everywhere (here and in the consumer's
//! `--format json`), by [`encode`]: a JSON string (the bytes as text when they are UTF-8, else
//! their base64) with an `_encoding` field saying which (`"text"` or `"base64"`); a missing key
//! and a tombstone's missing payload are `null`, with a `null` encoding, so neither looks like an
//! empty one.
//!
//! When the whole envelope is too large to publish, [`Envelope::to_shortened_json`] keeps the
//! reason, the position and the payload's size, with a bounded prefix of the payload.

use serde::Serialize;

use crate::base64;

/// A rejected record: where it came from, what it held and why it was rejected.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    pub source_topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    /// `None` when the record has no key.
    pub key: Option<&'a [u8]>,
    /// `None` for a tombstone (a record whose value is null).
    pub payload: Option<&'a [u8]>,
    pub reason: &'a str,
}

/// The envelope as published; field order is the order in the JSON.
#[derive(Serialize)]
struct Json<'a> {
    source_topic: &'a str,
    partition: i32,
    offset: i64,
    key: Option<String>,
    key_encoding: Option<&'static str>,
    reason: &'a str,
    payload: Option<String>,
    payload_encoding: Option<&'static str>,
    /// Bytes in the original payload (0 for a tombstone).
    payload_size: usize,
    /// Whether `payload` (and `key` or `reason`, when long) were cut short.
    truncated: bool,
}

impl<'a> Envelope<'a> {
    pub fn new(
        source_topic: &'a str,
        partition: i32,
        offset: i64,
        key: Option<&'a [u8]>,
        payload: Option<&'a [u8]>,
        reason: &'a str,
    ) -> Envelope<'a> {
        Envelope {
            source_topic,
            partition,
            offset,
            key,
            payload,
            reason,
        }
    }

    /// The full envelope: key, reason and payload whole.
    pub fn to_json(&self) -> String {
        self.json(self.key, self.reason, self.payload, false)
    }

    /// A shortened envelope for when the full one is refused (too large): key, reason and
    /// payload are each cut to at most `max_bytes` of their original bytes (text on a character
    /// boundary), and `truncated` is true. The position and `payload_size` stay exact, so the
    /// record can still be found and read from the source topic. Each byte kept takes at most 6
    /// bytes of JSON (`\u0000` escapes; base64 takes 4/3), so the result stays under
    /// 18 x `max_bytes` plus the topic name and some 250 bytes of fields.
    pub fn to_shortened_json(&self, max_bytes: usize) -> String {
        let key = self.key.map(|k| prefix(k, max_bytes));
        let payload = self.payload.map(|p| prefix(p, max_bytes));
        let mut end = self.reason.len().min(max_bytes);
        while !self.reason.is_char_boundary(end) {
            end -= 1;
        }
        self.json(key, &self.reason[..end], payload, true)
    }

    fn json(
        &self,
        key: Option<&[u8]>,
        reason: &str,
        payload: Option<&[u8]>,
        truncated: bool,
    ) -> String {
        let (key, key_encoding) = encode(key);
        let (payload, payload_encoding) = encode(payload);
        let json = Json {
            source_topic: self.source_topic,
            partition: self.partition,
            offset: self.offset,
            key,
            key_encoding,
            reason,
            payload,
            payload_encoding,
            payload_size: self.payload.map_or(0, <[u8]>::len),
            truncated,
        };
        serde_json::to_string(&json).expect("an envelope always serializes")
    }
}

/// Bytes as a JSON string and the name of its encoding: `("...", "text")` when they are UTF-8,
/// `("...", "base64")` otherwise, `(None, None)` when there are none (a missing key, a
/// tombstone's value). The one representation of keys and payloads in our JSON output.
pub fn encode(bytes: Option<&[u8]>) -> (Option<String>, Option<&'static str>) {
    match bytes.map(std::str::from_utf8) {
        None => (None, None),
        Some(Ok(text)) => (Some(text.to_string()), Some("text")),
        Some(Err(_)) => (bytes.map(base64::encode), Some("base64")),
    }
}

/// At most `max_bytes` of `bytes`. When those bytes are UTF-8 but for a character cut in two at
/// the end, the cut moves back to that character's start, so the prefix stays text.
fn prefix(bytes: &[u8], max_bytes: usize) -> &[u8] {
    let head = &bytes[..bytes.len().min(max_bytes)];
    match std::str::from_utf8(head) {
        Err(e) if e.error_len().is_none() => &head[..e.valid_up_to()],
        _ => head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope<'a>(key: Option<&'a [u8]>, payload: Option<&'a [u8]>) -> Envelope<'a> {
        Envelope::new("orders", 2, 17, key, payload, "unknown field `a`")
    }

    fn fields(json: &str) -> serde_json::Value {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn utf8_payload_is_kept_as_text() {
        assert_eq!(
            envelope(Some(b"k1"), Some(b"{\"a\":1}")).to_json(),
            r#"{"source_topic":"orders","partition":2,"offset":17,"key":"k1","key_encoding":"text","reason":"unknown field `a`","payload":"{\"a\":1}","payload_encoding":"text","payload_size":7,"truncated":false}"#
        );
    }

    #[test]
    fn key_and_payload_each_say_how_they_are_shown() {
        let text = |s: &str| serde_json::json!([s, "text"]);
        let b64 = |s: &str| serde_json::json!([s, "base64"]);
        let null = serde_json::json!([null, null]);
        let cases: [(Option<&[u8]>, serde_json::Value); 5] = [
            (None, null.clone()),
            (Some(b""), text("")),
            (Some(b"k\xc3\xa9"), text("ké")),
            (Some(&[0xc3, 0x28]), b64("wyg=")),
            (Some(&[0xff, 0x00]), b64("/wA=")),
        ];
        for (bytes, expected) in cases {
            let v = fields(&envelope(bytes, bytes).to_json());
            assert_eq!(
                serde_json::json!([v["key"], v["key_encoding"]]),
                expected,
                "{bytes:?}"
            );
            assert_eq!(
                serde_json::json!([v["payload"], v["payload_encoding"]]),
                expected,
                "{bytes:?}"
            );
            assert_eq!(v["payload_size"], bytes.map_or(0, <[u8]>::len));
        }
    }

    #[test]
    fn a_tombstone_is_not_an_empty_payload() {
        let tombstone = fields(&envelope(None, None).to_json());
        let empty = fields(&envelope(None, Some(b"")).to_json());
        assert_eq!(tombstone["payload"], serde_json::Value::Null);
        assert_eq!(empty["payload"], "");
        assert_ne!(tombstone, empty);
    }

    #[test]
    fn a_shortened_envelope_keeps_position_size_and_a_prefix() {
        let mut bytes = "é".repeat(1000).into_bytes();
        let long_reason = "r".repeat(50);
        let mut e = envelope(Some(b"order-key"), Some(&bytes));
        e.reason = &long_reason;
        let v = fields(&e.to_shortened_json(11));
        assert_eq!(v["source_topic"], "orders");
        assert_eq!(
            (v["partition"].as_i64(), v["offset"].as_i64()),
            (Some(2), Some(17))
        );
        assert_eq!(v["payload_size"], 2000);
        assert_eq!(v["truncated"], true);
        // 11 bytes would split the sixth "é": the text stops before it.
        assert_eq!(v["payload"], "ééééé");
        assert_eq!(v["payload_encoding"], "text");
        assert_eq!(v["key"], "order-key");
        assert_eq!(v["reason"], "r".repeat(11));
        e.reason = "ééé";
        assert_eq!(fields(&e.to_shortened_json(3))["reason"], "é");

        bytes[0] = 0xff;
        let e = envelope(None, Some(&bytes));
        let v = fields(&e.to_shortened_json(4));
        assert_eq!(v["payload"], base64::encode(&bytes[..4]));
        assert_eq!(v["payload_encoding"], "base64");
        assert_eq!(v["key"], serde_json::Value::Null);

        let v = fields(&envelope(None, None).to_shortened_json(4));
        assert_eq!(v["payload"], serde_json::Value::Null);
        assert_eq!(v["payload_size"], 0);

        // Short enough already: the same content, only flagged.
        let e = envelope(Some(b"k"), Some(b"{}"));
        let mut full = fields(&e.to_json());
        full["truncated"] = true.into();
        assert_eq!(fields(&e.to_shortened_json(100)), full);
        assert!(e.to_shortened_json(0).len() < 250);
    }
}
