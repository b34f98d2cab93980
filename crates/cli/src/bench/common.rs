//! What the benchmarks share: a child `eddy serve`, its CPU and memory, percentiles.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use tokio::io::AsyncBufReadExt;

use crate::client::Client;

/// Options every benchmark has.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// A short run for CI (each benchmark says what it shortens).
    #[arg(long)]
    pub smoke: bool,
    /// Where to put data directories and stores (default: a temp dir).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Also write the JSON report here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl RunArgs {
    /// A fresh directory for this run's data, removed afterwards.
    pub fn tempdir(&self, prefix: &str) -> Result<tempfile::TempDir> {
        Ok(tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(self.work_dir.clone().unwrap_or_else(std::env::temp_dir))?)
    }

    /// Prints the report as JSON on stdout and writes it to `--out` when given.
    pub fn report(&self, report: &serde_json::Value) -> Result<()> {
        let text = serde_json::to_string_pretty(report)?;
        println!("{text}");
        if let Some(out) = &self.out {
            std::fs::write(out, &text)?;
        }
        Ok(())
    }
}

/// A child `eddy serve` for a benchmark.
pub struct Child {
    pub process: tokio::process::Child,
    pub pid: u32,
    pub client: Client,
    /// `host:port` of its Kafka endpoint.
    pub kafka: String,
    /// `host:port` of its Event Hubs AMQP endpoint.
    pub amqp: String,
}

/// Starts `eddy serve` (this binary) on free ports with data in `dir`; returns once
/// it answers.
pub async fn spawn_eddy(dir: &Path, extra: &[&str]) -> Result<Child> {
    let exe = std::env::current_exe()?;
    let mut process = tokio::process::Command::new(exe)
        .arg("serve")
        .args(crate::cmd::serve::FREE_PORTS)
        .arg("--data-dir")
        .arg(dir)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let pid = process.id().context("server pid")?;
    let mut lines =
        tokio::io::BufReader::new(process.stdout.take().context("server stdout")?).lines();
    let mut announced = crate::cmd::serve::Announced::default();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await??
            .context("server exited")?;
        if announced.take_line(&line) {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let client = Client::new(&format!("http://{}", announced.http));
    client.wait_ready(Duration::from_secs(30)).await?;
    Ok(Child {
        process,
        pid,
        client,
        kafka: announced.kafka,
        amqp: announced.amqp,
    })
}

/// Stops a child server with SIGTERM (graceful flush), then waits.
pub async fn stop_gracefully(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    if tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// The `q` quantile of sorted microseconds, in milliseconds.
pub fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[idx] as f64 / 1000.0
}

/// CPU seconds (user + system) and peak RSS bytes of a process, from /proc.
pub fn proc_usage(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm_kb = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()?;
    Some((ticks / 100.0, hwm_kb * 1024))
}

pub fn sync_disk() {
    let _ = std::process::Command::new("sync").status();
}
