//! Reading one partition's answer: record batches walked in offset order, control batches and
//! aborted transactions skipped, each record validated and printed or dead-lettered.

use std::collections::HashSet;
use std::io;

use serde::Serialize;

use super::{Consumer, Fetched, Stop, MAX_DECOMPRESSED};
use crate::client::records::{Batches, ControlType, Limits};
use crate::client::Isolation;
use crate::client::Member;
use crate::config::Format;
use crate::dead_letter::Envelope;
use crate::error::{output_closed, Error};
use crate::order::{check_key, Order};

#[derive(Serialize)]
struct JsonRecord<'a> {
    topic: &'a str,
    partition: i32,
    offset: i64,
    key: Option<String>,
    key_encoding: Option<&'static str>,
    order: &'a Order,
}

impl Consumer<'_, '_> {
    /// Reads one partition's batches: control batches and aborted transactions are skipped,
    /// every other record is processed in offset order.
    pub(super) fn read_partition(&mut self, f: &Fetched) -> Result<Option<Stop>, Error> {
        let topic = self.config.topic.as_str();
        let partition = f.partition;
        let limits = Limits {
            max_decompressed: MAX_DECOMPRESSED,
        };
        let mut aborted = f.aborted.clone();
        aborted.sort_by_key(|a| a.1);
        let mut aborted = aborted.into_iter().peekable();
        let mut aborting: HashSet<i64> = HashSet::new();
        let read_committed = self.config.isolation == Isolation::ReadCommitted;
        let mut scratch = Vec::new();
        let mut batches = Batches::new(&f.records);
        for batch in batches.by_ref() {
            let batch = batch.map_err(|e| Error::Broker {
                what: format!(
                    "reading {topic}/{partition} at offset {}",
                    self.positions[&partition]
                ),
                cause: e.to_string(),
            })?;
            let position = self.positions[&partition];
            if batch.next_offset() <= position {
                continue;
            }
            while let Some(&(pid, first)) = aborted.peek() {
                if first > batch.base_offset {
                    break;
                }
                aborting.insert(pid);
                aborted.next();
            }
            let skip = if batch.is_control {
                let marker =
                    batch
                        .control_type(&mut scratch, &limits)
                        .map_err(|e| Error::Broker {
                            what: format!("reading {topic}/{partition}"),
                            cause: e.to_string(),
                        })?;
                if marker == Some(ControlType::Abort) {
                    aborting.remove(&batch.producer_id);
                }
                true
            } else {
                read_committed && batch.is_transactional && aborting.contains(&batch.producer_id)
            };
            if !skip {
                let records = batch
                    .records(&mut scratch, &limits)
                    .map_err(|e| Error::Broker {
                        what: format!("reading {topic}/{partition}"),
                        cause: e.to_string(),
                    })?;
                for record in records {
                    let record = record.map_err(|e| Error::Broker {
                        what: format!("reading {topic}/{partition}"),
                        cause: e.to_string(),
                    })?;
                    if record.offset < self.positions[&partition] {
                        continue;
                    }
                    // A stop request ends the run between two records, not after the fetch.
                    if self.client.stopped() {
                        return Ok(Some(Stop::Interrupted));
                    }
                    // So does a lost generation: these records may be another member's now.
                    if self.member.as_ref().is_some_and(Member::is_lost) {
                        return Ok(Some(Stop::Lost));
                    }
                    let stop = self.process(partition, record.offset, record.key, record.value)?;
                    if stop.is_some() {
                        return Ok(stop);
                    }
                    if self.uncommitted >= self.config.commit_every {
                        if let Err(e) = self.out.flush() {
                            return self.output_failed(e);
                        }
                        self.commit()?;
                    }
                }
            }
            // Past compacted-away offsets and skipped batches too.
            let next = batch.next_offset().max(self.positions[&partition]);
            self.positions.insert(partition, next);
        }
        Ok(None)
    }

    /// Handles one record: print it when it is an order, dead-letter it when not.
    fn process(
        &mut self,
        partition: i32,
        offset: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<Option<Stop>, Error> {
        let config = self.config;
        let topic = config.topic.as_str();
        let parsed = match value {
            None => Err("the record has no value (a tombstone)".to_string()),
            Some(v) => Order::parse(v)
                .and_then(|order| check_key(key, &order).map(|()| order))
                .map_err(|reason| reason.to_string()),
        };
        match parsed {
            Ok(order) => {
                if let Err(e) = self.print(topic, partition, offset, key, &order) {
                    return self.output_failed(e);
                }
                self.summary.received += 1;
            }
            Err(reason) => {
                self.summary.invalid += 1;
                log::error!("{topic}/{partition} offset {offset}: invalid order: {reason}");
                if let Some(dlq) = &config.dlq_topic {
                    let envelope = Envelope::new(topic, partition, offset, key, value, &reason);
                    self.dead_letter(dlq, partition, offset, key, &envelope)?;
                }
            }
        }
        self.positions.insert(partition, offset + 1);
        self.summary.last_offsets.insert(partition, offset);
        self.uncommitted += 1;
        let processed = self.summary.received + self.summary.invalid;
        if config.max_messages.is_some_and(|max| processed >= max) {
            return Ok(Some(Stop::MaxMessages));
        }
        Ok(None)
    }

    fn print(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
        key: Option<&[u8]>,
        order: &Order,
    ) -> io::Result<()> {
        crate::stats::clear_before_output();
        match self.config.format {
            Format::Human => {
                writeln!(self.out, "Received order: {}", order.to_json())?;
                writeln!(self.out, "Partition: {partition}, Offset: {offset}")
            }
            Format::Json => {
                let (key, key_encoding) = crate::dead_letter::encode(key);
                let record = JsonRecord {
                    topic,
                    partition,
                    offset,
                    key,
                    key_encoding,
                    order,
                };
                let line = serde_json::to_string(&record).map_err(io::Error::other)?;
                writeln!(self.out, "{line}")
            }
        }
    }

    /// A closed stdout ends the run quietly; any other write error is an error.
    pub(super) fn output_failed(&mut self, e: io::Error) -> Result<Option<Stop>, Error> {
        output_closed(e).map(|()| {
            log::debug!("stdout closed; stopping");
            Some(Stop::OutputClosed)
        })
    }
}
