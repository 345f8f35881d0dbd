//! Store and forward, exactly once (`order-producer --spool DIR`): orders go into the spool
//! ([`crate::spool`]) and are acknowledged ("spooled") once durable; a forwarder sends them on
//! in spool order through a transactional producer, a transaction per batch of entries, and
//! commits the spool position inside the same transaction, so a crash at any instant neither
//! loses nor repeats an order for a read_committed reader.
//!
//! # The position in Kafka
//!
//! The position (the sequence number of the next entry to forward) is the committed offset of
//! partition 0 of the orders topic in the group named after the transactional id (the spool's
//! own `order-spool-<uuid>` unless `--transactional-id` sets it), as Kafka Connect keeps an
//! exactly-once source's offsets. On start the forwarder's InitProducerId fences any earlier
//! forwarder of the id and aborts what it left open; the position read back with
//! require_stable then says where to resume. Segments wholly below it are deleted.
//!
//! # Two threads
//!
//! The main thread reads the input and appends to the spool; the forwarder thread (none with
//! `--spool-only`) reads from it. They share only the spool, behind a mutex never held across a
//! network call.

use std::collections::VecDeque;
use std::io::{self, BufRead, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::client::{compress, Client, Outgoing, Transactional, TxnSettings};
use crate::config::{Format, Input, ProducerConfig, SpoolConfig, SpoolMode};
use crate::error::{output_closed, secs, Error};
use crate::input;
use crate::order::Order;
use crate::partition;
use crate::producer::random_order;
use crate::spool::{
    quarantine, Appended, Fsync, Options, Position, Spool, DEFAULT_SEGMENT_BYTES, MIN_SEGMENT_BYTES,
};

/// The partition of the orders topic whose committed offset (in the spool's group) is the
/// spool position.
pub const POSITION_PARTITION: i32 = 0;
/// The metadata committed with the position: what the offset is.
const POSITION_METADATA: &str = "order-spool position";
/// How often a forwarder that caught up looks for new entries, and a full spool for room.
const POLL: Duration = Duration::from_millis(20);
/// A full spool holds at least this many segments (when `--spool-max-bytes` is below 8 times
/// the usual 8 MiB segment, segments are smaller).
const SEGMENTS_WHEN_FULL: u64 = 8;

/// What a run did, for the summary line and the exit code.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Orders acknowledged as durable in the spool.
    pub spooled: u64,
    /// Orders committed to Kafka by this run.
    pub forwarded: u64,
    /// Entries in the spool not yet forwarded when the run ended (at most: with
    /// `--spool-only` the forwarded entries of a segment not yet deleted count too).
    pub left: u64,
    pub invalid: u64,
    /// Orders refused because the spool was full and nothing forwarded.
    pub refused: u64,
    /// The forwarder stopped because the uplink stayed down past the retry policy.
    pub uplink_down: bool,
    pub elapsed: Duration,
}

impl Summary {
    pub fn line(&self) -> String {
        format!(
            "spooled {}, forwarded {}, left in the spool {}, invalid {}, refused {} in {}",
            self.spooled,
            self.forwarded,
            self.left,
            self.invalid,
            self.refused,
            secs(self.elapsed)
        )
    }

    pub fn json(&self) -> String {
        serde_json::json!({
            "type": "summary",
            "spooled": self.spooled,
            "forwarded": self.forwarded,
            "left": self.left,
            "invalid": self.invalid,
            "refused": self.refused,
            "uplink_down": self.uplink_down,
            "elapsed_s": (self.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            "text": self.line(),
        })
        .to_string()
    }
}

/// What the two threads share.
struct Shared {
    spool: Mutex<Spool>,
    /// Set when the input is all spooled (or ended by an error).
    input_done: AtomicBool,
    /// Set when the forwarder thread ended.
    forwarder_done: AtomicBool,
    forwarded: AtomicU64,
    /// The last position known to be committed.
    committed: AtomicU64,
}

impl Shared {
    fn spool(&self) -> MutexGuard<'_, Spool> {
        // A panic aborts the process (panic = "abort"), so the lock is never poisoned there;
        // in tests the guard is still good.
        self.spool.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Runs a `--spool` producer: spools the input (acknowledging each order to `out` once
/// durable) and forwards, as `spool.mode` says.
pub fn run(
    config: &ProducerConfig,
    spool: &SpoolConfig,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
    stop: &AtomicBool,
) -> (Summary, Result<(), Error>) {
    let started = Instant::now();
    let mut summary = Summary::default();
    if spool.mode == SpoolMode::Quarantine {
        return (summary, move_damage_aside(&spool.dir, out));
    }
    let options = Options {
        // Room comes back a forwarded segment at a time, and the last one always stays: a
        // full spool must be more than one segment.
        segment_bytes: (spool.max_bytes / SEGMENTS_WHEN_FULL)
            .clamp(MIN_SEGMENT_BYTES, DEFAULT_SEGMENT_BYTES),
        max_bytes: spool.max_bytes,
        fsync: spool.fsync,
        transactional_id: spool.transactional_id.clone(),
    };
    let opened = match Spool::open(&spool.dir, options) {
        Ok(opened) => opened,
        Err(e) => return (summary, Err(e)),
    };
    let start = opened.start();
    let shared = Shared {
        spool: Mutex::new(opened),
        input_done: AtomicBool::new(spool.mode == SpoolMode::Drain),
        forwarder_done: AtomicBool::new(spool.mode == SpoolMode::SpoolOnly),
        forwarded: AtomicU64::new(0),
        committed: AtomicU64::new(start.seq()),
    };
    let (spooled, forwarded) = thread::scope(|scope| {
        let forwarder = (spool.mode != SpoolMode::SpoolOnly).then(|| {
            scope.spawn(|| {
                let result = forward(config, spool, &shared, stop);
                shared.forwarder_done.store(true, Ordering::SeqCst);
                result
            })
        });
        let spooled = match spool.mode {
            SpoolMode::Drain => Ok(()),
            _ => Spooler::new(config, spool, &shared, out, &mut summary).spool_all(stdin, stop),
        };
        shared.input_done.store(true, Ordering::SeqCst);
        let forwarded = match forwarder {
            Some(handle) => handle.join().unwrap_or(Err(Error::Interrupted)),
            None => Ok(()),
        };
        (spooled, forwarded)
    });
    summary.forwarded = shared.forwarded.load(Ordering::SeqCst);
    let committed = Position::from_offset(shared.committed.load(Ordering::SeqCst) as i64)
        .unwrap_or(Position::START);
    summary.left = shared.spool().pending(committed);
    summary.elapsed = started.elapsed();
    let forwarded = match forwarded {
        Err(e @ Error::Unreachable { .. }) if spool.mode == SpoolMode::Forward => {
            log::warn!(
                "{e}; the uplink is down: {} orders stay in the spool {} for the next run \
                 (`order-producer --spool {} --drain` forwards them)",
                summary.left,
                spool.dir.display(),
                spool.dir.display()
            );
            summary.uplink_down = true;
            Ok(())
        }
        other => other,
    };
    (summary, spooled.and(forwarded))
}

/// `--spool-quarantine`: moves the damaged segments aside and says which, on `out`.
fn move_damage_aside(dir: &Path, out: &mut dyn Write) -> Result<(), Error> {
    let moved = quarantine(dir)?;
    if moved.is_empty() {
        log::info!("the spool {} has no damaged segment", dir.display());
    }
    let written = moved.iter().try_for_each(|q| {
        writeln!(
            out,
            "moved aside: {} (damaged at byte offset {}: {})",
            q.moved_to.display(),
            q.offset,
            q.reason
        )
    });
    written.and_then(|()| out.flush()).or_else(output_closed)
}

/// The forwarder: sessions until the input is done and everything is forwarded; with
/// `--follow` an uplink that is down (or a cluster that keeps failing) is waited out, session
/// after session, where the other modes give up.
fn forward(
    config: &ProducerConfig,
    spool: &SpoolConfig,
    shared: &Shared,
    stop: &AtomicBool,
) -> Result<(), Error> {
    loop {
        match session(config, spool, shared, stop) {
            Err(e @ (Error::Unreachable { .. } | Error::Broker { .. }))
                if spool.mode == SpoolMode::Follow =>
            {
                let wait = config.connection.max_backoff.max(Duration::from_secs(1));
                log::warn!(
                    "{e}; the orders stay in the spool; forwarding again in {}",
                    secs(wait)
                );
                let until = Instant::now() + wait;
                while Instant::now() < until {
                    if stop.load(Ordering::SeqCst) {
                        return Err(Error::Interrupted);
                    }
                    thread::sleep(POLL);
                }
            }
            other => return other,
        }
    }
}

/// One connection's worth of forwarding: fence and resume, then a transaction per batch.
fn session(
    config: &ProducerConfig,
    spool: &SpoolConfig,
    shared: &Shared,
    stop: &AtomicBool,
) -> Result<(), Error> {
    let topic = config.topic.as_str();
    let options = config
        .connection
        .client_options("order-producer", 16 << 20, &[topic]);
    let mut client = Client::connect(options, &[topic], stop)?;
    let partitions = client.partitions(topic)?.len() as u32;
    let id = shared.spool().transactional_id().to_string();
    let mut txn = client.init_transactions(TxnSettings {
        transactional_id: id.clone(),
        timeout: spool.transaction_timeout,
        ack_timeout: config.ack_timeout,
        compression: config.compression,
        compressor: compress,
    })?;
    let committed = client.committed(&id, topic, &[POSITION_PARTITION])?;
    let mut position = match committed.get(&POSITION_PARTITION) {
        Some(&offset) => Position::from_offset(offset).ok_or_else(|| Error::Spool {
            path: spool.dir.clone(),
            reason: format!("group '{id}' holds position {offset}, which no spool has"),
        })?,
        None => Position::START,
    };
    {
        let mut s = shared.spool();
        if position > s.end() {
            return Err(Error::Spool {
                path: spool.dir.clone(),
                reason: format!(
                    "group '{id}' holds position {position}, past this spool's end {}: the \
                     transactional id is another spool's (give each spool its own \
                     --transactional-id)",
                    s.end()
                ),
            });
        }
        if position < s.start() {
            log::warn!(
                "the committed position {position} is before the spool's first entry {}: \
                 entries were moved aside; forwarding from {}",
                s.start(),
                s.start()
            );
            position = s.start();
        }
        s.forget(position)?;
    }
    shared.committed.store(position.seq(), Ordering::SeqCst);
    log::info!(
        "forwarding the spool {} from {position}",
        spool.dir.display()
    );
    loop {
        if stop.load(Ordering::SeqCst) {
            return Err(Error::Interrupted);
        }
        // Read before looking at the end: input done and nothing durable left is the end.
        let input_done = shared.input_done.load(Ordering::SeqCst);
        let reader = shared.spool().reader(position)?;
        let mut entries = Vec::new();
        let mut bytes = 0;
        // Damage ends the forwarding once what precedes it is forwarded.
        let mut damage = None;
        for entry in reader {
            match entry {
                Ok(entry) => {
                    bytes += entry.payload.len();
                    entries.push(entry);
                }
                Err(e) => {
                    damage = Some(e);
                    break;
                }
            }
            if entries.len() >= config.batch_size || bytes >= config.batch_bytes {
                break;
            }
        }
        let Some(last) = entries.last() else {
            if let Some(e) = damage {
                return Err(e);
            }
            // With the input done, nothing can arrive any more: the lock keeps others out.
            if input_done {
                return Ok(());
            }
            thread::sleep(POLL);
            continue;
        };
        let next = last.next();
        send(
            &mut client,
            &mut txn,
            topic,
            partitions,
            &entries,
            &spool.dir,
        )?;
        client.commit_transaction(
            &mut txn,
            &id,
            topic,
            &[(POSITION_PARTITION, next.offset())],
            POSITION_METADATA,
        )?;
        shared
            .forwarded
            .fetch_add(entries.len() as u64, Ordering::SeqCst);
        shared.committed.store(next.seq(), Ordering::SeqCst);
        log::debug!(
            "forwarded {} orders, {} to {next}",
            entries.len(),
            entries[0].position
        );
        position = next;
        shared.spool().forget(position)?;
        if let Some(e) = damage {
            return Err(e);
        }
    }
}

/// Sends the orders of `entries` in the open transaction, each keyed by its id to the
/// partition the Java client would pick.
fn send(
    client: &mut Client<'_>,
    txn: &mut Transactional,
    topic: &str,
    partitions: u32,
    entries: &[crate::spool::Entry],
    dir: &Path,
) -> Result<(), Error> {
    let mut ids = Vec::with_capacity(entries.len());
    for entry in entries {
        let order = Order::parse(&entry.payload).map_err(|e| Error::Spool {
            path: dir.to_path_buf(),
            reason: format!("entry {} is not an order: {e}", entry.position),
        })?;
        ids.push(order.order_id().to_string());
    }
    let records: Vec<Outgoing<'_>> = entries
        .iter()
        .zip(&ids)
        .map(|(entry, id)| Outgoing {
            partition: partition::for_key(id.as_bytes(), partitions),
            key: Some(id.as_bytes()),
            value: Some(&entry.payload),
        })
        .collect();
    client.send_in_transaction(txn, topic, &records)
}

/// The main thread's side: input -> spool -> "spooled" lines.
/// The spooler's side of [`input::read_lines`], with the stop flag its calls take.
struct StdinLines<'s, 'a> {
    spooler: &'s mut Spooler<'a>,
    stop: &'s AtomicBool,
}

impl input::Lines for StdinLines<'_, '_> {
    fn line(&mut self, line: &[u8], number: u64) -> Result<(), Error> {
        self.spooler.line(line, number, self.stop)
    }

    fn paused(&mut self) -> Result<(), Error> {
        self.spooler.flush(self.stop)?;
        self.spooler.sync_and_ack()
    }

    fn failed(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

struct Spooler<'a> {
    config: &'a ProducerConfig,
    spool: &'a SpoolConfig,
    shared: &'a Shared,
    out: &'a mut dyn Write,
    output_closed: bool,
    summary: &'a mut Summary,
    /// The orders of the batch being filled, as spool entries (their JSON).
    batch: Vec<Vec<u8>>,
    /// Stored but not yet durable (`--spool-sync interval`): (sequence number, JSON).
    unacked: VecDeque<(u64, Vec<u8>)>,
}

impl<'a> Spooler<'a> {
    fn new(
        config: &'a ProducerConfig,
        spool: &'a SpoolConfig,
        shared: &'a Shared,
        out: &'a mut dyn Write,
        summary: &'a mut Summary,
    ) -> Spooler<'a> {
        Spooler {
            config,
            spool,
            shared,
            out,
            output_closed: false,
            summary,
            batch: Vec::new(),
            unacked: VecDeque::new(),
        }
    }

    fn spool_all(&mut self, stdin: &mut dyn BufRead, stop: &AtomicBool) -> Result<(), Error> {
        let result = match &self.config.input {
            Input::One {
                user,
                item,
                quantity,
            } => {
                let order = Order::new(Uuid::new_v4(), user, item, *quantity)
                    .map_err(|e| Error::Usage(e.to_string()))?;
                self.push(&order, stop)
            }
            Input::Count(n) => (0..*n).try_for_each(|i| self.push(&random_order(i), stop)),
            Input::Stdin => self.lines(stdin, stop),
        };
        let flushed = self.flush(stop);
        let synced = self.sync_and_ack();
        result.and(flushed).and(synced)
    }

    /// Reads stdin a block at a time; a short block (the writer paused) is spooled and
    /// acknowledged before the next read waits.
    fn lines(&mut self, stdin: &mut dyn BufRead, stop: &AtomicBool) -> Result<(), Error> {
        input::read_lines(
            stdin,
            &mut StdinLines {
                spooler: self,
                stop,
            },
        )
    }

    fn line(&mut self, line: &[u8], number: u64, stop: &AtomicBool) -> Result<(), Error> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        match Order::parse(line) {
            Ok(order) => self.push(&order, stop),
            Err(reason) => {
                self.summary.invalid += 1;
                if self.config.strict {
                    return Err(Error::InvalidInput {
                        line: number,
                        reason: reason.to_string(),
                    });
                }
                log::error!("line {number}: {reason}; skipped");
                Ok(())
            }
        }
    }

    fn push(&mut self, order: &Order, stop: &AtomicBool) -> Result<(), Error> {
        let mut json = Vec::with_capacity(96);
        order.write_json(&mut json);
        self.batch.push(json);
        if self.batch.len() >= self.config.batch_size {
            self.flush(stop)?;
        }
        Ok(())
    }

    /// Appends the batch to the spool, waiting for room while a forwarder makes some.
    fn flush(&mut self, stop: &AtomicBool) -> Result<(), Error> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let mut said = false;
        loop {
            if stop.load(Ordering::SeqCst) {
                return Err(Error::Interrupted);
            }
            let appended = self.shared.spool().append(&self.batch);
            match appended {
                Ok(Appended::Stored { first, .. }) => {
                    let batch = std::mem::take(&mut self.batch);
                    self.unacked.extend((first.seq()..).zip(batch));
                    return self.ack_durable();
                }
                Ok(Appended::Full { used, needed, max }) => {
                    if self.shared.forwarder_done.load(Ordering::SeqCst) {
                        self.summary.refused += self.batch.len() as u64;
                        return Err(Error::Spool {
                            path: self.spool.dir.clone(),
                            reason: format!(
                                "full ({used} of {max} bytes used, {needed} more needed; \
                                 --spool-max-bytes) and nothing forwards: {} orders refused",
                                self.batch.len()
                            ),
                        });
                    }
                    if !said {
                        log::warn!(
                            "the spool {} is full ({used} of {max} bytes): waiting for the \
                             forwarder to make room",
                            self.spool.dir.display()
                        );
                        said = true;
                    }
                    thread::sleep(POLL);
                }
                Err(e) => {
                    self.summary.refused += self.batch.len() as u64;
                    return Err(e);
                }
            }
        }
    }

    /// Makes everything appended durable and acknowledges it.
    fn sync_and_ack(&mut self) -> Result<(), Error> {
        if self.spool.fsync != Fsync::Batch && !self.unacked.is_empty() {
            self.shared.spool().sync()?;
        }
        self.ack_durable()
    }

    /// Prints a "spooled" line for each stored order below the durable position.
    fn ack_durable(&mut self) -> Result<(), Error> {
        let durable = {
            let mut s = self.shared.spool();
            s.sync_if_due()?.seq()
        };
        let mut output = Ok(());
        while let Some((seq, _)) = self.unacked.front() {
            if *seq >= durable {
                break;
            }
            let (seq, json) = self.unacked.pop_front().expect("looked at above");
            self.summary.spooled += 1;
            if !self.config.quiet && !self.output_closed && output.is_ok() {
                output = write_spooled(&mut *self.out, self.config.format, &json, seq);
            }
        }
        output
            .and_then(|()| self.out.flush())
            .or_else(|e| output_closed(e).map(|()| self.output_closed = true))
    }
}

fn write_spooled(out: &mut dyn Write, format: Format, json: &[u8], seq: u64) -> io::Result<()> {
    match format {
        Format::Human => {
            out.write_all(b"Message spooled: ")?;
            out.write_all(json)?;
            writeln!(out, "\nSpool entry: #{seq}")
        }
        Format::Json => {
            out.write_all(b"{\"spooled\":")?;
            write!(out, "{seq}")?;
            out.write_all(b",\"order\":")?;
            out.write_all(json)?;
            out.write_all(b"}\n")
        }
    }
}
