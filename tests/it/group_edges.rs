//! The edges of group membership: a member whose output stalls (shorter and longer than
//! `--max-poll-interval`), group errors that must not turn into manual assignment, partitions
//! added to a topic while a group reads it, and `--partition` against a group with members.
//!
//! The harness is `groups.rs`'s: every process in the background, its lines collected with the
//! moment they came; a member's stdout can be left unread, so its writes block once the pipe is
//! full, as they do when it is piped into a stalled process.

use std::collections::HashSet;
use std::thread;
use std::time::{Duration, Instant};

use crate::groups::{
    describe, printed, secs, try_describe, wait_printed, wait_until, Proc, COMMIT_EVERY, SETTLE,
};
use crate::{secured, util};

/// A session timeout the broker accepts (its group.min.session.timeout.ms is 6 s by default).
const SESSION: &str = "6";
const SESSION_TIMEOUT: Duration = Duration::from_secs(6);

/// order-consumer with stdout not read from the start.
fn stalled_consumer(name: &str, args: &[&str]) -> Proc {
    Proc::start_paused(name, util::spawn("order-consumer", args), true)
}

#[test]
fn a_member_whose_output_blocks_longer_than_the_session_timeout_keeps_its_partitions() {
    let topic = util::topic("stall", 4);
    let group = util::unique("g");
    let args = [
        "-t",
        &topic,
        "-g",
        &group,
        "--format",
        "json",
        "--session-timeout",
        SESSION,
        "--heartbeat-interval",
        "1",
    ];
    let mut a = Proc::consumer("member a", &args);
    a.wait_assigned(&topic, 0, "a's first assignment", |p| p.len() == 4);
    let mut b = Proc::consumer("member b", &args);
    b.wait_assigned(&topic, 0, "b's assignment", |p| p.len() == 2);
    let (a_seen, _, _) = a.wait_assigned(&topic, 0, "a's share", |p| p.len() == 2);
    let b_seen = b.stderr().len();

    // a's half of 4,000 orders is far more than a pipe holds: its writes block.
    a.pause_stdout();
    let delivered = util::order_ids(&util::produce_orders(&topic, 4_000));
    let stall = SESSION_TIMEOUT * 5 / 2;
    thread::sleep(stall);
    a.resume_stdout();
    wait_printed(&[&a, &b], &delivered);
    let rebalanced = |m: &Proc, from: usize| -> Vec<String> {
        m.stderr()[from..]
            .iter()
            .map(|(_, l)| l.clone())
            .filter(|l| l.contains(" revoked ") || l.contains(" assigned "))
            .collect()
    };
    let (of_a, of_b) = (rebalanced(&a, a_seen + 1), rebalanced(&b, b_seen));
    for m in [&mut a, &mut b] {
        m.signal("TERM");
    }
    let codes = [
        a.wait(Duration::from_secs(30)),
        b.wait(Duration::from_secs(30)),
    ];
    let (lost, duplicates) = util::lost_and_duplicates(&delivered, &printed(&[&a, &b]));
    println!(
        "stdout of a blocked for {} (session timeout {}): a printed {}, b printed {}; \
         {duplicates} duplicates; rebalances after the stall began: a {of_a:?}, b {of_b:?}",
        secs(stall),
        secs(SESSION_TIMEOUT),
        a.lines(),
        b.lines()
    );
    assert_eq!(codes, [0, 0], "{}\n{}", a.stderr_text(), b.stderr_text());
    assert!(of_b.is_empty(), "b was rebalanced: {of_b:?}");
    assert!(of_a.is_empty(), "a was rebalanced: {of_a:?}");
    assert_eq!((lost, duplicates), (0, 0));
}

#[test]
fn a_member_stalled_past_max_poll_interval_leaves_and_never_rewinds_the_group() {
    let topic = util::topic("fenced", 4);
    let group = util::unique("g");
    let delivered = util::order_ids(&util::produce_orders(&topic, 2_000));
    let max_poll = Duration::from_secs(5);
    let args = [
        "-t",
        &topic,
        "-g",
        &group,
        "--format",
        "json",
        "--session-timeout",
        SESSION,
        "--heartbeat-interval",
        "1",
        "--max-poll-interval",
        "5",
    ];
    // a reads all four partitions and blocks on its first fetch: nobody reads its stdout.
    let mut a = stalled_consumer("member a", &args);
    a.wait_assigned(&topic, 0, "a's first assignment", |p| p.len() == 4);
    thread::sleep(Duration::from_secs(2));
    let b_args: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--idle-timeout", "4"])
        .collect();
    let mut b = Proc::consumer("member b", &b_args);
    let started = Instant::now();
    let (_, at, _) = b.wait_assigned(&topic, 0, "b's take-over", |p| p.len() == 4);
    let takeover = at - started;
    // b reads what a did not commit, commits it and leaves: the group is empty.
    assert_eq!(b.wait(SETTLE), 0, "{}", b.stderr_text());
    let ends = util::end_offsets(&topic);
    assert_eq!(util::committed(util::broker(), &group, &topic), ends);

    let woke = a.stderr().len();
    a.resume_stdout();
    a.wait_assigned(&topic, woke, "a's rejoin", |p| p.len() == 4);
    // Time for what a would commit after its rejoin.
    thread::sleep(Duration::from_secs(3));
    let after = util::committed(util::broker(), &group, &topic);
    a.signal("TERM");
    let code = a.wait(Duration::from_secs(30));
    let (lost, duplicates) = util::lost_and_duplicates(&delivered, &printed(&[&a, &b]));
    println!(
        "a stalled past --max-poll-interval {}: b took over {} after it joined; a printed {}, \
         b printed {}; {duplicates} duplicates; committed after a woke {after:?}, ends {ends:?}",
        secs(max_poll),
        secs(takeover),
        a.lines(),
        b.lines()
    );
    let stderr = a.stderr_text();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(lost, 0);
    assert_eq!(after, ends, "the group's offsets moved back");
    // What a printed and committed before it blocked, b did not read again; what a printed
    // after its last commit, b did (at most one --commit-every), and a printed at most the
    // record it was writing when it blocked.
    assert!(
        duplicates <= COMMIT_EVERY + 1,
        "{duplicates} duplicates:\n{stderr}"
    );
    assert!(
        stderr.contains("--max-poll-interval"),
        "a said why it left:\n{stderr}"
    );
}

/// Runs order-consumer on `topic` (which holds orders) with `extra`; it must fail before
/// printing anything, without the manual fallback. Returns its exit code and stderr.
fn refused_before_reading(topic: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["-t", topic, "--format", "json", "--idle-timeout", "3"];
    args.extend_from_slice(extra);
    let r = util::run("order-consumer", &args);
    assert!(r.stdout.is_empty(), "printed:\n{}\n{}", r.stdout, r.stderr);
    assert!(
        !r.stderr.contains("falling back"),
        "fell back to manual assignment:\n{}",
        r.stderr
    );
    (r.code, r.stderr)
}

#[test]
fn a_session_timeout_outside_the_brokers_range_exits_1_naming_the_range() {
    let topic = util::topic("session", 2);
    util::produce_orders(&topic, 10);
    for (session, heartbeat) in [("1", "0.5"), ("3600", "3")] {
        let group = util::unique("g");
        let (code, stderr) = refused_before_reading(
            &topic,
            &[
                "-g",
                &group,
                "--session-timeout",
                session,
                "--heartbeat-interval",
                heartbeat,
            ],
        );
        println!(
            "--session-timeout {session}: exit {code}: {}",
            stderr.trim()
        );
        assert_eq!(code, 1, "{stderr}");
        for words in [
            "INVALID_SESSION_TIMEOUT",
            "group.min.session.timeout.ms",
            "group.max.session.timeout.ms",
            &format!("--session-timeout {session}"),
        ] {
            assert!(stderr.contains(words), "{words:?} in:\n{stderr}");
        }
    }
}

#[test]
fn a_group_whose_java_members_use_another_assignor_is_refused_naming_both() {
    let topic = util::topic("assignor", 2);
    let group = util::unique("g");
    util::produce_orders(&topic, 10);
    let strategy =
        "partition.assignment.strategy=org.apache.kafka.clients.consumer.RoundRobinAssignor";
    let mut java =
        Proc::java_consumer_with(&topic, &group, 120_000, &["--consumer-property", strategy]);
    wait_until(SETTLE, "the console consumer in the group", || {
        try_describe(&group, &["--members"]).is_ok_and(|rows| rows.len() == 1)
    });
    let (code, stderr) = refused_before_reading(&topic, &["-g", &group]);
    println!(
        "beside a RoundRobinAssignor member: exit {code}: {}",
        stderr.trim()
    );
    assert_eq!(code, 1, "{stderr}");
    for words in ["INCONSISTENT_GROUP_PROTOCOL", "'roundrobin'", "'range'"] {
        assert!(stderr.contains(words), "{words:?} in:\n{stderr}");
    }
    // The Java member kept its partitions.
    assert_eq!(describe(&group, &["--members"]).len(), 1);
    java.signal("TERM");
    java.wait(Duration::from_secs(30));
}

#[test]
fn partitions_of_a_group_with_live_members_are_refused_before_anything_is_printed() {
    let topic = util::topic("live", 2);
    let group = util::unique("g");
    let delivered = util::order_ids(&util::produce_orders(&topic, 200));
    let args = ["-t", &topic, "-g", &group, "--format", "json"];
    let mut member = Proc::consumer("member", &args);
    member.wait_assigned(&topic, 0, "the assignment", |p| p.len() == 2);
    wait_printed(&[&member], &delivered);
    util::produce_orders(&topic, 100);
    let (code, stderr) = refused_before_reading(&topic, &["-g", &group, "-p", "0"]);
    println!(
        "-g {group} -p 0 beside a live member: exit {code}: {}",
        stderr.trim()
    );
    assert_eq!(code, 2, "{stderr}");
    for words in ["--no-group", "another group", "has 1 member"] {
        assert!(stderr.contains(words), "{words:?} in:\n{stderr}");
    }
    // The member read the new orders alone, and nothing was committed past it.
    wait_until(SETTLE, "the member printing the new orders", || {
        member.lines() == 300
    });
    member.stop();
    let ids: HashSet<String> = member.records().into_iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), 300);
}

/// Adds partitions to `topic` with Apache's TopicCommand.
fn add_partitions(topic: &str, partitions: u32) {
    util::kafka_local(
        util::broker_port(util::broker()),
        &[
            "run",
            "org.apache.kafka.tools.TopicCommand",
            "--bootstrap-server",
            util::broker(),
            "--alter",
            "--topic",
            topic,
            "--partitions",
            &partitions.to_string(),
        ],
    );
}

#[test]
fn partitions_added_to_a_topic_are_read_by_a_group_and_without_one() {
    let topic = util::topic("grown", 2);
    let group = util::unique("g");
    let mut delivered = util::order_ids(&util::produce_orders(&topic, 200));
    let age = ["--metadata-max-age", "2"];
    let member_args = [&["-t", &topic, "-g", &group, "--format", "json"][..], &age].concat();
    let mut member = Proc::consumer("member", &member_args);
    member.wait_assigned(&topic, 0, "the first assignment", |p| p.len() == 2);
    // --from latest: what the new partitions hold is read all the same.
    let manual_args = [
        &[
            "-t",
            &topic,
            "--no-group",
            "--format",
            "json",
            "--from",
            "latest",
        ][..],
        &age,
    ]
    .concat();
    let mut manual = Proc::consumer("--no-group", &manual_args);
    manual.wait_stderr(0, SETTLE, "reading", |l| l.contains("reading '"));
    wait_printed(&[&member], &delivered);

    add_partitions(&topic, 4);
    let added = Instant::now();
    // The producer is a new process: it sends to all four partitions at once.
    let more = util::order_ids(&util::produce_orders(&topic, 400));
    let (_, at, _) = member.wait_assigned(&topic, 1, "the new partitions", |p| p.len() == 4);
    delivered.extend(more.iter().cloned());
    wait_printed(&[&member], &delivered);
    wait_printed(&[&manual], &more);
    member.stop();
    manual.stop();
    let (lost, duplicates) = util::lost_and_duplicates(&delivered, &printed(&[&member]));
    let of_new: HashSet<i32> = manual
        .records()
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| *p >= 2)
        .collect();
    println!(
        "partitions 2 and 3 added: the member had them {} later (--metadata-max-age 2); it \
         printed {} ({duplicates} duplicates), --no-group printed {} of partitions {of_new:?} too",
        secs(at - added),
        member.lines(),
        manual.lines()
    );
    assert_eq!((lost, duplicates), (0, 0));
    assert_eq!(of_new, HashSet::from([2, 3]));
}

/// The secured broker's PLAINTEXT (a super user) and SASL_PLAINTEXT listeners, of the node that
/// `secured.rs` starts.
fn secured_listeners() -> &'static (String, String) {
    static LISTENERS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    LISTENERS.get_or_init(|| {
        let secure = secured::secure();
        (secure.plaintext.clone(), secure.sasl_plaintext.clone())
    })
}

/// A Kafka tool class run against the secured broker's PLAINTEXT listener (a super user).
fn secure_tool(class: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(util::project_dir().join("scripts/kafka-local"))
        .env("KAFKA_VERSION", util::kafka_version())
        .args(["run", class, "--bootstrap-server", &secured_listeners().0])
        .args(args)
        .output()
        .expect("scripts/kafka-local runs");
    assert!(
        out.status.success(),
        "{class} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_dead_letter_refused_by_an_acl_ends_the_run_without_committing_past_the_record() {
    let (plaintext, sasl_plaintext) = secured_listeners();
    let topic = util::unique("sec-dlq-acl");
    let dlq = format!("{topic}.dlq");
    for t in [&topic, &dlq] {
        secure_tool(
            "org.apache.kafka.tools.TopicCommand",
            &[
                "--create",
                "--topic",
                t,
                "--partitions",
                "1",
                "--replication-factor",
                "1",
            ],
        );
    }
    let group = util::unique("sec-dlq-g");
    // bob may read topics; this test lets him use its group too, never write.
    secure_tool(
        util::tool_class(
            "org.apache.kafka.tools.AclCommand",
            "kafka.admin.AclCommand",
        ),
        &[
            "--add",
            "--allow-principal",
            "User:bob",
            "--operation",
            "Read",
            "--group",
            &group,
        ],
    );
    // A valid order, a record that is not one, a valid order, written by a super user.
    let (first, third) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let order =
        |id: &str| format!(r#"{{"order_id":"{id}","user":"ann","item":"book","quantity":1}}"#);
    let mut kcat = util::kcat();
    kcat.args(["-P", "-b", plaintext, "-t", &topic, "-p", "0"]);
    let lines = format!("{}\nnot an order\n{}\n", order(&first), order(&third));
    util::tool_output(kcat, lines.as_bytes());

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_order-consumer"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["-b", sasl_plaintext, "-t", &topic, "-g", &group])
        // The default retries: a freshly started node may still be loading its group
        // coordinator; the ACL refusal itself is never retried.
        .args(["--format", "json", "--idle-timeout", "3"])
        .envs([
            ("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
            ("KAFKA_SASL_MECHANISM", "PLAIN"),
            ("KAFKA_SASL_USERNAME", "bob"),
            ("KAFKA_SASL_PASSWORD", "bob-secret"),
        ])
        .output()
        .expect("order-consumer runs");
    let r = util::Run::from(out);
    let committed = util::committed(plaintext, &group, &topic);
    println!(
        "bob's dead letter to {dlq}: exit {}, printed {} orders, committed {committed:?}; \
         stderr:\n{}",
        r.code,
        r.stdout.lines().count(),
        r.stderr
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let refusal = format!("not authorized to write topic '{dlq}'");
    assert!(r.stderr.contains(&refusal), "{refusal:?} in:\n{}", r.stderr);
    for never in ["sending a shortened one", "skipping the record"] {
        assert!(!r.stderr.contains(never), "{never:?} in:\n{}", r.stderr);
    }
    let printed: Vec<String> = r
        .json_lines()
        .iter()
        .map(|v| v["order"]["order_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(printed, [first], "nothing after the record");
    assert_eq!(
        committed,
        [(0, 1)].into(),
        "committed up to the record, not past it"
    );
}
