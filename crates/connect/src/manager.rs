//! The connection manager: keeps the definitions, runs one worker per connection, and
//! answers `.create/.drop/.show data connection(s)` for the explorer.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use eddy_common::config::DataConnectionSettings;
use eddy_common::metrics::Metrics;
use eddy_explorer::connections::DataConnectionAdmin;
use eddy_explorer::{Explorer, ExplorerError, Result, ResultTable};
use eddy_hub::{HubError, Namespace};
use eddy_kql::command::Properties;
use eddy_kql::types::KustoType;
use eddy_kql::values::{format_datetime, format_timespan};
use futures::future::BoxFuture;
use serde_json::json;
use tokio::sync::watch;

use crate::batcher::SealReason;
use crate::def::{ConnectionDef, Start};
use crate::stats::Stats;
use crate::store::Store;
use crate::worker::{Settings, Worker};

struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    stats: Arc<Stats>,
}

pub struct Manager {
    ns: Arc<Namespace>,
    explorer: Arc<Explorer>,
    metrics: Metrics,
    settings: Settings,
    store: Mutex<Store>,
    running: Mutex<HashMap<(String, String), Running>>,
}

fn hub_err(e: HubError) -> ExplorerError {
    match e.status_code() {
        eddy_common::StatusCode::NotFound => ExplorerError::NotFound(e.to_string()),
        _ => ExplorerError::InvalidArgument(e.to_string()),
    }
}

impl Manager {
    /// Loads the stored definitions from `data_dir/connections`; call
    /// [`Manager::start_all`] inside the runtime to run them.
    pub fn open(
        data_dir: &Path,
        ns: Arc<Namespace>,
        explorer: Arc<Explorer>,
        metrics: Metrics,
        settings: Settings,
    ) -> Result<Arc<Manager>> {
        let store = Store::open(&data_dir.join("connections"))?;
        Ok(Arc::new(Manager {
            ns,
            explorer,
            metrics,
            settings,
            store: Mutex::new(store),
            running: Mutex::new(HashMap::new()),
        }))
    }

    pub fn start_all(&self) {
        let defs = self.store.lock().expect("store lock").defs.clone();
        for def in defs {
            self.spawn(def);
        }
    }

    /// Creates the connections of the config file that do not exist, and updates those
    /// whose settings differ.
    pub async fn ensure(&self, configured: &[DataConnectionSettings]) -> Result<()> {
        for c in configured {
            let db = if c.database.is_empty() {
                eddy_explorer::DEFAULT_DATABASE
            } else {
                c.database.as_str()
            };
            let def = ConnectionDef::from_properties(db, &c.name, &c.properties())?;
            let existing = self
                .store
                .lock()
                .expect("store lock")
                .get(db, &c.name)
                .cloned();
            if existing.is_some_and(|old| old.same_settings(&def)) {
                continue;
            }
            self.create_def(def, true).await?;
        }
        Ok(())
    }

    fn spawn(&self, def: ConnectionDef) {
        let key = (def.database.clone(), def.name.clone());
        let stats = Stats::new(&self.metrics, &def.database, &def.name);
        let (stop, stopped) = watch::channel(false);
        let task = match self.ns.get(&def.hub) {
            Ok(hub) => {
                let worker = Worker::new(
                    def,
                    hub,
                    self.explorer.clone(),
                    stats.clone(),
                    self.settings,
                );
                tokio::spawn(worker.run(stopped))
            }
            Err(e) => {
                stats.set_error(Some(format!("{e}; the connection is idle")));
                tokio::spawn(async {})
            }
        };
        self.running
            .lock()
            .expect("running lock")
            .insert(key, Running { stop, task, stats });
    }

    /// Stops a connection's worker and waits until it has finished the step in hand,
    /// so that two workers never ingest for one connection.
    async fn stop_one(&self, db: &str, name: &str) -> Option<Arc<Stats>> {
        let r = self
            .running
            .lock()
            .expect("running lock")
            .remove(&(db.to_string(), name.to_string()))?;
        let _ = r.stop.send(true);
        let _ = r.task.await;
        Some(r.stats)
    }

    async fn create_def(&self, mut def: ConnectionDef, or_alter: bool) -> Result<ResultTable> {
        let (db, name) = (def.database.clone(), def.name.clone());
        if !self.explorer.database_exists(&db) {
            return Err(ExplorerError::NotFound(format!(
                "database '{db}' does not exist"
            )));
        }
        let hub = self.ns.get(&def.hub).map_err(hub_err)?;
        let existing = self
            .store
            .lock()
            .expect("store lock")
            .get(&db, &name)
            .cloned();
        if let Some(old) = &existing {
            if !or_alter {
                return Err(ExplorerError::AlreadyExists(format!(
                    "data connection '{name}' already exists in database '{db}'; use .create-or-alter data connection or .drop data connection first"
                )));
            }
            // Same hub and group: keep the identity, so positions and checkpoints carry on.
            if old.hub == def.hub && old.consumer_group == def.consumer_group {
                def.id = old.id.clone();
                def.start_sequence = old.start_sequence.clone();
                def.created_ms = old.created_ms;
            }
        }
        if !hub.consumer_groups().contains(&def.consumer_group) {
            hub.create_group(&def.consumer_group).map_err(hub_err)?;
        }
        if def.start == Start::Latest && def.start_sequence.is_empty() {
            for p in 0..hub.partition_count() {
                let next = hub
                    .partition_by_index(p)
                    .map_err(hub_err)?
                    .info()
                    .next_sequence_number;
                def.start_sequence.insert(p, next);
            }
        }
        if existing.is_some() {
            self.stop_one(&db, &name).await;
        }
        self.store.lock().expect("store lock").put(def.clone())?;
        tracing::info!(connection = %def.name, database = %def.database, hub = %def.hub, "data connection created");
        self.spawn(def.clone());
        let mut out = show_result();
        self.show_row(&def, &mut out);
        Ok(out)
    }

    /// Stops every worker and waits for them (what is buffered is read again on start).
    pub async fn stop(&self) {
        let all: Vec<Running> = self
            .running
            .lock()
            .expect("running lock")
            .drain()
            .map(|(_, r)| r)
            .collect();
        for r in &all {
            let _ = r.stop.send(true);
        }
        for r in all {
            let _ = r.task.await;
        }
    }

    /// The stats of a running connection (tests, benchmarks).
    pub fn stats(&self, db: &str, name: &str) -> Option<Arc<Stats>> {
        self.running
            .lock()
            .expect("running lock")
            .get(&(db.to_string(), name.to_string()))
            .map(|r| r.stats.clone())
    }

    fn show_row(&self, def: &ConnectionDef, out: &mut ResultTable) {
        let stats = self.stats(&def.database, &def.name);
        let get = |f: &dyn Fn(&Stats) -> u64| stats.as_deref().map(f).unwrap_or(0);
        let lag = stats.as_ref().map(|s| s.lag()).unwrap_or_default();
        let by_reason: serde_json::Map<String, serde_json::Value> = [
            SealReason::Items,
            SealReason::Time,
            SealReason::Size,
            SealReason::Streaming,
            SealReason::Memory,
        ]
        .iter()
        .map(|r| (r.name().to_string(), json!(get(&|s| s.sealed_by(*r)))))
        .collect();
        let error = stats.as_ref().and_then(|s| s.error());
        out.push(vec![
            json!(def.name),
            json!(def.database),
            json!(def.hub),
            json!(def.consumer_group),
            json!(def.table),
            json!(def.format),
            json!(def.mapping),
            json!(def.compression),
            json!(def.system_properties),
            json!(if def.multi_database {
                "Multi"
            } else {
                "Single"
            }),
            def.describe()["start"].clone(),
            json!(if error.is_some() {
                "Degraded"
            } else {
                "Running"
            }),
            json!(get(&|s| s.events_read.load(Ordering::Relaxed))),
            json!(get(&|s| s.events_ingested.load(Ordering::Relaxed))),
            json!(get(&|s| s.events_failed.load(Ordering::Relaxed))),
            json!(get(&|s| s.events_skipped.load(Ordering::Relaxed))),
            json!(get(&|s| s.batches_sealed.load(Ordering::Relaxed))),
            serde_json::Value::Object(by_reason),
            json!(lag.values().sum::<u64>()),
            json!(lag
                .iter()
                .map(|(p, l)| (p.to_string(), json!(l)))
                .collect::<serde_json::Map<_, _>>()),
            json!(format_timespan(
                get(&|s| s.last_latency_ms.load(Ordering::Relaxed)) as i64 * 1000
            )),
            json!(error),
            json!(format_datetime(def.created_ms * 1000)),
        ]);
    }
}

fn show_result() -> ResultTable {
    ResultTable::new(
        "Table_0",
        &[
            ("Name", KustoType::String),
            ("Database", KustoType::String),
            ("EventHub", KustoType::String),
            ("ConsumerGroup", KustoType::String),
            ("Table", KustoType::String),
            ("Format", KustoType::String),
            ("Mapping", KustoType::String),
            ("Compression", KustoType::String),
            ("EventSystemProperties", KustoType::Dynamic),
            ("DatabaseRouting", KustoType::String),
            ("Start", KustoType::String),
            ("State", KustoType::String),
            ("EventsRead", KustoType::Long),
            ("EventsIngested", KustoType::Long),
            ("EventsFailed", KustoType::Long),
            ("EventsSkipped", KustoType::Long),
            ("BatchesSealed", KustoType::Long),
            ("BatchesSealedBy", KustoType::Dynamic),
            ("Lag", KustoType::Long),
            ("PartitionLag", KustoType::Dynamic),
            ("LastIngestionLatency", KustoType::Timespan),
            ("LastError", KustoType::String),
            ("CreatedOn", KustoType::DateTime),
        ],
    )
}

impl DataConnectionAdmin for Manager {
    fn create<'a>(
        &'a self,
        db: &'a str,
        name: &'a str,
        props: &'a Properties,
        or_alter: bool,
    ) -> BoxFuture<'a, Result<ResultTable>> {
        Box::pin(async move {
            let def = ConnectionDef::from_properties(db, name, props)?;
            self.create_def(def, or_alter).await
        })
    }

    fn remove<'a>(
        &'a self,
        db: &'a str,
        name: &'a str,
        if_exists: bool,
    ) -> BoxFuture<'a, Result<ResultTable>> {
        Box::pin(async move {
            let removed = self.store.lock().expect("store lock").remove(db, name)?;
            if !removed && !if_exists {
                let names: Vec<String> = self
                    .store
                    .lock()
                    .expect("store lock")
                    .defs
                    .iter()
                    .filter(|d| d.database == db)
                    .map(|d| d.name.clone())
                    .collect();
                return Err(ExplorerError::NotFound(format!(
                    "data connection '{name}' does not exist in database '{db}'; connections: {}",
                    if names.is_empty() {
                        "(none)".into()
                    } else {
                        names.join(", ")
                    }
                )));
            }
            if let Some(stats) = self.stop_one(db, name).await {
                stats.remove();
            }
            let mut out = ResultTable::new(
                "Table_0",
                &[("Name", KustoType::String), ("Database", KustoType::String)],
            );
            if removed {
                out.push(vec![json!(name), json!(db)]);
            }
            Ok(out)
        })
    }

    fn show(&self, db: &str, name: Option<&str>) -> Result<ResultTable> {
        let defs: Vec<ConnectionDef> = self
            .store
            .lock()
            .expect("store lock")
            .defs
            .iter()
            .filter(|d| d.database == db && name.is_none_or(|n| n == d.name))
            .cloned()
            .collect();
        if let (Some(n), true) = (name, defs.is_empty()) {
            return Err(ExplorerError::NotFound(format!(
                "data connection '{n}' does not exist in database '{db}'"
            )));
        }
        let mut out = show_result();
        for def in &defs {
            self.show_row(def, &mut out);
        }
        Ok(out)
    }
}
