//! Durability: un-sealed rows come back from the WAL after a crash, sealed rows are not
//! doubled, and the sealed table is a plain Delta table (reader 1 / writer 2).

use eddy_explorer::{Explorer, DEFAULT_DATABASE};
use serde_json::json;

use crate::support::Env;

async fn count(x: &Explorer, table: &str) -> serde_json::Value {
    x.execute(DEFAULT_DATABASE, &format!("{table} | count"))
        .await
        .unwrap()
        .remove(0)
        .rows[0][0]
        .clone()
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[tokio::test]
async fn hot_rows_survive_a_crash_and_sealing_does_not_double_them() {
    let env = Env::new().await;
    env.run(".create table R (a:long, d:timespan, g:guid, y:dynamic)")
        .await;
    env.run(".ingest inline into table R <|\n1,01:00:00,6f9c2a5e-0000-4a8b-9c3d-1234567890ab,\"{\"\"k\"\":1}\"\n2,00:00:01.5,,").await;
    env.run(".ingest inline into table R <|\n3,,,[1]").await;
    let dir = env.dir.path().to_path_buf();
    // "Crash": drop the explorer without sealing; only the WAL has the rows.
    drop(env.explorer);
    let x = Explorer::open(&dir).await.unwrap();
    assert_eq!(count(&x, "R").await, json!(3));
    let rows = x
        .execute(DEFAULT_DATABASE, "R | order by a asc")
        .await
        .unwrap()
        .remove(0)
        .rows;
    assert_eq!(
        rows[0],
        vec![
            json!(1),
            json!("01:00:00"),
            json!("6f9c2a5e-0000-4a8b-9c3d-1234567890ab"),
            json!({"k": 1})
        ]
    );
    assert_eq!(rows[1][1], json!("00:00:01.5000000"));

    // Seal, but keep a copy of the WAL as it was before: a crash between the Delta
    // commit and the WAL release leaves exactly this on disk.
    let wal = dir.join("explorer/_wal/NetDefaultDB/R");
    let saved = dir.join("saved-wal");
    copy_dir(&wal, &saved);
    x.seal_all().await.unwrap();
    assert_eq!(count(&x, "R").await, json!(3));
    // Sealed timespans (stored as microseconds) and dynamics read back as they went in.
    let sealed = x
        .execute(
            DEFAULT_DATABASE,
            "R | where a <= 2 | order by a asc | project d, y",
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        sealed.rows,
        vec![
            vec![json!("01:00:00"), json!({"k": 1})],
            vec![json!("00:00:01.5000000"), json!(null)]
        ]
    );
    assert_eq!(sealed.columns[0].ty, eddy_kql::types::KustoType::Timespan);
    assert_eq!(sealed.columns[1].ty, eddy_kql::types::KustoType::Dynamic);
    drop(x);
    std::fs::remove_dir_all(&wal).unwrap();
    copy_dir(&saved, &wal);
    let x = Explorer::open(&dir).await.unwrap();
    assert_eq!(
        count(&x, "R").await,
        json!(3),
        "replay skips rows the Delta table already holds"
    );
    let extents = x
        .execute(DEFAULT_DATABASE, ".show table R extents")
        .await
        .unwrap()
        .remove(0);
    assert_eq!(extents.rows.len(), 1);
    assert_eq!(
        extents.rows[0][extents.column("RowCount").unwrap()],
        json!(3)
    );

    // More rows after the seal, then another crash: both parts present once.
    x.execute(DEFAULT_DATABASE, ".ingest inline into table R <|\n4,,,")
        .await
        .unwrap();
    drop(x);
    let x = Explorer::open(&dir).await.unwrap();
    assert_eq!(count(&x, "R").await, json!(4));
    assert_eq!(
        x.execute(DEFAULT_DATABASE, "R | summarize dcount(a)")
            .await
            .unwrap()[0]
            .rows[0][0],
        json!(4)
    );

    // The Delta log says protocol reader 1 / writer 2.
    let log = std::fs::read_to_string(
        dir.join("explorer/NetDefaultDB/R/_delta_log/00000000000000000000.json"),
    )
    .unwrap();
    assert!(
        log.contains(r#""minReaderVersion":1"#) && log.contains(r#""minWriterVersion":2"#),
        "{log}"
    );
}

#[tokio::test]
async fn batching_policy_seals_by_item_count_and_compaction_merges_files() {
    let env = Env::new().await;
    env.run(".create table B (a:long)").await;
    env.run(r#".alter table B policy ingestionbatching '{"MaximumNumberOfItems": 2}'"#)
        .await;
    env.run(".ingest inline into table B <|\n1").await;
    env.explorer.maintain().await;
    assert_eq!(
        env.rows(".show table B extents").await.len(),
        0,
        "one item is below the limit"
    );
    env.run(".ingest inline into table B <|\n2").await;
    env.explorer.maintain().await;
    assert_eq!(
        env.rows(".show table B extents").await.len(),
        1,
        "the second item seals the batch"
    );
    assert_eq!(env.rows("B | count").await, vec![vec![json!(2)]]);
    for i in 0..32 {
        env.run(&format!(".ingest inline into table B <|\n{i}"))
            .await;
        env.run(&format!(".ingest inline into table B <|\n{i}"))
            .await;
        env.explorer.maintain().await;
    }
    let extents = env.rows(".show table B extents").await.len();
    assert!(
        extents < 16,
        "compaction keeps the file count down, got {extents}"
    );
    assert_eq!(env.rows("B | count").await, vec![vec![json!(66)]]);
}

#[tokio::test]
async fn set_append_and_replace_from_queries() {
    let env = Env::new().await;
    env.run(".set Copy <| datatable(x:long, s:string) [1, 'a', 2, 'b']")
        .await;
    env.run(".append Copy <| datatable(x:long, s:string) [3, 'c']")
        .await;
    env.run(".set-or-append Copy <| Copy | where x == 1").await;
    assert_eq!(env.rows("Copy | count").await, vec![vec![json!(4)]]);
    env.run(".set-or-replace Copy <| datatable(x:long, s:string) [9, 'z']")
        .await;
    assert_eq!(env.rows("Copy").await, vec![vec![json!(9), json!("z")]]);
    let err = env
        .explorer
        .execute(DEFAULT_DATABASE, ".set Copy <| print 1")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("already exists"), "{err}");
    let err = env
        .explorer
        .execute(DEFAULT_DATABASE, ".append Copy <| print 1")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the query returns 1 columns but the table has 2"),
        "{err}"
    );
}

#[tokio::test]
async fn retention_removes_extents_older_than_the_soft_delete_period() {
    let env = Env::new().await;
    env.run(".create table Old (a:long)").await;
    env.run(".ingest inline into table Old <|\n1\n2").await;
    env.explorer.seal_all().await.unwrap();
    env.run(".ingest inline into table Old <|\n3").await;
    env.run(r#".alter table Old policy retention '{"SoftDeletePeriod": "1.00:00:00"}'"#)
        .await;
    // Nothing is a day old yet.
    assert_eq!(
        env.explorer
            .enforce_retention(chrono::Utc::now())
            .await
            .unwrap(),
        0
    );
    // Two days on, the sealed extent has expired; the hot row has not been sealed yet.
    let later = chrono::Utc::now() + chrono::Duration::days(2);
    assert_eq!(env.explorer.enforce_retention(later).await.unwrap(), 1);
    assert_eq!(env.rows("Old").await, vec![vec![json!(3)]]);
}

#[tokio::test]
async fn time_filters_prune_sealed_files_by_statistics() {
    // The Delta scan path: the hot cache is off (see cache.rs for its own pruning).
    eddy_explorer::table::cache::set_limit_bytes(0);
    let env = Env::new().await;
    env.run(".create table P (At:datetime, v:long)").await;
    for day in 1..=3 {
        env.run(&format!(".ingest inline into table P <|\n2024-01-0{day}T01:00:00Z,{day}\n2024-01-0{day}T02:00:00Z,{day}")).await;
        env.explorer.seal_all().await.unwrap();
    }
    env.run(".ingest inline into table P <|\n2024-01-02T03:00:00Z,9")
        .await;
    let q = "P | where At >= datetime(2024-01-02) and At < datetime(2024-01-03) | summarize sum(v)";
    assert_eq!(
        env.rows(q).await,
        vec![vec![json!(13)]],
        "sealed and hot rows together"
    );
    let plan = env
        .explorer
        .explain_analyze(DEFAULT_DATABASE, q)
        .await
        .unwrap();
    assert!(
        plan.contains("count_files_scanned=1"),
        "only the 2024-01-02 file is read:\n{plan}"
    );
}
