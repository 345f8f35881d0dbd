//! The parser's tests: every flag, variable and property, their ranges, sources and messages.

use std::fmt;
use std::path::PathBuf;

use super::help::HELP_WIDTH;
use super::*;
use crate::client::{Login, Mechanism, Tls};

fn args(line: &str) -> Vec<OsString> {
    line.split_whitespace().map(OsString::from).collect()
}

/// An environment of `NAME=value` pairs.
fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

fn producer_ok(line: &str, vars: &[(&str, &str)]) -> ProducerConfig {
    match producer(args(line), env(vars)) {
        Ok(Command::Run(c)) => c,
        other => panic!("{line} {vars:?}: {other:?}"),
    }
}

fn consumer_ok(line: &str, vars: &[(&str, &str)]) -> ConsumerConfig {
    match consumer(args(line), env(vars)) {
        Ok(Command::Run(c)) => c,
        other => panic!("{line} {vars:?}: {other:?}"),
    }
}

type Env<'a> = dyn Fn(&str) -> Option<String> + 'a;
/// Arguments, environment, and the outcome expected.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

/// Parses with `parse` and compares the outcome ("ok", "help", "version" or the error) to
/// `expected`.
fn check<T: fmt::Debug>(
    parse: fn(Vec<OsString>, &Env<'_>) -> Result<Command<T>, Error>,
    cases: &[Case],
) {
    for (line, vars, expected) in cases {
        let actual = match parse(args(line), &env(vars)) {
            Ok(Command::Run(_)) => "ok".to_string(),
            Ok(Command::Help) => "help".to_string(),
            Ok(Command::Version) => "version".to_string(),
            Err(e) => {
                assert_eq!(e.exit_code(), crate::exit_codes::USAGE, "{line}");
                e.to_string()
            }
        };
        assert_eq!(&actual, expected, "args {line:?}, env {vars:?}");
    }
}

fn check_producer(cases: &[Case]) {
    check(|a, e| producer(a, e), cases)
}

fn check_consumer(cases: &[Case]) {
    check(|a, e| consumer(a, e), cases)
}

fn default_connection() -> Connection {
    Connection {
        brokers: vec!["localhost:9092".into()],
        attempts: 10,
        backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(2),
        request_timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(10),
        security: Security::default(),
        client_id: None,
    }
}

#[test]
fn producer_defaults_send_one_demo_order_to_localhost() {
    assert_eq!(
        producer_ok("", &[]),
        ProducerConfig {
            connection: default_connection(),
            topic: "orders".into(),
            input: Input::One {
                user: "demo-user".into(),
                item: "demo-item".into(),
                quantity: 1,
            },
            acks: Acks::All,
            idempotence: true,
            ack_timeout: Duration::from_secs(10),
            compression: Compression::None,
            batch_size: 10_000,
            batch_bytes: 131_072,
            max_in_flight: 5,
            rate: None,
            serializer: Serializer::Json,
            auto_register: true,
            registry: None,
            format: Format::Human,
            quiet: false,
            strict: false,
            seeing: no_stats(),
            spool: None,
        }
    );
}

fn no_stats() -> Seeing {
    Seeing {
        stats: None,
        stats_file: None,
        stats_format: StatsFormat::Json,
        progress: true,
    }
}

#[test]
fn stats_settings_and_what_they_need() {
    let c = consumer_ok(
        "--stats 0.5 --stats-file /tmp/x.prom --stats-format prometheus",
        &[],
    );
    assert_eq!(c.seeing.stats, Some(Duration::from_millis(500)));
    assert_eq!(c.seeing.stats_format, StatsFormat::Prometheus);
    let c = consumer_ok("--no-progress", &[("KAFKA_STATS_INTERVAL", "2")]);
    assert_eq!(
        (c.seeing.stats, c.seeing.progress),
        (Some(Duration::from_secs(2)), false)
    );
    for (line, message) in [
        (
            "--stats-file /tmp/x",
            "--stats-file /tmp/x: needs --stats SECS (how often to write it)",
        ),
        (
            "--stats 1 --stats-format prometheus",
            "--stats-format prometheus: needs --stats-file (a file for node_exporter to read)",
        ),
        ("--stats 0", "--stats 0: must be from 0.1 to 86400"),
    ] {
        match consumer(line.split_whitespace().map(OsString::from), |_| None) {
            Err(e) => assert_eq!(e.to_string(), message, "{line}"),
            other => panic!("{line}: {other:?}"),
        }
    }
}

#[test]
fn consumer_defaults_read_orders_through_the_group() {
    assert_eq!(
        consumer_ok("", &[]),
        ConsumerConfig {
            connection: default_connection(),
            topic: "orders".into(),
            group: "order_consumer_group".into(),
            use_group: true,
            start: Start::Earliest,
            partitions: vec![],
            max_messages: None,
            idle_timeout: None,
            commit_every: 100,
            format: Format::Human,
            fetch_wait: Duration::from_millis(500),
            fetch_min_bytes: 1,
            fetch_max_bytes: 1_048_576,
            fetch_total_bytes: 52_428_800,
            dlq_topic: Some("orders.dlq".into()),
            dlq_ack_timeout: Duration::from_secs(30),
            isolation: Isolation::ReadCommitted,
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            max_poll_interval: Duration::from_secs(300),
            metadata_max_age: Duration::from_secs(300),
            instance_id: None,
            lag: false,
            registry: None,
            seeing: no_stats(),
        }
    );
}

#[test]
fn a_flag_beats_its_variable_which_beats_the_default_and_empty_is_unset() {
    let batch = |line: &str, vars: &[(&str, &str)]| producer_ok(line, vars).batch_size;
    assert_eq!(batch("", &[]), 10_000);
    assert_eq!(batch("", &[("KAFKA_BATCH_SIZE", "7")]), 7);
    assert_eq!(batch("", &[("KAFKA_BATCH_SIZE", "")]), 10_000);
    assert_eq!(batch("--batch-size 9", &[("KAFKA_BATCH_SIZE", "7")]), 9);
    // The last flag wins.
    assert_eq!(batch("--batch-size 9 --batch-size 3", &[]), 3);

    let vars = [
        ("KAFKA_BROKERS", "a:1, b:2"),
        ("KAFKA_TOPIC", "env-topic"),
        ("KAFKA_ACKS", "1"),
        ("KAFKA_COMPRESSION", "zstd"),
        ("KAFKA_ACK_TIMEOUT", "2.5"),
        ("KAFKA_RETRIES", "3"),
        ("KAFKA_RETRY_BACKOFF_MS", "50"),
        ("KAFKA_REQUEST_TIMEOUT", "4"),
        ("KAFKA_CONNECT_TIMEOUT", "0.5"),
    ];
    let c = producer_ok("-t flag-topic --count 5", &vars);
    assert_eq!(c.connection.brokers, ["a:1", "b:2"]);
    assert_eq!(c.topic, "flag-topic");
    assert_eq!(c.input, Input::Count(5));
    assert_eq!(
        (c.acks, c.idempotence, c.compression, c.ack_timeout),
        (
            Acks::Leader,
            false,
            Compression::Zstd,
            Duration::from_millis(2500)
        )
    );
    assert_eq!(
        c.connection,
        Connection {
            brokers: vec!["a:1".into(), "b:2".into()],
            attempts: 3,
            backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            request_timeout: Duration::from_secs(4),
            connect_timeout: Duration::from_millis(500),
            security: Security::default(),
            client_id: None,
        }
    );

    let c = consumer_ok(
        "-g flag-group --from latest",
        &[
            ("KAFKA_GROUP", "env-group"),
            ("KAFKA_FROM", "42"),
            ("KAFKA_IDLE_TIMEOUT", ""),
            ("KAFKA_DLQ_TOPIC", ""),
            ("KAFKA_ISOLATION", "read_uncommitted"),
            ("KAFKA_COMMIT_EVERY", "5"),
        ],
    );
    assert_eq!((c.group.as_str(), c.start), ("flag-group", Start::Latest));
    assert_eq!((c.idle_timeout, c.commit_every), (None, 5));
    assert_eq!(c.dlq_topic.as_deref(), Some("orders.dlq"));
    assert_eq!(c.isolation, Isolation::ReadUncommitted);
}

#[test]
fn flags_set_what_they_name() {
    let c = producer_ok(
        "--acks 0 --compression lz4 --batch-size 7 --rate 2.5 --retries 3 --format json -q \
         --strict --stdin --connect-timeout 2",
        &[],
    );
    assert_eq!(
        (c.acks, c.idempotence, c.compression, c.batch_size, c.rate),
        (Acks::None, false, Compression::Lz4, 7, Some(2.5))
    );
    assert_eq!((c.format, c.quiet, c.strict), (Format::Json, true, true));
    assert_eq!(c.input, Input::Stdin);
    assert_eq!(c.connection.connect_timeout, Duration::from_secs(2));

    let one = producer_ok("--user  bob --item pen --quantity 1000000", &[]);
    assert_eq!(
        one.input,
        Input::One {
            user: "bob".into(),
            item: "pen".into(),
            quantity: 1_000_000
        }
    );

    let line = "-t t1 -g g1 --from 42 -p 2 -p 0 -p 2 --idle-timeout 1.5 --no-dlq --format json \
                -n 3 --fetch-wait-ms 0 --fetch-min-bytes 10 --fetch-max-bytes 2048 \
                --isolation read_uncommitted";
    let c = consumer_ok(line, &[]);
    assert_eq!((c.topic.as_str(), c.group.as_str()), ("t1", "g1"));
    assert_eq!(c.start, Start::Offset(42));
    assert_eq!(c.partitions, [0, 2]);
    assert_eq!(c.idle_timeout, Some(Duration::from_millis(1500)));
    assert_eq!((c.dlq_topic, c.format), (None, Format::Json));
    assert_eq!(c.max_messages, Some(3));
    assert_eq!(
        (c.fetch_wait, c.fetch_min_bytes, c.fetch_max_bytes),
        (Duration::ZERO, 10, 2048)
    );
    assert_eq!(c.isolation, Isolation::ReadUncommitted);

    assert_eq!(
        consumer_ok("-t t2", &[]).dlq_topic.as_deref(),
        Some("t2.dlq")
    );
    let c = consumer_ok(
        "--instance-id host-1.a_b --session-timeout 10 --heartbeat-interval 0.5 \
         --max-poll-interval 60",
        &[],
    );
    assert_eq!(c.instance_id.as_deref(), Some("host-1.a_b"));
    assert_eq!(
        (c.session_timeout, c.heartbeat_interval, c.max_poll_interval),
        (
            Duration::from_secs(10),
            Duration::from_millis(500),
            Duration::from_secs(60)
        )
    );
    let c = consumer_ok("", &[("KAFKA_GROUP_INSTANCE_ID", "env-id")]);
    assert_eq!(c.instance_id.as_deref(), Some("env-id"));
    let c = consumer_ok(
        "--no-group",
        &[
            ("KAFKA_GROUP", "ignored\u{1}"),
            ("KAFKA_GROUP_INSTANCE_ID", "ignored too"),
        ],
    );
    assert!(!c.use_group);
    assert_eq!(c.instance_id, None);
    let c = consumer_ok("--dlq-topic bad.letters", &[]);
    assert_eq!(c.dlq_topic.as_deref(), Some("bad.letters"));
    let c = consumer_ok("--from 9223372036854775807", &[]);
    assert_eq!(c.start, Start::Offset(i64::MAX));
}

#[test]
fn numbers_outside_their_range_name_the_flag_or_variable() {
    check_producer(&[
        (
            "--batch-size 0",
            &[],
            "--batch-size 0: must be from 1 to 100000",
        ),
        (
            "",
            &[("KAFKA_BATCH_SIZE", "0")],
            "KAFKA_BATCH_SIZE=0: must be from 1 to 100000",
        ),
        (
            "--batch-size 1000000000000",
            &[],
            "--batch-size 1000000000000: must be from 1 to 100000",
        ),
        (
            "--batch-size 18446744073709551616",
            &[],
            "--batch-size 18446744073709551616: must be from 1 to 100000",
        ),
        (
            "--batch-size 1.5",
            &[],
            "--batch-size 1.5: must be a whole number from 1 to 100000",
        ),
        (
            "--batch-size x",
            &[],
            "--batch-size x: must be a whole number from 1 to 100000",
        ),
        (
            "--ack-timeout 100000000",
            &[],
            "--ack-timeout 100000000: must be from 0 to 3600",
        ),
        (
            "--ack-timeout -1",
            &[],
            "--ack-timeout -1: must be from 0 to 3600",
        ),
        (
            "--ack-timeout NaN",
            &[],
            "--ack-timeout NaN: must be from 0 to 3600",
        ),
        (
            "--ack-timeout inf",
            &[],
            "--ack-timeout inf: must be from 0 to 3600",
        ),
        (
            "--ack-timeout 1s",
            &[],
            "--ack-timeout 1s: must be a number from 0 to 3600",
        ),
        (
            "--request-timeout 0",
            &[],
            "--request-timeout 0: must be from 0.1 to 3600",
        ),
        (
            "--request-timeout 0.09",
            &[],
            "--request-timeout 0.09: must be from 0.1 to 3600",
        ),
        (
            "--connect-timeout 0",
            &[],
            "--connect-timeout 0: must be from 0.1 to 300",
        ),
        (
            "",
            &[("KAFKA_CONNECT_TIMEOUT", "301")],
            "KAFKA_CONNECT_TIMEOUT=301: must be from 0.1 to 300",
        ),
        ("--retries 0", &[], "--retries 0: must be from 1 to 1000"),
        (
            "--retry-backoff-ms 2001",
            &[],
            "--retry-backoff-ms 2001: must be from 0 to 2000",
        ),
        ("--rate 0", &[], "--rate 0: must be from 0.001 to 1000000"),
        ("--rate -5", &[], "--rate -5: must be from 0.001 to 1000000"),
        (
            "--count 0",
            &[],
            "--count 0: must be from 1 to 1000000000000",
        ),
        ("-n -1", &[], "--count -1: must be from 1 to 1000000000000"),
        (
            "--quantity 0",
            &[],
            "--quantity 0: must be from 1 to 1000000",
        ),
        (
            "--quantity 1000001",
            &[],
            "--quantity 1000001: must be from 1 to 1000000",
        ),
    ]);
    check_consumer(&[
        ("-p -1", &[], "--partition -1: must be from 0 to 2147483647"),
        (
            "-p 0 -p 2147483648",
            &[],
            "--partition 2147483648: must be from 0 to 2147483647",
        ),
        (
            "--max-messages 0",
            &[],
            "--max-messages 0: must be from 1 to 1000000000000",
        ),
        (
            "--fetch-wait-ms 99999999999",
            &[],
            "--fetch-wait-ms 99999999999: must be from 0 to 300000",
        ),
        (
            "--fetch-min-bytes 0",
            &[],
            "--fetch-min-bytes 0: must be from 1 to 67108864",
        ),
        (
            "--fetch-max-bytes 1023",
            &[],
            "--fetch-max-bytes 1023: must be from 1024 to 67108864",
        ),
        (
            "",
            &[("KAFKA_FETCH_MAX_BYTES", "2147483648")],
            "KAFKA_FETCH_MAX_BYTES=2147483648: must be from 1024 to 67108864",
        ),
        (
            "--commit-every 0",
            &[],
            "--commit-every 0: must be from 1 to 1000000",
        ),
        (
            "--idle-timeout 604801",
            &[],
            "--idle-timeout 604801: must be from 0 to 604800",
        ),
        (
            "",
            &[("KAFKA_IDLE_TIMEOUT", "soon")],
            "KAFKA_IDLE_TIMEOUT=soon: must be a number from 0 to 604800",
        ),
        (
            "--from -1",
            &[],
            "--from -1: must be earliest, latest or an offset from 0 to 9223372036854775807",
        ),
        (
            "--from 9223372036854775808",
            &[],
            "--from 9223372036854775808: must be earliest, latest or an offset from 0 to \
             9223372036854775807",
        ),
        // The fetch wait is added to the request timeout: the two are independent.
        ("--fetch-wait-ms 30000 --request-timeout 0.5", &[], "ok"),
    ]);
}

#[test]
fn words_names_and_combinations() {
    let long_topic = "t".repeat(250);
    let long_topic_line = format!("-t {long_topic}");
    let edge_topic = format!("-t {}", "t".repeat(245));
    let long_item = format!("--item {}", "i".repeat(257));
    let forty = |c: &str| format!("{:?}...", c.repeat(40));
    let topic_error = format!(
        "--topic {}: must be at most 249 characters, got 250",
        forty("t")
    );
    let item_error = format!(
        "--item {}: must be at most 256 characters, got 257",
        forty("i")
    );
    check_producer(&[
        ("--acks 2", &[], "--acks 2: must be 0, 1, all or -1"),
        (
            "--compression brotli",
            &[],
            "--compression brotli: must be none, gzip, snappy, lz4 or zstd",
        ),
        ("--format xml", &[], "--format xml: must be human or json"),
        (
            "-t a#b",
            &[],
            r#"--topic "a#b": may only hold a-z A-Z 0-9 . _ - (not '#')"#,
        ),
        ("-t ..", &[], "--topic ..: must not be '.' or '..'"),
        (&long_topic_line, &[], &topic_error),
        (
            "",
            &[("KAFKA_TOPIC", "a b")],
            r#"KAFKA_TOPIC="a b": may only hold a-z A-Z 0-9 . _ - (not ' ')"#,
        ),
        (
            "-b localhost",
            &[],
            "--brokers localhost: localhost is not host:port (port 1 to 65535)",
        ),
        (
            "-b a:1,b:0",
            &[],
            "--brokers a:1,b:0: b:0 is not host:port (port 1 to 65535)",
        ),
        ("-b ,", &[], "--brokers ,: needs at least one host:port"),
        (&long_item, &[], &item_error),
        (
            "--count 3 --stdin",
            &[],
            "--count 3: does not go with --stdin",
        ),
        (
            "--user bob --count 2",
            &[],
            "--user bob: does not go with --count (it describes the one order)",
        ),
        (
            "--stdin --quantity 2",
            &[],
            "--quantity 2: does not go with --stdin (it describes the one order)",
        ),
        ("--bogus", &[], "invalid option '--bogus'"),
        ("extra", &[], r#"unexpected argument "extra""#),
        (
            "--quiet=yes",
            &[],
            r#"unexpected argument for option '--quiet': "yes""#,
        ),
        ("--topic", &[], "missing argument for option '--topic'"),
        (&edge_topic, &[], "ok"),
    ]);
    // An empty flag value is an error; an empty variable is unset.
    let empty_user = [OsString::from("--user"), OsString::new()];
    assert_eq!(
        producer(empty_user, env(&[])).unwrap_err().to_string(),
        r#"--user "": must not be empty (leave the flag out for the default)"#
    );
    let blank_user = [OsString::from("--user"), OsString::from("   ")];
    assert_eq!(
        producer(blank_user, env(&[])).unwrap_err().to_string(),
        r#"--user "   ": must not be empty"#
    );
    let consumer_long = format!("-t {}", "t".repeat(246));
    let consumer_long_error = format!(
        "--topic {}: too long to name its dead-letter topic '<topic>.dlq' (at most 249 \
         characters): give --dlq-topic or --no-dlq",
        forty("t")
    );
    check_consumer(&[
        (
            "--no-group -g X",
            &[],
            "--group X: does not go with --no-group",
        ),
        (
            "-g X --no-group",
            &[],
            "--group X: does not go with --no-group",
        ),
        ("--no-group", &[("KAFKA_GROUP", "a\u{1}")], "ok"),
        (
            "",
            &[("KAFKA_GROUP", "a\u{1}")],
            r#"KAFKA_GROUP="a\u{1}": must not contain control characters"#,
        ),
        (
            "--dlq-topic x --no-dlq",
            &[],
            "--dlq-topic x: does not go with --no-dlq",
        ),
        ("--no-dlq", &[("KAFKA_DLQ_TOPIC", "bad name")], "ok"),
        (
            "--dlq-topic orders",
            &[],
            "--dlq-topic orders: must differ from the topic read (default orders), or its dead \
             letters would be read again",
        ),
        (
            "-t t1",
            &[("KAFKA_DLQ_TOPIC", "t1")],
            "KAFKA_DLQ_TOPIC=t1: must differ from the topic read (--topic t1), or its dead \
             letters would be read again",
        ),
        (&consumer_long, &[], &consumer_long_error),
        (
            "--isolation serializable",
            &[],
            "--isolation serializable: must be read_committed or read_uncommitted",
        ),
        (
            "--no-group --instance-id a",
            &[],
            "--instance-id a: does not go with --no-group",
        ),
        (
            "--instance-id a:b",
            &[],
            "--instance-id a:b: may only hold a-z A-Z 0-9 . _ - (not ':')",
        ),
        (
            "--heartbeat-interval 45",
            &[],
            "--heartbeat-interval 45: must be shorter than the session timeout (default 45 s)",
        ),
        (
            "--session-timeout 2",
            &[],
            "--session-timeout 2: must be longer than the heartbeat interval (default 3 s)",
        ),
        (
            "--session-timeout 0.5",
            &[],
            "--session-timeout 0.5: must be from 1 to 3600",
        ),
        (
            "--max-poll-interval 86401",
            &[],
            "--max-poll-interval 86401: must be from 1 to 86400",
        ),
        ("--no-group --heartbeat-interval 50", &[], "ok"),
    ]);
}

#[test]
fn help_and_version_always_work_and_bad_variables_only_matter_when_used() {
    let bad_env: &[(&str, &str)] = &[
        ("KAFKA_ACKS", "bad"),
        ("KAFKA_BATCH_SIZE", "0"),
        ("KAFKA_TOPIC", "a b"),
        ("KAFKA_BROKERS", "nowhere"),
        ("KAFKA_IDLE_TIMEOUT", "x"),
    ];
    check_producer(&[
        ("--help", bad_env, "help"),
        ("-V", bad_env, "version"),
        ("--count 3 --batch-size 0 -h", &[], "help"),
        ("--acks 1", &[("KAFKA_ACKS", "bad")], "ok"),
        ("--batch-size 5", &[("KAFKA_BATCH_SIZE", "0")], "ok"),
        (
            "",
            &[("KAFKA_ACKS", "bad")],
            "KAFKA_ACKS=bad: must be 0, 1, all or -1",
        ),
    ]);
    check_consumer(&[
        ("--help", bad_env, "help"),
        ("--version", bad_env, "version"),
        ("--idle-timeout 1 -t t -b h:1", bad_env, "ok"),
        (
            "-t t -b h:1",
            bad_env,
            "KAFKA_IDLE_TIMEOUT=x: must be a number from 0 to 604800",
        ),
    ]);
}

#[test]
fn every_default_is_valid_and_the_help_shows_each_setting_once() {
    for (name, table) in [("producer", PRODUCER), ("consumer", CONSUMER)] {
        let help = options_help(table);
        let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
        for s in settings(table) {
            let flag = match s.value {
                Some(v) => format!("--{} {v}", s.long),
                None => format!("--{}", s.long),
            };
            let listed = help
                .match_indices(&flag)
                .filter(|(i, _)| help[i + flag.len()..].starts_with([' ', '\n']))
                .count();
            assert_eq!(listed, 1, "{name}: {flag}\n{help}");
            if let Some(env) = s.env {
                let shown = match s.rule {
                    Rule::Bool => format!("[env: {env}=true|false]"),
                    _ => format!("[env: {env}]"),
                };
                assert_eq!(help.matches(&shown).count(), 1, "{env}");
            }
            if let (Fallback::Value(v), Some(_)) = (s.default, s.value) {
                assert!(help.contains(&format!("[default: {v}]")), "{name}: {v}");
            }
            if let Some(range) = s.rule.range().filter(|_| s.value.is_some()) {
                assert!(flat.contains(&format!("({range})")), "{name}: {range}");
            }
            if s.short.is_some() {
                let same = settings(table).filter(|t| t.short == s.short).count();
                assert_eq!(same, 1, "{name}: -{:?} twice", s.short);
            }
            // A default is checked like a flag value: given as one, it must pass.
            if let (Fallback::Value(v), Some(_)) = (s.default, s.value) {
                // The store-and-forward settings go only with --spool.
                let spool = match s.long.starts_with("spool-") || s.long.starts_with("transaction")
                {
                    true => "--spool /var/spool/orders ",
                    false => "",
                };
                let line = format!("{spool}--{} {v}", s.long);
                let parsed = match name {
                    "producer" => producer(args(&line), env(&[])).map(|_| ()),
                    _ => consumer(args(&line), env(&[])).map(|_| ()),
                };
                assert!(parsed.is_ok(), "{name} {line}: {parsed:?}");
            }
        }
        for line in help.lines() {
            assert!(line.len() <= HELP_WIDTH, "{name}: too long: {line}");
        }
    }
}

mod acks;
mod properties;
mod schemas;
mod security;
mod spool;
