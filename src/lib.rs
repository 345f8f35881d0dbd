//! Tiny blocking Kafka order producer and consumer.
//!
//! The pure core ([`order`], [`partition`], [`dead_letter`], [`config`]) has no I/O; [`client`] is
//! our own blocking Kafka client, the one seam to the wire; [`producer`] and [`consumer`] speak to
//! it in topics, partitions, offsets and records.

#[cfg(feature = "count-allocs")]
pub mod alloc_count;
// Linked for its `memcpy` symbol alone (the static x86_64 musl build).
#[cfg(feature = "fast-memcpy")]
use fastcopy as _;
pub mod avro;
pub mod base64;
pub mod cli;
pub mod client;
pub mod config;
pub mod consumer;
pub mod dead_letter;
pub mod error;
pub mod exit_codes;
pub mod forward;
pub mod input;
pub mod lag;
pub mod order;
pub mod partition;
pub mod producer;
pub mod properties;
pub mod registry;
pub mod spool;
pub mod stats;

pub use error::Error;

/// Diagnostics to stderr at `info` (`RUST_LOG=debug` and the like override), without
/// timestamps: the binaries are run by people and scripts, and journald adds its own.
pub fn init_logging() {
    let level = level_from(std::env::var("RUST_LOG").ok().as_deref());
    if log::set_logger(&STDERR_LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

/// The level `RUST_LOG` names: a level word (`debug`), or the last one in a list of
/// `target=level` directives; `info` when it names none.
fn level_from(spec: Option<&str>) -> log::LevelFilter {
    spec.into_iter()
        .flat_map(|s| s.split(','))
        .filter_map(|d| d.rsplit('=').next()?.trim().parse().ok())
        .next_back()
        .unwrap_or(log::LevelFilter::Info)
}

/// Writes `[LEVEL] message` lines to stderr.
struct StderrLogger;

static STDERR_LOGGER: StderrLogger = StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        // A closed stderr loses the line, and nothing else.
        if self.enabled(record.metadata()) {
            let line = format!("[{:<5}] {}\n", record.level(), record.args());
            let mut err = std::io::stderr().lock();
            stats::clear_status_line(&mut err);
            let _ = std::io::Write::write_all(&mut err, line.as_bytes());
        }
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_names_the_level() {
        use log::LevelFilter::*;
        let cases = [
            (None, Info),
            (Some("debug"), Debug),
            (Some("order_kafka=trace"), Trace),
            (Some("warn,order_kafka=debug"), Debug),
            (Some("nonsense"), Info),
            (Some("off"), Off),
        ];
        for (spec, expected) in cases {
            assert_eq!(level_from(spec), expected, "{spec:?}");
        }
    }
}
