//! Kafka's record batch format (magic v2, KIP-98): the bytes a produce request carries and a fetch
//! response returns. [`encode_batch`] writes one batch; [`Batches`] walks the batches of fetched
//! bytes and [`Batch::records`] the records of one. Pure: bytes in, values out, no I/O.
//!
//! Fetched bytes are untrusted. Every length read from them is checked against the bytes that
//! are really there before it is used, nothing is allocated in proportion to a number the data
//! claims, and decompression stops at [`Limits::max_decompressed`]. Kafka 4 dropped the older
//! message formats (v0, v1), so they are refused rather than decoded.

use std::fmt;
use std::io::{self, Read, Write};

/// A batch's header, from its base offset to its record count, is 61 bytes.
const HEADER_LEN: usize = 61;
/// Base offset and batch length: the part of the header the batch length does not count.
const LOG_OVERHEAD: usize = 12;
const MAGIC_AT: usize = 16;
const CRC_AT: usize = 17;
/// The CRC covers everything from the attributes to the end of the batch.
const ATTRIBUTES_AT: usize = 21;
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

/// Appends one complete batch (base offset 0, all records with timestamp `timestamp_ms`
/// (CreateTime), offset deltas 0..n, no headers) to `out`. On error `out` is left as it was.
pub fn encode_batch(
    out: &mut Vec<u8>,
    records: &[OutRecord<'_>],
    timestamp_ms: i64,
    compression: Compression,
    compressor: Compressor,
    ids: ProducerIds,
) -> Result<(), RecordError> {
    if records.is_empty() {
        return Err(RecordError::EmptyBatch);
    }
    let count = to_i32(records.len(), "the number of records in a batch")?;
    let records_len = encoded_records_len(records)?;
    let start = out.len();
    // Compressed records go through a buffer of their own; `out` gets what they shrink to.
    let inline_len = if compression == Compression::None {
        records_len
    } else {
        0
    };
    out.reserve(HEADER_LEN + inline_len);
    out.extend_from_slice(&0i64.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes()); // batch length, set below
    out.extend_from_slice(&NO_PARTITION_LEADER_EPOCH.to_be_bytes());
    out.push(MAGIC as u8);
    out.extend_from_slice(&0u32.to_be_bytes()); // CRC, set below
    out.extend_from_slice(&compression.code().to_be_bytes());
    out.extend_from_slice(&(count - 1).to_be_bytes()); // last offset delta
    out.extend_from_slice(&timestamp_ms.to_be_bytes()); // base timestamp
    out.extend_from_slice(&timestamp_ms.to_be_bytes()); // max timestamp
    out.extend_from_slice(&ids.id.to_be_bytes());
    out.extend_from_slice(&ids.epoch.to_be_bytes());
    out.extend_from_slice(&ids.base_sequence.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());

    let written = if compression == Compression::None {
        let at = out.len();
        out.resize(at + records_len, 0);
        put_records(&mut out[at..], records);
        Ok(())
    } else {
        let mut raw = vec![0; records_len];
        put_records(&mut raw, records);
        compressor(compression, &raw, out)
    };
    let batch_len = written.and_then(|()| to_i32(out.len() - start - LOG_OVERHEAD, "a batch"));
    let batch_len = match batch_len {
        Ok(len) => len,
        Err(e) => {
            out.truncate(start);
            return Err(e);
        }
    };
    out[start + 8..start + 12].copy_from_slice(&batch_len.to_be_bytes());
    let crc = crc32c::crc32c(&out[start + ATTRIBUTES_AT..]);
    out[start + CRC_AT..start + ATTRIBUTES_AT].copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

fn to_i32(size: usize, what: &'static str) -> Result<i32, RecordError> {
    i32::try_from(size).map_err(|_| RecordError::TooLarge {
        what,
        size,
        limit: i32::MAX as usize,
    })
}

/// The size of the records section, checking every length fits the format's i32 fields.
fn encoded_records_len(records: &[OutRecord<'_>]) -> Result<usize, RecordError> {
    let mut total = 0usize;
    for (delta, record) in records.iter().enumerate() {
        for bytes in [record.key, record.value].into_iter().flatten() {
            to_i32(bytes.len(), "a key or value")?;
        }
        let body = record_body_len(delta as i32, record);
        total = total.saturating_add(varint_len(to_i32(body, "a record")?) + body);
    }
    to_i32(total, "the records of a batch")?;
    Ok(total)
}

/// A record's length without its own length field; keys and values must fit an i32.
#[inline]
fn record_body_len(offset_delta: i32, record: &OutRecord<'_>) -> usize {
    let field = |bytes: Option<&[u8]>| {
        bytes.map_or(varint_len(-1), |b| varint_len(b.len() as i32) + b.len())
    };
    // attributes, timestamp delta 0, offset delta, key, value, header count 0
    1 + 1 + varint_len(offset_delta) + field(record.key) + field(record.value) + 1
}

/// Writes the records `encoded_records_len` has checked and measured into `buf`, of that size.
fn put_records(buf: &mut [u8], records: &[OutRecord<'_>]) {
    let mut w = Writer { buf, pos: 0 };
    for (delta, record) in records.iter().enumerate() {
        let delta = delta as i32;
        w.varint(record_body_len(delta, record) as i32);
        w.byte(0); // attributes: unused
        w.byte(0); // timestamp delta: every record has the batch's timestamp
        w.varint(delta);
        w.nullable(record.key);
        w.nullable(record.value);
        w.byte(0); // no headers
    }
    debug_assert_eq!(w.pos, w.buf.len());
}

/// Writes into a slice sized in advance: cheaper per byte than pushing onto a `Vec`.
struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl Writer<'_> {
    #[inline(always)]
    fn byte(&mut self, b: u8) {
        self.buf[self.pos] = b;
        self.pos += 1;
    }

    #[inline(always)]
    fn varint(&mut self, n: i32) {
        let mut v = zigzag(n);
        while v >= 0x80 {
            self.byte(v as u8 | 0x80);
            v >>= 7;
        }
        self.byte(v as u8);
    }

    #[inline(always)]
    fn nullable(&mut self, bytes: Option<&[u8]>) {
        match bytes {
            None => self.varint(-1),
            Some(b) => {
                self.varint(b.len() as i32);
                self.buf[self.pos..self.pos + b.len()].copy_from_slice(b);
                self.pos += b.len();
            }
        }
    }
}

#[inline]
fn zigzag(n: i32) -> u32 {
    ((n << 1) ^ (n >> 31)) as u32
}

#[inline]
fn varint_len(n: i32) -> usize {
    let bits = 32 - zigzag(n).leading_zeros() as usize;
    bits.max(1).div_ceil(7)
}

/// Compresses `raw` onto the end of `out`, framed as Kafka's Java client frames it.
/// Compresses a batch's records into `out`. [`compress`] knows every codec; a program that never
/// compresses passes [`uncompressed_only`], so no encoder is linked into it.
pub type Compressor = fn(Compression, &[u8], &mut Vec<u8>) -> Result<(), RecordError>;

/// A [`Compressor`] for programs that send only uncompressed batches.
pub fn uncompressed_only(
    codec: Compression,
    _raw: &[u8],
    _out: &mut Vec<u8>,
) -> Result<(), RecordError> {
    Err(RecordError::Compress {
        codec: codec.name(),
        cause: "this program sends uncompressed batches only".into(),
    })
}

/// The [`Compressor`] that knows all four codecs.
pub fn compress(codec: Compression, raw: &[u8], out: &mut Vec<u8>) -> Result<(), RecordError> {
    let failed = |cause: String| RecordError::Compress {
        codec: codec.name(),
        cause,
    };
    match codec {
        Compression::None => out.extend_from_slice(raw),
        Compression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            encoder.write_all(raw).map_err(|e| failed(e.to_string()))?;
            encoder.finish().map_err(|e| failed(e.to_string()))?;
        }
        Compression::Snappy => {
            out.extend_from_slice(XERIAL_MAGIC);
            out.extend_from_slice(&1i32.to_be_bytes()); // version
            out.extend_from_slice(&1i32.to_be_bytes()); // oldest compatible version
            let mut encoder = snap::raw::Encoder::new();
            for block in raw.chunks(XERIAL_BLOCK) {
                let at = out.len();
                out.resize(at + 4 + snap::raw::max_compress_len(block.len()), 0);
                let n = encoder
                    .compress(block, &mut out[at + 4..])
                    .map_err(|e| failed(e.to_string()))?;
                out.truncate(at + 4 + n);
                out[at..at + 4].copy_from_slice(&(n as u32).to_be_bytes());
            }
        }
        Compression::Lz4 => {
            // Independent 64 KiB blocks: what Kafka's Java client writes and reads.
            let info = lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max64KB)
                .block_mode(lz4_flex::frame::BlockMode::Independent);
            let mut encoder = lz4_flex::frame::FrameEncoder::with_frame_info(info, out);
            encoder.write_all(raw).map_err(|e| failed(e.to_string()))?;
            encoder.finish().map_err(|e| failed(e.to_string()))?;
        }
        Compression::Zstd => {
            let level = ruzstd::encoding::CompressionLevel::Fastest;
            out.extend_from_slice(&ruzstd::encoding::compress_to_vec(raw, level));
        }
    }
    Ok(())
}

/// One record batch of fetched bytes, its header decoded and its CRC verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch<'a> {
    pub base_offset: i64,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub compression: Compression,
    pub is_transactional: bool,
    pub is_control: bool,
    /// What the header claims; the records are checked against it as they are read.
    pub record_count: i32,
    max_timestamp: i64,
    log_append_time: bool,
    /// The records section, still compressed when the batch is.
    body: &'a [u8],
}

/// The type of a control batch's marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlType {
    /// The producer's transaction was aborted: its records before this marker are void.
    Abort,
    /// The producer's transaction was committed.
    Commit,
    /// A marker Kafka uses for its own bookkeeping (KRaft's leader change, snapshots, ...).
    Other(i16),
}

impl<'a> Batch<'a> {
    /// Where the next fetch starts: one past the last offset this batch ever held, which
    /// compaction may have removed (so not always the last record's offset + 1).
    pub fn next_offset(&self) -> i64 {
        // Checked when the batch was parsed: cannot overflow.
        self.base_offset + i64::from(self.last_offset_delta) + 1
    }

    /// The batch's records; decompresses into `scratch` when compressed (bounded by `limits`).
    /// Records after an error are not read: the iterator ends.
    pub fn records<'r>(
        &'r self,
        scratch: &'r mut Vec<u8>,
        limits: &Limits,
    ) -> Result<Records<'r>, RecordError> {
        let data: &'r [u8] = match self.compression {
            Compression::None => self.body,
            codec => {
                scratch.clear();
                if let Err(failure) = decompress(codec, self.body, scratch, limits.max_decompressed)
                {
                    // Half a batch is of no use to anyone; what a bomb wrote goes too.
                    scratch.clear();
                    return Err(match failure {
                        Failure::TooLarge => RecordError::DecompressedTooLarge {
                            offset: self.base_offset,
                            codec: codec.name(),
                            limit: limits.max_decompressed,
                        },
                        Failure::Codec(cause) => RecordError::Decompress {
                            offset: self.base_offset,
                            codec: codec.name(),
                            cause,
                        },
                    });
                }
                scratch
            }
        };
        Ok(Records {
            data,
            pos: 0,
            left: self.record_count,
            base_offset: self.base_offset,
            base_timestamp: self.base_timestamp,
            log_append_time: self.log_append_time.then_some(self.max_timestamp),
        })
    }

    /// For a control batch, the type of its marker, read from its one record's key (version
    /// i16, type i16); `None` for a batch of data. Uses `scratch` and `limits` as
    /// [`Batch::records`] does, since nothing forbids a compressed control batch.
    pub fn control_type(
        &self,
        scratch: &mut Vec<u8>,
        limits: &Limits,
    ) -> Result<Option<ControlType>, RecordError> {
        if !self.is_control {
            return Ok(None);
        }
        let corrupt = |what| RecordError::Corrupt {
            offset: self.base_offset,
            what,
        };
        let record = self
            .records(scratch, limits)?
            .next()
            .ok_or(corrupt("a control batch without a record"))??;
        let key = match record.key {
            Some(key) if key.len() >= 4 => key,
            _ => return Err(corrupt("a control record key shorter than 4 bytes")),
        };
        // Newer key versions keep the version 0 layout (Kafka parses them as version 0).
        if i16::from_be_bytes([key[0], key[1]]) < 0 {
            return Err(corrupt("a control record key with a negative version"));
        }
        Ok(Some(match i16::from_be_bytes([key[2], key[3]]) {
            0 => ControlType::Abort,
            1 => ControlType::Commit,
            other => ControlType::Other(other),
        }))
    }
}

/// Walks the batches of a fetch response's `records` bytes. Stops (returns None) at a batch cut
/// off at the end of the data (normal in Kafka) and remembers that in `truncated()`. After an
/// error it returns None.
#[derive(Debug, Clone)]
pub struct Batches<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
    truncated: bool,
}

impl<'a> Batches<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Batches {
            data,
            pos: 0,
            done: false,
            truncated: false,
        }
    }

    /// Whether the walk stopped at a batch cut off by the end of the data. A broker cuts the
    /// last batch to fit the fetch size; when it cut the first, the batch is larger than the
    /// fetch size allows.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    fn next_batch(&mut self) -> Option<Result<Batch<'a>, RecordError>> {
        let data = &self.data[self.pos..];
        if data.is_empty() {
            return None;
        }
        // The magic sits at the same place in every format, so an old one shows even when cut.
        if let Some(&magic) = data.get(MAGIC_AT) {
            if magic as i8 != MAGIC {
                return Some(Err(RecordError::UnsupportedMagic(magic as i8)));
            }
        }
        if data.len() < LOG_OVERHEAD {
            self.truncated = true;
            return None;
        }
        let base_offset = be_i64(data, 0);
        let batch_len = be_i32(data, 8);
        if batch_len < (HEADER_LEN - LOG_OVERHEAD) as i32 {
            return Some(Err(RecordError::Corrupt {
                offset: base_offset,
                what: "a batch length shorter than the batch header",
            }));
        }
        let end = LOG_OVERHEAD + batch_len as usize;
        let Some(batch) = data.get(..end) else {
            self.truncated = true;
            return None;
        };
        self.pos += end;
        Some(parse_batch(batch))
    }
}

impl<'a> Iterator for Batches<'a> {
    type Item = Result<Batch<'a>, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_batch();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

/// Decodes the header of `b`, one whole batch whose length field matches its size.
fn parse_batch(b: &[u8]) -> Result<Batch<'_>, RecordError> {
    let base_offset = be_i64(b, 0);
    let corrupt = |what| {
        Err(RecordError::Corrupt {
            offset: base_offset,
            what,
        })
    };
    let stored = be_i32(b, CRC_AT) as u32;
    let computed = crc32c::crc32c(&b[ATTRIBUTES_AT..]);
    if stored != computed {
        return Err(RecordError::CrcMismatch {
            offset: base_offset,
            stored,
            computed,
        });
    }
    let attributes = be_i16(b, ATTRIBUTES_AT);
    let code = attributes & COMPRESSION_BITS;
    let Some(compression) = Compression::from_code(code) else {
        return Err(RecordError::UnsupportedCompression {
            offset: base_offset,
            code,
        });
    };
    let last_offset_delta = be_i32(b, 23);
    let record_count = be_i32(b, 57);
    if base_offset < 0 {
        return corrupt("a negative base offset");
    }
    // A consumer fetches from next_offset(): it must move forward and stay representable.
    if last_offset_delta < 0
        || base_offset
            .checked_add(i64::from(last_offset_delta) + 1)
            .is_none()
    {
        return corrupt("a last offset delta that does not move the offset forward");
    }
    if record_count < 0 {
        return corrupt("a negative record count");
    }
    Ok(Batch {
        base_offset,
        last_offset_delta,
        base_timestamp: be_i64(b, 27),
        max_timestamp: be_i64(b, 35),
        producer_id: be_i64(b, 43),
        producer_epoch: be_i16(b, 51),
        base_sequence: be_i32(b, 53),
        record_count,
        compression,
        log_append_time: attributes & LOG_APPEND_TIME != 0,
        is_transactional: attributes & TRANSACTIONAL != 0,
        is_control: attributes & CONTROL != 0,
        body: &b[HEADER_LEN..],
    })
}

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(bytes)
}

/// Why decompression stopped.
enum Failure {
    TooLarge,
    Codec(String),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Codec(e.to_string())
    }
}

/// Appends the decompressed `body` to `out`, which must not grow beyond `cap` bytes.
fn decompress(
    codec: Compression,
    body: &[u8],
    out: &mut Vec<u8>,
    cap: usize,
) -> Result<(), Failure> {
    match codec {
        Compression::None => read_capped(body, out, cap),
        Compression::Gzip => read_capped(flate2::read::MultiGzDecoder::new(body), out, cap),
        Compression::Snappy => match body.strip_prefix(XERIAL_MAGIC) {
            // librdkafka writes raw snappy, Java's client the xerial framing.
            None => unsnappy_block(body, out, cap),
            Some(framed) => {
                let mut rest = framed
                    .get(XERIAL_HEADER_LEN - XERIAL_MAGIC.len()..)
                    .ok_or_else(|| Failure::Codec("xerial header cut short".into()))?;
                while !rest.is_empty() {
                    let cut = || Failure::Codec("xerial block cut short".into());
                    let len = rest.get(..4).ok_or_else(cut)?;
                    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
                    let block = rest[4..].get(..len).ok_or_else(cut)?;
                    unsnappy_block(block, out, cap)?;
                    rest = &rest[4 + len..];
                }
                Ok(())
            }
        },
        Compression::Lz4 => read_capped(lz4_flex::frame::FrameDecoder::new(body), out, cap),
        Compression::Zstd => {
            // Kafka's zstd streams may hold several frames; the decoder reads one at a time.
            let mut rest = body;
            while !rest.is_empty() {
                if let Some(window) = zstd_window(rest) {
                    let allowed = (cap as u64).max(ZSTD_MIN_WINDOW_ALLOWED);
                    if window > allowed {
                        return Err(Failure::Codec(format!(
                            "a zstd frame asks for a {window}-byte window, more than {allowed}"
                        )));
                    }
                }
                let decoder = ruzstd::decoding::StreamingDecoder::new(&mut rest)
                    .map_err(|e| Failure::Codec(e.to_string()))?;
                read_capped(decoder, out, cap)?;
            }
            Ok(())
        }
    }
}

/// Reads all of `reader` onto `out`, never past one byte more than `cap` in all.
fn read_capped(reader: impl Read, out: &mut Vec<u8>, cap: usize) -> Result<(), Failure> {
    let room = cap.saturating_sub(out.len()) as u64;
    reader.take(room + 1).read_to_end(out)?;
    if out.len() > cap {
        return Err(Failure::TooLarge);
    }
    Ok(())
}

fn unsnappy_block(block: &[u8], out: &mut Vec<u8>, cap: usize) -> Result<(), Failure> {
    let codec = |e: snap::Error| Failure::Codec(e.to_string());
    let len = snap::raw::decompress_len(block).map_err(codec)?;
    if len > cap.saturating_sub(out.len()) {
        return Err(Failure::TooLarge);
    }
    let at = out.len();
    out.resize(at + len, 0);
    let n = snap::raw::Decoder::new()
        .decompress(block, &mut out[at..])
        .map_err(codec)?;
    out.truncate(at + n);
    Ok(())
}

/// The window a zstd frame makes its decoder keep (RFC 8878, 3.1.1.1), which bounds the
/// decoder's memory independently of how much we read from it; `None` when the header is cut.
fn zstd_window(frame: &[u8]) -> Option<u64> {
    let descriptor = *frame.get(4)?;
    if descriptor & 0x20 == 0 {
        let window_descriptor = *frame.get(5)?;
        let base = 1u64 << (10 + (window_descriptor >> 3));
        return Some(base + base / 8 * u64::from(window_descriptor & 7));
    }
    // A single-segment frame's window is its content size.
    let dictionary_id_len = [0, 1, 2, 4][usize::from(descriptor & 3)];
    let content_size_len = [1, 2, 4, 8][usize::from(descriptor >> 6)];
    let at = 5 + dictionary_id_len;
    let field = frame.get(at..at + content_size_len)?;
    let size = field
        .iter()
        .rev()
        .fold(0u64, |size, &b| size << 8 | u64::from(b));
    Some(if content_size_len == 2 {
        size + 256
    } else {
        size
    })
}

/// One record of a batch; `None` is Kafka's null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'r> {
    pub offset: i64,
    /// Milliseconds since the epoch: the producer's, or the broker's for LogAppendTime topics.
    pub timestamp: i64,
    pub key: Option<&'r [u8]>,
    pub value: Option<&'r [u8]>,
}

/// The records of one batch, from [`Batch::records`]. Yields exactly the count the header
/// claims, then an error if bytes remain; ends after any error.
#[derive(Debug, Clone)]
pub struct Records<'r> {
    data: &'r [u8],
    pos: usize,
    left: i32,
    base_offset: i64,
    base_timestamp: i64,
    /// With LogAppendTime every record has the broker's time, the batch's max timestamp.
    log_append_time: Option<i64>,
}

impl<'r> Iterator for Records<'r> {
    type Item = Result<Record<'r>, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left <= 0 {
            if self.left == 0 && self.pos < self.data.len() {
                self.left = -1;
                return Some(Err(
                    self.corrupt("bytes after the last record the header counts")
                ));
            }
            return None;
        }
        match self.read_record() {
            Ok(record) => {
                self.left -= 1;
                Some(Ok(record))
            }
            Err(what) => {
                self.left = -1;
                Some(Err(self.corrupt(what)))
            }
        }
    }
}

impl<'r> Records<'r> {
    fn corrupt(&self, what: &'static str) -> RecordError {
        RecordError::Corrupt {
            offset: self.base_offset,
            what,
        }
    }

    fn read_record(&mut self) -> Result<Record<'r>, &'static str> {
        let mut outer = Cursor {
            data: self.data,
            pos: self.pos,
        };
        let len = outer.varint()?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| outer.pos.checked_add(len))
            .filter(|&end| end <= self.data.len())
            .ok_or(if len < 0 {
                "a negative record length"
            } else {
                "a record longer than its batch"
            })?;
        let mut c = Cursor {
            data: &self.data[..end],
            pos: outer.pos,
        };
        c.byte()?; // attributes: unused
        let timestamp_delta = c.varlong()?;
        let offset_delta = c.varint()?;
        let key = c.nullable_bytes()?;
        let value = c.nullable_bytes()?;
        let headers = c.varint()?;
        if headers < 0 {
            return Err("a negative header count");
        }
        // Each header takes at least two bytes, so a false count runs out of bytes quickly.
        for _ in 0..headers {
            if c.nullable_bytes()?.is_none() {
                return Err("a header with a null key");
            }
            c.nullable_bytes()?;
        }
        if c.pos != end {
            return Err("a record length that does not match its fields");
        }
        self.pos = end;
        let offset = self
            .base_offset
            .checked_add(i64::from(offset_delta))
            .ok_or("an offset delta past the largest offset")?;
        let timestamp = match self.log_append_time {
            Some(time) => time,
            None => self
                .base_timestamp
                .checked_add(timestamp_delta)
                .ok_or("a timestamp delta past the largest timestamp")?,
        };
        Ok(Record {
            offset,
            timestamp,
            key,
            value,
        })
    }
}

/// Reads the record fields; errors name what was wrong.
struct Cursor<'r> {
    data: &'r [u8],
    pos: usize,
}

impl<'r> Cursor<'r> {
    #[inline(always)]
    fn byte(&mut self) -> Result<u8, &'static str> {
        let b = *self.data.get(self.pos).ok_or("a record cut short")?;
        self.pos += 1;
        Ok(b)
    }

    /// A zigzag varint of at most 5 bytes, as Kafka writes an i32.
    #[inline(always)]
    fn varint(&mut self) -> Result<i32, &'static str> {
        let first = self.byte()?;
        if first < 0x80 {
            return Ok(unzigzag(u32::from(first)));
        }
        let mut v = u32::from(first & 0x7f);
        for shift in [7, 14, 21, 28] {
            let b = self.byte()?;
            if shift == 28 && b > 0x0f {
                return Err("a varint beyond 32 bits");
            }
            v |= u32::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(unzigzag(v));
            }
        }
        Err("a varint beyond 32 bits")
    }

    /// A zigzag varint of at most 10 bytes, as Kafka writes an i64.
    #[inline(always)]
    fn varlong(&mut self) -> Result<i64, &'static str> {
        let first = self.byte()?;
        if first < 0x80 {
            return Ok(i64::from(unzigzag(u32::from(first))));
        }
        let mut v = u64::from(first & 0x7f);
        for shift in (7..64).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err("a varlong beyond 64 bits");
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok((v >> 1) as i64 ^ -((v & 1) as i64));
            }
        }
        Err("a varlong beyond 64 bits")
    }

    /// Length-prefixed bytes; length -1 is null.
    #[inline(always)]
    fn nullable_bytes(&mut self) -> Result<Option<&'r [u8]>, &'static str> {
        let len = self.varint()?;
        if len == -1 {
            return Ok(None);
        }
        let len = usize::try_from(len).map_err(|_| "a length below -1")?;
        let bytes = self.data[self.pos..]
            .get(..len)
            .ok_or("a key, value or header longer than its record")?;
        self.pos += len;
        Ok(Some(bytes))
    }
}

#[inline]
fn unzigzag(v: u32) -> i32 {
    (v >> 1) as i32 ^ -((v & 1) as i32)
}

#[cfg(test)]
mod tests {
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
