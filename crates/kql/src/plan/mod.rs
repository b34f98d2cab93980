//! Lowers a parsed KQL query to DataFusion logical plans.
//!
//! The caller resolves the tables a query names first (see [`referenced_names`]) and
//! hands their plans in as a [`Tables`] map, so planning itself is synchronous and never
//! touches storage. Each pipe operator lives in its own file under `ops/`; functions live
//! under `functions/`, one file per family.

mod expr;
pub use expr::{decimal_scalar, parse_decimal};
pub mod functions;
pub mod naming;
mod ops;
pub mod params;
pub mod render;
pub mod suggest;
pub use ops::union::matches_pattern;

use std::collections::HashMap;

use chrono::Utc;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::logical_expr::{Expr as DfExpr, LogicalPlan, LogicalPlanBuilder};

use crate::ast::{LetValue, Literal, OperatorKind, Query, Source, Statement, Tabular};
use crate::error::{KqlError, Result};
use crate::lexer::Span;

/// Kusto's default result limits.
pub const DEFAULT_MAX_RECORDS: usize = 500_000;
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

/// Plans of the tables a query reads, by name.
pub type Tables = HashMap<String, LogicalPlan>;

/// Options set by `set` statements.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOptions {
    pub no_truncation: bool,
    pub max_records: usize,
    pub max_bytes: usize,
    /// `set query_bin_auto_size=...; set query_bin_auto_at=...;` for `bin_auto()`.
    pub bin_auto_size: Option<Literal>,
    pub bin_auto_at: Option<Literal>,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            no_truncation: false,
            max_records: DEFAULT_MAX_RECORDS,
            max_bytes: DEFAULT_MAX_BYTES,
            bin_auto_size: None,
            bin_auto_at: None,
        }
    }
}

/// The result sets of a query (one per tabular statement) and its options.
#[derive(Debug)]
pub struct PlannedQuery {
    pub results: Vec<ResultSet>,
    pub options: QueryOptions,
}

impl PlannedQuery {
    /// The plan of the last result (what `.set <| query` and EXPLAIN use).
    pub fn last_plan(self) -> LogicalPlan {
        self.results
            .into_iter()
            .next_back()
            .expect("the planner returns at least one result")
            .plan
    }
}

/// One result of a query: its plan, the name `| as Name` gave it, and how `render`
/// asks clients to draw it (Kusto's Visualization object).
#[derive(Debug)]
pub struct ResultSet {
    pub plan: LogicalPlan,
    pub name: Option<String>,
    pub visualization: Option<serde_json::Value>,
}

#[derive(Clone)]
pub(crate) enum Binding {
    Scalar(DfExpr),
    Tabular(LogicalPlan),
    Function(crate::ast::Function),
}

pub struct Planner<'a> {
    tables: &'a Tables,
    bindings: HashMap<String, Binding>,
    /// `now()` is fixed for the whole query, as in Kusto.
    now_micros: i64,
    options: QueryOptions,
    /// Values of query parameters sent with the request, as text.
    parameters: HashMap<String, String>,
    /// Runs plans and reads external data for operators that need it while planning.
    host: Option<std::sync::Arc<dyn Host>>,
}

/// What planning may ask of the engine it plans for: operators whose output columns
/// depend on the data (`evaluate bag_unpack`, `pivot`) run their input first, and
/// `externaldata` reads its sources.
pub trait Host: Send + Sync {
    fn collect(
        &self,
        plan: LogicalPlan,
    ) -> std::result::Result<Vec<datafusion::arrow::record_batch::RecordBatch>, String>;

    /// Reads `uris` in `format` (csv, json, parquet, ...) as rows of `columns`.
    fn external(
        &self,
        columns: &[crate::types::ColumnDef],
        uris: &[String],
        format: Option<&str>,
        ignore_first_record: bool,
    ) -> std::result::Result<datafusion::arrow::record_batch::RecordBatch, String>;
}

/// Names a query may read as tables: every named source and union leg, minus nothing;
/// the caller looks each up and skips the ones that are not tables.
pub fn referenced_names(query: &Query) -> Vec<String> {
    let mut out = vec![];
    statements(&query.statements, &mut out);
    out.sort();
    out.dedup();
    out
}

fn statements(list: &[Statement], out: &mut Vec<String>) {
    for s in list {
        match s {
            Statement::Tabular(t) => tabular_names(t, out),
            Statement::Let { value, .. } => let_names(value, out),
            Statement::Set { .. } | Statement::Declare(_) => {}
        }
    }
}

fn let_names(value: &LetValue, out: &mut Vec<String>) {
    match value {
        LetValue::Tabular(t) => tabular_names(t, out),
        LetValue::Scalar(e) => expr_names(e, out),
        LetValue::Function(f) => {
            statements(&f.body, out);
            let_names(&f.value, out);
        }
    }
}

fn expr_names(e: &crate::ast::Expr, out: &mut Vec<String>) {
    use crate::ast::ExprKind;
    match &e.kind {
        ExprKind::Column(n) => out.push(n.clone()),
        ExprKind::ToScalar(t) => tabular_names(t, out),
        ExprKind::Call { args, .. } => args.iter().for_each(|a| expr_names(a, out)),
        ExprKind::Binary { left, right, .. } => {
            expr_names(left, out);
            expr_names(right, out);
        }
        ExprKind::Not(x) | ExprKind::Neg(x) => expr_names(x, out),
        _ => {}
    }
}

fn tabular_names(t: &Tabular, out: &mut Vec<String>) {
    match &t.source {
        Source::Named(id) => out.push(id.name.clone()),
        Source::Union { union, .. } => union.tables.iter().for_each(|t| tabular_names(t, out)),
        Source::Paren(inner) => tabular_names(inner, out),
        Source::Call { args, .. } => args.iter().for_each(|a| expr_names(a, out)),
        Source::Search { tables, .. } if tables.is_empty() => out.push("*".into()),
        Source::Search { tables, .. } => tables.iter().for_each(|t| out.push(t.name.clone())),
        Source::Datatable { .. }
        | Source::Print { .. }
        | Source::Range { .. }
        | Source::External { .. } => {}
    }
    for op in &t.ops {
        match &op.kind {
            OperatorKind::Union(u) => u.tables.iter().for_each(|t| tabular_names(t, out)),
            OperatorKind::Join { right, .. } => tabular_names(right, out),
            OperatorKind::Where(e) => expr_names(e, out),
            OperatorKind::Extend(cols) | OperatorKind::Project(cols) => {
                cols.iter().for_each(|c| expr_names(&c.expr, out))
            }
            OperatorKind::Invoke { args, .. } => args.iter().for_each(|a| expr_names(a, out)),
            OperatorKind::Fork(prongs) => prongs.iter().for_each(|(_, p)| tabular_names(p, out)),
            OperatorKind::Facet { with: Some(w), .. } => tabular_names(w, out),
            OperatorKind::MvApply { sub, .. } => tabular_names(sub, out),
            _ => {}
        }
    }
}

impl<'a> Planner<'a> {
    pub fn new(tables: &'a Tables) -> Self {
        Planner {
            tables,
            bindings: HashMap::new(),
            now_micros: Utc::now().timestamp_micros(),
            options: QueryOptions::default(),
            parameters: HashMap::new(),
            host: None,
        }
    }

    pub fn with_host(mut self, host: std::sync::Arc<dyn Host>) -> Self {
        self.host = Some(host);
        self
    }

    pub(crate) fn options(&self) -> &QueryOptions {
        &self.options
    }

    pub(crate) fn host(&self, span: Span) -> Result<&dyn Host> {
        self.host.as_deref().ok_or_else(|| {
            KqlError::semantic("this operator needs the engine while planning", span)
        })
    }

    /// Starts from the request's options (client request properties); `set` statements
    /// in the query override them.
    pub fn with_options(mut self, options: QueryOptions) -> Self {
        self.options = options;
        self
    }

    /// Values for `declare query_parameters`, as the request sent them.
    pub fn with_parameters(mut self, parameters: HashMap<String, String>) -> Self {
        self.parameters = parameters;
        self
    }

    pub fn plan_query(mut self, query: &Query) -> Result<PlannedQuery> {
        let mut results = vec![];
        for statement in &query.statements {
            match statement {
                Statement::Let { name, value } => {
                    let binding = match value {
                        LetValue::Function(f) => Binding::Function(f.clone()),
                        LetValue::Tabular(t) => Binding::Tabular(self.tabular(t)?),
                        LetValue::Scalar(e) => match &e.kind {
                            crate::ast::ExprKind::Column(n) if self.lookup_table(n).is_some() => {
                                Binding::Tabular(self.lookup_table(n).expect("checked"))
                            }
                            _ => Binding::Scalar(self.expr(e, &DFSchema::empty())?),
                        },
                    };
                    self.bindings.insert(name.name.clone(), binding);
                }
                Statement::Set { name, value } => {
                    self.set_option(&name.name, value.as_ref(), name.span)?
                }
                Statement::Declare(params) => {
                    for p in params {
                        let value = match params::bind(p, &self.parameters)? {
                            Some(l) => expr::literal(&l),
                            None => {
                                let default = p.default.as_ref().expect("bind checked");
                                self.expr(default, &DFSchema::empty())?
                            }
                        };
                        self.bindings
                            .insert(p.name.name.clone(), Binding::Scalar(value));
                    }
                }
                Statement::Tabular(t) => results.extend(self.result_sets(t)?),
            }
        }
        if results.is_empty() {
            return Err(KqlError::Semantic {
                message: "the query has no tabular expression to return".into(),
                span: None,
            });
        }
        Ok(PlannedQuery {
            results,
            options: self.options,
        })
    }

    fn set_option(&mut self, name: &str, value: Option<&Literal>, span: Span) -> Result<()> {
        let flag = !matches!(value, Some(Literal::Bool(false)));
        match name.to_ascii_lowercase().as_str() {
            "notruncation" => self.options.no_truncation = flag,
            "truncationmaxrecords" => match value {
                Some(Literal::Long(n)) if *n > 0 => self.options.max_records = *n as usize,
                _ => {
                    return Err(KqlError::semantic(
                        "truncationmaxrecords needs a positive number",
                        span,
                    ))
                }
            },
            "truncationmaxsize" => match value {
                Some(Literal::Long(n)) if *n > 0 => self.options.max_bytes = *n as usize,
                _ => {
                    return Err(KqlError::semantic(
                        "truncationmaxsize needs a positive number",
                        span,
                    ))
                }
            },
            "query_bin_auto_size" => self.options.bin_auto_size = value.cloned(),
            "query_bin_auto_at" => self.options.bin_auto_at = value.cloned(),
            // Other client request properties are accepted and have no effect here.
            _ => {}
        }
        Ok(())
    }

    fn lookup_table(&self, name: &str) -> Option<LogicalPlan> {
        match self.bindings.get(name) {
            Some(Binding::Tabular(p)) => Some(p.clone()),
            Some(Binding::Scalar(_)) => None,
            Some(Binding::Function(f)) if f.params.is_empty() => {
                let mut inner = self.scope();
                inner
                    .function_value(f, &[], &DFSchema::empty())
                    .ok()
                    .and_then(|v| match v {
                        Binding::Tabular(p) => Some(p),
                        _ => None,
                    })
            }
            Some(Binding::Function(_)) => None,
            None => self.tables.get(name).cloned(),
        }
    }

    pub(crate) fn is_function(&self, name: &str) -> bool {
        matches!(self.bindings.get(name), Some(Binding::Function(_)))
    }

    pub(crate) fn scalar_binding(&self, name: &str) -> Option<DfExpr> {
        match self.bindings.get(name) {
            Some(Binding::Scalar(e)) => Some(e.clone()),
            _ => None,
        }
    }

    pub(crate) fn now_literal(&self) -> DfExpr {
        DfExpr::Literal(
            ScalarValue::TimestampMicrosecond(Some(self.now_micros), Some("UTC".into())),
            None,
        )
    }

    /// A top-level tabular statement: one result, or one per prong of a final `fork`
    /// or per column of a final `facet`.
    fn result_sets(&mut self, t: &Tabular) -> Result<Vec<ResultSet>> {
        let Some(last) = t.ops.last() else {
            return Ok(vec![self.result_set(t)?]);
        };
        let prongs: Vec<(Option<String>, Tabular)> = match &last.kind {
            OperatorKind::Fork(prongs) => prongs
                .iter()
                .map(|(n, p)| (n.as_ref().map(|n| n.name.clone()), p.clone()))
                .collect(),
            OperatorKind::Facet { columns, with } => {
                let mut out = vec![];
                for c in columns {
                    let e = crate::ast::Expr {
                        kind: crate::ast::ExprKind::Column(c.name.clone()),
                        span: c.span,
                    };
                    let count = crate::ast::Expr {
                        kind: crate::ast::ExprKind::Call {
                            name: crate::ast::Ident {
                                name: "count".into(),
                                span: c.span,
                            },
                            args: vec![],
                        },
                        span: c.span,
                    };
                    let op = crate::ast::Operator {
                        kind: OperatorKind::Summarize {
                            aggregates: vec![crate::ast::NamedExpr {
                                name: None,
                                expr: count,
                                names: vec![],
                            }],
                            by: vec![crate::ast::NamedExpr {
                                name: None,
                                expr: e,
                                names: vec![],
                            }],
                        },
                        span: c.span,
                    };
                    out.push((
                        Some(c.name.clone()),
                        Tabular {
                            source: t.source.clone(),
                            ops: vec![op],
                            span: c.span,
                        },
                    ));
                }
                out.extend(with.iter().map(|w| (None, w.clone())));
                out
            }
            _ => return Ok(vec![self.result_set(t)?]),
        };
        let head = Tabular {
            source: t.source.clone(),
            ops: t.ops[..t.ops.len() - 1].to_vec(),
            span: t.span,
        };
        let input = self.tabular(&head)?;
        let mut sets = vec![];
        for (name, prong) in prongs {
            let mut plan = input.clone();
            for op in &prong.ops {
                plan = self.operator(plan, op)?;
            }
            let named = prong.ops.iter().rev().find_map(|o| match &o.kind {
                OperatorKind::As(n) => Some(n.name.clone()),
                _ => None,
            });
            let visualization = match prong.ops.last().map(|o| &o.kind) {
                Some(OperatorKind::Render { kind, properties }) => {
                    Some(render::visualization(kind, properties)?)
                }
                _ => None,
            };
            sets.push(ResultSet {
                plan,
                name: named.or(name),
                visualization,
            });
        }
        Ok(sets)
    }

    /// A top-level tabular statement: its last `as` names the result and a final
    /// `render` describes its chart.
    fn result_set(&mut self, t: &Tabular) -> Result<ResultSet> {
        let mut visualization = None;
        let mut name = None;
        for (i, op) in t.ops.iter().enumerate() {
            match &op.kind {
                OperatorKind::Render { kind, properties } => {
                    if i + 1 != t.ops.len() {
                        return Err(KqlError::semantic(
                            "render must be the last operator of a query",
                            op.span,
                        ));
                    }
                    visualization = Some(render::visualization(kind, properties)?);
                }
                OperatorKind::As(n) => name = Some(n.name.clone()),
                _ => {}
            }
        }
        Ok(ResultSet {
            plan: self.tabular(t)?,
            name,
            visualization,
        })
    }

    pub(crate) fn tabular(&mut self, t: &Tabular) -> Result<LogicalPlan> {
        let mut plan = self.source(&t.source)?;
        for op in &t.ops {
            plan = self.operator(plan, op)?;
        }
        Ok(plan)
    }

    fn source(&mut self, source: &Source) -> Result<LogicalPlan> {
        match source {
            Source::Named(id) => self.lookup_table(&id.name).ok_or_else(|| {
                let mut known: Vec<&String> = self.tables.keys().collect();
                known.sort();
                let known: Vec<&str> = known.iter().map(|s| s.as_str()).collect();
                KqlError::semantic(
                    format!(
                        "'{}' is not a table or a tabular let{}; tables: {}",
                        id.name,
                        suggest::hint(
                            &id.name,
                            known
                                .iter()
                                .copied()
                                .chain(self.bindings.keys().map(|k| k.as_str()))
                        ),
                        if known.is_empty() {
                            "(none)".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                    id.span,
                )
            }),
            Source::Paren(inner) => self.tabular(inner),
            Source::Datatable {
                columns,
                values,
                span,
            } => self.datatable(columns, values, *span),
            Source::Print { columns, .. } => self.print(columns),
            Source::Union { union, span } => self.union(None, union, *span),
            Source::Range {
                name,
                from,
                to,
                step,
                span,
            } => self.range(name, from, to, step, *span),
            Source::External {
                columns,
                uris,
                props,
                span,
            } => self.external(columns, uris, props, *span),
            Source::Search {
                tables,
                pred,
                project,
                span,
            } => self.search_source(tables, pred, project.as_deref(), *span),
            Source::Call { name, args } => {
                match self.call_function(name, args, &DFSchema::empty(), None)? {
                    Binding::Tabular(p) => Ok(p),
                    _ => Err(KqlError::semantic(
                        format!("'{}' is a scalar function, not a table", name.name),
                        name.span,
                    )),
                }
            }
        }
    }

    /// A planner for a nested scope (function bodies, `toscalar`): same tables, a copy
    /// of the bindings, so names bound inside do not leak out.
    pub(crate) fn scope(&self) -> Planner<'a> {
        Planner {
            tables: self.tables,
            bindings: self.bindings.clone(),
            now_micros: self.now_micros,
            options: self.options.clone(),
            parameters: self.parameters.clone(),
            host: self.host.clone(),
        }
    }

    /// The value of a user function called with `args` (planned against `schema` for
    /// scalar calls); `input` is the piped table of `invoke`.
    pub(crate) fn call_function(
        &self,
        name: &crate::ast::Ident,
        args: &[crate::ast::Expr],
        schema: &DFSchema,
        input: Option<LogicalPlan>,
    ) -> Result<Binding> {
        let Some(Binding::Function(f)) = self.bindings.get(&name.name) else {
            return Err(KqlError::semantic(
                format!("'{}' is not a function defined with let", name.name),
                name.span,
            ));
        };
        let mut values: Vec<Binding> = vec![];
        if let Some(plan) = input {
            values.push(Binding::Tabular(plan));
        }
        for a in args {
            if let crate::ast::ExprKind::Column(n) = &a.kind {
                if let Some(t) = self.lookup_table(n) {
                    values.push(Binding::Tabular(t));
                    continue;
                }
            }
            values.push(Binding::Scalar(self.expr(a, schema)?));
        }
        if values.len() > f.params.len() {
            return Err(KqlError::semantic(
                format!(
                    "function '{}' takes {} argument(s), got {}",
                    name.name,
                    f.params.len(),
                    values.len()
                ),
                name.span,
            ));
        }
        let mut inner = self.scope();
        inner.function_value(&f.clone(), &values, schema)
    }

    fn function_value(
        &mut self,
        f: &crate::ast::Function,
        values: &[Binding],
        schema: &DFSchema,
    ) -> Result<Binding> {
        for (i, p) in f.params.iter().enumerate() {
            let v = match values.get(i) {
                Some(v) => v.clone(),
                None => match &p.default {
                    Some(d) => Binding::Scalar(self.expr(d, &DFSchema::empty())?),
                    None => {
                        return Err(KqlError::semantic(
                            format!("missing a value for parameter '{}'", p.name.name),
                            p.name.span,
                        ))
                    }
                },
            };
            self.bindings.insert(p.name.name.clone(), v);
        }
        for s in &f.body {
            if let Statement::Let { name, value } = s {
                let b = match value {
                    LetValue::Function(g) => Binding::Function(g.clone()),
                    LetValue::Tabular(t) => Binding::Tabular(self.tabular(t)?),
                    LetValue::Scalar(e) => Binding::Scalar(self.expr(e, &DFSchema::empty())?),
                };
                self.bindings.insert(name.name.clone(), b);
            }
        }
        Ok(match f.value.as_ref() {
            LetValue::Tabular(t) => Binding::Tabular(self.tabular(t)?),
            LetValue::Scalar(e) => match &e.kind {
                crate::ast::ExprKind::Column(n) if self.lookup_table(n).is_some() => {
                    Binding::Tabular(self.lookup_table(n).expect("checked"))
                }
                _ => Binding::Scalar(self.expr(e, schema)?),
            },
            LetValue::Function(g) => Binding::Function(g.clone()),
        })
    }

    pub(crate) fn bind_tabular(&mut self, name: &str, plan: LogicalPlan) {
        self.bindings
            .insert(name.to_string(), Binding::Tabular(plan));
    }
}

/// Wraps builder errors: DataFusion's own messages, with the span of the operator.
pub(crate) fn df<T>(r: datafusion::error::Result<T>, span: Span) -> Result<T> {
    r.map_err(|e| KqlError::semantic(e.strip_backtrace(), span))
}

pub(crate) fn builder(plan: LogicalPlan) -> LogicalPlanBuilder {
    LogicalPlanBuilder::from(plan)
}
