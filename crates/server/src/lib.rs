//! Eddy's network servers over the hub and the explorer: HTTP (hub API, Event Hubs
//! REST, Kusto REST) and Kafka; AMQP on its own port as it arrives.
//!
//! ```text
//!  Server::start(config) ── open Namespace (recover logs) ── create configured hubs
//!        └─ bind HTTP + Kafka ── serve until shutdown ── drain requests ── flush + close logs
//! ```

pub mod api;
pub mod http;
mod maintenance;
pub mod memory;
mod queued;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use eddy_common::config::Config;
use eddy_common::metrics::Metrics;
use eddy_hub::Namespace;

/// Why the server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Hub(#[from] eddy_hub::HubError),
    #[error("cannot listen on {addr}: {source} (choose another port with --http-port or EDDY_HTTP_PORT)")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot listen for Kafka on {addr}: {source} (choose another port with --kafka-port or EDDY_KAFKA_PORT, or set kafka.enabled = false)")]
    BindKafka {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot listen for AMQP on {addr}: {source} (choose another port with --amqp-port or EDDY_AMQP_PORT, or set amqp.enabled = false)")]
    BindAmqp {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Explorer(#[from] eddy_explorer::ExplorerError),
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}

/// A started server; `addr` is the bound HTTP address (useful with port 0).
pub struct Server {
    pub http_addr: SocketAddr,
    /// The bound Kafka address, when the Kafka endpoint is on.
    pub kafka_addr: Option<SocketAddr>,
    kafka: Option<eddy_kafka::KafkaServer>,
    /// The bound Event Hubs AMQP address, when that endpoint is on.
    pub amqp_addr: Option<SocketAddr>,
    amqp: Option<eddy_amqp::AmqpServer>,
    pub ns: Arc<Namespace>,
    pub explorer: Arc<eddy_explorer::Explorer>,
    listener: tokio::net::TcpListener,
    metrics: Metrics,
    kusto: http::kusto::KustoLimits,
    retention_every: Duration,
    /// Azure Storage connection string for queued ingestion (empty: off).
    ingest_storage: String,
    ingest_poll: Duration,
    data_dir: std::path::PathBuf,
    /// Data connections (hub → tables).
    pub connections: Arc<eddy_connect::Manager>,
}

impl Server {
    /// Recovers state from the data directory and binds the listeners.
    pub async fn start(config: &Config) -> Result<Server, ServerError> {
        let metrics = Metrics::new();
        metrics
            .gauge("eddy_up", "1 while the server runs.", &[])
            .store(1, std::sync::atomic::Ordering::Relaxed);
        let data_dir = config.data_dir.clone();
        let defaults = config.hub.clone();
        let m = metrics.clone();
        let ns = tokio::task::spawn_blocking(move || Namespace::open(&data_dir, defaults, m))
            .await
            .expect("recovery task")?;
        ns.ensure(&config.hubs)?;
        let ns = Arc::new(ns);
        eddy_explorer::table::cache::set_limit_bytes(cache_limit(config.kusto.query_cache_mb));
        let explorer = eddy_explorer::Explorer::open(&config.data_dir).await?;
        let settings = eddy_connect::Settings {
            max_buffer_bytes: config.connections.max_buffer_mb.max(1) * 1024 * 1024,
            streaming: eddy_connect::batcher::StreamingFlush {
                every: Duration::from_millis(config.connections.streaming_flush_ms.max(10)),
                ..eddy_connect::Settings::default().streaming
            },
            ..eddy_connect::Settings::default()
        };
        let connections = eddy_connect::Manager::open(
            &config.data_dir,
            ns.clone(),
            explorer.clone(),
            metrics.clone(),
            settings,
        )?;
        explorer.set_data_connections(Some(connections.clone()));
        connections.start_all();
        connections.ensure(&config.data_connections).await?;
        let addr = format!("{}:{}", config.http.host, config.http.port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|source| ServerError::Bind {
                addr: addr.clone(),
                source,
            })?;
        let http_addr = listener.local_addr().map_err(ServerError::Serve)?;
        let kafka = if config.kafka.enabled {
            let k = eddy_kafka::KafkaServer::bind(&config.kafka, ns.clone())
                .await
                .map_err(|source| ServerError::BindKafka {
                    addr: format!("{}:{}", config.kafka.host, config.kafka.port),
                    source,
                })?;
            Some(k)
        } else {
            None
        };
        let amqp = if config.amqp.enabled {
            let bind = eddy_amqp::AmqpServer::bind(&config.amqp, &config.auth, ns.clone()).await;
            Some(bind.map_err(|source| ServerError::BindAmqp {
                addr: format!("{}:{}", config.amqp.host, config.amqp.port),
                source,
            })?)
        } else {
            None
        };
        Ok(Server {
            kafka_addr: kafka.as_ref().map(|k| k.local_addr()),
            kafka,
            amqp_addr: amqp.as_ref().and_then(|a| a.local_addr().ok()),
            amqp,
            connections,
            http_addr,
            ns,
            explorer,
            listener,
            metrics,
            kusto: http::kusto::KustoLimits::new(&config.kusto),
            ingest_storage: config.kusto.ingest_storage.clone(),
            ingest_poll: Duration::from_millis(config.kusto.ingest_poll_ms.max(10)),
            data_dir: config.data_dir.clone(),
            retention_every: Duration::from_secs(config.hub.retention_check_secs.max(1)),
        })
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests and
    /// flushes every partition log.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let ns = self.ns.clone();
        let retention = {
            let ns = ns.clone();
            let every = self.retention_every;
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tick.tick().await;
                    let ns = ns.clone();
                    let _ = tokio::task::spawn_blocking(move || {
                        ns.enforce_retention(eddy_hub::now_ms())
                    })
                    .await;
                }
            })
        };
        let maintenance = maintenance::start(self.explorer.clone(), Duration::from_millis(250))
            .map_err(ServerError::Serve)?;
        let (stop_queued, stopped) = tokio::sync::watch::channel(false);
        let queued = (!self.ingest_storage.is_empty()).then(|| {
            let mut stopped = stopped.clone();
            let explorer = self.explorer.clone();
            let conn = self.ingest_storage.clone();
            let poll = self.ingest_poll;
            let data_dir = self.data_dir.clone();
            tokio::spawn(async move {
                // The storage account may come up after Eddy; keep trying.
                loop {
                    match queued::QueuedIngest::setup(&conn, explorer.clone(), &data_dir, poll)
                        .await
                    {
                        Ok(q) => return q.run(stopped).await,
                        Err(e) => {
                            tracing::warn!(error = %e, "queued ingestion is not ready; retrying");
                            tokio::select! {
                                _ = tokio::time::sleep(poll * 5) => {}
                                _ = stopped.changed() => return,
                            }
                        }
                    }
                }
            })
        });
        let (stop_kafka, kafka_stopped) = tokio::sync::watch::channel(false);
        let kafka = self.kafka.map(|k| tokio::spawn(k.run(kafka_stopped)));
        let (stop_amqp, amqp_stopped) = tokio::sync::watch::channel(false);
        let amqp = self.amqp.map(|a| tokio::spawn(a.run(amqp_stopped)));
        let app = http::router(http::AppState {
            ns: ns.clone(),
            explorer: self.explorer.clone(),
            metrics: self.metrics.clone(),
            kusto: self.kusto.clone(),
        });
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        retention.abort();
        let _ = stop_kafka.send(true);
        let _ = stop_amqp.send(true);
        if let Some(k) = kafka {
            let _ = k.await;
        }
        if let Some(a) = amqp {
            let _ = a.await;
        }
        // Queued ingestion finishes the message in hand, then stops.
        let _ = stop_queued.send(true);
        if let Some(q) = queued {
            let _ = tokio::time::timeout(Duration::from_secs(30), q).await;
        }
        tracing::info!("stopping data connections");
        self.connections.stop().await;
        self.explorer.set_data_connections(None);
        maintenance.stop().await;
        tracing::info!("sealing hot table rows");
        if let Err(e) = self.explorer.seal_all().await {
            tracing::error!(error = %e, "sealing at shutdown failed; rows stay in the WAL and replay on start");
        }
        tracing::info!("HTTP stopped; flushing partition logs");
        tokio::task::spawn_blocking(move || ns.close())
            .await
            .expect("close task");
        served.map_err(ServerError::Serve)
    }
}

/// The hot cache's budget: the configured size, at most half the machine's memory.
fn cache_limit(configured_mb: u64) -> u64 {
    let configured = configured_mb << 20;
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find(|l| l.starts_with("MemTotal:"))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
    });
    match total {
        Some(kb) if kb * 1024 / 2 < configured => {
            tracing::info!(
                configured_mb,
                limit_mb = kb / 1024 / 2,
                "the query cache is limited to half the machine's memory"
            );
            kb * 1024 / 2
        }
        _ => configured,
    }
}
