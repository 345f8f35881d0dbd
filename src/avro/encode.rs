//! Orders as Avro binary in our schema (`schema/order.avsc`), and the two encodings it takes.
//!
//! Everything is appended to the caller's buffer, so that a producer reuses one buffer for
//! every order (and may put a registry's framing in front of it) without allocating per order.

use crate::order::Order;

/// Appends `order` as a record of our schema: `order_id`, `user` and `item` as strings, then
/// `quantity` as an int.
pub fn encode_order(order: &Order, out: &mut Vec<u8>) {
    put_string(out, order.order_id());
    put_string(out, order.user());
    put_string(out, order.item());
    // An order's quantity is at most 1,000,000, so it is a valid int.
    put_long(out, order.quantity() as i64);
}

/// Appends an `int` or `long`: zigzag, then a varint of 7 bits a byte, low bits first.
pub fn put_long(out: &mut Vec<u8>, value: i64) {
    let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
    while zigzag >= 0x80 {
        out.push(zigzag as u8 | 0x80);
        zigzag >>= 7;
    }
    out.push(zigzag as u8);
}

/// Appends `bytes`: their length as a long, then themselves.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // A slice is at most isize::MAX bytes long, so its length is a valid long.
    put_long(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

/// Appends a `string`: as `bytes`, its UTF-8.
pub fn put_string(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}
