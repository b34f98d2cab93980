//! `parse` and `parse-where`: a pattern of constants, typed columns and `*` becomes one
//! anchored regex. `kind=simple` (default) escapes the constants, `kind=regex` takes them
//! as regex, `kind=relaxed` is simple but a value that does not convert only nulls its
//! own column. Unmatched rows get empty strings and nulls; `parse-where` drops them.

use datafusion::logical_expr::{lit, Expr as DfExpr, LogicalPlan};

use crate::ast::{Expr, Ident, ParsePart};
use crate::error::{KqlError, Result};
use crate::lexer::Span;
use crate::plan::functions::rowfn::{self, Def};
use crate::plan::functions::string_fns::regex;
use crate::plan::functions::value::V;
use crate::plan::{builder, df, Planner};
use crate::types::KustoType;

/// Group `a[2]` of regex `a[1]` matched against `a[0]`, or null.
static GROUP: Def = Def::new("kql_parse_group", 3, 3, rowfn::t_string, |a| {
    let (Some(re), Some(g)) = (regex(&a[1].text()), a[2].i64()) else {
        return V::Null;
    };
    let text = a[0].text();
    match re.captures(&text).and_then(|c| c.get(g as usize)) {
        Some(m) => V::Str(m.as_str().to_string()),
        None => V::Null,
    }
});

macro_rules! parse_as {
    ($name:ident, $ret:path, $conv:expr) => {
        static $name: Def = Def::new("kql_parse_as", 1, 1, $ret, |a| match &a[0] {
            V::Null => V::Null,
            v => $conv(v.text().trim()),
        });
    };
}
parse_as!(AS_LONG, rowfn::t_long, |s: &str| s
    .parse::<i64>()
    .map(V::Long)
    .unwrap_or(V::Null));
parse_as!(AS_INT, rowfn::t_int, |s: &str| s
    .parse::<i32>()
    .map(|v| V::Long(v as i64))
    .unwrap_or(V::Null));
parse_as!(AS_REAL, rowfn::t_real, |s: &str| s
    .parse::<f64>()
    .map(V::Real)
    .unwrap_or(V::Null));
parse_as!(
    AS_BOOL,
    rowfn::t_bool,
    |s: &str| match s.to_ascii_lowercase().as_str() {
        "true" | "1" => V::Bool(true),
        "false" | "0" => V::Bool(false),
        _ => V::Null,
    }
);
parse_as!(AS_DATETIME, rowfn::t_datetime, |s: &str| {
    crate::values::parse_datetime(s)
        .map(V::DateTime)
        .unwrap_or(V::Null)
});
parse_as!(AS_TIMESPAN, rowfn::t_timespan, |s: &str| {
    crate::values::parse_timespan(s)
        .map(V::Timespan)
        .unwrap_or(V::Null)
});
parse_as!(AS_GUID, rowfn::t_guid, |s: &str| {
    uuid::Uuid::parse_str(s)
        .map(|u| V::Str(u.to_string()))
        .unwrap_or(V::Null)
});
parse_as!(AS_DYNAMIC, rowfn::t_dynamic, |s: &str| V::from_json(
    serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.to_string()))
));

fn converter(ty: KustoType) -> Option<&'static Def> {
    Some(match ty {
        KustoType::String => return None,
        KustoType::Long => &AS_LONG,
        KustoType::Int => &AS_INT,
        KustoType::Real | KustoType::Decimal => &AS_REAL,
        KustoType::Bool => &AS_BOOL,
        KustoType::DateTime => &AS_DATETIME,
        KustoType::Timespan => &AS_TIMESPAN,
        KustoType::Guid => &AS_GUID,
        KustoType::Dynamic => &AS_DYNAMIC,
    })
}

/// The regex of a pattern and its columns (group i+1 is column i).
fn pattern_regex(parts: &[ParsePart], kind: &str) -> (String, Vec<(Ident, KustoType)>) {
    let mut re = String::from("(?s)^");
    let mut cols = vec![];
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        match part {
            ParsePart::Text(t) if kind == "regex" => re.push_str(&format!("(?:{t})")),
            ParsePart::Text(t) => re.push_str(&regex::escape(t)),
            ParsePart::Wildcard => re.push_str(if last { ".*" } else { ".*?" }),
            ParsePart::Column(name, ty) => {
                let ty = ty.unwrap_or(KustoType::String);
                let group = match ty {
                    KustoType::Long | KustoType::Int if kind != "relaxed" => r"(-?\d+)",
                    KustoType::Real | KustoType::Decimal if kind != "relaxed" => {
                        r"(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"
                    }
                    _ if last => "(.*)",
                    _ => "(.*?)",
                };
                re.push_str(group);
                cols.push((name.clone(), ty));
            }
        }
    }
    re.push('$');
    (re, cols)
}

impl Planner<'_> {
    pub(crate) fn parse(
        &mut self,
        plan: LogicalPlan,
        kind: Option<&Ident>,
        source: &Expr,
        parts: &[ParsePart],
        filter: bool,
        span: Span,
    ) -> Result<LogicalPlan> {
        let kind = kind
            .map(|k| k.name.to_ascii_lowercase())
            .unwrap_or_else(|| "simple".into());
        if !matches!(kind.as_str(), "simple" | "regex" | "relaxed") {
            return Err(KqlError::semantic(
                format!("parse: unknown kind '{kind}'; kinds are simple, regex, relaxed"),
                span,
            ));
        }
        let (re, cols) = pattern_regex(parts, &kind);
        if ::regex::Regex::new(&re).is_err() {
            return Err(KqlError::semantic(
                format!("parse: the pattern is not a valid regex: {re}"),
                span,
            ));
        }
        let schema = plan.schema().clone();
        let x = self.expr(source, &schema)?;
        let t = super::super::expr::type_of(&x, &schema, source)?;
        let text = crate::plan::functions::convert::to_string(x, &t);
        let mut plan = plan;
        if filter {
            plan = df(
                builder(plan)
                    .filter(datafusion::logical_expr::binary_expr(
                        text.clone(),
                        datafusion::logical_expr::Operator::RegexMatch,
                        lit(re.clone()),
                    ))
                    .and_then(|b| b.build()),
                span,
            )?;
        }
        let group = rowfn::udf(&GROUP, &[KustoType::String; 3]);
        let mut named = vec![];
        for (i, (name, ty)) in cols.iter().enumerate() {
            let raw = group.call(vec![text.clone(), lit(re.clone()), lit(i as i64 + 1)]);
            let value = match converter(*ty) {
                Some(def) => rowfn::udf(def, &[KustoType::String]).call(vec![raw]),
                None => raw,
            };
            named.push((name.name.clone(), value));
        }
        self.extend_exprs(plan, named, span)
    }

    /// Adds or replaces columns with already-planned expressions.
    pub(crate) fn extend_exprs(
        &mut self,
        plan: LogicalPlan,
        cols: Vec<(String, DfExpr)>,
        span: Span,
    ) -> Result<LogicalPlan> {
        let schema = plan.schema().clone();
        let mut out: Vec<(String, DfExpr)> = schema
            .iter()
            .map(|(q, f)| {
                (
                    f.name().clone(),
                    DfExpr::Column(datafusion::common::Column::new(q.cloned(), f.name())),
                )
            })
            .collect();
        for (name, x) in cols {
            match out.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = x,
                None => out.push((name, x)),
            }
        }
        df(
            builder(plan)
                .project(out.into_iter().map(|(n, x)| x.alias(n)))
                .and_then(|b| b.build()),
            span,
        )
    }
}
