//! The store-and-forward settings: what goes with `--spool`, and what each mode reads.

use super::*;
use crate::spool::Fsync;

#[test]
fn spool_settings_and_modes() {
    let c = producer_ok("--spool /var/spool/orders --count 10", &[]);
    let spool = c.spool.expect("a spool");
    assert_eq!(spool.dir, std::path::PathBuf::from("/var/spool/orders"));
    assert_eq!(spool.mode, SpoolMode::Forward);
    assert_eq!(spool.fsync, Fsync::Batch);
    assert_eq!(spool.max_bytes, 1 << 30);
    assert_eq!(spool.transactional_id, None);
    assert_eq!(spool.transaction_timeout, Duration::from_secs(60));
    let c = producer_ok(
        "--drain --spool-sync interval --transactional-id gw-7 -X transaction.timeout.ms=5000",
        &[("KAFKA_SPOOL", "/s"), ("KAFKA_SPOOL_MAX_BYTES", "65536")],
    );
    let spool = c.spool.expect("a spool");
    assert_eq!(spool.mode, SpoolMode::Drain);
    assert_eq!(spool.fsync, Fsync::Interval(SYNC_INTERVAL));
    assert_eq!(spool.max_bytes, 65536);
    assert_eq!(spool.transactional_id.as_deref(), Some("gw-7"));
    assert_eq!(spool.transaction_timeout, Duration::from_secs(5));
    let mode = |line: &str| producer_ok(line, &[]).spool.expect("a spool").mode;
    assert_eq!(mode("--spool d --stdin --follow"), SpoolMode::Follow);
    assert_eq!(mode("--spool d --spool-only -n 5"), SpoolMode::SpoolOnly);
    assert_eq!(mode("--spool d --spool-quarantine"), SpoolMode::Quarantine);
    assert_eq!(producer_ok("--count 3", &[]).spool, None);
}

#[test]
fn spool_settings_refused_where_they_do_not_apply() {
    check_producer(&[
        ("--drain", &[], "--drain: goes only with --spool DIR"),
        (
            "--spool-max-bytes 65536",
            &[],
            "--spool-max-bytes 65536: goes only with --spool DIR",
        ),
        (
            "--spool d --drain --follow",
            &[],
            "--follow: does not go with --drain",
        ),
        (
            "--spool d --drain --count 5",
            &[],
            "--count 5: does not go with --drain (it reads no input)",
        ),
        (
            "--spool d --spool-quarantine --stdin",
            &[],
            "--stdin does not go with --spool-quarantine (it reads no input)",
        ),
        (
            "--spool d --follow",
            &[],
            "--follow forwards orders as they arrive: give --stdin (or --drain to forward what \
             is in the spool)",
        ),
        (
            "--spool d --acks 1",
            &[],
            "--acks 1: does not go with --spool (its transactions wait for all replicas, \
             idempotently)",
        ),
        (
            "--spool d --no-idempotence",
            &[],
            "--no-idempotence: does not go with --spool (its transactions wait for all \
             replicas, idempotently)",
        ),
        ("--spool d --acks all -n 1", &[], "ok"),
        (
            "--spool d --stdin --rate 10",
            &[],
            "--rate 10: does not go with --spool (the spool takes orders as they come)",
        ),
        (
            "--spool d --stdin",
            &[("KAFKA_STATS_INTERVAL", "5")],
            "KAFKA_STATS_INTERVAL=5: does not go with --spool (a spooling run prints its counts \
             at the end only)",
        ),
        ("--spool d --stdin --serializer json", &[], "ok"),
        (
            "--spool d --spool-sync sometimes",
            &[],
            "--spool-sync sometimes: must be batch or interval",
        ),
        (
            "--spool d --spool-max-bytes 100",
            &[],
            "--spool-max-bytes 100: must be from 4096 to 1099511627776",
        ),
    ]);
}

#[cfg(feature = "registry")]
#[test]
fn the_registry_formats_do_not_go_with_the_spool() {
    check_producer(&[(
        "--spool d --stdin --serializer avro --schema-registry http://r:8081",
        &[],
        "--schema-registry http://r:8081: does not go with --spool (spooled orders are \
         forwarded as plain JSON)",
    )]);
}
