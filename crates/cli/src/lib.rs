//! The `eddy` command line: `serve` runs the server; every other command is a client
//! of a running server's HTTP API (`--url`, `EDDY_URL`, default
//! `http://127.0.0.1:8080`).

pub mod bench;
pub mod client;
pub mod cmd;
pub mod consumer;
pub mod simulate;
pub mod table;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "eddy",
    version,
    about = "Eddy: a self-hosted real-time telemetry platform"
)]
pub struct Cli {
    /// Base URL of a running Eddy server (client commands).
    #[arg(
        long,
        global = true,
        env = "EDDY_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub url: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start Eddy with embedded defaults (data in ./eddy-data).
    Serve(cmd::serve::ServeArgs),
    /// Manage event hubs.
    #[command(subcommand)]
    Hub(cmd::hub::HubCommand),
    /// Manage data connections: a hub feeding explorer tables.
    #[command(subcommand)]
    Connection(cmd::connection::ConnectionCommand),
    /// Send events to a hub.
    Send(cmd::send::SendArgs),
    /// Read events from a hub, optionally as a consumer group with checkpoints.
    Consume(cmd::consume::ConsumeArgs),
    /// Generate IoT telemetry load.
    Simulate(simulate::SimulateArgs),
    /// Run KQL or a management command (`.create table`, `.ingest`, ...); no text opens a prompt.
    Query(cmd::query::QueryArgs),
    /// Run a benchmark (JSON on stdout).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let client = client::Client::new(&cli.url);
    match cli.command {
        Command::Serve(args) => cmd::serve::run(args).await,
        Command::Hub(c) => cmd::hub::run(&client, c).await,
        Command::Connection(c) => cmd::connection::run(&client, c).await,
        Command::Send(args) => cmd::send::run(&client, args).await,
        Command::Consume(args) => cmd::consume::run(&client, args).await,
        Command::Simulate(args) => simulate::run(&client, args).await,
        Command::Query(args) => cmd::query::run(&client, args).await,
        Command::Bench(c) => bench::run(c).await,
    }
}
