//! The gateway-signed biscuit that carries the caller's identity to every subgraph.
//!
//! The gateway holds the root private key and mints a short-lived token per request
//! (`TokenMinter`); subgraphs hold the public key and accept nothing else as identity
//! (`TokenVerifier`). The authority block carries `user(id)`, `role(name)` and, for FSS users,
//! `supports(faculty id)` facts plus an expiry check; a token without a `user` fact is the
//! anonymous caller (so that `me` can answer null).

use crate::model::Role;
use biscuit_auth::{
    AuthorizerBuilder, AuthorizerLimits, Biscuit, KeyPair, PublicKey,
    builder_ext::{AuthorizerExt, BuilderExt},
    macros::{fact, rule},
};
use std::time::{Duration, SystemTime};

/// Who is calling, as the gateway vouched for it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Principal {
    /// The signed-in user, `None` for an anonymous request.
    pub user_id: Option<i64>,
    /// The user's roles at the time the gateway minted the token.
    pub roles: Vec<Role>,
    /// For FSS users: the faculty members they act for.
    pub supports: Vec<i64>,
}

impl Principal {
    /// The anonymous caller.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// A signed-in user.
    pub fn user(user_id: i64, roles: Vec<Role>, supports: Vec<i64>) -> Self {
        Self {
            user_id: Some(user_id),
            roles,
            supports,
        }
    }

    /// Whether the caller holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether one of the caller's roles sees every ticket.
    pub fn sees_every_ticket(&self) -> bool {
        self.roles.iter().any(|r| r.sees_every_ticket())
    }

    /// Whether the caller is an FSS user who acts for `faculty_id`.
    pub fn supports(&self, faculty_id: i64) -> bool {
        self.has_role(Role::Fss) && self.supports.contains(&faculty_id)
    }

    /// Whether the caller is `user_id` or acts for them (the owner's side of a ticket).
    pub fn acts_for(&self, user_id: i64) -> bool {
        self.user_id == Some(user_id) || self.supports(user_id)
    }

    /// DESIGN.md's visibility rule: FACULTY see tickets they own or supervise, FSS those of the
    /// faculty they support, every other role sees every ticket. Subscriptions filter events
    /// with this; ticket-service's SQL filter says the same thing in SQL.
    pub fn can_see_ticket(&self, owner_id: i64, supervisor_ids: &[i64]) -> bool {
        let Some(me) = self.user_id else { return false };
        self.sees_every_ticket()
            || (self.has_role(Role::Faculty) && (owner_id == me || supervisor_ids.contains(&me)))
            || self.supports(owner_id)
    }
}

/// Why a token was refused; subgraphs answer every one of these with 401.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token is not a biscuit signed by our root key.
    #[error("invalid token: {0}")]
    Invalid(biscuit_auth::error::Token),
    /// The token is well formed but its checks fail (expired, attenuated away).
    #[error("token refused: {0}")]
    Refused(biscuit_auth::error::Token),
    /// The token's facts do not describe a caller.
    #[error("token carries a malformed identity: {0}")]
    Malformed(String),
}

/// Mints per-request tokens; only the gateway (and tests) hold one.
#[derive(Clone)]
pub struct TokenMinter {
    key: std::sync::Arc<KeyPair>,
    ttl: Duration,
}

impl std::fmt::Debug for TokenMinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenMinter")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenMinter {
    /// How long a minted token is valid: long enough for one request, short enough to be
    /// worthless if it leaks from a log.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(120);

    /// A minter signing with `key`.
    pub fn new(key: KeyPair) -> Self {
        Self {
            key: std::sync::Arc::new(key),
            ttl: Self::DEFAULT_TTL,
        }
    }

    /// The same key with another lifetime (tests mint expired tokens with this).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The verifier for tokens this minter signs.
    pub fn verifier(&self) -> TokenVerifier {
        TokenVerifier::new(self.key.public())
    }

    /// A base64url token for `principal`, expiring after the minter's lifetime.
    pub fn mint(&self, principal: &Principal) -> Result<String, biscuit_auth::error::Token> {
        let expires = SystemTime::now()
            .checked_add(self.ttl)
            .unwrap_or_else(SystemTime::now);
        self.mint_expiring(principal, expires)
    }

    /// A token for `principal` that expires at `expires`.
    pub fn mint_expiring(
        &self,
        principal: &Principal,
        expires: SystemTime,
    ) -> Result<String, biscuit_auth::error::Token> {
        let mut builder = Biscuit::builder();
        if let Some(id) = principal.user_id {
            builder = builder.fact(fact!("user({id})", id = id))?;
            for role in &principal.roles {
                builder = builder.fact(fact!("role({role})", role = role.as_str()))?;
            }
            for faculty in &principal.supports {
                builder = builder.fact(fact!("supports({faculty})", faculty = *faculty))?;
            }
        }
        builder
            .check_expiration_date(expires)
            .build(&self.key)?
            .to_base64()
    }
}

/// Verifies tokens with the root public key; every subgraph holds one.
#[derive(Clone)]
pub struct TokenVerifier {
    key: PublicKey,
}

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
        Self { key }
    }

    /// Datalog run limits. biscuit's default time budget (1 ms) is shorter than a thread can be
    /// descheduled on a loaded machine, which would refuse valid tokens at random; the facts
    /// and iterations stay bounded, so a generous time limit costs nothing.
    fn limits() -> AuthorizerLimits {
        AuthorizerLimits {
            max_time: Duration::from_millis(250),
            ..AuthorizerLimits::default()
        }
    }

    /// Checks the signature and every check in the token (expiry, and any restriction a
    /// holder appended), then reads the caller out of the authority block.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let biscuit = Biscuit::from_base64(token.trim(), self.key).map_err(AuthError::Invalid)?;
        let mut authorizer = AuthorizerBuilder::new()
            .time()
            .allow_all()
            .set_limits(Self::limits())
            .build(&biscuit)
            .map_err(AuthError::Refused)?;
        authorizer.authorize().map_err(AuthError::Refused)?;

        let users: Vec<(i64,)> = authorizer
            .query(rule!("u($id) <- user($id)"))
            .map_err(|e| AuthError::Malformed(e.to_string()))?;
        let user_id = match users.as_slice() {
            [] => return Ok(Principal::anonymous()),
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
        Ok(Principal::user(user_id, roles, supports))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minter() -> TokenMinter {
        TokenMinter::new(KeyPair::new())
    }

    #[test]
    fn identity_round_trips() {
        let m = minter();
        let p = Principal::user(7, vec![Role::Faculty, Role::Fss], vec![3, 9]);
        let token = m.mint(&p).unwrap();
        assert_eq!(m.verifier().verify(&token).unwrap(), p);
    }

    #[test]
    fn anonymous_round_trips() {
        let m = minter();
        let token = m.mint(&Principal::anonymous()).unwrap();
        assert_eq!(m.verifier().verify(&token).unwrap(), Principal::anonymous());
    }

    #[test]
    fn expired_tokens_are_refused() {
        let m = minter();
        let past = SystemTime::now() - Duration::from_secs(5);
        let token = m
            .mint_expiring(&Principal::user(1, vec![Role::Admin], vec![]), past)
            .unwrap();
        assert!(matches!(
            m.verifier().verify(&token),
            Err(AuthError::Refused(_))
        ));
    }

    #[test]
    fn another_key_is_refused() {
        let token = minter()
            .mint(&Principal::user(1, vec![Role::Admin], vec![]))
            .unwrap();
        assert!(matches!(
            minter().verifier().verify(&token),
            Err(AuthError::Invalid(_))
        ));
        assert!(matches!(
            minter().verifier().verify("not a token"),
            Err(AuthError::Invalid(_))
        ));
    }

    #[test]
    fn attenuated_blocks_cannot_add_identity() {
        let m = minter();
        let token = m
            .mint(&Principal::user(1, vec![Role::Faculty], vec![]))
            .unwrap();
        let biscuit = Biscuit::from_base64(&token, m.key.public()).unwrap();
        let forged = biscuit
            .append(biscuit_auth::macros::block!(r#"role("ADMIN"); user(2);"#))
            .unwrap()
            .to_base64()
            .unwrap();
        let p = m.verifier().verify(&forged).unwrap();
        assert_eq!(p, Principal::user(1, vec![Role::Faculty], vec![]));
    }
}
