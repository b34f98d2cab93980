//! Layered configuration: built-in defaults < TOML file (`--config`) < `EDDY_*`
//! environment variables < command-line flags (applied by the binary).
//!
//! Environment variables name a key by its path with `_` between section and key:
//! `EDDY_DATA_DIR`, `EDDY_HTTP_PORT`, `EDDY_HUB_FSYNC`, `EDDY_HUB_MAX_BATCH_BYTES`.
//! Only scalar keys of the built-in sections can be set that way; unknown `EDDY_*`
//! variables are left alone (the CLI uses `EDDY_URL` for itself).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Why a configuration could not be loaded; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is invalid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {var}={value:?} is invalid: expected {expected}")]
    Env {
        var: String,
        value: String,
        expected: &'static str,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where hubs, tables and all state live.
    pub data_dir: PathBuf,
    pub http: ListenConfig,
    /// The Kafka protocol endpoint.
    pub kafka: KafkaConfig,
    pub amqp: AmqpConfig,
    /// Shared access keys; when enabled, AMQP clients must present SAS tokens signed
    /// with one of them.
    pub auth: AuthConfig,
    pub hub: HubDefaults,
    /// The Kusto REST endpoints on the HTTP port.
    pub kusto: KustoConfig,
    /// Event hubs to create at start when they do not exist yet.
    pub hubs: Vec<HubSettings>,
    /// How data connections buffer and flush.
    pub connections: ConnectionDefaults,
    /// Data connections to create (or update) at start: `[[data_connections]]`.
    pub data_connections: Vec<DataConnectionSettings>,
    /// Whether the server's memory may come in transparent huge pages. Off by default,
    /// as databases usually advise: a huge page is cleared whole on its first touch
    /// and rounds memory up; in a virtual machine whose host takes free memory back,
    /// first touches of huge pages cost the most (see docs/benchmarks.md).
    pub transparent_huge_pages: bool,
}

/// Limits shared by all data connections.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionDefaults {
    /// Event bytes one connection may hold in open batches; past it the largest batch
    /// seals early and reading waits (the connection lags instead of growing).
    pub max_buffer_mb: u64,
    /// With a streaming ingestion policy, batches seal this often.
    pub streaming_flush_ms: u64,
}

impl Default for ConnectionDefaults {
    fn default() -> Self {
        ConnectionDefaults {
            max_buffer_mb: 256,
            streaming_flush_ms: 200,
        }
    }
}

/// One data connection in the config file; the fields are the properties of
/// `.create data connection` (see docs/data-connections.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct DataConnectionSettings {
    pub name: String,
    /// Target database; the default database when empty.
    pub database: String,
    pub hub: String,
    pub consumer_group: Option<String>,
    pub table: Option<String>,
    pub format: Option<String>,
    pub mapping: Option<String>,
    pub compression: Option<String>,
    pub system_properties: Vec<String>,
    /// `Single` (default) or `Multi`.
    pub database_routing: Option<String>,
    /// `latest` (default), `earliest` or a datetime.
    pub start: Option<String>,
}

impl DataConnectionSettings {
    /// The settings as `.create data connection` properties.
    pub fn properties(&self) -> Vec<(String, String)> {
        let mut out = vec![("hub".to_string(), self.hub.clone())];
        let optional = [
            ("consumerGroup", &self.consumer_group),
            ("table", &self.table),
            ("format", &self.format),
            ("mapping", &self.mapping),
            ("compression", &self.compression),
            ("databaseRouting", &self.database_routing),
            ("start", &self.start),
        ];
        for (k, v) in optional {
            if let Some(v) = v {
                out.push((k.to_string(), v.clone()));
            }
        }
        if !self.system_properties.is_empty() {
            out.push((
                "eventSystemProperties".to_string(),
                self.system_properties.join(","),
            ));
        }
        out
    }
}

/// Limits of the Kusto REST endpoints and where queued ingestion comes from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct KustoConfig {
    /// Requests served at once; more get HTTP 429 (the SDKs retry with backoff).
    pub max_concurrent_requests: u32,
    /// Largest query or command body (HTTP 413 above).
    pub max_request_bytes: u64,
    /// Largest streaming-ingest body, after decompression (HTTP 413 above).
    pub streaming_ingest_max_bytes: u64,
    /// Azure Storage connection string whose queues and blobs carry queued ingestion
    /// (`UseDevelopmentStorage=true` for Azurite on its default ports). Empty: off.
    pub ingest_storage: String,
    /// How often the ingestion queue is polled when it was empty.
    pub ingest_poll_ms: u64,
    /// Memory for the hot cache: tables' sealed rows kept decoded so queries skip the
    /// Parquet files (0 turns it off; at most half the machine's memory is used). A
    /// table that does not fit is read from disk.
    pub query_cache_mb: u64,
}

impl Default for KustoConfig {
    fn default() -> Self {
        KustoConfig {
            max_concurrent_requests: 64,
            max_request_bytes: 4 * 1024 * 1024,
            streaming_ingest_max_bytes: 4 * 1024 * 1024,
            ingest_storage: String::new(),
            ingest_poll_ms: 1000,
            query_cache_mb: 4096,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListenConfig {
    pub host: String,
    pub port: u16,
}

/// The Event Hubs AMQP 1.0 endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AmqpConfig {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    /// Largest message (or batch envelope) a sender may transfer; advertised on attach
    /// as `max-message-size`, which the SDKs size their batches from.
    pub max_message_bytes: u64,
    /// Idle timeout the server announces in `open`; the peer must send something
    /// (heartbeats count) at least this often. 0 disables it.
    pub idle_timeout_ms: u32,
    /// Non-epoch receivers allowed per (hub, consumer group, partition).
    pub max_receivers_per_partition: usize,
    /// A connection that has not finished SASL and `open` by then is dropped.
    pub handshake_timeout_ms: u64,
}

impl Default for AmqpConfig {
    fn default() -> Self {
        AmqpConfig {
            enabled: true,
            host: "127.0.0.1".into(),
            port: 5672,
            max_message_bytes: 1024 * 1024,
            idle_timeout_ms: 240_000,
            max_receivers_per_partition: 5,
            handshake_timeout_ms: 10_000,
        }
    }
}

/// Shared access policies, as an Event Hubs namespace has them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Off (the default, like the emulator): any token and any SASL PLAIN password are
    /// accepted.
    pub enabled: bool,
    pub keys: Vec<SharedAccessKey>,
}

/// One shared access policy: a key name, its key and its rights.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SharedAccessKey {
    pub name: String,
    pub key: String,
    /// Any of `Manage`, `Send`, `Listen`; `Manage` implies the other two.
    pub rights: Vec<AccessRight>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum AccessRight {
    Manage,
    Send,
    Listen,
}

/// The Kafka protocol endpoint: a single broker in front of the hubs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    /// Host named in Metadata and FindCoordinator answers; empty: the address each
    /// client connected to.
    pub advertised_host: String,
    /// Port named in those answers; 0: the bound port.
    pub advertised_port: u16,
    /// Largest request frame accepted; bigger ones close the connection.
    pub max_request_bytes: u64,
    /// How long a new group waits for more members before its first assignment.
    pub initial_rebalance_delay_ms: u64,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            enabled: true,
            host: "127.0.0.1".into(),
            port: 9092,
            advertised_host: String::new(),
            advertised_port: 0,
            max_request_bytes: 16 * 1024 * 1024,
            initial_rebalance_delay_ms: 3000,
        }
    }
}

/// When an append is acknowledged.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FsyncMode {
    /// Acknowledge after fsync (group commit across concurrent senders).
    Always,
    /// Acknowledge after the write reaches the OS; fsync every `lazy_flush_ms`.
    Lazy,
}

impl std::str::FromStr for FsyncMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Ok(FsyncMode::Always),
            "lazy" => Ok(FsyncMode::Lazy),
            other => Err(format!(
                "fsync mode must be 'always' or 'lazy', got '{other}'"
            )),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HubDefaults {
    pub max_partitions: u32,
    pub default_partitions: u32,
    pub max_consumer_groups: u32,
    /// Largest accepted send (one event or one batch), in bytes of payload.
    pub max_batch_bytes: u64,
    pub fsync: FsyncMode,
    pub lazy_flush_ms: u64,
    /// A segment file is rolled once it reaches this size.
    pub segment_bytes: u64,
    pub default_retention_hours: u64,
    pub retention_check_secs: u64,
}

/// How one event hub is created.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct HubSettings {
    pub name: String,
    pub partitions: Option<u32>,
    pub retention_hours: Option<u64>,
    /// Per-partition size limit; the oldest segments go first.
    pub retention_bytes: Option<u64>,
    pub consumer_groups: Vec<String>,
    /// Ingress quota, like throughput units: events per second.
    pub max_events_per_sec: Option<u64>,
    /// Ingress quota: bytes per second.
    pub max_bytes_per_sec: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./eddy-data"),
            http: ListenConfig::new(8080),
            kafka: KafkaConfig::default(),
            amqp: AmqpConfig::default(),
            auth: AuthConfig::default(),
            hub: HubDefaults::default(),
            kusto: KustoConfig::default(),
            hubs: Vec::new(),
            connections: ConnectionDefaults::default(),
            data_connections: Vec::new(),
            transparent_huge_pages: false,
        }
    }
}

impl ListenConfig {
    fn new(port: u16) -> Self {
        ListenConfig {
            host: "127.0.0.1".into(),
            port,
        }
    }
}

impl Default for ListenConfig {
    fn default() -> Self {
        ListenConfig::new(0)
    }
}

impl Default for HubDefaults {
    fn default() -> Self {
        HubDefaults {
            max_partitions: 32,
            default_partitions: 4,
            max_consumer_groups: 20,
            max_batch_bytes: 1024 * 1024,
            fsync: FsyncMode::Always,
            lazy_flush_ms: 1000,
            segment_bytes: 128 * 1024 * 1024,
            default_retention_hours: 168,
            retention_check_secs: 60,
        }
    }
}

impl Config {
    /// Defaults, overlaid by the TOML file when given, then by `EDDY_*` variables.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut value = toml::Value::try_from(Config::default())
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let defaults = value.clone();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            let file_value: toml::Value =
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
            merge(&mut value, file_value);
        }
        // Unknown keys and wrong types in the file are named here (deny_unknown_fields).
        let _: Config = value
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| match file {
                Some(path) => ConfigError::Parse {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                },
                None => ConfigError::Invalid(e.to_string()),
            })?;
        for (var, raw) in env {
            apply_env(&mut value, &defaults, &var, &raw)?;
        }
        let config: Config = value
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let hub = &self.hub;
        if hub.max_partitions == 0 || hub.default_partitions == 0 {
            return Err(ConfigError::Invalid(
                "hub.max_partitions and hub.default_partitions must be at least 1".into(),
            ));
        }
        if hub.default_partitions > hub.max_partitions {
            return Err(ConfigError::Invalid(format!(
                "hub.default_partitions ({}) exceeds hub.max_partitions ({})",
                hub.default_partitions, hub.max_partitions
            )));
        }
        if hub.max_batch_bytes == 0 || hub.segment_bytes < 4096 {
            return Err(ConfigError::Invalid(
                "hub.max_batch_bytes must be > 0 and hub.segment_bytes at least 4096".into(),
            ));
        }
        if self.amqp.max_message_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "amqp.max_message_bytes must be at least 1024".into(),
            ));
        }
        if self.auth.enabled && self.auth.keys.is_empty() {
            return Err(ConfigError::Invalid(
                "auth.enabled needs at least one [[auth.keys]] entry (name, key, rights)".into(),
            ));
        }
        if let Some(k) = self
            .auth
            .keys
            .iter()
            .find(|k| k.name.is_empty() || k.key.is_empty())
        {
            return Err(ConfigError::Invalid(format!(
                "auth key '{}' needs a non-empty name and key",
                k.name
            )));
        }
        let k = &self.kusto;
        if k.max_concurrent_requests == 0 || k.max_request_bytes == 0 {
            return Err(ConfigError::Invalid(
                "kusto.max_concurrent_requests and kusto.max_request_bytes must be at least 1"
                    .into(),
            ));
        }
        Ok(())
    }
}

fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Sets the scalar key an `EDDY_*` variable names; ignores variables naming no key.
fn apply_env(
    value: &mut toml::Value,
    defaults: &toml::Value,
    var: &str,
    raw: &str,
) -> Result<(), ConfigError> {
    let Some(rest) = var.strip_prefix("EDDY_") else {
        return Ok(());
    };
    let rest = rest.to_ascii_lowercase();
    let Some(defaults) = defaults.as_table() else {
        return Ok(());
    };
    let mut path: Option<(Option<String>, String)> = None;
    if defaults.get(&rest).is_some_and(is_scalar) {
        path = Some((None, rest.clone()));
    } else {
        for (section, table) in defaults {
            let Some(table) = table.as_table() else {
                continue;
            };
            if let Some(key) = rest.strip_prefix(&format!("{section}_")) {
                if table.get(key).is_some_and(is_scalar) {
                    path = Some((Some(section.clone()), key.to_string()));
                }
            }
        }
    }
    let Some((section, key)) = path else {
        return Ok(());
    };
    let template = match &section {
        Some(s) => &defaults[s.as_str()][key.as_str()],
        None => &defaults[key.as_str()],
    };
    let bad = |expected| ConfigError::Env {
        var: var.to_string(),
        value: raw.to_string(),
        expected,
    };
    let parsed = match template {
        toml::Value::Integer(_) => {
            toml::Value::Integer(raw.parse().map_err(|_| bad("an integer"))?)
        }
        toml::Value::Boolean(_) => {
            toml::Value::Boolean(raw.parse().map_err(|_| bad("true or false"))?)
        }
        toml::Value::Float(_) => toml::Value::Float(raw.parse().map_err(|_| bad("a number"))?),
        _ => toml::Value::String(raw.to_string()),
    };
    let root = value.as_table_mut().expect("config is a table");
    match section {
        Some(s) => {
            if let Some(t) = root.get_mut(&s).and_then(|t| t.as_table_mut()) {
                t.insert(key, parsed);
            }
        }
        None => {
            root.insert(key, parsed);
        }
    }
    Ok(())
}

fn is_scalar(v: &toml::Value) -> bool {
    !matches!(v, toml::Value::Table(_) | toml::Value::Array(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = std::env::temp_dir().join(format!("eddy-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("eddy.toml");
        std::fs::write(
            &file,
            "data_dir = \"/from/file\"\n[http]\nport = 9000\n[hub]\nfsync = \"lazy\"\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&file),
            env(&[("EDDY_HTTP_PORT", "9100"), ("EDDY_URL", "x")]),
        )
        .unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/from/file"));
        assert_eq!(c.http.port, 9100, "env beats file");
        assert_eq!(c.http.host, "127.0.0.1", "untouched keys keep defaults");
        assert_eq!(c.hub.fsync, FsyncMode::Lazy);
        assert_eq!(c.hub.max_batch_bytes, 1024 * 1024);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn env_errors_name_the_variable() {
        let err = Config::load(None, env(&[("EDDY_HUB_MAX_BATCH_BYTES", "lots")])).unwrap_err();
        assert!(
            err.to_string().contains("EDDY_HUB_MAX_BATCH_BYTES"),
            "{err}"
        );
        let err = Config::load(None, env(&[("EDDY_HUB_FSYNC", "sometimes")])).unwrap_err();
        assert!(err.to_string().contains("fsync"), "{err}");
    }

    #[test]
    fn unknown_file_keys_are_rejected_with_their_name() {
        let dir = std::env::temp_dir().join(format!("eddy-config-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("eddy.toml");
        std::fs::write(&file, "[hub]\nmax_partition = 3\n").unwrap();
        let err = Config::load(Some(&file), Vec::new()).unwrap_err();
        assert!(err.to_string().contains("max_partition"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn example_config_parses_and_matches_defaults_where_documented() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../eddy.example.toml");
        let c = Config::load(Some(&path), Vec::new()).unwrap();
        let d = Config::default();
        assert_eq!(c.http, d.http);
        assert_eq!(c.hub, d.hub);
        assert_eq!(c.hubs.len(), 1);
        assert_eq!(c.hubs[0].name, "telemetry");
        assert_eq!(c.connections, d.connections);
        assert_eq!(c.data_connections.len(), 1);
        assert_eq!(c.data_connections[0].hub, "telemetry");
        assert_eq!(
            c.data_connections[0].properties()[0],
            ("hub".to_string(), "telemetry".to_string())
        );
    }
}
