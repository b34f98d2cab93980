//! Management commands (`.create table`, `.ingest`, `.show ...`) as parsed values. The
//! explorer executes them; see `parser/command.rs` for the grammar.

use crate::types::ColumnDef;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    CreateDatabase {
        name: String,
        if_not_exists: bool,
    },
    ShowDatabases,
    ShowVersion,
    ShowCluster,
    CreateTable {
        name: String,
        columns: Vec<ColumnDef>,
        merge: bool,
    },
    AlterTable {
        name: String,
        columns: Vec<ColumnDef>,
    },
    DropTable {
        name: String,
        if_exists: bool,
    },
    ShowTables,
    ShowTable {
        name: String,
    },
    ShowTableSchemaJson {
        name: String,
    },
    CreateMapping {
        table: String,
        kind: MappingKind,
        name: String,
        body: String,
        or_alter: bool,
    },
    DropMapping {
        table: String,
        kind: MappingKind,
        name: String,
    },
    ShowMappings {
        table: String,
        kind: Option<MappingKind>,
    },
    AlterPolicy {
        entity: PolicyEntity,
        policy: PolicyKind,
        body: String,
        merge: bool,
    },
    ShowPolicy {
        entity: PolicyEntity,
        policy: PolicyKind,
    },
    IngestInline {
        table: String,
        properties: Properties,
        data: String,
    },
    IngestFrom {
        table: String,
        sources: Vec<String>,
        properties: Properties,
    },
    SetOrAppend {
        mode: AppendMode,
        table: String,
        properties: Properties,
        query: String,
    },
    ShowIngestionFailures,
    /// `.show operations [id | (id, ...)]`.
    ShowOperations {
        ids: Vec<String>,
    },
    /// `.get ingestion resources`: where queued ingestion clients put blobs and messages.
    GetIngestionResources,
    /// `.get kusto identity token`: the authorization context queued messages carry.
    GetIdentityToken,
    ShowExtents {
        table: Option<String>,
    },
    /// `.create[-or-alter] data connection Name with (hub = '...', ...)`: an event hub
    /// feeding tables of the current database.
    CreateDataConnection {
        name: String,
        properties: Properties,
        or_alter: bool,
    },
    /// `.drop data connection Name [ifexists]`.
    DropDataConnection {
        name: String,
        if_exists: bool,
    },
    /// `.show data connections` or `.show data connection Name`.
    ShowDataConnections {
        name: Option<String>,
    },
}

/// `with (name = value, ...)`, names as written, values as text.
pub type Properties = Vec<(String, String)>;

/// Looks up a property case-insensitively.
pub fn property<'a>(props: &'a Properties, name: &str) -> Option<&'a str> {
    props
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MappingKind {
    Csv,
    Json,
    Avro,
    Parquet,
}

impl MappingKind {
    pub fn parse(s: &str) -> Option<MappingKind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "csv" => MappingKind::Csv,
            "json" => MappingKind::Json,
            "avro" | "apacheavro" => MappingKind::Avro,
            "parquet" => MappingKind::Parquet,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            MappingKind::Csv => "Csv",
            MappingKind::Json => "Json",
            MappingKind::Avro => "Avro",
            MappingKind::Parquet => "Parquet",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyEntity {
    Table(String),
    Database(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    IngestionBatching,
    StreamingIngestion,
    Retention,
    /// Eddy's own: `{"Strict": true}` rejects records whose values do not convert.
    IngestionConversion,
}

impl PolicyKind {
    pub fn parse(s: &str) -> Option<PolicyKind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "ingestionbatching" => PolicyKind::IngestionBatching,
            "streamingingestion" => PolicyKind::StreamingIngestion,
            "retention" => PolicyKind::Retention,
            "ingestionconversion" => PolicyKind::IngestionConversion,
            _ => return None,
        })
    }

    /// The name Kusto shows in the PolicyName column.
    pub fn display_name(self) -> &'static str {
        match self {
            PolicyKind::IngestionBatching => "IngestionBatchingPolicy",
            PolicyKind::StreamingIngestion => "StreamingIngestionPolicy",
            PolicyKind::Retention => "RetentionPolicy",
            PolicyKind::IngestionConversion => "IngestionConversionPolicy",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendMode {
    Set,
    Append,
    SetOrAppend,
    SetOrReplace,
}
