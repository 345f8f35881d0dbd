//! Integration tests: the real binaries against a real Apache Kafka broker.
//!
//! One test binary (see matklad's "Delete Cargo Integration Tests"); each test uses its own topic
//! and group, so they run in parallel.

mod consumer;
mod faults;
mod producer;
mod project;
mod util;
