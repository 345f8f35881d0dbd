//! Every request, in every version the client negotiates, built once with the `kafka-protocol`
//! crate (generated from the same schemas) and once with ours: the frames (size, header, body)
//! must be the same bytes. Each is built twice (`set`): with a nullable field null and then set
//! where the request has one (group.instance.id, SyncGroup's protocol name), else with another
//! value of a flag (auto-creation, isolation, acks, a key over 127 bytes).

use std::ops::RangeInclusive;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages as kp;
use kafka_protocol::protocol::{Encodable, HeaderVersion, StrBytes};

use super::*;
use crate::client::{cluster, describe, fetch, group, heartbeat, membership, produce, txn};

const CLIENT_ID: &str = "order-consumer-7";
const CORRELATION: i32 = 0x0102_0304;

fn s(x: &str) -> StrBytes {
    StrBytes::from_string(x.to_string())
}

fn topic(x: &str) -> kp::TopicName {
    kp::TopicName(s(x))
}

fn theirs<R: Encodable + HeaderVersion>(api: ApiKey, version: i16, request: &R) -> Vec<u8> {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&[0; 4]);
    kp::RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(CORRELATION)
        .with_client_id(Some(s(CLIENT_ID)))
        .encode(&mut buf, R::header_version(version))
        .unwrap();
    request.encode(&mut buf, version).unwrap();
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    buf.to_vec()
}

fn ours(api: ApiKey, version: i16, request: &impl Request) -> Vec<u8> {
    // A used buffer, as a connection's is.
    let mut out = vec![0xEE; 3];
    frame(&mut out, api, version, CORRELATION, CLIENT_ID, request).unwrap();
    out
}

/// For each version and both variants (`set`: nullable fields set where the version has them),
/// `build` gives the same request twice; their frames must be equal.
fn check<T: Encodable + HeaderVersion, O: Request>(
    api: ApiKey,
    versions: RangeInclusive<i16>,
    build: impl Fn(i16, bool) -> (T, O),
) {
    for version in versions {
        for set in [false, true] {
            let (t, o) = build(version, set);
            let (want, got) = (theirs(api, version, &t), ours(api, version, &o));
            assert_eq!(
                got, want,
                "{api:?} v{version} (nullable fields set: {set}): ours, then kafka-protocol's"
            );
        }
    }
}

const ALL: [ApiKey; 22] = [
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::Metadata,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::FindCoordinator,
    ApiKey::JoinGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::SyncGroup,
    ApiKey::DescribeGroups,
    ApiKey::DescribeConfigs,
    ApiKey::SaslHandshake,
    ApiKey::ApiVersions,
    ApiKey::InitProducerId,
    ApiKey::AddPartitionsToTxn,
    ApiKey::AddOffsetsToTxn,
    ApiKey::EndTxn,
    ApiKey::TxnOffsetCommit,
    ApiKey::SaslAuthenticate,
    ApiKey::ConsumerGroupDescribe,
];

#[test]
fn api_keys_name_number_and_header_versions_match_kafka_protocol() {
    for api in ALL {
        let theirs = kp::ApiKey::try_from(api as i16).unwrap();
        assert_eq!(format!("{api:?}"), format!("{theirs:?}"));
        for version in 0..=13 {
            assert_eq!(
                api.response_header_version(version),
                theirs.response_header_version(version),
                "{api:?} v{version} response header"
            );
            assert_eq!(
                api.request_header_version(version),
                theirs.request_header_version(version),
                "{api:?} v{version} request header"
            );
        }
    }
}

#[test]
fn connection_requests() {
    check(ApiKey::ApiVersions, 0..=txn::API_VERSIONS, |version, _| {
        let theirs = match version >= 3 {
            true => kp::ApiVersionsRequest::default()
                .with_client_software_name(s(SOFTWARE_NAME))
                .with_client_software_version(s(env!("CARGO_PKG_VERSION"))),
            false => kp::ApiVersionsRequest::default(),
        };
        (theirs, ApiVersionsRequest)
    });
    check(ApiKey::SaslHandshake, 1..=1, |_, _| {
        (
            kp::SaslHandshakeRequest::default().with_mechanism(s("SCRAM-SHA-512")),
            SaslHandshakeRequest {
                mechanism: "SCRAM-SHA-512",
            },
        )
    });
    let token = b"n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL".to_vec();
    check(ApiKey::SaslAuthenticate, 0..=2, |_, _| {
        (
            kp::SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token.clone())),
            SaslAuthenticateRequest { auth_bytes: &token },
        )
    });
}

#[test]
fn metadata() {
    let topics = [
        "orders".to_string(),
        "orders.dlq".to_string(),
        "é".repeat(70),
    ];
    check(ApiKey::Metadata, cluster::METADATA, |_, create| {
        (
            kp::MetadataRequest::default()
                .with_topics(Some(
                    topics
                        .iter()
                        .map(|t| {
                            kp::metadata_request::MetadataRequestTopic::default()
                                .with_name(Some(topic(t)))
                        })
                        .collect(),
                ))
                .with_allow_auto_topic_creation(create),
            MetadataRequest {
                topics: &topics,
                allow_auto_topic_creation: create,
            },
        )
    });
}

#[test]
fn fetch_and_list_offsets() {
    let parts = [(0, 0, 1 << 20), (3, 1_234_567_890_123, 65536), (11, 42, 7)];
    check(ApiKey::Fetch, fetch::FETCH, |_, committed| {
        let isolation = i8::from(committed);
        (
            kp::FetchRequest::default()
                .with_max_wait_ms(500)
                .with_min_bytes(1)
                .with_max_bytes(52_428_800)
                .with_isolation_level(isolation)
                .with_session_epoch(-1)
                .with_topics(vec![kp::fetch_request::FetchTopic::default()
                    .with_topic(topic("orders"))
                    .with_partitions(
                        parts
                            .iter()
                            .map(|&(p, o, m)| {
                                kp::fetch_request::FetchPartition::default()
                                    .with_partition(p)
                                    .with_fetch_offset(o)
                                    .with_partition_max_bytes(m)
                            })
                            .collect(),
                    )]),
            FetchRequest {
                max_wait_ms: 500,
                min_bytes: 1,
                max_bytes: 52_428_800,
                isolation_level: isolation,
                topic: "orders",
                partitions: parts
                    .iter()
                    .map(
                        |&(partition, fetch_offset, partition_max_bytes)| FetchPartition {
                            partition,
                            fetch_offset,
                            partition_max_bytes,
                        },
                    )
                    .collect(),
            },
        )
    });
    let partitions = [0, 5, 9, 2];
    check(
        ApiKey::ListOffsets,
        fetch::LIST_OFFSETS,
        |version, latest| {
            let timestamp = if latest { -1 } else { -2 };
            // v1 has no isolation level: kafka-protocol refuses a set one (as ours does, below).
            let isolation = i8::from(version >= 2);
            (
                kp::ListOffsetsRequest::default()
                    .with_replica_id((-1).into())
                    .with_isolation_level(isolation)
                    .with_topics(vec![kp::list_offsets_request::ListOffsetsTopic::default()
                        .with_name(topic("orders"))
                        .with_partitions(
                            partitions
                                .iter()
                                .map(|&p| {
                                    kp::list_offsets_request::ListOffsetsPartition::default()
                                        .with_partition_index(p)
                                        .with_timestamp(timestamp)
                                })
                                .collect(),
                        )]),
                ListOffsetsRequest {
                    isolation_level: isolation,
                    topic: "orders",
                    partitions: &partitions,
                    timestamp,
                },
            )
        },
    );
}

#[test]
fn group_offsets() {
    // A key over 127 bytes takes a two-byte compact length.
    let keys = ["orders-app".to_string(), "g".repeat(300)];
    check(
        ApiKey::FindCoordinator,
        group::FIND_COORDINATOR,
        |version, long| {
            let key = &keys[usize::from(long)];
            // A transactional id's coordinator from v1, which brings the key type.
            let key_type = match long && version >= 1 {
                true => TRANSACTION_KEY,
                false => GROUP_KEY,
            };
            (
                kp::FindCoordinatorRequest::default()
                    .with_key(s(key))
                    .with_key_type(key_type),
                FindCoordinatorRequest { key, key_type },
            )
        },
    );
    let partitions = [4, 0, 7];
    check(ApiKey::OffsetFetch, group::OFFSET_FETCH, |version, _| {
        (
            kp::OffsetFetchRequest::default()
                .with_group_id(kp::GroupId(s("orders-app")))
                .with_topics(Some(vec![
                    kp::offset_fetch_request::OffsetFetchRequestTopic::default()
                        .with_name(topic("orders"))
                        .with_partition_indexes(partitions.to_vec()),
                ]))
                .with_require_stable(version >= 7),
            OffsetFetchRequest {
                group_id: "orders-app",
                topic: "orders",
                partitions: &partitions,
                require_stable: version >= 7,
            },
        )
    });
    let offsets = [(0, 17), (2, 9_000_000_000), (5, 0)];
    check(
        ApiKey::OffsetCommit,
        group::OFFSET_COMMIT,
        |version, member| {
            let instance = Some("instance-a").filter(|_| member && version >= 7);
            let (generation, member_id) = if member {
                (12, "consumer-1-3f2a")
            } else {
                (-1, "")
            };
            (
            kp::OffsetCommitRequest::default()
                .with_group_id(kp::GroupId(s("orders-app")))
                .with_generation_id_or_member_epoch(generation)
                .with_member_id(s(member_id))
                .with_group_instance_id(instance.map(s))
                .with_topics(vec![
                    kp::offset_commit_request::OffsetCommitRequestTopic::default()
                        .with_name(topic("orders"))
                        .with_partitions(
                            offsets
                                .iter()
                                .map(|&(p, o)| {
                                    kp::offset_commit_request::OffsetCommitRequestPartition::default()
                                        .with_partition_index(p)
                                        .with_committed_offset(o)
                                })
                                .collect(),
                        ),
                ]),
            OffsetCommitRequest {
                group_id: "orders-app",
                generation_id_or_member_epoch: generation,
                member_id,
                group_instance_id: instance,
                topic: "orders",
                offsets: &offsets,
            },
        )
        },
    );
}

#[test]
fn membership() {
    let subscription = b"\0\0\0\0\0\x01\0\x06orders\xff\xff\xff\xff".to_vec();
    check(ApiKey::JoinGroup, membership::JOIN_GROUP, |version, set| {
        let instance = Some("instance-a").filter(|_| set && version >= 5);
        let member_id = if set { "consumer-1-3f2a" } else { "" };
        (
            kp::JoinGroupRequest::default()
                .with_group_id(kp::GroupId(s("orders-app")))
                .with_session_timeout_ms(45_000)
                .with_rebalance_timeout_ms(300_000)
                .with_member_id(s(member_id))
                .with_group_instance_id(instance.map(s))
                .with_protocol_type(s("consumer"))
                .with_protocols(vec![
                    kp::join_group_request::JoinGroupRequestProtocol::default()
                        .with_name(s("range"))
                        .with_metadata(Bytes::from(subscription.clone())),
                    kp::join_group_request::JoinGroupRequestProtocol::default()
                        .with_name(s("roundrobin"))
                        .with_metadata(Bytes::new()),
                ]),
            JoinGroupRequest {
                group_id: "orders-app",
                session_timeout_ms: 45_000,
                rebalance_timeout_ms: 300_000,
                member_id,
                group_instance_id: instance,
                protocol_type: "consumer",
                protocols: vec![
                    JoinGroupProtocol {
                        name: "range",
                        metadata: subscription.clone(),
                    },
                    JoinGroupProtocol {
                        name: "roundrobin",
                        metadata: Vec::new(),
                    },
                ],
            },
        )
    });
    let assignments = vec![
        ("consumer-1-3f2a".to_string(), vec![0, 1, 2, 3, 4]),
        ("consumer-2-99c1".to_string(), Vec::new()),
    ];
    check(ApiKey::SyncGroup, membership::SYNC_GROUP, |_, leader| {
        let instance = Some("instance-a").filter(|_| leader);
        let protocol = Some("range").filter(|_| leader);
        let mine: &[(String, Vec<u8>)] = if leader { &assignments } else { &[] };
        (
            kp::SyncGroupRequest::default()
                .with_group_id(kp::GroupId(s("orders-app")))
                .with_generation_id(8)
                .with_member_id(s("consumer-1-3f2a"))
                .with_group_instance_id(instance.map(s))
                .with_protocol_type(Some(s("consumer")))
                .with_protocol_name(protocol.map(s))
                .with_assignments(
                    mine.iter()
                        .map(|(id, a)| {
                            kp::sync_group_request::SyncGroupRequestAssignment::default()
                                .with_member_id(s(id))
                                .with_assignment(Bytes::from(a.clone()))
                        })
                        .collect(),
                ),
            SyncGroupRequest {
                group_id: "orders-app",
                generation_id: 8,
                member_id: "consumer-1-3f2a",
                group_instance_id: instance,
                protocol_type: Some("consumer"),
                protocol_name: protocol,
                assignments: mine,
            },
        )
    });
    check(ApiKey::Heartbeat, heartbeat::HEARTBEAT, |version, set| {
        let instance = Some("instance-a").filter(|_| set && version >= 3);
        (
            kp::HeartbeatRequest::default()
                .with_group_id(kp::GroupId(s("orders-app")))
                .with_generation_id(8)
                .with_member_id(s("consumer-1-3f2a"))
                .with_group_instance_id(instance.map(s)),
            HeartbeatRequest {
                group_id: "orders-app",
                generation_id: 8,
                member_id: "consumer-1-3f2a",
                group_instance_id: instance,
            },
        )
    });
    check(ApiKey::LeaveGroup, heartbeat::LEAVE_GROUP, |_, _| {
        (
            kp::LeaveGroupRequest::default()
                .with_group_id(kp::GroupId(s("orders-app")))
                .with_members(vec![kp::leave_group_request::MemberIdentity::default()
                    .with_member_id(s("consumer-1-3f2a"))]),
            LeaveGroupRequest {
                group_id: "orders-app",
                member_id: "consumer-1-3f2a",
            },
        )
    });
    check(
        ApiKey::DescribeGroups,
        membership::DESCRIBE_GROUPS,
        |_, _| {
            (
                kp::DescribeGroupsRequest::default()
                    .with_groups(vec![kp::GroupId(s("orders-app"))]),
                DescribeGroupsRequest {
                    group: "orders-app",
                },
            )
        },
    );
    const KEYS: [&str; 2] = [
        "group.min.session.timeout.ms",
        "group.max.session.timeout.ms",
    ];
    check(ApiKey::DescribeConfigs, group::DESCRIBE_CONFIGS, |_, _| {
        let keys = KEYS;
        (
            kp::DescribeConfigsRequest::default().with_resources(vec![
                kp::describe_configs_request::DescribeConfigsResource::default()
                    .with_resource_type(4)
                    .with_resource_name(s("1"))
                    .with_configuration_keys(Some(keys.iter().map(|k| s(k)).collect())),
            ]),
            DescribeConfigsRequest {
                resource_type: 4,
                resource_name: "1",
                keys: &KEYS,
            },
        )
    });
    check(
        ApiKey::ConsumerGroupDescribe,
        describe::CONSUMER_GROUP_DESCRIBE,
        |_, _| {
            (
                kp::ConsumerGroupDescribeRequest::default()
                    .with_group_ids(vec![kp::GroupId(s("orders-app"))]),
                ConsumerGroupDescribeRequest {
                    group: "orders-app",
                },
            )
        },
    );
}

#[test]
fn produce_and_init_producer_id() {
    let batches = [
        (0, vec![7u8; 300]),
        (4, b"a record batch".to_vec()),
        (2, Vec::new()),
    ];
    check(ApiKey::Produce, produce::PRODUCE, |_, all| {
        let acks = if all { -1 } else { 1 };
        let transactional_id = all.then_some("order-spool-1");
        (
            kp::ProduceRequest::default()
                .with_transactional_id(transactional_id.map(|id| kp::TransactionalId(s(id))))
                .with_acks(acks)
                .with_timeout_ms(30_000)
                .with_topic_data(vec![kp::produce_request::TopicProduceData::default()
                    .with_name(topic("orders"))
                    .with_partition_data(
                        batches
                            .iter()
                            .map(|(p, b)| {
                                kp::produce_request::PartitionProduceData::default()
                                    .with_index(*p)
                                    .with_records(Some(Bytes::from(b.clone())))
                            })
                            .collect(),
                    )]),
            ProduceRequest {
                transactional_id,
                acks,
                timeout_ms: 30_000,
                topic: "orders",
                partitions: batches
                    .iter()
                    .map(|(index, records)| ProducePartition {
                        index: *index,
                        records,
                    })
                    .collect(),
            },
        )
    });
    check(
        ApiKey::InitProducerId,
        produce::INIT_PRODUCER_ID,
        |_, set| {
            let (transactional_id, timeout) = match set {
                true => (Some("order-spool-1"), 60_000),
                false => (None, i32::MAX),
            };
            (
                kp::InitProducerIdRequest::default()
                    .with_transactional_id(transactional_id.map(|id| kp::TransactionalId(s(id))))
                    .with_transaction_timeout_ms(timeout),
                InitProducerIdRequest {
                    transactional_id,
                    transaction_timeout_ms: timeout,
                },
            )
        },
    );
}

#[test]
fn transactions() {
    const ID: &str = "order-spool-0f3c";
    let producer = TxnProducer {
        transactional_id: ID,
        producer_id: 4711,
        producer_epoch: 3,
    };
    let id = || kp::TransactionalId(s(ID));
    let partitions = [2, 0];
    check(ApiKey::AddPartitionsToTxn, txn::ADD_PARTITIONS, |_, _| {
        (
            kp::AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(id())
                .with_v3_and_below_producer_id(kp::ProducerId(4711))
                .with_v3_and_below_producer_epoch(3)
                .with_v3_and_below_topics(vec![
                    kp::add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                        .with_name(topic("orders"))
                        .with_partitions(partitions.to_vec()),
                ]),
            AddPartitionsToTxnRequest {
                producer,
                topic: "orders",
                partitions: &partitions,
            },
        )
    });
    check(ApiKey::AddOffsetsToTxn, txn::ADD_OFFSETS, |_, _| {
        (
            kp::AddOffsetsToTxnRequest::default()
                .with_transactional_id(id())
                .with_producer_id(kp::ProducerId(4711))
                .with_producer_epoch(3)
                .with_group_id(kp::GroupId(s("order-spool-0f3c"))),
            AddOffsetsToTxnRequest {
                producer,
                group_id: "order-spool-0f3c",
            },
        )
    });
    let offsets = [(0, 20_000), (3, 0)];
    let metadatas = [String::new(), "m".repeat(200)];
    check(
        ApiKey::TxnOffsetCommit,
        txn::TXN_OFFSET_COMMIT,
        |_, long| {
            let metadata = metadatas[usize::from(long)].as_str();
            use kp::txn_offset_commit_request as tc;
            (
                kp::TxnOffsetCommitRequest::default()
                    .with_transactional_id(id())
                    .with_group_id(kp::GroupId(s("spool-group")))
                    .with_producer_id(kp::ProducerId(4711))
                    .with_producer_epoch(3)
                    .with_topics(vec![tc::TxnOffsetCommitRequestTopic::default()
                        .with_name(topic("orders"))
                        .with_partitions(
                            offsets
                                .iter()
                                .map(|&(p, o)| {
                                    tc::TxnOffsetCommitRequestPartition::default()
                                        .with_partition_index(p)
                                        .with_committed_offset(o)
                                        .with_committed_metadata(Some(s(metadata)))
                                })
                                .collect(),
                        )]),
                TxnOffsetCommitRequest {
                    producer,
                    group_id: "spool-group",
                    topic: "orders",
                    offsets: &offsets,
                    metadata,
                },
            )
        },
    );
    check(ApiKey::EndTxn, txn::END_TXN, |_, committed| {
        (
            kp::EndTxnRequest::default()
                .with_transactional_id(id())
                .with_producer_id(kp::ProducerId(4711))
                .with_producer_epoch(3)
                .with_committed(committed),
            EndTxnRequest {
                producer,
                committed,
            },
        )
    });
}

#[test]
fn a_string_too_long_for_its_field_is_an_error() {
    let key = "k".repeat(i16::MAX as usize + 1);
    let mut out = Vec::new();
    for version in group::FIND_COORDINATOR {
        let e = frame(
            &mut out,
            ApiKey::FindCoordinator,
            version,
            1,
            "client",
            &FindCoordinatorRequest {
                key: &key,
                key_type: GROUP_KEY,
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "a string of 32768 bytes: the protocol allows 32767"
        );
    }
    let e = frame(
        &mut out,
        ApiKey::ApiVersions,
        0,
        1,
        &key,
        &ApiVersionsRequest,
    )
    .unwrap_err();
    assert!(matches!(e, EncodeError::TooLong { len: 32768, .. }));
    let longest = "k".repeat(i16::MAX as usize);
    frame(
        &mut out,
        ApiKey::FindCoordinator,
        3,
        1,
        "client",
        &FindCoordinatorRequest {
            key: &longest,
            key_type: TRANSACTION_KEY,
        },
    )
    .unwrap();
}

#[test]
fn a_field_the_version_lacks_is_an_error_not_dropped() {
    let mut out = Vec::new();
    let heartbeat = HeartbeatRequest {
        group_id: "g",
        generation_id: 1,
        member_id: "m",
        group_instance_id: Some("static-1"),
    };
    let e = frame(&mut out, ApiKey::Heartbeat, 2, 1, "c", &heartbeat).unwrap_err();
    assert_eq!(e, EncodeError::NotInVersion("group.instance.id"));
    frame(&mut out, ApiKey::Heartbeat, 3, 1, "c", &heartbeat).unwrap();
    let list = ListOffsetsRequest {
        isolation_level: 1,
        topic: "t",
        partitions: &[0],
        timestamp: -1,
    };
    assert!(frame(&mut out, ApiKey::ListOffsets, 1, 1, "c", &list).is_err());
}

#[test]
fn varints_are_little_endian_groups_of_seven_bits() {
    for (value, bytes) in [
        (0u32, &[0u8][..]),
        (1, &[1]),
        (127, &[0x7f]),
        (128, &[0x80, 0x01]),
        (300, &[0xac, 0x02]),
        (u32::MAX, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
    ] {
        let mut out = Vec::new();
        Writer {
            out: &mut out,
            flexible: true,
        }
        .unsigned_varint(value);
        assert_eq!(out, bytes, "{value}");
    }
}
