//! Kafka's error codes: whether retrying (after fresh metadata) can fix one, and what it means in
//! words a user can act on. The numbers are the protocol's; the table holds the ones this client
//! can meet.

use super::Failure;

/// The broker answered without an error.
pub const NONE: i16 = 0;
pub const OFFSET_OUT_OF_RANGE: i16 = 1;
pub const MESSAGE_TOO_LARGE: i16 = 10;
pub const RECORD_LIST_TOO_LARGE: i16 = 18;
pub const ILLEGAL_GENERATION: i16 = 22;
pub const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
pub const UNKNOWN_MEMBER_ID: i16 = 25;
pub const INVALID_SESSION_TIMEOUT: i16 = 26;
pub const REBALANCE_IN_PROGRESS: i16 = 27;
pub const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
pub const GROUP_AUTHORIZATION_FAILED: i16 = 30;
pub const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
pub const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
pub const ILLEGAL_SASL_STATE: i16 = 34;
pub const UNSUPPORTED_VERSION: i16 = 35;
pub const OUT_OF_ORDER_SEQUENCE: i16 = 45;
pub const DUPLICATE_SEQUENCE: i16 = 46;
pub const INVALID_PRODUCER_EPOCH: i16 = 47;
pub const SASL_AUTHENTICATION_FAILED: i16 = 58;
pub const CONCURRENT_TRANSACTIONS: i16 = 51;
pub const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
pub const OPERATION_NOT_ATTEMPTED: i16 = 55;
pub const UNKNOWN_PRODUCER_ID: i16 = 59;
pub const PRODUCER_FENCED: i16 = 90;
pub const GROUP_ID_NOT_FOUND: i16 = 69;
pub const MEMBER_ID_REQUIRED: i16 = 79;
pub const FENCED_INSTANCE_ID: i16 = 82;

/// (code, name, retriable, meaning)
const TABLE: &[(i16, &str, bool, &str)] = &[
    (-1, "UNKNOWN_SERVER_ERROR", false, "the broker failed with an unexpected error; see its log"),
    (1, "OFFSET_OUT_OF_RANGE", false, "the offset is outside the partition's log"),
    (2, "CORRUPT_MESSAGE", true, "a record failed its CRC check or is malformed"),
    (3, "UNKNOWN_TOPIC_OR_PARTITION", true, "the topic or partition does not exist"),
    (5, "LEADER_NOT_AVAILABLE", true, "the partition has no leader yet"),
    (6, "NOT_LEADER_OR_FOLLOWER", true, "this broker is no longer the partition's leader"),
    (7, "REQUEST_TIMED_OUT", true, "the broker timed out waiting for replicas"),
    (8, "BROKER_NOT_AVAILABLE", true, "the broker is not available"),
    (9, "REPLICA_NOT_AVAILABLE", true, "a replica is not available"),
    (10, "MESSAGE_TOO_LARGE", false, "the broker refused a record larger than it accepts (message.max.bytes, or the topic's max.message.bytes)"),
    (13, "NETWORK_EXCEPTION", true, "the broker lost a connection to another broker"),
    (14, "COORDINATOR_LOAD_IN_PROGRESS", true, "the group coordinator is still loading"),
    (15, "COORDINATOR_NOT_AVAILABLE", true, "the group coordinator is not available (on a single node, offsets.topic.replication.factor must be 1)"),
    (16, "NOT_COORDINATOR", true, "this broker is not the group's coordinator"),
    (17, "INVALID_TOPIC_EXCEPTION", false, "the topic name is not valid"),
    (18, "RECORD_LIST_TOO_LARGE", false, "the batch is larger than the broker accepts"),
    (19, "NOT_ENOUGH_REPLICAS", true, "fewer in-sync replicas than min.insync.replicas"),
    (20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", true, "written, but fewer in-sync replicas than min.insync.replicas"),
    (21, "INVALID_REQUIRED_ACKS", false, "the broker does not accept this acks setting"),
    (22, "ILLEGAL_GENERATION", false, "the group's generation moved on"),
    (23, "INCONSISTENT_GROUP_PROTOCOL", false, "the group's members use another protocol or assignor"),
    (24, "INVALID_GROUP_ID", false, "the group id is not valid"),
    (25, "UNKNOWN_MEMBER_ID", false, "the group does not know this member"),
    (26, "INVALID_SESSION_TIMEOUT", false, "the broker does not accept this session timeout (group.min.session.timeout.ms to group.max.session.timeout.ms)"),
    (27, "REBALANCE_IN_PROGRESS", true, "the group is rebalancing"),
    (28, "INVALID_COMMIT_OFFSET_SIZE", false, "the committed offset's metadata is too large"),
    (29, "TOPIC_AUTHORIZATION_FAILED", false, "not authorized to use the topic"),
    (30, "GROUP_AUTHORIZATION_FAILED", false, "not authorized to use the group"),
    (31, "CLUSTER_AUTHORIZATION_FAILED", false, "not authorized on the cluster"),
    (33, "UNSUPPORTED_SASL_MECHANISM", false, "the listener does not offer this SASL mechanism"),
    (34, "ILLEGAL_SASL_STATE", false, "the listener did not expect this SASL request"),
    (35, "UNSUPPORTED_VERSION", false, "the broker does not support this request version"),
    (42, "INVALID_REQUEST", false, "the broker found the request invalid"),
    (43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", false, "the topic's message format is too old"),
    (45, "OUT_OF_ORDER_SEQUENCE_NUMBER", false, "the broker saw an out-of-order sequence from this producer"),
    (46, "DUPLICATE_SEQUENCE_NUMBER", false, "the broker already has this batch"),
    (47, "INVALID_PRODUCER_EPOCH", false, "another producer with this id took over"),
    (48, "INVALID_TXN_STATE", false, "the transaction is not in a state for this request"),
    (49, "INVALID_PRODUCER_ID_MAPPING", false, "the transactional id has no such producer id (the transaction expired)"),
    (50, "INVALID_TRANSACTION_TIMEOUT", false, "the broker does not accept this transaction timeout (at most its transaction.max.timeout.ms)"),
    (51, "CONCURRENT_TRANSACTIONS", true, "the coordinator is still ending the last transaction of this id"),
    (52, "TRANSACTION_COORDINATOR_FENCED", false, "a newer transaction coordinator took over"),
    (53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", false, "not authorized to use the transactional id"),
    (55, "OPERATION_NOT_ATTEMPTED", false, "not attempted, because another part of the request failed"),
    (56, "KAFKA_STORAGE_ERROR", true, "the broker's disk holding the partition failed"),
    (58, "SASL_AUTHENTICATION_FAILED", false, "the login was refused"),
    (59, "UNKNOWN_PRODUCER_ID", false, "the broker no longer knows this producer id"),
    (69, "GROUP_ID_NOT_FOUND", false, "the group does not exist, or is not of the kind asked about"),
    (74, "FENCED_LEADER_EPOCH", true, "the leader epoch is older than the broker's"),
    (75, "UNKNOWN_LEADER_EPOCH", true, "the leader epoch is newer than the broker's"),
    (76, "UNSUPPORTED_COMPRESSION_TYPE", false, "the broker does not accept this compression type"),
    (78, "OFFSET_NOT_AVAILABLE", true, "the partition's offsets are not available yet"),
    (68, "NON_EMPTY_GROUP", false, "the group still has members"),
    (79, "MEMBER_ID_REQUIRED", false, "the group needs a member id"),
    (81, "GROUP_MAX_SIZE_REACHED", false, "the group has as many members as the broker's group.max.size allows"),
    (87, "INVALID_RECORD", false, "the broker refused a record as invalid"),
    (82, "FENCED_INSTANCE_ID", false, "another consumer runs with the same --instance-id"),
    (88, "UNSTABLE_OFFSET_COMMIT", true, "a transaction that commits offsets of this group is still open"),
    (89, "THROTTLING_QUOTA_EXCEEDED", true, "a quota is exceeded"),
    (90, "PRODUCER_FENCED", false, "a newer producer with this transactional id took over"),
    (120, "TRANSACTION_ABORTABLE", false, "the transaction must be aborted"),
];

fn entry(code: i16) -> Option<&'static (i16, &'static str, bool, &'static str)> {
    TABLE.iter().find(|e| e.0 == code)
}

/// Whether fresh metadata and another attempt may fix this error.
pub fn retriable(code: i16) -> bool {
    entry(code).is_some_and(|e| e.2)
}

/// The error in words, with its protocol name and number.
pub fn describe(code: i16) -> String {
    match entry(code) {
        Some((_, name, _, meaning)) => format!("{meaning} ({name}, error {code})"),
        None => format!("broker error {code} (a code this client has no name for)"),
    }
}

/// The error's protocol name and number, for words of a caller's own: "NAME, error N".
pub fn named(code: i16) -> String {
    match entry(code) {
        Some((_, name, _, _)) => format!("{name}, error {code}"),
        None => format!("error {code}"),
    }
}

/// The error of an operation on one resource in words: an ACL refusal says what this user may
/// not do (`action` on `resource`, "write" on "topic 'orders'"), anything else is [`describe`]d.
pub fn describe_for(code: i16, action: &str, resource: &str) -> String {
    match entry(code) {
        Some((_, name, _, _))
            if matches!(
                code,
                TOPIC_AUTHORIZATION_FAILED
                    | GROUP_AUTHORIZATION_FAILED
                    | CLUSTER_AUTHORIZATION_FAILED
            ) =>
        {
            format!(
                "not authorized to {action} {resource} ({name}, error {code}): no ACL of the \
                 cluster allows it for this user"
            )
        }
        _ => describe(code),
    }
}

/// The error that ends an operation (`what`) on `resource`: [`Error::Refused`] for an ACL
/// refusal, so that no fallback hides it, else [`Error::Broker`].
pub fn error_for(code: i16, action: &str, resource: &str, what: String) -> crate::Error {
    let cause = describe_for(code, action, resource);
    match code {
        TOPIC_AUTHORIZATION_FAILED | GROUP_AUTHORIZATION_FAILED | CLUSTER_AUTHORIZATION_FAILED => {
            crate::Error::Refused { what, cause }
        }
        _ => crate::Error::Broker { what, cause },
    }
}

/// An error answer as the failure of one attempt: a code another attempt may fix is
/// [`Failure::Stale`] (its words after `scope`, "group 'g'", when there is one), any other
/// [`Failure::Fatal`] with the error [`error_for`] makes of it.
pub fn failure(
    code: i16,
    scope: &str,
    action: &str,
    resource: &str,
    what: impl FnOnce() -> String,
) -> Failure {
    if retriable(code) {
        Failure::Stale(match scope {
            "" => describe(code),
            scope => format!("{scope}: {}", describe(code)),
        })
    } else {
        Failure::Fatal(error_for(code, action, resource, what()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_one_entry_per_code() {
        for (i, a) in TABLE.iter().enumerate() {
            assert!(
                TABLE[i + 1..].iter().all(|b| b.0 != a.0),
                "code {} twice",
                a.0
            );
        }
    }

    #[test]
    fn what_a_retry_can_fix() {
        let cases = [
            (NONE, false),
            (6, true),
            (5, true),
            (3, true),
            (16, true),
            (MESSAGE_TOO_LARGE, false),
            (29, false),
            (OUT_OF_ORDER_SEQUENCE, false),
            (999, false),
        ];
        for (code, expected) in cases {
            assert_eq!(retriable(code), expected, "code {code}");
        }
    }

    #[test]
    fn descriptions_name_the_error() {
        assert_eq!(
            describe(6),
            "this broker is no longer the partition's leader (NOT_LEADER_OR_FOLLOWER, error 6)"
        );
        assert_eq!(
            describe(999),
            "broker error 999 (a code this client has no name for)"
        );
        assert_eq!(
            describe_for(29, "write", "topic 'orders'"),
            "not authorized to write topic 'orders' (TOPIC_AUTHORIZATION_FAILED, error 29): no \
             ACL of the cluster allows it for this user"
        );
        assert_eq!(describe_for(6, "write", "topic 'orders'"), describe(6));
    }
}
