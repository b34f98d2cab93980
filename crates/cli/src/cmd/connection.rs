//! `eddy connection create|list|show|drop`: data connections (hub → table), a thin
//! front over `.create data connection` and friends.

use anyhow::Result;
use clap::Subcommand;

use crate::client::Client;
use crate::cmd::query::{format_tables, OutputFormat};

#[derive(Subcommand, Debug)]
pub enum ConnectionCommand {
    /// Create (or with --or-alter, replace) a data connection from a hub to tables.
    Create {
        name: String,
        #[arg(long)]
        hub: String,
        /// Target database (events may name another with `Database` under --multi-database).
        #[arg(long, default_value = eddy_explorer::DEFAULT_DATABASE)]
        database: String,
        /// The connection's own consumer group (default: the connection name; created
        /// when missing).
        #[arg(long)]
        consumer_group: Option<String>,
        /// Default table for events without a `Table` property.
        #[arg(long)]
        table: Option<String>,
        /// Default format for events without a `Format` property.
        #[arg(long)]
        format: Option<String>,
        /// Default mapping for events without `IngestionMappingReference`.
        #[arg(long)]
        mapping: Option<String>,
        /// None or GZip.
        #[arg(long)]
        compression: Option<String>,
        /// System properties to ingest (x-opt-enqueued-time, x-opt-sequence-number,
        /// x-opt-offset, x-opt-publisher, x-opt-partition-key).
        #[arg(long = "system-property")]
        system_properties: Vec<String>,
        /// Let events route to other databases with their `Database` property.
        #[arg(long)]
        multi_database: bool,
        /// latest (default: only events enqueued from now on), earliest, or a datetime.
        #[arg(long)]
        start: Option<String>,
        #[arg(long)]
        or_alter: bool,
    },
    /// List the data connections of a database with their counters and lag.
    List {
        #[arg(long, default_value = eddy_explorer::DEFAULT_DATABASE)]
        database: String,
    },
    /// Show one data connection as JSON.
    Show {
        name: String,
        #[arg(long, default_value = eddy_explorer::DEFAULT_DATABASE)]
        database: String,
    },
    /// Stop and remove a data connection (the tables keep their rows).
    Drop {
        name: String,
        #[arg(long, default_value = eddy_explorer::DEFAULT_DATABASE)]
        database: String,
    },
}

/// A command property value as a KQL string literal.
fn quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

pub async fn run(client: &Client, cmd: ConnectionCommand) -> Result<()> {
    let (db, csl, format) = match cmd {
        ConnectionCommand::Create {
            name,
            hub,
            database,
            consumer_group,
            table,
            format,
            mapping,
            compression,
            system_properties,
            multi_database,
            start,
            or_alter,
        } => {
            let mut props = vec![("hub", hub)];
            let optional = [
                ("consumerGroup", consumer_group),
                ("table", table),
                ("format", format),
                ("mapping", mapping),
                ("compression", compression),
                ("start", start),
            ];
            props.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
            if !system_properties.is_empty() {
                props.push(("eventSystemProperties", system_properties.join(",")));
            }
            if multi_database {
                props.push(("databaseRouting", "Multi".into()));
            }
            let with = props
                .iter()
                .map(|(k, v)| format!("{k} = {}", quote(v)))
                .collect::<Vec<_>>()
                .join(", ");
            let verb = if or_alter { "create-or-alter" } else { "create" };
            (
                database,
                format!(".{verb} data connection {} with ({with})", quote(&name)),
                OutputFormat::Json,
            )
        }
        ConnectionCommand::List { database } => (
            database,
            ".show data connections | project Name, EventHub, ConsumerGroup, Table, Format, Mapping, State, EventsRead, EventsIngested, EventsFailed, Lag, LastIngestionLatency, LastError".to_string(),
            OutputFormat::Table,
        ),
        ConnectionCommand::Show { name, database } => (
            database,
            format!(".show data connection {}", quote(&name)),
            OutputFormat::Json,
        ),
        ConnectionCommand::Drop { name, database } => (
            database,
            format!(".drop data connection {}", quote(&name)),
            OutputFormat::Table,
        ),
    };
    let tables = client.kusto(&db, &csl).await?;
    print!("{}", format_tables(&tables, format));
    Ok(())
}
