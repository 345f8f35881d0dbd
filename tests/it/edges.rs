//! Hard edges of issue 11 that need a broker: records that cannot be dead-lettered, offsets past
//! the end, signals while connecting.
//!
//! Records go in and dead letters come out through kcat, never through the client under test, so
//! a null key, a null value (tombstone) and an empty value are each written and read exactly. Every
//! process runs under a deadline ([`Live`]): a hang fails its test instead of the suite.

use std::io::{BufRead, BufReader, Read};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use order_kafka::partition;

use crate::hostile::{Behaviour, FakeBroker};
use crate::util;

/// Longest any single run of a binary or a tool may take in these tests.
const RUN_BOUND: Duration = Duration::from_secs(60);

/// A child process watched line by line: stdout lines with the instant each arrived, stderr as it
/// comes. Killed at the deadline given to [`Live::finish`].
pub(crate) struct Live {
    child: Child,
    /// The child leads its own process group, and a kill ends the whole group.
    group: bool,
    lines: Receiver<(Instant, Vec<u8>)>,
    seen: Vec<(Instant, Vec<u8>)>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

/// How a watched process ended.
pub(crate) struct Ended {
    /// The exit code, or minus the signal that ended it.
    pub(crate) code: i32,
    /// When the exit was seen (polled every 10 ms).
    pub(crate) at: Instant,
    /// Stdout lines, newline removed, with the instant each arrived.
    pub(crate) lines: Vec<(Instant, Vec<u8>)>,
    pub(crate) stderr: String,
}

impl Ended {
    pub(crate) fn stdout_lines(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|(_, l)| String::from_utf8_lossy(l).into_owned())
            .collect()
    }

    /// Each stdout line parsed as JSON; a line that is not JSON fails the test.
    pub(crate) fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout_lines()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
            .collect()
    }
}

impl Live {
    /// Starts a binary of the project with the harness's environment (broker, no KAFKA_*).
    pub(crate) fn spawn(binary: &str, args: &[&str]) -> Live {
        Live::watch(util::spawn(binary, args), false)
    }

    /// Watches a child started with its own process group (`process_group(0)`).
    pub(crate) fn watch_group(child: Child) -> Live {
        Live::watch(child, true)
    }

    fn watch(mut child: Child, group: bool) -> Live {
        let (tx, lines) = mpsc::channel();
        let mut out = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut err = child.stderr.take().expect("stderr is piped");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::clone(&stderr);
        let readers = vec![
            thread::spawn(move || loop {
                let mut line = Vec::new();
                match out.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                        }
                        if tx.send((Instant::now(), line)).is_err() {
                            break;
                        }
                    }
                }
            }),
            thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n @ 1..) = err.read(&mut chunk) {
                    collected.lock().unwrap().extend_from_slice(&chunk[..n]);
                }
            }),
        ];
        Live {
            child,
            group,
            lines,
            seen: Vec::new(),
            stderr,
            readers,
        }
    }

    /// The next stdout line and when it arrived; None when stdout ended or `within` passed.
    pub(crate) fn next_line(&mut self, within: Duration) -> Option<(Instant, String)> {
        let (at, line) = self.lines.recv_timeout(within).ok()?;
        self.seen.push((at, line.clone()));
        Some((at, String::from_utf8_lossy(&line).into_owned()))
    }

    /// Waits until stderr holds a line with every one of `needles`; false if `within` passed.
    pub(crate) fn wait_stderr(&self, needles: &[&str], within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            let text = String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned();
            if text.lines().any(|l| needles.iter().all(|n| l.contains(n))) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    pub(crate) fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {}", self.child.id());
    }

    /// Waits for the exit and the rest of the output. A process still running after `within` is
    /// killed and the test fails with what it wrote.
    pub(crate) fn finish(mut self, within: Duration) -> Ended {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= deadline {
                if self.group {
                    let _ = Command::new("kill")
                        .args(["-KILL", "--", &format!("-{}", self.child.id())])
                        .status();
                } else {
                    let _ = self.child.kill();
                }
                let _ = self.child.wait();
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                panic!(
                    "still running after {within:?}, killed; stderr:\n{}",
                    String::from_utf8_lossy(&self.stderr.lock().unwrap())
                );
            }
            thread::sleep(Duration::from_millis(10));
        };
        let at = Instant::now();
        for reader in self.readers.drain(..) {
            reader.join().expect("reader thread");
        }
        self.seen.extend(self.lines.try_iter());
        let code = status.code().unwrap_or_else(|| {
            -std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
        });
        let stderr = String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned();
        Ended {
            code,
            at,
            lines: self.seen,
            stderr,
        }
    }
}

/// Runs a binary of the project to its end, within [`RUN_BOUND`].
fn run(binary: &str, args: &[&str]) -> Ended {
    Live::spawn(binary, args).finish(RUN_BOUND)
}

/// Runs any command to its end, within [`RUN_BOUND`]; it must succeed.
fn run_tool(cmd: &mut Command) -> Ended {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let ended = Live::watch(child, false).finish(RUN_BOUND);
    assert_eq!(ended.code, 0, "{cmd:?}: {}", ended.stderr);
    ended
}

/// Runs one of Apache Kafka's own tools against the broker under test.
fn kafka_tool(class: &str, args: &[&str]) -> String {
    let ended = run_tool(
        Command::new(util::project_dir().join("scripts/kafka-local"))
            .arg("run")
            .arg(class)
            .args(["--bootstrap-server", util::broker()])
            .args(args)
            .env("KAFKA_PORT", util::broker_port(util::broker()))
            .stdin(Stdio::null()),
    );
    ended.stdout_lines().join("\n")
}

/// Creates `name` with one partition and the topic config `setting` (`key=value`).
fn create_topic_with(name: &str, setting: &str) {
    kafka_tool(
        "org.apache.kafka.tools.TopicCommand",
        &[
            "--create",
            "--topic",
            name,
            "--partitions",
            "1",
            "--replication-factor",
            "1",
            "--config",
            setting,
        ],
    );
}

fn topic_list() -> Vec<String> {
    kafka_tool("org.apache.kafka.tools.TopicCommand", &["--list"])
        .lines()
        .map(str::to_string)
        .collect()
}

/// Writes one record to `topic`/`partition` with kcat, exactly as given: `None` is a null key or
/// a null value (a tombstone). Keys and values must not hold a tab or a newline (kcat's
/// delimiters here), and a key is never empty (kcat would make it null).
fn kcat_produce(topic: &str, partition: i32, key: Option<&[u8]>, value: Option<&[u8]>) {
    for part in key.into_iter().chain(value) {
        assert!(!part.contains(&b'\t') && !part.contains(&b'\n'));
    }
    assert_ne!(key, Some(&b""[..]), "kcat sends an empty key as null");
    let mut line = Vec::new();
    if let Some(k) = key {
        line.extend_from_slice(k);
        line.push(b'\t');
    } else if value.is_none() {
        line.push(b'\t');
    }
    line.extend_from_slice(value.unwrap_or_default());
    line.push(b'\n');
    let input = std::env::temp_dir().join(util::unique("kcat-in"));
    std::fs::write(&input, &line).unwrap();
    let mut cmd = Command::new("kcat");
    cmd.args(["-b", util::broker(), "-P", "-t", topic])
        .args(["-p", &partition.to_string(), "-K", "\t"])
        .stdin(std::fs::File::open(&input).unwrap());
    if value.is_none() {
        // -Z turns the empty value (and an empty key) into null.
        cmd.arg("-Z");
    }
    run_tool(&mut cmd);
    let _ = std::fs::remove_file(&input);
}

/// A record as Kafka stored it, read with kcat.
#[derive(Debug)]
struct Stored {
    partition: i32,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
}

impl Stored {
    fn json(&self) -> serde_json::Value {
        let value = self.value.as_deref().expect("a dead letter has a value");
        serde_json::from_slice(value)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(value)))
    }
}

/// Every record of `topic`, each partition in offset order, through kcat: a header line with
/// partition, key length and value length (-1 for null), then the raw key and value bytes.
fn kcat_read(topic: &str) -> Vec<Stored> {
    let ended = run_tool(
        Command::new("kcat")
            .args(["-b", util::broker(), "-C", "-t", topic, "-e", "-q"])
            .args(["-f", "%p %K %S\n%k%s\n"])
            .stdin(Stdio::null()),
    );
    let bytes: Vec<u8> = ended
        .lines
        .iter()
        .flat_map(|(_, l)| l.iter().copied().chain([b'\n']))
        .collect();
    let mut records = Vec::new();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .expect("a header line");
        let header = std::str::from_utf8(&rest[..end]).unwrap();
        let fields: Vec<i64> = header
            .split(' ')
            .map(|f| {
                f.parse()
                    .unwrap_or_else(|_| panic!("kcat header {header:?}"))
            })
            .collect();
        rest = &rest[end + 1..];
        let mut take = |len: i64| {
            let len = usize::try_from(len).ok()?;
            let (part, after) = rest.split_at(len);
            rest = after;
            Some(part.to_vec())
        };
        let key = take(fields[1]);
        let value = take(fields[2]);
        assert_eq!(rest.first(), Some(&b'\n'), "record ends with a newline");
        rest = &rest[1..];
        records.push(Stored {
            partition: fields[0] as i32,
            key,
            value,
        });
    }
    records
}

/// A valid order with a fresh id: (id, JSON).
fn order() -> (String, String) {
    let id = uuid::Uuid::new_v4().to_string();
    let json =
        format!(r#"{{"order_id":"{id}","user":"edge-user","item":"edge-item","quantity":3}}"#);
    (id, json)
}

/// Writes a valid order keyed by its id, as every producer of orders does; returns the id.
fn produce_order(topic: &str) -> String {
    let (id, json) = order();
    kcat_produce(topic, 0, Some(id.as_bytes()), Some(json.as_bytes()));
    id
}

/// The order ids of `order-consumer --format json` lines.
fn printed_ids(ended: &Ended) -> Vec<String> {
    ended
        .json_lines()
        .iter()
        .map(|l| {
            l["order"]["order_id"]
                .as_str()
                .expect("order_id")
                .to_string()
        })
        .collect()
}

/// The summary the consumer prints on stderr at the end: the line itself, or with
/// `--format json` the `text` of the summary object.
fn summary(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| {
            if l.starts_with("received ") {
                return Some(l.to_string());
            }
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            (v["type"] == "summary").then(|| v["text"].as_str().unwrap_or_default().to_string())
        })
        .unwrap_or_else(|| panic!("no summary: {stderr}"))
}

/// 900 KB that is not UTF-8 (bytes 0x80..0xbf alone are never valid) and holds no tab or newline.
fn big_binary_record() -> Vec<u8> {
    (0..900 * 1024).map(|i| 0x80 + (i % 64) as u8).collect()
}

/// A bad record first, then two orders; returns the orders' ids.
fn big_record_then_two_orders(topic: &str) -> Vec<String> {
    kcat_produce(topic, 0, Some(b"big-poison"), Some(&big_binary_record()));
    vec![produce_order(topic), produce_order(topic)]
}

fn consume(topic: &str, group: &str, extra: &[&str]) -> Ended {
    let mut args = vec![
        "-t",
        topic,
        "-g",
        group,
        "--idle-timeout",
        "2",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    run("order-consumer", &args)
}

#[test]
fn a_bad_record_too_large_to_dead_letter_gets_a_shortened_envelope_and_the_orders_behind_it_are_read(
) {
    let topic = util::topic("dlq-shortened", 1);
    let dlq = format!("{topic}.dlq");
    create_topic_with(&dlq, "max.message.bytes=100000");
    let ids = big_record_then_two_orders(&topic);
    let group = util::unique("g");

    let first = consume(&topic, &group, &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(printed_ids(&first), ids, "the orders behind the bad record");
    let line = summary(&first.stderr);
    assert!(
        line.starts_with("received 2, invalid 1, dead-lettered 1 (1 shortened);"),
        "the summary counts it: {line}"
    );

    let letters = kcat_read(&dlq);
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert!(letter.value.as_ref().unwrap().len() <= 100_000);
    assert_eq!(letter.key.as_deref(), Some(&b"big-poison"[..]));
    let envelope = letter.json();
    println!(
        "shortened envelope: {} bytes",
        letter.value.as_ref().unwrap().len()
    );
    assert_eq!(envelope["truncated"], true, "{envelope}");
    assert_eq!(envelope["source_topic"], topic.as_str());
    assert_eq!(envelope["partition"], 0);
    assert_eq!(envelope["offset"], 0);
    assert_eq!(envelope["payload_size"], 900 * 1024, "{envelope}");
    assert!(
        envelope["reason"].as_str().is_some_and(
            |r| r.starts_with("payload of 921600 bytes is larger than any valid order")
        ),
        "{envelope}"
    );
    assert_eq!(envelope["payload_encoding"], "base64", "{envelope}");
    let prefix = order_kafka::base64::decode(envelope["payload"].as_str().unwrap()).unwrap();
    let original = big_binary_record();
    assert!(
        !prefix.is_empty() && prefix.len() < original.len(),
        "a prefix: {} bytes",
        prefix.len()
    );
    assert_eq!(
        prefix,
        original[..prefix.len()],
        "the payload's first bytes"
    );

    let again = consume(&topic, &group, &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.lines.is_empty(), "{:?}", again.stdout_lines());
    assert!(
        summary(&again.stderr).contains("received 0, invalid 0"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_bad_record_even_its_shortened_envelope_cannot_carry_is_logged_skipped_and_counted() {
    let topic = util::topic("dlq-refused", 1);
    let dlq = format!("{topic}.dlq");
    create_topic_with(&dlq, "max.message.bytes=200");
    let ids = big_record_then_two_orders(&topic);

    let r = consume(&topic, &util::unique("g"), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(printed_ids(&r), ids, "the orders behind the bad record");
    let logged = r.stderr.lines().find(|l| {
        l.contains("ERROR")
            && l.contains(&format!("{topic}/0"))
            && l.contains("offset 0")
            && l.contains(&format!("'{dlq}'"))
    });
    assert!(
        logged.is_some(),
        "an ERROR line with the position: {}",
        r.stderr
    );
    let line = summary(&r.stderr);
    assert!(
        line.starts_with(
            "received 2, invalid 1, dead-lettered 0, skipped 1 (no dead letter possible);"
        ),
        "the summary counts it: {line}"
    );
    assert!(kcat_read(&dlq).is_empty());
}

#[test]
fn a_dead_letter_topic_equal_to_the_topic_is_a_usage_error() {
    let started = Instant::now();
    let r = run(
        "order-consumer",
        &[
            "-b",
            "127.0.0.1:1",
            "-t",
            "same-topic",
            "--dlq-topic",
            "same-topic",
        ],
    );
    let took = started.elapsed();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(took < Duration::from_secs(1), "before connecting: {took:?}");
    let error = r.stderr.lines().next().unwrap_or("");
    assert!(
        error.starts_with(
            "error: --dlq-topic same-topic: must differ from the topic read (--topic same-topic)"
        ),
        "says why: {}",
        r.stderr
    );
}

/// The first key of the form `prefix-N` that goes to each partition of a 3-partition topic.
fn keys_for_each_of_3_partitions(prefix: &str) -> Vec<String> {
    (0..3)
        .map(|p| {
            (0..)
                .map(|i| format!("{prefix}-{i}"))
                .find(|k| partition::for_key(k.as_bytes(), 3) == p)
                .unwrap()
        })
        .collect()
}

#[test]
fn dead_letters_carry_the_key_are_partitioned_by_it_and_tell_a_tombstone_from_an_empty_payload() {
    let topic = util::topic("dlq-keys", 1);
    let dlq = util::topic("dlq-keys-dlq", 3);
    let keys = keys_for_each_of_3_partitions("poison-key");
    let (text, tombstone, empty) = (&keys[0], &keys[1], &keys[2]);
    kcat_produce(&topic, 0, Some(text.as_bytes()), Some(b"not json"));
    kcat_produce(&topic, 0, Some(tombstone.as_bytes()), None);
    kcat_produce(&topic, 0, Some(empty.as_bytes()), Some(b""));
    let id = produce_order(&topic);

    let r = consume(&topic, &util::unique("g"), &["--dlq-topic", &dlq]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(printed_ids(&r), [id]);
    let mut letters = kcat_read(&dlq);
    letters.sort_by_key(|l| l.json()["offset"].as_i64());
    assert_eq!(letters.len(), 3, "{letters:?}");
    for (offset, (letter, key)) in letters.iter().zip([text, tombstone, empty]).enumerate() {
        let envelope = letter.json();
        assert_eq!(envelope["offset"], offset, "{envelope}");
        assert_eq!(
            letter.key.as_deref(),
            Some(key.as_bytes()),
            "the record key"
        );
        assert_eq!(envelope["key"], key.as_str(), "{envelope}");
        assert_eq!(envelope["key_encoding"], "text", "{envelope}");
        assert_eq!(
            letter.partition,
            partition::for_key(key.as_bytes(), 3),
            "partitioned by the key: {envelope}"
        );
    }
    let payload = |i: usize| {
        let e = letters[i].json();
        (
            e["payload"].clone(),
            e["payload_encoding"].clone(),
            e["payload_size"].clone(),
        )
    };
    let null = serde_json::Value::Null;
    assert_eq!(payload(0), ("not json".into(), "text".into(), 8.into()));
    assert_eq!(payload(1), (null.clone(), null, 0.into()), "a tombstone");
    assert_eq!(
        payload(2),
        ("".into(), "text".into(), 0.into()),
        "an empty payload"
    );
    let reason = |i: usize| letters[i].json()["reason"].as_str().unwrap().to_string();
    assert!(reason(1).contains("tombstone"), "{}", reason(1));
    assert_eq!(reason(2), "empty payload");
}

#[test]
fn a_key_that_is_not_the_order_id_and_duplicate_fields_are_dead_lettered_with_the_reason() {
    let topic = util::topic("dlq-rules", 1);
    let dlq = util::topic("dlq-rules-dlq", 1);
    let (wrong_key_id, wrong_key) = order();
    kcat_produce(&topic, 0, Some(b"someone-else"), Some(wrong_key.as_bytes()));
    let id = uuid::Uuid::new_v4().to_string();
    let twice = |first: u32, second: u32| {
        format!(
            r#"{{"order_id":"{id}","user":"u","item":"i","quantity":{first},"quantity":{second}}}"#
        )
    };
    // Either order of the two values: neither "the last one wins" nor "the first one wins".
    kcat_produce(&topic, 0, Some(id.as_bytes()), Some(twice(0, 5).as_bytes()));
    kcat_produce(&topic, 0, Some(id.as_bytes()), Some(twice(5, 0).as_bytes()));
    let valid = produce_order(&topic);

    let r = consume(&topic, &util::unique("g"), &["--dlq-topic", &dlq]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(printed_ids(&r), [valid]);
    assert!(
        summary(&r.stderr).starts_with("received 1, invalid 3, dead-lettered 3;"),
        "{}",
        r.stderr
    );
    let reasons: Vec<String> = kcat_read(&dlq)
        .iter()
        .map(|l| l.json()["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        reasons,
        [
            format!(r#"record key "someone-else" is not the order_id "{wrong_key_id}""#),
            "duplicate field `quantity`".to_string(),
            "duplicate field `quantity`".to_string(),
        ]
    );
}

#[test]
fn from_an_offset_past_the_end_waits_at_the_end_with_a_warning() {
    let topic = util::topic("from-past-end", 1);
    for _ in 0..20 {
        produce_order(&topic);
    }
    let mut c = Live::spawn(
        "order-consumer",
        &[
            "-t",
            &topic,
            "--no-group",
            "--from",
            "1000",
            "--idle-timeout",
            "5",
            "--format",
            "json",
        ],
    );
    assert!(
        c.wait_stderr(
            &["WARN", "--from 1000", "past the end (20)"],
            Duration::from_secs(30)
        ),
        "a warning with the offset and the end"
    );
    let next = produce_order(&topic);
    let (_, line) = c
        .next_line(Duration::from_secs(10))
        .expect("the order produced after the warning is printed");
    let record: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(record["order"]["order_id"], next.as_str());
    assert_eq!(
        record["offset"], 20,
        "read from the end, nothing of the first 20"
    );
    let ended = c.finish(RUN_BOUND);
    assert_eq!(ended.code, 0, "{}", ended.stderr);
    assert_eq!(ended.lines.len(), 1, "{:?}", ended.stdout_lines());
}

#[test]
fn max_messages_1_reads_exactly_one_and_0_is_a_usage_error() {
    let topic = util::topic("max-one", 1);
    let first = produce_order(&topic);
    for _ in 0..4 {
        produce_order(&topic);
    }
    let r = run(
        "order-consumer",
        &[
            "-t",
            &topic,
            "--no-group",
            "--max-messages",
            "1",
            "--idle-timeout",
            "5",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(printed_ids(&r), [first]);

    let started = Instant::now();
    let r = run(
        "order-consumer",
        &["-b", "127.0.0.1:1", "--max-messages", "0"],
    );
    let took = started.elapsed();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("error: --max-messages 0: "),
        "{}",
        r.stderr
    );
    assert!(took < Duration::from_secs(1), "before connecting: {took:?}");
}

#[test]
fn a_missing_topic_is_an_error_and_neither_it_nor_its_dead_letter_topic_is_created() {
    let topic = util::unique("misspelt");
    let r = run(
        "order-consumer",
        &[
            "-t",
            &topic,
            "-g",
            &util::unique("g"),
            "--idle-timeout",
            "2",
            "--retries",
            "2",
            "--retry-backoff-ms",
            "50",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let error = r
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("an error line: {}", r.stderr));
    assert!(error.contains(&format!("'{topic}'")), "{error}");
    assert!(
        error.contains(&format!("make topic TOPIC={topic}")),
        "{error}"
    );
    let topics = topic_list();
    assert!(!topics.is_empty(), "the listing works");
    assert!(!topics.contains(&topic), "{topic} was created");
    assert!(
        !topics.contains(&format!("{topic}.dlq")),
        "{topic}.dlq was created"
    );
}

/// Both binaries, while they connect to a broker that never answers, stop on `signal` with exit
/// 0 within a second.
fn a_signal_while_connecting_exits_0_within_a_second(signal: &str) {
    let fake = FakeBroker::start(Behaviour::Silent);
    for (binary, extra) in [
        ("order-consumer", &[][..]),
        ("order-producer", &["--count", "10"][..]),
    ] {
        let mut args = vec!["-b", fake.addr.as_str()];
        args.extend_from_slice(extra);
        let mut live = Live::spawn(binary, &args);
        thread::sleep(Duration::from_millis(500));
        assert!(live.running(), "{binary} still connecting when signalled");
        let sent = Instant::now();
        live.signal(signal);
        let ended = live.finish(Duration::from_secs(30));
        let took = ended.at - sent;
        println!(
            "{binary} ended {took:?} after SIG{signal}: {}",
            ended.stderr.trim()
        );
        assert_eq!(ended.code, 0, "{binary}: {}", ended.stderr);
        assert!(took < Duration::from_secs(1), "{binary} took {took:?}");
        assert!(!ended.stderr.contains("panicked"), "{}", ended.stderr);
    }
}

#[test]
fn ctrl_c_while_connecting_exits_0_within_a_second() {
    a_signal_while_connecting_exits_0_within_a_second("INT");
}

#[test]
fn sigterm_while_connecting_exits_0_within_a_second() {
    a_signal_while_connecting_exits_0_within_a_second("TERM");
}

/// Forwards each connection to the broker under test after holding it for `delay`: a broker that
/// is slow to answer at first, with Kafka's own answers.
struct SlowStart {
    addr: String,
    stop: Arc<AtomicBool>,
}

impl SlowStart {
    fn new(delay: Duration) -> SlowStart {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                thread::spawn(move || {
                    thread::sleep(delay);
                    let Ok(upstream) = TcpStream::connect(util::broker()) else {
                        return;
                    };
                    let pump = |mut from: TcpStream, mut to: TcpStream| {
                        thread::spawn(move || {
                            let _ = std::io::copy(&mut from, &mut to);
                            let _ = to.shutdown(Shutdown::Write);
                        })
                    };
                    pump(client.try_clone().unwrap(), upstream.try_clone().unwrap());
                    pump(upstream, client);
                });
            }
        });
        SlowStart { addr, stop }
    }
}

impl Drop for SlowStart {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(&self.addr);
    }
}

#[test]
fn rate_counts_from_the_first_send_not_from_before_connecting() {
    let topic = util::topic("rate", 1);
    // Half a second to connect: a schedule started before connecting would owe 100 orders at the
    // first send and send them at once.
    let slow = SlowStart::new(Duration::from_millis(500));
    let r = run(
        "order-producer",
        &[
            "-b", &slow.addr, "-t", &topic, "--rate", "200", "--count", "60", "--format", "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json_lines().len(), 60);
    let first = r.lines[0].0;
    let in_first_100_ms = r
        .lines
        .iter()
        .filter(|(at, _)| *at - first <= Duration::from_millis(100))
        .count();
    let span = r.lines[59].0 - first;
    println!("{in_first_100_ms} deliveries in the first 100 ms; 60 in {span:?}");
    // 200/s is 20 per 100 ms (21 counting the first); 25 leaves room for a late line.
    assert!(
        in_first_100_ms <= 25,
        "{in_first_100_ms} in the first 100 ms"
    );
    // 59 intervals of 5 ms: the pace holds to the end.
    assert!(span >= Duration::from_millis(250), "{span:?}");
}

#[test]
fn producer_json_output_is_only_json_and_quiet_still_prints_the_summary() {
    let topic = util::topic("producer-json", 1);
    for count in [None, Some("3")] {
        let mut args = vec!["-t", topic.as_str(), "--format", "json"];
        args.extend(count.iter().flat_map(|n| ["--count", *n]));
        let r = run("order-producer", &args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let lines = r.json_lines();
        assert_eq!(
            lines.len(),
            count.map_or(1, |_| 3),
            "{:?}",
            r.stdout_lines()
        );
        for line in &lines {
            assert_eq!(line["topic"], topic.as_str(), "{line}");
            assert!(
                line["order_id"].is_string() && line["offset"].is_i64(),
                "{line}"
            );
        }
    }
    let r = run("order-producer", &["-t", &topic, "-q"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.lines.is_empty(), "{:?}", r.stdout_lines());
    assert!(
        r.stderr.contains("sent 1, failed 0, invalid 0"),
        "{}",
        r.stderr
    );
}

#[test]
fn consumer_json_shows_a_key_as_the_dead_letter_envelope_does() {
    let topic = util::topic("key-forms", 1);
    let dlq = util::topic("key-forms-dlq", 1);
    let binary_key = [0xc3u8, 0x28, 0xff];
    // Each key form once on an order that prints, once on a record that is dead-lettered. An
    // order keyed with anything but its order_id is dead-lettered, so a non-UTF-8 key is only
    // ever shown in an envelope.
    let (keyless_id, keyless) = order();
    kcat_produce(&topic, 0, None, Some(keyless.as_bytes()));
    kcat_produce(&topic, 0, None, Some(b"not json"));
    let keyed_id = produce_order(&topic);
    kcat_produce(&topic, 0, Some(b"text-key"), Some(b"not json"));
    let (binary_keyed_id, binary_keyed) = order();
    kcat_produce(&topic, 0, Some(&binary_key), Some(binary_keyed.as_bytes()));

    let r = consume(&topic, &util::unique("g"), &["--dlq-topic", &dlq]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let printed = r.json_lines();
    assert_eq!(printed_ids(&r), [keyless_id, keyed_id.clone()]);
    let letters: Vec<serde_json::Value> = kcat_read(&dlq).iter().map(Stored::json).collect();
    assert_eq!(letters.len(), 3, "{letters:?}");
    let key_form = |v: &serde_json::Value| (v["key"].clone(), v["key_encoding"].clone());
    let null = serde_json::Value::Null;

    assert_eq!(
        key_form(&printed[0]),
        (null.clone(), null.clone()),
        "{}",
        printed[0]
    );
    assert_eq!(
        key_form(&letters[0]),
        (null.clone(), null),
        "{}",
        letters[0]
    );
    assert_eq!(
        key_form(&printed[1]),
        (keyed_id.as_str().into(), "text".into())
    );
    assert_eq!(key_form(&letters[1]), ("text-key".into(), "text".into()));
    assert_eq!(key_form(&letters[2]), ("wyj/".into(), "base64".into()));
    assert_eq!(
        letters[2]["reason"],
        format!(r#"record key of 3 bytes (not UTF-8) is not the order_id "{binary_keyed_id}""#)
            .as_str()
    );
}
