//! A server over a fresh namespace, and client connections to it.

use std::net::SocketAddr;
use std::sync::Arc;

use eddy_amqp::AmqpServer;
use eddy_common::config::{AmqpConfig, AuthConfig, HubDefaults, HubSettings};
use eddy_common::metrics::Metrics;
use eddy_hub::Namespace;
use fe2o3_amqp::connection::ConnectionHandle;
use fe2o3_amqp::sasl_profile::SaslProfile;
use fe2o3_amqp::session::SessionHandle;
use fe2o3_amqp::{Connection, Session};

pub struct TestServer {
    pub ns: Arc<Namespace>,
    pub addr: SocketAddr,
    pub stop: tokio::sync::watch::Sender<bool>,
    pub task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// A server with hub `telemetry` (2 partitions).
    pub async fn start(config: AmqpConfig, hub: HubDefaults) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let ns = Arc::new(Namespace::open(dir.path(), hub, Metrics::new()).unwrap());
        ns.create(&HubSettings {
            name: "telemetry".into(),
            partitions: Some(2),
            ..Default::default()
        })
        .unwrap();
        let config = AmqpConfig { port: 0, ..config };
        let server = AmqpServer::bind(&config, &AuthConfig::default(), ns.clone())
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(server.run(stopped));
        TestServer {
            ns,
            addr,
            stop,
            task,
            _dir: dir,
        }
    }

    pub async fn default() -> TestServer {
        Self::start(AmqpConfig::default(), HubDefaults::default()).await
    }

    pub async fn connect(&self) -> (ConnectionHandle<()>, SessionHandle<()>) {
        let mut conn = Connection::builder()
            .container_id("eddy-test")
            .sasl_profile(SaslProfile::Anonymous)
            .open(format!("amqp://{}", self.addr).as_str())
            .await
            .unwrap();
        let session = Session::begin(&mut conn).await.unwrap();
        (conn, session)
    }
}
