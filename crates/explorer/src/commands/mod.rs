//! Management commands: one file per area. Results are tables shaped like Kusto's.

pub(crate) mod ingest;
mod mappings;
mod policies;
mod show;
mod tables;

use eddy_kql::command::Command;
use eddy_kql::types::ColumnDef;

use crate::error::Result;
use crate::explorer::Explorer;
use crate::result::ResultTable;

pub use ingest::{guess_format, source_name, IngestProps, IngestReport};

impl Explorer {
    pub(crate) async fn command(&self, db: &str, cmd: Command) -> Result<Vec<ResultTable>> {
        let table = match cmd {
            Command::CreateDatabase {
                name,
                if_not_exists,
            } => self.create_database(&name, if_not_exists)?,
            Command::ShowDatabases => self.show_databases(db),
            Command::ShowVersion => show::version(),
            Command::ShowCluster => show::cluster(),
            Command::CreateTable {
                name,
                columns,
                merge,
            } => self.create_table_command(db, &name, columns, merge).await?,
            Command::AlterTable { name, columns } => self.alter_table(db, &name, columns).await?,
            Command::DropTable { name, if_exists } => {
                self.drop_table_command(db, &name, if_exists).await?
            }
            Command::ShowTables => self.show_tables(db)?,
            Command::ShowTable { name } => self.show_table(db, &name)?,
            Command::ShowTableSchemaJson { name } => self.show_table_schema_json(db, &name)?,
            Command::CreateMapping {
                table,
                kind,
                name,
                body,
                or_alter,
            } => self.create_mapping(db, &table, kind, &name, &body, or_alter)?,
            Command::DropMapping { table, kind, name } => {
                self.drop_mapping(db, &table, kind, &name)?
            }
            Command::ShowMappings { table, kind } => self.show_mappings(db, &table, kind)?,
            Command::AlterPolicy {
                entity,
                policy,
                body,
                merge,
            } => self.alter_policy(db, &entity, policy, &body, merge)?,
            Command::ShowPolicy { entity, policy } => self.show_policy(db, &entity, policy)?,
            Command::IngestInline {
                table,
                properties,
                data,
            } => {
                self.ingest_inline(db, &table, &properties, data.as_bytes())
                    .await?
            }
            Command::IngestFrom {
                table,
                sources,
                properties,
            } => self.ingest_from(db, &table, &sources, &properties).await?,
            Command::SetOrAppend {
                mode,
                table,
                properties,
                query,
            } => {
                self.set_or_append(db, mode, &table, &properties, &query)
                    .await?
            }
            Command::ShowIngestionFailures => self.show_ingestion_failures(),
            Command::ShowOperations { ids } => self.show_operations(&ids),
            Command::GetIngestionResources => self.get_ingestion_resources()?,
            Command::GetIdentityToken => show::identity_token(),
            Command::ShowExtents { table } => self.show_extents(db, table.as_deref()).await?,
            Command::CreateDataConnection {
                name,
                properties,
                or_alter,
            } => {
                self.data_connection_admin()?
                    .create(db, &name, &properties, or_alter)
                    .await?
            }
            Command::DropDataConnection { name, if_exists } => {
                self.data_connection_admin()?
                    .remove(db, &name, if_exists)
                    .await?
            }
            Command::ShowDataConnections { name } => {
                self.data_connection_admin()?.show(db, name.as_deref())?
            }
        };
        Ok(vec![table])
    }
}

/// `a:long, b:string` as Kusto prints a schema.
pub(crate) fn csl_schema(columns: &[ColumnDef]) -> String {
    columns
        .iter()
        .map(|c| format!("{}:{}", c.name, c.ty))
        .collect::<Vec<_>>()
        .join(", ")
}
