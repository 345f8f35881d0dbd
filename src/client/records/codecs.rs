//! The four codecs of a batch's records: compressing as Kafka's Java client frames them,
//! decompressing whatever a producer framed, never past a cap.

use std::io::{self, Read, Write};

use super::*;

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

/// Why decompression stopped.
pub(super) enum Failure {
    TooLarge,
    Codec(String),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Codec(e.to_string())
    }
}

/// Appends the decompressed `body` to `out`, which must not grow beyond `cap` bytes.
pub(super) fn decompress(
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
pub(super) fn zstd_window(frame: &[u8]) -> Option<u64> {
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
