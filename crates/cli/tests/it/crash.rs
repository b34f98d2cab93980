//! kill -9 the server at random moments while senders run; every acknowledged event
//! must be readable exactly once, at the position its acknowledgement named, and the
//! partitions must have no gaps.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eddy_server::api::{EventJson, SendRequest};
use rand::Rng;
use serde_json::{json, Value};

use crate::support::{read_all, Eddy};

struct Acked {
    partition: String,
    first_seq: u64,
    ids: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_kill_9_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let cycles = 10;
    for cycle in 0..cycles {
        let mut eddy = Eddy::start(dir.path(), &[]).await;
        if cycle == 0 {
            eddy.client
                .create_hub("crash", &json!({"partitions": 3}))
                .await
                .unwrap();
        }
        let mut senders = Vec::new();
        for s in 0..4 {
            let client = eddy.client.clone();
            let acked = acked.clone();
            senders.push(tokio::spawn(async move {
                for n in 0.. {
                    let ids: Vec<String> =
                        (0..20).map(|i| format!("c{cycle}-s{s}-b{n}-{i}")).collect();
                    let req = SendRequest {
                        events: ids
                            .iter()
                            .map(|id| EventJson {
                                body: Some(Value::String(id.clone())),
                                ..Default::default()
                            })
                            .collect(),
                        partition_key: (s == 3).then(|| format!("key-{n}")),
                        partition_id: None,
                    };
                    match client.send("crash", &req).await {
                        Ok(r) => acked.lock().unwrap().push(Acked {
                            partition: r.partition_id,
                            first_seq: r.first_sequence_number,
                            ids,
                        }),
                        Err(_) => return,
                    }
                }
            }));
        }
        let pause = rand::rng().random_range(150..600);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        eddy.kill9();
        for s in senders {
            tokio::time::timeout(Duration::from_secs(30), s)
                .await
                .expect("sender stops")
                .unwrap();
        }
    }
    let eddy = Eddy::start(dir.path(), &[]).await;
    let events = read_all(&eddy.client, "crash").await;
    let mut seen: HashMap<String, (String, u64)> = HashMap::new();
    for e in &events {
        let id = e.body.clone().unwrap();
        assert!(
            seen.insert(id.clone(), (e.partition_id.clone(), e.sequence_number))
                .is_none(),
            "{id} stored twice"
        );
    }
    // No gaps: every partition holds 0..n.
    let mut per_partition: HashMap<String, Vec<u64>> = HashMap::new();
    for e in &events {
        per_partition
            .entry(e.partition_id.clone())
            .or_default()
            .push(e.sequence_number);
    }
    for (p, seqs) in per_partition {
        assert!(
            seqs.iter().enumerate().all(|(i, s)| *s == i as u64),
            "partition {p} has gaps"
        );
    }
    let acked = acked.lock().unwrap();
    let total: usize = acked.iter().map(|a| a.ids.len()).sum();
    assert!(
        total > 1000,
        "the test acknowledged enough to mean something: {total}"
    );
    for a in acked.iter() {
        for (i, id) in a.ids.iter().enumerate() {
            let at = seen
                .get(id)
                .unwrap_or_else(|| panic!("acknowledged event {id} was lost"));
            assert_eq!(
                at,
                &(a.partition.clone(), a.first_seq + i as u64),
                "{id} moved"
            );
        }
    }
    eprintln!(
        "crash test: {cycles} kill -9 cycles, {total} acknowledged events, {} stored",
        events.len()
    );
}
