//! The Kafka endpoint against real clients: kcat (librdkafka), confluent-kafka and
//! kafka-python, and across protocols (HTTP in, Kafka out; Kafka in, table out).

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{run_node, run_python, run_with_stdin, stdout, Eddy};

/// Starts Eddy with a short first-rebalance delay and creates `hubs` (4 partitions).
async fn start(dir: &std::path::Path, hubs: &[&str]) -> Eddy {
    let env = [("EDDY_KAFKA_INITIAL_REBALANCE_DELAY_MS", "300")];
    let eddy = Eddy::start_env(dir, &[], &env).await;
    eddy.create_hubs(hubs, 4).await
}

/// Runs kcat (.ci/run installs it from Debian) and returns its stdout.
fn kcat(args: &[&str], stdin: Option<&str>) -> String {
    let mut cmd = Command::new("kcat");
    cmd.args(args);
    let out = run_with_stdin(cmd, stdin);
    assert!(
        out.status.success(),
        "kcat {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `partition|offset|key|value|headers` lines of everything in `topic`.
pub(crate) fn kcat_read_all(bootstrap: &str, topic: &str) -> Vec<Vec<String>> {
    kcat(
        &[
            "-b",
            bootstrap,
            "-C",
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            "%p|%o|%k|%s|%h\n",
        ],
        None,
    )
    .lines()
    .map(|l| l.split('|').map(String::from).collect())
    .collect()
}

#[tokio::test]
async fn kcat_lists_produces_and_consumes_keyed_messages_with_headers() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = start(dir.path(), &["telemetry", "other"]).await;
    let listing = kcat(&["-b", &eddy.kafka, "-L"], None);
    assert!(
        listing.contains("topic \"telemetry\" with 4 partitions"),
        "{listing}"
    );
    assert!(
        listing.contains("topic \"other\" with 4 partitions"),
        "{listing}"
    );
    assert!(
        listing.contains(&format!("broker 0 at {}", eddy.kafka)),
        "{listing}"
    );

    let input: String = (0..10_000)
        .map(|i| format!("device-{}:{{\"i\":{i}}}\n", i % 97))
        .collect();
    kcat(
        &[
            "-b",
            &eddy.kafka,
            "-P",
            "-t",
            "telemetry",
            "-K:",
            "-H",
            "app=kcat",
            "-H",
            "Table=TestTable",
        ],
        Some(&input),
    );
    let rows = kcat_read_all(&eddy.kafka, "telemetry");
    assert_eq!(rows.len(), 10_000);
    let mut per_partition: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
    let mut partition_of_key: BTreeMap<String, String> = BTreeMap::new();
    for r in &rows {
        let i: u64 = r[3]
            .trim_start_matches("{\"i\":")
            .trim_end_matches('}')
            .parse()
            .unwrap();
        assert_eq!(r[2], format!("device-{}", i % 97), "key kept: {r:?}");
        assert_eq!(
            r[4], "app=kcat,Table=TestTable",
            "headers kept in order: {r:?}"
        );
        // One key, one partition (the client's partitioner chose it).
        let p = partition_of_key.entry(r[2].clone()).or_insert(r[0].clone());
        assert_eq!(*p, r[0]);
        per_partition
            .entry(r[0].clone())
            .or_default()
            .push((r[1].parse().unwrap(), i));
    }
    for (p, events) in &per_partition {
        // Offsets from 0 without gaps, in the order the producer sent.
        for (n, (offset, _)) in events.iter().enumerate() {
            assert_eq!(*offset, n as u64, "partition {p}");
        }
        assert!(
            events.windows(2).all(|w| w[0].1 < w[1].1),
            "order in partition {p}"
        );
    }
    assert_eq!(per_partition.len(), 4, "keys spread over all partitions");

    // SASL/PLAIN the Event Hubs way: user $ConnectionString, the connection string as
    // password (any credentials pass with authentication off).
    let sasl = kcat(
        &[
            "-b", &eddy.kafka, "-X", "security.protocol=SASL_PLAINTEXT", "-X",
            "sasl.mechanisms=PLAIN", "-X", "sasl.username=$ConnectionString", "-X",
            "sasl.password=Endpoint=sb://127.0.0.1;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true",
            "-C", "-t", "telemetry", "-p", "0", "-o", "beginning", "-c", "3", "-q", "-f", "%o\n",
        ],
        None,
    );
    assert_eq!(sasl, "0\n1\n2\n");

    // -G: a group reads everything once, commits, and a second run finds nothing new.
    let group = |extra: &str| {
        let out = Command::new("kcat")
            .args([
                "-b",
                &eddy.kafka,
                "-G",
                "readers",
                "-X",
                "auto.offset.reset=earliest",
                "-q",
                "-e",
                "-f",
                "%p|%o\n",
                "telemetry",
            ])
            .stderr(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{extra}");
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    assert_eq!(group("first run"), 10_000);
    let checkpoints = eddy
        .client
        .checkpoints("telemetry", "readers")
        .await
        .unwrap();
    let next: u64 = checkpoints
        .iter()
        .map(|c| c["sequence_number"].as_u64().unwrap() + 1)
        .sum();
    assert_eq!(
        next, 10_000,
        "the Kafka group's commits are hub checkpoints: {checkpoints:?}"
    );
    assert_eq!(group("second run"), 0);
}

#[tokio::test]
async fn confluent_kafka_idempotent_producer_and_a_rebalancing_group() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = start(dir.path(), &["cf-range", "cf-rr"]).await;
    let out = run_python("kafka_confluent.py", &[&eddy.kafka, "cf-range", "range"]);
    assert!(out.contains("split [[0, 1], [2, 3]]"), "{out}");
    assert!(out.trim_end().ends_with("ok"), "{out}");
    // The round-robin assignor, also computed by the client and relayed by Eddy.
    let out = run_python("kafka_confluent.py", &[&eddy.kafka, "cf-rr", "roundrobin"]);
    assert!(out.contains("split [[0, 2], [1, 3]]"), "{out}");
    assert!(out.trim_end().ends_with("ok"), "{out}");
}

#[tokio::test]
async fn kafka_python_with_default_settings_produces_and_consumes() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = start(dir.path(), &["kp"]).await;
    let out = run_python("kafka_python_defaults.py", &[&eddy.kafka, "kp"]);
    assert!(out.trim_end().ends_with("ok"), "{out}");
    let checkpoints = eddy.client.checkpoints("kp", "kp").await.unwrap();
    assert!(
        !checkpoints.is_empty(),
        "kafka-python's commit is a checkpoint"
    );
}

#[tokio::test]
async fn http_events_read_over_kafka_and_kafka_events_feed_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = start(dir.path(), &["telemetry"]).await;
    // HTTP in, Kafka out: properties become headers, the partition key the key.
    stdout(&eddy.cli(&[
        "send",
        "telemetry",
        "--partition-key",
        "dev-1",
        "-p",
        "Table=TestTable",
        "-p",
        "level:long=3",
        "-p",
        "ok:bool=true",
        r#"{"t":21.5}"#,
    ]));
    let rows = kcat_read_all(&eddy.kafka, "telemetry");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][2], "dev-1");
    assert_eq!(rows[0][3], r#"{"t":21.5}"#);
    assert_eq!(rows[0][4], "Table=TestTable,level=3,ok=true");

    // Kafka in, table out through a data connection.
    for cmd in [
        ".create table TestTable (Device: string, Temp: real)",
        r#".create table TestTable ingestion json mapping "m" '[{"column":"Device","path":"$.d"},{"column":"Temp","path":"$.t"}]'"#,
        ".alter table TestTable policy streamingingestion '{\"IsEnabled\": true}'",
        ".create data connection fromkafka with (hub='telemetry', table='TestTable', format='json', mapping='m', start='earliest')",
    ] {
        eddy.client.kusto("NetDefaultDB", cmd).await.unwrap();
    }
    let input: String = (0..300)
        .map(|i| format!("{{\"d\":\"k{}\",\"t\":{i}}}\n", i % 7))
        .collect();
    kcat(
        &["-b", &eddy.kafka, "-P", "-t", "telemetry", "-z", "gzip"],
        Some(&input),
    );
    let row = eddy
        .wait_for_row(
            "TestTable | where isnotempty(Device) | summarize n = count(), s = sum(Temp)",
            30,
            |row| row[0] == json!(300),
        )
        .await;
    assert_eq!(row[1], json!((0..300).sum::<i32>() as f64));
}

#[tokio::test]
async fn kafka_acknowledged_messages_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let acked_path = work.path().join("acked.txt");
    let mut eddy = start(dir.path(), &["crash"]).await;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python/kafka_acked_producer.py");
    let mut producer = Command::new(crate::support::python())
        .arg(&script)
        .args([eddy.kafka.as_str(), "crash", acked_path.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Let acknowledgements flow, then kill the server mid-stream.
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&acked_path).map_or(0, |s| s.lines().count()) < 5_000 {
        assert!(
            Instant::now() < deadline,
            "the producer is not being acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eddy.kill9();
    let _ = producer.kill();
    let _ = producer.wait();
    let acked: std::collections::BTreeSet<u64> = std::fs::read_to_string(&acked_path)
        .unwrap()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect();
    let eddy = Eddy::start(dir.path(), &[]).await;
    let stored: std::collections::BTreeSet<u64> = crate::support::read_all(&eddy.client, "crash")
        .await
        .into_iter()
        .map(|e| e.body.unwrap().parse().unwrap())
        .collect();
    let lost: Vec<_> = acked.difference(&stored).take(10).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged messages lost, e.g. {lost:?}",
        acked.len() - stored.len().min(acked.len())
    );
    assert!(acked.len() >= 5_000);
}

#[tokio::test]
async fn kafkajs_produces_and_consumes() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = start(dir.path(), &["kjs"]).await;
    run_node(
        "kafkajs_smoke.js",
        &[eddy.kafka.as_str(), "kjs"],
        &[("KAFKAJS_NO_PARTITIONER_WARNING", "1")],
    )
    .await;
}
