//! The harness: the real binaries, a real broker, a fresh topic and group per test.
//!
//! The broker is the one at `IT_BROKER` (default 127.0.0.1:9092); `make test` starts one when
//! none runs. Without a broker every test fails with a message saying how to start one.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kafka::client::{
    FetchPartition, GroupOffsetStorage, KafkaClient, ProduceMessage, RequiredAcks,
};

/// A broker of its own for one test, stopped when the test ends (also on failure). Its ports
/// stay below Linux's ephemeral range (32768 and up), where a client socket could hold them.
pub struct OwnBroker {
    args: Vec<(&'static str, String)>,
    command: &'static [&'static str],
}

impl OwnBroker {
    pub fn start(env: &[(&'static str, &str)]) -> OwnBroker {
        let broker = OwnBroker {
            args: env.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            command: &["start"],
        };
        broker.run(&["start"]);
        broker
    }

    pub fn cluster() -> (OwnBroker, String) {
        let broker = OwnBroker {
            args: Vec::new(),
            command: &["cluster", "start"],
        };
        let out = broker.run(&["cluster", "start"]);
        (broker, out.trim().to_string())
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new(project_dir().join("scripts/kafka-local"))
            .args(args)
            .envs(self.args.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kafka-local {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let stop: &[&str] = if self.command[0] == "cluster" {
            &["cluster", "stop"]
        } else {
            &["stop"]
        };
        self.run(stop);
    }
}

pub fn project_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `host:port` of the broker under test; panics with instructions when nothing listens there.
pub fn broker() -> &'static str {
    static BROKER: OnceLock<String> = OnceLock::new();
    BROKER.get_or_init(|| {
        let addr = std::env::var("IT_BROKER").unwrap_or_else(|_| "127.0.0.1:9092".into());
        if TcpStream::connect_timeout(
            &addr.parse().expect("IT_BROKER is host:port"),
            Duration::from_secs(2),
        )
        .is_err()
        {
            panic!(
                "no Kafka broker at {addr}: run the tests with `make test` (it starts one), \
                 or start one with `scripts/kafka-local start` (or `make up`)"
            );
        }
        addr
    })
}

pub fn broker_port(addr: &str) -> &str {
    addr.rsplit_once(':').expect("host:port").1
}

/// A name no earlier run used: topics outlive test runs in the broker's data.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    format!(
        "it-{prefix}-{}-{millis}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// Runs `scripts/kafka-local` against the broker under test (or another port).
pub fn kafka_local(port: &str, args: &[&str]) -> Output {
    let out = Command::new(project_dir().join("scripts/kafka-local"))
        .args(args)
        .env("KAFKA_PORT", port)
        .output()
        .expect("scripts/kafka-local runs");
    assert!(
        out.status.success(),
        "scripts/kafka-local {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Creates a fresh topic with `partitions` partitions and returns its name.
pub fn topic(prefix: &str, partitions: u32) -> String {
    let name = unique(prefix);
    kafka_local(
        broker_port(broker()),
        &["topic", &name, &partitions.to_string()],
    );
    name
}

fn binary(name: &str) -> Command {
    let path = match name {
        "order-producer" => env!("CARGO_BIN_EXE_order-producer"),
        "order-consumer" => env!("CARGO_BIN_EXE_order-consumer"),
        other => panic!("unknown binary {other}"),
    };
    let mut cmd = Command::new(path);
    for (key, _) in std::env::vars() {
        if key.starts_with("KAFKA_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd.env("KAFKA_BROKERS", broker());
    cmd
}

/// The result of running a binary to completion.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Each stdout line parsed as JSON.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// Starts a binary in the background with stdout and stderr captured.
pub fn spawn(name: &str, args: &[&str]) -> Child {
    binary(name)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs")
}

pub fn run(name: &str, args: &[&str]) -> Run {
    Run::from(binary(name).args(args).output().expect("binary runs"))
}

pub fn run_with_stdin(name: &str, args: &[&str], stdin: &[u8]) -> Run {
    let mut child = binary(name)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    Run::from(out)
}

/// Produces `n` orders with `order-producer --count n --format json`; returns the delivery lines.
pub fn produce_orders(topic: &str, n: u64) -> Vec<serde_json::Value> {
    let r = run(
        "order-producer",
        &["-t", topic, "--count", &n.to_string(), "--format", "json"],
    );
    assert_eq!(r.code, 0, "producer failed: {}", r.stderr);
    let lines = r.json_lines();
    assert_eq!(lines.len() as u64, n);
    lines
}

pub fn order_ids(lines: &[serde_json::Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let id = if l["order"].is_object() {
                &l["order"]["order_id"]
            } else {
                &l["order_id"]
            };
            id.as_str().expect("order_id").to_string()
        })
        .collect()
}

/// A consumer running in the background, read line by line.
pub struct Background {
    pub child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    stderr: std::thread::JoinHandle<String>,
    pub seen: Vec<String>,
}

impl Background {
    pub fn consumer(args: &[&str]) -> Background {
        let mut child = binary("order-consumer")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("consumer starts");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut err, &mut s);
            s
        });
        Background {
            child,
            lines,
            stderr,
            seen: Vec::new(),
        }
    }

    /// Reads until `n` lines have been seen in all; false if stdout ended first.
    pub fn read_lines(&mut self, n: usize) -> bool {
        while self.seen.len() < n {
            match self.lines.next() {
                Some(Ok(line)) => self.seen.push(line),
                _ => return false,
            }
        }
        true
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Reads the rest of stdout and waits; returns (exit code or -signal, stderr).
    pub fn finish(mut self) -> (i32, String, Vec<String>) {
        for line in self.lines.by_ref().map_while(Result::ok) {
            self.seen.push(line);
        }
        let status = self.child.wait().unwrap();
        let code = status.code().unwrap_or_else(|| {
            -std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
        });
        (code, self.stderr.join().unwrap(), self.seen)
    }
}

fn client(topics: &[&str]) -> KafkaClient {
    client_on(broker(), topics)
}

fn client_on(broker: &str, topics: &[&str]) -> KafkaClient {
    let mut c = KafkaClient::new(vec![broker.to_string()]);
    c.set_group_offset_storage(Some(GroupOffsetStorage::Kafka));
    c.set_fetch_max_bytes_per_partition(4 * 1024 * 1024);
    c.load_metadata(topics).expect("metadata");
    c
}

/// Produces raw records straight through the `kafka` crate, bypassing our producer's checks.
pub fn produce_raw(topic: &str, records: &[(Option<&[u8]>, Vec<u8>)]) {
    let mut c = client(&[topic]);
    for (key, value) in records {
        let msg = ProduceMessage::new(topic, 0, *key, Some(value.as_slice()));
        let confirms = c
            .produce_messages(RequiredAcks::All, Duration::from_secs(10), [&msg])
            .expect("raw produce");
        for p in confirms.iter().flat_map(|c| &c.partition_confirms) {
            p.offset.expect("raw record accepted");
        }
    }
}

/// A record as stored in the topic.
#[derive(Debug, Clone)]
pub struct Stored {
    pub partition: i32,
    pub offset: i64,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

/// Every record of `topic`, read straight through the `kafka` crate.
pub fn read_all(topic: &str) -> Vec<Stored> {
    let mut c = client(&[topic]);
    let partitions: Vec<i32> = c
        .topics()
        .partitions(topic)
        .map(|ps| ps.iter().map(|p| p.id()).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for p in partitions {
        let mut offset = 0;
        loop {
            let responses = c
                .fetch_messages([FetchPartition::new(topic, p, offset)])
                .expect("fetch");
            let mut got = 0;
            let mut hw = 0;
            for r in &responses {
                for t in r.topics() {
                    for part in t.partitions() {
                        let data = part.data().expect("partition data");
                        hw = data.highwatermark_offset();
                        let from = offset;
                        for m in data.messages().iter().filter(|m| m.offset >= from) {
                            out.push(Stored {
                                partition: p,
                                offset: m.offset,
                                key: m.key.to_vec(),
                                value: m.value.to_vec(),
                            });
                            offset = m.offset + 1;
                            got += 1;
                        }
                    }
                }
            }
            if offset >= hw || got == 0 {
                break;
            }
        }
    }
    out
}

/// Committed offsets of `group` on `topic` at `broker`, per partition (-1 when none).
pub fn committed(broker: &str, group: &str, topic: &str) -> HashMap<i32, i64> {
    let mut c = client_on(broker, &[topic]);
    c.fetch_group_topic_offset(group, topic)
        .expect("group offsets")
        .into_iter()
        .map(|o| (o.partition, o.offset))
        .collect()
}

/// End offsets per partition as Apache Kafka's own GetOffsetShell reports them.
pub fn end_offsets(topic: &str) -> HashMap<i32, i64> {
    let out = kafka_local(
        broker_port(broker()),
        &[
            "run",
            "org.apache.kafka.tools.GetOffsetShell",
            "--bootstrap-server",
            broker(),
            "--topic",
            topic,
        ],
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.rsplitn(3, ':');
            let offset = parts.next()?.parse().ok()?;
            let partition = parts.next()?.parse().ok()?;
            Some((partition, offset))
        })
        .collect()
}

pub fn read_file(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A port nothing listens on: a broker that is down.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Reads every order of `topic` back with `order-consumer` (JSON lines, stops when idle).
pub fn read_back(brokers: &str, topic: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "-b",
        brokers,
        "-t",
        topic,
        "--idle-timeout",
        "2",
        "--format",
        "json",
        "--no-dlq",
    ];
    args.extend_from_slice(extra);
    let r = run("order-consumer", &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r
}

/// How many `delivered` order_ids are missing from `stored`, and how many stored ones repeat.
pub fn lost_and_duplicates(delivered: &[String], stored: &[String]) -> (usize, usize) {
    let unique: std::collections::HashSet<&String> = stored.iter().collect();
    let lost = delivered.iter().filter(|id| !unique.contains(id)).count();
    (lost, stored.len() - unique.len())
}
