//! `render`: how a client should draw a result. It does not change the data; the chart
//! kind and its properties travel with the result as Kusto's `Visualization` object.

use serde_json::{json, Map, Value};

use crate::ast::{Ident, Literal, RenderProperty};
use crate::error::{KqlError, Result};

const KINDS: &[&str] = &[
    "anomalychart",
    "areachart",
    "barchart",
    "card",
    "columnchart",
    "ladderchart",
    "linechart",
    "piechart",
    "pivotchart",
    "scatterchart",
    "stackedareachart",
    "table",
    "timechart",
    "timepivot",
    "treemap",
    "3Dchart",
    "plotly",
];

/// Property name in the query → key in the Visualization object.
const PROPERTIES: &[(&str, &str)] = &[
    ("title", "Title"),
    ("xcolumn", "XColumn"),
    ("series", "Series"),
    ("ycolumns", "YColumns"),
    ("anomalycolumns", "AnomalyColumns"),
    ("xtitle", "XTitle"),
    ("ytitle", "YTitle"),
    ("xaxis", "XAxis"),
    ("yaxis", "YAxis"),
    ("legend", "Legend"),
    ("ysplit", "YSplit"),
    ("accumulate", "Accumulate"),
    ("kind", "Kind"),
    ("ymin", "Ymin"),
    ("ymax", "Ymax"),
    ("xmin", "Xmin"),
    ("xmax", "Xmax"),
];

/// The Visualization object Kusto sends in `@ExtendedProperties` for `render kind with (...)`.
pub fn visualization(kind: &Ident, properties: &[RenderProperty]) -> Result<Value> {
    let Some(kind_name) = KINDS.iter().find(|k| k.eq_ignore_ascii_case(&kind.name)) else {
        return Err(KqlError::semantic(
            format!(
                "unknown chart kind '{}'; kinds are {}",
                kind.name,
                KINDS.join(", ")
            ),
            kind.span,
        ));
    };
    let mut v = Map::new();
    v.insert("Visualization".into(), json!(kind_name));
    for (_, key) in PROPERTIES {
        v.insert((*key).into(), Value::Null);
    }
    v.insert("Accumulate".into(), json!(false));
    v.insert("IsQuerySorted".into(), json!(false));
    v.insert("Ymin".into(), json!("NaN"));
    v.insert("Ymax".into(), json!("NaN"));
    for p in properties {
        let Some((_, key)) = PROPERTIES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&p.name.name))
        else {
            let names: Vec<&str> = PROPERTIES.iter().map(|(n, _)| *n).collect();
            return Err(KqlError::semantic(
                format!(
                    "unknown render property '{}'; properties are {}",
                    p.name.name,
                    names.join(", ")
                ),
                p.name.span,
            ));
        };
        let value = match (*key, p.values.as_slice()) {
            ("Accumulate", [Literal::Bool(b)]) => json!(b),
            ("Ymin" | "Ymax", [Literal::Long(n)]) => json!(*n as f64),
            ("Ymin" | "Ymax", [Literal::Int(n)]) => json!(*n as f64),
            ("Ymin" | "Ymax", [Literal::Real(n)]) => json!(n),
            (_, values) => json!(values.iter().map(text).collect::<Vec<_>>().join(",")),
        };
        v.insert((*key).into(), value);
    }
    Ok(Value::Object(v))
}

fn text(l: &Literal) -> String {
    match l {
        Literal::String(s) => s.clone(),
        Literal::Bool(b) => b.to_string(),
        Literal::Int(v) => v.to_string(),
        Literal::Long(v) => v.to_string(),
        Literal::Real(v) => v.to_string(),
        Literal::Decimal(s) | Literal::Guid(s) => s.clone(),
        Literal::DateTime(v) => crate::values::format_datetime(*v),
        Literal::Timespan(v) => crate::values::format_timespan(*v),
        Literal::Dynamic(v) => v.to_string(),
        Literal::Null(_) => String::new(),
    }
}
