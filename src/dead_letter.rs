//! The dead-letter envelope: what the consumer publishes for a message that is not an order.
//! Pure. The original payload is kept whole, as text when it is UTF-8 and as base64 otherwise, so
//! nothing is lost and a person can replay it.

use serde::Serialize;

/// Where a rejected message came from and why it was rejected.
#[derive(Debug, Serialize)]
pub struct Envelope<'a> {
    pub source_topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    /// The record key as text, base64 when it is not UTF-8; null when the record had none.
    pub key: Option<String>,
    pub key_encoding: &'static str,
    pub reason: String,
    pub payload: String,
    /// `text` or `base64`.
    pub payload_encoding: &'static str,
}

impl<'a> Envelope<'a> {
    pub fn new(
        source_topic: &'a str,
        partition: i32,
        offset: i64,
        key: &[u8],
        payload: &[u8],
        reason: String,
    ) -> Envelope<'a> {
        let (key, key_encoding) = if key.is_empty() {
            (None, "text")
        } else {
            let (k, e) = encode(key);
            (Some(k), e)
        };
        let (payload, payload_encoding) = encode(payload);
        Envelope {
            source_topic,
            partition,
            offset,
            key,
            key_encoding,
            reason,
            payload,
            payload_encoding,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an envelope always serializes")
    }
}

fn encode(bytes: &[u8]) -> (String, &'static str) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_string(), "text"),
        Err(_) => (base64(bytes), "base64"),
    }
}

/// Standard base64 with padding (RFC 4648). Small enough not to be worth a dependency.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, expected) in cases {
            assert_eq!(base64(input.as_bytes()), expected, "base64({input:?})");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn utf8_payload_is_kept_as_text() {
        let e = Envelope::new(
            "orders",
            2,
            17,
            b"k1",
            b"{\"a\":1}",
            "unknown field `a`".into(),
        );
        assert_eq!(
            e.to_json(),
            r#"{"source_topic":"orders","partition":2,"offset":17,"key":"k1","key_encoding":"text","reason":"unknown field `a`","payload":"{\"a\":1}","payload_encoding":"text"}"#
        );
    }

    #[test]
    fn binary_payload_and_key_are_base64_and_missing_key_is_null() {
        let e = Envelope::new(
            "orders",
            0,
            5,
            &[0xc3, 0x28],
            &[0xff, 0x00],
            "not UTF-8".into(),
        );
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["key"], "wyg=");
        assert_eq!(v["key_encoding"], "base64");
        assert_eq!(v["payload"], "/wA=");
        assert_eq!(v["payload_encoding"], "base64");

        let e = Envelope::new("orders", 0, 6, b"", b"", "empty payload".into());
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["key"], serde_json::Value::Null);
        assert_eq!(v["payload"], "");
    }
}
