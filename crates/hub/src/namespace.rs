//! The namespace: every hub of this server, under `{data_dir}/hubs/{name}`.
//! Hubs are created atomically (built in a temp directory, then renamed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use eddy_common::config::{HubDefaults, HubSettings};
use eddy_common::metrics::Metrics;

use crate::error::{HubError, Result};
use crate::fsutil::sync_dir;
use crate::hub::{write_meta, Hub, HubMeta, DEFAULT_GROUP};

pub struct Namespace {
    dir: PathBuf,
    defaults: HubDefaults,
    metrics: Metrics,
    hubs: RwLock<BTreeMap<String, Arc<Hub>>>,
}

impl Namespace {
    /// Opens every hub under `data_dir/hubs`, recovering each partition log.
    pub fn open(data_dir: &Path, defaults: HubDefaults, metrics: Metrics) -> Result<Namespace> {
        let dir = data_dir.join("hubs");
        std::fs::create_dir_all(&dir).map_err(HubError::io(format!("create {}", dir.display())))?;
        let mut hubs = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).map_err(HubError::io("list hubs"))? {
            let entry = entry.map_err(HubError::io("list hubs"))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                // An interrupted create or delete; it never became visible.
                let _ = std::fs::remove_dir_all(entry.path());
                continue;
            }
            let meta_path = entry.path().join("hub.json");
            let bytes = std::fs::read(&meta_path)
                .map_err(HubError::io(format!("read {}", meta_path.display())))?;
            let meta: HubMeta = serde_json::from_slice(&bytes).map_err(|e| HubError::Corrupt {
                path: meta_path.display().to_string(),
                position: e.column() as u64,
                detail: e.to_string(),
            })?;
            let hub = Hub::open(&entry.path(), meta, &defaults, &metrics)?;
            hubs.insert(name, Arc::new(hub));
        }
        Ok(Namespace {
            dir,
            defaults,
            metrics,
            hubs: RwLock::new(hubs),
        })
    }

    pub fn defaults(&self) -> &HubDefaults {
        &self.defaults
    }

    pub fn names(&self) -> Vec<String> {
        self.hubs.read().unwrap().keys().cloned().collect()
    }

    pub fn list(&self) -> Vec<Arc<Hub>> {
        self.hubs.read().unwrap().values().cloned().collect()
    }

    pub fn get(&self, name: &str) -> Result<Arc<Hub>> {
        let hubs = self.hubs.read().unwrap();
        hubs.get(name)
            .cloned()
            .ok_or_else(|| HubError::HubNotFound {
                name: name.to_string(),
                existing: hubs.keys().cloned().collect(),
            })
    }

    pub fn create(&self, settings: &HubSettings) -> Result<Arc<Hub>> {
        crate::validate_name("event hub", &settings.name, 256)?;
        let partitions = settings
            .partitions
            .unwrap_or(self.defaults.default_partitions);
        if partitions == 0 || partitions > self.defaults.max_partitions {
            return Err(HubError::InvalidArgument(format!(
                "partition count must be between 1 and {} (hub.max_partitions), got {partitions}",
                self.defaults.max_partitions
            )));
        }
        if settings.retention_hours == Some(0) {
            return Err(HubError::InvalidArgument(
                "retention_hours must be at least 1".into(),
            ));
        }
        let mut groups = vec![DEFAULT_GROUP.to_string()];
        for g in &settings.consumer_groups {
            if g != DEFAULT_GROUP && !groups.contains(g) {
                crate::validate_name("consumer group", g, 50)?;
                groups.push(g.clone());
            }
        }
        if groups.len() as u32 > self.defaults.max_consumer_groups {
            return Err(HubError::InvalidArgument(format!(
                "{} consumer groups requested; the limit is {} (hub.max_consumer_groups)",
                groups.len(),
                self.defaults.max_consumer_groups
            )));
        }
        let mut hubs = self.hubs.write().unwrap();
        if hubs.contains_key(&settings.name) {
            return Err(HubError::HubExists(settings.name.clone()));
        }
        let meta = HubMeta {
            name: settings.name.clone(),
            created_at_ms: crate::now_ms(),
            partition_count: partitions,
            retention_hours: settings
                .retention_hours
                .unwrap_or(self.defaults.default_retention_hours),
            retention_bytes: settings.retention_bytes,
            consumer_groups: groups,
            max_events_per_sec: settings.max_events_per_sec,
            max_bytes_per_sec: settings.max_bytes_per_sec,
        };
        let tmp = self.dir.join(format!(".creating-{}", settings.name));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(HubError::io("create hub directory"))?;
        write_meta(&tmp, &meta)?;
        let dir = self.dir.join(&settings.name);
        std::fs::rename(&tmp, &dir).map_err(HubError::io("publish hub directory"))?;
        sync_dir(&self.dir)?;
        let hub = Arc::new(Hub::open(&dir, meta, &self.defaults, &self.metrics)?);
        hubs.insert(settings.name.clone(), hub.clone());
        tracing::info!(hub = %settings.name, partitions, "created event hub");
        Ok(hub)
    }

    /// Creates the hubs named in the config that do not exist yet.
    pub fn ensure(&self, hubs: &[HubSettings]) -> Result<()> {
        for settings in hubs {
            if self.get(&settings.name).is_err() {
                self.create(settings)?;
            }
        }
        Ok(())
    }

    /// Deletes a hub and all its data. Pending sends finish first.
    pub fn delete(&self, name: &str) -> Result<()> {
        let hub = {
            let mut hubs = self.hubs.write().unwrap();
            let existing: Vec<String> = hubs.keys().cloned().collect();
            hubs.remove(name).ok_or_else(|| HubError::HubNotFound {
                name: name.to_string(),
                existing,
            })?
        };
        hub.close();
        self.metrics.remove_labelled("hub", name);
        let doomed = self.dir.join(format!(".deleting-{name}"));
        std::fs::rename(hub.dir(), &doomed).map_err(HubError::io("retire hub directory"))?;
        sync_dir(&self.dir)?;
        std::fs::remove_dir_all(&doomed).map_err(HubError::io("remove hub directory"))?;
        tracing::info!(hub = %name, "deleted event hub");
        Ok(())
    }

    /// Applies retention to every hub.
    pub fn enforce_retention(&self, now_ms: i64) -> usize {
        let mut removed = 0;
        for hub in self.list() {
            match hub.enforce_retention(now_ms) {
                Ok(n) => removed += n,
                Err(e) => tracing::error!(hub = %hub.name(), error = %e, "retention failed"),
            }
        }
        removed
    }

    /// Flushes and stops every partition writer.
    pub fn close(&self) {
        for hub in self.list() {
            hub.close();
        }
    }
}
