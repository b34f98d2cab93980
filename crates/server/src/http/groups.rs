//! Checkpoints and partition ownership of consumer groups (the server-side
//! checkpoint store that Event Hubs processors use).

use axum::extract::{Path, State};
use axum::Json;
use eddy_hub::{Checkpoint, Ownership, OwnershipClaim};
use serde::Serialize;

use super::error::{ApiError, ApiResult};
use super::AppState;

#[derive(Serialize)]
pub struct CheckpointJson {
    pub partition_id: String,
    pub sequence_number: u64,
    pub offset: Option<String>,
    pub updated_ms: i64,
}

pub async fn checkpoints(
    State(state): State<AppState>,
    Path((hub, group)): Path<(String, String)>,
) -> ApiResult<Json<Vec<CheckpointJson>>> {
    let list = state.ns.get(&hub)?.checkpoints(&group)?;
    Ok(Json(
        list.into_iter()
            .map(|c| CheckpointJson {
                partition_id: c.partition.to_string(),
                sequence_number: c.sequence_number,
                offset: c.offset.map(|o| o.to_string()),
                updated_ms: c.updated_ms,
            })
            .collect(),
    ))
}

pub async fn set_checkpoint(
    State(state): State<AppState>,
    Path((hub, group, partition)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<axum::http::StatusCode> {
    let req: crate::api::CheckpointRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid checkpoint: {e}")))?;
    let hub = state.ns.get(&hub)?;
    let partition = hub.partition(&partition)?.partition();
    let offset = match req.offset {
        Some(o) => Some(o.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!("offset '{o}' is not one this hub issued"))
        })?),
        None => None,
    };
    let cp = Checkpoint {
        partition,
        sequence_number: req.sequence_number,
        offset,
        updated_ms: eddy_hub::now_ms(),
    };
    hub.set_checkpoint(&group, cp)?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

pub async fn ownership(
    State(state): State<AppState>,
    Path((hub, group)): Path<(String, String)>,
) -> ApiResult<Json<Vec<Ownership>>> {
    Ok(Json(state.ns.get(&hub)?.ownership(&group)?))
}

/// Claims partitions; answers with the claims that won (compare-and-swap on etag).
pub async fn claim(
    State(state): State<AppState>,
    Path((hub, group)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Vec<Ownership>>> {
    let claims: Vec<OwnershipClaim> = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid ownership claims: {e}")))?;
    let hub = state.ns.get(&hub)?;
    Ok(Json(hub.claim_ownership(&group, &claims)?))
}
