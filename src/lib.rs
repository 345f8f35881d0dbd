//! Tiny blocking Kafka order producer and consumer.
//!
//! The pure core ([`order`], [`partition`], [`dead_letter`], [`config`]) has no I/O; [`client`] is
//! our own blocking Kafka client, the one seam to the wire; [`producer`] and [`consumer`] speak to
//! it in topics, partitions, offsets and records.

pub mod client;
pub mod config;
pub mod consumer;
pub mod dead_letter;
pub mod error;
pub mod exit_codes;
pub mod order;
pub mod partition;
pub mod producer;
pub mod stats;

pub use error::Error;

/// Diagnostics to stderr at `info` (`RUST_LOG` overrides), without timestamps: the binaries are
/// run by people and scripts, and journald adds its own.
pub fn init_logging() {
    env_logger::Builder::new()
        .filter_level(log::LevelFilter::Info)
        .parse_env("RUST_LOG")
        .format_timestamp(None)
        .format_target(false)
        .init();
}
