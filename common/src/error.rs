//! The error codes of the public contract (`extensions.code` on every GraphQL error).

use std::fmt;

/// One of the codes `spec/api.graphql` lists; the order of the variants is the precedence
/// DESIGN.md gives when several things are wrong at once (the first wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorCode {
    /// No valid session cookie or bearer token.
    Unauthenticated,
    /// No such object, or not visible to the caller.
    NotFound,
    /// Authenticated, but this role or token may not do this.
    Forbidden,
    /// Validation failed; `extensions.field` names the input field.
    BadUserInput,
    /// `expectedVersion` did not match; `extensions.version` holds the current version.
    Conflict,
    /// The ticket's state does not allow this action; `extensions.state` holds the state.
    InvalidTransition,
    /// Too many requests; `extensions.retryAfter` in seconds.
    RateLimited,
    /// Depth, complexity or alias limits exceeded.
    QueryTooComplex,
    /// A dependency is down; safe to retry.
    Unavailable,
    /// Anything else; the message never contains internals.
    Internal,
}

impl ErrorCode {
    /// Every code, in precedence order.
    pub const ALL: [ErrorCode; 10] = [
        Self::Unauthenticated,
        Self::NotFound,
        Self::Forbidden,
        Self::BadUserInput,
        Self::Conflict,
        Self::InvalidTransition,
        Self::RateLimited,
        Self::QueryTooComplex,
        Self::Unavailable,
        Self::Internal,
    ];

    /// The code as the contract spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::NotFound => "NOT_FOUND",
            Self::Forbidden => "FORBIDDEN",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::InvalidTransition => "INVALID_TRANSITION",
            Self::RateLimited => "RATE_LIMITED",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::Unavailable => "UNAVAILABLE",
            Self::Internal => "INTERNAL",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
