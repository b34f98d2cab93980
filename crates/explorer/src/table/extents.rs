//! `.show table T extents`: each Delta data file is an extent.

use chrono::{DateTime, Utc};
use deltalake::DeltaTable;

use crate::error::{ExplorerError, Result};

#[derive(Debug, Clone)]
pub struct Extent {
    pub path: String,
    pub rows: u64,
    pub size: u64,
    pub created_on: DateTime<Utc>,
}

pub fn list(table: &DeltaTable, name: &str) -> Result<Vec<Extent>> {
    let snapshot = table.snapshot().map_err(ExplorerError::delta(name))?;
    let mut out: Vec<Extent> = snapshot
        .log_data()
        .iter()
        .map(|f| Extent {
            path: f.path().to_string(),
            rows: f.num_records().unwrap_or(0) as u64,
            size: f.size().max(0) as u64,
            created_on: DateTime::from_timestamp_millis(f.modification_time()).unwrap_or_default(),
        })
        .collect();
    out.sort_by(|a, b| a.created_on.cmp(&b.created_on).then(a.path.cmp(&b.path)));
    Ok(out)
}
