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
            batch_size: 500,
            rate: None,
            format: Format::Human,
            quiet: false,
            strict: false,
            seeing: no_stats(),
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
            dlq_topic: Some("orders.dlq".into()),
            dlq_ack_timeout: Duration::from_secs(30),
            isolation: Isolation::ReadCommitted,
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            max_poll_interval: Duration::from_secs(300),
            metadata_max_age: Duration::from_secs(300),
            instance_id: None,
            lag: false,
            seeing: no_stats(),
        }
    );
}

#[test]
fn a_flag_beats_its_variable_which_beats_the_default_and_empty_is_unset() {
    let batch = |line: &str, vars: &[(&str, &str)]| producer_ok(line, vars).batch_size;
    assert_eq!(batch("", &[]), 500);
    assert_eq!(batch("", &[("KAFKA_BATCH_SIZE", "7")]), 7);
    assert_eq!(batch("", &[("KAFKA_BATCH_SIZE", "")]), 500);
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
fn idempotence_needs_acks_all_only_when_asked_for() {
    let idempotence = |line: &str, vars: &[(&str, &str)]| {
        let c = producer_ok(line, vars);
        (c.acks, c.idempotence)
    };
    assert_eq!(idempotence("", &[]), (Acks::All, true));
    assert_eq!(idempotence("--acks -1", &[]), (Acks::All, true));
    assert_eq!(idempotence("--acks 1", &[]), (Acks::Leader, false));
    assert_eq!(idempotence("--no-idempotence", &[]), (Acks::All, false));
    assert_eq!(
        idempotence("--no-idempotence --idempotence", &[]),
        (Acks::All, true)
    );
    let off = [("KAFKA_ENABLE_IDEMPOTENCE", "false")];
    assert_eq!(idempotence("", &off), (Acks::All, false));
    let on = [("KAFKA_ENABLE_IDEMPOTENCE", "TRUE")];
    assert_eq!(idempotence("", &on), (Acks::All, true));
    assert_eq!(
        idempotence("--acks 0 --no-idempotence", &on),
        (Acks::None, false)
    );
    check_producer(&[
        (
            "--acks 1 --idempotence",
            &[],
            "--acks 1: does not go with --idempotence: idempotence needs --acks all",
        ),
        (
            "--idempotence --no-idempotence --idempotence --acks 0",
            &[],
            "--acks 0: does not go with --idempotence: idempotence needs --acks all",
        ),
        (
            "--acks 0",
            &[("KAFKA_ENABLE_IDEMPOTENCE", "true")],
            "--acks 0: does not go with KAFKA_ENABLE_IDEMPOTENCE=true: idempotence needs \
             --acks all",
        ),
        (
            "",
            &[("KAFKA_ENABLE_IDEMPOTENCE", "yes")],
            "KAFKA_ENABLE_IDEMPOTENCE=yes: must be true or false",
        ),
        (
            "--no-idempotence",
            &[("KAFKA_ENABLE_IDEMPOTENCE", "yes")],
            "ok",
        ),
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
                let line = format!("--{} {v}", s.long);
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

#[test]
fn values_in_messages_are_quoted_when_not_plain_and_cut_when_long() {
    let cases = [
        ("500", "500"),
        ("a:1,b:2", "a:1,b:2"),
        ("", r#""""#),
        ("a b", r#""a b""#),
        ("tab\t", r#""tab\t""#),
        ("quote\"", r#""quote\"""#),
    ];
    for (text, expected) in cases {
        assert_eq!(shown(text), expected);
    }
    assert_eq!(shown(&"x".repeat(41)), format!("{:?}...", "x".repeat(40)));
}

/// A client.properties file in the temp directory, removed when dropped.
struct PropsFile(PathBuf);

impl PropsFile {
    fn new(text: &str) -> PropsFile {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("order-kafka-cfgtests-{}-{n}.properties", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, text).expect("temp file written");
        PropsFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("the temp path is UTF-8")
    }
}

impl Drop for PropsFile {
    fn drop(&mut self) {
        // A file left in the temp directory harms no test: each has its own name.
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Parses `argv` (each word whole, spaces and all) with `parse`: the config, or the message
/// of the usage error.
fn parse_words<T: fmt::Debug>(
    parse: fn(Vec<OsString>, &Env<'_>) -> Result<Command<T>, Error>,
    argv: &[&str],
    vars: &[(&str, &str)],
) -> Result<T, String> {
    match parse(argv.iter().map(OsString::from).collect(), &env(vars)) {
        Ok(Command::Run(c)) => Ok(c),
        Ok(other) => panic!("{argv:?}: {other:?}"),
        Err(e) => {
            assert!(matches!(e, Error::Usage(_)), "{argv:?}: {e:?}");
            Err(e.to_string())
        }
    }
}

fn produce(argv: &[&str], vars: &[(&str, &str)]) -> Result<ProducerConfig, String> {
    parse_words(|a, e| producer(a, e), argv, vars)
}

fn consume(argv: &[&str], vars: &[(&str, &str)]) -> Result<ConsumerConfig, String> {
    parse_words(|a, e| consumer(a, e), argv, vars)
}

/// What a build without TLS says for `given`.
fn no_tls(given: &str) -> String {
    format!("{given}: {}", crate::client::NO_TLS)
}

const UNKNOWN: &str = "not a property this program reads: --help lists each one beside its flag \
     ([property: ...]); the value of an unknown key is never shown";

#[test]
fn a_property_yields_to_its_flag_then_x_then_variable_then_file_then_default() {
    let file = PropsFile::new("# shared\nbootstrap.servers=file:4\n");
    let other = PropsFile::new("bootstrap.servers=other:5\n");
    let f = file.path();
    let brokers = |argv: &[&str], vars: &[(&str, &str)]| {
        produce(argv, vars).map(|c| c.connection.brokers.join(","))
    };
    let var = ("KAFKA_BROKERS", "env:3");
    let all = ["-b", "flag:1", "-X", "bootstrap.servers=x:2", "--config", f];
    assert_eq!(brokers(&all, &[var]), Ok("flag:1".into()));
    assert_eq!(brokers(&all[2..], &[var]), Ok("x:2".into()));
    assert_eq!(brokers(&all[4..], &[var]), Ok("env:3".into()));
    assert_eq!(brokers(&all[4..], &[]), Ok("file:4".into()));
    assert_eq!(brokers(&[], &[]), Ok("localhost:9092".into()));
    // The file by -F or KAFKA_CONFIG; the flag's file beats the variable's.
    assert_eq!(brokers(&["-F", f], &[]), Ok("file:4".into()));
    assert_eq!(brokers(&[], &[("KAFKA_CONFIG", f)]), Ok("file:4".into()));
    let both = [("KAFKA_CONFIG", other.path())];
    assert_eq!(brokers(&["-F", f], &both), Ok("file:4".into()));
    // Empty counts as unset, for a variable and for a property.
    assert_eq!(
        brokers(&["-F", f], &[("KAFKA_BROKERS", "")]),
        Ok("file:4".into())
    );
    let empty_x = ["-X", "bootstrap.servers=", "-F", f];
    assert_eq!(brokers(&empty_x, &[var]), Ok("env:3".into()));
    // The last -X wins, under either name.
    let twice = [
        "-X",
        "bootstrap.servers=x:2",
        "-X",
        "metadata.broker.list= x:9 ",
    ];
    assert_eq!(brokers(&twice, &[var]), Ok("x:9".into()));

    let acks = |argv: &[&str], vars: &[(&str, &str)]| produce(argv, vars).map(|c| c.acks);
    let file = PropsFile::new("acks=0\n");
    let f = file.path();
    assert_eq!(acks(&["-F", f], &[]), Ok(Acks::None));
    assert_eq!(acks(&["-F", f], &[("KAFKA_ACKS", "1")]), Ok(Acks::Leader));
    let x = ["-X", "acks=all", "-F", f];
    assert_eq!(acks(&x, &[("KAFKA_ACKS", "1")]), Ok(Acks::All));
    assert_eq!(
        acks(&["--acks", "1", "-X", "acks=0"], &[]),
        Ok(Acks::Leader)
    );
    // Only the value in use is checked.
    assert_eq!(
        acks(&["--acks", "1", "-X", "acks=2"], &[]),
        Ok(Acks::Leader)
    );
    assert_eq!(
        acks(&["-X", "acks=2"], &[]),
        Err("-X acks=2: must be 0, 1, all or -1".into())
    );
}

#[test]
fn x_needs_key_equals_value() {
    let message =
        |value: String| format!("--property {value}: must be KEY=VALUE (a Kafka client property)");
    assert_eq!(
        produce(&["-X", "acks"], &[]).unwrap_err(),
        message("acks".into())
    );
    assert_eq!(
        consume(&["--property", "group.id"], &[]).unwrap_err(),
        message("group.id".into())
    );
    // What follows the key may be a secret, and so may a value without a key.
    assert_eq!(
        produce(&["-X", "=1"], &[]).unwrap_err(),
        message(r#""""#.to_owned() + "...")
    );
    assert_eq!(
        produce(&["-X", "sasl.passwd:hunter2"], &[]).unwrap_err(),
        message("sasl.passwd...".into())
    );
    assert_eq!(
        produce(&["-X", "acks=1", "-X"], &[]).unwrap_err(),
        "missing argument for option '-X'"
    );
    let c = produce(&["-X", " acks = 1 "], &[]).unwrap();
    assert_eq!(c.acks, Acks::Leader);
}

#[test]
fn unknown_properties_are_errors_and_those_of_the_other_program_are_ignored() {
    assert_eq!(
        produce(&["-X", "acks=all", "-X", "linger.msec=5"], &[]).unwrap_err(),
        format!("-X linger.msec=****: {UNKNOWN}")
    );
    assert_eq!(
        consume(&["-X", "Group.Id=g"], &[]).unwrap_err(),
        format!(
            "-X Group.Id=****: {}",
            UNKNOWN.replacen(":", " (did you mean group.id?):", 1)
        )
    );
    let file = PropsFile::new("acks=all\n\n# comment\nbogus.key = 7\n");
    assert_eq!(
        produce(&["--config", file.path()], &[]).unwrap_err(),
        format!("{} line 4: bogus.key=****: {UNKNOWN}", file.path())
    );
    // Even when the program would never read it.
    assert_eq!(
        consume(&["--config", file.path()], &[]).unwrap_err(),
        format!("{} line 4: bogus.key=****: {UNKNOWN}", file.path())
    );

    // One file for both programs: each takes its own keys, whatever the other's values.
    let shared = PropsFile::new(
        "bootstrap.servers=h:1\nacks=0\ncompression.codec=zstd\nenable.idempotence=maybe\n\
         group.id=g1\nauto.offset.reset=latest\nsession.timeout.ms=abc\n",
    );
    let p = produce(&["-F", shared.path()], &[]).unwrap_err();
    assert_eq!(
        p,
        format!(
            "{} line 4: enable.idempotence=maybe: must be true or false",
            shared.path()
        )
    );
    let p = produce(&["-F", shared.path(), "--no-idempotence"], &[]).unwrap();
    assert_eq!(
        (p.connection.brokers, p.acks, p.compression),
        (vec!["h:1".to_string()], Acks::None, Compression::Zstd)
    );
    let c = consume(
        &["-F", shared.path(), "-X", "session.timeout.ms=10000"],
        &[],
    )
    .unwrap();
    assert_eq!(
        (
            c.connection.brokers,
            c.group.as_str(),
            c.start,
            c.session_timeout
        ),
        (
            vec!["h:1".to_string()],
            "g1",
            Start::Latest,
            Duration::from_secs(10)
        )
    );
    assert!(consume(&["-X", "acks=2", "-X", "compression.type=brotli"], &[]).is_ok());
    assert!(produce(&["-X", "group.id=a b", "-X", "isolation.level=x"], &[]).is_ok());
}

#[test]
fn millisecond_properties_become_the_flags_seconds() {
    let session =
        |argv: &[&str], vars: &[(&str, &str)]| consume(argv, vars).map(|c| c.session_timeout);
    let x = ["-X", "session.timeout.ms=45000"];
    assert_eq!(
        session(&x, &[("KAFKA_SESSION_TIMEOUT", "10")]),
        Ok(Duration::from_secs(45))
    );
    // Exactly, though a thousandth of a second is no binary fraction.
    for ms in [10500, 10001, 1000, 3_600_000] {
        let x = format!("session.timeout.ms={ms}");
        let heartbeat = ["-X", &x, "--heartbeat-interval", "0.5"];
        assert_eq!(session(&heartbeat, &[]), Ok(Duration::from_millis(ms)));
    }
    let flag_too = ["--session-timeout", "20", "-X", "session.timeout.ms=10000"];
    assert_eq!(session(&flag_too, &[]), Ok(Duration::from_secs(20)));

    let file = PropsFile::new(
        "session.timeout.ms=12000\nheartbeat.interval.ms=100\nmax.poll.interval.ms=60000\n\
         request.timeout.ms=5000\nsocket.connection.setup.timeout.ms=2500\nretry.backoff.ms=50\n\
         fetch.max.wait.ms=250\n",
    );
    let c = consume(&["-F", file.path()], &[]).unwrap();
    assert_eq!(
        (
            c.session_timeout,
            c.heartbeat_interval,
            c.max_poll_interval,
            c.fetch_wait
        ),
        (
            Duration::from_secs(12),
            Duration::from_millis(100),
            Duration::from_secs(60),
            Duration::from_millis(250)
        )
    );
    assert_eq!(
        (
            c.connection.request_timeout,
            c.connection.connect_timeout,
            c.connection.backoff
        ),
        (
            Duration::from_secs(5),
            Duration::from_millis(2500),
            Duration::from_millis(50)
        )
    );

    for (value, what) in [
        ("abc", "must be a whole number of milliseconds"),
        ("4.5e4", "must be a whole number of milliseconds"),
        ("-1000", "must be a whole number of milliseconds"),
        ("999", "must be from 1000 to 3600000 (milliseconds)"),
        ("3600001", "must be from 1000 to 3600000 (milliseconds)"),
    ] {
        let x = format!("session.timeout.ms={value}");
        assert_eq!(session(&["-X", &x], &[]), Err(format!("-X {x}: {what}")));
    }
    let file = PropsFile::new("request.timeout.ms=99\n");
    assert_eq!(
        produce(&["-F", file.path()], &[]).unwrap_err(),
        format!(
            "{} line 1: request.timeout.ms=99: must be from 100 to 3600000 (milliseconds)",
            file.path()
        )
    );
    // A flag in seconds still states its range in seconds.
    assert_eq!(
        session(&["--session-timeout", "0.5"], &[]),
        Err("--session-timeout 0.5: must be from 1 to 3600".into())
    );
}

const SCRAM_JAAS: &str =
    "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule \
     required \\\n    username=\"alice\" \\\n    password=\"s3cret-Pw\";\n";
const PLAIN_JAAS: &str =
    "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule \
     required username=\"bob\" password=\"pw-Plain1\";\n";

#[test]
fn sasl_jaas_config_gives_user_and_password_to_a_mechanism_it_fits() {
    let scram = PropsFile::new(&format!(
        "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n{SCRAM_JAAS}"
    ));
    let security = produce(&["-F", scram.path()], &[]).map(|c| c.connection.security);
    match cfg!(feature = "tls") {
        true => assert_eq!(
            security.unwrap().sasl,
            Some(Login {
                mechanism: Mechanism::ScramSha512,
                username: "alice".into(),
                password: "s3cret-Pw".into(),
            })
        ),
        false => assert_eq!(
            security.unwrap_err(),
            no_tls(&format!(
                "{} line 1: security.protocol=SASL_SSL",
                scram.path()
            ))
        ),
    }

    let plain = PropsFile::new(&format!(
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n{PLAIN_JAAS}"
    ));
    let p = plain.path();
    let expected = match cfg!(feature = "scram") {
        true => format!(
            "{p} line 2: sasl.mechanism=SCRAM-SHA-256: does not go with the login module of \
             {p} line 3: sasl.jaas.config=**** \
             (org.apache.kafka.common.security.plain.PlainLoginModule): PlainLoginModule logs \
             in with PLAIN, ScramLoginModule with SCRAM-SHA-256 or SCRAM-SHA-512"
        ),
        false => format!(
            "{p} line 2: sasl.mechanism=SCRAM-SHA-256: {}",
            crate::client::NO_SCRAM
        ),
    };
    assert_eq!(consume(&["-F", p], &[]).unwrap_err(), expected);
    // A SCRAM login module with the default mechanism, PLAIN, in every build.
    let scram_plain = PropsFile::new(&format!("security.protocol=SASL_PLAINTEXT\n{SCRAM_JAAS}"));
    let s = scram_plain.path();
    assert_eq!(
        produce(&["-F", s], &[]).unwrap_err(),
        format!(
            "default PLAIN: does not go with the login module of {s} line 2: \
             sasl.jaas.config=**** (org.apache.kafka.common.security.scram.ScramLoginModule): \
             PlainLoginModule logs in with PLAIN, ScramLoginModule with SCRAM-SHA-256 or \
             SCRAM-SHA-512"
        )
    );

    // PLAIN works in every build; a flag, -X or variable beats the file's JAAS line.
    let plain = PropsFile::new(&format!("security.protocol=SASL_PLAINTEXT\n{PLAIN_JAAS}"));
    let p = plain.path();
    let login = |argv: &[&str], vars: &[(&str, &str)]| {
        let c = consume(argv, vars).unwrap();
        assert_eq!(c.connection.security.tls, None);
        let login = c.connection.security.sasl.expect("a SASL login");
        assert_eq!(login.mechanism, Mechanism::Plain);
        (login.username, login.password)
    };
    let pair = |u: &str, p: &str| (u.to_string(), p.to_string());
    assert_eq!(login(&["-F", p], &[]), pair("bob", "pw-Plain1"));
    assert_eq!(
        login(&["-F", p, "-X", "sasl.username=xuser"], &[]),
        pair("xuser", "pw-Plain1")
    );
    let user_var = [("KAFKA_SASL_USERNAME", "envuser")];
    assert_eq!(login(&["-F", p], &user_var), pair("envuser", "pw-Plain1"));
    assert_eq!(
        login(
            &["-F", p, "--sasl-username", "u1", "--sasl-password", "p1"],
            &user_var
        ),
        pair("u1", "p1")
    );
    // A JAAS line given by -X beats the variable.
    let x_jaas = format!(
        "sasl.jaas.config={}",
        PLAIN_JAAS.trim_end().split_once('=').unwrap().1
    );
    assert_eq!(
        login(
            &["-X", "security.protocol=SASL_PLAINTEXT", "-X", &x_jaas],
            &user_var
        ),
        pair("bob", "pw-Plain1")
    );
}

#[test]
fn other_login_modules_and_kerberos_are_refused_with_what_to_use() {
    let krb = PropsFile::new(
        "sasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule required \
         useKeyTab=true keyTab=\"/etc/kafka.keytab\" principal=\"kafka/h@EXAMPLE.COM\";\n",
    );
    assert_eq!(
        produce(&["-F", krb.path()], &[]).unwrap_err(),
        format!(
            "{} line 1: sasl.jaas.config=****: login module \
             com.sun.security.auth.module.Krb5LoginModule is not supported: use \
             org.apache.kafka.common.security.plain.PlainLoginModule (PLAIN) or \
             org.apache.kafka.common.security.scram.ScramLoginModule (SCRAM)",
            krb.path()
        )
    );
    let kerberos = "Kerberos (GSSAPI) and OAUTHBEARER are not supported: use PLAIN, \
                    SCRAM-SHA-256 or SCRAM-SHA-512";
    let sasl = [
        "-X",
        "security.protocol=SASL_PLAINTEXT",
        "-X",
        "sasl.username=u",
        "-X",
        "sasl.password=p",
    ];
    for (mechanism, shown) in [
        (["-X", "sasl.mechanism=GSSAPI"], "-X sasl.mechanism=GSSAPI"),
        (
            ["-X", "sasl.mechanisms=oauthbearer"],
            "-X sasl.mechanisms=oauthbearer",
        ),
        (["--sasl-mechanism", "GSSAPI"], "--sasl-mechanism GSSAPI"),
    ] {
        let argv = [&sasl[..], &mechanism[..]].concat();
        assert_eq!(
            consume(&argv, &[]).unwrap_err(),
            format!("{shown}: {kerberos}")
        );
    }
    assert_eq!(
        produce(&["-X", "sasl.kerberos.service.name=kafka"], &[]).unwrap_err(),
        "-X sasl.kerberos.service.name=****: Kerberos (GSSAPI) and OAUTHBEARER are not \
         supported: use sasl.mechanism PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
    );
}

#[test]
fn sasl_without_user_or_password_names_the_ways_to_give_it() {
    let ways = |what: &str, long: &str, var: &str, property: &str| {
        format!(
            "security.protocol SASL_PLAINTEXT needs a SASL {what}: give --{long}, {var}, \
             -X {property}=... or sasl.jaas.config in a --config file"
        )
    };
    let user = ways(
        "user",
        "sasl-username",
        "KAFKA_SASL_USERNAME",
        "sasl.username",
    );
    let password = ways(
        "password",
        "sasl-password",
        "KAFKA_SASL_PASSWORD",
        "sasl.password",
    );
    let sasl = ["--security-protocol", "SASL_PLAINTEXT"];
    assert_eq!(produce(&sasl, &[]).unwrap_err(), user);
    assert_eq!(
        produce(&sasl, &[("KAFKA_SASL_PASSWORD", "p")]).unwrap_err(),
        user
    );
    assert_eq!(
        produce(&sasl, &[("KAFKA_SASL_USERNAME", "u")]).unwrap_err(),
        password
    );
    let half = PropsFile::new(
        "security.protocol=sasl_plaintext\nsasl.jaas.config=\
         org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\";\n",
    );
    assert_eq!(consume(&["-F", half.path()], &[]).unwrap_err(), password);
    let c = produce(
        &sasl,
        &[("KAFKA_SASL_USERNAME", "u"), ("KAFKA_SASL_PASSWORD", "p")],
    )
    .unwrap();
    assert_eq!(
        c.connection.security,
        Security {
            tls: None,
            sasl: Some(Login {
                mechanism: Mechanism::Plain,
                username: "u".into(),
                password: "p".into(),
            }),
        }
    );
    // PLAINTEXT reads no SASL setting, so none can be wrong.
    let c = produce(
        &["--sasl-mechanism", "SCRAM-SHA-256"],
        &[("KAFKA_SASL_PASSWORD", "a\u{1}")],
    )
    .unwrap();
    assert_eq!(c.connection.security, Security::default());
}

/// A JKS or PKCS12 store location (no `ssl.*store.type=PEM`) is refused with advice, not
/// taken for a PEM file.
#[test]
fn jks_and_pkcs12_store_locations_are_refused_with_advice() {
    assert_eq!(
        produce(
            &["-X", "ssl.truststore.location=/etc/kafka/truststore.jks"],
            &[]
        )
        .unwrap_err(),
        "-X ssl.truststore.location=/etc/kafka/truststore.jks: a JKS or PKCS12 truststore is \
         not read: export its CA as PEM (keytool -exportcert -rfc -keystore FILE -alias ALIAS \
         > ca.pem) and give ssl.ca.location=ca.pem, or ssl.truststore.type=PEM if the file is \
         PEM already"
    );
    assert_eq!(
        consume(&["-X", "ssl.keystore.location=/k.p12"], &[]).unwrap_err(),
        "-X ssl.keystore.location=/k.p12: a JKS or PKCS12 keystore is not read: export its \
         certificate and key as PEM (openssl pkcs12 -in FILE -nodes) and give \
         ssl.certificate.location and ssl.key.location, or ssl.keystore.type=PEM"
    );
    let jks = [
        "-X",
        "ssl.truststore.location=/t.jks",
        "--security-protocol",
        "SSL",
    ];
    let outcome = consume(&jks, &[]).map(|c| c.connection.security.tls);
    // Refused before any TLS setting is read, so in every build.
    assert!(
        outcome.as_ref().is_err_and(|m| m.contains("keytool")),
        "{outcome:?}"
    );
}

/// `-X sasl.password:SECRET` (Java's other separator) is refused without showing it.
#[test]
fn x_without_equals_does_not_show_a_secret() {
    for x in [
        "sasl.password:Hunter2-colon",
        "sasl.jaas.config Hunter2-colon",
    ] {
        let message = produce(&["-X", x], &[]).unwrap_err();
        assert!(message.ends_with("must be KEY=VALUE (a Kafka client property)"));
        assert!(!message.contains("Hunter2"), "{message}");
    }
}

/// Both waits from millisecond properties: the message gives the other one's value as
/// written, in milliseconds.
#[test]
fn a_cross_check_of_millisecond_properties_keeps_their_unit() {
    let x = [
        "-X",
        "session.timeout.ms=2000",
        "-X",
        "heartbeat.interval.ms=3000",
    ];
    let message = consume(&x, &[]).unwrap_err();
    assert!(message.starts_with("-X session.timeout.ms=2000: must be longer than the heartbeat interval (-X heartbeat.interval.ms=3000"), "{message}");
    assert!(!message.contains("3000 s"), "{message}");
}

#[test]
fn java_stores_only_as_pem_and_no_key_passwords() {
    let jks = PropsFile::new("ssl.keystore.type=PKCS12\nssl.keystore.location=/k.p12\n");
    assert_eq!(
        consume(&["-F", jks.path()], &[]).unwrap_err(),
        format!(
            "{} line 1: ssl.keystore.type=PKCS12: only PEM stores are read: export the CA as \
             PEM for ssl.ca.location, and the client certificate and key for \
             ssl.certificate.location and ssl.key.location",
            jks.path()
        )
    );
    assert_eq!(
        produce(&["-X", "ssl.key.password=hunter2"], &[]).unwrap_err(),
        "-X ssl.key.password=****: encrypted private keys are not read: decrypt the key \
         (openssl pkcs8 -topk8 -nocrypt -in key.pem -out plain.pem) and leave this out"
    );
    assert_eq!(
        produce(&["-X", "ssl.truststore.password=hunter2"], &[]).unwrap_err(),
        "-X ssl.truststore.password=****: PEM stores have no password: leave it out"
    );

    // PEM stores, in any order and case, with the empty passwords tools write.
    let pem = PropsFile::new(
        "security.protocol=SSL\nssl.truststore.location=/etc/kafka/ca.pem\n\
         ssl.truststore.type=PEM\nssl.keystore.type=pem\n\
         ssl.keystore.location=/etc/kafka/client.pem\nssl.keystore.password=\n\
         ssl.truststore.password=\nssl.key.password=\n",
    );
    let p = pem.path();
    let in_file = format!("{p} line 1: security.protocol=SSL");
    let client = Some("/etc/kafka/client.pem");
    let ca = Some("/etc/kafka/ca.pem");
    expect_tls(&["-F", p], &[], &in_file, tls(ca, client, client, true));
    // ssl.ca.location by -X beats the file's truststore.
    let x_ca = ["-F", p, "-X", "ssl.ca.location=/x/ca.pem"];
    expect_tls(
        &x_ca,
        &[],
        &in_file,
        tls(Some("/x/ca.pem"), client, client, true),
    );
    let x_pem = [
        "-X",
        "ssl.truststore.location=/t.pem",
        "-X",
        "ssl.truststore.type=PEM",
        "--security-protocol",
        "SSL",
        "--ssl-key-location",
        "/k.pem",
    ];
    let flag = "--security-protocol SSL";
    expect_tls(
        &x_pem,
        &[],
        flag,
        tls(Some("/t.pem"), None, Some("/k.pem"), true),
    );
}

/// TLS settings as `Tls` holds them.
fn tls(ca: Option<&str>, certificate: Option<&str>, key: Option<&str>, verify: bool) -> Tls {
    Tls {
        ca: ca.map(PathBuf::from),
        certificate: certificate.map(PathBuf::from),
        key: key.map(PathBuf::from),
        verify_hostname: verify,
    }
}

/// In a TLS build, `argv` gives `expected` and no SASL; in one without, the error names
/// `protocol`, where SSL was asked for.
fn expect_tls(argv: &[&str], vars: &[(&str, &str)], protocol: &str, expected: Tls) {
    let outcome = consume(argv, vars).map(|c| c.connection.security);
    match cfg!(feature = "tls") {
        true => {
            let security = Security {
                tls: Some(expected),
                sasl: None,
            };
            assert_eq!(outcome, Ok(security), "{argv:?}")
        }
        false => assert_eq!(outcome, Err(no_tls(protocol)), "{argv:?}"),
    }
}

#[test]
fn ssl_builds_tls_only_in_the_tls_build_and_checks_hostnames_unless_told() {
    let ssl = "--security-protocol SSL";
    let none = tls(None, None, None, false);
    expect_tls(
        &["--security-protocol", "SSL"],
        &[],
        ssl,
        tls(None, None, None, true),
    );
    let off = [
        "--security-protocol",
        "SSL",
        "--ssl-endpoint-identification-algorithm",
        "none",
    ];
    expect_tls(&off, &[], ssl, none.clone());
    let x = [
        "-X",
        "security.protocol=SSL",
        "-X",
        "ssl.endpoint.identification.algorithm=",
    ];
    expect_tls(&x, &[], "-X security.protocol=SSL", none.clone());
    let var = [("KAFKA_SECURITY_PROTOCOL", "Ssl")];
    expect_tls(
        &[],
        &var,
        "KAFKA_SECURITY_PROTOCOL=Ssl",
        tls(None, None, None, true),
    );
    // An empty algorithm in a file means no check too, but a variable beats the file.
    let file = PropsFile::new("ssl.endpoint.identification.algorithm=\n");
    let f = ["-F", file.path(), "--security-protocol", "SSL"];
    expect_tls(&f, &[], ssl, none);
    let https = [("KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM", "https")];
    expect_tls(&f, &https, ssl, tls(None, None, None, true));
    let files = [
        "--security-protocol",
        "SSL",
        "--ssl-ca-location",
        "/ca.pem",
        "-X",
        "ssl.certificate.location=/c.pem",
    ];
    let key = [("KAFKA_SSL_KEY_LOCATION", "/k.pem")];
    expect_tls(
        &files,
        &key,
        ssl,
        tls(Some("/ca.pem"), Some("/c.pem"), Some("/k.pem"), true),
    );
}

#[test]
fn security_protocol_in_any_case() {
    let sasl = ["-X", "sasl.username=u", "-X", "sasl.password=p"];
    let login = Login {
        mechanism: Mechanism::Plain,
        username: "u".into(),
        password: "p".into(),
    };
    let argv = [&["-X", "security.protocol=sasl_ssl"][..], &sasl[..]].concat();
    match cfg!(feature = "tls") {
        true => assert_eq!(
            produce(&argv, &[]).map(|c| c.connection.security),
            Ok(Security {
                tls: Some(tls(None, None, None, true)),
                sasl: Some(login.clone()),
            })
        ),
        false => assert_eq!(
            produce(&argv, &[]).unwrap_err(),
            no_tls("-X security.protocol=sasl_ssl")
        ),
    }
    let argv = [&["--security-protocol", "Sasl_Plaintext"][..], &sasl[..]].concat();
    assert_eq!(
        produce(&argv, &[]).map(|c| c.connection.security),
        Ok(Security {
            tls: None,
            sasl: Some(login),
        })
    );
    assert_eq!(
        produce(&["-X", "security.protocol=TLS"], &[]).unwrap_err(),
        "-X security.protocol=TLS: must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
    );
}

#[test]
fn secrets_never_show_in_messages_or_debug() {
    const SECRET: &str = "Hunter2-secret";
    let sasl = "security.protocol=SASL_PLAINTEXT\nsasl.username=u\n";
    let quiet = |outcome: Result<ProducerConfig, String>, expected: String| {
        let message = outcome.unwrap_err();
        assert!(!message.contains(SECRET), "{message}");
        assert_eq!(message, expected);
    };
    // Another setting wrong, in a file with the password.
    let file = PropsFile::new(&format!("sasl.password={SECRET}\nacks=2\n"));
    let f = file.path();
    quiet(
        produce(&["-F", f], &[]),
        format!("{f} line 2: acks=2: must be 0, 1, all or -1"),
    );
    // The password itself wrong, wherever it is given.
    let control = "must not contain control characters";
    let bad = format!("{SECRET}\u{7}");
    let sasl_flags = [
        "--security-protocol",
        "SASL_PLAINTEXT",
        "--sasl-username",
        "u",
    ];
    let argv = [&sasl_flags[..], &["--sasl-password", &bad]].concat();
    quiet(
        produce(&argv, &[]),
        format!("--sasl-password ****: {control}"),
    );
    let var = [("KAFKA_SASL_PASSWORD", bad.as_str())];
    quiet(
        produce(&sasl_flags, &var),
        format!("KAFKA_SASL_PASSWORD=****: {control}"),
    );
    let x = format!("sasl.password={bad}");
    quiet(
        produce(&[&sasl_flags[..], &["-X", &x]].concat(), &[]),
        format!("-X sasl.password=****: {control}"),
    );
    let file = PropsFile::new(&format!("{sasl}sasl.password={SECRET}\\t\n"));
    let f = file.path();
    quiet(
        produce(&["-F", f], &[]),
        format!("{f} line 3: sasl.password=****: {control}"),
    );
    let file = PropsFile::new(&format!(
        "{sasl}sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule \
         required username=\"u\" password=\"{SECRET}\\t\";\n"
    ));
    let f = file.path();
    quiet(
        produce(&["-F", f], &[]),
        format!("{f} line 3: sasl.jaas.config=****: {control}"),
    );
    // A JAAS line that does not parse, and a key that looks secret.
    let file = PropsFile::new(&format!(
        "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \
         password=\"{SECRET}\n"
    ));
    let message = produce(&["-F", file.path()], &[]).unwrap_err();
    let prefix = format!("{} line 1: sasl.jaas.config=****: ", file.path());
    assert!(
        message.starts_with(&prefix) && !message.contains(SECRET),
        "{message}"
    );
    let x = format!("my.secret.token={SECRET}");
    quiet(
        produce(&["-X", &x], &[]),
        format!("-X my.secret.token=****: {UNKNOWN}"),
    );
    // A misspelled key hides its value too, and the message names the key meant.
    for (key, meant) in [
        ("sasl.pasword", "sasl.password"),
        ("sasl.passwd", "sasl.password"),
        ("sasl.usrname", "sasl.username"),
    ] {
        let x = format!("{key}={SECRET}");
        quiet(
            produce(&["-X", &x], &[]),
            format!(
                "-X {key}=****: {}",
                UNKNOWN.replacen(":", &format!(" (did you mean {meant}?):"), 1)
            ),
        );
    }

    // Nor in the Debug of what was parsed.
    let x = format!("sasl.password={SECRET}");
    let c = produce(&[&sasl_flags[..], &["-X", &x]].concat(), &[]).unwrap();
    assert_eq!(
        c.connection
            .security
            .sasl
            .as_ref()
            .map(|l| l.password.as_str()),
        Some(SECRET)
    );
    let debug = format!("{c:?}");
    assert!(
        debug.contains("username: \"u\"") && !debug.contains(SECRET),
        "{debug}"
    );
}

#[test]
fn a_config_file_that_cannot_be_read_or_parsed_is_named() {
    let missing = std::env::temp_dir().join("order-kafka-cfgtests-missing/client.properties");
    let missing = missing.to_str().expect("the temp path is UTF-8");
    let message = produce(&["--config", missing], &[]).unwrap_err();
    let prefix = format!("--config {}: cannot read it: ", shown(missing));
    assert!(message.starts_with(&prefix), "{message}");
    let message = consume(&[], &[("KAFKA_CONFIG", missing)]).unwrap_err();
    let prefix = format!("KAFKA_CONFIG={}: cannot read it: ", shown(missing));
    assert!(message.starts_with(&prefix), "{message}");
    // --help and --version read no file.
    let help = producer(args(&format!("-F {missing} --help")), env(&[]));
    assert!(matches!(help, Ok(Command::Help)), "{help:?}");
    let version = consumer(args("-V"), env(&[("KAFKA_CONFIG", missing)]));
    assert!(matches!(version, Ok(Command::Version)), "{version:?}");

    let file = PropsFile::new("acks=all\n\n# note\nclient.id=abc\\u12G4\n");
    assert_eq!(
        produce(&["-F", file.path()], &[]).unwrap_err(),
        format!(
            "{} line 4: malformed \\uXXXX escape (it needs four hex digits) in the value of \
             `client.id`",
            file.path()
        )
    );
    let file = PropsFile::new("client.id=a\\u00e9b\n");
    let c = produce(&["-F", file.path()], &[]).unwrap();
    assert_eq!(c.connection.client_id.as_deref(), Some("aéb"));
}

#[test]
fn auto_offset_reset_takes_java_and_librdkafka_names_in_any_case() {
    for (value, start) in [
        ("earliest", Start::Earliest),
        ("smallest", Start::Earliest),
        ("Beginning", Start::Earliest),
        ("LATEST", Start::Latest),
        ("largest", Start::Latest),
        ("end", Start::Latest),
    ] {
        let x = format!("auto.offset.reset={value}");
        assert_eq!(consume(&["-X", &x], &[]).unwrap().start, start, "{value}");
        assert_eq!(
            consume(&["--from", value], &[]).unwrap().start,
            start,
            "{value}"
        );
    }
    assert_eq!(
        consume(&["-X", "auto.offset.reset=none"], &[]).unwrap_err(),
        "-X auto.offset.reset=none: must be earliest, latest or an offset from 0 to \
         9223372036854775807"
    );
}

#[test]
fn a_client_id_is_at_most_what_the_protocol_encodes() {
    let longest = "i".repeat(32767);
    assert_eq!(
        produce(&["--client-id", &longest], &[])
            .unwrap()
            .connection
            .client_id
            .map(|id| id.len()),
        Some(32767)
    );
    let message = consume(&[], &[("KAFKA_CLIENT_ID", &format!("{longest}é"))]).unwrap_err();
    assert_eq!(
        message,
        format!(
            "KAFKA_CLIENT_ID=\"{}\"...: must be at most 32767 bytes (the longest string the \
             Kafka protocol encodes), got 32769",
            "i".repeat(40)
        )
    );
}

#[test]
fn lag_refuses_flags_of_a_reading_run_but_not_their_variables() {
    for (flag, value) in [("-n", "5"), ("--idle-timeout", "1"), ("--stats", "1")] {
        let message = consume(&["--lag", flag, value], &[]).unwrap_err();
        assert!(
            message.ends_with(": does not go with --lag (it prints the lag and exits)"),
            "{message}"
        );
    }
    // A variable set for the service's normal runs does not stop a look at the lag.
    let c = consume(&["--lag"], &[("KAFKA_IDLE_TIMEOUT", "5")]).unwrap();
    assert!(c.lag);
}

#[test]
fn every_word_of_a_choice_names_a_value() {
    fn words(setting: &Setting) -> &'static [&'static str] {
        match setting.rule {
            Rule::Choice(words) => words,
            other => panic!("--{} has the rule {other:?}", setting.long),
        }
    }
    for word in words(&ACKS) {
        assert!(acks(word).is_some(), "--acks {word}");
    }
    for word in words(&COMPRESSION) {
        assert_eq!(compression(word).map(Compression::name), Some(*word));
    }
    for word in words(&ISOLATION) {
        assert!(isolation(word).is_some(), "--isolation {word}");
    }
    for setting in [&PRODUCER_FORMAT, &CONSUMER_FORMAT] {
        for word in words(setting) {
            assert!(format(word).is_some(), "--format {word}");
        }
    }
}

#[test]
fn the_longest_backoff_and_the_dead_letter_wait_are_settings() {
    let c = producer_ok("--retry-backoff-max-ms 500", &[]);
    assert_eq!(c.connection.max_backoff, Duration::from_millis(500));
    let c = producer_ok("-X retry.backoff.max.ms=700", &[]);
    assert_eq!(c.connection.max_backoff, Duration::from_millis(700));
    let c = consumer_ok("", &[("KAFKA_RETRY_BACKOFF_MAX_MS", "0")]);
    assert_eq!(c.connection.max_backoff, Duration::ZERO);
    let options = c.connection.client_options("order-consumer", 1024, &[]);
    assert_eq!(options.retry.max_backoff, Duration::ZERO);
    assert_eq!(options.client_id, "order-consumer");

    let c = consumer_ok("--dlq-ack-timeout 2.5", &[]);
    assert_eq!(c.dlq_ack_timeout, Duration::from_millis(2500));
    let c = consumer_ok("", &[("KAFKA_DLQ_ACK_TIMEOUT", "5")]);
    assert_eq!(c.dlq_ack_timeout, Duration::from_secs(5));

    check_producer(&[(
        "--retry-backoff-max-ms 60001",
        &[],
        "--retry-backoff-max-ms 60001: must be from 0 to 60000",
    )]);
    check_consumer(&[
        (
            "",
            &[("KAFKA_DLQ_ACK_TIMEOUT", "3601")],
            "KAFKA_DLQ_ACK_TIMEOUT=3601: must be from 0 to 3600",
        ),
        (
            "--no-dlq --dlq-ack-timeout 3",
            &[],
            "--dlq-ack-timeout 3: does not go with --no-dlq",
        ),
        ("--no-dlq", &[("KAFKA_DLQ_ACK_TIMEOUT", "3")], "ok"),
    ]);
}
