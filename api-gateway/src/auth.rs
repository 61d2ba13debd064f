//! Who is calling: password sign-in with brute-force limits, the admin bootstrap, and the
//! per-request resolution of a session into the `Principal` the gateway vouches for.

use crate::sessions::{SessionStore, StoreError};
use common::{Principal, Role};
use db::entity::{user, user_support};
use db::sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
};
use redis::AsyncCommands;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::sync::Semaphore;

/// Why signing in failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email, wrong password or deactivated user: 401 with one fixed message.
    #[error("invalid email or password")]
    Invalid,
    /// Too many failures for this email or address: 429 with `Retry-After`.
    #[error("too many failed sign-ins; try again in {0} seconds")]
    Locked(u64),
    /// The database or Redis is down: 503.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl From<DbErr> for LoginError {
    fn from(err: DbErr) -> Self {
        Self::Unavailable(err.to_string())
    }
}

impl From<StoreError> for LoginError {
    fn from(err: StoreError) -> Self {
        Self::Unavailable(err.to_string())
    }
}

impl From<redis::RedisError> for LoginError {
    fn from(err: redis::RedisError) -> Self {
        Self::Unavailable(err.to_string())
    }
}

/// How many failures a key may have in one window before it is locked until the window ends.
#[derive(Debug, Clone, Copy)]
pub struct Lockout {
    /// Failures allowed per email per window.
    pub per_email: u64,
    /// Failures allowed per client address per window.
    pub per_address: u64,
    /// The window.
    pub window: Duration,
}

impl Default for Lockout {
    fn default() -> Self {
        Self {
            per_email: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Counts failed sign-ins per key (an email, an address), in Redis when configured so that
/// every replica shares the count.
enum Failures {
    Memory(Mutex<HashMap<String, (u64, Instant)>>),
    Redis(redis::aio::ConnectionManager),
}

impl Failures {
    /// The seconds left in the lock on `key`, if it has reached `limit`.
    async fn locked(
        &self,
        key: &str,
        limit: u64,
        window: Duration,
    ) -> Result<Option<u64>, LoginError> {
        match self {
            Self::Memory(map) => {
                let map = map
                    .lock()
                    .map_err(|_| LoginError::Unavailable("poisoned".into()))?;
                Ok(map.get(key).and_then(|(count, started)| {
                    let left = window.saturating_sub(started.elapsed());
                    (*count >= limit && !left.is_zero()).then(|| left.as_secs().max(1))
                }))
            }
            Self::Redis(manager) => {
                let mut conn = manager.clone();
                let count: Option<u64> = conn.get(key).await?;
                if count.unwrap_or(0) < limit {
                    return Ok(None);
                }
                let ttl: i64 = conn.ttl(key).await?;
                Ok((ttl > 0).then(|| ttl.unsigned_abs()))
            }
        }
    }

    async fn record(&self, key: &str, window: Duration) -> Result<(), LoginError> {
        match self {
            Self::Memory(map) => {
                let mut map = map
                    .lock()
                    .map_err(|_| LoginError::Unavailable("poisoned".into()))?;
                if map.len() > 100_000 {
                    map.retain(|_, (_, started)| started.elapsed() < window);
                }
                let entry = map.entry(key.to_string()).or_insert((0, Instant::now()));
                if entry.1.elapsed() >= window {
                    *entry = (0, Instant::now());
                }
                entry.0 += 1;
                Ok(())
            }
            Self::Redis(manager) => {
                let mut conn = manager.clone();
                let (_, _): (u64, i64) = redis::pipe()
                    .atomic()
                    .incr(key, 1)
                    .cmd("EXPIRE")
                    .arg(key)
                    .arg(window.as_secs().max(1))
                    .arg("NX")
                    .query_async(&mut conn)
                    .await?;
                Ok(())
            }
        }
    }

    async fn clear(&self, key: &str) -> Result<(), LoginError> {
        match self {
            Self::Memory(map) => {
                map.lock()
                    .map_err(|_| LoginError::Unavailable("poisoned".into()))?
                    .remove(key);
                Ok(())
            }
            Self::Redis(manager) => {
                let mut conn = manager.clone();
                let _: () = conn.del(key).await?;
                Ok(())
            }
        }
    }
}

/// Password sign-in.
pub struct Login {
    db: DatabaseConnection,
    failures: Failures,
    // Prepended to the failure counters' Redis keys.
    prefix: String,
    lockout: Lockout,
    // argon2id takes 19 MiB a hash: at most two at once, so a login flood cannot eat memory.
    hashing: Semaphore,
    // Verified against when the email is unknown, so both cases cost one hash.
    decoy_hash: Arc<str>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("lockout", &self.lockout)
            .finish_non_exhaustive()
    }
}

/// The user a sign-in succeeded for.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The user.
    pub user: user::Model,
    /// The new session's id (the cookie value).
    pub session_id: String,
}

impl Login {
    /// Sign-in over `db`, counting failures in Redis when given one.
    pub fn new(
        db: DatabaseConnection,
        redis: Option<redis::aio::ConnectionManager>,
        prefix: &str,
        lockout: Lockout,
    ) -> Result<Self, argon2::password_hash::Error> {
        let failures = match redis {
            Some(manager) => Failures::Redis(manager),
            None => Failures::Memory(Mutex::new(HashMap::new())),
        };
        Ok(Self {
            db,
            failures,
            prefix: prefix.to_string(),
            lockout,
            hashing: Semaphore::new(2),
            decoy_hash: common::password::hash("not a password anyone has")?.into(),
        })
    }

    /// Checks `email` and `password` and opens a session. `address` is the client's IP.
    pub async fn sign_in(
        &self,
        sessions: &SessionStore,
        email: &str,
        password: &str,
        address: &str,
    ) -> Result<SignedIn, LoginError> {
        let email_key = format!(
            "{}:login-failures:email:{}",
            self.prefix,
            email.trim().to_lowercase()
        );
        let address_key = format!("{}:login-failures:addr:{address}", self.prefix);
        for (key, limit) in [
            (&email_key, self.lockout.per_email),
            (&address_key, self.lockout.per_address),
        ] {
            if let Some(left) = self
                .failures
                .locked(key, limit, self.lockout.window)
                .await?
            {
                return Err(LoginError::Locked(left));
            }
        }
        let found = user::Entity::find()
            .filter(email_is(email))
            .one(&self.db)
            .await?;
        let stored = found
            .as_ref()
            .and_then(|u| u.password_hash.clone())
            .map(Arc::<str>::from)
            .unwrap_or_else(|| self.decoy_hash.clone());
        let permit = self
            .hashing
            .acquire()
            .await
            .map_err(|_| LoginError::Unavailable("closing".into()))?;
        let candidate = password.to_string();
        let matches =
            tokio::task::spawn_blocking(move || common::password::verify(&candidate, &stored))
                .await
                .map_err(|e| LoginError::Unavailable(e.to_string()))?;
        drop(permit);
        match found {
            Some(user) if matches && user.active && user.password_hash.is_some() => {
                self.failures.clear(&email_key).await?;
                let session_id = sessions.create(user.id).await?;
                Ok(SignedIn { user, session_id })
            }
            _ => {
                self.failures
                    .record(&email_key, self.lockout.window)
                    .await?;
                self.failures
                    .record(&address_key, self.lockout.window)
                    .await?;
                Err(LoginError::Invalid)
            }
        }
    }
}

/// `lower(email) = lower(given)`: emails are unique case-insensitively (the database's index).
fn email_is(email: &str) -> db::sea_orm::sea_query::SimpleExpr {
    use db::sea_orm::sea_query::{Expr, Func};
    Expr::expr(Func::lower(Expr::col(user::Column::Email))).eq(email.trim().to_lowercase())
}

/// Creates the configured administrator when no active ADMIN exists.
pub async fn bootstrap_admin(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
) -> anyhow::Result<bool> {
    let admins = user::Entity::find()
        .filter(user::Column::Roles.contains(Role::Admin.as_str()))
        .filter(user::Column::Active.eq(true))
        .all(db)
        .await?;
    if admins.iter().any(|u| u.role_list().contains(&Role::Admin)) {
        return Ok(false);
    }
    let hash = common::password::hash(password)
        .map_err(|e| anyhow::anyhow!("TESSERA_ADMIN_PASSWORD: cannot hash: {e}"))?;
    let now = db::now();
    let existing = user::Entity::find().filter(email_is(email)).one(db).await?;
    match existing {
        // The address belongs to someone already: make them the (active) administrator.
        Some(found) => {
            let mut roles = found.role_list();
            roles.push(Role::Admin);
            roles.sort();
            roles.dedup();
            let mut model: user::ActiveModel = found.into();
            model.roles = Set(user::format_roles(&roles));
            model.password_hash = Set(Some(hash));
            model.active = Set(true);
            model.updated_at = Set(now);
            model.update(db).await?;
        }
        None => {
            user::ActiveModel {
                email: Set(email.trim().to_string()),
                name: Set("Administrator".to_string()),
                roles: Set(user::format_roles(&[Role::Admin])),
                password_hash: Set(Some(hash)),
                active: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
    }
    Ok(true)
}

/// Loads the principal for `user_id`: `None` when the user is gone or deactivated.
pub async fn principal(db: &DatabaseConnection, user_id: i64) -> Result<Option<Principal>, DbErr> {
    let Some(found) = user::Entity::find_by_id(user_id).one(db).await? else {
        return Ok(None);
    };
    if !found.active {
        return Ok(None);
    }
    let roles = found.role_list();
    let supports = if roles.contains(&Role::Fss) {
        user_support::Entity::find()
            .filter(user_support::Column::FssId.eq(user_id))
            .all(db)
            .await?
            .into_iter()
            .map(|s| s.faculty_id)
            .collect()
    } else {
        Vec::new()
    };
    Ok(Some(Principal::user(user_id, roles, supports)))
}
