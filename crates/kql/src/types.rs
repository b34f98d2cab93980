//! Kusto scalar types and how they map to Arrow (in queries) and to Delta Lake (on disk).
//! This is the one place that decides it:
//!
//! | Kusto      | Arrow in queries              | Delta column                  |
//! |------------|-------------------------------|-------------------------------|
//! | bool       | Boolean                       | boolean                       |
//! | int        | Int32                         | integer                       |
//! | long       | Int64                         | long                          |
//! | real       | Float64                       | double                        |
//! | decimal    | Decimal128(38, 18)            | decimal(38,18)                |
//! | string     | Utf8                          | string                        |
//! | datetime   | Timestamp(µs, "UTC")          | timestamp (UTC, µs)           |
//! | timespan   | Duration(µs)                  | long, microseconds            |
//! | guid       | Utf8 (canonical lower-case)   | string                        |
//! | dynamic    | Utf8 (JSON text)              | string (JSON text)            |
//!
//! Kusto keeps 100 ns ticks; Eddy keeps microseconds for both datetime and timespan, the
//! precision Delta's `timestamp` has. Columns whose Arrow type does not say the Kusto type
//! (timespan, guid, dynamic) carry it in field metadata under [`KUSTO_TYPE_KEY`], which
//! survives into the Delta schema, so other engines see what the column is.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};

/// Field metadata key holding the Kusto type name.
pub const KUSTO_TYPE_KEY: &str = "kusto.type";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KustoType {
    Bool,
    Int,
    Long,
    Real,
    Decimal,
    String,
    DateTime,
    Timespan,
    Guid,
    Dynamic,
}

impl KustoType {
    pub const ALL: [KustoType; 10] = [
        KustoType::Bool,
        KustoType::Int,
        KustoType::Long,
        KustoType::Real,
        KustoType::Decimal,
        KustoType::String,
        KustoType::DateTime,
        KustoType::Timespan,
        KustoType::Guid,
        KustoType::Dynamic,
    ];

    /// Parses a type name as written in `.create table` or `datatable`, aliases included.
    pub fn parse(name: &str) -> Option<KustoType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "bool" | "boolean" => KustoType::Bool,
            "int" | "int32" => KustoType::Int,
            "long" | "int64" => KustoType::Long,
            "real" | "double" | "float" => KustoType::Real,
            "decimal" => KustoType::Decimal,
            "string" => KustoType::String,
            "datetime" | "date" => KustoType::DateTime,
            "timespan" | "time" => KustoType::Timespan,
            "guid" | "uuid" | "uniqueid" => KustoType::Guid,
            "dynamic" => KustoType::Dynamic,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            KustoType::Bool => "bool",
            KustoType::Int => "int",
            KustoType::Long => "long",
            KustoType::Real => "real",
            KustoType::Decimal => "decimal",
            KustoType::String => "string",
            KustoType::DateTime => "datetime",
            KustoType::Timespan => "timespan",
            KustoType::Guid => "guid",
            KustoType::Dynamic => "dynamic",
        }
    }

    /// The .NET type name Kusto reports in `.show table T schema as json` and v1 results.
    pub fn dotnet_name(self) -> &'static str {
        match self {
            KustoType::Bool => "System.Boolean",
            KustoType::Int => "System.Int32",
            KustoType::Long => "System.Int64",
            KustoType::Real => "System.Double",
            KustoType::Decimal => "System.Data.SqlTypes.SqlDecimal",
            KustoType::String => "System.String",
            KustoType::DateTime => "System.DateTime",
            KustoType::Timespan => "System.TimeSpan",
            KustoType::Guid => "System.Guid",
            KustoType::Dynamic => "System.Object",
        }
    }

    /// The Arrow type this Kusto type has inside queries.
    pub fn arrow_type(self) -> DataType {
        match self {
            KustoType::Bool => DataType::Boolean,
            KustoType::Int => DataType::Int32,
            KustoType::Long => DataType::Int64,
            KustoType::Real => DataType::Float64,
            KustoType::Decimal => DataType::Decimal128(38, 18),
            KustoType::String | KustoType::Guid | KustoType::Dynamic => DataType::Utf8,
            KustoType::DateTime => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            KustoType::Timespan => DataType::Duration(TimeUnit::Microsecond),
        }
    }

    /// The Arrow type this Kusto type is stored as in Delta files.
    pub fn storage_type(self) -> DataType {
        match self {
            KustoType::Timespan => DataType::Int64,
            other => other.arrow_type(),
        }
    }

    /// A query-side field, with the Kusto type in metadata when Arrow cannot tell it.
    pub fn field(self, name: &str) -> Field {
        self.with_metadata(Field::new(name, self.arrow_type(), true))
    }

    /// A storage-side field (for Delta schemas and Parquet files).
    pub fn storage_field(self, name: &str) -> Field {
        self.with_metadata(Field::new(name, self.storage_type(), true))
    }

    fn with_metadata(self, field: Field) -> Field {
        match self {
            KustoType::Timespan | KustoType::Guid | KustoType::Dynamic => field.with_metadata(
                HashMap::from([(KUSTO_TYPE_KEY.to_string(), self.name().to_string())]),
            ),
            _ => field,
        }
    }

    /// The Kusto type of a query result field.
    pub fn of_field(field: &Field) -> KustoType {
        if let Some(t) = field
            .metadata()
            .get(KUSTO_TYPE_KEY)
            .and_then(|t| KustoType::parse(t))
        {
            if field.data_type() == &DataType::Utf8 || t == KustoType::Timespan {
                return t;
            }
        }
        KustoType::of_arrow(field.data_type())
    }

    /// The nearest Kusto type of an Arrow type (without metadata).
    pub fn of_arrow(dt: &DataType) -> KustoType {
        match dt {
            DataType::Boolean => KustoType::Bool,
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::UInt8
            | DataType::UInt16 => KustoType::Int,
            DataType::Int64 | DataType::UInt32 | DataType::UInt64 => KustoType::Long,
            DataType::Float16 | DataType::Float32 | DataType::Float64 => KustoType::Real,
            DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..) => KustoType::Decimal,
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => KustoType::DateTime,
            DataType::Duration(_)
            | DataType::Interval(_)
            | DataType::Time32(_)
            | DataType::Time64(_) => KustoType::Timespan,
            DataType::List(_)
            | DataType::LargeList(_)
            | DataType::Struct(_)
            | DataType::Map(..)
            | DataType::Null => KustoType::Dynamic,
            _ => KustoType::String,
        }
    }
}

impl fmt::Display for KustoType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A column of a Kusto table schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: KustoType,
}

/// The Kusto columns of an Arrow schema (inverse of [`arrow_schema`]).
pub fn column_defs(schema: &datafusion::arrow::datatypes::Schema) -> Vec<ColumnDef> {
    schema
        .fields()
        .iter()
        .map(|f| ColumnDef {
            name: f.name().clone(),
            ty: KustoType::of_field(f),
        })
        .collect()
}

/// The Arrow schema (query side) of a list of columns.
pub fn arrow_schema(columns: &[ColumnDef]) -> Arc<datafusion::arrow::datatypes::Schema> {
    Arc::new(datafusion::arrow::datatypes::Schema::new(
        columns
            .iter()
            .map(|c| c.ty.field(&c.name))
            .collect::<Vec<_>>(),
    ))
}

/// The Arrow schema (storage side) of a list of columns.
pub fn storage_schema(columns: &[ColumnDef]) -> Arc<datafusion::arrow::datatypes::Schema> {
    Arc::new(datafusion::arrow::datatypes::Schema::new(
        columns
            .iter()
            .map(|c| c.ty.storage_field(&c.name))
            .collect::<Vec<_>>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_round_trip() {
        assert_eq!(KustoType::parse("float"), Some(KustoType::Real));
        assert_eq!(KustoType::parse("Int64"), Some(KustoType::Long));
        for t in KustoType::ALL {
            assert_eq!(KustoType::parse(t.name()), Some(t));
            assert_eq!(KustoType::of_field(&t.field("c")), t);
        }
    }
}
