//! Starting and stopping `eddy serve` for tests.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use eddy_cli::client::Client;
use eddy_cli::cmd::serve::{Announced, FREE_PORTS};

pub const EDDY: &str = env!("CARGO_BIN_EXE_eddy");

pub struct Eddy {
    pub child: Child,
    pub url: String,
    /// `host:port` of the Kafka endpoint.
    pub kafka: String,
    /// `host:port` of the Event Hubs AMQP endpoint.
    pub amqp: String,
    pub client: Client,
}

impl Eddy {
    /// Starts `eddy serve` on a free port with data in `data_dir`.
    pub async fn start(data_dir: &Path, extra: &[&str]) -> Eddy {
        Self::start_env(data_dir, extra, &[]).await
    }

    /// Starts `eddy serve` with extra `EDDY_*` settings in its environment.
    pub async fn start_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Eddy {
        let mut child = Command::new(EDDY)
            .arg("serve")
            .args(FREE_PORTS)
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn eddy serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            let mut announced = Announced::default();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if announced.take_line(&line) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(announced.clone());
                    }
                }
            }
        });
        let Announced {
            http: addr,
            kafka,
            amqp,
        } = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server printed its addresses");
        let url = format!("http://{addr}");
        let client = Client::new(&url);
        client.wait_ready(Duration::from_secs(30)).await.unwrap();
        Eddy {
            child,
            url,
            kafka,
            amqp,
            client,
        }
    }

    /// The Event Hubs connection string for this server's AMQP endpoint.
    pub fn eventhubs_connection_string(&self, hub: &str) -> String {
        format!(
            "Endpoint=sb://{};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;EntityPath={hub}",
            self.amqp
        )
    }

    /// Creates `hubs` with `partitions` partitions each.
    pub async fn create_hubs(self, hubs: &[&str], partitions: u32) -> Eddy {
        for hub in hubs {
            let settings = serde_json::json!({ "partitions": partitions });
            self.client.create_hub(hub, &settings).await.unwrap();
        }
        self
    }

    /// Polls `query` in NetDefaultDB until `done` accepts its first row, which is
    /// returned; panics with the last row seen after `secs`.
    pub async fn wait_for_row(
        &self,
        query: &str,
        secs: u64,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let t = self.client.kusto("NetDefaultDB", query).await.unwrap();
            let row = t[0].rows[0].clone();
            if done(&row) {
                return row;
            }
            assert!(std::time::Instant::now() < deadline, "{query} gave {row:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Runs an `eddy` client command against this server.
    pub fn cli(&self, args: &[&str]) -> Output {
        cli_with_stdin(&self.url, args, None)
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait; returns the exit status code.
    pub fn terminate(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Eddy {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn cli_with_stdin(url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(EDDY);
    cmd.args(args).env("EDDY_URL", url);
    run_with_stdin(cmd, stdin)
}

/// Runs a command to completion, feeding it `stdin` (or nothing); panics when it
/// cannot start.
pub fn run_with_stdin(mut cmd: Command, stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "command failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every event of every partition, from the start, as JSON.
pub async fn read_all(client: &Client, hub: &str) -> Vec<eddy_server::api::ReceivedJson> {
    let desc = client.show_hub(hub).await.unwrap();
    let mut out = Vec::new();
    for p in desc["partition_ids"].as_array().unwrap() {
        let p = p.as_str().unwrap();
        let mut from = "earliest".to_string();
        loop {
            let r = client.read(hub, p, &from, 10_000, 0).await.unwrap();
            if r.events.is_empty() {
                break;
            }
            from = format!("seq:{}", r.next_sequence_number);
            out.extend(r.events);
        }
    }
    out
}

/// The Python with the Kusto and Event Hubs SDKs: `$EDDY_PYTHON` (./test.sh points it at
/// its venv), else `python3`.
pub fn python() -> String {
    std::env::var("EDDY_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// The test machine's socket workaround (`tests/python/site`) and the repository's
/// Python clients (`clients/python`).
pub fn python_path() -> String {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let site = manifest.join("tests/python/site");
    let clients = manifest.join("../../clients/python");
    format!("{}:{}", site.display(), clients.display())
}

/// Runs one of `tests/node/*.js` with `args` and the npm packages ./test.sh installs
/// (`EDDY_NODE_DIR`); panics with its output unless it succeeds and prints `ok` last.
pub async fn run_node(script: &str, args: &[&str], env: &[(&str, &str)]) {
    let node_dir = std::env::var("EDDY_NODE_DIR").unwrap_or_else(|_| {
        format!(
            "{}/.cache/eddy-node",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/node")
        .join(script);
    let out = tokio::process::Command::new("node")
        .arg(&path)
        .args(args)
        .env("EDDY_NODE_DIR", node_dir)
        .envs(env.iter().copied())
        .output()
        .await
        .expect("node (./test.sh installs the npm packages under ~/.cache/eddy-node)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("ok"),
        "{script}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// [`run_python`] off the async runtime.
pub async fn run_python_async(script: &'static str, args: Vec<String>) -> String {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_python(script, &args)
    })
    .await
    .unwrap()
}

/// Runs one of `tests/python/*.py` with `args`; panics with its output when it fails.
pub fn run_python(script: &str, args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let out = Command::new(python())
        .arg(&path)
        .args(args)
        .env("PYTHONPATH", python_path())
        .output()
        .expect("run python (./test.sh creates the venv and sets EDDY_PYTHON)");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{script} failed (the SDKs come from ./test.sh's venv)\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Azurite (Azure Storage's local stand-in, from npm) on free ports in a temp dir.
pub struct Azurite {
    child: Child,
    _dir: tempfile::TempDir,
    pub connection_string: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Azurite {
    pub fn start() -> Azurite {
        let bin = std::env::var("EDDY_AZURITE").unwrap_or_else(|_| "azurite".into());
        let dir = tempfile::tempdir().unwrap();
        let ports = [free_port(), free_port(), free_port()];
        let child = Command::new(&bin)
            .args(["--blobPort", &ports[0].to_string()])
            .args(["--queuePort", &ports[1].to_string()])
            .args(["--tablePort", &ports[2].to_string()])
            .arg("--location")
            .arg(dir.path())
            .args(["--skipApiVersionCheck", "--disableTelemetry", "--silent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("start {bin} (./test.sh installs it and sets EDDY_AZURITE): {e}")
            });
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        for port in ports {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "azurite did not listen on {port}"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let account = "devstoreaccount1";
        let key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
        let connection_string = format!(
            "DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};BlobEndpoint=http://127.0.0.1:{}/{account};QueueEndpoint=http://127.0.0.1:{}/{account};TableEndpoint=http://127.0.0.1:{}/{account}",
            ports[0], ports[1], ports[2]
        );
        Azurite {
            child,
            _dir: dir,
            connection_string,
        }
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
