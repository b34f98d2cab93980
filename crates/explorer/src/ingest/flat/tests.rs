//! The flat path against the general path on the same lines: same rows, same counts of
//! values that did not convert, or no answer at all.

use eddy_kql::command::MappingKind;
use eddy_kql::types::{ColumnDef, KustoType};

use super::FlatPlan;
use crate::ingest::mapping::Mapping;
use crate::ingest::{parse, Format, Parsed, Request};

fn columns() -> Vec<ColumnDef> {
    [
        ("S", KustoType::String),
        ("L", KustoType::Long),
        ("I", KustoType::Int),
        ("R", KustoType::Real),
        ("T", KustoType::DateTime),
        ("B", KustoType::Bool),
        ("D", KustoType::Dynamic),
        ("G", KustoType::Guid),
        ("P", KustoType::Timespan),
        ("S2", KustoType::String),
        ("Tag", KustoType::String),
    ]
    .into_iter()
    .map(|(n, ty)| ColumnDef { name: n.into(), ty })
    .collect()
}

/// Every column from one key; S2 reads the same key as S; Tag is left unfilled.
const FLAT: &str = r#"[{"column":"S","path":"$.s"},{"column":"L","path":"$.l"},{"column":"I","path":"$.i"},{"column":"R","path":"$.r"},{"column":"T","path":"$.t"},{"column":"B","path":"$.b"},{"column":"D","path":"$.d"},{"column":"G","path":"$.g"},{"column":"P","path":"$.p"},{"column":"S2","path":"$.s"}]"#;

/// The same plus a constant, which only the general path reads.
fn general_mapping() -> String {
    FLAT.replace(
        r#"{"column":"S2","path":"$.s"}]"#,
        r#"{"column":"S2","path":"$.s"},{"column":"Tag","Properties":{"ConstValue":""}}]"#,
    )
}

fn show(p: Parsed) -> String {
    format!(
        "{}\nfailures={} conversion={}",
        datafusion::arrow::util::pretty::pretty_format_batches(&p.batches).unwrap(),
        p.failures.len(),
        p.conversion_failures
    )
}

/// (whether the flat path answered, its answer through `parse`, the general answer).
fn both(data: &str, skip_first: bool) -> (bool, String, String) {
    let cols = columns();
    let flat = Mapping::parse(MappingKind::Json, FLAT, &cols).unwrap();
    let general = Mapping::parse(MappingKind::Json, &general_mapping(), &cols).unwrap();
    let req = |m| Request {
        columns: &cols,
        format: Format::Json,
        mapping: Some(m),
        ignore_first_record: skip_first,
        source: "t",
        strict: false,
    };
    assert!(FlatPlan::new(&req(&general)).is_none());
    let answered = FlatPlan::new(&req(&flat))
        .unwrap()
        .decode(&req(&flat), data.as_bytes(), skip_first)
        .is_some();
    (
        answered,
        show(parse(&req(&flat), data.as_bytes()).unwrap()),
        show(parse(&req(&general), data.as_bytes()).unwrap()),
    )
}

#[test]
fn answers_like_the_general_path() {
    let answered = [
        // Plain values of every type, blank lines, CRLF, spaces.
        "{\"s\":\"a\",\"l\":12,\"i\":7,\"r\":21.5,\"t\":\"2026-01-02T03:04:05.123Z\",\"b\":true,\"d\":{\"z\":1,\"a\":[1,2]},\"g\":\"6F9619FF-8B86-D011-B42D-00C04FC964FF\",\"p\":\"01:02:03\"}\r\n\n  \n { \"s\" : \"b\" , \"r\" : 1e3 }  ",
        // Escapes, unicode, keys in another order, unknown keys of every kind skipped.
        "{\"x\":{\"y\":[1,{\"z\":\"\\\"\"}],\"w\":null},\"r\":-0,\"s\":\"a\\\"b\\u00e9\\n\",\"l\":-3,\"q\":[true,false,null,-1.5e-3]}",
        // Nulls, missing keys, empty text, text where numbers go, numbers where text
        // goes, fractions and big integers where integers go, values that do not
        // convert.
        "{\"s\":null,\"l\":null,\"r\":null,\"t\":null,\"d\":null}\n{\"l\":\"\",\"r\":\"\",\"t\":\"\",\"i\":\"\"}\n{\"l\":\"12\",\"i\":\" 8 \",\"r\":\"NaN\",\"s\":5.50}\n{\"l\":3.9,\"i\":3000000000,\"r\":\"x\",\"t\":\"soon\",\"s\":{\"b\":1,\"a\":2}}\n{\"l\":true,\"i\":[1],\"r\":false,\"t\":17,\"s\":[1, 2]}\n{\"l\":123456789012345678901234,\"r\":18446744073709551615,\"i\":-2147483648}",
        // A repeated key: the last one wins.
        "{\"s\":\"first\",\"l\":1,\"s\":\"second\",\"l\":null}",
        // Datetimes in other forms, and the dynamic column with text holding JSON.
        "{\"t\":\"2026-01-02 03:04\",\"d\":\"{\\\"k\\\": [1]}\"}\n{\"t\":\"2026-01-02T03:04:05+02:00\",\"d\":\"plain\",\"b\":\"FALSE\",\"p\":\"1.02:00:00\"}",
        // Empty input and an empty object.
        "",
        "{}",
    ];
    for data in answered {
        for skip in [false, true] {
            let (flat, a, b) = both(data, skip);
            assert!(flat, "the flat path reads {data}");
            assert_eq!(a, b, "{data}");
        }
    }
}

#[test]
fn leaves_what_it_does_not_read_to_the_general_path() {
    let refused = [
        "{\"s\":\"a\"}\n{\"s\":",
        "7",
        "[{\"s\":\"a\"}]",
        "{\"s\":\"a\"} {\"s\":\"b\"}",
        "{\"s\":\"a\",}",
        "{\"s\":'a'}",
        "{\"l\":01}",
        "{\"l\":1.}",
        "{\"r\":1e400}",
        "{\"x\":tru}",
        "{\"x\":\"bad \\q escape\"}",
        "{\"s\":\"raw\ttab\"}",
        "{\"k\\u0065y\":1}",
        "{\"s\":\"\\ud800\"}",
    ];
    for data in refused {
        let (flat, a, b) = both(data, false);
        assert!(!flat, "the general path reads {data}");
        assert_eq!(a, b, "{data}");
    }
    let deep = format!("{{\"x\":{}1{}}}", "[".repeat(150), "]".repeat(150));
    let (flat, a, b) = both(&deep, false);
    assert!(!flat);
    assert_eq!(a, b);
    // Invalid UTF-8: the general path reads it with replacement characters.
    let cols = columns();
    let flat = Mapping::parse(MappingKind::Json, FLAT, &cols).unwrap();
    let req = Request {
        columns: &cols,
        format: Format::Json,
        mapping: Some(&flat),
        ignore_first_record: false,
        source: "t",
        strict: false,
    };
    let bytes = b"{\"s\":\"a\xffb\"}";
    assert!(FlatPlan::new(&req)
        .unwrap()
        .decode(&req, bytes, false)
        .is_none());
    assert!(show(parse(&req, bytes).unwrap()).contains("a\u{fffd}b"));
}
