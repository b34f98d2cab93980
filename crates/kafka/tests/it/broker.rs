//! Error codes, group protocol steps, idempotence and malformed input, checked on the
//! wire against a running broker.

use bytes::{Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use crate::support::{request_frame, TestBroker};

fn s(x: &str) -> StrBytes {
    StrBytes::from_string(x.to_string())
}

/// One record batch of `values`, with idempotence fields.
fn batch(values: &[&[u8]], pid: i64, epoch: i16, seq: i32) -> Bytes {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: pid,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: if pid < 0 { -1 } else { seq + i as i32 },
            timestamp: 1_700_000_000_000 + i as i64,
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::copy_from_slice(v)),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .unwrap();
    buf.freeze()
}

fn produce(topic: &str, partition: i32, records: Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(s(topic)))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])])
}

fn produce_result(r: &ProduceResponse) -> (i16, i64) {
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

fn fetch(topic: &str, partition: i32, offset: i64, wait_ms: i32) -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(s(topic)))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)])])
}

#[tokio::test]
async fn produce_and_fetch_errors_use_kafka_codes() {
    let broker = TestBroker::start().await;
    let mut c = broker.connect().await;
    let one = batch(&[b"a"], -1, -1, -1);
    let r: ProduceResponse = c
        .call(ApiKey::Produce, 8, &produce("nope", 0, one.clone()))
        .await;
    assert_eq!(produce_result(&r).0, 3, "UNKNOWN_TOPIC_OR_PARTITION");
    let r: ProduceResponse = c
        .call(ApiKey::Produce, 8, &produce("telemetry", 9, one.clone()))
        .await;
    assert_eq!(
        produce_result(&r).0,
        3,
        "UNKNOWN_TOPIC_OR_PARTITION for a partition"
    );
    let big = vec![b'x'; 1_500_000];
    let r: ProduceResponse = c
        .call(
            ApiKey::Produce,
            8,
            &produce("telemetry", 0, batch(&[&big], -1, -1, -1)),
        )
        .await;
    assert_eq!(produce_result(&r).0, 10, "MESSAGE_TOO_LARGE");
    let mut corrupt = one.to_vec();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let r: ProduceResponse = c
        .call(
            ApiKey::Produce,
            8,
            &produce("telemetry", 0, Bytes::from(corrupt)),
        )
        .await;
    assert_eq!(produce_result(&r).0, 2, "CORRUPT_MESSAGE");
    // Many small records just under the limit: judged by their record bytes, not by
    // the properties the mapping adds to each event.
    let small = [b'v'; 50];
    let many: Vec<&[u8]> = (0..15_000).map(|_| &small[..]).collect();
    let r: ProduceResponse = c
        .call(
            ApiKey::Produce,
            8,
            &produce("telemetry", 3, batch(&many, -1, -1, -1)),
        )
        .await;
    assert_eq!(
        produce_result(&r),
        (0, 0),
        "a 1 MB batch of small records is accepted"
    );
    // Nothing of the refused requests was stored; a good one lands at offset 0.
    let r: ProduceResponse = c
        .call(ApiKey::Produce, 3, &produce("telemetry", 0, one))
        .await;
    assert_eq!(produce_result(&r), (0, 0));

    let r: FetchResponse = c
        .call(ApiKey::Fetch, 11, &fetch("telemetry", 0, 5, 0))
        .await;
    let p = &r.responses[0].partitions[0];
    assert_eq!(
        (p.error_code, p.high_watermark),
        (1, 1),
        "OFFSET_OUT_OF_RANGE"
    );
    let r: FetchResponse = c.call(ApiKey::Fetch, 4, &fetch("ghost", 0, 0, 0)).await;
    assert_eq!(r.responses[0].partitions[0].error_code, 3);
    let r: FetchResponse = c
        .call(ApiKey::Fetch, 11, &fetch("telemetry", 0, 0, 0))
        .await;
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    let records =
        kafka_protocol::records::RecordBatchDecoder::decode(&mut p.records.clone().unwrap())
            .unwrap();
    assert_eq!(records.records[0].value.as_deref(), Some(&b"a"[..]));
    assert_eq!(records.records[0].key.as_deref(), Some(&b"k0"[..]));
    assert_eq!(
        records.records[0].timestamp, 1_700_000_000_000,
        "CreateTime kept"
    );
}

#[tokio::test]
async fn fetch_long_polls_until_data_arrives() {
    let broker = TestBroker::start().await;
    let mut reader = broker.connect().await;
    let mut writer = broker.connect().await;
    let started = std::time::Instant::now();
    let waiting = tokio::spawn(async move {
        let r: FetchResponse = reader
            .call(ApiKey::Fetch, 11, &fetch("telemetry", 2, 0, 10_000))
            .await;
        r
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let r: ProduceResponse = writer
        .call(
            ApiKey::Produce,
            8,
            &produce("telemetry", 2, batch(&[b"late"], -1, -1, -1)),
        )
        .await;
    assert_eq!(produce_result(&r).0, 0);
    let r = waiting.await.unwrap();
    let elapsed = started.elapsed();
    assert!(r.responses[0].partitions[0]
        .records
        .as_ref()
        .is_some_and(|b| !b.is_empty()));
    assert!(
        elapsed < std::time::Duration::from_secs(5),
        "answered on arrival, not at max_wait: {elapsed:?}"
    );
    // Fewer bytes than min_bytes: the answer comes at max_wait with what there is,
    // and its events count once as delivered however often the fetch looked.
    let mut c = broker.connect().await;
    let started = std::time::Instant::now();
    let r: FetchResponse = c
        .call(
            ApiKey::Fetch,
            11,
            &fetch("telemetry", 2, 0, 400).with_min_bytes(1 << 20),
        )
        .await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(350));
    assert!(r.responses[0].partitions[0]
        .records
        .as_ref()
        .is_some_and(|b| !b.is_empty()));
    let delivered = broker
        .metrics
        .render()
        .lines()
        .find(|l| l.starts_with("eddy_hub_outgoing_events_total{hub=\"telemetry\"}"))
        .map(|l| l.rsplit(' ').next().unwrap().to_string());
    assert_eq!(
        delivered.as_deref(),
        Some("2"),
        "one event per fetch answer"
    );
    // With nothing to read, the answer comes at max_wait, empty.
    let mut c = broker.connect().await;
    let started = std::time::Instant::now();
    let r: FetchResponse = c
        .call(ApiKey::Fetch, 11, &fetch("telemetry", 3, 0, 400))
        .await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(350));
    assert!(r.responses[0].partitions[0]
        .records
        .as_ref()
        .is_none_or(|b| b.is_empty()));
}

#[tokio::test]
async fn idempotent_retries_are_stored_once() {
    let broker = TestBroker::start().await;
    let mut c = broker.connect().await;
    let r: InitProducerIdResponse = c
        .call(
            ApiKey::InitProducerId,
            1,
            &InitProducerIdRequest::default().with_transaction_timeout_ms(60000),
        )
        .await;
    assert_eq!(r.error_code, 0);
    let pid = r.producer_id.0;
    let first = batch(&[b"a", b"b", b"c"], pid, 0, 0);
    let r: ProduceResponse = c
        .call(ApiKey::Produce, 8, &produce("telemetry", 1, first.clone()))
        .await;
    assert_eq!(produce_result(&r), (0, 0));
    // The same batch again (a retry after a lost answer): same offset, not stored twice.
    let r: ProduceResponse = c
        .call(ApiKey::Produce, 8, &produce("telemetry", 1, first))
        .await;
    assert_eq!(produce_result(&r), (0, 0));
    // A gap in sequences is refused.
    let r: ProduceResponse = c
        .call(
            ApiKey::Produce,
            8,
            &produce("telemetry", 1, batch(&[b"x"], pid, 0, 7)),
        )
        .await;
    assert_eq!(produce_result(&r).0, 45, "OUT_OF_ORDER_SEQUENCE_NUMBER");
    let r: ProduceResponse = c
        .call(
            ApiKey::Produce,
            8,
            &produce("telemetry", 1, batch(&[b"d"], pid, 0, 3)),
        )
        .await;
    assert_eq!(produce_result(&r), (0, 3));
    let log = broker.ns.get("telemetry").unwrap();
    assert_eq!(
        log.partition_by_index(1)
            .unwrap()
            .info()
            .next_sequence_number,
        4
    );
}

#[tokio::test]
async fn list_offsets_earliest_latest_and_by_time() {
    let broker = TestBroker::start().await;
    let mut c = broker.connect().await;
    for v in [b"1", b"2", b"3"] {
        let _: ProduceResponse = c
            .call(
                ApiKey::Produce,
                8,
                &produce("telemetry", 0, batch(&[v], -1, -1, -1)),
            )
            .await;
    }
    let query = |ts: i64| {
        ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(TopicName(s("telemetry")))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(ts)])])
    };
    let offset = |r: ListOffsetsResponse| r.topics[0].partitions[0].offset;
    assert_eq!(offset(c.call(ApiKey::ListOffsets, 5, &query(-2)).await), 0);
    assert_eq!(offset(c.call(ApiKey::ListOffsets, 5, &query(-1)).await), 3);
    assert_eq!(offset(c.call(ApiKey::ListOffsets, 1, &query(0)).await), 0);
    let future = eddy_hub::now_ms() + 3_600_000;
    assert_eq!(
        offset(c.call(ApiKey::ListOffsets, 5, &query(future)).await),
        -1
    );
}

fn join(member: &str) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(5_000)
        .with_member_id(s(member))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(Bytes::from_static(b"meta"))])
}

#[tokio::test]
async fn group_protocol_steps_and_their_errors() {
    let broker = TestBroker::start().await;
    let mut a = broker.connect().await;
    // v4+: a new member is first given its id.
    let r: JoinGroupResponse = a.call(ApiKey::JoinGroup, 5, &join("")).await;
    assert_eq!(r.error_code, 79, "MEMBER_ID_REQUIRED");
    let id_a = r.member_id.to_string();
    let r: JoinGroupResponse = a.call(ApiKey::JoinGroup, 5, &join(&id_a)).await;
    assert_eq!((r.error_code, r.generation_id), (0, 1));
    assert_eq!(r.leader.as_str(), id_a);
    assert_eq!(r.members.len(), 1, "the leader gets the roster");
    let sync = |member: &str, generation: i32, assign: bool| {
        SyncGroupRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_generation_id(generation)
            .with_member_id(s(member))
            .with_assignments(if assign {
                vec![kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment::default()
                    .with_member_id(s(member))
                    .with_assignment(Bytes::from_static(b"all"))]
            } else {
                vec![]
            })
    };
    let r: SyncGroupResponse = a.call(ApiKey::SyncGroup, 3, &sync(&id_a, 7, true)).await;
    assert_eq!(r.error_code, 22, "ILLEGAL_GENERATION");
    let r: SyncGroupResponse = a.call(ApiKey::SyncGroup, 3, &sync(&id_a, 1, true)).await;
    assert_eq!((r.error_code, r.assignment.as_ref()), (0, &b"all"[..]));
    let hb = |member: &str, generation: i32| {
        HeartbeatRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_generation_id(generation)
            .with_member_id(s(member))
    };
    let r: HeartbeatResponse = a.call(ApiKey::Heartbeat, 3, &hb("stranger", 1)).await;
    assert_eq!(r.error_code, 25, "UNKNOWN_MEMBER_ID");
    let r: HeartbeatResponse = a.call(ApiKey::Heartbeat, 3, &hb(&id_a, 1)).await;
    assert_eq!(r.error_code, 0);

    // A second member (v0: no id round trip) starts a rebalance; a learns by heartbeat.
    let mut b = broker.connect().await;
    let joining = tokio::spawn(async move {
        let r: JoinGroupResponse = b.call(ApiKey::JoinGroup, 0, &join("")).await;
        (b, r)
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let r: HeartbeatResponse = a.call(ApiKey::Heartbeat, 3, &hb(&id_a, 1)).await;
    assert_eq!(r.error_code, 27, "REBALANCE_IN_PROGRESS");
    let r: JoinGroupResponse = a.call(ApiKey::JoinGroup, 5, &join(&id_a)).await;
    assert_eq!((r.error_code, r.generation_id, r.members.len()), (0, 2, 2));
    let (mut b, rb) = joining.await.unwrap();
    assert_eq!((rb.error_code, rb.generation_id), (0, 2));
    assert!(rb.members.is_empty(), "only the leader gets the roster");
    // An offset commit from the old generation is refused.
    let commit = |member: &str, generation: i32| {
        OffsetCommitRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_generation_id_or_member_epoch(generation)
            .with_member_id(s(member))
            .with_topics(vec![kafka_protocol::messages::offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(TopicName(s("telemetry")))
                .with_partitions(vec![kafka_protocol::messages::offset_commit_request::OffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(0)])])
    };
    let r: OffsetCommitResponse = a.call(ApiKey::OffsetCommit, 7, &commit(&id_a, 1)).await;
    assert_eq!(r.topics[0].partitions[0].error_code, 22);
    // The leader leaves; b rejoins alone and leads generation 3.
    let leave = LeaveGroupRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_members(vec![
            kafka_protocol::messages::leave_group_request::MemberIdentity::default()
                .with_member_id(s(&id_a)),
        ]);
    let r: LeaveGroupResponse = a.call(ApiKey::LeaveGroup, 3, &leave).await;
    assert_eq!(r.members[0].error_code, 0);
    let r: JoinGroupResponse = b
        .call(ApiKey::JoinGroup, 0, &join(rb.member_id.as_str()))
        .await;
    assert_eq!((r.error_code, r.generation_id), (0, 3));
    assert_eq!(r.leader, rb.member_id);
}

#[tokio::test]
async fn malformed_frames_close_the_connection_and_the_server_lives_on() {
    let broker = TestBroker::start().await;
    let huge_array = {
        // Metadata v1 whose topic array claims 2^31 - 1 entries in 4 bytes.
        let mut f = request_frame(
            ApiKey::Metadata,
            1,
            1,
            &MetadataRequest::default().with_topics(Some(vec![])),
        )
        .to_vec();
        let n = f.len();
        f[n - 4..].copy_from_slice(&i32::MAX.to_be_bytes());
        f
    };
    let frames: Vec<Vec<u8>> = vec![
        [&(huge_array.len() as i32).to_be_bytes()[..], &huge_array].concat(),
        (1i32 << 30).to_be_bytes().to_vec(),
        (-5i32).to_be_bytes().to_vec(),
        vec![0, 0, 0, 2, 0, 3],
        [&8i32.to_be_bytes()[..], &[0x03, 0xe7, 0, 0, 0, 0, 0, 1]].concat(),
        [
            &12i32.to_be_bytes()[..],
            &[0, 0, 0, 99, 0, 0, 0, 1, 0, 0, 0, 0],
        ]
        .concat(),
    ];
    for (i, f) in frames.iter().enumerate() {
        let mut c = broker.connect().await;
        c.send_raw(f).await;
        assert!(c.closed().await, "frame {i} closes its connection");
    }
    // ApiVersions above ours: UNSUPPORTED_VERSION with our list, as v0.
    let mut c = broker.connect().await;
    let frame = request_frame(ApiKey::ApiVersions, 4, 77, &ApiVersionsRequest::default());
    c.send_raw(&[&(frame.len() as i32).to_be_bytes()[..], &frame].concat())
        .await;
    let mut resp = c.read_frame().await.unwrap();
    use kafka_protocol::protocol::Decodable;
    let h = ResponseHeader::decode(&mut resp, 0).unwrap();
    assert_eq!(h.correlation_id, 77);
    let r = ApiVersionsResponse::decode(&mut resp, 0).unwrap();
    assert_eq!(r.error_code, 35);
    assert!(r
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::Produce as i16 && k.max_version == 8));
    // And the broker still serves.
    let r: MetadataResponse = c
        .call(
            ApiKey::Metadata,
            8,
            &MetadataRequest::default().with_topics(None),
        )
        .await;
    assert_eq!(r.topics.len(), 1);
    assert_eq!(r.topics[0].partitions.len(), 4);
}

#[tokio::test]
async fn topics_are_created_and_deleted_as_hubs() {
    use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
    let broker = TestBroker::start().await;
    let mut c = broker.connect().await;
    let topic = |name: &str, partitions: i32, replication: i16| {
        CreatableTopic::default()
            .with_name(TopicName(s(name)))
            .with_num_partitions(partitions)
            .with_replication_factor(replication)
            .with_configs(vec![CreatableTopicConfig::default()
                .with_name(s("retention.ms"))
                .with_value(Some(s("7200000")))])
    };
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![
            topic("made", 3, 1),
            topic("telemetry", 2, -1),
            topic("replicated", 2, 3),
            topic("bad name!", 2, 1),
            topic("too-many", 500, 1),
        ]);
    let r: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 4, &req).await;
    let codes: Vec<i16> = r.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, vec![0, 36, 38, 17, 37]);
    assert!(r.topics[1]
        .error_message
        .as_ref()
        .unwrap()
        .contains("already exists"));
    let made = broker.ns.get("made").unwrap();
    assert_eq!(made.partition_count(), 3);
    assert_eq!(made.meta().retention_hours, 2);
    let req = DeleteTopicsRequest::default()
        .with_timeout_ms(5000)
        .with_topic_names(vec![TopicName(s("made")), TopicName(s("ghost"))]);
    let r: DeleteTopicsResponse = c.call(ApiKey::DeleteTopics, 3, &req).await;
    let codes: Vec<i16> = r.responses.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, vec![0, 3]);
    assert!(broker.ns.get("made").is_err());
}

#[tokio::test]
async fn sasl_plain_accepts_any_well_formed_credentials() {
    let broker = TestBroker::start().await;
    let mut c = broker.connect().await;
    let r: SaslHandshakeResponse = c
        .call(
            ApiKey::SaslHandshake,
            1,
            &SaslHandshakeRequest::default().with_mechanism(s("SCRAM-SHA-256")),
        )
        .await;
    assert_eq!(r.error_code, 33, "UNSUPPORTED_SASL_MECHANISM");
    assert_eq!(r.mechanisms, vec![s("PLAIN")]);
    let r: SaslHandshakeResponse = c
        .call(
            ApiKey::SaslHandshake,
            1,
            &SaslHandshakeRequest::default().with_mechanism(s("PLAIN")),
        )
        .await;
    assert_eq!(r.error_code, 0);
    let token = b"\0$ConnectionString\0Endpoint=sb://127.0.0.1;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=x";
    let r: SaslAuthenticateResponse = c
        .call(
            ApiKey::SaslAuthenticate,
            1,
            &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from_static(token)),
        )
        .await;
    assert_eq!(r.error_code, 0);
    let r: SaslAuthenticateResponse = c
        .call(
            ApiKey::SaslAuthenticate,
            1,
            &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from_static(b"garbage")),
        )
        .await;
    assert_eq!(r.error_code, 58, "SASL_AUTHENTICATION_FAILED");
    assert!(r.error_message.unwrap().contains("PLAIN"));
}
