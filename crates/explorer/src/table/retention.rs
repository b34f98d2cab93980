//! Retention (`SoftDeletePeriod`): sealed files older than the period are removed from
//! the table in one Delta commit, as Kusto drops whole extents by ingestion time. The
//! Parquet files stay until a vacuum, so time travel still reaches them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deltalake::kernel::transaction::{CommitBuilder, TableReference};
use deltalake::kernel::{Action, Remove};
use deltalake::protocol::DeltaOperation;

use super::{delta, Table};
use crate::error::{ExplorerError, Result};

impl Table {
    /// Removes the sealed files created before `cutoff`; returns how many.
    pub async fn enforce_retention(&self, cutoff: DateTime<Utc>) -> Result<usize> {
        let _one_at_a_time = self.seal_lock.lock().await;
        let table = { self.state.lock().await.delta.clone() };
        let snapshot = table.snapshot().map_err(ExplorerError::delta(&self.name))?;
        let now = Utc::now().timestamp_millis();
        let removes: Vec<Action> = snapshot
            .log_data()
            .iter()
            .filter(|f| f.modification_time() < cutoff.timestamp_millis())
            .map(|f| {
                #[allow(deprecated)]
                let add = f.add_action();
                Action::Remove(Remove {
                    path: add.path,
                    data_change: true,
                    deletion_timestamp: Some(now),
                    extended_file_metadata: Some(true),
                    partition_values: Some(HashMap::new()),
                    size: Some(add.size),
                    tags: None,
                    deletion_vector: None,
                    base_row_id: None,
                    default_row_commit_version: None,
                })
            })
            .collect();
        if removes.is_empty() {
            return Ok(0);
        }
        let n = removes.len();
        CommitBuilder::default()
            .with_actions(removes)
            .build(
                Some(snapshot as &dyn TableReference),
                table.log_store(),
                DeltaOperation::Delete {
                    predicate: Some("retention".into()),
                },
            )
            .await
            .map_err(ExplorerError::delta(&self.name))?;
        let reopened = delta::open(&self.path, &self.name).await?;
        let mut st = self.state.lock().await;
        st.provider = reopened.table_provider().await?;
        st.delta = reopened;
        st.cache = None;
        st.data_version += 1;
        tracing::info!(db = %self.db, table = %self.name, files = n, "retention removed expired extents");
        Ok(n)
    }
}
