//! The rows of the store-and-forward settings (the `Store and forward` section of
//! `order-producer`): `--spool DIR` and what goes only with it.

use super::{flag, Rule, Setting};

pub const SPOOL: Setting = flag("spool")
    .value("DIR", Rule::Path)
    .env("KAFKA_SPOOL")
    .when_unset("none: send directly")
    .help(
        "store and forward: keep each order on disk in DIR before acknowledging it, then \
         forward it exactly once in Kafka transactions",
    );

pub const SPOOL_SYNC: Setting = flag("spool-sync")
    .value("WHEN", Rule::Choice(&["batch", "interval"]))
    .env("KAFKA_SPOOL_SYNC")
    .default("batch")
    .help(
        "fsync the spool before each batch of orders is acknowledged, or at most every 100 ms \
         (orders are acknowledged once fsynced either way)",
    );

pub const SPOOL_MAX_BYTES: Setting = flag("spool-max-bytes")
    .value("BYTES", Rule::int(4096, 1 << 40))
    .env("KAFKA_SPOOL_MAX_BYTES")
    .default("1073741824")
    .help(
        "most the spool may hold; when full, input waits while the forwarder makes room, and \
         is refused (exit 1) when nothing forwards",
    );

pub const TRANSACTIONAL_ID: Setting = flag("transactional-id")
    .value("ID", Rule::Text)
    .env("KAFKA_TRANSACTIONAL_ID")
    .property("transactional.id")
    .when_unset("the one kept in DIR/transactional-id")
    .help("transactional id of the spool's forwarder, and the group its position is kept in");

pub const TRANSACTION_TIMEOUT: Setting = flag("transaction-timeout")
    .value("SECS", Rule::decimal(1.0, 900.0))
    .env("KAFKA_TRANSACTION_TIMEOUT")
    .property_ms("transaction.timeout.ms")
    .default("60")
    .help("how long the coordinator keeps a forwarder's transaction open before aborting it");

pub const DRAIN: Setting = flag("drain").help("forward what is in the spool, then exit");

pub const FOLLOW: Setting = flag("follow").help(
    "forward orders as they arrive on standard input until it ends and all is forwarded, \
     waiting out an uplink that is down (never giving up on it)",
);

pub const SPOOL_QUARANTINE: Setting = flag("spool-quarantine").help(
    "move the spool's damaged segments aside (*.seg.damaged) so forwarding goes on past them, \
     giving up their orders; then exit",
);

pub const SPOOL_ONLY: Setting =
    flag("spool-only").help("only spool the orders; exit 0 with the count left to forward");
