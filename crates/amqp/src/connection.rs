//! One client connection: SASL, sessions, and each link routed by its address.

use std::sync::Arc;
use std::time::Duration;

use eddy_common::config::AccessRight;
use eddy_hub::{HubError, Position};
use fe2o3_amqp::acceptor::{
    ConnectionAcceptor, LinkEndpoint, ListenerConnectionHandle, ListenerSessionHandle,
    SessionAcceptor,
};
use fe2o3_amqp::{Receiver, Sender};
use fe2o3_amqp_types::definitions::{AmqpError, Error, Role};
use fe2o3_amqp_types::messaging::TargetArchetype;
use fe2o3_amqp_types::performatives::Attach;
use fe2o3_amqp_types::primitives::Value;
use serde_amqp::described::Described;
use serde_amqp::descriptor::Descriptor;
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::address::Address;
use crate::auth::{ConnectionAuth, Sasl};
use crate::egress::{self, Egress};
use crate::errors;
use crate::nodes::{self, Node, ReplyLinks};
use crate::receivers::Refused;
use crate::selector::{self, SELECTOR_CODE, SELECTOR_NAME};
use crate::server::Shared;
use crate::wire_fix::FullFields;

const EPOCH: &str = "com.microsoft:epoch";
const RUNTIME_METRIC: &str = "com.microsoft:enable-receiver-runtime-metric";

/// Serves one TCP connection until the client closes it or the server shuts down.
pub async fn serve(stream: TcpStream, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let peer = stream.peer_addr().ok();
    let _ = stream.set_nodelay(true);
    let auth = ConnectionAuth::new(shared.auth.clone());
    let mut builder = ConnectionAcceptor::builder()
        .container_id(shared.container_id.clone())
        .max_frame_size(65_536u32)
        .channel_max(255u16);
    if shared.config.idle_timeout_ms > 0 {
        builder = builder.idle_time_out(shared.config.idle_timeout_ms);
    }
    let acceptor = builder.sasl_acceptor(Sasl::new(auth.clone())).build();
    let handshake = Duration::from_millis(shared.config.handshake_timeout_ms.max(1));
    let accepted = tokio::select! {
        c = tokio::time::timeout(handshake, acceptor.accept(FullFields::new(stream))) => c,
        _ = crate::stopped(&mut shutdown) => return,
    };
    let mut conn: ListenerConnectionHandle = match accepted {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            tracing::info!(?peer, error = %e, "amqp connection not opened");
            return;
        }
        Err(_) => {
            tracing::info!(
                ?peer,
                "amqp connection dropped: no SASL and open within {handshake:?}"
            );
            return;
        }
    };
    let sessions = SessionAcceptor::builder()
        .handle_max(1023u32)
        .incoming_window(5000u32)
        .outgoing_window(5000u32)
        .build();
    loop {
        let incoming = tokio::select! {
            s = conn.next_incoming_session() => s,
            _ = crate::stopped(&mut shutdown) => {
                let _ = conn
                    .close_with_error(errors::amqp(AmqpError::InternalError, "Eddy is shutting down; reconnect"))
                    .await;
                return;
            }
        };
        let Some(incoming) = incoming else { break };
        match sessions.accept_incoming_session(incoming, &mut conn).await {
            Ok(session) => {
                let ctx = SessionCtx {
                    shared: shared.clone(),
                    auth: auth.clone(),
                    replies: Arc::default(),
                    shutdown: shutdown.clone(),
                };
                tokio::spawn(serve_session(session, ctx));
            }
            Err(e) => {
                tracing::info!(?peer, error = %e, "session not begun");
            }
        }
    }
    let _ = conn.on_close().await;
}

#[derive(Clone)]
struct SessionCtx {
    shared: Arc<Shared>,
    auth: ConnectionAuth,
    replies: Arc<ReplyLinks>,
    shutdown: watch::Receiver<bool>,
}

async fn serve_session(mut session: ListenerSessionHandle, ctx: SessionCtx) {
    while let Some(attach) = session.next_incoming_attach().await {
        let request = LinkRequest::of(&attach);
        match ctx
            .shared
            .links
            .accept_incoming_attach(attach, &mut session)
            .await
        {
            Ok(endpoint) => route(endpoint, request, &ctx),
            Err(e) => tracing::info!(error = %e, "link not attached"),
        }
    }
    let _ = session.on_end().await;
}

/// What an attach asks for, read before the attach is accepted.
struct LinkRequest {
    address: Result<Address, String>,
    epoch: Option<i64>,
    metrics: bool,
    selector: Option<Result<Position, String>>,
}

impl LinkRequest {
    fn of(attach: &Attach) -> LinkRequest {
        let raw = match attach.role {
            // The client sends: the address is the target.
            Role::Sender => target_address(attach),
            Role::Receiver => attach.source.as_ref().and_then(|s| s.address.clone()),
        };
        let address = raw
            .ok_or_else(|| "the link has no address".to_string())
            .and_then(|a| Address::parse(&a));
        let epoch = attach.properties.as_ref().and_then(|p| {
            p.iter()
                .filter(|(k, _)| k.as_str() == EPOCH)
                .find_map(|(_, v)| match v {
                    Value::Long(n) => Some(*n),
                    Value::Int(n) => Some(*n as i64),
                    _ => None,
                })
        });
        let metrics = attach
            .desired_capabilities
            .as_ref()
            .is_some_and(|c| c.0.iter().any(|s| s.as_str() == RUNTIME_METRIC));
        let selector = attach
            .source
            .as_ref()
            .and_then(|s| s.filter.as_ref())
            .and_then(|f| f.iter().find_map(|(_, v)| selector_text(v)))
            .map(|text| selector::parse_selector(&text));
        LinkRequest {
            address,
            epoch,
            metrics,
            selector,
        }
    }
}

#[allow(irrefutable_let_patterns)]
fn target_address(attach: &Attach) -> Option<String> {
    let target = attach.target.as_ref()?;
    if let TargetArchetype::Target(t) = target.as_ref() {
        return t.address.clone();
    }
    None
}

/// The text of a selector filter, under either of its descriptors.
fn selector_text(v: &Value) -> Option<String> {
    let Value::Described(d) = v else { return None };
    let Described { descriptor, value } = d.as_ref();
    let ours = match descriptor {
        Descriptor::Name(n) => n.as_str() == SELECTOR_NAME,
        Descriptor::Code(c) => *c == SELECTOR_CODE,
    };
    match (ours, value) {
        (true, Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn route(endpoint: LinkEndpoint, request: LinkRequest, ctx: &SessionCtx) {
    let ctx = ctx.clone();
    match (endpoint, request.address) {
        (LinkEndpoint::Sender(s), Ok(Address::Cbs)) => ctx.replies.insert(Node::Cbs, s),
        (LinkEndpoint::Sender(s), Ok(Address::Management)) => {
            ctx.replies.insert(Node::Management, s)
        }
        (LinkEndpoint::Receiver(r), Ok(Address::Cbs)) => {
            tokio::spawn(nodes::serve(
                Node::Cbs,
                r,
                ctx.replies.clone(),
                ctx.shared.ns.clone(),
                ctx.auth.clone(),
            ));
        }
        (LinkEndpoint::Receiver(r), Ok(Address::Management)) => {
            tokio::spawn(nodes::serve(
                Node::Management,
                r,
                ctx.replies.clone(),
                ctx.shared.ns.clone(),
                ctx.auth.clone(),
            ));
        }
        (LinkEndpoint::Receiver(r), Ok(Address::Send { hub, partition })) => {
            tokio::spawn(start_ingress(r, hub, partition, ctx));
        }
        (LinkEndpoint::Sender(s), Ok(address @ Address::Receive { .. })) => {
            tokio::spawn(start_egress(
                s,
                address,
                request.epoch,
                request.metrics,
                request.selector,
                ctx,
            ));
        }
        (LinkEndpoint::Sender(s), Ok(a)) => {
            let why = format!(
                "'{}' cannot be received from; receive from HUB/ConsumerGroups/GROUP/Partitions/N",
                a.entity_path()
            );
            tokio::spawn(refuse_sender(s, errors::amqp(AmqpError::NotAllowed, why)));
        }
        (LinkEndpoint::Receiver(r), Ok(a)) => {
            let why = format!(
                "'{}' cannot be sent to; send to HUB or HUB/Partitions/N",
                a.entity_path()
            );
            tokio::spawn(refuse_receiver(r, errors::amqp(AmqpError::NotAllowed, why)));
        }
        (LinkEndpoint::Sender(s), Err(why)) => {
            tokio::spawn(refuse_sender(s, errors::amqp(AmqpError::NotFound, why)));
        }
        (LinkEndpoint::Receiver(r), Err(why)) => {
            tokio::spawn(refuse_receiver(r, errors::amqp(AmqpError::NotFound, why)));
        }
    }
}

async fn refuse_sender(s: Sender, error: Error) {
    let _ = s.close_with_error(error).await;
}

async fn refuse_receiver(r: Receiver, error: Error) {
    let _ = r.close_with_error(error).await;
}

fn unauthorized(what: &str, entity: &str) -> Error {
    errors::amqp(
        AmqpError::UnauthorizedAccess,
        format!("unauthorized: no token on this connection grants {what} on '{entity}'"),
    )
}

async fn start_ingress(r: Receiver, hub: String, partition: Option<String>, ctx: SessionCtx) {
    let entity = Address::Send {
        hub: hub.clone(),
        partition: partition.clone(),
    }
    .entity_path()
    .to_ascii_lowercase();
    if !ctx.auth.allows(&entity, AccessRight::Send) {
        return refuse_receiver(r, unauthorized("Send", &entity)).await;
    }
    let hub = match ctx.shared.ns.get(&hub) {
        Ok(h) => h,
        Err(e) => return refuse_receiver(r, errors::from_hub(&e)).await,
    };
    let index = match partition {
        None => None,
        Some(p) => match hub.partition(&p) {
            Ok(log) => Some(log.partition()),
            Err(e) => return refuse_receiver(r, errors::from_hub(&e)).await,
        },
    };
    crate::ingress::run(r, hub, index, ctx.shutdown.clone()).await;
}

async fn start_egress(
    s: Sender,
    address: Address,
    epoch: Option<i64>,
    metrics: bool,
    selector: Option<Result<Position, String>>,
    ctx: SessionCtx,
) {
    let entity = address.entity_path().to_ascii_lowercase();
    let Address::Receive {
        hub,
        group,
        partition,
    } = address
    else {
        return;
    };
    if !ctx.auth.allows(&entity, AccessRight::Listen) {
        return refuse_sender(s, unauthorized("Listen", &entity)).await;
    }
    let hub = match ctx.shared.ns.get(&hub) {
        Ok(h) => h,
        Err(e) => return refuse_sender(s, errors::from_hub(&e)).await,
    };
    let groups = hub.consumer_groups();
    if !groups.iter().any(|g| g.eq_ignore_ascii_case(&group)) {
        let e = HubError::GroupNotFound {
            hub: hub.name(),
            group,
            existing: groups,
        };
        return refuse_sender(s, errors::from_hub(&e)).await;
    }
    let log = match hub.partition(&partition) {
        Ok(l) => l,
        Err(e) => return refuse_sender(s, errors::from_hub(&e)).await,
    };
    let position = match selector {
        None => Position::Earliest,
        Some(Ok(p)) => p,
        Some(Err(why)) => {
            return refuse_sender(s, errors::custom(errors::ARGUMENT_ERROR, why)).await;
        }
    };
    let next = match log.resolve(position) {
        Ok(n) => n,
        Err(e) => {
            let error = errors::custom(errors::ARGUMENT_OUT_OF_RANGE, e.to_string());
            return refuse_sender(s, error).await;
        }
    };
    let index = log.partition();
    let registration = match ctx
        .shared
        .receivers
        .register(&hub.name(), &group, index, epoch)
    {
        Ok(r) => r,
        Err(Refused::Epoch(why)) => {
            return refuse_sender(
                s,
                errors::link(fe2o3_amqp_types::definitions::LinkError::Stolen, why),
            )
            .await
        }
        Err(Refused::Limit(why)) => {
            return refuse_sender(s, errors::amqp(AmqpError::ResourceLimitExceeded, why)).await
        }
    };
    let link = Egress {
        hub,
        partition: index,
        next,
        metrics,
        registration,
    };
    egress::run(s, link, ctx.shutdown.clone()).await;
}
