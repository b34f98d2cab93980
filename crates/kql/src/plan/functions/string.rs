//! String predicates with Kusto semantics: `has` matches whole terms (runs of letters and
//! digits), `contains` any substring; both ignore case unless `_cs`. Kusto strings have
//! no null, so a null operand counts as the empty string.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, BooleanArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};

/// The UDF for string operator `op` (`has`, `contains`, `startswith`, `endswith`,
/// `hasprefix`, `hassuffix`).
pub fn predicate(op: &'static str, case_sensitive: bool) -> ScalarUDF {
    let test: fn(&str, &str) -> bool = match op {
        "has" => has_term,
        "contains" => |h, n| h.contains(n),
        "startswith" => |h, n| h.starts_with(n),
        "endswith" => |h, n| h.ends_with(n),
        "hasprefix" => has_prefix,
        _ => has_suffix,
    };
    let name = format!("kql_{op}{}", if case_sensitive { "_cs" } else { "" });
    create_udf(
        &name,
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            // A constant needle (the usual case) is lowered once; lowered hays reuse
            // one buffer, so no row allocates.
            let needle_scalar = match &args[1] {
                ColumnarValue::Scalar(v) => Some(match v {
                    datafusion::common::ScalarValue::Utf8(Some(s))
                    | datafusion::common::ScalarValue::LargeUtf8(Some(s))
                    | datafusion::common::ScalarValue::Utf8View(Some(s)) => s.clone(),
                    _ => String::new(),
                }),
                _ => None,
            };
            let rows = match (&args[0], &args[1]) {
                (ColumnarValue::Array(a), _) | (_, ColumnarValue::Array(a)) => a.len(),
                _ => 1,
            };
            let hay = args[0].to_array(rows)?;
            let hay = hay.as_string::<i32>();
            let (mut hbuf, mut nbuf) = (String::new(), String::new());
            let out: BooleanArray = match needle_scalar {
                Some(n) => {
                    let n = if case_sensitive {
                        n
                    } else {
                        lowered(&n, &mut nbuf).to_string()
                    };
                    // Term and substring tests of an ASCII needle in an ASCII value
                    // compare in place, ignoring case, with no copy of the value.
                    let edges = match op {
                        "has" => Some((true, true)),
                        "hasprefix" => Some((true, false)),
                        "hassuffix" => Some((false, true)),
                        "contains" => Some((false, false)),
                        _ => None,
                    };
                    let in_place = edges.filter(|_| !n.is_empty() && n.is_ascii());
                    if let Some((before, after)) = in_place {
                        let scanned = super::string_scan::scan_ascii(
                            hay,
                            n.as_bytes(),
                            case_sensitive,
                            before,
                            after,
                        );
                        if let Some(flags) = scanned {
                            return Ok(ColumnarValue::Array(Arc::new(BooleanArray::from(flags))));
                        }
                    }
                    // No nulls in the answer: a plain vector of flags.
                    let flags: Vec<bool> = (0..hay.len())
                        .map(|i| {
                            let h = if hay.is_null(i) { "" } else { hay.value(i) };
                            if let (Some((before, after)), true) = (in_place, h.is_ascii()) {
                                let find = |from: usize| {
                                    find_ascii(h.as_bytes(), n.as_bytes(), from, case_sensitive)
                                };
                                return occurs_with(h, &n, &find, before, after);
                            }
                            let h = if case_sensitive {
                                h
                            } else {
                                lowered(h, &mut hbuf)
                            };
                            test(h, &n)
                        })
                        .collect();
                    BooleanArray::from(flags)
                }
                None => {
                    let needle = args[1].to_array(rows)?;
                    let needle = needle.as_string::<i32>();
                    (0..hay.len())
                        .map(|i| {
                            let h = if hay.is_null(i) { "" } else { hay.value(i) };
                            let n = if needle.is_null(i) {
                                ""
                            } else {
                                needle.value(i)
                            };
                            Some(if case_sensitive {
                                test(h, n)
                            } else {
                                let h = lowered(h, &mut hbuf);
                                test(h, lowered(n, &mut nbuf))
                            })
                        })
                        .collect()
                }
            };
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

/// `s` in lower case, written into `buf` (no allocation once `buf` is big enough).
fn lowered<'a>(s: &str, buf: &'a mut String) -> &'a str {
    buf.clear();
    if s.is_ascii() {
        buf.push_str(s);
        buf.make_ascii_lowercase();
    } else {
        buf.extend(s.chars().flat_map(char::to_lowercase));
    }
    buf.as_str()
}

fn is_term_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Whether `needle` occurs in `hay` with a term boundary on the sides `before`/`after`
/// (a boundary only matters where the needle's own edge is a term character).
pub(super) fn occurs_at_boundary(hay: &str, needle: &str, before: bool, after: bool) -> bool {
    occurs_with(
        hay,
        needle,
        &|from| hay[from..].find(needle).map(|i| from + i),
        before,
        after,
    )
}

/// The first match of an ASCII `needle` (lower case unless `case_sensitive`) in ASCII
/// `hay` at or after `from`.
fn find_ascii(hay: &[u8], needle: &[u8], from: usize, case_sensitive: bool) -> Option<usize> {
    let first = needle[0];
    let other = if case_sensitive {
        first
    } else {
        first.to_ascii_uppercase()
    };
    memchr::memchr2_iter(first, other, hay.get(from..)?)
        .map(|i| from + i)
        .find(|&s| {
            hay.get(s..s + needle.len()).is_some_and(|w| {
                if case_sensitive {
                    w == needle
                } else {
                    w.eq_ignore_ascii_case(needle)
                }
            })
        })
}

/// [`occurs_at_boundary`] with the search given: `find(from)` is the byte offset of
/// the next match at or after `from`.
fn occurs_with(
    hay: &str,
    needle: &str,
    find: &dyn Fn(usize) -> Option<usize>,
    before: bool,
    after: bool,
) -> bool {
    if needle.is_empty() {
        return true;
    }
    let starts_term = needle.chars().next().is_some_and(is_term_char);
    let ends_term = needle.chars().next_back().is_some_and(is_term_char);
    let mut from = 0;
    while let Some(s) = find(from) {
        let e = s + needle.len();
        let before_ok = !before
            || !starts_term
            || hay[..s]
                .chars()
                .next_back()
                .is_none_or(|c| !is_term_char(c));
        let after_ok =
            !after || !ends_term || hay[e..].chars().next().is_none_or(|c| !is_term_char(c));
        if before_ok && after_ok {
            return true;
        }
        from = s + needle.chars().next().map(char::len_utf8).unwrap_or(1);
    }
    false
}

pub fn has_term(hay: &str, needle: &str) -> bool {
    occurs_at_boundary(hay, needle, true, true)
}

fn has_prefix(hay: &str, needle: &str) -> bool {
    occurs_at_boundary(hay, needle, true, false)
}

fn has_suffix(hay: &str, needle: &str) -> bool {
    occurs_at_boundary(hay, needle, false, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_is_about_terms() {
        assert!(!has_term("kustoexplorerqueryrun", "explorer"));
        assert!(has_term("kusto explorer query", "explorer"));
        assert!(has_term("a.b-c", "b"));
        assert!(has_term("error: disk full", "disk full"));
        assert!(!has_term("diskfull", "disk"));
        assert!(has_prefix("kustoexplorer", "kusto"));
        assert!(has_suffix("kustoexplorer", "explorer"));
    }

    #[test]
    fn in_place_search_ignores_ascii_case() {
        let find = |h: &str, n: &str, cs| find_ascii(h.as_bytes(), n.as_bytes(), 0, cs);
        assert_eq!(find("Disk ERROR here", "error", false), Some(5));
        assert_eq!(find("Disk ERROR here", "error", true), None);
        assert_eq!(find("eerror", "error", false), Some(1));
        assert_eq!(find("err", "error", false), None);
        let h = "x-Error:y";
        let f = |from| find_ascii(h.as_bytes(), b"error", from, false);
        assert!(occurs_with(h, "error", &f, true, true));
        let h = "xError";
        let f = |from| find_ascii(h.as_bytes(), b"error", from, false);
        assert!(!occurs_with(h, "error", &f, true, true));
    }
}
