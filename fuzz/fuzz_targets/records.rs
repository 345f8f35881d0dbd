//! Walks every batch and every record of arbitrary bytes, as the consumer walks a fetch
//! response: nothing may panic, loop without end or allocate beyond the limit.
//!
//! Random bytes almost never carry a valid CRC-32C, which would stop the walk at the first
//! header; so each input is walked twice, as given and with the CRC of every batch recomputed,
//! letting the fuzzer reach the codecs and the record parser.

#![no_main]

use libfuzzer_sys::fuzz_target;
use order_kafka::client::walk_batches;

const MAX_DECOMPRESSED: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    walk_batches(data, MAX_DECOMPRESSED);
    walk_batches(&with_valid_crcs(data), MAX_DECOMPRESSED);
});

/// `data` with the CRC field of each batch (as far as the batch lengths frame them) set to the
/// CRC-32C of the batch's attributes to end.
fn with_valid_crcs(data: &[u8]) -> Vec<u8> {
    let mut fixed = data.to_vec();
    let mut at = 0;
    while let Some(length) = fixed.get(at + 8..at + 12) {
        let length = i32::from_be_bytes([length[0], length[1], length[2], length[3]]);
        let Ok(length) = usize::try_from(length) else {
            break;
        };
        let end = at + 12 + length;
        if length < 49 || end > fixed.len() {
            break;
        }
        let crc = crc32c::crc32c(&fixed[at + 21..end]);
        fixed[at + 17..at + 21].copy_from_slice(&crc.to_be_bytes());
        at = end;
    }
    fixed
}
