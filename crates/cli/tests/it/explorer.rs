//! The explorer through the real binary: the seed's ADX steps verbatim via `eddy query`,
//! kill -9 before sealing, query errors with a caret, and Python deltalake / Polars
//! reading the Delta table Eddy wrote.

use std::time::Duration;

use crate::support::{stdout, Eddy, EDDY};

const SEED_TABLE: &str = ".create table TestTable (TimeStamp: datetime, Temperature: float, Humidity: float, IoTDevice: string)";
const SEED_MAPPING: &str = r#".create table TestTable ingestion json mapping 'TestMapping' '[{"column":"TimeStamp","Properties":{"Path":"$.timestamp"}},{"column":"Temperature","Properties":{"Path":"$.temperature"}},{"column":"Humidity","Properties":{"Path":"$.humidity"}},{"column":"IoTDevice","Properties":{"Path":"$.iotdevice"}}]'"#;
const SEED_POLICY: &str = r#".alter table TestTable policy ingestionbatching @'{"MaximumBatchingTimeSpan":"00:00:30", "MaximumNumberOfItems": 500, "MaximumRawDataSizeMB": 1024}'"#;

fn lines(n: usize, offset: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                r#"{{"timestamp":"2024-05-01T10:{:02}:00Z","temperature":{}.5,"humidity":50,"iotdevice":"device{}"}}"#,
                (i + offset) % 60,
                20 + i % 10,
                (i + offset) % 3
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ok(eddy: &Eddy, args: &[&str]) -> String {
    let out = eddy.cli(args);
    assert!(
        out.status.success(),
        "eddy {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
}

fn query_json(eddy: &Eddy, q: &str) -> Vec<serde_json::Value> {
    ok(eddy, &["query", "--format", "json", q])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn seed_adx_steps_verbatim_then_kill_9_before_sealing() {
    let dir = tempfile::tempdir().unwrap();
    let mut eddy = Eddy::start(dir.path(), &[]).await;
    let created = ok(&eddy, &["query", SEED_TABLE]);
    assert!(
        created.contains("TimeStamp:datetime, Temperature:real, Humidity:real, IoTDevice:string"),
        "{created}"
    );
    ok(&eddy, &["query", SEED_MAPPING]);
    let policy = ok(&eddy, &["query", SEED_POLICY]);
    assert!(
        policy.contains("IngestionBatchingPolicy") && policy.contains("00:00:30"),
        "{policy}"
    );
    let ingest = format!(".ingest inline into table TestTable with (format=json, ingestionMappingReference='TestMapping') <|\n{}", lines(10, 0));
    ok(&eddy, &["query", &ingest]);
    let rows = query_json(&eddy, "TestTable | order by TimeStamp asc");
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[0]["IoTDevice"], "device0");
    assert_eq!(rows[0]["TimeStamp"], "2024-05-01T10:00:00.0000000Z");
    assert_eq!(rows[0]["Temperature"], 20.5);
    let table = ok(
        &eddy,
        &[
            "query",
            "TestTable | summarize count() by IoTDevice | order by IoTDevice asc",
        ],
    );
    assert!(
        table.contains("IoTDevice  count_") && table.contains("device0    4"),
        "{table}"
    );

    // The 30 s batch has not sealed: the rows exist only in the WAL. kill -9 now.
    let extents = query_json(&eddy, ".show table TestTable extents");
    assert!(extents.is_empty(), "nothing sealed yet: {extents:?}");
    eddy.kill9();
    let eddy = Eddy::start(dir.path(), &[]).await;
    let rows = query_json(
        &eddy,
        "TestTable | summarize n = count(), d = dcount(TimeStamp)",
    );
    assert_eq!(
        rows,
        vec![serde_json::json!({"n": 10, "d": 10})],
        "every acknowledged row once"
    );
}

#[tokio::test]
async fn errors_show_a_caret_and_embedded_mode_works() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = Eddy::start(dir.path(), &[]).await;
    ok(&eddy, &["query", ".create table T (a:long)"]);
    let out = eddy.cli(&["query", "T\n| whre a > 1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown operator 'whre'") && err.contains("(line 2, column 3)"),
        "{err}"
    );
    assert!(
        err.contains("  | whre a > 1\n    ^"),
        "caret under the operator: {err}"
    );
    // Over Kusto REST: bad bodies and bad queries get Kusto's error JSON.
    let http = reqwest::Client::new();
    for (path, body) in [
        ("/v1/rest/query", r#"{"csl": 5}"#.to_string()),
        (
            "/v2/rest/query",
            r#"{"db":"NetDefaultDB","csl":"T | whre a"}"#.to_string(),
        ),
        (
            "/v1/rest/mgmt",
            r#"{"db":"Nope","csl":".show tables"}"#.to_string(),
        ),
    ] {
        let resp = http
            .post(format!("{}{path}", eddy.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let v: serde_json::Value = resp.json().await.unwrap();
        assert!((400..500).contains(&status), "{path}: {status} {v}");
        assert!(
            v["error"]["@message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{path}: {v}"
        );
    }
    ok(&eddy, &["query", ".ingest inline into table T <|\n1\n2"]);
    let csv = ok(&eddy, &["query", "--format", "csv", "T | order by a asc"]);
    assert_eq!(csv, "a\n1\n2\n");
    drop(eddy);

    // Embedded: the same data directory without a server.
    let other = tempfile::tempdir().unwrap();
    let run = |q: &str| {
        let out = std::process::Command::new(EDDY)
            .args(["query", "--data-dir"])
            .arg(other.path())
            .arg(q)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout(&out)
    };
    run(".create table E (s:string)");
    run(".ingest inline into table E <|\nhello");
    assert!(run("E").contains("hello"));

    // The prompt: a trailing backslash continues a line; entries go to the history file.
    use std::io::Write;
    let mut child = std::process::Command::new(EDDY)
        .args(["query", "--data-dir"])
        .arg(other.path())
        .env("HOME", other.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"E\\\n| count\nprint x = 41 + 1\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("Count\n-----\n1\n") && text.contains("x\n--\n42\n"),
        "{text}"
    );
    let history = std::fs::read_to_string(other.path().join(".eddy_history")).unwrap();
    assert!(history.contains("print x = 41 + 1"), "{history}");
}

fn python_has(modules: &str) -> bool {
    std::process::Command::new(crate::support::python())
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test]
async fn python_deltalake_and_polars_read_the_table() {
    assert!(
        python_has("deltalake, polars, pyarrow"),
        "pip install deltalake pyarrow polars (./test.sh does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let eddy = Eddy::start(dir.path(), &[]).await;
    ok(&eddy, &["query", SEED_TABLE]);
    ok(&eddy, &["query", SEED_MAPPING]);
    ok(
        &eddy,
        &[
            "query",
            r#".alter table TestTable policy ingestionbatching '{"MaximumNumberOfItems": 2}'"#,
        ],
    );
    for offset in [0, 7] {
        let ingest = format!(".ingest inline into table TestTable with (format=json, ingestionMappingReference='TestMapping') <|\n{}", lines(7, offset));
        ok(&eddy, &["query", &ingest]);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while query_json(&eddy, ".show table TestTable extents").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the batch never sealed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let eddy_rows = ok(
        &eddy,
        &[
            "query",
            "--format",
            "csv",
            "TestTable | order by TimeStamp asc | project IoTDevice, Temperature",
        ],
    );
    let path = dir.path().join("explorer/NetDefaultDB/TestTable");
    let script = format!(
        r#"
import deltalake, polars as pl
p = {path:?}
t = deltalake.DeltaTable(p)
proto = t.protocol()
assert (proto.min_reader_version, proto.min_writer_version) == (1, 2), proto
a = t.to_pyarrow_table().sort_by("TimeStamp")
assert str(a.schema.field("TimeStamp").type) == "timestamp[us, tz=UTC]", a.schema
df = pl.read_delta(p).sort("TimeStamp")
assert df.height == a.num_rows
print("IoTDevice,Temperature")
for d, v in zip(df["IoTDevice"], df["Temperature"]):
    print(f"{{d}},{{v}}")
"#,
        path = path.display().to_string()
    );
    let out = std::process::Command::new(crate::support::python())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), eddy_rows);
    assert_eq!(eddy_rows.lines().count(), 15);
}
