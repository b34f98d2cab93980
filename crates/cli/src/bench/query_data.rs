//! The data of `eddy bench query`: telemetry as NDJSON files (one day from
//! 2026-11-20, evenly spaced, devices spread over the day) and a device dimension as
//! CSV. Deterministic, so every run and both systems see the same rows.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;

/// Rows per NDJSON file: both systems read the same files.
pub const ROWS_PER_FILE: usize = 1_000_000;

const DAY_MICROS: u64 = 86_400_000_000;
/// 2026-11-20T00:00:00Z in Unix seconds.
const START_UNIX: i64 = 1_795_132_800;

const MESSAGES: &[&str] = &[
    "reading ok",
    "fan speed nominal",
    "valve error code 17",
    "battery low warning",
    "door opened by operator",
    "firmware update applied",
    "sensor error timeout",
    "link quality degraded",
    "calibration complete",
    "pressure within limits",
    "restart after error",
    "heartbeat",
];

/// A fixed-seed mixer (splitmix64), so the data needs no RNG state.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn device_id(d: usize) -> String {
    format!("dev-{d:05}")
}

/// Writes `rows` telemetry rows as NDJSON files under `dir`; returns their paths.
pub fn write_telemetry(dir: &Path, rows: usize, devices: usize) -> Result<Vec<PathBuf>> {
    let mut files = vec![];
    let mut start = 0;
    while start < rows {
        let end = (start + ROWS_PER_FILE).min(rows);
        let path = dir.join(format!("telemetry-{:03}.json", files.len()));
        let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
        for i in start..end {
            let r = mix(i as u64);
            let micros = (i as u64 * DAY_MICROS / rows as u64) as i64;
            let ts = chrono::DateTime::from_timestamp(
                START_UNIX + micros / 1_000_000,
                (micros % 1_000_000) as u32 * 1000,
            )
            .unwrap_or_default();
            let device = (r % devices as u64) as usize;
            let temperature = 15.0 + ((r >> 16) % 2500) as f64 / 100.0;
            let humidity = 30.0 + ((r >> 32) % 5000) as f64 / 100.0;
            let message = MESSAGES[((r >> 48) % MESSAGES.len() as u64) as usize];
            writeln!(
                w,
                r#"{{"timestamp":"{}","deviceId":"{}","temperature":{temperature},"humidity":{humidity},"message":"{message} seq {}"}}"#,
                ts.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
                device_id(device),
                i % 1000,
            )?;
        }
        w.flush()?;
        files.push(path);
        start = end;
    }
    Ok(files)
}

/// Writes the device dimension (DeviceId, Site, Model) as CSV with a header.
pub fn write_devices(dir: &Path, devices: usize) -> Result<PathBuf> {
    let path = dir.join("devices.csv");
    let mut w = BufWriter::new(std::fs::File::create(&path)?);
    writeln!(w, "DeviceId,Site,Model")?;
    for d in 0..devices {
        writeln!(w, "{},site-{:02},model-{}", device_id(d), d % 50, d % 7)?;
    }
    w.flush()?;
    Ok(path)
}
