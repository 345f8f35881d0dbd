//! Decodes arbitrary bytes as a broker's answer with the client's own decoders: the first byte
//! picks the API (Produce, Fetch, ListOffsets, Metadata, OffsetCommit, OffsetFetch, JoinGroup, a
//! SyncGroup assignment, DescribeGroups, SaslHandshake, ApiVersions, DescribeConfigs, SaslAuthenticate), the second
//! its version, the rest is the body. A fetch answer's records are walked too. Nothing may
//! panic, loop without end or allocate by a length read from the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use order_kafka::client::decode_response;

const APIS: [(i16, std::ops::RangeInclusive<i16>); 13] = [
    (0, 3..=12),
    (1, 4..=12),
    (2, 1..=7),
    (3, 4..=12),
    (8, 2..=8),
    (9, 1..=7),
    (11, 4..=9),
    (14, 0..=0),
    (15, 0..=5),
    (17, 1..=1),
    (18, 0..=0),
    (32, 1..=4),
    (36, 0..=2),
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (api, versions) = &APIS[data[0] as usize % APIS.len()];
    let span = (versions.end() - versions.start() + 1) as u8;
    let version = versions.start() + i16::from(data[1] % span);
    decode_response(*api, version, &data[2..]);
});
