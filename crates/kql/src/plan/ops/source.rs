//! Tabular sources that are not tables: `datatable(...) [...]` and `print`.

use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{cast, Expr as DfExpr, LogicalPlan, LogicalPlanBuilder};

use crate::ast::{Expr, ExprKind, Ident, NamedExpr};
use crate::error::{KqlError, Result};
use crate::lexer::Span;
use crate::plan::{df, Planner};
use crate::types::KustoType;

impl Planner<'_> {
    pub(crate) fn datatable(
        &mut self,
        columns: &[(Ident, KustoType)],
        values: &[Expr],
        span: Span,
    ) -> Result<LogicalPlan> {
        let width = columns.len();
        if !values.len().is_multiple_of(width) {
            return Err(KqlError::semantic(
                format!(
                    "datatable has {} columns but {} values, which is not a whole number of rows",
                    width,
                    values.len()
                ),
                span,
            ));
        }
        let empty = datafusion::common::DFSchema::empty();
        let mut rows = vec![];
        for chunk in values.chunks(width) {
            let mut row = vec![];
            for ((_, ty), v) in columns.iter().zip(chunk) {
                let x = self.expr(v, &empty)?;
                row.push(typed(x, *ty, v)?);
            }
            rows.push(row);
        }
        if rows.is_empty() {
            // A datatable with no rows still has its schema.
            let schema = crate::types::arrow_schema(
                &columns
                    .iter()
                    .map(|(n, t)| crate::types::ColumnDef {
                        name: n.name.clone(),
                        ty: *t,
                    })
                    .collect::<Vec<_>>(),
            );
            let df_schema = df(
                datafusion::common::DFSchema::try_from(schema.as_ref().clone()),
                span,
            )?;
            return Ok(LogicalPlan::EmptyRelation(
                datafusion::logical_expr::EmptyRelation {
                    produce_one_row: false,
                    schema: std::sync::Arc::new(df_schema),
                },
            ));
        }
        let values = df(
            LogicalPlanBuilder::values(rows).and_then(|b| b.build()),
            span,
        )?;
        let exprs: Vec<DfExpr> = values
            .schema()
            .columns()
            .into_iter()
            .zip(columns)
            .map(|(c, (name, _))| DfExpr::Column(c).alias(name.name.clone()))
            .collect();
        df(
            LogicalPlanBuilder::from(values)
                .project(exprs)
                .and_then(|b| b.build()),
            span,
        )
    }

    pub(crate) fn print(&mut self, columns: &[NamedExpr]) -> Result<LogicalPlan> {
        let empty = datafusion::common::DFSchema::empty();
        let mut exprs = vec![];
        for (i, c) in columns.iter().enumerate() {
            let x = self.expr(&c.expr, &empty)?;
            let name = match &c.name {
                Some(n) => n.name.clone(),
                None => format!("print_{i}"),
            };
            exprs.push(x.alias(name));
        }
        let span = columns.first().map(|c| c.expr.span).unwrap_or_default();
        df(
            LogicalPlanBuilder::empty(true)
                .project(exprs)
                .and_then(|b| b.build()),
            span,
        )
    }
}

/// A datatable cell converted to its column's type (`long` literals in a `real` column,
/// `dynamic` values as JSON text).
fn typed(x: DfExpr, ty: KustoType, v: &Expr) -> Result<DfExpr> {
    if let ExprKind::Literal(l) = &v.kind {
        if l.kind_matches(ty) {
            return Ok(x);
        }
    }
    let target: DataType = ty.arrow_type();
    Ok(cast(x, target))
}
