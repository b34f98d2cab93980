//! A consumer over Eddy's HTTP API, in the Event Hubs processor model: one reader
//! task per partition, and (when checkpointing without fixed partitions) an
//! ownership balancer that splits the hub's partitions among every consumer of the
//! same group. Checkpoints are written after events are handed to the caller, so a
//! restarted consumer resumes right after the last handled event.
//!
//! ```text
//!  balancer tick ─ list ownership ─ plan ─ claim ─▶ start/stop partition readers
//!  partition reader ─ read(from) ─▶ handler (takes n) ─▶ checkpoint(last taken)
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::Result;
use eddy_hub::balancer;
use eddy_hub::OwnershipClaim;
use eddy_server::api::ReceivedJson;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::client::Client;

#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    pub hub: String,
    pub group: String,
    /// Fixed partitions; `None` means all (balanced when checkpointing).
    pub partitions: Option<Vec<String>>,
    /// Where to start without a checkpoint.
    pub from: String,
    /// Resume from and write the group's checkpoints; balance partitions.
    pub checkpoint: bool,
    pub owner_id: String,
    pub balance_interval: Duration,
    pub ownership_expiry: Duration,
    pub batch: usize,
    pub wait_ms: u64,
    pub max_events: Option<usize>,
    pub idle_timeout: Option<Duration>,
}

struct Delivery {
    events: Vec<ReceivedJson>,
    /// How many of `events` the handler took, and a signal to send back once the
    /// checkpoint for them is stored.
    reply: oneshot::Sender<(usize, oneshot::Sender<()>)>,
}

/// Runs until `max_events` were handled, `idle_timeout` passed without events, or
/// Ctrl-C. `handler` sees each event in partition order.
pub async fn run(
    client: &Client,
    opts: ConsumerOptions,
    mut handler: impl FnMut(&ReceivedJson),
) -> Result<usize> {
    let hub = client.show_hub(&opts.hub).await?;
    let all: Vec<String> = hub["partition_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let balancing = opts.checkpoint && opts.partitions.is_none();
    let (tx, mut rx) = mpsc::channel::<Delivery>(64);
    let mut readers: BTreeMap<String, JoinHandle<()>> = BTreeMap::new();
    let mut etags: BTreeMap<u32, String> = BTreeMap::new();
    if !balancing {
        let fixed = opts.partitions.clone().unwrap_or(all.clone());
        start_readers(client, &opts, &fixed, &mut readers, &tx).await?;
    }
    let mut tick = tokio::time::interval(opts.balance_interval);
    let mut handled = 0usize;
    let mut idle_deadline = opts.idle_timeout.map(|d| tokio::time::Instant::now() + d);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let idle = async {
            match idle_deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(d) = rx.recv() => {
                let room = opts.max_events.map_or(usize::MAX, |m| m - handled);
                let take = d.events.len().min(room);
                for e in &d.events[..take] {
                    handler(e);
                }
                handled += take;
                let (done_tx, done_rx) = oneshot::channel();
                let _ = d.reply.send((take, done_tx));
                let _ = done_rx.await;
                idle_deadline = opts.idle_timeout.map(|t| tokio::time::Instant::now() + t);
                if opts.max_events.is_some_and(|m| handled >= m) {
                    break;
                }
            }
            _ = tick.tick(), if balancing => {
                let owned = rebalance(client, &opts, all.len() as u32, &mut etags).await;
                match owned {
                    Ok(owned) => {
                        let owned: BTreeSet<String> = owned.iter().map(|p| p.to_string()).collect();
                        readers.retain(|p, h| { let keep = owned.contains(p); if !keep { h.abort(); } keep });
                        let new: Vec<String> = owned.into_iter().filter(|p| !readers.contains_key(p)).collect();
                        start_readers(client, &opts, &new, &mut readers, &tx).await?;
                    }
                    Err(e) => tracing::warn!(error = %e, "load balancing failed; retrying"),
                }
            }
            _ = idle => break,
            _ = &mut ctrl_c => break,
        }
    }
    for (_, h) in readers {
        h.abort();
    }
    if balancing && !etags.is_empty() {
        // Give partitions back so other consumers need not wait for expiry.
        let claims: Vec<OwnershipClaim> = etags
            .iter()
            .map(|(p, etag)| OwnershipClaim {
                partition: *p,
                owner_id: String::new(),
                etag: Some(etag.clone()),
            })
            .collect();
        let _ = client.claim(&opts.hub, &opts.group, &claims).await;
    }
    Ok(handled)
}

/// One balancing round; returns the partitions this consumer now owns.
async fn rebalance(
    client: &Client,
    opts: &ConsumerOptions,
    partitions: u32,
    etags: &mut BTreeMap<u32, String>,
) -> Result<Vec<u32>> {
    let ownership = client.ownership(&opts.hub, &opts.group).await?;
    let claims = balancer::plan(
        partitions,
        &ownership,
        &opts.owner_id,
        eddy_hub::now_ms(),
        opts.ownership_expiry.as_millis() as i64,
    );
    let granted = client.claim(&opts.hub, &opts.group, &claims).await?;
    etags.clear();
    for o in &granted {
        etags.insert(o.partition, o.etag.clone());
    }
    Ok(granted.iter().map(|o| o.partition).collect())
}

async fn start_readers(
    client: &Client,
    opts: &ConsumerOptions,
    partitions: &[String],
    readers: &mut BTreeMap<String, JoinHandle<()>>,
    tx: &mpsc::Sender<Delivery>,
) -> Result<()> {
    if partitions.is_empty() {
        return Ok(());
    }
    let checkpoints: BTreeMap<String, u64> = if opts.checkpoint {
        client
            .checkpoints(&opts.hub, &opts.group)
            .await?
            .iter()
            .filter_map(|c| {
                Some((
                    c["partition_id"].as_str()?.to_string(),
                    c["sequence_number"].as_u64()?,
                ))
            })
            .collect()
    } else {
        BTreeMap::new()
    };
    for p in partitions {
        let from = match checkpoints.get(p) {
            Some(seq) => format!("seq:>{seq}"),
            None => opts.from.clone(),
        };
        let task = read_partition(client.clone(), opts.clone(), p.clone(), from, tx.clone());
        readers.insert(p.clone(), tokio::spawn(task));
    }
    Ok(())
}

async fn read_partition(
    client: Client,
    opts: ConsumerOptions,
    partition: String,
    mut from: String,
    tx: mpsc::Sender<Delivery>,
) {
    loop {
        let resp = match client
            .read(&opts.hub, &partition, &from, opts.batch, opts.wait_ms)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(partition = %partition, error = %e, "read failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if resp.events.is_empty() {
            from = format!("seq:{}", resp.next_sequence_number);
            continue;
        }
        let n = resp.events.len();
        let (reply, taken) = oneshot::channel();
        let events = resp.events;
        let last: Vec<(u64, String)> = events
            .iter()
            .map(|e| (e.sequence_number, e.offset.clone()))
            .collect();
        if tx.send(Delivery { events, reply }).await.is_err() {
            return;
        }
        let Ok((take, done)) = taken.await else {
            return;
        };
        if take > 0 {
            let (seq, offset) = &last[take - 1];
            if opts.checkpoint {
                if let Err(e) = client
                    .set_checkpoint(&opts.hub, &opts.group, &partition, *seq, offset)
                    .await
                {
                    tracing::warn!(partition = %partition, error = %e, "checkpoint failed");
                }
            }
            from = format!("seq:{}", seq + 1);
        }
        let _ = done.send(());
        if take < n {
            return;
        }
    }
}
