//! Runs the KQL logic tests in `tests/kql/*.test`. Each file runs against a fresh
//! explorer; records are separated by blank lines:
//!
//! ```text
//! statement ok|error <message part>
//! .create table T (a:long)
//!
//! query [rowsort]
//! T | where a > 1
//! ----
//! a:long
//! 2
//!
//! query error <message part>
//! T | whre a
//! ```
//! Rows print cells joined by ` | `; null prints as `null`, a row that is one empty
//! string as `(empty)`; several results follow each other after a `====` line. With `EDDY_SLT_COMPLETE=1`
//! (or `-- --complete`) the expected output of every `query` is rewritten from what
//! Eddy returns now.

use std::path::{Path, PathBuf};

use eddy_explorer::{ResultTable, DEFAULT_DATABASE};

use crate::support::Env;

fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "null".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn render(r: &ResultTable, rowsort: bool) -> Vec<String> {
    let header = r
        .columns
        .iter()
        .map(|c| format!("{}:{}", c.name, c.ty))
        .collect::<Vec<_>>()
        .join(" | ");
    let mut rows: Vec<String> = r
        .rows
        .iter()
        .map(|row| row.iter().map(cell).collect::<Vec<_>>().join(" | "))
        // A row of one empty string would read as the end of the record.
        .map(|line| {
            if line.is_empty() {
                "(empty)".to_string()
            } else {
                line
            }
        })
        .collect();
    if rowsort {
        rows.sort();
    }
    let mut out = vec![header];
    out.extend(rows);
    out
}

struct Record {
    /// Line index of the header line (`query ...`), for rewriting.
    start: usize,
    end: usize,
    header: String,
    text: String,
    expected: Vec<String>,
}

fn records(lines: &[&str]) -> Vec<Record> {
    let mut out = vec![];
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() || line.starts_with('#') {
            i += 1;
            continue;
        }
        let start = i;
        let header = line.to_string();
        i += 1;
        let mut text = vec![];
        while i < lines.len() && !lines[i].trim().is_empty() && lines[i] != "----" {
            text.push(lines[i]);
            i += 1;
        }
        let mut expected = vec![];
        if i < lines.len() && lines[i] == "----" {
            i += 1;
            while i < lines.len() && !lines[i].trim().is_empty() {
                expected.push(lines[i].to_string());
                i += 1;
            }
        }
        out.push(Record {
            start,
            end: i,
            header,
            text: text.join("\n"),
            expected,
        });
    }
    out
}

async fn run_file(path: &Path, complete: bool) -> Vec<String> {
    let content = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = content.lines().collect();
    let env = Env::new().await;
    let mut failures = vec![];
    let mut rewritten: Vec<String> = vec![];
    let mut copied = 0;
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    for rec in records(&lines) {
        let where_ = format!("{name}:{}", rec.start + 1);
        let result = env.explorer.execute(DEFAULT_DATABASE, &rec.text).await;
        let mut words = rec.header.split_whitespace();
        let kind = words.next().unwrap_or("");
        let mode = words.next().unwrap_or("");
        let rest: String = rec
            .header
            .split_whitespace()
            .skip(2)
            .collect::<Vec<_>>()
            .join(" ");
        match (kind, mode, &result) {
            ("statement", "ok", Err(e)) => {
                failures.push(format!("{where_}: expected success, got: {e}"))
            }
            ("statement" | "query", "error", Ok(_)) => {
                failures.push(format!("{where_}: expected an error containing '{rest}'"))
            }
            ("statement" | "query", "error", Err(e)) if !e.to_string().contains(&rest) => {
                failures.push(format!("{where_}: error '{e}' does not contain '{rest}'"))
            }
            ("statement" | "query", "error", Err(_)) => {}
            ("query", _, Err(e)) => failures.push(format!("{where_}: query failed: {e}")),
            ("query", m, Ok(tables)) if m != "error" => {
                // Several results (fork, facet, several statements) follow each other
                // after a `====` line.
                let mut got = vec![];
                for (i, t) in tables.iter().enumerate() {
                    if i > 0 {
                        got.push("====".to_string());
                    }
                    got.extend(render(t, m == "rowsort"));
                }
                if complete {
                    rewritten.extend(lines[copied..rec.start].iter().map(|s| s.to_string()));
                    rewritten.push(rec.header.clone());
                    rewritten.extend(rec.text.lines().map(str::to_string));
                    rewritten.push("----".into());
                    rewritten.extend(got.clone());
                    copied = rec.end;
                } else if got != rec.expected {
                    failures.push(format!(
                        "{where_}: {}\nexpected:\n  {}\ngot:\n  {}",
                        rec.text,
                        rec.expected.join("\n  "),
                        got.join("\n  ")
                    ));
                }
            }
            ("statement" | "query", _, _) => {}
            _ => failures.push(format!("{where_}: unknown record '{}'", rec.header)),
        }
    }
    if complete {
        rewritten.extend(lines[copied..].iter().map(|s| s.to_string()));
        std::fs::write(path, rewritten.join("\n") + "\n").unwrap();
    }
    failures
}

fn test_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kql");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kql_logic_tests() {
    let complete =
        std::env::var("EDDY_SLT_COMPLETE").is_ok() || std::env::args().any(|a| a == "--complete");
    let files = test_files();
    assert!(!files.is_empty(), "no .test files found");
    let runs = files.iter().map(|f| run_file(f, complete));
    let failures: Vec<String> = futures::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert!(
        failures.is_empty(),
        "{} KQL logic test failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
