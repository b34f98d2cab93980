//! Running KQL: resolve the tables a query names to plans (sealed ∪ hot rows), lower the
//! query with `eddy_kql::plan`, execute on DataFusion, enforce the result limits.

use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use eddy_kql::plan::{referenced_names, PlannedQuery, Planner, QueryOptions, Tables};

use crate::error::{ExplorerError, Result};
use crate::explorer::Explorer;
use crate::request::RequestProperties;
use crate::result::ResultTable;

impl Explorer {
    /// Parses and plans KQL text, reading the tables it names (sealed and hot rows).
    pub(crate) async fn plan_text(&self, db: &str, text: &str) -> Result<PlannedQuery> {
        self.plan_request(db, text, &RequestProperties::default())
            .await
    }

    async fn plan_request(
        &self,
        db: &str,
        text: &str,
        props: &RequestProperties,
    ) -> Result<PlannedQuery> {
        let query = eddy_kql::parse_query(text).map_err(|e| ExplorerError::kql(e, text))?;
        let mut tables = Tables::new();
        let mut names = vec![];
        for name in referenced_names(&query) {
            if name.contains('*') {
                // `union Logs*`: every table whose name matches.
                names.extend(
                    self.table_names(db)
                        .into_iter()
                        .filter(|t| eddy_kql::plan::matches_pattern(&name, t)),
                );
            } else {
                names.push(name);
            }
        }
        for name in names {
            if let Some(t) = self.table_if_exists(db, &name) {
                tables.insert(name, t.plan().await?);
            }
        }
        Planner::new(&tables)
            .with_host(std::sync::Arc::new(crate::host::EngineHost {
                ctx: self.ctx.clone(),
            }))
            .with_options(props.query_options())
            .with_parameters(props.parameters.clone())
            .plan_query(&query)
            .map_err(|e| ExplorerError::kql(e, text))
    }

    /// Runs a query with the request's properties. A result cut by the truncation limits
    /// comes back with its first rows and `partial_failure` set, as Kusto sends it.
    pub async fn query(
        &self,
        db: &str,
        text: &str,
        props: &RequestProperties,
    ) -> Result<Vec<ResultTable>> {
        let planned = self.plan_request(db, text, props).await?;
        let mut out = vec![];
        for (i, set) in planned.results.into_iter().enumerate() {
            let name = set.name.unwrap_or_else(|| {
                if i == 0 {
                    "PrimaryResult".to_string()
                } else {
                    format!("Table_{i}")
                }
            });
            let mut table = self.run_plan(&name, set.plan, &planned.options).await?;
            table.visualization = set.visualization;
            out.push(table);
        }
        Ok(out)
    }

    /// Runs a query and returns its physical plan annotated with execution metrics
    /// (rows, time, and the Delta scan's `count_files_scanned`), for diagnosing pruning.
    pub async fn explain_analyze(&self, db: &str, text: &str) -> Result<String> {
        let planned = self.plan_text(db, text).await?;
        let plan = planned.last_plan();
        let physical = self
            .ctx
            .execute_logical_plan(plan)
            .await?
            .create_physical_plan()
            .await?;
        datafusion::physical_plan::collect(physical.clone(), self.ctx.task_ctx()).await?;
        let text = datafusion::physical_plan::display::DisplayableExecutionPlan::with_metrics(
            physical.as_ref(),
        )
        .indent(true)
        .to_string();
        Ok(text)
    }

    /// Runs `| operators` over a command's result (`.show tables | where ...`).
    pub(crate) async fn pipe_result(
        &self,
        result: &ResultTable,
        ops: &str,
    ) -> Result<Vec<ResultTable>> {
        const NAME: &str = "$command_results";
        let columns = result.columns.clone();
        let arrays = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let cells: Vec<Option<serde_json::Value>> =
                    result.rows.iter().map(|r| Some(r[i].clone())).collect();
                crate::ingest::convert::column(c.ty, &cells).array
            })
            .collect();
        let schema = eddy_kql::types::arrow_schema(&columns);
        let batch = datafusion::arrow::record_batch::RecordBatch::try_new(schema.clone(), arrays)
            .map_err(|e| ExplorerError::Execution(e.to_string()))?;
        let mem = datafusion::datasource::MemTable::try_new(schema, vec![vec![batch]])?;
        let plan = LogicalPlanBuilder::scan(
            NAME,
            datafusion::datasource::provider_as_source(std::sync::Arc::new(mem)),
            None,
        )?
        .build()?;
        let text = format!("{NAME} {ops}");
        let query = eddy_kql::parse_query(&text).map_err(|e| ExplorerError::kql(e, &text))?;
        let tables = Tables::from([(NAME.to_string(), plan)]);
        let planned = Planner::new(&tables)
            .plan_query(&query)
            .map_err(|e| ExplorerError::kql(e, &text))?;
        let mut out = vec![];
        for set in planned.results {
            out.push(self.run_plan("Table_0", set.plan, &planned.options).await?);
        }
        Ok(out)
    }

    /// Executes one plan into a result table, within the truncation limits: past them
    /// the table keeps the rows up to the limit and says why in `partial_failure`.
    pub(crate) async fn run_plan(
        &self,
        name: &str,
        plan: LogicalPlan,
        options: &QueryOptions,
    ) -> Result<ResultTable> {
        let plan = if options.no_truncation {
            plan
        } else {
            LogicalPlanBuilder::from(plan)
                .limit(0, Some(options.max_records + 1))?
                .build()?
        };
        let df = self.ctx.execute_logical_plan(plan).await?;
        let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        if options.no_truncation {
            return Ok(ResultTable::from_batches(name, &schema, &batches));
        }
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let bytes: usize = batches.iter().map(|b| b.get_array_memory_size()).sum();
        let failure = if rows > options.max_records {
            Some(ExplorerError::ResultTooLarge {
                what: "record count",
                limit: options.max_records,
            })
        } else if bytes > options.max_bytes {
            Some(ExplorerError::ResultTooLarge {
                what: "data size",
                limit: options.max_bytes,
            })
        } else {
            None
        };
        let Some(failure) = failure else {
            return Ok(ResultTable::from_batches(name, &schema, &batches));
        };
        let keep = keep_rows(&batches, options.max_records, options.max_bytes);
        let mut table = ResultTable::from_batches(name, &schema, &keep);
        table.partial_failure = Some(failure.to_string());
        Ok(table)
    }
}

/// The longest prefix of `batches` within `max_rows` rows and about `max_bytes` bytes.
fn keep_rows(
    batches: &[datafusion::arrow::record_batch::RecordBatch],
    max_rows: usize,
    max_bytes: usize,
) -> Vec<datafusion::arrow::record_batch::RecordBatch> {
    let mut out = vec![];
    let (mut rows, mut bytes) = (0usize, 0usize);
    for b in batches {
        if rows >= max_rows || bytes >= max_bytes {
            break;
        }
        let size = b.get_array_memory_size().max(1);
        let per_row = size / b.num_rows().max(1);
        let fit_bytes = (max_bytes - bytes) / per_row.max(1);
        let take = b.num_rows().min(max_rows - rows).min(fit_bytes.max(1));
        out.push(b.slice(0, take));
        rows += take;
        bytes += per_row * take;
    }
    out
}
