//! `.alter|.alter-merge|.show table|database X policy ingestionbatching|streamingingestion|retention`.

use eddy_kql::command::{PolicyEntity, PolicyKind};
use eddy_kql::types::KustoType;
use serde_json::{json, Value};

use crate::catalog::Policies;
use crate::error::{ExplorerError, Result};
use crate::explorer::Explorer;
use crate::policy::{self, BatchingPolicy, RetentionPolicy};
use crate::result::ResultTable;

fn slot(p: &mut Policies, kind: PolicyKind) -> &mut Option<Value> {
    match kind {
        PolicyKind::IngestionBatching => &mut p.ingestion_batching,
        PolicyKind::StreamingIngestion => &mut p.streaming_ingestion,
        PolicyKind::Retention => &mut p.retention,
        PolicyKind::IngestionConversion => &mut p.ingestion_conversion,
    }
}

/// Validates and normalizes a policy document.
fn normalize(kind: PolicyKind, v: &Value) -> Result<Value> {
    Ok(match kind {
        PolicyKind::IngestionBatching => BatchingPolicy::from_json(v)?.to_json(),
        PolicyKind::Retention => RetentionPolicy::from_json(v)?.to_json(),
        PolicyKind::StreamingIngestion => policy::streaming_from_json(v)?,
        PolicyKind::IngestionConversion => policy::conversion_from_json(v)?,
    })
}

impl Explorer {
    pub(crate) fn alter_policy(
        &self,
        db: &str,
        entity: &PolicyEntity,
        kind: PolicyKind,
        body: &str,
        merge: bool,
    ) -> Result<ResultTable> {
        let update: Value = serde_json::from_str(body).map_err(|e| {
            ExplorerError::InvalidArgument(format!(
                "the {} policy is not valid JSON: {e}",
                kind.display_name()
            ))
        })?;
        {
            let mut cat = self.catalog.lock().expect("catalog lock");
            let policies = match entity {
                PolicyEntity::Table(t) => &mut cat.table_mut(db, t)?.policies,
                PolicyEntity::Database(d) => &mut cat.database_mut(d)?.policies,
            };
            let target = slot(policies, kind);
            let doc = if merge {
                policy::merge(target.as_ref(), &update)
            } else {
                update
            };
            *target = Some(normalize(kind, &doc)?);
            cat.save()?;
        }
        self.show_policy(db, entity, kind)
    }

    pub(crate) fn show_policy(
        &self,
        db: &str,
        entity: &PolicyEntity,
        kind: PolicyKind,
    ) -> Result<ResultTable> {
        let mut cat = self.catalog.lock().expect("catalog lock");
        let (name, entity_type, policies) = match entity {
            PolicyEntity::Table(t) => (
                format!("[{db}].[{t}]"),
                "Table",
                &mut cat.table_mut(db, t)?.policies,
            ),
            PolicyEntity::Database(d) => (
                format!("[{d}]"),
                "Database",
                &mut cat.database_mut(d)?.policies,
            ),
        };
        let policy = slot(policies, kind).clone();
        let mut r = ResultTable::new(
            "Table_0",
            &[
                ("PolicyName", KustoType::String),
                ("EntityName", KustoType::String),
                ("Policy", KustoType::String),
                ("ChildEntities", KustoType::String),
                ("EntityType", KustoType::String),
            ],
        );
        let text = policy
            .map(|p| p.to_string())
            .unwrap_or_else(|| "null".into());
        r.push(vec![
            json!(kind.display_name()),
            json!(name),
            json!(text),
            json!(""),
            json!(entity_type),
        ]);
        Ok(r)
    }
}
