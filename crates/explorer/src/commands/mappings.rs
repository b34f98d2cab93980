//! `.create|.create-or-alter|.drop table T ingestion <kind> mapping 'M'` and
//! `.show table T ingestion [kind] mappings`. Mapping names are case-sensitive.

use chrono::Utc;
use eddy_kql::command::MappingKind;
use eddy_kql::types::KustoType;
use serde_json::json;

use crate::catalog::MappingMeta;
use crate::error::{ExplorerError, Result};
use crate::explorer::Explorer;
use crate::ingest::mapping::Mapping;
use crate::result::ResultTable;

fn mappings_result() -> ResultTable {
    ResultTable::new(
        "Table_0",
        &[
            ("Name", KustoType::String),
            ("Kind", KustoType::String),
            ("Mapping", KustoType::String),
            ("LastUpdatedOn", KustoType::DateTime),
            ("Database", KustoType::String),
            ("Table", KustoType::String),
        ],
    )
}

fn row(m: &MappingMeta, db: &str, table: &str) -> Vec<serde_json::Value> {
    vec![
        json!(m.name),
        json!(m.kind),
        json!(m.body),
        json!(eddy_kql::values::format_datetime(
            m.last_updated.timestamp_micros()
        )),
        json!(db),
        json!(table),
    ]
}

impl Explorer {
    pub(crate) fn create_mapping(
        &self,
        db: &str,
        table: &str,
        kind: MappingKind,
        name: &str,
        body: &str,
        or_alter: bool,
    ) -> Result<ResultTable> {
        let mut cat = self.catalog.lock().expect("catalog lock");
        let meta = cat.table_mut(db, table)?;
        Mapping::parse(kind, body, &meta.schema())?;
        let existing = meta
            .mappings
            .iter()
            .position(|m| m.name == name && m.kind == kind.name());
        let entry = MappingMeta {
            name: name.to_string(),
            kind: kind.name().to_string(),
            body: body.to_string(),
            last_updated: Utc::now(),
        };
        match existing {
            Some(_) if !or_alter => {
                return Err(ExplorerError::AlreadyExists(format!(
                    "{} mapping '{name}' already exists on table '{table}'; use .create-or-alter to replace it",
                    kind.name()
                )))
            }
            Some(i) => meta.mappings[i] = entry.clone(),
            None => meta.mappings.push(entry.clone()),
        }
        cat.save()?;
        let mut r = mappings_result();
        r.push(row(&entry, db, table));
        Ok(r)
    }

    pub(crate) fn drop_mapping(
        &self,
        db: &str,
        table: &str,
        kind: MappingKind,
        name: &str,
    ) -> Result<ResultTable> {
        let mut cat = self.catalog.lock().expect("catalog lock");
        let meta = cat.table_mut(db, table)?;
        let before = meta.mappings.len();
        meta.mappings
            .retain(|m| !(m.name == name && m.kind == kind.name()));
        if meta.mappings.len() == before {
            return Err(ExplorerError::NotFound(format!(
                "{} mapping '{name}' does not exist on table '{table}'",
                kind.name()
            )));
        }
        cat.save()?;
        drop(cat);
        self.show_mappings(db, table, Some(kind))
    }

    pub(crate) fn show_mappings(
        &self,
        db: &str,
        table: &str,
        kind: Option<MappingKind>,
    ) -> Result<ResultTable> {
        let cat = self.catalog.lock().expect("catalog lock");
        let meta = cat.table(db, table)?;
        let mut r = mappings_result();
        for m in meta
            .mappings
            .iter()
            .filter(|m| kind.is_none_or(|k| k.name() == m.kind))
        {
            r.push(row(m, db, table));
        }
        Ok(r)
    }

    /// The mapping `name` of `kind` on a table, parsed; the error names the ones there are.
    pub fn mapping(&self, db: &str, table: &str, kind: MappingKind, name: &str) -> Result<Mapping> {
        let cat = self.catalog.lock().expect("catalog lock");
        let meta = cat.table(db, table)?;
        match meta
            .mappings
            .iter()
            .find(|m| m.name == name && m.kind == kind.name())
        {
            Some(m) => Mapping::parse(kind, &m.body, &meta.schema()),
            None => {
                let known: Vec<String> = meta
                    .mappings
                    .iter()
                    .map(|m| format!("'{}' ({})", m.name, m.kind))
                    .collect();
                Err(ExplorerError::NotFound(format!(
                    "{} mapping '{name}' does not exist on table '{table}' (names are case-sensitive); mappings: {}",
                    kind.name(),
                    if known.is_empty() { "(none)".to_string() } else { known.join(", ") }
                )))
            }
        }
    }
}
