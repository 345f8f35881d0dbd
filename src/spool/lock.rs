//! One user of a spool directory at a time: an exclusive lock on `DIR/lock`, held for as long as
//! the spool is open, so a second process (or a second open in this one) is refused instead of
//! appending over the first one's entries.
//!
//! The lock is the operating system's (`flock` on Linux): it goes away with the process, so a
//! crash never leaves a stale lock behind, and the file's content means nothing.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::Path;

use super::format::LOCK_FILE;
use super::scan::io_error;
use crate::error::Error;

/// An open spool's hold on its directory; dropping it lets the next user in.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Creates `dir` if need be and locks it. A directory another user holds is refused with words;
/// one this user cannot write is refused now, before any order is accepted, rather than at the
/// first segment it would create.
pub fn acquire(dir: &Path) -> Result<Lock, Error> {
    fs::create_dir_all(dir).map_err(|e| io_error("creating the directory", dir, e))?;
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io_error("opening the lock file", &path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(Error::Spool {
                path: dir.to_path_buf(),
                reason: format!(
                    "in use: another order-producer (or another open of this spool) holds {}; \
                     stop it first",
                    path.display()
                ),
            })
        }
        Err(TryLockError::Error(e)) => return Err(io_error("locking", &path, e)),
    }
    check_writable(dir)?;
    Ok(Lock { _file: file })
}

/// Creates and removes a file: the lock file may be writable in a directory that is not.
fn check_writable(dir: &Path) -> Result<(), Error> {
    let probe = dir.join(format!("{LOCK_FILE}.probe"));
    File::create(&probe)
        .and_then(|_| fs::remove_file(&probe))
        .map_err(|e| io_error("creating a file in", dir, e))
}
