//! What happened: ingestion failures (kept on disk, newest last) and operations (kept in
//! memory), for `.show ingestion failures` and `.show operations`.

use std::collections::VecDeque;
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
        Journal {
            failures_path,
            failures,
            operations: VecDeque::new(),
        }
    }

    pub fn record_failure(&mut self, f: Failure) {
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
            self.failures.pop_front();
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
