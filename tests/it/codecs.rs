//! Record batches across clients: topics that kcat (librdkafka) and Apache Kafka's Java producer
//! wrote with each codec, read by `order-consumer`; what `order-producer` wrote with each codec,
//! read by kcat; committed and aborted transactions; batches cut off at the end of a fetch.
//!
//! Where the broker's data is on this machine (the local runner), Apache Kafka's DumpLogSegments
//! also checks how the batches were stored, so a codec that silently falls back to none fails.

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use order_kafka::order::Order;

use crate::util::{self, run};

const CODECS: [&str; 5] = ["none", "gzip", "snappy", "lz4", "zstd"];

/// `n` valid orders as (order_id, JSON); varied, as real ones are, so compression has work.
fn orders(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let id = uuid::Uuid::new_v4().to_string();
            let json = format!(
                r#"{{"order_id":"{id}","user":"user-{}","item":"item-{}","quantity":{}}}"#,
                i % 97,
                i % 13,
                i % 1000 + 1
            );
            (id, json)
        })
        .collect()
}

/// `KEY|VALUE` lines, keyed by order_id, for kcat `-K '|'` and the console producer.
fn keyed_lines(orders: &[(String, String)]) -> String {
    orders
        .iter()
        .map(|(id, json)| format!("{id}|{json}\n"))
        .collect()
}

/// Reads `topic` with `order-consumer` in a fresh group; returns (order_id, offset) per line.
fn consume(topic: &str, extra: &[&str]) -> (Vec<(String, i64)>, String) {
    let group = util::unique("g");
    let mut args = vec!["-g", group.as_str()];
    args.extend_from_slice(extra);
    let r = util::read_back(util::broker(), topic, &args);
    let lines = r.json_lines();
    for l in &lines {
        assert_eq!(l["key"], l["order"]["order_id"], "{l}");
    }
    let read = util::order_ids(&lines)
        .into_iter()
        .zip(
            lines
                .iter()
                .map(|l| l["offset"].as_i64().expect("an offset")),
        )
        .collect();
    (read, r.stderr)
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// One stored batch, as DumpLogSegments describes it.
struct Batch {
    codec: String,
    size: u64,
}

/// Every batch of `topic` on the broker under test, or None when its data is not on this
/// machine (a broker in Docker).
fn stored_batches(topic: &str) -> Option<Vec<Batch>> {
    let Some(dir) = util::local_broker_dir() else {
        println!("the broker's data is not on this machine: not checking how batches are stored");
        return None;
    };
    let data = dir.join("data");
    let mut segments = Vec::new();
    for dir in std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().path()) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let Some((t, partition)) = name.rsplit_once('-') else {
            continue;
        };
        if t != topic || partition.parse::<u32>().is_err() {
            continue;
        }
        for file in std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()) {
            if file.extension().is_some_and(|e| e == "log") {
                segments.push(file.to_string_lossy().into_owned());
            }
        }
    }
    assert!(
        !segments.is_empty(),
        "no log segment of {topic} in {}",
        data.display()
    );
    let out = util::kafka_local(
        util::broker_port(util::broker()),
        &[
            "run",
            util::tool_class(
                "org.apache.kafka.tools.DumpLogSegments",
                "kafka.tools.DumpLogSegments",
            ),
            "--files",
            &segments.join(","),
        ],
    );
    let field = |line: &str, name: &str| {
        line.split(&format!(" {name}: "))
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string)
    };
    let batches: Vec<Batch> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("baseOffset: "))
        .map(|l| Batch {
            codec: field(l, "compresscodec").expect("a codec").to_lowercase(),
            size: field(l, "size")
                .and_then(|s| s.parse().ok())
                .expect("a size"),
        })
        .collect();
    assert!(!batches.is_empty(), "DumpLogSegments listed no batch");
    Some(batches)
}

/// Checks that every batch of `topic` is stored compressed with `codec` (where visible).
fn assert_stored_with(topic: &str, codec: &str) {
    if let Some(batches) = stored_batches(topic) {
        let codecs: HashSet<&str> = batches.iter().map(|b| b.codec.as_str()).collect();
        assert_eq!(
            codecs,
            HashSet::from([codec]),
            "{topic}: batches stored as {codecs:?}"
        );
    }
}

#[test]
fn order_consumer_reads_what_kcat_wrote_with_each_codec() {
    std::thread::scope(|s| {
        for codec in CODECS {
            s.spawn(move || {
                let topic = util::topic(&format!("kcat-{codec}"), 3);
                let sent = orders(50);
                let mut kcat = util::kcat();
                kcat.args(["-P", "-b", util::broker(), "-t", &topic])
                    .args(["-z", codec, "-K", "|"]);
                util::tool_output(kcat, keyed_lines(&sent).as_bytes());
                assert_stored_with(&topic, codec);

                let (read, stderr) = consume(&topic, &[]);
                let ids = read.into_iter().map(|(id, _)| id).collect();
                assert_eq!(
                    sorted(ids),
                    sorted(sent.into_iter().map(|(id, _)| id).collect()),
                    "{codec}: {stderr}"
                );
                assert!(
                    stderr.contains("received 50, invalid 0"),
                    "{codec}: {stderr}"
                );
                println!("{codec}: 50 orders written by kcat, read back");
            });
        }
    });
}

#[test]
fn order_consumer_reads_what_the_java_producer_wrote_with_each_codec() {
    std::thread::scope(|s| {
        // Java's snappy is the xerial-framed kind, unlike librdkafka's raw blocks.
        for codec in ["gzip", "snappy", "lz4", "zstd"] {
            s.spawn(move || {
                let topic = util::topic(&format!("java-{codec}"), 3);
                let sent = orders(50);
                util::console_produce(&topic, &keyed_lines(&sent), &["--compression-codec", codec]);
                assert_stored_with(&topic, codec);

                let (read, stderr) = consume(&topic, &[]);
                let ids = read.into_iter().map(|(id, _)| id).collect();
                assert_eq!(
                    sorted(ids),
                    sorted(sent.into_iter().map(|(id, _)| id).collect()),
                    "{codec}: {stderr}"
                );
                println!("{codec}: 50 orders written by the Java producer, read back");
            });
        }
    });
}

#[test]
fn kcat_reads_what_order_producer_wrote_with_each_codec() {
    std::thread::scope(|s| {
        for codec in CODECS {
            s.spawn(move || {
                let topic = util::topic(&format!("ours-{codec}"), 3);
                let r = run(
                    "order-producer",
                    &[
                        "-t",
                        &topic,
                        "--count",
                        "200",
                        "--compression",
                        codec,
                        "--format",
                        "json",
                    ],
                );
                assert_eq!(r.code, 0, "{codec}: {}", r.stderr);
                let delivered: HashMap<(i64, i64), String> = r
                    .json_lines()
                    .iter()
                    .map(|d| {
                        let at = (
                            d["partition"].as_i64().unwrap(),
                            d["offset"].as_i64().unwrap(),
                        );
                        (at, d["order_id"].as_str().unwrap().to_string())
                    })
                    .collect();
                assert_eq!(delivered.len(), 200, "{codec}: one place per delivery");
                assert_stored_with(&topic, codec);

                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as i64;
                let stored = util::read_all(&topic);
                assert_eq!(stored.len(), 200, "{codec}");
                for s in &stored {
                    let at = (s.partition as i64, s.offset);
                    let id = delivered
                        .get(&at)
                        .unwrap_or_else(|| panic!("{codec}: no delivery reported {at:?}"));
                    assert_eq!(
                        s.key,
                        id.as_bytes(),
                        "{codec} {at:?}: the key is the order_id"
                    );
                    let order = Order::parse(&s.value)
                        .unwrap_or_else(|e| panic!("{codec} {at:?}: not an order: {e}"));
                    assert_eq!(order.order_id(), id, "{codec} {at:?}");
                    assert!(
                        (now - s.timestamp).abs() < 60_000,
                        "{codec} {at:?}: timestamp {} is not within a minute of {now}",
                        s.timestamp
                    );
                }
                println!("{codec}: kcat read the 200 orders where order-producer said it put them");
            });
        }
    });
}

/// Writes transactions with Apache Kafka's Java producer (tests/java/Transactions.java).
fn transactions(topic: &str, script: &str) {
    let mut java = Command::new(util::project_dir().join("scripts/kafka-local"));
    java.env("KAFKA_VERSION", util::kafka_version()).args([
        "run",
        &util::project_dir()
            .join("tests/java/Transactions.java")
            .to_string_lossy(),
        util::broker(),
        topic,
        &util::unique("tx"),
    ]);
    let out = String::from_utf8(util::tool_output(java, script.as_bytes())).unwrap();
    assert_eq!(
        out, "commit 5\nabort 5\ncommit 5\n",
        "the producer's own account"
    );
}

#[test]
fn aborted_transactions_and_control_records_are_never_printed_unless_read_uncommitted() {
    let topic = util::topic("tx", 1);
    let batches: Vec<Vec<(String, String)>> = (0..3).map(|_| orders(5)).collect();
    let mut script = String::new();
    for (batch, end) in batches.iter().zip(["commit", "abort", "commit"]) {
        script.push_str(&keyed_lines(batch));
        script.push_str(end);
        script.push('\n');
    }
    transactions(&topic, &script);
    let ids =
        |batch: &[(String, String)]| batch.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>();
    // Each transaction's 5 records, then its marker: control records at offsets 5, 11 and 17.
    let expect = |which: &[usize]| -> Vec<(String, i64)> {
        which
            .iter()
            .flat_map(|&t| ids(&batches[t]).into_iter().zip(6 * t as i64..))
            .collect()
    };

    let (committed, stderr) = consume(&topic, &[]);
    assert_eq!(committed, expect(&[0, 2]), "read_committed: {stderr}");
    assert!(stderr.contains("received 10, invalid 0"), "{stderr}");

    let (everything, stderr) = consume(&topic, &["--isolation", "read_uncommitted"]);
    assert_eq!(everything, expect(&[0, 1, 2]), "read_uncommitted: {stderr}");
    assert!(stderr.contains("received 15, invalid 0"), "{stderr}");
    println!("10 committed orders read, 5 aborted ones only with read_uncommitted");
}

#[test]
fn batches_cut_off_at_the_end_of_a_fetch_response_are_fetched_again() {
    const BACKLOG: usize = 3 * 1024 * 1024;
    const FETCH: u64 = 65536;
    std::thread::scope(|s| {
        for codec in ["none", "zstd"] {
            s.spawn(move || {
                let topic = util::topic(&format!("cut-{codec}"), 1);
                let mut sent = Vec::new();
                let mut bytes = 0;
                while bytes < BACKLOG {
                    let batch = orders(1000);
                    bytes += batch.iter().map(|(_, json)| json.len()).sum::<usize>();
                    sent.extend(batch);
                }
                // Batches of 100 orders: many whole ones per response, and one cut off at its end.
                let mut kcat = util::kcat();
                kcat.args(["-P", "-b", util::broker(), "-t", &topic, "-p", "0"])
                    .args(["-z", codec, "-K", "|", "-X", "batch.num.messages=100"])
                    .args(["-X", "enable.idempotence=true"]);
                util::tool_output(kcat, keyed_lines(&sent).as_bytes());
                if let Some(batches) = stored_batches(&topic) {
                    let largest = batches.iter().map(|b| b.size).max().unwrap();
                    assert!(largest < FETCH / 2, "{codec}: a batch of {largest} bytes");
                    assert!(batches.len() > 30, "{codec}: {} batches", batches.len());
                }

                let (read, stderr) = consume(&topic, &["--fetch-max-bytes", &FETCH.to_string()]);
                let n = sent.len();
                assert_eq!(read.len(), n, "{codec}: all read, none twice: {stderr}");
                for (i, ((id, offset), (sent_id, _))) in read.iter().zip(&sent).enumerate() {
                    assert_eq!((id, *offset), (sent_id, i as i64), "{codec}");
                }
                println!("{codec}: {n} orders ({bytes} bytes) read in fetches of {FETCH} bytes");
            });
        }
    });
}
