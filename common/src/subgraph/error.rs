//! The one error type of every subgraph's resolvers, and the one classification of database
//! errors. Each variant's doc says what the client sees; they become GraphQL errors with the
//! contract's `extensions.code` in one place, `From<ServiceError> for Error`.
//! `ServiceError` deliberately has no `Display`: async-graphql converts anything displayable
//! into an error without extensions, and this way `?` always goes through our conversion.

use crate::{ErrorCode, TicketState};
use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, RuntimeErr, sqlx};

/// The one message an INTERNAL error shows, whatever went wrong.
pub const INTERNAL_MESSAGE: &str = "internal error";

/// The dependency a database error names when it is UNAVAILABLE.
pub const DATABASE: &str = "the database";

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
    /// RATE_LIMITED: the caller did this too often; the message says when they may again.
    RateLimited(String),
    /// UNAVAILABLE: a dependency did not answer; safe to retry.
    Unavailable {
        /// What did not answer, as the message names it ("the database").
        dependency: &'static str,
        /// Logged, never shown.
        cause: String,
    },
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

    /// UNAVAILABLE: the database did not answer (or cannot now; see the cause).
    pub fn database_unavailable(cause: impl Into<String>) -> Self {
        Self::Unavailable {
            dependency: DATABASE,
            cause: cause.into(),
        }
    }

    /// The message the client sees: never internals.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated => "sign in to do this".into(),
            Self::NotFound(what) => format!("{what} not found"),
            Self::Forbidden(message)
            | Self::RateLimited(message)
            | Self::BadInput { message, .. } => message.clone(),
            Self::Conflict { expected, current } => {
                format!(
                    "the ticket has changed since version {expected}; it is now at version {current}"
                )
            }
            Self::InvalidTransition { state, action } => {
                format!("a ticket in state {state} cannot be {action}")
            }
            Self::Unavailable { dependency, .. } => {
                format!("{dependency} is unavailable; try again")
            }
            Self::Internal(_) => INTERNAL_MESSAGE.into(),
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
            Self::RateLimited(_) => ErrorCode::RateLimited,
            Self::Unavailable { .. } => ErrorCode::Unavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

/// Whether `err` says the database could not be reached or did not answer in time (the pool
/// timed out or is closed, the connection failed or broke mid-query): worth retrying. Anything
/// else, a constraint violation included, would fail the same way again.
pub fn is_transient(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(err)) | DbErr::Query(RuntimeErr::SqlxError(err)) => {
            matches!(
                err,
                sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
            )
        }
        _ => false,
    }
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        Self::from(&err)
    }
}

/// DataLoader batches share their error; it keeps its class (UNAVAILABLE or INTERNAL).
impl From<std::sync::Arc<DbErr>> for ServiceError {
    fn from(err: std::sync::Arc<DbErr>) -> Self {
        Self::from(&*err)
    }
}

impl From<&DbErr> for ServiceError {
    fn from(err: &DbErr) -> Self {
        if is_transient(err) {
            Self::database_unavailable(err.to_string())
        } else {
            Self::Internal(err.to_string())
        }
    }
}

impl From<ServiceError> for async_graphql::Error {
    fn from(err: ServiceError) -> Self {
        match &err {
            ServiceError::Internal(cause) => tracing::error!(%cause, "internal error"),
            ServiceError::Unavailable { dependency, cause } => {
                tracing::warn!(%cause, "{dependency} unavailable");
            }
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

/// What resolvers and the service layers return.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ConnAcquireErr, ConnectionTrait, Database};

    fn code_of(err: ServiceError) -> (String, String) {
        let err = async_graphql::Error::from(err);
        let code = err
            .extensions
            .as_ref()
            .and_then(|ext| ext.get("code"))
            .map(|v| v.to_string())
            .unwrap_or_default();
        (code, err.message)
    }

    /// A real constraint violation, from SQLite in memory.
    async fn unique_violation() -> DbErr {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        db.execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        db.execute_unprepared("INSERT INTO t VALUES (1)")
            .await
            .unwrap();
        db.execute_unprepared("INSERT INTO t VALUES (1)")
            .await
            .unwrap_err()
    }

    #[tokio::test]
    async fn a_constraint_violation_is_internal_not_safe_to_retry() {
        let violation = unique_violation().await;
        assert!(!is_transient(&violation), "{violation:?}");
        assert_eq!(
            code_of(violation.into()),
            ("\"INTERNAL\"".into(), INTERNAL_MESSAGE.into())
        );
    }

    #[test]
    fn connection_and_timeout_failures_are_unavailable() {
        let io = || std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        for err in [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            DbErr::Conn(RuntimeErr::Internal("refused".into())),
            DbErr::Query(RuntimeErr::SqlxError(sqlx::Error::Io(io()))),
            DbErr::Exec(RuntimeErr::SqlxError(sqlx::Error::PoolTimedOut)),
        ] {
            let shared = std::sync::Arc::new(DbErr::Custom(err.to_string()));
            assert!(is_transient(&err), "{err:?}");
            assert_eq!(
                code_of(err.into()),
                (
                    "\"UNAVAILABLE\"".into(),
                    "the database is unavailable; try again".into()
                )
            );
            // A loader's shared error that lost its class is not guessed to be transient.
            assert_eq!(code_of(shared.into()).0, "\"INTERNAL\"");
        }
    }

    #[test]
    fn other_database_errors_are_internal() {
        for err in [
            DbErr::RecordNotFound("x".into()),
            DbErr::Query(RuntimeErr::Internal("syntax".into())),
            DbErr::Custom("odd".into()),
        ] {
            assert_eq!(code_of(err.into()).0, "\"INTERNAL\"");
        }
    }

    #[test]
    fn errors_carry_their_extensions() {
        let err = async_graphql::Error::from(ServiceError::bad_input("cycle", "four digits"));
        let ext = err.extensions.unwrap();
        assert_eq!(ext.get("field").unwrap().to_string(), "\"cycle\"");
        let err = async_graphql::Error::from(ServiceError::Conflict {
            expected: 1,
            current: 2,
        });
        assert_eq!(
            err.extensions.unwrap().get("version").unwrap().to_string(),
            "2"
        );
    }
}
