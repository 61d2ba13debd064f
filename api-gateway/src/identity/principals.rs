//! The principal cache: each user's `Principal` and the per-request token minted for it,
//! reused for `PRINCIPAL_TTL` before the user row is read again, so role changes and
//! deactivation take effect within that time without a database read per request.

use super::Caller;
use crate::{auth, gql::GqlError};
use common::{ErrorCode, Principal, TokenMinter};
use db::sea_orm::DatabaseConnection;
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// How long a loaded principal (and the token minted for it) is reused before the user row is
/// read again: role changes and deactivation take effect within this time.
const PRINCIPAL_TTL: Duration = Duration::from_secs(5);

/// Past this many cached users, expired entries are swept before another is added.
const SWEEP_AT: usize = 10_000;

/// Users' principals, loaded from the database and cached.
pub(super) struct Principals {
    db: DatabaseConnection,
    minter: TokenMinter,
    // Each user's principal, the token minted for it, their password's stamp, and when
    // they were loaded.
    cache: Mutex<HashMap<i64, (Principal, String, u64, Instant)>>,
}

impl Principals {
    pub(super) fn new(db: DatabaseConnection, minter: TokenMinter) -> Self {
        Self {
            db,
            minter,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The active user `user_id` with a token minted for them and the stamp of their
    /// password (`auth::password_stamp`); `None` for a deactivated or unknown account.
    pub(super) async fn load(&self, user_id: i64) -> Result<Option<(Caller, u64)>, GqlError> {
        if let Ok(cache) = self.cache.lock()
            && let Some((principal, token, stamp, at)) = cache.get(&user_id)
            && at.elapsed() < PRINCIPAL_TTL
        {
            let caller = Caller {
                principal: principal.clone(),
                token: token.clone(),
            };
            return Ok(Some((caller, *stamp)));
        }
        let principal = auth::principal(&self.db, user_id).await.map_err(|err| {
            tracing::error!(%err, "loading the caller");
            GqlError::new(
                503,
                ErrorCode::Unavailable,
                "the database is unavailable; try again",
            )
        })?;
        let Some((principal, stamp)) = principal else {
            self.forget(user_id);
            return Ok(None);
        };
        let token = self.mint(&principal)?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > SWEEP_AT {
                cache.retain(|_, (_, _, _, at)| at.elapsed() < PRINCIPAL_TTL);
            }
            cache.insert(
                user_id,
                (principal.clone(), token.clone(), stamp, Instant::now()),
            );
        }
        Ok(Some((Caller { principal, token }, stamp)))
    }

    /// A per-request token for `principal`.
    pub(super) fn mint(&self, principal: &Principal) -> Result<String, GqlError> {
        self.minter.mint(principal).map_err(|err| {
            tracing::error!(%err, "minting a token");
            GqlError::internal()
        })
    }

    /// Drops `user_id`'s cached principal: the next request reads the user row again.
    pub(super) fn forget(&self, user_id: i64) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(&user_id);
        }
    }
}
