//! A bounded reader for the responses the client decodes.
//!
//! Requests are encoded by [`super::request`]; responses are read here, with care, because
//! every byte from the network is untrusted: an array count is checked against the bytes left
//! before anything is allocated, a string or bytes length against the same, and every read that
//! runs past the end is an error, never a panic. Values borrow from the frame.

use std::fmt;

/// What was wrong with a response, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub type Result<T> = std::result::Result<T, WireError>;

/// Reads one response body. `flexible` selects the compact encodings of KIP-482 (varint
/// lengths, tagged fields) that newer API versions use.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    flexible: bool,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8], flexible: bool) -> Reader<'a> {
        Reader {
            data,
            pos: 0,
            flexible,
        }
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(WireError(format!(
                "the response ends inside {what} ({n} bytes needed at byte {}, {} left)",
                self.pos,
                self.remaining()
            )));
        }
        let bytes = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub fn i8(&mut self) -> Result<i8> {
        Ok(i8::from_be_bytes(self.array("an int8")?))
    }

    pub fn bool(&mut self) -> Result<bool> {
        Ok(self.i8()? != 0)
    }

    pub fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array("an int16")?))
    }

    pub fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array("an int32")?))
    }

    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array("an int64")?))
    }

    pub fn uuid(&mut self) -> Result<[u8; 16]> {
        self.array("a UUID")
    }

    pub fn uvarint(&mut self) -> Result<u32> {
        let mut value: u32 = 0;
        for shift in (0..35).step_by(7) {
            let byte = self.take(1, "a varint")?[0];
            value |= u32::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WireError(format!(
            "a varint at byte {} is longer than 5 bytes",
            self.pos
        )))
    }

    /// A length that may be null: `None` for -1 (or 0 in the compact form).
    fn length(&mut self, wide: bool, what: &str) -> Result<Option<usize>> {
        let n: i64 = if self.flexible {
            i64::from(self.uvarint()?) - 1
        } else if wide {
            i64::from(self.i32()?)
        } else {
            i64::from(self.i16()?)
        };
        match n {
            -1 => Ok(None),
            n if n < -1 => Err(WireError(format!("{what} has a negative length {n}"))),
            n => Ok(Some(n as usize)),
        }
    }

    pub fn nullable_bytes(&mut self) -> Result<Option<&'a [u8]>> {
        match self.length(true, "a byte string")? {
            None => Ok(None),
            Some(n) => self.take(n, "a byte string").map(Some),
        }
    }

    pub fn nullable_string(&mut self) -> Result<Option<&'a str>> {
        match self.length(false, "a string")? {
            None => Ok(None),
            Some(n) => {
                let bytes = self.take(n, "a string")?;
                std::str::from_utf8(bytes)
                    .map(Some)
                    .map_err(|_| WireError("a string is not UTF-8".into()))
            }
        }
    }

    pub fn string(&mut self) -> Result<&'a str> {
        self.nullable_string()?
            .ok_or_else(|| WireError("a required string is null".into()))
    }

    /// An array's element count, checked against the bytes left: each element needs at least
    /// `min_element` bytes, so a count no response could hold is refused before any allocation.
    pub fn count(&mut self, min_element: usize) -> Result<usize> {
        let n = self.length(true, "an array")?.unwrap_or(0);
        if n.saturating_mul(min_element.max(1)) > self.remaining() {
            return Err(WireError(format!(
                "an array claims {n} elements but only {} bytes follow",
                self.remaining()
            )));
        }
        Ok(n)
    }

    /// The topics -> partitions arrays most answers share: for each topic its name, then each
    /// of its partitions (at least `min_partition` bytes each) read by `partition`, which gets
    /// the topic's name; the topic's tagged fields end it.
    pub fn topics(
        &mut self,
        min_partition: usize,
        mut partition: impl FnMut(&mut Self, &'a str) -> Result<()>,
    ) -> Result<()> {
        let topics = self.count(6)?;
        for _ in 0..topics {
            let name = self.string()?;
            let partitions = self.count(min_partition)?;
            for _ in 0..partitions {
                partition(self, name)?;
            }
            self.tags()?;
        }
        Ok(())
    }

    /// The tagged fields that end a structure, each given to `each` as its tag and bytes.
    pub fn tagged(&mut self, mut each: impl FnMut(u32, &'a [u8]) -> Result<()>) -> Result<()> {
        let n = self.uvarint()?;
        for _ in 0..n {
            let tag = self.uvarint()?;
            let size = self.uvarint()? as usize;
            each(tag, self.take(size, "a tagged field")?)?;
        }
        Ok(())
    }

    /// Skips the tagged fields that end a structure in flexible versions.
    pub fn tags(&mut self) -> Result<()> {
        if !self.flexible {
            return Ok(());
        }
        let n = self.uvarint()?;
        for _ in 0..n {
            self.uvarint()?;
            let size = self.uvarint()? as usize;
            self.take(size, "a tagged field")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_no_response_could_hold_are_refused() {
        let mut r = Reader::new(&[0x7f, 0xff, 0xff, 0xff, 0, 0], false);
        assert!(r.count(4).unwrap_err().0.contains("2147483647 elements"));
        let mut r = Reader::new(&[0, 0, 0, 1, 0, 0, 0, 7], false);
        assert_eq!(r.count(4), Ok(1));
        assert_eq!(r.i32(), Ok(7));
    }

    #[test]
    fn reads_past_the_end_are_errors() {
        let mut r = Reader::new(&[0, 5, b'a'], false);
        assert!(r.string().is_err());
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01], true);
        assert!(r.uvarint().is_err(), "a varint longer than 5 bytes");
        let mut r = Reader::new(&[], true);
        assert!(r.i8().is_err());
    }

    #[test]
    fn compact_forms_and_tags() {
        // Compact string "ab", a null compact string, one tagged field of 2 bytes, an int16.
        let data = [3, b'a', b'b', 0, 1, 7, 2, 9, 9, 0, 42];
        let mut r = Reader::new(&data, true);
        assert_eq!(r.string(), Ok("ab"));
        assert_eq!(r.nullable_string(), Ok(None));
        r.tags().unwrap();
        assert_eq!(r.i16(), Ok(42));
        assert_eq!(r.remaining(), 0);
    }
}
