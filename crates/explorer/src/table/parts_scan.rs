//! The scan of a table's cached parts: a DataFusion data source that skips parts by
//! their min/max while it runs.
//!
//! Filters known when the plan is made prune parts up front (see `CachedTable::scan`).
//! The filters operators publish while the query runs — the `TopK` threshold of
//! `top N by x`, a join's build-side bounds, an aggregate's running extreme — are
//! pushed down here as dynamic filters: before it emits a part, the scan checks the
//! filter's current value against the part's statistics and skips the part if no row
//! could pass. A sort pushed down here orders the parts by the sort column's bound,
//! so `top N` meets its best candidates first and the threshold rises quickly.
//!
//! Skipping is only an optimisation: the operators above still apply every filter to
//! the rows, so a part that is kept is never wrong.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, UInt64Array};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::config::ConfigOptions;
use datafusion::common::pruning::PruningStatistics;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Column, ScalarValue, Statistics};
use datafusion::datasource::source::DataSource;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::expressions::Column as ColumnExpr;
use datafusion::physical_expr::utils::conjunction;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr, PhysicalSortExpr};
use datafusion::physical_expr_common::physical_expr::{
    snapshot_generation, snapshot_physical_expr,
};
use datafusion::physical_optimizer::pruning::{PruningPredicate, PruningPredicateBuilder};
use datafusion::physical_plan::coop::cooperative;
use datafusion::physical_plan::filter_pushdown::{FilterPushdownPropagation, PushedDown};
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder};
use datafusion::physical_plan::projection::ProjectionExprs;
use datafusion::physical_plan::sort_pushdown::SortOrderPushdownResult;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayFormatType, Partitioning};

use super::cache::Part;

/// Cached parts spread over partitions, read with an optional projection.
#[derive(Clone)]
pub struct PartsSource {
    /// The table's schema (before projection); part statistics follow it.
    schema: SchemaRef,
    projection: Option<Vec<usize>>,
    projected: SchemaRef,
    partitions: Vec<Vec<Arc<Part>>>,
    /// Filters pushed down from above, in terms of the projected schema.
    predicate: Option<Arc<dyn PhysicalExpr>>,
    fetch: Option<usize>,
    /// `parts_scanned` and `parts_skipped` per partition (shown by EXPLAIN ANALYZE).
    metrics: ExecutionPlanMetricsSet,
}

impl fmt::Debug for PartsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartsSource")
            .field("partitions", &self.partitions.len())
            .field("parts", &self.parts().count())
            .finish()
    }
}

impl PartsSource {
    /// Deals `parts` round-robin over `partitions` partitions (at least one).
    pub fn new(
        schema: SchemaRef,
        parts: Vec<Arc<Part>>,
        partitions: usize,
        projection: Option<Vec<usize>>,
    ) -> datafusion::common::Result<PartsSource> {
        let projected = match &projection {
            Some(p) => Arc::new(schema.project(p)?),
            None => schema.clone(),
        };
        Ok(PartsSource {
            partitions: deal(parts, partitions),
            schema,
            projection,
            projected,
            predicate: None,
            fetch: None,
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }

    fn parts(&self) -> impl Iterator<Item = &Arc<Part>> {
        self.partitions.iter().flatten()
    }

    fn project(&self, batch: &RecordBatch) -> datafusion::common::Result<RecordBatch> {
        Ok(match &self.projection {
            Some(p) => batch.project(p)?,
            None => batch.clone(),
        })
    }
}

/// `parts` dealt round-robin into `n` partitions, keeping their order in each; never
/// fewer than one partition.
fn deal(parts: Vec<Arc<Part>>, n: usize) -> Vec<Vec<Arc<Part>>> {
    let n = n.clamp(1, parts.len().max(1));
    let mut out: Vec<Vec<Arc<Part>>> = vec![vec![]; n];
    for (i, p) in parts.into_iter().enumerate() {
        out[i % n].push(p);
    }
    out
}

impl DataSource for PartsSource {
    fn open(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> datafusion::common::Result<SendableRecordBatchStream> {
        let parts = self.partitions.get(partition).cloned().unwrap_or_default();
        let mut pruner = self.predicate.clone().map(|p| {
            Pruner::new(
                p,
                self.schema.clone(),
                self.projected.clone(),
                parts.clone(),
            )
        });
        let this = self.clone();
        let scanned = MetricBuilder::new(&self.metrics).counter("parts_scanned", partition);
        let skipped = MetricBuilder::new(&self.metrics).counter("parts_skipped", partition);
        let mut left = self.fetch.unwrap_or(usize::MAX);
        let batches = parts.into_iter().enumerate().filter_map(move |(i, part)| {
            if left == 0 {
                return None;
            }
            if pruner.as_mut().is_some_and(|p| p.skips(i)) {
                skipped.add(1);
                return None;
            }
            scanned.add(1);
            let batch = match this.project(&part.batch) {
                Ok(b) => b,
                Err(e) => return Some(Err(e)),
            };
            let batch = if batch.num_rows() > left {
                batch.slice(0, left)
            } else {
                batch
            };
            left -= batch.num_rows();
            Some(Ok(batch))
        });
        Ok(Box::pin(cooperative(RecordBatchStreamAdapter::new(
            self.projected.clone(),
            futures::stream::iter(batches),
        ))))
    }

    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "cached parts: partitions={}, parts={}",
            self.partitions.len(),
            self.parts().count()
        )?;
        if let Some(p) = &self.predicate {
            write!(f, ", pruning={p}")?;
        }
        if let Some(n) = self.fetch {
            write!(f, ", fetch={n}")?;
        }
        Ok(())
    }

    fn output_partitioning(&self) -> Partitioning {
        Partitioning::UnknownPartitioning(self.partitions.len())
    }

    fn eq_properties(&self) -> EquivalenceProperties {
        EquivalenceProperties::new(self.projected.clone())
    }

    fn partition_statistics(
        &self,
        partition: Option<usize>,
    ) -> datafusion::common::Result<Arc<Statistics>> {
        let rows: usize = match partition {
            Some(i) => self
                .partitions
                .get(i)
                .map(|ps| ps.iter().map(|p| p.batch.num_rows()).sum())
                .unwrap_or(0),
            None => self.parts().map(|p| p.batch.num_rows()).sum(),
        };
        // Pushed filters skip parts, so the count is exact only without them.
        let rows = match (self.fetch, &self.predicate) {
            (None, None) => Precision::Exact(rows),
            (Some(n), None) => Precision::Exact(rows.min(n)),
            _ => Precision::Inexact(rows),
        };
        Ok(Arc::new(
            Statistics::new_unknown(&self.projected).with_num_rows(rows),
        ))
    }

    fn with_fetch(&self, limit: Option<usize>) -> Option<Arc<dyn DataSource>> {
        let mut s = self.clone();
        s.fetch = limit;
        Some(Arc::new(s))
    }

    fn fetch(&self) -> Option<usize> {
        self.fetch
    }

    fn metrics(&self) -> ExecutionPlanMetricsSet {
        self.metrics.clone()
    }

    fn try_swapping_with_projection(
        &self,
        _projection: &ProjectionExprs,
    ) -> datafusion::common::Result<Option<Arc<dyn DataSource>>> {
        Ok(None)
    }

    /// Keeps the dynamic filters to skip parts with, but applies none to the rows: the
    /// operators above keep filtering. (Filters fixed at planning time already
    /// pruned the parts in `CachedTable::scan`.)
    fn try_pushdown_filters(
        &self,
        filters: Vec<Arc<dyn PhysicalExpr>>,
        _config: &ConfigOptions,
    ) -> datafusion::common::Result<FilterPushdownPropagation<Arc<dyn DataSource>>> {
        let answer = vec![PushedDown::No; filters.len()];
        // A dynamic expression reports a non-zero generation.
        let dynamic: Vec<_> = filters
            .into_iter()
            .filter(|f| snapshot_generation(f) != 0)
            .collect();
        if dynamic.is_empty() {
            return Ok(FilterPushdownPropagation::with_parent_pushdown_result(
                answer,
            ));
        }
        let mut s = self.clone();
        s.predicate = Some(conjunction(self.predicate.iter().cloned().chain(dynamic)));
        Ok(
            FilterPushdownPropagation::with_parent_pushdown_result(answer)
                .with_updated_node(Arc::new(s) as Arc<dyn DataSource>),
        )
    }

    /// Orders the parts by the first sort column's bound in the sort's direction (the
    /// largest maximum first for a descending sort), dealt round-robin so each
    /// partition starts with its best parts. The rows still need sorting.
    fn try_pushdown_sort(
        &self,
        order: &[PhysicalSortExpr],
    ) -> datafusion::common::Result<SortOrderPushdownResult<Arc<dyn DataSource>>> {
        let Some(first) = order.first() else {
            return Ok(SortOrderPushdownResult::Unsupported);
        };
        let Some(col) = (first.expr.as_ref() as &dyn std::any::Any).downcast_ref::<ColumnExpr>()
        else {
            return Ok(SortOrderPushdownResult::Unsupported);
        };
        let Ok(index) = self.schema.index_of(col.name()) else {
            return Ok(SortOrderPushdownResult::Unsupported);
        };
        let descending = first.options.descending;
        let mut parts: Vec<Arc<Part>> = self.parts().cloned().collect();
        if parts.iter().any(|p| p.bounds(index).is_none()) {
            return Ok(SortOrderPushdownResult::Unsupported);
        }
        parts.sort_by(|a, b| {
            let (a, b) = (
                a.bounds(index).expect("checked"),
                b.bounds(index).expect("checked"),
            );
            let ord = if descending {
                b.1.partial_cmp(&a.1)
            } else {
                a.0.partial_cmp(&b.0)
            };
            ord.unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut s = self.clone();
        s.partitions = deal(parts, self.partitions.len());
        Ok(SortOrderPushdownResult::Inexact {
            inner: Arc::new(s) as Arc<dyn DataSource>,
        })
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> datafusion::common::Result<TreeNodeRecursion>,
    ) -> datafusion::common::Result<TreeNodeRecursion> {
        match &self.predicate {
            Some(p) => f(p),
            None => Ok(TreeNodeRecursion::Continue),
        }
    }
}

/// Judges a partition's parts against a predicate that may change while the query
/// runs. The verdicts for all parts come from one evaluation of the pruning predicate
/// over their statistics, redone only when a dynamic filter in it has moved.
struct Pruner {
    predicate: Arc<dyn PhysicalExpr>,
    schema: SchemaRef,
    projected: SchemaRef,
    parts: Vec<Arc<Part>>,
    generation: Option<u64>,
    /// Per part: whether a row of it may pass (all true when nothing can be proven).
    keep: Vec<bool>,
}

impl Pruner {
    fn new(
        predicate: Arc<dyn PhysicalExpr>,
        schema: SchemaRef,
        projected: SchemaRef,
        parts: Vec<Arc<Part>>,
    ) -> Pruner {
        Pruner {
            predicate,
            schema,
            projected,
            keep: vec![true; parts.len()],
            parts,
            generation: None,
        }
    }

    /// Whether no row of part `i` can satisfy the predicate as it stands now.
    fn skips(&mut self, i: usize) -> bool {
        let generation = snapshot_generation(&self.predicate);
        if self.generation != Some(generation) {
            self.generation = Some(generation);
            self.keep = self.judge().unwrap_or_else(|| vec![true; self.parts.len()]);
        }
        !self.keep.get(i).copied().unwrap_or(true)
    }

    fn judge(&self) -> Option<Vec<bool>> {
        let now = snapshot_physical_expr(self.predicate.clone()).ok()?;
        let pruning: Arc<PruningPredicate> = PruningPredicateBuilder::new()
            .with_file_schema(self.projected.clone())
            .build(now)?;
        let stats = Stats {
            schema: &self.schema,
            parts: &self.parts,
        };
        pruning.prune(&stats).ok()
    }
}

/// The min/max/null statistics of parts, by column name of the table's schema.
pub struct Stats<'a> {
    pub schema: &'a SchemaRef,
    pub parts: &'a [Arc<Part>],
}

impl Stats<'_> {
    fn bound(&self, column: &Column, max: bool) -> Option<ArrayRef> {
        let i = self.schema.index_of(&column.name).ok()?;
        let values: Vec<ScalarValue> = self
            .parts
            .iter()
            .map(|p| {
                p.bounds(i)
                    .map(|(lo, hi)| if max { hi.clone() } else { lo.clone() })
            })
            .collect::<Option<_>>()?;
        ScalarValue::iter_to_array(values).ok()
    }
}

impl PruningStatistics for Stats<'_> {
    fn min_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bound(column, false)
    }

    fn max_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bound(column, true)
    }

    fn num_containers(&self) -> usize {
        self.parts.len()
    }

    fn null_counts(&self, column: &Column) -> Option<ArrayRef> {
        let i = self.schema.index_of(&column.name).ok()?;
        Some(Arc::new(UInt64Array::from_iter_values(
            self.parts.iter().map(|p| p.null_count(i)),
        )))
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        Some(Arc::new(UInt64Array::from_iter_values(
            self.parts.iter().map(|p| p.batch.num_rows() as u64),
        )))
    }

    fn contained(&self, _: &Column, _: &HashSet<ScalarValue>) -> Option<BooleanArray> {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Float64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::physical_plan::{collect, ExecutionPlan};
    use datafusion::prelude::{SessionConfig, SessionContext};

    use crate::table::cache::{CachedTable, Part};

    /// 40 parts of 1,000 rows; part `i` holds x in [10 i, 10 i + 10). The parts come
    /// in ascending order: the worst order for a descending top N read as stored.
    fn table() -> CachedTable {
        let schema = Arc::new(Schema::new(vec![
            Field::new("x", DataType::Float64, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        let parts = (0..40)
            .map(|i| {
                let xs = (0..1000).map(|r| (i * 10) as f64 + ((r * 7) % 1000) as f64 / 100.0);
                let batch = RecordBatch::try_new(
                    schema.clone(),
                    vec![
                        Arc::new(Float64Array::from_iter_values(xs)),
                        Arc::new(StringArray::from_iter_values(
                            (0..1000).map(|r| format!("part {i} row {r}")),
                        )),
                    ],
                )
                .unwrap();
                Arc::new(Part::new(batch))
            })
            .collect();
        CachedTable::new(schema, parts)
    }

    async fn run(sql: &str) -> (Vec<f64>, usize, usize) {
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(2));
        ctx.register_table("t", Arc::new(table())).unwrap();
        let plan = ctx
            .sql(sql)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let batches = collect(plan.clone(), ctx.task_ctx()).await.unwrap();
        let xs = batches
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<Float64Array>().unwrap();
                a.values().to_vec()
            })
            .collect();
        let (mut scanned, mut skipped) = (0, 0);
        let mut stack: Vec<Arc<dyn ExecutionPlan>> = vec![plan];
        while let Some(p) = stack.pop() {
            if let Some(m) = p.metrics() {
                scanned += m.sum_by_name("parts_scanned").map_or(0, |v| v.as_usize());
                skipped += m.sum_by_name("parts_skipped").map_or(0, |v| v.as_usize());
            }
            stack.extend(p.children().into_iter().cloned());
        }
        (xs, scanned, skipped)
    }

    #[tokio::test]
    async fn top_n_reads_the_best_parts_and_skips_the_rest() {
        let (xs, scanned, skipped) = run("SELECT x, s FROM t ORDER BY x DESC LIMIT 3").await;
        assert_eq!(xs, vec![399.99, 399.98, 399.97]);
        assert_eq!(scanned + skipped, 40);
        assert!(skipped >= 35, "scanned {scanned}, skipped {skipped}");

        let (xs, _, skipped) = run("SELECT x FROM t ORDER BY x ASC LIMIT 2").await;
        assert_eq!(xs, vec![0.0, 0.01]);
        assert!(skipped >= 35, "skipped {skipped}");
    }

    #[tokio::test]
    async fn a_top_n_that_needs_most_parts_is_complete_and_ordered() {
        let (xs, scanned, skipped) = run("SELECT x FROM t ORDER BY x DESC LIMIT 25000").await;
        assert_eq!(xs.len(), 25_000);
        assert!(xs.windows(2).all(|w| w[0] >= w[1]));
        assert_eq!((xs[0], xs[24_999]), (399.99, 150.0));
        assert_eq!(scanned + skipped, 40);
        assert!(scanned >= 25, "scanned {scanned}");
    }
}
