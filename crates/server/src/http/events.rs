//! Eddy's JSON API for sending events and reading them from a position.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::Json;
use eddy_hub::{Position, SendTarget};
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::AppState;
use crate::api::{rfc3339_ms, ReadResponse, ReceivedJson, SendRequest, SendResponse};

pub async fn send(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<SendResponse>> {
    let req: SendRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    let hub = state.ns.get(&name)?;
    let target = match (req.partition_key, req.partition_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give partition_key or partition_id, not both",
            ))
        }
        (Some(k), None) => SendTarget::Key(k),
        (None, Some(p)) => SendTarget::Partition(hub.partition(&p)?.partition()),
        (None, None) => SendTarget::Any,
    };
    let events = req
        .events
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            e.into_event()
                .map_err(|m| ApiError::bad_request(format!("event {i}: {m}")))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let r = hub.send(events, target).await?;
    Ok(Json(SendResponse {
        partition_id: r.partition.to_string(),
        first_sequence_number: r.first_sequence_number,
        last_sequence_number: r.last_sequence_number,
        first_offset: r.first_offset.to_string(),
        enqueued_time: rfc3339_ms(r.enqueued_time_ms),
    }))
}

#[derive(Deserialize)]
pub struct ReadParams {
    from: Option<String>,
    max: Option<usize>,
    max_bytes: Option<usize>,
    wait_ms: Option<u64>,
}

pub const MAX_READ_EVENTS: usize = 10_000;

pub async fn read(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
    Query(params): Query<ReadParams>,
) -> ApiResult<Json<ReadResponse>> {
    let hub = state.ns.get(&name)?;
    let log = hub.partition(&id)?;
    let position: Position = params.from.as_deref().unwrap_or("earliest").parse()?;
    let start = log.resolve(position)?;
    let max = params.max.unwrap_or(100).clamp(1, MAX_READ_EVENTS);
    let max_bytes = params.max_bytes.unwrap_or(4 * 1024 * 1024).max(1);
    let wait = Duration::from_millis(params.wait_ms.unwrap_or(0).min(60_000));
    let events = log.read_wait(start, max, max_bytes, wait).await?;
    hub.record_delivered(events.len());
    let next_sequence_number = events
        .last()
        .map_or(start.max(log.info().begin_sequence_number), |e| {
            e.sequence_number + 1
        });
    Ok(Json(ReadResponse {
        events: events.iter().map(ReceivedJson::from).collect(),
        next_sequence_number,
    }))
}
