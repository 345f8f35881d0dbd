//! Standard input as the producer reads it: a block at a time, cut into lines, for both the
//! direct producer and the spool.

use std::io::{self, BufRead};

use crate::error::Error;

/// Bytes of stdin read at a time: the size of a pipe's buffer, so that a full block means the
/// writer has more.
pub const INPUT_BLOCK: usize = 64 << 10;

/// What is done with the lines of the input.
pub trait Lines {
    /// One line, its line end kept, numbered from 1. A last line without an end comes too.
    fn line(&mut self, line: &[u8], number: u64) -> Result<(), Error>;
    /// After a block shorter than [`INPUT_BLOCK`]: the writer paused (a pipe ran dry, a line
    /// typed at a terminal), so what was read goes out before the next read waits.
    fn paused(&mut self) -> Result<(), Error>;
    /// Before a read error ends the input: what was read is settled first.
    fn failed(&mut self) -> Result<(), Error>;
}

/// Reads `stdin` to its end, giving each line to `lines`; a line split across blocks is joined
/// in a buffer kept for the whole input, others are lent from the block as they are.
pub fn read_lines(stdin: &mut dyn BufRead, lines: &mut dyn Lines) -> Result<(), Error> {
    let mut carry = Vec::new();
    let mut number = 0u64;
    loop {
        let block = match stdin.fill_buf() {
            Ok(block) => block,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                lines.failed()?;
                return Err(Error::Io {
                    what: format!("reading standard input after line {number}"),
                    source: e,
                });
            }
        };
        if block.is_empty() {
            if !carry.is_empty() {
                number += 1;
                lines.line(&carry, number)?;
            }
            return Ok(());
        }
        let read = block.len();
        let mut rest = block;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at(end + 1);
            rest = tail;
            number += 1;
            if carry.is_empty() {
                lines.line(line, number)?;
            } else {
                carry.extend_from_slice(line);
                lines.line(&carry, number)?;
                carry.clear();
            }
        }
        carry.extend_from_slice(rest);
        stdin.consume(read);
        if read < INPUT_BLOCK {
            lines.paused()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Seen {
        lines: Vec<(u64, String)>,
        pauses: usize,
    }

    impl Lines for Seen {
        fn line(&mut self, line: &[u8], number: u64) -> Result<(), Error> {
            self.lines
                .push((number, String::from_utf8_lossy(line).into_owned()));
            Ok(())
        }
        fn paused(&mut self) -> Result<(), Error> {
            self.pauses += 1;
            Ok(())
        }
        fn failed(&mut self) -> Result<(), Error> {
            Ok(())
        }
    }

    #[test]
    fn lines_split_across_blocks_are_joined_and_a_last_one_without_an_end_comes_too() {
        let text = "a\nbb\r\n\nccc";
        for capacity in [1, 2, 3, 64] {
            let mut stdin = io::BufReader::with_capacity(capacity, text.as_bytes());
            let mut seen = Seen::default();
            read_lines(&mut stdin, &mut seen).unwrap();
            let expected = [(1, "a\n"), (2, "bb\r\n"), (3, "\n"), (4, "ccc")];
            let expected: Vec<(u64, String)> =
                expected.iter().map(|(n, l)| (*n, l.to_string())).collect();
            assert_eq!(seen.lines, expected, "blocks of {capacity}");
            // Every block here is short: each one is a pause.
            assert!(
                seen.pauses >= text.len().div_ceil(capacity),
                "blocks of {capacity}"
            );
        }
    }
}
