//! `eddy query [--db DB] [--data-dir DIR] [--format table|json|csv] ["KQL or .command"]`:
//! against a running server (Kusto REST) or, with `--data-dir`, an embedded explorer.
//! Without text it opens a prompt with history. Errors show the query with a caret
//! under the failing position.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use clap::{Args, ValueEnum};
use eddy_explorer::result::display;
use eddy_explorer::{Explorer, ResultTable, DEFAULT_DATABASE};

use crate::client::Client;
use crate::table::render;

#[derive(Args, Debug)]
pub struct QueryArgs {
    /// The query or command; omit it for an interactive prompt.
    pub text: Option<String>,
    /// Database to run in.
    #[arg(long, default_value = DEFAULT_DATABASE)]
    pub db: String,
    /// Open this data directory directly instead of talking to a server.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

enum Target {
    Server(Client),
    Embedded(Arc<Explorer>),
}

impl Target {
    async fn run(&self, db: &str, text: &str) -> Result<Vec<ResultTable>, String> {
        match self {
            Target::Server(c) => c.kusto(db, text).await.map_err(|e| {
                match e.downcast_ref::<crate::client::ServerError>() {
                    Some(se) => se.message.clone(),
                    None => e.to_string(),
                }
            }),
            Target::Embedded(x) => x.execute(db, text).await.map_err(|e| e.to_string()),
        }
    }
}

pub async fn run(client: &Client, args: QueryArgs) -> Result<()> {
    let target = match &args.data_dir {
        Some(dir) => Target::Embedded(Explorer::open(dir).await?),
        None => Target::Server(client.clone()),
    };
    let outcome = match &args.text {
        Some(text) => run_one(&target, &args, text).await,
        None => prompt(&target, &args).await,
    };
    if let Target::Embedded(x) = &target {
        x.seal_all().await?;
    }
    outcome
}

async fn run_one(target: &Target, args: &QueryArgs, text: &str) -> Result<()> {
    match target.run(&args.db, text).await {
        Ok(tables) => {
            print!("{}", format_tables(&tables, args.format));
            Ok(())
        }
        Err(message) => {
            eprintln!("{}", explain(text, &message));
            anyhow::bail!("the query failed")
        }
    }
}

async fn prompt(target: &Target, args: &QueryArgs) -> Result<()> {
    let mut editor = rustyline::DefaultEditor::new()?;
    let history = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".eddy_history"));
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    eprintln!(
        "eddy query: database {} (end a line with \\ to continue it; Ctrl-D quits)",
        args.db
    );
    let mut buffer = String::new();
    loop {
        let line = match editor.readline(if buffer.is_empty() {
            "eddy> "
        } else {
            "   -> "
        }) {
            Ok(l) => l,
            Err(rustyline::error::ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(_) => break,
        };
        if let Some(part) = line.strip_suffix('\\') {
            buffer.push_str(part);
            buffer.push('\n');
            continue;
        }
        buffer.push_str(&line);
        let text = std::mem::take(&mut buffer);
        if text.trim().is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(text.as_str());
        match target.run(&args.db, &text).await {
            Ok(tables) => print!("{}", format_tables(&tables, args.format)),
            Err(message) => eprintln!("{}", explain(&text, &message)),
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(())
}

/// The error message, and when it names a line and column, that line with a caret.
pub fn explain(text: &str, message: &str) -> String {
    let Some(pos) = line_col(message) else {
        return format!("error: {message}");
    };
    let (line, col) = pos;
    let source = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
    format!(
        "error: {message}\n  {source}\n  {}^",
        " ".repeat(col.saturating_sub(1))
    )
}

/// Finds `(line L, column C)` in a message.
fn line_col(message: &str) -> Option<(usize, usize)> {
    let at = message.rfind("(line ")?;
    let rest = &message[at + 6..];
    let (line, rest) = rest.split_once(", column ")?;
    let col = rest.split(')').next()?;
    Some((line.trim().parse().ok()?, col.trim().parse().ok()?))
}

pub fn format_tables(tables: &[ResultTable], format: OutputFormat) -> String {
    let mut out = String::new();
    for t in tables {
        match format {
            OutputFormat::Table => {
                let headers: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
                let rows: Vec<Vec<String>> = t
                    .rows
                    .iter()
                    .map(|r| r.iter().map(display).collect())
                    .collect();
                out.push_str(&render(&headers, &rows));
                out.push_str(&format!(
                    "({} row{})\n",
                    t.rows.len(),
                    if t.rows.len() == 1 { "" } else { "s" }
                ));
            }
            OutputFormat::Json => {
                for r in &t.rows {
                    let obj: serde_json::Map<String, serde_json::Value> = t
                        .columns
                        .iter()
                        .zip(r)
                        .map(|(c, v)| (c.name.clone(), v.clone()))
                        .collect();
                    out.push_str(&serde_json::Value::Object(obj).to_string());
                    out.push('\n');
                }
            }
            OutputFormat::Csv => {
                let esc = |s: String| {
                    if s.contains([',', '"', '\n']) {
                        format!("\"{}\"", s.replace('"', "\"\""))
                    } else {
                        s
                    }
                };
                out.push_str(
                    &t.columns
                        .iter()
                        .map(|c| esc(c.name.clone()))
                        .collect::<Vec<_>>()
                        .join(","),
                );
                out.push('\n');
                for r in &t.rows {
                    out.push_str(
                        &r.iter()
                            .map(|v| esc(display(v)))
                            .collect::<Vec<_>>()
                            .join(","),
                    );
                    out.push('\n');
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_under_the_position() {
        let e = explain(
            "T\n| whre x",
            "Syntax error: unknown operator 'whre' (line 2, column 3)",
        );
        assert!(e.ends_with("  | whre x\n    ^"), "{e}");
        assert_eq!(explain("x", "boom"), "error: boom");
    }
}
