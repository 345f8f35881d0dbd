//! The cluster as the client sees it: bootstrap, metadata (brokers, partitions, leaders), one
//! connection per broker, and the retry policy every operation runs under.
//!
//! Bootstrap and metadata move on to the next address when one fails, so a silent or dead first
//! broker costs one timeout, not the run.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::conn::{garbled, Conn, Transport};
use super::request::{ApiKey, MetadataRequest, Request};
use super::wire::{Reader, Result as WireResult};
use super::{codes, Failure, Options};
use crate::error::{secs, Error};

/// Metadata versions this client reads (v4 brings allow_auto_topic_creation).
pub(super) const METADATA: std::ops::RangeInclusive<i16> = 4..=12;

#[derive(Debug, Clone)]
pub(super) struct PartitionMeta {
    pub id: i32,
    pub leader: i32,
    pub error: i16,
}

/// A connection to a Kafka cluster. Borrows the stop flag that a signal sets: every wait ends
/// soon after it is set, with [`Error::Interrupted`].
pub struct Client<'a> {
    pub(super) options: Options,
    /// The TLS setup every connection shares.
    transport: Transport,
    pub(super) stop: &'a AtomicBool,
    nodes: HashMap<i32, String>,
    conns: HashMap<i32, Conn>,
    /// Connections that carry only fetches, one per broker: a fetch sent ahead waits there
    /// while commits and dead letters go over `conns`, as the Java consumer keeps its
    /// coordinator apart.
    fetch_conns: HashMap<i32, Conn>,
    /// The connection metadata requests go to.
    meta: Option<Conn>,
    topics: HashMap<String, Vec<PartitionMeta>>,
    /// Set by a failure: the next look-up loads metadata first.
    stale: bool,
    /// The group and node id of the last coordinator found.
    pub(super) coordinator: Option<(String, i32)>,
    pub(super) idempotence: Option<super::produce::Idempotence>,
    /// Produce requests sent ahead of their answers.
    pub(super) pipeline: super::pipeline::Pipeline,
    /// Set when the broker lost track of the producer id's sequences: the batches waiting are
    /// sent again under a new one.
    pub(super) renew: bool,
    /// Consecutive failed fetches per partition, for the retry policy.
    pub(super) fetch_failures: HashMap<i32, u32>,
    /// Buffers of fetch answers already read, for the next ones.
    pub(super) spare_frames: Vec<Vec<u8>>,
    /// Attempts repeated after a failure, for `--stats`.
    retries: std::cell::Cell<u64>,
    /// Set when the last failure was a topic this client may create not being ready yet: the
    /// first such wait is expected, not worth a warning.
    creating: std::cell::Cell<bool>,
}

impl<'a> Client<'a> {
    /// Connects to the first bootstrap broker that answers and loads metadata for `topics`.
    pub fn connect(
        options: Options,
        topics: &[&str],
        stop: &'a AtomicBool,
    ) -> Result<Client<'a>, Error> {
        let transport = Transport::new(&options.security)?;
        let mut client = Client {
            options,
            transport,
            stop,
            nodes: HashMap::new(),
            conns: HashMap::new(),
            fetch_conns: HashMap::new(),
            meta: None,
            topics: HashMap::new(),
            stale: true,
            coordinator: None,
            idempotence: None,
            pipeline: Default::default(),
            renew: false,
            fetch_failures: HashMap::new(),
            spare_frames: Vec::new(),
            retries: std::cell::Cell::new(0),
            creating: std::cell::Cell::new(false),
        };
        let names: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        client.retry("loading metadata", |c| c.load_metadata(&names))?;
        Ok(client)
    }

    /// A second client on the same cluster with connections of its own, for a thread of its
    /// own (the heartbeats): it knows the brokers and the coordinator this one found.
    pub fn sibling(&self) -> Client<'a> {
        Client {
            options: self.options.clone(),
            transport: self.transport.clone(),
            stop: self.stop,
            nodes: self.nodes.clone(),
            conns: HashMap::new(),
            fetch_conns: HashMap::new(),
            meta: None,
            topics: HashMap::new(),
            stale: false,
            coordinator: self.coordinator.clone(),
            idempotence: None,
            pipeline: Default::default(),
            renew: false,
            fetch_failures: HashMap::new(),
            spare_frames: Vec::new(),
            retries: std::cell::Cell::new(0),
            creating: std::cell::Cell::new(false),
        }
    }

    /// Runs `op` under the retry policy. `what` names it in messages ("committing offsets").
    pub fn retry<T>(
        &mut self,
        what: &str,
        mut op: impl FnMut(&mut Self) -> Result<T, Failure>,
    ) -> Result<T, Error> {
        let attempts = self.options.retry.attempts;
        let mut attempt = 1;
        loop {
            let cause = match op(self) {
                Ok(value) => return Ok(value),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Network(cause)) => {
                    self.disconnect();
                    if attempt >= attempts {
                        return Err(Error::Unreachable {
                            brokers: self.options.brokers.join(","),
                            attempts,
                            cause: format!("{what}: {cause}"),
                        });
                    }
                    cause
                }
                Err(Failure::Garbled(cause)) => {
                    self.disconnect();
                    if attempt >= attempts {
                        return Err(Error::Broker {
                            what: what.to_string(),
                            cause: format!(
                                "{cause} (gave up after {attempts} attempts: is that address a \
                                 Kafka broker?)"
                            ),
                        });
                    }
                    cause
                }
                Err(Failure::Stale(cause)) => {
                    if attempt >= attempts {
                        return Err(Error::Broker {
                            what: what.to_string(),
                            cause: format!("{cause} (gave up after {attempts} attempts)"),
                        });
                    }
                    cause
                }
            };
            self.stale = true;
            self.pause(attempt, &format!("{what}: {cause}"))?;
            attempt += 1;
        }
    }

    /// Waits before attempt `attempt + 1`, saying why; a stop request ends the wait.
    pub(super) fn pause(&self, attempt: u32, cause: &str) -> Result<(), Error> {
        self.retries.set(self.retries.get() + 1);
        let wait = self.options.retry.pause_after(attempt);
        let level = match self.creating.take() && attempt == 1 {
            true => log::Level::Debug,
            false => log::Level::Warn,
        };
        log::log!(
            level,
            "attempt {attempt}/{} failed ({cause}); retrying in {}",
            self.options.retry.attempts,
            secs(wait)
        );
        self.sleep(wait)
    }

    /// Sleeps, waking early with [`Error::Interrupted`] when the stop flag is set.
    pub fn sleep(&self, wait: Duration) -> Result<(), Error> {
        let until = Instant::now() + wait;
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return Err(Error::Interrupted);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            thread::sleep(left.min(Duration::from_millis(50)));
        }
    }

    /// How many attempts were repeated after a failure, in all.
    pub fn retries(&self) -> u64 {
        self.retries.get()
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// From now on, ignores the stop flag: what a clean stop still has to say (the last
    /// commit, leaving the group) is said, within the usual timeouts and retries. A second
    /// signal still ends the process at once.
    pub fn finishing(&mut self) {
        static NEVER: AtomicBool = AtomicBool::new(false);
        self.stop = &NEVER;
    }

    /// Drops every connection; the next request opens new ones.
    pub(super) fn disconnect(&mut self) {
        self.conns.clear();
        self.fetch_conns.clear();
        self.coordinator = None;
        self.meta = None;
        self.stale = true;
    }

    /// The partition ids of `topic`, sorted, from fresh metadata when a failure made it stale.
    pub fn partitions(&mut self, topic: &str) -> Result<Vec<i32>, Error> {
        let names = vec![topic.to_string()];
        self.retry("loading metadata", |c| {
            if c.stale || !c.topics.contains_key(topic) {
                c.load_metadata(&names)?;
            }
            Ok(c.topics[topic].iter().map(|p| p.id).collect())
        })
    }

    pub(super) fn is_stale(&self) -> bool {
        self.stale
    }

    /// Marks metadata stale: the next look-up asks the cluster again.
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    /// The connection to the leader of `topic`/`partition`, and its node id.
    pub(super) fn leader(&mut self, topic: &str, partition: i32) -> Result<i32, Failure> {
        if self.stale || !self.topics.contains_key(topic) {
            self.load_metadata(&[topic.to_string()])?;
        }
        let meta = self.topics[topic]
            .iter()
            .find(|p| p.id == partition)
            .cloned()
            .ok_or_else(|| {
                Failure::Stale(format!(
                    "{topic}/{partition} is not in the cluster's metadata"
                ))
            })?;
        if meta.leader < 0 || meta.error != codes::NONE {
            return Err(Failure::Stale(format!(
                "{topic}/{partition} has no leader: {}",
                codes::describe(if meta.error == 0 { 5 } else { meta.error })
            )));
        }
        Ok(meta.leader)
    }

    /// The open connection to node `node`, opened when needed.
    pub(super) fn node(&mut self, node: i32) -> Result<&mut Conn, Failure> {
        if self.conns.get(&node).is_some_and(Conn::spent) {
            self.conns.remove(&node);
        }
        if !self.conns.contains_key(&node) {
            let addr =
                self.nodes.get(&node).cloned().ok_or_else(|| {
                    Failure::Stale(format!("broker {node} is not in the metadata"))
                })?;
            // The metadata connection, when it goes to this broker, becomes this broker's: at
            // start-up that saves a connection and its ApiVersions round trip. Metadata goes
            // over a new one when next asked for.
            let conn = match self.meta.take_if(|m| !m.spent() && m.reaches(&addr)) {
                Some(conn) => conn,
                None => Conn::open(&addr, &self.options, &self.transport, self.stop)?,
            };
            self.conns.insert(node, conn);
        }
        Ok(self.conns.get_mut(&node).expect("inserted above"))
    }

    /// One request to node `node` at the highest version of `api` both sides speak within
    /// `versions`; `request` builds it for that version and `parse` reads the answer. `wait` is
    /// time the broker may hold the request on purpose.
    pub(super) fn call_node<R: Request, T>(
        &mut self,
        node: i32,
        api: ApiKey,
        versions: RangeInclusive<i16>,
        wait: Duration,
        request: impl FnOnce(i16) -> R,
        parse: impl FnOnce(&[u8], i16) -> WireResult<T>,
    ) -> Result<T, Failure> {
        let stop = self.stop;
        let conn = self.node(node)?;
        let version = conn.version(api, versions)?;
        let request = request(version);
        let addr = conn.addr.clone();
        let body = conn.call(api, &request, version, wait, stop)?;
        parse(body, version).map_err(|e| garbled(&addr, api, e))
    }

    /// The open connection to `node` if it is still connection `serial`: an answer awaited on a
    /// connection that has been replaced since will never come.
    pub(super) fn same_conn(&mut self, node: i32, serial: u64) -> Option<&mut Conn> {
        self.conns.get_mut(&node).filter(|c| c.serial == serial)
    }

    /// Forgets the connection to `node` after it failed.
    pub(super) fn drop_node(&mut self, node: i32) {
        self.conns.remove(&node);
        self.stale = true;
    }

    /// The open fetch connection to node `node`, opened when needed (as [`Client::node`]).
    pub(super) fn fetch_node(&mut self, node: i32) -> Result<&mut Conn, Failure> {
        // `node` opens and checks connections of whichever pool is in `conns`.
        std::mem::swap(&mut self.conns, &mut self.fetch_conns);
        let opened = self.node(node).map(|_| ());
        std::mem::swap(&mut self.conns, &mut self.fetch_conns);
        opened?;
        Ok(self.fetch_conns.get_mut(&node).expect("opened above"))
    }

    /// The fetch connection to `node` if it is still connection `serial`.
    pub(super) fn same_fetch_conn(&mut self, node: i32, serial: u64) -> Option<&mut Conn> {
        self.fetch_conns
            .get_mut(&node)
            .filter(|c| c.serial == serial)
    }

    /// Forgets the fetch connection to `node`: it failed, or an answer on it is given up.
    pub(super) fn drop_fetch_node(&mut self, node: i32) {
        self.fetch_conns.remove(&node);
    }

    /// Learns a broker's address (from FindCoordinator).
    pub(super) fn learn_node(&mut self, node: i32, addr: String) {
        if self.nodes.get(&node) != Some(&addr) {
            self.conns.remove(&node);
            self.fetch_conns.remove(&node);
            self.nodes.insert(node, addr);
        }
    }

    fn may_create(&self, topics: &[String]) -> bool {
        topics.iter().all(|t| self.options.creatable.contains(t))
    }

    /// Addresses to ask when no connection is open: known brokers, then the bootstrap list.
    fn candidates(&self) -> Vec<String> {
        let mut candidates: Vec<String> = self.nodes.values().cloned().collect();
        candidates.sort();
        for b in &self.options.brokers {
            if !candidates.contains(b) {
                candidates.push(b.clone());
            }
        }
        candidates
    }

    /// Any open connection, or a new one to the first address that answers. Addresses that
    /// fail are skipped within the same call.
    pub(super) fn any_conn(&mut self) -> Result<&mut Conn, Failure> {
        if self.meta.as_ref().is_some_and(Conn::spent) {
            self.meta = None;
        }
        if self.meta.is_none() {
            let mut causes = Vec::new();
            for addr in self.candidates() {
                match Conn::open(&addr, &self.options, &self.transport, self.stop) {
                    Ok(conn) => {
                        self.meta = Some(conn);
                        break;
                    }
                    Err(Failure::Network(cause) | Failure::Garbled(cause)) => {
                        log::debug!("{cause}; trying the next broker");
                        causes.push(cause);
                    }
                    Err(other) => return Err(other),
                }
            }
            if self.meta.is_none() {
                return Err(Failure::Network(causes.join("; ")));
            }
        }
        Ok(self.meta.as_mut().expect("set above"))
    }

    /// Asks for metadata: the open metadata connection first, then every other address in
    /// turn until one answers.
    fn ask_metadata(&mut self, topics: &[String]) -> Result<Parsed, Failure> {
        let request = MetadataRequest {
            topics,
            allow_auto_topic_creation: self.may_create(topics),
        };
        let stop = self.stop;
        let ask = |conn: &mut Conn| -> Result<Parsed, Failure> {
            let version = conn.version(ApiKey::Metadata, METADATA)?;
            let addr = conn.addr.clone();
            let body = conn.call(ApiKey::Metadata, &request, version, Duration::ZERO, stop)?;
            parse_metadata(body, version).map_err(|e| garbled(&addr, ApiKey::Metadata, e))
        };
        if self.meta.as_ref().is_some_and(Conn::spent) {
            self.meta = None;
        }
        let mut causes = Vec::new();
        // Garbage from every broker is not a broker that is down.
        let mut all_garbled = true;
        if let Some(conn) = self.meta.as_mut() {
            match ask(conn) {
                Err(Failure::Network(cause)) => {
                    causes.push(cause);
                    all_garbled = false;
                    self.meta = None;
                }
                Err(Failure::Garbled(cause)) => {
                    causes.push(cause);
                    self.meta = None;
                }
                other => return other,
            }
        }
        for addr in self.candidates() {
            let answer = Conn::open(&addr, &self.options, &self.transport, self.stop)
                .and_then(|mut conn| ask(&mut conn).map(|parsed| (conn, parsed)));
            match answer {
                Ok((conn, parsed)) => {
                    self.meta = Some(conn);
                    return Ok(parsed);
                }
                Err(Failure::Network(cause)) => {
                    log::debug!("{cause}; asking the next broker");
                    causes.push(cause);
                    all_garbled = false;
                }
                Err(Failure::Garbled(cause)) => {
                    log::debug!("{cause}; asking the next broker");
                    causes.push(cause);
                }
                Err(other) => return Err(other),
            }
        }
        let causes = causes.join("; ");
        Err(match all_garbled {
            true => Failure::Garbled(causes),
            false => Failure::Network(causes),
        })
    }

    /// Loads brokers and the partitions of `topics`. A topic that is missing (and may not be
    /// created) is [`Error::NoSuchTopic`]; one without leaders yet is stale.
    pub(super) fn load_metadata(&mut self, topics: &[String]) -> Result<(), Failure> {
        let auto_create = self.may_create(topics);
        let (brokers, parsed) = self.ask_metadata(topics)?;
        for (id, addr) in brokers {
            self.learn_node(id, addr);
        }
        for (name, error, partitions) in parsed {
            match error {
                codes::NONE => {}
                3 if !auto_create => {
                    return Err(Failure::Fatal(Error::NoSuchTopic {
                        topic: name,
                        brokers: self.options.brokers.join(","),
                    }))
                }
                17 => {
                    return Err(Failure::Fatal(Error::Broker {
                        what: format!("looking up topic '{name}'"),
                        cause: codes::describe(error),
                    }))
                }
                e => {
                    if codes::retriable(e) {
                        self.creating.set(auto_create && matches!(e, 3 | 5));
                    }
                    let scope = format!("topic '{name}'");
                    return Err(codes::failure(e, &scope, "use", &scope, || {
                        format!("looking up topic '{name}'")
                    }));
                }
            }
            if partitions.is_empty() {
                return Err(Failure::Stale(format!(
                    "topic '{name}' has no partitions yet"
                )));
            }
            if let Some(p) = partitions.iter().find(|p| p.leader < 0) {
                return Err(Failure::Stale(format!(
                    "topic '{name}' partition {} has no leader yet",
                    p.id
                )));
            }
            self.topics.insert(name, partitions);
        }
        for t in topics {
            if !self.topics.contains_key(t) {
                return Err(Failure::Stale(format!(
                    "topic '{t}' is missing from the metadata"
                )));
            }
        }
        self.stale = false;
        Ok(())
    }
}

type Parsed = (Vec<(i32, String)>, Vec<(String, i16, Vec<PartitionMeta>)>);

pub(super) fn parse_metadata(body: &[u8], version: i16) -> WireResult<Parsed> {
    let mut r = Reader::new(body, version >= 9);
    if version >= 3 {
        r.i32()?; // throttle
    }
    let n = r.count(10)?;
    let mut brokers = Vec::with_capacity(n);
    for _ in 0..n {
        let id = r.i32()?;
        let host = r.string()?;
        let port = r.i32()?;
        r.nullable_string()?; // rack
        r.tags()?;
        brokers.push((id, format!("{host}:{port}")));
    }
    r.nullable_string()?; // cluster id
    r.i32()?; // controller
    let n = r.count(8)?;
    let mut topics = Vec::with_capacity(n);
    for _ in 0..n {
        let error = r.i16()?;
        let name = r.nullable_string()?.unwrap_or_default().to_string();
        if version >= 10 {
            r.uuid()?;
        }
        r.bool()?; // internal
        let np = r.count(14)?;
        let mut partitions = Vec::with_capacity(np);
        for _ in 0..np {
            let error = r.i16()?;
            let id = r.i32()?;
            let leader = r.i32()?;
            if version >= 7 {
                r.i32()?; // leader epoch
            }
            for _ in 0..(if version >= 5 { 3 } else { 2 }) {
                let k = r.count(4)?;
                for _ in 0..k {
                    r.i32()?;
                }
            }
            r.tags()?;
            partitions.push(PartitionMeta { id, leader, error });
        }
        partitions.sort_by_key(|p| p.id);
        if version >= 8 {
            r.i32()?; // topic authorized operations
        }
        r.tags()?;
        topics.push((name, error, partitions));
    }
    if (8..=10).contains(&version) {
        r.i32()?; // cluster authorized operations
    }
    r.tags()?;
    Ok((brokers, topics))
}
