//! The open spool: recovery on open, appending batches, fsync by policy, counting and
//! forgetting what was forwarded.
//!
//! A batch is all or nothing: it is checked against `max_bytes` before a byte is written, and a
//! write or fsync that fails part way is cut back (the segment truncated to where it was, the
//! segments it created deleted), so what an error leaves behind never counts as appended.
//! Appends only ever go to the last segment; older segments were fsynced whole when the next one
//! was created, so only the last one can end in a torn entry, and only there does recovery cut.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::files::{
    check_or_create_meta, create_segment, list, sync_dir, transactional_id, Listing,
};
use super::format::{
    encode_frame, frame_len, payload_fits, segment_header, segment_name, seq_bound, Position,
    FRAME_HEADER_LEN, MAX_PAYLOAD, MAX_SEQ, SEGMENT_HEADER_LEN,
};
use super::lock::{self, Lock};
use super::reader::Reader;
use super::scan::{all_zeros, io_error, Scan, Step};
use crate::error::Error;

/// How much a segment holds before the next one is started, unless set.
pub const DEFAULT_SEGMENT_BYTES: u64 = 8 << 20;
/// How much the spool holds in all (its segments' sizes summed), unless set.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;
/// The smallest `segment_bytes`: a header and one small entry.
pub const MIN_SEGMENT_BYTES: u64 = SEGMENT_HEADER_LEN + FRAME_HEADER_LEN + 1;

/// When appended entries are fsynced, and so when they may be acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fsync {
    /// Before `append` returns: every stored entry is durable at once.
    #[default]
    Batch,
    /// At most once per interval (in `append`, [`Spool::sync_if_due`] or [`Spool::sync`]).
    /// Entries at and past [`Spool::durable`] may be lost on a power cut, so a caller
    /// acknowledges only those below it.
    Interval(Duration),
}

/// How a spool is opened. Every field has a stated default ([`Options::default`]).
#[derive(Debug, Clone)]
pub struct Options {
    /// A segment is rolled before an entry that would take it past this size (a segment holds
    /// at least one entry, so one larger entry makes a larger segment). Default 8 MiB.
    pub segment_bytes: u64,
    /// The most the segments may take in all; an append past it is [`Appended::Full`].
    /// Default 1 GiB.
    pub max_bytes: u64,
    /// Default [`Fsync::Batch`].
    pub fsync: Fsync,
    /// The transactional id to keep; `None` (the default) keeps the stored one, or makes one
    /// on first use.
    pub transactional_id: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            max_bytes: DEFAULT_MAX_BYTES,
            fsync: Fsync::Batch,
            transactional_id: None,
        }
    }
}

/// What became of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Every entry is in the spool, under sequence numbers `first` up to (not including)
    /// `next`. They are durable once below [`Spool::durable`] (at once with [`Fsync::Batch`]).
    Stored { first: Position, next: Position },
    /// Nothing was written: the batch's `needed` bytes would take the spool's `used` bytes past
    /// `max`. Forwarding and [`Spool::forget`] make room; the caller waits or refuses.
    Full { used: u64, needed: u64, max: u64 },
}

/// An open, locked spool directory.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    segment_bytes: u64,
    max_bytes: u64,
    fsync: Fsync,
    id: String,
    files: Listing,
    /// The last segment, the only one appended to.
    active: File,
    active_first: u64,
    next: u64,
    durable: u64,
    last_sync: Instant,
    /// Set when a failed append could not be cut back, or an fsync failed: the files no longer
    /// match what this spool believes, and only a fresh open (recovery) can tell what is there.
    broken: Option<String>,
    _lock: Lock,
}

/// Where a batch began, to cut back to if it fails.
struct Undo {
    active_first: u64,
    active_len: u64,
    next: u64,
    created: Vec<u64>,
}

impl Spool {
    /// Opens (creating if need be) and locks the spool in `dir`, and recovers its last segment:
    /// a torn last entry is cut, with a warning. Refused: a directory in use, not writable, made
    /// by a newer format version, or whose last segment is damaged (see [`super::quarantine`]).
    pub fn open(dir: &Path, options: Options) -> Result<Spool, Error> {
        let Options {
            segment_bytes,
            max_bytes,
            ..
        } = options;
        if segment_bytes < MIN_SEGMENT_BYTES {
            return Err(Error::Spool {
                path: dir.to_path_buf(),
                reason: format!("segment size {segment_bytes} is below {MIN_SEGMENT_BYTES} bytes"),
            });
        }
        let lock = lock::acquire(dir)?;
        let mut files = list(dir)?;
        check_or_create_meta(dir, !files.segments.is_empty())?;
        let id = transactional_id(dir, options.transactional_id.as_deref())?;
        for (&first, _) in files.segments.iter().rev().skip(1) {
            // Opening a segment checks its header: a newer version is refused now, not later.
            Scan::open(&dir.join(segment_name(first)), first)?;
        }
        let (active_first, next) = match files.segments.iter().next_back() {
            Some((&first, &len)) => (first, recover(dir, first, len)?),
            None => (0, 0),
        };
        // Sequence numbers a quarantined segment may have held are never given out again.
        let floor = files
            .damaged
            .range(active_first..)
            .map(|(&first, &len)| seq_bound(first, len))
            .max()
            .unwrap_or(0);
        let (active_first, next) = if files.segments.is_empty() || floor > next {
            let first = next.max(floor);
            drop(create_segment(dir, first)?);
            (first, first)
        } else {
            (active_first, next)
        };
        let path = dir.join(segment_name(active_first));
        let mut active = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io_error("opening", &path, e))?;
        let len = active
            .seek(SeekFrom::End(0))
            .map_err(|e| io_error("seeking in", &path, e))?;
        files.segments.insert(active_first, len);
        Ok(Spool {
            dir: dir.to_path_buf(),
            segment_bytes,
            max_bytes,
            fsync: options.fsync,
            id,
            files,
            active,
            active_first,
            next,
            durable: next,
            last_sync: Instant::now(),
            broken: None,
            _lock: lock,
        })
    }

    /// The spool's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The id the forwarder's Kafka transactions use (`DIR/transactional-id`).
    pub fn transactional_id(&self) -> &str {
        &self.id
    }

    /// The oldest entry still kept (everything below it was forgotten).
    pub fn start(&self) -> Position {
        Position::at(
            self.files
                .segments
                .keys()
                .next()
                .copied()
                .unwrap_or(self.next),
        )
    }

    /// The position the next appended entry gets.
    pub fn end(&self) -> Position {
        Position::at(self.next)
    }

    /// Every entry below this survives a power cut: the one to acknowledge up to.
    pub fn durable(&self) -> Position {
        Position::at(self.durable)
    }

    /// What the segments take on disk, headers included (quarantined segments not counted).
    pub fn bytes_used(&self) -> u64 {
        self.files.segments.values().sum()
    }

    /// How many entries there are from `from` to the end.
    pub fn pending(&self, from: Position) -> u64 {
        self.files
            .segments
            .keys()
            .map(|&first| {
                let end = self.files.following(first).unwrap_or(self.next);
                end.min(self.next).saturating_sub(first.max(from.seq()))
            })
            .sum()
    }

    /// Appends a batch of payloads (each 1 byte to 1 MiB), all or nothing. With [`Fsync::Batch`]
    /// every entry is durable when this returns `Stored`. A full spool is an answer, not an
    /// error; an error (a full disk, a failed write or fsync) leaves nothing of the batch.
    pub fn append<P: AsRef<[u8]>>(&mut self, batch: &[P]) -> Result<Appended, Error> {
        self.usable()?;
        if batch.is_empty() {
            return Ok(Appended::Stored {
                first: self.end(),
                next: self.end(),
            });
        }
        if let Some(p) = batch
            .iter()
            .find(|p| !payload_fits(p.as_ref().len() as u64))
        {
            return Err(Error::Spool {
                path: self.dir.clone(),
                reason: format!(
                    "an entry of {} bytes: entries hold 1 to {MAX_PAYLOAD} bytes",
                    p.as_ref().len()
                ),
            });
        }
        let rolls = self.plan(batch);
        let frames: u64 = batch.iter().map(|p| frame_len(p.as_ref().len())).sum();
        let needed = frames + rolls.len() as u64 * SEGMENT_HEADER_LEN;
        let used = self.bytes_used();
        if used.saturating_add(needed) > self.max_bytes {
            return Ok(Appended::Full {
                used,
                needed,
                max: self.max_bytes,
            });
        }
        let first = self.next;
        if first.saturating_add(batch.len() as u64) > MAX_SEQ {
            return Err(Error::Spool {
                path: self.dir.clone(),
                reason: "out of sequence numbers (they must fit a Kafka offset)".into(),
            });
        }
        let mut undo = Undo {
            active_first: self.active_first,
            active_len: self.active_len(),
            next: self.next,
            created: Vec::new(),
        };
        let sync = self.fsync == Fsync::Batch || self.sync_due();
        let mut written = self.write(batch, &rolls, &mut undo);
        if written.is_ok() && sync {
            written = self.sync_active(undo.next);
        }
        if let Err(e) = written {
            self.cut_back(undo);
            return Err(e);
        }
        if sync {
            self.durable = self.next;
            self.last_sync = Instant::now();
        } else {
            // Rolled-away segments were fsynced whole before the roll.
            self.durable = self.durable.max(self.active_first);
        }
        Ok(Appended::Stored {
            first: Position::at(first),
            next: Position::at(self.next),
        })
    }

    /// With [`Fsync::Interval`], fsyncs if the interval has passed since the last fsync and
    /// something is not yet durable: for a caller's idle loop, so the last entries of a burst
    /// do not wait for the next append. Returns the durable position.
    pub fn sync_if_due(&mut self) -> Result<Position, Error> {
        if self.durable < self.next && self.sync_due() {
            return self.sync();
        }
        Ok(self.durable())
    }

    fn sync_due(&self) -> bool {
        match self.fsync {
            Fsync::Batch => true,
            Fsync::Interval(every) => self.last_sync.elapsed() >= every,
        }
    }

    /// Fsyncs the last segment now; everything appended is durable after it. A failed fsync
    /// breaks the spool (open it again to recover what is on disk).
    pub fn sync(&mut self) -> Result<Position, Error> {
        self.usable()?;
        if self.durable < self.next {
            self.sync_active(self.next)?;
            self.durable = self.next;
        }
        self.last_sync = Instant::now();
        Ok(self.durable())
    }

    /// A reader from `from` (the committed position) up to the durable position now; extend it
    /// with [`Reader::extend_to`]. A position past the end belongs to another spool.
    pub fn reader(&self, from: Position) -> Result<Reader, Error> {
        if from.seq() > self.next {
            return Err(Error::Spool {
                path: self.dir.clone(),
                reason: format!(
                    "position {from} is past the spool's end #{}: it is another spool's \
                     (see {})",
                    self.next,
                    self.dir.join(super::format::ID_FILE).display()
                ),
            });
        }
        Ok(Reader::new(&self.dir, from, self.durable()))
    }

    /// Deletes the segments whose entries are all below `before` (forwarded and committed);
    /// the last segment always stays. Returns how many were deleted.
    pub fn forget(&mut self, before: Position) -> Result<usize, Error> {
        if before.seq() > self.next {
            return Err(Error::Spool {
                path: self.dir.clone(),
                reason: format!("cannot forget up to {before}, past the end #{}", self.next),
            });
        }
        let done: Vec<u64> = self
            .files
            .segments
            .keys()
            .copied()
            .filter(|&first| first != self.active_first)
            .filter(|&first| {
                self.files
                    .following(first)
                    .is_some_and(|end| end <= before.seq())
            })
            .collect();
        let mut result = Ok(done.len());
        for first in &done {
            let path = self.dir.join(segment_name(*first));
            if let Err(e) = fs::remove_file(&path) {
                result = Err(io_error("deleting", &path, e));
                break;
            }
            self.files.segments.remove(first);
        }
        if !done.is_empty() {
            sync_dir(&self.dir)?;
        }
        result
    }

    fn usable(&self) -> Result<(), Error> {
        match &self.broken {
            None => Ok(()),
            Some(why) => Err(Error::Spool {
                path: self.dir.clone(),
                reason: format!("{why}: open the spool again to recover it"),
            }),
        }
    }

    fn active_len(&self) -> u64 {
        self.files
            .segments
            .get(&self.active_first)
            .copied()
            .unwrap_or(SEGMENT_HEADER_LEN)
    }

    /// Where a batch starts new segments: the indexes of the entries a segment is rolled
    /// before, because they would take the segment they come to past `segment_bytes`.
    fn plan<P: AsRef<[u8]>>(&self, batch: &[P]) -> Vec<usize> {
        let mut rolls = Vec::new();
        let mut len = self.active_len();
        for (i, payload) in batch.iter().enumerate() {
            let frame = frame_len(payload.as_ref().len());
            let holds_entries = len > SEGMENT_HEADER_LEN;
            if holds_entries && len + frame > self.segment_bytes {
                rolls.push(i);
                len = SEGMENT_HEADER_LEN;
            }
            len += frame;
        }
        rolls
    }

    /// Writes a batch, rolling segments where [`Spool::plan`] said.
    fn write<P: AsRef<[u8]>>(
        &mut self,
        batch: &[P],
        rolls: &[usize],
        undo: &mut Undo,
    ) -> Result<(), Error> {
        let mut bytes = Vec::new();
        let mut start = 0;
        for (k, end) in rolls.iter().copied().chain([batch.len()]).enumerate() {
            if k > 0 {
                self.roll(undo)?;
            }
            bytes.clear();
            for payload in &batch[start..end] {
                encode_frame(payload.as_ref(), &mut bytes);
            }
            let path = self.dir.join(segment_name(self.active_first));
            self.active
                .write_all(&bytes)
                .map_err(|e| io_error("appending to", &path, e))?;
            let len = self.active_len() + bytes.len() as u64;
            self.files.segments.insert(self.active_first, len);
            self.next += (end - start) as u64;
            start = end;
        }
        Ok(())
    }

    /// Seals the last segment (fsynced whole) and starts the next one at the next sequence
    /// number.
    fn roll(&mut self, undo: &mut Undo) -> Result<(), Error> {
        self.sync_active(undo.next)?;
        let file = create_segment(&self.dir, self.next)?;
        undo.created.push(self.next);
        self.active = file;
        self.active_first = self.next;
        self.files.segments.insert(self.next, SEGMENT_HEADER_LEN);
        Ok(())
    }

    /// Fsyncs the last segment. When that fails with entries below `earlier` (appended by
    /// earlier calls) not yet durable, the spool is broken: the kernel may have dropped pages
    /// it could not write, and a retried fsync would report success for them.
    fn sync_active(&mut self, earlier: u64) -> Result<(), Error> {
        let Err(e) = self.active.sync_data() else {
            return Ok(());
        };
        let path = self.dir.join(segment_name(self.active_first));
        let error = io_error("syncing", &path, e);
        if self.durable < earlier {
            self.broken = Some(format!(
                "an fsync failed, entries from #{} on may not be on disk ({error})",
                self.durable
            ));
        }
        Err(error)
    }

    /// Undoes a failed batch: segments it created deleted, the last segment truncated to where
    /// the batch began. When that fails too, the spool is broken until opened again.
    fn cut_back(&mut self, undo: Undo) {
        let cut = self.try_cut_back(&undo);
        self.active_first = undo.active_first;
        self.next = undo.next;
        if let Err(e) = cut {
            log::error!(
                "spool {}: cutting back a failed append: {e}",
                self.dir.display()
            );
            self.broken = Some(format!("a failed append could not be cut back ({e})"));
        }
    }

    fn try_cut_back(&mut self, undo: &Undo) -> Result<(), Error> {
        for first in &undo.created {
            let path = self.dir.join(segment_name(*first));
            fs::remove_file(&path).map_err(|e| io_error("deleting", &path, e))?;
            self.files.segments.remove(first);
        }
        if !undo.created.is_empty() {
            sync_dir(&self.dir)?;
        }
        let path = self.dir.join(segment_name(undo.active_first));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io_error("opening", &path, e))?;
        file.set_len(undo.active_len)
            .and_then(|()| file.sync_data())
            .and_then(|()| file.seek(SeekFrom::End(0)))
            .map_err(|e| io_error("cutting back", &path, e))?;
        self.files
            .segments
            .insert(undo.active_first, undo.active_len);
        self.active = file;
        Ok(())
    }
}

impl Drop for Spool {
    /// Entries appended under [`Fsync::Interval`] are fsynced on a clean close.
    fn drop(&mut self) {
        if self.broken.is_none() && self.durable < self.next {
            if let Err(e) = self.active.sync_data() {
                log::warn!(
                    "spool {}: fsync on close failed, entries from #{} on may be lost: {e}",
                    self.dir.display(),
                    self.durable
                );
            }
        }
    }
}

/// Recovers the last segment: checks it through, cuts a torn last entry (with a warning naming
/// the file, the offset and the bytes cut), and returns the sequence number after its last good
/// entry. A segment a crash left shorter than its header, or all zeros, gets its header again.
fn recover(dir: &Path, first: u64, len: u64) -> Result<u64, Error> {
    let path = dir.join(segment_name(first));
    if len < SEGMENT_HEADER_LEN || all_zeros(&path)? {
        log::warn!(
            "spool {}: rewrote the header of a segment a crash left unwritten ({len} bytes)",
            path.display()
        );
        rewrite_header(&path, first)?;
        return Ok(first);
    }
    let mut scan = Scan::open(&path, first)?;
    let mut next = first;
    loop {
        match scan.step()? {
            Step::Entry => next += 1,
            Step::End => {
                // A process that died (the machine did not) leaves entries only in the page
                // cache: they are made durable before they count as durable.
                File::open(&path)
                    .and_then(|f| f.sync_data())
                    .map_err(|e| io_error("syncing", &path, e))?;
                return Ok(next);
            }
            Step::Bad {
                offset,
                torn: true,
                reason,
            } => {
                let cut = scan.len() - offset;
                cut_at(&path, offset)?;
                log::warn!(
                    "spool {}: cut a torn last entry at byte offset {offset} ({cut} bytes cut: \
                     {reason}); {} entries kept in the segment",
                    path.display(),
                    next - first
                );
                return Ok(next);
            }
            Step::Bad { offset, reason, .. } => {
                return Err(Error::SpoolDamaged {
                    file: path,
                    offset,
                    reason,
                })
            }
        }
    }
}

fn cut_at(path: &Path, len: u64) -> Result<(), Error> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(len).and_then(|()| f.sync_data()))
        .map_err(|e| io_error("cutting a torn entry off", path, e))
}

fn rewrite_header(path: &Path, first: u64) -> Result<(), Error> {
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .and_then(|mut f| {
            f.write_all(&segment_header(first))
                .and_then(|()| f.sync_data())
        })
        .map_err(|e| io_error("rewriting the header of", path, e))
}
