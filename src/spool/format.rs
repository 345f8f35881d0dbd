//! The spool's bytes on disk, as pure functions over bytes and names: the format file, segment
//! names and headers, entry frames, and [`Position`], the one number a forwarder commits.
//!
//! Nothing here opens a file, so every rule about what a byte may be is stated once and can be
//! checked without a disk. The layout itself is described in the [module docs](super).

use std::fmt;

/// The format this program writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
/// The directory's format file: one line, [`META_PREFIX`] and the version.
pub const META_FILE: &str = "spool.meta";
/// The first words of the format file, so a stray file of that name is not taken for a spool's.
pub const META_PREFIX: &str = "order-spool format ";
/// The spool's transactional id, for the forwarder's Kafka transactions.
pub const ID_FILE: &str = "transactional-id";
/// Held with an exclusive lock while a spool is open.
pub const LOCK_FILE: &str = "lock";

/// The first bytes of every segment.
pub const SEGMENT_MAGIC: [u8; 4] = *b"OSPL";
/// Magic, format version (u32 LE) and the segment's first sequence number (u64 LE).
pub const SEGMENT_HEADER_LEN: u64 = 16;
/// Length (u32 LE) and CRC32C (u32 LE) before each payload.
pub const FRAME_HEADER_LEN: u64 = 8;
/// The largest payload an entry holds; a length field above it is damage, never a size to
/// allocate. Orders are far smaller ([`crate::order::MAX_ORDER_BYTES`]).
pub const MAX_PAYLOAD: u32 = 1 << 20;

const SEGMENT_SUFFIX: &str = ".seg";
const DAMAGED_SUFFIX: &str = ".seg.damaged";
const NAME_DIGITS: usize = 20;

/// A place in the spool: the sequence number of the next entry to forward. Every entry has its
/// own sequence number, counted from 0 and never reused; a position is "everything below it is
/// done", like a committed Kafka offset, so it is stored as one (see [`Position::offset`]).
///
/// Sequence numbers stay at or below `i64::MAX`, so every position is a valid Kafka offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position(u64);

impl Position {
    /// The start of a spool that never forgot anything.
    pub const START: Position = Position(0);

    /// The position stored as a Kafka offset; `None` for a negative one (Kafka's "no offset").
    pub fn from_offset(offset: i64) -> Option<Position> {
        u64::try_from(offset).ok().map(Position)
    }

    /// The position as a Kafka offset, to commit inside the forwarder's transaction.
    pub fn offset(self) -> i64 {
        // Sequence numbers never pass i64::MAX (`MAX_SEQ`), so this never saturates.
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }

    /// The sequence number of the next entry to forward.
    pub fn seq(self) -> u64 {
        self.0
    }

    pub(super) fn at(seq: u64) -> Position {
        Position(seq)
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The largest sequence number, so that every position fits a Kafka offset.
pub const MAX_SEQ: u64 = i64::MAX as u64;

/// The format file's whole text.
pub fn meta_text() -> String {
    format!("{META_PREFIX}{FORMAT_VERSION}\n")
}

/// The format version a format file names, or why it names none. Only the first line counts,
/// so a newer version may add lines and still be refused in words.
pub fn parse_meta(text: &[u8]) -> Result<u32, String> {
    let line = std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.split_once('\n'))
        .and_then(|(first, _)| first.strip_prefix(META_PREFIX));
    match line.map(str::parse::<u32>) {
        Some(Ok(version)) if version > 0 => Ok(version),
        _ => Err(format!(
            "not a spool format file (expected one line \"{META_PREFIX}<version>\")"
        )),
    }
}

/// The words for a spool made by a newer format version than this program's.
pub fn newer_version(found: u32) -> String {
    format!(
        "made by spool format version {found}, newer than this program's version \
         {FORMAT_VERSION}: use a newer order-producer"
    )
}

/// A segment's file name: its first sequence number in 20 digits, so names sort as numbers.
pub fn segment_name(first: u64) -> String {
    format!("{first:0width$}{SEGMENT_SUFFIX}", width = NAME_DIGITS)
}

/// The name a quarantined segment is moved to.
pub fn damaged_name(first: u64) -> String {
    format!("{first:0width$}{DAMAGED_SUFFIX}", width = NAME_DIGITS)
}

/// The first sequence number a segment's file name gives; `None` for any other file.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    parse_digits(name.strip_suffix(SEGMENT_SUFFIX)?)
}

/// The first sequence number a quarantined segment's file name gives.
pub fn parse_damaged_name(name: &str) -> Option<u64> {
    parse_digits(name.strip_suffix(DAMAGED_SUFFIX)?)
}

fn parse_digits(digits: &str) -> Option<u64> {
    if digits.len() != NAME_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&seq| seq <= MAX_SEQ)
}

/// A segment's header.
pub fn segment_header(first: u64) -> [u8; SEGMENT_HEADER_LEN as usize] {
    let mut header = [0; SEGMENT_HEADER_LEN as usize];
    header[..4].copy_from_slice(&SEGMENT_MAGIC);
    header[4..8].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[8..].copy_from_slice(&first.to_le_bytes());
    header
}

/// What is wrong with a segment's header, if anything.
#[derive(Debug, PartialEq, Eq)]
pub enum BadHeader {
    /// Written by a newer format version: refused, never treated as damage.
    Newer(u32),
    /// Not a header this program writes (the words say what differs).
    Damaged(String),
}

/// Checks a segment's header against the first sequence number its file name gives.
pub fn check_segment_header(header: &[u8], first: u64) -> Result<(), BadHeader> {
    let field = |at: usize| -> [u8; 4] {
        let mut word = [0; 4];
        word.copy_from_slice(&header[at..at + 4]);
        word
    };
    if header.len() != SEGMENT_HEADER_LEN as usize || field(0) != SEGMENT_MAGIC {
        return Err(BadHeader::Damaged("no segment header (bad magic)".into()));
    }
    let version = u32::from_le_bytes(field(4));
    if version > FORMAT_VERSION {
        return Err(BadHeader::Newer(version));
    }
    if version != FORMAT_VERSION {
        return Err(BadHeader::Damaged(format!(
            "unknown segment format version {version}"
        )));
    }
    let mut named = [0; 8];
    named.copy_from_slice(&header[8..16]);
    let named = u64::from_le_bytes(named);
    if named != first {
        return Err(BadHeader::Damaged(format!(
            "the header says the segment starts at #{named}, its name says #{first}"
        )));
    }
    Ok(())
}

/// Appends one entry's frame (length, CRC32C over length and payload, payload) to `out`. The
/// caller has checked the payload's size ([`payload_fits`]).
pub fn encode_frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len())
        .unwrap_or(u32::MAX)
        .to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&frame_crc(len, payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The checksum of a frame: over the length field too, so a damaged length is caught by it.
pub fn frame_crc(len: [u8; 4], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&len), payload)
}

/// Whether an entry's payload length is one this format holds: 1 byte to [`MAX_PAYLOAD`].
/// Zero is never a payload, so a zero-filled tail never reads as entries.
pub fn payload_fits(len: u64) -> bool {
    (1..=u64::from(MAX_PAYLOAD)).contains(&len)
}

/// The size of an entry's frame on disk.
pub fn frame_len(payload_len: usize) -> u64 {
    FRAME_HEADER_LEN + payload_len as u64
}

/// A sequence number above any entry a segment of `len` bytes starting at `first` can hold:
/// every entry takes at least a frame header and one byte. Used where a damaged segment's
/// entries cannot be counted but their numbers must never be given out again.
pub fn seq_bound(first: u64, len: u64) -> u64 {
    let most = len.saturating_sub(SEGMENT_HEADER_LEN) / (FRAME_HEADER_LEN + 1);
    first.saturating_add(most).saturating_add(1).min(MAX_SEQ)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_as_numbers_and_only_our_names_parse() {
        assert_eq!(segment_name(42), "00000000000000000042.seg");
        assert_eq!(parse_segment_name(&segment_name(42)), Some(42));
        assert_eq!(parse_damaged_name(&damaged_name(7)), Some(7));
        for name in [
            "42.seg",
            "0000000000000000004x.seg",
            "00000000000000000042.seg.damaged",
            "99999999999999999999.seg",
            "09223372036854775808.seg",
            "lock",
        ] {
            assert_eq!(parse_segment_name(name), None, "{name}");
        }
        assert!(segment_name(9) < segment_name(10));
    }

    #[test]
    fn meta_round_trips_and_strangers_are_refused() {
        assert_eq!(parse_meta(meta_text().as_bytes()), Ok(FORMAT_VERSION));
        assert_eq!(parse_meta(b"order-spool format 7\n"), Ok(7));
        assert_eq!(parse_meta(b"order-spool format 8\nsomething new\n"), Ok(8));
        for text in [
            &b""[..],
            b"order-spool format 0\n",
            b"order-spool format 1",
            b"\xff\n",
        ] {
            assert!(parse_meta(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn headers_check_magic_version_and_first() {
        assert_eq!(check_segment_header(&segment_header(5), 5), Ok(()));
        assert!(matches!(
            check_segment_header(&segment_header(5), 6),
            Err(BadHeader::Damaged(_))
        ));
        let mut newer = segment_header(5);
        newer[4] = 9;
        assert_eq!(check_segment_header(&newer, 5), Err(BadHeader::Newer(9)));
        assert!(matches!(
            check_segment_header(&[0; 16], 0),
            Err(BadHeader::Damaged(_))
        ));
        assert!(matches!(
            check_segment_header(&[0; 3], 0),
            Err(BadHeader::Damaged(_))
        ));
    }

    #[test]
    fn a_frame_is_length_crc_payload() {
        let mut out = Vec::new();
        encode_frame(b"abc", &mut out);
        assert_eq!(&out[..4], &3u32.to_le_bytes());
        assert_eq!(
            &out[4..8],
            &frame_crc(3u32.to_le_bytes(), b"abc").to_le_bytes()
        );
        assert_eq!(&out[8..], b"abc");
        assert_eq!(frame_len(3), out.len() as u64);
        assert!(!payload_fits(0) && payload_fits(1) && !payload_fits(u64::from(u32::MAX)));
    }

    #[test]
    fn positions_are_kafka_offsets() {
        assert_eq!(Position::from_offset(-1), None);
        assert_eq!(Position::from_offset(12).map(Position::seq), Some(12));
        assert_eq!(Position::at(12).offset(), 12);
        assert_eq!(seq_bound(10, SEGMENT_HEADER_LEN), 11);
        assert_eq!(seq_bound(10, SEGMENT_HEADER_LEN + 18), 13);
    }
}
