//! API tokens for integrations: minting and listing them for the auth subgraph, and, on every
//! request that carries one, deciding whether it still opens the platform (signature, its row,
//! its user) and what the operation may do (its scopes, its expiry, its holder's restrictions).
//!
//! The database keeps only each token's revocation id. A token's row is read at most once a
//! second per replica (`ROW_TTL`), so a revocation or a deactivation is seen by every replica
//! within a second; the replica that revoked forgets its copy at once. `lastUsedAt` is kept in
//! memory and written in one transaction per `flush`.

/// What each operation requires of a token.
mod scopes;

use crate::engine::Operation;
use chrono::{DateTime, Utc};
use common::{
    ApiScope, ApiToken, TokenMinter, TokenVerifier,
    auth::{Access, AuthError, SESSION_ONLY},
};
use db::entity::{api_token, user};
use db::sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, Set, TransactionTrait,
};
use std::{
    collections::{BTreeSet, HashMap},
    sync::Mutex,
    time::{Duration, Instant, SystemTime},
};

/// How long a token's row (and its user's `active` flag) is trusted before it is read again:
/// the longest a revocation takes to reach another replica.
pub const ROW_TTL: Duration = Duration::from_secs(1);

/// Longest token name accepted.
pub const MAX_NAME: usize = 100;

/// Why a bearer token does not open the request. Every variant but `Forbidden` and
/// `Unavailable` is UNAUTHENTICATED (401).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Not one of our API tokens: bad signature, tampered, another key, malformed, unknown.
    #[error("the bearer token is not valid")]
    Invalid,
    /// Revoked by its owner.
    #[error("the bearer token has been revoked")]
    Revoked,
    /// Past its expiry, or past an expiry its holder added.
    #[error("the bearer token has expired")]
    Expired,
    /// Its user was deactivated.
    #[error("the bearer token's user is no longer active")]
    Inactive,
    /// FORBIDDEN: the token is valid but does not allow this operation.
    #[error("{0}")]
    Forbidden(String),
    /// UNAVAILABLE: the database did not answer.
    #[error("the database is unavailable; try again")]
    Unavailable(#[source] DbErr),
}

/// Why managing tokens failed; the auth subgraph maps each to its code.
#[derive(Debug)]
pub enum ManageError {
    /// NOT_FOUND: no such token of the caller's.
    NotFound,
    /// BAD_USER_INPUT naming the argument.
    BadInput {
        /// The argument as the schema spells it.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// UNAVAILABLE: the database did not answer.
    Unavailable(DbErr),
    /// INTERNAL: minting failed.
    Internal(String),
}

impl From<DbErr> for ManageError {
    fn from(err: DbErr) -> Self {
        Self::Unavailable(err)
    }
}

/// A request's bearer token, read and found valid; what it may do is decided per operation.
#[derive(Debug, Clone)]
pub struct Bearer {
    /// The token's row id.
    pub id: i64,
    /// The user it acts as.
    pub user_id: i64,
    token: ApiToken,
    created_at: SystemTime,
}

/// What a token's row says, as last read.
#[derive(Debug, Clone, Copy)]
enum Row {
    /// Neither revoked nor of an inactive user (expiry is checked per request).
    Usable {
        id: i64,
        user_id: i64,
        created_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    },
    /// No such row: never issued.
    Unknown,
    /// Revoked.
    Revoked,
    /// Its user is deactivated.
    Inactive,
}

/// The API tokens of the platform, as one gateway replica sees them.
pub struct ApiTokens {
    db: DatabaseConnection,
    minter: TokenMinter,
    verifier: TokenVerifier,
    /// Rows by revocation id, with when they were read.
    rows: Mutex<HashMap<String, (Row, Instant)>>,
    /// Last use of each token since the last flush.
    used: Mutex<HashMap<i64, DateTime<Utc>>>,
}

impl std::fmt::Debug for ApiTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiTokens").finish_non_exhaustive()
    }
}

impl ApiTokens {
    /// Tokens over `db`, minted and verified with `minter`'s key.
    pub fn new(db: DatabaseConnection, minter: TokenMinter) -> Self {
        Self {
            db,
            verifier: minter.verifier(),
            minter,
            rows: Mutex::new(HashMap::new()),
            used: Mutex::new(HashMap::new()),
        }
    }

    /// Checks a bearer token: our signature and kind, a row that is neither revoked nor
    /// expired, an active user. Records the use for `lastUsedAt`.
    pub async fn authenticate(&self, bearer: &str) -> Result<Bearer, TokenError> {
        let token = self.verifier.api_token(bearer).map_err(|err| {
            tracing::info!(%err, "refused a bearer token");
            TokenError::Invalid
        })?;
        let (id, user_id, created_at, expires_at) = match self.row(&token.revocation_id).await? {
            Row::Usable {
                id,
                user_id,
                created_at,
                expires_at,
            } => (id, user_id, created_at, expires_at),
            Row::Unknown => return Err(TokenError::Invalid),
            Row::Revoked => return Err(TokenError::Revoked),
            Row::Inactive => return Err(TokenError::Inactive),
        };
        if user_id != token.user_id {
            // Only a leaked key could produce this; refuse rather than pick one.
            tracing::error!(id, "an API token names another user than its row");
            return Err(TokenError::Invalid);
        }
        let now = Utc::now();
        if expires_at.is_some_and(|at| at <= now) {
            return Err(TokenError::Expired);
        }
        if let Ok(mut used) = self.used.lock() {
            used.insert(id, now);
        }
        Ok(Bearer {
            id,
            user_id,
            token,
            created_at: created_at.into(),
        })
    }

    /// The token's row, from memory when read less than `ROW_TTL` ago.
    async fn row(&self, revocation_id: &str) -> Result<Row, TokenError> {
        if let Ok(rows) = self.rows.lock()
            && let Some((row, at)) = rows.get(revocation_id)
            && at.elapsed() < ROW_TTL
        {
            return Ok(*row);
        }
        let found = api_token::Entity::find()
            .filter(api_token::Column::RevocationId.eq(revocation_id))
            .find_also_related(user::Entity)
            .one(&self.db)
            .await
            .map_err(TokenError::Unavailable)?;
        let row = match found {
            None | Some((_, None)) => Row::Unknown,
            Some((token, _)) if token.revoked_at.is_some() => Row::Revoked,
            Some((_, Some(owner))) if !owner.active => Row::Inactive,
            Some((token, Some(_))) => Row::Usable {
                id: token.id,
                user_id: token.user_id,
                created_at: token.created_at,
                expires_at: token.expires_at,
            },
        };
        if let Ok(mut rows) = self.rows.lock() {
            if rows.len() > 10_000 {
                rows.retain(|_, (_, at)| at.elapsed() < ROW_TTL);
            }
            rows.insert(revocation_id.to_string(), (row, Instant::now()));
        }
        Ok(row)
    }

    /// Decides whether `bearer` may run `operation`: the token's own checks (scopes, expiry,
    /// anything its holder appended) against what the operation does.
    pub fn authorize(&self, bearer: &Bearer, operation: &Operation<'_>) -> Result<(), TokenError> {
        self.decide(bearer, &scopes::access(operation))
    }

    /// Decides whether `bearer` may download an export (`GET /exports/...`).
    pub fn authorize_download(&self, bearer: &Bearer) -> Result<(), TokenError> {
        self.decide(bearer, &scopes::download())
    }

    fn decide(&self, bearer: &Bearer, access: &Access) -> Result<(), TokenError> {
        let now = SystemTime::now();
        match bearer.token.authorize(access, now) {
            Ok(()) => Ok(()),
            // What the token allowed when it was new and refuses now, time took away: an
            // expiry, its own or one its holder added.
            Err(AuthError::Refused(_))
                if bearer.token.authorize(access, bearer.created_at).is_ok() =>
            {
                Err(TokenError::Expired)
            }
            Err(err) => {
                tracing::info!(%err, token = bearer.id, "an API token refused an operation");
                Err(TokenError::Forbidden(
                    if access.requires.contains(SESSION_ONLY) {
                        "token management and administration need a signed-in session, not an API token"
                    } else {
                        "this API token does not allow this operation"
                    }
                    .to_string(),
                ))
            }
        }
    }

    /// Writes the recorded uses to `lastUsedAt`, in one transaction.
    pub async fn flush(&self) -> Result<(), DbErr> {
        let used = match self.used.lock() {
            Ok(mut used) => std::mem::take(&mut *used),
            Err(_) => return Ok(()),
        };
        if used.is_empty() {
            return Ok(());
        }
        let txn = self.db.begin().await?;
        for (id, at) in &used {
            api_token::Entity::update_many()
                .col_expr(
                    api_token::Column::LastUsedAt,
                    db::sea_orm::sea_query::Expr::value(*at),
                )
                .filter(api_token::Column::Id.eq(*id))
                .exec(&txn)
                .await?;
        }
        txn.commit().await
    }

    /// Writes `lastUsedAt` every `interval` for as long as `tokens` is alive elsewhere.
    pub fn flush_every(tokens: &std::sync::Arc<Self>, interval: Duration) {
        let tokens = std::sync::Arc::downgrade(tokens);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(tokens) = tokens.upgrade() else {
                    return;
                };
                if let Err(err) = tokens.flush().await {
                    tracing::warn!(%err, "recording API token use");
                }
            }
        });
    }

    /// The caller's tokens, newest first, revoked ones included.
    pub async fn list(&self, user_id: i64) -> Result<Vec<api_token::Model>, DbErr> {
        api_token::Entity::find()
            .filter(api_token::Column::UserId.eq(user_id))
            .order_by_desc(api_token::Column::CreatedAt)
            .order_by_desc(api_token::Column::Id)
            .all(&self.db)
            .await
    }

    /// Mints a token for `user_id` and records its revocation id; returns the row and the
    /// bearer string (shown once).
    pub async fn create(
        &self,
        user_id: i64,
        name: &str,
        scopes: &[ApiScope],
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(api_token::Model, String), ManageError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(ManageError::BadInput {
                field: "name",
                message: format!("a name of 1 to {MAX_NAME} characters is required"),
            });
        }
        let scopes: Vec<ApiScope> = scopes
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if scopes.is_empty() {
            return Err(ManageError::BadInput {
                field: "scopes",
                message: "at least one scope is required".into(),
            });
        }
        let now = db::now();
        if expires_at.is_some_and(|at| at <= now) {
            return Err(ManageError::BadInput {
                field: "expiresAt",
                message: "the expiry must be in the future".into(),
            });
        }
        let minted = self
            .minter
            .mint_api_token(user_id, &scopes, expires_at.map(SystemTime::from))
            .map_err(|err| ManageError::Internal(err.to_string()))?;
        let row = api_token::ActiveModel {
            user_id: Set(user_id),
            name: Set(name.to_string()),
            scopes: Set(scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",")),
            revocation_id: Set(minted.revocation_id),
            created_at: Set(now),
            expires_at: Set(expires_at),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok((row, minted.token))
    }

    /// Revokes one of `user_id`'s tokens (again is a no-op) and forgets it on this replica at
    /// once; other replicas see it within `ROW_TTL`.
    pub async fn revoke(&self, user_id: i64, id: i64) -> Result<api_token::Model, ManageError> {
        let row = api_token::Entity::find_by_id(id)
            .filter(api_token::Column::UserId.eq(user_id))
            .one(&self.db)
            .await?
            .ok_or(ManageError::NotFound)?;
        let row = if row.revoked_at.is_some() {
            row
        } else {
            let mut active = row.into_active_model();
            active.revoked_at = Set(Some(db::now()));
            active.update(&self.db).await?
        };
        if let Ok(mut rows) = self.rows.lock() {
            rows.remove(&row.revocation_id);
        }
        Ok(row)
    }
}
