//! The Event Hubs AMQP endpoint against the real SDKs: `azure-eventhub` (sync and
//! async, with Eddy's checkpoint store and the official blob store on Azurite) and
//! `@azure/event-hubs`, and across protocols (AMQP in, table and Kafka out).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{run_python, Azurite, Eddy};

async fn start(dir: &std::path::Path, hubs: &[&str]) -> Eddy {
    let eddy = Eddy::start(dir, &[]).await;
    for hub in hubs {
        eddy.client
            .create_hub(hub, &json!({"partitions": 4}))
            .await
            .unwrap();
    }
    eddy
}

/// The last line of a script's output, as JSON.
fn facts(out: &str) -> Value {
    let line = out.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("no JSON facts ({e}) in:\n{out}"))
}

fn seen(out: &str) -> u64 {
    out.lines()
        .find_map(|l| l.strip_prefix("SEEN "))
        .unwrap_or_else(|| panic!("no SEEN line in:\n{out}"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn sync_sdk_positions_properties_routing_metrics_and_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = start(dir.path(), &["telemetry"]).await;
    let cs = eddy.eventhubs_connection_string("telemetry");
    let out = tokio::task::spawn_blocking(move || {
        run_python("eventhubs_sdk_sync.py", &[&cs, "telemetry"])
    })
    .await
    .unwrap();
    let f = facts(&out);
    assert_eq!(f["max_size_in_bytes"], json!(1_048_576));
    let expected = eddy_hub::hash::partition_for_key("device-42", 4).to_string();
    assert_eq!(
        f["key_partition"],
        json!(expected),
        "the Event Hubs hash picks the partition"
    );
    assert!(
        f["epoch_error"]
            .as_str()
            .unwrap()
            .contains("amqp:link:stolen"),
        "{}",
        f["epoch_error"]
    );
    // The SDK's runtime information is the hub's.
    let hub = eddy.client.show_hub("telemetry").await.unwrap();
    assert_eq!(f["eventhub"]["name"], json!("telemetry"));
    assert_eq!(f["eventhub"]["partition_ids"], hub["partition_ids"]);
    let created: chrono::DateTime<chrono::Utc> =
        hub["created_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        f["eventhub"]["created_at_ms"],
        json!(created.timestamp_millis())
    );
    for p in hub["partitions"].as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        let sdk = &f["partitions"][id];
        assert_eq!(sdk["beginning_sequence_number"], p["begin_sequence_number"]);
        assert_eq!(
            sdk["last_enqueued_sequence_number"],
            p["last_enqueued_sequence_number"]
        );
        assert_eq!(sdk["last_enqueued_offset"], p["last_enqueued_offset"]);
        assert_eq!(sdk["is_empty"], p["is_empty"]);
    }
    assert_eq!(
        f["partitions"]["0"]["last_enqueued_sequence_number"],
        json!(8)
    );
}

#[tokio::test]
async fn seed_producer_and_checkpointing_consumer_resume_and_feed_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = start(dir.path(), &["telemetry"]).await;
    for cmd in [
        ".create table TestTable (deviceId: string, temperature: real, seq: long)",
        r#".create table TestTable ingestion json mapping "TestMapping" '[{"column":"deviceId","path":"$.deviceId"},{"column":"temperature","path":"$.temperature"},{"column":"seq","path":"$.seq"}]'"#,
        ".alter table TestTable policy streamingingestion '{\"IsEnabled\": true}'",
        ".create data connection fromamqp with (hub='telemetry', start='earliest')",
    ] {
        eddy.client.kusto("NetDefaultDB", cmd).await.unwrap();
    }
    let cs = eddy.eventhubs_connection_string("telemetry");
    let url = eddy.url.clone();
    let (cs2, url2) = (cs.clone(), url.clone());
    let (sent, first) = tokio::task::spawn_blocking(move || {
        let sent = run_python("eventhubs_seed_producer.py", &[&cs2, "telemetry", "1001"]);
        let first = run_python(
            "eventhubs_seed_consumer.py",
            &[&cs2, "telemetry", &url2, "1001"],
        );
        (sent, first)
    })
    .await
    .unwrap();
    assert!(sent.contains("sent 1001"), "{sent}");
    assert_eq!(seen(&first), 1001, "the first run reads everything");
    assert!(first.contains(
        "properties: {b'Table': b'TestTable', b'IngestionMappingReference': b'TestMapping', b'Format': b'json'}"
    ));
    // The checkpoints are in Eddy: one per partition, summing to the events read.
    let cps = eddy
        .client
        .checkpoints("telemetry", "$Default")
        .await
        .unwrap();
    let next: u64 = cps
        .iter()
        .map(|c| c["sequence_number"].as_u64().unwrap() + 1)
        .sum();
    assert_eq!(next, 1001, "{cps:?}");

    // Ten more; a restarted consumer resumes after its checkpoints.
    let again = tokio::task::spawn_blocking(move || {
        run_python("eventhubs_seed_producer.py", &[&cs, "telemetry", "10"]);
        run_python(
            "eventhubs_seed_consumer.py",
            &[&cs, "telemetry", &url, "10"],
        )
    })
    .await
    .unwrap();
    assert_eq!(seen(&again), 10, "{again}");

    // The data connection routed every event by its properties into TestTable.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let t = eddy
            .client
            .kusto(
                "NetDefaultDB",
                "TestTable | summarize n = count(), d = dcount(deviceId), top = max(seq)",
            )
            .await
            .unwrap();
        let row = &t[0].rows[0];
        if row[0] == json!(1011) {
            assert_eq!(row[1], json!(10));
            assert_eq!(row[2], json!(1000));
            break;
        }
        assert!(Instant::now() < deadline, "table has {row:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn two_consumers_share_partitions_and_one_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = start(dir.path(), &["telemetry"]).await;
    let cs = eddy.eventhubs_connection_string("telemetry");
    let url = eddy.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        run_python("eventhubs_balance.py", &[&cs, "telemetry", &url])
    })
    .await
    .unwrap();
    let f = facts(&out);
    assert_eq!(f["shared"], json!([2, 2]));
    assert_eq!(f["received"], json!(300));
    // The survivor's checkpoints cover everything.
    let cps = eddy
        .client
        .checkpoints("telemetry", "$Default")
        .await
        .unwrap();
    let next: u64 = cps
        .iter()
        .map(|c| c["sequence_number"].as_u64().unwrap() + 1)
        .sum();
    assert_eq!(next, 300, "{cps:?}");
}

#[tokio::test]
async fn official_blob_checkpoint_store_on_azurite() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = start(dir.path(), &["telemetry"]).await;
    let azurite = Azurite::start();
    let cs = eddy.eventhubs_connection_string("telemetry");
    let url = eddy.url.clone();
    let blob = format!("blob={}", azurite.connection_string);
    let (first, second) = tokio::task::spawn_blocking(move || {
        run_python("eventhubs_seed_producer.py", &[&cs, "telemetry", "200"]);
        let first = run_python(
            "eventhubs_seed_consumer.py",
            &[&cs, "telemetry", &url, "200", "5", &blob],
        );
        run_python("eventhubs_seed_producer.py", &[&cs, "telemetry", "7"]);
        let second = run_python(
            "eventhubs_seed_consumer.py",
            &[&cs, "telemetry", &url, "7", "5", &blob],
        );
        (first, second)
    })
    .await
    .unwrap();
    assert_eq!(seen(&first), 200);
    assert_eq!(seen(&second), 7, "resumed from the blob checkpoints");
    // Eddy's own store was not used.
    assert!(eddy
        .client
        .checkpoints("telemetry", "$Default")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn async_sdk_sends_by_id_and_key_and_reads_from_a_sequence_number() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = start(dir.path(), &["telemetry"]).await;
    let cs = eddy.eventhubs_connection_string("telemetry");
    let out = tokio::task::spawn_blocking(move || {
        run_python("eventhubs_sdk_async.py", &[&cs, "telemetry"])
    })
    .await
    .unwrap();
    let f = facts(&out);
    assert_eq!(f["ids"], json!(["0", "1", "2", "3"]));
    assert_eq!(f["p2"]["last_enqueued_sequence_number"], json!(99));
    let key_partition = eddy_hub::hash::partition_for_key("sensor-9", 4);
    let read = eddy
        .client
        .read("telemetry", &key_partition.to_string(), "earliest", 1000, 0)
        .await
        .unwrap();
    assert!(
        read.events
            .iter()
            .any(|e| e.partition_key.as_deref() == Some("sensor-9")),
        "the keyed event is on partition {key_partition}"
    );
}

#[tokio::test]
async fn javascript_sdk_sends_and_receives() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = start(dir.path(), &["jshub"]).await;
    let node_dir = std::env::var("EDDY_NODE_DIR").unwrap_or_else(|_| {
        format!(
            "{}/.cache/eddy-node",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node/eventhubs_smoke.js");
    let cs = eddy.eventhubs_connection_string("jshub");
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .args([cs.as_str(), "jshub"])
        .env("EDDY_NODE_DIR", node_dir)
        .output()
        .await
        .expect("node (./test.sh installs @azure/event-hubs under ~/.cache/eddy-node)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("ok"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The keyed event from JavaScript landed where the Event Hubs hash says.
    let p = eddy_hub::hash::partition_for_key("js-key", 4).to_string();
    let read = eddy
        .client
        .read("jshub", &p, "earliest", 100, 0)
        .await
        .unwrap();
    assert!(read
        .events
        .iter()
        .any(|e| e.partition_key.as_deref() == Some("js-key")));
}

#[tokio::test]
async fn shared_access_keys_are_enforced_when_auth_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("eddy.toml");
    std::fs::write(
        &config,
        r#"
[auth]
enabled = true
[[auth.keys]]
name = "RootManageSharedAccessKey"
key = "SAS_KEY_VALUE"
rights = ["Manage"]
[[auth.keys]]
name = "sender"
key = "s3nd"
rights = ["Send"]
[[auth.keys]]
name = "listener"
key = "l1sten"
rights = ["Listen"]
"#,
    )
    .unwrap();
    let data = dir.path().join("data");
    let eddy = Eddy::start(&data, &["--config", config.to_str().unwrap()]).await;
    eddy.client
        .create_hub("secure", &json!({"partitions": 1}))
        .await
        .unwrap();
    let addr = eddy.amqp.clone();
    let out =
        tokio::task::spawn_blocking(move || run_python("eventhubs_auth.py", &[&addr, "secure"]))
            .await
            .unwrap();
    let f = facts(&out);
    assert_eq!(f["root_send"], Value::Null, "{f}");
    assert_eq!(f["sender_send"], Value::Null, "{f}");
    let wrong = f["wrong_key_send"].as_str().unwrap();
    assert!(wrong.contains("signature does not match"), "{wrong}");
    let listener = f["listener_send"].as_str().unwrap();
    assert!(listener.contains("unauthorized"), "{listener}");
    assert_eq!(f["sender_receive"][0], json!(0), "{f}");
    let refused = f["sender_receive"][1][0].as_str().unwrap();
    assert!(refused.contains("Listen"), "{refused}");
    // Root (Manage) reads the two events the permitted senders stored.
    assert!(f["root_receive"][0].as_u64().unwrap() >= 1, "{f}");
    let stored = eddy
        .client
        .read("secure", "0", "earliest", 10, 0)
        .await
        .unwrap();
    assert_eq!(stored.events.len(), 2);
}
