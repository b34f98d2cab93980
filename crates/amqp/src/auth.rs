//! Who may do what on one connection: SASL (ANONYMOUS, PLAIN) and the grants `$cbs`
//! tokens add.

use std::sync::{Arc, Mutex};

use eddy_common::config::{AccessRight, AuthConfig};
use fe2o3_amqp::acceptor::sasl_acceptor::{SaslAcceptor, SaslServerFrame};
use fe2o3_amqp_types::primitives::{Array, Symbol};
use fe2o3_amqp_types::sasl::{SaslCode, SaslInit, SaslOutcome, SaslResponse};

use crate::sas::Grant;

/// The grants of one connection. With auth off every check passes.
#[derive(Debug, Clone)]
pub struct ConnectionAuth {
    config: Arc<AuthConfig>,
    grants: Arc<Mutex<Vec<Grant>>>,
}

impl ConnectionAuth {
    pub fn new(config: Arc<AuthConfig>) -> Self {
        ConnectionAuth {
            config,
            grants: Arc::default(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    pub fn add(&self, grant: Grant) {
        self.grants.lock().unwrap().push(grant);
    }

    /// Whether `right` on `entity` (lower-case entity path) is granted now.
    pub fn allows(&self, entity: &str, right: AccessRight) -> bool {
        if !self.config.enabled {
            return true;
        }
        let now = eddy_hub::now_ms() / 1000;
        self.grants
            .lock()
            .unwrap()
            .iter()
            .any(|g| g.allows(entity, right, now))
    }

    /// Whether any right at all is held (runtime-information reads need no more).
    pub fn any(&self, entity: &str) -> bool {
        [AccessRight::Listen, AccessRight::Send, AccessRight::Manage]
            .into_iter()
            .any(|r| self.allows(entity, r))
    }
}

/// SASL ANONYMOUS and PLAIN. With auth on, PLAIN must name a configured key and give
/// that key (as Event Hubs accepts a key name and key), which grants the key's
/// rights on the whole namespace; ANONYMOUS connections need `$cbs` tokens.
#[derive(Debug, Clone)]
pub struct Sasl {
    auth: ConnectionAuth,
}

impl Sasl {
    pub fn new(auth: ConnectionAuth) -> Self {
        Sasl { auth }
    }

    fn plain(&self, init: &SaslInit) -> SaslCode {
        if !self.auth.enabled() {
            return SaslCode::Ok;
        }
        let Some(response) = init.initial_response.as_ref() else {
            return SaslCode::Auth;
        };
        let mut parts = response.split(|b| *b == 0);
        let (_authzid, user, pass) = (parts.next(), parts.next(), parts.next());
        let (Some(user), Some(pass)) = (user, pass) else {
            return SaslCode::Auth;
        };
        match self
            .auth
            .config()
            .keys
            .iter()
            .find(|k| k.name.as_bytes() == user && k.key.as_bytes() == pass)
        {
            Some(key) => {
                self.auth.add(Grant {
                    path: String::new(),
                    rights: key.rights.clone(),
                    expires: i64::MAX,
                });
                SaslCode::Ok
            }
            None => SaslCode::Auth,
        }
    }
}

impl SaslAcceptor for Sasl {
    fn mechanisms(&self) -> Array<Symbol> {
        Array::from(vec![Symbol::from("ANONYMOUS"), Symbol::from("PLAIN")])
    }

    fn on_init(&mut self, init: SaslInit) -> SaslServerFrame {
        let code = match init.mechanism.as_str() {
            "ANONYMOUS" => SaslCode::Ok,
            "PLAIN" => self.plain(&init),
            _ => SaslCode::Auth,
        };
        SaslServerFrame::Outcome(SaslOutcome {
            code,
            additional_data: None,
        })
    }

    fn on_response(&mut self, _response: SaslResponse) -> SaslServerFrame {
        // Neither mechanism has a challenge.
        SaslServerFrame::Outcome(SaslOutcome {
            code: SaslCode::Sys,
            additional_data: None,
        })
    }
}
