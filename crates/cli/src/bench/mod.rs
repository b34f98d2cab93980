//! `eddy bench`: macro benchmarks that print JSON, with peers run in the same
//! invocation so that results read as ratios.

mod common;
mod hub;
mod hub_amqp;
mod ingest;

use anyhow::Result;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Durable-ack produce throughput and latency: Eddy vs NATS JetStream.
    Hub(hub::HubBenchArgs),
    /// Data connection freshness and throughput: send → visible-to-KQL latency at a
    /// fixed rate, then rows/s into a table at saturation.
    Ingest(ingest::IngestBenchArgs),
}

pub async fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Hub(args) => hub::run(args).await,
        BenchCommand::Ingest(args) => ingest::run(args).await,
    }
}
