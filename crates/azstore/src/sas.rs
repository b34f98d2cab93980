//! Account shared access signatures (signed version 2018-11-09): HMAC-SHA256 with the
//! account key over the account name, permissions, services, resource types, start,
//! expiry, IP, protocol and version, each followed by a newline.

use base64::Engine;
use chrono::{DateTime, Utc};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

const VERSION: &str = "2018-11-09";
/// Read, write, delete, list, add, create, update, process.
const PERMISSIONS: &str = "rwdlacup";
/// Blob, queue, table.
const SERVICES: &str = "bqt";
/// Service, container, object.
const RESOURCE_TYPES: &str = "sco";
const PROTOCOLS: &str = "https,http";

pub(crate) fn account_sas(account: &str, key: &[u8], expiry: DateTime<Utc>) -> String {
    let expiry = expiry.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let to_sign = format!(
        "{account}\n{PERMISSIONS}\n{SERVICES}\n{RESOURCE_TYPES}\n\n{expiry}\n\n{PROTOCOLS}\n{VERSION}\n"
    );
    let signature = sign(key, &to_sign);
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    format!(
        "sv={VERSION}&ss={SERVICES}&srt={RESOURCE_TYPES}&sp={PERMISSIONS}&se={}&spr={}&sig={}",
        enc(&expiry),
        enc(PROTOCOLS),
        enc(&signature)
    )
}

fn sign(key: &[u8], text: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let tag = ring::hmac::sign(&key, text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_the_rfc_4231_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let sig = sign(b"Jefe", "what do ya want for nothing?");
        let hex: String = base64::engine::general_purpose::STANDARD
            .decode(sig)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn sas_carries_every_signed_field() {
        let expiry = DateTime::parse_from_rfc3339("2030-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let sas = account_sas("acc", b"key", expiry);
        assert!(sas.starts_with("sv=2018-11-09&ss=bqt&srt=sco&sp=rwdlacup&se=2030%2D01%2D02T03%3A04%3A05Z&spr=https%2Chttp&sig="));
    }
}
