//! The explorer's background upkeep — seals under the batching policy, compaction,
//! retention — on its own thread and runtime at a lower CPU priority. Ingestion and
//! queries are what users wait for: when both compete for the cores, the Parquet
//! encoding of a seal yields to them and catches up when they pause. Nothing is at
//! risk meanwhile: unsealed rows are durable in the WAL and queryable as hot rows.

use std::sync::Arc;
use std::time::Duration;

use eddy_explorer::Explorer;

/// The nice value of the maintenance threads (0 is normal, 19 the lowest).
const NICE: i32 = 10;

pub struct Maintenance {
    stop: tokio::sync::watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts a pass every `every` on the maintenance thread.
pub fn start(explorer: Arc<Explorer>, every: Duration) -> std::io::Result<Maintenance> {
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("eddy-maintenance")
        .on_thread_start(lower_priority)
        .build()?;
    let thread = std::thread::Builder::new()
        .name("eddy-maintenance".into())
        .spawn(move || {
            lower_priority();
            runtime.block_on(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tokio::select! {
                        _ = tick.tick() => explorer.maintain().await,
                        _ = stopped.changed() => break,
                    }
                }
            });
        })?;
    Ok(Maintenance {
        stop,
        thread: Some(thread),
    })
}

impl Maintenance {
    /// Stops once the pass in progress is done.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

/// Lowers the calling thread's priority (on Linux a nice value is per thread, and
/// `None` names the calling one).
fn lower_priority() {
    if let Err(e) = rustix::process::setpriority_process(None, NICE) {
        tracing::debug!(error = %e, "could not lower the maintenance thread's priority");
    }
}
