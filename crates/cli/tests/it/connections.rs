//! Data connections through the real binary: events sent over HTTP (and by
//! `eddy simulate`) land in tables by their routing properties, bad events show up in
//! `.show ingestion failures`, batches seal by the table's policy, and kill -9 at
//! random moments neither loses nor doubles a row.

use std::time::{Duration, Instant};

use eddy_cli::client::Client;
use eddy_server::api::{EventJson, SendRequest};
use rand::Rng;
use serde_json::{json, Map, Value};

use crate::support::{stdout, Eddy, EDDY};

const DB: &str = "NetDefaultDB";

async fn kusto(c: &Client, csl: &str) -> Vec<Vec<Value>> {
    match c.kusto(DB, csl).await {
        Ok(mut t) => t.remove(0).rows,
        Err(e) => panic!("{csl}: {e}"),
    }
}

async fn count(c: &Client, table: &str) -> i64 {
    kusto(c, &format!("{table} | count")).await[0][0]
        .as_i64()
        .unwrap()
}

/// Polls `table | count` until it reaches `n` (panics after 30 s with what it saw).
async fn wait_count(c: &Client, table: &str, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = count(c, table).await;
        if got == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{table} has {got} rows, expected {n}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn event(body: Value, props: &[(&str, &str)]) -> EventJson {
    let properties: Map<String, Value> = props
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    EventJson {
        body: Some(body),
        properties,
        ..Default::default()
    }
}

async fn send(c: &Client, hub: &str, events: Vec<EventJson>) {
    let req = SendRequest {
        events,
        ..Default::default()
    };
    c.send(hub, &req).await.unwrap();
}

/// `.show data connections` as a map from column name to value, for one connection.
async fn connection(c: &Client, name: &str) -> Map<String, Value> {
    let t = c
        .kusto(DB, &format!(".show data connection '{name}'"))
        .await
        .unwrap()
        .remove(0);
    t.columns
        .iter()
        .zip(&t.rows[0])
        .map(|(col, v)| (col.name.clone(), v.clone()))
        .collect()
}

/// Polls `.show data connection` until `ok` holds (its counters move just after the
/// rows of a batch become visible); returns the last row seen after at most 10 s.
async fn connection_when(
    c: &Client,
    name: &str,
    ok: impl Fn(&Map<String, Value>) -> bool,
) -> Map<String, Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let shown = connection(c, name).await;
        if ok(&shown) || Instant::now() > deadline {
            return shown;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const SEED_TABLE: &str = ".create table TestTable (TimeStamp: datetime, Temperature: float, Humidity: float, IoTDevice: string)";
const SEED_MAPPING: &str = r#".create table TestTable ingestion json mapping 'TestMapping' '[{"column":"TimeStamp","Properties":{"Path":"$.timestamp"}},{"column":"Temperature","Properties":{"Path":"$.temperature"}},{"column":"Humidity","Properties":{"Path":"$.humidity"}},{"column":"IoTDevice","Properties":{"Path":"$.iotdevice"}}]'"#;

#[tokio::test]
async fn seed_scenario_1001_events_land_with_the_values_sent() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = Eddy::start(dir.path(), &[]).await;
    let c = &eddy.client;
    c.create_hub("telemetry", &json!({"partitions": 4}))
        .await
        .unwrap();
    kusto(c, SEED_TABLE).await;
    kusto(c, SEED_MAPPING).await;
    kusto(c, r#".alter table TestTable policy ingestionbatching @'{"MaximumBatchingTimeSpan":"00:00:01", "MaximumNumberOfItems": 500, "MaximumRawDataSizeMB": 1024}'"#).await;
    // Sent before the connection exists: Kusto does not read these.
    send(
        c,
        "telemetry",
        vec![event(json!({"temperature": 99}), &[("Table", "TestTable")])],
    )
    .await;
    // Through the CLI, as a user would.
    let created = stdout(&eddy.cli(&[
        "connection",
        "create",
        "iot",
        "--hub",
        "telemetry",
        "--table",
        "TestTable",
        "--format",
        "json",
    ]));
    assert!(
        created.contains("iot") && created.contains("telemetry"),
        "{created}"
    );
    let props = [
        ("Table", "TestTable"),
        ("IngestionMappingReference", "TestMapping"),
        ("Format", "json"),
    ];
    let mut expected_sum = 0.0;
    for chunk in 0..11 {
        let n = if chunk == 10 { 1 } else { 100 };
        let events = (0..n)
            .map(|i| {
                let k = chunk * 100 + i;
                expected_sum += k as f64 + 0.5;
                event(
                    json!({
                        "timestamp": format!("2024-05-01T10:00:{:02}Z", k % 60),
                        "temperature": k as f64 + 0.5,
                        "humidity": 50,
                        "iotdevice": format!("device{}", k % 7),
                    }),
                    &props,
                )
            })
            .collect();
        send(c, "telemetry", events).await;
    }
    wait_count(c, "TestTable", 1001).await;
    let rows = kusto(
        c,
        "TestTable | summarize s = sum(Temperature), d = dcount(IoTDevice), h = avg(Humidity), m = min(TimeStamp)",
    )
    .await;
    assert_eq!(rows[0][0].as_f64().unwrap(), expected_sum);
    assert_eq!(rows[0][1], json!(7));
    assert_eq!(rows[0][2].as_f64().unwrap(), 50.0);
    assert_eq!(rows[0][3], json!("2024-05-01T10:00:00.0000000Z"));
    let shown = connection_when(c, "iot", |s| s["EventsIngested"] == json!(1001)).await;
    assert_eq!(shown["EventsIngested"], json!(1001), "{shown:?}");
    assert_eq!(shown["EventsFailed"], json!(0), "{shown:?}");
    assert_eq!(shown["ConsumerGroup"], json!("iot"));
    // Sealed batches are Delta commits: the rows are in extents, not only hot.
    let extents = kusto(c, ".show table TestTable extents | summarize sum(RowCount)").await;
    assert_eq!(extents[0][0], json!(1001));
    // Lag drains to zero once everything is in.
    let deadline = Instant::now() + Duration::from_secs(10);
    while connection(c, "iot").await["Lag"] != json!(0) {
        assert!(Instant::now() < deadline, "lag stays above zero");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let metrics = eddy.metrics().await;
    assert!(
        metrics.contains(r#"eddy_connection_events_ingested_total{database="NetDefaultDB",connection="iot"} 1001"#),
        "{metrics}"
    );
    // Listing and dropping through the CLI.
    let listed = stdout(&eddy.cli(&["connection", "list"]));
    assert!(listed.contains("iot"), "{listed}");
    stdout(&eddy.cli(&["connection", "drop", "iot"]));
    let err = c.kusto(DB, ".show data connection iot").await.unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[tokio::test]
async fn events_route_by_their_own_properties_with_system_properties() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = Eddy::start(dir.path(), &[]).await;
    let c = &eddy.client;
    c.create_hub("mixed", &json!({"partitions": 2}))
        .await
        .unwrap();
    kusto(c, ".create table A (a: long, seq: long, enq: datetime)").await;
    kusto(c, r#".create table A ingestion json mapping 'MA' '[{"column":"a","path":"$.a"},{"column":"seq","path":"$.x-opt-sequence-number"},{"column":"enq","path":"$.x-opt-enqueued-time"}]'"#).await;
    kusto(
        c,
        ".create table B (enq: datetime, seq: long, word: string, n: long)",
    )
    .await;
    kusto(c, r#".create table B ingestion csv mapping 'MB' '[{"column":"enq","Ordinal":0},{"column":"seq","Ordinal":1},{"column":"word","Ordinal":2},{"column":"n","Ordinal":3}]'"#).await;
    for t in ["A", "B"] {
        kusto(
            c,
            &format!(".alter table {t} policy streamingingestion '{{\"IsEnabled\": true}}'"),
        )
        .await;
    }
    kusto(c, ".create data connection routed with (hub = 'mixed', table = 'A', format = 'json', mapping = 'MA', eventSystemProperties = 'x-opt-sequence-number, x-opt-enqueued-time', consumerGroup = 'routing')").await;
    let req = SendRequest {
        events: vec![
            event(json!({"a": 1}), &[]),
            EventJson {
                body: Some(json!("hello,5")),
                properties: [
                    ("Table", "B"),
                    ("Format", "csv"),
                    ("IngestionMappingReference", "MB"),
                ]
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect(),
                ..Default::default()
            },
            // Names are case-sensitive: `table` is not a routing property.
            event(json!({"a": 3}), &[("table", "B")]),
        ],
        partition_id: Some("1".into()),
        ..Default::default()
    };
    let sent = c.send("mixed", &req).await.unwrap();
    wait_count(c, "A", 2).await;
    wait_count(c, "B", 1).await;
    let first = sent.first_sequence_number as i64;
    let a = kusto(c, "A | order by a asc | project a, seq, isnotnull(enq)").await;
    assert_eq!(
        a,
        vec![
            vec![json!(1), json!(first), json!(true)],
            vec![json!(3), json!(first + 2), json!(true)]
        ]
    );
    let b = kusto(c, "B | project seq, word, n, isnotnull(enq)").await;
    assert_eq!(
        b,
        vec![vec![
            json!(first + 1),
            json!("hello"),
            json!(5),
            json!(true)
        ]]
    );
    let shown = connection_when(c, "routed", |s| s["EventsIngested"] == json!(3)).await;
    assert_eq!(shown["EventsIngested"], json!(3), "{shown:?}");
    assert!(
        shown["BatchesSealedBy"]["streaming"].as_u64().unwrap() >= 2,
        "{shown:?}"
    );
}

#[tokio::test]
async fn bad_events_are_visible_and_good_ones_land() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = Eddy::start(dir.path(), &[]).await;
    let c = &eddy.client;
    c.create_hub("dirty", &json!({"partitions": 1}))
        .await
        .unwrap();
    kusto(c, ".create table T (x: long)").await;
    kusto(
        c,
        r#".create table T ingestion json mapping 'M' '[{"column":"x","path":"$.x"}]'"#,
    )
    .await;
    kusto(
        c,
        ".alter table T policy streamingingestion '{\"IsEnabled\": true}'",
    )
    .await;
    kusto(
        c,
        ".create data connection dirty with (hub = 'dirty', table = 'T', mapping = 'M')",
    )
    .await;
    let raw = |body: &str, props: &[(&str, &str)]| EventJson {
        body: Some(json!(body)),
        properties: props
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect(),
        ..Default::default()
    };
    let req = SendRequest {
        events: vec![
            raw(r#"{"x": 1}"#, &[]),
            raw(r#"{"x": 2, oops"#, &[]),
            raw(r#"{"x": 3}"#, &[("IngestionMappingReference", "Nope")]),
            raw(r#"{"x": 4}"#, &[("Table", "Missing")]),
            raw(r#"{"x": 5}"#, &[]),
        ],
        ..Default::default()
    };
    let sent = c.send("dirty", &req).await.unwrap();
    wait_count(c, "T", 2).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let failures = loop {
        let rows = kusto(c, ".show ingestion failures | where DataConnection == 'dirty' | order by SequenceNumber asc | project SequenceNumber, Partition, EventHub, ErrorCode, RawPayload, Details, EventProperties").await;
        if rows.len() >= 3 || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(failures.len(), 3, "{failures:?}");
    let first = sent.first_sequence_number as i64;
    assert_eq!(failures[0][0], json!(first + 1));
    assert_eq!(failures[0][1], json!(0));
    assert_eq!(failures[0][2], json!("dirty"));
    assert_eq!(failures[0][3], json!("BadRequest_InvalidJson"));
    assert_eq!(failures[0][4], json!(r#"{"x": 2, oops"#));
    assert_eq!(failures[1][0], json!(first + 2));
    assert!(
        failures[1][5].as_str().unwrap().contains("Nope"),
        "{failures:?}"
    );
    assert_eq!(failures[1][6], json!({"IngestionMappingReference": "Nope"}));
    assert_eq!(failures[2][0], json!(first + 3));
    assert_eq!(failures[2][3], json!("BadRequest_EntityNotFound"));
    assert!(
        failures[2][5]
            .as_str()
            .unwrap()
            .contains("table 'Missing' does not exist"),
        "{failures:?}"
    );
    assert_eq!(
        kusto(c, "T | order by x asc").await,
        vec![vec![json!(1)], vec![json!(5)]]
    );
    let shown = connection(c, "dirty").await;
    assert_eq!(shown["EventsFailed"], json!(3), "{shown:?}");
    // Bad definitions get clear errors.
    let e = c
        .kusto(DB, ".create data connection x with (hub = 'nohub')")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("'nohub' does not exist"), "{e}");
    let e = c
        .kusto(DB, ".create data connection dirty with (hub = 'dirty')")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
}

#[tokio::test]
async fn batches_seal_by_items_time_size_and_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = Eddy::start(dir.path(), &[]).await;
    let c = &eddy.client;
    c.create_hub("policies", &json!({"partitions": 1}))
        .await
        .unwrap();
    for t in ["Items", "ByTime", "Size", "Stream"] {
        kusto(c, &format!(".create table {t} (id: long, pad: string)")).await;
    }
    let policy = |t: &str, time: &str, items: u32, mb: u32| {
        format!(".alter table {t} policy ingestionbatching @'{{\"MaximumBatchingTimeSpan\":\"{time}\", \"MaximumNumberOfItems\": {items}, \"MaximumRawDataSizeMB\": {mb}}}'")
    };
    kusto(c, &policy("Items", "00:10:00", 100, 1024)).await;
    kusto(c, &policy("ByTime", "00:00:03", 25000, 1024)).await;
    kusto(c, &policy("Size", "00:10:00", 25000, 1)).await;
    kusto(
        c,
        ".alter table Stream policy streamingingestion '{\"IsEnabled\": true}'",
    )
    .await;
    kusto(
        c,
        ".create data connection policies with (hub = 'policies', format = 'json')",
    )
    .await;
    let rows = |table: &str, n: usize, pad: usize| -> Vec<EventJson> {
        (0..n)
            .map(|i| {
                event(
                    json!({"id": i, "pad": "x".repeat(pad)}),
                    &[("Table", table)],
                )
            })
            .collect()
    };
    // Time: nothing is visible until the 3 s batch seals.
    send(c, "policies", rows("ByTime", 10, 0)).await;
    let sent_at = Instant::now();
    assert_eq!(count(c, "ByTime").await, 0);
    // Items: 250 events → two batches of 100 seal, 50 wait for the (10 min) time limit.
    send(c, "policies", rows("Items", 250, 0)).await;
    wait_count(c, "Items", 200).await;
    // Size: 1 MB → the batch seals at the 11th event of 100 KB.
    for chunk in rows("Size", 12, 100 * 1024).chunks(4) {
        send(c, "policies", chunk.to_vec()).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(c, "Size").await < 11 {
        assert!(Instant::now() < deadline, "the size limit never sealed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Streaming: visible quickly although the batching policy says 5 minutes.
    send(c, "policies", rows("Stream", 10, 0)).await;
    let streamed = Instant::now();
    wait_count(c, "Stream", 10).await;
    let stream_latency = streamed.elapsed();
    wait_count(c, "ByTime", 10).await;
    assert!(
        sent_at.elapsed() >= Duration::from_secs(2),
        "the time-sealed batch appeared before its policy allowed"
    );
    assert_eq!(
        count(c, "Items").await,
        200,
        "the partial batch sealed early"
    );
    let by = connection_when(c, "policies", |s| {
        let by = &s["BatchesSealedBy"];
        by["time"].as_u64() >= Some(1)
            && by["size"] == json!(1)
            && by["streaming"].as_u64() >= Some(1)
    })
    .await["BatchesSealedBy"]
        .clone();
    assert_eq!(by["items"], json!(2), "{by}");
    assert!(by["time"].as_u64().unwrap() >= 1, "{by}");
    assert_eq!(by["size"], json!(1), "{by}");
    assert!(by["streaming"].as_u64().unwrap() >= 1, "{by}");
    eprintln!("streaming: 10 events visible after {stream_latency:?}");
    // A policy change applies to the open batch at once: the 50 waiting events seal.
    kusto(c, &policy("Items", "00:00:01", 100, 1024)).await;
    wait_count(c, "Items", 250).await;
}

/// `eddy simulate` sends continuously while the server is killed at random moments;
/// afterwards every event in the hub is in the table exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_under_kill_9_while_the_simulator_sends() {
    let dir = tempfile::tempdir().unwrap();
    let cycles = 10;
    for cycle in 0..cycles {
        let mut eddy = Eddy::start(dir.path(), &[]).await;
        if cycle == 0 {
            let c = &eddy.client;
            c.create_hub("sim", &json!({"partitions": 2}))
                .await
                .unwrap();
            kusto(c, ".create table Events (eventId: string, deviceId: string, deviceSequenceNumber: long, value: real, type: string, createdAt: datetime, complexData: dynamic)").await;
            kusto(c, r#".alter table Events policy ingestionbatching @'{"MaximumBatchingTimeSpan":"00:00:01", "MaximumNumberOfItems": 300, "MaximumRawDataSizeMB": 1024}'"#).await;
            kusto(c, ".create data connection sim with (hub = 'sim', table = 'Events', format = 'json', start = 'earliest')").await;
        }
        let mut sim = std::process::Command::new(EDDY)
            .args([
                "simulate",
                "sim",
                "--schema",
                "sas",
                "--rate",
                "3000",
                "--duration-secs",
                "0",
                "--duplicates",
                "0",
                "--no-properties",
                "--report-secs",
                "3600",
            ])
            .env("EDDY_URL", &eddy.url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pause = rand::rng().random_range(300..1500);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        eddy.kill9();
        let _ = sim.kill();
        let _ = sim.wait();
    }
    let eddy = Eddy::start(dir.path(), &[]).await;
    let c = &eddy.client;
    let hub = c.show_hub("sim").await.unwrap();
    let in_hub: i64 = hub["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["last_enqueued_sequence_number"].as_i64().unwrap() + 1)
        .sum();
    assert!(
        in_hub > 1000,
        "the simulator sent enough to mean something: {in_hub}"
    );
    wait_count(c, "Events", in_hub).await;
    let distinct = kusto(c, "Events | distinct eventId | count").await;
    assert_eq!(distinct[0][0], json!(in_hub), "an event was ingested twice");
    let shown = connection(c, "sim").await;
    eprintln!(
        "data connection crash test: {cycles} kill -9 cycles, {in_hub} events, skipped on re-read: {}",
        shown["EventsSkipped"]
    );
}

/// A connection declared in the config file exists at start, keeps its identity across
/// restarts with the same settings, and feeds a table created afterwards.
#[tokio::test]
async fn connections_from_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("eddy.toml");
    std::fs::write(
        &config,
        r#"
[[hubs]]
name = "devices"
partitions = 2

[[data_connections]]
name = "devices-to-readings"
hub = "devices"
table = "Readings"
format = "json"
start = "earliest"
system_properties = ["x-opt-partition-key"]
"#,
    )
    .unwrap();
    let data = dir.path().join("data");
    let config_arg = config.to_str().unwrap();
    let mut eddy = Eddy::start(&data, &["--config", config_arg]).await;
    let c = eddy.client.clone();
    let shown = connection(&c, "devices-to-readings").await;
    assert_eq!(shown["EventHub"], json!("devices"));
    assert_eq!(
        shown["EventSystemProperties"],
        json!(["x-opt-partition-key"])
    );
    // Sent before the table exists: a failure that names the missing table.
    let req = SendRequest {
        events: vec![event(json!({"v": 1}), &[])],
        partition_key: Some("dev-1".into()),
        ..Default::default()
    };
    c.send("devices", &req).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let f = kusto(&c, ".show ingestion failures | where DataConnection == 'devices-to-readings' | project Details").await;
        if let Some(row) = f.first() {
            assert!(
                row[0]
                    .as_str()
                    .unwrap()
                    .contains("'Readings' does not exist"),
                "{row:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no failure recorded for the missing table"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    kusto(&c, r#".create table Readings (v: long, key: string)"#).await;
    kusto(&c, r#".create table Readings ingestion json mapping 'ReadingsMapping' '[{"column":"v","path":"$.v"},{"column":"key","path":"$.x-opt-partition-key"}]'"#).await;
    kusto(
        &c,
        ".alter table Readings policy streamingingestion '{\"IsEnabled\": true}'",
    )
    .await;
    let created_on = shown["CreatedOn"].clone();
    eddy.terminate();
    let eddy = Eddy::start(&data, &["--config", config_arg]).await;
    let c = eddy.client.clone();
    assert_eq!(
        connection(&c, "devices-to-readings").await["CreatedOn"],
        created_on
    );
    let req = SendRequest {
        events: vec![event(
            json!({"v": 2}),
            &[("IngestionMappingReference", "ReadingsMapping")],
        )],
        partition_key: Some("dev-2".into()),
        ..Default::default()
    };
    c.send("devices", &req).await.unwrap();
    wait_count(&c, "Readings", 1).await;
    assert_eq!(
        kusto(&c, "Readings").await,
        vec![vec![json!(2), json!("dev-2")]]
    );
}

/// With a small buffer, a table whose policy would hold events for ten minutes gets
/// them sealed early (reason `memory`) instead of the connection growing without bound.
#[tokio::test]
async fn a_full_buffer_seals_early_instead_of_growing() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = Eddy::start_env(dir.path(), &[], &[("EDDY_CONNECTIONS_MAX_BUFFER_MB", "1")]).await;
    let c = &eddy.client;
    c.create_hub("big", &json!({"partitions": 2}))
        .await
        .unwrap();
    kusto(c, ".create table Slow (id: long, pad: string)").await;
    kusto(c, r#".alter table Slow policy ingestionbatching @'{"MaximumBatchingTimeSpan":"00:10:00", "MaximumNumberOfItems": 25000, "MaximumRawDataSizeMB": 4096}'"#).await;
    kusto(
        c,
        ".create data connection big with (hub = 'big', table = 'Slow')",
    )
    .await;
    for chunk in 0..6 {
        let events = (0..5)
            .map(|i| {
                event(
                    json!({"id": chunk * 5 + i, "pad": "y".repeat(100 * 1024)}),
                    &[],
                )
            })
            .collect();
        send(c, "big", events).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(c, "Slow").await < 20 {
        assert!(
            Instant::now() < deadline,
            "the buffer limit never sealed a batch"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The connection's counters are updated just after its rows are appended.
    let shown = loop {
        let shown = connection(c, "big").await;
        if shown["BatchesSealedBy"]["memory"].as_u64().unwrap() >= 2 {
            break shown;
        }
        assert!(Instant::now() < deadline, "{shown:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(shown["BatchesSealedBy"]["time"], json!(0), "{shown:?}");
    let lag = shown["PartitionLag"].as_object().unwrap();
    assert_eq!(lag.len(), 2, "{shown:?}");
}
