//! The listener and shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use eddy_common::config::{AmqpConfig, AuthConfig};
use eddy_hub::Namespace;
use fe2o3_amqp::acceptor::{
    LinkAcceptor, SupportedReceiverSettleModes, SupportedSenderSettleModes,
};
use fe2o3_amqp_types::definitions::{ReceiverSettleMode, SenderSettleMode};
use fe2o3_amqp_types::messaging::{Source, Target};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::connection;
use crate::receivers::Receivers;

type Links = LinkAcceptor<fn(Source) -> Option<Source>, fn(Target) -> Option<Target>>;

/// State shared by every connection.
pub struct Shared {
    pub ns: Arc<Namespace>,
    pub config: AmqpConfig,
    pub auth: Arc<AuthConfig>,
    pub receivers: Receivers,
    pub links: Links,
    pub container_id: String,
}

pub struct AmqpServer {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl AmqpServer {
    /// Binds the AMQP port.
    pub async fn bind(
        config: &AmqpConfig,
        auth: &AuthConfig,
        ns: Arc<Namespace>,
    ) -> std::io::Result<AmqpServer> {
        let listener = TcpListener::bind((config.host.as_str(), config.port)).await?;
        // Settle modes the Python SDK works with: it waits for a settled disposition
        // on its sends and never settles what it receives.
        let links = LinkAcceptor::builder()
            .supported_receiver_settle_modes(SupportedReceiverSettleModes::First)
            .fallback_receiver_settle_mode(ReceiverSettleMode::First)
            .supported_sender_settle_modes(SupportedSenderSettleModes::Settled)
            .fallback_sender_settle_mode(SenderSettleMode::Settled)
            .max_message_size(config.max_message_bytes)
            .build();
        let shared = Shared {
            ns,
            config: config.clone(),
            auth: Arc::new(auth.clone()),
            receivers: Receivers::new(config.max_receivers_per_partition),
            links,
            container_id: format!("eddy-{}", uuid::Uuid::new_v4().simple()),
        };
        Ok(AmqpServer {
            listener,
            shared: Arc::new(shared),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections until `shutdown` turns true, then closes every connection
    /// (links end first) and returns when they are gone.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        tasks.spawn(connection::serve(stream, self.shared.clone(), shutdown.clone()));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "amqp accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                },
                _ = crate::stopped(&mut shutdown) => break,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        let drain = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(std::time::Duration::from_secs(5), drain)
            .await
            .is_err()
        {
            tracing::warn!("amqp connections still open after 5 s; dropping them");
        }
    }
}
