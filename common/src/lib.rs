//! Code every Tessera service shares: configuration loading, the gateway-signed biscuit
//! format, the contract's error codes, the workflow vocabulary and the outbox event type.

/// The biscuit tokens the gateway mints and every subgraph verifies.
pub mod auth;
/// The clock of timed work, injectable so tests can move time.
pub mod clock;
/// Settings read from the environment, with one-line errors naming the variable.
pub mod config;
/// The `extensions.code` values of the public contract.
pub mod error;
/// The event written to the outbox with every ticket change and relayed to the stream.
pub mod event;
/// Export jobs' shared vocabulary: queue and progress topics, the progress message, where a
/// finished file lives and who may download it.
pub mod export;
/// The in-app inbox's shared vocabulary: the topic its changes are announced on and the
/// announcement.
pub mod inbox;
/// Roles, ticket states and the other enumerations stored in the database and sent on the wire.
pub mod model;
/// Nesting limits for untrusted JSON and GraphQL documents, checked before any recursive parse.
pub mod nesting;
/// Password hashing (argon2id with the OWASP parameters).
pub mod password;
/// Binding and serving, the subgraphs' token check and readiness answer.
pub mod server;
/// The event stream: Redis Streams, or an in-process log in the embedded default.
pub mod stream;
/// The subgraph kit: routes, schema builder and the one service error every subgraph uses.
pub mod subgraph;
/// Logging set-up shared by every binary.
pub mod telemetry;

pub use auth::{ApiToken, Principal, TokenMinter, TokenVerifier};
pub use error::ErrorCode;
pub use event::{ApplicantRef, TicketEventMessage};
pub use model::{
    ApiScope, Cadence, ExportStatus, NotificationChannel, NotificationStatus, NotificationTopic,
    Residency, Role, TicketEventKind, TicketState, WebhookDeliveryStatus,
};
