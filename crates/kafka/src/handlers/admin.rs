//! Metadata, FindCoordinator, SASL, CreateTopics and DeleteTopics.

use eddy_common::config::HubSettings;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    FindCoordinatorRequest, FindCoordinatorResponse, MetadataRequest, MetadataResponse,
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
    TopicName,
};

use super::{s, Conn};
use crate::errors;
use crate::server::Broker;

const NODE: BrokerId = BrokerId(0);

pub fn metadata(
    broker: &Broker,
    conn: &Conn,
    r: MetadataRequest,
    version: i16,
) -> MetadataResponse {
    let (host, port) = conn.advertised(broker);
    // v0: an empty list means every topic; v1+: null does, empty means none.
    let names: Vec<String> = match r.topics {
        None => broker.ns.names(),
        Some(t) if t.is_empty() && version == 0 => broker.ns.names(),
        Some(t) => t
            .into_iter()
            .filter_map(|t| t.name.map(|n| n.0.to_string()))
            .collect(),
    };
    let topics = names
        .into_iter()
        .map(|name| match broker.ns.get(&name) {
            Ok(hub) => MetadataResponseTopic::default()
                .with_name(Some(TopicName(s(&name))))
                .with_partitions(
                    (0..hub.partition_count())
                        .map(|p| {
                            MetadataResponsePartition::default()
                                .with_partition_index(p as i32)
                                .with_leader_id(NODE)
                                .with_leader_epoch(0)
                                .with_replica_nodes(vec![NODE])
                                .with_isr_nodes(vec![NODE])
                        })
                        .collect(),
                ),
            Err(e) => MetadataResponseTopic::default()
                .with_name(Some(TopicName(s(&name))))
                .with_error_code(errors::from_hub(&e)),
        })
        .collect();
    MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(NODE)
            .with_host(s(&host))
            .with_port(port)])
        .with_cluster_id(Some(s("eddy")))
        .with_controller_id(NODE)
        .with_topics(topics)
}

pub fn find_coordinator(
    broker: &Broker,
    conn: &Conn,
    _r: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let (host, port) = conn.advertised(broker);
    FindCoordinatorResponse::default()
        .with_node_id(NODE)
        .with_host(s(&host))
        .with_port(port)
}

/// PLAIN is the one mechanism (what Event Hubs offers). Returns whether it succeeded.
pub fn sasl_handshake(r: SaslHandshakeRequest) -> (SaslHandshakeResponse, bool) {
    let ok = r.mechanism.as_str() == "PLAIN";
    let resp = SaslHandshakeResponse::default()
        .with_error_code(if ok {
            errors::NONE
        } else {
            errors::UNSUPPORTED_SASL_MECHANISM
        })
        .with_mechanisms(vec![s("PLAIN")]);
    (resp, ok)
}

/// With authentication off any credentials pass, including the Event Hubs style
/// `$ConnectionString` user with a connection string as password; the token must
/// still be a well-formed PLAIN message.
pub fn sasl_authenticate(r: SaslAuthenticateRequest) -> SaslAuthenticateResponse {
    match check_plain(&r.auth_bytes) {
        Ok(()) => SaslAuthenticateResponse::default(),
        Err(e) => SaslAuthenticateResponse::default()
            .with_error_code(errors::SASL_AUTHENTICATION_FAILED)
            .with_error_message(Some(s(&e))),
    }
}

/// A PLAIN message is `authzid NUL authcid NUL password` (RFC 4616).
pub fn check_plain(token: &[u8]) -> Result<(), String> {
    let parts: Vec<&[u8]> = token.split(|b| *b == 0).collect();
    if parts.len() != 3 || parts[1].is_empty() {
        return Err("SASL/PLAIN token must be 'authzid\\0user\\0password'".into());
    }
    Ok(())
}

pub fn create_topics(broker: &Broker, r: CreateTopicsRequest) -> CreateTopicsResponse {
    let topics = r
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let result = CreatableTopicResult::default().with_name(t.name.clone());
            let fail = |code: i16, msg: String| {
                result
                    .clone()
                    .with_error_code(code)
                    .with_error_message(Some(s(&msg)))
            };
            if t.replication_factor > 1 {
                return fail(
                    errors::INVALID_REPLICATION_FACTOR,
                    format!(
                        "replication factor {} is larger than the one broker Eddy runs",
                        t.replication_factor
                    ),
                );
            }
            let partitions = (t.num_partitions > 0).then_some(t.num_partitions as u32);
            if t.num_partitions == 0 || t.num_partitions < -1 {
                return fail(
                    errors::INVALID_PARTITIONS,
                    format!("invalid partition count {}", t.num_partitions),
                );
            }
            let mut settings = HubSettings {
                name: name.clone(),
                partitions,
                ..Default::default()
            };
            for c in &t.configs {
                if c.name.as_str() == "retention.ms" {
                    if let Some(ms) = c.value.as_ref().and_then(|v| v.parse::<i64>().ok()) {
                        if ms > 0 {
                            settings.retention_hours =
                                Some(((ms as u64).div_ceil(3_600_000)).max(1));
                        }
                    }
                }
            }
            if r.validate_only {
                if broker.ns.get(&name).is_ok() {
                    return fail(
                        errors::TOPIC_ALREADY_EXISTS,
                        format!("topic '{name}' already exists"),
                    );
                }
                return result;
            }
            match broker.ns.create(&settings) {
                Ok(hub) => {
                    tracing::info!(hub = %name, "hub created over Kafka");
                    result
                        .with_num_partitions(hub.partition_count() as i32)
                        .with_replication_factor(1)
                }
                Err(e) => {
                    let code = match &e {
                        eddy_hub::HubError::InvalidArgument(m) if m.contains("partition count") => {
                            errors::INVALID_PARTITIONS
                        }
                        eddy_hub::HubError::InvalidArgument(_) => errors::INVALID_TOPIC_EXCEPTION,
                        other => errors::from_hub(other),
                    };
                    fail(code, e.to_string())
                }
            }
        })
        .collect();
    CreateTopicsResponse::default().with_topics(topics)
}

pub fn delete_topics(broker: &Broker, r: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let responses = r
        .topic_names
        .into_iter()
        .map(|name| {
            let text = name.0.to_string();
            let result = DeletableTopicResult::default().with_name(Some(name));
            match broker.ns.delete(&text) {
                Ok(()) => {
                    broker.producers.forget_hub(&text);
                    result
                }
                Err(e) => result
                    .with_error_code(errors::from_hub(&e))
                    .with_error_message(Some(s(&e.to_string()))),
            }
        })
        .collect();
    DeleteTopicsResponse::default().with_responses(responses)
}
