//! `arg_max(by, x)` / `arg_min(by, x)` for one returned column: the value of `x` on the
//! row where `by` is largest (smallest). Rows whose `by` is null are skipped; among
//! equal maxima the first row seen wins.
//!
//! A grouped accumulator keeps one key and one value per group and copies the value
//! only when a row beats the group's best, which for unordered data is a handful of
//! times per group; numeric and time keys are compared without boxing.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::datatypes::{
    DataType, DurationMicrosecondType, Field, FieldRef, Float64Type, Int32Type, Int64Type,
    TimeUnit, TimestampMicrosecondType,
};
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ArgExtreme {
    name: String,
    max: bool,
    signature: Signature,
}

pub fn udaf(max: bool) -> AggregateUDF {
    AggregateUDF::new_from_impl(ArgExtreme {
        name: if max {
            "kusto_arg_max"
        } else {
            "kusto_arg_min"
        }
        .into(),
        max,
        signature: Signature::any(2, Volatility::Immutable),
    })
}

impl AggregateUDFImpl for ArgExtreme {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> DfResult<DataType> {
        Ok(args[1].clone())
    }

    /// The returned column keeps the value's field metadata (its Kusto type).
    fn return_field(&self, args: &[FieldRef]) -> DfResult<FieldRef> {
        Ok(Arc::new(
            args[1]
                .as_ref()
                .clone()
                .with_name(&self.name)
                .with_nullable(true),
        ))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format!("{}_by", args.name),
                args.input_fields[0].data_type().clone(),
                true,
            )),
            Arc::new(
                args.input_fields[1]
                    .as_ref()
                    .clone()
                    .with_name(format!("{}_value", args.name))
                    .with_nullable(true),
            ),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        Ok(Box::new(Single {
            groups: Groups::new(self.max, &args),
        }))
    }

    fn groups_accumulator_supported(&self, _: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> DfResult<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(Groups::new(self.max, &args)))
    }
}

/// A group's best key.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Key {
    None,
    Int(i64),
    Real(f64),
    Other(ScalarValue),
}

/// Reads keys of one array without boxing the common types.
enum Keys<'a> {
    Int32(&'a datafusion::arrow::array::PrimitiveArray<Int32Type>),
    Int64(&'a datafusion::arrow::array::PrimitiveArray<Int64Type>),
    Time(&'a datafusion::arrow::array::PrimitiveArray<TimestampMicrosecondType>),
    Span(&'a datafusion::arrow::array::PrimitiveArray<DurationMicrosecondType>),
    Real(&'a datafusion::arrow::array::PrimitiveArray<Float64Type>),
    Other(&'a ArrayRef),
}

impl<'a> Keys<'a> {
    fn of(a: &'a ArrayRef) -> Keys<'a> {
        match a.data_type() {
            DataType::Int32 => Keys::Int32(a.as_primitive()),
            DataType::Int64 => Keys::Int64(a.as_primitive()),
            DataType::Timestamp(_, _)
                if a.as_primitive_opt::<TimestampMicrosecondType>().is_some() =>
            {
                Keys::Time(a.as_primitive())
            }
            DataType::Duration(_) if a.as_primitive_opt::<DurationMicrosecondType>().is_some() => {
                Keys::Span(a.as_primitive())
            }
            DataType::Float64 => Keys::Real(a.as_primitive()),
            _ => Keys::Other(a),
        }
    }

    /// The key of row `i` (None for null; NaN counts as null).
    fn get(&self, i: usize) -> DfResult<Key> {
        Ok(match self {
            Keys::Int32(p) => p.is_valid(i).then(|| Key::Int(p.value(i) as i64)),
            Keys::Int64(p) => p.is_valid(i).then(|| Key::Int(p.value(i))),
            Keys::Time(p) => p.is_valid(i).then(|| Key::Int(p.value(i))),
            Keys::Span(p) => p.is_valid(i).then(|| Key::Int(p.value(i))),
            Keys::Real(p) => (p.is_valid(i) && !p.value(i).is_nan()).then(|| Key::Real(p.value(i))),
            Keys::Other(a) => a
                .is_valid(i)
                .then(|| ScalarValue::try_from_array(a, i))
                .transpose()?
                .map(Key::Other),
        }
        .unwrap_or(Key::None))
    }

    /// The array of `keys` in the type of this array (for the partial state).
    fn to_array(keys: &[Key], ty: &DataType) -> DfResult<ArrayRef> {
        let scalars = keys.iter().map(|k| -> DfResult<ScalarValue> {
            let s = match k {
                Key::None => ScalarValue::try_from(ty)?,
                Key::Int(v) => ScalarValue::Int64(Some(*v)).cast_to(ty)?,
                Key::Real(v) => ScalarValue::Float64(Some(*v)),
                Key::Other(s) => s.clone(),
            };
            Ok(s)
        });
        let scalars: Vec<ScalarValue> = scalars.collect::<DfResult<_>>()?;
        if scalars.is_empty() {
            return Ok(datafusion::arrow::array::new_empty_array(ty));
        }
        ScalarValue::iter_to_array(scalars)
    }
}

/// The values of the groups: integers, times and reals unboxed (time-ordered data
/// improves a group's best on nearly every row), anything else as scalars.
#[derive(Debug)]
enum Slots {
    /// int, long, datetime (µs), timespan (µs).
    Int(Vec<Option<i64>>),
    Real(Vec<Option<f64>>),
    Other(Vec<ScalarValue>),
}

impl Slots {
    fn new(ty: &DataType) -> Slots {
        match ty {
            DataType::Int32
            | DataType::Int64
            | DataType::Timestamp(TimeUnit::Microsecond, _)
            | DataType::Duration(TimeUnit::Microsecond) => Slots::Int(vec![]),
            DataType::Float64 => Slots::Real(vec![]),
            _ => Slots::Other(vec![]),
        }
    }

    fn len(&self) -> usize {
        match self {
            Slots::Int(v) => v.len(),
            Slots::Real(v) => v.len(),
            Slots::Other(v) => v.len(),
        }
    }

    fn resize(&mut self, n: usize, ty: &DataType) -> DfResult<()> {
        match self {
            Slots::Int(v) => v.resize(n, None),
            Slots::Real(v) => v.resize(n, None),
            Slots::Other(v) => v.resize(n, ScalarValue::try_from(ty)?),
        }
        Ok(())
    }

    fn set(&mut self, g: usize, x: &ArrayRef, row: usize) -> DfResult<()> {
        let valid = x.is_valid(row);
        match self {
            Slots::Int(v) => {
                v[g] = valid.then(|| match x.data_type() {
                    DataType::Int32 => x.as_primitive::<Int32Type>().value(row) as i64,
                    DataType::Int64 => x.as_primitive::<Int64Type>().value(row),
                    DataType::Timestamp(..) => {
                        x.as_primitive::<TimestampMicrosecondType>().value(row)
                    }
                    _ => x.as_primitive::<DurationMicrosecondType>().value(row),
                })
            }
            Slots::Real(v) => v[g] = valid.then(|| x.as_primitive::<Float64Type>().value(row)),
            Slots::Other(v) => v[g] = ScalarValue::try_from_array(x, row)?,
        }
        Ok(())
    }

    fn take(&mut self, emit_to: EmitTo) -> Slots {
        match self {
            Slots::Int(v) => Slots::Int(emit_to.take_needed(v)),
            Slots::Real(v) => Slots::Real(emit_to.take_needed(v)),
            Slots::Other(v) => Slots::Other(emit_to.take_needed(v)),
        }
    }

    fn into_array(self, ty: &DataType) -> DfResult<ArrayRef> {
        use datafusion::arrow::array::{
            DurationMicrosecondArray, Float64Array, Int32Array, Int64Array,
            TimestampMicrosecondArray,
        };
        Ok(match self {
            Slots::Int(v) => match ty {
                DataType::Int32 => Arc::new(
                    v.into_iter()
                        .map(|x| x.map(|x| x as i32))
                        .collect::<Int32Array>(),
                ),
                DataType::Timestamp(_, tz) => {
                    Arc::new(TimestampMicrosecondArray::from(v).with_timezone_opt(tz.clone()))
                }
                DataType::Duration(_) => Arc::new(DurationMicrosecondArray::from(v)),
                _ => Arc::new(Int64Array::from(v)),
            },
            Slots::Real(v) => Arc::new(Float64Array::from(v)),
            Slots::Other(v) if v.is_empty() => datafusion::arrow::array::new_empty_array(ty),
            Slots::Other(v) => ScalarValue::iter_to_array(v)?,
        })
    }

    fn bytes(&self) -> usize {
        match self {
            Slots::Int(v) => v.capacity() * 16,
            Slots::Real(v) => v.capacity() * 16,
            Slots::Other(v) => v.capacity() * std::mem::size_of::<ScalarValue>(),
        }
    }
}

#[derive(Debug)]
struct Groups {
    max: bool,
    value_type: DataType,
    key_type: Option<DataType>,
    best: Vec<Key>,
    values: Slots,
}

impl Groups {
    /// The key type comes from the arguments: a partial accumulator that sees no row
    /// still states its keys in that type.
    fn new(max: bool, args: &AccumulatorArgs) -> Groups {
        let value_type = args.return_field.data_type().clone();
        Groups {
            max,
            values: Slots::new(&value_type),
            value_type,
            key_type: args.expr_fields.first().map(|f| f.data_type().clone()),
            best: vec![],
        }
    }

    fn beats(&self, k: &Key, best: &Key) -> bool {
        if *k == Key::None {
            return false;
        }
        if *best == Key::None {
            return true;
        }
        let ord = k.partial_cmp(best);
        if self.max {
            ord == Some(std::cmp::Ordering::Greater)
        } else {
            ord == Some(std::cmp::Ordering::Less)
        }
    }

    fn add(
        &mut self,
        by: &ArrayRef,
        x: &ArrayRef,
        groups: &[usize],
        filter: Option<&BooleanArray>,
        total: usize,
    ) -> DfResult<()> {
        self.key_type.get_or_insert_with(|| by.data_type().clone());
        if self.best.len() < total {
            self.best.resize(total, Key::None);
            self.values.resize(total, &self.value_type)?;
        }
        if filter.is_none() && self.add_numeric(by, x, groups) {
            return Ok(());
        }
        let keys = Keys::of(by);
        for (row, &g) in groups.iter().enumerate() {
            if filter.is_some_and(|f| !f.is_valid(row) || !f.value(row)) {
                continue;
            }
            let k = keys.get(row)?;
            if self.beats(&k, &self.best[g]) {
                self.best[g] = k;
                self.values.set(g, x, row)?;
            }
        }
        Ok(())
    }

    /// The common case without boxing or per-row type dispatch: 64-bit integer or
    /// time keys and number or time values. False when it does not apply.
    fn add_numeric(&mut self, by: &ArrayRef, x: &ArrayRef, groups: &[usize]) -> bool {
        let keys: &[i64] = match by.data_type() {
            DataType::Int64 => by.as_primitive::<Int64Type>().values(),
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                by.as_primitive::<TimestampMicrosecondType>().values()
            }
            DataType::Duration(TimeUnit::Microsecond) => {
                by.as_primitive::<DurationMicrosecondType>().values()
            }
            _ => return false,
        };
        let (key_nulls, x_nulls) = (by.logical_nulls(), x.logical_nulls());
        let max = self.max;
        let best = &mut self.best;
        macro_rules! run {
            ($vals:expr, $xs:expr) => {{
                for (row, &g) in groups.iter().enumerate() {
                    if key_nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                        continue;
                    }
                    let k = keys[row];
                    let better = match best[g] {
                        Key::Int(b) => {
                            if max {
                                k > b
                            } else {
                                k < b
                            }
                        }
                        Key::None => true,
                        _ => false,
                    };
                    if better {
                        best[g] = Key::Int(k);
                        $vals[g] = (!x_nulls.as_ref().is_some_and(|n| n.is_null(row)))
                            .then(|| $xs[row].into());
                    }
                }
                true
            }};
        }
        match (&mut self.values, x.data_type()) {
            (Slots::Real(vals), DataType::Float64) => {
                run!(vals, x.as_primitive::<Float64Type>().values())
            }
            (Slots::Int(vals), DataType::Int64) => {
                run!(vals, x.as_primitive::<Int64Type>().values())
            }
            (Slots::Int(vals), DataType::Timestamp(TimeUnit::Microsecond, _)) => {
                run!(vals, x.as_primitive::<TimestampMicrosecondType>().values())
            }
            (Slots::Int(vals), DataType::Duration(TimeUnit::Microsecond)) => {
                run!(vals, x.as_primitive::<DurationMicrosecondType>().values())
            }
            _ => false,
        }
    }

    fn take(&mut self, emit_to: EmitTo) -> (Vec<Key>, Slots) {
        (
            emit_to.take_needed(&mut self.best),
            self.values.take(emit_to),
        )
    }

    fn values_array(&self, values: Slots) -> DfResult<ArrayRef> {
        values.into_array(&self.value_type)
    }
}

impl GroupsAccumulator for Groups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> DfResult<()> {
        self.add(
            &values[0],
            &values[1],
            group_indices,
            opt_filter,
            total_num_groups,
        )
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> DfResult<ArrayRef> {
        let (_, values) = self.take(emit_to);
        self.values_array(values)
    }

    fn state(&mut self, emit_to: EmitTo) -> DfResult<Vec<ArrayRef>> {
        let (keys, values) = self.take(emit_to);
        let key_type = self.key_type.clone().unwrap_or(DataType::Null);
        Ok(vec![
            Keys::to_array(&keys, &key_type)?,
            self.values_array(values)?,
        ])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> DfResult<()> {
        self.add(
            &values[0],
            &values[1],
            group_indices,
            None,
            total_num_groups,
        )
    }

    /// Each row as its own state; a filtered-out row gets a null key (never wins).
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> DfResult<Vec<ArrayRef>> {
        let by = match opt_filter {
            None => values[0].clone(),
            Some(f) => {
                let drop: BooleanArray = (0..f.len())
                    .map(|i| Some(!(f.is_valid(i) && f.value(i))))
                    .collect();
                datafusion::arrow::compute::nullif(&values[0], &drop)?
            }
        };
        Ok(vec![by, values[1].clone()])
    }

    fn size(&self) -> usize {
        self.best.capacity() * std::mem::size_of::<Key>() + self.values.bytes()
    }
}

/// Without `by` keys: one group.
#[derive(Debug)]
struct Single {
    groups: Groups,
}

impl Accumulator for Single {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let zeros = vec![0; values[0].len()];
        self.groups.add(&values[0], &values[1], &zeros, None, 1)
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        if self.groups.values.len() == 0 {
            return ScalarValue::try_from(&self.groups.value_type);
        }
        let g = &self.groups;
        let a = match &g.values {
            Slots::Int(v) => Slots::Int(v.clone()),
            Slots::Real(v) => Slots::Real(v.clone()),
            Slots::Other(v) => Slots::Other(v.clone()),
        }
        .into_array(&g.value_type)?;
        ScalarValue::try_from_array(&a, 0)
    }

    fn size(&self) -> usize {
        self.groups.size()
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        let key_type = self.groups.key_type.clone().unwrap_or(DataType::Null);
        let key = Keys::to_array(&self.groups.best, &key_type)?;
        let key = if key.is_empty() {
            ScalarValue::try_from(&key_type)?
        } else {
            ScalarValue::try_from_array(&key, 0)?
        };
        Ok(vec![key, self.evaluate()?])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        self.update_batch(states)
    }
}
