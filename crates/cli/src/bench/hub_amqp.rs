//! The Event Hubs AMQP path of `eddy bench hub`: producers on fe2o3-amqp's client
//! side sending batches the way the SDKs do (one transfer of message format
//! `0x80013700` whose data sections each hold an encoded event with properties), each
//! waiting for the durable acknowledgement; and, for the record, the Python SDK's own
//! send rate (`eventhubs_client.py`, one async producer).

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use fe2o3_amqp::link::delivery::Sendable;
use fe2o3_amqp::sasl_profile::SaslProfile;
use fe2o3_amqp::types::messaging::{Batch, Data, Message, Outcome};
use fe2o3_amqp::{Connection, Sender, Session};
use fe2o3_amqp_types::messaging::message::__private::Serializable;
use fe2o3_amqp_types::messaging::ApplicationProperties;
use serde_json::{json, Value};

use super::common::{proc_usage, stop_gracefully};
use super::hub::{drive, event_body, run_python_client, start_server, summarize, HubBenchArgs};

const BATCH_FORMAT: u32 = 0x8001_3700;

/// One SDK-style batch envelope of `args.batch` events.
fn batch_message(args: &HubBenchArgs) -> Result<Message<Batch<Data>>> {
    let mut sections = Vec::with_capacity(args.batch);
    for i in 0..args.batch {
        let event = Message::builder()
            .application_properties(
                ApplicationProperties::builder()
                    .insert("Table", "BenchTable")
                    .build(),
            )
            .data(serde_bytes::ByteBuf::from(
                event_body(args.event_bytes, i).into_bytes(),
            ))
            .build();
        let bytes = serde_amqp::to_vec(&Serializable(event)).context("encode event")?;
        sections.push(Data(serde_bytes::ByteBuf::from(bytes)));
    }
    Ok(Message::builder().body(Batch::new(sections)).build())
}

pub async fn bench_amqp(
    args: &HubBenchArgs,
    dir: &Path,
    mode: &str,
    producers: usize,
) -> Result<Value> {
    let super::common::Child {
        process: mut child,
        pid,
        amqp,
        ..
    } = start_server(args, dir, mode).await?;
    let message = batch_message(args)?;
    let mut senders = Vec::new();
    let mut connections = Vec::new();
    for p in 0..producers {
        let mut conn = Connection::builder()
            .container_id(format!("bench-{p}"))
            .sasl_profile(SaslProfile::Anonymous)
            .open(format!("amqp://{amqp}").as_str())
            .await
            .with_context(|| format!("connect to {amqp}"))?;
        let mut session = Session::begin(&mut conn).await?;
        let sender = Sender::attach(&mut session, format!("bench-{p}"), "bench").await?;
        senders.push(tokio::sync::Mutex::new(sender));
        connections.push((conn, session));
    }
    let senders = Arc::new(senders);
    let cpu0 = proc_usage(pid).map_or(0.0, |u| u.0);
    let stats = drive(producers, args.duration_secs, args.batch, move |p| {
        let senders = senders.clone();
        let message = message.clone();
        async move {
            let mut sender = senders[p].lock().await;
            let sendable = Sendable::builder()
                .message(message)
                .message_format(BATCH_FORMAT)
                .build();
            match sender.send(sendable).await? {
                Outcome::Accepted(_) => Ok(()),
                other => bail!("not accepted: {other:?}"),
            }
        }
    })
    .await;
    let usage = proc_usage(pid).map(|(cpu, rss)| (cpu - cpu0, rss));
    for (mut conn, mut session) in connections {
        let _ = session.end().await;
        let _ = conn.close().await;
    }
    stop_gracefully(&mut child).await;
    let mut r = summarize("eddy-amqp", mode, producers, args, stats, usage);
    r["client"] = json!("fe2o3-amqp, SDK-style batch transfers (format 0x80013700)");
    Ok(r)
}

/// The Python SDK (`azure-eventhub`, one async producer, `create_batch` of
/// `args.batch` events) against Eddy, for the duration.
pub async fn bench_python_sdk(args: &HubBenchArgs, dir: &Path, mode: &str) -> Result<Value> {
    let super::common::Child {
        process: mut child,
        pid,
        amqp,
        ..
    } = start_server(args, dir, mode).await?;
    let cs = format!(
        "Endpoint=sb://{amqp};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true"
    );
    let ran = run_python_client(
        dir,
        "eventhubs_client.py",
        include_str!("eventhubs_client.py"),
        "azure-eventhub",
        pid,
        &[
            cs.as_str(),
            "bench",
            &args.duration_secs.to_string(),
            &args.event_bytes.to_string(),
            &args.batch.to_string(),
        ],
    )
    .await;
    stop_gracefully(&mut child).await;
    let (r, usage) = ran?;
    let secs = r["seconds"].as_f64().unwrap_or(1.0);
    Ok(json!({
        "system": "eddy-amqp-python-sdk",
        "mode": mode,
        "producers": 1,
        "client": "azure-eventhub (Python, pure-Python AMQP), aio producer, create_batch/send_batch",
        "batch": args.batch,
        "event_bytes": args.event_bytes,
        "events": r["sent"],
        "seconds": r["seconds"],
        "events_per_sec": r["events_per_sec"],
        "ack_latency_ms": r["ack_latency_ms"],
        "errors": r["errors"],
        "server_cpu_cores": usage.map(|(cpu, _)| (cpu / secs * 100.0).round() / 100.0),
        "server_peak_rss_mb": usage.map(|(_, rss)| (rss as f64 / 1e6 * 10.0).round() / 10.0),
    }))
}
