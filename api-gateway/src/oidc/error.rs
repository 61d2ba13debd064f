//! Why a sign-in with the identity provider did not succeed. The callback sends the browser
//! to the sign-in page with `oidc_error=<code>`, which the web client turns into words; the
//! details go only to the log.

/// A failed sign-in with the identity provider.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The person cancelled at the provider (`access_denied`): `cancelled`.
    #[error("cancelled at the provider")]
    Cancelled,
    /// The provider refused or failed for another reason (its `error` code): `denied`.
    #[error("the provider answered {0}")]
    Denied(String),
    /// The `state` is unknown, already used, expired, or was begun in another browser:
    /// `expired` (the person starts again).
    #[error("unknown, used or foreign state")]
    State,
    /// The code exchange or the ID token failed a check (signature, algorithm, issuer,
    /// audience, expiry, nonce): `invalid`.
    #[error("refused ID token: {0}")]
    Token(String),
    /// No email, or one the provider does not say it verified: `unverified`.
    #[error("no verified email")]
    Unverified,
    /// No Tessera user has this email and creating users is off: `no_user`.
    #[error("no user with this email")]
    NoUser,
    /// The user is deactivated: `deactivated`.
    #[error("the user is deactivated")]
    Deactivated,
    /// A group mapping is configured and none of the person's groups gives a role: `no_role`.
    #[error("no group gives a role")]
    NoRole,
    /// Too many failed sign-ins from this address: `locked`.
    #[error("too many failed sign-ins; try again in {0} seconds")]
    Locked(u64),
    /// Identity provider sign-in is not configured: `not_configured`.
    #[error("not configured")]
    NotConfigured,
    /// The provider, the database or Redis could not be reached: `unavailable`.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl OidcError {
    /// The code the sign-in page reads (`oidc_error=`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Cancelled => "cancelled",
            Self::Denied(_) => "denied",
            Self::State => "expired",
            Self::Token(_) => "invalid",
            Self::Unverified => "unverified",
            Self::NoUser => "no_user",
            Self::Deactivated => "deactivated",
            Self::NoRole => "no_role",
            Self::Locked(_) => "locked",
            Self::NotConfigured => "not_configured",
            Self::Unavailable(_) => "unavailable",
        }
    }

    /// Whether the failure counts against the address like a wrong password (everything but
    /// an outage, a lock already in force, or a person who changed their mind).
    pub fn counts_as_failure(&self) -> bool {
        !matches!(
            self,
            Self::Unavailable(_) | Self::Locked(_) | Self::Cancelled | Self::NotConfigured
        )
    }
}

impl From<db::sea_orm::DbErr> for OidcError {
    fn from(err: db::sea_orm::DbErr) -> Self {
        Self::Unavailable(err.to_string())
    }
}

impl From<crate::sessions::StoreError> for OidcError {
    fn from(err: crate::sessions::StoreError) -> Self {
        Self::Unavailable(err.to_string())
    }
}

impl From<redis::RedisError> for OidcError {
    fn from(err: redis::RedisError) -> Self {
        Self::Unavailable(err.to_string())
    }
}
