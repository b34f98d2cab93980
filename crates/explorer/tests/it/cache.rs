//! The hot cache (sealed rows decoded in memory): the same answers as the Delta files
//! through seals, compaction, retention and replacement; parts skipped by min/max; a
//! table over the memory budget read from its files. nextest runs each test in its own
//! process, so setting the budget here touches no other test.

use eddy_explorer::{table::cache, DEFAULT_DATABASE};
use serde_json::json;

use crate::support::Env;

async fn ingest_day(env: &Env, day: u32, v: i64) {
    env.run(&format!(
        ".ingest inline into table P <|\n2024-01-0{day}T01:00:00Z,{v}\n2024-01-0{day}T02:00:00Z,{v}"
    ))
    .await;
    env.explorer.seal_all().await.unwrap();
}

#[tokio::test]
async fn cached_rows_answer_like_the_files_and_filters_skip_parts() {
    cache::set_limit_bytes(64 << 20);
    let env = Env::new().await;
    env.run(".create table P (At:datetime, v:long)").await;
    for day in 1..=3 {
        ingest_day(&env, day, day as i64).await;
    }
    env.run(".ingest inline into table P <|\n2024-01-02T03:00:00Z,9")
        .await;
    let q = "P | where At >= datetime(2024-01-02) and At < datetime(2024-01-03) | summarize sum(v)";
    assert_eq!(env.rows(q).await, vec![vec![json!(13)]]);
    let plan = env
        .explorer
        .explain_analyze(DEFAULT_DATABASE, q)
        .await
        .unwrap();
    assert!(
        !plan.contains("count_files_scanned") && plan.contains("parts=1"),
        "the cache serves the sealed rows and keeps only the 2024-01-02 part:\n{plan}"
    );

    // A seal appends to the loaded cache; the answer moves with it.
    env.explorer.seal_all().await.unwrap();
    ingest_day(&env, 4, 100).await;
    assert_eq!(
        env.rows("P | summarize sum(v), count()").await,
        vec![vec![json!(221), json!(9)]]
    );

    // Compaction rewrites files, not rows: the cache stays and agrees.
    let t = env.explorer.table(DEFAULT_DATABASE, "P").unwrap();
    assert!(t.compact(2).await.unwrap().is_some(), "files were merged");
    assert_eq!(
        env.rows("P | summarize sum(v), count()").await,
        vec![vec![json!(221), json!(9)]]
    );

    // Replacing the rows drops the cache for a fresh load.
    env.run(".set-or-replace P <| datatable(At:datetime, v:long) [datetime(2024-02-01), 7]")
        .await;
    assert_eq!(
        env.rows("P | summarize sum(v), count()").await,
        vec![vec![json!(7), json!(1)]]
    );
}

#[tokio::test]
async fn a_table_over_the_budget_is_read_from_its_files() {
    cache::set_limit_bytes(1);
    let env = Env::new().await;
    env.run(".create table P (At:datetime, v:long)").await;
    for day in 1..=3 {
        ingest_day(&env, day, 1).await;
    }
    let q = "P | where At >= datetime(2024-01-02) and At < datetime(2024-01-03) | summarize sum(v)";
    assert_eq!(env.rows(q).await, vec![vec![json!(2)]]);
    let plan = env
        .explorer
        .explain_analyze(DEFAULT_DATABASE, q)
        .await
        .unwrap();
    assert!(plan.contains("count_files_scanned=1"), "{plan}");
}

#[tokio::test]
async fn top_reads_the_part_with_the_best_values_and_skips_the_others() {
    cache::set_limit_bytes(64 << 20);
    let env = Env::new().await;
    env.run(".create table P (At:datetime, v:long)").await;
    // Sealed one by one: four parts, the best values in the last.
    for day in 1..=4 {
        ingest_day(&env, day, day as i64 * 10).await;
    }
    let q = "P | top 2 by v desc";
    let rows = env.rows(q).await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r[1] == json!(40)), "{rows:?}");
    let plan = env
        .explorer
        .explain_analyze(DEFAULT_DATABASE, q)
        .await
        .unwrap();
    assert!(plan.contains("parts_skipped=3"), "{plan}");
}
