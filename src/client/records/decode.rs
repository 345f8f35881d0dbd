//! Walking fetched bytes: the batches, each header decoded and its CRC checked, and the
//! records of one, every length checked against the bytes that are there.

use super::codecs::{decompress, Failure};
use super::*;

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
    pub(super) max_timestamp: i64,
    log_append_time: bool,
    /// The records section, still compressed when the batch is.
    pub(super) body: &'a [u8],
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

/// The offset after the last whole batch of `data`, read from the batch headers alone (no CRC,
/// no records): where a reader of all of `data` ends up. `None` when no whole batch is there.
pub fn end_offset(data: &[u8]) -> Option<i64> {
    let mut pos = 0;
    let mut end = None;
    while let Some(head) = data.get(pos..pos + HEADER_LEN) {
        let batch_len = be_i32(head, 8);
        if batch_len < (HEADER_LEN - LOG_OVERHEAD) as i32 {
            break;
        }
        let next = pos + LOG_OVERHEAD + batch_len as usize;
        if next > data.len() {
            break;
        }
        end = Some(be_i64(head, 0) + i64::from(be_i32(head, LAST_OFFSET_DELTA_AT)) + 1);
        pos = next;
    }
    end
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
pub(super) struct Cursor<'r> {
    pub(super) data: &'r [u8],
    pub(super) pos: usize,
}

impl<'r> Cursor<'r> {
    #[inline(always)]
    pub(super) fn byte(&mut self) -> Result<u8, &'static str> {
        let b = *self.data.get(self.pos).ok_or("a record cut short")?;
        self.pos += 1;
        Ok(b)
    }

    /// A zigzag varint of at most 5 bytes, as Kafka writes an i32.
    #[inline(always)]
    pub(super) fn varint(&mut self) -> Result<i32, &'static str> {
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
    pub(super) fn varlong(&mut self) -> Result<i64, &'static str> {
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
    pub(super) fn nullable_bytes(&mut self) -> Result<Option<&'r [u8]>, &'static str> {
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
