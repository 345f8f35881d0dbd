//! Standard base64 with padding (RFC 4648): the encoder the dead letters and the SCRAM login
//! write with, and the strict decoder the SCRAM login reads the broker's salt and signature with.
//! Pure, and small enough not to be worth a dependency.

/// The standard alphabet.
pub const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `bytes` in standard base64, padded.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Strict standard base64: padded to a multiple of 4, `=` only at the end, and no stray
/// bits in the last character, so each byte string has exactly one accepted spelling.
/// The error completes "the broker's salt ...".
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return Err(format!(
            "is not base64: its length {} is not a multiple of 4",
            bytes.len()
        ));
    }
    let padding = bytes.iter().rev().take_while(|&&b| b == b'=').count();
    if padding > 2 {
        return Err("is not base64: it ends in more than two '='".into());
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let body = &bytes[..bytes.len() - padding];
    let mut n: u32 = 0;
    for (i, &b) in body.iter().enumerate() {
        let value = ALPHABET
            .iter()
            .position(|&a| a == b)
            .ok_or_else(|| format!("is not base64: byte {i} ({b:#04x}) is not in the alphabet"))?;
        n = (n << 6) | value as u32;
        if i % 4 == 3 {
            out.extend_from_slice(&n.to_be_bytes()[1..]);
            n = 0;
        }
    }
    let tail = body.len() % 4;
    match tail {
        0 => {}
        2 if n & 0xf == 0 => out.push((n >> 4) as u8),
        3 if n & 0x3 == 0 => out.extend_from_slice(&((n >> 2) as u16).to_be_bytes()),
        _ => return Err("is not base64: its last character carries stray bits".into()),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_rfc4648_vectors_and_every_length() {
        // RFC 4648 section 10.
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(encode(plain.as_bytes()), encoded, "encode({plain:?})");
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        for len in 0..all.len() {
            let encoded = encode(&all[..len]);
            assert_eq!(decode(&encoded).unwrap(), &all[..len], "{encoded}");
        }
        assert_eq!(encode(&[0xff, 0xfe, 0x00]), "//4A");
        assert_eq!(encode(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn decoding_refuses_every_other_spelling() {
        for bad in [
            "Zg=", "Zg", "Z===", "====", "Zg==Zg==", "Zm9v!", "Zm9v\n", "Zh==", "Zm9=", "Zm-_",
            " Zg=",
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
    }
}
