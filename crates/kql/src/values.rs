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
    if let Some(micros) = parse_utc_iso(s.as_bytes()) {
        return Some(micros);
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

/// The common machine form `YYYY-MM-DDTHH:MM:SS[.f...]Z`, read without chrono; gives
/// what the RFC 3339 parser gives (fraction truncated to microseconds) or None for any
/// other shape, which the general parser then reads.
pub fn parse_utc_iso(b: &[u8]) -> Option<i64> {
    IsoDates::default().parse(b)
}

/// [`parse_utc_iso`] for many values in a row: the date of the last value is kept, so
/// values of the same day skip reading and checking it again.
#[derive(Default)]
pub struct IsoDates {
    last: Option<([u8; 10], i64)>,
}

impl IsoDates {
    pub fn parse(&mut self, b: &[u8]) -> Option<i64> {
        if b.len() < 20 || b[b.len() - 1] != b'Z' {
            return None;
        }
        let digits = |at: usize, n: usize| -> Option<i64> {
            b[at..at + n].iter().try_fold(0i64, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
            })
        };
        let date: [u8; 10] = b[..10].try_into().ok()?;
        let days = match self.last {
            Some((last, days)) if last == date => days,
            _ => {
                if b[4] != b'-' || b[7] != b'-' {
                    return None;
                }
                let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
                if year == 0
                    || !(1..=12).contains(&month)
                    || day == 0
                    || day > days_in_month(year, month)
                {
                    return None;
                }
                let days = days_from_civil(year, month, day);
                self.last = Some((date, days));
                days
            }
        };
        if b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let mut micros = 0;
        match &b[19..b.len() - 1] {
            [] => {}
            [b'.', frac @ ..] if !frac.is_empty() && frac.len() <= 9 => {
                for (i, &c) in frac.iter().enumerate() {
                    if !c.is_ascii_digit() {
                        return None;
                    }
                    if i < 6 {
                        micros = micros * 10 + i64::from(c - b'0');
                    }
                }
                micros *= 10i64.pow(6u32.saturating_sub(frac.len() as u32));
            }
            _ => return None,
        }
        Some(((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + micros)
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    fn the_quick_iso_reader_agrees_with_chrono() {
        let cases = [
            "2026-11-20T00:00:00Z",
            "2026-11-20T00:00:00.008640Z",
            "2026-11-20T23:59:59.1234567Z",
            "2024-02-29T12:00:00.5Z",
            "2000-02-29T01:02:03.123456789Z",
            "1969-12-31T23:59:59.999999Z",
            "1600-03-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.9999999Z",
            "1970-01-01T00:00:00.000001Z",
        ];
        for c in cases {
            let chrono = DateTime::parse_from_rfc3339(c).unwrap().timestamp_micros();
            assert_eq!(parse_utc_iso(c.as_bytes()), Some(chrono), "{c}");
        }
        // Not the quick shape: left to the general parser, which still reads some.
        for c in [
            "2023-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-20T24:00:00Z",
            "2026-11-20T23:59:60Z",
            "2026-11-20T00:00:00.Z",
            "2026-11-20T00:00:00.1234567890Z",
            "2026-11-20 00:00:00Z",
            "2026-11-20T00:00:00+01:00",
            "0000-01-01T00:00:00Z",
            "2026-11-2OT00:00:00Z",
        ] {
            assert_eq!(parse_utc_iso(c.as_bytes()), None, "{c}");
        }
        assert_eq!(
            parse_datetime("2026-11-20T00:00:00.1234567890Z"),
            Some(
                DateTime::parse_from_rfc3339("2026-11-20T00:00:00.123456789Z")
                    .unwrap()
                    .timestamp_micros()
            )
        );
    }

    #[test]
    fn the_kept_date_changes_no_answer() {
        let values = [
            "2026-11-20T00:00:00Z",
            "2026-11-20T23:59:59.5Z",
            "2026-11-20T24:00:00Z",
            "2026-11-20 00:00:00Z",
            "2026-11-20T00:00Z",
            "2026-11-21T00:00:01Z",
            "2026-11-20T00:00:02Z",
            "2023-02-29T00:00:00Z",
            "2023-02-29T00:00:01Z",
            "2024-02-29T00:00:00Z",
            "2024-02-29T10:00:00.000001Z",
        ];
        let mut kept = IsoDates::default();
        for v in values {
            let alone = DateTime::parse_from_rfc3339(v)
                .ok()
                .filter(|_| v.as_bytes()[10] == b'T')
                .map(|d| d.timestamp_micros());
            assert_eq!(kept.parse(v.as_bytes()), alone, "{v}");
        }
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
