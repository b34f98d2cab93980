//! Datetime and timespan functions that work a row at a time: startof*/endof*,
//! datetime_add/diff/part, format_datetime/format_timespan, calendar parts,
//! make_datetime/make_timespan, unixtime conversions and time zones.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

use super::rowfn::{t_datetime, t_int, t_long, t_string, t_timespan, Def};
use super::value::V;

const MICROS_PER_DAY: i64 = 86_400_000_000;

pub static DEFS: &[Def] = &[
    Def::new("startofday", 1, 2, t_datetime, |a| {
        start_end(a, Period::Day, false)
    }),
    Def::new("startofweek", 1, 2, t_datetime, |a| {
        start_end(a, Period::Week, false)
    }),
    Def::new("startofmonth", 1, 2, t_datetime, |a| {
        start_end(a, Period::Month, false)
    }),
    Def::new("startofyear", 1, 2, t_datetime, |a| {
        start_end(a, Period::Year, false)
    }),
    Def::new("endofday", 1, 2, t_datetime, |a| {
        start_end(a, Period::Day, true)
    }),
    Def::new("endofweek", 1, 2, t_datetime, |a| {
        start_end(a, Period::Week, true)
    }),
    Def::new("endofmonth", 1, 2, t_datetime, |a| {
        start_end(a, Period::Month, true)
    }),
    Def::new("endofyear", 1, 2, t_datetime, |a| {
        start_end(a, Period::Year, true)
    }),
    Def::new("datetime_add", 3, 3, t_datetime, datetime_add),
    Def::new("datetime_diff", 3, 3, t_long, datetime_diff),
    Def::new("datetime_part", 2, 2, t_int, datetime_part),
    Def::new("format_datetime", 2, 2, t_string, format_datetime),
    Def::new("format_timespan", 2, 2, t_string, format_timespan),
    Def::new("dayofweek", 1, 1, t_timespan, |a| {
        with_dt(a, |d| {
            V::Timespan(d.weekday().num_days_from_sunday() as i64 * MICROS_PER_DAY)
        })
    }),
    Def::new("dayofmonth", 1, 1, t_int, |a| {
        with_dt(a, |d| V::Long(d.day() as i64))
    }),
    Def::new("dayofyear", 1, 1, t_int, |a| {
        with_dt(a, |d| V::Long(d.ordinal() as i64))
    }),
    Def::new("weekofyear", 1, 1, t_int, |a| {
        with_dt(a, |d| V::Long(d.iso_week().week() as i64))
    }),
    Def::new("week_of_year", 1, 1, t_int, |a| {
        with_dt(a, |d| V::Long(d.iso_week().week() as i64))
    }),
    Def::new("getyear", 1, 1, t_int, |a| {
        with_dt(a, |d| V::Long(d.year() as i64))
    }),
    Def::new("getmonth", 1, 1, t_int, |a| {
        with_dt(a, |d| V::Long(d.month() as i64))
    }),
    Def::new("monthofyear", 1, 1, t_int, |a| {
        with_dt(a, |d| V::Long(d.month() as i64))
    }),
    Def::new("hourofday", 1, 1, t_int, |a| {
        with_dt(a, |d| V::Long(d.hour() as i64))
    }),
    Def::new("make_datetime", 3, 6, t_datetime, make_datetime),
    Def::new("make_timespan", 2, 4, t_timespan, make_timespan),
    Def::new("unixtime_seconds_todatetime", 1, 1, t_datetime, |a| {
        unix(a, 1e6)
    }),
    Def::new("unixtime_milliseconds_todatetime", 1, 1, t_datetime, |a| {
        unix(a, 1e3)
    }),
    Def::new("unixtime_microseconds_todatetime", 1, 1, t_datetime, |a| {
        unix(a, 1.0)
    }),
    Def::new("unixtime_nanoseconds_todatetime", 1, 1, t_datetime, |a| {
        unix(a, 1e-3)
    }),
    Def::new("datetime_utc_to_local", 2, 2, t_datetime, |a| zone(a, true)),
    Def::new("datetime_local_to_utc", 2, 2, t_datetime, |a| {
        zone(a, false)
    }),
];

fn dt(micros: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_micros(micros)
}

fn with_dt(a: &[V], f: impl Fn(DateTime<Utc>) -> V) -> V {
    match a[0].datetime().and_then(dt) {
        Some(d) => f(d),
        None => V::Null,
    }
}

#[derive(Clone, Copy)]
enum Period {
    Day,
    Week,
    Month,
    Year,
}

fn date_micros(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp_micros()
}

/// Adds `n` months to a date, clamping the day to the month's length.
fn add_months(d: NaiveDateTime, n: i64) -> Option<NaiveDateTime> {
    let months = d.year() as i64 * 12 + d.month0() as i64 + n;
    let (y, m) = (
        months.div_euclid(12) as i32,
        months.rem_euclid(12) as u32 + 1,
    );
    let last = (28..=31)
        .rev()
        .find(|day| NaiveDate::from_ymd_opt(y, m, *day).is_some())?;
    NaiveDate::from_ymd_opt(y, m, d.day().min(last)).map(|nd| nd.and_time(d.time()))
}

fn start_end(a: &[V], p: Period, end: bool) -> V {
    let Some(d) = a[0].datetime().and_then(dt) else {
        return V::Null;
    };
    let offset = a.get(1).and_then(V::i64).unwrap_or(0);
    let date = d.date_naive();
    let start = match p {
        Period::Day => date,
        Period::Week => date - Duration::days(date.weekday().num_days_from_sunday() as i64),
        Period::Month => date.with_day(1).expect("day 1"),
        Period::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1).expect("Jan 1"),
    }
    .and_hms_opt(0, 0, 0)
    .expect("midnight");
    let step = |k: i64| match p {
        Period::Day => Some(start + Duration::days(k)),
        Period::Week => Some(start + Duration::days(7 * k)),
        Period::Month => add_months(start, k),
        Period::Year => add_months(start, 12 * k),
    };
    let at = if end {
        step(offset + 1).map(|t| t.and_utc().timestamp_micros() - 1)
    } else {
        step(offset).map(|t| t.and_utc().timestamp_micros())
    };
    at.map(V::DateTime).unwrap_or(V::Null)
}

fn part_name(v: &V) -> String {
    v.text().to_ascii_lowercase()
}

fn datetime_add(a: &[V]) -> V {
    let (Some(n), Some(d)) = (a[1].i64(), a[2].datetime().and_then(dt)) else {
        return V::Null;
    };
    let naive = d.naive_utc();
    let micros = |m: i64| Some(naive + Duration::microseconds(m));
    let r = match part_name(&a[0]).as_str() {
        "year" => add_months(naive, 12 * n),
        "quarter" => add_months(naive, 3 * n),
        "month" => add_months(naive, n),
        "week" => micros(n * 7 * MICROS_PER_DAY),
        "day" => micros(n * MICROS_PER_DAY),
        "hour" => micros(n * 3_600_000_000),
        "minute" => micros(n * 60_000_000),
        "second" => micros(n * 1_000_000),
        "millisecond" => micros(n * 1_000),
        "microsecond" => micros(n),
        "nanosecond" => micros(n / 1000),
        _ => None,
    };
    r.map(|t| V::DateTime(t.and_utc().timestamp_micros()))
        .unwrap_or(V::Null)
}

/// Periods crossed between `a[2]` and `a[1]` (`datetime_diff('day', later, earlier)`).
fn datetime_diff(a: &[V]) -> V {
    let (Some(x), Some(y)) = (a[1].datetime().and_then(dt), a[2].datetime().and_then(dt)) else {
        return V::Null;
    };
    let floor = |v: i64, unit: i64| v.div_euclid(unit);
    let (xm, ym) = (x.timestamp_micros(), y.timestamp_micros());
    let months = |d: &DateTime<Utc>| d.year() as i64 * 12 + d.month0() as i64;
    let week_start = |d: &DateTime<Utc>| {
        let date = d.date_naive();
        date_micros(date - Duration::days(date.weekday().num_days_from_sunday() as i64))
    };
    let r = match part_name(&a[0]).as_str() {
        "year" => x.year() as i64 - y.year() as i64,
        "quarter" => months(&x).div_euclid(3) - months(&y).div_euclid(3),
        "month" => months(&x) - months(&y),
        "week" => (week_start(&x) - week_start(&y)) / (7 * MICROS_PER_DAY),
        "day" => floor(xm, MICROS_PER_DAY) - floor(ym, MICROS_PER_DAY),
        "hour" => floor(xm, 3_600_000_000) - floor(ym, 3_600_000_000),
        "minute" => floor(xm, 60_000_000) - floor(ym, 60_000_000),
        "second" => floor(xm, 1_000_000) - floor(ym, 1_000_000),
        "millisecond" => floor(xm, 1_000) - floor(ym, 1_000),
        "microsecond" => xm - ym,
        "nanosecond" => (xm - ym) * 1000,
        _ => return V::Null,
    };
    V::Long(r)
}

fn datetime_part(a: &[V]) -> V {
    let Some(d) = a[1].datetime().and_then(dt) else {
        return V::Null;
    };
    let frac = d.timestamp_subsec_micros() as i64;
    V::Long(match part_name(&a[0]).as_str() {
        "year" => d.year() as i64,
        "quarter" => d.month0() as i64 / 3 + 1,
        "month" => d.month() as i64,
        "week_of_year" | "weekofyear" | "week" => d.iso_week().week() as i64,
        "day" => d.day() as i64,
        "dayofyear" => d.ordinal() as i64,
        "hour" => d.hour() as i64,
        "minute" => d.minute() as i64,
        "second" => d.second() as i64,
        "millisecond" => frac / 1000,
        "microsecond" => frac,
        "nanosecond" => frac * 1000,
        _ => return V::Null,
    })
}

/// Splits a .NET-style format into runs of the same letter and literal text.
fn tokens(fmt: &str) -> Vec<(char, usize)> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c && c.is_ascii_alphabetic() {
            n += 1;
        }
        out.push((c, n));
        i += n;
    }
    out
}

/// Fraction digits: `f` keeps zeros, `F` drops trailing zeros.
fn fraction(ticks7: i64, n: usize, upper: bool) -> String {
    let digits = format!("{ticks7:07}");
    let s = &digits[..n.min(7)];
    if upper {
        s.trim_end_matches('0').to_string()
    } else {
        s.to_string()
    }
}

fn format_datetime(a: &[V]) -> V {
    let Some(d) = a[0].datetime().and_then(dt) else {
        return V::Str(String::new());
    };
    let ticks7 = d.timestamp_subsec_micros() as i64 * 10;
    let mut out = String::new();
    for (c, n) in tokens(&a[1].text()) {
        let piece = match c {
            'y' if n >= 4 => format!("{:0n$}", d.year()),
            'y' if n == 2 => format!("{:02}", d.year() % 100),
            'y' => format!("{}", d.year() % 100),
            'M' if n == 1 => d.month().to_string(),
            'M' => format!("{:02}", d.month()),
            'd' if n == 1 => d.day().to_string(),
            'd' => format!("{:02}", d.day()),
            'H' if n == 1 => d.hour().to_string(),
            'H' => format!("{:02}", d.hour()),
            'h' => {
                let h = match d.hour() % 12 {
                    0 => 12,
                    h => h,
                };
                if n == 1 {
                    h.to_string()
                } else {
                    format!("{h:02}")
                }
            }
            'm' if n == 1 => d.minute().to_string(),
            'm' => format!("{:02}", d.minute()),
            's' if n == 1 => d.second().to_string(),
            's' => format!("{:02}", d.second()),
            'f' => fraction(ticks7, n, false),
            'F' => fraction(ticks7, n, true),
            't' => {
                let ampm = if d.hour() < 12 { "AM" } else { "PM" };
                ampm[..n.min(2)].to_string()
            }
            other => std::iter::repeat_n(other, n).collect(),
        };
        out.push_str(&piece);
    }
    V::Str(out)
}

fn format_timespan(a: &[V]) -> V {
    let Some(t) = a[0].timespan() else {
        return V::Str(String::new());
    };
    let neg = t < 0;
    let m = t.unsigned_abs() as i64;
    let days = m / MICROS_PER_DAY;
    let rem = m % MICROS_PER_DAY;
    let (h, rem) = (rem / 3_600_000_000, rem % 3_600_000_000);
    let (min, rem) = (rem / 60_000_000, rem % 60_000_000);
    let (s, micros) = (rem / 1_000_000, rem % 1_000_000);
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    for (c, n) in tokens(&a[1].text()) {
        let piece = match c {
            'd' => format!("{days:0n$}"),
            'h' | 'H' if n == 1 => h.to_string(),
            'h' | 'H' => format!("{h:02}"),
            'm' if n == 1 => min.to_string(),
            'm' => format!("{min:02}"),
            's' if n == 1 => s.to_string(),
            's' => format!("{s:02}"),
            'f' => fraction(micros * 10, n, false),
            'F' => fraction(micros * 10, n, true),
            other => std::iter::repeat_n(other, n).collect(),
        };
        out.push_str(&piece);
    }
    V::Str(out)
}

fn make_datetime(a: &[V]) -> V {
    let n = |i: usize| a.get(i).and_then(V::i64).unwrap_or(0);
    let secs = a.get(5).and_then(V::f64).unwrap_or(0.0);
    let Some(date) = NaiveDate::from_ymd_opt(n(0) as i32, n(1) as u32, n(2) as u32) else {
        return V::Null;
    };
    if !(0..24).contains(&n(3)) || !(0..60).contains(&n(4)) || !(0.0..60.0).contains(&secs) {
        return V::Null;
    }
    let micros = date_micros(date) + (n(3) * 60 + n(4)) * 60_000_000 + (secs * 1e6).round() as i64;
    V::DateTime(micros)
}

fn make_timespan(a: &[V]) -> V {
    let vals: Vec<f64> = a.iter().map(|v| v.f64().unwrap_or(0.0)).collect();
    let (d, h, m, s) = match vals.len() {
        2 => (0.0, vals[0], vals[1], 0.0),
        3 => (0.0, vals[0], vals[1], vals[2]),
        _ => (vals[0], vals[1], vals[2], vals[3]),
    };
    let micros = (((d * 24.0 + h) * 60.0 + m) * 60.0 + s) * 1e6;
    V::Timespan(micros.round() as i64)
}

fn unix(a: &[V], micros_per_unit: f64) -> V {
    match a[0].f64() {
        Some(v) => V::DateTime((v * micros_per_unit).round() as i64),
        None => V::Null,
    }
}

fn zone(a: &[V], to_local: bool) -> V {
    let Some(micros) = a[0].datetime() else {
        return V::Null;
    };
    let Ok(tz) = a[1].text().parse::<chrono_tz::Tz>() else {
        return V::Null;
    };
    let Some(d) = dt(micros) else { return V::Null };
    if to_local {
        let local = d.with_timezone(&tz).naive_local();
        return V::DateTime(local.and_utc().timestamp_micros());
    }
    match tz.from_local_datetime(&d.naive_utc()).earliest() {
        Some(t) => V::DateTime(t.with_timezone(&Utc).timestamp_micros()),
        None => V::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::parse_datetime;

    fn d(s: &str) -> V {
        V::DateTime(parse_datetime(s).unwrap())
    }

    #[test]
    fn week_starts_on_sunday() {
        assert_eq!(
            start_end(&[d("2024-05-15T10:00:00Z")], Period::Week, false),
            d("2024-05-12")
        );
    }

    #[test]
    fn adding_a_month_clamps_the_day() {
        assert_eq!(
            datetime_add(&[V::Str("month".into()), V::Long(1), d("2024-01-31")]),
            d("2024-02-29")
        );
    }
}
