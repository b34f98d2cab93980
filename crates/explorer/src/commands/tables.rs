//! `.create|.create-merge|.alter|.drop table`, `.show tables`, `.show table T [schema as
//! json]`, `.create database`, `.show databases`.

use eddy_kql::types::{ColumnDef, KustoType};
use serde_json::json;

use super::csl_schema;
use crate::catalog::DatabaseMeta;
use crate::error::{ExplorerError, Result};
use crate::explorer::Explorer;
use crate::result::ResultTable;

/// The result shape of `.create table` and `.show table T schema as json`.
fn schema_table() -> ResultTable {
    ResultTable::new(
        "Table_0",
        &[
            ("TableName", KustoType::String),
            ("Schema", KustoType::String),
            ("DatabaseName", KustoType::String),
            ("Folder", KustoType::String),
            ("DocString", KustoType::String),
        ],
    )
}

fn schema_result(db: &str, table: &str, columns: &[ColumnDef]) -> ResultTable {
    let mut r = schema_table();
    r.push(vec![
        json!(table),
        json!(csl_schema(columns)),
        json!(db),
        json!(""),
        json!(""),
    ]);
    r
}

impl Explorer {
    pub(crate) fn create_database(&self, name: &str, if_not_exists: bool) -> Result<ResultTable> {
        {
            let mut cat = self.catalog.lock().expect("catalog lock");
            if cat.data.databases.contains_key(name) {
                if !if_not_exists {
                    return Err(ExplorerError::AlreadyExists(format!(
                        "database '{name}' already exists"
                    )));
                }
            } else {
                cat.data.databases.insert(
                    name.to_string(),
                    DatabaseMeta {
                        created_on: chrono::Utc::now(),
                        policies: Default::default(),
                        tables: Default::default(),
                    },
                );
                cat.save()?;
            }
        }
        let mut r = self.show_databases(name);
        r.rows.retain(|row| row[0] == json!(name));
        Ok(r)
    }

    pub(crate) fn show_databases(&self, current: &str) -> ResultTable {
        let mut r = ResultTable::new(
            "Table_0",
            &[
                ("DatabaseName", KustoType::String),
                ("PersistentStorage", KustoType::String),
                ("Version", KustoType::String),
                ("IsCurrent", KustoType::Bool),
                ("DatabaseAccessMode", KustoType::String),
                ("PrettyName", KustoType::String),
                ("CurrentUserIsUnrestrictedViewer", KustoType::Bool),
                ("DatabaseId", KustoType::Guid),
            ],
        );
        for db in self.databases() {
            let path = self.table_dir(&db, "x");
            let storage = path
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, db.as_bytes());
            r.push(vec![
                json!(db),
                json!(storage),
                json!("v1.0"),
                json!(db == current),
                json!("ReadWrite"),
                json!(""),
                json!(false),
                json!(id.to_string()),
            ]);
        }
        r
    }

    pub(crate) async fn create_table_command(
        &self,
        db: &str,
        name: &str,
        columns: Vec<ColumnDef>,
        merge: bool,
    ) -> Result<ResultTable> {
        let _ddl = self.ddl.lock().await;
        let existing = self
            .catalog
            .lock()
            .expect("catalog lock")
            .table(db, name)
            .ok()
            .map(|t| t.schema());
        let Some(existing) = existing else {
            self.create_table(db, name, columns.clone()).await?;
            return Ok(schema_result(db, name, &columns));
        };
        if !merge {
            // `.create table` on an existing table is a no-op returning its schema.
            return Ok(schema_result(db, name, &existing));
        }
        let mut added = vec![];
        for c in &columns {
            match existing.iter().find(|e| e.name == c.name) {
                Some(e) if e.ty != c.ty => {
                    return Err(ExplorerError::InvalidArgument(format!(
                        ".create-merge table {name}: column '{}' is {} in the table, not {}",
                        c.name, e.ty, c.ty
                    )))
                }
                Some(_) => {}
                None => added.push(c.clone()),
            }
        }
        self.add_columns(db, name, &added).await?;
        let mut all = existing;
        all.extend(added);
        Ok(schema_result(db, name, &all))
    }

    async fn add_columns(&self, db: &str, name: &str, added: &[ColumnDef]) -> Result<()> {
        if added.is_empty() {
            return Ok(());
        }
        self.table(db, name)?.add_columns(added).await?;
        let mut cat = self.catalog.lock().expect("catalog lock");
        cat.table_mut(db, name)?
            .columns
            .extend(added.iter().map(Into::into));
        cat.save()
    }

    /// `.alter table T (cols)`: the new schema must keep the existing columns, in order
    /// and with their types; it may add columns at the end. Delta tables at protocol
    /// 1/2 cannot drop or retype columns.
    pub(crate) async fn alter_table(
        &self,
        db: &str,
        name: &str,
        columns: Vec<ColumnDef>,
    ) -> Result<ResultTable> {
        let _ddl = self.ddl.lock().await;
        let existing = self
            .catalog
            .lock()
            .expect("catalog lock")
            .table(db, name)
            .map(|t| t.schema());
        let existing = match existing {
            Ok(e) => e,
            Err(_) => {
                self.create_table(db, name, columns.clone()).await?;
                return Ok(schema_result(db, name, &columns));
            }
        };
        for (i, e) in existing.iter().enumerate() {
            if columns.get(i) != Some(e) {
                return Err(ExplorerError::InvalidArgument(format!(
                    ".alter table {name}: Eddy can add columns at the end but cannot drop, reorder or retype them (column '{}' {} must stay at position {}); the current schema is ({})",
                    e.name, e.ty, i, csl_schema(&existing)
                )));
            }
        }
        self.add_columns(db, name, &columns[existing.len()..])
            .await?;
        Ok(schema_result(db, name, &columns))
    }

    pub(crate) async fn drop_table_command(
        &self,
        db: &str,
        name: &str,
        if_exists: bool,
    ) -> Result<ResultTable> {
        let _ddl = self.ddl.lock().await;
        let exists = self
            .catalog
            .lock()
            .expect("catalog lock")
            .table(db, name)
            .is_ok();
        if exists {
            self.drop_table(db, name).await?;
        } else if !if_exists {
            self.catalog.lock().expect("catalog lock").table(db, name)?;
        }
        self.show_tables(db)
    }

    pub(crate) fn show_tables(&self, db: &str) -> Result<ResultTable> {
        let mut r = ResultTable::new(
            "Table_0",
            &[
                ("TableName", KustoType::String),
                ("DatabaseName", KustoType::String),
                ("Folder", KustoType::String),
                ("DocString", KustoType::String),
            ],
        );
        let cat = self.catalog.lock().expect("catalog lock");
        for name in cat.database(db)?.tables.keys() {
            r.push(vec![json!(name), json!(db), json!(""), json!("")]);
        }
        Ok(r)
    }

    pub(crate) fn show_table(&self, db: &str, name: &str) -> Result<ResultTable> {
        let columns = self
            .catalog
            .lock()
            .expect("catalog lock")
            .table(db, name)?
            .schema();
        let mut r = ResultTable::new(
            "Table_0",
            &[
                ("AttributeName", KustoType::String),
                ("AttributeType", KustoType::String),
                ("ColumnType", KustoType::String),
            ],
        );
        for c in columns {
            r.push(vec![
                json!(c.name),
                json!(c.ty.dotnet_name()),
                json!(c.ty.name()),
            ]);
        }
        Ok(r)
    }

    pub(crate) fn show_table_schema_json(&self, db: &str, name: &str) -> Result<ResultTable> {
        let columns = self
            .catalog
            .lock()
            .expect("catalog lock")
            .table(db, name)?
            .schema();
        let schema = json!({
            "Name": name,
            "OrderedColumns": columns.iter().map(|c| json!({"Name": c.name, "Type": c.ty.dotnet_name(), "CslType": c.ty.name()})).collect::<Vec<_>>(),
        });
        let mut r = schema_table();
        r.push(vec![
            json!(name),
            json!(schema.to_string()),
            json!(db),
            json!(""),
            json!(""),
        ]);
        Ok(r)
    }
}
