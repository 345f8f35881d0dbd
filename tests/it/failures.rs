//! Failures that end fast and say the right thing: a silent or mismatched listener, a
//! misspelled secret, `--lag` on what it cannot show, stats that must not go stale, a
//! certificate rustls cannot use, and the small things a terminal shows.
//!
//! Each test runs the real binaries, against the real broker where Kafka is involved, or a local
//! socket playing a silent peer; each on its own topic and group.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{self, Run};

/// A binary with no `KAFKA_*` or `RUST_LOG` from the caller, plus `env`.
fn command(name: &str, env: &[(&str, &str)]) -> Command {
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
    cmd.envs(env.iter().copied());
    cmd
}

/// Runs `name` with `args` and `env`; returns the run and how long it took.
fn timed(name: &str, args: &[&str], env: &[(&str, &str)]) -> (Run, Duration) {
    let started = Instant::now();
    let out = command(name, env).args(args).output().expect("binary runs");
    (Run::from(out), started.elapsed())
}

/// A file in a fresh directory of its own, removed with it.
struct TempFile {
    dir: std::path::PathBuf,
    path: std::path::PathBuf,
}

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let dir = std::env::temp_dir().join(util::unique("failures"));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        TempFile { dir, path }
    }

    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A misspelled key may hold a secret: its value is never echoed, from a `--config` file, `-X`
/// (with `=` or without), or a file named by `KAFKA_CONFIG`; the message still names the key
/// and the property meant.
#[test]
fn the_value_of_an_unknown_key_is_never_echoed() {
    let file = TempFile::new(
        "client.properties",
        "bootstrap.servers=127.0.0.1:1\nsasl.pasword=alice-secret\n",
    );
    let env_file = TempFile::new("client.properties", "sasl.passwrd: env-secret\n");
    // (arguments, environment, the value that must not show, the key that must)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (
            &["--config", file.path()],
            &[],
            "alice-secret",
            "sasl.pasword",
        ),
        (
            &["-X", "sasl.passwd=hunter2"],
            &[],
            "hunter2",
            "sasl.passwd",
        ),
        (
            &["-X", "sasl.passwd:hunter2"],
            &[],
            "hunter2",
            "sasl.passwd",
        ),
        (
            &["-X", "sasl.passwd hunter2"],
            &[],
            "hunter2",
            "sasl.passwd",
        ),
        (
            &["-X", "ssl.keystore.pasword=hunter3"],
            &[],
            "hunter3",
            "ssl.keystore.pasword",
        ),
        (
            &[],
            &[("KAFKA_CONFIG", env_file.path())],
            "env-secret",
            "sasl.passwrd",
        ),
    ];
    for name in ["order-producer", "order-consumer"] {
        for (args, env, secret, key) in cases {
            let mut all = vec!["-b", "127.0.0.1:1"];
            all.extend_from_slice(args);
            let mut env = env.to_vec();
            env.push(("RUST_LOG", "debug"));
            let (r, _) = timed(name, &all, &env);
            let what = format!("{name} {all:?} {env:?}");
            assert_eq!(r.code, 2, "{what}: {}", r.stderr);
            assert!(
                !r.stderr.contains(secret),
                "{what} echoed the value:\n{}",
                r.stderr
            );
            assert!(
                r.stderr.contains(key),
                "{what} does not name the key:\n{}",
                r.stderr
            );
        }
    }
    let (r, _) = timed("order-producer", &["-X", "sasl.passwd=hunter2"], &[]);
    assert!(
        r.stderr.contains("did you mean sasl.password?"),
        "{}",
        r.stderr
    );
}

/// A listener that accepts and never answers: the handshake is bounded by the connect timeout
/// (not the longer request timeout), the run by the retry policy, and the message names the
/// likely causes instead of suggesting a longer wait.
#[test]
fn a_listener_that_never_answers_costs_the_connect_timeout_per_attempt() {
    let silent = util::silent_broker();
    // Two attempts of 1 s, one pause of 0.1 s: the request timeout (20 s) must not count.
    let bound = Duration::from_secs(2) + Duration::from_millis(100);
    for name in ["order-producer", "order-consumer"] {
        let args = [
            "-b",
            &silent,
            "--connect-timeout",
            "1",
            "--request-timeout",
            "20",
            "--retries",
            "2",
            "--retry-backoff-ms",
            "100",
        ];
        let (r, took) = timed(name, &args, &[]);
        println!("{name} gave up on a silent listener after {took:?}");
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        assert!(took >= bound, "{name} took only {took:?}");
        assert!(
            took < bound + Duration::from_secs(2),
            "{name} took {took:?}"
        );
        assert!(
            r.stderr.contains("within 1.0s (the connect timeout)")
                && r.stderr.contains("not a Kafka listener"),
            "{name}: {}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("--request-timeout") && !r.stderr.contains("make up"),
            "{name}: {}",
            r.stderr
        );
    }
}

/// `--lag` for a partition the topic does not have is an error at once, naming the partitions
/// it has, not a minute of retries.
#[test]
fn lag_of_a_partition_that_does_not_exist_is_an_error_at_once() {
    let topic = util::topic("lag-nopart", 2);
    let group = util::unique("g");
    let (r, took) = timed(
        "order-consumer",
        &[
            "-b",
            util::broker(),
            "-t",
            &topic,
            "-g",
            &group,
            "--lag",
            "-p",
            "9",
        ],
        &[],
    );
    println!("--lag -p 9 ended after {took:?}: {}", r.stderr.trim());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(
        r.stderr.contains("no partition 9") && r.stderr.contains("0 to 1"),
        "{}",
        r.stderr
    );
}

/// A client without a SASL login on a SASL listener is hung up on at its first request after
/// ApiVersions: PLAINTEXT on the SASL_PLAINTEXT port, SSL on the SASL_SSL port. That is said at
/// once, with what to set, as the other mismatches are; not retried as a broker that is down.
#[test]
fn no_login_on_a_sasl_listener_is_named_at_once() {
    let secure = crate::secured::secure();
    let ca = secure.certs.join("ca.pem");
    let ca = ca.to_str().unwrap();
    let topic = util::unique("fail-sasl-mismatch");
    let ca_location = format!("ssl.ca.location={ca}");
    let ssl = ["-X", "security.protocol=SSL", "-X", &ca_location];
    let cases: [(&str, Vec<&str>); 2] = [
        ("PLAINTEXT", vec!["-b", &secure.sasl_plaintext]),
        ("SSL", [&["-b", &*secure.sasl_ssl][..], &ssl].concat()),
    ];
    for (protocol, listener) in &cases {
        for name in ["order-producer", "order-consumer"] {
            let mut args = listener.clone();
            args.extend(["-t", &topic]);
            let (r, took) = timed(name, &args, &[]);
            println!(
                "{name} with {protocol} on a SASL listener: {took:?}: {}",
                r.stderr.trim()
            );
            assert_eq!(r.code, 1, "{name} {protocol}: {}", r.stderr);
            assert!(
                took < Duration::from_secs(2),
                "{name} {protocol}: took {took:?}"
            );
            assert!(
                r.stderr.contains("a SASL listener")
                    && r.stderr.contains("sasl.mechanism")
                    && !r.stderr.contains("is Kafka running"),
                "{name} {protocol}: {}",
                r.stderr
            );
        }
    }
}

/// `--config` reads at most a properties file's worth: `/dev/zero` (or a log file named by
/// mistake) is refused at once, naming the file and the limit, not read into memory.
#[test]
fn a_config_file_larger_than_any_properties_file_is_refused() {
    for name in ["order-producer", "order-consumer"] {
        let (r, took) = timed(name, &["-b", "127.0.0.1:1", "--config", "/dev/zero"], &[]);
        assert_eq!(r.code, 2, "{name}: {}", r.stderr);
        assert!(took < Duration::from_secs(2), "{name}: took {took:?}");
        assert!(
            r.stderr.contains("/dev/zero") && r.stderr.contains("larger than 1 MiB"),
            "{name}: {}",
            r.stderr
        );
    }
}

/// A client.id longer than the protocol can encode is a usage error before connecting, naming
/// the setting and the limit.
#[test]
fn a_client_id_longer_than_the_protocol_allows_is_a_usage_error() {
    let long = "c".repeat(40_000);
    let x = format!("client.id={long}");
    for name in ["order-producer", "order-consumer"] {
        for (args, env) in [
            (vec!["--client-id", long.as_str()], vec![]),
            (vec!["-X", x.as_str()], vec![]),
            (vec![], vec![("KAFKA_CLIENT_ID", long.as_str())]),
        ] {
            let mut all = vec!["-b", "127.0.0.1:1"];
            all.extend(args);
            let (r, took) = timed(name, &all, &env);
            assert_eq!(r.code, 2, "{name}: {}", r.stderr);
            assert!(took < Duration::from_secs(1), "{name}: took {took:?}");
            assert!(
                r.stderr.contains("at most 32767 bytes") && r.stderr.len() < 500,
                "{name}: {}",
                &r.stderr[..r.stderr.len().min(500)]
            );
        }
    }
}

/// `auto.offset.reset` as librdkafka names it (smallest, largest, beginning, end) and as Java
/// does, in any case: each starts where its name says, on a real topic.
#[test]
fn auto_offset_reset_reads_librdkafka_and_java_names_in_any_case() {
    let topic = util::topic("fail-reset", 1);
    util::produce_orders(&topic, 3);
    for (value, expected) in [
        ("smallest", 3),
        ("beginning", 3),
        ("EARLIEST", 3),
        ("Earliest", 3),
        ("largest", 0),
        ("end", 0),
        ("LATEST", 0),
    ] {
        let x = format!("auto.offset.reset={value}");
        let r = util::read_back(
            util::broker(),
            &topic,
            &["-g", &util::unique("g"), "--idle-timeout", "1", "-X", &x],
        );
        assert_eq!(r.stdout.lines().count(), expected, "{value}: {}", r.stderr);
    }
}

/// With `--acks 0` the broker acknowledges nothing, so nothing is reported delivered: each
/// order is "sent, not acknowledged".
#[test]
fn with_acks_0_orders_are_sent_not_delivered() {
    let topic = util::topic("fail-acks0", 1);
    let r = util::run(
        "order-producer",
        &["-t", &topic, "--count", "2", "--acks", "0"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("delivered"), "{}", r.stdout);
    assert_eq!(
        r.stdout
            .matches("Message sent, not acknowledged (acks=0): {")
            .count(),
        2,
        "{}",
        r.stdout
    );
}

/// A topic the producer creates has no leader for a moment: that first wait is expected, so it
/// is no warning (it shows at debug), on the producer's topic as on the consumer's dead-letter
/// topic.
#[test]
fn the_first_wait_for_an_auto_created_topic_is_no_warning() {
    let topic = util::unique("fail-autocreate");
    let r = util::run("order-producer", &["-t", &topic, "--count", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("attempt 1/"), "{}", r.stderr);

    let topic = util::topic("fail-autocreate-dlq", 1);
    util::produce_raw(&topic, &[(None, b"not an order".to_vec())]);
    let dlq = util::unique("fail-autocreate-dlq");
    let (r, _) = timed(
        "order-consumer",
        &[
            "-b",
            util::broker(),
            "-t",
            &topic,
            "--dlq-topic",
            &dlq,
            "-g",
            &util::unique("g"),
            "--idle-timeout",
            "1",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("dead-lettered 1"), "{}", r.stderr);
    assert!(!r.stderr.contains("attempt 1/"), "{}", r.stderr);
}

/// A consumer stopped while it waits to join its group says so: it neither read by manual
/// assignment nor committed anything. The wait is real: the group's other member is paused
/// (SIGSTOP), so the coordinator holds the join open for it.
#[test]
fn a_consumer_stopped_while_joining_says_so() {
    let topic = util::topic("fail-joining", 1);
    let group = util::unique("g");
    util::produce_orders(&topic, 1);
    let args = ["-t", topic.as_str(), "-g", group.as_str(), "--no-dlq"];
    let mut first = util::Background::consumer(&args);
    assert!(first.read_lines(2), "the first member reads the order");
    first.signal("STOP");
    let second = util::Background::consumer(&args);
    std::thread::sleep(Duration::from_secs(2));
    second.signal("TERM");
    let (code, stderr, _) = second.finish();
    first.signal("CONT");
    first.signal("TERM");
    let _ = first.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("assigned"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "stopped while joining group '{group}', nothing committed"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("manual assignment"), "{stderr}");
}

/// On a terminal, a log line (or a record on stdout, the same terminal) that comes while the
/// status line is drawn starts on a line of its own: the status line is cleared first (and
/// drawn again after). The terminal is a real pty,
/// made by util-linux's `script`.
#[test]
fn a_log_line_on_a_terminal_clears_the_status_line_first() {
    let topic = util::topic("fail-tty", 1);
    util::produce_orders(&topic, 1);
    let consumer = format!(
        "{} -b {} -t {topic} -g {} --idle-timeout 3 --no-dlq",
        env!("CARGO_BIN_EXE_order-consumer"),
        util::broker(),
        util::unique("g")
    );
    let late = {
        let topic = topic.clone();
        std::thread::spawn(move || {
            // After the first second, when the status line is up.
            std::thread::sleep(Duration::from_millis(2500));
            util::produce_raw(&topic, &[(None, b"not an order".to_vec())]);
            util::produce_orders(&topic, 1);
        })
    };
    let mut script = Command::new("script");
    for (key, _) in std::env::vars() {
        if key.starts_with("KAFKA_") || key == "RUST_LOG" {
            script.env_remove(key);
        }
    }
    let typescript = script
        .args(["-qfec", &consumer, "/dev/null"])
        .output()
        .expect("util-linux `script` runs (apt-get install -y util-linux)");
    late.join().unwrap();
    let text = String::from_utf8_lossy(&typescript.stdout);
    assert!(
        text.contains("\x1b[Kread "),
        "no status line drawn:\n{text:?}"
    );
    assert!(
        text.contains("[ERROR]"),
        "no log line while drawn:\n{text:?}"
    );
    assert_eq!(text.matches("Received order").count(), 2, "{text:?}");
    for level in ["[ERROR]", "[WARN ]", "[INFO ]", "Received order"] {
        for (at, _) in text.match_indices(level) {
            let before = &text[..at];
            assert!(
                before.is_empty() || before.ends_with('\n') || before.ends_with("\r\x1b[K"),
                "{level} appended to the status line: {:?}",
                &text[at.saturating_sub(60)..(at + 40).min(text.len())]
            );
        }
    }
}

/// A member with no partitions (more members than partitions) still writes its stats every
/// interval, so a node_exporter file of it never goes stale.
#[test]
fn a_member_without_partitions_writes_stats_every_interval() {
    let topic = util::topic("fail-stats-idle", 1);
    let group = util::unique("g");
    util::produce_orders(&topic, 1);
    // Static members sort by instance id: "a-" gets the one partition, "b-" none.
    let a_id = util::unique("a");
    let b_id = util::unique("b");
    let member = |id: &str| {
        vec![
            "-t".to_string(),
            topic.clone(),
            "-g".into(),
            group.clone(),
            "--instance-id".into(),
            id.into(),
            "--no-dlq".into(),
        ]
    };
    let a_args = member(&a_id);
    let a_args: Vec<&str> = a_args.iter().map(String::as_str).collect();
    let mut a = util::Background::consumer(&a_args);
    assert!(a.read_lines(2), "the first member reads the order");
    let mut b_args = member(&b_id);
    b_args.extend(["--stats", "1", "--idle-timeout", "6"].map(String::from));
    let b_args: Vec<&str> = b_args.iter().map(String::as_str).collect();
    let (r, took) = timed(
        "order-consumer",
        &[&["-b", util::broker()][..], &b_args].concat(),
        &[],
    );
    a.signal("TERM");
    let _ = a.finish();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("assigned") && r.stderr.contains("[]"),
        "{}",
        r.stderr
    );
    let reports = r
        .stderr
        .lines()
        .filter(|l| l.starts_with('{') && l.contains("\"received\""))
        .count();
    println!("a member without partitions wrote {reports} reports in {took:?}");
    assert!(reports >= 4, "{reports} reports in {took:?}:\n{}", r.stderr);
}

/// A `--stats-file` that cannot be written (a directory that does not exist, a read-only file
/// system) is a usage error before connecting, naming the path.
#[test]
fn a_stats_file_that_cannot_be_written_is_refused_at_start() {
    for path in [
        "/nonexistent-order-kafka/stats.prom",
        "/proc/order-kafka-stats.prom",
    ] {
        for name in ["order-producer", "order-consumer"] {
            let args = ["-b", "127.0.0.1:1", "--stats", "1", "--stats-file", path];
            let (r, took) = timed(name, &args, &[]);
            assert_eq!(r.code, 2, "{name} {path}: {}", r.stderr);
            assert!(
                took < Duration::from_secs(1),
                "{name} {path}: took {took:?}"
            );
            assert!(
                r.stderr.contains(path) && !r.stderr.contains("attempt"),
                "{name} {path}: {}",
                r.stderr
            );
        }
    }
}

/// `--lag` without a committed offset counts from the log start, not from offset 0: after
/// DeleteRecords removed the first 50 of 91 records, the lag is 41, as a new member would read.
/// The committed offset shows as none (ConsumerGroupCommand's "-").
#[test]
fn lag_without_a_commit_counts_from_the_log_start() {
    let topic = util::topic("fail-lag-start", 1);
    util::produce_orders(&topic, 91);
    let offsets = TempFile::new(
        "delete.json",
        &format!(
            r#"{{"version":1,"partitions":[{{"topic":"{topic}","partition":0,"offset":50}}]}}"#
        ),
    );
    util::kafka_local(
        util::broker_port(util::broker()),
        &[
            "run",
            util::tool_class(
                "org.apache.kafka.tools.DeleteRecordsCommand",
                "kafka.admin.DeleteRecordsCommand",
            ),
            "--bootstrap-server",
            util::broker(),
            "--offset-json-file",
            offsets.path(),
        ],
    );
    let group = util::unique("g");
    let (human, _) = timed(
        "order-consumer",
        &["-b", util::broker(), "-t", &topic, "-g", &group, "--lag"],
        &[],
    );
    assert_eq!(human.code, 0, "{}", human.stderr);
    assert_eq!(
        human.stdout.trim(),
        format!("{topic}/0: committed none, end 91, lag 41, owner none")
    );
    let (json, _) = timed(
        "order-consumer",
        &[
            "-b",
            util::broker(),
            "-t",
            &topic,
            "-g",
            &group,
            "--lag",
            "--format",
            "json",
        ],
        &[],
    );
    let line = &json.json_lines()[0];
    assert_eq!(
        (
            line["committed"].clone(),
            line["end"].as_i64(),
            line["lag"].as_i64()
        ),
        (serde_json::Value::Null, Some(91), Some(41)),
        "{line}"
    );
}

/// `--lag` prints and exits: settings of a run that reads (`-n`, `--idle-timeout`, `--stats`)
/// cannot apply, so they are a usage error rather than silently ignored.
#[test]
fn lag_refuses_the_settings_of_a_run_that_reads() {
    for (extra, named) in [
        (&["-n", "5"][..], "-n 5"),
        (&["--max-messages", "5"][..], "--max-messages 5"),
        (&["--idle-timeout", "1"][..], "--idle-timeout 1"),
        (&["--stats", "1"][..], "--stats 1"),
    ] {
        let args = [&["-b", "127.0.0.1:1", "--lag"][..], extra].concat();
        let (r, took) = timed("order-consumer", &args, &[]);
        assert_eq!(r.code, 2, "{extra:?}: {}", r.stderr);
        assert!(took < Duration::from_secs(1), "{extra:?}: took {took:?}");
        let named = named.replace("-n ", "--max-messages ");
        assert!(
            r.stderr
                .contains(&format!("{named}: does not go with --lag")),
            "{extra:?}: {}",
            r.stderr
        );
    }
}

/// `--lag` names the owner of each partition in a group on the new consumer protocol (KIP-848,
/// here Apache's console consumer with group.protocol=consumer), which the classic
/// DescribeGroups does not describe: ConsumerGroupDescribe does.
#[test]
fn lag_names_the_owners_in_a_group_on_the_consumer_protocol() {
    let major: u32 = util::kafka_version()
        .split('.')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    if major < 4 {
        println!("skipped: the consumer protocol is Kafka 4's");
        return;
    }
    let topic = util::topic("fail-lag-848", 2);
    let group = util::unique("g");
    util::produce_orders(&topic, 6);
    let mut java = Command::new(util::project_dir().join("scripts/kafka-local"))
        .env("KAFKA_VERSION", util::kafka_version())
        .args([
            "run",
            "org.apache.kafka.tools.consumer.ConsoleConsumer",
            "--bootstrap-server",
            util::broker(),
            "--topic",
            &topic,
            "--group",
            &group,
            "--from-beginning",
            "--consumer-property",
            "group.protocol=consumer",
            "--timeout-ms",
            "60000",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("scripts/kafka-local runs");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(java.stdout.take().unwrap()));
    for _ in 0..6 {
        lines
            .next()
            .expect("the console consumer reads the orders")
            .unwrap();
    }
    // The console consumer commits every 5 s; the owners are there from the start.
    let (r, _) = timed(
        "order-consumer",
        &[
            "-b",
            util::broker(),
            "-t",
            &topic,
            "-g",
            &group,
            "--lag",
            "--format",
            "json",
        ],
        &[],
    );
    let _ = java.kill();
    let _ = java.wait();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let owners: Vec<String> = r
        .json_lines()
        .iter()
        .map(|l| l["owner"].as_str().unwrap_or("none").to_string())
        .collect();
    println!("owners: {owners:?}");
    assert_eq!(owners.len(), 2, "{}", r.stdout);
    for owner in &owners {
        assert!(owner.contains("console-consumer"), "{}", r.stdout);
    }
}

/// An X.509 v1 client certificate (what `openssl x509 -req` makes without extensions), signed by
/// the secured broker's own CA: refused before connecting, saying that our certificate is v1 and
/// how to make a v3 one, not with rustls's words for the broker's certificate.
#[test]
fn a_v1_client_certificate_is_named_with_how_to_make_a_v3_one() {
    let secure = crate::secured::secure();
    let dir = TempFile::new("README", "a v1 client certificate");
    let (csr, v1) = (dir.dir.join("v1.csr"), dir.dir.join("v1.pem"));
    let key = secure.certs.join("client.key");
    let openssl = |args: &[&std::ffi::OsStr]| {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req".as_ref(),
        "-new".as_ref(),
        "-key".as_ref(),
        key.as_os_str(),
        "-subj".as_ref(),
        "/CN=order-client".as_ref(),
        "-out".as_ref(),
        csr.as_os_str(),
    ]);
    openssl(&[
        "x509".as_ref(),
        "-req".as_ref(),
        "-in".as_ref(),
        csr.as_os_str(),
        "-CA".as_ref(),
        secure.certs.join("ca.pem").as_os_str(),
        "-CAkey".as_ref(),
        secure.certs.join("ca.key").as_os_str(),
        "-CAserial".as_ref(),
        dir.dir.join("ca.srl").as_os_str(),
        "-CAcreateserial".as_ref(),
        "-days".as_ref(),
        "2".as_ref(),
        "-out".as_ref(),
        v1.as_os_str(),
    ]);
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&v1)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("Version: 1 (0x0)"));
    let ca = format!("ssl.ca.location={}", secure.certs.join("ca.pem").display());
    let cert = format!("ssl.certificate.location={}", v1.display());
    let key = format!("ssl.key.location={}", key.display());
    let topic = util::unique("fail-v1");
    for name in ["order-producer", "order-consumer"] {
        let args = [
            "-b",
            &secure.ssl,
            "-t",
            &topic,
            "-X",
            "security.protocol=SSL",
            "-X",
            &ca,
            "-X",
            &cert,
            "-X",
            &key,
        ];
        let (r, took) = timed(name, &args, &[]);
        println!("{name}: {took:?}: {}", r.stderr.trim());
        assert_eq!(r.code, 2, "{name}: {}", r.stderr);
        assert!(
            r.stderr.contains("is an X.509 v1 certificate")
                && r.stderr.contains("v3")
                && r.stderr.contains("openssl")
                && !r.stderr.contains("peer certificate"),
            "{name}: {}",
            r.stderr
        );
    }
    // What the message says to do: the same request signed with an extension is v3, and works.
    let (ext, v3) = (dir.dir.join("ext"), dir.dir.join("v3.pem"));
    std::fs::write(&ext, "extendedKeyUsage=clientAuth\n").unwrap();
    openssl(&[
        "x509".as_ref(),
        "-req".as_ref(),
        "-in".as_ref(),
        csr.as_os_str(),
        "-CA".as_ref(),
        secure.certs.join("ca.pem").as_os_str(),
        "-CAkey".as_ref(),
        secure.certs.join("ca.key").as_os_str(),
        "-CAserial".as_ref(),
        dir.dir.join("ca.srl").as_os_str(),
        "-days".as_ref(),
        "2".as_ref(),
        "-extfile".as_ref(),
        ext.as_os_str(),
        "-out".as_ref(),
        v3.as_os_str(),
    ]);
    let cert = format!("ssl.certificate.location={}", v3.display());
    let args = [
        "-b",
        &secure.ssl,
        "-t",
        &topic,
        "-X",
        "security.protocol=SSL",
        "-X",
        &ca,
        "-X",
        &cert,
        "-X",
        &key,
    ];
    let (r, _) = timed("order-producer", &args, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Message delivered"), "{}", r.stdout);
}

/// The same for what goes to stdout when both are the terminal: each delivery line of a long
/// producer run starts a line of its own, not the end of the status line.
#[test]
fn an_output_line_on_a_terminal_clears_the_status_line_first() {
    let topic = util::unique("fail-tty-out");
    let producer = format!(
        "{} -b {} -t {topic} --count 25 --rate 10",
        env!("CARGO_BIN_EXE_order-producer"),
        util::broker(),
    );
    let mut script = Command::new("script");
    for (key, _) in std::env::vars() {
        if key.starts_with("KAFKA_") || key == "RUST_LOG" {
            script.env_remove(key);
        }
    }
    let typescript = script
        .args(["-qfec", &producer, "/dev/null"])
        .output()
        .expect("util-linux `script` runs (apt-get install -y util-linux)");
    let text = String::from_utf8_lossy(&typescript.stdout);
    assert!(
        text.contains("\x1b[Ksent "),
        "no status line drawn:\n{text:?}"
    );
    for (at, _) in text.match_indices("Message delivered") {
        let before = &text[..at];
        assert!(
            before.is_empty() || before.ends_with('\n') || before.ends_with("\r\x1b[K"),
            "a delivery appended to the status line: {:?}",
            &text[at.saturating_sub(60)..(at + 40).min(text.len())]
        );
    }
}
