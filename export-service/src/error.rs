//! The service's errors, converted once into GraphQL errors with the contract's
//! `extensions.code`. No `Display`, so `?` always goes through that conversion.

use async_graphql::ErrorExtensions;
use common::ErrorCode;
use sea_orm::DbErr;

/// Anything a resolver can fail with.
#[derive(Debug)]
pub enum ServiceError {
    /// UNAUTHENTICATED: the request carries no signed-in user.
    Unauthenticated,
    /// NOT_FOUND: no such job, or the caller may not see it.
    NotFound(&'static str),
    /// BAD_USER_INPUT with `extensions.field`.
    BadInput {
        /// The argument as the schema spells it.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// UNAVAILABLE: the database or the job queue did not answer; safe to retry.
    Unavailable(String),
    /// INTERNAL: logged with its cause, never shown.
    Internal(String),
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        Self::Unavailable(err.to_string())
    }
}

impl From<ticket_service::error::ServiceError> for ServiceError {
    /// The ticket list's own checks (a filter's `cycle`, `ownerId`, `search`) keep their
    /// field and message.
    fn from(err: ticket_service::error::ServiceError) -> Self {
        use ticket_service::error::ServiceError as Listing;
        match err {
            Listing::BadInput { field, message } => Self::BadInput { field, message },
            Listing::Unavailable(db) => Self::Unavailable(db.to_string()),
            other => Self::Internal(format!("ticket list: {}", other.message())),
        }
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
            ServiceError::NotFound(what) => {
                (ErrorCode::NotFound, format!("{what} not found"), None)
            }
            ServiceError::BadInput { field, message } => {
                (ErrorCode::BadUserInput, message, Some(field))
            }
            ServiceError::Unavailable(cause) => {
                tracing::error!(%cause, "dependency unavailable");
                (
                    ErrorCode::Unavailable,
                    "a dependency is unavailable; try again".to_string(),
                    None,
                )
            }
            ServiceError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                (
                    ErrorCode::Internal,
                    "something went wrong".to_string(),
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
