//! A crash-safe local spool of orders: the storage under store and forward. The producer
//! appends each accepted order to the spool and acknowledges it once it is durable; a forwarder
//! reads the spool in order from the position it committed (inside its Kafka transaction),
//! forwards, commits the next position and forgets the segments wholly before it. Payloads are
//! opaque bytes here (an order's JSON line); this module knows files, not Kafka.
//!
//! # On disk
//!
//! ```text
//! DIR/spool.meta                      "order-spool format 1\n": a newer version is refused
//! DIR/transactional-id                "order-spool-<uuid v4>\n", made once and kept
//! DIR/lock                            held with an exclusive lock while the spool is open
//! DIR/00000000000000000000.seg        segments, named by their first sequence number
//! DIR/00000000000000004711.seg
//! DIR/00000000000000001234.seg.damaged  a segment moved aside by `quarantine`
//! ```
//!
//! A segment is a 16-byte header (`OSPL`, format version u32 LE, first sequence number u64 LE)
//! and entries, each framed as length (u32 LE, 1 to 1 MiB), CRC32C over the length's 4 bytes
//! and the payload (u32 LE), payload. A segment is rolled before an entry that would take it
//! past `segment_bytes`; only the last segment is ever appended to.
//!
//! # Positions
//!
//! Every entry has a sequence number, counted from 0 and never reused, also not after a
//! quarantine. A [`Position`] is the sequence number of the next entry to forward, so it is
//! stored as a Kafka offset ([`Position::offset`]) and reading from it yields exactly the entries
//! not yet forwarded. Entry counts follow from segment names without reading the segments.
//!
//! # Torn or damaged
//!
//! A bad entry that only zero bytes (or nothing) follow is a torn tail, what a crash during an
//! append leaves: opening the spool cuts it off the last segment, with a warning naming the
//! file, the offset and the bytes cut. A bad checksum in the last entry is thus a torn tail. Any
//! other bad entry is damage (entries may follow it): reading stops there with
//! [`Error::SpoolDamaged`](crate::Error::SpoolDamaged) naming the file and offset, until
//! [`quarantine`] moves the segment aside. Older segments were fsynced whole, so anything bad in
//! them is damage. The sequence numbers of cut entries go to the next entries appended: a torn
//! entry was never durable, so it was neither acknowledged nor read by a forwarder (readers stop
//! at the durable position). A durable last entry the disk itself damaged reads the same, and is
//! cut the same: the bytes cannot tell the two apart.
//!
//! # Durability
//!
//! With [`Fsync::Batch`] (the default) `append` fsyncs before it returns. With
//! [`Fsync::Interval`] it fsyncs at most once per interval, and [`Spool::durable`] says which
//! entries are on disk for sure: the caller acknowledges only those, so nothing acknowledged is
//! lost on a power cut. Files created, renamed or deleted are followed by a directory fsync.
//!
//! # Use
//!
//! ```no_run
//! use order_kafka::spool::{Appended, Options, Position, Spool};
//!
//! # fn main() -> Result<(), order_kafka::Error> {
//! let mut spool = Spool::open("/var/spool/orders".as_ref(), Options::default())?;
//! // The producer: acknowledge what is below `durable` once `append` has stored it.
//! match spool.append(&[br#"{"order_id":"..."}"#])? {
//!     Appended::Stored { next, .. } => assert!(next <= spool.durable()),
//!     Appended::Full { .. } => { /* wait for the forwarder, or refuse the order */ }
//! }
//! // The forwarder: from the position committed in Kafka, in spool order.
//! let committed = Position::START;
//! let mut done = committed;
//! for entry in spool.reader(committed)? {
//!     let entry = entry?;
//!     // ... send entry.payload inside the transaction of spool.transactional_id() ...
//!     done = entry.next();
//! }
//! // ... commit done.offset() inside the transaction, then:
//! spool.forget(done)?;
//! # Ok(())
//! # }
//! ```

mod files;
mod format;
mod lock;
mod quarantine;
mod reader;
mod scan;
mod writer;

pub use format::{Position, FORMAT_VERSION, MAX_PAYLOAD};
pub use quarantine::{quarantine, Quarantined};
pub use reader::{Entry, Reader};
pub use writer::{
    Appended, Fsync, Options, Spool, DEFAULT_MAX_BYTES, DEFAULT_SEGMENT_BYTES, MIN_SEGMENT_BYTES,
};

#[cfg(test)]
mod tests;
