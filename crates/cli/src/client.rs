//! A small typed client for Eddy's HTTP API, used by the CLI, the simulator, the
//! benchmark and the tests.

use anyhow::{bail, Context, Result};
use eddy_hub::{Ownership, OwnershipClaim};
use eddy_server::api::{CheckpointRequest, ReadResponse, SendRequest, SendResponse};
use serde::de::DeserializeOwned;
use serde_json::Value;

#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

/// An error the server answered with, kept apart so callers can react to the code.
#[derive(Debug)]
pub struct ServerError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} {})", self.message, self.status, self.code)
    }
}

impl std::error::Error for ServerError {}

impl Client {
    pub fn new(base: &str) -> Client {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .expect("HTTP client");
        Client {
            base: base.trim_end_matches('/').to_string(),
            http,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn decode<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T> {
        let resp = Self::check(resp).await?;
        let bytes = resp.bytes().await?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("unexpected response: {}", String::from_utf8_lossy(&bytes)))
    }

    async fn check(resp: reqwest::Response) -> Result<reqwest::Response> {
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let code = body["error"]["code"]
            .as_str()
            .unwrap_or("Error")
            .to_string();
        let message = body["error"]["message"]
            .as_str()
            .map(String::from)
            .unwrap_or(text);
        Err(ServerError {
            status,
            code,
            message,
        }
        .into())
    }

    fn send_err(&self, e: reqwest::Error) -> anyhow::Error {
        anyhow::anyhow!(
            "cannot reach Eddy at {}: {e} (is `eddy serve` running? set --url or EDDY_URL)",
            self.base
        )
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let resp = self
            .http
            .get(self.url(path))
            .send()
            .await
            .map_err(|e| self.send_err(e))?;
        Self::decode(resp).await
    }

    async fn post_json<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        let resp = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .map_err(|e| self.send_err(e))?;
        Self::decode(resp).await
    }

    /// Sends a body-less request and checks the status.
    async fn call(&self, method: reqwest::Method, path: &str) -> Result<()> {
        let resp = self
            .http
            .request(method, self.url(path))
            .send()
            .await
            .map_err(|e| self.send_err(e))?;
        Self::check(resp).await.map(|_| ())
    }

    /// Runs KQL or a management command through the Kusto v1 REST API.
    pub async fn kusto(&self, db: &str, csl: &str) -> Result<Vec<eddy_explorer::ResultTable>> {
        let path = if csl.trim_start().starts_with('.') {
            "/v1/rest/mgmt"
        } else {
            "/v1/rest/query"
        };
        let body: Value = self
            .post_json(path, &serde_json::json!({"db": db, "csl": csl}))
            .await?;
        let tables = body["Tables"]
            .as_array()
            .context("the response has no Tables")?;
        // A query's answer ends with a table of contents; keep only its query results,
        // named as the contents name them, and fail on a truncation it reports.
        let mut names: Vec<Option<String>> = vec![None; tables.len()];
        let mut tables: &[Value] = tables;
        if tables.len() >= 3 {
            let (toc, rest) = tables.split_last().expect("three tables");
            for row in toc["Rows"].as_array().into_iter().flatten() {
                let i = row[0].as_u64().unwrap_or(u64::MAX) as usize;
                if i < names.len() && row[1] == "QueryResult" {
                    names[i] = row[2].as_str().map(str::to_string);
                }
                if row[1] == "QueryStatus" {
                    let status = &rest[i]["Rows"];
                    for s in status.as_array().into_iter().flatten() {
                        if s[1].as_i64().is_some_and(|sev| sev < 4) {
                            bail!("{}", s[4].as_str().unwrap_or("the query failed"));
                        }
                    }
                }
            }
            tables = rest;
        } else {
            names.iter_mut().for_each(|n| *n = Some(String::new()));
        }
        let mut out = vec![];
        for (t, name) in tables.iter().zip(&names) {
            let Some(name) = name else { continue };
            let columns = t["Columns"]
                .as_array()
                .context("a table has no Columns")?
                .iter()
                .map(|c| eddy_kql::types::ColumnDef {
                    name: c["ColumnName"].as_str().unwrap_or("").to_string(),
                    ty: eddy_kql::types::KustoType::parse(
                        c["ColumnType"].as_str().unwrap_or("string"),
                    )
                    .unwrap_or(eddy_kql::types::KustoType::String),
                })
                .collect();
            let rows = t["Rows"]
                .as_array()
                .context("a table has no Rows")?
                .iter()
                .map(|r| r.as_array().cloned().unwrap_or_default())
                .collect();
            let mut table = eddy_explorer::ResultTable::new("", &[]);
            table.name = if name.is_empty() {
                t["TableName"].as_str().unwrap_or("").to_string()
            } else {
                name.clone()
            };
            table.columns = columns;
            table.rows = rows;
            out.push(table);
        }
        Ok(out)
    }

    pub async fn health(&self) -> Result<()> {
        self.call(reqwest::Method::GET, "/health").await
    }

    pub async fn create_hub(&self, name: &str, settings: &Value) -> Result<Value> {
        let resp = self
            .http
            .put(self.url(&format!("/api/hubs/{name}")))
            .json(settings)
            .send()
            .await
            .map_err(|e| self.send_err(e))?;
        Self::decode(resp).await
    }

    pub async fn list_hubs(&self) -> Result<Vec<Value>> {
        self.get("/api/hubs").await
    }

    pub async fn show_hub(&self, name: &str) -> Result<Value> {
        self.get(&format!("/api/hubs/{name}")).await
    }

    pub async fn delete_hub(&self, name: &str) -> Result<()> {
        self.call(reqwest::Method::DELETE, &format!("/api/hubs/{name}"))
            .await
    }

    pub async fn create_group(&self, hub: &str, group: &str) -> Result<()> {
        let path = format!("/api/hubs/{hub}/consumergroups/{group}");
        self.call(reqwest::Method::PUT, &path).await
    }

    pub async fn delete_group(&self, hub: &str, group: &str) -> Result<()> {
        let path = format!("/api/hubs/{hub}/consumergroups/{group}");
        self.call(reqwest::Method::DELETE, &path).await
    }

    pub async fn send(&self, hub: &str, req: &SendRequest) -> Result<SendResponse> {
        self.post_json(&format!("/api/hubs/{hub}/events"), req)
            .await
    }

    /// Sends a pre-serialized `SendRequest` body (the benchmark's hot path).
    pub async fn send_raw(&self, hub: &str, body: bytes::Bytes) -> Result<SendResponse> {
        let resp = self
            .http
            .post(self.url(&format!("/api/hubs/{hub}/events")))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| self.send_err(e))?;
        Self::decode(resp).await
    }

    pub async fn read(
        &self,
        hub: &str,
        partition: &str,
        from: &str,
        max: usize,
        wait_ms: u64,
    ) -> Result<ReadResponse> {
        let resp = self
            .http
            .get(self.url(&format!("/api/hubs/{hub}/partitions/{partition}/events")))
            .query(&[
                ("from", from.to_string()),
                ("max", max.to_string()),
                ("wait_ms", wait_ms.to_string()),
            ])
            .send()
            .await
            .map_err(|e| self.send_err(e))?;
        Self::decode(resp).await
    }

    pub async fn checkpoints(&self, hub: &str, group: &str) -> Result<Vec<Value>> {
        self.get(&format!(
            "/api/hubs/{hub}/consumergroups/{group}/checkpoints"
        ))
        .await
    }

    pub async fn set_checkpoint(
        &self,
        hub: &str,
        group: &str,
        partition: &str,
        seq: u64,
        offset: &str,
    ) -> Result<()> {
        let body = CheckpointRequest {
            sequence_number: seq,
            offset: Some(offset.to_string()),
        };
        let resp = self
            .http
            .put(self.url(&format!(
                "/api/hubs/{hub}/consumergroups/{group}/checkpoints/{partition}"
            )))
            .json(&body)
            .send()
            .await
            .map_err(|e| self.send_err(e))?;
        Self::check(resp).await.map(|_| ())
    }

    pub async fn ownership(&self, hub: &str, group: &str) -> Result<Vec<Ownership>> {
        self.get(&format!("/api/hubs/{hub}/consumergroups/{group}/ownership"))
            .await
    }

    pub async fn claim(
        &self,
        hub: &str,
        group: &str,
        claims: &[OwnershipClaim],
    ) -> Result<Vec<Ownership>> {
        self.post_json(
            &format!("/api/hubs/{hub}/consumergroups/{group}/ownership"),
            &claims,
        )
        .await
    }

    /// Waits until `/health` answers, up to `timeout`.
    pub async fn wait_ready(&self, timeout: std::time::Duration) -> Result<()> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.health().await.is_ok() {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                bail!(
                    "Eddy at {} did not become ready within {timeout:?}",
                    self.base
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
