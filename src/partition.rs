//! Key-to-partition mapping, the same as the Java client's default partitioner for keyed records:
//! `toPositive(murmur2(key)) % partitions`. Any Kafka producer puts an order's key on the same
//! partition as we do. Pure.

/// Kafka's 32-bit murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), seed `0x9747b28c`.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if let Some(&first) = tail.first() {
        h ^= u32::from(first);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition the Java client picks for `key` on a topic with `partitions` partitions.
pub fn for_key(key: &[u8], partitions: u32) -> i32 {
    assert!(partitions > 0, "a topic has at least one partition");
    let positive = (murmur2(key) & 0x7fff_ffff) as u32;
    (positive % partitions) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by `Utils.murmur2` and `Utils.toPositive(..) % 6` of kafka-clients 3.9.1.
    #[test]
    fn matches_kafka_utils_murmur2() {
        let cases: [(&str, i32, i32); 8] = [
            ("21", -973932308, 0),
            ("foobar", -790332482, 0),
            ("a-little-bit-long-string", -985981536, 2),
            ("a-little-bit-longer-string", -1486304829, 5),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
                5,
            ),
            ("abc", 479470107, 3),
            ("", 275646681, 3),
            ("9f1c2a7e-5d1b-4c39-8a56-0b8e2f1e3c4d", -1353921286, 4),
        ];
        for (key, hash, partition) in cases {
            assert_eq!(murmur2(key.as_bytes()), hash, "murmur2({key:?})");
            assert_eq!(
                for_key(key.as_bytes(), 6),
                partition,
                "partition of {key:?}"
            );
        }
    }

    #[test]
    fn one_partition_takes_every_key() {
        for key in ["", "a", "order"] {
            assert_eq!(for_key(key.as_bytes(), 1), 0);
        }
    }
}
