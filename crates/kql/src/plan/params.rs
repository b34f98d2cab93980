//! Query parameters: `declare query_parameters(name: type [= default])` binds each name
//! to the value the request carries (client request property `Parameters`, every value a
//! string) or to its default. A value is read as a KQL literal of the declared type
//! (`datetime(2024-01-01)`, `90`, `1d`), or as the plain text of one (`2024-01-01`);
//! a string parameter takes the text as it is unless it is a quoted KQL string.

use crate::ast::{ExprKind, Literal, QueryParameter};
use crate::error::{KqlError, Result};
use crate::types::KustoType;
use crate::values::{parse_datetime, parse_timespan};

/// The literal a request's text value stands for, as type `ty`.
pub fn parameter_literal(text: &str, ty: KustoType) -> std::result::Result<Literal, String> {
    let parsed = crate::parser::parse_expr(text)
        .ok()
        .and_then(|e| match e.kind {
            ExprKind::Literal(l) => Some(l),
            ExprKind::Neg(inner) => match inner.kind {
                ExprKind::Literal(Literal::Long(v)) => Some(Literal::Long(-v)),
                ExprKind::Literal(Literal::Int(v)) => Some(Literal::Int(-v)),
                ExprKind::Literal(Literal::Real(v)) => Some(Literal::Real(-v)),
                ExprKind::Literal(Literal::Timespan(v)) => Some(Literal::Timespan(-v)),
                _ => None,
            },
            _ => None,
        });
    if ty == KustoType::String {
        return Ok(match parsed {
            Some(Literal::String(s)) => Literal::String(s),
            _ => Literal::String(text.to_string()),
        });
    }
    let fail = || format!("'{text}' is not a {ty} value");
    let lit = match parsed {
        Some(Literal::String(s)) => s,
        Some(l) => return coerce(l, ty).ok_or_else(fail),
        None => text.trim().to_string(),
    };
    from_text(&lit, ty).ok_or_else(fail)
}

/// A literal of another type, where Kusto converts it implicitly (numbers, nulls).
fn coerce(l: Literal, ty: KustoType) -> Option<Literal> {
    if l.kind_matches(ty) {
        return Some(l);
    }
    Some(match (l, ty) {
        (Literal::Int(v), KustoType::Long) => Literal::Long(v as i64),
        (Literal::Long(v), KustoType::Int) => Literal::Int(i32::try_from(v).ok()?),
        (Literal::Int(v), KustoType::Real) => Literal::Real(v as f64),
        (Literal::Long(v), KustoType::Real) => Literal::Real(v as f64),
        (Literal::Long(v), KustoType::Decimal) => Literal::Decimal(v.to_string()),
        (Literal::Real(v), KustoType::Decimal) => Literal::Decimal(v.to_string()),
        (Literal::Null(_), t) => Literal::Null(t),
        (l, KustoType::Dynamic) => Literal::Dynamic(match l {
            Literal::Bool(b) => b.into(),
            Literal::Long(v) => v.into(),
            Literal::Int(v) => v.into(),
            Literal::Real(v) => v.into(),
            _ => return None,
        }),
        _ => return None,
    })
}

/// Plain text of a value (`2024-01-01`, `1.02:00:00`, `true`).
fn from_text(text: &str, ty: KustoType) -> Option<Literal> {
    Some(match ty {
        KustoType::Bool => match text.to_ascii_lowercase().as_str() {
            "true" | "1" => Literal::Bool(true),
            "false" | "0" => Literal::Bool(false),
            _ => return None,
        },
        KustoType::Int => Literal::Int(text.parse().ok()?),
        KustoType::Long => Literal::Long(text.parse().ok()?),
        KustoType::Real => Literal::Real(text.parse().ok()?),
        KustoType::Decimal => {
            text.parse::<f64>().ok()?;
            Literal::Decimal(text.to_string())
        }
        KustoType::DateTime => Literal::DateTime(parse_datetime(text)?),
        KustoType::Timespan => Literal::Timespan(parse_timespan(text)?),
        KustoType::Guid => {
            let hex: String = text.chars().filter(|c| *c != '-').collect();
            if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            Literal::Guid(text.to_ascii_lowercase())
        }
        KustoType::Dynamic => Literal::Dynamic(serde_json::from_str(text).ok()?),
        KustoType::String => Literal::String(text.to_string()),
    })
}

/// The literal bound to a declared parameter: the request's value, else the default.
pub(crate) fn bind(
    p: &QueryParameter,
    values: &std::collections::HashMap<String, String>,
) -> Result<Option<Literal>> {
    match values.get(&p.name.name) {
        Some(text) => parameter_literal(text, p.ty)
            .map(Some)
            .map_err(|m| KqlError::semantic(format!("query parameter '{}': {m}", p.name.name), p.name.span)),
        None if p.default.is_some() => Ok(None),
        None => Err(KqlError::semantic(
            format!(
                "query parameter '{}' has no value: the request does not set it and its declaration has no default",
                p.name.name
            ),
            p.name.span,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_literals_or_plain_text() {
        let l = |t, ty| parameter_literal(t, ty).unwrap();
        assert_eq!(l("90", KustoType::Long), Literal::Long(90));
        assert_eq!(l("-3", KustoType::Long), Literal::Long(-3));
        assert_eq!(l("90", KustoType::Real), Literal::Real(90.0));
        assert_eq!(
            l("datetime(2024-01-02)", KustoType::DateTime),
            l("2024-01-02", KustoType::DateTime)
        );
        assert_eq!(
            l("1d", KustoType::Timespan),
            Literal::Timespan(86_400_000_000)
        );
        assert_eq!(
            l("1.00:00:00", KustoType::Timespan),
            Literal::Timespan(86_400_000_000)
        );
        assert_eq!(l("it's", KustoType::String), Literal::String("it's".into()));
        assert_eq!(
            l("'quoted'", KustoType::String),
            Literal::String("quoted".into())
        );
        assert_eq!(l("true", KustoType::Bool), Literal::Bool(true));
        assert!(parameter_literal("abc", KustoType::Long).is_err());
        assert!(parameter_literal("2024-13-45", KustoType::DateTime).is_err());
    }
}
