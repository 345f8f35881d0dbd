//! Usage errors, ranges and environment variables, checked before any connection.
//!
//! These run the real binaries without a broker: every bad value must be refused with exit code
//! 2 and a message naming the flag or variable, in well under a second. The broker list points
//! at 127.0.0.1:1, where nothing listens, so a value that slipped through would show as a
//! connection attempt (exit 1, or a slow test) rather than touch a real broker.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::Run;

const NOWHERE: &str = "127.0.0.1:1";

/// A binary with a clean environment (no `KAFKA_*` from the caller) plus `env`.
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

/// Checks that `name args` (with `-b 127.0.0.1:1` first, so a later `-b` wins) and `env` is a
/// usage error: exit 2 within a second, nothing on stdout, and `expected` in the message.
fn refused(name: &str, args: &[&str], env: &[(&str, &str)], expected: &str) {
    let mut all = vec!["-b", NOWHERE];
    all.extend_from_slice(args);
    let (r, took) = timed(name, &all, env);
    let what = format!("{name} {all:?} with {env:?}");
    assert_eq!(r.code, 2, "{what}: exit code\n{}", r.stderr);
    assert!(took < Duration::from_secs(1), "{what}: took {took:?}");
    assert_eq!(r.stdout, "", "{what}: stdout");
    let first = r.stderr.lines().next().unwrap_or_default();
    assert_eq!(first, format!("error: {expected}"), "{what}\n{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("Try '{name} --help'.")),
        "{what}"
    );
}

fn producer_refuses(cases: &[(&[&str], &str)]) {
    for (args, expected) in cases {
        refused("order-producer", args, &[], expected);
    }
}

fn consumer_refuses(cases: &[(&[&str], &str)]) {
    for (args, expected) in cases {
        refused("order-consumer", args, &[], expected);
    }
}

/// Issue 11, item 3: numbers that crashed, were accepted and then failed, or were ignored.
#[test]
fn numbers_out_of_range_are_refused_at_once() {
    producer_refuses(&[
        (
            &["--batch-size", "1000000000000", "-n", "1"],
            "--batch-size 1000000000000: must be from 1 to 100000",
        ),
        (
            &["--batch-size", "18446744073709551615"],
            "--batch-size 18446744073709551615: must be from 1 to 100000",
        ),
        (
            &["--ack-timeout", "100000000"],
            "--ack-timeout 100000000: must be from 0 to 3600",
        ),
        (
            &["--request-timeout", "0"],
            "--request-timeout 0: must be from 0.1 to 3600",
        ),
        (
            &["--connect-timeout", "0"],
            "--connect-timeout 0: must be from 0.1 to 300",
        ),
        (&["--retries", "0"], "--retries 0: must be from 1 to 1000"),
        (
            &["--retry-backoff-ms", "-1"],
            "--retry-backoff-ms -1: must be from 0 to 2000",
        ),
        (&["--rate", "0"], "--rate 0: must be from 0.001 to 1000000"),
        (&["-n", "0"], "--count 0: must be from 1 to 1000000000000"),
    ]);
    consumer_refuses(&[
        (
            &["--request-timeout", "0"],
            "--request-timeout 0: must be from 0.1 to 3600",
        ),
        (
            &["--fetch-wait-ms", "99999999999"],
            "--fetch-wait-ms 99999999999: must be from 0 to 300000",
        ),
        (
            &["--fetch-min-bytes", "0"],
            "--fetch-min-bytes 0: must be from 1 to 67108864",
        ),
        (
            &["--fetch-max-bytes", "2147483648"],
            "--fetch-max-bytes 2147483648: must be from 1024 to 67108864",
        ),
        (
            &["--commit-every", "0"],
            "--commit-every 0: must be from 1 to 1000000",
        ),
        (
            &["--max-messages", "0"],
            "--max-messages 0: must be from 1 to 1000000000000",
        ),
        (
            &["--idle-timeout", "1e9"],
            "--idle-timeout 1e9: must be from 0 to 604800",
        ),
        (
            &["--from", "-3"],
            "--from -3: must be earliest, latest or an offset from 0 to 9223372036854775807",
        ),
    ]);
}

/// Issue 11, item 4: the one order and the partition are checked before connecting, and topic
/// names by Kafka's rule.
#[test]
fn orders_partitions_and_topic_names_are_checked_before_connecting() {
    let item = "i".repeat(257);
    let topic = "t".repeat(262);
    let cut = |c: &str| format!("{:?}...", c.repeat(40));
    producer_refuses(&[
        (
            &["--quantity", "0"],
            "--quantity 0: must be from 1 to 1000000",
        ),
        (
            &["--quantity", "1000001"],
            "--quantity 1000001: must be from 1 to 1000000",
        ),
        (&["--user", "   "], r#"--user "   ": must not be empty"#),
        (
            &["--item", &item],
            &format!(
                "--item {}: must be at most 256 characters, got 257",
                cut("i")
            ),
        ),
    ]);
    for name in ["order-producer", "order-consumer"] {
        refused(
            name,
            &["-t", "a b!"],
            &[],
            r#"--topic "a b!": may only hold a-z A-Z 0-9 . _ - (not ' ')"#,
        );
        refused(
            name,
            &["-t", &topic],
            &[],
            &format!(
                "--topic {}: must be at most 249 characters, got 262",
                cut("t")
            ),
        );
        refused(
            name,
            &["-t", ""],
            &[],
            r#"--topic "": must not be empty (leave the flag out for the default)"#,
        );
        refused(
            name,
            &["-t", ".."],
            &[],
            "--topic ..: must not be '.' or '..'",
        );
    }
    consumer_refuses(&[
        (
            &["-p", "-1"],
            "--partition -1: must be from 0 to 2147483647",
        ),
        (
            &["--dlq-topic", "bad/name"],
            r#"--dlq-topic bad/name: may only hold a-z A-Z 0-9 . _ - (not '/')"#,
        ),
    ]);
}

/// Issue 11, item 5: a variable loses to its flag, is named in its own message, and never
/// breaks `--help` or `--version`; an empty variable counts as unset.
#[test]
fn environment_variables_lose_to_flags_and_are_named_when_wrong() {
    let bad = [("KAFKA_ACKS", "bad"), ("KAFKA_BATCH_SIZE", "0")];
    for flag in ["--help", "-h", "--version", "-V"] {
        let (r, took) = timed("order-producer", &[flag], &bad);
        assert_eq!(r.code, 0, "{flag}: {}", r.stderr);
        assert!(took < Duration::from_secs(1));
        assert!(
            r.stdout.starts_with("order-producer"),
            "{flag}: {}",
            r.stdout
        );
    }
    let (r, _) = timed(
        "order-consumer",
        &["--help"],
        &[("KAFKA_FROM", "yesterday")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    refused(
        "order-producer",
        &[],
        &[("KAFKA_ACKS", "bad")],
        "KAFKA_ACKS=bad: must be 0, 1, all or -1",
    );
    refused(
        "order-producer",
        &[],
        &[("KAFKA_BATCH_SIZE", "0")],
        "KAFKA_BATCH_SIZE=0: must be from 1 to 100000",
    );
    // The flag overrides the bad variable, so the error is the next one along.
    refused(
        "order-producer",
        &["--acks", "1", "--batch-size", "0"],
        &[("KAFKA_ACKS", "bad")],
        "--batch-size 0: must be from 1 to 100000",
    );
    refused(
        "order-consumer",
        &[],
        &[("KAFKA_IDLE_TIMEOUT", "soon")],
        "KAFKA_IDLE_TIMEOUT=soon: must be a number from 0 to 604800",
    );
    refused(
        "order-consumer",
        &[],
        &[("KAFKA_TOPIC", "a b")],
        r#"KAFKA_TOPIC="a b": may only hold a-z A-Z 0-9 . _ - (not ' ')"#,
    );
    // Without -b, the variable is what is used (and wrong).
    let (r, took) = timed("order-consumer", &[], &[("KAFKA_BROKERS", "nowhere")]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(took < Duration::from_secs(1));
    assert!(
        r.stderr
            .starts_with("error: KAFKA_BROKERS=nowhere: nowhere is not host:port"),
        "{}",
        r.stderr
    );
}

/// Issue 11, item 5, the other half: accepted settings get as far as connecting (and fail there,
/// with exit 1, since nothing listens), so none of them was taken as a usage error.
#[test]
fn overridden_or_empty_variables_are_not_errors() {
    let env = [
        ("KAFKA_ACKS", "bad"),
        ("KAFKA_IDLE_TIMEOUT", ""),
        ("KAFKA_DLQ_TOPIC", ""),
        ("KAFKA_BATCH_SIZE", ""),
        ("KAFKA_GROUP", "bad\u{1}group"),
    ];
    let common = ["-b", NOWHERE, "--retries", "1", "--connect-timeout", "0.5"];
    let mut producer_args = common.to_vec();
    producer_args.extend(["--acks", "1", "--format", "json"]);
    let mut consumer_args = common.to_vec();
    consumer_args.extend(["--no-group", "--format", "json"]);
    for (name, args) in [
        ("order-producer", producer_args),
        ("order-consumer", consumer_args),
    ] {
        let (r, _) = timed(name, &args, &env);
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        assert!(!r.stderr.contains("KAFKA_"), "{name}: {}", r.stderr);
        // Issue 11, item 6: with --format json, stdout holds JSON lines only (none here).
        assert_eq!(r.stdout, "", "{name}");
    }
}

/// Issue 11, item 6: `-q` with the one order still prints the summary line.
#[test]
fn quiet_with_one_order_still_prints_the_summary() {
    let args = [
        "-b",
        NOWHERE,
        "--retries",
        "1",
        "--connect-timeout",
        "0.5",
        "-q",
    ];
    let (r, _) = timed("order-producer", &args, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.lines().any(|l| l.starts_with("sent 0, failed")),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "");
}

/// Issue 11, items 2 and 9, and the pairs of settings that exclude each other.
#[test]
fn settings_that_contradict_each_other_are_refused() {
    consumer_refuses(&[
        (
            &["--no-group", "-g", "X"],
            "--group X: does not go with --no-group",
        ),
        (
            &["-g", "X", "--no-group"],
            "--group X: does not go with --no-group",
        ),
        (
            &["--no-group", "--instance-id", "X"],
            "--instance-id X: does not go with --no-group",
        ),
        (
            &["--heartbeat-interval", "60"],
            "--heartbeat-interval 60: must be shorter than the session timeout (default 45 s)",
        ),
        (
            &["--no-dlq", "--dlq-topic", "x"],
            "--dlq-topic x: does not go with --no-dlq",
        ),
        (
            &["-t", "T", "--dlq-topic", "T"],
            "--dlq-topic T: must differ from the topic read (--topic T), or its dead letters \
             would be read again",
        ),
    ]);
    refused(
        "order-consumer",
        &["-t", "T"],
        &[("KAFKA_DLQ_TOPIC", "T")],
        "KAFKA_DLQ_TOPIC=T: must differ from the topic read (--topic T), or its dead letters would \
         be read again",
    );
    producer_refuses(&[
        (
            &["--count", "2", "--stdin"],
            "--count 2: does not go with --stdin",
        ),
        (
            &["--user", "bob", "-n", "2"],
            "--user bob: does not go with --count (it describes the one order)",
        ),
        (
            &["--acks", "1", "--idempotence"],
            "--acks 1: does not go with --idempotence: idempotence needs --acks all",
        ),
    ]);
    refused(
        "order-producer",
        &["--acks", "0"],
        &[("KAFKA_ENABLE_IDEMPOTENCE", "true")],
        "--acks 0: does not go with KAFKA_ENABLE_IDEMPOTENCE=true: idempotence needs --acks all",
    );
}

/// The help states each variable, the rule for empty ones, the ranges and the exit codes.
#[test]
fn the_help_states_variables_ranges_and_exit_codes() {
    for (name, expected) in [
        (
            "order-producer",
            &[
                "KAFKA_BATCH_SIZE",
                "KAFKA_ENABLE_IDEMPOTENCE=true|false",
                "KAFKA_CONNECT_TIMEOUT",
                "(1 to 100000)",
                "(none, gzip, snappy, lz4 or zstd)",
                "[default: all]",
            ][..],
        ),
        (
            "order-consumer",
            &[
                "KAFKA_ISOLATION",
                "KAFKA_CONNECT_TIMEOUT",
                "(0 to 300000)",
                "[default: read_committed]",
                "exits 0 in every phase",
            ][..],
        ),
    ] {
        let (r, _) = timed(name, &["--help"], &[]);
        assert_eq!(r.code, 0);
        let flat = r.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
        for text in expected.iter().chain(&[
            "set to the empty string counts as unset",
            "Exit codes:",
            "130",
        ]) {
            assert!(flat.contains(text), "{name} --help lacks {text:?}");
        }
    }
}
