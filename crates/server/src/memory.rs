//! How the server's memory is paged.

/// Applies `transparent_huge_pages` from the config to this process (and the
/// processes it starts). Linux only; elsewhere there is nothing to set. A kernel that
/// refuses is logged and the server goes on with the system's setting.
pub fn set_huge_pages(allowed: bool) {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(!allowed) {
        tracing::warn!(error = %e, "cannot set whether memory uses transparent huge pages");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = allowed;
}
