//! Seeing inside a run: `--stats` JSON lines agree with what was sent and read, the Prometheus
//! file parses with the Prometheus client's own parser and its lag agrees with Apache's
//! ConsumerGroupCommand, and the status line shows on a terminal only.

use std::process::Command;

use crate::util::{self, run};

fn stats_lines(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "stats")
        .collect()
}

#[test]
fn producer_stats_lines_count_what_was_sent_and_only_grow() {
    let topic = util::topic("stats-p", 3);
    let r = run(
        "order-producer",
        &[
            "-t", &topic, "--count", "3000", "--rate", "3000", "--format", "json", "--stats", "0.2",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = stats_lines(&r.stderr);
    assert!(
        lines.len() >= 4,
        "about one line per 0.2 s of ~1 s: {}",
        r.stderr
    );
    for pair in lines.windows(2) {
        for counter in ["sent", "acked", "bytes", "batches", "retries"] {
            assert!(
                pair[1][counter].as_u64() >= pair[0][counter].as_u64(),
                "{counter}: {pair:?}"
            );
        }
    }
    let last = lines.last().unwrap();
    assert_eq!(last["role"], "producer");
    assert_eq!(last["sent"], 3000);
    assert_eq!(last["acked"], 3000);
    assert_eq!(last["failed"], 0);
    let bytes: u64 = r.stdout.lines().count() as u64;
    assert_eq!(bytes, 3000, "stdout holds the deliveries only");
    assert!(last["bytes"].as_u64().unwrap() > 3000 * 80, "{last}");
    let (p50, p99, max) = (
        last["ack_latency_p50_ms"].as_f64().unwrap(),
        last["ack_latency_p99_ms"].as_f64().unwrap(),
        last["ack_latency_max_ms"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{last}");
    // With --format json the summary is one JSON object too.
    let summary: Vec<serde_json::Value> = r
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "summary")
        .collect();
    assert_eq!(summary.len(), 1, "{}", r.stderr);
    assert_eq!(summary[0]["sent"], 3000);
    println!("producer stats: {} lines, last {last}", lines.len());
}

#[test]
fn consumer_stats_count_what_was_read_per_partition() {
    let topic = util::topic("stats-c", 2);
    util::produce_orders(&topic, 500);
    let group = util::unique("g");
    let r = run(
        "order-consumer",
        &[
            "-t",
            &topic,
            "-g",
            &group,
            "--format",
            "json",
            "--idle-timeout",
            "1",
            "--stats",
            "0.3",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let last = stats_lines(&r.stderr).pop().expect("a stats line");
    assert_eq!(last["received"], 500);
    assert_eq!(last["invalid"], 0);
    assert!(last["commits"].as_u64().unwrap() >= 1, "{last}");
    let partitions = last["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 2);
    let ends = util::end_offsets(&topic);
    for p in partitions {
        let id = p["partition"].as_i64().unwrap() as i32;
        assert_eq!(p["position"].as_i64(), Some(ends[&id]), "{p}");
        assert_eq!(p["high_watermark"].as_i64(), Some(ends[&id]), "{p}");
        assert_eq!(p["committed"].as_i64(), Some(ends[&id]), "{p}");
        assert_eq!(p["lag"], 0);
    }
}

/// Runs the project's Python (the venv `make test` sets up) on `script` with `input` on stdin.
fn python(script: &str, input: &str) -> String {
    let python = std::env::var("IT_PYTHON").unwrap_or_else(|_| {
        panic!("IT_PYTHON is not set: run the tests with `make test` (it makes the venv)")
    });
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_prometheus_file_parses_and_its_lag_is_what_consumer_group_command_reports() {
    let topic = util::topic("stats-prom", 1);
    util::produce_orders(&topic, 1000);
    let group = util::unique("g");
    let dir = std::env::temp_dir().join(util::unique("prom"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("order_kafka.prom");
    let r = run(
        "order-consumer",
        &[
            "-t",
            &topic,
            "-g",
            &group,
            "--max-messages",
            "300",
            "--commit-every",
            "50",
            "--stats",
            "0.2",
            "--stats-file",
            file.to_str().unwrap(),
            "--stats-format",
            "prometheus",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = util::read_file(&file);
    let parsed = python(
        "import sys\n\
         from prometheus_client.parser import text_string_to_metric_families\n\
         for family in text_string_to_metric_families(sys.stdin.read()):\n\
         \x20   for s in family.samples:\n\
         \x20       print(s.name, s.labels.get('partition', '-'), int(s.value))\n",
        &text,
    );
    let value = |name: &str| {
        parsed
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} not in {parsed}"))
            .to_string()
    };
    assert_eq!(value("order_kafka_consumer_received_total"), "- 300");
    let our_lag: i64 = value("order_kafka_consumer_partition_lag")
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();

    let class = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand";
    let out = util::kafka_local(
        util::broker_port(util::broker()),
        &[
            "run",
            class,
            "--bootstrap-server",
            util::broker(),
            "--describe",
            "--group",
            &group,
        ],
    );
    let described = String::from_utf8_lossy(&out.stdout);
    let row = described
        .lines()
        .find(|l| l.contains(&topic))
        .unwrap_or_else(|| panic!("{described}"));
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...
    let columns: Vec<&str> = row.split_whitespace().collect();
    let their_lag: i64 = columns[5].parse().unwrap_or_else(|_| panic!("{row}"));
    println!("lag: ours {our_lag}, ConsumerGroupCommand {their_lag}");
    assert_eq!(our_lag, 700);
    assert_eq!(our_lag, their_lag, "{described}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `command` under a pseudo-terminal (util-linux's `script`), stderr included.
fn on_a_terminal(command: &str) -> String {
    let out = Command::new("script")
        .args(["-q", "-e", "-c", command, "/dev/null"])
        .env("KAFKA_BROKERS", util::broker())
        .output()
        .expect("script (util-linux) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_status_line_shows_on_a_terminal_only_and_is_cleared_before_the_summary() {
    let topic = util::topic("progress", 1);
    let producer = env!("CARGO_BIN_EXE_order-producer");
    let command = format!("{producer} -t {topic} --count 6000 --rate 3000 -q");
    let screen = on_a_terminal(&command);
    assert!(
        screen.contains("\r\x1b[Ksent "),
        "a status line: {screen:?}"
    );
    assert!(screen.contains(" of 6000, "), "{screen:?}");
    let summary_at = screen.find("sent 6000, failed 0").expect("the summary");
    assert!(
        screen[..summary_at].ends_with("\r\x1b[K"),
        "the line is cleared before the summary: {screen:?}"
    );

    let quiet = on_a_terminal(&format!("{command} --no-progress"));
    assert!(!quiet.contains("\x1b[K"), "{quiet:?}");
    // Not a terminal: logs and pipes stay clean.
    let piped = run(
        "order-producer",
        &["-t", &topic, "--count", "3000", "--rate", "2000", "-q"],
    );
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    assert!(!piped.stderr.contains('\r'), "{:?}", piped.stderr);
}
