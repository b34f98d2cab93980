//! One handler per API; each turns a decoded request into an encoded response frame.

mod admin;
mod fetch;
mod groups;
mod offsets;
mod produce;

use std::net::SocketAddr;

use bytes::Bytes;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiVersionsResponse, RequestKind};
use kafka_protocol::protocol::{Encodable, HeaderVersion, StrBytes};

use crate::errors;
use crate::server::Broker;
use crate::wire::frame::{encode_response, Header, Malformed};
use crate::wire::versions;

/// Per-connection state.
pub struct Conn {
    pub local: SocketAddr,
    pub peer: SocketAddr,
    pub client_id: Option<String>,
    /// After a v0 SaslHandshake the next frame is a bare SASL token.
    raw_sasl_next: bool,
}

impl Conn {
    pub fn new(local: SocketAddr, peer: SocketAddr) -> Self {
        Conn {
            local,
            peer,
            client_id: None,
            raw_sasl_next: false,
        }
    }

    pub fn expects_raw_sasl(&self) -> bool {
        self.raw_sasl_next
    }

    /// Answers a bare SASL/PLAIN token (v0 handshake flow) with an empty token.
    pub fn raw_sasl(&mut self, token: &[u8]) -> Bytes {
        self.raw_sasl_next = false;
        if let Err(e) = admin::check_plain(token) {
            tracing::warn!(peer = %self.peer, error = %e, "kafka SASL token refused");
        }
        Bytes::from_static(&[0, 0, 0, 0])
    }

    /// The host clients should connect to: the configured one, else the address this
    /// client reached.
    fn advertised(&self, broker: &Broker) -> (String, i32) {
        let host = if broker.advertised_host.is_empty() {
            self.local.ip().to_string()
        } else {
            broker.advertised_host.clone()
        };
        (host, i32::from(broker.advertised_port))
    }
}

pub(crate) fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

fn respond<R: Encodable + HeaderVersion>(h: &Header, body: &R) -> Result<Option<Bytes>, Malformed> {
    encode_response(h.correlation_id, h.version, body)
        .map(Some)
        .map_err(|e| Malformed(format!("{:?} v{}: {}", h.api, h.version, e.0)))
}

/// Dispatches one request. `Ok(None)`: nothing to send (acks=0 produce).
pub async fn handle(
    broker: &Broker,
    conn: &mut Conn,
    h: Header,
    request: RequestKind,
) -> Result<Option<Bytes>, Malformed> {
    if conn.client_id.is_none() {
        conn.client_id = h.client_id.clone();
    }
    match request {
        RequestKind::ApiVersions(_) => respond(&h, &api_versions(errors::NONE)),
        RequestKind::Metadata(r) => respond(&h, &admin::metadata(broker, conn, r, h.version)),
        RequestKind::FindCoordinator(r) => respond(&h, &admin::find_coordinator(broker, conn, r)),
        RequestKind::SaslHandshake(r) => {
            let (resp, ok) = admin::sasl_handshake(r);
            conn.raw_sasl_next = ok && h.version == 0;
            respond(&h, &resp)
        }
        RequestKind::SaslAuthenticate(r) => respond(&h, &admin::sasl_authenticate(r)),
        RequestKind::CreateTopics(r) => respond(&h, &admin::create_topics(broker, r)),
        RequestKind::DeleteTopics(r) => respond(&h, &admin::delete_topics(broker, r)),
        RequestKind::InitProducerId(r) => respond(&h, &produce::init_producer_id(broker, r)),
        RequestKind::Produce(r) => match produce::produce(broker, r).await {
            Some(resp) => respond(&h, &resp),
            None => Ok(None),
        },
        RequestKind::Fetch(r) => respond(&h, &fetch::fetch(broker, r).await),
        RequestKind::ListOffsets(r) => respond(&h, &offsets::list_offsets(broker, r)),
        RequestKind::OffsetCommit(r) => respond(&h, &offsets::commit(broker, r)),
        RequestKind::OffsetFetch(r) => respond(&h, &offsets::fetch(broker, r)),
        RequestKind::JoinGroup(r) => respond(&h, &groups::join(broker, conn, r, h.version).await),
        RequestKind::SyncGroup(r) => respond(&h, &groups::sync(broker, r).await),
        RequestKind::Heartbeat(r) => respond(&h, &groups::heartbeat(broker, r)),
        RequestKind::LeaveGroup(r) => respond(&h, &groups::leave(broker, r, h.version)),
        other => Err(Malformed(format!(
            "{:?} is not served",
            std::mem::discriminant(&other)
        ))),
    }
}

fn api_versions(error: i16) -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(error)
        .with_api_keys(
            versions::SUPPORTED
                .iter()
                .map(|(api, lo, hi)| {
                    ApiVersion::default()
                        .with_api_key(*api as i16)
                        .with_min_version(*lo)
                        .with_max_version(*hi)
                })
                .collect(),
        )
}

/// UNSUPPORTED_VERSION with our list, as a v0 body (header v0) every client reads.
pub fn api_versions_too_new(correlation_id: i32) -> Result<Option<Bytes>, Malformed> {
    encode_response(
        correlation_id,
        0,
        &api_versions(errors::UNSUPPORTED_VERSION),
    )
    .map(Some)
}
