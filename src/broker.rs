//! The connection to Kafka that producer and consumer share: client set-up, metadata, bounded
//! retries with backoff, and a watchdog that bounds every blocking call.
//!
//! The `kafka` crate keeps a broken TCP connection in its pool and has a fixed 120 s socket
//! timeout, so a retry here builds a fresh client (new connections, new metadata), and every
//! request runs under a deadline: a broker that accepts a connection and never answers ends the
//! process with a clear message instead of a hang.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use kafka::client::KafkaClient;
use kafka::error::{Error as KafkaError, KafkaCode};

use crate::api_versions;
use crate::config::Connection;
use crate::error::{secs, Error};

/// The longest pause between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Sets up each client built: compression, fetch sizes.
pub type Configure = Box<dyn Fn(&mut KafkaClient)>;

fn backoff_after(connection: &Connection, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(16);
    connection.backoff.saturating_mul(factor).min(MAX_BACKOFF)
}

fn brokers_text(connection: &Connection) -> String {
    connection.brokers.join(",")
}

/// A client with metadata loaded for a fixed set of topics.
pub struct Broker {
    connection: Connection,
    client_id: String,
    topics: Vec<String>,
    client: KafkaClient,
    configure: Configure,
}

impl Broker {
    /// Connects and loads metadata for `topics`, retrying with backoff. Fails with
    /// [`Error::Unreachable`] or [`Error::TopicUnavailable`] once the attempts run out.
    /// `configure` is applied to every client built, the first and each after a reconnect.
    pub fn connect(
        connection: &Connection,
        client_id: &str,
        topics: &[&str],
        configure: Configure,
    ) -> Result<Broker, Error> {
        let mut broker = Broker {
            client: new_client(&connection.brokers, client_id, &configure),
            connection: connection.clone(),
            client_id: client_id.to_string(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            configure,
        };
        broker.check_versions()?;
        let mut last_cause = String::new();
        let mut missing_topic = None;
        for attempt in 1..=broker.connection.attempts {
            if attempt > 1 {
                pause(&broker.connection, attempt - 1, &last_cause);
                broker.client = broker.new_client();
            }
            match broker.load_metadata() {
                Ok(None) => return Ok(broker),
                Ok(Some(topic)) => {
                    last_cause = format!("topic '{topic}' has no leader yet");
                    missing_topic = Some(topic);
                }
                Err(e) => {
                    last_cause = describe(&e);
                    missing_topic = None;
                }
            }
        }
        let attempts = broker.connection.attempts;
        let brokers = brokers_text(&broker.connection);
        Err(match missing_topic {
            Some(topic) => Error::TopicUnavailable {
                topic,
                brokers,
                attempts,
            },
            None => Error::Unreachable {
                brokers,
                attempts,
                cause: last_cause,
            },
        })
    }

    /// Fails fast on a broker that refuses the protocol versions the `kafka` crate sends. A broker
    /// that does not answer is left to the retries that follow.
    fn check_versions(&self) -> Result<(), Error> {
        for address in &self.connection.brokers {
            match api_versions::probe(address, self.connection.request_timeout) {
                Ok(ranges) => {
                    let refused = api_versions::unsupported(&ranges);
                    if refused.is_empty() {
                        return Ok(());
                    }
                    return Err(Error::BrokerTooNew {
                        broker: address.clone(),
                        refused,
                    });
                }
                Err(e) => log::debug!("ApiVersions probe of {address} failed: {e}"),
            }
        }
        Ok(())
    }

    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Partition ids of `topic`, sorted.
    pub fn partitions(&self, topic: &str) -> Vec<i32> {
        let mut ids: Vec<i32> = self
            .client
            .topics()
            .partitions(topic)
            .map(|ps| ps.iter().map(|p| p.id()).collect())
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// Runs `request` under the watchdog, retrying retryable failures with backoff and a fresh
    /// client. `what` names the request in messages ("committing offsets").
    pub fn retry<T>(
        &mut self,
        what: &str,
        request: impl FnMut(&mut KafkaClient) -> Result<T, KafkaError>,
    ) -> Result<T, Error> {
        self.attempts(what, request, false)
    }

    /// Reconnects and reloads metadata, with the retries of [`Broker::retry`].
    pub fn refresh(&mut self, what: &str) -> Result<(), Error> {
        self.attempts(what, |_| Ok(()), true)
    }

    fn attempts<T>(
        &mut self,
        what: &str,
        mut request: impl FnMut(&mut KafkaClient) -> Result<T, KafkaError>,
        mut fresh_client_needed: bool,
    ) -> Result<T, Error> {
        let mut attempt = 1;
        loop {
            // A client whose reconnect failed has no metadata, and would skip every partition
            // and "succeed" with nothing: such an attempt fails with the reconnect's error.
            let result = if fresh_client_needed {
                self.reconnect()
                    .and_then(|()| self.once(what, &mut request))
            } else {
                self.once(what, &mut request)
            };
            match result {
                Ok(value) => return Ok(value),
                Err(e) if is_retryable(&e) && attempt < self.connection.attempts => {
                    self.pause(attempt, &format!("{what}: {}", describe(&e)));
                    fresh_client_needed = true;
                    attempt += 1;
                }
                Err(e) if is_retryable(&e) => {
                    return Err(Error::Broker {
                        what: what.to_string(),
                        cause: self.gave_up(&describe(&e)),
                    })
                }
                Err(e) => {
                    return Err(Error::Broker {
                        what: what.to_string(),
                        cause: describe(&e),
                    })
                }
            }
        }
    }

    /// Runs `request` once, under the watchdog.
    pub fn once<T>(
        &mut self,
        what: &str,
        request: impl FnOnce(&mut KafkaClient) -> Result<T, KafkaError>,
    ) -> Result<T, KafkaError> {
        let _deadline = watchdog::arm(self.connection.request_timeout, what);
        request(&mut self.client)
    }

    /// Waits before attempt `attempt + 1`, saying why.
    pub fn pause(&self, attempt: u32, cause: &str) {
        pause(&self.connection, attempt, cause)
    }

    /// The cause of a final failure, with the attempts made and what to check.
    pub fn gave_up(&self, cause: &str) -> String {
        format!(
            "{cause} (gave up after {} attempts; is Kafka at {} running? try `make up`)",
            self.connection.attempts,
            brokers_text(&self.connection)
        )
    }

    /// Drops every connection and loads metadata again.
    pub fn reconnect(&mut self) -> Result<(), KafkaError> {
        self.client = self.new_client();
        match self.load_metadata()? {
            None => Ok(()),
            Some(_) => Err(KafkaError::Kafka(KafkaCode::LeaderNotAvailable)),
        }
    }

    /// Loads metadata; returns the first topic that has no partitions or a partition without a
    /// leader.
    fn load_metadata(&mut self) -> Result<Option<String>, KafkaError> {
        {
            let _deadline = watchdog::arm(self.connection.request_timeout, "loading metadata");
            self.client.load_metadata(&self.topics)?;
        }
        Ok(self.unavailable_topic())
    }

    fn unavailable_topic(&self) -> Option<String> {
        let topics = self.client.topics();
        self.topics
            .iter()
            .find(|t| match topics.partitions(t) {
                Some(ps) => ps.is_empty() || ps.available_ids().len() < ps.len(),
                None => true,
            })
            .cloned()
    }

    fn new_client(&self) -> KafkaClient {
        new_client(&self.connection.brokers, &self.client_id, &self.configure)
    }
}

fn new_client(brokers: &[String], client_id: &str, configure: &Configure) -> KafkaClient {
    let mut client = KafkaClient::new(brokers.to_vec());
    client.set_client_id(client_id.to_string());
    // The crate's own retries (coordinator lookup, offset fetch) stay short: ours wrap them.
    client.set_retry_max_attempts(3);
    client.set_retry_backoff_time(Duration::from_millis(100));
    // Never let the crate reopen connections by itself: a failed reopen there panics.
    client.set_connection_idle_timeout(Duration::from_secs(24 * 3600));
    configure(&mut client);
    client
}

fn pause(connection: &Connection, attempt: u32, cause: &str) {
    let wait = backoff_after(connection, attempt);
    log::warn!(
        "attempt {attempt}/{} failed ({cause}); retrying in {}",
        connection.attempts,
        secs(wait)
    );
    thread::sleep(wait);
}

/// Whether a fresh connection and fresh metadata may fix this failure.
pub fn is_retryable(e: &KafkaError) -> bool {
    match e {
        KafkaError::Io(_) | KafkaError::NoHostReachable | KafkaError::UnexpectedEOF => true,
        KafkaError::Kafka(code) => is_retryable_code(*code),
        KafkaError::TopicPartitionError { error_code, .. } => is_retryable_code(*error_code),
        KafkaError::ArcSelf(inner) => is_retryable(inner),
        _ => false,
    }
}

pub fn is_retryable_code(code: KafkaCode) -> bool {
    matches!(
        code,
        KafkaCode::UnknownTopicOrPartition
            | KafkaCode::LeaderNotAvailable
            | KafkaCode::NotLeaderForPartition
            | KafkaCode::RequestTimedOut
            | KafkaCode::BrokerNotAvailable
            | KafkaCode::ReplicaNotAvailable
            | KafkaCode::NetworkException
            | KafkaCode::GroupLoadInProgress
            | KafkaCode::GroupCoordinatorNotAvailable
            | KafkaCode::NotCoordinatorForGroup
            | KafkaCode::NotEnoughReplicas
            | KafkaCode::NotEnoughReplicasAfterAppend
    )
}

/// A Kafka error in words.
pub fn describe(e: &KafkaError) -> String {
    match e {
        KafkaError::NoHostReachable => "cannot connect to any broker".into(),
        KafkaError::Io(io) => format!("connection failed: {io}"),
        KafkaError::UnexpectedEOF => "the broker closed the connection".into(),
        KafkaError::Kafka(code) => describe_code(*code),
        KafkaError::TopicPartitionError {
            topic_name,
            partition_id,
            error_code,
        } => format!(
            "{topic_name}/{partition_id}: {}",
            describe_code(*error_code)
        ),
        KafkaError::ArcSelf(inner) => describe(inner),
        other => other.to_string(),
    }
}

pub fn describe_code(code: KafkaCode) -> String {
    match code {
        KafkaCode::MessageSizeTooLarge => {
            "the broker refused a record larger than it accepts (message.max.bytes, or the topic's max.message.bytes)".into()
        }
        KafkaCode::GroupCoordinatorNotAvailable => {
            "group coordinator not available (on a single node, offsets.topic.replication.factor must be 1)".into()
        }
        other => format!("broker error {other:?}"),
    }
}

/// One background thread that ends the process when an armed deadline passes.
mod watchdog {
    use super::*;

    static DEADLINE_MS: AtomicU64 = AtomicU64::new(0);
    static WHAT: Mutex<String> = Mutex::new(String::new());
    static START: OnceLock<Instant> = OnceLock::new();

    pub struct Armed;

    impl Drop for Armed {
        fn drop(&mut self) {
            DEADLINE_MS.store(0, Ordering::SeqCst);
        }
    }

    pub fn arm(timeout: Duration, what: &str) -> Armed {
        let start = *START.get_or_init(|| {
            thread::spawn(watch);
            Instant::now()
        });
        *WHAT.lock().unwrap_or_else(|e| e.into_inner()) =
            format!("{what}: no answer from the broker within {}", secs(timeout));
        let deadline = start.elapsed() + timeout;
        DEADLINE_MS.store(deadline.as_millis() as u64, Ordering::SeqCst);
        Armed
    }

    fn watch() {
        loop {
            thread::sleep(Duration::from_millis(100));
            let deadline = DEADLINE_MS.load(Ordering::SeqCst);
            let now = START.get().map(|s| s.elapsed().as_millis() as u64);
            if deadline != 0 && now.is_some_and(|now| now > deadline) {
                let what = WHAT.lock().unwrap_or_else(|e| e.into_inner()).clone();
                eprintln!("error: {what} (the request timeout; raise it with --request-timeout)");
                std::process::exit(crate::error::exit::FAILURE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let c = Connection {
            brokers: vec!["x:1".into()],
            attempts: 8,
            backoff: Duration::from_millis(200),
            request_timeout: Duration::from_secs(30),
        };
        let waits: Vec<u128> = (1..=6).map(|a| backoff_after(&c, a).as_millis()).collect();
        assert_eq!(waits, [200, 400, 800, 1600, 2000, 2000]);
    }

    #[test]
    fn connection_failures_retry_and_refusals_do_not() {
        assert!(is_retryable(&KafkaError::NoHostReachable));
        assert!(is_retryable(&KafkaError::Kafka(
            KafkaCode::LeaderNotAvailable
        )));
        assert!(!is_retryable(&KafkaError::Kafka(
            KafkaCode::MessageSizeTooLarge
        )));
        assert!(!is_retryable(&KafkaError::Kafka(KafkaCode::InvalidTopic)));
    }
}
