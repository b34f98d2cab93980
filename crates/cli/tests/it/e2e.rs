use serde_json::{json, Value};

use crate::support::{cli_with_stdin, read_all, stdout, Eddy};

#[tokio::test]
async fn send_and_consume_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = Eddy::start(dir.path(), &[]).await;
    stdout(&eddy.cli(&[
        "hub",
        "create",
        "telemetry",
        "--partitions",
        "2",
        "--consumer-group",
        "adx",
    ]));
    let list = stdout(&eddy.cli(&["hub", "list"]));
    assert!(
        list.contains("telemetry") && list.contains("$Default,adx"),
        "{list}"
    );

    // eddy send: args with typed properties, then JSON lines from stdin with a key.
    stdout(&eddy.cli(&[
        "send",
        "telemetry",
        "{\"temperature\":21.5}",
        "second",
        "-p",
        "Table=Telemetry",
        "-p",
        "n:long=7",
        "--partition",
        "0",
    ]));
    let lines = (0..5)
        .map(|i| format!("{{\"i\":{i}}}"))
        .collect::<Vec<_>>()
        .join("\n");
    stdout(&cli_with_stdin(
        &eddy.url,
        &[
            "send",
            "telemetry",
            "--file",
            "-",
            "--partition-key",
            "dev-1",
            "-p",
            "Format=json",
        ],
        Some(&lines),
    ));

    // HTTP REST single send with BrokerProperties and a custom header; REST batch.
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/telemetry/messages", eddy.url))
        .header("BrokerProperties", r#"{"PartitionKey":"dev-1"}"#)
        .header("Source", "\"rest\"")
        .body("rest-single")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http
        .post(format!("{}/telemetry/partitions/1/messages", eddy.url))
        .header("content-type", "application/vnd.microsoft.servicebus.json")
        .body(
            r#"[{"Body":"rest-b1","UserProperties":{"Table":"T2","level":3}},{"Body":"rest-b2"}]"#,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // eddy consume prints everything back with properties.
    let out = stdout(&eddy.cli(&[
        "consume",
        "telemetry",
        "--output",
        "json",
        "--idle-timeout-ms",
        "1500",
    ]));
    let events: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 10, "{out}");
    let by_body = |b: &str| {
        events
            .iter()
            .find(|e| e["body"] == b)
            .unwrap_or_else(|| panic!("{b} missing in {out}"))
            .clone()
    };
    let first = by_body("{\"temperature\":21.5}");
    assert_eq!(first["partition_id"], "0");
    assert_eq!(first["properties"], json!({"Table": "Telemetry", "n": 7}));
    assert_eq!(first["sequence_number"], 0);
    let keyed = by_body("{\"i\":3}");
    assert_eq!(keyed["partition_key"], "dev-1");
    assert_eq!(keyed["properties"]["Format"], "json");
    let rest = by_body("rest-single");
    assert_eq!(rest["partition_key"], "dev-1");
    assert_eq!(
        rest["partition_id"], keyed["partition_id"],
        "same key, same partition"
    );
    assert_eq!(rest["properties"]["source"], "rest");
    assert_eq!(
        by_body("rest-b1")["properties"],
        json!({"Table": "T2", "level": 3})
    );
    assert_eq!(by_body("rest-b2")["partition_id"], "1");

    // Text output, like the seed's consumer script, from a position.
    let text = stdout(&eddy.cli(&[
        "consume",
        "telemetry",
        "--partition",
        "0",
        "--from",
        "seq:>0",
        "--max-events",
        "1",
    ]));
    assert!(
        text.contains("Received the event: \"second\" from the partition with ID: \"0\""),
        "{text}"
    );
    assert!(text.contains("\"Table\":\"Telemetry\""), "{text}");

    // Describe reports Event Hubs' partition fields.
    let show = eddy.client.show_hub("telemetry").await.unwrap();
    let p0 = &show["partitions"][0];
    assert_eq!(p0["begin_sequence_number"], 0);
    let in_p0 = events.iter().filter(|e| e["partition_id"] == "0").count() as i64;
    assert_eq!(p0["last_enqueued_sequence_number"], in_p0 - 1);
    assert_eq!(p0["is_empty"], false);
    assert!(p0["last_enqueued_offset"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .is_ok());
    assert!(p0["last_enqueued_time_utc"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    let metrics = eddy.metrics().await;
    assert!(
        metrics.contains("eddy_hub_incoming_events_total{hub=\"telemetry\"} 10"),
        "{metrics}"
    );
    assert!(metrics.contains("eddy_process_resident_memory_bytes"));

    stdout(&eddy.cli(&["hub", "delete", "telemetry"]));
    assert!(
        stdout(&eddy.cli(&["hub", "list"])).lines().count() == 2,
        "only the header remains"
    );
}

#[tokio::test]
async fn bad_input_gets_clear_errors_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = Eddy::start(dir.path(), &[]).await;
    eddy.client
        .create_hub("h", &json!({"partitions": 2}))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let post = |path: &str, ct: &str, body: Vec<u8>| {
        http.post(format!("{}{path}", eddy.url))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    // Unknown hub and partition name what exists.
    let r = post("/nope/messages", "text/plain", b"x".to_vec())
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("existing hubs: [h]"));
    let r = post("/h/partitions/7/messages", "text/plain", b"x".to_vec())
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("partitions are 0..1"));
    // Malformed batch JSON: 400 with the position.
    let r = post(
        "/h/messages",
        "application/vnd.microsoft.servicebus.json",
        b"[{\"Body\": \"a\"},\n {\"Body\" \"b\"}]".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("line 2 column"));
    // Oversized batch: 413, nothing stored.
    let big: Vec<Value> = (0..11)
        .map(|_| json!({"Body": "x".repeat(100_000)}))
        .collect();
    let r = post(
        "/h/messages",
        "application/vnd.microsoft.servicebus.json",
        serde_json::to_vec(&big).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 413);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("over the limit of 1048576 bytes"));
    // Bad positions and bad properties.
    let r = http
        .get(format!(
            "{}/api/hubs/h/partitions/0/events?from=yesterday",
            eddy.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("invalid position 'yesterday'"));
    let r = post(
        "/api/hubs/h/events",
        "application/json",
        br#"{"events":[{"body":"a","properties":{"x":null}}]}"#.to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let r = post(
        "/api/hubs/h/events",
        "application/json",
        b"{not json".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    // Nothing from any rejected request was stored.
    assert!(read_all(&eddy.client, "h").await.is_empty());
    // The CLI reports errors with the server's message and a failing exit code.
    let out = eddy.cli(&["send", "nope", "x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    let out = eddy.cli(&["hub", "create", "bad/name"]);
    assert!(!out.status.success());
}

#[tokio::test]
async fn graceful_shutdown_keeps_everything_and_config_layers_apply() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("eddy.toml");
    std::fs::write(
        &config,
        "[hub]\nmax_batch_bytes = 2048\nfsync = \"lazy\"\nlazy_flush_ms = 3600000\n[[hubs]]\nname = \"fromconfig\"\npartitions = 3\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let mut eddy = Eddy::start(&data, &["--config", config.to_str().unwrap()]).await;
    let show = eddy.client.show_hub("fromconfig").await.unwrap();
    assert_eq!(
        show["partition_count"], 3,
        "hubs from the config file are created"
    );
    // The file's batch limit is in force.
    let r = eddy
        .client
        .send(
            "fromconfig",
            &serde_json::from_value(json!({"events": [{"body": "x".repeat(3000)}]})).unwrap(),
        )
        .await;
    assert!(r.unwrap_err().to_string().contains("2048"));
    // Lazy fsync with an hour-long interval: only a graceful shutdown makes these durable.
    for i in 0..20 {
        eddy.client
            .send(
                "fromconfig",
                &serde_json::from_value(json!({"events": [{"body": format!("e{i}")}]})).unwrap(),
            )
            .await
            .unwrap();
    }
    assert_eq!(eddy.terminate(), Some(0));
    let eddy = Eddy::start(&data, &[]).await;
    assert_eq!(read_all(&eddy.client, "fromconfig").await.len(), 20);
}

#[tokio::test]
async fn simulator_sends_the_seed_schema_with_routing_properties() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = Eddy::start(dir.path(), &[]).await;
    eddy.client
        .create_hub("iot", &json!({"partitions": 2}))
        .await
        .unwrap();
    let out = stdout(&eddy.cli(&[
        "simulate",
        "iot",
        "--rate",
        "200",
        "--max-events",
        "250",
        "--batch-size",
        "50",
        "--table",
        "TestTable",
        "--report-secs",
        "1",
    ]));
    assert!(out.contains("simulated 250 events"), "{out}");
    // The periodic report prints even when output is piped: a header and at least
    // one line of incoming messages, bytes and throttled requests.
    assert!(out.contains("incoming_messages"), "{out}");
    let report_lines = out
        .lines()
        .filter(|l| l.starts_with("20") && l.split_whitespace().count() == 4);
    assert!(report_lines.count() >= 1, "{out}");
    let events = read_all(&eddy.client, "iot").await;
    assert_eq!(events.len(), 250);
    let e = &events[0];
    assert_eq!(e.properties["Table"], "TestTable");
    assert_eq!(e.properties["IngestionMappingReference"], "TestMapping");
    assert_eq!(e.properties["Format"], "json");
    let body: Value = serde_json::from_str(e.body.as_deref().unwrap()).unwrap();
    assert!(body["temperature"].is_number() && body["iotdevice"].is_string());

    eddy.client
        .create_hub("sas", &json!({"partitions": 1}))
        .await
        .unwrap();
    stdout(&eddy.cli(&[
        "simulate",
        "sas",
        "--schema",
        "sas",
        "--rate",
        "5000",
        "--max-events",
        "2000",
        "--duplicates",
        "0.05",
    ]));
    let events = read_all(&eddy.client, "sas").await;
    assert_eq!(events.len(), 2000);
    let ids: std::collections::HashSet<String> = events
        .iter()
        .map(|e| {
            serde_json::from_str::<Value>(e.body.as_deref().unwrap()).unwrap()["eventId"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let dups = 2000 - ids.len();
    assert!(
        (30..=200).contains(&dups),
        "about 5% duplicates, got {dups}"
    );
}

/// The server turns transparent huge pages off for itself unless the config allows
/// them (Linux shows the process's setting in /proc/PID/status).
#[tokio::test]
async fn transparent_huge_pages_are_off_unless_configured() {
    let thp = |eddy: &Eddy| {
        let status = std::fs::read_to_string(format!("/proc/{}/status", eddy.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("THP_enabled:"))
            .map(|v| v.trim().to_string())
    };
    let dir = tempfile::tempdir().unwrap();
    let mut eddy = Eddy::start(dir.path(), &[]).await;
    let Some(off) = thp(&eddy) else {
        // A kernel without the field (before 5.0) cannot show it.
        return;
    };
    assert_eq!(off, "0");
    assert_eq!(eddy.terminate(), Some(0));
    let mut eddy =
        Eddy::start_env(dir.path(), &[], &[("EDDY_TRANSPARENT_HUGE_PAGES", "true")]).await;
    assert_eq!(thp(&eddy).as_deref(), Some("1"));
    assert_eq!(eddy.terminate(), Some(0));
}
