//! Integration tests: the real binaries against a real Apache Kafka broker.
//!
//! One test binary (see matklad's "Delete Cargo Integration Tests"); each test uses its own topic
//! and group, so they run in parallel.

mod codecs;
mod consumer;
mod edges;
mod failures;
mod faults;
mod group_edges;
mod groups;
mod hostile;
mod producer;
mod project;
mod registry;
mod schema;
mod secured;
mod spool;
mod stats;
mod usage;
mod util;
