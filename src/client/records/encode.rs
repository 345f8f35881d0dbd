//! Writing one record batch (magic v2): header, CRC-32C, records, compressed by a
//! [`Compressor`].

use super::*;

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

/// Whether a batch `encode_batch` wrote carries a producer id (idempotent).
pub fn is_idempotent(batch: &[u8]) -> bool {
    batch.len() >= HEADER_LEN && be_i64_at(batch, PRODUCER_ID_AT) >= 0
}

/// Marks a batch `encode_batch` wrote as part of a transaction, and seals it again.
pub fn mark_transactional(batch: &mut [u8]) {
    if batch.len() < HEADER_LEN {
        return;
    }
    batch[ATTRIBUTES_AT + 1] |= TRANSACTIONAL as u8;
    let crc = crc32c::crc32c(&batch[ATTRIBUTES_AT..]);
    batch[CRC_AT..ATTRIBUTES_AT].copy_from_slice(&crc.to_be_bytes());
}

/// Gives a batch `encode_batch` wrote new producer ids and sequence, and seals it again.
pub fn restamp(batch: &mut [u8], ids: ProducerIds) {
    if batch.len() < HEADER_LEN {
        return;
    }
    batch[PRODUCER_ID_AT..PRODUCER_ID_AT + 8].copy_from_slice(&ids.id.to_be_bytes());
    batch[PRODUCER_ID_AT + 8..PRODUCER_ID_AT + 10].copy_from_slice(&ids.epoch.to_be_bytes());
    batch[PRODUCER_ID_AT + 10..PRODUCER_ID_AT + 14]
        .copy_from_slice(&ids.base_sequence.to_be_bytes());
    let crc = crc32c::crc32c(&batch[ATTRIBUTES_AT..]);
    batch[CRC_AT..ATTRIBUTES_AT].copy_from_slice(&crc.to_be_bytes());
}

fn be_i64_at(b: &[u8], at: usize) -> i64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(bytes)
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
pub(super) struct Writer<'b> {
    pub(super) buf: &'b mut [u8],
    pub(super) pos: usize,
}

impl Writer<'_> {
    #[inline(always)]
    pub(super) fn byte(&mut self, b: u8) {
        self.buf[self.pos] = b;
        self.pos += 1;
    }

    #[inline(always)]
    pub(super) fn varint(&mut self, n: i32) {
        let mut v = zigzag(n);
        while v >= 0x80 {
            self.byte(v as u8 | 0x80);
            v >>= 7;
        }
        self.byte(v as u8);
    }

    #[inline(always)]
    pub(super) fn nullable(&mut self, bytes: Option<&[u8]>) {
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
pub(super) fn varint_len(n: i32) -> usize {
    let bits = 32 - zigzag(n).leading_zeros() as usize;
    bits.max(1).div_ceil(7)
}
