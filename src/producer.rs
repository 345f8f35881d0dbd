//! Sends orders to Kafka in batches and confirms each one with its partition and offset.
//!
//! Orders come from the command line (one), a generator (`--count`) or JSON lines on stdin. Each
//! is keyed by its `order_id` and sent to the partition the Java client would pick. Batches of up
//! to `batch_size` orders go in one produce request; the broker's base offset per partition gives
//! every order its own offset. A failed batch is retried with backoff on a fresh connection (so a
//! retried order may be stored twice, never zero times); orders that still fail are listed.

use std::io::{self, BufRead, Write};
use std::time::{Duration, Instant};

use kafka::client::{Compression, KafkaClient, ProduceMessage, RequiredAcks};
use kafka::error::KafkaCode;
use serde::Serialize;
use uuid::Uuid;

use crate::broker::{self, Broker};
use crate::config::{Acks, Codec, Format, Input, ProducerConfig};
use crate::error::{exit, secs, Error};
use crate::order::Order;
use crate::partition;

/// What a run did, for the summary line and the exit code.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub sent: u64,
    pub failed: u64,
    pub invalid: u64,
    pub elapsed: Duration,
}

impl Summary {
    pub fn line(&self) -> String {
        let rate = self.sent as f64 / self.elapsed.as_secs_f64().max(1e-9);
        format!(
            "sent {}, failed {}, invalid {} in {} ({:.0} orders/s)",
            self.sent,
            self.failed,
            self.invalid,
            secs(self.elapsed),
            rate
        )
    }
}

impl Summary {
    /// 0 when every order was delivered, 1 when the broker failed us (this wins), 2 when input
    /// was invalid.
    pub fn exit_code(&self, result: &Result<(), Error>) -> i32 {
        match result {
            Err(e) => e.exit_code(),
            Ok(()) if self.failed > 0 => exit::FAILURE,
            Ok(()) if self.invalid > 0 => exit::USAGE,
            Ok(()) => exit::OK,
        }
    }
}

/// Runs the producer. Delivery confirmations go to `out`; diagnostics go to the log. The summary
/// counts what was done before an error stopped the run, if one did.
pub fn run(
    config: &ProducerConfig,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
) -> (Summary, Result<(), Error>) {
    let started = Instant::now();
    let mut summary = Summary::default();
    let result = connect_and_send(config, stdin, out, started, &mut summary);
    summary.elapsed = started.elapsed();
    (summary, result)
}

fn connect_and_send(
    config: &ProducerConfig,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
    started: Instant,
    summary: &mut Summary,
) -> Result<(), Error> {
    let compression = match config.compression {
        Codec::None => Compression::NONE,
        Codec::Gzip => Compression::GZIP,
        Codec::Snappy => Compression::SNAPPY,
    };
    let broker = Broker::connect(
        &config.connection,
        "order-producer",
        &[&config.topic],
        Box::new(move |c: &mut KafkaClient| c.set_compression(compression)),
    )?;
    let mut producer = Producer {
        config,
        partitions: broker.partitions(&config.topic).len() as u32,
        broker,
        out,
        output_closed: false,
        summary,
        batch: Vec::with_capacity(config.batch_size),
    };
    producer.send_all(stdin, started)
}

struct Producer<'a> {
    config: &'a ProducerConfig,
    broker: Broker,
    partitions: u32,
    out: &'a mut dyn Write,
    /// Set when stdout went away (`| head`): sending goes on, printing stops.
    output_closed: bool,
    summary: &'a mut Summary,
    batch: Vec<Order>,
}

/// A delivered order's place in the topic; `offset` is `None` with `--acks 0`.
struct Delivery {
    partition: i32,
    offset: Option<i64>,
}

impl Producer<'_> {
    fn send_all(&mut self, stdin: &mut dyn BufRead, started: Instant) -> Result<(), Error> {
        let mut queued: u64 = 0;
        match &self.config.input {
            Input::One {
                user,
                item,
                quantity,
            } => {
                let order = Order::new(Uuid::new_v4(), user, item, *quantity)
                    .map_err(|e| Error::Usage(e.to_string()))?;
                self.push(order, &mut queued, started)?;
            }
            Input::Count(n) => {
                for i in 0..*n {
                    if let Err(e) = self.push(random_order(i), &mut queued, started) {
                        let unsent = n - self.summary.sent - self.summary.failed;
                        log::error!("stopped early: {unsent} of the {n} orders were not sent");
                        return Err(e);
                    }
                }
            }
            Input::Stdin => self.send_lines(stdin, &mut queued, started)?,
        }
        self.flush()
    }

    fn send_lines(
        &mut self,
        stdin: &mut dyn BufRead,
        queued: &mut u64,
        started: Instant,
    ) -> Result<(), Error> {
        let mut line = Vec::new();
        let mut number = 0u64;
        loop {
            line.clear();
            let read = stdin.read_until(b'\n', &mut line).map_err(|e| Error::Io {
                what: format!("reading standard input after line {number}"),
                source: e,
            })?;
            if read == 0 {
                return Ok(());
            }
            number += 1;
            let payload = trim_line_end(&line);
            if payload.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match Order::parse(payload) {
                Ok(order) => {
                    if let Err(e) = self.push(order, queued, started) {
                        log::error!("stopped early: input after line {number} was not read");
                        return Err(e);
                    }
                }
                Err(reason) => {
                    self.summary.invalid += 1;
                    if self.config.strict {
                        self.flush()?;
                        return Err(Error::InvalidInput {
                            line: number,
                            reason: reason.to_string(),
                        });
                    }
                    log::error!("line {number}: {reason}; skipped");
                }
            }
        }
    }

    /// Queues one order, sending the batch when it is full or when `--rate` says it is time.
    fn push(&mut self, order: Order, queued: &mut u64, started: Instant) -> Result<(), Error> {
        if let Some(rate) = self.config.rate {
            let due = started + Duration::from_secs_f64(*queued as f64 / rate);
            let now = Instant::now();
            if due > now {
                self.flush()?;
                std::thread::sleep(due - now);
            }
        }
        *queued += 1;
        self.batch.push(order);
        if self.batch.len() >= self.config.batch_size {
            self.flush()?;
        }
        Ok(())
    }

    /// Sends the queued batch, retrying what can be retried, and reports every order.
    fn flush(&mut self) -> Result<(), Error> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let orders = std::mem::take(&mut self.batch);
        let jsons: Vec<String> = orders.iter().map(Order::to_json).collect();
        let partitions: Vec<i32> = orders
            .iter()
            .map(|o| partition::for_key(o.order_id().as_bytes(), self.partitions))
            .collect();
        let mut results: Vec<Option<Result<Delivery, String>>> =
            (0..orders.len()).map(|_| None).collect();
        let mut pending: Vec<usize> = (0..orders.len()).collect();
        let mut attempt = 1;
        let mut connection_lost = None;
        let mut reconnect_failed = None;
        while !pending.is_empty() {
            // After a failed reconnect the client knows no leaders: that attempt fails as such.
            let retry = match reconnect_failed.take() {
                Some(cause) => Ok((pending.clone(), cause)),
                None => self.send_once(&orders, &jsons, &partitions, &pending, &mut results),
            };
            let (retry, cause) = match retry {
                Ok(retry) => retry,
                Err(e) => {
                    for &i in &pending {
                        results[i] = Some(Err(e.clone()));
                    }
                    break;
                }
            };
            if retry.is_empty() {
                break;
            }
            if attempt >= self.broker.connection().attempts {
                let cause = self.broker.gave_up(&cause);
                for &i in &retry {
                    results[i] = Some(Err(cause.clone()));
                }
                connection_lost = Some(cause);
                break;
            }
            self.broker
                .pause(attempt, &format!("sending {} orders: {cause}", retry.len()));
            if let Err(e) = self.broker.reconnect() {
                reconnect_failed = Some(broker::describe(&e));
            }
            pending = retry;
            attempt += 1;
        }
        self.report(&orders, &jsons, results)?;
        match connection_lost {
            Some(cause) => Err(Error::Broker {
                what: format!("sending orders to '{}'", self.config.topic),
                cause,
            }),
            None => Ok(()),
        }
    }

    /// One produce request for the `pending` orders. Fills in `results` for what is settled and
    /// returns the orders to retry, with the reason.
    fn send_once(
        &mut self,
        orders: &[Order],
        jsons: &[String],
        partitions: &[i32],
        pending: &[usize],
        results: &mut [Option<Result<Delivery, String>>],
    ) -> Result<(Vec<usize>, String), String> {
        let topic = self.config.topic.as_str();
        let messages: Vec<ProduceMessage> = pending
            .iter()
            .map(|&i| {
                ProduceMessage::new(
                    topic,
                    partitions[i],
                    Some(orders[i].order_id().as_bytes()),
                    Some(jsons[i].as_bytes()),
                )
            })
            .collect();
        let acks = match self.config.acks {
            Acks::None => RequiredAcks::None,
            Acks::Leader => RequiredAcks::One,
            Acks::All => RequiredAcks::All,
        };
        let ack_timeout = self.config.ack_timeout;
        let what = format!("sending {} orders to '{topic}'", pending.len());
        let confirms = match self
            .broker
            .once(&what, |c| c.produce_messages(acks, ack_timeout, &messages))
        {
            Ok(confirms) => confirms,
            Err(e) if broker::is_retryable(&e) => {
                return Ok((pending.to_vec(), broker::describe(&e)))
            }
            Err(e) => return Err(broker::describe(&e)),
        };
        if self.config.acks == Acks::None {
            for &i in pending {
                results[i] = Some(Ok(Delivery {
                    partition: partitions[i],
                    offset: None,
                }));
            }
            return Ok((Vec::new(), String::new()));
        }
        // The broker answers with the offset of the first record it appended per partition;
        // the records of one partition follow in the order they were sent.
        let mut base: Vec<(i32, Result<i64, KafkaCode>)> = Vec::new();
        for confirm in confirms.iter().filter(|c| c.topic == topic) {
            for p in &confirm.partition_confirms {
                base.push((p.partition, p.offset));
            }
        }
        let mut next_in_partition: Vec<(i32, i64)> = Vec::new();
        let mut retry = Vec::new();
        let mut cause = String::new();
        for &i in pending {
            let partition = partitions[i];
            let answer = base.iter().find(|(p, _)| *p == partition).map(|(_, o)| *o);
            match answer {
                Some(Ok(first)) => {
                    let seen = match next_in_partition.iter_mut().find(|(p, _)| *p == partition) {
                        Some((_, n)) => n,
                        None => {
                            next_in_partition.push((partition, 0));
                            &mut next_in_partition.last_mut().expect("just pushed").1
                        }
                    };
                    results[i] = Some(Ok(Delivery {
                        partition,
                        offset: Some(first + *seen),
                    }));
                    *seen += 1;
                }
                Some(Err(code)) if broker::is_retryable_code(code) => {
                    cause = format!("{topic}/{partition}: {}", broker::describe_code(code));
                    retry.push(i);
                }
                Some(Err(code)) => {
                    results[i] = Some(Err(format!(
                        "{topic}/{partition}: {}",
                        broker::describe_code(code)
                    )))
                }
                None => {
                    cause = format!("no answer for {topic}/{partition}");
                    retry.push(i);
                }
            }
        }
        Ok((retry, cause))
    }

    fn report(
        &mut self,
        orders: &[Order],
        jsons: &[String],
        results: Vec<Option<Result<Delivery, String>>>,
    ) -> Result<(), Error> {
        let topic = &self.config.topic;
        let mut output = Ok(());
        for ((order, json), result) in orders.iter().zip(jsons).zip(results) {
            match result.unwrap_or_else(|| Err("not sent".into())) {
                Ok(delivery) => {
                    self.summary.sent += 1;
                    if !self.config.quiet && !self.output_closed && output.is_ok() {
                        output = write_delivery(
                            &mut *self.out,
                            self.config.format,
                            topic,
                            json,
                            order,
                            &delivery,
                        );
                    }
                }
                Err(reason) => {
                    self.summary.failed += 1;
                    log::error!("order {} not delivered: {reason}", order.order_id());
                }
            }
        }
        output
            .and_then(|()| self.out.flush())
            .or_else(|e| match e.kind() {
                // A closed pipe (`| head`) only ends the output, not the sending.
                io::ErrorKind::BrokenPipe => {
                    self.output_closed = true;
                    Ok(())
                }
                _ => Err(Error::Io {
                    what: "writing output".into(),
                    source: e,
                }),
            })
    }
}

#[derive(Serialize)]
struct JsonDelivery<'a> {
    topic: &'a str,
    partition: i32,
    offset: Option<i64>,
    order_id: &'a str,
}

fn write_delivery(
    out: &mut dyn Write,
    format: Format,
    topic: &str,
    json: &str,
    order: &Order,
    delivery: &Delivery,
) -> io::Result<()> {
    match format {
        Format::Human => {
            writeln!(out, "Message delivered: {json}")?;
            match delivery.offset {
                Some(offset) => writeln!(
                    out,
                    "Topic: {topic}, Partition: {}, Offset: {offset}",
                    delivery.partition
                ),
                None => writeln!(
                    out,
                    "Topic: {topic}, Partition: {}, Offset: unknown (acks=0)",
                    delivery.partition
                ),
            }
        }
        Format::Json => {
            let line = JsonDelivery {
                topic,
                partition: delivery.partition,
                offset: delivery.offset,
                order_id: order.order_id(),
            };
            let line = serde_json::to_string(&line).map_err(io::Error::other)?;
            writeln!(out, "{line}")
        }
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &line[..end]
}

const USERS: [&str; 8] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
];
const ITEMS: [&str; 8] = [
    "book",
    "laptop",
    "phone",
    "headphones",
    "monitor",
    "keyboard",
    "mouse",
    "charger",
];

/// A random order: a fresh v4 UUID, user and item picked by its bytes.
pub fn random_order(seq: u64) -> Order {
    let id = Uuid::new_v4();
    let b = id.as_bytes();
    let user = USERS[(b[0] as usize + seq as usize) % USERS.len()];
    let item = ITEMS[b[1] as usize % ITEMS.len()];
    let quantity = 1 + u64::from(b[2]) % 10;
    Order::new(id, user, item, quantity).expect("generated orders are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_orders_are_valid_and_distinct() {
        let a = random_order(0);
        let b = random_order(1);
        assert_ne!(a.order_id(), b.order_id());
        assert_eq!(Order::parse(a.to_json().as_bytes()), Ok(a));
    }

    #[test]
    fn line_ends_are_trimmed_but_not_content() {
        assert_eq!(trim_line_end(b"{}\r\n"), b"{}");
        assert_eq!(trim_line_end(b" {} \n"), b" {} ");
        assert_eq!(trim_line_end(b""), b"");
    }

    #[test]
    fn summary_line_reads_well() {
        let s = Summary {
            sent: 1000,
            failed: 2,
            invalid: 3,
            elapsed: Duration::from_millis(500),
        };
        assert_eq!(
            s.line(),
            "sent 1000, failed 2, invalid 3 in 0.5s (2000 orders/s)"
        );
    }
}
