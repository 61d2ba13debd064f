//! The service's errors, converted once into GraphQL errors with the contract's
//! `extensions.code`. No `Display`, so `?` always goes through that conversion.

use async_graphql::ErrorExtensions;
use common::ErrorCode;
use sea_orm::DbErr;
use std::sync::Arc;

/// Anything a resolver can fail with.
#[derive(Debug)]
pub enum ServiceError {
    /// UNAUTHENTICATED: the request carries no signed-in user.
    Unauthenticated,
    /// FORBIDDEN: signed in, but the caller's roles do not allow it, or it is not the
    /// caller's to read or change.
    Forbidden(&'static str),
    /// NOT_FOUND: no such object, or the caller may not see it.
    NotFound(&'static str),
    /// BAD_USER_INPUT with `extensions.field`.
    BadInput {
        /// The argument as the schema spells it.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// UNAVAILABLE: the database did not answer; safe to retry.
    Unavailable(String),
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        Self::Unavailable(err.to_string())
    }
}

impl From<Arc<DbErr>> for ServiceError {
    fn from(err: Arc<DbErr>) -> Self {
        Self::Unavailable(err.to_string())
    }
}

impl From<ServiceError> for async_graphql::Error {
    fn from(err: ServiceError) -> Self {
        let (code, message, field) = match err {
            ServiceError::Unauthenticated => (
                ErrorCode::Unauthenticated,
                "sign in to do this".to_string(),
                None,
            ),
            ServiceError::Forbidden(message) => (ErrorCode::Forbidden, message.to_string(), None),
            ServiceError::NotFound(what) => {
                (ErrorCode::NotFound, format!("{what} not found"), None)
            }
            ServiceError::BadInput { field, message } => {
                (ErrorCode::BadUserInput, message, Some(field))
            }
            ServiceError::Unavailable(cause) => {
                tracing::error!(%cause, "database unavailable");
                (
                    ErrorCode::Unavailable,
                    "the database is unavailable; try again".to_string(),
                    None,
                )
            }
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code.as_str());
            if let Some(field) = field {
                ext.set("field", field);
            }
        })
    }
}
