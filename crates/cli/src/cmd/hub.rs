//! `eddy hub create|list|show|delete|group-create|group-delete`.

use anyhow::Result;
use clap::Subcommand;
use serde_json::{json, Value};

use crate::client::Client;
use crate::table;

#[derive(Subcommand, Debug)]
pub enum HubCommand {
    /// Create an event hub.
    Create {
        name: String,
        #[arg(long)]
        partitions: Option<u32>,
        #[arg(long)]
        retention_hours: Option<u64>,
        /// Per-partition size limit in bytes.
        #[arg(long)]
        retention_bytes: Option<u64>,
        /// Extra consumer groups ($Default always exists).
        #[arg(long = "consumer-group")]
        consumer_groups: Vec<String>,
        #[arg(long)]
        max_events_per_sec: Option<u64>,
        #[arg(long)]
        max_bytes_per_sec: Option<u64>,
    },
    /// List event hubs.
    List,
    /// Describe a hub and its partitions.
    Show {
        name: String,
        /// Print the JSON description.
        #[arg(long)]
        json: bool,
    },
    /// Delete a hub and all its events.
    Delete { name: String },
    /// Add a consumer group.
    GroupCreate { hub: String, group: String },
    /// Remove a consumer group with its checkpoints.
    GroupDelete { hub: String, group: String },
}

pub async fn run(client: &Client, cmd: HubCommand) -> Result<()> {
    match cmd {
        HubCommand::Create {
            name,
            partitions,
            retention_hours,
            retention_bytes,
            consumer_groups,
            max_events_per_sec,
            max_bytes_per_sec,
        } => {
            let body = json!({
                "partitions": partitions,
                "retention_hours": retention_hours,
                "retention_bytes": retention_bytes,
                "consumer_groups": consumer_groups,
                "max_events_per_sec": max_events_per_sec,
                "max_bytes_per_sec": max_bytes_per_sec,
            });
            let hub = client.create_hub(&name, &body).await?;
            println!(
                "created event hub '{name}' with {} partitions",
                hub["partition_count"]
            );
        }
        HubCommand::List => {
            let hubs = client.list_hubs().await?;
            let rows: Vec<Vec<String>> = hubs
                .iter()
                .map(|h| {
                    let events: i64 = h["partitions"]
                        .as_array()
                        .map(|ps| {
                            ps.iter()
                                .map(|p| {
                                    p["last_enqueued_sequence_number"].as_i64().unwrap_or(-1) + 1
                                        - p["begin_sequence_number"].as_i64().unwrap_or(0)
                                })
                                .sum()
                        })
                        .unwrap_or(0);
                    vec![
                        text(&h["name"]),
                        text(&h["partition_count"]),
                        text(&h["retention_hours"]),
                        h["consumer_groups"]
                            .as_array()
                            .map(|g| g.iter().map(text).collect::<Vec<_>>().join(","))
                            .unwrap_or_default(),
                        events.to_string(),
                        text(&h["created_at"]),
                    ]
                })
                .collect();
            print!(
                "{}",
                table::render(
                    &[
                        "name",
                        "partitions",
                        "retention_h",
                        "consumer_groups",
                        "events",
                        "created_at"
                    ],
                    &rows
                )
            );
        }
        HubCommand::Show { name, json } => {
            let hub = client.show_hub(&name).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&hub)?);
                return Ok(());
            }
            println!("event hub:        {}", text(&hub["name"]));
            println!("created at:       {}", text(&hub["created_at"]));
            println!(
                "retention:        {} h{}",
                text(&hub["retention_hours"]),
                match hub["retention_bytes"].as_u64() {
                    Some(b) => format!(", {b} bytes per partition"),
                    None => String::new(),
                }
            );
            println!(
                "consumer groups:  {}",
                hub["consumer_groups"]
                    .as_array()
                    .map(|g| g.iter().map(text).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()
            );
            let rows: Vec<Vec<String>> = hub["partitions"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            vec![
                                text(&p["id"]),
                                text(&p["begin_sequence_number"]),
                                text(&p["last_enqueued_sequence_number"]),
                                text(&p["last_enqueued_offset"]),
                                text(&p["last_enqueued_time_utc"]),
                                text(&p["is_empty"]),
                                text(&p["size_bytes"]),
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default();
            print!(
                "{}",
                table::render(
                    &[
                        "partition",
                        "begin_seq",
                        "last_seq",
                        "last_offset",
                        "last_enqueued_time_utc",
                        "empty",
                        "bytes"
                    ],
                    &rows
                )
            );
        }
        HubCommand::Delete { name } => {
            client.delete_hub(&name).await?;
            println!("deleted event hub '{name}'");
        }
        HubCommand::GroupCreate { hub, group } => {
            client.create_group(&hub, &group).await?;
            println!("created consumer group '{group}' in '{hub}'");
        }
        HubCommand::GroupDelete { hub, group } => {
            client.delete_group(&hub, &group).await?;
            println!("deleted consumer group '{group}' from '{hub}'");
        }
    }
    Ok(())
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}
