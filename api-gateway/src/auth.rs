//! Who is calling: password sign-in with brute-force limits, the admin bootstrap, and the
//! per-request resolution of a session into the `Principal` the gateway vouches for.

use crate::sessions::{SessionStore, StoreError};
use common::{Principal, Role};
use db::entity::user::email_is;
use db::entity::user_role_change::{self, BOOTSTRAP};
use db::entity::{user, user_support};
use db::sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
    TransactionTrait,
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
    /// Password sign-in is turned off (`PASSWORD_LOGIN=off`) and this is not the break-glass
    /// administrator: 403 FORBIDDEN, the same whether the email exists or not.
    #[error("password sign-in is turned off; sign in with the identity provider")]
    PasswordOff,
    /// Too many failures for this email from this address, or from this address: 429 with
    /// `Retry-After`.
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

/// Brute-force limits, as OWASP advises: an address that keeps failing for one account, or
/// fails too often overall, is refused until its window ends; an account that fails from
/// everywhere is only slowed down, never locked, so nobody can lock someone else out and the
/// owner can still sign in from an address that has not failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Failures allowed for one email from one address per window (then 429 for that pair).
    pub per_pair: u64,
    /// Failures allowed from one client address per window, whatever the emails (then 429).
    pub per_address: u64,
    /// Failures an email may have per window, from any address, before every further
    /// attempt for it waits (`slowdown`).
    pub per_email: u64,
    /// The wait after `per_email` failures; it doubles with each further failure.
    pub first_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
    /// The window.
    pub window: Duration,
}

impl Default for Lockout {
    fn default() -> Self {
        Self {
            per_pair: 5,
            per_address: 20,
            per_email: 5,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            window: Duration::from_secs(15 * 60),
        }
    }
}

impl Lockout {
    /// How long an attempt for an email that failed `failures` times in the window waits
    /// before its password is checked: nothing up to `per_email`, then `first_delay`,
    /// doubling with each failure, at most `max_delay`.
    pub fn slowdown(&self, failures: u64) -> Duration {
        let Some(over) = failures.checked_sub(self.per_email) else {
            return Duration::ZERO;
        };
        let factor = 1u32.checked_shl(over.min(31) as u32).unwrap_or(u32::MAX);
        self.first_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }
}

/// Counts failed sign-ins per key (an email, an address), in Redis when configured so that
/// every replica shares the count.
enum Failures {
    Memory(Mutex<HashMap<String, (u64, Instant)>>),
    Redis(redis::aio::ConnectionManager),
}

impl Failures {
    /// The failures counted on `key` in its current window, and the seconds left in it.
    async fn count(&self, key: &str, window: Duration) -> Result<(u64, u64), LoginError> {
        match self {
            Self::Memory(map) => {
                let map = map
                    .lock()
                    .map_err(|_| LoginError::Unavailable("poisoned".into()))?;
                Ok(map
                    .get(key)
                    .map(|(count, started)| (*count, window.saturating_sub(started.elapsed())))
                    .filter(|(_, left)| !left.is_zero())
                    .map_or((0, 0), |(count, left)| (count, left.as_secs().max(1))))
            }
            Self::Redis(manager) => {
                let mut conn = manager.clone();
                let (count, ttl): (Option<u64>, i64) = redis::pipe()
                    .get(key)
                    .ttl(key)
                    .query_async(&mut conn)
                    .await?;
                Ok(match count {
                    Some(count) if ttl > 0 => (count, ttl.unsigned_abs()),
                    _ => (0, 0),
                })
            }
        }
    }

    /// The seconds left in the lock on `key`, if it has reached `limit`.
    async fn locked(
        &self,
        key: &str,
        limit: u64,
        window: Duration,
    ) -> Result<Option<u64>, LoginError> {
        let (count, left) = self.count(key, window).await?;
        Ok((count >= limit && left > 0).then_some(left))
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
    // Whether passwords are accepted, and from whom when they are off.
    methods: crate::oidc::SignInMethods,
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
        methods: crate::oidc::SignInMethods,
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
            methods,
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
        let email = email.trim().to_lowercase();
        if !self.methods.password_allowed(&email) {
            return Err(LoginError::PasswordOff);
        }
        // With passwords off, the break-glass address opens only an ADMIN's account.
        let admin_only = !self.methods.password;
        let email_key = format!("{}:login-failures:email:{email}", self.prefix);
        let pair_key = format!("{}:login-failures:pair:{address}:{email}", self.prefix);
        let address_key = self.address_key(address);
        for (key, limit) in [
            (&pair_key, self.lockout.per_pair),
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
        // The account as a whole is never locked: attempts for one that keeps failing wait
        // longer and longer, which makes guessing slow from any number of addresses while
        // its owner, from an address of their own, still gets in.
        let (failed, _) = self.failures.count(&email_key, self.lockout.window).await?;
        let wait = self.lockout.slowdown(failed);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let found = user::Entity::find()
            .filter(email_is(&email))
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
            Some(user)
                if matches
                    && user.active
                    && user.password_hash.is_some()
                    && (!admin_only || user.role_list().contains(&Role::Admin)) =>
            {
                self.failures.clear(&pair_key).await?;
                self.failures.clear(&email_key).await?;
                let session_id = sessions
                    .create(user.id, password_stamp(user.password_hash.as_deref()))
                    .await?;
                Ok(SignedIn { user, session_id })
            }
            _ => {
                for key in [&pair_key, &email_key, &address_key] {
                    self.failures.record(key, self.lockout.window).await?;
                }
                Err(LoginError::Invalid)
            }
        }
    }
}

impl Login {
    fn address_key(&self, address: &str) -> String {
        format!("{}:login-failures:addr:{address}", self.prefix)
    }

    /// The seconds left in the lock on client `address`, if too many sign-ins failed from it
    /// (of either kind: password and identity provider failures count together).
    pub async fn address_locked(&self, address: &str) -> Result<Option<u64>, LoginError> {
        self.failures
            .locked(
                &self.address_key(address),
                self.lockout.per_address,
                self.lockout.window,
            )
            .await
    }

    /// Counts a failed sign-in at the identity provider against client `address`.
    pub async fn address_failed(&self, address: &str) -> Result<(), LoginError> {
        self.failures
            .record(&self.address_key(address), self.lockout.window)
            .await
    }
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
    // The user and their role history commit together.
    let txn = db.begin().await?;
    let existing = user::Entity::find()
        .filter(email_is(email))
        .one(&txn)
        .await?;
    match existing {
        // The address belongs to someone already: make them the (active) administrator.
        Some(found) => {
            let (id, before) = (found.id, found.role_list());
            let mut roles = before.clone();
            roles.push(Role::Admin);
            roles.sort();
            roles.dedup();
            let mut model: user::ActiveModel = found.into();
            model.roles = Set(user::format_roles(&roles));
            model.password_hash = Set(Some(hash));
            model.active = Set(true);
            model.updated_at = Set(now);
            model.update(&txn).await?;
            user_role_change::record(&txn, id, &before, &roles, None, BOOTSTRAP).await?;
        }
        None => {
            let created = user::ActiveModel {
                email: Set(email.trim().to_string()),
                name: Set("Administrator".to_string()),
                roles: Set(user::format_roles(&[Role::Admin])),
                password_hash: Set(Some(hash)),
                active: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            user_role_change::record(&txn, created.id, &[], &[Role::Admin], None, BOOTSTRAP)
                .await?;
        }
    }
    txn.commit().await?;
    Ok(true)
}

/// A short stamp of a stored password hash (its salt makes every new password's differ): a
/// session remembers the stamp it was opened with and ends when the user's differs, so a new
/// password ends the sessions opened with the old one. The hash itself never leaves the
/// database row.
pub fn password_stamp(hash: Option<&str>) -> u64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(hash.unwrap_or_default().as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// Loads the principal for `user_id` with the stamp of their password: `None` when the user
/// is gone or deactivated.
pub async fn principal(
    db: &DatabaseConnection,
    user_id: i64,
) -> Result<Option<(Principal, u64)>, DbErr> {
    let Some(found) = user::Entity::find_by_id(user_id).one(db).await? else {
        return Ok(None);
    };
    if !found.active {
        return Ok(None);
    }
    let stamp = password_stamp(found.password_hash.as_deref());
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
    Ok(Some((Principal::user(user_id, roles, supports), stamp)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_that_keeps_failing_is_slowed_down_more_and_more_up_to_a_limit() {
        let lockout = Lockout::default();
        for failures in 0..=4 {
            assert_eq!(lockout.slowdown(failures), Duration::ZERO, "{failures}");
        }
        assert_eq!(lockout.slowdown(5), Duration::from_secs(1));
        assert_eq!(lockout.slowdown(6), Duration::from_secs(2));
        assert_eq!(lockout.slowdown(8), Duration::from_secs(8));
        assert_eq!(lockout.slowdown(9), Duration::from_secs(10));
        assert_eq!(lockout.slowdown(u64::MAX), Duration::from_secs(10));
    }

    #[test]
    fn every_new_password_gets_a_new_stamp() {
        let first = common::password::hash("first password here").unwrap();
        let again = common::password::hash("first password here").unwrap();
        assert_eq!(password_stamp(Some(&first)), password_stamp(Some(&first)));
        assert_ne!(password_stamp(Some(&first)), password_stamp(Some(&again)));
        assert_ne!(password_stamp(Some(&first)), password_stamp(None));
    }
}
