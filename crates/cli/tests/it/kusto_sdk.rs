//! The Kusto REST API against `eddy serve`: the Kusto SDKs (azure-kusto-data,
//! azure-kusto-ingest) from Python, and the protocol details they rely on over raw HTTP.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::support::{run_python, Eddy};

#[tokio::test]
async fn kusto_data_queries_commands_types_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = Eddy::start(dir.path(), &[]).await;
    let out = run_python("kusto_query.py", &[&eddy.url]);
    assert!(out.trim_end().ends_with("ok"), "{out}");
}

#[tokio::test]
async fn streaming_ingest_clients_land_rows_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let eddy = Eddy::start(dir.path(), &[]).await;
    let out = run_python(
        "kusto_streaming.py",
        &[&eddy.url, work.path().to_str().unwrap()],
    );
    assert!(out.trim_end().ends_with("ok"), "{out}");
}

async fn post(url: &str, path: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{url}{path}"))
        .header("x-ms-client-request-id", "test;42")
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn headers_properties_and_the_v1_table_of_contents() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = Eddy::start(dir.path(), &[]).await;
    let resp = post(
        &eddy.url,
        "/v1/rest/query",
        json!({"db": "NetDefaultDB", "csl": "print a = 1; print b = 2 | as B",
               "properties": "{\"Options\": {\"servertimeout\": \"00:01:00\"}}"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-ms-client-request-id"], "test;42");
    assert!(resp.headers().contains_key("x-ms-activity-id"));
    let body: Value = resp.json().await.unwrap();
    let tables = body["Tables"].as_array().unwrap();
    assert_eq!(tables.len(), 5, "two results, properties, status, contents");
    let toc: Vec<(String, String)> = tables[4]["Rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[1].as_str().unwrap().into(), r[2].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        toc,
        [
            ("QueryResult", "PrimaryResult"),
            ("QueryResult", "B"),
            ("QueryProperties", "@ExtendedProperties"),
            ("QueryStatus", "QueryStatus"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(tables[1]["Rows"], json!([[2]]));

    // Properties as an object work the same as the string form; bad ones are a 400.
    let resp = post(
        &eddy.url,
        "/v2/rest/query",
        json!({"csl": "print a = 1", "properties": {"Options": {"truncationmaxrecords": 0}}}),
    )
    .await;
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.unwrap();
    assert!(err["error"]["@message"]
        .as_str()
        .unwrap()
        .contains("truncationmaxrecords"));

    // Unknown database: 404 with Kusto's error body.
    let resp = post(
        &eddy.url,
        "/v1/rest/mgmt",
        json!({"db": "Nope", "csl": ".show tables"}),
    )
    .await;
    assert_eq!(resp.status(), 404);
    let err: Value = resp.json().await.unwrap();
    assert!(err["error"]["@message"].as_str().unwrap().contains("Nope"));
}

#[tokio::test]
async fn concurrency_and_size_limits_answer_429_and_413() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = Eddy::start_env(
        dir.path(),
        &[],
        &[
            ("EDDY_KUSTO_MAX_CONCURRENT_REQUESTS", "1"),
            ("EDDY_KUSTO_MAX_REQUEST_BYTES", "1000"),
            ("EDDY_KUSTO_STREAMING_INGEST_MAX_BYTES", "2000"),
        ],
    )
    .await;
    let big = "x".repeat(2000);
    let resp = post(
        &eddy.url,
        "/v2/rest/query",
        json!({"csl": format!("print '{big}'")}),
    )
    .await;
    assert_eq!(resp.status(), 413);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["@permanent"], true);

    post(
        &eddy.url,
        "/v1/rest/mgmt",
        json!({"csl": ".create table T (s: string)"}),
    )
    .await;
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/v1/rest/ingest/NetDefaultDB/T?streamFormat=csv",
            eddy.url
        ))
        .body(format!("{}\n", "y".repeat(3000)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);

    // One request holds the only slot while its body is still arriving.
    let addr = eddy.url.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(
        b"POST /v2/rest/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"csl\":",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resp = post(&eddy.url, "/v2/rest/query", json!({"csl": "print 1"})).await;
    assert_eq!(resp.status(), 429);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["@permanent"], false);
    assert!(err["error"]["@message"]
        .as_str()
        .unwrap()
        .contains("throttled"));

    drop(slow);
    let mut ok = false;
    for _ in 0..50 {
        if post(&eddy.url, "/v2/rest/query", json!({"csl": "print 1"}))
            .await
            .status()
            == 200
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "the slot frees when the slow request goes away");
}

#[tokio::test]
async fn queued_ingest_client_through_azurite_reports_status() {
    let azurite = crate::support::Azurite::start();
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let eddy = Eddy::start_env(
        dir.path(),
        &[],
        &[
            (
                "EDDY_KUSTO_INGEST_STORAGE",
                azurite.connection_string.as_str(),
            ),
            ("EDDY_KUSTO_INGEST_POLL_MS", "200"),
        ],
    )
    .await;
    let out = run_python(
        "kusto_queued.py",
        &[&eddy.url, work.path().to_str().unwrap()],
    );
    assert!(out.trim_end().ends_with("ok"), "{out}");
}

/// Polls `.show operations <id>` until the operation leaves InProgress.
async fn finished_operation(url: &str, id: &str) -> (String, String) {
    for _ in 0..200 {
        let resp = post(
            url,
            "/v1/rest/mgmt",
            json!({"csl": format!(".show operations {id}")}),
        )
        .await;
        let body: Value = resp.json().await.unwrap();
        let row = &body["Tables"][0]["Rows"][0];
        let state = row[6].as_str().unwrap_or("").to_string();
        if !state.is_empty() && state != "InProgress" {
            return (state, row[7].as_str().unwrap().to_string());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("operation {id} did not finish");
}

#[tokio::test]
async fn one_call_ingests_many_sources_and_reports_an_operation() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let eddy = Eddy::start(dir.path(), &[]).await;
    post(
        &eddy.url,
        "/v1/rest/mgmt",
        json!({"csl": ".create table T (n: long, s: string)"}),
    )
    .await;
    let mut sources = vec![];
    for i in 0..3 {
        let p = files.path().join(format!("part{i}.csv"));
        std::fs::write(&p, format!("{i},a\n{i},b\n")).unwrap();
        sources.push(p.display().to_string());
    }
    let resp = post(
        &eddy.url,
        "/v1/rest/ingest-batch/NetDefaultDB/T",
        json!({"sources": sources}),
    )
    .await;
    assert_eq!(resp.status(), 202);
    let body: Value = resp.json().await.unwrap();
    let id = body["OperationId"].as_str().unwrap().to_string();
    let (state, status) = finished_operation(&eddy.url, &id).await;
    assert_eq!(state, "Completed", "{status}");
    assert!(status.starts_with("3 of 3 sources: 6 rows"), "{status}");

    // A missing file fails alone; the rest land and the operation says which failed.
    sources.push(files.path().join("missing.csv").display().to_string());
    let resp = post(
        &eddy.url,
        "/v1/rest/ingest-batch/NetDefaultDB/T",
        json!({"sources": sources, "format": "csv"}),
    )
    .await;
    let body: Value = resp.json().await.unwrap();
    let (state, status) =
        finished_operation(&eddy.url, body["OperationId"].as_str().unwrap()).await;
    assert_eq!(state, "PartiallySucceeded", "{status}");
    assert!(
        status.contains("1 sources failed") && status.contains("missing.csv"),
        "{status}"
    );
    let resp = post(&eddy.url, "/v2/rest/query", json!({"csl": "T | count"})).await;
    let frames: Value = resp.json().await.unwrap();
    assert_eq!(frames[2]["Rows"], json!([[12]]));

    // Requests that cannot work fail at once.
    let resp = post(
        &eddy.url,
        "/v1/rest/ingest-batch/NetDefaultDB/Nope",
        json!({"sources": ["x.csv"]}),
    )
    .await;
    assert_eq!(resp.status(), 404);
    let resp = post(
        &eddy.url,
        "/v1/rest/ingest-batch/NetDefaultDB/T",
        json!({"sources": []}),
    )
    .await;
    assert_eq!(resp.status(), 400);
    let resp = post(
        &eddy.url,
        "/v1/rest/ingest-batch/NetDefaultDB/T",
        json!({"sources": ["a"], "format": "xml"}),
    )
    .await;
    assert_eq!(resp.status(), 400);
}
