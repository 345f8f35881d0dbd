//! The spool directory's small files and its listing: the format file, the transactional id,
//! which segments (and quarantined segments) there are, and the directory fsync that makes a
//! created, renamed or deleted file survive a power cut.
//!
//! Small files are replaced whole (written beside, fsynced, renamed over, directory fsynced), so
//! a crash leaves the old content or the new, never half of each.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use super::format::{
    meta_text, newer_version, parse_damaged_name, parse_meta, parse_segment_name, segment_header,
    segment_name, FORMAT_VERSION, ID_FILE, META_FILE,
};
use super::scan::io_error;
use crate::error::Error;

/// The longest transactional id a spool keeps. Kafka's own limit is far above; ids are names
/// people read in logs and tools.
pub const MAX_ID_BYTES: usize = 255;

/// The segments in a spool directory, by first sequence number, with their sizes.
#[derive(Debug, Default)]
pub struct Listing {
    /// Live segments (`*.seg`): first sequence number -> file length.
    pub segments: BTreeMap<u64, u64>,
    /// Quarantined segments (`*.seg.damaged`): first sequence number -> file length. The
    /// sequence numbers from there to the next segment are a gap readers step over.
    pub damaged: BTreeMap<u64, u64>,
}

impl Listing {
    /// The first sequence number of the next segment or quarantined segment after `first`:
    /// where the segment starting at `first` ends.
    pub fn following(&self, first: u64) -> Option<u64> {
        let live = self.segments.range(first + 1..).next().map(|(&f, _)| f);
        let damaged = self.damaged.range(first + 1..).next().map(|(&f, _)| f);
        match (live, damaged) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Lists the segments in `dir`; other files are left alone and not named.
pub fn list(dir: &Path) -> Result<Listing, Error> {
    let mut listing = Listing::default();
    let entries = fs::read_dir(dir).map_err(|e| io_error("listing", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error("listing", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let into = if let Some(first) = parse_segment_name(name) {
            (&mut listing.segments, first)
        } else if let Some(first) = parse_damaged_name(name) {
            (&mut listing.damaged, first)
        } else {
            continue;
        };
        let len = entry
            .metadata()
            .map_err(|e| io_error("reading the size of", &entry.path(), e))?
            .len();
        into.0.insert(into.1, len);
    }
    Ok(listing)
}

/// Makes the directory's entries (files created, renamed, deleted) durable.
pub fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("syncing", dir, e))
}

/// Creates the segment that starts at `first`: its header written and fsynced, the directory
/// fsynced, so the segment is there after a power cut before any entry goes in. Returns the
/// file, open for appending after the header.
pub fn create_segment(dir: &Path, first: u64) -> Result<File, Error> {
    let path = dir.join(segment_name(first));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| io_error("creating", &path, e))?;
    file.write_all(&segment_header(first))
        .and_then(|()| file.sync_data())
        .map_err(|e| io_error("writing the header of", &path, e))?;
    sync_dir(dir)?;
    Ok(file)
}

/// Checks the format file, or writes it for a new spool (one with no segments yet). A spool
/// made by a newer version is refused with both versions named.
pub fn check_or_create_meta(dir: &Path, has_segments: bool) -> Result<(), Error> {
    let path = dir.join(META_FILE);
    match read_small(&path, 256)? {
        Some(text) => {
            let version = parse_meta(&text).map_err(|reason| Error::Spool {
                path: path.clone(),
                reason,
            })?;
            if version > FORMAT_VERSION {
                return Err(Error::Spool {
                    path,
                    reason: newer_version(version),
                });
            }
            Ok(())
        }
        None if has_segments => Err(Error::Spool {
            path,
            reason: "missing, but the directory holds segments: not a spool this program made"
                .into(),
        }),
        None => replace(dir, META_FILE, meta_text().as_bytes()),
    }
}

/// The spool's transactional id: the one stored, or a new `order-spool-<uuid v4>` stored on first
/// use. A `given` id overrides and is stored, so the forwarder keeps using it after a restart
/// without the flag; replacing a different stored id is logged, since Kafka fences by this id.
pub fn transactional_id(dir: &Path, given: Option<&str>) -> Result<String, Error> {
    let path = dir.join(ID_FILE);
    if let Some(id) = given {
        check_id(id).map_err(|reason| Error::Spool {
            path: path.clone(),
            reason: format!("the transactional id given {reason}"),
        })?;
    }
    let stored = read_small(&path, MAX_ID_BYTES + 2)?.map(|bytes| parse_id(&bytes));
    match (stored, given) {
        (Some(Ok(stored)), None) => Ok(stored),
        (Some(Err(reason)), None) => Err(Error::Spool { path, reason }),
        (Some(Ok(stored)), Some(id)) if stored == id => Ok(stored),
        (stored, given) => {
            let id = given.map_or_else(
                || format!("order-spool-{}", uuid::Uuid::new_v4()),
                str::to_string,
            );
            let was = match stored {
                Some(Ok(old)) => format!("from {old}"),
                Some(Err(reason)) => format!("from an unusable one ({reason})"),
                None => String::new(),
            };
            if !was.is_empty() {
                log::warn!(
                    "spool {}: transactional id changed {was} to {id}",
                    dir.display()
                );
            }
            replace(dir, ID_FILE, format!("{id}\n").as_bytes())?;
            Ok(id)
        }
    }
}

fn parse_id(bytes: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
    let id = text.strip_suffix('\n').unwrap_or(text);
    check_id(id).map_err(|reason| format!("the stored transactional id {reason}"))?;
    Ok(id.to_string())
}

/// Whether an id is one the spool keeps: 1 to 255 bytes, no whitespace or control characters
/// (so the one-line file and log lines show it exactly).
fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(format!("must be 1 to {MAX_ID_BYTES} bytes long"));
    }
    if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{id:?} holds whitespace or control characters"));
    }
    Ok(())
}

/// A small file's bytes, `None` when there is no such file. More than `max` bytes is refused
/// (the file is not one of ours), so its size never sizes a buffer.
fn read_small(path: &Path, max: usize) -> Result<Option<Vec<u8>>, Error> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("opening", path, e)),
    };
    let mut bytes = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error("reading", path, e))?;
    if bytes.len() > max {
        return Err(Error::Spool {
            path: path.to_path_buf(),
            reason: format!("over {max} bytes: not a file this program wrote"),
        });
    }
    Ok(Some(bytes))
}

/// Replaces `dir/name` whole: written beside it, fsynced, renamed over it, directory fsynced.
fn replace(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), Error> {
    let path = dir.join(name);
    let beside = dir.join(format!("{name}.new"));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&beside)
        .map_err(|e| io_error("creating", &beside, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error("writing", &beside, e))?;
    fs::rename(&beside, &path).map_err(|e| io_error("renaming into place", &path, e))?;
    sync_dir(dir)
}
