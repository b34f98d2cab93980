//! Helpers shared by the explorer tests.

use std::sync::Arc;

use eddy_explorer::{Explorer, ResultTable, DEFAULT_DATABASE};

pub struct Env {
    pub dir: tempfile::TempDir,
    pub explorer: Arc<Explorer>,
}

impl Env {
    pub async fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let explorer = Explorer::open(dir.path()).await.unwrap();
        Env { dir, explorer }
    }

    pub async fn run(&self, text: &str) -> ResultTable {
        match self.explorer.execute(DEFAULT_DATABASE, text).await {
            Ok(mut r) => r.remove(0),
            Err(e) => panic!("{text}\nfailed: {e}"),
        }
    }

    pub async fn rows(&self, text: &str) -> Vec<Vec<serde_json::Value>> {
        self.run(text).await.rows
    }
}
