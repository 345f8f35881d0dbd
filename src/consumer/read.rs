//! Reading one partition's records in offset order (the client drops control batches and
//! aborted transactions): each validated and printed or dead-lettered.

use std::borrow::Cow;
use std::io::{self, Write};

use serde::Serialize;

use super::{Consumer, Stop};
use crate::base64;
use crate::client::{Member, PartitionRecords, Step};
use crate::config::Format;
use crate::dead_letter::Envelope;
use crate::error::{output_closed, Error};
use crate::order::{check_key, Order};

#[derive(Serialize)]
struct JsonRecord<'a> {
    topic: &'a str,
    partition: i32,
    offset: i64,
    key: Option<Cow<'a, str>>,
    key_encoding: Option<&'static str>,
    order: &'a Order,
}

impl Consumer<'_, '_> {
    /// Reads one partition's records (the client drops control batches and aborted
    /// transactions), each processed in offset order.
    pub(super) fn read_partition(
        &mut self,
        records: &PartitionRecords<'_>,
    ) -> Result<Option<Stop>, Error> {
        let partition = records.partition;
        records.read(|step| {
            let record = match step {
                // Past compacted-away offsets and skipped batches too.
                Step::Next(next) => {
                    let next = next.max(self.positions[&partition]);
                    self.positions.insert(partition, next);
                    return Ok(None);
                }
                Step::Record(record) => record,
            };
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
            Ok(None)
        })
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
        // One order slot, reused: a valid order costs no allocation.
        let mut slot = self.order.take();
        let parsed = match value {
            None => Err("the record has no value (a tombstone)".to_string()),
            Some(v) => Order::parse_into(v, &mut slot)
                .and_then(|order| check_key(key, order).map(|()| order))
                .map_err(|reason| reason.to_string()),
        };
        match parsed {
            Ok(order) => {
                let printed = self.print(topic, partition, offset, key, order);
                self.order = slot;
                if let Err(e) = printed {
                    return self.output_failed(e);
                }
                self.summary.received += 1;
            }
            Err(reason) => {
                self.order = slot;
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

    /// Writes one order's lines into the reused line buffer, then to the output in one call
    /// (the output is buffered and flushed once per fetch).
    fn print(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
        key: Option<&[u8]>,
        order: &Order,
    ) -> io::Result<()> {
        crate::stats::clear_before_output();
        let line = &mut self.line;
        line.clear();
        match self.config.format {
            Format::Human => {
                line.extend_from_slice(b"Received order: ");
                order.write_json(line);
                writeln!(line, "\nPartition: {partition}, Offset: {offset}")?;
            }
            Format::Json => {
                let (key, key_encoding) = match key.map(std::str::from_utf8) {
                    None => (None, None),
                    Some(Ok(text)) => (Some(Cow::Borrowed(text)), Some("text")),
                    Some(Err(_)) => (key.map(|k| Cow::Owned(base64::encode(k))), Some("base64")),
                };
                let record = JsonRecord {
                    topic,
                    partition,
                    offset,
                    key,
                    key_encoding,
                    order,
                };
                serde_json::to_writer(&mut *line, &record).map_err(io::Error::other)?;
                line.push(b'\n');
            }
        }
        self.out.write_all(line)
    }

    /// A closed stdout ends the run quietly; any other write error is an error.
    pub(super) fn output_failed(&mut self, e: io::Error) -> Result<Option<Stop>, Error> {
        output_closed(e).map(|()| {
            log::debug!("stdout closed; stopping");
            Some(Stop::OutputClosed)
        })
    }
}
