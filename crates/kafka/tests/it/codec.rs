//! Property tests of the codec paths Eddy owns: record batches both ways against the
//! codec crate (every compression), the shape guard against every request version
//! served, and frame parsing of arbitrary bytes.

use bytes::{Bytes, BytesMut};
use eddy_kafka::wire::frame::{parse, Parsed};
use eddy_kafka::wire::records::{decode_batches, encode_batch, OutRecord};
use eddy_kafka::wire::versions::SUPPORTED;
use indexmap::IndexMap;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use proptest::prelude::*;

use crate::support::request_frame;

type Rec = (
    i64,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(String, Option<Vec<u8>>)>,
);

fn arb_record() -> impl Strategy<Value = Rec> {
    (
        0i64..2_000_000_000_000,
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
        proptest::collection::btree_map(
            "[a-zA-Z0-9._-]{1,12}",
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
            0..4,
        )
        .prop_map(|m| m.into_iter().collect()),
    )
}

fn codec_records(recs: &[Rec]) -> Vec<Record> {
    recs.iter()
        .enumerate()
        .map(|(i, (ts, key, value, headers))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: 42,
            producer_epoch: 3,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: 10 + i as i32,
            timestamp: *ts,
            key: key.clone().map(Bytes::from),
            value: value.clone().map(Bytes::from),
            headers: headers
                .iter()
                .map(|(k, v)| (StrBytes::from_string(k.clone()), v.clone().map(Bytes::from)))
                .collect::<IndexMap<_, _>>(),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn batches_from_the_codec_decode_exactly(recs in proptest::collection::vec(arb_record(), 1..20), codec in 0usize..5) {
        let compression = [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd][codec];
        let records = codec_records(&recs);
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(&mut buf, &records, &RecordEncodeOptions { version: 2, compression }).unwrap();
        let batches = decode_batches(&buf, 1 << 20).unwrap();
        let decoded: Vec<_> = batches.iter().flat_map(|b| b.records.iter()).collect();
        prop_assert_eq!(decoded.len(), recs.len());
        prop_assert_eq!(batches[0].producer_id, 42);
        prop_assert_eq!(batches[0].producer_epoch, 3);
        prop_assert_eq!(batches[0].base_sequence, 10);
        for (d, r) in decoded.iter().zip(&recs) {
            prop_assert_eq!(d.timestamp, r.0);
            prop_assert_eq!(d.key.as_deref(), r.1.as_deref());
            prop_assert_eq!(d.value.as_deref(), r.2.as_deref());
            let headers: Vec<(String, Option<Vec<u8>>)> = d.headers.iter().map(|(k, v)| (k.clone(), v.as_ref().map(|b| b.to_vec()))).collect();
            prop_assert_eq!(&headers, &r.3);
        }
    }

    #[test]
    fn fetch_batches_decode_in_the_codec(recs in proptest::collection::vec(arb_record(), 1..20), base in 0i64..1_000_000) {
        let out: Vec<OutRecord<'_>> = recs.iter().map(|(ts, key, value, headers)| OutRecord {
            timestamp: *ts,
            key: key.as_deref(),
            value: value.as_deref().unwrap_or_default(),
            headers: headers.iter().map(|(k, v)| (k.as_str(), std::borrow::Cow::Borrowed(v.as_deref().unwrap_or_default()))).collect(),
        }).collect();
        let mut buf = BytesMut::new();
        encode_batch(&mut buf, base, &out);
        let set = RecordBatchDecoder::decode(&mut buf.freeze()).unwrap();
        prop_assert_eq!(set.records.len(), recs.len());
        for (i, (d, r)) in set.records.iter().zip(&recs).enumerate() {
            prop_assert_eq!(d.offset, base + i as i64);
            prop_assert_eq!(d.timestamp, r.0);
            prop_assert_eq!(d.key.as_deref(), r.1.as_deref());
            prop_assert_eq!(d.value.as_deref().unwrap_or_default(), r.2.as_deref().unwrap_or_default());
            prop_assert_eq!(d.headers.len(), r.3.len());
        }
    }

    #[test]
    fn arbitrary_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), api in 0i16..70, version in 0i16..14) {
        let _ = parse(Bytes::from(bytes.clone()));
        // With a plausible header in front, so the body reaches the guard and codec.
        let mut framed = Vec::new();
        framed.extend_from_slice(&api.to_be_bytes());
        framed.extend_from_slice(&version.to_be_bytes());
        framed.extend_from_slice(&1i32.to_be_bytes());
        framed.extend_from_slice(&(-1i16).to_be_bytes());
        framed.extend_from_slice(&bytes);
        let _ = parse(Bytes::from(framed));
        let _ = decode_batches(&bytes, 1 << 16);
    }
}

fn s(x: &str) -> StrBytes {
    StrBytes::from_string(x.to_string())
}

/// Builds a request of `api` with every array non-empty.
fn sample(api: ApiKey, version: i16) -> Bytes {
    use kafka_protocol::messages::*;
    let topic = || TopicName(s("telemetry"));
    macro_rules! frame {
        ($req:expr) => {
            request_frame(api, version, 9, &$req)
        };
    }
    match api {
        ApiKey::ApiVersions => frame!(ApiVersionsRequest::default()
            .with_client_software_name(s("eddy"))
            .with_client_software_version(s("1"))),
        ApiKey::Metadata => frame!(MetadataRequest::default().with_topics(Some(vec![
            metadata_request::MetadataRequestTopic::default().with_name(Some(topic())),
            metadata_request::MetadataRequestTopic::default().with_name(Some(TopicName(s("b")))),
        ]))),
        ApiKey::Produce => frame!(ProduceRequest::default().with_acks(1).with_topic_data(vec![
            produce_request::TopicProduceData::default()
                .with_name(topic())
                .with_partition_data(vec![
                    produce_request::PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(Bytes::from_static(b"xyz"))),
                    produce_request::PartitionProduceData::default()
                        .with_index(1)
                        .with_records(None),
                ])
        ])),
        ApiKey::Fetch => frame!(FetchRequest::default()
            .with_topics(vec![fetch_request::FetchTopic::default()
                .with_topic(topic())
                .with_partitions(vec![
                    fetch_request::FetchPartition::default()
                        .with_partition(0)
                        .with_fetch_offset(5),
                    fetch_request::FetchPartition::default().with_partition(1),
                ])])
            .with_forgotten_topics_data(if version >= 7 {
                vec![fetch_request::ForgottenTopic::default()
                    .with_topic(topic())
                    .with_partitions(vec![1, 2])]
            } else {
                vec![]
            })
            .with_rack_id(if version >= 11 { s("r1") } else { s("") })),
        ApiKey::ListOffsets => frame!(ListOffsetsRequest::default().with_topics(vec![
            list_offsets_request::ListOffsetsTopic::default()
                .with_name(topic())
                .with_partitions(vec![list_offsets_request::ListOffsetsPartition::default()
                    .with_partition_index(2)
                    .with_timestamp(-1),])
        ])),
        ApiKey::FindCoordinator => frame!(FindCoordinatorRequest::default().with_key(s("g"))),
        ApiKey::JoinGroup => frame!(JoinGroupRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_member_id(s("m"))
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![
                join_group_request::JoinGroupRequestProtocol::default()
                    .with_name(s("range"))
                    .with_metadata(Bytes::from_static(b"m1")),
                join_group_request::JoinGroupRequestProtocol::default()
                    .with_name(s("roundrobin"))
                    .with_metadata(Bytes::from_static(b"m2")),
            ])),
        ApiKey::SyncGroup => frame!(SyncGroupRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_member_id(s("m"))
            .with_assignments(vec![
                sync_group_request::SyncGroupRequestAssignment::default()
                    .with_member_id(s("m"))
                    .with_assignment(Bytes::from_static(b"a")),
            ])),
        ApiKey::Heartbeat => frame!(HeartbeatRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_member_id(s("m"))),
        ApiKey::LeaveGroup => {
            if version >= 3 {
                frame!(LeaveGroupRequest::default()
                    .with_group_id(GroupId(s("g")))
                    .with_members(vec![
                        leave_group_request::MemberIdentity::default().with_member_id(s("m")),
                    ]))
            } else {
                frame!(LeaveGroupRequest::default()
                    .with_group_id(GroupId(s("g")))
                    .with_member_id(s("m")))
            }
        }
        ApiKey::OffsetCommit => frame!(OffsetCommitRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_member_id(s("m"))
            .with_topics(vec![
                offset_commit_request::OffsetCommitRequestTopic::default()
                    .with_name(topic())
                    .with_partitions(vec![
                        offset_commit_request::OffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(10)
                            .with_committed_metadata(Some(s("md"))),
                    ])
            ])),
        ApiKey::OffsetFetch => frame!(OffsetFetchRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_topics(Some(vec![
                offset_fetch_request::OffsetFetchRequestTopic::default()
                    .with_name(topic())
                    .with_partition_indexes(vec![0, 1, 2]),
            ]))),
        ApiKey::InitProducerId => {
            frame!(InitProducerIdRequest::default().with_transaction_timeout_ms(1000))
        }
        ApiKey::SaslHandshake => frame!(SaslHandshakeRequest::default().with_mechanism(s("PLAIN"))),
        ApiKey::SaslAuthenticate => {
            frame!(SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from_static(b"\0u\0p")))
        }
        ApiKey::CreateTopics => frame!(CreateTopicsRequest::default().with_topics(vec![
            create_topics_request::CreatableTopic::default()
                .with_name(topic())
                .with_num_partitions(-1)
                .with_replication_factor(-1)
                .with_assignments(vec![
                    create_topics_request::CreatableReplicaAssignment::default()
                        .with_partition_index(0)
                        .with_broker_ids(vec![BrokerId(0)])
                ])
                .with_configs(vec![create_topics_request::CreatableTopicConfig::default()
                    .with_name(s("retention.ms"))
                    .with_value(Some(s("1000")))]),
        ])),
        ApiKey::DeleteTopics => {
            frame!(DeleteTopicsRequest::default().with_topic_names(vec![topic(), TopicName(s("b"))]))
        }
        other => panic!("no sample for {other:?}"),
    }
}

#[test]
fn the_guard_accepts_every_request_version_served() {
    for (api, lo, hi) in SUPPORTED {
        for version in *lo..=*hi {
            let frame = sample(*api, version);
            match parse(frame.clone()) {
                Ok(Parsed::Request(h, _)) => {
                    assert_eq!((h.api, h.version), (*api, version));
                    assert_eq!(h.client_id.as_deref(), Some("eddy-test"));
                }
                other => panic!("{api:?} v{version}: {other:?}"),
            }
            // Any truncation is refused, never a panic.
            for cut in [1, frame.len() / 2, frame.len() - 1] {
                let _ = parse(frame.slice(..cut));
            }
        }
    }
}
