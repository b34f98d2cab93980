//! The starting position a receiver asks for in its source filter.
//!
//! The SDKs send `apache.org:selector-filter:string` (Python: symbol descriptor;
//! others: the numeric descriptor `0x0000468C00000004`) around an SQL-like text:
//! `amqp.annotation.x-opt-offset > '123'`, `... >= '5'` (inclusive),
//! `amqp.annotation.x-opt-sequence-number > '41'`,
//! `amqp.annotation.x-opt-enqueued-time > '1700000000000'`; offset `'-1'` is the start
//! and `'@latest'` only new events.

use eddy_hub::Position;

pub const SELECTOR_NAME: &str = "apache.org:selector-filter:string";
pub const SELECTOR_CODE: u64 = 0x0000_468C_0000_0004;

/// Parses the selector text into a position.
pub fn parse_selector(text: &str) -> Result<Position, String> {
    let bad = || {
        format!("selector '{text}' is not understood; expected amqp.annotation.x-opt-offset|x-opt-sequence-number|x-opt-enqueued-time followed by >, >= or = and a quoted value")
    };
    let rest = text.trim();
    let rest = rest
        .strip_prefix("amqp.annotation.")
        .ok_or_else(bad)?
        .trim_start();
    let (field, rest) = rest
        .split_once(|c: char| c.is_whitespace() || c == '>' || c == '=')
        .map(|(f, _)| (f, &rest[f.len()..]))
        .ok_or_else(bad)?;
    let rest = rest.trim_start();
    let (inclusive, rest) = if let Some(r) = rest.strip_prefix(">=") {
        (true, r)
    } else if let Some(r) = rest.strip_prefix('>') {
        (false, r)
    } else if let Some(r) = rest.strip_prefix('=') {
        (true, r)
    } else {
        return Err(bad());
    };
    let value = rest
        .trim()
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .ok_or_else(bad)?;
    let number = |v: &str| v.trim().parse::<i64>().map_err(|_| bad());
    match field.to_ascii_lowercase().as_str() {
        "x-opt-offset" => match value {
            "-1" => Ok(Position::Earliest),
            "@latest" => Ok(Position::Latest),
            v => {
                let offset = number(v)?;
                let offset = u64::try_from(offset).map_err(|_| bad())?;
                Ok(Position::Offset { offset, inclusive })
            }
        },
        "x-opt-sequence-number" => {
            let seq = number(value)?;
            if seq < 0 {
                // "-1" exclusive is the start of the partition.
                return Ok(Position::Earliest);
            }
            Ok(Position::Sequence {
                seq: seq as u64,
                inclusive,
            })
        }
        "x-opt-enqueued-time" => Ok(Position::EnqueuedTime {
            ms: number(value)?,
            inclusive,
        }),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_position_form() {
        let p = |s| parse_selector(s).unwrap();
        assert_eq!(p("amqp.annotation.x-opt-offset > '-1'"), Position::Earliest);
        assert_eq!(
            p("amqp.annotation.x-opt-offset > '@latest'"),
            Position::Latest
        );
        assert_eq!(
            p("amqp.annotation.x-opt-offset >= '128'"),
            Position::Offset {
                offset: 128,
                inclusive: true
            }
        );
        assert_eq!(
            p("amqp.annotation.x-opt-sequence-number > '41'"),
            Position::Sequence {
                seq: 41,
                inclusive: false
            }
        );
        assert_eq!(
            p("amqp.annotation.x-opt-enqueued-time>'1700000000000'"),
            Position::EnqueuedTime {
                ms: 1_700_000_000_000,
                inclusive: false
            }
        );
        assert!(parse_selector("x-opt-offset > 1").is_err());
        assert!(parse_selector("amqp.annotation.x-opt-offset > 'abc'").is_err());
        assert!(parse_selector("amqp.annotation.x-opt-color > '1'").is_err());
    }
}
