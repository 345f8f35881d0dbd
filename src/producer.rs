//! Sends orders to Kafka in batches and confirms each one with its partition and offset.
//!
//! Orders come from the command line (one), a generator (`--count`) or JSON lines on stdin. Each
//! is keyed by its `order_id` and sent to the partition the Java client would pick. Batches of up
//! to `batch_size` orders go in one produce request; the broker's base offset per partition gives
//! every order its own offset. A failed batch is retried with backoff on a fresh connection (so a
//! retried order may be stored twice, never zero times); orders that still fail are listed.

use std::collections::VecDeque;
use std::io::{self, BufRead, Write};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde::Serialize;
use uuid::Uuid;

use crate::client::{compress, Client, Delivery, Outgoing, ProduceSettings, Refusal, Sending};
use crate::config::{Format, Input, ProducerConfig, Serializer};
use crate::error::{output_closed, secs, Error};
use crate::exit_codes as exit;
use crate::input;
use crate::order::Order;
use crate::partition;
use crate::registry::{self, Kind, Registry};
use crate::stats::{counter, gauge, Figures, Latencies, Progress, Reporter};

/// Waits for `--rate` up to this long leave the batches sent unacknowledged.
const SHORT_WAIT: Duration = Duration::from_millis(5);

/// What a run did, for the summary line and the exit code.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub sent: u64,
    pub failed: u64,
    pub invalid: u64,
    pub elapsed: Duration,
}

impl Summary {
    /// The summary as one JSON object (for `--format json`).
    pub fn json(&self) -> String {
        serde_json::json!({
            "type": "summary",
            "sent": self.sent,
            "failed": self.failed,
            "invalid": self.invalid,
            "elapsed_s": (self.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            "text": self.line(),
        })
        .to_string()
    }

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
/// counts what was done before an error or a stop request ended the run, if one did.
pub fn run(
    config: &ProducerConfig,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
    stop: &AtomicBool,
) -> (Summary, Result<(), Error>) {
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut seen = Seen::new(config);
    let result = connect_and_send(config, stdin, out, stop, &mut summary, &mut seen);
    seen.progress.clear();
    summary.elapsed = started.elapsed();
    (summary, result)
}

/// What `--stats` and the status line show, beside the summary's counts.
struct Seen {
    reporter: Option<Reporter>,
    progress: Progress,
    latencies: Latencies,
    /// Orders handed to a produce request, retries not counted again.
    attempted: u64,
    bytes: u64,
    batches: u64,
}

impl Seen {
    fn new(config: &ProducerConfig) -> Seen {
        Seen {
            reporter: Reporter::new(&config.seeing),
            progress: Progress::new(&config.seeing),
            latencies: Latencies::default(),
            attempted: 0,
            bytes: 0,
            batches: 0,
        }
    }
}

fn connect_and_send(
    config: &ProducerConfig,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
    stop: &AtomicBool,
    summary: &mut Summary,
    seen: &mut Seen,
) -> Result<(), Error> {
    let settings = ProduceSettings {
        acks: config.acks,
        ack_timeout: config.ack_timeout,
        compression: config.compression,
        compressor: compress,
        idempotent: config.idempotence,
    };
    let encoding = schema_id(config, stop)?;
    // A metadata request may create the topic, as the Java producer's may.
    let options = config
        .connection
        .client_options("order-producer", 16 << 20, &[&config.topic]);
    let mut client = Client::connect(options, &[&config.topic], stop)?;
    let partitions = client.partitions(&config.topic)?.len() as u32;
    let mut producer = Producer {
        config,
        client,
        settings,
        partitions,
        out,
        output_closed: false,
        summary,
        seen,
        batch: Batch::default(),
        in_flight: VecDeque::new(),
        free: Vec::new(),
        spare: Vec::new(),
        outgoing: Vec::new(),
        rate_start: None,
        queued: 0,
        encoding,
        shown: Vec::new(),
    };
    let result = producer.send_all(stdin);
    if producer.seen.reporter.is_some() {
        producer.report();
    }
    result
}

/// The registry's id for the order schema, when orders go in its wire format: asked for once,
/// before the first order.
fn schema_id(config: &ProducerConfig, stop: &AtomicBool) -> Result<Option<(Kind, u32)>, Error> {
    let (Serializer::Registry(kind), Some(settings)) = (config.serializer, &config.registry) else {
        return Ok(None);
    };
    if !cfg!(feature = "registry") {
        // The settings refuse a registry in this build: nothing of it is linked in.
        return Err(Error::Usage(registry::NO_REGISTRY.into()));
    }
    let c = &config.connection;
    let retry = c.client_options("order-producer", 0, &[]).retry;
    let mut registry = Registry::new(settings, c.connect_timeout, c.request_timeout, retry)?;
    let subject = format!("{}-value", config.topic);
    let id = registry.order_schema_id(&subject, kind, config.auto_register, stop)?;
    log::info!("schema registry: the order schema is id {id} under subject '{subject}'");
    Ok(Some((kind, id)))
}

/// Orders sent in one produce call, with their values end to end and where each one is.
#[derive(Default)]
struct Batch {
    orders: Vec<Order>,
    values: Vec<u8>,
    spans: Vec<std::ops::Range<usize>>,
    sent_at: Option<Instant>,
}

struct Producer<'a, 'c> {
    config: &'a ProducerConfig,
    client: Client<'c>,
    settings: ProduceSettings,
    partitions: u32,
    out: &'a mut dyn Write,
    /// Set when stdout went away (`| head`): sending goes on, printing stops.
    output_closed: bool,
    summary: &'a mut Summary,
    seen: &'a mut Seen,
    /// The batch being filled.
    batch: Batch,
    /// Batches sent and not yet acknowledged, oldest first.
    in_flight: VecDeque<(Batch, Sending)>,
    /// Settled batches, their buffers kept for the next ones.
    free: Vec<Batch>,
    /// Orders of settled batches, whose strings the next lines' orders reuse.
    spare: Vec<Order>,
    /// The records of the last call, emptied: their room is the next call's.
    outgoing: Vec<Outgoing<'static>>,
    /// When the first order was queued: `--rate` counts from there, not from start-up.
    rate_start: Option<Instant>,
    queued: u64,
    /// The schema and its id when orders go in the registry's wire format; plain JSON when
    /// `None`.
    encoding: Option<(Kind, u32)>,
    /// An Avro order's JSON, made again for its delivery line.
    shown: Vec<u8>,
}

impl Producer<'_, '_> {
    fn send_all(&mut self, stdin: &mut dyn BufRead) -> Result<(), Error> {
        match &self.config.input {
            Input::One {
                user,
                item,
                quantity,
            } => {
                let order = Order::new(Uuid::new_v4(), user, item, *quantity)
                    .map_err(|e| Error::Usage(e.to_string()))?;
                self.push(order)?;
            }
            Input::Count(n) => {
                for i in 0..*n {
                    if let Err(e) = self.push(random_order(i)) {
                        let unsent = n - self.summary.sent - self.summary.failed;
                        log::error!("stopped early: {unsent} of the {n} orders were not sent");
                        return Err(e);
                    }
                }
            }
            Input::Stdin => input::read_lines(stdin, self)?,
        }
        self.flush()
    }

    /// One line of input: queued when it is an order, counted and reported when not.
    fn take_line(&mut self, line: &[u8], number: u64) -> Result<(), Error> {
        let payload = trim_line_end(line);
        if payload.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        // An order of a sent batch lends its strings: no allocation per line.
        let mut slot = self.spare.pop();
        match Order::parse_into_as_written(payload, &mut slot).map(|(_, as_written)| as_written) {
            Ok(as_written) => {
                // A line that is the order as write_json writes it is sent as it came.
                let json = as_written.then_some(payload);
                let pushed = match slot {
                    Some(order) => self.push_json(order, json),
                    None => Ok(()),
                };
                if let Err(e) = pushed {
                    log::error!("stopped early: input after line {number} was not read");
                    return Err(e);
                }
                Ok(())
            }
            Err(reason) => {
                self.spare.extend(slot);
                self.summary.invalid += 1;
                if self.config.strict {
                    self.flush()?;
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

    /// Queues one order, sending the batch when it is full or when `--rate` says it is time.
    fn push(&mut self, order: Order) -> Result<(), Error> {
        self.push_json(order, None)
    }

    /// Queues one order, `json` its JSON exactly as [`Order::write_json`] writes it when the
    /// caller has it at hand.
    fn push_json(&mut self, order: Order, json: Option<&[u8]>) -> Result<(), Error> {
        if self.client.stopped() {
            self.flush()?;
            return Err(Error::Interrupted);
        }
        if let Some(rate) = self.config.rate {
            let start = *self.rate_start.get_or_insert_with(Instant::now);
            let due = start + Duration::from_secs_f64(self.queued as f64 / rate);
            let now = Instant::now();
            if due > now {
                // A short wait keeps the batches on their way; a longer one settles them first,
                // so that each delivery is reported when it happens.
                if due - now > SHORT_WAIT {
                    self.flush()?;
                } else {
                    self.send()?;
                }
                self.client.sleep(due - now)?;
            }
        }
        self.queued += 1;
        let batch = &mut self.batch;
        let start = batch.values.len();
        match self.encoding {
            None => match json {
                Some(json) => batch.values.extend_from_slice(json),
                None => order.write_json(&mut batch.values),
            },
            Some((kind, id)) => {
                registry::frame(id, &mut batch.values);
                match kind {
                    Kind::Avro => crate::avro::encode_order(&order, &mut batch.values),
                    Kind::JsonSchema => match json {
                        Some(json) => batch.values.extend_from_slice(json),
                        None => order.write_json(&mut batch.values),
                    },
                }
            }
        }
        batch.spans.push(start..batch.values.len());
        batch.orders.push(order);
        // A record is its value, its key (the order id) and about ten bytes of framing: the
        // batch stays within `batch.size` as the broker counts it.
        let bytes = batch.values.len() + batch.orders.len() * (36 + 10);
        if batch.orders.len() >= self.config.batch_size || bytes >= self.config.batch_bytes {
            self.send()?;
        }
        Ok(())
    }

    /// Sends the queued batch without waiting, once at most `max_in_flight` others are on
    /// their way: the oldest is waited for first.
    fn send(&mut self) -> Result<(), Error> {
        if self.batch.orders.is_empty() {
            return Ok(());
        }
        while self.in_flight.len() >= self.config.max_in_flight {
            self.complete_oldest()?;
        }
        let mut batch = std::mem::replace(&mut self.batch, self.free.pop().unwrap_or_default());
        let mut outgoing: Vec<Outgoing<'_>> = reuse(std::mem::take(&mut self.outgoing));
        outgoing.extend(
            batch
                .orders
                .iter()
                .zip(&batch.spans)
                .map(|(o, span)| Outgoing {
                    partition: partition::for_key(o.order_id().as_bytes(), self.partitions),
                    key: Some(o.order_id().as_bytes()),
                    value: Some(&batch.values[span.clone()]),
                }),
        );
        batch.sent_at = Some(Instant::now());
        let sending = self
            .client
            .send(&self.config.topic, &outgoing, &self.settings);
        self.seen.attempted += outgoing.len() as u64;
        self.seen.bytes += batch.values.len() as u64;
        self.seen.batches += sending.batches() as u64;
        self.outgoing = reuse(outgoing);
        self.in_flight.push_back((batch, sending));
        Ok(())
    }

    /// Sends the queued batch and waits until every batch sent is settled and reported.
    fn flush(&mut self) -> Result<(), Error> {
        self.send()?;
        while !self.in_flight.is_empty() {
            self.complete_oldest()?;
        }
        Ok(())
    }

    /// Waits for the oldest batch on its way (retried under the client's policy) and reports
    /// every order of it.
    fn complete_oldest(&mut self) -> Result<(), Error> {
        let Some((mut batch, sending)) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let (results, ended) = self
            .client
            .complete(&self.config.topic, sending, &self.settings);
        if let Some(at) = batch.sent_at {
            self.seen.latencies.record(at.elapsed());
        }
        let delivered = self.deliveries(&batch, results);
        self.spare.append(&mut batch.orders);
        batch.values.clear();
        batch.spans.clear();
        self.free.push(batch);
        delivered?;
        if self.seen.reporter.as_mut().is_some_and(Reporter::due) {
            self.report();
        }
        if self.seen.progress.due() {
            self.draw_progress();
        }
        match ended {
            // The batches behind it are waited for, so that each is reported before the end.
            Some(e) => {
                while let Some((batch, sending)) = self.in_flight.pop_front() {
                    let (results, _) =
                        self.client
                            .complete(&self.config.topic, sending, &self.settings);
                    self.deliveries(&batch, results)?;
                }
                Err(e)
            }
            None => Ok(()),
        }
    }

    /// Writes one `--stats` report; a report that cannot be written is a warning, not the end
    /// of the run.
    fn report(&mut self) {
        let (p50, p99, max) = self.seen.latencies.summary();
        let figures = Figures {
            role: "producer",
            topic: &self.config.topic,
            figures: vec![
                counter("sent", "orders handed to the broker", self.seen.attempted),
                counter("acked", "orders the broker acknowledged", self.summary.sent),
                counter("failed", "orders not delivered", self.summary.failed),
                counter(
                    "invalid",
                    "input lines that are not orders",
                    self.summary.invalid,
                ),
                counter(
                    "retries",
                    "attempts repeated after a failure",
                    self.client.retries(),
                ),
                counter("bytes", "bytes of order values sent", self.seen.bytes),
                counter(
                    "batches",
                    "record batches sent, one per partition and request",
                    self.seen.batches,
                ),
                gauge(
                    "ack_latency_p50_ms",
                    "median time from a request to its acknowledgement",
                    p50,
                ),
                gauge("ack_latency_p99_ms", "99th percentile of the same", p99),
                gauge(
                    "ack_latency_max_ms",
                    "longest time to an acknowledgement since start",
                    max,
                ),
            ],
            partitions: Vec::new(),
        };
        if let Some(reporter) = &self.seen.reporter {
            self.seen.progress.clear();
            if let Err(e) = reporter.write(&figures) {
                log::warn!("cannot write the stats: {e}");
            }
        }
    }

    fn draw_progress(&mut self) {
        let elapsed = self.seen.progress.elapsed();
        let of = match &self.config.input {
            Input::Count(n) => format!(" of {n}"),
            _ => String::new(),
        };
        let rate = self.summary.sent as f64 / elapsed.as_secs_f64().max(1e-9);
        let line = format!(
            "sent {}{of}, {rate:.0} orders/s, failed {}, {}",
            self.summary.sent,
            self.summary.failed,
            secs(elapsed)
        );
        self.seen.progress.draw(&line);
    }

    fn deliveries(
        &mut self,
        batch: &Batch,
        results: Vec<Result<Delivery, Refusal>>,
    ) -> Result<(), Error> {
        let (orders, values, spans) = (&batch.orders, &batch.values, &batch.spans);
        let topic = &self.config.topic;
        let mut output = Ok(());
        crate::stats::clear_before_output();
        for ((order, span), result) in orders.iter().zip(spans).zip(results) {
            let json = match self.encoding {
                None => &values[span.clone()],
                Some((Kind::JsonSchema, _)) => &values[span.start + 5..span.end],
                Some((Kind::Avro, _)) => {
                    self.shown.clear();
                    order.write_json(&mut self.shown);
                    &self.shown
                }
            };
            match result {
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
            // A closed pipe (`| head`) only ends the output, not the sending.
            .or_else(|e| output_closed(e).map(|()| self.output_closed = true))
    }
}

/// Stdin a block at a time: a short block (the writer paused) is sent and acknowledged before
/// the next read waits, so no order waits for the next one.
impl input::Lines for Producer<'_, '_> {
    fn line(&mut self, line: &[u8], number: u64) -> Result<(), Error> {
        self.take_line(line, number)
    }

    fn paused(&mut self) -> Result<(), Error> {
        self.flush()
    }

    fn failed(&mut self) -> Result<(), Error> {
        self.flush()
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
    json: &[u8],
    order: &Order,
    delivery: &Delivery,
) -> io::Result<()> {
    match format {
        Format::Human => {
            // With acks=0 there is no offset: nothing says the broker stored the order.
            out.write_all(match delivery.offset {
                Some(_) => b"Message delivered: ",
                None => b"Message sent, not acknowledged (acks=0): ",
            })?;
            out.write_all(json)?;
            out.write_all(b"\n")?;
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
            serde_json::to_writer(&mut *out, &line).map_err(io::Error::other)?;
            out.write_all(b"\n")
        }
    }
}

/// An emptied vector with its room kept, for records that borrow from other buffers: collecting
/// an empty vector's items into one of a type of the same size reuses its allocation.
fn reuse<'a>(mut records: Vec<Outgoing<'_>>) -> Vec<Outgoing<'a>> {
    records.clear();
    records.into_iter().map(|_| unreachable!()).collect()
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
