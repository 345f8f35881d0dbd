//! Moving damaged segments aside, so forwarding can go on past them: the library side of the
//! operator's command (`order-producer --spool DIR --spool-quarantine`).
//!
//! Damage is never repaired on its own: entries after it may be intact, and only a person may
//! decide to give them up. Quarantine checks every segment through and renames each damaged one
//! to `*.seg.damaged`, where it stays for inspection (neither forgotten nor counted in the
//! spool's size). Readers step over the sequence numbers it held, with a warning. When the
//! last segment is the damaged one, a new empty segment starts above any sequence number the
//! damaged one could hold, so no number is ever given out twice.

use std::fs;
use std::path::{Path, PathBuf};

use super::files::{check_or_create_meta, create_segment, list, sync_dir};
use super::format::{damaged_name, segment_name, seq_bound, SEGMENT_HEADER_LEN};
use super::lock;
use super::scan::{all_zeros, io_error, Scan, Step};
use crate::error::Error;

/// A segment moved aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// Where the segment is now (`*.seg.damaged`).
    pub moved_to: PathBuf,
    /// The byte offset of the first damaged entry (0: the header).
    pub offset: u64,
    /// What is wrong there.
    pub reason: String,
}

/// Checks every segment of the spool in `dir` and moves the damaged ones aside; returns what
/// was moved (nothing for a sound spool). Takes the spool's lock, so the producer must be
/// stopped first. A torn last entry is no damage: the next open cuts it.
pub fn quarantine(dir: &Path) -> Result<Vec<Quarantined>, Error> {
    if !dir.is_dir() {
        return Err(Error::Spool {
            path: dir.to_path_buf(),
            reason: "no such directory".into(),
        });
    }
    let _lock = lock::acquire(dir)?;
    let listing = list(dir)?;
    if listing.segments.is_empty() {
        return Ok(Vec::new());
    }
    check_or_create_meta(dir, true)?;
    let last = listing.segments.keys().next_back().copied();
    let mut moved = Vec::new();
    for (&first, &len) in &listing.segments {
        let is_last = Some(first) == last;
        let Some((offset, reason)) = find_damage(dir, first, len, is_last)? else {
            continue;
        };
        let from = dir.join(segment_name(first));
        let to = dir.join(damaged_name(first));
        if to.exists() {
            return Err(Error::Spool {
                path: to,
                reason: format!("already there, so {} cannot be moved aside", from.display()),
            });
        }
        fs::rename(&from, &to).map_err(|e| io_error("moving aside", &from, e))?;
        if is_last {
            drop(create_segment(dir, seq_bound(first, len))?);
        }
        sync_dir(dir)?;
        log::warn!(
            "spool {}: damaged at byte offset {offset} ({reason}): moved aside to {}",
            from.display(),
            to.display()
        );
        moved.push(Quarantined {
            moved_to: to,
            offset,
            reason,
        });
    }
    Ok(moved)
}

/// Where a segment is damaged, if it is: its header, or the first bad entry that is not the
/// last segment's torn tail.
fn find_damage(
    dir: &Path,
    first: u64,
    len: u64,
    is_last: bool,
) -> Result<Option<(u64, String)>, Error> {
    let path = dir.join(segment_name(first));
    if is_last && (len < SEGMENT_HEADER_LEN || all_zeros(&path)?) {
        return Ok(None);
    }
    let mut scan = match Scan::open(&path, first) {
        Ok(scan) => scan,
        Err(Error::SpoolDamaged { offset, reason, .. }) => return Ok(Some((offset, reason))),
        Err(e) => return Err(e),
    };
    loop {
        match scan.step()? {
            Step::Entry => {}
            Step::End => return Ok(None),
            Step::Bad { torn: true, .. } if is_last => return Ok(None),
            Step::Bad { offset, reason, .. } => return Ok(Some((offset, reason))),
        }
    }
}
