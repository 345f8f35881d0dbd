//! Kafka's record batch format (magic v2, KIP-98): the bytes a produce request carries and a fetch
//! response returns. [`encode_batch`] writes one batch; [`Batches`] walks the batches of fetched
//! bytes and [`Batch::records`] the records of one. Pure: bytes in, values out, no I/O.
//!
//! Fetched bytes are untrusted. Every length read from them is checked against the bytes that
//! are really there before it is used, nothing is allocated in proportion to a number the data
//! claims, and decompression stops at [`Limits::max_decompressed`]. Kafka 4 dropped the older
//! message formats (v0, v1), so they are refused rather than decoded.

//! The batch format's job is split in three: [`encode`] writes batches, [`decode`] walks
//! them, [`codecs`] compresses and decompresses their records.

mod codecs;
mod decode;
mod encode;

use std::fmt;

pub use codecs::{compress, uncompressed_only, Compressor};
pub use decode::{end_offset, Batches, ControlType, Record};
pub use encode::{encode_batch, is_idempotent, mark_transactional, restamp};

/// A batch's header, from its base offset to its record count, is 61 bytes.
const HEADER_LEN: usize = 61;
/// Base offset and batch length: the part of the header the batch length does not count.
const LOG_OVERHEAD: usize = 12;
const MAGIC_AT: usize = 16;
const CRC_AT: usize = 17;
/// The CRC covers everything from the attributes to the end of the batch.
const ATTRIBUTES_AT: usize = 21;
const LAST_OFFSET_DELTA_AT: usize = 23;
const PRODUCER_ID_AT: usize = 43;
const MAGIC: i8 = 2;

const COMPRESSION_BITS: i16 = 0x07;
const LOG_APPEND_TIME: i16 = 0x08;
const TRANSACTIONAL: i16 = 0x10;
const CONTROL: i16 = 0x20;

/// Partition leader epoch a producer sends; the broker fills in its own.
const NO_PARTITION_LEADER_EPOCH: i32 = -1;

/// Java's snappy framing (xerial snappy-java): this magic, a version and a compatible version
/// (both big-endian 1), then blocks of raw snappy, each after its big-endian length.
const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\0";
const XERIAL_HEADER_LEN: usize = 16;
/// snappy-java's default block: the input of one framed block.
const XERIAL_BLOCK: usize = 32 * 1024;

/// The zstd window we accept even when `max_decompressed` is smaller: zstd's levels up to 19
/// never ask for more, and Java's producer (level 3, size unknown) asks for 2 MiB.
const ZSTD_MIN_WINDOW_ALLOWED: u64 = 8 << 20;

/// Compression of a batch's records (attribute bits 0-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    /// The name Kafka's `compression.type` uses.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    fn code(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    fn from_code(code: i16) -> Option<Compression> {
        Some(match code {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            _ => return None,
        })
    }
}

/// Idempotent-producer fields of a batch; `NONE` = no idempotence (id -1, epoch -1, sequence -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerIds {
    pub id: i64,
    pub epoch: i16,
    /// Sequence number of the batch's first record; the broker expects the next record's.
    pub base_sequence: i32,
}

impl ProducerIds {
    pub const NONE: ProducerIds = ProducerIds {
        id: -1,
        epoch: -1,
        base_sequence: -1,
    };
}

/// One record to encode; `None` is Kafka's null, distinct from an empty key or value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutRecord<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
}

/// Caps applied while decoding untrusted bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest decompressed size of one batch's records; a larger batch is an error.
    pub max_decompressed: usize,
}

/// Everything that can be wrong with a batch we decode or are asked to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// The bytes break the record batch format; `offset` is the batch's base offset.
    Corrupt { offset: i64, what: &'static str },
    /// The batch's CRC-32C does not match its bytes.
    CrcMismatch {
        offset: i64,
        stored: u32,
        computed: u32,
    },
    /// A message format other than v2 (v0 and v1 predate Kafka 0.11 and left with Kafka 4).
    UnsupportedMagic(i8),
    /// Compression attribute bits naming no codec Kafka has.
    UnsupportedCompression { offset: i64, code: i16 },
    /// A compressed batch grows beyond [`Limits::max_decompressed`].
    DecompressedTooLarge {
        offset: i64,
        codec: &'static str,
        limit: usize,
    },
    /// The codec refused the compressed bytes.
    Decompress {
        offset: i64,
        codec: &'static str,
        cause: String,
    },
    /// The codec failed while compressing a batch we produce.
    Compress { codec: &'static str, cause: String },
    /// A batch to encode exceeds a limit of the format (`what` names it).
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    /// A batch to encode has no records: Kafka has no use for one.
    EmptyBatch,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Corrupt { offset, what } => {
                write!(f, "the record batch at offset {offset} is corrupt: {what}")
            }
            RecordError::CrcMismatch { offset, stored, computed } => write!(
                f,
                "the record batch at offset {offset} fails its CRC-32C check (stored {stored:#010x}, \
                 computed {computed:#010x}): it was damaged on disk or on the way"
            ),
            RecordError::UnsupportedMagic(magic) => write!(
                f,
                "a record batch uses message format v{magic}; only v2 (Kafka 0.11 and later) is \
                 supported: the topic holds data from a pre-0.11 producer"
            ),
            RecordError::UnsupportedCompression { offset, code } => write!(
                f,
                "the record batch at offset {offset} names compression code {code}, which Kafka \
                 does not define (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)"
            ),
            RecordError::DecompressedTooLarge { offset, codec, limit } => write!(
                f,
                "the {codec} record batch at offset {offset} decompresses to more than {limit} \
                 bytes, the limit: raise the limit if the producer really sends batches this large"
            ),
            RecordError::Decompress { offset, codec, cause } => {
                write!(f, "cannot decompress the {codec} record batch at offset {offset}: {cause}")
            }
            RecordError::Compress { codec, cause } => {
                write!(f, "cannot {codec}-compress a record batch: {cause}")
            }
            RecordError::TooLarge { what, size, limit } => write!(
                f,
                "{what} is {size}, more than the record batch format allows ({limit}): send \
                 smaller batches"
            ),
            RecordError::EmptyBatch => f.write_str("a record batch needs at least one record"),
        }
    }
}

impl std::error::Error for RecordError {}

#[cfg(test)]
mod tests {
    use super::codecs::zstd_window;
    use super::decode::{Batch, Cursor};
    use super::encode::{varint_len, Writer};
    use super::*;

    const CODECS: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];
    const LIMITS: Limits = Limits {
        max_decompressed: 8 << 20,
    };

    /// A record as the tests compare it: offset, timestamp, key, value.
    type Owned = (i64, i64, Option<Vec<u8>>, Option<Vec<u8>>);

    fn own(record: Record<'_>) -> Owned {
        let copy = |b: Option<&[u8]>| b.map(<[u8]>::to_vec);
        (
            record.offset,
            record.timestamp,
            copy(record.key),
            copy(record.value),
        )
    }

    /// Every batch of `data` and all their records; panics on any error.
    fn decode(data: &[u8]) -> (Vec<Batch<'_>>, Vec<Owned>) {
        let mut batches = Batches::new(data);
        let mut all = Vec::new();
        let mut records = Vec::new();
        let mut scratch = Vec::new();
        for batch in &mut batches {
            let batch = batch.unwrap();
            for record in batch.records(&mut scratch, &LIMITS).unwrap() {
                records.push(own(record.unwrap()));
            }
            all.push(batch);
        }
        assert!(!batches.truncated());
        (all, records)
    }

    /// Recomputes the CRC of the one batch in `batch` after a test edited it.
    fn reseal(batch: &mut [u8]) {
        let crc = crc32c::crc32c(&batch[ATTRIBUTES_AT..]);
        batch[CRC_AT..ATTRIBUTES_AT].copy_from_slice(&crc.to_be_bytes());
    }

    fn encode(records: &[OutRecord<'_>], compression: Compression) -> Vec<u8> {
        let mut out = Vec::new();
        encode_batch(
            &mut out,
            records,
            1_700_000_000_123,
            compression,
            compress,
            ProducerIds::NONE,
        )
        .unwrap();
        out
    }

    fn first_error(data: &[u8]) -> RecordError {
        let mut scratch = Vec::new();
        for batch in Batches::new(data) {
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => return e,
            };
            let records = match batch.records(&mut scratch, &LIMITS) {
                Ok(records) => records,
                Err(e) => return e,
            };
            for record in records {
                if let Err(e) = record {
                    return e;
                }
            }
        }
        panic!("no error in {data:?}");
    }

    fn corrupt_what(e: RecordError) -> &'static str {
        match e {
            RecordError::Corrupt { what, .. } => what,
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn a_restamped_batch_carries_the_new_ids_and_still_checks() {
        let records = [OutRecord {
            key: Some(b"k"),
            value: Some(b"v"),
        }];
        let ids = ProducerIds {
            id: 7,
            epoch: 1,
            base_sequence: 40,
        };
        let mut batch = Vec::new();
        encode_batch(&mut batch, &records, 1, Compression::None, compress, ids).unwrap();
        assert!(is_idempotent(&batch));
        let renewed = ProducerIds {
            id: 9000,
            epoch: 3,
            base_sequence: 0,
        };
        restamp(&mut batch, renewed);
        let (batches, decoded) = decode(&batch);
        let b = &batches[0];
        assert_eq!((b.producer_id, b.base_sequence), (9000, 0));
        assert_eq!(decoded[0].3.as_deref(), Some(&b"v"[..]));
        let mut plain = Vec::new();
        let none = ProducerIds::NONE;
        encode_batch(&mut plain, &records, 1, Compression::None, compress, none).unwrap();
        assert!(!is_idempotent(&plain));
    }

    #[test]
    fn the_end_offset_is_where_a_reader_of_every_whole_batch_ends() {
        let record = |v: &'static [u8]| OutRecord {
            key: None,
            value: Some(v),
        };
        let first = encode(
            &[record(b"a"), record(b"b"), record(b"c")],
            Compression::None,
        );
        let mut second = encode(&[record(b"d"), record(b"e")], Compression::None);
        second[..8].copy_from_slice(&10i64.to_be_bytes());
        let both = [first.clone(), second.clone()].concat();
        assert_eq!(end_offset(&both), Some(12));
        let walked = Batches::new(&both).map(|b| b.unwrap().next_offset()).last();
        assert_eq!(walked, Some(12));
        // A batch cut short by the fetch size is not read yet: the end is the one before it.
        assert_eq!(end_offset(&both[..both.len() - 1]), Some(3));
        assert_eq!(end_offset(&first[..first.len() - 1]), None);
        assert_eq!(end_offset(&[]), None);
        // A length too short for a header ends the walk, as it ends the reader's.
        let mut broken = both.clone();
        broken[first.len() + 8..first.len() + 12].copy_from_slice(&3i32.to_be_bytes());
        assert_eq!(end_offset(&broken), Some(3));
    }

    #[test]
    fn varints_round_trip_at_every_size() {
        for n in [
            0,
            -1,
            1,
            63,
            -64,
            64,
            -65,
            8191,
            -8192,
            8192,
            1 << 20,
            i32::MAX,
            i32::MIN,
        ] {
            let mut buf = [0; 5];
            let mut w = Writer {
                buf: &mut buf,
                pos: 0,
            };
            w.varint(n);
            let len = w.pos;
            assert_eq!(len, varint_len(n), "{n}");
            let buf = &buf[..len];
            let mut c = Cursor { data: buf, pos: 0 };
            assert_eq!(c.varint(), Ok(n));
            assert_eq!(c.pos, buf.len());
        }
    }

    #[test]
    fn varints_longer_than_their_type_are_refused() {
        let varint = |bytes: &[u8]| {
            Cursor {
                data: bytes,
                pos: 0,
            }
            .varint()
        };
        assert_eq!(varint(&[0xff, 0xff, 0xff, 0xff, 0x0f]), Ok(i32::MIN));
        assert!(varint(&[0xff, 0xff, 0xff, 0xff, 0x1f]).is_err());
        assert!(varint(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).is_err());
        assert!(varint(&[0x80]).is_err());

        let varlong = |bytes: &[u8]| {
            Cursor {
                data: bytes,
                pos: 0,
            }
            .varlong()
        };
        let mut max = [0xff; 10];
        max[9] = 0x01;
        assert_eq!(varlong(&max), Ok(i64::MIN));
        max[0] = 0xfe;
        assert_eq!(varlong(&max), Ok(i64::MAX));
        assert_eq!(varlong(&[0x01]), Ok(-1));
        max[9] = 0x02;
        assert!(varlong(&max).is_err());
        assert!(varlong(&[0x80; 11]).is_err());
    }

    #[test]
    fn every_codec_round_trips() {
        let big: Vec<u8> = (0..200_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 997) as u8)
            .collect();
        let numbered: Vec<String> = (0..300).map(|i| format!("order {i}")).collect();
        let mut records = vec![
            OutRecord {
                key: Some(b"k"),
                value: Some(b"v"),
            },
            OutRecord {
                key: None,
                value: Some(b"value without key"),
            },
            OutRecord {
                key: Some(b"tombstone"),
                value: None,
            },
            OutRecord {
                key: None,
                value: None,
            },
            OutRecord {
                key: Some(b""),
                value: Some(b""),
            },
            OutRecord {
                key: Some(b"big"),
                value: Some(&big),
            },
        ];
        records.extend(numbered.iter().map(|v| OutRecord {
            key: None,
            value: Some(v.as_bytes()),
        }));
        let ids = ProducerIds {
            id: 4_000_000_001,
            epoch: 3,
            base_sequence: 42,
        };
        for codec in CODECS {
            let mut out = vec![0xaa]; // encode_batch appends
            encode_batch(&mut out, &records, 1_700_000_000_123, codec, compress, ids).unwrap();
            assert_eq!(out[0], 0xaa);
            let (batches, decoded) = decode(&out[1..]);
            assert_eq!(batches.len(), 1);
            let batch = &batches[0];
            assert_eq!(batch.compression, codec);
            assert_eq!(batch.record_count as usize, records.len());
            assert_eq!(batch.next_offset(), records.len() as i64);
            assert_eq!(
                (batch.producer_id, batch.producer_epoch, batch.base_sequence),
                (ids.id, ids.epoch, ids.base_sequence)
            );
            assert!(!batch.is_transactional && !batch.is_control);
            let expected: Vec<Owned> = records
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    own(Record {
                        offset: i as i64,
                        timestamp: 1_700_000_000_123,
                        key: r.key,
                        value: r.value,
                    })
                })
                .collect();
            assert_eq!(decoded, expected, "{}", codec.name());
            if codec != Compression::None {
                assert!(out.len() < big.len(), "{} did not compress", codec.name());
            }
        }
    }

    #[test]
    fn java_framing_is_what_snappy_encodes() {
        let batch = encode(
            &[OutRecord {
                key: None,
                value: Some(b"framed"),
            }],
            Compression::Snappy,
        );
        assert!(batch[HEADER_LEN..].starts_with(XERIAL_MAGIC));
    }

    #[test]
    fn offsets_count_from_the_base_offset() {
        let values: Vec<[u8; 1]> = (0..5u8).map(|i| [i]).collect();
        let records: Vec<OutRecord<'_>> = values
            .iter()
            .map(|v| OutRecord {
                key: None,
                value: Some(v),
            })
            .collect();
        let mut data = encode(&records, Compression::Lz4);
        data.extend(encode(&records[..2], Compression::None));
        // The base offset is outside the CRC: the broker assigns it.
        data[..8].copy_from_slice(&1000i64.to_be_bytes());
        let second = data.len() - encode(&records[..2], Compression::None).len();
        data[second..second + 8].copy_from_slice(&1005i64.to_be_bytes());

        let (batches, decoded) = decode(&data);
        assert_eq!(
            batches.iter().map(Batch::next_offset).collect::<Vec<_>>(),
            [1005, 1007]
        );
        let offsets: Vec<i64> = decoded.iter().map(|r| r.0).collect();
        assert_eq!(offsets, [1000, 1001, 1002, 1003, 1004, 1005, 1006]);
        let firsts: Vec<u8> = decoded.iter().map(|r| r.3.as_ref().unwrap()[0]).collect();
        assert_eq!(firsts, [0, 1, 2, 3, 4, 0, 1]);
    }

    #[test]
    fn empty_batches_are_refused_and_leave_out_alone() {
        let mut out = vec![1, 2, 3];
        let e = encode_batch(
            &mut out,
            &[],
            0,
            Compression::Gzip,
            compress,
            ProducerIds::NONE,
        );
        assert_eq!(e, Err(RecordError::EmptyBatch));
        assert_eq!(out, [1, 2, 3]);
    }

    /// Segments written by a real broker from `printf 'k1:hello\nk2:\n:world\nkey-4:the quick
    /// ...' | kcat -P -K: -Z -H trace=abc -H empty= -z CODEC` (librdkafka 2.0.2, Kafka 4.4.0).
    const KCAT: [(Compression, &[u8]); 5] = [
        (Compression::None, include_bytes!("testdata/kcat-none.log")),
        (Compression::Gzip, include_bytes!("testdata/kcat-gzip.log")),
        (
            Compression::Snappy,
            include_bytes!("testdata/kcat-snappy.log"),
        ),
        (Compression::Lz4, include_bytes!("testdata/kcat-lz4.log")),
        (Compression::Zstd, include_bytes!("testdata/kcat-zstd.log")),
    ];

    /// Segments written by Apache's console producer (Kafka 4.4.0, idempotent by default) from
    /// `k1<TAB>hello` and `k2<TAB>world world world world world world` with
    /// `--compression-codec CODEC --property parse.key=true`.
    const JAVA: [(Compression, &[u8]); 4] = [
        (Compression::Gzip, include_bytes!("testdata/java-gzip.log")),
        (
            Compression::Snappy,
            include_bytes!("testdata/java-snappy.log"),
        ),
        (Compression::Lz4, include_bytes!("testdata/java-lz4.log")),
        (Compression::Zstd, include_bytes!("testdata/java-zstd.log")),
    ];

    /// Three records `0`, `1`, `2` in one committed transaction (Apache's ProducerPerformance
    /// with `--transactional-id`), then the broker's commit marker.
    const JAVA_TRANSACTION: &[u8] = include_bytes!("testdata/java-txn.log");

    fn some(b: &[u8]) -> Option<Vec<u8>> {
        Some(b.to_vec())
    }

    #[test]
    fn kcat_segments_decode() {
        let expected = [
            (some(b"k1"), some(b"hello")),
            (some(b"k2"), None),
            (None, some(b"world")),
            (
                some(b"key-4"),
                some(b"the quick brown fox jumps over the lazy dog the quick brown fox"),
            ),
        ];
        for (codec, segment) in KCAT {
            let (batches, records) = decode(segment);
            // Uncompressed, kcat sent the first message alone: two batches in a row.
            assert_eq!(
                batches.len(),
                if codec == Compression::None { 2 } else { 1 }
            );
            for batch in &batches {
                assert_eq!(batch.compression, codec);
                assert_eq!(batch.producer_id, -1);
            }
            assert_eq!(batches.last().unwrap().next_offset(), 4);
            let keys_values: Vec<_> = records.iter().map(|r| (r.2.clone(), r.3.clone())).collect();
            assert_eq!(keys_values, expected, "{}", codec.name());
            let offsets: Vec<i64> = records.iter().map(|r| r.0).collect();
            assert_eq!(offsets, [0, 1, 2, 3]);
            assert!(records
                .iter()
                .all(|r| batches.iter().any(|b| b.base_timestamp == r.1)));
        }
        // librdkafka writes raw snappy, unlike Java.
        assert!(!KCAT[2].1[HEADER_LEN..].starts_with(XERIAL_MAGIC));
    }

    #[test]
    fn java_segments_decode() {
        for (codec, segment) in JAVA {
            let (batches, records) = decode(segment);
            assert_eq!(batches.len(), 1);
            let batch = &batches[0];
            assert_eq!(batch.compression, codec);
            assert!(batch.producer_id >= 0, "the Java producer is idempotent");
            assert_eq!((batch.producer_epoch, batch.base_sequence), (0, 0));
            let keys_values: Vec<_> = records
                .iter()
                .map(|r| (r.0, r.2.clone(), r.3.clone()))
                .collect();
            assert_eq!(
                keys_values,
                [
                    (0, some(b"k1"), some(b"hello")),
                    (1, some(b"k2"), some(b"world world world world world world"))
                ],
                "{}",
                codec.name()
            );
            // Typed a moment apart: the second record's timestamp is a positive delta.
            assert_eq!(records[0].1, batch.base_timestamp);
            assert_eq!(records[1].1, batch.max_timestamp);
            assert!(records[1].1 > records[0].1);
        }
        assert!(JAVA[1].1[HEADER_LEN..].starts_with(XERIAL_MAGIC));
    }

    #[test]
    fn a_committed_transaction_ends_with_a_commit_marker() {
        let (batches, records) = decode(JAVA_TRANSACTION);
        assert_eq!(batches.len(), 3);
        assert!(batches.iter().all(|b| b.is_transactional));
        let control: Vec<bool> = batches.iter().map(|b| b.is_control).collect();
        assert_eq!(control, [false, false, true]);
        let mut scratch = Vec::new();
        let types: Vec<_> = batches
            .iter()
            .map(|b| b.control_type(&mut scratch, &LIMITS).unwrap())
            .collect();
        assert_eq!(types, [None, None, Some(ControlType::Commit)]);
        assert_eq!(batches[2].next_offset(), 4);
        let data: Vec<_> = records[..3].iter().map(|r| (r.0, r.3.clone())).collect();
        assert_eq!(data, [(0, some(b"0")), (1, some(b"1")), (2, some(b"2"))]);
    }

    #[test]
    fn an_abort_marker_reads_as_abort() {
        let key = [0, 0, 0, 0]; // version 0, type 0
        let mut batch = encode(
            &[OutRecord {
                key: Some(&key),
                value: Some(&[0, 0, 0, 0, 0, 0]),
            }],
            Compression::None,
        );
        batch[ATTRIBUTES_AT + 1] |= (TRANSACTIONAL | CONTROL) as u8;
        reseal(&mut batch);
        let (batches, _) = decode(&batch);
        let control_type = batches[0].control_type(&mut Vec::new(), &LIMITS);
        assert_eq!(control_type, Ok(Some(ControlType::Abort)));

        batch[HEADER_LEN + 5] = 0xff; // version -1
        reseal(&mut batch);
        let (batches, _) = decode(&batch);
        assert!(batches[0].control_type(&mut Vec::new(), &LIMITS).is_err());
    }

    #[test]
    fn log_append_time_gives_every_record_the_brokers_time() {
        let records = [
            OutRecord {
                key: None,
                value: Some(b"a"),
            },
            OutRecord {
                key: None,
                value: Some(b"b"),
            },
        ];
        let mut batch = encode(&records, Compression::Gzip);
        batch[ATTRIBUTES_AT + 1] |= LOG_APPEND_TIME as u8;
        batch[35..43].copy_from_slice(&1_800_000_000_000i64.to_be_bytes());
        reseal(&mut batch);
        let (_, decoded) = decode(&batch);
        assert!(decoded.iter().all(|r| r.1 == 1_800_000_000_000));
    }

    #[test]
    fn a_batch_cut_anywhere_is_truncated_not_an_error() {
        let encoded = encode(
            &[OutRecord {
                key: Some(b"k"),
                value: Some(b"v"),
            }],
            Compression::Zstd,
        );
        let segments = KCAT
            .iter()
            .chain(&JAVA)
            .map(|(_, s)| *s)
            .chain([JAVA_TRANSACTION, &encoded[..]]);
        for segment in segments {
            let mut ends = vec![0];
            for batch in Batches::new(segment) {
                ends.push(ends.last().unwrap() + LOG_OVERHEAD + 49 + batch.unwrap().body.len());
            }
            assert_eq!(*ends.last().unwrap(), segment.len());
            for cut in 0..=segment.len() {
                let mut batches = Batches::new(&segment[..cut]);
                let mut whole = 0;
                for batch in batches.by_ref() {
                    batch.unwrap();
                    whole += 1;
                }
                // Exactly the batches that end at or before the cut come out.
                let before_cut = ends[1..].iter().filter(|&&end| end <= cut).count();
                assert_eq!(whole, before_cut, "cut at {cut}");
                assert_eq!(batches.truncated(), !ends.contains(&cut), "cut at {cut}");
            }
        }
    }

    #[test]
    fn a_flipped_byte_fails_the_crc() {
        let encoded = encode(
            &[OutRecord {
                key: None,
                value: Some(b"some value"),
            }],
            Compression::None,
        );
        for segment in [KCAT[1].1, KCAT[4].1, JAVA[1].1, &encoded[..]] {
            for at in CRC_AT..segment.len() {
                let mut damaged = segment.to_vec();
                damaged[at] ^= 0x10;
                assert!(
                    matches!(
                        first_error(&damaged),
                        RecordError::CrcMismatch { offset: 0, .. }
                    ),
                    "flipped byte {at}"
                );
            }
        }
    }

    #[test]
    fn old_message_formats_are_refused_even_when_cut() {
        let mut batch = encode(
            &[OutRecord {
                key: None,
                value: Some(b"v"),
            }],
            Compression::None,
        );
        batch[MAGIC_AT] = 1;
        assert_eq!(first_error(&batch), RecordError::UnsupportedMagic(1));
        assert_eq!(
            first_error(&batch[..MAGIC_AT + 1]),
            RecordError::UnsupportedMagic(1)
        );
    }

    /// A one-record uncompressed batch whose header or record the test then edits.
    fn plain() -> Vec<u8> {
        encode(
            &[OutRecord {
                key: Some(b"key"),
                value: Some(b"value"),
            }],
            Compression::None,
        )
    }

    #[test]
    fn huge_counts_and_lengths_are_errors_not_allocations() {
        let mut batch = plain();
        batch[57..61].copy_from_slice(&i32::MAX.to_be_bytes()); // record count
        reseal(&mut batch);
        assert_eq!(corrupt_what(first_error(&batch)), "a record cut short");

        let mut batch = plain();
        batch[57..61].copy_from_slice(&(-1i32).to_be_bytes());
        reseal(&mut batch);
        assert_eq!(corrupt_what(first_error(&batch)), "a negative record count");

        let mut batch = plain();
        batch[57..61].copy_from_slice(&0i32.to_be_bytes());
        reseal(&mut batch);
        assert_eq!(
            corrupt_what(first_error(&batch)),
            "bytes after the last record the header counts"
        );

        // Record: length, attributes, timestamp delta, offset delta, key length (at 65), key.
        let mut batch = plain();
        batch.splice(
            HEADER_LEN + 4..HEADER_LEN + 5,
            [0xfe, 0xff, 0xff, 0xff, 0x07],
        ); // key length i32::MAX
        let len = batch.len() - LOG_OVERHEAD;
        batch[8..12].copy_from_slice(&(len as i32).to_be_bytes());
        reseal(&mut batch);
        assert_eq!(
            corrupt_what(first_error(&batch)),
            "a key, value or header longer than its record"
        );

        let mut batch = plain();
        batch[HEADER_LEN] = 0xfe; // record length, now 2^31 - 1
        batch.splice(HEADER_LEN + 1..HEADER_LEN + 1, [0xff, 0xff, 0xff, 0x0f]);
        let len = batch.len() - LOG_OVERHEAD;
        batch[8..12].copy_from_slice(&(len as i32).to_be_bytes());
        reseal(&mut batch);
        assert_eq!(
            corrupt_what(first_error(&batch)),
            "a record longer than its batch"
        );

        let mut batch = plain();
        let last = batch.len() - 1; // header count
        batch[last] = 0xfe;
        batch.extend([0xff, 0xff, 0xff, 0x07]);
        let len = batch.len() - LOG_OVERHEAD;
        batch[8..12].copy_from_slice(&(len as i32).to_be_bytes());
        batch[HEADER_LEN] += 8; // record length covers the new bytes
        reseal(&mut batch);
        assert_eq!(corrupt_what(first_error(&batch)), "a record cut short");

        // A batch that claims 2 GiB only means the data was cut.
        let mut batch = plain();
        batch[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
        let mut batches = Batches::new(&batch);
        assert!(batches.next().is_none() && batches.truncated());

        let mut batch = plain();
        batch[8..12].copy_from_slice(&48i32.to_be_bytes());
        assert_eq!(
            corrupt_what(first_error(&batch)),
            "a batch length shorter than the batch header"
        );
    }

    #[test]
    fn impossible_header_fields_are_refused() {
        let mut batch = plain();
        batch[23..27].copy_from_slice(&(-1i32).to_be_bytes());
        reseal(&mut batch);
        assert_eq!(
            corrupt_what(first_error(&batch)),
            "a last offset delta that does not move the offset forward"
        );

        let mut batch = plain();
        batch[..8].copy_from_slice(&(i64::MAX - 1).to_be_bytes());
        batch[23..27].copy_from_slice(&5i32.to_be_bytes());
        reseal(&mut batch);
        assert_eq!(
            corrupt_what(first_error(&batch)),
            "a last offset delta that does not move the offset forward"
        );

        let mut batch = plain();
        batch[..8].copy_from_slice(&(-5i64).to_be_bytes());
        assert_eq!(corrupt_what(first_error(&batch)), "a negative base offset");

        let mut batch = plain();
        batch[ATTRIBUTES_AT + 1] |= 5;
        reseal(&mut batch);
        assert_eq!(
            first_error(&batch),
            RecordError::UnsupportedCompression { offset: 0, code: 5 }
        );
    }

    #[test]
    fn decompression_stops_at_the_limit() {
        let zeros = vec![0u8; 3 << 20];
        let record = [OutRecord {
            key: None,
            value: Some(&zeros),
        }];
        for codec in &CODECS[1..] {
            let batch = encode(&record, *codec);
            let (first, _) = decode(&batch);
            let mut scratch = Vec::new();
            let small = Limits {
                max_decompressed: 1 << 20,
            };
            let e = first[0].records(&mut scratch, &small).err();
            let expected = RecordError::DecompressedTooLarge {
                offset: 0,
                codec: codec.name(),
                limit: 1 << 20,
            };
            assert_eq!(e, Some(expected), "{}", codec.name());
            assert!(scratch.is_empty());
            assert!(
                scratch.capacity() <= 3 << 20,
                "{} buffered {}",
                codec.name(),
                scratch.capacity()
            );
        }
    }

    #[test]
    fn snappy_and_zstd_headers_claiming_huge_sizes_are_refused_before_allocating() {
        // A raw snappy block claiming 4 GiB - 1 of output.
        let mut batch = plain();
        batch.truncate(HEADER_LEN);
        batch.extend([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
        let len = batch.len() - LOG_OVERHEAD;
        batch[8..12].copy_from_slice(&(len as i32).to_be_bytes());
        batch[ATTRIBUTES_AT + 1] = 2;
        reseal(&mut batch);
        assert!(matches!(
            first_error(&batch),
            RecordError::DecompressedTooLarge {
                codec: "snappy",
                ..
            }
        ));

        // A zstd frame asking for a 1 GiB window (exponent 20).
        batch.truncate(HEADER_LEN);
        batch.extend([0x28, 0xb5, 0x2f, 0xfd, 0x00, 20 << 3, 0x01, 0x00, 0x00]);
        let len = batch.len() - LOG_OVERHEAD;
        batch[8..12].copy_from_slice(&(len as i32).to_be_bytes());
        batch[ATTRIBUTES_AT + 1] = 4;
        reseal(&mut batch);
        match first_error(&batch) {
            RecordError::Decompress {
                codec: "zstd",
                cause,
                ..
            } => assert!(cause.contains("window"), "{cause}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn zstd_windows_come_from_the_frame_header() {
        assert_eq!(
            zstd_window(&[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]),
            Some(1 << 21)
        );
        assert_eq!(
            zstd_window(&[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x5b]),
            Some((1 << 21) + 3 * (1 << 18))
        );
        // Single segment, 2-byte content size (plus 256), no dictionary.
        assert_eq!(
            zstd_window(&[0x28, 0xb5, 0x2f, 0xfd, 0x60, 0x10, 0x00]),
            Some(0x10 + 256)
        );
        // Single segment, 1-byte dictionary id, 4-byte content size.
        assert_eq!(
            zstd_window(&[0x28, 0xb5, 0x2f, 0xfd, 0xa1, 0x07, 0x01, 0x02, 0x03, 0x04]),
            Some(0x0403_0201)
        );
        assert_eq!(zstd_window(&[0x28, 0xb5, 0x2f, 0xfd, 0x00]), None);
    }

    #[test]
    fn messages_name_the_codec_and_the_offset() {
        let e = RecordError::Decompress {
            offset: 1234,
            codec: "lz4",
            cause: "bad block".into(),
        };
        let message = e.to_string();
        assert!(
            message.contains("lz4") && message.contains("1234") && message.contains("bad block"),
            "{message}"
        );
        let e = RecordError::CrcMismatch {
            offset: 77,
            stored: 1,
            computed: 2,
        };
        assert!(e.to_string().contains("offset 77"));
    }
}
