//! Walking one segment's entries from its header on, and the one rule that tells a torn tail
//! from damage.
//!
//! The rule: a bad entry is a *torn tail* when nothing but zero bytes follows it: the file ends
//! inside its header or its payload, or its checksum fails and only zeros (or nothing) come
//! after its end, or its length is impossible and everything from it to the end is zeros (a
//! tail the file system extended but never wrote). A crash in the middle of an append leaves
//! exactly those shapes. Anything else (a bad checksum or an impossible length with other bytes
//! after it) is *damage*: entries may follow it, so nobody may cut there. Only the writer's
//! recovery of the last segment cuts torn tails; everywhere else both are errors.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::format::{
    check_segment_header, frame_crc, payload_fits, BadHeader, FRAME_HEADER_LEN, SEGMENT_HEADER_LEN,
};
use crate::error::Error;

/// One step of a walk through a segment.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// An entry whose checksum holds; its payload is [`Scan::payload`].
    Entry,
    /// The end of the file, right after an entry (or the header).
    End,
    /// A bad entry at `offset`: `torn` when only zeros or nothing follow it (see the module
    /// docs), and why it is bad.
    Bad {
        offset: u64,
        torn: bool,
        reason: String,
    },
}

/// A walk through one segment's entries, reading each payload into one reused buffer whose
/// size never comes from an unchecked length field.
#[derive(Debug)]
pub struct Scan {
    path: PathBuf,
    file: BufReader<File>,
    len: u64,
    offset: u64,
    /// Where the file is read next, so a walk seeks (and drops its buffer) only when it jumps.
    at: u64,
    payload: Vec<u8>,
}

impl Scan {
    /// Opens a segment and checks its header against `first` (from its name). The file's length
    /// is taken now; [`Scan::refresh`] takes it again for a segment that is still growing.
    pub fn open(path: &Path, first: u64) -> Result<Scan, Error> {
        let file = File::open(path).map_err(|e| io_error("opening", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| io_error("reading the size of", path, e))?
            .len();
        let mut scan = Scan {
            path: path.to_path_buf(),
            file: BufReader::new(file),
            len,
            offset: 0,
            at: 0,
            payload: Vec::new(),
        };
        let mut header = [0; SEGMENT_HEADER_LEN as usize];
        let got = scan.read_up_to(&mut header)?;
        check_header(path, &header[..got], first)?;
        scan.offset = SEGMENT_HEADER_LEN;
        Ok(scan)
    }

    /// The byte offset the next entry starts at (after the last good one).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The file's length when last looked at.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Takes out the payload of the entry the last [`Step::Entry`] stood for, leaving an empty
    /// buffer: an entry is handed out without a copy.
    pub fn take_payload(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.payload)
    }

    /// Looks at the file's length again, for a segment a writer appends to.
    pub fn refresh(&mut self) -> Result<(), Error> {
        self.len = self
            .file
            .get_ref()
            .metadata()
            .map_err(|e| io_error("reading the size of", &self.path, e))?
            .len();
        Ok(())
    }

    /// Reads the next entry. After a [`Step::Bad`] the walk stays where the bad entry starts.
    pub fn step(&mut self) -> Result<Step, Error> {
        let start = self.offset;
        let rest = self.len.saturating_sub(start);
        if rest == 0 {
            return Ok(Step::End);
        }
        if rest < FRAME_HEADER_LEN {
            return Ok(self.bad(start, true, "the file ends inside an entry's header"));
        }
        let mut header = [0; FRAME_HEADER_LEN as usize];
        self.seek(start)?;
        self.read_exact(&mut header)?;
        let mut len = [0; 4];
        len.copy_from_slice(&header[..4]);
        let mut crc = [0; 4];
        crc.copy_from_slice(&header[4..]);
        let payload_len = u64::from(u32::from_le_bytes(len));
        if !payload_fits(payload_len) {
            let torn = header == [0; 8] && self.only_zeros_from(start + FRAME_HEADER_LEN)?;
            let reason = format!("impossible entry length {payload_len}");
            return Ok(self.bad(start, torn, &reason));
        }
        if payload_len > rest - FRAME_HEADER_LEN {
            let reason = format!("the file ends inside an entry of {payload_len} bytes");
            return Ok(self.bad(start, true, &reason));
        }
        // Bounded by `payload_fits`: at most MAX_PAYLOAD, and present in the file.
        self.payload.resize(payload_len as usize, 0);
        let mut payload = std::mem::take(&mut self.payload);
        let read = self.read_exact(&mut payload);
        self.payload = payload;
        read?;
        if frame_crc(len, &self.payload) != u32::from_le_bytes(crc) {
            let end = start + FRAME_HEADER_LEN + payload_len;
            let torn = self.only_zeros_from(end)?;
            return Ok(self.bad(start, torn, "checksum mismatch"));
        }
        self.offset = start + FRAME_HEADER_LEN + payload_len;
        Ok(Step::Entry)
    }

    fn bad(&mut self, offset: u64, torn: bool, reason: &str) -> Step {
        self.payload.clear();
        Step::Bad {
            offset,
            torn,
            reason: reason.to_string(),
        }
    }

    /// Whether every byte from `from` to the end is zero, read in small pieces.
    fn only_zeros_from(&mut self, from: u64) -> Result<bool, Error> {
        self.seek(from)?;
        let mut left = self.len.saturating_sub(from);
        let mut piece = [0u8; 4096];
        while left > 0 {
            let want = piece
                .len()
                .min(usize::try_from(left).unwrap_or(piece.len()));
            let got = self.read_up_to(&mut piece[..want])?;
            if got == 0 {
                // Shrunk under us: what is gone holds no entry either.
                return Ok(true);
            }
            if piece[..got].iter().any(|&b| b != 0) {
                return Ok(false);
            }
            left -= got as u64;
        }
        Ok(true)
    }

    fn seek(&mut self, to: u64) -> Result<(), Error> {
        if self.at != to {
            self.file
                .seek(SeekFrom::Start(to))
                .map_err(|e| io_error("seeking in", &self.path, e))?;
            self.at = to;
        }
        Ok(())
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        let got = self.read_up_to(buf)?;
        if got < buf.len() {
            let e = io::Error::new(io::ErrorKind::UnexpectedEof, "the file shrank while read");
            return Err(io_error("reading", &self.path, e));
        }
        Ok(())
    }

    /// Reads until `buf` is full or the file ends; how many bytes came.
    fn read_up_to(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let mut got = 0;
        while got < buf.len() {
            match self.file.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => {
                    got += n;
                    self.at += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error("reading", &self.path, e)),
            }
        }
        Ok(got)
    }
}

/// Whether a file holds nothing but zero bytes (or nothing): what a crash can leave of a segment
/// created just before it, the file's size made durable but not its bytes.
pub fn all_zeros(path: &Path) -> Result<bool, Error> {
    let mut file = File::open(path).map_err(|e| io_error("opening", path, e))?;
    let mut piece = [0u8; 4096];
    loop {
        match file.read(&mut piece) {
            Ok(0) => return Ok(true),
            Ok(n) if piece[..n].iter().any(|&b| b != 0) => return Ok(false),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error("reading", path, e)),
        }
    }
}

/// A segment's header checked, in the library's errors: a newer version is refused, anything
/// else wrong is damage at offset 0.
pub fn check_header(path: &Path, header: &[u8], first: u64) -> Result<(), Error> {
    match check_segment_header(header, first) {
        Ok(()) => Ok(()),
        Err(BadHeader::Newer(version)) => Err(Error::Spool {
            path: path.to_path_buf(),
            reason: super::format::newer_version(version),
        }),
        Err(BadHeader::Damaged(reason)) => Err(Error::SpoolDamaged {
            file: path.to_path_buf(),
            offset: 0,
            reason,
        }),
    }
}

/// An I/O failure on a spool file or directory, naming what was done to which.
pub fn io_error(doing: &str, path: &Path, source: io::Error) -> Error {
    let hint = match source.kind() {
        io::ErrorKind::StorageFull => " (the disk is full)",
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            " (the spool directory must be writable by this user)"
        }
        _ => "",
    };
    Error::Io {
        what: format!("spool: {doing} {}{hint}", path.display()),
        source,
    }
}
