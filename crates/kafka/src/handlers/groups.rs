//! JoinGroup, SyncGroup, Heartbeat and LeaveGroup, relayed to the coordinator.

use std::time::Duration;

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, SyncGroupRequest, SyncGroupResponse,
};

use super::{s, Conn};
use crate::coordinator::{JoinRequest, JoinResult, Reply, SyncResult};
use crate::errors;
use crate::server::Broker;

pub async fn join(
    broker: &Broker,
    conn: &Conn,
    r: JoinGroupRequest,
    version: i16,
) -> JoinGroupResponse {
    let member_id = r.member_id.to_string();
    let session = Duration::from_millis(r.session_timeout_ms.max(0) as u64);
    let request = JoinRequest {
        group_id: r.group_id.0.to_string(),
        member_id: member_id.clone(),
        client_id: conn.client_id.clone().unwrap_or_else(|| "client".into()),
        session_timeout: session,
        // v0 has no rebalance timeout; the session timeout stands in, as in Kafka.
        rebalance_timeout: if version >= 1 {
            Duration::from_millis(r.rebalance_timeout_ms.max(0) as u64)
        } else {
            session
        },
        protocol_type: r.protocol_type.to_string(),
        protocols: r
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata))
            .collect(),
        require_member_id: version >= 4,
    };
    let result = match broker.coordinator.join(request) {
        Reply::Now(r) => r,
        Reply::Later(rx) => rx.await.unwrap_or_else(|_| JoinResult {
            error: errors::REBALANCE_IN_PROGRESS,
            generation: -1,
            member_id,
            ..Default::default()
        }),
    };
    JoinGroupResponse::default()
        .with_error_code(result.error)
        .with_generation_id(result.generation)
        .with_protocol_type(result.protocol_type.as_deref().map(s))
        .with_protocol_name(Some(s(result.protocol_name.as_deref().unwrap_or(""))))
        .with_leader(s(&result.leader))
        .with_member_id(s(&result.member_id))
        .with_members(
            result
                .members
                .into_iter()
                .map(|(id, meta)| {
                    JoinGroupResponseMember::default()
                        .with_member_id(s(&id))
                        .with_metadata(meta)
                })
                .collect(),
        )
}

pub async fn sync(broker: &Broker, r: SyncGroupRequest) -> SyncGroupResponse {
    let assignments = r
        .assignments
        .into_iter()
        .map(|a| (a.member_id.to_string(), a.assignment))
        .collect();
    let result = match broker.coordinator.sync(
        r.group_id.0.as_str(),
        r.generation_id,
        r.member_id.as_str(),
        assignments,
    ) {
        Reply::Now(r) => r,
        Reply::Later(rx) => rx.await.unwrap_or(SyncResult {
            error: errors::REBALANCE_IN_PROGRESS,
            ..Default::default()
        }),
    };
    SyncGroupResponse::default()
        .with_error_code(result.error)
        .with_protocol_type(result.protocol_type.as_deref().map(s))
        .with_protocol_name(result.protocol_name.as_deref().map(s))
        .with_assignment(result.assignment)
}

pub fn heartbeat(broker: &Broker, r: HeartbeatRequest) -> HeartbeatResponse {
    let code =
        broker
            .coordinator
            .heartbeat(r.group_id.0.as_str(), r.generation_id, r.member_id.as_str());
    HeartbeatResponse::default().with_error_code(code)
}

pub fn leave(broker: &Broker, r: LeaveGroupRequest, version: i16) -> LeaveGroupResponse {
    let ids: Vec<String> = if version >= 3 {
        r.members.iter().map(|m| m.member_id.to_string()).collect()
    } else {
        vec![r.member_id.to_string()]
    };
    let codes = broker.coordinator.leave(r.group_id.0.as_str(), &ids);
    if version >= 3 {
        LeaveGroupResponse::default().with_members(
            r.members
                .into_iter()
                .zip(codes)
                .map(|(m, code)| {
                    MemberResponse::default()
                        .with_member_id(m.member_id)
                        .with_group_instance_id(m.group_instance_id)
                        .with_error_code(code)
                })
                .collect(),
        )
    } else {
        LeaveGroupResponse::default()
            .with_error_code(codes.first().copied().unwrap_or(errors::NONE))
    }
}
