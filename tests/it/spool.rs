//! Store and forward (`order-producer --spool DIR`), judged by a read_committed reader that is
//! not ours (kcat, librdkafka): orders spooled while the broker is down and drained once it is
//! up, a forwarder killed at random moments, a torn and a damaged spool, a locked, a read-only
//! and a full one, a transactional id taken over by another forwarder.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::util::{self, broker, run, spawn, unique};

/// A fresh spool directory of its own.
fn spool_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(&format!("spool-{name}")));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

/// The order ids of `--format json` "spooled" lines, in spool order (checked: consecutive
/// entries).
fn spooled_ids(stdout: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut next = None;
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let seq = v["spooled"].as_u64().unwrap();
        assert_eq!(*next.get_or_insert(seq), seq, "{line}");
        next = Some(seq + 1);
        ids.push(v["order"]["order_id"].as_str().unwrap().to_string());
    }
    ids
}

/// Every record of `topic` on `brokers` visible to read_committed, as kcat reads it:
/// (partition, order_id) in offset order per partition.
fn read_committed(brokers: &str, topic: &str) -> Vec<(i32, String)> {
    let out = util::tool_output(
        {
            let mut kcat = util::kcat();
            kcat.args(["-b", brokers, "-C", "-t", topic, "-e", "-q", "-u"])
                .args(["-X", "isolation.level=read_committed", "-f", "%p %k\\n"]);
            kcat
        },
        b"",
    );
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let (p, k) = l.split_once(' ').unwrap();
            (p.parse().unwrap(), k.to_string())
        })
        .collect()
}

/// Exactly once and in spool order per partition: every spooled id once, nothing else.
fn assert_exactly_once_in_order(spooled: &[String], stored: &[(i32, String)]) {
    let place: HashMap<&str, usize> = spooled
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let ids: Vec<String> = stored.iter().map(|(_, id)| id.clone()).collect();
    let (lost, duplicates) = util::lost_and_duplicates(spooled, &ids);
    let foreign = ids
        .iter()
        .filter(|id| !place.contains_key(id.as_str()))
        .count();
    assert_eq!(
        (lost, duplicates, foreign, stored.len()),
        (0, 0, 0, spooled.len()),
        "lost, duplicated, foreign, stored"
    );
    let mut last: HashMap<i32, usize> = HashMap::new();
    for (p, id) in stored {
        let at = place[id.as_str()];
        if let Some(before) = last.insert(*p, at) {
            assert!(
                before < at,
                "partition {p}: entry {at} after entry {before}"
            );
        }
    }
}

/// Spools `n` orders with `--spool-only`: their ids in spool order.
fn spool_only(dir: &Path, topic: &str, n: u64) -> Vec<String> {
    let count = n.to_string();
    let r = run(
        "order-producer",
        &[
            "--spool",
            path(dir),
            "--spool-only",
            "-t",
            topic,
            "--count",
            &count,
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("spooled {n}, forwarded 0")),
        "{}",
        r.stderr
    );
    spooled_ids(&r.stdout)
}

fn drain(brokers: &str, dir: &Path, topic: &str, extra: &[&str]) -> util::Run {
    let mut args = vec!["-b", brokers, "--spool", path(dir), "--drain", "-t", topic];
    args.extend_from_slice(extra);
    run("order-producer", &args)
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    found.sort();
    found
}

#[test]
fn orders_spooled_while_the_broker_is_down_are_drained_exactly_once_in_order() {
    let port = "26092";
    let brokers = format!("127.0.0.1:{port}");
    let dir = spool_dir("down");
    let topic = unique("spool-down");
    // No broker there yet: every order is spooled and acknowledged, and the run ends with 0
    // once the retry policy gives up on the uplink.
    let r = run(
        "order-producer",
        &[
            "-b",
            &brokers,
            "--spool",
            path(&dir),
            "-t",
            &topic,
            "--count",
            "5000",
            "--format",
            "json",
            "--retries",
            "2",
            "--retry-backoff-ms",
            "50",
            "--connect-timeout",
            "1",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let spooled = spooled_ids(&r.stdout);
    assert_eq!(spooled.len(), 5000);
    assert!(
        r.stderr
            .contains("spooled 5000, forwarded 0, left in the spool 5000"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("the uplink is down"), "{}", r.stderr);
    assert!(r.stderr.contains("--drain"), "{}", r.stderr);

    let _own = util::OwnBroker::start(&[("KAFKA_PORT", port), ("KAFKA_HEAP", "256m")]);
    util::kafka_local(port, &["topic", &topic, "3"]);
    let r = drain(&brokers, &dir, &topic, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("forwarded 5000, left in the spool 0"),
        "{}",
        r.stderr
    );
    assert_exactly_once_in_order(&spooled, &read_committed(&brokers, &topic));
    // Drained again: nothing more to send, nothing sent twice.
    let r = drain(&brokers, &dir, &topic, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("forwarded 0, left in the spool 0"),
        "{}",
        r.stderr
    );
    assert_eq!(read_committed(&brokers, &topic).len(), 5000);
}

/// A small random number generator (xorshift), seeded from the clock and printed, so that a
/// failing run can be told apart.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn a_forwarder_killed_at_random_moments_forwards_each_order_exactly_once() {
    let dir = spool_dir("kill");
    let topic = util::topic("spool-kill", 2);
    let spooled = spool_only(&dir, &topic, 20_000);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill test seed {seed}");
    let mut rng = Rng(seed);
    let args = [
        "-b",
        broker(),
        "--spool",
        path(&dir),
        "--drain",
        "-t",
        &topic,
        "--batch-size",
        "20",
    ];
    let (mut kills, mut finished) = (0, 0);
    let started = Instant::now();
    while kills < 20 {
        let mut child = spawn("order-producer", &args);
        // From just after start-up (fencing, resuming) to well into the drain.
        std::thread::sleep(Duration::from_millis(30 + rng.below(270)));
        if child.try_wait().unwrap().is_some() {
            finished += 1;
            // Drained before the kill: spool again? No: the spool is done; stop killing.
            break;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        assert!(started.elapsed() < Duration::from_secs(150), "too slow");
    }
    let r = drain(broker(), &dir, &topic, &["--batch-size", "20"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    eprintln!(
        "killed {kills} times, {finished} drains finished before their kill, last: {}",
        r.stderr.lines().last().unwrap_or_default()
    );
    assert!(
        kills >= 20,
        "only {kills} kills landed before the drain finished"
    );
    assert!(segments(&dir).len() <= 1, "forwarded segments are deleted");
    assert_exactly_once_in_order(&spooled, &read_committed(broker(), &topic));
}

#[test]
fn a_torn_last_entry_is_cut_and_a_damaged_one_stops_the_forwarder_until_moved_aside() {
    // Torn: the last entry cut in the middle, as a power cut mid-append leaves it.
    let dir = spool_dir("torn");
    let topic = util::topic("spool-torn", 1);
    let spooled = spool_only(&dir, &topic, 100);
    let seg = segments(&dir).pop().unwrap();
    let len = std::fs::metadata(&seg).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 20)
        .unwrap();
    let r = drain(broker(), &dir, &topic, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("[WARN"), "{}", r.stderr);
    assert!(
        r.stderr.contains(path(&seg)),
        "the warning names the file: {}",
        r.stderr
    );
    assert!(r.stderr.contains("forwarded 99"), "{}", r.stderr);
    assert_exactly_once_in_order(&spooled[..99], &read_committed(broker(), &topic));

    // Damaged: a byte flipped in the middle of a segment that more entries follow.
    let dir = spool_dir("damaged");
    let topic = util::topic("spool-damaged", 1);
    let spooled = spool_only(&dir, &topic, 100);
    let seg = segments(&dir).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&seg, &bytes).unwrap();
    let r = drain(broker(), &dir, &topic, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(path(&seg)),
        "names the file: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("offset"),
        "names the offset: {}",
        r.stderr
    );
    // What the forwarder sent before the damage is committed, nothing after it.
    let stored = read_committed(broker(), &topic);
    assert!(stored.len() < 100, "{}", stored.len());
    eprintln!(
        "damaged: {} orders forwarded before the damage",
        stored.len()
    );
    assert_exactly_once_in_order(&spooled[..stored.len()], &stored);
    assert!(
        r.stderr.contains("--spool-quarantine"),
        "says what to do: {}",
        r.stderr
    );
    // The documented command moves the segment aside; forwarding goes on after it.
    let r = run(
        "order-producer",
        &["--spool", path(&dir), "--spool-quarantine"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let damaged = format!("{}.damaged", path(&seg));
    assert!(
        r.stdout.contains(&format!("moved aside: {damaged}")),
        "{}",
        r.stdout
    );
    assert!(Path::new(&damaged).exists());
    let r = run(
        "order-producer",
        &[
            "-b",
            broker(),
            "--spool",
            path(&dir),
            "-t",
            &topic,
            "--count",
            "10",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut expected = spooled[..stored.len()].to_vec();
    expected.extend(spooled_ids(&r.stdout));
    assert_exactly_once_in_order(&expected, &read_committed(broker(), &topic));
}

#[test]
fn a_second_process_on_one_spool_is_refused() {
    let dir = spool_dir("locked");
    let topic = util::topic("spool-locked", 1);
    let mut first = util::spawn_with_stdin(
        "order-producer",
        &["--spool", path(&dir), "--follow", "--stdin", "-t", &topic],
    );
    // The first one holds the lock once it spooled its first order.
    let order = br#"{"order_id":"6f1c9b0e-3c1a-4c57-9d6a-0d1f6b3f2a11","user":"alice","item":"book","quantity":1}"#;
    let stdin = first.stdin.as_mut().unwrap();
    stdin.write_all(order).unwrap();
    stdin.write_all(b"\n").unwrap();
    stdin.flush().unwrap();
    let lock_taken = Instant::now();
    while std::fs::metadata(dir.join("lock")).is_err() {
        assert!(lock_taken.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let r = run(
        "order-producer",
        &[
            "--spool",
            path(&dir),
            "--spool-only",
            "--count",
            "1",
            "-t",
            &topic,
        ],
    );
    drop(first.stdin.take());
    let _ = first.kill();
    first.wait().unwrap();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("error: spool"), "{}", r.stderr);
    assert!(r.stderr.contains(path(&dir)), "{}", r.stderr);
}

#[test]
fn a_read_only_spool_directory_is_a_clear_error() {
    let dir = spool_dir("read-only");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", path(&dir)])
        .status()
        .unwrap();
    assert!(mounted.success(), "mount (the tests run as root)");
    let r = run(
        "order-producer",
        &["--spool", path(&dir), "--spool-only", "--count", "1"],
    );
    let _ = Command::new("umount").arg(&dir).status();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains(path(&dir)), "{}", r.stderr);
    assert!(r.stderr.contains("ead-only"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "nothing acknowledged: {}", r.stdout);
}

#[test]
fn a_full_disk_acknowledges_only_what_is_on_disk() {
    let dir = spool_dir("full-disk");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs", path(&dir)])
        .status()
        .unwrap();
    assert!(mounted.success(), "mount (the tests run as root)");
    let r = run(
        "order-producer",
        &[
            "--spool",
            path(&dir),
            "--spool-only",
            "--count",
            "5000",
            "--batch-size",
            "50",
            "--format",
            "json",
        ],
    );
    let on_disk = segments(&dir)
        .iter()
        .map(|s| std::fs::metadata(s).unwrap().len())
        .sum::<u64>();
    let _ = Command::new("umount").arg(&dir).status();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("No space left"), "{}", r.stderr);
    let acked = spooled_ids(&r.stdout).len() as u64;
    assert!(acked > 0 && acked < 5000, "{acked}");
    // Each acknowledged entry takes its ~110 bytes of JSON and 8 of framing on disk.
    assert!(
        acked * 100 <= on_disk,
        "{acked} acknowledged, {on_disk} bytes on disk"
    );
}

#[test]
fn a_transactional_id_taken_over_by_another_forwarder_is_a_clear_error() {
    let topic = util::topic("spool-fenced", 1);
    let id = unique("fenced-id");
    let (first_dir, second_dir) = (spool_dir("fenced-a"), spool_dir("fenced-b"));
    let order = |n: u32| {
        format!(
            "{{\"order_id\":\"6f1c9b0e-3c1a-4c57-9d6a-0d1f6b3f2a{n:02}\",\"user\":\"alice\",\
             \"item\":\"book\",\"quantity\":1}}\n"
        )
    };
    let mut first = util::spawn_with_stdin(
        "order-producer",
        &[
            "-b",
            broker(),
            "--spool",
            path(&first_dir),
            "--follow",
            "--stdin",
            "-t",
            &topic,
            "--transactional-id",
            &id,
            "--format",
            "json",
        ],
    );
    let stdin = first.stdin.as_mut().unwrap();
    stdin.write_all(order(1).as_bytes()).unwrap();
    stdin.flush().unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    while read_committed(broker(), &topic).is_empty() {
        assert!(
            Instant::now() < until,
            "the first forwarder forwarded nothing"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // A second forwarder with the same id takes over (a newer epoch), and then finds that
    // the id's position is another spool's ...
    let r = drain(broker(), &second_dir, &topic, &["--transactional-id", &id]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("the transactional id is another spool's"),
        "{}",
        r.stderr
    );
    // ... so the first one's next transaction is refused, and it says why.
    let stdin = first.stdin.as_mut().unwrap();
    stdin.write_all(order(2).as_bytes()).unwrap();
    stdin.flush().unwrap();
    let out = first.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "transactional id '{id}' is in use by another producer"
        )),
        "{stderr}"
    );
    let stored: HashSet<String> = read_committed(broker(), &topic)
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(stored.len(), 1, "the first's first order only");
    assert!(!stored.contains("6f1c9b0e-3c1a-4c57-9d6a-0d1f6b3f2a02"));
}

/// The README's spool commands, run as written (on a spool and topic of their own).
#[test]
fn the_readme_spool_commands_run() {
    let readme = util::read_file(&util::project_dir().join("README.md"));
    let block = readme
        .split("## Unreliable uplinks: the spool")
        .nth(1)
        .and_then(|s| s.split("```sh").nth(1))
        .and_then(|b| b.split("```").next())
        .expect("the section has a sh block");
    let dir = spool_dir("readme");
    let topic = util::topic("spool-readme", 2);
    let mut ran = 0;
    for command in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let command = command
            .replace("order-producer", env!("CARGO_BIN_EXE_order-producer"))
            .replace("/tmp/order-spool", path(&dir))
            .replace("-t orders", &format!("-t {topic}"));
        let out = Command::new("bash")
            .args(["-c", &command])
            .env("KAFKA_BROKERS", broker())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`{command}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    assert_eq!(ran, 4);
    let stored: Vec<String> = read_committed(broker(), &topic)
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    let unique: HashSet<&String> = stored.iter().collect();
    assert_eq!((stored.len(), unique.len()), (2001, 2001));
}

#[test]
fn killing_the_partition_leader_of_a_3_node_cluster_during_a_drain_forwards_each_order_once() {
    // Once is enough: on the older line `make test` runs the single-node tests only.
    if util::kafka_version() != util::pinned_version() {
        eprintln!(
            "the leader kill runs on Kafka {} only",
            util::pinned_version()
        );
        return;
    }
    let (cluster, brokers) = util::OwnBroker::cluster();
    let topic = unique("spool-leader");
    let topics = |args: &[&str]| {
        let mut all = vec![
            "run",
            "org.apache.kafka.tools.TopicCommand",
            "--bootstrap-server",
            &brokers,
            "--topic",
            &topic,
        ];
        all.extend_from_slice(args);
        cluster.run(&all)
    };
    topics(&["--create", "--partitions", "1", "--replication-factor", "3"]);
    let dir = spool_dir("leader");
    let spooled = spool_only(&dir, &topic, 20_000);
    let drain = spawn(
        "order-producer",
        &[
            "-b",
            &brokers,
            "--spool",
            path(&dir),
            "--drain",
            "-t",
            &topic,
            "--batch-size",
            "100",
            "--retries",
            "30",
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));
    let leader: u32 = topics(&["--describe"])
        .split("Leader: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("a leader");
    let pid = util::read_file(
        &util::kafka_data().join(format!("{}/kafka.pid", 21092 + 2 * (leader - 1))),
    );
    assert!(Command::new("kill")
        .args(["-9", pid.trim()])
        .status()
        .unwrap()
        .success());
    let out = util::Run::from(drain.wait_with_output().unwrap());
    let retries: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("retrying"))
        .collect();
    eprintln!(
        "killed leader node {leader} during the drain: {} ({} retries, the first: {})",
        out.stderr.lines().last().unwrap_or_default(),
        retries.len(),
        retries.first().unwrap_or(&"none")
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_exactly_once_in_order(&spooled, &read_committed(&brokers, &topic));
}

#[test]
fn a_full_spool_waits_for_the_forwarder_and_refuses_when_nothing_forwards() {
    let topic = util::topic("spool-full", 1);
    let args = |dir: &Path, only: bool| {
        let mut args = vec!["-b", broker(), "--spool", path(dir), "-t", &topic];
        args.extend(["--spool-max-bytes", "65536", "--count", "3000"]);
        args.extend(["--batch-size", "100", "--format", "json"]);
        if only {
            args.push("--spool-only");
        }
        args.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let run_args = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run("order-producer", &args)
    };
    // A forwarder makes room: the input waits, says so, and every order arrives once.
    let dir = spool_dir("full-forwarding");
    let r = run_args(args(&dir, false));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("is full"), "{}", r.stderr);
    let spooled = spooled_ids(&r.stdout);
    assert_eq!(spooled.len(), 3000);
    assert_exactly_once_in_order(&spooled, &read_committed(broker(), &topic));
    // Nothing forwards: what does not fit is refused with exit 1, never dropped silently.
    let dir = spool_dir("full-only");
    let r = run_args(args(&dir, true));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("orders refused"), "{}", r.stderr);
    let acked = spooled_ids(&r.stdout).len();
    // An order takes at least 90 bytes of JSON and framing.
    assert!(acked > 0 && acked * 90 <= 65536, "{acked} acknowledged");
    assert!(
        r.stderr.contains(&format!("spooled {acked}, forwarded 0")),
        "{}",
        r.stderr
    );
}

#[test]
fn a_following_forwarder_waits_out_an_uplink_that_is_down() {
    let port = "27092";
    let brokers = format!("127.0.0.1:{port}");
    let dir = spool_dir("follow");
    let topic = unique("spool-follow");
    let mut follower = util::spawn_with_stdin(
        "order-producer",
        &[
            "-b",
            &brokers,
            "--spool",
            path(&dir),
            "--follow",
            "--stdin",
            "-t",
            &topic,
            "--format",
            "json",
            "--retries",
            "2",
            "--retry-backoff-ms",
            "50",
            "--connect-timeout",
            "1",
        ],
    );
    let orders = |from: u32| -> String {
        (from..from + 100)
            .map(|n| {
                format!(
                    "{{\"order_id\":\"7a1c9b0e-3c1a-4c57-9d6a-{n:012}\",\"user\":\"alice\",\
                     \"item\":\"book\",\"quantity\":1}}\n"
                )
            })
            .collect()
    };
    let stdin = follower.stdin.as_mut().unwrap();
    stdin.write_all(orders(0).as_bytes()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let _own = util::OwnBroker::start(&[("KAFKA_PORT", port), ("KAFKA_HEAP", "256m")]);
    let stdin = follower.stdin.as_mut().unwrap();
    stdin.write_all(orders(100).as_bytes()).unwrap();
    let out = util::Run::from(follower.wait_with_output().unwrap());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("forwarding again in"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("spooled 200, forwarded 200, left in the spool 0"),
        "{}",
        out.stderr
    );
    let spooled = spooled_ids(&out.stdout);
    assert_exactly_once_in_order(&spooled, &read_committed(&brokers, &topic));
}
