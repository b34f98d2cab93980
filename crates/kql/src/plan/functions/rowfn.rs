//! Functions evaluated a row at a time over [`V`] values. Each family file (`datetime_fns`,
//! `string_fns`, `math_fns`, `dynamic_fns`, `series_fns`) lists its functions as [`Def`]s;
//! [`lookup`] finds one and [`RowFn`] runs it inside DataFusion. Calls whose arguments
//! are all constants are evaluated once.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    TypeSignature, Volatility,
};

use super::value::{cell, kusto_type, to_array, V};
use super::{datetime_fns, dynamic_fns, math_fns, series_fns, string_fns};
use crate::types::KustoType;

/// How a function's result type follows from its argument types.
pub type RetFn = fn(&[KustoType]) -> KustoType;

/// One row-at-a-time function.
#[derive(Clone, Copy)]
pub struct Def {
    pub name: &'static str,
    pub min: usize,
    pub max: usize,
    pub ret: RetFn,
    pub eval: fn(&[V]) -> V,
    pub volatile: bool,
}

impl Def {
    pub const fn new(
        name: &'static str,
        min: usize,
        max: usize,
        ret: RetFn,
        eval: fn(&[V]) -> V,
    ) -> Def {
        Def {
            name,
            min,
            max,
            ret,
            eval,
            volatile: false,
        }
    }

    pub const fn volatile(mut self) -> Def {
        self.volatile = true;
        self
    }
}

// Result-type helpers for the tables.
pub fn t_bool(_: &[KustoType]) -> KustoType {
    KustoType::Bool
}
pub fn t_int(_: &[KustoType]) -> KustoType {
    KustoType::Int
}
pub fn t_long(_: &[KustoType]) -> KustoType {
    KustoType::Long
}
pub fn t_real(_: &[KustoType]) -> KustoType {
    KustoType::Real
}
pub fn t_string(_: &[KustoType]) -> KustoType {
    KustoType::String
}
pub fn t_datetime(_: &[KustoType]) -> KustoType {
    KustoType::DateTime
}
pub fn t_timespan(_: &[KustoType]) -> KustoType {
    KustoType::Timespan
}
pub fn t_guid(_: &[KustoType]) -> KustoType {
    KustoType::Guid
}
pub fn t_dynamic(_: &[KustoType]) -> KustoType {
    KustoType::Dynamic
}
/// The type of the first argument.
pub fn t_first(args: &[KustoType]) -> KustoType {
    args.first().copied().unwrap_or(KustoType::Dynamic)
}
/// long for integer arguments, real otherwise (`abs`, `sign`).
pub fn t_numeric(args: &[KustoType]) -> KustoType {
    match args.first() {
        Some(KustoType::Int | KustoType::Long) => KustoType::Long,
        Some(t @ (KustoType::Timespan | KustoType::Decimal)) => *t,
        _ => KustoType::Real,
    }
}

/// Every row function, for lookup and for "did you mean" suggestions.
pub fn all() -> impl Iterator<Item = &'static Def> {
    datetime_fns::DEFS
        .iter()
        .chain(string_fns::DEFS)
        .chain(math_fns::DEFS)
        .chain(dynamic_fns::DEFS)
        .chain(series_fns::DEFS)
}

pub fn lookup(name: &str) -> Option<&'static Def> {
    all().find(|d| d.name == name)
}

/// The DataFusion UDF of `def` for arguments of the given Kusto types.
pub fn udf(def: &'static Def, args: &[KustoType]) -> ScalarUDF {
    let ret = (def.ret)(args);
    let volatility = if def.volatile {
        Volatility::Volatile
    } else {
        Volatility::Immutable
    };
    ScalarUDF::new_from_impl(RowFn {
        name: def.name.to_string(),
        ret,
        eval: def.eval,
        volatile: def.volatile,
        signature: Signature::one_of(
            vec![TypeSignature::Nullary, TypeSignature::VariadicAny],
            volatility,
        ),
    })
}

#[derive(Debug)]
pub struct RowFn {
    name: String,
    ret: KustoType,
    eval: fn(&[V]) -> V,
    volatile: bool,
    signature: Signature,
}

impl PartialEq for RowFn {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.ret == other.ret
    }
}

impl Eq for RowFn {}

impl Hash for RowFn {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.ret.name().hash(state);
    }
}

impl ScalarUDFImpl for RowFn {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(self.ret.arrow_type())
    }

    fn return_field_from_args(&self, _: ReturnFieldArgs) -> DfResult<FieldRef> {
        Ok(Arc::new(self.ret.field(&self.name)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let types: Vec<KustoType> = args.arg_fields.iter().map(|f| kusto_type(f)).collect();
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if all_scalar && !self.volatile {
            1
        } else {
            args.number_rows
        };
        let arrays: Vec<_> = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<DfResult<_>>()?;
        let mut row: Vec<V> = Vec::with_capacity(arrays.len());
        let values = (0..rows).map(|i| {
            row.clear();
            row.extend(arrays.iter().zip(&types).map(|(a, t)| cell(a, *t, i)));
            (self.eval)(&row)
        });
        let values: Vec<V> = values.collect();
        let out = to_array(self.ret, values.into_iter());
        if all_scalar && !self.volatile {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?));
        }
        Ok(ColumnarValue::Array(out))
    }
}

type Body = dyn Fn(&[ColumnarValue]) -> DfResult<ColumnarValue> + Send + Sync;

/// A UDF over any argument types from a closure; `name` must differ for different
/// closures (DataFusion compares UDFs by name here).
pub fn any_udf(name: String, ret: DataType, body: Arc<Body>) -> ScalarUDF {
    ScalarUDF::new_from_impl(AnyFn {
        name,
        ret,
        body,
        signature: Signature::variadic_any(Volatility::Immutable),
    })
}

pub struct AnyFn {
    name: String,
    ret: DataType,
    body: Arc<Body>,
    signature: Signature,
}

impl std::fmt::Debug for AnyFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl PartialEq for AnyFn {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for AnyFn {}

impl Hash for AnyFn {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for AnyFn {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(self.ret.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        (self.body)(&args.args)
    }
}
