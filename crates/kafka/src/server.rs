//! The listener, one task per connection, and shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use eddy_common::config::KafkaConfig;
use eddy_hub::Namespace;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::coordinator::Coordinator;
use crate::handlers::{self, Conn};
use crate::producers::Producers;
use crate::wire::frame::{self, Parsed};

/// State shared by every connection.
pub struct Broker {
    pub ns: Arc<Namespace>,
    pub coordinator: Coordinator,
    pub producers: Producers,
    pub(crate) advertised_host: String,
    pub(crate) advertised_port: u16,
    pub(crate) max_request_bytes: usize,
}

impl Broker {
    /// Largest decompressed size of one produced record batch: twice the hub's batch
    /// limit leaves room for record framing; anything larger could not be stored.
    pub(crate) fn max_inflated(&self) -> usize {
        (self.ns.defaults().max_batch_bytes as usize).saturating_mul(2) + 64 * 1024
    }
}

pub struct KafkaServer {
    listener: TcpListener,
    broker: Arc<Broker>,
}

impl KafkaServer {
    /// Binds the Kafka port.
    pub async fn bind(config: &KafkaConfig, ns: Arc<Namespace>) -> std::io::Result<KafkaServer> {
        let listener = TcpListener::bind((config.host.as_str(), config.port)).await?;
        let bound = listener.local_addr()?;
        let broker = Broker {
            ns,
            coordinator: Coordinator::new(Duration::from_millis(config.initial_rebalance_delay_ms)),
            producers: Producers::new(),
            advertised_host: config.advertised_host.clone(),
            advertised_port: if config.advertised_port == 0 {
                bound.port()
            } else {
                config.advertised_port
            },
            max_request_bytes: config.max_request_bytes.clamp(1024, i32::MAX as u64) as usize,
        };
        Ok(KafkaServer {
            listener,
            broker: Arc::new(broker),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    pub fn broker(&self) -> Arc<Broker> {
        self.broker.clone()
    }

    /// Accepts connections until `shutdown` turns true; then gives open connections
    /// a few seconds to finish the request in hand and closes them.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let ticker = {
            let broker = self.broker.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(100));
                loop {
                    tick.tick().await;
                    broker.coordinator.tick();
                }
            })
        };
        let mut conns = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let broker = self.broker.clone();
                        let stop = shutdown.clone();
                        conns.spawn(async move { serve(broker, stream, peer, stop).await });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "kafka accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                _ = shutdown.changed() => break,
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
        drop(self.listener);
        let drain = async { while conns.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(5), drain)
            .await
            .is_err()
        {
            conns.abort_all();
        }
        ticker.abort();
    }
}

async fn serve(
    broker: Arc<Broker>,
    stream: TcpStream,
    peer: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let local = match stream.local_addr() {
        Ok(a) => a,
        Err(_) => return,
    };
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut conn = Conn::new(local, peer);
    loop {
        let frame = tokio::select! {
            f = frame::read_frame(&mut reader, broker.max_request_bytes) => f,
            _ = shutdown.changed() => break,
        };
        let frame = match frame {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                use std::io::ErrorKind::{BrokenPipe, ConnectionReset};
                if matches!(e.kind(), ConnectionReset | BrokenPipe) {
                    tracing::debug!(%peer, error = %e, "kafka client went away");
                } else {
                    tracing::warn!(%peer, error = %e, "kafka connection closed");
                }
                break;
            }
        };
        let response = if conn.expects_raw_sasl() {
            Ok(Some(conn.raw_sasl(&frame)))
        } else {
            match frame::parse(frame) {
                Ok(Parsed::Request(header, request)) => {
                    handlers::handle(&broker, &mut conn, header, *request).await
                }
                Ok(Parsed::ApiVersionsTooNew { correlation_id }) => {
                    handlers::api_versions_too_new(correlation_id)
                }
                Ok(Parsed::Unsupported {
                    api_key,
                    version,
                    correlation_id,
                }) => {
                    tracing::warn!(%peer, api_key, version, correlation_id, client = ?conn.client_id, "kafka request of an unsupported API or version; closing the connection");
                    break;
                }
                Err(e) => Err(e),
            }
        };
        match response {
            Ok(Some(bytes)) => {
                if let Err(e) = writer.write_all(&bytes).await {
                    tracing::debug!(%peer, error = %e, "kafka client went away");
                    break;
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(%peer, client = ?conn.client_id, error = %e, "kafka connection closed");
                break;
            }
        }
    }
    let _ = writer.shutdown().await;
}
