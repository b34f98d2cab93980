//! `eddy bench hub`: N producers over loopback, each sending batches of small JSON
//! events and waiting for the durable acknowledgement of every batch, for a fixed
//! time. The same workload runs against NATS JetStream (file storage, fresh store per
//! run) in its default mode (acks before fsync) and durable per message (`chattr +S`
//! on its store directory). Eddy runs as a child `eddy serve`, so its CPU and peak
//! RSS are measured apart from the load generator. `sync` runs between runs.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Value};

use super::common::{percentile, proc_usage, spawn_eddy, stop_gracefully, sync_disk, RunArgs};

/// `--smoke`: 2 s per run, producers 1 and 4.
#[derive(Args, Debug)]
pub struct HubBenchArgs {
    /// Seconds per run.
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Producer counts, comma-separated.
    #[arg(long, default_value = "1,4,16", value_delimiter = ',')]
    pub producers: Vec<usize>,
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    #[arg(long, default_value_t = 200)]
    pub event_bytes: usize,
    #[arg(long, default_value_t = 4)]
    pub partitions: u32,
    /// Skip the NATS JetStream peer.
    #[arg(long)]
    pub no_nats: bool,
    /// Skip Eddy's lazy-fsync mode.
    #[arg(long)]
    pub no_lazy: bool,
    /// Skip the Kafka-protocol path (librdkafka via confluent-kafka in Python).
    #[arg(long)]
    pub no_kafka: bool,
    /// Skip the Event Hubs AMQP paths (fe2o3-amqp producers; the Python SDK).
    #[arg(long)]
    pub no_amqp: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

pub(super) struct RunStats {
    events: u64,
    seconds: f64,
    latencies_us: Vec<u64>,
    errors: u64,
    /// CPU seconds the load generator (this process) used during the run.
    client_cpu: f64,
}

pub(super) fn event_body(bytes: usize, i: usize) -> String {
    let head = format!(
        "{{\"deviceId\":\"contoso-device-id-{:06}\",\"type\":\"TEMP\",\"value\":21.5,\"pad\":\"",
        i % 1000
    );
    let pad = bytes.saturating_sub(head.len() + 2);
    format!("{head}{}\"}}", "x".repeat(pad))
}

pub(super) fn summarize(
    system: &str,
    mode: &str,
    producers: usize,
    args: &HubBenchArgs,
    mut s: RunStats,
    proc_stats: Option<(f64, u64)>,
) -> Value {
    s.latencies_us.sort_unstable();
    let eps = s.events as f64 / s.seconds;
    json!({
        "system": system,
        "mode": mode,
        "producers": producers,
        "batch": args.batch,
        "event_bytes": args.event_bytes,
        "events": s.events,
        "seconds": (s.seconds * 1000.0).round() / 1000.0,
        "events_per_sec": eps.round(),
        "mb_per_sec": (eps * args.event_bytes as f64 / 1e6 * 100.0).round() / 100.0,
        "ack_latency_ms": {
            "p50": percentile(&s.latencies_us, 0.50),
            "p99": percentile(&s.latencies_us, 0.99),
            "p999": percentile(&s.latencies_us, 0.999),
        },
        "errors": s.errors,
        "client_cpu_cores": (s.client_cpu / s.seconds * 100.0).round() / 100.0,
        "server_cpu_cores": proc_stats.map(|(cpu, _)| (cpu / s.seconds * 100.0).round() / 100.0),
        "server_peak_rss_mb": proc_stats.map(|(_, rss)| (rss as f64 / 1e6 * 10.0).round() / 10.0),
    })
}

pub async fn run(mut args: HubBenchArgs) -> Result<()> {
    if args.run.smoke {
        args.duration_secs = 2;
        args.producers = vec![1, 4];
    }
    let tmp = args.run.tempdir("eddy-bench-")?;
    let mut results = Vec::new();
    let mut modes = vec!["durable"];
    if !args.no_lazy {
        modes.push("lazy");
    }
    for mode in &modes {
        for &p in &args.producers {
            sync_disk();
            let dir = tmp.path().join(format!("eddy-{mode}-{p}"));
            let r = bench_eddy(&args, &dir, mode, p)
                .await
                .with_context(|| format!("eddy {mode} with {p} producers"))?;
            eprintln!("{r}");
            results.push(r);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let mut kafka_note = Value::Null;
    if !args.no_kafka {
        for mode in &modes {
            sync_disk();
            let dir = tmp.path().join(format!("eddy-kafka-{mode}"));
            match bench_kafka(&args, &dir, mode).await {
                Ok(r) => {
                    eprintln!("{r}");
                    results.push(r);
                }
                Err(e) => {
                    eprintln!("kafka path {mode}: {e:#}");
                    kafka_note = json!(format!("Kafka path skipped: {e:#}"));
                    break;
                }
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let mut amqp_note = Value::Null;
    if !args.no_amqp {
        for mode in &modes {
            for &p in &args.producers {
                sync_disk();
                let dir = tmp.path().join(format!("eddy-amqp-{mode}-{p}"));
                let r = super::hub_amqp::bench_amqp(&args, &dir, mode, p)
                    .await
                    .with_context(|| format!("eddy amqp {mode} with {p} producers"))?;
                eprintln!("{r}");
                results.push(r);
                let _ = std::fs::remove_dir_all(&dir);
            }
            sync_disk();
            let dir = tmp.path().join(format!("eddy-amqp-python-{mode}"));
            match super::hub_amqp::bench_python_sdk(&args, &dir, mode).await {
                Ok(r) => {
                    eprintln!("{r}");
                    results.push(r);
                }
                Err(e) => {
                    eprintln!("python sdk path {mode}: {e:#}");
                    amqp_note = json!(format!("Python SDK path skipped: {e:#}"));
                }
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let mut nats_note = Value::Null;
    if !args.no_nats {
        match which("nats-server") {
            None => {
                nats_note =
                    json!("nats-server not found (apt-get install nats-server); peer skipped")
            }
            Some(bin) => {
                for mode in ["default", "durable"] {
                    for &p in &args.producers {
                        sync_disk();
                        let dir = tmp.path().join(format!("nats-{mode}-{p}"));
                        match bench_nats(&args, &bin, &dir, mode, p).await {
                            Ok(r) => {
                                eprintln!("{r}");
                                results.push(r);
                            }
                            Err(e) => {
                                eprintln!("nats {mode} {p}: {e:#}");
                                results.push(json!({"system": "nats-jetstream", "mode": mode, "producers": p, "error": format!("{e:#}")}));
                            }
                        }
                        let _ = std::fs::remove_dir_all(&dir);
                    }
                }
            }
        }
    }
    let ratios = ratios(&results, &args.producers);
    let report = json!({
        "benchmark": "hub-produce",
        "duration_secs": args.duration_secs,
        "batch": args.batch,
        "event_bytes": args.event_bytes,
        "partitions": args.partitions,
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)},
        "results": results,
        "ratios": ratios,
        "note": nats_note,
        "kafka_note": kafka_note,
        "amqp_note": amqp_note,
    });
    args.run.report(&report)?;
    Ok(())
}

fn ratios(results: &[Value], producers: &[usize]) -> Value {
    let find = |system: &str, mode: &str, p: usize| {
        results
            .iter()
            .find(|r| r["system"] == system && r["mode"] == mode && r["producers"] == p)
            .and_then(|r| r["events_per_sec"].as_f64())
    };
    let mut out = Vec::new();
    for &p in producers {
        let pair = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => json!((a / b * 100.0).round() / 100.0),
            _ => Value::Null,
        };
        out.push(json!({
            "producers": p,
            "eddy_durable_vs_jetstream_durable": pair(find("eddy", "durable", p), find("nats-jetstream", "durable", p)),
            "eddy_lazy_vs_jetstream_default": pair(find("eddy", "lazy", p), find("nats-jetstream", "default", p)),
            "eddy_durable_vs_jetstream_default": pair(find("eddy", "durable", p), find("nats-jetstream", "default", p)),
        }));
    }
    // One librdkafka producer (pipelined batches) against the HTTP path's best.
    let best = |system: &str, mode: &str| {
        producers
            .iter()
            .filter_map(|p| find(system, mode, *p))
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    };
    for mode in ["durable", "lazy"] {
        if let (Some(k), Some(h)) = (find("eddy-kafka", mode, 1), best("eddy", mode)) {
            out.push(json!({
                "mode": mode,
                "eddy_kafka_1_producer_vs_eddy_http_best": (k / h * 100.0).round() / 100.0,
            }));
        }
    }
    for &p in producers {
        let (a, h) = (find("eddy-amqp", "durable", p), find("eddy", "durable", p));
        if let (Some(a), Some(h)) = (a, h) {
            out.push(json!({
                "producers": p,
                "eddy_amqp_vs_eddy_http_durable": (a / h * 100.0).round() / 100.0,
            }));
        }
    }
    Value::Array(out)
}

fn which(bin: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

/// A server in `dir` with fsync `mode` (durable or lazy) and hub `bench`.
pub(super) async fn start_server(
    args: &HubBenchArgs,
    dir: &Path,
    mode: &str,
) -> Result<super::common::Child> {
    let fsync = if mode == "durable" { "always" } else { "lazy" };
    let child = spawn_eddy(dir, &["--fsync", fsync]).await?;
    child
        .client
        .create_hub("bench", &json!({"partitions": args.partitions}))
        .await?;
    Ok(child)
}

/// Runs the embedded Python client `name` (source `code`) with `args` against a
/// server with pid `pid`; returns its JSON output and the server's CPU seconds and
/// peak RSS over the run.
pub(super) async fn run_python_client(
    dir: &Path,
    name: &str,
    code: &str,
    needs: &str,
    pid: u32,
    args: &[&str],
) -> Result<(Value, Option<(f64, u64)>)> {
    let script = dir.join(name);
    std::fs::write(&script, code)?;
    // The machine workaround the tests use too (see that file), loaded at start.
    std::fs::write(
        dir.join("sitecustomize.py"),
        include_str!("../../tests/python/site/sitecustomize.py"),
    )?;
    let python = std::env::var("EDDY_PYTHON").unwrap_or_else(|_| "python3".into());
    let cpu0 = proc_usage(pid).map_or(0.0, |u| u.0);
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .args(args)
        .env("PYTHONPATH", dir)
        .output()
        .await
        .with_context(|| format!("run {python}"))?;
    let usage = proc_usage(pid).map(|(cpu, rss)| (cpu - cpu0, rss));
    if !out.status.success() {
        bail!(
            "{python} {name} failed (needs {needs}; ./test.sh's venv has it, set EDDY_PYTHON): {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        );
    }
    let r = serde_json::from_slice(&out.stdout).with_context(|| format!("{name} output"))?;
    Ok((r, usage))
}

async fn bench_eddy(
    args: &HubBenchArgs,
    dir: &Path,
    mode: &str,
    producers: usize,
) -> Result<Value> {
    let super::common::Child {
        process: mut child,
        pid,
        client,
        ..
    } = start_server(args, dir, mode).await?;
    let bodies: Vec<Value> = (0..args.batch)
        .map(|i| json!({"body": event_body(args.event_bytes, i)}))
        .collect();
    let payload = bytes::Bytes::from(serde_json::to_vec(&json!({"events": bodies}))?);
    let cpu0 = proc_usage(pid).map_or(0.0, |u| u.0);
    let stats = drive(producers, args.duration_secs, args.batch, move |_| {
        let client = client.clone();
        let payload = payload.clone();
        async move { client.send_raw("bench", payload).await.map(|_| ()) }
    })
    .await;
    let usage = proc_usage(pid).map(|(cpu, rss)| (cpu - cpu0, rss));
    stop_gracefully(&mut child).await;
    Ok(summarize("eddy", mode, producers, args, stats, usage))
}

/// The Kafka path: one librdkafka producer (acks=all, idempotent) for the run's
/// duration, then one consumer reading it all back; both in the Python client
/// `kafka_client.py` so the load is a real Kafka client's.
async fn bench_kafka(args: &HubBenchArgs, dir: &Path, mode: &str) -> Result<Value> {
    let super::common::Child {
        process: mut child,
        pid,
        kafka,
        ..
    } = start_server(args, dir, mode).await?;
    let ran = run_python_client(
        dir,
        "kafka_client.py",
        include_str!("kafka_client.py"),
        "confluent-kafka",
        pid,
        &[
            kafka.as_str(),
            "bench",
            &args.duration_secs.to_string(),
            &args.event_bytes.to_string(),
        ],
    )
    .await;
    stop_gracefully(&mut child).await;
    let (r, usage) = ran?;
    let secs =
        r["produce_seconds"].as_f64().unwrap_or(1.0) + r["consume_seconds"].as_f64().unwrap_or(0.0);
    Ok(json!({
        "system": "eddy-kafka",
        "mode": mode,
        "producers": 1,
        "client": "confluent-kafka (librdkafka), acks=all, idempotent, linger.ms=5",
        "event_bytes": args.event_bytes,
        "events": r["produced"],
        "seconds": r["produce_seconds"],
        "events_per_sec": r["produce_events_per_sec"],
        "ack_latency_ms": r["ack_latency_ms"],
        "errors": r["produce_errors"],
        "consumed": r["consumed"],
        "consume_events_per_sec": r["consume_events_per_sec"],
        "server_cpu_cores": usage.map(|(cpu, _)| (cpu / secs * 100.0).round() / 100.0),
        "server_peak_rss_mb": usage.map(|(_, rss)| (rss as f64 / 1e6 * 10.0).round() / 10.0),
    }))
}

/// Runs `producers` loops of `send` for `secs`, timing each acknowledged batch.
pub(super) async fn drive<F, Fut>(producers: usize, secs: u64, batch: usize, send: F) -> RunStats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let send = Arc::new(send);
    let cpu0 = proc_usage(std::process::id()).map_or(0.0, |u| u.0);
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for p in 0..producers {
        let send = send.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < end {
                let t = Instant::now();
                match send(p).await {
                    Ok(()) => lat.push(t.elapsed().as_micros() as u64),
                    Err(_) => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut stats = RunStats {
        events: 0,
        seconds: 0.0,
        latencies_us: Vec::new(),
        errors: 0,
        client_cpu: 0.0,
    };
    for t in tasks {
        if let Ok((lat, errors)) = t.await {
            stats.events += lat.len() as u64 * batch as u64;
            stats.latencies_us.extend(lat);
            stats.errors += errors;
        }
    }
    stats.seconds = start.elapsed().as_secs_f64();
    stats.client_cpu = proc_usage(std::process::id()).map_or(0.0, |u| u.0) - cpu0;
    stats
}

async fn bench_nats(
    args: &HubBenchArgs,
    bin: &Path,
    dir: &Path,
    mode: &str,
    producers: usize,
) -> Result<Value> {
    std::fs::create_dir_all(dir)?;
    if mode == "durable" {
        // One fsync per write on this directory: JetStream's durable-per-message mode
        // on a server without sync_interval.
        let ok = std::process::Command::new("chattr")
            .arg("+S")
            .arg(dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            bail!(
                "chattr +S failed on {} (needs ext4 and root)",
                dir.display()
            );
        }
    }
    let port = free_port()?;
    let mut child = tokio::process::Command::new(bin)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("nats pid")?;
    let url = format!("nats://127.0.0.1:{port}");
    let nc = {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match async_nats::connect(&url).await {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => bail!("cannot connect to nats-server: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    };
    let js = async_nats::jetstream::new(nc);
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "bench".into(),
        subjects: vec!["bench".into()],
        storage: async_nats::jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(|e| anyhow::anyhow!("create stream: {e}"))?;
    let payloads: Arc<Vec<bytes::Bytes>> = Arc::new(
        (0..args.batch)
            .map(|i| bytes::Bytes::from(event_body(args.event_bytes, i)))
            .collect(),
    );
    let cpu0 = proc_usage(pid).map_or(0.0, |u| u.0);
    let stats = drive(producers, args.duration_secs, args.batch, move |_| {
        let js = js.clone();
        let payloads = payloads.clone();
        async move {
            let mut acks = Vec::with_capacity(payloads.len());
            for p in payloads.iter() {
                acks.push(
                    js.publish("bench", p.clone())
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                );
            }
            for a in acks {
                a.await.map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            Ok(())
        }
    })
    .await;
    let usage = proc_usage(pid).map(|(cpu, rss)| (cpu - cpu0, rss));
    let _ = child.kill().await;
    let _ = std::process::Command::new("chattr")
        .arg("-S")
        .arg(dir)
        .status();
    Ok(summarize(
        "nats-jetstream",
        mode,
        producers,
        args,
        stats,
        usage,
    ))
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_the_requested_size_and_percentiles_pick_ranks() {
        assert_eq!(event_body(200, 3).len(), 200);
        assert!(serde_json::from_str::<Value>(&event_body(200, 3)).is_ok());
        let v: Vec<u64> = (1..=1000).map(|i| i * 1000).collect();
        assert_eq!(percentile(&v, 0.5), 501.0);
        assert_eq!(percentile(&v, 0.999), 999.0);
    }
}
