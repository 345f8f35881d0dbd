//! Failure modes a deployment meets: a broker down or silent, records the broker refuses, bad
//! input lines, and in [`failover`] a broker restart mid-run, a leader killed in a 3-node
//! cluster, a bootstrap broker that never answers and a long fetch wait (`make test` runs those
//! against the older Kafka line too).

use std::time::{Duration, Instant};

use crate::util::{self, run, run_with_stdin};

#[test]
fn a_broker_down_at_start_is_given_up_on_within_the_retry_bound() {
    let broker = format!("127.0.0.1:{}", util::free_port());
    for binary in ["order-producer", "order-consumer"] {
        let started = Instant::now();
        let r = run(
            binary,
            &["-b", &broker, "--retries", "4", "--retry-backoff-ms", "100"],
        );
        let elapsed = started.elapsed();
        println!(
            "{binary} gave up after {elapsed:?}: {}",
            r.stderr.lines().last().unwrap_or("")
        );
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(
            r.stderr
                .contains(&format!("cannot reach {broker} after 4 attempts"))
                && r.stderr.contains("make up"),
            "{}",
            r.stderr
        );
        // Pauses of 0.1 + 0.2 + 0.4 s between four attempts.
        assert!(
            (0.6..5.0).contains(&elapsed.as_secs_f64()),
            "took {elapsed:?}"
        );
    }
}

#[test]
fn a_record_larger_than_the_topic_accepts_gets_a_clear_error() {
    let topic = util::unique("small");
    util::kafka_local(
        util::broker_port(util::broker()),
        &[
            "run",
            "org.apache.kafka.tools.TopicCommand",
            "--bootstrap-server",
            util::broker(),
            "--create",
            "--topic",
            &topic,
            "--config",
            "max.message.bytes=100",
        ],
    );
    let r = run(
        "order-producer",
        &["-t", &topic, "--user", &"u".repeat(200)],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("not delivered") && r.stderr.contains("larger than it accepts"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("sent 0, failed 1"), "{}", r.stderr);
}

#[test]
fn every_poison_case_on_stdin_is_reported_by_line_and_valid_lines_still_go() {
    let topic = util::topic("stdin-poison", 1);
    let cases: Vec<(Vec<u8>, &str)> = crate::consumer::poison()
        .into_iter()
        .filter(|(p, _)| !p.is_empty())
        .collect();
    let mut input = Vec::new();
    let mut valid = Vec::new();
    for (payload, _) in &cases {
        let id = uuid::Uuid::new_v4().to_string();
        input
            .extend(format!(r#"{{"order_id":"{id}","user":"u","item":"i","quantity":1}}"#).bytes());
        input.push(b'\n');
        valid.push(id);
        input.extend(payload);
        input.push(b'\n');
    }
    let r = run_with_stdin(
        "order-producer",
        &["-t", &topic, "--stdin", "--format", "json"],
        &input,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    for (i, (_, reason)) in cases.iter().enumerate() {
        let line = 2 * i + 2;
        let report = r
            .stderr
            .lines()
            .find(|l| l.contains(&format!("line {line}: ")))
            .unwrap_or_else(|| panic!("line {line} not reported: {}", r.stderr));
        assert!(
            report.contains(reason),
            "line {line}: {report:?} lacks {reason:?}"
        );
    }
    assert_eq!(util::order_ids(&r.json_lines()), valid);
    println!(
        "{} invalid stdin lines reported, {} valid lines delivered",
        cases.len(),
        valid.len()
    );
}

#[test]
fn a_broker_that_accepts_but_never_answers_is_given_up_on_after_the_request_timeout() {
    let broker = util::silent_broker();
    for binary in ["order-producer", "order-consumer"] {
        let started = Instant::now();
        let r = run(
            binary,
            &[
                "-b",
                &broker,
                "--request-timeout",
                "1",
                "--retries",
                "2",
                "--retry-backoff-ms",
                "100",
            ],
        );
        let elapsed = started.elapsed();
        println!("{binary} gave up on a silent broker after {elapsed:?}");
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("no answer"), "{}", r.stderr);
        // Two attempts of one request timeout each and a pause: never a socket's default wait.
        assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
    }
}

/// Brokers that go away, move or keep a request waiting: the protocol paths the older Kafka line
/// is tested on too.
mod failover {
    use std::process::Command;
    use std::thread::sleep;
    use std::time::{Duration, Instant};

    use crate::util::{self, run};

    #[test]
    fn a_broker_restart_mid_run_loses_no_acknowledged_order() {
        let port = "23092";
        let broker_env = [("KAFKA_PORT", port), ("KAFKA_HEAP", "256m")];
        let own = util::OwnBroker::start(&broker_env);
        let broker = format!("127.0.0.1:{port}");
        let topic = util::unique("restart");
        util::kafka_local(port, &["topic", &topic, "2"]);

        let producer = util::spawn(
            "order-producer",
            &[
                "-b",
                &broker,
                "-t",
                &topic,
                "--count",
                "100000",
                "--rate",
                "20000",
                "--retries",
                "20",
                "--format",
                "json",
            ],
        );
        sleep(Duration::from_millis(1500));
        own.run(&["stop"]);
        let stopped = Instant::now();
        sleep(Duration::from_secs(5));
        own.run(&["start"]);
        println!("broker was down for {:?}", stopped.elapsed());
        let out = util::Run::from(producer.wait_with_output().unwrap());
        let (stderr, delivered) = (&out.stderr, out.json_lines());
        let failed = stderr.matches("not delivered").count();
        println!(
            "producer: {} delivered, {failed} failed; {}",
            delivered.len(),
            stderr.lines().last().unwrap_or("")
        );
        assert!(
            stderr.contains(&format!(
                "sent {}, failed {failed}, invalid 0",
                delivered.len()
            )),
            "{stderr}"
        );
        assert_eq!(
            delivered.len() + failed,
            100000,
            "every order is reported delivered or failed"
        );
        assert!(
            stderr.contains("retrying"),
            "the run saw the broker go away: {stderr}"
        );

        let consumed =
            util::order_ids(&util::read_back(&broker, &topic, &["--no-group"]).json_lines());
        let (lost, duplicates) = util::lost_and_duplicates(&util::order_ids(&delivered), &consumed);
        println!("restart: 0 expected lost, {lost} lost; {duplicates} duplicates stored");
        assert_eq!(lost, 0);
    }

    #[test]
    fn killing_the_partition_leader_of_a_3_node_cluster_loses_no_acknowledged_order() {
        let (cluster, brokers) = util::OwnBroker::cluster();
        let topic = util::unique("leader");
        let describe = |topic: &str| {
            cluster.run(&[
                "run",
                "org.apache.kafka.tools.TopicCommand",
                "--bootstrap-server",
                &brokers,
                "--describe",
                "--topic",
                topic,
            ])
        };
        cluster.run(&[
            "run",
            "org.apache.kafka.tools.TopicCommand",
            "--bootstrap-server",
            &brokers,
            "--create",
            "--topic",
            &topic,
            "--partitions",
            "1",
            "--replication-factor",
            "3",
            "--config",
            "min.insync.replicas=2",
        ]);
        let leader: u32 = describe(&topic)
            .split("Leader: ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
            .expect("a leader");

        let producer = util::spawn(
            "order-producer",
            &[
                "-b",
                &brokers,
                "-t",
                &topic,
                "--count",
                "50000",
                "--acks",
                "all",
                "--rate",
                "10000",
                "--retries",
                "20",
                "--format",
                "json",
            ],
        );
        sleep(Duration::from_secs(2));
        let leader_port = 21092 + 2 * (leader - 1);
        let pid = util::read_file(&util::kafka_data().join(format!("{leader_port}/kafka.pid")));
        assert!(Command::new("kill")
            .args(["-9", pid.trim()])
            .status()
            .unwrap()
            .success());
        let killed = Instant::now();
        let out = util::Run::from(producer.wait_with_output().unwrap());
        let (stderr, delivered) = (&out.stderr, out.json_lines());
        println!(
            "killed leader node {leader}; producer finished {:?} later: {}",
            killed.elapsed(),
            stderr.lines().last().unwrap_or("")
        );
        assert_eq!(
            out.code, 0,
            "the producer rode over the leader change: {stderr}"
        );
        assert_eq!(delivered.len(), 50000);
        let new_leader = describe(&topic);
        assert!(
            !new_leader.contains(&format!("Leader: {leader}\t")),
            "{new_leader}"
        );

        let consumed =
            util::order_ids(&util::read_back(&brokers, &topic, &["--no-group"]).json_lines());
        let (lost, duplicates) = util::lost_and_duplicates(&util::order_ids(&delivered), &consumed);
        println!("leader kill: {lost} acknowledged orders lost, {duplicates} duplicates stored");
        assert_eq!(lost, 0);
    }

    #[test]
    fn a_consumer_rides_over_a_broker_restart_and_keeps_its_position() {
        let port = "25092";
        let own = util::OwnBroker::start(&[("KAFKA_PORT", port), ("KAFKA_HEAP", "256m")]);
        let broker = format!("127.0.0.1:{port}");
        let topic = util::unique("consumer-restart");
        util::kafka_local(port, &["topic", &topic, "1"]);
        let produce = |n: &str| {
            let r = run(
                "order-producer",
                &[
                    "-b", &broker, "-t", &topic, "--count", n, "--format", "json",
                ],
            );
            assert_eq!(r.code, 0, "{}", r.stderr);
            util::order_ids(&r.json_lines())
        };
        let mut sent = produce("50");
        let group = util::unique("g");
        let mut consumer = util::Background::consumer(&[
            "-b",
            &broker,
            "-t",
            &topic,
            "-g",
            &group,
            "--format",
            "json",
            "--no-dlq",
            // The outage is the stop, a 3 s pause and a start (Kafka 4 takes several seconds to
            // start): retries outlast it, as in the producer's restart test, and it is not idle.
            "--retries",
            "20",
            "--idle-timeout",
            "60",
        ]);
        assert!(consumer.read_lines(50));
        own.run(&["stop"]);
        sleep(Duration::from_secs(3));
        own.run(&["start"]);
        sent.extend(produce("50"));
        if !consumer.read_lines(100) {
            let (code, stderr, _) = consumer.finish();
            panic!(
                "the consumer ended (exit {code}) before reading on after the restart: {stderr}"
            );
        }
        consumer.signal("TERM");
        let (code, stderr, seen) = consumer.finish();
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stderr.contains("retrying"),
            "it saw the broker go away: {stderr}"
        );
        let got: Vec<String> = seen
            .iter()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["order"]["order_id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            got, sent,
            "every order once, in order: the position survived the restart"
        );
        assert_eq!(util::committed(&broker, &group, &topic)[&0], 100);
        println!(
            "consumer rode over a 3 s broker restart: {} orders, none twice",
            got.len()
        );
    }

    #[test]
    fn bootstrap_moves_on_from_a_broker_that_never_answers() {
        let brokers = format!("{},{}", util::silent_broker(), util::broker());
        let topic = util::topic("bootstrap", 1);
        // One request timeout lost on the silent broker, then the real one answers.
        let bound = Duration::from_secs(2 + 5);
        let started = Instant::now();
        let r = run(
            "order-producer",
            &[
                "-b",
                &brokers,
                "-t",
                &topic,
                "--count",
                "1",
                "--request-timeout",
                "2",
                "--format",
                "json",
            ],
        );
        let produced = started.elapsed();
        assert_eq!(r.code, 0, "{}", r.stderr);
        let sent = util::order_ids(&r.json_lines());
        assert_eq!(sent.len(), 1);
        assert!(produced < bound, "{produced:?}");

        let started = Instant::now();
        let r = run(
            "order-consumer",
            &[
                "-b",
                &brokers,
                "-t",
                &topic,
                "-g",
                &util::unique("g"),
                "--request-timeout",
                "2",
                "--idle-timeout",
                "1",
                "--format",
                "json",
                "--no-dlq",
            ],
        );
        let consumed = started.elapsed();
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(util::order_ids(&r.json_lines()), sent, "{}", r.stderr);
        assert!(consumed < bound + Duration::from_secs(1), "{consumed:?}");
        println!(
            "past a silent bootstrap broker: produced in {produced:?}, consumed in {consumed:?}"
        );
    }

    #[test]
    fn a_fetch_wait_longer_than_the_request_timeout_is_not_a_timeout() {
        let topic = util::topic("long-wait", 1);
        let started = Instant::now();
        let r = run(
            "order-consumer",
            &[
                "-t",
                &topic,
                "-g",
                &util::unique("g"),
                "--fetch-wait-ms",
                "5000",
                "--request-timeout",
                "2",
                "--idle-timeout",
                "8",
                "--format",
                "json",
                "--no-dlq",
            ],
        );
        let elapsed = started.elapsed();
        println!("idle consumer with 5 s fetch waits ran {elapsed:?}");
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.stdout, "");
        assert!(
            !r.stderr.contains("no answer") && !r.stderr.contains("WARN"),
            "a fetch the broker holds is no timeout: {}",
            r.stderr
        );
        // Ended by the idle timeout, at most one fetch wait after it.
        assert!(
            elapsed >= Duration::from_secs(8) && elapsed < Duration::from_secs(8 + 5 + 3),
            "{elapsed:?}"
        );
    }
}
