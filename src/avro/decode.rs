//! Avro binary read with schema resolution, into JSON text.
//!
//! The writer's schema says how the bytes are laid out; the reader's says what we want; the
//! two are walked side by side, as the specification's "Schema Resolution" says, value by
//! value, without a plan made beforehand: an order has four fields, so matching them by name
//! on every record costs less than keeping a plan per writer schema would save.
//!
//! What is read is written as JSON: records and maps as objects (in the writer's field order,
//! then the reader's defaults), arrays as arrays, unions as their branch's value alone, enums
//! as their symbol, `bytes` and `fixed` as strings of code points 0-255 (Avro's JSON encoding),
//! non-finite floats as `null` (JSON has none). A record becomes exactly the object
//! `Order::parse` reads.

use std::io::Write;

use super::schema::{unqualified, Field, Schema, Type, TypeId};
use super::{Error, MAX_EMPTY_ITEMS, MAX_NESTING};
use crate::order::{Order, MAX_ORDER_BYTES};

/// Reads `payload`, written with `writer`, as `reader` asks, into `json` (cleared first) as
/// JSON text of at most about `limit` bytes.
pub fn decode_json(
    writer: &Schema,
    reader: &Schema,
    payload: &[u8],
    limit: usize,
    json: &mut Vec<u8>,
) -> Result<(), Error> {
    json.clear();
    let mut decoder = Decoder {
        writer,
        reader,
        payload,
        at: 0,
        items_left: payload.len().saturating_add(MAX_EMPTY_ITEMS),
        out: json,
        limit,
    };
    decoder.value(writer.root(), reader.root(), 0)?;
    if decoder.at < payload.len() {
        return Err(Error::TrailingBytes {
            at: decoder.at,
            count: payload.len() - decoder.at,
        });
    }
    if decoder.out.len() > limit {
        return Err(Error::TooLarge { limit });
    }
    Ok(())
}

/// Reads one order written with `writer` (the registry's schema for the payload), through
/// [`Schema::order`] and [`Order::parse`]. `json` is scratch space the caller keeps between
/// orders, so that one buffer serves them all.
pub fn decode_order(writer: &Schema, payload: &[u8], json: &mut Vec<u8>) -> Result<Order, Error> {
    decode_json(writer, Schema::order(), payload, MAX_ORDER_BYTES, json)?;
    Order::parse(json).map_err(Error::Invalid)
}

struct Decoder<'a> {
    writer: &'a Schema,
    reader: &'a Schema,
    payload: &'a [u8],
    /// The next byte to read.
    at: usize,
    /// Array and map items still allowed in this payload.
    items_left: usize,
    out: &'a mut Vec<u8>,
    limit: usize,
}

/// What the next block of an array or map holds.
enum Block {
    End,
    Items(usize),
    /// A block the writer sized in bytes, skipped whole.
    Skipped,
}

impl<'a> Decoder<'a> {
    /// Reads a value of the writer's type `w` as the reader's type `r`.
    fn value(&mut self, w: TypeId, r: TypeId, depth: usize) -> Result<(), Error> {
        if depth > MAX_NESTING {
            return Err(Error::TooDeep { at: self.at });
        }
        // Checked per value: one value adds a bounded amount (a string at most six bytes of
        // JSON per byte read, a default at most its schema's size).
        if self.out.len() > self.limit {
            return Err(Error::TooLarge { limit: self.limit });
        }
        let (writer, reader) = (self.writer, self.reader);
        let (wt, rt) = (writer.get(w), reader.get(r));
        match (wt, rt) {
            // The writer's union first: its branch, not the union, meets the reader's type.
            (Type::Union(branches), _) => {
                let branch = self.branch(branches)?;
                self.value(branch, r, depth + 1)
            }
            (_, Type::Union(branches)) => {
                let chosen = branches
                    .iter()
                    .copied()
                    .find(|&b| matches(wt, reader.get(b)))
                    .ok_or_else(|| incompatible(writer, w, reader, r))?;
                self.value(w, chosen, depth + 1)
            }
            (Type::Null, Type::Null) => {
                self.out.extend_from_slice(b"null");
                Ok(())
            }
            (Type::Boolean, Type::Boolean) => {
                let at = self.at;
                let literal: &[u8] = match self.array("a boolean")? {
                    [0] => b"false",
                    [1] => b"true",
                    [byte] => return Err(Error::BadBoolean { at, byte }),
                };
                self.out.extend_from_slice(literal);
                Ok(())
            }
            (Type::Int, Type::Int | Type::Long) | (Type::Long, Type::Long) => {
                let v = self.integer(wt)?;
                put(self.out, format_args!("{v}"));
                Ok(())
            }
            // Beyond the specification, which has no narrowing: a writer that widened our int to
            // a long (an order's quantity) still yields orders, as long as each value fits.
            (Type::Long, Type::Int) => {
                let at = self.at;
                let v = self.integer(wt)?;
                if i32::try_from(v).is_err() {
                    return Err(Error::IntOutOfRange { at, value: v });
                }
                put(self.out, format_args!("{v}"));
                Ok(())
            }
            // Promotions: a number read as a wider one, rounded as Java's casts round it.
            (Type::Int | Type::Long, Type::Float) => {
                let v = self.integer(wt)? as f32;
                put_float(self.out, v.is_finite(), format_args!("{v:?}"));
                Ok(())
            }
            (Type::Int | Type::Long, Type::Double) => {
                let v = self.integer(wt)? as f64;
                put_float(self.out, v.is_finite(), format_args!("{v:?}"));
                Ok(())
            }
            (Type::Float, Type::Float) => {
                let v = f32::from_le_bytes(self.array("a float")?);
                put_float(self.out, v.is_finite(), format_args!("{v:?}"));
                Ok(())
            }
            (Type::Float | Type::Double, Type::Double) => {
                let v = match wt {
                    Type::Float => f64::from(f32::from_le_bytes(self.array("a float")?)),
                    _ => f64::from_le_bytes(self.array("a double")?),
                };
                put_float(self.out, v.is_finite(), format_args!("{v:?}"));
                Ok(())
            }
            (Type::String | Type::Bytes, Type::String) => {
                let text = self.text("a string")?;
                put_string(self.out, text);
                Ok(())
            }
            (Type::String | Type::Bytes, Type::Bytes) => {
                let bytes = self.bytes("bytes")?;
                put_code_points(self.out, bytes);
                Ok(())
            }
            (
                Type::Fixed { name, size },
                Type::Fixed {
                    name: reader_name,
                    size: reader_size,
                },
            ) if unqualified(name) == unqualified(reader_name) && size == reader_size => {
                let bytes = self.take(*size, "a fixed")?;
                put_code_points(self.out, bytes);
                Ok(())
            }
            (
                Type::Record { name, fields },
                Type::Record {
                    name: rname,
                    fields: rfields,
                },
            ) if unqualified(name) == unqualified(rname) => self.record(fields, rfields, depth),
            (
                Type::Enum { name, symbols, .. },
                Type::Enum {
                    name: rname,
                    symbols: rsymbols,
                    default,
                },
            ) if unqualified(name) == unqualified(rname) => {
                let at = self.at;
                let index = self.long("an enum index")?;
                let symbol = usize::try_from(index)
                    .ok()
                    .and_then(|i| symbols.get(i))
                    .ok_or(Error::InvalidEnumIndex {
                        at,
                        index,
                        symbols: symbols.len(),
                    })?;
                let known = rsymbols.iter().find(|s| *s == symbol);
                let read = known
                    .or_else(|| default.and_then(|d| rsymbols.get(d)))
                    .ok_or_else(|| Error::Incompatible {
                        field: String::new(),
                        why: format!(
                            "the writer's symbol `{symbol}` is not in the reader's enum `{rname}`, which has no default"
                        ),
                    })?;
                put_string(self.out, read);
                Ok(())
            }
            (Type::Array(items), Type::Array(ritems)) => {
                self.out.push(b'[');
                let mut first = true;
                while let Some(count) = self.block(false)? {
                    for _ in 0..count {
                        if !std::mem::take(&mut first) {
                            self.out.push(b',');
                        }
                        self.value(*items, *ritems, depth + 1)?;
                    }
                }
                self.out.push(b']');
                Ok(())
            }
            (Type::Map(values), Type::Map(rvalues)) => {
                self.out.push(b'{');
                let mut first = true;
                while let Some(count) = self.block(false)? {
                    for _ in 0..count {
                        if !std::mem::take(&mut first) {
                            self.out.push(b',');
                        }
                        let key = self.text("a map key")?;
                        put_string(self.out, key);
                        self.out.push(b':');
                        self.value(*values, *rvalues, depth + 1)?;
                    }
                }
                self.out.push(b'}');
                Ok(())
            }
            _ => Err(incompatible(writer, w, reader, r)),
        }
    }

    /// A record: the writer's fields in the writer's order, each read into the reader's field
    /// of its name or skipped; then the reader's fields the writer lacks, from their defaults.
    fn record(
        &mut self,
        fields: &[Field],
        rfields: &'a [Field],
        depth: usize,
    ) -> Result<(), Error> {
        // Checked before any byte is read, so that an incompatible schema is reported as such
        // whatever the payload holds.
        let missing = |rf: &&Field| !fields.iter().any(|f| rf.reads(&f.name));
        if let Some(rf) = rfields
            .iter()
            .filter(missing)
            .find(|rf| rf.default.is_none())
        {
            return Err(Error::Incompatible {
                field: rf.name.clone(),
                why: "the writer has no such field and ours has no default".into(),
            });
        }
        self.out.push(b'{');
        let mut first = true;
        for field in fields {
            let Some(rf) = rfields.iter().find(|rf| rf.reads(&field.name)) else {
                self.skip(field.schema, depth + 1)?;
                continue;
            };
            if !std::mem::take(&mut first) {
                self.out.push(b',');
            }
            put_string(self.out, &rf.name);
            self.out.push(b':');
            self.value(field.schema, rf.schema, depth + 1)
                .map_err(|e| e.in_field(&rf.name))?;
        }
        for rf in rfields.iter().filter(missing) {
            if let Some(default) = &rf.default {
                if !std::mem::take(&mut first) {
                    self.out.push(b',');
                }
                put_string(self.out, &rf.name);
                self.out.push(b':');
                // A serde_json Value displays as its compact JSON text.
                put(self.out, format_args!("{default}"));
            }
        }
        self.out.push(b'}');
        Ok(())
    }

    /// Reads past a value of the writer's type `w` that the reader has no field for, only as
    /// closely as finding its end needs: a skipped int may be 64 bits, a boolean any byte.
    fn skip(&mut self, w: TypeId, depth: usize) -> Result<(), Error> {
        if depth > MAX_NESTING {
            return Err(Error::TooDeep { at: self.at });
        }
        let writer = self.writer;
        match writer.get(w) {
            Type::Null => {}
            Type::Boolean => {
                self.take(1, "a boolean")?;
            }
            Type::Int | Type::Long | Type::Enum { .. } => {
                self.long("a number")?;
            }
            Type::Float => {
                self.take(4, "a float")?;
            }
            Type::Double => {
                self.take(8, "a double")?;
            }
            Type::Bytes | Type::String => {
                self.bytes("a string")?;
            }
            Type::Fixed { size, .. } => {
                self.take(*size, "a fixed")?;
            }
            Type::Record { fields, .. } => {
                for field in fields {
                    self.skip(field.schema, depth + 1)?;
                }
            }
            Type::Array(items) => {
                while let Some(count) = self.block(true)? {
                    for _ in 0..count {
                        self.skip(*items, depth + 1)?;
                    }
                }
            }
            Type::Map(values) => {
                while let Some(count) = self.block(true)? {
                    for _ in 0..count {
                        self.bytes("a map key")?;
                        self.skip(*values, depth + 1)?;
                    }
                }
            }
            Type::Union(branches) => {
                let branch = self.branch(branches)?;
                self.skip(branch, depth + 1)?;
            }
        }
        Ok(())
    }

    /// The item count of the next block of an array or map, `None` after the last. A block the
    /// writer sized in bytes (a negative count) is jumped over whole when `skipping`.
    fn block(&mut self, skipping: bool) -> Result<Option<usize>, Error> {
        loop {
            match self.block_header(skipping)? {
                Block::End => return Ok(None),
                Block::Items(count) => return Ok(Some(count)),
                Block::Skipped => {}
            }
        }
    }

    fn block_header(&mut self, skipping: bool) -> Result<Block, Error> {
        let at = self.at;
        let count = self.long("a block count")?;
        if count == 0 {
            return Ok(Block::End);
        }
        let count = if count < 0 {
            let size_at = self.at;
            let size = self.long("a block size")?;
            if size < 0 {
                return Err(Error::BadLength {
                    at: size_at,
                    length: size,
                });
            }
            if skipping {
                self.take(size as u64, "a block")?;
                return Ok(Block::Skipped);
            }
            count
                .checked_neg()
                .ok_or(Error::BadLength { at, length: count })?
        } else {
            count
        };
        match usize::try_from(count) {
            Ok(count) if count <= self.items_left => {
                self.items_left -= count;
                Ok(Block::Items(count))
            }
            _ => Err(Error::TooManyItems { at }),
        }
    }

    /// The branch of `branches` the next union index names.
    fn branch(&mut self, branches: &[TypeId]) -> Result<TypeId, Error> {
        let at = self.at;
        let index = self.long("a union index")?;
        usize::try_from(index)
            .ok()
            .and_then(|i| branches.get(i).copied())
            .ok_or(Error::InvalidUnionIndex {
                at,
                index,
                branches: branches.len(),
            })
    }

    /// The next `n` bytes, borrowed from the payload: never allocated, and never more than it
    /// holds, whatever `n` a payload claims.
    fn take(&mut self, n: u64, reading: &'static str) -> Result<&'a [u8], Error> {
        let left = self.payload.len() - self.at;
        match usize::try_from(n) {
            Ok(n) if n <= left => {
                let bytes = &self.payload[self.at..self.at + n];
                self.at += n;
                Ok(bytes)
            }
            _ => Err(Error::Truncated {
                at: self.at,
                reading,
            }),
        }
    }

    fn array<const N: usize>(&mut self, reading: &'static str) -> Result<[u8; N], Error> {
        let at = self.at;
        self.take(N as u64, reading)?
            .try_into()
            .map_err(|_| Error::Truncated { at, reading })
    }

    /// A zigzag varint of at most 10 bytes.
    fn long(&mut self, reading: &'static str) -> Result<i64, Error> {
        let at = self.at;
        let mut value: u64 = 0;
        for i in 0..10 {
            let &byte = self
                .payload
                .get(self.at)
                .ok_or(Error::Truncated { at, reading })?;
            self.at += 1;
            // The tenth byte holds the 64th bit alone.
            if i == 9 && byte > 1 {
                return Err(Error::BadVarint { at });
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
            }
        }
        Err(Error::BadVarint { at })
    }

    /// An `int` or a `long`, as the writer's type `t` says.
    fn integer(&mut self, t: &Type) -> Result<i64, Error> {
        match t {
            Type::Int => self.int().map(i64::from),
            _ => self.long("a long"),
        }
    }

    fn int(&mut self) -> Result<i32, Error> {
        let at = self.at;
        let value = self.long("an int")?;
        i32::try_from(value).map_err(|_| Error::IntOutOfRange { at, value })
    }

    /// A length, then that many bytes.
    fn bytes(&mut self, reading: &'static str) -> Result<&'a [u8], Error> {
        let at = self.at;
        let length = self.long(reading)?;
        let n = u64::try_from(length).map_err(|_| Error::BadLength { at, length })?;
        self.take(n, reading)
    }

    fn text(&mut self, reading: &'static str) -> Result<&'a str, Error> {
        let bytes = self.bytes(reading)?;
        let start = self.at - bytes.len();
        std::str::from_utf8(bytes).map_err(|e| Error::NotUtf8 {
            at: start + e.valid_up_to(),
        })
    }
}

/// Whether a reader's union branch `r` can read the writer's (non-union) type `w`: the same
/// type, a promotion, or a named type of the same unqualified name.
fn matches(w: &Type, r: &Type) -> bool {
    match (w, r) {
        (Type::Null, Type::Null)
        | (Type::Boolean, Type::Boolean)
        | (Type::Int, Type::Int | Type::Long | Type::Float | Type::Double)
        | (Type::Long, Type::Long | Type::Float | Type::Double)
        | (Type::Float, Type::Float | Type::Double)
        | (Type::Double, Type::Double)
        | (Type::String | Type::Bytes, Type::String | Type::Bytes)
        | (Type::Array(_), Type::Array(_))
        | (Type::Map(_), Type::Map(_)) => true,
        (Type::Record { name, .. }, Type::Record { name: rname, .. })
        | (Type::Enum { name, .. }, Type::Enum { name: rname, .. }) => {
            unqualified(name) == unqualified(rname)
        }
        (
            Type::Fixed { name, size },
            Type::Fixed {
                name: rname,
                size: rsize,
            },
        ) => unqualified(name) == unqualified(rname) && size == rsize,
        _ => false,
    }
}

fn incompatible(writer: &Schema, w: TypeId, reader: &Schema, r: TypeId) -> Error {
    Error::Incompatible {
        field: String::new(),
        why: format!(
            "the writer's {} cannot be read as our {}",
            writer.describe(w),
            reader.describe(r)
        ),
    }
}

/// Writes formatted text; writing into a Vec cannot fail.
fn put(out: &mut Vec<u8>, text: std::fmt::Arguments<'_>) {
    let _ = out.write_fmt(text);
}

/// A float as JSON: its shortest text, or `null` for NaN and the infinities, which JSON lacks.
fn put_float(out: &mut Vec<u8>, finite: bool, text: std::fmt::Arguments<'_>) {
    if finite {
        put(out, text);
    } else {
        out.extend_from_slice(b"null");
    }
}

/// `s` as a JSON string: quotes, backslashes and control characters escaped.
fn put_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for &b in s.as_bytes() {
        put_escaped(out, b);
    }
    out.push(b'"');
}

/// Bytes as a JSON string of code points 0-255, one per byte, as Avro writes bytes in JSON.
fn put_code_points(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for &b in bytes {
        if b < 0x80 {
            put_escaped(out, b);
        } else {
            out.extend_from_slice(&[0xc0 | b >> 6, 0x80 | (b & 0x3f)]);
        }
    }
    out.push(b'"');
}

/// One byte of UTF-8 inside a JSON string. Bytes of multi-byte characters (0x80 and up) are
/// copied as they are.
fn put_escaped(out: &mut Vec<u8>, b: u8) {
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        0..=0x1f => put(out, format_args!("\\u{b:04x}")),
        _ => out.push(b),
    }
}
