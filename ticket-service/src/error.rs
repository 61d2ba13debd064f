//! The service's errors. Each variant's doc says what the client sees; they become GraphQL
//! errors with the contract's `extensions.code` in one place, `From<ServiceError> for Error`.
//! `ServiceError` deliberately has no `Display`: async-graphql converts anything displayable
//! into an error without extensions, and this way `?` always goes through our conversion.

use async_graphql::ErrorExtensions;
use common::{ErrorCode, TicketState};
use sea_orm::DbErr;

/// Anything a resolver can fail with.
#[derive(Debug)]
pub enum ServiceError {
    /// UNAUTHENTICATED: the request carries no signed-in user.
    Unauthenticated,
    /// NOT_FOUND: no such object, or the caller may not see it.
    NotFound(&'static str),
    /// FORBIDDEN: the caller may see the object but not do this to it.
    Forbidden(String),
    /// BAD_USER_INPUT with `extensions.field` naming the input field.
    BadInput {
        /// The input field as the schema spells it.
        field: &'static str,
        /// What is wrong, in words a user understands.
        message: String,
    },
    /// CONFLICT with `extensions.version`: `expectedVersion` is stale.
    Conflict {
        /// The version the caller sent.
        expected: i32,
        /// The version the ticket is at.
        current: i32,
    },
    /// INVALID_TRANSITION with `extensions.state`: the state does not allow the action.
    InvalidTransition {
        /// The ticket's current state.
        state: TicketState,
        /// The action, as a past participle ("granted").
        action: &'static str,
    },
    /// UNAVAILABLE: the database did not answer; safe to retry.
    Unavailable(DbErr),
    /// INTERNAL: logged with its cause, never shown.
    Internal(String),
}

impl ServiceError {
    /// BAD_USER_INPUT naming `field`.
    pub fn bad_input(field: &'static str, message: impl Into<String>) -> Self {
        Self::BadInput {
            field,
            message: message.into(),
        }
    }

    /// The message the client sees: never internals.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated => "sign in to do this".into(),
            Self::NotFound(what) => format!("{what} not found"),
            Self::Forbidden(message) | Self::BadInput { message, .. } => message.clone(),
            Self::Conflict { expected, current } => {
                format!(
                    "the ticket has changed since version {expected}; it is now at version {current}"
                )
            }
            Self::InvalidTransition { state, action } => {
                format!("a ticket in state {state} cannot be {action}")
            }
            Self::Unavailable(_) => "the database is unavailable; try again".into(),
            Self::Internal(_) => "internal error".into(),
        }
    }

    /// The contract code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::BadInput { .. } => ErrorCode::BadUserInput,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::InvalidTransition { .. } => ErrorCode::InvalidTransition,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        match &err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Self::Unavailable(err),
            _ => Self::Internal(err.to_string()),
        }
    }
}

/// DataLoader batches share their error; it keeps its class (UNAVAILABLE or INTERNAL).
impl From<std::sync::Arc<DbErr>> for ServiceError {
    fn from(err: std::sync::Arc<DbErr>) -> Self {
        match &*err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
                Self::Unavailable(DbErr::Custom(err.to_string()))
            }
            _ => Self::Internal(err.to_string()),
        }
    }
}

impl From<ServiceError> for async_graphql::Error {
    fn from(err: ServiceError) -> Self {
        match &err {
            ServiceError::Internal(cause) => tracing::error!(%cause, "internal error"),
            ServiceError::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            _ => {}
        }
        let code = err.code();
        async_graphql::Error::new(err.message()).extend_with(|_, ext| {
            ext.set("code", code.as_str());
            match &err {
                ServiceError::BadInput { field, .. } => ext.set("field", *field),
                ServiceError::Conflict { current, .. } => ext.set("version", *current),
                ServiceError::InvalidTransition { state, .. } => ext.set("state", state.as_str()),
                _ => {}
            }
        })
    }
}

/// What resolvers and the service layer return.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
