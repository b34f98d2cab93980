//! `where predicate`

use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::LogicalPlan;

use crate::ast::Expr;
use crate::error::{KqlError, Result};
use crate::lexer::Span;
use crate::plan::expr::type_of;
use crate::plan::{builder, df, Planner};

impl Planner<'_> {
    pub(crate) fn filter(
        &mut self,
        plan: LogicalPlan,
        pred: &Expr,
        span: Span,
    ) -> Result<LogicalPlan> {
        let predicate = self.expr(pred, plan.schema())?;
        let t = type_of(&predicate, plan.schema(), pred)?;
        if !matches!(t, DataType::Boolean | DataType::Null) {
            return Err(KqlError::semantic(
                format!(
                    "the 'where' predicate must be a bool, but it is {}",
                    crate::types::KustoType::of_arrow(&t)
                ),
                pred.span,
            ));
        }
        df(
            builder(plan).filter(predicate).and_then(|b| b.build()),
            span,
        )
    }
}
