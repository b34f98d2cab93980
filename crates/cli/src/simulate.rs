//! `eddy simulate`: IoT telemetry load for the seeds' schemas, paced to a rate,
//! with a progress bar and a periodic report of incoming messages, bytes and
//! throttled requests (the streaming-at-scale metrics layout).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, ValueEnum};
use rand::Rng;
use serde_json::{json, Map, Value};

use crate::client::{Client, ServerError};
use eddy_server::api::{EventJson, SendRequest};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Schema {
    /// {"timestamp","temperature","humidity","iotdevice"} with routing properties.
    Iot,
    /// The streaming-at-scale event with complexData and duplicates.
    Sas,
}

#[derive(Args, Debug, Clone)]
pub struct SimulateArgs {
    pub hub: String,
    #[arg(long, value_enum, default_value_t = Schema::Iot)]
    pub schema: Schema,
    /// Events per second across all senders.
    #[arg(long, default_value_t = 100)]
    pub rate: u64,
    #[arg(long, default_value_t = 10)]
    pub devices: u32,
    /// Seconds to run; 0 runs until Ctrl-C.
    #[arg(long, default_value_t = 60)]
    pub duration_secs: u64,
    /// Stop after this many events (overrides duration when reached first).
    #[arg(long)]
    pub max_events: Option<u64>,
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Concurrent senders.
    #[arg(long, default_value_t = 2)]
    pub senders: usize,
    /// Fraction of events sent twice (sas schema).
    #[arg(long, default_value_t = 0.001)]
    pub duplicates: f64,
    /// `Table` property (iot schema).
    #[arg(long, default_value = "TestTable")]
    pub table: String,
    /// `IngestionMappingReference` property (iot schema).
    #[arg(long, default_value = "TestMapping")]
    pub mapping: String,
    /// `Format` property (iot schema).
    #[arg(long, default_value = "json")]
    pub format: String,
    /// Send no routing properties.
    #[arg(long)]
    pub no_properties: bool,
    /// Seconds between report lines.
    #[arg(long, default_value_t = 60)]
    pub report_secs: u64,
}

#[derive(Default)]
struct Counters {
    events: AtomicU64,
    bytes: AtomicU64,
    throttled: AtomicU64,
    errors: AtomicU64,
}

const SAS_TYPES: &[&str] = &["CO2", "TEMP", "HUMIDITY", "PRESSURE", "LIGHT", "NOISE"];

/// One generated event of the chosen schema.
pub fn generate(schema: Schema, devices: u32, seq: u64, rng: &mut impl Rng) -> Value {
    let device = rng.random_range(0..devices.max(1));
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    match schema {
        Schema::Iot => json!({
            "timestamp": now,
            "temperature": round2(rng.random_range(16.8..=37.5)),
            "humidity": round2(rng.random_range(40.0..=62.4)),
            "iotdevice": format!("device{device}"),
        }),
        Schema::Sas => {
            let mut complex = Map::new();
            for i in 0..23 {
                complex.insert(
                    format!("moreData{i}"),
                    json!(rng.random_range(0.0..100.0f64)),
                );
            }
            json!({
                "eventId": uuid::Uuid::new_v4().to_string(),
                "complexData": complex,
                "value": rng.random_range(0.0..100.0f64),
                "deviceId": format!("contoso-device-id-{device:06}"),
                "deviceSequenceNumber": seq,
                "type": SAS_TYPES[rng.random_range(0..SAS_TYPES.len())],
                "createdAt": now,
            })
        }
    }
}

/// Prints above the progress bar, or plainly when the bar is hidden (output piped),
/// where indicatif would drop the line.
fn say(bar: &indicatif::ProgressBar, line: String) {
    if bar.is_hidden() {
        println!("{line}");
    } else {
        bar.println(line);
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub async fn run(client: &Client, args: SimulateArgs) -> Result<()> {
    client.show_hub(&args.hub).await?;
    let counters = Arc::new(Counters::default());
    let start = Instant::now();
    let deadline =
        (args.duration_secs > 0).then(|| start + Duration::from_secs(args.duration_secs));
    let total_hint = args
        .max_events
        .or(deadline.map(|_| args.rate * args.duration_secs));
    let bar = match total_hint {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} events ({per_sec})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let props = routing_properties(&args);
    let senders = args.senders.max(1);
    let mut tasks = Vec::new();
    for s in 0..senders {
        let client = client.clone();
        let args = args.clone();
        let counters = counters.clone();
        let props = props.clone();
        let bar = bar.clone();
        tasks.push(tokio::spawn(async move {
            sender(
                client, args, s, senders, counters, props, bar, start, deadline,
            )
            .await
        }));
    }
    let reporter = {
        let counters = counters.clone();
        let every = Duration::from_secs(args.report_secs.max(1));
        let bar = bar.clone();
        tokio::spawn(async move {
            say(
                &bar,
                format!(
                    "{:<25} {:>17} {:>15} {:>18}",
                    "time", "incoming_messages", "incoming_bytes", "throttled_requests"
                ),
            );
            let mut last = (0, 0, 0);
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tick.tick().await;
                let now = (
                    counters.events.load(Ordering::Relaxed),
                    counters.bytes.load(Ordering::Relaxed),
                    counters.throttled.load(Ordering::Relaxed),
                );
                say(
                    &bar,
                    format!(
                        "{:<25} {:>17} {:>15} {:>18}",
                        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
                        now.0 - last.0,
                        now.1 - last.1,
                        now.2 - last.2
                    ),
                );
                last = now;
            }
        })
    };
    for t in tasks {
        t.await??;
    }
    reporter.abort();
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    let events = counters.events.load(Ordering::Relaxed);
    println!(
        "simulated {events} events ({} bytes) in {secs:.1}s = {:.0} events/s; throttled requests: {}; failed requests: {}",
        counters.bytes.load(Ordering::Relaxed),
        events as f64 / secs.max(1e-9),
        counters.throttled.load(Ordering::Relaxed),
        counters.errors.load(Ordering::Relaxed)
    );
    Ok(())
}

fn routing_properties(args: &SimulateArgs) -> Map<String, Value> {
    let mut props = Map::new();
    if args.schema == Schema::Iot && !args.no_properties {
        props.insert("Table".into(), Value::String(args.table.clone()));
        props.insert(
            "IngestionMappingReference".into(),
            Value::String(args.mapping.clone()),
        );
        props.insert("Format".into(), Value::String(args.format.clone()));
    }
    props
}

#[allow(clippy::too_many_arguments)]
async fn sender(
    client: Client,
    args: SimulateArgs,
    index: usize,
    senders: usize,
    counters: Arc<Counters>,
    props: Map<String, Value>,
    bar: indicatif::ProgressBar,
    start: Instant,
    deadline: Option<Instant>,
) -> Result<()> {
    let rate = (args.rate as f64 / senders as f64).max(0.001);
    let max_events = args
        .max_events
        .map(|m| m / senders as u64 + u64::from((index as u64) < m % senders as u64));
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_os_rng();
    let mut sent = 0u64;
    let mut seq = 0u64;
    let mut last_event: Option<Value> = None;
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) || max_events.is_some_and(|m| sent >= m) {
            return Ok(());
        }
        let n = args.batch_size.max(1) as u64;
        let n = max_events.map_or(n, |m| n.min(m - sent));
        let mut events = Vec::with_capacity(n as usize);
        while (events.len() as u64) < n {
            let body = match (&last_event, args.schema) {
                (Some(prev), Schema::Sas) if rng.random_bool(args.duplicates.clamp(0.0, 1.0)) => {
                    prev.clone()
                }
                _ => {
                    seq += 1;
                    generate(args.schema, args.devices, seq, &mut rng)
                }
            };
            last_event = Some(body.clone());
            events.push(EventJson {
                body: Some(Value::String(body.to_string())),
                body_base64: None,
                properties: props.clone(),
            });
        }
        let bytes: u64 = events
            .iter()
            .map(|e| e.body.as_ref().and_then(Value::as_str).map_or(0, str::len) as u64)
            .sum();
        let req = SendRequest {
            events,
            partition_key: None,
            partition_id: None,
        };
        match client.send(&args.hub, &req).await {
            Ok(_) => {
                sent += n;
                counters.events.fetch_add(n, Ordering::Relaxed);
                counters.bytes.fetch_add(bytes, Ordering::Relaxed);
                bar.inc(n);
            }
            Err(e) => match e.downcast_ref::<ServerError>() {
                Some(se) if se.status == 503 => {
                    counters.throttled.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                _ => {
                    counters.errors.fetch_add(1, Ordering::Relaxed);
                    say(&bar, format!("send failed: {e:#}"));
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            },
        }
        // Pace: this sender's share of the rate.
        let due = start + Duration::from_secs_f64(sent as f64 / rate);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_events_follow_the_seed_schemas() {
        let mut rng = rand::rng();
        for _ in 0..200 {
            let e = generate(Schema::Iot, 5, 1, &mut rng);
            let t = e["temperature"].as_f64().unwrap();
            let h = e["humidity"].as_f64().unwrap();
            assert!(
                (16.8..=37.5).contains(&t) && (40.0..=62.4).contains(&h),
                "{e}"
            );
            assert!(e["iotdevice"].as_str().unwrap().starts_with("device"));
            assert!(chrono::DateTime::parse_from_rfc3339(e["timestamp"].as_str().unwrap()).is_ok());
        }
        let e = generate(Schema::Sas, 200, 7, &mut rng);
        assert_eq!(e["complexData"].as_object().unwrap().len(), 23);
        assert!(e["complexData"]["moreData22"].is_number());
        assert_eq!(e["deviceSequenceNumber"], 7);
        assert!(e["deviceId"]
            .as_str()
            .unwrap()
            .starts_with("contoso-device-id-"));
        assert!(uuid::Uuid::parse_str(e["eventId"].as_str().unwrap()).is_ok());
    }
}
