//! Per-connection counters, exported as Prometheus series and shown by
//! `.show data connections`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use eddy_common::metrics::Metrics;

use crate::batcher::SealReason;

pub struct Stats {
    metrics: Metrics,
    labels: Vec<(String, String)>,
    pub events_read: Arc<AtomicU64>,
    pub events_ingested: Arc<AtomicU64>,
    pub events_failed: Arc<AtomicU64>,
    /// Events re-read after a restart that their table already held.
    pub events_skipped: Arc<AtomicU64>,
    pub rows_ingested: Arc<AtomicU64>,
    pub batches_sealed: Arc<AtomicU64>,
    /// Enqueued → durable in the table, of the newest event of the last batch.
    pub last_latency_ms: Arc<AtomicU64>,
    /// Events in the hub not yet ingested, per partition.
    lag: Mutex<BTreeMap<u32, u64>>,
    pub last_error: Mutex<Option<String>>,
}

impl Stats {
    pub fn new(metrics: &Metrics, db: &str, name: &str) -> Arc<Stats> {
        let labels = [("database", db), ("connection", name)];
        Arc::new(Stats {
            events_read: metrics.counter(
                "eddy_connection_events_read_total",
                "Events a data connection read from its hub.",
                &labels,
            ),
            events_ingested: metrics.counter(
                "eddy_connection_events_ingested_total",
                "Events a data connection ingested into tables.",
                &labels,
            ),
            events_failed: metrics.counter(
                "eddy_connection_events_failed_total",
                "Events (or records of events) a data connection could not ingest; see .show ingestion failures.",
                &labels,
            ),
            events_skipped: metrics.counter(
                "eddy_connection_events_skipped_total",
                "Events re-read after a restart that their table already held (exactly-once).",
                &labels,
            ),
            rows_ingested: metrics.counter(
                "eddy_connection_rows_ingested_total",
                "Rows a data connection added to tables.",
                &labels,
            ),
            batches_sealed: metrics.counter(
                "eddy_connection_batches_sealed_total",
                "Batches a data connection sealed, all reasons.",
                &labels,
            ),
            last_latency_ms: metrics.gauge(
                "eddy_connection_ingestion_latency_ms",
                "Enqueued-to-durable latency of the newest event of the last sealed batch.",
                &labels,
            ),
            metrics: metrics.clone(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            lag: Mutex::new(BTreeMap::new()),
            last_error: Mutex::new(None),
        })
    }

    fn with<'a>(&'a self, extra: &'a [(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut l: Vec<(&str, &str)> = self
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        l.extend_from_slice(extra);
        l
    }

    pub fn sealed(&self, reason: SealReason) {
        self.batches_sealed.fetch_add(1, Ordering::Relaxed);
        self.metrics
            .counter(
                "eddy_connection_batches_sealed_by_reason_total",
                "Batches a data connection sealed, by the limit that sealed them.",
                &self.with(&[("reason", reason.name())]),
            )
            .fetch_add(1, Ordering::Relaxed);
    }

    pub fn sealed_by(&self, reason: SealReason) -> u64 {
        self.metrics
            .counter(
                "eddy_connection_batches_sealed_by_reason_total",
                "Batches a data connection sealed, by the limit that sealed them.",
                &self.with(&[("reason", reason.name())]),
            )
            .load(Ordering::Relaxed)
    }

    pub fn set_lag(&self, partition: u32, lag: u64) {
        let p = partition.to_string();
        self.metrics
            .gauge(
                "eddy_connection_lag_events",
                "Events in a partition that a data connection has not ingested yet.",
                &self.with(&[("partition", &p)]),
            )
            .store(lag, Ordering::Relaxed);
        self.lag.lock().expect("lag lock").insert(partition, lag);
    }

    pub fn lag(&self) -> BTreeMap<u32, u64> {
        self.lag.lock().expect("lag lock").clone()
    }

    pub fn set_error(&self, e: Option<String>) {
        *self.last_error.lock().expect("error lock") = e;
    }

    pub fn error(&self) -> Option<String> {
        self.last_error.lock().expect("error lock").clone()
    }

    /// Drops this connection's series (after `.drop data connection`).
    pub fn remove(&self) {
        let name = &self.labels[1].1;
        self.metrics.remove_labelled("connection", name);
    }
}
