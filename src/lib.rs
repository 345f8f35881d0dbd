//! Tiny blocking Kafka order producer and consumer.
//!
//! The pure core ([`order`], [`partition`], [`dead_letter`], [`config`]) has no I/O; [`broker`],
//! [`producer`] and [`consumer`] are the only modules that talk to Kafka through the `kafka` crate;
//! [`api_versions`] asks a broker which protocol versions it accepts.

pub mod api_versions;
pub mod broker;
pub mod config;
pub mod consumer;
pub mod dead_letter;
pub mod error;
pub mod order;
pub mod partition;
pub mod producer;

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
