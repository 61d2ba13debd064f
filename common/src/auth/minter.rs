//! The gateway's side: `TokenMinter` holds the root private key and signs the short-lived
//! per-request tokens and the API tokens users create.

use super::{
    Principal, TokenVerifier,
    api_token::{MintedApiToken, authority_revocation_id},
};
use crate::model::ApiScope;
use biscuit_auth::{
    Biscuit, KeyPair,
    builder::Term,
    builder_ext::BuilderExt,
    macros::{check, fact},
};
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

/// Mints per-request tokens; only the gateway (and tests) hold one.
#[derive(Clone)]
pub struct TokenMinter {
    /// Readable by the tests, which sign tokens the minter would not.
    pub(super) key: std::sync::Arc<KeyPair>,
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
        // The expiry as a fact too, so a verifier can keep the token's answer until then.
        builder
            .fact(fact!("expires({expires})", expires = expires))?
            .check_expiration_date(expires)
            .build(&self.key)?
            .to_base64()
    }

    /// An API token acting as `user_id`, allowed what `scopes` allow, until `expires` if set.
    pub fn mint_api_token(
        &self,
        user_id: i64,
        scopes: &[ApiScope],
        expires: Option<SystemTime>,
    ) -> Result<MintedApiToken, biscuit_auth::error::Token> {
        let allowed: BTreeSet<Term> = scopes.iter().map(|s| Term::from(s.as_str())).collect();
        let mut builder = Biscuit::builder()
            .fact(fact!(r#"token("api")"#))?
            .fact(fact!("user({id})", id = user_id))?
            .check(check!(
                "check all requires($scope), {allowed}.contains($scope)",
                allowed = allowed
            ))?;
        if let Some(expires) = expires {
            builder = builder.check_expiration_date(expires);
        }
        let biscuit = builder.build(&self.key)?;
        Ok(MintedApiToken {
            revocation_id: authority_revocation_id(&biscuit),
            token: biscuit.to_base64()?,
        })
    }
}
