//! The processor model through the binary: consumers of one group split the
//! partitions, resume from checkpoints, and take over from dead owners.

use std::collections::{BTreeMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{stdout, Eddy, EDDY};

fn consumer(url: &str, hub: &str, owner: &str, extra: &[&str]) -> Child {
    Command::new(EDDY)
        .args([
            "consume",
            hub,
            "--group",
            "g",
            "--checkpoint",
            "--owner-id",
            owner,
            "--output",
            "json",
        ])
        .args([
            "--balance-interval-ms",
            "200",
            "--ownership-expiry-ms",
            "2000",
        ])
        .args(extra)
        .env("EDDY_URL", url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn owners(eddy: &Eddy, hub: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    let now = eddy_hub::now_ms();
    for o in eddy.client.ownership(hub, "g").await.unwrap() {
        if !o.owner_id.is_empty() && now - o.last_modified_ms < 2000 {
            *m.entry(o.owner_id).or_default() += 1;
        }
    }
    m
}

async fn wait_for(eddy: &Eddy, hub: &str, want: &[(&str, usize)]) -> BTreeMap<String, usize> {
    let want: BTreeMap<String, usize> = want.iter().map(|(o, n)| (o.to_string(), *n)).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = owners(eddy, hub).await;
        if got == want || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn send_n(eddy: &Eddy, hub: &str, n: usize) {
    for i in 0..n {
        let req = serde_json::from_value(
            json!({"events": [{"body": format!("e{i}")}], "partition_id": (i % 4).to_string()}),
        )
        .unwrap();
        eddy.client.send(hub, &req).await.unwrap();
    }
}

/// A server with hub `h` (4 partitions) and consumer group `g`.
async fn hub_with_group() -> (tempfile::TempDir, Eddy) {
    let dir = tempfile::tempdir().unwrap();
    let eddy = Eddy::start(dir.path(), &[]).await;
    let settings = json!({"partitions": 4, "consumer_groups": ["g"]});
    eddy.client.create_hub("h", &settings).await.unwrap();
    (dir, eddy)
}

fn bodies(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["body"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn two_consumers_split_the_partitions() {
    let (_dir, eddy) = hub_with_group().await;
    send_n(&eddy, "h", 40).await;
    let a = consumer(&eddy.url, "h", "A", &["--idle-timeout-ms", "6000"]);
    let b = consumer(&eddy.url, "h", "B", &["--idle-timeout-ms", "6000"]);
    let split = wait_for(&eddy, "h", &[("A", 2), ("B", 2)]).await;
    assert_eq!(
        split,
        BTreeMap::from([("A".to_string(), 2), ("B".to_string(), 2)])
    );
    let out_a = stdout(&a.wait_with_output().unwrap());
    let out_b = stdout(&b.wait_with_output().unwrap());
    let all: HashSet<String> = bodies(&out_a).into_iter().chain(bodies(&out_b)).collect();
    assert_eq!(all.len(), 40, "together they read every event");
    // On exit they gave their partitions back.
    assert!(owners(&eddy, "h").await.is_empty());
}

#[tokio::test]
async fn a_checkpointed_consumer_resumes_where_it_left_off() {
    let (_dir, eddy) = hub_with_group().await;
    send_n(&eddy, "h", 40).await;
    let first = bodies(&stdout(&eddy.cli(&[
        "consume",
        "h",
        "--group",
        "g",
        "--checkpoint",
        "--max-events",
        "15",
        "--output",
        "json",
        "--balance-interval-ms",
        "100",
    ])));
    assert_eq!(first.len(), 15);
    let cps = eddy.client.checkpoints("h", "g").await.unwrap();
    assert!(!cps.is_empty());
    let second = bodies(&stdout(&eddy.cli(&[
        "consume",
        "h",
        "--group",
        "g",
        "--checkpoint",
        "--idle-timeout-ms",
        "2000",
        "--output",
        "json",
        "--balance-interval-ms",
        "100",
    ])));
    assert_eq!(second.len(), 25, "only what the first run did not handle");
    let all: HashSet<String> = first.iter().chain(second.iter()).cloned().collect();
    assert_eq!(all.len(), 40, "no duplicates, nothing skipped");
    // The $Default group has no checkpoints: it starts over.
    let again = bodies(&stdout(&eddy.cli(&[
        "consume",
        "h",
        "--idle-timeout-ms",
        "1000",
        "--output",
        "json",
    ])));
    assert_eq!(again.len(), 40);
}

#[tokio::test]
async fn an_expired_owners_partitions_are_taken_over() {
    let (_dir, eddy) = hub_with_group().await;
    let mut a = consumer(&eddy.url, "h", "A", &[]);
    assert_eq!(wait_for(&eddy, "h", &[("A", 4)]).await.get("A"), Some(&4));
    // A dies without giving anything back; its records stay until they expire.
    a.kill().unwrap();
    a.wait().unwrap();
    let killed_at = Instant::now();
    let mut b = consumer(&eddy.url, "h", "B", &["--idle-timeout-ms", "8000"]);
    let got = wait_for(&eddy, "h", &[("B", 4)]).await;
    assert_eq!(got.get("B"), Some(&4), "{got:?}");
    assert!(
        killed_at.elapsed() >= Duration::from_millis(1500),
        "took over only after expiry"
    );
    b.kill().unwrap();
    b.wait().unwrap();
}
