//! Consumer groups: several order-consumer instances (and Apache's Java consumer) sharing a topic.
//!
//! Every process runs in the background while two threads collect its stdout and stderr lines,
//! each with the moment it arrived: a test waits for a line ("assigned ...") with a deadline and
//! measures take-over times from those moments. What the group holds is read with Apache Kafka's
//! ConsumerGroupCommand, never with the client under test. Every wait is bounded, and a process
//! still running when its test ends (passed or failed) is killed.
//!
//! Apache's tools go by their `org.apache.kafka.tools` names: 3.9 ships ConsoleConsumer and
//! ConsumerGroupCommand under those names too, and no longer under `kafka.tools`/`kafka.admin`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::util;

const CONSOLE_CONSUMER: &str = "org.apache.kafka.tools.consumer.ConsoleConsumer";
const GROUP_COMMAND: &str = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand";

/// The consumer's default --commit-every: a member that loses partitions without committing
/// has printed at most this many records since its last commit, which the next owner re-reads.
pub(crate) const COMMIT_EVERY: usize = 100;
/// The consumer's default --heartbeat-interval: a member learns of a rebalance within it.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(3);
/// Bound on waits for a join, a rebalance or a batch of records: each normally takes a heartbeat
/// interval or less, so reaching it means something is stuck.
pub(crate) const SETTLE: Duration = Duration::from_secs(60);
/// How often a wait looks again.
pub(crate) const POLL: Duration = Duration::from_millis(20);

type Lines = Arc<Mutex<Vec<(Instant, String)>>>;

/// A process in the background, its output collected line by line as it comes.
pub(crate) struct Proc {
    pub(crate) name: String,
    pub(crate) child: Child,
    out: Lines,
    err: Lines,
    readers: Vec<JoinHandle<()>>,
    stdout_paused: Arc<AtomicBool>,
}

/// Collects `stream` line by line; while `paused` is set nothing is read, so a writer blocks
/// once the pipe is full, as one writing to a stalled reader does.
fn collect(stream: impl Read + Send + 'static, paused: Arc<AtomicBool>) -> (Lines, JoinHandle<()>) {
    let lines: Lines = Arc::default();
    let sink = Arc::clone(&lines);
    let reader = thread::spawn(move || {
        let mut stream = BufReader::new(stream);
        loop {
            while paused.load(Ordering::SeqCst) {
                thread::sleep(POLL);
            }
            let mut line = String::new();
            match stream.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = line.strip_suffix('\n').unwrap_or(&line).to_string();
                    sink.lock().unwrap().push((Instant::now(), line));
                }
            }
        }
    });
    (lines, reader)
}

impl Proc {
    pub(crate) fn start(name: &str, child: Child) -> Proc {
        Proc::start_paused(name, child, false)
    }

    /// As [`Proc::start`]; with `paused`, its stdout is not read until [`Proc::resume_stdout`].
    pub(crate) fn start_paused(name: &str, mut child: Child, paused: bool) -> Proc {
        let stdout_paused = Arc::new(AtomicBool::new(paused));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (out, stdout_reader) = collect(stdout, Arc::clone(&stdout_paused));
        let stderr = child.stderr.take().expect("stderr is piped");
        let (err, stderr_reader) = collect(stderr, Arc::default());
        Proc {
            name: name.to_string(),
            child,
            out,
            err,
            readers: vec![stdout_reader, stderr_reader],
            stdout_paused,
        }
    }

    /// Stops reading the process's stdout: once the pipe is full, its writes block.
    pub(crate) fn pause_stdout(&self) {
        self.stdout_paused.store(true, Ordering::SeqCst);
    }

    pub(crate) fn resume_stdout(&self) {
        self.stdout_paused.store(false, Ordering::SeqCst);
    }

    pub(crate) fn consumer(name: &str, args: &[&str]) -> Proc {
        Proc::start(name, util::spawn("order-consumer", args))
    }

    /// `order-producer --count n --rate rate --format json`: orders keep arriving for a while.
    pub(crate) fn producer(topic: &str, n: u64, rate: u64) -> Proc {
        let (n, rate) = (n.to_string(), rate.to_string());
        let args = [
            "-t",
            topic,
            "--count",
            n.as_str(),
            "--rate",
            rate.as_str(),
            "--format",
            "json",
        ];
        Proc::start("producer", util::spawn("order-producer", &args))
    }

    /// Apache Kafka's console consumer (the Java client) in `group`, printing the partition and
    /// the key of every record; it ends after `idle_ms` without a record.
    pub(crate) fn java_consumer(topic: &str, group: &str, idle_ms: u64) -> Proc {
        Proc::java_consumer_with(topic, group, idle_ms, &[])
    }

    /// As [`Proc::java_consumer`], with `extra` arguments (`--consumer-property K=V`).
    pub(crate) fn java_consumer_with(
        topic: &str,
        group: &str,
        idle_ms: u64,
        extra: &[&str],
    ) -> Proc {
        let child = Command::new(util::project_dir().join("scripts/kafka-local"))
            .env("KAFKA_VERSION", util::kafka_version())
            .args([
                "run",
                CONSOLE_CONSUMER,
                "--bootstrap-server",
                util::broker(),
            ])
            .args(["--topic", topic, "--group", group])
            .args([formatter_flag(), "print.partition=true"])
            .args([formatter_flag(), "print.key=true"])
            .args(["--timeout-ms", &idle_ms.to_string()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("scripts/kafka-local runs");
        Proc::start("ConsoleConsumer", child)
    }

    pub(crate) fn stdout(&self) -> Vec<String> {
        self.out
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// How many lines the process printed on stdout so far.
    pub(crate) fn lines(&self) -> usize {
        self.out.lock().unwrap().len()
    }

    pub(crate) fn stderr(&self) -> Vec<(Instant, String)> {
        self.err.lock().unwrap().clone()
    }

    pub(crate) fn stderr_text(&self) -> String {
        let lines: Vec<String> = self.stderr().into_iter().map(|(_, l)| l).collect();
        lines.join("\n")
    }

    /// True once the process ended and its output is read to the end: nothing more will come.
    pub(crate) fn ended(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some() && self.readers.iter().all(|r| r.is_finished())
    }

    /// The first stderr line from index `from` on that `wanted` accepts: its index, when it came
    /// and its text. Fails after `within`, or as soon as the process ended without one.
    pub(crate) fn wait_stderr(
        &mut self,
        from: usize,
        within: Duration,
        what: &str,
        wanted: impl Fn(&str) -> bool,
    ) -> (usize, Instant, String) {
        let deadline = Instant::now() + within;
        loop {
            let ended = self.ended();
            let found = self
                .err
                .lock()
                .unwrap()
                .iter()
                .enumerate()
                .skip(from)
                .find(|(_, (_, line))| wanted(line))
                .map(|(i, (at, line))| (i, *at, line.clone()));
            if let Some(found) = found {
                return found;
            }
            assert!(
                !ended && Instant::now() < deadline,
                "{}: {what} did not come (waited up to {within:?}, the process {}); stderr:\n{}",
                self.name,
                if ended { "ended" } else { "runs" },
                self.stderr_text()
            );
            thread::sleep(POLL);
        }
    }

    /// Waits (up to [`SETTLE`]) for an "assigned" line from stderr index `from` on whose
    /// partitions `wanted` accepts; returns its index, when it came and the partitions.
    pub(crate) fn wait_assigned(
        &mut self,
        topic: &str,
        from: usize,
        what: &str,
        wanted: impl Fn(&[i32]) -> bool,
    ) -> (usize, Instant, Vec<i32>) {
        self.wait_assigned_within(topic, from, SETTLE, what, wanted)
    }

    pub(crate) fn wait_assigned_within(
        &mut self,
        topic: &str,
        from: usize,
        within: Duration,
        what: &str,
        wanted: impl Fn(&[i32]) -> bool,
    ) -> (usize, Instant, Vec<i32>) {
        let (i, at, line) = self.wait_stderr(from, within, what, |l| {
            listed(l, "assigned", topic).is_some_and(|p| wanted(&p))
        });
        (i, at, listed(&line, "assigned", topic).unwrap())
    }

    /// The partitions of every "assigned" (or "revoked") line so far, in order.
    pub(crate) fn logged(&self, event: &str, topic: &str) -> Vec<Vec<i32>> {
        self.stderr()
            .iter()
            .filter_map(|(_, l)| listed(l, event, topic))
            .collect()
    }

    pub(crate) fn last_assignment(&self, topic: &str) -> Vec<i32> {
        self.logged("assigned", topic)
            .pop()
            .unwrap_or_else(|| panic!("{} was never assigned partitions", self.name))
    }

    /// (partition, order_id) of every record order-consumer printed (`--format json`).
    pub(crate) fn records(&self) -> Vec<(i32, String)> {
        self.stdout()
            .iter()
            .map(|l| {
                let v: serde_json::Value =
                    serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", self.name));
                let partition = v["partition"].as_i64().expect("a partition") as i32;
                let id = v["order"]["order_id"].as_str().expect("an order_id");
                (partition, id.to_string())
            })
            .collect()
    }

    /// (partition, key) of every record the console consumer printed: "Partition:P\tKEY\tVALUE".
    pub(crate) fn java_records(&self) -> Vec<(i32, String)> {
        self.stdout()
            .iter()
            .map(|l| {
                let fields: Vec<&str> = l.splitn(3, '\t').collect();
                let [partition, key, value] = fields[..] else {
                    panic!("ConsoleConsumer line {l:?}");
                };
                let partition = partition
                    .strip_prefix("Partition:")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| panic!("ConsoleConsumer line {l:?}"));
                let order: serde_json::Value = serde_json::from_str(value).unwrap();
                assert_eq!(order["order_id"], key, "the key is the order_id: {l}");
                (partition, key.to_string())
            })
            .collect()
    }

    /// The order_ids an order-producer confirmed (`--format json`).
    pub(crate) fn delivered(&self) -> Vec<String> {
        let lines: Vec<serde_json::Value> = self
            .stdout()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        util::order_ids(&lines)
    }

    /// Sends a signal by kill(1)'s name for it; returns when it was sent.
    pub(crate) fn signal(&self, signal: &str) -> Instant {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {}", self.name);
        Instant::now()
    }

    /// Waits (bounded) for the process to end and its output to be read; returns its exit code,
    /// or minus the signal that ended it.
    pub(crate) fn wait(&mut self, within: Duration) -> i32 {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "{} still ran after {within:?}; stderr:\n{}",
                    self.name,
                    self.stderr_text()
                );
            }
            thread::sleep(POLL);
        };
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        status
            .code()
            .unwrap_or_else(|| -std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0))
    }

    /// SIGTERM, then the exit code, which must be 0: a clean stop.
    pub(crate) fn stop(&mut self) {
        self.signal("TERM");
        let code = self.wait(Duration::from_secs(30));
        assert_eq!(code, 0, "{}: {}", self.name, self.stderr_text());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if thread::panicking() {
            eprintln!("--- stderr of {}:\n{}", self.name, self.stderr_text());
        }
    }
}

/// The console consumer's flag for its formatter's settings: Kafka 4.2 (KIP-1147) renamed
/// --property to --formatter-property and prints a deprecation notice for the old name on
/// stdout, among the records; 3.9 knows only the old one.
fn formatter_flag() -> &'static str {
    let version = util::kafka_version();
    let mut numbers = version.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
    match (numbers.next(), numbers.next()) {
        (Some(major), Some(minor)) if (major, minor) >= (4, 2) => "--formatter-property",
        _ => "--property",
    }
}

/// The partitions of a "[INFO ] assigned TOPIC [0, 2]" line (or "revoked"), None for another
/// line.
pub(crate) fn listed(line: &str, event: &str, topic: &str) -> Option<Vec<i32>> {
    let start = format!(" {event} {topic} [");
    let at = line.find(&start)? + start.len();
    let list = &line[at..at + line[at..].find(']')?];
    Some(
        list.split(", ")
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().expect("a partition number"))
            .collect(),
    )
}

/// Waits until `done` holds; fails naming `what` after `within`.
pub(crate) fn wait_until(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        thread::sleep(POLL);
    }
}

/// Every order_id printed by `members`, in one list (duplicates kept).
pub(crate) fn printed(members: &[&Proc]) -> Vec<String> {
    members
        .iter()
        .flat_map(|m| m.records())
        .map(|(_, id)| id)
        .collect()
}

/// Waits until `members` printed every order of `delivered` between them.
pub(crate) fn wait_printed(members: &[&Proc], delivered: &[String]) {
    let wanted: HashSet<&String> = delivered.iter().collect();
    wait_until(SETTLE, "every delivered order printed", || {
        // Parsing every line is slow: only once there are enough of them.
        let lines: usize = members.iter().map(|m| m.lines()).sum();
        if lines < wanted.len() {
            return false;
        }
        let seen = printed(members);
        let seen: HashSet<&String> = seen.iter().collect();
        wanted.is_subset(&seen)
    });
}

/// Waits (bounded) for a background producer to finish; returns the order_ids it delivered.
fn finish_producing(producer: &mut Proc, n: usize) -> Vec<String> {
    let code = producer.wait(Duration::from_secs(120));
    assert_eq!(code, 0, "{}", producer.stderr_text());
    let delivered = producer.delivered();
    assert_eq!(delivered.len(), n);
    delivered
}

/// Checks that `members` own the partitions 0..n between them, each exactly once.
fn assert_split(assignments: &[Vec<i32>], n: i32) {
    let mut all: Vec<i32> = assignments.iter().flatten().copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..n).collect::<Vec<_>>(), "{assignments:?}");
}

/// Checks that a member printed records only of partitions it was assigned at some point.
pub(crate) fn assert_printed_only_assigned(member: &Proc, topic: &str) {
    let ever: BTreeSet<i32> = member
        .logged("assigned", topic)
        .into_iter()
        .flatten()
        .collect();
    let printed: BTreeSet<i32> = member.records().into_iter().map(|(p, _)| p).collect();
    assert!(
        printed.is_subset(&ever),
        "{} printed partitions {printed:?}, was assigned {ever:?}",
        member.name
    );
}

/// Starts two members with `args` one after the other, and waits until they split the topic's
/// `partitions` between them.
fn two_members(topic: &str, partitions: usize, args: &[&str]) -> (Proc, Proc) {
    let mut a = Proc::consumer("member a", args);
    a.wait_assigned(topic, 0, "a's first assignment", |p| p.len() == partitions);
    let mut b = Proc::consumer("member b", args);
    let half = partitions / 2;
    let (_, _, of_b) = b.wait_assigned(topic, 0, "b's assignment", |p| p.len() == half);
    let (_, _, of_a) = a.wait_assigned(topic, 0, "a's share", |p| p.len() == half);
    assert_split(&[of_a, of_b], partitions as i32);
    (a, b)
}

pub(crate) type Row = HashMap<String, String>;

/// ConsumerGroupCommand `--describe --group GROUP` with `extra`: the rows of its table, each as
/// column title -> value.
pub(crate) fn describe(group: &str, extra: &[&str]) -> Vec<Row> {
    try_describe(group, extra).unwrap_or_else(|e| panic!("{e}"))
}

/// As [`describe`]; an error (with the tool's stderr) when the command fails, as it does for a
/// group that does not exist yet.
pub(crate) fn try_describe(group: &str, extra: &[&str]) -> Result<Vec<Row>, String> {
    let out = Command::new(util::project_dir().join("scripts/kafka-local"))
        .env("KAFKA_VERSION", util::kafka_version())
        .args(["run", GROUP_COMMAND, "--bootstrap-server", util::broker()])
        .args(["--describe", "--group", group])
        .args(extra)
        .output()
        .expect("scripts/kafka-local runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    match out.status.success() {
        true => Ok(parse_table(&stdout)),
        false => Err(format!(
            "ConsumerGroupCommand --describe --group {group} {extra:?} failed:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// A table as ConsumerGroupCommand prints it: a header line of titles, then rows whose columns
/// start where the titles do (a value may be blank: 3.9's GROUP-INSTANCE-ID of a dynamic member).
fn parse_table(text: &str) -> Vec<Row> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with("GROUP "));
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let mut columns: Vec<(usize, &str)> = Vec::new();
    let mut at = 0;
    for title in header.split_whitespace() {
        at += header[at..].find(title).unwrap();
        columns.push((at, title));
        at += title.len();
    }
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|row| {
            columns
                .iter()
                .enumerate()
                .map(|(i, &(start, title))| {
                    if start >= row.len() {
                        return (title.to_string(), String::new());
                    }
                    assert!(
                        start == 0 || row.as_bytes()[start - 1] == b' ',
                        "a value overflows its column in:\n{text}"
                    );
                    let end = columns.get(i + 1).map_or(row.len(), |c| c.0.min(row.len()));
                    (title.to_string(), row[start..end].trim().to_string())
                })
                .collect()
        })
        .collect()
}

/// The partitions of `topic` in a ConsumerGroupCommand assignment of one topic: "-" for none,
/// "T:0,1" (4.x) or "(0,1)" (3.9 leaves the topic out).
fn table_partitions(value: &str, topic: &str) -> Vec<i32> {
    if value == "-" {
        return Vec::new();
    }
    let list = value.strip_prefix(topic).unwrap_or(value);
    let list = list
        .strip_prefix(':')
        .or_else(|| list.strip_prefix('(').and_then(|l| l.strip_suffix(')')))
        .unwrap_or_else(|| panic!("assignment {value:?} of topic {topic}"));
    let mut partitions: Vec<i32> = list
        .split(',')
        .map(|p| p.parse().unwrap_or_else(|_| panic!("assignment {value:?}")))
        .collect();
    partitions.sort_unstable();
    partitions
}

/// A member row's assignment column: CURRENT-ASSIGNMENT in 4.x, ASSIGNMENT in 3.9.
pub(crate) fn member_partitions(row: &Row, topic: &str) -> Vec<i32> {
    let value = row
        .get("CURRENT-ASSIGNMENT")
        .or_else(|| row.get("ASSIGNMENT"))
        .unwrap_or_else(|| panic!("no assignment column in {row:?}"));
    table_partitions(value, topic)
}

pub(crate) fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[test]
fn three_members_split_six_partitions_and_print_every_order_once_up_to_rebalances() {
    let topic = util::topic("split", 6);
    let group = util::unique("g");
    let args = [
        "-t",
        &topic,
        "-g",
        &group,
        "--format",
        "json",
        "--idle-timeout",
        "10",
    ];
    let mut members = vec![Proc::consumer("member 1", &args)];
    members[0].wait_assigned(&topic, 0, "the first assignment", |p| p.len() == 6);
    // 10 s of orders: the next members join while records flow, so each rebalance takes
    // partitions away from members in the middle of reading them.
    let mut producer = Proc::producer(&topic, 30_000, 3_000);
    for n in 2..=3 {
        wait_until(SETTLE, "records before the next member joins", || {
            members.iter().map(|m| m.lines()).sum::<usize>() >= (n - 1) * 3_000
        });
        let mut member = Proc::consumer(&format!("member {n}"), &args);
        member.wait_assigned(&topic, 0, "a first assignment", |p| !p.is_empty());
        members.push(member);
    }
    let delivered = finish_producing(&mut producer, 30_000);
    let all: Vec<&Proc> = members.iter().collect();
    wait_printed(&all, &delivered);

    let split: Vec<Vec<i32>> = members.iter().map(|m| m.last_assignment(&topic)).collect();
    for (m, partitions) in members.iter().zip(&split) {
        assert_eq!(partitions.len(), 2, "{}: {split:?}", m.name);
    }
    assert_split(&split, 6);
    // What a member printed after the others stopped cannot be a duplicate (nothing new came),
    // so the revocations of the stops that follow only loosen the bound.
    for m in &mut members {
        let code = m.wait(Duration::from_secs(60));
        assert_eq!(code, 0, "{}: {}", m.name, m.stderr_text());
    }
    let all: Vec<&Proc> = members.iter().collect();
    let revocations: usize = members
        .iter()
        .map(|m| m.logged("revoked", &topic).len())
        .sum();
    let (lost, duplicates) = util::lost_and_duplicates(&delivered, &printed(&all));
    for m in &members {
        assert_printed_only_assigned(m, &topic);
        assert!(!m.records().is_empty(), "{} printed nothing", m.name);
    }
    println!(
        "3 members on 6 partitions: final split {split:?}; printed {} records ({}); \
         {revocations} revocations, {duplicates} duplicates (bound {COMMIT_EVERY} per revocation)",
        printed(&all).len(),
        members
            .iter()
            .map(|m| format!("{} {}", m.name, m.records().len()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert_eq!(lost, 0, "lost orders");
    assert!(
        duplicates <= COMMIT_EVERY * revocations,
        "{duplicates} duplicates over {revocations} revocations"
    );
}

#[test]
fn a_member_killed_with_sigkill_is_replaced_after_the_session_timeout_and_nothing_is_lost() {
    let topic = util::topic("sigkill", 4);
    let group = util::unique("g");
    let session = Duration::from_secs(10);
    let args = [
        "-t",
        &topic,
        "-g",
        &group,
        "--format",
        "json",
        "--session-timeout",
        "10",
    ];
    let (mut a, mut b) = two_members(&topic, 4, &args);
    // 20 s of orders: the kill and the take-over both happen while records flow.
    let mut producer = Proc::producer(&topic, 6_000, 300);
    wait_until(SETTLE, "both members printing", || {
        a.lines() >= 100 && b.lines() >= 100
    });
    let seen = a.stderr().len();
    b.child.kill().unwrap();
    let killed = Instant::now();
    let (_, at, _) = a.wait_assigned(&topic, seen, "the take-over", |p| p.len() == 4);
    let takeover = at - killed;
    println!(
        "take-over after SIGKILL: {} (session timeout {}, heartbeat interval {})",
        secs(takeover),
        secs(session),
        secs(HEARTBEAT)
    );
    // A killed member cannot leave: the coordinator drops it a session timeout after its last
    // heartbeat (at most an interval before the kill), and the survivor hears of the rebalance
    // at its next heartbeat.
    assert!(
        takeover >= session - HEARTBEAT - Duration::from_secs(1),
        "{takeover:?}"
    );
    assert!(
        takeover <= session + HEARTBEAT + Duration::from_secs(3),
        "{takeover:?}"
    );

    let delivered = finish_producing(&mut producer, 6_000);
    wait_printed(&[&a, &b], &delivered);
    a.stop();
    assert_eq!(b.wait(Duration::from_secs(5)), -9);
    let (lost, duplicates) = util::lost_and_duplicates(&delivered, &printed(&[&a, &b]));
    println!(
        "SIGKILL: a printed {}, b printed {} before the kill; {duplicates} duplicates",
        a.records().len(),
        b.records().len()
    );
    assert_eq!(lost, 0, "lost orders");
    // What b printed since its last commit, a printed again.
    assert!(duplicates <= COMMIT_EVERY, "{duplicates} duplicates");
    assert_printed_only_assigned(&a, &topic);
    assert_printed_only_assigned(&b, &topic);
}

#[test]
fn a_member_added_mid_stream_takes_half_the_partitions_in_one_rebalance_and_nothing_is_lost() {
    let topic = util::topic("added", 4);
    let group = util::unique("g");
    let args = ["-t", &topic, "-g", &group, "--format", "json"];
    let mut a = Proc::consumer("member a", &args);
    a.wait_assigned(&topic, 0, "a's first assignment", |p| p.len() == 4);
    let mut producer = Proc::producer(&topic, 6_000, 600);
    wait_until(SETTLE, "a printing", || a.lines() >= 600);
    let seen = a.stderr().len();
    let mut b = Proc::consumer("member b", &args);
    let (_, _, of_b) = b.wait_assigned(&topic, 0, "b's assignment", |p| p.len() == 2);
    let (_, _, of_a) = a.wait_assigned(&topic, seen, "a's share", |p| p.len() == 2);
    assert_split(&[of_a.clone(), of_b.clone()], 4);

    let delivered = finish_producing(&mut producer, 6_000);
    wait_printed(&[&a, &b], &delivered);
    let (a_revoked, b_revoked) = (a.logged("revoked", &topic), b.logged("revoked", &topic));
    for m in [&mut a, &mut b] {
        m.signal("TERM");
    }
    for m in [&mut a, &mut b] {
        assert_eq!(m.wait(Duration::from_secs(30)), 0, "{}", m.stderr_text());
    }
    let (lost, duplicates) = util::lost_and_duplicates(&delivered, &printed(&[&a, &b]));
    println!(
        "member added: a {of_a:?} printed {}, b {of_b:?} printed {}; {duplicates} duplicates",
        a.records().len(),
        b.records().len()
    );
    assert_eq!(a_revoked, [vec![0, 1, 2, 3]], "a rebalanced once");
    assert!(b_revoked.is_empty(), "b was not rebalanced: {b_revoked:?}");
    assert!(!b.records().is_empty(), "b printed nothing");
    assert_eq!(lost, 0, "lost orders");
    assert!(duplicates <= COMMIT_EVERY, "{duplicates} duplicates");
    assert_printed_only_assigned(&a, &topic);
    assert_printed_only_assigned(&b, &topic);
}

#[test]
fn after_a_clean_stop_the_other_member_takes_over_within_a_heartbeat_interval() {
    let topic = util::topic("leave", 4);
    let group = util::unique("g");
    // The default session timeout (45 s): a take-over that waited for it would show.
    let args = ["-t", &topic, "-g", &group, "--format", "json"];
    let mut a = Proc::consumer("member a", &args);
    a.wait_assigned(&topic, 0, "a's first assignment", |p| p.len() == 4);
    // 40 s of orders: every stop below comes while records flow.
    let mut producer = Proc::producer(&topic, 12_000, 300);
    let mut stopped = Vec::new();
    let mut takeovers = Vec::new();
    // Several stops, each at a different point of the member's work: fetching, printing,
    // committing (it commits after every fetch that brought records).
    for round in 1..=4 {
        let seen = a.stderr().len();
        let mut b = Proc::consumer(&format!("member b{round}"), &args);
        b.wait_assigned(&topic, 0, "b's assignment", |p| p.len() == 2);
        a.wait_assigned(&topic, seen, "a's share", |p| p.len() == 2);
        wait_until(SETTLE, "b printing", || b.lines() >= 30);
        let seen = a.stderr().len();
        let signalled = b.signal("TERM");
        // b leaves the group as it stops; a hears of the rebalance at its next heartbeat. A
        // b that did not leave would be dropped only after the session timeout.
        let bound = HEARTBEAT + Duration::from_secs(2);
        let (_, at, _) = a.wait_assigned_within(
            &topic,
            seen,
            bound,
            "the take-over (did b leave the group?)",
            |p| p.len() == 4,
        );
        takeovers.push(at - signalled);
        assert_eq!(b.wait(Duration::from_secs(10)), 0, "{}", b.stderr_text());
        stopped.push(b);
    }
    println!(
        "take-over after SIGTERM: {} (heartbeat interval {}, session timeout 45 s)",
        takeovers
            .iter()
            .map(|&t| secs(t))
            .collect::<Vec<_>>()
            .join(", "),
        secs(HEARTBEAT)
    );

    let delivered = finish_producing(&mut producer, 12_000);
    let mut all: Vec<&Proc> = stopped.iter().collect();
    all.push(&a);
    wait_printed(&all, &delivered);
    a.stop();
    let all: Vec<&Proc> = stopped.iter().chain([&a]).collect();
    let (lost, duplicates) = util::lost_and_duplicates(&delivered, &printed(&all));
    println!(
        "4 clean stops: a printed {}, the stopped members {:?}; {duplicates} duplicates",
        a.lines(),
        stopped.iter().map(Proc::lines).collect::<Vec<_>>()
    );
    assert_eq!(lost, 0, "lost orders");
    // A clean stop commits everything it printed before it leaves.
    assert_eq!(duplicates, 0, "duplicates after clean stops");
}

/// One order-consumer and Apache's console consumer in one group; `java_first` picks who
/// joins first, and so leads the group and computes the range assignment for both.
fn shared_with_the_java_consumer(java_first: bool) {
    let topic = util::topic("java", 4);
    let group = util::unique("g");
    let args = ["-t", &topic, "-g", &group, "--format", "json"];
    let mut java;
    let mut ours;
    if java_first {
        java = Proc::java_consumer(&topic, &group, 120_000);
        wait_until(SETTLE, "the console consumer's assignment", || {
            // Fails while the group does not exist yet.
            let rows = try_describe(&group, &["--members", "--verbose"]).unwrap_or_default();
            rows.len() == 1 && member_partitions(&rows[0], &topic).len() == 4
        });
        ours = Proc::consumer("order-consumer", &args);
        ours.wait_assigned(&topic, 0, "an assignment", |p| p.len() == 2);
    } else {
        ours = Proc::consumer("order-consumer", &args);
        ours.wait_assigned(&topic, 0, "the first assignment", |p| p.len() == 4);
        java = Proc::java_consumer(&topic, &group, 120_000);
        ours.wait_assigned(&topic, 1, "the share", |p| p.len() == 2);
    }
    let rows = describe(&group, &["--members", "--verbose"]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let by_client: HashMap<&str, &Row> =
        rows.iter().map(|r| (r["CLIENT-ID"].as_str(), r)).collect();
    let java_row = by_client["console-consumer"];
    let ours_row = by_client["order-consumer"];
    let (java_partitions, ours_partitions) = (
        member_partitions(java_row, &topic),
        member_partitions(ours_row, &topic),
    );
    assert_eq!(ours_partitions, ours.last_assignment(&topic));
    // The range assignor, in Java as in ours: members sorted by id, the first takes the
    // first half.
    let java_sorts_first = java_row["CONSUMER-ID"] < ours_row["CONSUMER-ID"];
    let halves = if java_sorts_first {
        (vec![0, 1], vec![2, 3])
    } else {
        (vec![2, 3], vec![0, 1])
    };
    assert_eq!((java_partitions.clone(), ours_partitions.clone()), halves);

    let delivered = util::order_ids(&util::produce_orders(&topic, 2_000));
    let wanted: HashSet<&String> = delivered.iter().collect();
    wait_until(SETTLE, "every order printed by one of them", || {
        let seen: Vec<String> = ours
            .records()
            .into_iter()
            .chain(java.java_records())
            .map(|(_, id)| id)
            .collect();
        wanted.is_subset(&seen.iter().collect::<HashSet<_>>())
    });
    ours.stop();
    java.signal("TERM");
    java.wait(Duration::from_secs(30));

    let (of_ours, of_java) = (ours.records(), java.java_records());
    println!(
        "{} joined first: ConsoleConsumer {java_partitions:?} printed {}, order-consumer \
         {ours_partitions:?} printed {}",
        if java_first {
            "ConsoleConsumer"
        } else {
            "order-consumer"
        },
        of_java.len(),
        of_ours.len()
    );
    for (partitions, records, who) in [
        (&ours_partitions, &of_ours, "order-consumer"),
        (&java_partitions, &of_java, "ConsoleConsumer"),
    ] {
        let printed: BTreeSet<i32> = records.iter().map(|(p, _)| *p).collect();
        assert_eq!(
            printed,
            partitions.iter().copied().collect(),
            "{who} printed its partitions"
        );
    }
    let mut all: Vec<String> = of_ours.into_iter().map(|(_, id)| id).collect();
    all.extend(of_java.into_iter().map(|(_, id)| id));
    all.sort();
    let mut expected = delivered;
    expected.sort();
    assert_eq!(all, expected, "every order printed by exactly one of them");
}

#[test]
fn apache_console_consumer_and_order_consumer_split_a_topic_when_ours_leads() {
    shared_with_the_java_consumer(false);
}

#[test]
fn apache_console_consumer_and_order_consumer_split_a_topic_when_java_leads() {
    shared_with_the_java_consumer(true);
}

#[test]
fn a_static_member_restarted_within_the_session_timeout_gets_its_partitions_back_alone() {
    let topic = util::topic("static", 4);
    let group = util::unique("g");
    let session = Duration::from_secs(30);
    let member_args = |id: &'static str| -> Vec<String> {
        [
            "-t",
            topic.as_str(),
            "-g",
            group.as_str(),
            "--format",
            "json",
            "--instance-id",
            id,
            "--session-timeout",
            "30",
        ]
        .map(String::from)
        .to_vec()
    };
    let start = |id: &'static str| {
        let args = member_args(id);
        Proc::consumer(id, &args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let mut a = start("a");
    a.wait_assigned(&topic, 0, "a's first assignment", |p| p.len() == 4);
    let mut b = start("b");
    let (_, _, of_b) = b.wait_assigned(&topic, 0, "b's assignment", |p| p.len() == 2);
    let (_, _, of_a) = a.wait_assigned(&topic, 0, "a's share", |p| p.len() == 2);
    // Static members sort by instance id in the range assignor.
    assert_eq!((of_a.clone(), of_b.clone()), (vec![0, 1], vec![2, 3]));

    let mut delivered = util::order_ids(&util::produce_orders(&topic, 1_000));
    wait_printed(&[&a, &b], &delivered);
    let before = describe(&group, &["--members", "--verbose"]);
    let b_lines = b.stderr().len();
    let stopped = a.signal("TERM");
    assert_eq!(a.wait(Duration::from_secs(30)), 0, "{}", a.stderr_text());
    let mut again = start("a");
    let (_, at, of_again) = again.wait_assigned(&topic, 0, "a's return", |_| true);
    let back = at - stopped;
    println!(
        "static member a back after {} with {of_again:?}",
        secs(back)
    );
    assert!(back < session, "{back:?}");
    assert_eq!(of_again, of_a, "a got its partitions back");

    delivered.extend(util::order_ids(&util::produce_orders(&topic, 1_000)));
    wait_printed(&[&a, &again, &b], &delivered);
    // b would hear of a rebalance at a heartbeat: let two pass.
    thread::sleep(
        (at + 2 * HEARTBEAT + Duration::from_secs(1)).saturating_duration_since(Instant::now()),
    );
    let after = describe(&group, &["--members", "--verbose"]);
    let b_new: Vec<String> = b.stderr()[b_lines..]
        .iter()
        .map(|(_, l)| l.clone())
        .collect();
    assert!(
        !b_new
            .iter()
            .any(|l| l.contains(" revoked ") || l.contains(" assigned ")),
        "b was rebalanced: {b_new:?}"
    );
    let member = |rows: &[Row], id: &str| -> (String, Vec<i32>) {
        let row = rows
            .iter()
            .find(|r| r["CONSUMER-ID"].starts_with(&format!("{id}-")))
            .unwrap_or_else(|| panic!("no member of instance {id} in {rows:?}"));
        (row["CONSUMER-ID"].clone(), member_partitions(row, &topic))
    };
    assert_eq!(before.len(), 2, "{before:?}");
    assert_eq!(after.len(), 2, "{after:?}");
    assert_eq!(
        member(&before, "b"),
        member(&after, "b"),
        "b kept its membership"
    );
    assert_eq!(
        member(&before, "a").1,
        member(&after, "a").1,
        "a's partitions"
    );
    println!(
        "ConsumerGroupCommand: a {} -> {}, b {} unchanged",
        member(&before, "a").0,
        member(&after, "a").0,
        member(&after, "b").0
    );

    again.stop();
    b.stop();
    let (lost, duplicates) = util::lost_and_duplicates(&delivered, &printed(&[&a, &again, &b]));
    assert_eq!((lost, duplicates), (0, 0), "a committed what it printed");
}

/// A partition's line of `--lag`: committed offset, end offset, lag and owner.
type Lag = (Option<i64>, i64, i64, Option<String>);

/// A partition's row of ConsumerGroupCommand `--describe`: current offset, log-end offset, lag
/// and consumer id, None for its "-".
type Described = (Option<i64>, Option<i64>, Option<i64>, Option<String>);

/// `--lag` in both formats, which must agree, by partition.
fn lag(topic: &str, group: &str) -> HashMap<i32, Lag> {
    let human = util::run("order-consumer", &["-t", topic, "-g", group, "--lag"]);
    assert_eq!(human.code, 0, "{}", human.stderr);
    let json = util::run(
        "order-consumer",
        &["-t", topic, "-g", group, "--lag", "--format", "json"],
    );
    assert_eq!(json.code, 0, "{}", json.stderr);
    let from_json: HashMap<i32, Lag> = json
        .json_lines()
        .iter()
        .map(|v| {
            assert_eq!(
                (v["topic"].as_str(), v["group"].as_str()),
                (Some(topic), Some(group))
            );
            (
                v["partition"].as_i64().unwrap() as i32,
                (
                    v["committed"].as_i64(),
                    v["end"].as_i64().unwrap(),
                    v["lag"].as_i64().unwrap(),
                    v["owner"].as_str().map(String::from),
                ),
            )
        })
        .collect();
    let lines: Vec<&str> = human.stdout.lines().collect();
    assert_eq!(lines.len(), from_json.len(), "{}", human.stdout);
    for (p, (committed, end, lag, owner)) in &from_json {
        let line = format!(
            "{topic}/{p}: committed {}, end {end}, lag {lag}, owner {}",
            committed.map_or("none".into(), |c| c.to_string()),
            owner.as_deref().unwrap_or("none")
        );
        assert!(
            lines.contains(&line.as_str()),
            "{line:?} in:\n{}",
            human.stdout
        );
    }
    from_json
}

/// ConsumerGroupCommand `--describe` of `group`, by partition of `topic`.
fn described_lag(topic: &str, group: &str) -> HashMap<i32, Described> {
    let dash = |v: &str| (v != "-").then(|| v.to_string());
    describe(group, &[])
        .into_iter()
        .filter(|r| r["TOPIC"] == topic)
        .map(|r| {
            let number = |c: &str| dash(&r[c]).map(|v| v.parse::<i64>().unwrap());
            (
                r["PARTITION"].parse().unwrap(),
                (
                    number("CURRENT-OFFSET"),
                    number("LOG-END-OFFSET"),
                    number("LAG"),
                    dash(&r["CONSUMER-ID"]),
                ),
            )
        })
        .collect()
}

/// Checks `--lag` against ConsumerGroupCommand, partition by partition; returns the total lag.
fn assert_lag_agrees(topic: &str, group: &str) -> i64 {
    let ours = lag(topic, group);
    let theirs = described_lag(topic, group);
    println!("--lag: {ours:?}\nConsumerGroupCommand: {theirs:?}");
    assert_eq!(
        ours.keys().collect::<BTreeSet<_>>(),
        theirs.keys().collect::<BTreeSet<_>>()
    );
    for (p, (committed, end, lag, owner)) in &ours {
        let (current, log_end, their_lag, consumer) = &theirs[p];
        assert_eq!(
            (committed, Some(*end), Some(*lag)),
            (current, *log_end, *their_lag),
            "{p}"
        );
        // Our owner is "MEMBER-ID (CLIENT-ID@HOST)"; theirs the member id.
        let owner_id = owner.as_deref().map(|o| o.split(' ').next().unwrap());
        assert_eq!(owner_id, consumer.as_deref(), "owner of {p}");
    }
    ours.values().map(|v| v.2).sum()
}

#[test]
fn lag_agrees_with_apache_consumer_group_command_for_a_group_behind() {
    let topic = util::topic("lag", 3);
    let group = util::unique("g");
    util::produce_orders(&topic, 900);
    let r = util::run(
        "order-consumer",
        &[
            "-t",
            &topic,
            "-g",
            &group,
            "--max-messages",
            "250",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json_lines().len(), 250);
    // Offsets start at 0 with no gaps, so what was read is what is committed.
    assert_eq!(assert_lag_agrees(&topic, &group), 900 - 250);

    // A member that holds the partitions but is behind: stopped (SIGSTOP) while orders arrive,
    // well within its session timeout.
    let args = ["-t", &topic, "-g", &group, "--format", "json"];
    let mut member = Proc::consumer("member", &args);
    member.wait_assigned(&topic, 0, "the assignment", |p| p.len() == 3);
    wait_until(SETTLE, "the rest read", || member.lines() >= 650);
    let ends = util::end_offsets(&topic);
    wait_until(SETTLE, "the rest committed", || {
        util::committed(util::broker(), &group, &topic) == ends
    });
    // It went on from the group's committed offsets: nothing read twice.
    assert_eq!(member.lines(), 650);
    member.signal("STOP");
    util::produce_orders(&topic, 300);
    let total = assert_lag_agrees(&topic, &group);
    member.signal("CONT");
    member.stop();
    assert_eq!(total, 300);
}
