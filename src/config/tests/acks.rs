//! Acks and idempotence, and how the two constrain each other.

use super::*;

#[test]
fn idempotence_needs_acks_all_only_when_asked_for() {
    let idempotence = |line: &str, vars: &[(&str, &str)]| {
        let c = producer_ok(line, vars);
        (c.acks, c.idempotence)
    };
    assert_eq!(idempotence("", &[]), (Acks::All, true));
    assert_eq!(idempotence("--acks -1", &[]), (Acks::All, true));
    assert_eq!(idempotence("--acks 1", &[]), (Acks::Leader, false));
    assert_eq!(idempotence("--no-idempotence", &[]), (Acks::All, false));
    assert_eq!(
        idempotence("--no-idempotence --idempotence", &[]),
        (Acks::All, true)
    );
    let off = [("KAFKA_ENABLE_IDEMPOTENCE", "false")];
    assert_eq!(idempotence("", &off), (Acks::All, false));
    let on = [("KAFKA_ENABLE_IDEMPOTENCE", "TRUE")];
    assert_eq!(idempotence("", &on), (Acks::All, true));
    assert_eq!(
        idempotence("--acks 0 --no-idempotence", &on),
        (Acks::None, false)
    );
    check_producer(&[
        (
            "--acks 1 --idempotence",
            &[],
            "--acks 1: does not go with --idempotence: idempotence needs --acks all",
        ),
        (
            "--idempotence --no-idempotence --idempotence --acks 0",
            &[],
            "--acks 0: does not go with --idempotence: idempotence needs --acks all",
        ),
        (
            "--acks 0",
            &[("KAFKA_ENABLE_IDEMPOTENCE", "true")],
            "--acks 0: does not go with KAFKA_ENABLE_IDEMPOTENCE=true: idempotence needs \
             --acks all",
        ),
        (
            "",
            &[("KAFKA_ENABLE_IDEMPOTENCE", "yes")],
            "KAFKA_ENABLE_IDEMPOTENCE=yes: must be true or false",
        ),
        (
            "--no-idempotence",
            &[("KAFKA_ENABLE_IDEMPOTENCE", "yes")],
            "ok",
        ),
    ]);
}
