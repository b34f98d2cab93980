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
    both_bytes(data.as_bytes(), skip_first)
}

fn both_bytes(data: &[u8], skip_first: bool) -> (bool, String, String) {
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
        .decode(&req(&flat), data, skip_first)
        .is_some();
    (
        answered,
        show(parse(&req(&flat), data).unwrap()),
        show(parse(&req(&general), data).unwrap()),
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

/// Strings of every kind (plain, multi-byte, invalid UTF-8, raw control characters,
/// escapes good and bad) at every offset from a word boundary, as wanted values, as
/// skipped values and as keys: the flat path gives the general path's rows or no
/// answer.
#[test]
fn strings_of_every_kind_read_like_the_general_path() {
    let pieces: [&[u8]; 16] = [
        b"a",
        b"word ",
        b"0123456789",
        "é".as_bytes(),
        "日本".as_bytes(),
        "🙂".as_bytes(),
        b"\xff",
        b"\x80",
        b"\xe6\x97",
        b"\x01",
        b"\x1f",
        b"\t",
        b"\\\"",
        b"\\u00e9",
        b"\\n",
        b"\\q",
    ];
    let mut x = 7u64;
    let mut next = |n: u64| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) % n
    };
    let (mut answered, mut refused) = (0, 0);
    for _ in 0..3000 {
        let mut text = vec![];
        for _ in 0..next(5) {
            // Mostly plain text, so bad bytes land at every offset.
            let piece = if next(3) == 0 {
                pieces[next(16) as usize]
            } else {
                pieces[next(3) as usize]
            };
            text.extend_from_slice(piece);
        }
        let quoted = [&b"\""[..], &text, b"\""].concat();
        let line = match next(3) {
            0 => [&b"{\"s\":"[..], &quoted, b",\"l\":1}"].concat(),
            1 => [&b"{\"x\":["[..], &quoted, b"],\"s\":\"ok\"}"].concat(),
            _ => [&b"{"[..], &quoted, b":1,\"s\":\"ok\"}"].concat(),
        };
        let (flat, a, b) = both_bytes(&line, false);
        assert_eq!(a, b, "{}", String::from_utf8_lossy(&line));
        if flat {
            answered += 1;
        } else {
            refused += 1;
        }
    }
    assert!(answered > 1000 && refused > 300, "{answered} {refused}");
}

/// Keys written with spaces, in another order, or missing: the same rows as the
/// general path, from the flat path.
#[test]
fn keys_out_of_the_usual_order_or_spacing() {
    let data = "{\"s\":\"a\",\"l\":1,\"r\":1.5}\n{\"r\":2.5,\"s\":\"b\",\"l\":2}\n{\"s\" : \"c\", \"l\": 3 ,\"r\":3.5}\n{\"l\":4}\n{\"x\":0,\"s\":\"e\",\"l\":5,\"r\":5.5}\n{\"s\":\"f\",\"l\":6,\"r\":6.5}";
    let (flat, a, b) = both(data, false);
    assert!(flat);
    assert_eq!(a, b);
    for row in ["| a ", "| b ", "| c ", "| e ", "| f "] {
        assert!(a.contains(row), "{a}");
    }
}
