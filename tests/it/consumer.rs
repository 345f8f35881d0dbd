//! order-consumer against the real broker.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::util::{self, run, Background};

fn consume_json(topic: &str, group: &str, extra: &[&str]) -> util::Run {
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
fn a_fresh_group_reads_every_order_once_and_a_second_run_reads_nothing() {
    let topic = util::topic("group", 3);
    let produced: HashSet<String> = util::order_ids(&util::produce_orders(&topic, 1000))
        .into_iter()
        .collect();
    let group = util::unique("g");

    let started = Instant::now();
    let first = consume_json(&topic, &group, &[]);
    println!(
        "consumed 1000 orders in {:?} (including the 2 s idle timeout)",
        started.elapsed()
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    let records = first.json_lines();
    let got: Vec<String> = util::order_ids(&records);
    assert_eq!(got.len(), 1000, "each order exactly once");
    assert_eq!(got.into_iter().collect::<HashSet<_>>(), produced);
    for r in &records {
        assert_eq!(r["key"], r["order"]["order_id"]);
        assert_eq!(r["topic"], topic.as_str());
    }
    assert!(
        first.stderr.contains("received 1000, invalid 0"),
        "{}",
        first.stderr
    );
    assert!(
        first
            .stderr
            .contains(&format!("committed to group '{group}'")),
        "{}",
        first.stderr
    );
    let committed = util::committed(util::broker(), &group, &topic);
    let end = util::end_offsets(&topic);
    assert_eq!(
        committed, end,
        "committed offsets are the end of each partition"
    );

    let second = consume_json(&topic, &group, &[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.stdout, "");
    assert!(
        second.stderr.contains("received 0, invalid 0"),
        "{}",
        second.stderr
    );
}

#[test]
fn human_output_follows_the_seed() {
    let topic = util::topic("human", 1);
    let delivered = util::produce_orders(&topic, 2);
    let r = run(
        "order-consumer",
        &[
            "-t",
            &topic,
            "-g",
            &util::unique("g"),
            "--idle-timeout",
            "1",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines[..2],
        ["Starting Kafka Consumer...", "Listening for messages..."]
    );
    assert!(
        lines[2].starts_with("Received order: {\"order_id\":\""),
        "{}",
        lines[2]
    );
    assert!(lines[2].contains(delivered[0]["order_id"].as_str().unwrap()));
    assert_eq!(lines[3], "Partition: 0, Offset: 0");
    assert_eq!(lines[5], "Partition: 0, Offset: 1");
    assert_eq!(lines.len(), 6);
}

#[test]
fn max_messages_and_partition_and_from_select_what_is_read() {
    let topic = util::topic("select", 2);
    util::produce_orders(&topic, 100);
    let r = consume_json(&topic, &util::unique("g"), &["--max-messages", "7"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json_lines().len(), 7);

    let ends = util::end_offsets(&topic);
    let r = run(
        "order-consumer",
        &[
            "-t",
            &topic,
            "--no-group",
            "-p",
            "1",
            "--from",
            "5",
            "--idle-timeout",
            "1",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let offsets: Vec<i64> = r
        .json_lines()
        .iter()
        .map(|l| {
            assert_eq!(l["partition"], 1);
            l["offset"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(offsets, (5..ends[&1]).collect::<Vec<_>>());
    assert!(r.stderr.contains("nothing committed"), "{}", r.stderr);
}

#[test]
fn sigkill_mid_stream_three_times_loses_nothing_and_duplicates_at_most_a_batch_per_kill() {
    let topic = util::topic("kill", 1);
    let produced: HashSet<String> = util::order_ids(&util::produce_orders(&topic, 1000))
        .into_iter()
        .collect();
    let group = util::unique("g");
    let args = [
        "-t",
        &topic,
        "-g",
        &group,
        "--format",
        "json",
        "--idle-timeout",
        "2",
    ];
    let mut printed: Vec<String> = Vec::new();
    for kill in 1..=3 {
        let mut c = Background::consumer(&args);
        assert!(c.read_lines(150), "consumer {kill} ended early");
        c.signal("KILL");
        let (code, _, seen) = c.finish();
        assert_eq!(code, -9);
        println!("run {kill}: printed {} orders before SIGKILL", seen.len());
        printed.extend(seen);
    }
    let last = Background::consumer(&args);
    let (code, stderr, seen) = last.finish();
    assert_eq!(code, 0, "{stderr}");
    printed.extend(seen);

    let ids: Vec<String> = printed
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["order"]["order_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let unique: HashSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique, produced, "the union covers every order");
    let duplicates = ids.len() - unique.len();
    // Offsets are committed every 100 records (--commit-every), so each kill repeats at most 100.
    println!("duplicates after 3 kills: {duplicates}");
    assert!(duplicates <= 3 * 100, "{duplicates} duplicates");
}

#[test]
fn sigterm_commits_exactly_what_was_printed() {
    // More than one fetch holds (1 MB), so even a whole batch after the signal is mid-stream.
    let topic = util::topic("term", 1);
    util::produce_orders(&topic, 10000);
    let group = util::unique("g");
    let mut c = Background::consumer(&["-t", &topic, "-g", &group, "--format", "json"]);
    assert!(c.read_lines(200));
    c.signal("TERM");
    let (code, stderr, seen) = c.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(seen.len() < 10000, "stopped mid-stream");
    let last = seen
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["offset"]
                .as_i64()
                .unwrap()
        })
        .max()
        .unwrap();
    assert_eq!(
        util::committed(util::broker(), &group, &topic)[&0],
        last + 1,
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("last offsets: {topic}/0={last}")),
        "{stderr}"
    );
    println!(
        "SIGTERM after {} orders: committed {}",
        seen.len(),
        last + 1
    );
}

/// Raw payloads that are not orders, each with the reason the consumer must give.
pub(crate) fn poison() -> Vec<(Vec<u8>, &'static str)> {
    let id = "9f1c2a7e-5d1b-4c39-8a56-0b8e2f1e3c4d";
    let with = |user: &str, item: &str, quantity: &str| {
        format!(r#"{{"order_id":"{id}","user":{user},"item":{item},"quantity":{quantity}}}"#)
            .into_bytes()
    };
    let mut bom = "\u{feff}".as_bytes().to_vec();
    bom.extend(with(r#""a""#, r#""b""#, "1"));
    vec![
        (b"not json".to_vec(), "not JSON"),
        (
            br#"{"order_id":"9f1c2a7e"#.to_vec(),
            "not JSON: EOF while parsing",
        ),
        (
            b"[1,2,3]".to_vec(),
            "expected a JSON object, found an array",
        ),
        (
            b"\"an order\"".to_vec(),
            "expected a JSON object, found a string",
        ),
        (b"true".to_vec(), "expected a JSON object, found a boolean"),
        (b"null".to_vec(), "empty payload"),
        (Vec::new(), "empty payload"),
        (b"{}".to_vec(), "missing field `order_id`"),
        (
            format!(r#"{{"order_id":"{id}","user":"a","item":"b"}}"#).into_bytes(),
            "missing field `quantity`",
        ),
        (
            format!(r#"{{"order_id":"{id}","user":"a","item":"b","quantity":1,"price":9}}"#)
                .into_bytes(),
            "unknown field `price`",
        ),
        (
            with(r#""a""#, r#""b""#, r#""3""#),
            "field `quantity` must be an integer, found a string",
        ),
        (
            with(r#""a""#, r#""b""#, "0"),
            "field `quantity` must be an integer from 1 to 1000000, got 0",
        ),
        (with(r#""a""#, r#""b""#, "-4"), "got -4"),
        (with(r#""a""#, r#""b""#, "99999999999"), "got 99999999999"),
        (with(r#""a""#, r#""b""#, "1.5"), "got 1.5"),
        (
            with(r#""""#, r#""b""#, "1"),
            "field `user` must not be empty",
        ),
        (
            with(r#""a""#, r#""   ""#, "1"),
            "field `item` must not be empty",
        ),
        (
            with("42", r#""b""#, "1"),
            "field `user` must be a string, found a number",
        ),
        (
            with(r#""a""#, r#"{"sku":"b"}"#, "1"),
            "field `item` must be a string, found an object",
        ),
        (
            with(&format!("\"{}\"", "x".repeat(300)), r#""b""#, "1"),
            "field `user` must be at most 256 characters, got 300",
        ),
        (
            r#"{"order_id":"order-17","user":"a","item":"b","quantity":1}"#
                .as_bytes()
                .to_vec(),
            "must be a hyphenated UUID",
        ),
        (
            b"{\"order_id\":\"\xff\xfe\",\"user\":\"a\"}".to_vec(),
            "not UTF-8: invalid byte at offset 13",
        ),
        (bom, "byte order mark"),
        (
            vec![b'x'; 900 * 1024],
            "payload of 921600 bytes is larger than any valid order",
        ),
    ]
}

#[test]
fn poison_messages_go_to_the_dead_letter_topic_and_valid_neighbours_are_printed() {
    let topic = util::topic("poison", 1);
    let dlq = format!("{topic}.dlq");
    util::kafka_local(util::broker_port(util::broker()), &["topic", &dlq, "1"]);
    let cases = poison();
    let mut records: Vec<(Option<&[u8]>, Vec<u8>)> = Vec::new();
    let mut valid_ids = Vec::new();
    let mut poison_offsets = HashMap::new();
    for (i, (payload, _)) in cases.iter().enumerate() {
        let id = uuid::Uuid::new_v4().to_string();
        records.push((
            None,
            format!(r#"{{"order_id":"{id}","user":"u","item":"i","quantity":1}}"#).into_bytes(),
        ));
        valid_ids.push(id);
        poison_offsets.insert((2 * i + 1) as i64, i);
        records.push((Some(b"bad-key".as_slice()), payload.clone()));
    }
    util::produce_raw(&topic, &records);

    let r = consume_json(&topic, &util::unique("g"), &[]);
    assert_eq!(r.code, 0, "the consumer survives: {}", r.stderr);
    assert_eq!(
        util::order_ids(&r.json_lines()),
        valid_ids,
        "every valid neighbour, in order"
    );
    let n = cases.len();
    assert!(
        r.stderr
            .contains(&format!("received {n}, invalid {n}, dead-lettered {n}")),
        "{}",
        r.stderr
    );

    let letters = util::read_all(&dlq);
    assert_eq!(letters.len(), n);
    for letter in letters {
        let envelope: serde_json::Value = serde_json::from_slice(&letter.value).unwrap();
        let offset = envelope["offset"].as_i64().unwrap();
        let (payload, reason) = &cases[poison_offsets[&offset]];
        let got = envelope["reason"].as_str().unwrap();
        assert!(
            got.contains(reason),
            "offset {offset}: reason {got:?}, expected {reason:?}"
        );
        assert!(r
            .stderr
            .contains(&format!("{topic}/0 offset {offset}: invalid order: {got}")));
        assert_eq!(envelope["source_topic"], topic.as_str());
        assert_eq!(envelope["partition"], 0);
        assert_eq!(envelope["key"], "bad-key");
        assert_eq!(letter.key, b"bad-key");
        let original = match envelope["payload_encoding"].as_str().unwrap() {
            "text" => envelope["payload"].as_str().unwrap().as_bytes().to_vec(),
            "base64" => order_kafka::base64::decode(envelope["payload"].as_str().unwrap()).unwrap(),
            other => panic!("encoding {other}"),
        };
        assert_eq!(
            &original, payload,
            "offset {offset}: the original payload is kept whole"
        );
    }
    println!("{n} poison messages dead-lettered, {n} valid neighbours printed");
}

#[test]
fn without_a_group_coordinator_it_falls_back_to_manual_assignment() {
    // A single node left at offsets.topic.replication.factor=3 can never create
    // __consumer_offsets, so the group coordinator never becomes available.
    let port = "19092";
    let _broker = util::OwnBroker::start(&[
        ("KAFKA_PORT", port),
        ("KAFKA_OFFSETS_RF", "3"),
        ("KAFKA_HEAP", "256m"),
    ]);
    let broker = format!("127.0.0.1:{port}");
    let topic = util::unique("fallback");
    util::kafka_local(port, &["topic", &topic, "2"]);
    let produce = run(
        "order-producer",
        &[
            "-b", &broker, "-t", &topic, "--count", "20", "--format", "json",
        ],
    );
    assert_eq!(produce.code, 0, "{}", produce.stderr);
    let produced: HashSet<String> = util::order_ids(&produce.json_lines()).into_iter().collect();

    let started = Instant::now();
    let r = util::read_back(&broker, &topic, &["--retries", "3"]);
    println!(
        "fell back after retries; whole run took {:?}",
        started.elapsed()
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("group path unavailable"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("falling back to manual assignment of partitions [0, 1]"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing committed"), "{}", r.stderr);
    let got: HashSet<String> = util::order_ids(&r.json_lines()).into_iter().collect();
    assert_eq!(got, produced);
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let topic = util::topic("pipe", 1);
    // More output than a pipe and `head`'s read hold together, so the write after `head` left
    // meets the closed pipe (the consumer writes a fetch's orders at once).
    util::produce_orders(&topic, 3000);
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' -t '{topic}' --no-group --idle-timeout 5 | head -n 3; echo \"status ${{PIPESTATUS[0]}}\"",
            env!("CARGO_BIN_EXE_order-consumer")
        ))
        .env("KAFKA_BROKERS", util::broker())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout
            .starts_with("Starting Kafka Consumer...\nListening for messages...\nReceived order:"),
        "{stdout}"
    );
    assert!(stdout.ends_with("status 0\n"), "exit code 0: {stdout}");
    assert!(!stderr.contains("error"), "{stderr}");
    assert!(
        !stderr.contains("nothing new"),
        "ended by the pipe, not by the idle timeout: {stderr}"
    );
}

#[test]
fn a_second_interrupt_exits_at_once_with_130() {
    // A consumer blocked writing to a pipe nobody reads cannot finish its batch after the first
    // interrupt; the second one gets the user out at once.
    let topic = util::topic("stuck", 1);
    util::produce_orders(&topic, 2000);
    let mut c = Background::consumer(&["-t", &topic, "--no-group", "--idle-timeout", "30"]);
    std::thread::sleep(Duration::from_secs(3));
    c.signal("INT");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        c.child.try_wait().unwrap().is_none(),
        "still printing its batch into the full pipe"
    );
    let started = Instant::now();
    c.signal("INT");
    // Its stdout stays unread until it is gone, so only the signal can have ended it.
    while c.child.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let elapsed = started.elapsed();
    let (code, stderr, _) = c.finish();
    assert_eq!(code, 130, "{stderr}");
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
}

#[test]
fn a_committed_offset_that_retention_deleted_resets_to_the_earliest_with_a_warning() {
    let topic = util::topic("out-of-range", 1);
    let ids = util::order_ids(&util::produce_orders(&topic, 20));
    let group = util::unique("g");
    let first = consume_json(&topic, &group, &["--max-messages", "5"]);
    assert_eq!(first.json_lines().len(), 5, "{}", first.stderr);

    // Apache's own tool deletes offsets 0..10, as retention would.
    let offsets = std::env::temp_dir().join(format!("{}.json", util::unique("delete")));
    std::fs::write(
        &offsets,
        format!(
            r#"{{"partitions":[{{"topic":"{topic}","partition":0,"offset":10}}],"version":1}}"#
        ),
    )
    .unwrap();
    util::kafka_local(
        util::broker_port(util::broker()),
        &[
            "run",
            "org.apache.kafka.tools.DeleteRecordsCommand",
            "--bootstrap-server",
            util::broker(),
            "--offset-json-file",
            offsets.to_str().unwrap(),
        ],
    );
    std::fs::remove_file(&offsets).unwrap();

    let second = consume_json(&topic, &group, &[]);
    assert!(
        second.stderr.contains(&format!(
            "{topic}/0: offset 5 is out of range; continuing from 10"
        )),
        "{}",
        second.stderr
    );
    let read = util::order_ids(&second.json_lines());
    assert_eq!(
        read,
        ids[10..],
        "the records after the deleted ones, once each"
    );
}
