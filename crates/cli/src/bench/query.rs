//! `eddy bench query`: KQL on a child `eddy serve` against the same queries in SQL on
//! DuckDB, over the same generated telemetry (10 M rows by default).
//!
//! 1. Ingestion: the NDJSON files go into Eddy with `.ingest into` and a JSON mapping
//!    (timed until the command returns: rows durable and queryable), and into DuckDB
//!    with `read_json` into a native table, in memory (the query peer) and, timed
//!    separately, into a database file with a checkpoint (the durable peer).
//! 2. Eddy's rows are sealed into Delta (the batching policy fires) and compaction has
//!    settled before the queries run; one warm-up query loads the hot cache (its time
//!    is reported), as DuckDB's table is in memory after its load.
//! 3. Every query runs `--runs` times on each side; the report has each run, the
//!    median, Eddy's median over DuckDB's (below 1 = Eddy faster) and the geometric
//!    means. One-row answers are compared between the two.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Value};

use super::common::{proc_usage, spawn_eddy, stop_gracefully, RunArgs};
use super::hub::run_python_client;
use super::query_data::{write_devices, write_telemetry};
use super::query_suite::QUERIES;
use crate::client::Client;

const DB: &str = eddy_explorer::DEFAULT_DATABASE;

/// `--smoke`: 20,000 rows, 1,000 devices, one run per query.
#[derive(Args, Debug)]
pub struct QueryBenchArgs {
    /// Telemetry rows.
    #[arg(long, default_value_t = 10_000_000)]
    pub rows: usize,
    /// Distinct devices (the dimension table's size).
    #[arg(long, default_value_t = 10_000)]
    pub devices: usize,
    /// Runs of each query on each system (the median is compared).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    #[command(flatten)]
    pub run: RunArgs,
}

const SETUP: &[&str] = &[
    ".create table Telemetry (Timestamp: datetime, DeviceId: string, Temperature: real, Humidity: real, Message: string)",
    r#".create table Telemetry ingestion json mapping 'TelemetryMapping' '[{"column":"Timestamp","path":"$.timestamp"},{"column":"DeviceId","path":"$.deviceId"},{"column":"Temperature","path":"$.temperature"},{"column":"Humidity","path":"$.humidity"},{"column":"Message","path":"$.message"}]'"#,
    ".create table Devices (DeviceId: string, Site: string, Model: string)",
    r#".alter database NetDefaultDB policy ingestionbatching '{"MaximumBatchingTimeSpan": "00:00:01"}'"#,
];

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    v[v.len() / 2]
}

fn geomean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    (xs.iter().map(|x| x.max(1e-9).ln()).sum::<f64>() / xs.len() as f64).exp()
}

fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

/// Whether two answer cells agree (numbers to 4 significant digits).
fn same_cell(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-4 * x.abs().max(y.abs()).max(1.0),
        _ => a == b,
    }
}

pub async fn run(mut args: QueryBenchArgs) -> Result<()> {
    if args.run.smoke {
        args.rows = 20_000;
        args.devices = 1_000;
        args.runs = 1;
    }
    let tmp = args.run.tempdir("eddy-bench-query-")?;
    let generated = Instant::now();
    let files = write_telemetry(tmp.path(), args.rows, args.devices)?;
    let devices = write_devices(tmp.path(), args.devices)?;
    eprintln!(
        "generated {} rows in {} files ({:.1} s)",
        args.rows,
        files.len(),
        generated.elapsed().as_secs_f64()
    );
    let duck = duckdb(&args, tmp.path(), &files, &devices).await?;
    eprintln!("duckdb: ingest {:.2} s", duck["ingest_seconds"]);

    let super::common::Child {
        process: mut child,
        pid,
        client,
        ..
    } = spawn_eddy(&tmp.path().join("data"), &[]).await?;
    for csl in SETUP {
        client.kusto(DB, csl).await?;
    }
    let sources: Vec<String> = files
        .iter()
        .map(|f| format!("h'{}'", f.display()))
        .collect();
    let cpu0 = proc_usage(pid).map_or(0.0, |u| u.0);
    let started = Instant::now();
    client
        .kusto(
            DB,
            &format!(
                ".ingest into table Telemetry ({}) with (format='json', ingestionMappingReference='TelemetryMapping')",
                sources.join(", ")
            ),
        )
        .await?;
    let ingest_seconds = started.elapsed().as_secs_f64();
    let ingest_cpu = proc_usage(pid).map(|(cpu, _)| cpu - cpu0);
    eprintln!("eddy: ingest {ingest_seconds:.2} s");
    client
        .kusto(
            DB,
            &format!(
                ".ingest into table Devices (h'{}') with (format='csv', ignoreFirstRecord=true)",
                devices.display()
            ),
        )
        .await?;
    let rows = count(&client, "Telemetry").await?;
    if rows != args.rows as u64 {
        bail!("Eddy has {rows} telemetry rows, expected {}", args.rows);
    }
    wait_sealed(&client, rows).await?;
    wait_settled(&client).await?;
    // The first query loads the hot cache (DuckDB's table is in memory after its load).
    let warm = Instant::now();
    count(&client, "Telemetry").await?;
    let cache_load_seconds = warm.elapsed().as_secs_f64();

    let mut results = vec![];
    let (mut ratios, mut eddy_medians, mut duck_medians) = (vec![], vec![], vec![]);
    for (q, d) in QUERIES
        .iter()
        .zip(duck["queries"].as_array().context("duckdb queries")?)
    {
        let mut times = vec![];
        let mut answer = None;
        for _ in 0..args.runs {
            let t0 = Instant::now();
            let mut tables = client
                .kusto(DB, q.kql)
                .await
                .with_context(|| format!("query {}", q.name))?;
            times.push(t0.elapsed().as_secs_f64());
            answer = Some(tables.remove(0));
        }
        let answer = answer.context("no run")?;
        let duck_times: Vec<f64> = d["seconds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_f64)
            .collect();
        let (em, dm) = (median(&times), median(&duck_times));
        let agree = if q.scalar {
            let first = answer.rows.first().and_then(|r| r.first()).cloned();
            let duck_first = d["first"].get(0).cloned();
            Some(matches!((&first, &duck_first), (Some(a), Some(b)) if same_cell(a, b)))
        } else {
            Some(answer.rows.len() as u64 == d["rows"].as_u64().unwrap_or(u64::MAX))
        };
        let ratio = em / dm.max(1e-9);
        eprintln!(
            "{:24} eddy {:8.4} s  duckdb {:8.4} s  ratio {:6.2}  agree {:?}",
            q.name, em, dm, ratio, agree
        );
        ratios.push(ratio);
        eddy_medians.push(em);
        duck_medians.push(dm);
        results.push(json!({
            "name": q.name,
            "kql": q.kql,
            "sql": q.sql,
            "eddy_seconds": times.iter().map(|t| round(*t, 5)).collect::<Vec<_>>(),
            "duckdb_seconds": duck_times.iter().map(|t| round(*t, 5)).collect::<Vec<_>>(),
            "eddy_median": round(em, 5),
            "duckdb_median": round(dm, 5),
            "ratio_eddy_to_duckdb": round(ratio, 3),
            "eddy_rows": answer.rows.len(),
            "duckdb_rows": d["rows"],
            "answers_agree": agree,
        }));
    }
    let usage = proc_usage(pid);
    stop_gracefully(&mut child).await;

    let duck_ingest = duck["ingest_seconds"].as_f64().unwrap_or(0.0);
    let eddy_rate = rows as f64 / ingest_seconds;
    let duck_rate = rows as f64 / duck_ingest.max(1e-9);
    let duck_durable = duck["ingest_durable_seconds"].as_f64().unwrap_or(0.0);
    let duck_durable_rate = rows as f64 / duck_durable.max(1e-9);
    let disagree: Vec<&Value> = results
        .iter()
        .filter(|r| r["answers_agree"] == json!(false))
        .map(|r| &r["name"])
        .collect();
    let report = json!({
        "benchmark": "query",
        "rows": rows,
        "devices": args.devices,
        "files": files.len(),
        "runs": args.runs,
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)},
        "duckdb": {"version": duck["version"], "threads": duck["threads"]},
        "ingestion": {
            "eddy_seconds": round(ingest_seconds, 3),
            "eddy_rows_per_sec": eddy_rate.round(),
            "eddy_server_cpu_seconds": ingest_cpu.map(|c| round(c, 2)),
            "duckdb_seconds": round(duck_ingest, 3),
            "duckdb_rows_per_sec": duck_rate.round(),
            "ratio_eddy_to_duckdb_rows_per_sec": round(eddy_rate / duck_rate.max(1e-9), 3),
            "duckdb_durable_seconds": round(duck_durable, 3),
            "duckdb_durable_rows_per_sec": duck_durable_rate.round(),
            "ratio_eddy_to_duckdb_durable_rows_per_sec": round(eddy_rate / duck_durable_rate.max(1e-9), 3),
        },
        "eddy_first_query_seconds": round(cache_load_seconds, 3),
        "queries": results,
        "geomean": {
            "eddy_seconds": round(geomean(&eddy_medians), 5),
            "duckdb_seconds": round(geomean(&duck_medians), 5),
            "ratio_eddy_to_duckdb": round(geomean(&ratios), 3),
        },
        "answers_disagree": disagree,
        "server_peak_rss_mb": usage.map(|(_, rss)| round(rss as f64 / 1e6, 1)),
    });
    args.run.report(&report)?;
    Ok(())
}

async fn count(client: &Client, table: &str) -> Result<u64> {
    let mut t = client.kusto(DB, &format!("{table} | count")).await?;
    let row = t.remove(0).rows.into_iter().next().context("no row")?;
    row.first()
        .and_then(Value::as_u64)
        .context("count is not a number")
}

/// Waits until every row is in a Delta extent (the 1 s batching policy fires).
async fn wait_sealed(client: &Client, rows: u64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let mut t = client
            .kusto(DB, ".show table Telemetry extents")
            .await?
            .remove(0);
        let col = t
            .columns
            .iter()
            .position(|c| c.name == "RowCount")
            .context("extents have no RowCount")?;
        let sealed: u64 = t
            .rows
            .drain(..)
            .filter_map(|r| r.get(col).and_then(Value::as_u64))
            .sum();
        if sealed >= rows {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("only {sealed} of {rows} rows sealed after 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until compaction has nothing left to merge: the extent count is below the
/// compaction threshold and the same for two seconds.
async fn wait_settled(client: &Client) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut last = None;
    loop {
        let n = client
            .kusto(DB, ".show table Telemetry extents")
            .await?
            .remove(0)
            .rows
            .len();
        if n < 16 && last == Some(n) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the table did not settle in 10 minutes ({n} extents)");
        }
        last = Some(n);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn duckdb(
    args: &QueryBenchArgs,
    dir: &std::path::Path,
    files: &[std::path::PathBuf],
    devices: &std::path::Path,
) -> Result<Value> {
    let job = json!({
        "files": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
        "devices": devices.display().to_string(),
        "durable_path": dir.join("duckdb-durable.db").display().to_string(),
        "runs": args.runs,
        "queries": QUERIES.iter().map(|q| json!({"name": q.name, "sql": q.sql})).collect::<Vec<_>>(),
    });
    let job_path = dir.join("duckdb-job.json");
    std::fs::write(&job_path, serde_json::to_vec(&job)?)?;
    let (r, _) = run_python_client(
        dir,
        "duckdb_peer.py",
        include_str!("duckdb_peer.py"),
        "duckdb",
        std::process::id(),
        &[&job_path.display().to_string()],
    )
    .await?;
    Ok(r)
}
