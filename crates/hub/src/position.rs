//! Where a reader starts: the positions Event Hubs offers, each inclusive or not.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::error::HubError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Earliest,
    /// Only events enqueued after the reader starts.
    Latest,
    Sequence {
        seq: u64,
        inclusive: bool,
    },
    Offset {
        offset: u64,
        inclusive: bool,
    },
    /// Milliseconds since the Unix epoch.
    EnqueuedTime {
        ms: i64,
        inclusive: bool,
    },
}

impl FromStr for Position {
    type Err = HubError;

    /// `earliest` | `latest` | `seq:N` | `offset:N` | `time:RFC3339-or-ms`; a `>`
    /// after the colon makes the position exclusive (`seq:>41` starts at 42). Event
    /// Hubs spellings `-1` (earliest) and `@latest` are accepted too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            HubError::InvalidArgument(format!(
                "invalid position '{s}': use earliest, latest, seq:N, offset:N or time:RFC3339 (prefix the value with '>' for exclusive)"
            ))
        };
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "earliest" | "-1" | "start" => return Ok(Position::Earliest),
            "latest" | "@latest" | "end" => return Ok(Position::Latest),
            _ => {}
        }
        let (kind, rest) = s.trim().split_once(':').ok_or_else(bad)?;
        let (inclusive, value) = match rest.strip_prefix('>') {
            Some(v) => (false, v.trim()),
            None => (true, rest.trim()),
        };
        match kind.to_ascii_lowercase().as_str() {
            "seq" | "sequence" => Ok(Position::Sequence {
                seq: value.parse().map_err(|_| bad())?,
                inclusive,
            }),
            "offset" => Ok(Position::Offset {
                offset: value.parse().map_err(|_| bad())?,
                inclusive,
            }),
            "time" => {
                let ms = match value.parse::<i64>() {
                    Ok(ms) => ms,
                    Err(_) => DateTime::parse_from_rfc3339(value)
                        .map_err(|_| bad())?
                        .with_timezone(&Utc)
                        .timestamp_millis(),
                };
                Ok(Position::EnqueuedTime { ms, inclusive })
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gt = |inclusive: bool| if inclusive { "" } else { ">" };
        match self {
            Position::Earliest => write!(f, "earliest"),
            Position::Latest => write!(f, "latest"),
            Position::Sequence { seq, inclusive } => write!(f, "seq:{}{seq}", gt(*inclusive)),
            Position::Offset { offset, inclusive } => {
                write!(f, "offset:{}{offset}", gt(*inclusive))
            }
            Position::EnqueuedTime { ms, inclusive } => write!(f, "time:{}{ms}", gt(*inclusive)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!("earliest".parse::<Position>().unwrap(), Position::Earliest);
        assert_eq!("-1".parse::<Position>().unwrap(), Position::Earliest);
        assert_eq!("@latest".parse::<Position>().unwrap(), Position::Latest);
        assert_eq!(
            "seq:5".parse::<Position>().unwrap(),
            Position::Sequence {
                seq: 5,
                inclusive: true
            }
        );
        assert_eq!(
            "seq:>5".parse::<Position>().unwrap(),
            Position::Sequence {
                seq: 5,
                inclusive: false
            }
        );
        assert_eq!(
            "offset:>96".parse::<Position>().unwrap(),
            Position::Offset {
                offset: 96,
                inclusive: false
            }
        );
        assert_eq!(
            "time:2024-01-01T00:00:00Z".parse::<Position>().unwrap(),
            Position::EnqueuedTime {
                ms: 1_704_067_200_000,
                inclusive: true
            }
        );
        for p in ["seq:>5", "offset:7", "time:>1700000000000", "latest"] {
            assert_eq!(p.parse::<Position>().unwrap().to_string(), p);
        }
    }

    #[test]
    fn rejects_garbage_with_guidance() {
        for bad in ["", "seq:", "seq:x", "nope:1", "time:yesterday", "offset:-3"] {
            let err = bad.parse::<Position>().unwrap_err().to_string();
            assert!(err.contains("earliest, latest"), "{bad}: {err}");
        }
    }
}
