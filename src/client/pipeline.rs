//! Produce requests in flight: a call is sent at once and its answer read later, so the broker
//! stores one batch while the caller reads and encodes the next (`max.in.flight.requests.per.
//! connection`, up to 5 with idempotence, as in the Java client). Kafka answers a connection's
//! requests in order, and the caller completes its calls in the order it sent them.
//!
//! Only the happy path runs ahead. An answer that is not a delivery, or a connection lost
//! meanwhile, puts that call's batches through [`Client::deliver`], the one retry loop, with the
//! very same bytes and sequence numbers. First every answer still awaited is read and kept for
//! its call, so that the retry's answers are the next ones on the connection and no batch the
//! broker stored is sent again for want of its answer (the broker recognises only its last five
//! batches per partition as duplicates). The calls sent behind the retried one then meet an
//! out-of-order sequence (the broker waited for the batches sent again) and are sent again in
//! their turn: the broker stores each batch once and in sequence order, as the Java client's
//! in-order retries do.

use super::conn::garbled;
use super::produce::{failed, produce_request, settled, unsettled, Pending, Produced, PRODUCE};
use super::request::ApiKey;
use super::{Acks, Client, Failure, Outgoing, ProduceSettings};

/// The client's count of calls sent, the last call in flight when a retry began, the requests
/// whose answers are awaited (in the order they went out) and the answers read ahead of their
/// call's turn.
#[derive(Default)]
pub(super) struct Pipeline {
    sent: u64,
    resend_upto: u64,
    awaited: std::collections::VecDeque<Awaited>,
    kept: Vec<((u64, i32), Result<Answers, Failure>)>,
    /// The room of the last answer read, for the next one.
    room: Answers,
    /// The room of settled batches (record indices, encoded bytes), for the next ones.
    free: Vec<(Vec<usize>, Vec<u8>)>,
}

impl Pipeline {
    /// Emptied room for a batch's record indices and bytes: a settled batch's, or new.
    pub(super) fn recycled(&mut self) -> (Vec<usize>, Vec<u8>) {
        self.free.pop().unwrap_or_default()
    }

    /// Keeps a settled batch's room, as many as a full pipeline uses.
    fn recycle(&mut self, p: Pending) {
        if self.free.len() < 2 * MAX_IN_FLIGHT {
            let (mut indices, mut bytes) = (p.records, p.batch);
            indices.clear();
            bytes.clear();
            self.free.push((indices, bytes));
        }
    }
}

/// The most produce calls in flight that idempotence allows (the broker keeps the last five
/// batches of a producer per partition to tell a retry from a new batch).
pub const MAX_IN_FLIGHT: usize = 5;

/// (partition, error code, base offset) per partition of one produce answer.
type Answers = Vec<(i32, i16, i64)>;

/// A request on the wire: its connection, correlation id and version.
#[derive(Clone, Copy)]
struct Awaited {
    node: i32,
    serial: u64,
    correlation: i32,
    version: i16,
}

/// A produce call on its way: what went out and what could not, until [`Client::complete`].
pub struct Sending {
    ticket: u64,
    count: usize,
    requests: Vec<Request>,
    /// Batches that could not be sent (no leader known, no connection): sent by the retry loop.
    unsent: Vec<Pending>,
    /// Settled without an answer to wait for (acks=0, or a failure before anything went out).
    done: Option<Produced>,
    batches: usize,
}

impl Sending {
    /// Record batches the call sends, one per partition.
    pub fn batches(&self) -> usize {
        self.batches
    }
}

/// One request on one connection, its answer not read yet.
struct Request {
    on: Awaited,
    parts: Vec<Pending>,
}

impl Client<'_> {
    /// Sends `records` to `topic` like [`Client::produce`], without waiting for the answers.
    /// Every call must be completed, in the order of the calls.
    pub fn send(
        &mut self,
        topic: &str,
        records: &[Outgoing<'_>],
        settings: &ProduceSettings,
    ) -> Sending {
        self.pipeline.sent += 1;
        let mut sending = Sending {
            ticket: self.pipeline.sent,
            count: records.len(),
            requests: Vec::new(),
            unsent: Vec::new(),
            done: None,
            batches: 0,
        };
        if settings.acks == Acks::None {
            sending.done = Some(self.produce(topic, records, settings));
            return sending;
        }
        let pending = match self.prepare(topic, records, settings) {
            Ok(p) => p,
            Err(e) => {
                sending.done = Some(failed(records.len(), e));
                return sending;
            }
        };
        sending.batches = pending.len();
        // The common case, every batch to one leader, takes the batches as they are.
        let leaders: Option<i32> = pending
            .iter()
            .map(|p| self.leader(topic, p.partition).ok())
            .reduce(|a, b| a.filter(|&a| Some(a) == b))
            .flatten();
        let mut single = None;
        let mut by_node: Vec<(i32, Vec<Pending>)> = Vec::new();
        match leaders {
            Some(node) => single = Some((node, pending)),
            None => {
                for p in pending {
                    match self.leader(topic, p.partition) {
                        Ok(node) => match by_node.iter_mut().find(|(n, _)| *n == node) {
                            Some((_, parts)) => parts.push(p),
                            None => by_node.push((node, vec![p])),
                        },
                        Err(_) => sending.unsent.push(p),
                    }
                }
            }
        }
        for (node, parts) in single.into_iter().chain(by_node) {
            match self.start_produce(node, topic, &parts, settings) {
                Ok((serial, correlation, version)) => {
                    let on = Awaited {
                        node,
                        serial,
                        correlation,
                        version,
                    };
                    self.pipeline.awaited.push_back(on);
                    sending.requests.push(Request { on, parts });
                }
                Err(_) => {
                    self.drop_node(node);
                    sending.unsent.extend(parts);
                }
            }
        }
        sending
    }

    /// Reads the answers of a call made by [`Client::send`] and settles it: one result per
    /// record, in the order given, as [`Client::produce`] returns them.
    pub fn complete(
        &mut self,
        topic: &str,
        sending: Sending,
        settings: &ProduceSettings,
    ) -> Produced {
        if let Some(done) = sending.done {
            return done;
        }
        let mut results = vec![unsettled(); sending.count];
        let mut again = sending.unsent;
        // Sent before a retry began: may find the broker waiting for the batches sent again.
        let resent = sending.ticket <= self.pipeline.resend_upto;
        for request in sending.requests {
            match self.answer_of(topic, request.on, settings) {
                Ok(mut answers) => {
                    for p in request.parts {
                        let answer = answers.iter().find(|a| a.0 == p.partition);
                        let retry = match answer {
                            Some(&(_, code, base)) => self.settle_batch(
                                topic,
                                &p,
                                code,
                                base,
                                settings,
                                &mut results,
                                resent,
                            ),
                            None => Some(String::new()),
                        };
                        match retry {
                            Some(_) => again.push(p),
                            None => self.pipeline.recycle(p),
                        }
                    }
                    answers.clear();
                    self.pipeline.room = answers;
                }
                // Whatever is not settled yet is refused for the error that ended the call.
                Err(Failure::Fatal(e)) => return settled(results, Some(e)),
                Err(_) => {
                    self.drop_node(request.on.node);
                    again.extend(request.parts);
                }
            }
        }
        if again.is_empty() {
            return settled(results, None);
        }
        // Every call in flight now went out behind these batches: their answers are read and
        // kept first, so the connections carry nothing but the retry.
        self.pipeline.resend_upto = self.pipeline.sent;
        self.read_ahead(topic, settings);
        let ended = self.deliver(topic, again, &mut results, settings, true);
        settled(results, ended)
    }

    fn start_produce(
        &mut self,
        node: i32,
        topic: &str,
        parts: &[Pending],
        settings: &ProduceSettings,
    ) -> Result<(u64, i32, i16), Failure> {
        let conn = self.node(node)?;
        let version = conn.version(ApiKey::Produce, PRODUCE)?;
        let request = produce_request(topic, parts, settings);
        let correlation = conn.start(ApiKey::Produce, &request, version)?;
        Ok((conn.serial, correlation, version))
    }

    /// The answer to `on`: kept by an earlier [`Client::read_ahead`], or read now.
    fn answer_of(
        &mut self,
        topic: &str,
        on: Awaited,
        settings: &ProduceSettings,
    ) -> Result<Answers, Failure> {
        let key = (on.serial, on.correlation);
        if let Some(at) = self.pipeline.kept.iter().position(|(k, _)| *k == key) {
            return self.pipeline.kept.swap_remove(at).1;
        }
        let pipeline = &mut self.pipeline.awaited;
        if let Some(at) = pipeline
            .iter()
            .position(|a| (a.serial, a.correlation) == key)
        {
            pipeline.remove(at);
        }
        self.read_answer(topic, on, settings)
    }

    /// Reads every awaited answer, in the order the requests went out, and keeps each for its
    /// call; an answer that cannot be read is kept as its failure.
    fn read_ahead(&mut self, topic: &str, settings: &ProduceSettings) {
        while let Some(on) = self.pipeline.awaited.pop_front() {
            let answer = self.read_answer(topic, on, settings);
            if answer.is_err() {
                self.drop_node(on.node);
            }
            self.pipeline
                .kept
                .push(((on.serial, on.correlation), answer));
        }
    }

    fn read_answer(
        &mut self,
        topic: &str,
        on: Awaited,
        settings: &ProduceSettings,
    ) -> Result<Answers, Failure> {
        let stop = self.stop;
        let mut answers = std::mem::take(&mut self.pipeline.room);
        let Some(conn) = self.same_conn(on.node, on.serial) else {
            return Err(Failure::Network(format!(
                "the connection a produce request to '{topic}' went out on was closed before \
                 its answer"
            )));
        };
        let body = conn.answer(
            ApiKey::Produce,
            on.version,
            on.correlation,
            settings.ack_timeout,
            stop,
        )?;
        let parsed = super::produce::parse_produce_into(body, on.version, &mut answers);
        parsed
            .map(|()| answers)
            .map_err(|e| garbled(&conn.addr, ApiKey::Produce, e))
    }
}
