//! Shared access signatures: `SharedAccessSignature sr=URI&sig=SIG&se=EXPIRY&skn=KEYNAME`.
//!
//! The signature is base64(HMAC-SHA256(key, `sr` as sent (URL-encoded) + "\n" + `se`)),
//! the way the Event Hubs SDKs sign them with a connection string's key.

use base64::Engine;
use eddy_common::config::{AccessRight, AuthConfig};
use percent_encoding::percent_decode_str;

/// What a valid token grants: rights on an entity path until a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Lower-case entity path under the namespace (`hub`, `hub/consumergroups/g`);
    /// empty for the whole namespace.
    pub path: String,
    pub rights: Vec<AccessRight>,
    /// Seconds since the Unix epoch.
    pub expires: i64,
}

impl Grant {
    /// Whether this grant allows `right` on `entity` (a lower-case entity path) at `now`.
    pub fn allows(&self, entity: &str, right: AccessRight, now: i64) -> bool {
        let covers = self.path.is_empty()
            || entity == self.path
            || entity
                .strip_prefix(self.path.as_str())
                .is_some_and(|rest| rest.starts_with('/'));
        covers
            && now < self.expires
            && self
                .rights
                .iter()
                .any(|r| *r == right || *r == AccessRight::Manage)
    }
}

/// The entity path of an audience or resource URI: `sb://host[:port]/a/b/` → `a/b`.
pub fn entity_path(uri: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let path = rest.split_once('/').map_or("", |(_, p)| p);
    path.trim_matches('/').to_ascii_lowercase()
}

/// Checks a SAS token against the configured keys.
pub fn validate(token: &str, auth: &AuthConfig, now: i64) -> Result<Grant, String> {
    let fields = token
        .trim()
        .strip_prefix("SharedAccessSignature ")
        .ok_or("the token is not a SharedAccessSignature")?;
    let (mut sr, mut sig, mut se, mut skn) = (None, None, None, None);
    for pair in fields.split('&') {
        let (k, v) = pair.split_once('=').ok_or("malformed token field")?;
        match k {
            "sr" => sr = Some(v),
            "sig" => sig = Some(v),
            "se" => se = Some(v),
            "skn" => skn = Some(v),
            _ => {}
        }
    }
    let (sr, sig, se, skn) = match (sr, sig, se, skn) {
        (Some(a), Some(b), Some(c), Some(d)) => (a, b, c, d),
        _ => return Err("the token must carry sr, sig, se and skn".into()),
    };
    let decode = |v: &str| percent_decode_str(v).decode_utf8_lossy().into_owned();
    let name = decode(skn);
    let key = auth
        .keys
        .iter()
        .find(|k| k.name == name)
        .ok_or_else(|| format!("no shared access key named '{name}'"))?;
    let expires: i64 = se.parse().map_err(|_| "the token's se is not a number")?;
    if expires <= now {
        return Err(format!("the token expired at {expires}"));
    }
    let signature = base64::engine::general_purpose::STANDARD
        .decode(decode(sig))
        .map_err(|_| "the token's signature is not base64")?;
    let hmac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.key.as_bytes());
    let signed = format!("{sr}\n{se}");
    ring::hmac::verify(&hmac, signed.as_bytes(), &signature)
        .map_err(|_| format!("the signature does not match key '{name}'"))?;
    Ok(Grant {
        path: entity_path(&decode(sr)),
        rights: key.rights.clone(),
        expires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_common::config::SharedAccessKey;

    fn sign(uri: &str, key_name: &str, key: &str, expiry: i64) -> String {
        let sr: String =
            percent_encoding::utf8_percent_encode(uri, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let hmac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
        let sig = ring::hmac::sign(&hmac, format!("{sr}\n{expiry}").as_bytes());
        let sig = base64::engine::general_purpose::STANDARD.encode(sig.as_ref());
        let sig: String =
            percent_encoding::utf8_percent_encode(&sig, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        format!("SharedAccessSignature sr={sr}&sig={sig}&se={expiry}&skn={key_name}")
    }

    fn auth() -> AuthConfig {
        AuthConfig {
            enabled: true,
            keys: vec![SharedAccessKey {
                name: "send".into(),
                key: "secret".into(),
                rights: vec![AccessRight::Send],
            }],
        }
    }

    #[test]
    fn a_signed_token_grants_its_keys_rights_on_its_path() {
        let t = sign("sb://127.0.0.1/Hub1", "send", "secret", 2000);
        let g = validate(&t, &auth(), 1000).unwrap();
        assert_eq!(g.path, "hub1");
        assert!(g.allows("hub1", AccessRight::Send, 1000));
        assert!(g.allows("hub1/partitions/0", AccessRight::Send, 1000));
        assert!(!g.allows("hub10", AccessRight::Send, 1000));
        assert!(!g.allows("hub1", AccessRight::Listen, 1000));
        assert!(!g.allows("hub1", AccessRight::Send, 2000));
    }

    #[test]
    fn wrong_key_expired_or_unknown_name_is_refused() {
        let a = auth();
        let bad = sign("sb://h/hub1", "send", "guess", 2000);
        assert!(validate(&bad, &a, 1000)
            .unwrap_err()
            .contains("does not match"));
        let old = sign("sb://h/hub1", "send", "secret", 999);
        assert!(validate(&old, &a, 1000).unwrap_err().contains("expired"));
        let who = sign("sb://h/hub1", "manage", "secret", 2000);
        assert!(validate(&who, &a, 1000)
            .unwrap_err()
            .contains("no shared access key"));
        assert!(validate("Bearer x", &a, 1000).is_err());
    }
}
