//! The subgraphs' side: `TokenVerifier` holds the root public key, accepts the gateway's
//! per-request tokens (remembering those that passed until they expire) and reads API tokens
//! for the gateway.

use super::{AuthError, Principal, api_token::ApiToken, datalog_limits};
use crate::model::Role;
use biscuit_auth::{AuthorizerBuilder, Biscuit, PublicKey, macros::rule};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// The policies of a subgraph: any caller the gateway vouched for, never an API token (those
/// are for the gateway, which checks their revocation and scopes first).
const SUBGRAPH_POLICIES: &str = r#"deny if token("api"); allow if true;"#;

/// Verifies tokens with the root public key; every subgraph holds one.
#[derive(Clone)]
pub struct TokenVerifier {
    key: PublicKey,
    /// Tokens already verified, with their caller, until they expire (see `verify`). Shared
    /// by the clones of a verifier.
    verified: Arc<Mutex<HashMap<String, (Principal, SystemTime)>>>,
}

/// How many verified tokens a verifier keeps: the gateway reuses one token per caller for a
/// few seconds, so this covers thousands of active callers.
const VERIFIED_KEPT: usize = 10_000;

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("key", &self.key.to_bytes_hex())
            .finish()
    }
}

impl TokenVerifier {
    /// A verifier trusting `key`.
    pub fn new(key: PublicKey) -> Self {
        Self {
            key,
            verified: Arc::default(),
        }
    }

    /// Checks the signature and every check in the token (expiry, and any restriction a
    /// holder appended), then reads the caller out of the authority block.
    ///
    /// The gateway sends the same token for a caller's requests for a few seconds, so a token
    /// that passed is remembered, by its exact text, until the expiry its authority block
    /// states: the same string is then answered without the signature check and the Datalog
    /// run. A token with appended blocks is never remembered (their checks may end it sooner),
    /// nor is a signed-out caller's.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let token = token.trim();
        let now = SystemTime::now();
        if let Ok(verified) = self.verified.lock()
            && let Some((principal, until)) = verified.get(token)
            && now <= *until
        {
            return Ok(principal.clone());
        }
        let (principal, until) = self.verify_fully(token)?;
        if let Some(until) = until
            && let Ok(mut verified) = self.verified.lock()
        {
            if verified.len() >= VERIFIED_KEPT {
                verified.retain(|_, (_, until)| now <= *until);
                if verified.len() >= VERIFIED_KEPT {
                    verified.clear();
                }
            }
            verified.insert(token.to_string(), (principal.clone(), until));
        }
        Ok(principal)
    }

    /// How many verified tokens are remembered.
    #[cfg(test)]
    pub(super) fn remembered(&self) -> usize {
        self.verified.lock().map(|v| v.len()).unwrap_or_default()
    }

    /// `verify` without the memory: the caller, and until when the answer holds if the token
    /// may be remembered.
    fn verify_fully(&self, token: &str) -> Result<(Principal, Option<SystemTime>), AuthError> {
        let biscuit = Biscuit::from_base64(token, self.key).map_err(AuthError::Invalid)?;
        let mut authorizer = AuthorizerBuilder::new()
            .time()
            .code(SUBGRAPH_POLICIES)
            .map_err(AuthError::Refused)?
            .set_limits(datalog_limits())
            .build(&biscuit)
            .map_err(AuthError::Refused)?;
        authorizer.authorize().map_err(AuthError::Refused)?;

        let users: Vec<(i64,)> = authorizer
            .query(rule!("u($id) <- user($id)"))
            .map_err(|e| AuthError::Malformed(e.to_string()))?;
        let expiries: Vec<(SystemTime,)> = authorizer
            .query(rule!("e($t) <- expires($t)"))
            .map_err(|e| AuthError::Malformed(e.to_string()))?;
        let until = match expiries.as_slice() {
            [(until,)] if biscuit.block_count() == 1 => Some(*until),
            _ => None,
        };
        let user_id = match users.as_slice() {
            // Not remembered: the gateway mints one per signed-out request.
            [] => return Ok((Principal::anonymous(), None)),
            [(id,)] => *id,
            _ => return Err(AuthError::Malformed("more than one user".into())),
        };
        let roles: Vec<(String,)> = authorizer
            .query(rule!("r($r) <- role($r)"))
            .map_err(|e| AuthError::Malformed(e.to_string()))?;
        let mut roles = roles
            .into_iter()
            .map(|(r,)| {
                r.parse::<Role>()
                    .map_err(|e| AuthError::Malformed(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        roles.sort();
        let supports: Vec<(i64,)> = authorizer
            .query(rule!("s($f) <- supports($f)"))
            .map_err(|e| AuthError::Malformed(e.to_string()))?;
        let mut supports: Vec<i64> = supports.into_iter().map(|(f,)| f).collect();
        supports.sort_unstable();
        Ok((Principal::user(user_id, roles, supports), until))
    }

    /// Reads an API token: our signature, `token("api")` and one `user` in its authority
    /// block. Its checks run later, per request (`ApiToken::authorize`).
    pub fn api_token(&self, token: &str) -> Result<ApiToken, AuthError> {
        let biscuit = Biscuit::from_base64(token.trim(), self.key).map_err(AuthError::Invalid)?;
        let mut authorizer = AuthorizerBuilder::new()
            .set_limits(datalog_limits())
            .build(&biscuit)
            .map_err(AuthError::Refused)?;
        let kinds: Vec<(String,)> = authorizer
            .query(rule!("k($k) <- token($k)"))
            .map_err(|e| AuthError::Malformed(e.to_string()))?;
        if !kinds.iter().any(|(k,)| k == "api") {
            return Err(AuthError::Malformed("not an API token".into()));
        }
        let users: Vec<(i64,)> = authorizer
            .query(rule!("u($id) <- user($id)"))
            .map_err(|e| AuthError::Malformed(e.to_string()))?;
        let [(user_id,)] = users.as_slice() else {
            return Err(AuthError::Malformed("an API token names one user".into()));
        };
        Ok(ApiToken::new(biscuit, *user_id))
    }
}
