//! What happened: ingestion failures (kept on disk, newest last) and operations (kept in
//! memory), for `.show ingestion failures` and `.show operations`.

use std::collections::{HashSet, VecDeque};
use std::fs::OpenOptions;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const KEEP_FAILURES: usize = 10_000;
const KEEP_OPERATIONS: usize = 10_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    pub operation_id: Uuid,
    pub database: String,
    pub table: String,
    pub failed_on: DateTime<Utc>,
    pub source: String,
    pub position: String,
    pub payload: String,
    pub error_code: String,
    pub details: String,
    /// Set when the failed record came from an event of a data connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<EventOrigin>,
}

/// The event a failure came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventOrigin {
    pub connection: String,
    pub hub: String,
    pub partition: u32,
    pub sequence_number: u64,
    /// The event's routing properties (Table, Format, IngestionMappingReference, ...).
    pub properties: serde_json::Value,
}

/// Identifies an event failure so that one re-read after a crash is not recorded twice.
type OriginKey = (String, String, u32, u64, String);

fn origin_key(f: &Failure) -> Option<OriginKey> {
    f.origin.as_ref().map(|o| {
        (
            o.connection.clone(),
            o.hub.clone(),
            o.partition,
            o.sequence_number,
            f.position.clone(),
        )
    })
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub id: Uuid,
    pub kind: String,
    pub database: String,
    pub table: String,
    pub started_on: DateTime<Utc>,
    pub duration: Duration,
    pub state: &'static str,
    pub status: String,
}

pub struct Journal {
    failures_path: PathBuf,
    failures: VecDeque<Failure>,
    event_failures: HashSet<OriginKey>,
    operations: VecDeque<Operation>,
}

impl Journal {
    pub fn open(dir: &Path) -> Journal {
        let failures_path = dir.join("ingestion_failures.jsonl");
        let mut failures = VecDeque::new();
        if let Ok(f) = std::fs::File::open(&failures_path) {
            for line in std::io::BufReader::new(f).lines().map_while(Result::ok) {
                if let Ok(rec) = serde_json::from_str::<Failure>(&line) {
                    failures.push_back(rec);
                    if failures.len() > KEEP_FAILURES {
                        failures.pop_front();
                    }
                }
            }
        }
        let event_failures = failures.iter().filter_map(origin_key).collect();
        Journal {
            failures_path,
            failures,
            event_failures,
            operations: VecDeque::new(),
        }
    }

    /// Records a failure; an event failure already recorded (the same event re-read
    /// after a restart) is not recorded again.
    pub fn record_failure(&mut self, f: Failure) {
        if let Some(key) = origin_key(&f) {
            if !self.event_failures.insert(key) {
                return;
            }
        }
        let line = serde_json::to_string(&f).expect("failure serializes");
        let written = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.failures_path)
            .and_then(|mut file| writeln!(file, "{line}"));
        if let Err(e) = written {
            tracing::error!(error = %e, "cannot persist an ingestion failure");
        }
        tracing::warn!(db = %f.database, table = %f.table, source = %f.source, position = %f.position, code = %f.error_code, "{}", f.details);
        self.failures.push_back(f);
        if self.failures.len() > KEEP_FAILURES {
            if let Some(old) = self.failures.pop_front() {
                if let Some(key) = origin_key(&old) {
                    self.event_failures.remove(&key);
                }
            }
        }
    }

    pub fn failures(&self) -> impl Iterator<Item = &Failure> {
        self.failures.iter()
    }

    pub fn record_operation(&mut self, op: Operation) {
        self.operations.push_back(op);
        if self.operations.len() > KEEP_OPERATIONS {
            self.operations.pop_front();
        }
    }

    pub fn operation_mut(&mut self, id: Uuid) -> Option<&mut Operation> {
        self.operations.iter_mut().rev().find(|op| op.id == id)
    }

    pub fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.operations.iter()
    }
}
