//! Kusto response shapes. v2 is a JSON array of frames whose keys come in Kusto's order
//! (`FrameType` first; `TableId, TableKind, TableName, Columns, Rows`), because the SDKs'
//! streaming readers parse frames token by token. v1 is `{"Tables": [...]}` where a
//! query's answer ends with a table of contents naming each table's kind.

use chrono::Utc;
use eddy_explorer::ResultTable;
use eddy_kql::types::KustoType;
use eddy_kql::values::format_datetime;
use serde_json::{json, Value};
use uuid::Uuid;

use super::error::KustoError;

/// Identifiers a response reports back.
pub struct RequestIds {
    pub client_request_id: String,
    pub activity_id: Uuid,
}

/// A JSON object with its keys in the given order.
fn ordered(fields: &[(&str, Value)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(k).expect("key serializes"));
        out.push(':');
        out.push_str(&serde_json::to_string(v).expect("value serializes"));
    }
    out.push('}');
    out
}

/// Fixed columns of Kusto's own tables, in v2 (`ColumnName`, `ColumnType`) form.
fn v2_fixed(columns: &[(&str, KustoType)]) -> Value {
    Value::Array(
        columns
            .iter()
            .map(|(n, t)| json!({"ColumnName": n, "ColumnType": t.name()}))
            .collect(),
    )
}

/// Fixed columns in v1 form (with the .NET `DataType`).
fn v1_fixed(columns: &[(&str, KustoType)]) -> Value {
    Value::Array(
        columns
            .iter()
            .map(|(n, t)| json!({"ColumnName": n, "DataType": v1_data_type(*t), "ColumnType": t.name()}))
            .collect(),
    )
}

fn v2_columns(t: &ResultTable) -> Value {
    Value::Array(
        t.columns
            .iter()
            .map(|c| json!({"ColumnName": c.name, "ColumnType": c.ty.name()}))
            .collect(),
    )
}

fn data_table(id: usize, kind: &str, name: &str, columns: Value, rows: Vec<Value>) -> String {
    ordered(&[
        ("FrameType", json!("DataTable")),
        ("TableId", json!(id)),
        ("TableKind", json!(kind)),
        ("TableName", json!(name)),
        ("Columns", columns),
        ("Rows", Value::Array(rows)),
    ])
}

fn truncation_error(message: &str) -> KustoError {
    KustoError {
        http: 200,
        code: "LimitsExceeded".into(),
        kind: "Kusto.Data.Exceptions.KustoServicePartialQueryFailureLimitsExceededException",
        message: message.to_string(),
        permanent: false,
    }
}

/// The v2 answer to a query: header, `@ExtendedProperties`, the primary results,
/// `QueryCompletionInformation`, completion. A truncated result ends its rows with an
/// error object (unless the client deferred partial failures), as Kusto does.
pub fn v2(tables: &[ResultTable], ids: &RequestIds, elapsed_secs: f64, defer: bool) -> String {
    let mut frames = vec![ordered(&[
        ("FrameType", json!("DataSetHeader")),
        ("IsProgressive", json!(false)),
        ("Version", json!("v2.0")),
        ("IsFragmented", json!(false)),
        ("ErrorReportingPlacement", json!("InData")),
    ])];
    let mut props = vec![];
    for (i, t) in tables.iter().enumerate() {
        if let Some(v) = &t.visualization {
            props.push(json!([i + 1, "Visualization", v.to_string()]));
        }
    }
    frames.push(data_table(
        0,
        "QueryProperties",
        "@ExtendedProperties",
        v2_fixed(&[
            ("TableId", KustoType::Int),
            ("Key", KustoType::String),
            ("Value", KustoType::Dynamic),
        ]),
        props,
    ));
    let mut errors = vec![];
    for (i, t) in tables.iter().enumerate() {
        let mut rows: Vec<Value> = t.rows.iter().map(|r| Value::Array(r.clone())).collect();
        if let Some(message) = &t.partial_failure {
            let err = truncation_error(message).body();
            if !defer {
                rows.push(json!({"OneApiErrors": [err.clone()]}));
            }
            errors.push(err);
        }
        frames.push(data_table(
            i + 1,
            "PrimaryResult",
            &t.name,
            v2_columns(t),
            rows,
        ));
    }
    let now = json!(format_datetime(Utc::now().timestamp_micros()));
    let act = ids.activity_id.to_string();
    let info =
        |level: i32, level_name: &str, code: i64, code_name: &str, event: &str, payload: Value| {
            json!([
                now,
                ids.client_request_id,
                act,
                act,
                act,
                level,
                level_name,
                code,
                code_name,
                4,
                event,
                payload.to_string()
            ])
        };
    let mut status_rows = vec![info(
        4,
        "Info",
        0,
        "S_OK (0)",
        "QueryResourceConsumption",
        json!({"ExecutionTime": elapsed_secs, "resource_usage": {}, "input_dataset_statistics": {}, "dataset_statistics": tables.iter().map(|t| json!({"table_row_count": t.rows.len(), "table_size": 0})).collect::<Vec<_>>()}),
    )];
    for e in &errors {
        status_rows.push(info(
            2,
            "Error",
            -2133196794,
            "LimitsExceeded",
            "QueryInfo",
            e.clone(),
        ));
    }
    frames.push(data_table(
        tables.len() + 1,
        "QueryCompletionInformation",
        "QueryCompletionInformation",
        v2_fixed(&[
            ("Timestamp", KustoType::DateTime),
            ("ClientRequestId", KustoType::String),
            ("ActivityId", KustoType::Guid),
            ("SubActivityId", KustoType::Guid),
            ("ParentActivityId", KustoType::Guid),
            ("Level", KustoType::Int),
            ("LevelName", KustoType::String),
            ("StatusCode", KustoType::Int),
            ("StatusCodeName", KustoType::String),
            ("EventType", KustoType::Int),
            ("EventTypeName", KustoType::String),
            ("Payload", KustoType::String),
        ]),
        status_rows,
    ));
    let mut completion = vec![
        ("FrameType", json!("DataSetCompletion")),
        ("HasErrors", json!(!errors.is_empty())),
        ("Cancelled", json!(false)),
    ];
    if !errors.is_empty() {
        completion.push(("OneApiErrors", Value::Array(errors)));
    }
    frames.push(ordered(&completion));
    format!("[{}]", frames.join(",\n"))
}

fn v1_table(name: &str, columns: Value, rows: Vec<Value>) -> Value {
    json!({"TableName": name, "Columns": columns, "Rows": rows})
}

fn v1_columns(t: &ResultTable) -> Value {
    Value::Array(
        t.columns
            .iter()
            .map(|c| {
                json!({
                    "ColumnName": c.name,
                    "DataType": v1_data_type(c.ty),
                    "ColumnType": c.ty.name(),
                })
            })
            .collect(),
    )
}

/// The .NET type name v1 puts in `DataType`.
fn v1_data_type(ty: KustoType) -> &'static str {
    use KustoType as K;
    match ty {
        K::Bool => "Boolean",
        K::Int => "Int32",
        K::Long => "Int64",
        K::Real => "Double",
        K::Decimal => "Decimal",
        K::String => "String",
        K::DateTime => "DateTime",
        K::Timespan => "TimeSpan",
        K::Guid => "Guid",
        K::Dynamic => "Object",
    }
}

/// The v1 answer to a management command: its tables as they are.
pub fn v1_command(tables: &[ResultTable]) -> Value {
    json!({"Tables": tables
        .iter()
        .map(|t| v1_table(&t.name, v1_columns(t), t.rows.iter().map(|r| Value::Array(r.clone())).collect()))
        .collect::<Vec<_>>()})
}

/// The v1 answer to a query: results, `@ExtendedProperties`, `QueryStatus`, then the
/// table of contents (Ordinal, Kind, Name, Id, PrettyName) naming each table's kind.
pub fn v1_query(tables: &[ResultTable], ids: &RequestIds) -> Value {
    let mut out = vec![];
    let mut toc = vec![];
    for (i, t) in tables.iter().enumerate() {
        out.push(v1_table(
            &format!("Table_{i}"),
            v1_columns(t),
            t.rows.iter().map(|r| Value::Array(r.clone())).collect(),
        ));
        toc.push(json!([
            i,
            "QueryResult",
            t.name,
            Uuid::new_v4().to_string(),
            ""
        ]));
    }
    let props: Vec<Value> = tables
        .iter()
        .filter_map(|t| t.visualization.as_ref())
        .map(|v| json!([v.to_string()]))
        .collect();
    let n = out.len();
    out.push(v1_table(
        &format!("Table_{n}"),
        v1_fixed(&[("Value", KustoType::String)]),
        props,
    ));
    toc.push(json!([
        n,
        "QueryProperties",
        "@ExtendedProperties",
        Uuid::new_v4().to_string(),
        ""
    ]));
    let now = format_datetime(Utc::now().timestamp_micros());
    let act = ids.activity_id.to_string();
    let status_row = |severity: i32, name: &str, code: i64, text: &str| {
        json!([
            now,
            severity,
            name,
            code,
            text,
            1,
            act,
            act,
            act,
            ids.client_request_id
        ])
    };
    let mut status: Vec<Value> = tables
        .iter()
        .filter_map(|t| t.partial_failure.as_deref())
        .map(|m| status_row(2, "Error", -2133196794, m))
        .collect();
    status.push(status_row(4, "Info", 0, "Query completed successfully"));
    out.push(v1_table(
        &format!("Table_{}", n + 1),
        v1_fixed(&[
            ("Timestamp", KustoType::DateTime),
            ("Severity", KustoType::Int),
            ("SeverityName", KustoType::String),
            ("StatusCode", KustoType::Int),
            ("StatusDescription", KustoType::String),
            ("Count", KustoType::Int),
            ("RequestId", KustoType::Guid),
            ("ActivityId", KustoType::Guid),
            ("SubActivityId", KustoType::Guid),
            ("ClientActivityId", KustoType::String),
        ]),
        status,
    ));
    toc.push(json!([
        n + 1,
        "QueryStatus",
        "QueryStatus",
        Uuid::new_v4().to_string(),
        ""
    ]));
    out.push(v1_table(
        &format!("Table_{}", n + 2),
        v1_fixed(&[
            ("Ordinal", KustoType::Long),
            ("Kind", KustoType::String),
            ("Name", KustoType::String),
            ("Id", KustoType::String),
            ("PrettyName", KustoType::String),
        ]),
        toc,
    ));
    json!({"Tables": out})
}
