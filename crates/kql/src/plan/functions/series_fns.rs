//! Series (dynamic numeric array) functions: fills, element-wise arithmetic, statistics,
//! line fitting, outliers and anomaly decomposition. Functions that Kusto expands into
//! several columns (`series_stats`, `series_fit_line`, `series_decompose_anomalies`)
//! return a bag here; the planner spreads its fields over the columns.

use serde_json::{json, Map, Value as Json};

use super::rowfn::{t_dynamic, Def};
use super::value::V;

pub static DEFS: &[Def] = &[
    Def::new("series_fill_forward", 1, 2, t_dynamic, |a| {
        fill(a, Fill::Forward)
    }),
    Def::new("series_fill_backward", 1, 2, t_dynamic, |a| {
        fill(a, Fill::Backward)
    }),
    Def::new("series_fill_linear", 1, 4, t_dynamic, |a| {
        fill(a, Fill::Linear)
    }),
    Def::new("series_fill_const", 2, 3, t_dynamic, fill_const),
    Def::new("series_add", 2, 2, t_dynamic, |a| {
        elementwise(a, |x, y| x + y)
    }),
    Def::new("series_subtract", 2, 2, t_dynamic, |a| {
        elementwise(a, |x, y| x - y)
    }),
    Def::new("series_multiply", 2, 2, t_dynamic, |a| {
        elementwise(a, |x, y| x * y)
    }),
    Def::new("series_divide", 2, 2, t_dynamic, |a| {
        elementwise(a, |x, y| x / y)
    }),
    Def::new("series_stats_dynamic", 1, 2, t_dynamic, stats),
    Def::new("series_stats", 1, 2, t_dynamic, stats),
    Def::new("series_fit_line_dynamic", 1, 1, t_dynamic, fit_line),
    Def::new("series_fit_line", 1, 1, t_dynamic, fit_line),
    Def::new("series_outliers", 1, 5, t_dynamic, outliers),
    Def::new(
        "series_decompose_anomalies",
        1,
        5,
        t_dynamic,
        decompose_anomalies,
    ),
];

/// Numbers of a series; null, missing and non-numeric elements are `None`.
fn numbers(v: &V) -> Option<Vec<Option<f64>>> {
    v.array()
        .map(|x| x.iter().map(Json::as_f64).collect::<Vec<_>>())
}

fn num(v: f64) -> Json {
    serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number)
}

fn to_json(x: &[Option<f64>]) -> V {
    V::Dyn(Json::Array(
        x.iter().map(|v| v.map(num).unwrap_or(Json::Null)).collect(),
    ))
}

enum Fill {
    Forward,
    Backward,
    Linear,
}

/// Elements equal to the placeholder (default: null) count as missing.
fn missing(a: &[V]) -> Option<Vec<Option<f64>>> {
    let mut x = numbers(&a[0])?;
    if let Some(p) = a.get(1).and_then(V::f64) {
        for v in x.iter_mut() {
            if *v == Some(p) {
                *v = None;
            }
        }
    }
    Some(x)
}

fn fill(a: &[V], how: Fill) -> V {
    let Some(mut x) = missing(a) else {
        return V::Null;
    };
    match how {
        Fill::Forward => {
            let mut last = None;
            for v in x.iter_mut() {
                match v {
                    Some(n) => last = Some(*n),
                    None => *v = last,
                }
            }
        }
        Fill::Backward => {
            let mut next = None;
            for v in x.iter_mut().rev() {
                match v {
                    Some(n) => next = Some(*n),
                    None => *v = next,
                }
            }
        }
        Fill::Linear => {
            let known: Vec<usize> = (0..x.len()).filter(|i| x[*i].is_some()).collect();
            let fill_edges = !matches!(a.get(2), Some(V::Bool(false)));
            for w in known.windows(2) {
                let (i, j) = (w[0], w[1]);
                let (a0, b0) = (x[i].unwrap_or(0.0), x[j].unwrap_or(0.0));
                for (k, slot) in x.iter_mut().enumerate().take(j).skip(i + 1) {
                    *slot = Some(a0 + (b0 - a0) * (k - i) as f64 / (j - i) as f64);
                }
            }
            if fill_edges {
                if let (Some(first), Some(last)) = (known.first(), known.last()) {
                    let (fv, lv) = (x[*first], x[*last]);
                    x[..*first].iter_mut().for_each(|v| *v = fv);
                    x[*last + 1..].iter_mut().for_each(|v| *v = lv);
                }
            } else if let Some(c) = a.get(3).and_then(V::f64) {
                x.iter_mut()
                    .filter(|v| v.is_none())
                    .for_each(|v| *v = Some(c));
            }
        }
    }
    to_json(&x)
}

fn fill_const(a: &[V]) -> V {
    let c = a[1].f64();
    let args = [a[0].clone(), a.get(2).cloned().unwrap_or(V::Null)];
    let Some(mut x) = missing(&args) else {
        return V::Null;
    };
    x.iter_mut().filter(|v| v.is_none()).for_each(|v| *v = c);
    to_json(&x)
}

fn elementwise(a: &[V], f: fn(f64, f64) -> f64) -> V {
    let side = |v: &V| -> Result<Vec<Option<f64>>, Option<f64>> {
        match numbers(v) {
            Some(x) => Ok(x),
            None => Err(v.f64()),
        }
    };
    let (l, r) = (side(&a[0]), side(&a[1]));
    let n = match (&l, &r) {
        (Ok(x), Ok(y)) => x.len().max(y.len()),
        (Ok(x), Err(_)) | (Err(_), Ok(x)) => x.len(),
        _ => return V::Null,
    };
    let at = |s: &Result<Vec<Option<f64>>, Option<f64>>, i: usize| match s {
        Ok(x) => x.get(i).copied().flatten(),
        Err(c) => *c,
    };
    let out: Vec<Option<f64>> = (0..n)
        .map(|i| match (at(&l, i), at(&r, i)) {
            (Some(x), Some(y)) => Some(f(x, y)),
            _ => None,
        })
        .collect();
    to_json(&out)
}

fn stats(a: &[V]) -> V {
    let Some(x) = numbers(&a[0]) else {
        return V::Null;
    };
    let ignore = a.get(1).and_then(V::f64);
    let vals: Vec<(usize, f64)> = x
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            v.filter(|v| Some(*v) != ignore && !v.is_nan())
                .map(|v| (i, v))
        })
        .collect();
    if vals.is_empty() {
        return V::Dyn(
            json!({"min": null, "min_idx": null, "max": null, "max_idx": null,
            "avg": null, "stdev": null, "variance": null}),
        );
    }
    let (mut min, mut max) = (vals[0], vals[0]);
    for v in &vals {
        if v.1 < min.1 {
            min = *v;
        }
        if v.1 > max.1 {
            max = *v;
        }
    }
    let n = vals.len() as f64;
    let avg = vals.iter().map(|v| v.1).sum::<f64>() / n;
    let variance = if vals.len() > 1 {
        vals.iter().map(|v| (v.1 - avg).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    let mut m = Map::new();
    m.insert("min".into(), num(min.1));
    m.insert("min_idx".into(), json!(min.0));
    m.insert("max".into(), num(max.1));
    m.insert("max_idx".into(), json!(max.0));
    m.insert("avg".into(), num(avg));
    m.insert("stdev".into(), num(variance.sqrt()));
    m.insert("variance".into(), num(variance));
    V::Dyn(Json::Object(m))
}

/// Least-squares line over x = 1..n (Kusto's convention).
fn line(y: &[f64]) -> (f64, f64) {
    let n = y.len() as f64;
    let xs = (1..=y.len()).map(|i| i as f64);
    let mx = (n + 1.0) / 2.0;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, v) in xs.zip(y) {
        sxy += (x - mx) * (v - my);
        sxx += (x - mx) * (x - mx);
    }
    let slope = if sxx == 0.0 { 0.0 } else { sxy / sxx };
    (slope, my - slope * mx)
}

fn fit_line(a: &[V]) -> V {
    let Some(x) = numbers(&a[0]) else {
        return V::Null;
    };
    let y: Vec<f64> = x.iter().map(|v| v.unwrap_or(0.0)).collect();
    if y.is_empty() {
        return V::Null;
    }
    let (slope, interception) = line(&y);
    let fit: Vec<f64> = (1..=y.len())
        .map(|i| interception + slope * i as f64)
        .collect();
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let variance = y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let rvariance = y
        .iter()
        .zip(&fit)
        .map(|(v, f)| (v - f).powi(2))
        .sum::<f64>()
        / n;
    let rsquare = if variance == 0.0 {
        1.0
    } else {
        1.0 - rvariance / variance
    };
    V::Dyn(json!({
        "rsquare": num(rsquare),
        "slope": num(slope),
        "variance": num(variance),
        "rvariance": num(rvariance),
        "interception": num(interception),
        "line_fit": fit.into_iter().map(num).collect::<Vec<_>>(),
    }))
}

/// Linear-interpolated percentile of sorted values (p in 0..=100).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

/// Tukey-fence scores: 0 inside [P_lo, P_hi], else the distance past the fence in units
/// of the inter-percentile range (negative below).
fn tukey_scores(x: &[f64], lo: f64, hi: f64) -> Vec<f64> {
    let mut sorted: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let (p_lo, p_hi) = (percentile(&sorted, lo), percentile(&sorted, hi));
    let range = p_hi - p_lo;
    x.iter()
        .map(|v| {
            if range <= 0.0 || !v.is_finite() {
                0.0
            } else if *v > p_hi {
                (v - p_hi) / range
            } else if *v < p_lo {
                (v - p_lo) / range
            } else {
                0.0
            }
        })
        .collect()
}

fn outliers(a: &[V]) -> V {
    let Some(x) = numbers(&a[0]) else {
        return V::Null;
    };
    let y: Vec<f64> = x.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
    let lo = a.get(3).and_then(V::f64).unwrap_or(10.0);
    let hi = a.get(4).and_then(V::f64).unwrap_or(90.0);
    let scores = tukey_scores(&y, lo, hi);
    to_json(&scores.into_iter().map(Some).collect::<Vec<_>>())
}

/// Seasonal + trend decomposition, then Tukey scores of the residual. Returns a bag with
/// `ad_flag`, `ad_score` and `baseline`.
fn decompose_anomalies(a: &[V]) -> V {
    let Some(x) = numbers(&a[0]) else {
        return V::Null;
    };
    let y: Vec<f64> = x.iter().map(|v| v.unwrap_or(0.0)).collect();
    let threshold = a.get(1).and_then(V::f64).unwrap_or(1.5);
    let period = a.get(2).and_then(V::i64).unwrap_or(-1);
    let trend_kind = a
        .get(3)
        .map(|v| v.text().into_owned())
        .unwrap_or_else(|| "linefit".into());
    let n = y.len();
    let trend: Vec<f64> = match trend_kind.as_str() {
        "avg" => vec![y.iter().sum::<f64>() / n.max(1) as f64; n],
        "none" => vec![0.0; n],
        _ if n > 0 => {
            let (slope, b) = line(&y);
            (1..=n).map(|i| b + slope * i as f64).collect()
        }
        _ => vec![],
    };
    let detrended: Vec<f64> = y.iter().zip(&trend).map(|(v, t)| v - t).collect();
    let seasonal: Vec<f64> = if period > 1 && (period as usize) < n {
        let p = period as usize;
        let means: Vec<f64> = (0..p)
            .map(|k| {
                let vals: Vec<f64> = detrended.iter().skip(k).step_by(p).copied().collect();
                let mut s = vals.clone();
                s.sort_by(|a, b| a.total_cmp(b));
                percentile(&s, 50.0)
            })
            .collect();
        (0..n).map(|i| means[i % p]).collect()
    } else {
        vec![0.0; n]
    };
    let baseline: Vec<f64> = trend.iter().zip(&seasonal).map(|(t, s)| t + s).collect();
    let residual: Vec<f64> = y.iter().zip(&baseline).map(|(v, b)| v - b).collect();
    // Kusto's ctukey uses the 10th and 90th percentiles.
    let scores = tukey_scores(&residual, 10.0, 90.0);
    let flags: Vec<Json> = scores
        .iter()
        .map(|s| {
            json!(if *s > threshold {
                1
            } else if *s < -threshold {
                -1
            } else {
                0
            })
        })
        .collect();
    V::Dyn(json!({
        "ad_flag": flags,
        "ad_score": scores.into_iter().map(num).collect::<Vec<_>>(),
        "baseline": baseline.into_iter().map(num).collect::<Vec<_>>(),
    }))
}
