//! Windows change nothing: a source parsed in one window, in many small ones, from
//! memory or from a file gives the same rows, failures (with line numbers of the whole
//! source) and counts, through the flat path and the general one.

use std::io::Write;

use datafusion::arrow::compute::concat_batches;
use eddy_kql::command::MappingKind;
use eddy_kql::types::{arrow_schema, ColumnDef, KustoType};

use super::{from_bytes_in, from_file_in};
use crate::ingest::mapping::Mapping;
use crate::ingest::{Format, Parsed, Request};

fn columns() -> Vec<ColumnDef> {
    [
        ("N", KustoType::Long),
        ("S", KustoType::String),
        ("Tag", KustoType::String),
    ]
    .into_iter()
    .map(|(n, ty)| ColumnDef { name: n.into(), ty })
    .collect()
}

const FLAT: &str = r#"[{"column":"N","path":"$.n"},{"column":"S","path":"$.s"}]"#;
const GENERAL: &str = r#"[{"column":"N","path":"$.n"},{"column":"S","path":"$.s"},{"column":"Tag","Properties":{"ConstValue":"t"}}]"#;

/// About 6 MB of lines: blank lines first, a malformed line, a value that does not
/// convert, a line longer than the small windows, and no newline at the end.
fn data() -> Vec<u8> {
    let mut d = b"\n  \n".to_vec();
    for i in 0..120_000 {
        match i {
            5_000 => d.extend_from_slice(b"{\"n\": 1, \"s\": \n"),
            70_000 => writeln!(d, "{{\"n\":\"x{i}\",\"s\":\"bad number\"}}").unwrap(),
            90_000 => writeln!(d, "{{\"n\":{i},\"s\":\"{}\"}}", "long ".repeat(40_000)).unwrap(),
            _ => writeln!(d, "{{\"n\":{i},\"s\":\"row {i}\"}}").unwrap(),
        }
    }
    d.extend_from_slice(b"{\"n\":-1,\"s\":\"last\"}");
    d
}

fn summary(p: Parsed) -> (usize, String, Vec<String>, u64, u64) {
    let cols = columns();
    let batch = concat_batches(&arrow_schema(&cols), &p.batches).unwrap();
    let sample = datafusion::arrow::util::pretty::pretty_format_batches(&[
        batch.slice(0, 3),
        batch.slice(batch.num_rows() - 2, 2),
    ])
    .unwrap()
    .to_string();
    let failures = p
        .failures
        .iter()
        .map(|f| format!("{} {}", f.position, f.code))
        .collect();
    (
        batch.num_rows(),
        sample,
        failures,
        p.conversion_failures,
        p.raw_bytes,
    )
}

#[test]
fn windows_change_nothing() {
    let data = data();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lines.json");
    std::fs::write(&path, &data).unwrap();
    let cols = columns();
    for mapping in [FLAT, GENERAL] {
        let m = Mapping::parse(MappingKind::Json, mapping, &cols).unwrap();
        for skip in [false, true] {
            let req = Request {
                columns: &cols,
                format: Format::Json,
                mapping: Some(&m),
                ignore_first_record: skip,
                source: "lines.json",
                strict: false,
            };
            let whole = summary(from_bytes_in(&req, &data, usize::MAX).unwrap());
            assert_eq!(whole.0, 120_000 - skip as usize);
            assert_eq!(whole.2, vec!["line 5003 BadRequest_InvalidJson"]);
            assert_eq!(whole.3, 1);
            for window in [64 << 10, 5 << 20] {
                let parsed = from_bytes_in(&req, &data, window).unwrap();
                assert_eq!(summary(parsed), whole, "{mapping} {skip} {window}");
                let mut file = std::fs::File::open(&path).unwrap();
                let parsed = from_file_in(&req, &mut file, window).unwrap();
                assert_eq!(summary(parsed), whole, "file {mapping} {skip} {window}");
            }
        }
    }
}
