//! The HTTP surface: `/health`, `/metrics`, Eddy's JSON API under `/api` and the
//! Event Hubs REST send routes and the Kusto REST endpoints.

mod error;
mod events;
mod groups;
mod hubs;
pub mod kusto;
mod rest_send;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::Router;
use eddy_common::metrics::Metrics;
use eddy_explorer::Explorer;
use eddy_hub::Namespace;

pub use error::ApiError;
pub use rest_send::BATCH_CONTENT_TYPE;

#[derive(Clone)]
pub struct AppState {
    pub ns: Arc<Namespace>,
    pub explorer: Arc<Explorer>,
    pub metrics: Metrics,
    pub kusto: kusto::KustoLimits,
}

pub fn router(state: AppState) -> Router {
    // JSON and base64 inflate bodies; the hub enforces the real batch limit.
    let body_limit = (state.ns.defaults().max_batch_bytes as usize)
        .saturating_mul(4)
        .max(64 * 1024)
        + 64 * 1024;
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api/hubs", get(hubs::list))
        .route(
            "/api/hubs/{hub}",
            put(hubs::create)
                .post(hubs::create)
                .get(hubs::show)
                .delete(hubs::delete),
        )
        .route("/api/hubs/{hub}/events", post(events::send))
        .route(
            "/api/hubs/{hub}/partitions/{partition}",
            get(hubs::partition),
        )
        .route(
            "/api/hubs/{hub}/partitions/{partition}/events",
            get(events::read),
        )
        .route("/api/hubs/{hub}/consumergroups", get(hubs::groups))
        .route(
            "/api/hubs/{hub}/consumergroups/{group}",
            put(hubs::create_group).delete(hubs::delete_group),
        )
        .route(
            "/api/hubs/{hub}/consumergroups/{group}/checkpoints",
            get(groups::checkpoints),
        )
        .route(
            "/api/hubs/{hub}/consumergroups/{group}/checkpoints/{partition}",
            put(groups::set_checkpoint),
        )
        .route(
            "/api/hubs/{hub}/consumergroups/{group}/ownership",
            get(groups::ownership).post(groups::claim),
        )
        .route("/{hub}/messages", post(rest_send::send_hub))
        .route(
            "/{hub}/partitions/{partition}/messages",
            post(rest_send::send_partition),
        )
        .layer(DefaultBodyLimit::max(body_limit))
        // Kusto reads its own bodies, with its own limits.
        .merge(kusto::routes(state.clone()))
        .with_state(state)
}

async fn health() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ready"}))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    text.push_str(&process_metrics());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// Resident memory and CPU time of this process, from /proc.
fn process_metrics() -> String {
    let mut out = String::new();
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for (key, name) in [
            ("VmRSS:", "eddy_process_resident_memory_bytes"),
            ("VmHWM:", "eddy_process_peak_resident_memory_bytes"),
        ] {
            if let Some(kb) = status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
            {
                out.push_str(&format!(
                    "# TYPE {name} gauge\n{name} {}\n",
                    kb.parse::<u64>().unwrap_or(0) * 1024
                ));
            }
        }
    }
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // Fields after the command name: utime and stime are the 12th and 13th.
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            if f.len() > 12 {
                let ticks =
                    f[11].parse::<f64>().unwrap_or(0.0) + f[12].parse::<f64>().unwrap_or(0.0);
                out.push_str(&format!(
                    "# TYPE eddy_process_cpu_seconds_total counter\neddy_process_cpu_seconds_total {}\n",
                    ticks / 100.0
                ));
            }
        }
    }
    out
}
