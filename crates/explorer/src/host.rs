//! The engine side of planning ([`eddy_kql::plan::Host`]): runs a plan to its batches
//! for operators whose columns depend on the data, and reads `externaldata` sources
//! with the ingestion parsers. Planning is synchronous, so each call runs on a thread
//! of its own with a small runtime.

use std::future::Future;

use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use eddy_kql::types::{arrow_schema, ColumnDef};

use crate::commands::ingest::{guess_format, read_source};
use crate::ingest::{self, Format};

pub struct EngineHost {
    pub ctx: SessionContext,
}

/// Runs `f` to completion on a scoped thread with its own runtime.
fn block_on<T: Send>(f: impl Future<Output = Result<T, String>> + Send) -> Result<T, String> {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?
                .block_on(f)
        })
        .join()
        .unwrap_or_else(|_| Err("the planning thread panicked".into()))
    })
}

impl eddy_kql::plan::Host for EngineHost {
    fn collect(&self, plan: LogicalPlan) -> Result<Vec<RecordBatch>, String> {
        let ctx = self.ctx.clone();
        block_on(async move {
            let df = ctx
                .execute_logical_plan(plan)
                .await
                .map_err(|e| e.strip_backtrace())?;
            df.collect().await.map_err(|e| e.strip_backtrace())
        })
    }

    fn external(
        &self,
        columns: &[ColumnDef],
        uris: &[String],
        format: Option<&str>,
        ignore_first_record: bool,
    ) -> Result<RecordBatch, String> {
        let mut batches = vec![];
        for uri in uris {
            let format = match format {
                Some(f) => Format::parse(f).ok_or_else(|| format!("unknown format '{f}'"))?,
                None => guess_format(uri),
            };
            let data = block_on(async { read_source(uri).await.map_err(|e| e.to_string()) })?;
            let req = ingest::Request {
                columns,
                format,
                mapping: None,
                ignore_first_record,
                source: uri,
                strict: false,
            };
            let parsed = ingest::parse(&req, &data).map_err(|e| e.to_string())?;
            if let Some(f) = parsed.failures.first() {
                return Err(format!("externaldata: {uri} {}: {}", f.position, f.message));
            }
            batches.extend(parsed.batches);
        }
        concat_batches(&arrow_schema(columns), &batches).map_err(|e| e.to_string())
    }
}
