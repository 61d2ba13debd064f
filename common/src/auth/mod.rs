//! The gateway-signed biscuit that carries the caller's identity to every subgraph.
//!
//! The gateway holds the root private key and mints a short-lived token per request
//! (`TokenMinter`); subgraphs hold the public key and accept nothing else as identity
//! (`TokenVerifier`). The authority block carries `user(id)`, `role(name)` and, for FSS users,
//! `supports(faculty id)` facts plus an expiry check; a token without a `user` fact is the
//! anonymous caller (so that `me` can answer null).
//!
//! API tokens (`ApiToken`) are biscuits signed with the same root key but of another kind:
//! their authority block holds `token("api")`, `user(id)`, a check that every scope the
//! request `requires` is one of the token's, and the optional expiry. Only the gateway
//! accepts them, after stating what the request does (`Access`); subgraphs refuse them.
//!
//! One file per concern: the caller and its visibility rule (`principal`), the gateway-side
//! minter (`minter`), the subgraph-side verifier (`verifier`) and API tokens (`api_token`).

mod api_token;
mod minter;
mod principal;
mod verifier;

pub use api_token::{Access, ApiToken, MintedApiToken, SESSION_ONLY};
use biscuit_auth::AuthorizerLimits;
pub use minter::TokenMinter;
pub use principal::Principal;
use std::time::Duration;
pub use verifier::TokenVerifier;

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

/// Datalog run limits. biscuit's default time budget (1 ms) is shorter than a thread can be
/// descheduled on a loaded machine, which would refuse valid tokens at random; the facts
/// and iterations stay bounded, so a generous time limit costs nothing.
fn datalog_limits() -> AuthorizerLimits {
    AuthorizerLimits {
        max_time: Duration::from_millis(250),
        ..AuthorizerLimits::default()
    }
}

#[cfg(test)]
mod tests;
