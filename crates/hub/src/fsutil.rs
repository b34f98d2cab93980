//! Small durable-file helpers shared by the log, hub metadata and group state.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::error::{HubError, Result};

/// Fsyncs a directory so that creates, renames and deletes in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(HubError::io(format!("sync directory {}", dir.display())))
}

/// Replaces `dir/name` with `bytes` atomically: write a temp file, fsync it, rename
/// it over the target, fsync the directory.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(HubError::io(format!("write {}", path.display())))?;
    sync_dir(dir)
}
