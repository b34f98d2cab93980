//! The syntax tree of KQL queries. Every node keeps the span of its text so that planning
//! errors point at the right place.

use crate::lexer::Span;
use crate::types::KustoType;

#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole query: `let`s and `set`s, then (usually) one tabular expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    Let {
        name: Ident,
        value: LetValue,
    },
    Set {
        name: Ident,
        value: Option<Literal>,
    },
    /// `declare query_parameters(name: type [= default], ...)`.
    Declare(Vec<QueryParameter>),
    Tabular(Tabular),
}

/// One declared query parameter; its value comes with the request.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryParameter {
    pub name: Ident,
    pub ty: KustoType,
    pub default: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum LetValue {
    Scalar(Expr),
    Tabular(Tabular),
    /// `(a: long, b: string = "x") { body }`, scalar or tabular body.
    Function(Function),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub params: Vec<FunctionParam>,
    /// `let` statements inside the braces, before the value.
    pub body: Vec<Statement>,
    /// The last statement: a scalar expression or a tabular expression.
    pub value: Box<LetValue>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionParam {
    pub name: Ident,
    /// `None` for a tabular parameter (`T: (*)`).
    pub ty: Option<KustoType>,
    pub default: Option<Expr>,
}

/// `source | op | op ...`
#[derive(Debug, Clone, PartialEq)]
pub struct Tabular {
    pub source: Source,
    pub ops: Vec<Operator>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Source {
    /// A table, or a name bound by `let` or `as`.
    Named(Ident),
    Datatable {
        columns: Vec<(Ident, KustoType)>,
        values: Vec<Expr>,
        span: Span,
    },
    Print {
        columns: Vec<NamedExpr>,
        span: Span,
    },
    Union {
        union: UnionSpec,
        span: Span,
    },
    Paren(Box<Tabular>),
    /// `range x from a to b step s`.
    Range {
        name: Ident,
        from: Expr,
        to: Expr,
        step: Expr,
        span: Span,
    },
    /// A call of a tabular function (`let f = (n: long) { T | take n }; f(3)`).
    Call {
        name: Ident,
        args: Vec<Expr>,
    },
    /// `externaldata (schema) [uris] with (format=...)`.
    External {
        columns: Vec<(Ident, KustoType)>,
        uris: Vec<Expr>,
        props: WithProps,
        span: Span,
    },
    /// `search [in (T, ...)] pred` (project None) and `find [in (T, ...)] where pred
    /// [project ...]` (project Some; empty = every column packed).
    Search {
        tables: Vec<Ident>,
        pred: Expr,
        project: Option<Vec<Ident>>,
        span: Span,
    },
}

/// `with (name = value, ...)` properties.
pub type WithProps = Vec<(String, Literal)>;

/// One level of `top-nested [n] of Expr [with others = v] by Aggregate [asc|desc]`.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedLevel {
    pub count: Option<Expr>,
    pub of: NamedExpr,
    pub others: Option<Expr>,
    pub by: NamedExpr,
    pub desc: bool,
}

/// `union [kind=inner|outer] [withsource=Name] T1, (query), T*`.
#[derive(Debug, Clone, PartialEq)]
pub struct UnionSpec {
    pub tables: Vec<Tabular>,
    pub inner: bool,
    pub withsource: Option<Ident>,
}

/// `Name = expr` or a bare `expr`.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedExpr {
    pub name: Option<Ident>,
    pub expr: Expr,
    /// `(a, b, c) = f(x)`: the names of a function's several outputs.
    pub names: Vec<Ident>,
}

/// A join key: `on Key` or `on $left.A == $right.B`.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinKey {
    pub left: Ident,
    pub right: Ident,
}

/// One column of `mv-expand`.
#[derive(Debug, Clone, PartialEq)]
pub struct MvItem {
    pub name: Option<Ident>,
    pub expr: Expr,
    pub to: Option<KustoType>,
}

/// A piece of a `parse` pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsePart {
    Text(String),
    Column(Ident, Option<KustoType>),
    Wildcard,
}

/// One aggregate of `make-series`, with its fill value.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesAgg {
    pub agg: NamedExpr,
    pub default: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub expr: Expr,
    pub ascending: bool,
    pub nulls_first: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    pub kind: OperatorKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OperatorKind {
    Where(Expr),
    Project(Vec<NamedExpr>),
    ProjectAway(Vec<Ident>),
    Extend(Vec<NamedExpr>),
    Summarize {
        aggregates: Vec<NamedExpr>,
        by: Vec<NamedExpr>,
    },
    Count,
    Take(Expr),
    Top {
        count: Expr,
        by: SortKey,
    },
    Sort(Vec<SortKey>),
    /// `distinct *` has no columns.
    Distinct(Vec<Ident>),
    Union(UnionSpec),
    As(Ident),
    ProjectRename(Vec<(Ident, Ident)>),
    /// Column patterns (`a*`) with an optional direction (true = ascending).
    ProjectReorder(Vec<(Ident, Option<bool>)>),
    ProjectKeep(Vec<Ident>),
    Join {
        kind: Option<Ident>,
        right: Box<Tabular>,
        on: Vec<JoinKey>,
        lookup: bool,
    },
    MvExpand {
        items: Vec<MvItem>,
        item_index: Option<Ident>,
        limit: Option<Expr>,
    },
    Parse {
        kind: Option<Ident>,
        expr: Expr,
        parts: Vec<ParsePart>,
        filter: bool,
    },
    MakeSeries {
        aggs: Vec<SeriesAgg>,
        on: Expr,
        from: Option<Expr>,
        to: Option<Expr>,
        step: Expr,
        by: Vec<NamedExpr>,
    },
    GetSchema,
    Serialize(Vec<NamedExpr>),
    Sample(Expr),
    SampleDistinct(Expr, Expr),
    TopHitters {
        count: Expr,
        of: Expr,
        by: Option<Expr>,
    },
    /// `search [in (T, ...)] predicate`; a bare string looks in every column.
    Search(Expr),
    Invoke {
        name: Ident,
        args: Vec<Expr>,
    },
    Evaluate {
        name: Ident,
        args: Vec<Expr>,
    },
    ParseKv {
        expr: Expr,
        columns: Vec<(Ident, KustoType)>,
        props: WithProps,
    },
    /// `facet by a, b [with (ops)]`: one result per column (then the `with` result).
    Facet {
        columns: Vec<Ident>,
        with: Option<Tabular>,
    },
    /// `fork [name=](ops) ...`: one result per prong.
    Fork(Vec<(Option<Ident>, Tabular)>),
    TopNested(Vec<NestedLevel>),
    MvApply {
        items: Vec<MvItem>,
        item_index: Option<Ident>,
        limit: Option<Expr>,
        sub: Box<Tabular>,
    },
    /// `render kind [with (name = value, ...)]`: presentation only, carried with the result.
    Render {
        kind: Ident,
        properties: Vec<RenderProperty>,
    },
}

/// A `render ... with (...)` property; column lists (`ycolumns = a, b`) keep every name.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderProperty {
    pub name: Ident,
    pub values: Vec<Literal>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Literal(Literal),
    Column(String),
    /// `*` as a function argument (`arg_max(ts, *)`, `count(*)`).
    Star,
    Call {
        name: Ident,
        args: Vec<Expr>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Not(Box<Expr>),
    Neg(Box<Expr>),
    /// `d.a`, `d['a']`, `d[0]`: an element of a dynamic value.
    Index {
        base: Box<Expr>,
        key: Box<Expr>,
    },
    /// `toscalar(T | ...)`: the first cell of a tabular expression.
    ToScalar(Box<Tabular>),
    /// `x in (a, b)`, `x !in (...)`, `x in~ (...)`.
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
        case_insensitive: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
    /// `=~`
    EqCi,
    /// `!~`
    NotEqCi,
    /// String operators: `has`, `contains`, ... with negation and case sensitivity.
    Str {
        op: StrOp,
        negated: bool,
        case_sensitive: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrOp {
    Has,
    Contains,
    StartsWith,
    EndsWith,
    HasPrefix,
    HasSuffix,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A typed null such as `long(null)`; untyped `null` is not KQL but `dynamic(null)` is.
    Null(KustoType),
    Bool(bool),
    Int(i32),
    Long(i64),
    Real(f64),
    /// Decimal literal text, e.g. `decimal(1.25)`.
    Decimal(String),
    String(String),
    /// Microseconds since the Unix epoch.
    DateTime(i64),
    /// Microseconds.
    Timespan(i64),
    Guid(String),
    Dynamic(serde_json::Value),
}

impl Literal {
    /// Whether the literal already has the Arrow type of `ty`.
    pub fn kind_matches(&self, ty: KustoType) -> bool {
        self.kusto_type().arrow_type() == ty.arrow_type()
    }

    pub fn kusto_type(&self) -> KustoType {
        match self {
            Literal::Null(t) => *t,
            Literal::Bool(_) => KustoType::Bool,
            Literal::Int(_) => KustoType::Int,
            Literal::Long(_) => KustoType::Long,
            Literal::Real(_) => KustoType::Real,
            Literal::Decimal(_) => KustoType::Decimal,
            Literal::String(_) => KustoType::String,
            Literal::DateTime(_) => KustoType::DateTime,
            Literal::Timespan(_) => KustoType::Timespan,
            Literal::Guid(_) => KustoType::Guid,
            Literal::Dynamic(_) => KustoType::Dynamic,
        }
    }
}
