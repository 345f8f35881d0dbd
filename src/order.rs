//! The order schema: parse, validate, serialize. Pure: no I/O, no Kafka.
//!
//! An order is a JSON object with exactly four fields, `order_id` (a hyphenated UUID), `user` and
//! `item` (non-empty after trimming, at most 256 characters) and `quantity` (an integer from 1 to
//! 1,000,000). Producer and consumer both go through [`Order::parse`], so what one accepts the
//! other accepts too. A field given twice makes the payload invalid, whichever value comes first:
//! JSON leaves duplicates undefined and readers disagree on which one wins.
//!
//! A record's key is checked against its order with [`check_key`]: the producer keys each order
//! by its `order_id`, so a record keyed otherwise is invalid; a record without a key is accepted.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

/// Longest `user` or `item`, in characters, after trimming.
pub const MAX_TEXT_CHARS: usize = 256;
/// Largest `quantity`.
pub const MAX_QUANTITY: u64 = 1_000_000;
/// Largest payload that can hold a valid order (four bounded fields plus escapes); anything
/// bigger is refused before it is parsed.
pub const MAX_ORDER_BYTES: usize = 16 * 1024;

const FIELDS: [&str; 4] = ["order_id", "user", "item", "quantity"];

/// The four fields with their JSON types, borrowed from the payload where no escape forces a
/// copy. A missing, unknown or repeated field or a wrong type does not deserialize.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields<'a> {
    #[serde(borrow)]
    order_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    user: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    item: std::borrow::Cow<'a, str>,
    quantity: u64,
}

/// A valid order. Fields are only ever set through [`Order::new`] or [`Order::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    order_id: String,
    user: String,
    item: String,
    quantity: u64,
}

/// Why a payload is not an order. The `Display` text names the field and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// Zero bytes (or a null value).
    Empty,
    /// Bigger than any valid order.
    TooLarge {
        bytes: usize,
    },
    /// Not valid UTF-8; `at` is the offset of the first bad byte.
    NotUtf8 {
        at: usize,
    },
    /// Starts with a UTF-8 byte order mark, which JSON forbids.
    ByteOrderMark,
    /// Not JSON at all (serde_json's message says where).
    NotJson(String),
    /// JSON, but not an object.
    NotObject {
        found: &'static str,
    },
    MissingField(&'static str),
    UnknownField(String),
    /// A field given more than once.
    DuplicateField(String),
    /// The record's key is not the order's `order_id` (see [`check_key`]).
    KeyMismatch {
        /// The key as shown in messages: quoted and cut short, or its size when not UTF-8.
        key: String,
        order_id: String,
    },
    /// A field has the wrong type or breaks its rule.
    Field {
        field: &'static str,
        rule: String,
    },
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::Empty => write!(f, "empty payload"),
            Invalid::TooLarge { bytes } => write!(
                f,
                "payload of {bytes} bytes is larger than any valid order (at most {MAX_ORDER_BYTES})"
            ),
            Invalid::NotUtf8 { at } => write!(f, "not UTF-8: invalid byte at offset {at}"),
            Invalid::ByteOrderMark => write!(f, "starts with a byte order mark (U+FEFF)"),
            Invalid::NotJson(why) => write!(f, "not JSON: {why}"),
            Invalid::NotObject { found } => write!(f, "expected a JSON object, found {found}"),
            Invalid::MissingField(name) => write!(f, "missing field `{name}`"),
            Invalid::UnknownField(name) => write!(f, "unknown field `{name}`"),
            Invalid::DuplicateField(name) => write!(f, "duplicate field `{name}`"),
            Invalid::KeyMismatch { key, order_id } => {
                write!(f, "record key {key} is not the order_id \"{order_id}\"")
            }
            Invalid::Field { field, rule } => write!(f, "field `{field}` {rule}"),
        }
    }
}

impl std::error::Error for Invalid {}

impl Order {
    /// Builds an order from parts, trimming and checking them like [`Order::parse`] does.
    pub fn new(order_id: Uuid, user: &str, item: &str, quantity: u64) -> Result<Order, Invalid> {
        Ok(Order {
            order_id: order_id.hyphenated().to_string(),
            user: text("user", user)?.to_string(),
            item: text("item", item)?.to_string(),
            quantity: quantity_in_range(quantity)?,
        })
    }

    /// Parses and validates one payload, as it comes off the wire or a line of input.
    pub fn parse(payload: &[u8]) -> Result<Order, Invalid> {
        parse_with(payload, |order_id, user, item, quantity| Order {
            order_id: order_id.to_string(),
            user: user.to_string(),
            item: item.to_string(),
            quantity,
        })
        .map(|(order, _)| order)
    }

    /// Parses like [`Order::parse`], into `slot`: the order it held lends its strings, so a loop
    /// that parses into one slot allocates nothing per order once warm. On error `slot` is left
    /// as it was.
    pub fn parse_into<'s>(
        payload: &[u8],
        slot: &'s mut Option<Order>,
    ) -> Result<&'s Order, Invalid> {
        Order::parse_into_as_written(payload, slot).map(|(order, _)| order)
    }

    /// [`Order::parse_into`], also saying whether `payload` is the order exactly as
    /// [`Order::write_json`] writes it: then the payload can be printed as it is.
    pub fn parse_into_as_written<'s>(
        payload: &[u8],
        slot: &'s mut Option<Order>,
    ) -> Result<(&'s Order, bool), Invalid> {
        parse_with(payload, |order_id, user, item, quantity| {
            match slot.take() {
                Some(mut order) => {
                    for (to, from) in [
                        (&mut order.order_id, order_id),
                        (&mut order.user, user),
                        (&mut order.item, item),
                    ] {
                        to.clear();
                        to.push_str(from);
                    }
                    order.quantity = quantity;
                    order
                }
                // Room for the texts of most orders, so that a slot reused for a longer one does
                // not grow again and again.
                None => Order {
                    order_id: order_id.to_string(),
                    user: roomy(user),
                    item: roomy(item),
                    quantity,
                },
            }
        })
        .map(|(order, as_written)| (&*slot.insert(order), as_written))
    }

    /// Appends the order as [`Order::to_json`] writes it to `out`, a field at a time: a few
    /// copies per order rather than a serializer's one per fragment.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.reserve(64 + self.user.len() + self.item.len());
        // The id is canonical (hex digits and hyphens): nothing in it to escape or to look for.
        out.extend_from_slice(b"{\"order_id\":\"");
        out.extend_from_slice(self.order_id.as_bytes());
        out.extend_from_slice(b"\",\"user\":");
        push_json_str(out, &self.user);
        out.extend_from_slice(b",\"item\":");
        push_json_str(out, &self.item);
        out.extend_from_slice(b",\"quantity\":");
        push_int(out, self.quantity as i64);
        out.push(b'}');
    }

    pub fn order_id(&self) -> &str {
        &self.order_id
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn item(&self) -> &str {
        &self.item
    }

    pub fn quantity(&self) -> u64 {
        self.quantity
    }

    /// Compact UTF-8 JSON with the four fields in schema order.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an order always serializes")
    }
}

/// Whether `b` is a UUID as [`Order`] keeps it: 36 bytes, lower-case hex digits with hyphens
/// after the 8th, 12th, 16th and 20th.
fn is_canonical_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && [0..8, 9..13, 14..18, 19..23, 24..36]
            .into_iter()
            .all(|group| b[group].iter().all(|&c| LOWER_HEX[usize::from(c)]))
}

/// Which bytes are lower-case hex digits.
static LOWER_HEX: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        table[c] = matches!(c as u8, b'0'..=b'9' | b'a'..=b'f');
        c += 1;
    }
    table
};

/// The fields of a payload written exactly as [`Order::write_json`] writes orders (no white
/// space, the fields in schema order, the id canonical, no escapes, texts not padded), found
/// without a JSON parser: `None` for any other spelling, which the parser then reads. What this
/// accepts, the parser reads as the same fields.
fn as_written(text: &str) -> Option<(&str, &str, &str, u64)> {
    let b = text.as_bytes();
    let rest = b.strip_prefix(b"{\"order_id\":\"")?;
    let (id, rest) = rest.split_at_checked(36)?;
    if !is_canonical_uuid(id) {
        return None;
    }
    let rest = rest.strip_prefix(b"\",\"user\":\"")?;
    let user_at = b.len() - rest.len();
    let user_len = plain_text(rest)?;
    let rest = rest[user_len..].strip_prefix(b"\",\"item\":\"")?;
    let item_at = b.len() - rest.len();
    let item_len = plain_text(rest)?;
    let digits = rest[item_len..]
        .strip_prefix(b"\",\"quantity\":")?
        .strip_suffix(b"}")?;
    if digits.is_empty() || digits.len() > 7 || digits[0] == b'0' {
        return None;
    }
    let mut quantity = 0u64;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        quantity = quantity * 10 + u64::from(d - b'0');
    }
    // Every cut is next to an ASCII quote, so on a character boundary of the text.
    let user = text.get(user_at..user_at + user_len)?;
    let item = text.get(item_at..item_at + item_len)?;
    if user.trim().len() != user.len() || item.trim().len() != item.len() {
        return None;
    }
    Some((text.get(13..49)?, user, item, quantity))
}

/// The length of a JSON string's content that needs no escape, up to its closing quote.
fn plain_text(b: &[u8]) -> Option<usize> {
    let end = b
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
    (b[end] == b'"').then_some(end)
}

/// `s` in a string with room for at least [`SLOT_ROOM`] bytes.
fn roomy(s: &str) -> String {
    let mut text = String::with_capacity(s.len().max(SLOT_ROOM));
    text.push_str(s);
    text
}

/// Bytes a reused order's text can hold without growing: most names and items fit.
const SLOT_ROOM: usize = 64;

/// Appends `s` as a JSON string, escaped as serde_json escapes it: copied whole when nothing in
/// it needs an escape (the common case).
pub fn push_json_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        serde_json::to_writer(out, s).expect("a string always serializes");
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// Appends `n` in decimal, as JSON and the seed's lines write numbers.
pub fn push_int(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
}

/// Checks a record's key against the order in its payload.
///
/// The producer keys every order by its `order_id`, so that all records of one order land on one
/// partition, in order. A key that is anything else (the empty key included) means the record
/// was written by something that does not follow that rule, and its partition says nothing about
/// the order: such a record is invalid. A missing (null) key is accepted: Kafka allows keyless
/// records, and tools such as kcat or the console producer write them by default. The key is
/// compared ignoring ASCII case, as [`Order::parse`] accepts an upper-case `order_id`.
pub fn check_key(key: Option<&[u8]>, order: &Order) -> Result<(), Invalid> {
    match key {
        None => Ok(()),
        Some(key)
            if key == order.order_id.as_bytes()
                || key.eq_ignore_ascii_case(order.order_id.as_bytes()) =>
        {
            Ok(())
        }
        Some(key) => Err(Invalid::KeyMismatch {
            key: match std::str::from_utf8(key) {
                Ok(text) => quoted(text),
                Err(_) => format!("of {} bytes (not UTF-8)", key.len()),
            },
            order_id: order.order_id.clone(),
        }),
    }
}

/// The top level of a payload, read by hand so that a repeated field is caught: a JSON object
/// read into a map keeps only the last value of a repeated field, without a word.
enum Top {
    Object(Map<String, Value>),
    /// The first field name seen twice.
    Duplicate(String),
    Null,
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Top, D::Error> {
        deserializer.deserialize_any(TopVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Top, E> {
        Ok(Top::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Top, E> {
        Ok(Top::Other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Top, E> {
        Ok(Top::Other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Top, E> {
        Ok(Top::Other("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Top, E> {
        Ok(Top::Other("a string"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Top, E> {
        Ok(Top::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Top::Other("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut object = Map::new();
        let mut duplicate = None;
        // Read to the end even after a duplicate, so that broken JSON later on is reported as
        // broken JSON.
        while let Some(name) = map.next_key::<String>()? {
            let value: Value = map.next_value()?;
            if object.contains_key(&name) {
                duplicate.get_or_insert(name);
            } else {
                object.insert(name, value);
            }
        }
        Ok(match duplicate {
            Some(name) => Top::Duplicate(name),
            None => Top::Object(object),
        })
    }
}

/// The one parse: `build` gets the validated fields (the `order_id` canonical, texts trimmed).
/// Also says whether the payload is the order exactly as [`Order::write_json`] writes it.
fn parse_with<T>(
    payload: &[u8],
    build: impl FnOnce(&str, &str, &str, u64) -> T,
) -> Result<(T, bool), Invalid> {
    if payload.is_empty() {
        return Err(Invalid::Empty);
    }
    if payload.len() > MAX_ORDER_BYTES {
        return Err(Invalid::TooLarge {
            bytes: payload.len(),
        });
    }
    let text = std::str::from_utf8(payload).map_err(|e| Invalid::NotUtf8 {
        at: e.valid_up_to(),
    })?;
    if text.starts_with('\u{feff}') {
        return Err(Invalid::ByteOrderMark);
    }
    if let Some((order_id, user, item, quantity)) = as_written(text) {
        let user = self::text("user", user)?;
        let item = self::text("item", item)?;
        let quantity = quantity_in_range(quantity)?;
        return Ok((build(order_id, user, item, quantity), true));
    }
    parse_json(text, build).map(|built| (built, false))
}

/// The JSON parser's reading of a payload that is UTF-8 without a byte order mark.
fn parse_json<T>(text: &str, build: impl FnOnce(&str, &str, &str, u64) -> T) -> Result<T, Invalid> {
    let mut id = [0u8; 36];
    // The common case, a valid order, is read straight into its fields; anything that does
    // not fit that shape is read again below, the slow way, to say exactly why.
    if let Ok(fast) = serde_json::from_str::<Fields>(text) {
        let order_id = uuid(&fast.order_id, &mut id)?;
        let user = self::text("user", &fast.user)?;
        let item = self::text("item", &fast.item)?;
        let quantity = quantity_in_range(fast.quantity)?;
        return Ok(build(order_id, user, item, quantity));
    }
    let object = match serde_json::from_str(text).map_err(|e| Invalid::NotJson(e.to_string()))? {
        Top::Object(object) => object,
        Top::Duplicate(name) => return Err(Invalid::DuplicateField(name)),
        Top::Null => return Err(Invalid::Empty),
        Top::Other(found) => return Err(Invalid::NotObject { found }),
    };
    from_object(object, &mut id, build)
}

/// The slow path: a payload that is JSON but not the plain shape, checked field by field in
/// schema order so the first fault found is the one reported.
fn from_object<T>(
    mut object: Map<String, Value>,
    id: &mut [u8; 36],
    build: impl FnOnce(&str, &str, &str, u64) -> T,
) -> Result<T, Invalid> {
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(Invalid::UnknownField(unknown.clone()));
    }
    let mut take = |name: &'static str| object.remove(name).ok_or(Invalid::MissingField(name));
    let order_id = take("order_id")?;
    let user = take("user")?;
    let item = take("item")?;
    let quantity = take("quantity")?;

    let order_id = match &order_id {
        Value::String(s) => uuid(s, id)?,
        other => return Err(wrong_type("order_id", "a UUID string", other)),
    };
    let user = match &user {
        Value::String(s) => text("user", s)?,
        other => return Err(wrong_type("user", "a string", other)),
    };
    let item = match &item {
        Value::String(s) => text("item", s)?,
        other => return Err(wrong_type("item", "a string", other)),
    };
    let quantity = match &quantity {
        Value::Number(n) => match n.as_u64() {
            Some(q) => quantity_in_range(q)?,
            None => {
                return Err(Invalid::Field {
                    field: "quantity",
                    rule: format!("must be an integer from 1 to {MAX_QUANTITY}, got {n}"),
                })
            }
        },
        other => return Err(wrong_type("quantity", "an integer", other)),
    };
    Ok(build(order_id, user, item, quantity))
}

/// The canonical (lower-case hyphenated) spelling of `s`: `s` itself, or written into `buf`.
fn uuid<'a>(s: &'a str, buf: &'a mut [u8; 36]) -> Result<&'a str, Invalid> {
    // The common case, already canonical, is told by its bytes alone.
    if is_canonical_uuid(s.as_bytes()) {
        return Ok(s);
    }
    // Only the canonical hyphenated form: other spellings would give one order several keys.
    match Uuid::try_parse(s) {
        // Already canonical (the common case): keep it, formatting costs more than the parse.
        Ok(_) if s.len() == 36 && !s.bytes().any(|b| b.is_ascii_uppercase()) => Ok(s),
        Ok(id) if s.len() == 36 => Ok(id.hyphenated().encode_lower(buf)),
        _ => Err(Invalid::Field {
            field: "order_id",
            rule: format!("must be a hyphenated UUID, got {}", quoted(s)),
        }),
    }
}

fn text<'a>(field: &'static str, s: &'a str) -> Result<&'a str, Invalid> {
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return Err(Invalid::Field {
            field,
            rule: "must not be empty".into(),
        });
    }
    // No more characters than bytes: only a long text is counted.
    let chars = match trimmed.len() {
        n if n <= MAX_TEXT_CHARS => n,
        _ => trimmed.chars().count(),
    };
    if chars > MAX_TEXT_CHARS {
        return Err(Invalid::Field {
            field,
            rule: format!("must be at most {MAX_TEXT_CHARS} characters, got {chars}"),
        });
    }
    Ok(trimmed)
}

fn quantity_in_range(q: u64) -> Result<u64, Invalid> {
    if (1..=MAX_QUANTITY).contains(&q) {
        Ok(q)
    } else {
        Err(Invalid::Field {
            field: "quantity",
            rule: format!("must be an integer from 1 to {MAX_QUANTITY}, got {q}"),
        })
    }
}

fn wrong_type(field: &'static str, expected: &str, found: &Value) -> Invalid {
    Invalid::Field {
        field,
        rule: format!("must be {expected}, found {}", type_name(found)),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value quoted for an error message, cut short so one bad field cannot flood the log.
fn quoted(s: &str) -> String {
    const SHOWN: usize = 40;
    if s.chars().count() <= SHOWN {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(SHOWN).collect();
        format!("{head:?}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "9f1c2a7e-5d1b-4c39-8a56-0b8e2f1e3c4d";

    /// Parses `input` and compares the outcome, as serialized JSON or error text, to `expected`.
    fn check(input: &[u8], expected: &str) {
        let actual = match Order::parse(input) {
            Ok(order) => order.to_json(),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(
            actual,
            expected,
            "input: {:?}",
            String::from_utf8_lossy(input)
        );
    }

    fn order(fields: &str) -> Vec<u8> {
        format!("{{{fields}}}").into_bytes()
    }

    /// Every payload [`as_written`] reads is read the same by the JSON parser, is printed back
    /// byte for byte, and every other spelling goes to the parser.
    #[test]
    fn orders_read_without_the_parser_are_what_the_parser_reads() {
        let written = |user: &str, item: &str, q: &str| {
            format!(r#"{{"order_id":"{ID}","user":"{user}","item":"{item}","quantity":{q}}}"#)
        };
        let mut cases = vec![
            written("alice", "book", "2"),
            written("a", "b", "1000000"),
            written("a", "b", "1000001"),
            written("a", "b", "9999999"),
            written("a", "b", "12345678"),
            written("a", "b", "0"),
            written("a", "b", "01"),
            written("a", "b", "-1"),
            written("a", "b", "1.0"),
            written("a", "b", "1e3"),
            written("", "b", "1"),
            written(" a", "b", "1"),
            written("a", "b\u{a0}", "1"),
            written("caf\u{e9} \u{1f600}", "\u{7f}x", "3"),
            written(&"x".repeat(256), "y", "1"),
            written(&"x".repeat(257), "y", "1"),
            written(&"\u{e9}".repeat(256), "y", "1"),
            written(r#"a\"b"#, "c", "1"),
            written(r"a\u0041", "c", "1"),
            written("a\tb", "c", "1"),
            written("a", "b", "1") + " ",
            written("a", "b", "1").replace(ID, &ID.to_uppercase()),
            written("a", "b", "1").replace(ID, &ID.replace('-', "")),
            written("a", "b", "1").replace("\"user\"", "\"usr\""),
            written("a", "b", "1").replace(",\"item\":\"b\"", ""),
            written("a", "b", "1").replace('}', ",\"x\":1}"),
        ];
        // Every byte of a plain order changed to a few others, and every cut of it.
        let plain = written("alice", "book", "25");
        for i in 0..plain.len() {
            for b in [
                b'"', b'\\', b' ', b'0', b'9', b'a', b'F', b'-', b'}', b',', b':', 0x01,
            ] {
                let mut bytes = plain.clone().into_bytes();
                bytes[i] = b;
                if let Ok(text) = String::from_utf8(bytes) {
                    cases.push(text);
                }
            }
            if i > 0 {
                cases.push(plain[..i].to_string());
            }
        }
        let mut read_without = 0;
        for text in &cases {
            let reference = parse_json(text, |id, user, item, quantity| {
                Order::new(Uuid::parse_str(id).unwrap(), user, item, quantity).unwrap()
            });
            let mut slot = None;
            let parsed = Order::parse_into_as_written(text.as_bytes(), &mut slot);
            match (&reference, parsed) {
                (Ok(expected), Ok((order, as_written))) => {
                    assert_eq!(order, expected, "{text:?}");
                    if as_written {
                        assert_eq!(order.to_json(), *text);
                    }
                    read_without += usize::from(as_written);
                }
                (Err(expected), Err(e)) => assert_eq!(&e, expected, "{text:?}"),
                (expected, got) => panic!("{text:?}: parser {expected:?}, got {got:?}"),
            }
        }
        assert!(read_without >= 6, "{read_without}");
    }

    #[test]
    fn valid_orders_serialize_compact_in_schema_order() {
        let expected =
            format!(r#"{{"order_id":"{ID}","user":"alice","item":"book","quantity":2}}"#);
        check(
            &order(&format!(
                r#""quantity":2,"item":"book","user":"alice","order_id":"{ID}""#
            )),
            &expected,
        );
        check(
            &order(&format!(
                r#" "order_id" : "{ID}", "user":"  alice ", "item":"book", "quantity":2 "#
            )),
            &expected,
        );
        check(
            &order(&format!(
                r#""order_id":"{}","user":"alice","item":"book","quantity":2"#,
                ID.to_uppercase()
            )),
            &expected,
        );
        check(
            &order(&format!(
                r#""order_id":"{ID}","user":"Zoë ☕","item":"b\"k","quantity":1000000"#
            )),
            &format!(r#"{{"order_id":"{ID}","user":"Zoë ☕","item":"b\"k","quantity":1000000}}"#),
        );
    }

    #[test]
    fn payloads_that_are_not_objects() {
        check(b"", "error: empty payload");
        check(b"null", "error: empty payload");
        check(b"[1,2]", "error: expected a JSON object, found an array");
        check(
            b"\"order\"",
            "error: expected a JSON object, found a string",
        );
        check(b"42", "error: expected a JSON object, found a number");
        check(
            b"{\"order_id\":",
            "error: not JSON: EOF while parsing a value at line 1 column 12",
        );
        check(
            b"not json",
            "error: not JSON: expected ident at line 1 column 2",
        );
        check(
            b"{\"user\":\"a\xff\"}",
            "error: not UTF-8: invalid byte at offset 10",
        );
        check(
            "\u{feff}{}".as_bytes(),
            "error: starts with a byte order mark (U+FEFF)",
        );
        check(
            &vec![b' '; MAX_ORDER_BYTES + 1],
            "error: payload of 16385 bytes is larger than any valid order (at most 16384)",
        );
    }

    #[test]
    fn missing_and_unknown_fields() {
        check(
            &order(r#""user":"a","item":"b","quantity":1"#),
            "error: missing field `order_id`",
        );
        check(
            &order(&format!(r#""order_id":"{ID}","user":"a","item":"b""#)),
            "error: missing field `quantity`",
        );
        check(
            &order(&format!(
                r#""order_id":"{ID}","user":"a","item":"b","quantity":1,"price":3"#
            )),
            "error: unknown field `price`",
        );
    }

    #[test]
    fn a_field_given_twice_is_invalid_whichever_value_comes_first() {
        let base = format!(r#""order_id":"{ID}","user":"a","item":"b""#);
        check(
            &order(&format!(r#"{base},"quantity":0,"quantity":5"#)),
            "error: duplicate field `quantity`",
        );
        check(
            &order(&format!(r#"{base},"quantity":5,"quantity":0"#)),
            "error: duplicate field `quantity`",
        );
        check(
            &order(&format!(r#"{base},"quantity":5,"quantity":5"#)),
            "error: duplicate field `quantity`",
        );
        check(
            &order(&format!(r#""user":"x",{base},"quantity":1"#)),
            "error: duplicate field `user`",
        );
        check(
            &order(&format!(r#"{base},"quantity":1,"price":1,"price":2"#)),
            "error: duplicate field `price`",
        );
        // Broken JSON after the duplicate is reported as broken JSON.
        let cut_short = format!(r#"{{{base},"quantity":1,"user":"x","#);
        check(
            cut_short.as_bytes(),
            &format!(
                "error: not JSON: EOF while parsing a value at line 1 column {}",
                cut_short.len()
            ),
        );
        // Only the order's own fields count: a repeated name inside a nested value is the
        // nested value's business, and that value is rejected for its type anyway.
        check(
            &order(&format!(
                r#""order_id":"{ID}","user":"a","item":{{"n":1,"n":2}},"quantity":1"#
            )),
            "error: field `item` must be a string, found an object",
        );
    }

    /// Checks `key` against the order parsed from `payload`; "ok" or the error text.
    fn check_keyed(key: Option<&[u8]>, payload: &[u8], expected: &str) {
        let order = Order::parse(payload).expect("a valid order");
        let actual = match check_key(key, &order) {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(actual, expected, "key {key:?}");
    }

    #[test]
    fn the_key_must_be_the_order_id_or_missing() {
        let payload = order(&format!(
            r#""order_id":"{ID}","user":"a","item":"b","quantity":1"#
        ));
        let upper = ID.to_uppercase();
        let other = "0b8e2f1e-3c4d-4c39-8a56-9f1c2a7e5d1b";
        let long = "k".repeat(100);
        let cases: [(Option<&[u8]>, String); 7] = [
            (None, "ok".into()),
            (Some(ID.as_bytes()), "ok".into()),
            (Some(upper.as_bytes()), "ok".into()),
            (
                Some(b"bad-key"),
                format!(r#"error: record key "bad-key" is not the order_id "{ID}""#),
            ),
            (
                Some(other.as_bytes()),
                format!(r#"error: record key "{other}" is not the order_id "{ID}""#),
            ),
            (
                Some(b""),
                format!(r#"error: record key "" is not the order_id "{ID}""#),
            ),
            (
                Some(&[0xff, 0xfe, 0x00]),
                format!(r#"error: record key of 3 bytes (not UTF-8) is not the order_id "{ID}""#),
            ),
        ];
        for (key, expected) in cases {
            check_keyed(key, &payload, &expected);
        }
        check_keyed(
            Some(long.as_bytes()),
            &payload,
            &format!(
                r#"error: record key "{}"... is not the order_id "{ID}""#,
                &long[..40]
            ),
        );
    }

    #[test]
    fn field_rules() {
        let with = |user: &str, item: &str, quantity: &str| {
            order(&format!(
                r#""order_id":"{ID}","user":{user},"item":{item},"quantity":{quantity}"#
            ))
        };
        check(
            &with(r#""""#, r#""b""#, "1"),
            "error: field `user` must not be empty",
        );
        check(
            &with(r#""a""#, r#""   ""#, "1"),
            "error: field `item` must not be empty",
        );
        check(
            &with("7", r#""b""#, "1"),
            "error: field `user` must be a string, found a number",
        );
        check(
            &with(r#""a""#, r#"{"name":"b"}"#, "1"),
            "error: field `item` must be a string, found an object",
        );
        let long = format!("\"{}\"", "x".repeat(257));
        check(
            &with(&long, r#""b""#, "1"),
            "error: field `user` must be at most 256 characters, got 257",
        );
        let rule = "error: field `quantity` must be an integer from 1 to 1000000, got";
        check(&with(r#""a""#, r#""b""#, "0"), &format!("{rule} 0"));
        check(&with(r#""a""#, r#""b""#, "-3"), &format!("{rule} -3"));
        check(&with(r#""a""#, r#""b""#, "2.5"), &format!("{rule} 2.5"));
        check(
            &with(r#""a""#, r#""b""#, "1000001"),
            &format!("{rule} 1000001"),
        );
        check(&with(r#""a""#, r#""b""#, "1e30"), &format!("{rule} 1e+30"));
        check(
            &with(r#""a""#, r#""b""#, r#""3""#),
            "error: field `quantity` must be an integer, found a string",
        );
        check(
            &with(r#""a""#, r#""b""#, "null"),
            "error: field `quantity` must be an integer, found null",
        );
    }

    #[test]
    fn order_id_must_be_a_hyphenated_uuid() {
        let with_id = |id: &str| {
            order(&format!(
                r#""order_id":{id},"user":"a","item":"b","quantity":1"#
            ))
        };
        check(
            &with_id(r#""order-1""#),
            r#"error: field `order_id` must be a hyphenated UUID, got "order-1""#,
        );
        check(
            &with_id(r#""9f1c2a7e5d1b4c398a560b8e2f1e3c4d""#),
            r#"error: field `order_id` must be a hyphenated UUID, got "9f1c2a7e5d1b4c398a560b8e2f1e3c4d""#,
        );
        check(
            &with_id("12"),
            "error: field `order_id` must be a UUID string, found a number",
        );
    }

    #[test]
    fn new_applies_the_same_rules() {
        let id = Uuid::parse_str(ID).unwrap();
        assert_eq!(
            Order::new(id, " bob ", "pen", 3).unwrap().to_json(),
            format!(r#"{{"order_id":"{ID}","user":"bob","item":"pen","quantity":3}}"#)
        );
        assert_eq!(
            Order::new(id, "bob", "pen", 0).unwrap_err().to_string(),
            "field `quantity` must be an integer from 1 to 1000000, got 0"
        );
        assert_eq!(
            Order::new(id, "", "pen", 1).unwrap_err().to_string(),
            "field `user` must not be empty"
        );
    }

    #[test]
    fn serialized_orders_parse_back_to_themselves() {
        let original = Order::new(Uuid::new_v4(), "carol", "lamp \u{1F4A1}", 99).unwrap();
        assert_eq!(Order::parse(original.to_json().as_bytes()), Ok(original));
    }

    #[test]
    fn parsing_into_a_slot_gives_what_parse_gives_and_an_error_leaves_it() {
        let upper = ID.to_uppercase();
        let payloads = [
            order(&format!(
                r#""order_id":"{ID}","user":" bob ","item":"a long item name","quantity":7"#
            )),
            order(&format!(
                r#""quantity":1,"item":"x","user":"y\u00e9","order_id":"{upper}""#
            )),
            order(&format!(
                r#""order_id":"{ID}","user":"b","item":"c","quantity":1e0"#
            )),
        ];
        let mut slot = None;
        for payload in &payloads {
            let expected = Order::parse(payload);
            let got = Order::parse_into(payload, &mut slot).cloned();
            assert_eq!(got, expected, "{}", String::from_utf8_lossy(payload));
        }
        let held = slot.clone();
        assert!(held.is_some());
        assert!(Order::parse_into(b"{}", &mut slot).is_err());
        assert_eq!(slot, held);
        let mut json = Vec::new();
        held.as_ref().unwrap().write_json(&mut json);
        assert_eq!(json, held.unwrap().to_json().into_bytes());
    }

    #[test]
    fn written_json_is_serde_json_s_for_plain_and_escaped_texts() {
        let texts = [
            "alice",
            "a b",
            "caf\u{e9}",
            "\u{1F4A1} lamp",
            "quote \" in",
            "back\\slash",
            "tab\tin",
            "line\u{1}feed",
            "\u{7f}del",
            "x",
        ];
        for (i, user) in texts.iter().enumerate() {
            for (j, item) in texts.iter().enumerate() {
                let quantity = [1, 9, 10, 99, 100, 12345, MAX_QUANTITY][(i + j) % 7];
                let order = Order::new(Uuid::new_v4(), user, item, quantity).unwrap();
                let mut written = b"prefix".to_vec();
                order.write_json(&mut written);
                let expected = [b"prefix".to_vec(), serde_json::to_vec(&order).unwrap()].concat();
                assert_eq!(
                    String::from_utf8_lossy(&written),
                    String::from_utf8_lossy(&expected)
                );
            }
        }
    }

    #[test]
    fn the_canonical_uuid_test_agrees_with_the_uuid_parser() {
        let id = Uuid::new_v4().hyphenated().to_string();
        let mut cases = vec![
            id.clone(),
            id.to_uppercase(),
            id.replace('-', ""),
            format!("{{{id}}}"),
        ];
        for at in 0..36 {
            for c in [b'g', b'A', b'-', b'0', b' ', 0xc3] {
                let mut b = id.clone().into_bytes();
                b[at] = c;
                cases.push(String::from_utf8_lossy(&b).into_owned());
            }
        }
        for case in &cases {
            let by_parser = Uuid::try_parse(case).is_ok()
                && case.len() == 36
                && !case.bytes().any(|b| b.is_ascii_uppercase());
            assert_eq!(is_canonical_uuid(case.as_bytes()), by_parser, "{case:?}");
        }
    }
}
