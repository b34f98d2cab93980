//! Durable-file helpers (see `eddy_common::fsutil`) with hub errors.

use std::path::Path;

use crate::error::{HubError, Result};

/// Fsyncs a directory so that creates, renames and deletes in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    eddy_common::fsutil::sync_dir(dir)
        .map_err(HubError::io(format!("sync directory {}", dir.display())))
}

/// Replaces `dir/name` with `bytes` atomically.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    eddy_common::fsutil::write_atomic(dir, name, bytes)
        .map_err(HubError::io(format!("write {}", dir.join(name).display())))
}
