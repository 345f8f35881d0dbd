//! Decodes arbitrary bytes as Avro orders, as the consumer will decode a record's value: with
//! our schema as the writer's, and with a writer schema taken from the input itself, so that
//! the fuzzer reaches schema resolution and the skipping of every type. Nothing may panic, loop
//! without end or allocate by a length the input claims.
//!
//! Input: a first byte `n`; if the rest holds a newline within its first `n * 16` bytes, the
//! text before it is the writer schema and the bytes after it the payload. An order that
//! decodes must encode and decode again to itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use order_kafka::avro::{decode_json, decode_order, encode_order, Schema};

fuzz_target!(|data: &[u8]| {
    let mut json = Vec::new();
    let ours = Schema::order();
    let _ = decode_order(ours, data, &mut json);

    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let window = &rest[..rest.len().min(usize::from(n) * 16)];
    let Some(newline) = window.iter().position(|&b| b == b'\n') else {
        return;
    };
    let Ok(text) = std::str::from_utf8(&rest[..newline]) else {
        return;
    };
    let Ok(writer) = Schema::parse(text) else {
        return;
    };
    let payload = &rest[newline + 1..];
    // The writer's schema read as itself: every type, not only what an order holds.
    let _ = decode_json(&writer, &writer, payload, 1 << 16, &mut json);
    if let Ok(order) = decode_order(&writer, payload, &mut json) {
        let mut again = Vec::new();
        encode_order(&order, &mut again);
        assert_eq!(decode_order(ours, &again, &mut json).as_ref(), Ok(&order));
    }
});
