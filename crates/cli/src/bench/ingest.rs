//! `eddy bench ingest`: a data connection from a hub into a table with streaming
//! ingestion on, fed with the seed's IoT events over HTTP.
//!
//! 1. Fixed rate (default 50,000 events/s): every 100 ms one event carries a probe id;
//!    a poller queries the table for probes and records send → visible-to-KQL latency.
//! 2. Saturation: senders unpaced; the hub's accepted events/s is the peer the data
//!    connection's ingested events/s is compared with (ratio 1.0 = it keeps up).
//!
//! The server is a child `eddy serve`, so its CPU and peak RSS are its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use serde_json::{json, Value};

use super::common::{percentile, proc_usage, spawn_eddy, stop_gracefully, RunArgs};
use crate::client::Client;

const DB: &str = eddy_explorer::DEFAULT_DATABASE;

/// `--smoke`: 2,000 events/s for 2 s in batches of 100, then 2 s of saturation.
#[derive(Args, Debug)]
pub struct IngestBenchArgs {
    /// Events per second in the fixed-rate phase.
    #[arg(long, default_value_t = 50_000)]
    pub rate: u64,
    /// Seconds of the fixed-rate phase.
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Seconds of the saturation phase (0 skips it).
    #[arg(long, default_value_t = 10)]
    pub saturation_secs: u64,
    #[arg(long, default_value_t = 4)]
    pub partitions: u32,
    #[arg(long, default_value_t = 4)]
    pub senders: usize,
    /// Events per send.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    #[command(flatten)]
    pub run: RunArgs,
}

const SETUP: &[&str] = &[
    ".create table Telemetry (TimeStamp: datetime, Temperature: real, Humidity: real, IoTDevice: string, Probe: long)",
    r#".create table Telemetry ingestion json mapping 'TelemetryMapping' '[{"column":"TimeStamp","path":"$.timestamp"},{"column":"Temperature","path":"$.temperature"},{"column":"Humidity","path":"$.humidity"},{"column":"IoTDevice","path":"$.iotdevice"},{"column":"Probe","path":"$.probe"}]'"#,
    r#".alter table Telemetry policy streamingingestion '{"IsEnabled": true}'"#,
    ".create data connection bench with (hub = 'bench', table = 'Telemetry', format = 'json', mapping = 'TelemetryMapping')",
];

fn event(i: usize, probe: Option<u64>) -> Value {
    let mut body = json!({
        "timestamp": "2026-11-21T10:00:00.000000Z",
        "temperature": 20.0 + (i % 170) as f64 / 10.0,
        "humidity": 40.0 + (i % 220) as f64 / 10.0,
        "iotdevice": format!("device{}", i % 10),
    });
    if let Some(p) = probe {
        body["probe"] = json!(p);
    }
    json!({"body": body, "properties": {"Table": "Telemetry", "IngestionMappingReference": "TelemetryMapping", "Format": "json"}})
}

fn payload(batch: usize, probe: Option<u64>) -> Result<bytes::Bytes> {
    let events: Vec<Value> = (0..batch)
        .map(|i| event(i, if i == 0 { probe } else { None }))
        .collect();
    Ok(bytes::Bytes::from(serde_json::to_vec(
        &json!({ "events": events }),
    )?))
}

async fn scalar(client: &Client, csl: &str) -> Result<Value> {
    let mut t = client.kusto(DB, csl).await?;
    let row = t.remove(0).rows.into_iter().next().context("no row")?;
    Ok(row.into_iter().next().unwrap_or(Value::Null))
}

async fn connection_field(client: &Client, field: &str) -> Result<Value> {
    scalar(
        client,
        &format!(".show data connection bench | project {field}"),
    )
    .await
}

pub async fn run(mut args: IngestBenchArgs) -> Result<()> {
    if args.run.smoke {
        args.rate = 2000;
        args.duration_secs = 2;
        args.saturation_secs = 2;
        args.batch = 100;
    }
    let tmp = args.run.tempdir("eddy-bench-ingest-")?;
    let super::common::Child {
        process: mut child,
        pid,
        client,
        ..
    } = spawn_eddy(&tmp.path().join("data"), &[]).await?;
    client
        .create_hub("bench", &json!({"partitions": args.partitions}))
        .await?;
    for csl in SETUP {
        client.kusto(DB, csl).await?;
    }
    let cpu0 = proc_usage(pid).map_or(0.0, |u| u.0);
    let started = Instant::now();
    let fixed = fixed_rate(&client, &args).await?;
    eprintln!("fixed rate: {fixed}");
    let saturation = if args.saturation_secs > 0 {
        let s = saturation(&client, &args).await?;
        eprintln!("saturation: {s}");
        s
    } else {
        Value::Null
    };
    let seconds = started.elapsed().as_secs_f64();
    let usage = proc_usage(pid).map(|(cpu, rss)| (cpu - cpu0, rss));
    stop_gracefully(&mut child).await;
    let ratio = match (
        saturation["ingested_events_per_sec"].as_f64(),
        saturation["hub_accepted_events_per_sec"].as_f64(),
    ) {
        (Some(a), Some(b)) if b > 0.0 => json!((a / b * 100.0).round() / 100.0),
        _ => Value::Null,
    };
    let report = json!({
        "benchmark": "ingest",
        "partitions": args.partitions,
        "senders": args.senders,
        "batch": args.batch,
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)},
        "fixed_rate": fixed,
        "saturation": saturation,
        "ratios": {"connection_ingested_vs_hub_accepted_at_saturation": ratio},
        "server_cpu_cores": usage.map(|(cpu, _)| (cpu / seconds * 100.0).round() / 100.0),
        "server_peak_rss_mb": usage.map(|(_, rss)| (rss as f64 / 1e6 * 10.0).round() / 10.0),
    });
    args.run.report(&report)?;
    Ok(())
}

/// Sends at `args.rate` with a probe every 100 ms and measures probe visibility.
async fn fixed_rate(client: &Client, args: &IngestBenchArgs) -> Result<Value> {
    let sent_at: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let template = payload(args.batch, None)?;
    // Each sender sends one batch per interval.
    let interval =
        Duration::from_secs_f64(args.batch as f64 * args.senders as f64 / args.rate.max(1) as f64);
    let end = Instant::now() + Duration::from_secs(args.duration_secs);
    let mut tasks = vec![];
    for s in 0..args.senders {
        let (client, template, sent, errors) = (
            client.clone(),
            template.clone(),
            sent.clone(),
            errors.clone(),
        );
        let (sent_at, batch) = (sent_at.clone(), args.batch);
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut next_probe = Instant::now();
            let mut probe_id = s as u64 * 1_000_000;
            while Instant::now() < end {
                tick.tick().await;
                let body = if s == 0 && Instant::now() >= next_probe {
                    next_probe += Duration::from_millis(100);
                    probe_id += 1;
                    sent_at.lock().unwrap().insert(probe_id, Instant::now());
                    payload(batch, Some(probe_id)).unwrap_or_else(|_| template.clone())
                } else {
                    template.clone()
                };
                match client.send_raw("bench", body).await {
                    Ok(_) => sent.fetch_add(batch as u64, Ordering::Relaxed),
                    Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    let poller = {
        let (client, sent_at, done) = (client.clone(), sent_at.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen: HashMap<u64, Duration> = HashMap::new();
            let mut idle_since: Option<Instant> = None;
            loop {
                let pending: Vec<u64> = {
                    let at = sent_at.lock().unwrap();
                    at.keys()
                        .filter(|k| !seen.contains_key(k))
                        .copied()
                        .collect()
                };
                if done.load(Ordering::Relaxed) && pending.is_empty() {
                    break;
                }
                // Give up on stragglers 10 s after the senders stopped.
                if done.load(Ordering::Relaxed) {
                    let since = *idle_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > Duration::from_secs(10) {
                        break;
                    }
                }
                if let Some(min) = pending.iter().min() {
                    let q = format!("Telemetry | where Probe >= {min} | project Probe");
                    if let Ok(mut t) = client.kusto(DB, &q).await {
                        let now = Instant::now();
                        let at = sent_at.lock().unwrap();
                        for row in t.remove(0).rows {
                            if let Some(p) = row[0].as_u64() {
                                if let (Some(t0), false) = (at.get(&p), seen.contains_key(&p)) {
                                    seen.insert(p, now.duration_since(*t0));
                                }
                            }
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seen
        })
    };
    let start = Instant::now();
    for t in tasks {
        t.await?;
    }
    let seconds = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let seen = poller.await?;
    let probes = sent_at.lock().unwrap().len();
    let mut lat: Vec<u64> = seen.values().map(|d| d.as_micros() as u64).collect();
    lat.sort_unstable();
    Ok(json!({
        "target_events_per_sec": args.rate,
        "sent_events_per_sec": (sent.load(Ordering::Relaxed) as f64 / seconds).round(),
        "send_errors": errors.load(Ordering::Relaxed),
        "probes_sent": probes,
        "probes_seen": lat.len(),
        "visible_latency_ms": {
            "p50": percentile(&lat, 0.50),
            "p99": percentile(&lat, 0.99),
            "max": percentile(&lat, 1.0),
        },
    }))
}

/// Unpaced senders; events accepted by the hub vs ingested by the connection.
async fn saturation(client: &Client, args: &IngestBenchArgs) -> Result<Value> {
    let template = payload(args.batch, None)?;
    let ingested0 = connection_field(client, "EventsIngested")
        .await?
        .as_u64()
        .unwrap_or(0);
    let start = Instant::now();
    let end = start + Duration::from_secs(args.saturation_secs);
    let sent = Arc::new(AtomicU64::new(0));
    let mut tasks = vec![];
    for _ in 0..args.senders {
        let (client, template, sent, batch) =
            (client.clone(), template.clone(), sent.clone(), args.batch);
        tasks.push(tokio::spawn(async move {
            while Instant::now() < end {
                if client.send_raw("bench", template.clone()).await.is_ok() {
                    sent.fetch_add(batch as u64, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let ingested = connection_field(client, "EventsIngested")
        .await?
        .as_u64()
        .unwrap_or(0)
        - ingested0;
    let lag_at_end = connection_field(client, "Lag").await?;
    // Drain: how long until the connection has everything.
    let drain_start = Instant::now();
    while connection_field(client, "Lag").await? != json!(0)
        && drain_start.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows = scalar(client, "Telemetry | count").await?;
    Ok(json!({
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "hub_accepted_events_per_sec": (sent.load(Ordering::Relaxed) as f64 / seconds).round(),
        "ingested_events_per_sec": (ingested as f64 / seconds).round(),
        "lag_at_end": lag_at_end,
        "drain_secs": (drain_start.elapsed().as_secs_f64() * 100.0).round() / 100.0,
        "table_rows": rows,
    }))
}
