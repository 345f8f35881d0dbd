//! Orders in Avro: a small codec bounded to what orders need. Pure: no I/O, no registry.
//!
//! [`encode_order`] writes an order in our schema (`schema/order.avsc`, [`Schema::order`]) as
//! Avro binary. [`decode_order`] reads a payload written with any writer schema (the one the
//! registry names, parsed by [`Schema::parse`]) resolved against ours as the Avro specification
//! says: fields matched by name, writer fields we do not know skipped, numbers promoted, unions
//! resolved by branch. The values it reads are written as JSON text into a buffer the caller
//! keeps, and that text goes through [`Order::parse`](crate::order::Order::parse): the one place
//! that builds an order, so an Avro order obeys every rule a JSON order does. JSON rather than a
//! second constructor costs a copy of some 120 bytes per order and keeps that invariant true.
//!
//! Bounded like the wire decoders: no length read from a payload sizes an allocation (a string
//! longer than what is left is "truncated"), varints stop at 10 bytes, nesting stops at
//! [`MAX_NESTING`], array and map items at the payload's length plus [`MAX_EMPTY_ITEMS`], and
//! schemas at [`MAX_SCHEMA_BYTES`], [`MAX_SCHEMA_DEPTH`] and [`MAX_TYPES`].

mod decode;
mod encode;
mod schema;

use std::fmt;

use crate::order::Invalid;

pub use decode::{decode_json, decode_order};
pub use encode::{encode_order, put_bytes, put_long, put_string};
pub use schema::Schema;

/// Largest schema text [`Schema::parse`] reads: an order's schema is well under 2 KiB.
pub const MAX_SCHEMA_BYTES: usize = 64 * 1024;
/// Deepest nesting of types within a schema's text.
pub const MAX_SCHEMA_DEPTH: usize = 32;
/// Most types in one schema, the eight primitive ones included.
pub const MAX_TYPES: usize = 1024;
/// Deepest nesting of values in a payload (records, arrays, maps, unions). Recursive types make
/// it a bound of its own, beyond [`MAX_SCHEMA_DEPTH`].
pub const MAX_NESTING: usize = 64;
/// Array and map items allowed beyond one per payload byte. Most items take a byte at least;
/// only items that encode in none (nulls, empty records) could make a few bytes claim billions
/// of them.
pub const MAX_EMPTY_ITEMS: usize = 1024;

/// Why a schema was refused or a payload could not be read. Offsets count from the start of
/// the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The schema text is not JSON (serde_json's message says where).
    SchemaNotJson(String),
    /// The schema text is longer than [`MAX_SCHEMA_BYTES`].
    SchemaTooLarge { bytes: usize },
    /// Types nested deeper than [`MAX_SCHEMA_DEPTH`].
    SchemaTooDeep,
    /// More types than [`MAX_TYPES`].
    SchemaTooManyTypes,
    /// A type name that is neither primitive nor a named type defined before it.
    UnknownType(String),
    /// The schema breaks a rule of the Avro specification; the text says which, and where.
    BadSchema(String),
    /// The payload ends inside a value.
    Truncated { at: usize, reading: &'static str },
    /// A varint longer than 10 bytes, or one that does not fit 64 bits.
    BadVarint { at: usize },
    /// An `int` outside 32 bits.
    IntOutOfRange { at: usize, value: i64 },
    /// A boolean byte other than 0 or 1.
    BadBoolean { at: usize, byte: u8 },
    /// A negative length, block count or block size.
    BadLength { at: usize, length: i64 },
    /// A string that is not UTF-8; `at` is the first bad byte.
    NotUtf8 { at: usize },
    /// A union branch the writer's union does not have.
    InvalidUnionIndex {
        at: usize,
        index: i64,
        branches: usize,
    },
    /// An enum symbol the writer's enum does not have.
    InvalidEnumIndex {
        at: usize,
        index: i64,
        symbols: usize,
    },
    /// More array or map items than the payload could hold (see [`MAX_EMPTY_ITEMS`]).
    TooManyItems { at: usize },
    /// Values nested deeper than [`MAX_NESTING`].
    TooDeep { at: usize },
    /// The JSON text grew past the limit its caller set.
    TooLarge { limit: usize },
    /// Bytes left after the value.
    TrailingBytes { at: usize, count: usize },
    /// The writer's schema cannot be read as the reader's. `field` is the path of reader fields
    /// (`address.city`), empty at the top.
    Incompatible { field: String, why: String },
    /// Read, but not an order: what [`Order::parse`](crate::order::Order::parse) says.
    Invalid(Invalid),
}

impl Error {
    /// The error as seen from the record field `name` that holds where it happened.
    fn in_field(self, name: &str) -> Error {
        match self {
            Error::Incompatible { field, why } if field.is_empty() => Error::Incompatible {
                field: name.to_string(),
                why,
            },
            Error::Incompatible { field, why } => Error::Incompatible {
                field: format!("{name}.{field}"),
                why,
            },
            other => other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::SchemaNotJson(why) => write!(f, "Avro schema is not JSON: {why}"),
            Error::SchemaTooLarge { bytes } => write!(
                f,
                "Avro schema of {bytes} bytes is larger than the {MAX_SCHEMA_BYTES} bytes read"
            ),
            Error::SchemaTooDeep => write!(
                f,
                "Avro schema nests types deeper than {MAX_SCHEMA_DEPTH} levels"
            ),
            Error::SchemaTooManyTypes => {
                write!(f, "Avro schema has more than {MAX_TYPES} types")
            }
            Error::UnknownType(name) => write!(
                f,
                "Avro schema names type `{name}`, which is neither primitive nor defined before"
            ),
            Error::BadSchema(why) => write!(f, "invalid Avro schema: {why}"),
            Error::Truncated { at, reading } => write!(
                f,
                "Avro payload truncated: {reading} at byte {at} runs past its end"
            ),
            Error::BadVarint { at } => write!(
                f,
                "Avro payload has a varint at byte {at} longer than 10 bytes or over 64 bits"
            ),
            Error::IntOutOfRange { at, value } => {
                write!(f, "Avro int at byte {at} is {value}, outside 32 bits")
            }
            Error::BadBoolean { at, byte } => {
                write!(f, "Avro boolean at byte {at} is {byte}, neither 0 nor 1")
            }
            Error::BadLength { at, length } => {
                write!(f, "Avro payload has a negative length {length} at byte {at}")
            }
            Error::NotUtf8 { at } => write!(f, "Avro string is not UTF-8 at byte {at}"),
            Error::InvalidUnionIndex {
                at,
                index,
                branches,
            } => write!(
                f,
                "Avro union index {index} at byte {at} is not one of the writer's {branches} branches"
            ),
            Error::InvalidEnumIndex { at, index, symbols } => write!(
                f,
                "Avro enum index {index} at byte {at} is not one of the writer's {symbols} symbols"
            ),
            Error::TooManyItems { at } => write!(
                f,
                "Avro block at byte {at} claims more array or map items than the payload holds"
            ),
            Error::TooDeep { at } => write!(
                f,
                "Avro payload nests values deeper than {MAX_NESTING} levels at byte {at}"
            ),
            Error::TooLarge { limit } => {
                write!(f, "Avro payload reads as more than {limit} bytes of JSON")
            }
            Error::TrailingBytes { at, count } => {
                write!(f, "Avro payload has {count} bytes left after its value, from byte {at}")
            }
            Error::Incompatible { field, why } if field.is_empty() => {
                write!(f, "writer's Avro schema is incompatible with ours: {why}")
            }
            Error::Incompatible { field, why } => write!(
                f,
                "writer's Avro schema is incompatible with ours at field `{field}`: {why}"
            ),
            Error::Invalid(why) => write!(f, "Avro payload is not a valid order: {why}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests;
