//! One event hub: its partitions, routing of sends, quota, consumer groups and the
//! properties Event Hubs reports.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use eddy_common::config::HubDefaults;
use eddy_common::metrics::Metrics;
use serde::{Deserialize, Serialize};

use crate::error::{HubError, Result};
use crate::event::EventData;
use crate::groups::{Checkpoint, GroupStore, Ownership, OwnershipClaim};
use crate::hash::partition_for_key;
use crate::log::{AppendResult, LogInfo, LogOptions, PartitionLog};
use crate::quota::Quota;

pub const DEFAULT_GROUP: &str = "$Default";

/// What is persisted about a hub (`hub.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HubMeta {
    pub name: String,
    pub created_at_ms: i64,
    pub partition_count: u32,
    pub retention_hours: u64,
    pub retention_bytes: Option<u64>,
    pub consumer_groups: Vec<String>,
    pub max_events_per_sec: Option<u64>,
    pub max_bytes_per_sec: Option<u64>,
}

/// Where a send goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendTarget {
    /// Round-robin over partitions.
    Any,
    /// Hash of the partition key (stored with each event).
    Key(String),
    Partition(u32),
}

/// The fields Event Hubs reports for a partition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartitionProperties {
    pub hub: String,
    pub id: String,
    pub begin_sequence_number: u64,
    /// -1 when the partition has never had an event.
    pub last_enqueued_sequence_number: i64,
    pub last_enqueued_offset: String,
    pub last_enqueued_time_utc_ms: Option<i64>,
    pub is_empty: bool,
    pub size_bytes: u64,
    pub segments: usize,
}

struct HubMetrics {
    events_in: Arc<AtomicU64>,
    bytes_in: Arc<AtomicU64>,
    sends: Arc<AtomicU64>,
    throttled: Arc<AtomicU64>,
    events_out: Arc<AtomicU64>,
}

pub struct Hub {
    meta: RwLock<HubMeta>,
    dir: PathBuf,
    partitions: Vec<PartitionLog>,
    round_robin: AtomicU64,
    quota: Mutex<Option<Quota>>,
    groups: GroupStore,
    metrics: HubMetrics,
    max_batch_bytes: u64,
    max_groups: u32,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("meta", &self.meta()).finish()
    }
}

impl Hub {
    pub(crate) fn open(
        dir: &Path,
        meta: HubMeta,
        defaults: &HubDefaults,
        metrics: &Metrics,
    ) -> Result<Hub> {
        let options = LogOptions {
            segment_bytes: defaults.segment_bytes,
            fsync: defaults.fsync,
            lazy_flush: std::time::Duration::from_millis(defaults.lazy_flush_ms.max(1)),
        };
        let partitions = (0..meta.partition_count)
            .map(|p| {
                PartitionLog::open(
                    &dir.join("partitions").join(p.to_string()),
                    p,
                    options.clone(),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let groups = GroupStore::open(dir.join("groups"), &meta.consumer_groups)?;
        let labels = [("hub", meta.name.as_str())];
        let metrics = HubMetrics {
            events_in: metrics.counter(
                "eddy_hub_incoming_events_total",
                "Events appended to a hub.",
                &labels,
            ),
            bytes_in: metrics.counter(
                "eddy_hub_incoming_bytes_total",
                "Event bytes appended to a hub.",
                &labels,
            ),
            sends: metrics.counter(
                "eddy_hub_incoming_requests_total",
                "Accepted send requests.",
                &labels,
            ),
            throttled: metrics.counter(
                "eddy_hub_throttled_requests_total",
                "Sends refused by the hub quota.",
                &labels,
            ),
            events_out: metrics.counter(
                "eddy_hub_outgoing_events_total",
                "Events delivered to readers.",
                &labels,
            ),
        };
        Ok(Hub {
            quota: Mutex::new(Quota::new(meta.max_events_per_sec, meta.max_bytes_per_sec)),
            meta: RwLock::new(meta),
            dir: dir.to_path_buf(),
            partitions,
            round_robin: AtomicU64::new(0),
            groups,
            metrics,
            max_batch_bytes: defaults.max_batch_bytes,
            max_groups: defaults.max_consumer_groups,
        })
    }

    pub fn name(&self) -> String {
        self.meta.read().unwrap().name.clone()
    }

    pub fn meta(&self) -> HubMeta {
        self.meta.read().unwrap().clone()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn partition_count(&self) -> u32 {
        self.partitions.len() as u32
    }

    pub fn partition_ids(&self) -> Vec<String> {
        (0..self.partition_count()).map(|p| p.to_string()).collect()
    }

    /// The partition log for an id given as text (`"3"`), with a helpful error.
    pub fn partition(&self, id: &str) -> Result<&PartitionLog> {
        id.trim()
            .parse::<u32>()
            .ok()
            .and_then(|p| self.partitions.get(p as usize))
            .ok_or_else(|| self.partition_not_found(id.to_string()))
    }

    pub fn partition_by_index(&self, p: u32) -> Result<&PartitionLog> {
        self.partitions
            .get(p as usize)
            .ok_or_else(|| self.partition_not_found(p.to_string()))
    }

    fn partition_not_found(&self, partition: String) -> HubError {
        HubError::PartitionNotFound {
            hub: self.name(),
            partition,
            count: self.partition_count(),
        }
    }

    /// Sends `events` as one batch; all of them are stored, or none.
    pub async fn send(&self, events: Vec<EventData>, target: SendTarget) -> Result<AppendResult> {
        self.send_limited(events, target, self.max_batch_bytes)
            .await
    }

    /// The hub's batch size limit (`hub.max_batch_bytes`).
    pub fn max_batch_bytes(&self) -> u64 {
        self.max_batch_bytes
    }

    /// Like [`send`](Self::send) with another size limit, for protocols that judge a
    /// batch by their own encoding (Kafka: the record batch's bytes) and have checked
    /// it already.
    pub async fn send_limited(
        &self,
        mut events: Vec<EventData>,
        target: SendTarget,
        max_bytes: u64,
    ) -> Result<AppendResult> {
        if events.is_empty() {
            return Err(HubError::InvalidArgument(
                "a send must carry at least one event".into(),
            ));
        }
        let size: u64 = events.iter().map(|e| e.size_estimate() as u64).sum();
        if size > max_bytes {
            return Err(HubError::BatchTooLarge {
                size,
                max: max_bytes,
            });
        }
        let partition = match &target {
            SendTarget::Any => {
                (self.round_robin.fetch_add(1, Ordering::Relaxed) % self.partition_count() as u64)
                    as u32
            }
            SendTarget::Key(key) => {
                for e in events.iter_mut() {
                    e.partition_key = Some(key.clone());
                }
                partition_for_key(key, self.partition_count())
            }
            SendTarget::Partition(p) => {
                self.partition_by_index(*p)?;
                *p
            }
        };
        if let Some(q) = self.quota.lock().unwrap().as_mut() {
            if let Err(detail) = q.try_take(Instant::now(), events.len() as u64, size) {
                self.metrics.throttled.fetch_add(1, Ordering::Relaxed);
                return Err(HubError::ServerBusy {
                    hub: self.name(),
                    detail,
                });
            }
        }
        let count = events.len() as u64;
        let result = self.partitions[partition as usize].append(events).await?;
        self.metrics.events_in.fetch_add(count, Ordering::Relaxed);
        self.metrics.bytes_in.fetch_add(size, Ordering::Relaxed);
        self.metrics.sends.fetch_add(1, Ordering::Relaxed);
        Ok(result)
    }

    /// Counts events handed to a reader (for `/metrics`).
    pub fn record_delivered(&self, n: usize) {
        self.metrics
            .events_out
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn partition_properties(&self, id: &str) -> Result<PartitionProperties> {
        let log = self.partition(id)?;
        Ok(properties_of(&self.name(), log.partition(), log.info()))
    }

    // ---- consumer groups ----

    pub fn consumer_groups(&self) -> Vec<String> {
        self.meta.read().unwrap().consumer_groups.clone()
    }

    fn check_group(&self, group: &str) -> Result<()> {
        let meta = self.meta.read().unwrap();
        if meta.consumer_groups.iter().any(|g| g == group) {
            Ok(())
        } else {
            Err(HubError::GroupNotFound {
                hub: meta.name.clone(),
                group: group.into(),
                existing: meta.consumer_groups.clone(),
            })
        }
    }

    pub fn create_group(&self, group: &str) -> Result<()> {
        crate::validate_name("consumer group", group, 50)?;
        let mut meta = self.meta.write().unwrap();
        if meta.consumer_groups.iter().any(|g| g == group) {
            return Err(HubError::GroupExists {
                hub: meta.name.clone(),
                group: group.into(),
            });
        }
        if meta.consumer_groups.len() as u32 >= self.max_groups {
            return Err(HubError::InvalidArgument(format!(
                "event hub '{}' already has the maximum of {} consumer groups (hub.max_consumer_groups)",
                meta.name, self.max_groups
            )));
        }
        meta.consumer_groups.push(group.to_string());
        write_meta(&self.dir, &meta)?;
        self.groups.add_group(group);
        Ok(())
    }

    pub fn delete_group(&self, group: &str) -> Result<()> {
        if group == DEFAULT_GROUP {
            return Err(HubError::InvalidArgument(
                "the $Default consumer group cannot be deleted".into(),
            ));
        }
        self.check_group(group)?;
        let mut meta = self.meta.write().unwrap();
        meta.consumer_groups.retain(|g| g != group);
        write_meta(&self.dir, &meta)?;
        self.groups.remove_group(group)
    }

    pub fn checkpoints(&self, group: &str) -> Result<Vec<Checkpoint>> {
        self.check_group(group)?;
        self.groups.checkpoints(group)
    }

    pub fn set_checkpoint(&self, group: &str, cp: Checkpoint) -> Result<()> {
        self.check_group(group)?;
        self.partition_by_index(cp.partition)?;
        self.groups.set_checkpoint(group, cp)
    }

    /// Sets (or with `None` clears) the checkpoints of several partitions at once,
    /// creating the consumer group first when `create` is set and it does not exist.
    pub fn set_checkpoints(
        &self,
        group: &str,
        updates: Vec<(u32, Option<Checkpoint>)>,
        create: bool,
    ) -> Result<()> {
        if create && self.check_group(group).is_err() {
            match self.create_group(group) {
                Ok(()) | Err(HubError::GroupExists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        self.check_group(group)?;
        for (p, _) in &updates {
            self.partition_by_index(*p)?;
        }
        self.groups.set_checkpoints(group, updates)
    }

    pub fn ownership(&self, group: &str) -> Result<Vec<Ownership>> {
        self.check_group(group)?;
        self.groups.ownership(group)
    }

    pub fn claim_ownership(
        &self,
        group: &str,
        claims: &[OwnershipClaim],
    ) -> Result<Vec<Ownership>> {
        self.check_group(group)?;
        for c in claims {
            self.partition_by_index(c.partition)?;
        }
        self.groups.claim(group, claims, crate::now_ms())
    }

    /// Applies retention to every partition; returns segments removed.
    pub fn enforce_retention(&self, now_ms: i64) -> Result<usize> {
        let meta = self.meta();
        let cutoff = now_ms - (meta.retention_hours as i64).saturating_mul(3_600_000);
        let mut removed = 0;
        for p in &self.partitions {
            removed += p.enforce_retention(Some(cutoff), meta.retention_bytes)?;
        }
        Ok(removed)
    }

    pub fn close(&self) {
        for p in &self.partitions {
            p.close();
        }
    }
}

pub(crate) fn properties_of(hub: &str, partition: u32, info: LogInfo) -> PartitionProperties {
    PartitionProperties {
        hub: hub.to_string(),
        id: partition.to_string(),
        begin_sequence_number: info.begin_sequence_number,
        last_enqueued_sequence_number: info.last.map_or(-1, |l| l.sequence_number as i64),
        last_enqueued_offset: info
            .last
            .map_or_else(|| "-1".to_string(), |l| l.offset.to_string()),
        last_enqueued_time_utc_ms: info.last.map(|l| l.enqueued_time_ms),
        is_empty: info.next_sequence_number == info.begin_sequence_number,
        size_bytes: info.size_bytes,
        segments: info.segments,
    }
}

pub(crate) fn write_meta(dir: &Path, meta: &HubMeta) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(meta).expect("meta serializes");
    crate::fsutil::write_atomic(dir, "hub.json", &bytes)
}
