//! `eddy serve`: layered config, tracing, the servers, graceful shutdown.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use eddy_common::config::{Config, FsyncMode};
use eddy_server::Server;

#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// TOML config file (see eddy.example.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data directory [default: ./eddy-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Interface to listen on [default: 127.0.0.1].
    #[arg(long)]
    pub host: Option<String>,
    /// HTTP port: Event Hubs REST, Eddy API, /health, /metrics [default: 8080; 0 picks one].
    #[arg(long)]
    pub http_port: Option<u16>,
    /// Kafka protocol port [default: 9092; 0 picks one].
    #[arg(long)]
    pub kafka_port: Option<u16>,
    /// Event Hubs AMQP 1.0 port [default: 5672; 0 picks one].
    #[arg(long)]
    pub amqp_port: Option<u16>,
    /// When sends are acknowledged: always (after fsync) or lazy.
    #[arg(long)]
    pub fsync: Option<FsyncMode>,
}

impl ServeArgs {
    /// Defaults < file < EDDY_* env < these flags.
    pub fn config(&self) -> Result<Config> {
        let mut c = Config::load(self.config.as_deref(), std::env::vars())?;
        if let Some(d) = &self.data_dir {
            c.data_dir = d.clone();
        }
        if let Some(h) = &self.host {
            c.http.host = h.clone();
            c.kafka.host = h.clone();
            c.amqp.host = h.clone();
        }
        if let Some(p) = self.http_port {
            c.http.port = p;
        }
        if let Some(p) = self.kafka_port {
            c.kafka.port = p;
        }
        if let Some(p) = self.amqp_port {
            c.amqp.port = p;
        }
        if let Some(f) = self.fsync {
            c.hub.fsync = f;
        }
        c.validate()?;
        Ok(c)
    }
}

/// Flags that make `eddy serve` pick free ports (tests and benchmarks).
pub const FREE_PORTS: [&str; 6] = ["--http-port", "0", "--kafka-port", "0", "--amqp-port", "0"];

/// The addresses `eddy serve` announces on stdout before `eddy: ready`.
#[derive(Debug, Default, Clone)]
pub struct Announced {
    /// `host:port` of the HTTP endpoint.
    pub http: String,
    /// `host:port` of the Kafka endpoint (empty when it is off).
    pub kafka: String,
    /// `host:port` of the Event Hubs AMQP endpoint (empty when it is off).
    pub amqp: String,
}

impl Announced {
    /// Takes one stdout line; true once the server said it is ready.
    pub fn take_line(&mut self, line: &str) -> bool {
        let first = |rest: &str| {
            rest.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string()
        };
        if let Some(rest) = line.strip_prefix("eddy: http listening on ") {
            self.http = first(rest);
        } else if let Some(rest) = line.strip_prefix("eddy: kafka listening on ") {
            self.kafka = first(rest);
        } else if let Some(rest) = line.strip_prefix("eddy: amqp listening on ") {
            self.amqp = first(rest);
        }
        line == "eddy: ready"
    }
}

pub async fn run(args: ServeArgs) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                // Delta and its kernel log every commit at info; keep them to warnings.
                "info,deltalake=warn,deltalake_core=warn,buoyant_kernel=warn,delta_kernel=warn"
                    .into()
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = args.config()?;
    eddy_server::memory::set_huge_pages(config.transparent_huge_pages);
    let server = Server::start(&config).await?;
    let addr = server.http_addr;
    println!("eddy: data directory {}", config.data_dir.display());
    println!("eddy: http listening on {addr} (health: http://{addr}/health, metrics: http://{addr}/metrics)");
    if let Some(k) = server.kafka_addr {
        println!("eddy: kafka listening on {k}");
    }
    if let Some(a) = server.amqp_addr {
        println!(
            "eddy: amqp listening on {a} (Endpoint=sb://{}{};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true)",
            a.ip(),
            if a.port() == 5672 { String::new() } else { format!(":{}", a.port()) }
        );
    }
    println!(
        "eddy: hub fsync mode {:?}; {} hub(s)",
        config.hub.fsync,
        server.ns.names().len()
    );
    println!("eddy: ready");
    server.run(shutdown_signal()).await?;
    println!("eddy: stopped cleanly");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutdown requested");
}
