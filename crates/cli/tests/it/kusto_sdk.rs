//! The Kusto SDKs (azure-kusto-data, azure-kusto-ingest) against `eddy serve`.

use crate::support::{run_python, Eddy};

#[tokio::test]
async fn kusto_data_queries_commands_types_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let eddy = Eddy::start(dir.path(), &[]).await;
    let out = run_python("kusto_query.py", &[&eddy.url]);
    assert!(out.trim_end().ends_with("ok"), "{out}");
}
