//! A broker over a fresh namespace, and a raw client for it.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use eddy_common::config::{HubDefaults, HubSettings, KafkaConfig};
use eddy_common::metrics::Metrics;
use eddy_hub::Namespace;
use eddy_kafka::KafkaServer;
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::{
    encode_request_header_into_buffer, Decodable, Encodable, HeaderVersion, StrBytes,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct TestBroker {
    pub ns: Arc<Namespace>,
    pub metrics: Metrics,
    pub addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::watch::Sender<bool>,
}

impl TestBroker {
    /// A broker with hub `telemetry` (4 partitions).
    pub async fn start() -> TestBroker {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Metrics::new();
        let ns = Namespace::open(dir.path(), HubDefaults::default(), metrics.clone()).unwrap();
        let ns = Arc::new(ns);
        ns.create(&HubSettings {
            name: "telemetry".into(),
            partitions: Some(4),
            ..Default::default()
        })
        .unwrap();
        let config = KafkaConfig {
            port: 0,
            initial_rebalance_delay_ms: 0,
            ..Default::default()
        };
        let server = KafkaServer::bind(&config, ns.clone()).await.unwrap();
        let addr = server.local_addr();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(server.run(stopped));
        TestBroker {
            ns,
            metrics,
            addr,
            _dir: dir,
            _stop: stop,
        }
    }

    pub async fn connect(&self) -> Client {
        Client {
            stream: TcpStream::connect(self.addr).await.unwrap(),
            correlation: 0,
        }
    }
}

pub struct Client {
    pub stream: TcpStream,
    correlation: i32,
}

/// A request frame's bytes without the size prefix.
pub fn request_frame<R: Encodable + HeaderVersion>(
    api: ApiKey,
    version: i16,
    correlation: i32,
    req: &R,
) -> Bytes {
    let mut buf = BytesMut::new();
    let header = RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation)
        .with_client_id(Some(StrBytes::from_static_str("eddy-test")));
    encode_request_header_into_buffer(&mut buf, &header).unwrap();
    req.encode(&mut buf, version).unwrap();
    buf.freeze()
}

impl Client {
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Reads one response frame; `None` when the server closed the connection.
    pub async fn read_frame(&mut self) -> Option<Bytes> {
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size).await.ok()?;
        let mut buf = vec![0u8; i32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut buf).await.ok()?;
        Some(Bytes::from(buf))
    }

    /// Sends a request and decodes the response of type `T`.
    pub async fn call<R: Encodable + HeaderVersion, T: Decodable + HeaderVersion>(
        &mut self,
        api: ApiKey,
        version: i16,
        req: &R,
    ) -> T {
        self.correlation += 1;
        let frame = request_frame(api, version, self.correlation, req);
        let mut out = (frame.len() as i32).to_be_bytes().to_vec();
        out.extend_from_slice(&frame);
        self.send_raw(&out).await;
        let mut resp = self.read_frame().await.expect("a response");
        let header =
            kafka_protocol::messages::ResponseHeader::decode(&mut resp, T::header_version(version))
                .unwrap();
        assert_eq!(header.correlation_id, self.correlation);
        T::decode(&mut resp, version).unwrap()
    }

    /// Whether the server has closed this connection.
    pub async fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(
            tokio::time::timeout(std::time::Duration::from_secs(5), self.stream.read(&mut b)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}
