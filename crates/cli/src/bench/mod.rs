//! `eddy bench`: macro benchmarks that print JSON, with peers run in the same
//! invocation so that results read as ratios.

mod hub;

use anyhow::Result;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Durable-ack produce throughput and latency: Eddy vs NATS JetStream.
    Hub(hub::HubBenchArgs),
}

pub async fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Hub(args) => hub::run(args).await,
    }
}
