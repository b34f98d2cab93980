//! `eddy send HUB [BODY]... [--file F|-] [-p NAME[:TYPE]=VALUE]...`

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use eddy_server::api::{EventJson, SendRequest};
use serde_json::{Map, Value};

use crate::client::Client;

#[derive(Args, Debug)]
pub struct SendArgs {
    pub hub: String,
    /// Event bodies, one event each.
    pub bodies: Vec<String>,
    /// Read events from a file, one per line (`-` for stdin).
    #[arg(long, short)]
    pub file: Option<PathBuf>,
    /// Each input line is a full event object {"body":..,"properties":{..}}.
    #[arg(long)]
    pub event_json: bool,
    /// User property on every event: NAME=VALUE or NAME:TYPE=VALUE (string, long,
    /// double, bool, timestamp). Names are case-sensitive.
    #[arg(long = "property", short = 'p')]
    pub properties: Vec<String>,
    #[arg(long, conflicts_with = "partition")]
    pub partition_key: Option<String>,
    #[arg(long)]
    pub partition: Option<String>,
    /// Events per send (each send is one atomic batch).
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
}

/// Parses `NAME=VALUE` / `NAME:TYPE=VALUE` into a JSON property value.
pub fn parse_property(spec: &str) -> Result<(String, Value)> {
    let (lhs, value) = spec
        .split_once('=')
        .with_context(|| format!("property '{spec}' must look like NAME=VALUE"))?;
    let (name, kind) = match lhs.split_once(':') {
        Some((n, k)) => (n, k),
        None => (lhs, "string"),
    };
    if name.is_empty() {
        bail!("property '{spec}' has no name");
    }
    let v = match kind {
        "string" | "str" => Value::String(value.into()),
        "long" | "int" => Value::from(
            value
                .parse::<i64>()
                .with_context(|| format!("'{value}' is not a long"))?,
        ),
        "double" | "real" => Value::from(
            value
                .parse::<f64>()
                .with_context(|| format!("'{value}' is not a double"))?,
        ),
        "bool" => Value::Bool(
            value
                .parse()
                .with_context(|| format!("'{value}' is not true/false"))?,
        ),
        "timestamp" | "datetime" => serde_json::json!({"type": "timestamp", "value": value}),
        other => {
            bail!("unknown property type '{other}': use string, long, double, bool or timestamp")
        }
    };
    Ok((name.to_string(), v))
}

pub async fn run(client: &Client, args: SendArgs) -> Result<()> {
    let mut props = Map::new();
    for p in &args.properties {
        let (k, v) = parse_property(p)?;
        props.insert(k, v);
    }
    let mut lines: Vec<String> = args.bodies.clone();
    if let Some(file) = &args.file {
        let reader: Box<dyn BufRead> = if file.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(std::io::BufReader::new(
                std::fs::File::open(file).with_context(|| format!("open {}", file.display()))?,
            ))
        };
        for line in reader.lines() {
            let line = line?;
            if !line.trim().is_empty() {
                lines.push(line);
            }
        }
    }
    if lines.is_empty() {
        bail!("nothing to send: give bodies as arguments or --file");
    }
    let mut events = Vec::with_capacity(lines.len());
    for (i, line) in lines.into_iter().enumerate() {
        let mut e = if args.event_json {
            serde_json::from_str::<EventJson>(&line)
                .with_context(|| format!("line {}: not an event object", i + 1))?
        } else {
            EventJson {
                body: Some(Value::String(line)),
                ..Default::default()
            }
        };
        for (k, v) in &props {
            e.properties.entry(k.clone()).or_insert(v.clone());
        }
        events.push(e);
    }
    let total = events.len();
    let mut sent = 0;
    for chunk in events.chunks(args.batch_size.max(1)) {
        let req = SendRequest {
            events: chunk.to_vec(),
            partition_key: args.partition_key.clone(),
            partition_id: args.partition.clone(),
        };
        let r = client.send(&args.hub, &req).await?;
        sent += chunk.len();
        println!(
            "sent {} event(s) to {}/{} (sequence {}..{})",
            chunk.len(),
            args.hub,
            r.partition_id,
            r.first_sequence_number,
            r.last_sequence_number
        );
    }
    debug_assert_eq!(sent, total);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_specs() {
        assert_eq!(
            parse_property("Table=T").unwrap(),
            ("Table".into(), Value::String("T".into()))
        );
        assert_eq!(parse_property("n:long=5").unwrap().1, Value::from(5));
        assert!(parse_property("n:long=x").is_err());
        assert!(parse_property("novalue").is_err());
        assert!(parse_property("x:blob=1").is_err());
    }
}
