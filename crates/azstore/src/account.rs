//! A storage account from its connection string.

use base64::Engine;

use crate::queue::Queue;
use crate::{send, Result, StorageError};

/// Azurite's well-known development account.
const DEV_ACCOUNT: &str = "devstoreaccount1";
const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

#[derive(Clone)]
pub struct StorageAccount {
    pub name: String,
    key: Vec<u8>,
    pub blob_endpoint: String,
    pub queue_endpoint: String,
    pub table_endpoint: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for StorageAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageAccount")
            .field("name", &self.name)
            .field("blob_endpoint", &self.blob_endpoint)
            .field("queue_endpoint", &self.queue_endpoint)
            .finish_non_exhaustive()
    }
}

impl StorageAccount {
    /// Reads `AccountName=...;AccountKey=...;BlobEndpoint=...;QueueEndpoint=...` (or
    /// `DefaultEndpointsProtocol` + `EndpointSuffix`), or `UseDevelopmentStorage=true`
    /// for Azurite on 127.0.0.1:10000-10002.
    pub fn from_connection_string(text: &str) -> Result<StorageAccount> {
        let mut fields = std::collections::HashMap::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((k, v)) = part.split_once('=') else {
                return Err(StorageError::ConnectionString(format!(
                    "'{part}' is not key=value"
                )));
            };
            fields.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
        let get = |k: &str| fields.get(k).cloned();
        let dev = get("usedevelopmentstorage").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let name = get("accountname").or_else(|| dev.then(|| DEV_ACCOUNT.into()));
        let key = get("accountkey").or_else(|| dev.then(|| DEV_KEY.into()));
        let (Some(name), Some(key)) = (name, key) else {
            return Err(StorageError::ConnectionString(
                "AccountName and AccountKey are required (or UseDevelopmentStorage=true)".into(),
            ));
        };
        let key = base64::engine::general_purpose::STANDARD
            .decode(&key)
            .map_err(|e| {
                StorageError::ConnectionString(format!("AccountKey is not base64: {e}"))
            })?;
        let endpoint = |service: &str, dev_port: u16| -> String {
            if let Some(e) = get(&format!("{service}endpoint")) {
                return e.trim_end_matches('/').to_string();
            }
            if dev {
                return format!("http://127.0.0.1:{dev_port}/{name}");
            }
            let protocol = get("defaultendpointsprotocol").unwrap_or_else(|| "https".into());
            let suffix = get("endpointsuffix").unwrap_or_else(|| "core.windows.net".into());
            format!("{protocol}://{name}.{service}.{suffix}")
        };
        Ok(StorageAccount {
            blob_endpoint: endpoint("blob", 10000),
            queue_endpoint: endpoint("queue", 10001),
            table_endpoint: endpoint("table", 10002),
            name,
            key,
            http: reqwest::Client::new(),
        })
    }

    /// An account SAS (query string, no `?`) for blobs, queues and tables, valid for
    /// `days` days.
    pub fn sas(&self, days: i64) -> String {
        let expiry = chrono::Utc::now() + chrono::Duration::days(days);
        crate::sas::account_sas(&self.name, &self.key, expiry)
    }

    /// A queue of this account, authorized by `sas`.
    pub fn queue(&self, name: &str, sas: &str) -> Queue {
        Queue::new(
            self.http.clone(),
            format!("{}/{name}", self.queue_endpoint),
            sas.to_string(),
        )
    }

    /// Creates a blob container; an existing one is fine.
    pub async fn create_container(&self, name: &str, sas: &str) -> Result<()> {
        let url = format!("{}/{name}?restype=container&{sas}", self.blob_endpoint);
        send(
            self.http.put(url),
            &format!("create container {name}"),
            &[409],
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings() {
        let dev = StorageAccount::from_connection_string("UseDevelopmentStorage=true").unwrap();
        assert_eq!(dev.name, "devstoreaccount1");
        assert_eq!(
            dev.queue_endpoint,
            "http://127.0.0.1:10001/devstoreaccount1"
        );
        let explicit = StorageAccount::from_connection_string(
            "DefaultEndpointsProtocol=http;AccountName=acc;AccountKey=a2V5;BlobEndpoint=http://h:1/acc/;QueueEndpoint=http://h:2/acc",
        )
        .unwrap();
        assert_eq!(explicit.blob_endpoint, "http://h:1/acc");
        assert_eq!(explicit.table_endpoint, "http://acc.table.core.windows.net");
        assert!(StorageAccount::from_connection_string("AccountName=x").is_err());
        assert!(StorageAccount::from_connection_string("AccountName=x;AccountKey=!!").is_err());
        assert!(StorageAccount::from_connection_string("garbage").is_err());
    }
}
