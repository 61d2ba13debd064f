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

use crate::model::{ApiScope, Role};
use biscuit_auth::{
    AuthorizerBuilder, AuthorizerLimits, Biscuit, KeyPair, PublicKey,
    builder::Term,
    builder_ext::BuilderExt,
    macros::{check, fact, rule},
};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
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

/// The policies of a subgraph: any caller the gateway vouched for, never an API token (those
/// are for the gateway, which checks their revocation and scopes first).
const SUBGRAPH_POLICIES: &str = r#"deny if token("api"); allow if true;"#;

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

/// The revocation id of a token's authority block, in hex: the same for every attenuated
/// copy, so revoking it revokes them all.
fn authority_revocation_id(biscuit: &Biscuit) -> String {
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
            .set_limits(TokenVerifier::limits())
            .build(&self.biscuit)
            .and_then(|mut authorizer| authorizer.authorize())
            .map(|_| ())
            .map_err(AuthError::Refused)
    }
}

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
    fn remembered(&self) -> usize {
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
            .set_limits(Self::limits())
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
            .set_limits(Self::limits())
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
        Ok(ApiToken {
            user_id: *user_id,
            revocation_id: authority_revocation_id(&biscuit),
            biscuit,
        })
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
    fn verified_tokens_are_remembered_until_they_expire() {
        let m = minter();
        let verifier = m.verifier();
        let p = Principal::user(7, vec![Role::GradOffice], vec![]);
        let expires = SystemTime::now() + Duration::from_secs(2);
        let token = m.mint_expiring(&p, expires).unwrap();
        assert_eq!(verifier.verify(&token).unwrap(), p);
        assert_eq!(verifier.remembered(), 1);
        // A clone (each request handler holds one) shares what was verified.
        assert_eq!(verifier.clone().verify(&format!(" {token} ")).unwrap(), p);
        assert_eq!(verifier.remembered(), 1);
        // Only the exact text is remembered: a changed token is checked in full.
        let middle = token.len() / 2;
        let flipped = if &token[middle..=middle] == "A" {
            "B"
        } else {
            "A"
        };
        let tampered = format!("{}{flipped}{}", &token[..middle], &token[middle + 1..]);
        assert!(verifier.verify(&tampered).is_err());
        // Past its expiry the remembered answer no longer holds.
        while SystemTime::now() <= expires + Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(matches!(
            verifier.verify(&token),
            Err(AuthError::Refused(_))
        ));
    }

    #[test]
    fn signed_out_and_attenuated_tokens_are_not_remembered() {
        let m = minter();
        let verifier = m.verifier();
        let anonymous = m.mint(&Principal::anonymous()).unwrap();
        assert_eq!(verifier.verify(&anonymous).unwrap(), Principal::anonymous());
        assert_eq!(verifier.remembered(), 0);
        // A block appended by a holder may end the token sooner than its authority says.
        let p = Principal::user(1, vec![Role::Faculty], vec![]);
        let token = m.mint(&p).unwrap();
        let soon = SystemTime::now() + Duration::from_secs(60);
        let narrowed = Biscuit::from_base64(&token, m.key.public())
            .unwrap()
            .append(biscuit_auth::macros::block!(
                "check if time($t), $t <= {soon};",
                soon = soon
            ))
            .unwrap()
            .to_base64()
            .unwrap();
        assert_eq!(verifier.verify(&narrowed).unwrap(), p);
        assert_eq!(verifier.remembered(), 0);
        // Tokens minted before the expiry became a fact carry none: checked every time.
        let old = Biscuit::builder()
            .fact(fact!("user(1)"))
            .unwrap()
            .fact(fact!(r#"role("FACULTY")"#))
            .unwrap()
            .check_expiration_date(soon)
            .build(&m.key)
            .unwrap()
            .to_base64()
            .unwrap();
        assert_eq!(verifier.verify(&old).unwrap(), p);
        assert_eq!(verifier.remembered(), 0);
        assert_eq!(verifier.verify(&token).unwrap(), p);
        assert_eq!(verifier.remembered(), 1);
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

    fn access(operation: &str, fields: &[&str], requires: &[&str]) -> Access {
        Access {
            operation: operation.into(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
            requires: requires.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn api_tokens_allow_their_scopes_only() {
        let m = minter();
        let minted = m
            .mint_api_token(4, &[ApiScope::TicketsRead, ApiScope::Exports], None)
            .unwrap();
        let token = m.verifier().api_token(&minted.token).unwrap();
        assert_eq!(token.user_id, 4);
        assert_eq!(token.revocation_id, minted.revocation_id);
        assert_eq!(token.revocation_id.len(), 128);
        let now = SystemTime::now();
        let read = access("query", &["tickets"], &["TICKETS_READ"]);
        token.authorize(&read, now).unwrap();
        token
            .authorize(&access("download", &[], &["EXPORTS"]), now)
            .unwrap();
        for refused in [
            access("mutation", &["addNote"], &["TICKETS_WRITE"]),
            access("mutation", &["createApiToken"], &[SESSION_ONLY]),
            access(
                "query",
                &["tickets", "apiTokens"],
                &["TICKETS_READ", SESSION_ONLY],
            ),
        ] {
            assert!(matches!(
                token.authorize(&refused, now),
                Err(AuthError::Refused(_))
            ));
        }
    }

    #[test]
    fn api_tokens_expire() {
        let m = minter();
        let expires = SystemTime::now() + Duration::from_secs(60);
        let minted = m
            .mint_api_token(4, &[ApiScope::TicketsRead], Some(expires))
            .unwrap();
        let token = m.verifier().api_token(&minted.token).unwrap();
        let read = access("query", &["me"], &["TICKETS_READ"]);
        token.authorize(&read, SystemTime::now()).unwrap();
        assert!(matches!(
            token.authorize(&read, expires + Duration::from_secs(1)),
            Err(AuthError::Refused(_))
        ));
    }

    #[test]
    fn attenuated_api_tokens_are_narrower_and_keep_their_revocation_id() {
        let m = minter();
        let minted = m
            .mint_api_token(4, &[ApiScope::TicketsRead, ApiScope::TicketsWrite], None)
            .unwrap();
        // The holder needs no key to attenuate.
        let narrower = biscuit_auth::UnverifiedBiscuit::from_base64(&minted.token)
            .unwrap()
            .append(biscuit_auth::macros::block!(
                r#"check if operation("query");"#
            ))
            .unwrap()
            .to_base64()
            .unwrap();
        let token = m.verifier().api_token(&narrower).unwrap();
        assert_eq!(token.revocation_id, minted.revocation_id);
        let now = SystemTime::now();
        token
            .authorize(&access("query", &["tickets"], &["TICKETS_READ"]), now)
            .unwrap();
        assert!(
            token
                .authorize(&access("mutation", &["addNote"], &["TICKETS_WRITE"]), now)
                .is_err()
        );
    }

    #[test]
    fn api_tokens_and_request_tokens_are_not_interchangeable() {
        let m = minter();
        let minted = m.mint_api_token(4, &[ApiScope::TicketsRead], None).unwrap();
        assert!(matches!(
            m.verifier().verify(&minted.token),
            Err(AuthError::Refused(_))
        ));
        let request = m
            .mint(&Principal::user(4, vec![Role::Admin], vec![]))
            .unwrap();
        assert!(matches!(
            m.verifier().api_token(&request),
            Err(AuthError::Malformed(_))
        ));
        assert!(matches!(
            minter().verifier().api_token(&minted.token),
            Err(AuthError::Invalid(_))
        ));
    }
}
