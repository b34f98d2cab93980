//! Text forms of Kusto datetime and timespan values, shared by literals, ingestion and
//! result encoding. Values are microseconds (see `types.rs`).

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Parses the datetime forms Kusto accepts: ISO 8601 with `T` or a space, optional
/// seconds and fraction (up to 7 digits), optional `Z`/offset, a bare date, and RFC 2822.
pub fn parse_datetime(text: &str) -> Option<i64> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc).timestamp_micros());
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return Some(dt.with_timezone(&Utc).timestamp_micros());
    }
    let trimmed = s
        .strip_suffix('Z')
        .or_else(|| s.strip_suffix('z'))
        .unwrap_or(s);
    if let Ok(dt) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(dt.with_timezone(&Utc).timestamp_micros());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S%.f",
        "%Y/%m/%d %H:%M",
        "%m/%d/%Y %H:%M:%S%.f",
        "%m/%d/%Y %H:%M",
    ] {
        if let Ok(ndt) = NaiveDateTime::parse_from_str(trimmed, fmt) {
            return Some(Utc.from_utc_datetime(&ndt).timestamp_micros());
        }
    }
    for fmt in ["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(trimmed, fmt) {
            return Some(
                Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN))
                    .timestamp_micros(),
            );
        }
    }
    None
}

/// Kusto's datetime text: `2024-01-01T01:02:03.0000000Z` (7 fraction digits).
pub fn format_datetime(micros: i64) -> String {
    match DateTime::<Utc>::from_timestamp_micros(micros) {
        Some(dt) => format!("{}0Z", dt.format("%Y-%m-%dT%H:%M:%S%.6f")),
        None => String::new(),
    }
}

/// Parses `[-][d.]hh:mm[:ss[.fffffff]]`, a KQL timespan literal (`1d`, `90s`), or a plain
/// number of days as Kusto does for `timespan(2)`.
pub fn parse_timespan(text: &str) -> Option<i64> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let value = if body.contains(':') {
        let (days, clock) = match body.split_once(':') {
            Some((head, _)) if head.contains('.') => {
                let (d, _) = head.split_once('.')?;
                (d.parse::<i64>().ok()?, &body[d.len() + 1..])
            }
            _ => (0, body),
        };
        let parts: Vec<&str> = clock.split(':').collect();
        if parts.len() < 2 || parts.len() > 3 {
            return None;
        }
        let h: i64 = parts[0].parse().ok()?;
        let m: i64 = parts[1].parse().ok()?;
        let (sec, frac) = match parts.get(2) {
            Some(p) => match p.split_once('.') {
                Some((s, f)) => (s.parse::<i64>().ok()?, f),
                None => (p.parse::<i64>().ok()?, ""),
            },
            None => (0, ""),
        };
        if !frac.chars().all(|c| c.is_ascii_digit()) || frac.len() > 7 {
            return None;
        }
        let mut frac_micros = format!("{frac:0<7}")[..6].parse::<i64>().unwrap_or(0);
        if frac.is_empty() {
            frac_micros = 0;
        }
        days * MICROS_PER_DAY + ((h * 60 + m) * 60 + sec) * 1_000_000 + frac_micros
    } else if let Ok(days) = body.parse::<f64>() {
        (days * MICROS_PER_DAY as f64).round() as i64
    } else {
        let split = body.find(|c: char| c.is_alphabetic())?;
        let n: f64 = body[..split].parse().ok()?;
        let ticks = crate::lexer::unit_ticks(&body[split..])?;
        (n * ticks as f64 / 10.0).round() as i64
    };
    Some(if neg { -value } else { value })
}

/// Kusto's timespan text: `[-][d.]hh:mm:ss[.fffffff]`.
pub fn format_timespan(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    let days = m / MICROS_PER_DAY as u64;
    let rem = m % MICROS_PER_DAY as u64;
    let (h, rem) = (rem / 3_600_000_000, rem % 3_600_000_000);
    let (min, rem) = (rem / 60_000_000, rem % 60_000_000);
    let (s, frac) = (rem / 1_000_000, rem % 1_000_000);
    let day_part = if days > 0 {
        format!("{days}.")
    } else {
        String::new()
    };
    let frac_part = if frac > 0 {
        format!(".{frac:06}0")
    } else {
        String::new()
    };
    format!("{sign}{day_part}{h:02}:{min:02}:{s:02}{frac_part}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes() {
        let t = parse_datetime("2024-01-02T03:04:05.5Z").unwrap();
        assert_eq!(format_datetime(t), "2024-01-02T03:04:05.5000000Z");
        assert_eq!(
            parse_datetime("2024-01-02 03:04"),
            parse_datetime("2024-01-02T03:04:00Z")
        );
        assert_eq!(
            parse_datetime("2024-01-02"),
            parse_datetime("2024-01-02T00:00:00Z")
        );
        assert_eq!(
            parse_datetime("2024-01-02T03:04:05+01:00"),
            parse_datetime("2024-01-02T02:04:05Z")
        );
        assert_eq!(parse_datetime("nope"), None);
    }

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("00:00:30"), Some(30_000_000));
        assert_eq!(
            parse_timespan("1.02:00:00"),
            Some(MICROS_PER_DAY + 7_200_000_000)
        );
        assert_eq!(parse_timespan("1h"), Some(3_600_000_000));
        assert_eq!(parse_timespan("-00:00:01.5"), Some(-1_500_000));
        assert_eq!(
            format_timespan(MICROS_PER_DAY + 1_500_000),
            "1.00:00:01.5000000"
        );
        assert_eq!(format_timespan(-30_000_000), "-00:00:30");
    }
}
