//! `eddy consume HUB`: print events from a position, or as a checkpointing member
//! of a consumer group.

use std::time::Duration;

use anyhow::Result;
use clap::{Args, ValueEnum};
use eddy_server::api::ReceivedJson;

use crate::client::Client;
use crate::consumer::{self, ConsumerOptions};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct ConsumeArgs {
    pub hub: String,
    #[arg(long, default_value = "$Default")]
    pub group: String,
    /// Only these partitions (repeatable); default all.
    #[arg(long = "partition")]
    pub partitions: Vec<String>,
    /// Start position without a checkpoint: earliest, latest, seq:N, offset:N,
    /// time:RFC3339 ('>' after the colon for exclusive).
    #[arg(long, default_value = "earliest")]
    pub from: String,
    /// Resume from and store the group's checkpoints, sharing partitions with the
    /// group's other consumers.
    #[arg(long)]
    pub checkpoint: bool,
    /// This consumer's id in ownership records [default: random].
    #[arg(long)]
    pub owner_id: Option<String>,
    /// Stop after this many events.
    #[arg(long)]
    pub max_events: Option<usize>,
    /// Stop when no event arrived for this long.
    #[arg(long)]
    pub idle_timeout_ms: Option<u64>,
    #[arg(long, default_value_t = 10_000)]
    pub balance_interval_ms: u64,
    #[arg(long, default_value_t = 60_000)]
    pub ownership_expiry_ms: u64,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

pub async fn run(client: &Client, args: ConsumeArgs) -> Result<()> {
    let opts = ConsumerOptions {
        hub: args.hub.clone(),
        group: args.group.clone(),
        partitions: if args.partitions.is_empty() {
            None
        } else {
            Some(args.partitions.clone())
        },
        from: args.from.clone(),
        checkpoint: args.checkpoint,
        owner_id: args
            .owner_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        balance_interval: Duration::from_millis(args.balance_interval_ms.max(10)),
        ownership_expiry: Duration::from_millis(args.ownership_expiry_ms),
        batch: 300,
        wait_ms: 1000,
        max_events: args.max_events,
        idle_timeout: args.idle_timeout_ms.map(Duration::from_millis),
    };
    let output = args.output;
    consumer::run(client, opts, |e| print_event(e, output)).await?;
    Ok(())
}

fn print_event(e: &ReceivedJson, output: Output) {
    match output {
        Output::Json => println!("{}", serde_json::to_string(e).unwrap_or_default()),
        Output::Text => {
            let body = e
                .body
                .clone()
                .unwrap_or_else(|| format!("base64:{}", e.body_base64.clone().unwrap_or_default()));
            println!(
                "Received the event: \"{body}\" from the partition with ID: \"{}\"",
                e.partition_id
            );
            println!(
                "  properties: {}  sequence_number: {}  offset: {}  enqueued_time: {}{}",
                serde_json::Value::Object(e.properties.clone()),
                e.sequence_number,
                e.offset,
                e.enqueued_time,
                e.partition_key
                    .as_ref()
                    .map(|k| format!("  partition_key: {k}"))
                    .unwrap_or_default()
            );
        }
    }
}
