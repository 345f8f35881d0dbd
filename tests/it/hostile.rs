//! A local socket that plays a hostile or silent broker at both binaries.
//!
//! Not a mock of Kafka: these tests claim nothing about Kafka, only that bytes no broker would send
//! (a 2 GiB frame, a negative length, a cut-off frame, a stranger's correlation id, noise, silence,
//! a Metadata answer that is noise, version ranges no client speaks) end each binary with one clear
//! `error:` line naming the broker and the request, exit code 1, in bounded time and memory. Both
//! binaries run under `/usr/bin/time` so their peak memory is measured, not guessed.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::edges::{Ended, Live};
use crate::util;

const API_VERSIONS: i16 = 18;

/// The client settings every case runs with, and the bound on its run time they imply.
const RETRIES: u64 = 2;
const BACKOFF_MS: u64 = 50;
const REQUEST_TIMEOUT_S: u64 = 2;

/// Request timeout × attempts + the one pause between them + 2 s for start-up and exit.
fn time_bound() -> Duration {
    Duration::from_millis(REQUEST_TIMEOUT_S * 1000 * RETRIES + BACKOFF_MS + 2000)
}

/// More than a small client needs by far, less than any buffer sized from a hostile length.
const PEAK_MEMORY_KB: u64 = 32 * 1024;

/// `(api key, min, max)` of a broker the client can talk to.
const USUAL_RANGES: [(i16, i16, i16); 13] = [
    (API_VERSIONS, 0, 3),
    (3, 0, 12), // Metadata
    (0, 3, 11), // Produce
    (1, 4, 17), // Fetch
    (2, 1, 9),  // ListOffsets
    (10, 0, 5), // FindCoordinator
    (8, 2, 9),  // OffsetCommit
    (9, 1, 9),  // OffsetFetch
    (22, 0, 5), // InitProducerId
    (11, 0, 9), // JoinGroup
    (14, 0, 5), // SyncGroup
    (12, 0, 4), // Heartbeat
    (13, 0, 5), // LeaveGroup
];

/// What the fake broker does with the requests it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Behaviour {
    /// Answers with a frame length of 0x7fffffff and holds the connection.
    HugeLength,
    /// Answers with a frame length of -1 and holds the connection.
    NegativeLength,
    /// Announces 100 bytes, sends 10, closes.
    Truncated,
    /// A well-formed ApiVersions answer under another request's correlation id.
    WrongCorrelationId,
    /// 64 bytes of noise, no framing.
    Garbage,
    /// Accepts and never writes a byte.
    Silent,
    /// A good ApiVersions answer, then a correctly framed Metadata answer made of noise.
    GarbledMetadata,
    /// ApiVersions says every other API is at versions 50..60, which no client speaks.
    NoCommonVersions,
}

/// A TCP listener on 127.0.0.1 that answers every connection with one [`Behaviour`]. Stops
/// accepting when dropped.
pub(crate) struct FakeBroker {
    pub(crate) addr: String,
    stop: Arc<AtomicBool>,
    /// API keys of the requests read, in order, over all connections.
    requests: Arc<Mutex<Vec<i16>>>,
}

impl FakeBroker {
    pub(crate) fn start(behaviour: Behaviour) -> FakeBroker {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (stopping, seen) = (Arc::clone(&stop), Arc::clone(&requests));
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let seen = Arc::clone(&seen);
                thread::spawn(move || serve(stream, behaviour, &seen));
            }
        });
        FakeBroker {
            addr,
            stop,
            requests,
        }
    }

    fn requests(&self) -> Vec<i16> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(&self.addr);
    }
}

/// Reads requests until the client goes away, answering each as `behaviour` says.
fn serve(mut stream: TcpStream, behaviour: Behaviour, seen: &Mutex<Vec<i16>>) {
    // A client that hangs on to a held connection longer than this has failed its test already.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    while let Some((api_key, api_version, correlation)) = read_request(&mut stream) {
        seen.lock().unwrap().push(api_key);
        let answer = match behaviour {
            Behaviour::HugeLength => [
                &0x7fff_ffff_i32.to_be_bytes()[..],
                &correlation.to_be_bytes(),
            ]
            .concat(),
            Behaviour::NegativeLength => {
                [&(-1i32).to_be_bytes()[..], &correlation.to_be_bytes()].concat()
            }
            Behaviour::Truncated => {
                let mut cut = 100i32.to_be_bytes().to_vec();
                cut.extend(correlation.to_be_bytes());
                cut.extend([0u8; 6]);
                let _ = stream.write_all(&cut);
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            Behaviour::WrongCorrelationId => {
                api_versions_answer(api_version, correlation.wrapping_add(1), &USUAL_RANGES)
            }
            Behaviour::Garbage => noise(64),
            Behaviour::Silent => Vec::new(),
            Behaviour::GarbledMetadata if api_key == API_VERSIONS => {
                api_versions_answer(api_version, correlation, &USUAL_RANGES)
            }
            Behaviour::GarbledMetadata => {
                let mut body = correlation.to_be_bytes().to_vec();
                body.extend(noise(64));
                framed(body)
            }
            Behaviour::NoCommonVersions if api_key == API_VERSIONS => {
                let ranges: Vec<(i16, i16, i16)> = USUAL_RANGES
                    .iter()
                    .map(|&(key, min, max)| {
                        if key == API_VERSIONS {
                            (key, min, max)
                        } else {
                            (key, 50, 60)
                        }
                    })
                    .collect();
                api_versions_answer(api_version, correlation, &ranges)
            }
            // A client that asks for more after being told nothing fits gets no answer, and the
            // test's time bound catches it.
            Behaviour::NoCommonVersions => Vec::new(),
        };
        if stream.write_all(&answer).is_err() {
            return;
        }
    }
}

/// `(api key, api version, correlation id)` of the next request; None once the client is gone.
fn read_request(stream: &mut TcpStream) -> Option<(i16, i16, i32)> {
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).ok()?;
    let size = i32::from_be_bytes(size);
    // Requests of these binaries to a broker without topics are small; anything else is a bug
    // the test should not feed into an allocation.
    if !(8..=1 << 20).contains(&size) {
        return None;
    }
    let mut body = vec![0u8; size as usize];
    stream.read_exact(&mut body).ok()?;
    Some((
        i16::from_be_bytes([body[0], body[1]]),
        i16::from_be_bytes([body[2], body[3]]),
        i32::from_be_bytes([body[4], body[5], body[6], body[7]]),
    ))
}

fn framed(body: Vec<u8>) -> Vec<u8> {
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend(body);
    out
}

/// An ApiVersions answer in the layout of the request's version: v0 is (error, array of ranges),
/// v1 and v2 add the throttle time, v3 and later are flexible (compact array, tagged fields).
/// Its response header is always v0, the correlation id alone, as the protocol specifies for
/// ApiVersions. A version past 3 gets the v0 layout with UNSUPPORTED_VERSION, as a real broker
/// answers, so the client can retry lower.
fn api_versions_answer(version: i16, correlation: i32, ranges: &[(i16, i16, i16)]) -> Vec<u8> {
    const UNSUPPORTED_VERSION: i16 = 35;
    let mut body = correlation.to_be_bytes().to_vec();
    if version > 3 {
        body.extend(UNSUPPORTED_VERSION.to_be_bytes());
        body.extend(1i32.to_be_bytes());
        for v in [API_VERSIONS, 0, 3] {
            body.extend(v.to_be_bytes());
        }
        return framed(body);
    }
    body.extend(0i16.to_be_bytes());
    if version >= 3 {
        // Compact array length: count + 1 as an unsigned varint, one byte for short lists.
        body.push(ranges.len() as u8 + 1);
        for &(key, min, max) in ranges {
            for v in [key, min, max] {
                body.extend(v.to_be_bytes());
            }
            body.push(0); // no tagged fields
        }
        body.extend(0i32.to_be_bytes()); // throttle time
        body.push(0); // no tagged fields
    } else {
        body.extend((ranges.len() as i32).to_be_bytes());
        for &(key, min, max) in ranges {
            for v in [key, min, max] {
                body.extend(v.to_be_bytes());
            }
        }
        if version >= 1 {
            body.extend(0i32.to_be_bytes());
        }
    }
    framed(body)
}

/// The same `n` bytes of noise every run (xorshift), so a failure repeats.
fn noise(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// How one binary ended against a fake broker.
struct Outcome {
    ended: Ended,
    elapsed: Duration,
    peak_kb: u64,
    /// What `/usr/bin/time` wrote: the peak RSS, after a line about the exit when it was not 0.
    time_report: String,
}

/// Runs `binary` against `broker` under `/usr/bin/time`, with the client settings above. The
/// process gets its own process group so a hang is killed whole (time and the binary).
fn run_against(binary: &str, broker: &str, extra: &[&str]) -> Outcome {
    let time = "/usr/bin/time";
    assert!(
        std::path::Path::new(time).exists(),
        "{time} measures peak memory here: install it with `apt-get install time` (`make test` does)"
    );
    let path = match binary {
        "order-producer" => env!("CARGO_BIN_EXE_order-producer"),
        _ => env!("CARGO_BIN_EXE_order-consumer"),
    };
    let report = std::env::temp_dir().join(util::unique("hostile-time"));
    let mut cmd = Command::new(time);
    cmd.arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(path)
        .args(["-b", broker])
        .args(["--retries", &RETRIES.to_string()])
        .args(["--retry-backoff-ms", &BACKOFF_MS.to_string()])
        .args(["--request-timeout", &REQUEST_TIMEOUT_S.to_string()])
        .args(["--connect-timeout", "2"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for (key, _) in std::env::vars() {
        if key.starts_with("KAFKA_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    let started = Instant::now();
    let live = Live::watch_group(cmd.spawn().expect("/usr/bin/time runs"));
    let ended = live.finish(time_bound() + Duration::from_secs(10));
    let elapsed = ended.at - started;
    let time_report = std::fs::read_to_string(&report).unwrap_or_default();
    let _ = std::fs::remove_file(&report);
    let peak_kb = time_report
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak memory in {time_report:?}: {}", ended.stderr));
    Outcome {
        ended,
        elapsed,
        peak_kb,
        time_report,
    }
}

/// Both binaries against one behaviour: exit 1 (no panic, abort or signal), one `error:` line that
/// names the broker and every word in `names`, within the time bound, in little memory.
fn both_binaries_fail_cleanly(behaviour: Behaviour, names: &[&str], within: Duration) {
    for binary in ["order-producer", "order-consumer"] {
        let fake = FakeBroker::start(behaviour);
        let out = run_against(binary, &fake.addr, &[]);
        let stderr = &out.ended.stderr;
        println!(
            "{binary} vs {behaviour:?}: exit {} after {:?}, peak {} KB, requests {:?}: {}",
            out.ended.code,
            out.elapsed,
            out.peak_kb,
            fake.requests(),
            stderr.lines().last().unwrap_or("")
        );
        assert!(
            !out.time_report.contains("terminated by signal"),
            "{binary} died of a signal: {}\n{stderr}",
            out.time_report
        );
        assert!(!stderr.contains("panicked"), "{binary} panicked: {stderr}");
        assert_eq!(out.ended.code, 1, "{binary} vs {behaviour:?}: {stderr}");
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(errors.len(), 1, "{binary}: one error line: {stderr}");
        let error = errors[0];
        assert!(
            error.contains(&fake.addr),
            "{binary}: names the broker: {error}"
        );
        for name in names {
            assert!(error.contains(name), "{binary}: names {name:?}: {error}");
        }
        assert!(
            out.elapsed < within,
            "{binary} vs {behaviour:?} took {:?}, bound {within:?}",
            out.elapsed
        );
        assert!(
            out.peak_kb < PEAK_MEMORY_KB,
            "{binary} vs {behaviour:?}: peak memory {} KB",
            out.peak_kb
        );
        assert_eq!(
            fake.requests().first(),
            Some(&API_VERSIONS),
            "{binary}: the first request on a connection is ApiVersions"
        );
    }
}

#[test]
fn a_frame_length_of_2_gib_is_refused_without_allocating_it() {
    both_binaries_fail_cleanly(Behaviour::HugeLength, &["ApiVersions"], time_bound());
}

#[test]
fn a_negative_frame_length_is_an_error_not_a_panic() {
    both_binaries_fail_cleanly(Behaviour::NegativeLength, &["ApiVersions"], time_bound());
}

#[test]
fn a_frame_cut_off_by_a_closed_connection_is_an_error() {
    both_binaries_fail_cleanly(Behaviour::Truncated, &["ApiVersions"], time_bound());
}

#[test]
fn an_answer_with_another_correlation_id_is_an_error() {
    both_binaries_fail_cleanly(
        Behaviour::WrongCorrelationId,
        &["ApiVersions"],
        time_bound(),
    );
}

#[test]
fn unframed_noise_is_an_error() {
    both_binaries_fail_cleanly(Behaviour::Garbage, &["ApiVersions"], time_bound());
}

#[test]
fn a_broker_that_accepts_and_never_answers_is_given_up_on_within_the_retry_bound() {
    both_binaries_fail_cleanly(Behaviour::Silent, &["ApiVersions"], time_bound());
}

#[test]
fn a_garbled_metadata_answer_after_good_versions_is_an_error_naming_metadata() {
    both_binaries_fail_cleanly(Behaviour::GarbledMetadata, &["Metadata"], time_bound());
}

#[test]
fn a_broker_with_no_version_in_common_is_refused_at_once_naming_its_range() {
    // Nothing to retry: the answer was clear. "In milliseconds" per the issue; 1 s leaves room
    // for a debug build's start-up.
    both_binaries_fail_cleanly(
        Behaviour::NoCommonVersions,
        &["50", "60"],
        Duration::from_secs(1),
    );
}
