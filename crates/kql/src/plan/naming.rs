//! Kusto's generated column names, decided here only.
//!
//! - A bare column keeps its name; so does a `by` key or a `print`/`project` expression
//!   whose first argument chain ends at a column (`bin(Timestamp, 1h)` → `Timestamp`).
//! - Aggregates are `<fn>_<column>` with the first column the argument mentions
//!   (`avg(Temperature)` → `avg_Temperature`, `count()` → `count_`); `make_list` and
//!   `make_set` use `list_` and `set_`.
//! - Other expressions in `extend`/`project`/`by` are `Column1`, `Column2`, ...; `print`
//!   uses `print_0`, `print_1`, ... by position.

use crate::ast::{Expr, ExprKind};

/// The first column an expression mentions, depth first, left to right.
pub fn first_column(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Column(n) => Some(n),
        ExprKind::Call { args, .. } => args.iter().find_map(first_column),
        ExprKind::Binary { left, right, .. } => first_column(left).or_else(|| first_column(right)),
        ExprKind::Not(x) | ExprKind::Neg(x) => first_column(x),
        ExprKind::In { expr, .. } => first_column(expr),
        ExprKind::Index { base, .. } => first_column(base),
        ExprKind::Literal(_) | ExprKind::Star | ExprKind::ToScalar(_) => None,
    }
}

/// The name Kusto gives a column reference or a property path: `a`, `d.x.y` → `d_x_y`.
pub fn expr_name(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Column(n) => Some(n.clone()),
        ExprKind::Index { base, key } => match &key.kind {
            ExprKind::Literal(crate::ast::Literal::String(k)) => {
                Some(format!("{}_{k}", expr_name(base)?))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The name of a `by` key with no explicit name.
pub fn key_name(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Column(_) | ExprKind::Index { .. } => expr_name(e),
        ExprKind::Call { name, args } if is_passthrough(&name.name) => {
            args.first().and_then(key_name)
        }
        _ => None,
    }
}

/// Functions whose result Kusto names after their first argument in a `by` clause.
fn is_passthrough(f: &str) -> bool {
    matches!(
        f,
        "bin"
            | "floor"
            | "bin_at"
            | "tostring"
            | "tolong"
            | "toint"
            | "toreal"
            | "todouble"
            | "todatetime"
            | "startofday"
            | "startofhour"
            | "startofweek"
            | "startofmonth"
            | "startofyear"
    )
}

/// The default name of an aggregate call: `count_`, `avg_Temperature`, `list_Device`.
pub fn aggregate_name(function: &str, args: &[Expr]) -> String {
    let prefix = match function {
        "make_list" => "list",
        "make_set" => "set",
        "countif" => return "countif_".into(),
        "count" if args.is_empty() => return "count_".into(),
        "make_list_if" => "list",
        "make_set_if" => "set",
        "make_bag" | "make_bag_if" => "bag",
        "percentiles_array" => "percentiles",
        other => other,
    };
    match args.first().and_then(first_column) {
        Some(col) => format!("{prefix}_{col}"),
        None => format!("{prefix}_"),
    }
}

/// Hands out `Column1`, `Column2`, ... skipping names already taken.
#[derive(Default)]
pub struct ColumnNamer {
    next: usize,
}

impl ColumnNamer {
    pub fn next_name(&mut self, taken: &dyn Fn(&str) -> bool) -> String {
        loop {
            self.next += 1;
            let name = format!("Column{}", self.next);
            if !taken(&name) {
                return name;
            }
        }
    }
}
