//! order-producer against the real broker.

use std::collections::HashSet;

use order_kafka::order::Order;
use order_kafka::partition;

use crate::util::{self, run, run_with_stdin};

#[test]
fn default_run_prints_the_seed_lines_and_the_broker_holds_that_offset() {
    let topic = util::topic("default", 1);
    util::produce_orders(&topic, 3);

    let r = run("order-producer", &["-t", &topic]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    let json = lines[0]
        .strip_prefix("Message delivered: ")
        .expect(lines[0]);
    let order = Order::parse(json.as_bytes()).expect("a valid order");
    assert_eq!(
        (order.user(), order.item(), order.quantity()),
        ("demo-user", "demo-item", 1)
    );
    assert_eq!(lines[1], format!("Topic: {topic}, Partition: 0, Offset: 3"));
    assert_eq!(lines[2], "Producer finished sending message");

    // Apache Kafka's own tool agrees on the end of the log, and the record there is ours.
    assert_eq!(util::end_offsets(&topic)[&0], 4);
    let stored = util::read_all(&topic);
    let last = stored
        .iter()
        .find(|s| s.offset == 3)
        .expect("offset 3 stored");
    assert_eq!(last.value, json.as_bytes());
    assert_eq!(last.key, order.order_id().as_bytes());
}

#[test]
fn count_delivers_distinct_orders_each_with_its_own_offset() {
    let topic = util::topic("count", 1);
    let delivered = util::produce_orders(&topic, 1000);
    let offsets: Vec<i64> = delivered
        .iter()
        .map(|d| d["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets, (0..1000).collect::<Vec<_>>());
    let sent: HashSet<String> = util::order_ids(&delivered).into_iter().collect();
    assert_eq!(sent.len(), 1000);

    let stored = util::read_all(&topic);
    assert_eq!(stored.len(), 1000);
    for s in &stored {
        let order = Order::parse(&s.value).expect("stored records are orders");
        assert!(sent.contains(order.order_id()));
        assert_eq!(delivered[s.offset as usize]["order_id"], order.order_id());
    }
}

#[test]
fn stdin_delivers_exactly_the_valid_lines_and_reports_the_others_by_number() {
    let topic = util::topic("stdin", 1);
    let ids: Vec<String> = (0..4).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let valid = |id: &str| format!(r#"{{"order_id":"{id}","user":"u","item":"i","quantity":2}}"#);
    let input = [
        valid(&ids[0]),
        "not json".to_string(),
        String::new(),
        valid(&ids[1]),
        format!(
            r#"{{"order_id":"{}","user":"u","item":"i","quantity":0}}"#,
            ids[3]
        ),
        valid(&ids[2]),
        r#"{"order_id":"x","user":"u","item":"i","quantity":1}"#.to_string(),
    ]
    .join("\n");
    let r = run_with_stdin(
        "order-producer",
        &["-t", &topic, "--stdin", "--format", "json"],
        input.as_bytes(),
    );
    assert_eq!(r.code, 2, "invalid lines give exit code 2: {}", r.stderr);
    assert!(r.stderr.contains("line 2: not JSON"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("line 5: field `quantity` must be an integer from 1 to 1000000, got 0"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("line 7: field `order_id` must be a hyphenated UUID"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("sent 3, failed 0, invalid 3"),
        "{}",
        r.stderr
    );

    let stored: Vec<String> = util::read_all(&topic)
        .iter()
        .map(|s| Order::parse(&s.value).unwrap().order_id().to_string())
        .collect();
    assert_eq!(stored, ids[..3]);

    let strict = run_with_stdin(
        "order-producer",
        &["-t", &topic, "--stdin", "--strict"],
        input.as_bytes(),
    );
    assert_eq!(strict.code, 2);
    assert!(
        strict.stderr.contains("error: line 2: not JSON"),
        "{}",
        strict.stderr
    );
    assert_eq!(
        util::read_all(&topic).len(),
        4,
        "strict sends the lines before the bad one, then stops"
    );
}

#[test]
fn keys_land_on_the_murmur2_partition_like_apache_kafkas_console_producer() {
    let ours = util::topic("murmur-ours", 6);
    let delivered = util::produce_orders(&ours, 300);
    let mut used = HashSet::new();
    for d in &delivered {
        let id = d["order_id"].as_str().unwrap();
        let p = d["partition"].as_i64().unwrap() as i32;
        assert_eq!(p, partition::for_key(id.as_bytes(), 6), "order {id}");
        used.insert(p);
    }
    assert_eq!(used.len(), 6, "300 keys spread over all partitions");
    for s in util::read_all(&ours) {
        assert_eq!(s.partition, partition::for_key(&s.key, 6));
    }

    // The same keys through Apache Kafka's console producer land on the same partitions.
    let theirs = util::topic("murmur-java", 6);
    let lines: String = delivered
        .iter()
        .take(60)
        .map(|d| {
            let id = d["order_id"].as_str().unwrap();
            format!("{id}|{{\"order_id\":\"{id}\",\"user\":\"u\",\"item\":\"i\",\"quantity\":1}}\n")
        })
        .collect();
    util::console_produce(&theirs, &lines, &[]);

    let java = util::read_all(&theirs);
    assert_eq!(java.len(), 60);
    for s in java {
        let id = String::from_utf8(s.key.clone()).unwrap();
        let ours = delivered
            .iter()
            .find(|d| d["order_id"] == id.as_str())
            .unwrap();
        assert_eq!(
            s.partition as i64,
            ours["partition"].as_i64().unwrap(),
            "key {id}"
        );
    }
}

#[test]
fn help_and_version_and_usage_errors() {
    let help = run("order-producer", &["--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("Exit codes:") && help.stdout.contains("KAFKA_BROKERS"));
    let version = run("order-producer", &["--version"]);
    assert_eq!(
        version.stdout.trim(),
        format!("order-producer {}", env!("CARGO_PKG_VERSION"))
    );
    let bad = run("order-producer", &["--acks", "2"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--acks"), "{}", bad.stderr);
}
