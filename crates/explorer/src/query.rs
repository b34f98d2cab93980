//! Running KQL: resolve the tables a query names to plans (sealed ∪ hot rows), lower the
//! query with `eddy_kql::plan`, execute on DataFusion, enforce the result limits.

use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use eddy_kql::plan::{referenced_names, PlannedQuery, Planner, QueryOptions, Tables};

use crate::error::{ExplorerError, Result};
use crate::explorer::Explorer;
use crate::result::ResultTable;

impl Explorer {
    /// Parses and plans KQL text, reading the tables it names (sealed and hot rows).
    pub(crate) async fn plan_text(&self, db: &str, text: &str) -> Result<PlannedQuery> {
        let query = eddy_kql::parse_query(text).map_err(|e| ExplorerError::kql(e, text))?;
        let mut tables = Tables::new();
        for name in referenced_names(&query) {
            if let Some(t) = self.table_if_exists(db, &name) {
                tables.insert(name, t.plan().await?);
            }
        }
        Planner::new(&tables)
            .plan_query(&query)
            .map_err(|e| ExplorerError::kql(e, text))
    }

    pub async fn query(&self, db: &str, text: &str) -> Result<Vec<ResultTable>> {
        let planned = self.plan_text(db, text).await?;
        let mut out = vec![];
        for (i, plan) in planned.results.into_iter().enumerate() {
            let name = if i == 0 {
                "PrimaryResult".to_string()
            } else {
                format!("Table_{i}")
            };
            out.push(self.run_plan(&name, plan, &planned.options).await?);
        }
        Ok(out)
    }

    /// Runs a query and returns its physical plan annotated with execution metrics
    /// (rows, time, and the Delta scan's `count_files_scanned`), for diagnosing pruning.
    pub async fn explain_analyze(&self, db: &str, text: &str) -> Result<String> {
        let planned = self.plan_text(db, text).await?;
        let plan = planned
            .results
            .into_iter()
            .next_back()
            .expect("planner returns a result");
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
        for plan in planned.results {
            out.push(self.run_plan("Table_0", plan, &planned.options).await?);
        }
        Ok(out)
    }

    /// Executes one plan into a result table, within the truncation limits.
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
        if !options.no_truncation {
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            if rows > options.max_records {
                return Err(ExplorerError::ResultTooLarge {
                    what: "record count",
                    limit: options.max_records,
                });
            }
            let bytes: usize = batches.iter().map(|b| b.get_array_memory_size()).sum();
            if bytes > options.max_bytes {
                return Err(ExplorerError::ResultTooLarge {
                    what: "data size",
                    limit: options.max_bytes,
                });
            }
        }
        Ok(ResultTable::from_batches(name, &schema, &batches))
    }
}
