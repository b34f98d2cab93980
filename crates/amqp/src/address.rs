//! Link addresses as the Event Hubs SDKs send them.
//!
//! The SDKs may send a full URL (`amqps://host:port/hub/Partitions/0`) or only the
//! path; segment names are matched case-insensitively, hub and group names as given.

/// What a link attaches to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `$cbs`: claims-based security token requests.
    Cbs,
    /// `$management`: runtime information requests.
    Management,
    /// `HUB` (round-robin or by partition key) or `HUB/Partitions/N`.
    Send {
        hub: String,
        partition: Option<String>,
    },
    /// `HUB/ConsumerGroups/GROUP/Partitions/N`.
    Receive {
        hub: String,
        group: String,
        partition: String,
    },
}

impl Address {
    /// Parses an address; the error says what forms are understood.
    pub fn parse(raw: &str) -> Result<Address, String> {
        let path = strip_url(raw.trim());
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let is = |s: &str, word: &str| s.eq_ignore_ascii_case(word);
        match segments.as_slice() {
            [s] if is(s, "$cbs") => Ok(Address::Cbs),
            [s] if is(s, "$management") => Ok(Address::Management),
            [_, s] if is(s, "$management") => Ok(Address::Management),
            [hub] => Ok(Address::Send {
                hub: hub.to_string(),
                partition: None,
            }),
            [hub, p, id] if is(p, "Partitions") => Ok(Address::Send {
                hub: hub.to_string(),
                partition: Some(id.to_string()),
            }),
            [hub, g, group, p, id] if is(g, "ConsumerGroups") && is(p, "Partitions") => {
                Ok(Address::Receive {
                    hub: hub.to_string(),
                    group: group.to_string(),
                    partition: id.to_string(),
                })
            }
            _ => Err(format!(
                "address '{raw}' is not understood; use HUB, HUB/Partitions/N, HUB/ConsumerGroups/GROUP/Partitions/N, $cbs or $management"
            )),
        }
    }

    /// The entity path a token must cover (`hub`, `hub/consumergroups/g/...`).
    pub fn entity_path(&self) -> String {
        match self {
            Address::Cbs => "$cbs".into(),
            Address::Management => "$management".into(),
            Address::Send { hub, partition } => match partition {
                Some(p) => format!("{hub}/partitions/{p}"),
                None => hub.clone(),
            },
            Address::Receive {
                hub,
                group,
                partition,
            } => format!("{hub}/consumergroups/{group}/partitions/{partition}"),
        }
    }
}

/// `amqps://host[:port]/path` → `path`; a bare path is returned as is.
fn strip_url(s: &str) -> &str {
    match s.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, path)| path),
        None => s.trim_start_matches('/'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_the_sdks_send() {
        assert_eq!(
            Address::parse("amqps://127.0.0.1:5673/hub1").unwrap(),
            Address::Send {
                hub: "hub1".into(),
                partition: None
            }
        );
        assert_eq!(
            Address::parse("amqps://127.0.0.1/hub1/Partitions/3").unwrap(),
            Address::Send {
                hub: "hub1".into(),
                partition: Some("3".into())
            }
        );
        assert_eq!(
            Address::parse("hub1/consumergroups/$Default/partitions/0").unwrap(),
            Address::Receive {
                hub: "hub1".into(),
                group: "$Default".into(),
                partition: "0".into()
            }
        );
        assert_eq!(Address::parse("$cbs").unwrap(), Address::Cbs);
        assert_eq!(Address::parse("$management").unwrap(), Address::Management);
        assert_eq!(
            Address::parse("amqps://h/hub1/$management").unwrap(),
            Address::Management
        );
        assert!(Address::parse("a/b").is_err());
        assert!(Address::parse("").is_err());
    }
}
