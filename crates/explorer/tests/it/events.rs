//! Event batches (what data connections ingest): per-event failures, system properties,
//! and source positions that are durable with the rows — in the WAL before sealing,
//! in the Delta log after — so a reader resuming from them neither loses nor repeats.

use bytes::Bytes;
use eddy_explorer::connections::EventBatch;
use eddy_explorer::ingest::events::EventRecord;
use eddy_explorer::ingest::Format;
use eddy_explorer::{Explorer, DEFAULT_DATABASE};
use serde_json::json;

use crate::support::Env;

fn record(body: &str, seq: u64, system: &[(&str, serde_json::Value)]) -> EventRecord {
    EventRecord {
        body: Bytes::from(body.to_string()),
        system: system
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        position: format!("partition 0 sequence {seq}"),
    }
}

fn batch(events: Vec<EventRecord>, format: Format, mapping: Option<&str>, upto: i64) -> EventBatch {
    EventBatch {
        db: DEFAULT_DATABASE.into(),
        table: "E".into(),
        format,
        mapping: mapping.map(str::to_string),
        events,
        sources: vec![("conn/0".into(), upto)],
        seal: false,
    }
}

async fn rows(x: &Explorer, q: &str) -> Vec<Vec<serde_json::Value>> {
    x.execute(DEFAULT_DATABASE, q).await.unwrap().remove(0).rows
}

#[tokio::test]
async fn events_land_with_their_positions_across_crashes_and_seals() {
    let env = Env::new().await;
    env.run(".create table E (v: long, seq: long, w: string)")
        .await;
    env.run(r#".create table E ingestion json mapping 'J' '[{"column":"v","path":"$.v"},{"column":"seq","path":"$.x-opt-sequence-number"}]'"#).await;
    env.run(r#".create table E ingestion csv mapping 'C' '[{"column":"seq","Ordinal":0},{"column":"w","Ordinal":1},{"column":"v","Ordinal":2}]'"#).await;
    let x = &env.explorer;
    let seqp = |s: u64| [("x-opt-sequence-number", json!(s))];
    // A multi-record event gets the system properties on its first record only; a bad
    // line fails alone, named by its event.
    let out = x
        .ingest_events(batch(
            vec![
                record("{\"v\":1}\n{\"v\":2}", 10, &seqp(10)),
                record("{\"v\":3}\n{oops", 11, &seqp(11)),
            ],
            Format::Json,
            Some("J"),
            11,
        ))
        .await
        .unwrap();
    assert_eq!(out.rows, 3);
    assert_eq!(out.failures.len(), 1);
    assert_eq!(out.failures[0].0, 1);
    assert_eq!(
        out.failures[0].1.position,
        "partition 0 sequence 11, line 2"
    );
    // Delimited: system properties are the first fields of the first record.
    x.ingest_events(batch(
        vec![record("a,7\nb,8", 12, &seqp(12))],
        Format::Csv(b','),
        Some("C"),
        12,
    ))
    .await
    .unwrap();
    let t = x.table(DEFAULT_DATABASE, "E").unwrap();
    assert_eq!(t.source_position("conn/0").await.unwrap(), Some(12));
    assert_eq!(t.source_position("other").await.unwrap(), None);
    let expect = vec![
        vec![json!(1), json!(10), json!("")],
        vec![json!(2), json!(null), json!("")],
        vec![json!(3), json!(11), json!("")],
        vec![json!(7), json!(12), json!("a")],
    ];
    assert_eq!(rows(x, "E | order by v asc").await, expect);
    // The second CSV record has no system fields, so it is one field short of the
    // mapping and fails on its own.
    let csv = x
        .ingest_events(batch(
            vec![record(
                "c,9
d,10",
                13,
                &seqp(13),
            )],
            Format::Csv(b','),
            Some("C"),
            13,
        ))
        .await
        .unwrap();
    assert_eq!((csv.rows, csv.failures.len()), (1, 1));
    assert_eq!(csv.failures[0].1.code, "BadRequest_CsvFieldCount");

    // Crash before sealing: rows and positions come back from the WAL.
    let dir = env.dir.path().to_path_buf();
    drop(env.explorer);
    let x = Explorer::open(&dir).await.unwrap();
    let t = x.table(DEFAULT_DATABASE, "E").unwrap();
    assert_eq!(t.source_position("conn/0").await.unwrap(), Some(13));
    assert_eq!(rows(&x, "E | count").await, vec![vec![json!(5)]]);
    // Sealed: the position moves into the Delta commit with the rows.
    x.seal_all().await.unwrap();
    drop(x);
    let x = Explorer::open(&dir).await.unwrap();
    let t = x.table(DEFAULT_DATABASE, "E").unwrap();
    assert_eq!(t.source_position("conn/0").await.unwrap(), Some(13));
    assert!(
        std::fs::read_dir(dir.join("explorer/NetDefaultDB/E/_delta_log"))
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
            .any(|log| log.contains(r#""appId":"conn/0","version":13"#))
    );
    // A batch naming an unknown mapping is refused as a whole (nothing appended).
    let err = x
        .ingest_events(EventBatch {
            mapping: Some("Nope".into()),
            ..batch(vec![record("{}", 14, &[])], Format::Json, None, 14)
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Nope"), "{err}");
    assert_eq!(t.source_position("conn/0").await.unwrap(), Some(13));
}
