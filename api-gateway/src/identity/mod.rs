//! Identity: who a request acts for. A session cookie or a bearer API token becomes a
//! `Caller` (a `Principal` and the per-request token minted for it); every way in (GraphQL
//! over HTTP, the live-updates websocket, downloads, GraphiQL) goes through here.

/// The principal cache.
mod principals;
/// The credentials a request carries.
mod request;

pub use request::{cookie, same_origin, session_cookie};

use crate::engine;
use crate::gql::GqlError;
use crate::sessions::{self, SessionStore};
use crate::tokens::{ApiTokens, Bearer, TokenError};
use axum::http::{HeaderMap, header};
use common::{ErrorCode, Principal, Role, TokenMinter, config::Mode};
use db::sea_orm::DatabaseConnection;
use principals::Principals;
use std::sync::Arc;

/// The signed-in caller of one request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who is calling.
    pub principal: Principal,
    /// The per-request token minted for them, forwarded to the subgraphs.
    pub token: String,
}

/// The caller behind a bearer API token, and the token, whose checks every operation must
/// pass (`ApiTokens::authorize`).
#[derive(Debug, Clone)]
pub struct TokenCaller {
    /// The token's user, as the subgraphs will see them.
    pub caller: Caller,
    /// The token.
    pub bearer: Arc<Bearer>,
}

/// A request's credentials, resolved.
pub enum Auth {
    /// No credentials, or a session cookie that no longer opens a session (`stale`: the
    /// response clears it). Signed-out callers get `me: null` and UNAUTHENTICATED for the
    /// rest, which is how a client learns that its session ended.
    Anonymous {
        /// A session cookie came with the request but its session is over.
        stale: bool,
    },
    /// A live session.
    Session(Caller),
    /// A valid API token.
    Token(TokenCaller),
}

impl From<TokenError> for GqlError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Forbidden(message) => GqlError::new(200, ErrorCode::Forbidden, message),
            TokenError::Unavailable(cause) => {
                tracing::error!(%cause, "reading an API token");
                GqlError::new(
                    503,
                    ErrorCode::Unavailable,
                    "the database is unavailable; try again",
                )
            }
            other => GqlError::new(401, ErrorCode::Unauthenticated, other.to_string()),
        }
    }
}

/// Sessions, API tokens and the users behind them.
pub struct Identity {
    /// Where sessions live.
    pub sessions: SessionStore,
    /// API tokens: bearer authentication, and the auth subgraph's store.
    pub tokens: Arc<ApiTokens>,
    /// Development or production (who may introspect).
    mode: Mode,
    principals: Principals,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("sessions", &self.sessions)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Identity over these stores; users are loaded from `db`, their tokens minted by
    /// `minter`.
    pub fn new(
        sessions: SessionStore,
        tokens: Arc<ApiTokens>,
        db: DatabaseConnection,
        minter: TokenMinter,
        mode: Mode,
    ) -> Self {
        Self {
            sessions,
            tokens,
            mode,
            principals: Principals::new(db, minter),
        }
    }

    /// Resolves the request's credentials. A bearer token that is not valid is refused;
    /// a session cookie whose session ended (logout, expiry, deactivation) leaves the caller
    /// signed out.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Auth, GqlError> {
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let value = value.to_str().unwrap_or_default();
            return Ok(Auth::Token(self.bearer(value).await?));
        }
        let Some(id) = session_cookie(headers) else {
            return Ok(Auth::Anonymous { stale: false });
        };
        Ok(match self.session_caller(id).await? {
            Some(caller) => Auth::Session(caller),
            None => Auth::Anonymous { stale: true },
        })
    }

    /// The caller of the live session `id`; `None` when it ended (logout, expiry, the
    /// account's deactivation or a new password, which end the session too).
    pub async fn session_caller(&self, id: &str) -> Result<Option<Caller>, GqlError> {
        let session = self.sessions.get(id).await.map_err(|err| {
            tracing::error!(%err, "session store");
            GqlError::new(
                503,
                ErrorCode::Unavailable,
                "sessions are unavailable; try again",
            )
        })?;
        match session {
            Some(session) => self.session_holds(id, &session).await,
            None => Ok(None),
        }
    }

    /// The caller of `session` (whose id is `id`) while it holds: its user is active and
    /// still has the password the session was opened with. A session that no longer holds
    /// is deleted.
    pub async fn session_holds(
        &self,
        id: &str,
        session: &sessions::Session,
    ) -> Result<Option<Caller>, GqlError> {
        let mut found = self.principals.load(session.user_id).await?;
        if let (Some((_, stamp)), Some(expected)) = (&found, session.password)
            && *stamp != expected
        {
            // A cached stamp may predate the session's own (it was re-stamped on another
            // replica): only the database's word ends a session.
            self.forget(session.user_id);
            found = self
                .principals
                .load(session.user_id)
                .await?
                .filter(|(_, stamp)| *stamp == expected);
        }
        let caller = found.map(|(caller, _)| caller);
        if caller.is_none() {
            let _ = self.sessions.delete(id).await;
        }
        Ok(caller)
    }

    /// After a user changed their own password in session `id`: that session goes on with
    /// the new password while every other session of theirs ends.
    pub async fn restamp(&self, id: &str, user_id: i64) {
        self.forget(user_id);
        match self.principals.load(user_id).await {
            Ok(Some((_, stamp))) => {
                if let Err(err) = self.sessions.restamp(id, stamp).await {
                    tracing::warn!(%err, "keeping the session after a password change");
                }
            }
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(error = %err.message, "keeping the session after a password change");
            }
        }
    }

    /// The caller behind an `Authorization` value (`Bearer <API token>`); UNAUTHENTICATED
    /// (401) for anything that is not a valid token of an active user. Every way in that
    /// takes a token (`/graphql`, the websocket's `connection_init`, downloads) goes through
    /// here; each then asks `ApiTokens` what the token allows.
    pub async fn bearer(&self, authorization: &str) -> Result<TokenCaller, GqlError> {
        let token = authorization
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                GqlError::new(
                    401,
                    ErrorCode::Unauthenticated,
                    "expected `Authorization: Bearer <API token>`",
                )
            })?;
        let bearer = self.tokens.authenticate(token).await?;
        let caller = self
            .caller(bearer.user_id)
            .await?
            .ok_or_else(|| GqlError::from(TokenError::Inactive))?;
        Ok(TokenCaller {
            caller,
            bearer: Arc::new(bearer),
        })
    }

    /// The active user `user_id` with a token minted for them (cached for a few seconds);
    /// `None` for a deactivated or unknown account.
    pub async fn caller(&self, user_id: i64) -> Result<Option<Caller>, GqlError> {
        Ok(self
            .principals
            .load(user_id)
            .await?
            .map(|(caller, _)| caller))
    }

    /// The engine check of an API token's scopes (and of any block its holder added), run on
    /// every operation the token sends.
    pub fn scopes(&self, bearer: &Arc<Bearer>) -> engine::Authorize {
        let tokens = self.tokens.clone();
        let bearer = bearer.clone();
        Box::new(move |operation: &engine::Operation<'_>| {
            tokens.authorize(&bearer, operation).map_err(GqlError::from)
        })
    }

    /// Whether `principal` may introspect the schema: administrators, and anyone signed in
    /// during development.
    pub fn may_introspect(&self, principal: &Principal) -> bool {
        self.mode == Mode::Development || principal.has_role(Role::Admin)
    }

    /// A per-request token for `principal` (an anonymous caller's, for one).
    pub fn mint(&self, principal: &Principal) -> Result<String, GqlError> {
        self.principals.mint(principal)
    }

    /// Drops `user_id`'s cached principal (they signed in or out): the next request reads
    /// their row again.
    pub fn forget(&self, user_id: i64) {
        self.principals.forget(user_id);
    }
}
