//! Reads orders from Kafka.
