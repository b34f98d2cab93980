//! Restart and crash recovery.
