//! `eddy bench`: macro benchmarks that print JSON, with peers run in the same
//! invocation so that results read as ratios.

mod common;
mod hub;
mod hub_amqp;
mod ingest;
mod query;
mod query_data;
mod query_suite;

use anyhow::Result;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Durable-ack produce throughput and latency: Eddy vs NATS JetStream.
    Hub(hub::HubBenchArgs),
    /// Data connection freshness and throughput: send → visible-to-KQL latency at a
    /// fixed rate, then rows/s into a table at saturation.
    Ingest(ingest::IngestBenchArgs),
    /// KQL query latency and JSON-mapped ingestion throughput on a telemetry table:
    /// Eddy vs DuckDB over the same files.
    Query(query::QueryBenchArgs),
}

pub async fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Hub(args) => hub::run(args).await,
        BenchCommand::Ingest(args) => ingest::run(args).await,
        BenchCommand::Query(args) => query::run(args).await,
    }
}
