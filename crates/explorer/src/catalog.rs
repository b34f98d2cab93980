//! The catalog: databases, their tables (schemas, mappings, policies), persisted as one
//! JSON file written atomically on every change. Delta tables hold the data; this file
//! holds what Kusto keeps besides (Kusto types, mappings, policies).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use eddy_kql::command::PolicyKind;
use eddy_kql::types::{ColumnDef, KustoType};
use serde::{Deserialize, Serialize};

use crate::error::{ExplorerError, Result};

pub const DEFAULT_DATABASE: &str = "NetDefaultDB";
const FILE: &str = "catalog.json";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CatalogData {
    pub databases: BTreeMap<String, DatabaseMeta>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseMeta {
    pub created_on: DateTime<Utc>,
    #[serde(default)]
    pub policies: Policies,
    #[serde(default)]
    pub tables: BTreeMap<String, TableMeta>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableMeta {
    pub created_on: DateTime<Utc>,
    pub columns: Vec<ColumnMeta>,
    #[serde(default)]
    pub mappings: Vec<MappingMeta>,
    #[serde(default)]
    pub policies: Policies,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnMeta {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MappingMeta {
    pub name: String,
    pub kind: String,
    /// The mapping JSON exactly as given.
    pub body: String,
    pub last_updated: DateTime<Utc>,
}

/// Policies as the JSON the user set (already validated and normalized).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Policies {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingestion_batching: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streaming_ingestion: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingestion_conversion: Option<serde_json::Value>,
}

impl Policies {
    pub fn get(&self, kind: PolicyKind) -> Option<&serde_json::Value> {
        match kind {
            PolicyKind::IngestionBatching => self.ingestion_batching.as_ref(),
            PolicyKind::StreamingIngestion => self.streaming_ingestion.as_ref(),
            PolicyKind::Retention => self.retention.as_ref(),
            PolicyKind::IngestionConversion => self.ingestion_conversion.as_ref(),
        }
    }
}

impl TableMeta {
    pub fn new(columns: &[ColumnDef]) -> Self {
        TableMeta {
            created_on: Utc::now(),
            columns: columns.iter().map(ColumnMeta::from).collect(),
            mappings: vec![],
            policies: Policies::default(),
        }
    }

    pub fn schema(&self) -> Vec<ColumnDef> {
        self.columns
            .iter()
            .map(|c| ColumnDef {
                name: c.name.clone(),
                ty: KustoType::parse(&c.ty).unwrap_or(KustoType::String),
            })
            .collect()
    }
}

impl From<&ColumnDef> for ColumnMeta {
    fn from(c: &ColumnDef) -> Self {
        ColumnMeta {
            name: c.name.clone(),
            ty: c.ty.name().to_string(),
        }
    }
}

pub struct Catalog {
    dir: PathBuf,
    pub data: CatalogData,
}

impl Catalog {
    pub fn open(dir: &Path) -> Result<Catalog> {
        std::fs::create_dir_all(dir)
            .map_err(ExplorerError::io(format!("create {}", dir.display())))?;
        let path = dir.join(FILE);
        let mut data: CatalogData = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                ExplorerError::InvalidArgument(format!("{} is corrupt: {e}", path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => CatalogData::default(),
            Err(e) => return Err(ExplorerError::io(format!("read {}", path.display()))(e)),
        };
        data.databases
            .entry(DEFAULT_DATABASE.to_string())
            .or_insert_with(|| DatabaseMeta {
                created_on: Utc::now(),
                policies: Policies::default(),
                tables: BTreeMap::new(),
            });
        let catalog = Catalog {
            dir: dir.to_path_buf(),
            data,
        };
        catalog.save()?;
        Ok(catalog)
    }

    pub fn save(&self) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(&self.data).expect("catalog serializes");
        eddy_common::fsutil::write_atomic(&self.dir, FILE, &bytes)
            .map_err(ExplorerError::io("write catalog"))
    }

    pub fn database(&self, db: &str) -> Result<&DatabaseMeta> {
        self.data
            .databases
            .get(db)
            .ok_or_else(|| self.no_database(db))
    }

    pub fn database_mut(&mut self, db: &str) -> Result<&mut DatabaseMeta> {
        if !self.data.databases.contains_key(db) {
            return Err(self.no_database(db));
        }
        Ok(self.data.databases.get_mut(db).expect("checked"))
    }

    fn no_database(&self, db: &str) -> ExplorerError {
        let known: Vec<&str> = self.data.databases.keys().map(|s| s.as_str()).collect();
        ExplorerError::NotFound(format!(
            "database '{db}' does not exist; databases: {}",
            known.join(", ")
        ))
    }

    pub fn table(&self, db: &str, table: &str) -> Result<&TableMeta> {
        let d = self.database(db)?;
        d.tables.get(table).ok_or_else(|| no_table(d, db, table))
    }

    pub fn table_mut(&mut self, db: &str, table: &str) -> Result<&mut TableMeta> {
        let d = self.database_mut(db)?;
        if !d.tables.contains_key(table) {
            return Err(no_table(d, db, table));
        }
        Ok(d.tables.get_mut(table).expect("checked"))
    }
}

fn no_table(d: &DatabaseMeta, db: &str, table: &str) -> ExplorerError {
    let known: Vec<&str> = d.tables.keys().map(|s| s.as_str()).collect();
    ExplorerError::NotFound(format!(
        "table '{table}' does not exist in database '{db}'; tables: {}",
        if known.is_empty() {
            "(none)".to_string()
        } else {
            known.join(", ")
        }
    ))
}
