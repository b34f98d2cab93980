//! The Event Hubs AMQP endpoint against the real SDKs: `azure-eventhub` (sync and
//! async, with Eddy's checkpoint store and the official blob store on Azurite) and
//! `@azure/event-hubs`, and across protocols (AMQP in, table and Kafka out).

use serde_json::{json, Value};

use crate::support::{run_node, run_python_async as py, Azurite, Eddy};

async fn start(dir: &std::path::Path, hubs: &[&str]) -> Eddy {
    Eddy::start(dir, &[]).await.create_hubs(hubs, 4).await
}

/// The last line of a script's output, as JSON.
fn facts(out: &str) -> Value {
    let line = out.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("no JSON facts ({e}) in:\n{out}"))
}

/// Events covered by `$Default`'s checkpoints in Eddy: the sum over partitions of
/// (last processed sequence number + 1).
async fn checkpointed(eddy: &Eddy, hub: &str) -> u64 {
    let cps = eddy.client.checkpoints(hub, "$Default").await.unwrap();
    cps.iter()
        .map(|c| c["sequence_number"].as_u64().unwrap() + 1)
        .sum()
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
    let out = py("eventhubs_sdk_sync.py", vec![cs, "telemetry".into()]).await;
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
    let produce = |n: &str| vec![cs.clone(), "telemetry".into(), n.into()];
    let consume = |n: &str| vec![cs.clone(), "telemetry".into(), url.clone(), n.into()];
    let sent = py("eventhubs_seed_producer.py", produce("1001")).await;
    let first = py("eventhubs_seed_consumer.py", consume("1001")).await;
    assert!(sent.contains("sent 1001"), "{sent}");
    assert_eq!(seen(&first), 1001, "the first run reads everything");
    assert!(first.contains(
        "properties: {b'Table': b'TestTable', b'IngestionMappingReference': b'TestMapping', b'Format': b'json'}"
    ));
    // The checkpoints are in Eddy: one per partition, summing to the events read.
    let next = checkpointed(&eddy, "telemetry").await;
    assert_eq!(next, 1001);

    // Ten more; a restarted consumer resumes after its checkpoints.
    py("eventhubs_seed_producer.py", produce("10")).await;
    let again = py("eventhubs_seed_consumer.py", consume("10")).await;
    assert_eq!(seen(&again), 10, "{again}");

    // The data connection routed every event by its properties into TestTable.
    let row = eddy
        .wait_for_row(
            "TestTable | summarize n = count(), d = dcount(deviceId), top = max(seq)",
            60,
            |row| row[0] == json!(1011),
        )
        .await;
    assert_eq!(row[1], json!(10));
    assert_eq!(row[2], json!(1000));
}

#[tokio::test]
async fn two_consumers_share_partitions_and_one_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = start(dir.path(), &["telemetry"]).await;
    let cs = eddy.eventhubs_connection_string("telemetry");
    let url = eddy.url.clone();
    let out = py("eventhubs_balance.py", vec![cs, "telemetry".into(), url]).await;
    let f = facts(&out);
    assert_eq!(f["shared"], json!([2, 2]));
    assert_eq!(f["received"], json!(300));
    // The survivor's checkpoints cover everything.
    let next = checkpointed(&eddy, "telemetry").await;
    assert_eq!(next, 300);
}

#[tokio::test]
async fn official_blob_checkpoint_store_on_azurite() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = start(dir.path(), &["telemetry"]).await;
    let azurite = Azurite::start();
    let cs = eddy.eventhubs_connection_string("telemetry");
    let url = eddy.url.clone();
    let blob = format!("blob={}", azurite.connection_string);
    let produce = |n: &str| vec![cs.clone(), "telemetry".into(), n.into()];
    let consume = |n: &str| {
        let args = [&cs, "telemetry", &url, n, "5", &blob];
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    py("eventhubs_seed_producer.py", produce("200")).await;
    let first = py("eventhubs_seed_consumer.py", consume("200")).await;
    py("eventhubs_seed_producer.py", produce("7")).await;
    let second = py("eventhubs_seed_consumer.py", consume("7")).await;
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
    let out = py("eventhubs_sdk_async.py", vec![cs, "telemetry".into()]).await;
    let f = facts(&out);
    assert_eq!(f["ids"], json!(["0", "1", "2", "3"]));
    assert_eq!(f["p2"]["last_enqueued_sequence_number"], json!(99));
    // Over Kafka too: the AMQP application properties are the headers.
    let rows = crate::kafka::kcat_read_all(&eddy.kafka, "telemetry");
    let p2: Vec<_> = rows.iter().filter(|r| r[0] == "2").collect();
    assert!(p2.len() >= 100, "{} records on partition 2", p2.len());
    assert_eq!(p2[7][3], "async-7");
    assert_eq!(p2[7][4], "Table=TestTable,i=7");
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
    let cs = eddy.eventhubs_connection_string("jshub");
    run_node("eventhubs_smoke.js", &[cs.as_str(), "jshub"], &[]).await;
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
    let out = py("eventhubs_auth.py", vec![addr, "secure".into()]).await;
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
