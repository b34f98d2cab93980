//! One running data connection.
//!
//! ```text
//!  reader per partition ──(bounded channel: backpressure)──▶ worker
//!     read_wait from its position                            │ route each event
//!                                                            │ skip what the table holds
//!                                                            ▼
//!        batcher (per table/format/mapping) ──seal──▶ Explorer::ingest_events
//!          rows + (connection, partition, format, mapping) → last sequence number
//!          in one WAL record, then in the Delta commit that seals them
//! ```
//!
//! Exactly-once: the table is the source of truth for what it holds. After a restart
//! the worker reads each partition from its consumer-group checkpoint (which only
//! ever trails what is durable) and skips events whose sequence number the target
//! table already recorded for that source. Failures are recorded once per event.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy_explorer::connections::EventBatch;
use eddy_explorer::ingest::events::EventRecord;
use eddy_explorer::ingest::RecordFailure;
use eddy_explorer::{EventOrigin, Explorer, ExplorerError};
use eddy_hub::{Checkpoint, Hub, Position, ReceivedEvent};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

use crate::batcher::{Batch, Batcher, Item, Limits, SealReason, StreamingFlush};
use crate::def::{ConnectionDef, Start};
use crate::route::{route, routing_properties, Route};
use crate::stats::Stats;

/// Tunables shared by all connections.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Buffered event bytes per connection before the largest batch seals early.
    pub max_buffer_bytes: u64,
    pub streaming: StreamingFlush,
    /// Events per read from one partition.
    pub read_events: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_buffer_bytes: 256 * 1024 * 1024,
            streaming: StreamingFlush {
                every: Duration::from_millis(200),
                max_items: 20_000,
            },
            read_events: 2000,
        }
    }
}

const TICK: Duration = Duration::from_millis(50);
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// Attempts for a batch whose ingestion fails for a reason that may pass (I/O).
const ATTEMPTS: u32 = 5;

pub struct Worker {
    def: ConnectionDef,
    hub: Arc<Hub>,
    explorer: Arc<Explorer>,
    stats: Arc<Stats>,
    settings: Settings,
    batcher: Batcher,
    /// Per partition: the first sequence number not yet handled.
    next: BTreeMap<u32, u64>,
    /// Route (its table, format and mapping) → partition → the last sequence number the
    /// table holds for that source. Looked up per event without allocating.
    positions: HashMap<Route, HashMap<u32, i64>>,
    limits: HashMap<Route, Limits>,
    checkpointed: BTreeMap<u32, u64>,
    last_checkpoint: Instant,
}

/// The source id committed with the rows: one per (connection, partition, format,
/// mapping), so that batches of one table sealing in any order keep their own position.
pub fn source_id(def: &ConnectionDef, partition: u32, route: &Route) -> String {
    format!(
        "eddy-dc/{}/{}/{}/{}/{}",
        def.name,
        def.id,
        partition,
        route.format,
        route.mapping.as_deref().unwrap_or("")
    )
}

enum Stop {
    Requested,
}

impl Worker {
    pub fn new(
        def: ConnectionDef,
        hub: Arc<Hub>,
        explorer: Arc<Explorer>,
        stats: Arc<Stats>,
        settings: Settings,
    ) -> Worker {
        Worker {
            def,
            hub,
            explorer,
            stats,
            settings,
            batcher: Batcher::default(),
            next: BTreeMap::new(),
            positions: HashMap::new(),
            limits: HashMap::new(),
            checkpointed: BTreeMap::new(),
            last_checkpoint: Instant::now(),
        }
    }

    /// Where each partition resumes: after the checkpoint, else the start position.
    fn resume(&mut self) -> eddy_hub::Result<()> {
        let checkpoints = self.hub.checkpoints(&self.def.consumer_group)?;
        for p in 0..self.hub.partition_count() {
            let from = match checkpoints.iter().find(|c| c.partition == p) {
                Some(c) => {
                    self.checkpointed.insert(p, c.sequence_number);
                    c.sequence_number + 1
                }
                None => match self.def.start {
                    Start::Latest => self.def.start_sequence.get(&p).copied().unwrap_or(0),
                    Start::Earliest => 0,
                    Start::Time(ms) => {
                        self.hub
                            .partition_by_index(p)?
                            .resolve(Position::EnqueuedTime {
                                ms,
                                inclusive: true,
                            })?
                    }
                },
            };
            self.next.insert(p, from);
        }
        Ok(())
    }

    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        loop {
            match self.resume() {
                Ok(()) => break,
                Err(e) => {
                    self.stats
                        .set_error(Some(format!("cannot read checkpoints: {e}")));
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        }
        let partitions = self.hub.partition_count() as usize;
        let (tx, mut rx) = mpsc::channel::<Vec<ReceivedEvent>>(partitions * 2);
        let readers: Vec<_> = self
            .next
            .iter()
            .map(|(&p, &from)| {
                tokio::spawn(read_partition(
                    self.hub.clone(),
                    p,
                    from,
                    self.settings.read_events,
                    tx.clone(),
                    stop.clone(),
                    self.stats.clone(),
                ))
            })
            .collect();
        drop(tx);
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let step = tokio::select! {
                biased;
                _ = stop.changed() => Err(Stop::Requested),
                got = rx.recv() => match got {
                    Some(events) => self.accept(events, &stop).await,
                    None => Err(Stop::Requested),
                },
                _ = tick.tick() => self.on_tick(&stop).await,
            };
            let step = match step {
                Ok(()) => self.seal_due(&stop).await,
                e => e,
            };
            if step.is_err() {
                break;
            }
        }
        for r in readers {
            r.abort();
        }
        // What is done stays done: a restart resumes here (open batches are re-read).
        self.checkpoint();
    }

    async fn on_tick(&mut self, stop: &watch::Receiver<bool>) -> Result<(), Stop> {
        // Policies are read again each tick, so policy changes apply to open batches.
        self.limits.clear();
        self.seal_due(stop).await?;
        if self.last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            self.last_checkpoint = Instant::now();
            self.checkpoint();
        }
        self.update_lag();
        Ok(())
    }

    /// Routes and buffers events read from one partition.
    async fn accept(
        &mut self,
        events: Vec<ReceivedEvent>,
        stop: &watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let now = Instant::now();
        self.stats
            .events_read
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        for e in events {
            let p = e.partition;
            let seq = e.sequence_number;
            if seq < self.next.get(&p).copied().unwrap_or(0) {
                continue;
            }
            self.next.insert(p, seq + 1);
            let (r, body) = match route(&self.def, &e) {
                Ok(x) => x,
                Err(err) => {
                    let props = routing_properties(&e);
                    let table = props["Table"]
                        .as_str()
                        .map(str::to_string)
                        .or_else(|| self.def.table.clone())
                        .unwrap_or_default();
                    let failure = RecordFailure {
                        position: position(&e),
                        payload: eddy_explorer::ingest::truncate_payload(&String::from_utf8_lossy(
                            &e.data.body,
                        )),
                        code: err.code,
                        message: err.message,
                    };
                    let db = self.def.database.clone();
                    self.fail(&db, &table, p, seq, props, &failure);
                    continue;
                }
            };
            if self.explorer.table_if_exists(&r.db, &r.table).is_none() {
                let message = if self.explorer.database_exists(&r.db) {
                    format!(
                        "table '{}' does not exist in database '{}'; create it (and its mapping) before sending, or fix the event's Table property",
                        r.table, r.db
                    )
                } else {
                    format!("database '{}' does not exist", r.db)
                };
                let failure = RecordFailure {
                    position: position(&e),
                    payload: eddy_explorer::ingest::truncate_payload(&String::from_utf8_lossy(
                        &body,
                    )),
                    code: "BadRequest_EntityNotFound",
                    message,
                };
                self.fail(&r.db, &r.table, p, seq, routing_properties(&e), &failure);
                continue;
            }
            if (seq as i64) <= self.position(&r, p).await {
                self.stats.events_skipped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let item = Item {
                record: EventRecord {
                    body,
                    system: self.system_properties(&e),
                    position: position(&e),
                },
                partition: p,
                seq,
                enqueued_ms: e.enqueued_time_ms,
                properties: routing_properties(&e),
            };
            self.batcher.add(&r, item, now);
            // Count and size limits seal at the event that reaches them.
            let limits = self.limits(&r);
            if let Some(reason) = self
                .batcher
                .due_reason(&r, limits, self.settings.streaming, now)
            {
                self.seal(&r, reason, limits.streaming, stop).await?;
            }
        }
        Ok(())
    }

    fn system_properties(&self, e: &ReceivedEvent) -> Vec<(String, Value)> {
        self.def
            .system_properties
            .iter()
            .map(|name| {
                let v = match name.as_str() {
                    "x-opt-enqueued-time" => {
                        json!(eddy_kql::values::format_datetime(e.enqueued_time_ms * 1000))
                    }
                    "x-opt-sequence-number" => json!(e.sequence_number),
                    "x-opt-offset" => json!(e.offset.to_string()),
                    "x-opt-partition-key" => json!(e.data.partition_key),
                    _ => Value::Null,
                };
                (name.clone(), v)
            })
            .collect()
    }

    /// The last sequence number of `partition` that `r`'s table holds for this route
    /// (-1 for none).
    async fn position(&mut self, r: &Route, partition: u32) -> i64 {
        if let Some(v) = self.positions.get(r).and_then(|m| m.get(&partition)) {
            return *v;
        }
        let source = source_id(&self.def, partition, r);
        let v = match self.explorer.table(&r.db, &r.table) {
            Ok(t) => t
                .source_position(&source)
                .await
                .ok()
                .flatten()
                .unwrap_or(-1),
            Err(_) => -1,
        };
        self.positions
            .entry(r.clone())
            .or_default()
            .insert(partition, v);
        v
    }

    fn limits(&mut self, r: &Route) -> Limits {
        if let Some(l) = self.limits.get(r) {
            return *l;
        }
        let l = Limits {
            policy: self.explorer.batching_policy(&r.db, &r.table),
            streaming: self.explorer.streaming_enabled(&r.db, &r.table),
        };
        self.limits.insert(r.clone(), l);
        l
    }

    /// Seals every batch whose limit is reached, and the largest ones while the buffer
    /// is over its limit.
    async fn seal_due(&mut self, stop: &watch::Receiver<bool>) -> Result<(), Stop> {
        let now = Instant::now();
        for r in self.batcher.routes() {
            let limits = self.limits(&r);
            if let Some(reason) = self
                .batcher
                .due_reason(&r, limits, self.settings.streaming, now)
            {
                self.seal(&r, reason, limits.streaming, stop).await?;
            }
        }
        while self.batcher.total_bytes() > self.settings.max_buffer_bytes {
            let Some(r) = self.batcher.largest() else {
                break;
            };
            let streaming = self.limits(&r).streaming;
            self.seal(&r, SealReason::Memory, streaming, stop).await?;
        }
        Ok(())
    }

    async fn seal(
        &mut self,
        r: &Route,
        reason: SealReason,
        streaming: bool,
        stop: &watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let Some(batch) = self.batcher.take(r) else {
            return Ok(());
        };
        let last_seq = batch.last_seq();
        let sources: Vec<(String, i64)> = last_seq
            .iter()
            .map(|(p, s)| (source_id(&self.def, *p, r), *s as i64))
            .collect();
        let newest_ms = batch.items.iter().map(|i| i.enqueued_ms).max().unwrap_or(0);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = EventBatch {
                db: r.db.clone(),
                table: r.table.clone(),
                format: r.parsed_format(),
                mapping: r.mapping.clone(),
                events: batch.items.iter().map(|i| i.record.clone()).collect(),
                sources: sources.clone(),
                seal: !streaming,
            };
            match self.explorer.ingest_events(request).await {
                Ok(outcome) => {
                    let mut failed_events = std::collections::BTreeSet::new();
                    for (i, f) in &outcome.failures {
                        failed_events.insert(*i);
                        self.fail_item(&batch, *i, f);
                    }
                    self.stats.events_ingested.fetch_add(
                        (batch.items.len() - failed_events.len()) as u64,
                        Ordering::Relaxed,
                    );
                    self.stats
                        .rows_ingested
                        .fetch_add(outcome.rows as u64, Ordering::Relaxed);
                    let known = self.positions.entry(r.clone()).or_default();
                    for (p, s) in last_seq {
                        known.insert(p, s as i64);
                    }
                    self.stats.sealed(reason);
                    self.stats.last_latency_ms.store(
                        (eddy_hub::now_ms() - newest_ms).max(0) as u64,
                        Ordering::Relaxed,
                    );
                    self.stats.set_error(None);
                    return Ok(());
                }
                Err(e) if permanent(&e) || attempt >= ATTEMPTS => {
                    let code = match e {
                        ExplorerError::NotFound(_) => "BadRequest_EntityNotFound",
                        ExplorerError::InvalidArgument(_) => "BadRequest_InvalidArgument",
                        _ => "General_IngestionFailed",
                    };
                    for i in 0..batch.items.len() {
                        let item = &batch.items[i];
                        let failure = RecordFailure {
                            position: item.record.position.clone(),
                            payload: eddy_explorer::ingest::truncate_payload(
                                &String::from_utf8_lossy(&item.record.body),
                            ),
                            code,
                            message: e.to_string(),
                        };
                        self.fail_item(&batch, i, &failure);
                    }
                    self.stats.set_error(Some(e.to_string()));
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(connection = %self.def.name, table = %r.table, error = %e, attempt, "ingesting a batch failed; retrying");
                    self.stats.set_error(Some(e.to_string()));
                    let mut stop = stop.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(500 * attempt as u64)) => {}
                        _ = stop.changed() => return Err(Stop::Requested),
                    }
                }
            }
        }
    }

    fn fail_item(&self, batch: &Batch, index: usize, f: &RecordFailure) {
        if let Some(item) = batch.items.get(index) {
            let (db, table) = (&batch.route.db, &batch.route.table);
            let props = item.properties.clone();
            self.fail(db, table, item.partition, item.seq, props, f);
        }
    }

    /// Records a failed event (or record of one) with where it came from.
    fn fail(
        &self,
        db: &str,
        table: &str,
        partition: u32,
        sequence_number: u64,
        properties: Value,
        f: &RecordFailure,
    ) {
        let origin = EventOrigin {
            connection: self.def.name.clone(),
            hub: self.def.hub.clone(),
            partition,
            sequence_number,
            properties,
        };
        self.stats.events_failed.fetch_add(1, Ordering::Relaxed);
        self.explorer.record_event_failure(db, table, origin, f);
    }

    /// The last sequence number per partition below which everything is durable in a
    /// table or recorded as a failure.
    fn done(&self) -> BTreeMap<u32, Option<u64>> {
        let pending = self.batcher.min_pending();
        self.next
            .iter()
            .map(|(p, next)| {
                let first_open = pending.get(p).copied().unwrap_or(*next);
                (*p, first_open.checked_sub(1))
            })
            .collect()
    }

    /// Moves the consumer group's checkpoints up to what is done.
    fn checkpoint(&mut self) {
        for (p, done) in self.done() {
            let Some(seq) = done else { continue };
            if self.checkpointed.get(&p) == Some(&seq) {
                continue;
            }
            let cp = Checkpoint {
                partition: p,
                sequence_number: seq,
                offset: None,
                updated_ms: eddy_hub::now_ms(),
            };
            match self.hub.set_checkpoint(&self.def.consumer_group, cp) {
                Ok(()) => {
                    self.checkpointed.insert(p, seq);
                }
                Err(e) => {
                    tracing::warn!(connection = %self.def.name, partition = p, error = %e, "checkpoint failed")
                }
            }
        }
    }

    fn update_lag(&self) {
        for (p, done) in self.done() {
            let Ok(log) = self.hub.partition_by_index(p) else {
                continue;
            };
            let end = log.info().next_sequence_number;
            let first_open = done
                .map_or(0, |d| d + 1)
                .max(log.info().begin_sequence_number);
            self.stats.set_lag(p, end.saturating_sub(first_open));
        }
    }
}

fn permanent(e: &ExplorerError) -> bool {
    matches!(
        e,
        ExplorerError::NotFound(_) | ExplorerError::InvalidArgument(_) | ExplorerError::Kql { .. }
    )
}

fn position(e: &ReceivedEvent) -> String {
    format!("partition {} sequence {}", e.partition, e.sequence_number)
}

/// Reads one partition from `from` on and hands the events to the worker; waits when
/// the worker is behind (the channel is full), so memory stays bounded.
async fn read_partition(
    hub: Arc<Hub>,
    partition: u32,
    mut from: u64,
    max_events: usize,
    tx: mpsc::Sender<Vec<ReceivedEvent>>,
    mut stop: watch::Receiver<bool>,
    stats: Arc<Stats>,
) {
    loop {
        let read = async {
            let log = hub.partition_by_index(partition)?;
            log.read_wait(from, max_events, 1 << 20, Duration::from_secs(1))
                .await
        };
        let events = tokio::select! {
            r = read => r,
            _ = stop.changed() => return,
        };
        match events {
            Ok(events) if events.is_empty() => {}
            Ok(events) => {
                from = events.last().map_or(from, |e| e.sequence_number + 1);
                if tx.send(events).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                stats.set_error(Some(format!("reading partition {partition}: {e}")));
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}
