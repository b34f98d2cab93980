//! Math functions that work a row at a time: ceiling, sign, logs and exponents, pow,
//! sqrt, trigonometry, pi, isnan/isinf/isfinite, rand, max_of/min_of, range, bitwise.

use serde_json::{json, Value as Json};

use super::rowfn::{t_bool, t_dynamic, t_long, t_numeric, t_real, Def};
use super::value::V;
use crate::types::KustoType;

macro_rules! real_fn {
    ($name:literal, $f:expr) => {
        Def::new($name, 1, 1, t_real, |a| real1(a, $f))
    };
}

pub static DEFS: &[Def] = &[
    Def::new("ceiling", 1, 1, t_numeric, |a| match &a[0] {
        V::Long(v) => V::Long(*v),
        other => other.f64().map(|v| V::Real(v.ceil())).unwrap_or(V::Null),
    }),
    Def::new("sign", 1, 1, t_numeric, |a| match &a[0] {
        V::Long(v) => V::Long(v.signum()),
        other => other
            .f64()
            .map(|v| V::Real(if v == 0.0 { 0.0 } else { v.signum() }))
            .unwrap_or(V::Null),
    }),
    real_fn!("log", f64::ln),
    real_fn!("log2", f64::log2),
    real_fn!("log10", f64::log10),
    real_fn!("exp", f64::exp),
    real_fn!("exp2", f64::exp2),
    real_fn!("exp10", |v| 10f64.powf(v)),
    real_fn!("sqrt", f64::sqrt),
    real_fn!("sin", f64::sin),
    real_fn!("cos", f64::cos),
    real_fn!("tan", f64::tan),
    real_fn!("asin", f64::asin),
    real_fn!("acos", f64::acos),
    real_fn!("atan", f64::atan),
    real_fn!("cot", |v: f64| 1.0 / v.tan()),
    real_fn!("degrees", f64::to_degrees),
    real_fn!("radians", f64::to_radians),
    real_fn!("gamma", gamma),
    real_fn!("loggamma", |v| gamma(v).abs().ln()),
    Def::new("atan2", 2, 2, t_real, |a| match (a[0].f64(), a[1].f64()) {
        (Some(y), Some(x)) => V::Real(y.atan2(x)),
        _ => V::Null,
    }),
    Def::new("pow", 2, 2, t_real, |a| match (a[0].f64(), a[1].f64()) {
        (Some(x), Some(y)) => V::Real(x.powf(y)),
        _ => V::Null,
    }),
    Def::new("pi", 0, 0, t_real, |_| V::Real(std::f64::consts::PI)),
    Def::new("isnan", 1, 1, t_bool, |a| flag(a, f64::is_nan)),
    Def::new("isinf", 1, 1, t_bool, |a| flag(a, f64::is_infinite)),
    Def::new("isfinite", 1, 1, t_bool, |a| flag(a, f64::is_finite)),
    Def::new("rand", 0, 1, rand_type, |a| {
        match a.first().and_then(V::i64) {
            Some(n) if n > 0 => V::Long(rand::random_range(0..n)),
            _ => V::Real(rand::random::<f64>()),
        }
    })
    .volatile(),
    Def::new("max_of", 1, 64, extreme_type, |a| extreme(a, true)),
    Def::new("min_of", 1, 64, extreme_type, |a| extreme(a, false)),
    Def::new("range", 2, 3, t_dynamic, range),
    Def::new("binary_and", 2, 2, t_long, |a| bits(a, |x, y| x & y)),
    Def::new("binary_or", 2, 2, t_long, |a| bits(a, |x, y| x | y)),
    Def::new("binary_xor", 2, 2, t_long, |a| bits(a, |x, y| x ^ y)),
    Def::new("binary_shift_left", 2, 2, t_long, |a| {
        bits(a, |x, y| x.wrapping_shl(y as u32))
    }),
    Def::new("binary_shift_right", 2, 2, t_long, |a| {
        bits(a, |x, y| x.wrapping_shr(y as u32))
    }),
    Def::new("binary_not", 1, 1, t_long, |a| {
        a[0].i64().map(|x| V::Long(!x)).unwrap_or(V::Null)
    }),
    Def::new("bitset_count_ones", 1, 1, t_long, |a| {
        a[0].i64()
            .map(|x| V::Long(x.count_ones() as i64))
            .unwrap_or(V::Null)
    }),
];

fn real1(a: &[V], f: fn(f64) -> f64) -> V {
    a[0].f64().map(|v| V::Real(f(v))).unwrap_or(V::Null)
}

fn flag(a: &[V], f: fn(f64) -> bool) -> V {
    a[0].f64().map(|v| V::Bool(f(v))).unwrap_or(V::Null)
}

fn bits(a: &[V], f: fn(i64, i64) -> i64) -> V {
    match (a[0].i64(), a[1].i64()) {
        (Some(x), Some(y)) => V::Long(f(x, y)),
        _ => V::Null,
    }
}

fn rand_type(args: &[KustoType]) -> KustoType {
    if args.is_empty() {
        KustoType::Real
    } else {
        KustoType::Long
    }
}

/// max_of/min_of: real if any argument is real, else the first argument's type.
fn extreme_type(args: &[KustoType]) -> KustoType {
    if args.contains(&KustoType::Real) {
        KustoType::Real
    } else if args.iter().all(|t| matches!(t, KustoType::Int)) {
        KustoType::Int
    } else {
        args.iter()
            .find(|t| **t != KustoType::Int)
            .copied()
            .unwrap_or(KustoType::Long)
    }
}

/// Nulls are skipped; all null gives null.
fn extreme(a: &[V], max: bool) -> V {
    let mut best: Option<&V> = None;
    for v in a.iter().filter(|v| !v.is_null()) {
        best = match best {
            None => Some(v),
            Some(b) => {
                let greater = match (b, v) {
                    (V::Str(x), V::Str(y)) => y > x,
                    (V::DateTime(x), V::DateTime(y)) | (V::Timespan(x), V::Timespan(y)) => y > x,
                    _ => v.f64().unwrap_or(f64::NAN) > b.f64().unwrap_or(f64::NAN),
                };
                if greater == max {
                    Some(v)
                } else {
                    Some(b)
                }
            }
        };
    }
    best.cloned().unwrap_or(V::Null)
}

/// `range(start, stop[, step])` as a dynamic array (numbers, or datetimes by a timespan).
fn range(a: &[V]) -> V {
    const MAX: usize = 1_000_000;
    let mut out = vec![];
    match (&a[0], &a[1]) {
        (V::DateTime(s), V::DateTime(e)) => {
            let step = a.get(2).and_then(V::timespan).unwrap_or(86_400_000_000);
            if step <= 0 {
                return V::Null;
            }
            let mut t = *s;
            while t <= *e && out.len() < MAX {
                out.push(json!(crate::values::format_datetime(t)));
                t += step;
            }
        }
        (V::Long(s), V::Long(e)) if !matches!(a.get(2), Some(V::Real(_))) => {
            let step = a.get(2).and_then(V::i64).unwrap_or(1);
            if step == 0 {
                return V::Null;
            }
            let mut v = *s;
            while (step > 0 && v <= *e || step < 0 && v >= *e) && out.len() < MAX {
                out.push(json!(v));
                v += step;
            }
        }
        (x, y) => {
            let (Some(s), Some(e)) = (x.f64(), y.f64()) else {
                return V::Null;
            };
            let step = a.get(2).and_then(V::f64).unwrap_or(1.0);
            if step == 0.0 || !step.is_finite() {
                return V::Null;
            }
            let mut k = 0.0;
            loop {
                let v = s + k * step;
                if (step > 0.0 && v > e) || (step < 0.0 && v < e) || out.len() >= MAX {
                    break;
                }
                out.push(serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number));
                k += 1.0;
            }
        }
    }
    V::Dyn(Json::Array(out))
}

/// Lanczos approximation of the gamma function.
fn gamma(x: f64) -> f64 {
    if x > 0.0 && x <= 21.0 && x.fract() == 0.0 {
        // Exact for small whole numbers: (x-1)!
        return (1..x as u64).map(|k| k as f64).product();
    }
    const G: [f64; 8] = [
        676.5203681218851,
        -1259.1392167224028,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507343278686905,
        -0.13857109526572012,
        9.984_369_578_019_572e-6,
        1.5056327351493116e-7,
    ];
    if x < 0.5 {
        return std::f64::consts::PI / ((std::f64::consts::PI * x).sin() * gamma(1.0 - x));
    }
    let x = x - 1.0;
    let mut acc = 0.999_999_999_999_809_9;
    for (i, g) in G.iter().enumerate() {
        acc += g / (x + i as f64 + 1.0);
    }
    let t = x + G.len() as f64 - 0.5;
    (2.0 * std::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * acc
}
