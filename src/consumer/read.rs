//! Reading one partition's records in offset order (the client drops control batches and
//! aborted transactions): each validated and printed or dead-lettered.

use std::io;

use super::{Consumer, Stop};
#[cfg(feature = "registry")]
use crate::avro;
use crate::base64;
use crate::client::{Member, PartitionRecords, Step};
use crate::config::Format;
use crate::dead_letter::Envelope;
use crate::error::{output_closed, Error};
#[cfg(feature = "registry")]
use crate::order::MAX_ORDER_BYTES;
use crate::order::{check_key, push_int, push_json_str, Order};
#[cfg(feature = "registry")]
use crate::registry::Writer;
use crate::registry::{self, Framed};

/// One valid record as printed.
struct Printed<'a> {
    topic: &'a str,
    partition: i32,
    offset: i64,
    key: Option<&'a [u8]>,
    order: &'a Order,
    /// The record's value when it is the order exactly as [`Order::write_json`] writes it:
    /// printed as it is.
    json: Option<&'a [u8]>,
}

/// A decoded order, and where in the record's value its JSON starts when the value holds it
/// exactly as [`Order::write_json`] writes it.
type Decoded<'s> = (&'s Order, Option<usize>);

impl Printed<'_> {
    /// Appends the record's lines to `line`: the seed's two lines, or one JSON object with the
    /// fields `topic`, `partition`, `offset`, `key`, `key_encoding` (`text`, or `base64` for a
    /// key that is not UTF-8) and `order`, written piece by piece without a serializer's
    /// round of small writes.
    fn write(&self, format: Format, line: &mut Vec<u8>) {
        match format {
            Format::Human => {
                line.extend_from_slice(b"Received order: ");
                self.order_json(line);
                line.extend_from_slice(b"\nPartition: ");
                push_int(line, i64::from(self.partition));
                line.extend_from_slice(b", Offset: ");
                push_int(line, self.offset);
                line.push(b'\n');
            }
            Format::Json => {
                line.extend_from_slice(b"{\"topic\":");
                push_json_str(line, self.topic);
                line.extend_from_slice(b",\"partition\":");
                push_int(line, i64::from(self.partition));
                line.extend_from_slice(b",\"offset\":");
                push_int(line, self.offset);
                line.extend_from_slice(b",\"key\":");
                match self.key.map(std::str::from_utf8) {
                    None => line.extend_from_slice(b"null,\"key_encoding\":null"),
                    Some(Ok(text)) => {
                        push_json_str(line, text);
                        line.extend_from_slice(b",\"key_encoding\":\"text\"");
                    }
                    Some(Err(_)) => {
                        push_json_str(line, &base64::encode(self.key.unwrap_or_default()));
                        line.extend_from_slice(b",\"key_encoding\":\"base64\"");
                    }
                }
                line.extend_from_slice(b",\"order\":");
                self.order_json(line);
                line.extend_from_slice(b"}\n");
            }
        }
    }
}

/// A wire-format record this run cannot read, which ends it: the record may well be an order.
fn unreadable(topic: &str, partition: i32, offset: i64, id: u32, what: &str) -> Error {
    Error::Usage(format!(
        "{topic}/{partition} offset {offset}: the record is in the Schema Registry wire format \
         (schema id {id}): {what}"
    ))
}

impl Printed<'_> {
    fn order_json(&self, line: &mut Vec<u8>) {
        match self.json {
            Some(json) => line.extend_from_slice(json),
            None => self.order.write_json(line),
        }
    }
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
            Some(v) => self
                .decode(v, &mut slot, partition, offset)?
                .and_then(|(order, at)| {
                    check_key(key, order)
                        .map(|()| (order, at))
                        .map_err(|r| r.to_string())
                }),
        };
        match parsed {
            Ok((order, at)) => {
                let json = at.and_then(|at| value.map(|v| &v[at..]));
                let printed = self.print(topic, partition, offset, key, order, json);
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

    /// The order in a record's value, plain JSON or in the Schema Registry's wire format, or
    /// why it is none (`Ok(Err)`: the record goes to the dead letters). A registry that does not
    /// answer, or a wire-format record without a registry to ask, ends the run instead: the
    /// record may well be a good order.
    fn decode<'s>(
        &mut self,
        value: &[u8],
        slot: &'s mut Option<Order>,
        partition: i32,
        offset: i64,
    ) -> Result<Result<Decoded<'s>, String>, Error> {
        let (id, payload) = match registry::unframe(value) {
            Err(reason) => return Ok(Err(reason)),
            Ok(Framed::Plain(v)) => {
                if let Some(&b) = v.first().filter(|&&b| b < 0x20 && !b" \t\r\n".contains(&b)) {
                    return Ok(Err(format!(
                        "magic byte {b}: neither the Schema Registry wire format (magic byte \
                         0) nor a JSON order"
                    )));
                }
                return Ok(Order::parse_into_as_written(v, slot)
                    .map(|(order, as_written)| (order, as_written.then_some(0)))
                    .map_err(|r| r.to_string()));
            }
            Ok(Framed::Schema { id, payload }) => (id, payload),
        };
        self.decode_framed(id, payload, slot, partition, offset)
    }

    /// A record in the wire format, without the registry to read it in this build.
    #[cfg(not(feature = "registry"))]
    fn decode_framed<'s>(
        &mut self,
        id: u32,
        _payload: &[u8],
        _slot: &'s mut Option<Order>,
        partition: i32,
        offset: i64,
    ) -> Result<Result<Decoded<'s>, String>, Error> {
        Err(unreadable(
            &self.config.topic,
            partition,
            offset,
            id,
            registry::NO_REGISTRY,
        ))
    }

    /// A record in the wire format: its writer schema comes from the registry, by id.
    #[cfg(feature = "registry")]
    fn decode_framed<'s>(
        &mut self,
        id: u32,
        payload: &[u8],
        slot: &'s mut Option<Order>,
        partition: i32,
        offset: i64,
    ) -> Result<Result<Decoded<'s>, String>, Error> {
        let Some(registry) = self.registry.as_mut() else {
            return Err(unreadable(
                &self.config.topic,
                partition,
                offset,
                id,
                "give --schema-registry URL (schema.registry.url) to read it",
            ));
        };
        Ok(match registry.writer(id, self.stop)? {
            None => Err(format!(
                "unknown schema id {id}: the schema registry has no schema with this id"
            )),
            Some(Writer::Json) => Order::parse_into_as_written(payload, slot)
                .map(|(order, as_written)| (order, as_written.then_some(5)))
                .map_err(|r| format!("schema id {id} (JSON Schema): {r}")),
            Some(Writer::Avro(writer)) => {
                match avro::decode_json(
                    writer,
                    avro::Schema::order(),
                    payload,
                    MAX_ORDER_BYTES,
                    &mut self.decoded,
                ) {
                    Ok(()) => Order::parse_into(&self.decoded, slot)
                        .map(|order| (order, None))
                        .map_err(|r| format!("schema id {id} (Avro): {r}")),
                    Err(e) => Err(format!("schema id {id}: {e}")),
                }
            }
            Some(Writer::Unreadable(why)) => Err(why.clone()),
        })
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
        json: Option<&[u8]>,
    ) -> io::Result<()> {
        crate::stats::clear_before_output();
        self.line.clear();
        let record = Printed {
            topic,
            partition,
            offset,
            key,
            order,
            json,
        };
        record.write(self.config.format, &mut self.line);
        self.out.write_all(&self.line)
    }

    /// A closed stdout ends the run quietly; any other write error is an error.
    pub(super) fn output_failed(&mut self, e: io::Error) -> Result<Option<Stop>, Error> {
        output_closed(e).map(|()| {
            log::debug!("stdout closed; stopping");
            Some(Stop::OutputClosed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the consumer printed with serde_json's derive: the reference for `Printed::write`.
    #[derive(serde::Serialize)]
    struct Reference<'a> {
        topic: &'a str,
        partition: i32,
        offset: i64,
        key: Option<String>,
        key_encoding: Option<&'static str>,
        order: &'a Order,
    }

    #[test]
    fn printed_lines_are_what_the_serializer_wrote() {
        let id = "9f1c2a7e-5d1b-4c39-8a56-0b8e2f1e3c4d";
        let order = Order::parse(
            format!(r#"{{"order_id":"{id}","user":"a \"b\"","item":"caf\u00e9","quantity":10}}"#)
                .as_bytes(),
        )
        .unwrap();
        let keys: [Option<&[u8]>; 4] = [Some(id.as_bytes()), None, Some(b"\xff\x00"), Some(b"q\"")];
        for (i, key) in keys.into_iter().enumerate() {
            for (topic, partition, offset) in
                [("orders", 0, 0), ("t\"x", 7, 1234567890123), ("o", -1, -5)]
            {
                let printed = Printed {
                    topic,
                    partition,
                    offset,
                    key,
                    order: &order,
                    json: None,
                };
                let mut json = Vec::new();
                printed.write(Format::Json, &mut json);
                // A value printed as it is gives the same lines.
                let written = order.to_json();
                let verbatim = Printed {
                    json: Some(written.as_bytes()),
                    ..printed
                };
                for format in [Format::Json, Format::Human] {
                    let (mut a, mut b) = (Vec::new(), Vec::new());
                    printed.write(format, &mut a);
                    verbatim.write(format, &mut b);
                    assert_eq!(a, b, "case {i}");
                }
                let (key, key_encoding) = crate::dead_letter::encode(key);
                let reference = Reference {
                    topic,
                    partition,
                    offset,
                    key,
                    key_encoding,
                    order: &order,
                };
                let expected = serde_json::to_string(&reference).unwrap() + "\n";
                assert_eq!(String::from_utf8_lossy(&json), expected, "case {i}");
                let mut human = Vec::new();
                printed.write(Format::Human, &mut human);
                let expected = format!(
                    "Received order: {}\nPartition: {partition}, Offset: {offset}\n",
                    order.to_json()
                );
                assert_eq!(String::from_utf8_lossy(&human), expected, "case {i}");
            }
        }
    }
}
