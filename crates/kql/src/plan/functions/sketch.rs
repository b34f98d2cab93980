//! Aggregates that collect a summary and finish it at the end, as one DataFusion UDAF:
//! nearest-rank `percentile(s)`, `percentiles_array`, `make_bag`, `hll`/`hll_merge` and
//! `tdigest`/`tdigest_merge`.
//!
//! Percentiles keep the exact values of a group up to [`EXACT_VALUES`] and answer with
//! the nearest rank (Kusto's definition); past that the values fold into a t-digest
//! and the answer is its estimate, as Kusto's is. `hll` is a HyperLogLog with 2^14
//! registers; `dcount_hll` (a scalar function here) estimates from it. The partial
//! state of every kind travels between aggregation phases as one JSON text.

use std::sync::Arc;

use base64::Engine;
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};
use datafusion_functions_aggregate_common::tdigest::{Centroid, TDigest};
use serde_json::{json, Map, Value as Json};

use super::value::{cell, kusto_type, V};
use crate::types::KustoType;

/// Values a group keeps exactly before it folds them into a t-digest.
pub const EXACT_VALUES: usize = 100_000;
/// Centroids of the t-digest.
const DIGEST_SIZE: usize = 500;
/// HyperLogLog precision: 2^14 registers, about 0.8% standard error.
const HLL_P: u32 = 14;

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A nearest-rank percentile (0..=100) in the input's type.
    Percentile(f64),
    /// Several, as a list of the input's type.
    Percentiles(Vec<f64>),
    /// The same as a dynamic array.
    PercentilesArray(Vec<f64>),
    /// Property bags merged, up to this many keys.
    MakeBag(usize),
    Hll,
    HllMerge,
    TDigest,
    TDigestMerge,
}

#[derive(Debug)]
pub struct SketchAgg {
    name: String,
    /// Whether the input is an integer type (`percentiles_array` answers in integers).
    integral: bool,
    kind: Kind,
    /// The output's Arrow type (for percentiles, a list of the input type).
    ret: DataType,
    signature: Signature,
}

impl PartialEq for SketchAgg {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.kind == other.kind && self.ret == other.ret
    }
}

impl Eq for SketchAgg {}

impl std::hash::Hash for SketchAgg {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

/// The UDAF of `kind` for an input of Arrow type `input`.
pub fn udaf(kind: Kind, input: &DataType) -> AggregateUDF {
    let (name, ret) = match &kind {
        Kind::Percentile(_) => ("kusto_percentile", percentile_type(input)),
        Kind::Percentiles(_) => (
            "kusto_percentiles",
            DataType::List(Arc::new(Field::new_list_field(
                percentile_type(input),
                true,
            ))),
        ),
        Kind::PercentilesArray(_) => ("kusto_percentiles_array", DataType::Utf8),
        Kind::MakeBag(_) => ("make_bag", DataType::Utf8),
        Kind::Hll => ("hll", DataType::Utf8),
        Kind::HllMerge => ("hll_merge", DataType::Utf8),
        Kind::TDigest => ("tdigest", DataType::Utf8),
        Kind::TDigestMerge => ("tdigest_merge", DataType::Utf8),
    };
    // The parameters are part of the name: DataFusion treats two aggregate calls with
    // the same name and arguments as one.
    let name = match &kind {
        Kind::Percentile(p) => format!("{name}_{p}"),
        Kind::Percentiles(ps) | Kind::PercentilesArray(ps) => format!("{name}_{ps:?}"),
        Kind::MakeBag(max) => format!("{name}_{max}"),
        _ => name.to_string(),
    };
    let integral = matches!(input, DataType::Int32 | DataType::Int64);
    AggregateUDF::new_from_impl(SketchAgg {
        name,
        integral,
        kind,
        ret,
        signature: Signature::variadic_any(Volatility::Immutable),
    })
}

/// Percentiles answer in the input's type when it is a number, datetime or timespan.
fn percentile_type(input: &DataType) -> DataType {
    match input {
        DataType::Int32
        | DataType::Int64
        | DataType::Float64
        | DataType::Timestamp(..)
        | DataType::Duration(_) => input.clone(),
        _ => DataType::Float64,
    }
}

impl AggregateUDFImpl for SketchAgg {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(self.ret.clone())
    }

    fn return_field(&self, _: &[FieldRef]) -> DfResult<FieldRef> {
        Ok(Arc::new(match &self.ret {
            DataType::Utf8 => KustoType::Dynamic.field(&self.name),
            other => Field::new(&self.name, other.clone(), true),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}_state", args.name),
            DataType::Utf8,
            true,
        ))])
    }

    fn accumulator(&self, _: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        let state = match &self.kind {
            Kind::Percentile(_)
            | Kind::Percentiles(_)
            | Kind::PercentilesArray(_)
            | Kind::TDigest
            | Kind::TDigestMerge => State::Values(Values::default()),
            Kind::MakeBag(_) => State::Bag(Map::new()),
            Kind::Hll | Kind::HllMerge => State::Hll(Hll::new()),
        };
        Ok(Box::new(SketchAcc {
            integral: self.integral,
            kind: self.kind.clone(),
            ret: self.ret.clone(),
            state,
        }))
    }
}

#[derive(Debug)]
enum State {
    Values(Values),
    Bag(Map<String, Json>),
    Hll(Hll),
}

#[derive(Debug)]
struct SketchAcc {
    integral: bool,
    kind: Kind,
    ret: DataType,
    state: State,
}

impl Accumulator for SketchAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let Some(a) = values.first() else {
            return Ok(());
        };
        let ty = kusto_type(&Field::new("x", a.data_type().clone(), true));
        match (&mut self.state, &self.kind) {
            (State::Values(v), Kind::TDigestMerge) => {
                for s in strings(a) {
                    if let Ok(j) = serde_json::from_str::<Json>(s) {
                        v.merge_json(&j);
                    }
                }
            }
            (State::Values(v), _) => v.add_array(a),
            (State::Bag(bag), Kind::MakeBag(max)) => {
                for s in strings(a) {
                    if let Ok(Json::Object(m)) = serde_json::from_str::<Json>(s) {
                        for (k, x) in m {
                            if bag.len() < *max && !bag.contains_key(&k) {
                                bag.insert(k, x);
                            }
                        }
                    }
                }
            }
            (State::Hll(h), Kind::HllMerge) => {
                for s in strings(a) {
                    if let Ok(j) = serde_json::from_str::<Json>(s) {
                        h.merge_json(&j);
                    }
                }
            }
            (State::Hll(h), _) => {
                for i in 0..a.len() {
                    match cell(a, ty, i) {
                        V::Null => {}
                        V::Str(s) => h.add(s.as_bytes()),
                        other => h.add(other.json().to_string().as_bytes()),
                    }
                }
            }
            (State::Bag(_), _) => {}
        }
        Ok(())
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        let text = |j: Json| ScalarValue::Utf8(Some(j.to_string()));
        Ok(match (&mut self.state, &self.kind) {
            (State::Values(v), Kind::Percentile(p)) => scalar_of(v.percentile(*p), &self.ret)?,
            (State::Values(v), Kind::Percentiles(ps)) => {
                let DataType::List(item) = &self.ret else {
                    return Ok(ScalarValue::Null);
                };
                let values: Vec<ScalarValue> = ps
                    .iter()
                    .map(|p| scalar_of(v.percentile(*p), item.data_type()))
                    .collect::<DfResult<_>>()?;
                ScalarValue::List(ScalarValue::new_list_nullable(&values, item.data_type()))
            }
            (State::Values(v), Kind::PercentilesArray(ps)) => {
                if v.count() == 0 {
                    text(Json::Array(vec![]))
                } else {
                    let integral = self.integral;
                    text(Json::Array(
                        ps.iter()
                            .map(|p| match v.percentile(*p) {
                                Some(x) if integral => json!(x.round() as i64),
                                x => json!(x),
                            })
                            .collect(),
                    ))
                }
            }
            (State::Values(v), _) => text(v.to_json()),
            (State::Bag(b), _) => text(Json::Object(b.clone())),
            (State::Hll(h), _) => text(h.to_json()),
        })
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + match &self.state {
                State::Values(v) => v.raw.capacity() * 8 + DIGEST_SIZE * 16,
                State::Bag(b) => b.len() * 64,
                State::Hll(h) => h.registers.len(),
            }
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        let j = match &self.state {
            State::Values(v) => v.to_json(),
            State::Bag(b) => Json::Object(b.clone()),
            State::Hll(h) => h.to_json(),
        };
        Ok(vec![ScalarValue::Utf8(Some(j.to_string()))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let Some(a) = states.first() else {
            return Ok(());
        };
        for s in strings(a) {
            let Ok(j) = serde_json::from_str::<Json>(s) else {
                continue;
            };
            match &mut self.state {
                State::Values(v) => v.merge_json(&j),
                State::Bag(b) => {
                    if let Json::Object(m) = j {
                        let max = match self.kind {
                            Kind::MakeBag(max) => max,
                            _ => usize::MAX,
                        };
                        for (k, x) in m {
                            if b.len() < max && !b.contains_key(&k) {
                                b.insert(k, x);
                            }
                        }
                    }
                }
                State::Hll(h) => h.merge_json(&j),
            }
        }
        Ok(())
    }
}

/// The non-null texts of a string column.
fn strings(a: &ArrayRef) -> impl Iterator<Item = &str> {
    let s = a.as_string_opt::<i32>();
    (0..a.len()).filter_map(move |i| s.filter(|s| s.is_valid(i)).map(|s| s.value(i)))
}

fn scalar_of(v: Option<f64>, ty: &DataType) -> DfResult<ScalarValue> {
    match ty {
        DataType::Float64 => Ok(ScalarValue::Float64(v)),
        // Integers, datetimes and timespans: the value rounded, in that type.
        _ => ScalarValue::Int64(v.map(|x| x.round() as i64)).cast_to(ty),
    }
}

/// Numbers of a group: exact up to [`EXACT_VALUES`], then a t-digest.
#[derive(Debug, Default)]
pub struct Values {
    raw: Vec<f64>,
    digest: Option<TDigest>,
}

impl Values {
    fn count(&self) -> usize {
        self.raw.len() + self.digest.as_ref().map_or(0, |d| d.count() as usize)
    }

    fn add_array(&mut self, a: &ArrayRef) {
        let ty = kusto_type(&Field::new("x", a.data_type().clone(), true));
        match a.data_type() {
            DataType::Float64 => {
                let p = a.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
                self.raw.extend(p.iter().flatten().filter(|x| !x.is_nan()));
            }
            _ => {
                for i in 0..a.len() {
                    let x = match cell(a, ty, i) {
                        V::DateTime(t) | V::Timespan(t) => Some(t as f64),
                        other => other.f64(),
                    };
                    if let Some(x) = x.filter(|x| !x.is_nan()) {
                        self.raw.push(x);
                    }
                }
            }
        }
        if self.raw.len() > EXACT_VALUES {
            self.fold();
        }
    }

    fn fold(&mut self) {
        let raw = std::mem::take(&mut self.raw);
        let d = self
            .digest
            .take()
            .unwrap_or_else(|| TDigest::new(DIGEST_SIZE));
        self.digest = Some(d.merge_unsorted_f64(raw));
    }

    /// The nearest-rank `p`th percentile (exact while the values are kept).
    pub fn percentile(&mut self, p: f64) -> Option<f64> {
        if self.digest.is_some() {
            if !self.raw.is_empty() {
                self.fold();
            }
            let d = self.digest.as_ref()?;
            return (d.count() > 0.0).then(|| d.estimate_quantile(p / 100.0));
        }
        if self.raw.is_empty() {
            return None;
        }
        self.raw.sort_unstable_by(f64::total_cmp);
        let n = self.raw.len();
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        Some(self.raw[rank.clamp(1, n) - 1])
    }

    fn to_json(&self) -> Json {
        let mut o = Map::new();
        o.insert("values".into(), json!(self.raw));
        if let Some(d) = &self.digest {
            let c: Vec<f64> = d
                .centroids()
                .iter()
                .flat_map(|c| [c.mean(), c.weight()])
                .collect();
            o.insert(
                "digest".into(),
                json!({"sum": d.sum(), "count": d.count(), "min": d.min(), "max": d.max(), "centroids": c}),
            );
        }
        Json::Object(o)
    }

    /// Merges a state or a `tdigest()` value.
    pub fn merge_json(&mut self, j: &Json) {
        if let Some(vs) = j.get("values").and_then(Json::as_array) {
            self.raw.extend(vs.iter().filter_map(Json::as_f64));
        }
        if let Some(d) = j.get("digest").and_then(digest_of) {
            self.digest = Some(match self.digest.take() {
                Some(mine) => TDigest::merge_digests([&mine, &d]),
                None => d,
            });
        }
        if self.raw.len() > EXACT_VALUES {
            self.fold();
        }
    }
}

fn digest_of(j: &Json) -> Option<TDigest> {
    let f = |k: &str| j.get(k).and_then(Json::as_f64);
    let c = j.get("centroids")?.as_array()?;
    let centroids = c
        .chunks(2)
        .filter_map(|p| Some(Centroid::new(p.first()?.as_f64()?, p.get(1)?.as_f64()?)))
        .collect();
    TDigest::try_from_parts(
        DIGEST_SIZE,
        f("sum")?,
        f("count")?,
        f("max")?,
        f("min")?,
        centroids,
    )
    .ok()
}

/// The `p`th percentile of a `tdigest()` value (`percentile_tdigest`).
pub fn digest_percentile(j: &Json, p: f64) -> Option<f64> {
    let mut v = Values::default();
    v.merge_json(j);
    v.percentile(p)
}

/// A HyperLogLog sketch.
#[derive(Debug)]
pub struct Hll {
    registers: Vec<u8>,
}

impl Hll {
    pub fn new() -> Hll {
        Hll {
            registers: vec![0; 1 << HLL_P],
        }
    }

    fn add(&mut self, bytes: &[u8]) {
        let h = twox_hash::XxHash64::oneshot(0x4544_4459, bytes);
        let idx = (h >> (64 - HLL_P)) as usize;
        let rest = (h << HLL_P) | (1 << (HLL_P - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if self.registers[idx] < rank {
            self.registers[idx] = rank;
        }
    }

    /// `{"hll": 14, "registers": base64}`: the dense registers.
    fn to_json(&self) -> Json {
        json!({
            "hll": HLL_P,
            "registers": base64::engine::general_purpose::STANDARD.encode(&self.registers),
        })
    }

    pub fn from_json(j: &Json) -> Option<Hll> {
        if j.get("hll")?.as_u64()? != HLL_P as u64 {
            return None;
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(j.get("registers")?.as_str()?)
            .ok()?;
        (bytes.len() == 1 << HLL_P).then_some(Hll { registers: bytes })
    }

    fn merge_json(&mut self, j: &Json) {
        if let Some(other) = Hll::from_json(j) {
            for (a, b) in self.registers.iter_mut().zip(other.registers) {
                *a = (*a).max(b);
            }
        }
    }

    /// The distinct-count estimate: linear counting while registers are empty enough,
    /// else the bias-corrected harmonic mean.
    pub fn estimate(&self) -> i64 {
        let m = self.registers.len() as f64;
        let zeros = self.registers.iter().filter(|r| **r == 0).count() as f64;
        let sum: f64 = self.registers.iter().map(|r| 2f64.powi(-(*r as i32))).sum();
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        let e = if raw <= 2.5 * m && zeros > 0.0 {
            m * (m / zeros).ln()
        } else {
            raw
        };
        e.round() as i64
    }
}

impl Default for Hll {
    fn default() -> Self {
        Hll::new()
    }
}
