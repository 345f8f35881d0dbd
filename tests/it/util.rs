//! The harness: the real binaries, a real broker, a fresh topic and group per test.
//!
//! The broker is the one at `IT_BROKER` (default 127.0.0.1:9092), running the Kafka version
//! `IT_KAFKA_VERSION` (default the pin in .env); `make test` starts one when none runs, and runs
//! the protocol-path tests a second time against the oldest version supported. Without a broker
//! every test fails with a message saying how to start one. What Kafka stored is read with kcat
//! and Apache Kafka's own tools, never with the client under test.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A broker of its own for one test (of the version under test), stopped when the test ends
/// (also on failure). Its ports stay below Linux's ephemeral range (32768 and up), where a
/// client socket could hold them.
pub struct OwnBroker {
    args: Vec<(&'static str, String)>,
    command: &'static [&'static str],
    /// Held by a 3-node cluster: its ports are fixed, so its tests take turns.
    _turn: Option<std::sync::MutexGuard<'static, ()>>,
}

/// The turn of the one 3-node cluster.
static CLUSTER_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl OwnBroker {
    pub fn start(env: &[(&'static str, &str)]) -> OwnBroker {
        let broker = OwnBroker {
            args: env.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            command: &["start"],
            _turn: None,
        };
        broker.run(&["start"]);
        broker
    }

    pub fn cluster() -> (OwnBroker, String) {
        let turn = CLUSTER_TURN.lock().unwrap_or_else(|e| e.into_inner());
        let broker = OwnBroker {
            args: Vec::new(),
            command: &["cluster", "start"],
            _turn: Some(turn),
        };
        let out = broker.run(&["cluster", "start"]);
        (broker, out.trim().to_string())
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new(project_dir().join("scripts/kafka-local"))
            .args(args)
            .env("KAFKA_VERSION", kafka_version())
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

/// Where `scripts/kafka-local` keeps its brokers' data, logs and pid files (`KAFKA_DATA`).
pub fn kafka_data() -> PathBuf {
    std::env::var("KAFKA_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| project_dir().join(".kafka-local"))
}

/// The local runner's directory (data, logs) of the broker under test; None when something else
/// runs that broker (Docker), judged by the runner's pid file.
pub fn local_broker_dir() -> Option<PathBuf> {
    let dir = kafka_data().join(broker_port(broker()));
    dir.join("kafka.pid").exists().then_some(dir)
}

/// The Kafka version pinned in .env.
pub fn pinned_version() -> String {
    read_file(&project_dir().join(".env"))
        .lines()
        .find_map(|l| l.strip_prefix("KAFKA_VERSION="))
        .expect(".env pins KAFKA_VERSION")
        .to_string()
}

/// The Kafka version of the broker under test, and of the brokers and tools tests start.
pub fn kafka_version() -> String {
    std::env::var("IT_KAFKA_VERSION").unwrap_or_else(|_| pinned_version())
}

/// A Kafka tool class by its name in the version under test: 4.0 moved some from `kafka.*`.
pub fn tool_class(v4: &'static str, v3: &'static str) -> &'static str {
    let major: u32 = kafka_version()
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .expect("a numeric Kafka version");
    if major >= 4 {
        v4
    } else {
        v3
    }
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

/// Runs `scripts/kafka-local` of the version under test against the broker under test (or
/// another port).
pub fn kafka_local(port: &str, args: &[&str]) -> Output {
    let out = Command::new(project_dir().join("scripts/kafka-local"))
        .args(args)
        .env("KAFKA_PORT", port)
        .env("KAFKA_VERSION", kafka_version())
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

/// Starts a binary in the background with stdin piped, stdout and stderr captured.
pub fn spawn_with_stdin(name: &str, args: &[&str]) -> Child {
    binary(name)
        .args(args)
        .stdin(Stdio::piped())
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
    out: BufReader<std::process::ChildStdout>,
    stderr: std::thread::JoinHandle<String>,
    pub seen: Vec<String>,
    /// What read_lines read past the last line end.
    seen_tail: String,
}

impl Background {
    pub fn consumer(args: &[&str]) -> Background {
        let mut child = binary("order-consumer")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("consumer starts");
        let out = BufReader::new(child.stdout.take().unwrap());
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut err, &mut s);
            s
        });
        Background {
            child,
            out,
            stderr,
            seen: Vec::new(),
            seen_tail: String::new(),
        }
    }

    /// Reads until `n` lines have been seen in all; false if stdout ended first.
    pub fn read_lines(&mut self, n: usize) -> bool {
        while self.seen.len() < n {
            let mut line = String::new();
            match self.out.read_line(&mut line) {
                Ok(_) if line.ends_with('\n') => {
                    line.pop();
                    self.seen.push(line);
                }
                // The end, or a last line without its end: finish() says which.
                _ => {
                    self.seen_tail = line;
                    return false;
                }
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

    /// Reads the rest of stdout and waits; returns (exit code or -signal, stderr). A process
    /// killed by a signal may have been cut in the middle of a write: its last line, when it
    /// has no line end, is not a line it printed, and is left out.
    pub fn finish(mut self) -> (i32, String, Vec<String>) {
        let mut rest = std::mem::take(&mut self.seen_tail);
        let _ = std::io::Read::read_to_string(&mut self.out, &mut rest);
        let status = self.child.wait().unwrap();
        let code = status.code().unwrap_or_else(|| {
            -std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
        });
        let cut = code < 0 && !rest.is_empty() && !rest.ends_with('\n');
        let mut lines: Vec<&str> = rest.lines().collect();
        if cut {
            lines.pop();
        }
        self.seen.extend(lines.into_iter().map(String::from));
        (code, self.stderr.join().unwrap(), self.seen)
    }
}

/// kcat (librdkafka), the independent client that writes and reads raw records for the tests.
pub fn kcat() -> Command {
    static FOUND: OnceLock<bool> = OnceLock::new();
    let found = *FOUND.get_or_init(|| {
        Command::new("kcat")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    assert!(
        found,
        "kcat not found: `make test` installs it when run as root, or run `apt-get install -y kcat`"
    );
    Command::new("kcat")
}

/// Runs a prepared tool with `stdin`; returns its stdout, panics with its stderr when it fails.
pub fn tool_output(mut cmd: Command, stdin: &[u8]) -> Vec<u8> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().expect("the tool reads its input");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Produces raw records to partition 0 with kcat, bypassing our producer's checks: `None` is a
/// record without a key.
pub fn produce_raw(topic: &str, records: &[(Option<&[u8]>, Vec<u8>)]) {
    let records: Vec<RawRecord> = records
        .iter()
        .map(|(key, value)| (*key, Some(value.as_slice())))
        .collect();
    produce_nullable(topic, &records);
}

/// A record to write as it is: key and value, `None` for Kafka's null.
pub type RawRecord<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// As [`produce_raw`], where a `None` value is Kafka's null value (a tombstone).
///
/// kcat reads the records from stdin between delimiters no record contains, so any bytes go
/// through. Its `-Z` (empty means null, for keys and values) holds for a whole run, so the
/// records go in runs: with `-Z` where a value is null, without it where a key or value is
/// empty. kcat skips a record with no key and an empty value; Apache Kafka's console producer
/// sends those (an empty line), to the partition its partitioner picks: partition 0 only on a
/// topic of one partition.
pub fn produce_nullable(topic: &str, records: &[RawRecord]) {
    #[derive(PartialEq)]
    enum Via {
        Kcat,
        KcatEmptyIsNull,
        Console,
    }
    let tag = uuid::Uuid::new_v4();
    let (record_end, key_end) = (format!("<end-{tag}>"), format!("<key-{tag}>"));
    let contains = |field: &[u8], delimiter: &str| {
        field
            .windows(delimiter.len())
            .any(|w| w == delimiter.as_bytes())
    };
    let mut runs: Vec<(Via, Vec<u8>)> = Vec::new();
    for &(key, value) in records {
        for field in key.iter().chain(value.iter()) {
            assert!(
                !contains(field, &record_end) && !contains(field, &key_end),
                "a record holds the delimiter"
            );
        }
        let empty_key = key == Some(b"");
        let via = match value {
            Some(b"") if key.is_none() => Via::Console,
            None => {
                assert!(
                    !empty_key,
                    "kcat cannot send a null value with an empty key"
                );
                Via::KcatEmptyIsNull
            }
            Some(v) => match runs.last() {
                Some((Via::KcatEmptyIsNull, _)) if !empty_key && !v.is_empty() => {
                    Via::KcatEmptyIsNull
                }
                _ => Via::Kcat,
            },
        };
        if !matches!(runs.last(), Some((last, _)) if *last == via) {
            runs.push((via, Vec::new()));
        }
        let (via, input) = runs.last_mut().unwrap();
        match via {
            Via::Console => input.push(b'\n'),
            Via::Kcat | Via::KcatEmptyIsNull => {
                // Under -Z an empty key is a null one; otherwise no key part means none.
                if key.is_some() || *via == Via::KcatEmptyIsNull {
                    input.extend_from_slice(key.unwrap_or_default());
                    input.extend_from_slice(key_end.as_bytes());
                }
                input.extend_from_slice(value.unwrap_or_default());
                input.extend_from_slice(record_end.as_bytes());
            }
        }
    }
    for (via, input) in runs {
        let cmd = match via {
            Via::Console => console_producer(topic, &[]),
            Via::Kcat | Via::KcatEmptyIsNull => {
                let mut cmd = kcat();
                cmd.args(["-P", "-b", broker(), "-t", topic, "-p", "0"])
                    .args(["-K", &key_end, "-D", &record_end])
                    // Idempotent: a retried batch is neither reordered nor stored twice. Records up
                    // to what a broker accepts by default (kcat's own limit is 1 MB).
                    .args([
                        "-X",
                        "enable.idempotence=true",
                        "-X",
                        "message.max.bytes=2000000",
                    ]);
                if via == Via::KcatEmptyIsNull {
                    cmd.arg("-Z");
                }
                cmd
            }
        };
        tool_output(cmd, &input);
    }
}

/// A record as stored in the topic.
#[derive(Debug, Clone)]
pub struct Stored {
    pub partition: i32,
    pub offset: i64,
    /// Milliseconds since the epoch (CreateTime unless the topic says otherwise); -1 for none.
    pub timestamp: i64,
    /// Empty when the key is null; `null_key` tells the two apart.
    pub key: Vec<u8>,
    pub null_key: bool,
    /// Empty when the value is null (a tombstone); `null_value` tells the two apart.
    pub value: Vec<u8>,
    pub null_value: bool,
}

/// Every record of `topic` on the broker under test, read with kcat, by partition and offset.
/// Aborted transactions are left out, as Kafka's consumers do by default.
pub fn read_all(topic: &str) -> Vec<Stored> {
    let mut cmd = kcat();
    // A header line with the lengths (-1 for null), then the key and value bytes as they are.
    cmd.args(["-C", "-b", broker(), "-t", topic, "-e", "-q"])
        .args(["-f", "%p %o %T %K %S\n%k%s\n"]);
    let mut stored = parse_kcat_records(&tool_output(cmd, b""));
    stored.sort_by_key(|s| (s.partition, s.offset));
    stored
}

fn parse_kcat_records(mut out: &[u8]) -> Vec<Stored> {
    let mut stored = Vec::new();
    while !out.is_empty() {
        let eol = out
            .iter()
            .position(|&b| b == b'\n')
            .expect("a kcat header line");
        let header = String::from_utf8_lossy(&out[..eol]).into_owned();
        let fields: Vec<i64> = header
            .split(' ')
            .map(|f| {
                f.parse()
                    .unwrap_or_else(|_| panic!("kcat header {header:?}"))
            })
            .collect();
        let [partition, offset, timestamp, key_len, value_len] = fields[..] else {
            panic!("kcat header {header:?}");
        };
        out = &out[eol + 1..];
        let mut take = |len: i64| {
            let (field, rest) = out.split_at(len.max(0) as usize);
            out = rest;
            field.to_vec()
        };
        let (key, value) = (take(key_len), take(value_len));
        assert_eq!(out.first(), Some(&b'\n'), "after the record of {header:?}");
        out = &out[1..];
        stored.push(Stored {
            partition: partition as i32,
            offset,
            timestamp,
            key,
            null_key: key_len < 0,
            value,
            null_value: value_len < 0,
        });
    }
    stored
}

/// Sends `KEY|VALUE` lines with Apache Kafka's console producer (the Java client), with
/// `extra` options such as `--compression-codec`.
pub fn console_produce(topic: &str, lines: &str, extra: &[&str]) {
    let mut cmd = console_producer(topic, extra);
    cmd.args([
        "--property",
        "parse.key=true",
        "--property",
        "key.separator=|",
    ]);
    tool_output(cmd, lines.as_bytes());
}

/// Apache Kafka's console producer to `topic`: one record per stdin line.
fn console_producer(topic: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(project_dir().join("scripts/kafka-local"));
    cmd.env("KAFKA_VERSION", kafka_version())
        .args([
            "run",
            tool_class(
                "org.apache.kafka.tools.ConsoleProducer",
                "kafka.tools.ConsoleProducer",
            ),
            "--bootstrap-server",
            broker(),
            "--topic",
            topic,
        ])
        .args(extra);
    cmd
}

/// Committed offsets of `group` on `topic` at `broker`, per partition (-1 when none), as Apache
/// Kafka's own ConsumerGroupCommand reports them.
pub fn committed(broker: &str, group: &str, topic: &str) -> HashMap<i32, i64> {
    let mut offsets: HashMap<i32, i64> = end_offsets_on(broker, topic)
        .into_keys()
        .map(|p| (p, -1))
        .collect();
    let out = kafka_local(
        broker_port(broker),
        &[
            "run",
            "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
            "--bootstrap-server",
            broker,
            "--describe",
            "--offsets",
            "--group",
            group,
        ],
    );
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ..., "-" for no offset.
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let columns: Vec<&str> = line.split_whitespace().collect();
        if let [g, t, partition, current, ..] = columns[..] {
            if g == group && t == topic {
                let partition = partition.parse().expect("a partition number");
                offsets.insert(partition, current.parse().unwrap_or(-1));
            }
        }
    }
    offsets
}

/// End offsets per partition as Apache Kafka's own GetOffsetShell reports them.
pub fn end_offsets(topic: &str) -> HashMap<i32, i64> {
    end_offsets_on(broker(), topic)
}

fn end_offsets_on(broker: &str, topic: &str) -> HashMap<i32, i64> {
    let out = kafka_local(
        broker_port(broker),
        &[
            "run",
            "org.apache.kafka.tools.GetOffsetShell",
            "--bootstrap-server",
            broker,
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

/// `host:port` of a local socket that accepts every connection and never answers: a hung
/// broker. It lives as long as the test process.
pub fn silent_broker() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    addr
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

/// The harness itself: what `produce_nullable` writes, `read_all` reads back byte for byte.
#[test]
fn raw_records_round_trip_through_kcat_byte_for_byte() {
    let topic = topic("raw", 1);
    let binary: Vec<u8> = (0..=255).rev().chain(*b"\n|\r\n%s%K").collect();
    let records: Vec<RawRecord> = vec![
        (Some(b"k1"), Some(b"plain")),
        (None, Some(&binary)),
        (Some(&binary[..40]), Some(b"")),
        (None, None),
        (Some(b"tomb"), None),
        (Some(b""), Some(b"empty key")),
        (None, Some(b"")),
        (Some(b"\xff\xfe"), Some(b"\n")),
    ];
    produce_nullable(&topic, &records);
    let stored = read_all(&topic);
    assert_eq!(stored.len(), records.len());
    for (s, (key, value)) in stored.iter().zip(&records) {
        let at = s.offset;
        assert_eq!(s.partition, 0);
        assert_eq!(
            (s.null_key, s.key.as_slice()),
            (key.is_none(), key.unwrap_or_default()),
            "{at}"
        );
        assert_eq!(
            (s.null_value, s.value.as_slice()),
            (value.is_none(), value.unwrap_or_default()),
            "{at}"
        );
        assert!(s.timestamp > 0, "{at}: {}", s.timestamp);
    }
    assert_eq!(
        stored.iter().map(|s| s.offset).collect::<Vec<_>>(),
        (0..records.len() as i64).collect::<Vec<_>>()
    );
}

/// Runs a binary to completion with extra environment variables (after the `KAFKA_*` ones of the
/// test process are cleared), as a user's environment would set them.
pub fn run_with_env(name: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = binary(name);
    cmd.args(args).envs(env.iter().copied());
    Run::from(cmd.output().expect("binary runs"))
}

/// The python of the venv `make test` makes (target/schema-venv), named by `IT_PYTHON`.
pub fn it_python() -> String {
    std::env::var("IT_PYTHON").unwrap_or_else(|_| {
        panic!(
            "IT_PYTHON is not set: the registry tests' judge is Python's confluent-kafka from the \
             venv that `make test` makes (target/schema-venv); run `make test`, or after it \
             IT_PYTHON=$PWD/target/schema-venv/bin/python IT_REGISTRY=... cargo test --features tls --test it registry::"
        )
    })
}

/// The Confluent-compatible API of the Schema Registry under test, from `IT_REGISTRY` (e.g.
/// `http://127.0.0.1:8081/apis/ccompat/v7`): `make test` starts a real Apicurio Registry with
/// `scripts/with-registry`, at its default global compatibility (NONE; the tests set BACKWARD on
/// their own subjects). Panics with instructions when it is unset or does not answer: a test
/// that needs the registry fails without one, it is never skipped.
pub fn registry() -> &'static str {
    static REGISTRY: OnceLock<String> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let url = std::env::var("IT_REGISTRY").unwrap_or_else(|_| {
            panic!(
                "IT_REGISTRY is not set: the registry tests need a Schema Registry. Run them with \
                 `make test` (it starts one), or start one with `scripts/registry-local start` \
                 (or `make registry`) and set IT_REGISTRY=$(scripts/registry-local url)"
            )
        });
        let url = url.trim_end_matches('/').to_string();
        match http("GET", &format!("{url}/subjects"), None) {
            Ok((200, _)) => {}
            Ok((status, body)) => panic!(
                "IT_REGISTRY={url}: GET {url}/subjects answered {status} ({body}); is it the \
                 registry's Confluent-compatible API (Apicurio: .../apis/ccompat/v7)?"
            ),
            Err(e) => panic!(
                "no Schema Registry answers at IT_REGISTRY={url} ({e}): start one with \
                 `scripts/registry-local start` or run the tests with `make test`"
            ),
        }
        url
    })
}

/// One plain HTTP/1.1 request (`http://host:port/path` only), for the tests to look at the
/// registry without the client under test; returns the status and the body.
pub fn http(method: &str, url: &str, body: Option<&str>) -> std::io::Result<(u16, String)> {
    use std::io::Read;
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("{url}: only http:// URLs"));
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let addr = std::net::ToSocketAddrs::to_socket_addrs(host)?
        .next()
        .expect("an address");
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} /{path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n\
         Content-Type: application/vnd.schemaregistry.v1+json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {answer:?}")))?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Runs the judge, `scripts/registry-judge` (Confluent's Python client: its SchemaRegistryClient,
/// Avro and JSON Schema serializers), against the broker and registry under test; panics with
/// its stderr when it fails. Returns its stdout.
pub fn judge(args: &[&str]) -> String {
    let r = judge_run(args);
    assert_eq!(
        r.code, 0,
        "registry-judge {args:?} failed (`make test` installs confluent-kafka and fastavro into \
         target/schema-venv):\n{}",
        r.stderr
    );
    r.stdout
}

/// As [`judge`], for a run that may fail.
pub fn judge_run(args: &[&str]) -> Run {
    let python = it_python();
    let out = Command::new(&python)
        .arg(project_dir().join("scripts/registry-judge"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("IT_PYTHON={python}: {e}: run `make test` to make the venv"));
    Run::from(out)
}

/// `http://host:port` of a local socket playing an HTTP server that answers every request with
/// `answer` (a whole HTTP response) and closes: a hostile or misconfigured registry. The requests
/// it received, as text, are in the returned list. It lives as long as the test process.
pub fn canned_http(answer: String) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let requests = seen.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // The head, and a body as long as its Content-Length says, if it says.
            loop {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        break;
                    }
                }
            }
            requests
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&request).into_owned());
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (url, seen)
}
