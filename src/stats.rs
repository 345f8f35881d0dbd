//! Seeing inside a run: periodic figures (`--stats`, as one JSON object or in the Prometheus
//! text format for node_exporter's textfile collector) and a status line redrawn in place when
//! stderr is a terminal. Both cost nothing when off: a run asks [`Reporter::due`] and
//! [`Progress::due`], which compare one instant, before it gathers any figure.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::config::{Seeing, StatsFormat};
use crate::error::Error;

/// Whether a figure only grows or goes up and down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

/// One figure: its name (without prefix), what it means, its kind and value.
pub struct Figure {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub value: f64,
}

/// A figure that only grows: a count since the start.
pub fn counter(name: &'static str, help: &'static str, value: u64) -> Figure {
    Figure {
        name,
        help,
        kind: Kind::Counter,
        value: value as f64,
    }
}

/// A figure that goes up and down: a level, or a latency now.
pub fn gauge(name: &'static str, help: &'static str, value: f64) -> Figure {
    Figure {
        name,
        help,
        kind: Kind::Gauge,
        value,
    }
}

/// The per-partition figures of a consumer.
pub struct PartitionFigures {
    pub partition: i32,
    pub position: i64,
    pub committed: Option<i64>,
    pub high_watermark: Option<i64>,
}

impl PartitionFigures {
    /// Records between the position and the high watermark; unknown before the first fetch.
    pub fn lag(&self) -> Option<i64> {
        self.high_watermark.map(|hw| (hw - self.position).max(0))
    }
}

/// Everything one report says.
pub struct Figures<'a> {
    /// `producer` or `consumer`: the metric names' middle part.
    pub role: &'static str,
    pub topic: &'a str,
    pub figures: Vec<Figure>,
    pub partitions: Vec<PartitionFigures>,
}

/// Writes figures every `--stats` seconds.
pub struct Reporter {
    every: Duration,
    next: Instant,
    file: Option<PathBuf>,
    format: StatsFormat,
    started: Instant,
}

impl Reporter {
    pub fn new(seeing: &Seeing) -> Option<Reporter> {
        let every = seeing.stats?;
        Some(Reporter {
            every,
            next: Instant::now() + every,
            file: seeing.stats_file.clone(),
            format: seeing.stats_format,
            started: Instant::now(),
        })
    }

    /// Whether a report is due; when it is, the next one is scheduled.
    pub fn due(&mut self) -> bool {
        let now = Instant::now();
        if now < self.next {
            return false;
        }
        while self.next <= now {
            self.next += self.every;
        }
        true
    }

    /// Writes one report. A file is replaced whole (written beside it, then renamed), so a
    /// reader never sees half of one.
    pub fn write(&self, figures: &Figures<'_>) -> io::Result<()> {
        let text = match self.format {
            StatsFormat::Json => json_line(figures, self.started.elapsed()),
            StatsFormat::Prometheus => prometheus(figures),
        };
        match &self.file {
            None => {
                let mut err = io::stderr().lock();
                err.write_all(text.as_bytes())?;
                err.flush()
            }
            Some(path) => {
                let tmp = beside(path);
                std::fs::write(&tmp, text.as_bytes())
                    .and_then(|()| std::fs::rename(&tmp, path))
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
            }
        }
    }
}

/// Where a stats file is written before it is renamed into place.
fn beside(path: &Path) -> PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    tmp.into()
}

/// Checks, before a run connects, that the `--stats-file` can be written: its directory exists
/// and takes a new file. Otherwise each interval would fail alike, and the run look healthy.
pub fn check_stats_file(seeing: &Seeing) -> Result<(), Error> {
    let Some(path) = &seeing.stats_file else {
        return Ok(());
    };
    let tmp = beside(path);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .and_then(|_| std::fs::remove_file(&tmp));
    written.map_err(|e| {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let why = match dir.is_dir() {
            false => format!("its directory {} does not exist", dir.display()),
            true => format!("cannot create a file in {}: {e}", dir.display()),
        };
        Error::Usage(format!("--stats-file {}: {why}", path.display()))
    })
}

/// One JSON object on one line: `time_ms`, `elapsed_s`, the figures, and `partitions`.
pub fn json_line(figures: &Figures<'_>, elapsed: Duration) -> String {
    let mut object = Map::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    object.insert("type".into(), json!("stats"));
    object.insert("role".into(), json!(figures.role));
    object.insert("topic".into(), json!(figures.topic));
    object.insert("time_ms".into(), json!(now));
    object.insert(
        "elapsed_s".into(),
        json!((elapsed.as_secs_f64() * 1000.0).round() / 1000.0),
    );
    for f in &figures.figures {
        let value = if f.value.fract() == 0.0 && f.value.abs() < 9e15 {
            json!(f.value as i64)
        } else {
            json!(f.value)
        };
        object.insert(f.name.into(), value);
    }
    if figures.role == "consumer" {
        let partitions: Vec<Value> = figures
            .partitions
            .iter()
            .map(|p| {
                json!({
                    "partition": p.partition,
                    "position": p.position,
                    "committed": p.committed,
                    "high_watermark": p.high_watermark,
                    "lag": p.lag(),
                })
            })
            .collect();
        object.insert("partitions".into(), Value::Array(partitions));
    }
    let mut line = Value::Object(object).to_string();
    line.push('\n');
    line
}

/// The Prometheus text format: `order_kafka_<role>_<name>` with HELP and TYPE lines, and the
/// per-partition gauges labelled by topic and partition.
pub fn prometheus(figures: &Figures<'_>) -> String {
    let mut out = String::new();
    let role = figures.role;
    for f in &figures.figures {
        let (suffix, kind) = match f.kind {
            Kind::Counter => ("_total", "counter"),
            Kind::Gauge => ("", "gauge"),
        };
        let name = format!("order_kafka_{role}_{}{suffix}", f.name);
        let _ = writeln!(out, "# HELP {name} {}", f.help);
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "{name} {}", f.value);
    }
    if !figures.partitions.is_empty() {
        let series: [(&str, &str, PartitionValue); 4] = [
            ("position", "next offset this consumer reads", |p| {
                Some(p.position)
            }),
            ("committed_offset", "offset committed to the group", |p| {
                p.committed
            }),
            ("high_watermark", "the partition's high watermark", |p| {
                p.high_watermark
            }),
            (
                "lag",
                "records between the position and the high watermark",
                |p| p.lag(),
            ),
        ];
        for (metric, help, value) in series {
            let name = format!("order_kafka_{role}_partition_{metric}");
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            for p in &figures.partitions {
                if let Some(v) = value(p) {
                    let _ = writeln!(
                        out,
                        "{name}{{topic=\"{}\",partition=\"{}\"}} {v}",
                        escape_label(figures.topic),
                        p.partition
                    );
                }
            }
        }
    }
    out
}

/// Reads one per-partition figure.
type PartitionValue = fn(&PartitionFigures) -> Option<i64>;

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Ack latencies in milliseconds, for p50/p99/max.
#[derive(Debug, Default)]
pub struct Latencies {
    samples: std::collections::VecDeque<f64>,
    max: f64,
}

/// How many samples the percentiles are taken over: the most recent ones.
const LATENCY_WINDOW: usize = 10_000;

impl Latencies {
    pub fn record(&mut self, d: Duration) {
        let ms = d.as_secs_f64() * 1000.0;
        self.max = self.max.max(ms);
        if self.samples.len() == LATENCY_WINDOW {
            self.samples.pop_front();
        }
        self.samples.push_back(ms);
    }

    /// (p50, p99, max) in milliseconds, 0 before the first sample.
    pub fn summary(&self) -> (f64, f64, f64) {
        if self.samples.is_empty() {
            return (0.0, 0.0, 0.0);
        }
        let mut sorted: Vec<f64> = self.samples.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        let round = |v: f64| (v * 1000.0).round() / 1000.0;
        (round(at(0.5)), round(at(0.99)), round(self.max))
    }
}

/// Whether a status line is on the terminal now. One per process, as stderr is: the logger
/// clears the line before it writes, so a log line never lands at the end of the status line.
static DRAWN: AtomicBool = AtomicBool::new(false);

/// Clears the status line, if one is drawn, so that what `err` writes next starts a line of its
/// own. The next redraw puts the status line back, below.
pub fn clear_status_line(err: &mut dyn Write) {
    if DRAWN.swap(false, Ordering::SeqCst) {
        let _ = write!(err, "\r\x1b[K");
    }
}

/// Clears the status line, if one is drawn, before a line goes to stdout: when both are the
/// terminal, the line would otherwise land at the status line's end.
pub fn clear_before_output() {
    if DRAWN.load(Ordering::SeqCst) {
        clear_status_line(&mut io::stderr().lock());
    }
}

/// A status line on a terminal, redrawn in place at most five times a second once a run has
/// lasted a second, and cleared before the summary. Off when stderr is not a terminal.
pub struct Progress {
    enabled: bool,
    started: Instant,
    next: Instant,
}

impl Progress {
    pub fn new(seeing: &Seeing) -> Progress {
        let now = Instant::now();
        Progress {
            enabled: seeing.progress && io::stderr().is_terminal(),
            started: now,
            next: now + Duration::from_secs(1),
        }
    }

    /// Whether the line should be redrawn now.
    pub fn due(&mut self) -> bool {
        if !self.enabled {
            return false;
        }
        let now = Instant::now();
        if now < self.next {
            return false;
        }
        self.next = now + Duration::from_millis(200);
        true
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn draw(&mut self, line: &str) {
        let mut err = io::stderr().lock();
        let _ = write!(err, "\r\x1b[K{line}");
        let _ = err.flush();
        DRAWN.store(true, Ordering::SeqCst);
    }

    /// Removes the line, so the summary (or an error) starts on a clean line.
    pub fn clear(&mut self) {
        let mut err = io::stderr().lock();
        clear_status_line(&mut err);
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Figures<'static> {
        Figures {
            role: "consumer",
            topic: "orders",
            figures: vec![
                Figure {
                    name: "received",
                    help: "valid orders printed",
                    kind: Kind::Counter,
                    value: 42.0,
                },
                Figure {
                    name: "ack_latency_p99_ms",
                    help: "p99",
                    kind: Kind::Gauge,
                    value: 1.5,
                },
            ],
            partitions: vec![PartitionFigures {
                partition: 0,
                position: 40,
                committed: Some(30),
                high_watermark: Some(50),
            }],
        }
    }

    #[test]
    fn prometheus_text_has_help_type_and_labelled_partitions() {
        let text = prometheus(&sample());
        assert!(text.contains("# TYPE order_kafka_consumer_received_total counter\n"));
        assert!(text.contains("order_kafka_consumer_received_total 42\n"));
        assert!(text.contains("order_kafka_consumer_ack_latency_p99_ms 1.5\n"));
        assert!(text
            .contains("order_kafka_consumer_partition_lag{topic=\"orders\",partition=\"0\"} 10\n"));
        assert!(text.contains(
            "order_kafka_consumer_partition_committed_offset{topic=\"orders\",partition=\"0\"} 30\n"
        ));
    }

    #[test]
    fn the_json_line_holds_every_figure_and_partition() {
        let line = json_line(&sample(), Duration::from_millis(1500));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["received"], 42);
        assert_eq!(v["ack_latency_p99_ms"], 1.5);
        assert_eq!(v["elapsed_s"], 1.5);
        assert_eq!(v["partitions"][0]["lag"], 10);
        assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
    }

    #[test]
    fn latency_percentiles() {
        let mut l = Latencies::default();
        assert_eq!(l.summary(), (0.0, 0.0, 0.0));
        for ms in 1..=100 {
            l.record(Duration::from_millis(ms));
        }
        assert_eq!(l.summary(), (51.0, 99.0, 100.0));
    }
}
