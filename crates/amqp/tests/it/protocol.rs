//! Sending, receiving, refusals and robustness at protocol level.

use std::time::Duration;

use eddy_common::config::{AmqpConfig, HubDefaults};

use fe2o3_amqp::types::messaging::{Message, Outcome};
use fe2o3_amqp::{Receiver, Sender};
use fe2o3_amqp_types::messaging::Body;
use fe2o3_amqp_types::primitives::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestServer;

fn event(body: &[u8]) -> Message<fe2o3_amqp_types::messaging::Data> {
    Message::builder()
        .data(serde_bytes::ByteBuf::from(body.to_vec()))
        .build()
}

#[tokio::test]
async fn a_sent_message_is_stored_and_received_back_with_annotations() {
    let server = TestServer::default().await;
    let (mut conn, mut session) = server.connect().await;
    let mut sender = Sender::attach(&mut session, "s", "telemetry/Partitions/1")
        .await
        .unwrap();
    let outcome = sender.send(event(b"hello")).await.unwrap();
    assert!(matches!(outcome, Outcome::Accepted(_)), "{outcome:?}");
    let hub = server.ns.get("telemetry").unwrap();
    assert_eq!(
        hub.partition_properties("1")
            .unwrap()
            .last_enqueued_sequence_number,
        0
    );

    let mut receiver = Receiver::attach(
        &mut session,
        "r",
        "telemetry/ConsumerGroups/$Default/Partitions/1",
    )
    .await
    .unwrap();
    let delivery = receiver.recv::<Body<Value>>().await.unwrap();
    let ma = delivery.message().message_annotations.as_ref().unwrap();
    let get = |k: &str| {
        ma.0.iter()
            .find(|(key, _)| format!("{key:?}").contains(k))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("x-opt-sequence-number"), Some(Value::Long(0)));
    assert_eq!(get("x-opt-offset"), Some(Value::String("32".into())));
    let _ = sender.close().await;
    let _ = receiver.close().await;
    session.end().await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test]
async fn unknown_hub_and_partition_are_not_found() {
    let server = TestServer::default().await;
    let (_conn, mut session) = server.connect().await;
    for address in ["nohub", "telemetry/Partitions/7"] {
        let mut sender = Sender::attach(&mut session, address, address)
            .await
            .unwrap();
        let err = sender.send(event(b"x")).await.unwrap_err();
        let text = format!("{err:?}");
        assert!(text.contains("NotFound"), "{address}: {text}");
        assert!(
            text.contains("does not exist"),
            "the reason names what is missing: {text}"
        );
    }
}

#[tokio::test]
async fn a_batch_over_the_hub_limit_is_rejected_and_nothing_is_stored() {
    let hub = HubDefaults {
        max_batch_bytes: 64 * 1024,
        ..Default::default()
    };
    let server = TestServer::start(AmqpConfig::default(), hub).await;
    let (_conn, mut session) = server.connect().await;
    let mut sender = Sender::attach(&mut session, "s", "telemetry")
        .await
        .unwrap();
    match sender.send(event(&vec![7u8; 100 * 1024])).await {
        Ok(Outcome::Rejected(r)) => {
            let e = r.error.unwrap();
            assert!(
                format!("{:?}", e.condition).contains("MessageSizeExceeded"),
                "{e:?}"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    // The link still works for a message that fits.
    let ok = sender.send(event(b"small")).await.unwrap();
    assert!(matches!(ok, Outcome::Accepted(_)));
    let hub = server.ns.get("telemetry").unwrap();
    let stored: i64 = (0..2)
        .map(|p| {
            hub.partition_properties(&p.to_string())
                .unwrap()
                .last_enqueued_sequence_number
                + 1
        })
        .sum();
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn garbage_and_malformed_frames_close_only_their_connection() {
    let server = TestServer::default().await;
    let cases: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        b"AMQP\x09\x09\x09\x09".to_vec(),
        // SASL header, then a frame claiming 4 GiB.
        [
            b"AMQP\x03\x01\x00\x00".as_slice(),
            &[0xff, 0xff, 0xff, 0xff, 2, 1, 0, 0],
        ]
        .concat(),
        // SASL header, then a frame whose body is not a performative.
        [
            b"AMQP\x03\x01\x00\x00".as_slice(),
            &[0, 0, 0, 12, 2, 1, 0, 0, 0xde, 0xad, 0xbe, 0xef],
        ]
        .concat(),
        // A bare AMQP header (no SASL), then an unexpected transfer.
        [
            b"AMQP\x00\x01\x00\x00".as_slice(),
            &[0, 0, 0, 12, 2, 0, 0, 0, 0x00, 0x53, 0x14, 0x45],
        ]
        .concat(),
    ];
    for bytes in cases {
        let mut raw = TcpStream::connect(server.addr).await.unwrap();
        raw.write_all(&bytes).await.unwrap();
        let mut sink = Vec::new();
        let closed =
            tokio::time::timeout(Duration::from_secs(15), raw.read_to_end(&mut sink)).await;
        assert!(closed.is_ok(), "connection left open after {bytes:?}");
    }
    // The server still serves.
    let (_conn, mut session) = server.connect().await;
    let mut sender = Sender::attach(&mut session, "s", "telemetry")
        .await
        .unwrap();
    assert!(matches!(
        sender.send(event(b"ok")).await.unwrap(),
        Outcome::Accepted(_)
    ));
}

#[tokio::test]
async fn a_silent_connection_is_dropped_after_the_handshake_timeout() {
    let config = AmqpConfig {
        handshake_timeout_ms: 500,
        ..Default::default()
    };
    let server = TestServer::start(config, HubDefaults::default()).await;
    let mut raw = TcpStream::connect(server.addr).await.unwrap();
    let mut sink = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), raw.read_to_end(&mut sink)).await;
    assert!(closed.is_ok(), "a half-open connection was kept");
}

#[tokio::test]
async fn shutdown_closes_connections_and_ends_receivers() {
    let server = TestServer::default().await;
    let (_conn, mut session) = server.connect().await;
    let mut receiver = Receiver::attach(
        &mut session,
        "r",
        "telemetry/ConsumerGroups/$Default/Partitions/0",
    )
    .await
    .unwrap();
    server.stop.send(true).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(10), receiver.recv::<Body<Value>>()).await;
    assert!(
        matches!(ended, Ok(Err(_))),
        "the receiver saw the shutdown: {ended:?}"
    );
    tokio::time::timeout(Duration::from_secs(10), server.task)
        .await
        .expect("server stopped")
        .unwrap();
}

#[tokio::test]
async fn a_receiver_for_an_unknown_group_or_a_bad_selector_is_refused() {
    let server = TestServer::default().await;
    let (_conn, mut session) = server.connect().await;
    let mut receiver = Receiver::attach(
        &mut session,
        "r",
        "telemetry/ConsumerGroups/nogroup/Partitions/0",
    )
    .await
    .unwrap();
    let err = receiver.recv::<Body<Value>>().await.unwrap_err();
    let text = format!("{err:?}");
    assert!(
        text.contains("NotFound") && text.contains("consumer group 'nogroup' does not exist"),
        "{text}"
    );
    // A selector that is not understood is an argument error.
    let mut receiver = fe2o3_amqp::Receiver::builder()
        .name("bad-selector")
        .source(
            fe2o3_amqp_types::messaging::Source::builder()
                .address("telemetry/ConsumerGroups/$Default/Partitions/0")
                .add_to_filter(
                    "apache.org:selector-filter:string",
                    Some(serde_amqp::described::Described {
                        descriptor: serde_amqp::descriptor::Descriptor::Name(
                            "apache.org:selector-filter:string".into(),
                        ),
                        value: Value::String("amqp.annotation.x-opt-color > '1'".into()),
                    }),
                )
                .build(),
        )
        .attach(&mut session)
        .await
        .unwrap();
    let err = format!("{:?}", receiver.recv::<Body<Value>>().await.unwrap_err());
    assert!(
        err.contains("argument-error") && err.contains("x-opt-color"),
        "{err}"
    );
}
