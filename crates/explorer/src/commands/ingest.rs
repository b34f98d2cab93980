//! `.ingest inline`, `.ingest into table T (sources)`, and `.set|.append|.set-or-append|
//! .set-or-replace T <| query`. All ingestion goes through [`Explorer::ingest_bytes`].

use std::time::Instant;

use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::record_batch::RecordBatch;
use eddy_kql::command::{property, AppendMode, Properties};
use eddy_kql::types::{ColumnDef, KustoType};
use eddy_kql::values::format_timespan;
use serde_json::json;
use uuid::Uuid;

use crate::error::{ExplorerError, Result};
use crate::explorer::Explorer;
use crate::ingest::{self, Format};
use crate::result::ResultTable;

/// What one ingestion did.
#[derive(Debug, Clone)]
pub struct IngestReport {
    pub operation_id: Uuid,
    pub rows: usize,
    /// Records that went to the ingestion failures.
    pub failed_records: usize,
    /// Values that became null because they did not convert to the column type.
    pub conversion_failures: u64,
}

/// Ingestion properties that matter here, read from `with (...)`.
#[derive(Debug, Clone)]
pub struct IngestProps {
    pub format: Format,
    /// A mapping of the table, by name (`ingestionMappingReference`).
    pub mapping: Option<String>,
    /// A mapping given with the request itself (`ingestionMapping`, JSON text).
    pub inline_mapping: Option<String>,
    pub ignore_first_record: bool,
}

impl IngestProps {
    pub fn from_properties(props: &Properties, default: Format) -> Result<IngestProps> {
        let format = match property(props, "format") {
            Some(f) => Format::parse(f).ok_or_else(|| {
                ExplorerError::InvalidArgument(format!(
                    "unknown format '{f}'; formats are json, multijson, csv, tsv, psv, scsv, sohsv, txt, raw, parquet, avro"
                ))
            })?,
            None => default,
        };
        let mapping = property(props, "ingestionMappingReference")
            .or_else(|| property(props, "jsonMappingReference"))
            .or_else(|| property(props, "csvMappingReference"))
            .map(str::to_string);
        let ignore_first_record =
            property(props, "ignoreFirstRecord").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Ok(IngestProps {
            format,
            mapping,
            inline_mapping: property(props, "ingestionMapping").map(str::to_string),
            ignore_first_record,
        })
    }
}

fn ingest_result() -> ResultTable {
    ResultTable::new(
        "Table_0",
        &[
            ("ExtentId", KustoType::Guid),
            ("ItemLoaded", KustoType::String),
            ("Duration", KustoType::Timespan),
            ("HasErrors", KustoType::Bool),
            ("OperationId", KustoType::Guid),
        ],
    )
}

impl IngestReport {
    /// Kusto's answer row for one ingested item.
    fn push_row(&self, out: &mut ResultTable, item: &str, started: Instant) {
        out.push(vec![
            json!(Uuid::new_v4().to_string()),
            json!(item),
            json!(format_timespan(started.elapsed().as_micros() as i64)),
            json!(self.failed_records > 0),
            json!(self.operation_id.to_string()),
        ]);
    }

    /// The result table `.ingest` returns, for one item.
    pub fn to_result(&self, item: &str, started: Instant) -> ResultTable {
        let mut r = ingest_result();
        self.push_row(&mut r, item, started);
        r
    }
}

/// A source parsed and ready to append.
struct Prepared {
    table: std::sync::Arc<crate::table::Table>,
    parsed: ingest::Parsed,
    parse_time: std::time::Duration,
}

/// What parsing a source for a table needs.
struct RequestParts {
    table: std::sync::Arc<crate::table::Table>,
    columns: Vec<eddy_kql::types::ColumnDef>,
    mapping: Option<ingest::mapping::Mapping>,
    strict: bool,
}

impl RequestParts {
    fn request<'a>(&'a self, props: &IngestProps, source: &'a str) -> ingest::Request<'a> {
        ingest::Request {
            columns: &self.columns,
            format: props.format,
            mapping: self.mapping.as_ref(),
            ignore_first_record: props.ignore_first_record,
            source,
            strict: self.strict,
        }
    }
}

impl Explorer {
    /// Ingests `data` from `source` into a table: parse, record bad records, append
    /// the rest durably. Returns once the rows are durable and queryable.
    pub async fn ingest_bytes(
        &self,
        db: &str,
        table: &str,
        data: &[u8],
        props: &IngestProps,
        source: &str,
    ) -> Result<IngestReport> {
        let started = Instant::now();
        let prepared = self.request_parts(db, table, props).and_then(|parts| {
            let parse_started = Instant::now();
            let parsed = ingest::parse(&parts.request(props, source), data)?;
            Ok(Prepared {
                table: parts.table,
                parsed,
                parse_time: parse_started.elapsed(),
            })
        });
        self.commit_source(db, table, source, started, Ok(prepared))
            .await
    }

    /// A whole source failed: one failure record at position "source".
    fn record_source_failure(
        &self,
        op: Uuid,
        db: &str,
        table: &str,
        source: &str,
        code: &'static str,
        e: &ExplorerError,
    ) {
        let failure = ingest::RecordFailure {
            position: "source".into(),
            payload: String::new(),
            code,
            message: e.to_string(),
        };
        self.record_failure(op, db, table, source, &failure);
    }

    /// The table, its columns, the mapping and the conversion policy for `props`.
    fn request_parts(&self, db: &str, table: &str, props: &IngestProps) -> Result<RequestParts> {
        let t = self.table(db, table)?;
        let columns = t.columns();
        let mapping = match (&props.mapping, &props.inline_mapping) {
            (Some(name), _) => Some(self.mapping(db, table, props.format.mapping_kind(), name)?),
            (None, Some(body)) => Some(ingest::mapping::Mapping::parse(
                props.format.mapping_kind(),
                body,
                &columns,
            )?),
            (None, None) => None,
        };
        Ok(RequestParts {
            table: t,
            columns,
            mapping,
            strict: self.strict_conversion(db, table),
        })
    }

    /// Reads a source and parses it on a blocking thread. `Err` is a source that could
    /// not be read.
    async fn read_and_parse(
        &self,
        db: &str,
        table: &str,
        source: &str,
        props: &IngestProps,
    ) -> std::result::Result<Result<Prepared>, ExplorerError> {
        self.start_parse(db, table, source, props)
            .await
            .finish()
            .await
    }

    /// Opens a source and starts parsing it on a blocking thread; the parse runs
    /// while the caller goes on (appending the previous source, say).
    async fn start_parse(
        &self,
        db: &str,
        table: &str,
        source: &str,
        props: &IngestProps,
    ) -> Parsing {
        let input = match open_source(source).await {
            Ok(i) => i,
            Err(e) => return Parsing::Done(Err(e)),
        };
        let parts = match self.request_parts(db, table, props) {
            Ok(p) => p,
            Err(e) => return Parsing::Done(Ok(Err(e))),
        };
        let (props, name) = (props.clone(), source_name(source).to_string());
        Parsing::Running(tokio::task::spawn_blocking(move || {
            let parse_started = Instant::now();
            let req = parts.request(&props, &name);
            let parsed = match input {
                Input::File(file) => ingest::parse_file(&req, file)?,
                Input::Bytes(data) => ingest::parse(&req, &data)?,
            };
            Ok(Prepared {
                table: parts.table,
                parsed,
                parse_time: parse_started.elapsed(),
            })
        }))
    }

    /// Appends a parsed source (recording its bad records) and records the operation;
    /// a source that could not be read or parsed is a failed operation.
    async fn commit_source(
        &self,
        db: &str,
        table: &str,
        source: &str,
        started: Instant,
        prepared: std::result::Result<Result<Prepared>, ExplorerError>,
    ) -> Result<IngestReport> {
        let op = Uuid::new_v4();
        let prepared = match prepared {
            Ok(p) => p,
            Err(e) => {
                let status = Err(e.to_string());
                self.record_operation(op, "DataIngestPull", db, table, started, status);
                self.record_source_failure(
                    op,
                    db,
                    table,
                    source,
                    "BadRequest_SourceUnreadable",
                    &e,
                );
                return Err(e);
            }
        };
        let outcome = match prepared {
            Ok(p) => self.append_prepared(db, table, source, op, p).await,
            Err(e) => Err(e),
        };
        let status = match &outcome {
            Ok(r) => Ok(format!(
                "{} rows from {source}; {} records failed; {} values did not convert and became null",
                r.rows, r.failed_records, r.conversion_failures
            )),
            Err(e) => Err(e.to_string()),
        };
        self.record_operation(op, "DataIngestPull", db, table, started, status);
        if let Err(e) = &outcome {
            self.record_source_failure(op, db, table, source, "BadRequest_IngestionFailed", e);
        }
        outcome
    }

    async fn append_prepared(
        &self,
        db: &str,
        table: &str,
        source: &str,
        op: Uuid,
        p: Prepared,
    ) -> Result<IngestReport> {
        let parsed = p.parsed;
        for f in &parsed.failures {
            self.record_failure(op, db, table, source, f);
        }
        let rows = parsed.rows();
        let append_started = Instant::now();
        p.table
            .append_with_sources(parsed.batches, parsed.raw_bytes, vec![])
            .await?;
        tracing::debug!(
            db,
            table,
            source,
            rows,
            parse_ms = p.parse_time.as_millis() as u64,
            append_ms = append_started.elapsed().as_millis() as u64,
            "ingested"
        );
        if parsed.conversion_failures > 0 {
            tracing::info!(
                db,
                table,
                source,
                values = parsed.conversion_failures,
                "values did not convert to their column types and became null"
            );
        }
        Ok(IngestReport {
            operation_id: op,
            rows,
            failed_records: parsed.failures.len(),
            conversion_failures: parsed.conversion_failures,
        })
    }

    pub(crate) async fn ingest_inline(
        &self,
        db: &str,
        table: &str,
        props: &Properties,
        data: &[u8],
    ) -> Result<ResultTable> {
        let started = Instant::now();
        let p = IngestProps::from_properties(props, Format::Csv(b','))?;
        let report = self.ingest_bytes(db, table, data, &p, "inline").await?;
        Ok(report.to_result("inline", started))
    }

    /// Ingests sources in order; each source is read and parsed while the one before
    /// it is appended to the table.
    pub(crate) async fn ingest_from(
        &self,
        db: &str,
        table: &str,
        sources: &[String],
        props: &Properties,
    ) -> Result<ResultTable> {
        let mut r = ingest_result();
        let all: Vec<IngestProps> = sources
            .iter()
            .map(|s| IngestProps::from_properties(props, guess_format(s)))
            .collect::<Result<_>>()?;
        let Some(first) = sources.first() else {
            return Ok(r);
        };
        let mut current = Some((
            Instant::now(),
            self.read_and_parse(db, table, first, &all[0]).await,
        ));
        for (i, source) in sources.iter().enumerate() {
            let (started, prepared) = current.take().expect("prepared in the previous round");
            let name = source_name(source);
            let commit = self.commit_source(db, table, name, started, prepared);
            let report = match sources.get(i + 1) {
                Some(next) => {
                    // The next source's parse starts first: the append blocks this
                    // task while it writes the WAL.
                    let next_started = Instant::now();
                    let parsing = self.start_parse(db, table, next, &all[i + 1]).await;
                    let report = commit.await;
                    current = Some((next_started, parsing.finish().await));
                    report
                }
                None => commit.await,
            };
            report?.push_row(&mut r, name, started);
        }
        Ok(r)
    }

    /// Reads a local path, `file://` or http(s) URL (a blob URL with its SAS token, say)
    /// and ingests it. A source that cannot be read is a failed operation too.
    pub async fn ingest_source(
        &self,
        db: &str,
        table: &str,
        source: &str,
        props: &IngestProps,
    ) -> Result<IngestReport> {
        let started = Instant::now();
        let prepared = self.read_and_parse(db, table, source, props).await;
        self.commit_source(db, table, source_name(source), started, prepared)
            .await
    }

    pub(crate) async fn set_or_append(
        &self,
        db: &str,
        mode: AppendMode,
        table: &str,
        _props: &Properties,
        query_text: &str,
    ) -> Result<ResultTable> {
        let started = Instant::now();
        let planned = self.plan_text(db, query_text).await?;
        let plan = planned.last_plan();
        let df = self.ctx.execute_logical_plan(plan).await?;
        let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        let data = concat_batches(&schema, &batches)
            .map_err(|e| ExplorerError::Execution(e.to_string()))?;

        let exists = self.table_if_exists(db, table).is_some();
        match (mode, exists) {
            (AppendMode::Set, true) => {
                return Err(ExplorerError::AlreadyExists(format!(
                    ".set: table '{table}' already exists; use .append or .set-or-append"
                )))
            }
            (AppendMode::Append, false) => {
                return Err(ExplorerError::NotFound(format!(
                    ".append: table '{table}' does not exist; use .set or .set-or-append"
                )))
            }
            (_, false) => {
                let _ddl = self.ddl.lock().await;
                let columns = eddy_kql::types::column_defs(&schema);
                self.create_table(db, table, columns).await?;
            }
            _ => {}
        }
        let t = self.table(db, table)?;
        let columns = t.columns();
        let batch = by_position(&data, &columns)?;
        let rows = batch.num_rows();
        let size = batch.get_array_memory_size();
        if mode == AppendMode::SetOrReplace && exists {
            t.replace(batch).await?;
        } else {
            t.append(batch, size as u64).await?;
        }
        self.record_operation(
            Uuid::new_v4(),
            "TableSetOrAppend",
            db,
            table,
            started,
            Ok(format!("{rows} rows")),
        );
        let mut r = ResultTable::new(
            "Table_0",
            &[
                ("ExtentId", KustoType::Guid),
                ("OriginalSize", KustoType::Long),
                ("ExtentSize", KustoType::Long),
                ("ColumnSize", KustoType::Long),
                ("IndexSize", KustoType::Long),
                ("RowCount", KustoType::Long),
            ],
        );
        r.push(vec![
            json!(Uuid::new_v4().to_string()),
            json!(size),
            json!(size),
            json!(size),
            json!(0),
            json!(rows),
        ]);
        Ok(r)
    }
}

/// Query output to a table's columns, matched by position as Kusto does.
fn by_position(data: &RecordBatch, columns: &[ColumnDef]) -> Result<RecordBatch> {
    if data.num_columns() != columns.len() {
        return Err(ExplorerError::InvalidArgument(format!(
            "the query returns {} columns but the table has {} ({})",
            data.num_columns(),
            columns.len(),
            super::csl_schema(columns)
        )));
    }
    let schema = eddy_kql::types::arrow_schema(columns);
    let mut arrays = vec![];
    for (a, f) in data.columns().iter().zip(schema.fields()) {
        let cast = datafusion::arrow::compute::cast(a, f.data_type()).map_err(|e| {
            ExplorerError::InvalidArgument(format!(
                "column '{}' cannot take {}: {e}",
                f.name(),
                a.data_type()
            ))
        })?;
        arrays.push(cast);
    }
    RecordBatch::try_new(schema, arrays).map_err(|e| ExplorerError::Execution(e.to_string()))
}

/// A source as logs and failures show it: without a URL's query (SAS tokens).
pub fn source_name(source: &str) -> &str {
    match source.find(['?', ';']) {
        Some(i) if source.starts_with("http") => &source[..i],
        _ => source,
    }
}

/// The format a source's name suggests (`.csv`, `.json.gz`, ...), CSV when none does.
pub fn guess_format(source: &str) -> Format {
    let lower = source_name(source).to_ascii_lowercase();
    let name = lower.trim_end_matches(".gz");
    let ext = name.rsplit('.').next().unwrap_or("");
    Format::parse(ext).unwrap_or(Format::Csv(b','))
}

/// A source ready to parse: a local file (read as it is parsed) or fetched bytes.
enum Input {
    File(std::fs::File),
    Bytes(Vec<u8>),
}

/// Opens a local path or `file://` URL; fetches an http(s) URL.
async fn open_source(source: &str) -> Result<Input> {
    let source = source.split(';').next().unwrap_or(source);
    if source.starts_with("http://") || source.starts_with("https://") {
        return Ok(Input::Bytes(read_source(source).await?));
    }
    let path = source.strip_prefix("file://").unwrap_or(source);
    let unreadable =
        |e: std::io::Error| ExplorerError::InvalidArgument(format!("cannot read {path}: {e}"));
    let file = tokio::fs::File::open(path).await.map_err(unreadable)?;
    if file.metadata().await.map_err(unreadable)?.is_dir() {
        return Err(ExplorerError::InvalidArgument(format!(
            "cannot read {path}: it is a directory"
        )));
    }
    Ok(Input::File(file.into_std().await))
}

/// Reads a local path, a `file://` URL or an http(s) URL.
pub(crate) async fn read_source(source: &str) -> Result<Vec<u8>> {
    // Kusto blob URLs may end in `;impersonate` or `;managed_identity=...`.
    let source = source.split(';').next().unwrap_or(source);
    let shown = source_name(source);
    if source.starts_with("http://") || source.starts_with("https://") {
        let resp = reqwest::get(source).await.map_err(|e| {
            ExplorerError::InvalidArgument(format!("cannot fetch {shown}: {}", e.without_url()))
        })?;
        if !resp.status().is_success() {
            return Err(ExplorerError::InvalidArgument(format!(
                "cannot fetch {shown}: HTTP {}",
                resp.status()
            )));
        }
        let bytes = resp.bytes().await.map_err(|e| {
            ExplorerError::InvalidArgument(format!("cannot read {shown}: {}", e.without_url()))
        })?;
        return Ok(bytes.to_vec());
    }
    let path = source.strip_prefix("file://").unwrap_or(source);
    tokio::fs::read(path)
        .await
        .map_err(|e| ExplorerError::InvalidArgument(format!("cannot read {path}: {e}")))
}

/// A source being parsed on a blocking thread, or the reason it is not.
enum Parsing {
    Done(std::result::Result<Result<Prepared>, ExplorerError>),
    Running(tokio::task::JoinHandle<Result<Prepared>>),
}

impl Parsing {
    async fn finish(self) -> std::result::Result<Result<Prepared>, ExplorerError> {
        match self {
            Parsing::Done(r) => r,
            Parsing::Running(h) => Ok(h
                .await
                .unwrap_or_else(|e| Err(ExplorerError::Execution(format!("parse task: {e}"))))),
        }
    }
}
