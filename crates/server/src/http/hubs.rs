//! Hub management: create, list, describe, delete; consumer groups; partitions.

use axum::extract::{Path, State};
use axum::http::StatusCode as Http;
use axum::Json;
use eddy_common::config::HubSettings;
use eddy_hub::{Hub, PartitionProperties};
use serde::Serialize;

use super::error::{ApiError, ApiResult};
use super::AppState;
use crate::api::rfc3339_ms;

#[derive(Serialize)]
pub struct HubDescription {
    pub name: String,
    pub created_at: String,
    pub partition_count: u32,
    pub partition_ids: Vec<String>,
    pub retention_hours: u64,
    pub retention_bytes: Option<u64>,
    pub consumer_groups: Vec<String>,
    pub max_events_per_sec: Option<u64>,
    pub max_bytes_per_sec: Option<u64>,
    pub partitions: Vec<PartitionJson>,
}

#[derive(Serialize)]
pub struct PartitionJson {
    #[serde(flatten)]
    pub props: PartitionProperties,
    pub last_enqueued_time_utc: Option<String>,
}

fn partition_json(props: PartitionProperties) -> PartitionJson {
    let last_enqueued_time_utc = props.last_enqueued_time_utc_ms.map(rfc3339_ms);
    PartitionJson {
        props,
        last_enqueued_time_utc,
    }
}

pub fn describe(hub: &Hub) -> HubDescription {
    let meta = hub.meta();
    let partitions = hub
        .partition_ids()
        .iter()
        .filter_map(|id| hub.partition_properties(id).ok())
        .map(partition_json)
        .collect();
    HubDescription {
        name: meta.name,
        created_at: rfc3339_ms(meta.created_at_ms),
        partition_count: meta.partition_count,
        partition_ids: hub.partition_ids(),
        retention_hours: meta.retention_hours,
        retention_bytes: meta.retention_bytes,
        consumer_groups: meta.consumer_groups,
        max_events_per_sec: meta.max_events_per_sec,
        max_bytes_per_sec: meta.max_bytes_per_sec,
        partitions,
    }
}

pub async fn list(State(state): State<AppState>) -> Json<Vec<HubDescription>> {
    Json(state.ns.list().iter().map(|h| describe(h)).collect())
}

pub async fn create(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Option<Json<serde_json::Value>>,
) -> ApiResult<(Http, Json<HubDescription>)> {
    let mut settings: HubSettings = match body {
        Some(Json(v)) => serde_json::from_value(v)
            .map_err(|e| ApiError::bad_request(format!("invalid hub settings: {e}")))?,
        None => HubSettings::default(),
    };
    if !settings.name.is_empty() && settings.name != name {
        return Err(ApiError::bad_request(format!(
            "body names hub '{}' but the path names '{name}'",
            settings.name
        )));
    }
    settings.name = name;
    let hub = state.ns.create(&settings)?;
    Ok((Http::CREATED, Json(describe(&hub))))
}

pub async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<HubDescription>> {
    let hub = state.ns.get(&name)?;
    Ok(Json(describe(&hub)))
}

pub async fn delete(State(state): State<AppState>, Path(name): Path<String>) -> ApiResult<Http> {
    let ns = state.ns.clone();
    tokio::task::spawn_blocking(move || ns.delete(&name))
        .await
        .map_err(|e| ApiError {
            status: eddy_common::StatusCode::Internal,
            message: e.to_string(),
        })??;
    Ok(Http::NO_CONTENT)
}

pub async fn partition(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult<Json<PartitionJson>> {
    Ok(Json(partition_json(
        state.ns.get(&name)?.partition_properties(&id)?,
    )))
}

pub async fn groups(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<String>>> {
    Ok(Json(state.ns.get(&name)?.consumer_groups()))
}

pub async fn create_group(
    State(state): State<AppState>,
    Path((name, group)): Path<(String, String)>,
) -> ApiResult<Http> {
    state.ns.get(&name)?.create_group(&group)?;
    Ok(Http::CREATED)
}

pub async fn delete_group(
    State(state): State<AppState>,
    Path((name, group)): Path<(String, String)>,
) -> ApiResult<Http> {
    state.ns.get(&name)?.delete_group(&group)?;
    Ok(Http::NO_CONTENT)
}
