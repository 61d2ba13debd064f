//! API tokens: biscuits signed with the root key whose authority block holds
//! `token("api")`, `user(id)`, a check on the scopes a request `requires`, and the optional
//! expiry. Only the gateway accepts them, after stating what the request does (`Access`).

use super::{AuthError, datalog_limits};
use biscuit_auth::{AuthorizerBuilder, Biscuit, macros::fact};
use std::collections::BTreeSet;
use std::time::SystemTime;

/// The requirement no API token meets: token management and administration need a session.
pub const SESSION_ONLY: &str = "SESSION";

/// A freshly minted API token: the bearer string, shown once, and the revocation id that is
/// all the database keeps of it.
#[derive(Debug, Clone)]
pub struct MintedApiToken {
    /// The base64url biscuit.
    pub token: String,
    /// Hex revocation id of the authority block (attenuated copies share it).
    pub revocation_id: String,
}

/// The revocation id of a token's authority block, in hex: the same for every attenuated
/// copy, so revoking it revokes them all.
pub(super) fn authority_revocation_id(biscuit: &Biscuit) -> String {
    biscuit
        .revocation_identifiers()
        .first()
        .map(hex::encode)
        .unwrap_or_default()
}

/// What the gateway states about one request before an API token's checks run: its
/// `operation` kind, each root `field`, and the scopes it `requires` (`SESSION_ONLY` for
/// what no token may do). Holders can write their own checks against these facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// `query`, `mutation`, `subscription` or `download`.
    pub operation: String,
    /// The root fields selected (for a download: none).
    pub fields: Vec<String>,
    /// `ApiScope` names, or `SESSION_ONLY`.
    pub requires: BTreeSet<String>,
}

/// An API token whose signature is ours, read but not yet authorized for a request.
#[derive(Clone)]
pub struct ApiToken {
    biscuit: Biscuit,
    /// The user it acts as.
    pub user_id: i64,
    /// Hex revocation id of its authority block, the key of its database row.
    pub revocation_id: String,
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiToken")
            .field("user_id", &self.user_id)
            .field("revocation_id", &self.revocation_id)
            .finish_non_exhaustive()
    }
}

impl ApiToken {
    /// A token whose signature and authority block were checked, acting as `user_id`.
    pub(super) fn new(biscuit: Biscuit, user_id: i64) -> Self {
        Self {
            user_id,
            revocation_id: authority_revocation_id(&biscuit),
            biscuit,
        }
    }

    /// Runs every check of the token (its scopes, its expiry, and whatever its holder
    /// appended) against `access` at time `at`.
    pub fn authorize(&self, access: &Access, at: SystemTime) -> Result<(), AuthError> {
        let mut builder = AuthorizerBuilder::new()
            .fact(fact!("time({at})", at = at))
            .and_then(|b| b.fact(fact!("operation({op})", op = access.operation.as_str())))
            .map_err(AuthError::Refused)?;
        for field in &access.fields {
            builder = builder
                .fact(fact!("field({f})", f = field.as_str()))
                .map_err(AuthError::Refused)?;
        }
        for scope in &access.requires {
            builder = builder
                .fact(fact!("requires({s})", s = scope.as_str()))
                .map_err(AuthError::Refused)?;
        }
        builder
            .code(r#"allow if token("api"), user($u);"#)
            .map_err(AuthError::Refused)?
            .set_limits(datalog_limits())
            .build(&self.biscuit)
            .and_then(|mut authorizer| authorizer.authorize())
            .map(|_| ())
            .map_err(AuthError::Refused)
    }
}
