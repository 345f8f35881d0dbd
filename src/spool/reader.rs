//! Reading a spool in spool order from a position: the forwarder's side.
//!
//! A reader owns its files and borrows nothing from the open spool, so a forwarder on another
//! thread reads while the producer appends. It reads only below the end it was given (the
//! spool's durable position): those entries are whole on disk, so any bad entry it meets is
//! damage, never a tail still being written. Between segments it lists the directory again, so
//! segments rolled after it was made are found; sequence numbers no segment holds (a segment
//! quarantined or forgotten) are stepped over with a warning.

use std::path::{Path, PathBuf};

use super::files::list;
use super::format::{segment_name, Position};
use super::scan::{Scan, Step};
use crate::error::Error;

/// One entry read from the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry's own place; [`Entry::next`] is the position to commit once it is forwarded.
    pub position: Position,
    pub payload: Vec<u8>,
}

impl Entry {
    /// The position right after this entry: resuming there yields the entries after it.
    pub fn next(&self) -> Position {
        Position::at(self.position.seq() + 1)
    }
}

/// Entries in spool order from a position up to an end, as an iterator of results. After an
/// error it yields nothing more: a damaged entry stays damaged until its segment is moved aside.
#[derive(Debug)]
pub struct Reader {
    dir: PathBuf,
    next: u64,
    end: u64,
    current: Option<Current>,
    failed: bool,
}

/// The segment being read.
#[derive(Debug)]
struct Current {
    first: u64,
    /// The sequence number of the entry the walk reads next.
    seq: u64,
    scan: Scan,
}

impl Reader {
    /// A reader of `dir` from `from` up to (not including) `end`. Files are opened on the first
    /// read.
    pub(super) fn new(dir: &Path, from: Position, end: Position) -> Reader {
        Reader {
            dir: dir.to_path_buf(),
            next: from.seq(),
            end: end.seq(),
            current: None,
            failed: false,
        }
    }

    /// Where the reader is: the entry it yields next, or the end.
    pub fn position(&self) -> Position {
        Position::at(self.next)
    }

    /// Reads further, up to a later end (the spool's durable position now); an earlier one is
    /// ignored.
    pub fn extend_to(&mut self, end: Position) {
        self.end = self.end.max(end.seq());
    }

    fn advance(&mut self) -> Result<Option<Entry>, Error> {
        loop {
            if self.next >= self.end {
                return Ok(None);
            }
            let current = match &mut self.current {
                Some(current) => current,
                None => {
                    let current = self.open_segment(None)?;
                    self.current.insert(current)
                }
            };
            match current.scan.step()? {
                Step::Entry => {
                    let seq = current.seq;
                    current.seq += 1;
                    if seq == self.next {
                        self.next += 1;
                        let payload = current.scan.take_payload();
                        return Ok(Some(Entry {
                            position: Position::at(seq),
                            payload,
                        }));
                    }
                }
                Step::Bad { offset, reason, .. } => {
                    return Err(Error::SpoolDamaged {
                        file: self.dir.join(segment_name(current.first)),
                        offset,
                        reason,
                    })
                }
                Step::End => {
                    current.scan.refresh()?;
                    if current.scan.len() <= current.scan.offset() {
                        let done = (current.first, current.seq);
                        self.current = None;
                        let next = self.open_segment(Some(done))?;
                        self.current = Some(next);
                    }
                }
            }
        }
    }

    /// Opens the segment that holds `self.next`, or the first one after it (stepping over the
    /// sequence numbers between, with a warning). `after` is the segment just read to its end
    /// (first sequence number, and the one after its last entry): only later segments count.
    fn open_segment(&mut self, after: Option<(u64, u64)>) -> Result<Current, Error> {
        let listing = list(&self.dir)?;
        let later = |first: u64| after.is_none_or(|(done, _)| first > done);
        let holding = listing
            .segments
            .range(..=self.next)
            .rev()
            .map(|(&first, _)| first)
            .find(|&first| later(first));
        let first = match holding {
            Some(first) => first,
            None => {
                let Some((&first, _)) = listing.segments.range(self.next + 1..).next() else {
                    return Err(Error::Spool {
                        path: self.dir.clone(),
                        reason: format!(
                            "no segment holds entries #{} to #{}, which should be there",
                            self.next, self.end
                        ),
                    });
                };
                log::warn!(
                    "spool {}: entries #{} to #{} are not in the spool (quarantined or \
                     deleted); going on at #{first}",
                    self.dir.display(),
                    self.next,
                    first - 1,
                );
                self.next = first;
                first
            }
        };
        if let Some((done, done_next)) = after {
            if first < done_next {
                return Err(Error::SpoolDamaged {
                    file: self.dir.join(segment_name(first)),
                    offset: 0,
                    reason: format!(
                        "it starts at #{first}, but segment {} holds entries up to #{}",
                        segment_name(done),
                        done_next - 1
                    ),
                });
            }
        }
        let scan = Scan::open(&self.dir.join(segment_name(first)), first)?;
        Ok(Current {
            first,
            seq: first,
            scan,
        })
    }
}

impl Iterator for Reader {
    type Item = Result<Entry, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.advance() {
            Ok(entry) => entry.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
