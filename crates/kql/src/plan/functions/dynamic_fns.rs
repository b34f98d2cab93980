//! Dynamic (JSON) functions that work a row at a time: parse_json, element access, bags,
//! arrays and sets.

use std::cmp::Ordering;

use serde_json::{Map, Value as Json};

use super::rowfn::{t_bool, t_dynamic, t_long, t_real, t_string, Def};
use super::value::V;

pub static DEFS: &[Def] = &[
    // Sketches made by the hll() and tdigest() aggregates.
    Def::new(
        "dcount_hll",
        1,
        1,
        t_long,
        |a| match super::sketch::Hll::from_json(&a[0].json()) {
            Some(h) => V::Long(h.estimate()),
            None => V::Null,
        },
    ),
    Def::new("percentile_tdigest", 2, 2, t_real, |a| {
        match a[1].f64().filter(|p| (0.0..=100.0).contains(p)) {
            Some(p) => super::sketch::digest_percentile(&a[0].json(), p)
                .map(V::Real)
                .unwrap_or(V::Null),
            None => V::Null,
        }
    }),
    Def::new("todynamic", 1, 1, t_dynamic, parse_json),
    Def::new("parse_json", 1, 1, t_dynamic, parse_json),
    Def::new("bag_keys", 1, 1, t_dynamic, |a| match a[0].bag() {
        Some(m) => V::Dyn(Json::Array(
            m.keys().map(|k| Json::String(k.clone())).collect(),
        )),
        None => V::Null,
    }),
    Def::new("bag_has_key", 2, 2, t_bool, |a| match a[0].bag() {
        Some(m) => V::Bool(m.contains_key(a[1].text().as_ref())),
        None => V::Bool(false),
    }),
    Def::new("bag_merge", 1, 64, t_dynamic, bag_merge),
    Def::new("bag_remove_keys", 2, 2, t_dynamic, bag_remove_keys),
    Def::new("bag_pack", 0, 128, t_dynamic, bag_pack),
    Def::new("pack", 0, 128, t_dynamic, bag_pack),
    Def::new("pack_dictionary", 0, 128, t_dynamic, bag_pack),
    Def::new("pack_array", 0, 128, t_dynamic, |a| {
        V::Dyn(Json::Array(a.iter().map(V::json).collect()))
    }),
    Def::new("array_length", 1, 1, t_long, |a| match a[0].array() {
        Some(x) => V::Long(x.len() as i64),
        None => V::Null,
    }),
    Def::new("array_concat", 1, 64, t_dynamic, |a| {
        let mut out = vec![];
        for v in a {
            match v.array() {
                Some(x) => out.extend(x),
                None => return V::Null,
            }
        }
        V::Dyn(Json::Array(out))
    }),
    Def::new("array_slice", 3, 3, t_dynamic, array_slice),
    Def::new("array_index_of", 2, 5, t_long, array_index_of),
    Def::new("array_sort_asc", 1, 2, t_dynamic, |a| sort(a, true)),
    Def::new("array_sort_desc", 1, 2, t_dynamic, |a| sort(a, false)),
    Def::new("array_reverse", 1, 1, t_dynamic, |a| match a[0].array() {
        Some(mut x) => {
            x.reverse();
            V::Dyn(Json::Array(x))
        }
        None => V::Null,
    }),
    Def::new("array_sum", 1, 1, t_real, |a| match a[0].array() {
        Some(x) => V::Real(x.iter().filter_map(Json::as_f64).sum()),
        None => V::Null,
    }),
    Def::new("array_iff", 3, 3, t_dynamic, array_iff),
    Def::new("array_iif", 3, 3, t_dynamic, array_iff),
    Def::new("array_split", 2, 2, t_dynamic, array_split),
    Def::new("array_rotate_left", 2, 2, t_dynamic, |a| rotate(a, true)),
    Def::new("array_rotate_right", 2, 2, t_dynamic, |a| rotate(a, false)),
    Def::new("set_union", 1, 64, t_dynamic, |a| set_op(a, SetOp::Union)),
    Def::new("set_intersect", 1, 64, t_dynamic, |a| {
        set_op(a, SetOp::Intersect)
    }),
    Def::new("set_difference", 1, 64, t_dynamic, |a| {
        set_op(a, SetOp::Difference)
    }),
    Def::new("set_has_element", 2, 2, t_bool, |a| match a[0].array() {
        Some(x) => {
            let needle = a[1].json();
            V::Bool(x.iter().any(|e| same(e, &needle)))
        }
        None => V::Null,
    }),
    Def::new("zip", 2, 64, t_dynamic, zip),
    Def::new("treepath", 1, 1, t_dynamic, |a| {
        let mut out = vec![];
        paths(&a[0].json(), "$", &mut out);
        V::Dyn(Json::Array(out.into_iter().map(Json::String).collect()))
    }),
    Def::new("strcat_array", 2, 2, t_string, |a| match a[0].array() {
        Some(x) => V::Str(
            x.iter()
                .map(|e| V::from_json(e.clone()).text().into_owned())
                .collect::<Vec<_>>()
                .join(&a[1].text()),
        ),
        None => V::Str(String::new()),
    }),
    Def::new("todouble_dynamic", 1, 1, t_real, |a| match a[0].f64() {
        Some(v) => V::Real(v),
        None => V::Null,
    }),
    Def::new("dynamic_type", 1, 1, t_string, |a| {
        V::Str(json_type(&a[0].json()).into())
    }),
];

/// `d[key]`, `d.key`, `d[i]` (negative counts from the end): element access.
pub static INDEX: Def = Def::new("kql_index", 2, 2, t_dynamic, index);

fn index(a: &[V]) -> V {
    let base = a[0].json();
    let element = match (&base, &a[1]) {
        (Json::Array(x), key) => key.i64().and_then(|i| {
            let i = if i < 0 { x.len() as i64 + i } else { i };
            usize::try_from(i).ok().and_then(|i| x.get(i)).cloned()
        }),
        (Json::Object(m), key) => m.get(key.text().as_ref()).cloned(),
        _ => None,
    };
    element.map(V::from_json).unwrap_or(V::Null)
}

/// The Kusto name of a JSON value's type, as `gettype()` reports it.
pub fn json_type(j: &Json) -> &'static str {
    match j {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_i64() || n.is_u64() => "long",
        Json::Number(_) => "real",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "dictionary",
    }
}

fn parse_json(a: &[V]) -> V {
    match &a[0] {
        V::Str(s) => {
            V::from_json(serde_json::from_str(s).unwrap_or_else(|_| Json::String(s.clone())))
        }
        other => V::from_json(other.json()),
    }
}

fn bag_merge(a: &[V]) -> V {
    let mut out = Map::new();
    for v in a {
        let Some(m) = v.bag() else { continue };
        for (k, x) in m {
            out.entry(k).or_insert(x);
        }
    }
    V::Dyn(Json::Object(out))
}

fn bag_remove_keys(a: &[V]) -> V {
    let Some(mut m) = a[0].bag() else {
        return V::Null;
    };
    for k in a[1].array().unwrap_or_default() {
        let key = V::from_json(k).text().into_owned();
        m.remove(&key);
    }
    V::Dyn(Json::Object(m))
}

fn bag_pack(a: &[V]) -> V {
    let mut out = Map::new();
    for pair in a.chunks(2) {
        let value = pair.get(1).map(V::json).unwrap_or(Json::Null);
        out.insert(pair[0].text().into_owned(), value);
    }
    V::Dyn(Json::Object(out))
}

fn array_slice(a: &[V]) -> V {
    let Some(x) = a[0].array() else {
        return V::Null;
    };
    let n = x.len() as i64;
    let fix = |i: i64| if i < 0 { n + i } else { i };
    let (Some(s), Some(e)) = (a[1].i64().map(fix), a[2].i64().map(fix)) else {
        return V::Null;
    };
    let s = s.max(0);
    let e = e.min(n - 1);
    if s > e {
        return V::Dyn(Json::Array(vec![]));
    }
    V::Dyn(Json::Array(x[s as usize..=e as usize].to_vec()))
}

fn array_index_of(a: &[V]) -> V {
    let Some(x) = a[0].array() else {
        return V::Null;
    };
    let needle = a[1].json();
    let n = x.len() as i64;
    let start = a.get(2).and_then(V::i64).unwrap_or(0);
    let start = if start < 0 { (n + start).max(0) } else { start };
    let length = a.get(3).and_then(V::i64).unwrap_or(-1);
    let occurrence = a.get(4).and_then(V::i64).unwrap_or(1);
    let end = if length < 0 {
        n
    } else {
        (start + length).min(n)
    };
    let mut seen = 0;
    for i in start..end {
        if same(&x[i as usize], &needle) {
            seen += 1;
            if seen == occurrence {
                return V::Long(i);
            }
        }
    }
    V::Long(-1)
}

/// Equality of dynamic values with numbers compared by value (1 == 1.0).
fn same(x: &Json, y: &Json) -> bool {
    match (x.as_f64(), y.as_f64()) {
        (Some(a), Some(b)) => a == b,
        _ => x == y,
    }
}

pub fn compare(x: &Json, y: &Json) -> Ordering {
    match (x, y) {
        (Json::Null, Json::Null) => Ordering::Equal,
        (Json::Null, _) => Ordering::Greater,
        (_, Json::Null) => Ordering::Less,
        _ => match (x.as_f64(), y.as_f64()) {
            (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
            _ => V::from_json(x.clone())
                .text()
                .cmp(&V::from_json(y.clone()).text()),
        },
    }
}

fn sort(a: &[V], asc: bool) -> V {
    let Some(mut x) = a[0].array() else {
        return V::Null;
    };
    let nulls_last = a.get(1).map(|v| matches!(v, V::Bool(true))).unwrap_or(true);
    x.sort_by(|p, q| {
        match (p.is_null(), q.is_null()) {
            (true, true) => return Ordering::Equal,
            (true, false) => {
                return if nulls_last {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, true) => {
                return if nulls_last {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            _ => {}
        }
        let o = compare(p, q);
        if asc {
            o
        } else {
            o.reverse()
        }
    });
    V::Dyn(Json::Array(x))
}

fn array_iff(a: &[V]) -> V {
    let Some(cond) = a[0].array() else {
        return V::Null;
    };
    let pick = |v: &V, i: usize| match v.array() {
        Some(x) => x.get(i).cloned().unwrap_or(Json::Null),
        None => v.json(),
    };
    V::Dyn(Json::Array(
        cond.iter()
            .enumerate()
            .map(|(i, c)| {
                let truthy = c
                    .as_bool()
                    .unwrap_or_else(|| c.as_f64().is_some_and(|f| f != 0.0));
                if c.is_null() {
                    Json::Null
                } else if truthy {
                    pick(&a[1], i)
                } else {
                    pick(&a[2], i)
                }
            })
            .collect(),
    ))
}

fn array_split(a: &[V]) -> V {
    let Some(x) = a[0].array() else {
        return V::Null;
    };
    let mut cuts: Vec<usize> = match a[1].array() {
        Some(idx) => idx
            .iter()
            .filter_map(|i| i.as_u64().map(|i| i as usize))
            .collect(),
        None => a[1]
            .i64()
            .map(|i| vec![i.max(0) as usize])
            .unwrap_or_default(),
    };
    cuts.retain(|c| *c <= x.len());
    cuts.push(x.len());
    let mut out = vec![];
    let mut from = 0;
    for c in cuts {
        let c = c.max(from);
        out.push(Json::Array(x[from..c].to_vec()));
        from = c;
    }
    V::Dyn(Json::Array(out))
}

fn rotate(a: &[V], left: bool) -> V {
    let Some(mut x) = a[0].array() else {
        return V::Null;
    };
    if x.is_empty() {
        return V::Dyn(Json::Array(x));
    }
    let n = a[1].i64().unwrap_or(0).rem_euclid(x.len() as i64) as usize;
    if left {
        x.rotate_left(n);
    } else {
        x.rotate_right(n);
    }
    V::Dyn(Json::Array(x))
}

enum SetOp {
    Union,
    Intersect,
    Difference,
}

fn set_op(a: &[V], op: SetOp) -> V {
    let mut arrays = vec![];
    for v in a {
        match v.array() {
            Some(x) => arrays.push(x),
            None => return V::Null,
        }
    }
    let mut out: Vec<Json> = vec![];
    let push = |out: &mut Vec<Json>, e: &Json| {
        if !out.iter().any(|o| same(o, e)) {
            out.push(e.clone());
        }
    };
    match op {
        SetOp::Union => arrays.iter().flatten().for_each(|e| push(&mut out, e)),
        SetOp::Intersect => {
            for e in &arrays[0] {
                if arrays[1..].iter().all(|x| x.iter().any(|o| same(o, e))) {
                    push(&mut out, e);
                }
            }
        }
        SetOp::Difference => {
            for e in &arrays[0] {
                if !arrays[1..].iter().any(|x| x.iter().any(|o| same(o, e))) {
                    push(&mut out, e);
                }
            }
        }
    }
    V::Dyn(Json::Array(out))
}

fn zip(a: &[V]) -> V {
    let arrays: Vec<Vec<Json>> = a.iter().map(|v| v.array().unwrap_or_default()).collect();
    let n = arrays.iter().map(Vec::len).max().unwrap_or(0);
    V::Dyn(Json::Array(
        (0..n)
            .map(|i| {
                Json::Array(
                    arrays
                        .iter()
                        .map(|x| x.get(i).cloned().unwrap_or(Json::Null))
                        .collect(),
                )
            })
            .collect(),
    ))
}

fn paths(j: &Json, prefix: &str, out: &mut Vec<String>) {
    match j {
        Json::Object(m) => {
            for (k, v) in m {
                let p = if k.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    format!("{prefix}.{k}")
                } else {
                    format!("{prefix}['{k}']")
                };
                out.push(p.clone());
                paths(v, &p, out);
            }
        }
        Json::Array(x) if !x.is_empty() => {
            let p = format!("{prefix}[0]");
            out.push(p.clone());
            paths(&x[0], &p, out);
        }
        _ => {}
    }
}
