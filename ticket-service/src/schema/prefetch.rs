//! Bulk reads for the fields under a list of tickets. The `tickets`, `ticket` and
//! `ticketByNumber` resolvers know every row they return and, from the query, which related
//! rows its fields will want; they read each kind once, all kinds at the same time, before
//! any field asks. So a page costs the same statements however loaded the machine is (the
//! DataLoaders batch what arrives within their delay, and a busy process splits one kind
//! over several batches), and the fields under it resolve from memory.
//!
//! Only queries prefetch: a mutation's fields read what the change left, through the loaders.

use super::loaders::{
    ApplicantLoader, HistoryLoader, LoadError, NotesLoader, SupervisorsLoader, UserLoader,
};
use async_graphql::{Context, Lookahead, dataloader::Loader};
use db::entity::{applicant, note, ticket, ticket_event, user};
use std::{collections::HashMap, sync::RwLock};

/// What the query resolvers of one request read ahead, by key.
#[derive(Default)]
pub struct Prefetched {
    users: HashMap<i64, user::Model>,
    applicants: HashMap<i64, applicant::Model>,
    supervisors: HashMap<i64, Vec<user::Model>>,
    notes: HashMap<i64, Vec<note::Model>>,
    history: HashMap<i64, Vec<ticket_event::Model>>,
}

/// The request's read-ahead rows (shared by its fields; written only by query resolvers).
#[derive(Default)]
pub struct Store(RwLock<Prefetched>);

impl Store {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Prefetched> {
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// User `id`, if a list read it ahead.
    pub fn user(&self, id: i64) -> Option<user::Model> {
        self.read().users.get(&id).cloned()
    }

    /// Applicant `id`, if a list read it ahead.
    pub fn applicant(&self, id: i64) -> Option<applicant::Model> {
        self.read().applicants.get(&id).cloned()
    }

    /// Ticket `id`'s supervisors, if a list read them ahead.
    pub fn supervisors(&self, ticket: i64) -> Option<Vec<user::Model>> {
        self.read().supervisors.get(&ticket).cloned()
    }

    /// Ticket `id`'s notes, if a list read them ahead.
    pub fn notes(&self, ticket: i64) -> Option<Vec<note::Model>> {
        self.read().notes.get(&ticket).cloned()
    }

    /// Ticket `id`'s history, if a list read it ahead.
    pub fn history(&self, ticket: i64) -> Option<Vec<ticket_event::Model>> {
        self.read().history.get(&ticket).cloned()
    }
}

/// The request's read-ahead store (attached by `schema::prepare`); an empty one when a
/// request was run without it.
pub fn store<'a>(ctx: &'a Context<'_>) -> &'a Store {
    static EMPTY: std::sync::LazyLock<Store> = std::sync::LazyLock::new(Store::default);
    ctx.data_opt::<Store>().unwrap_or(&EMPTY)
}

/// Whether `ticket` (the selection of a `Ticket`) asks for `field`.
fn wants(ticket: &Lookahead<'_>, field: &str) -> bool {
    ticket.field(field).exists()
}

/// Reads ahead what the fields of `rows` will want, `selection` being the selection of each
/// ticket (every kind in one statement, the kinds at the same time).
pub async fn tickets(
    ctx: &Context<'_>,
    selection: &[Lookahead<'_>],
    rows: &[&ticket::Model],
) -> Result<(), LoadError> {
    if rows.is_empty() {
        return Ok(());
    }
    let any = |field: &str| selection.iter().any(|s| wants(s, field));
    let db = common::subgraph::db(ctx).clone();
    let ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
    let mut people: Vec<i64> = Vec::new();
    if any("owner") {
        people.extend(rows.iter().map(|t| t.owner_id));
    }
    if any("createdBy") {
        people.extend(rows.iter().map(|t| t.created_by));
    }
    let applicants: Vec<i64> = if any("applicant") {
        rows.iter().filter_map(|t| t.applicant_id).collect()
    } else {
        Vec::new()
    };
    let (users, applicants, supervisors, notes, history) = tokio::try_join!(
        load(UserLoader(db.clone()), people),
        load(ApplicantLoader(db.clone()), applicants),
        load(
            SupervisorsLoader(db.clone()),
            when(any("supervisors"), &ids)
        ),
        load(NotesLoader(db.clone()), when(any("notes"), &ids)),
        load(HistoryLoader(db), when(any("history"), &ids)),
    )?;
    let store = store(ctx);
    let mut into = store
        .0
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    into.users.extend(users);
    into.applicants.extend(applicants);
    into.supervisors.extend(supervisors);
    into.notes.extend(notes);
    into.history.extend(history);
    Ok(())
}

/// `ids` when `wanted`, else none.
fn when(wanted: bool, ids: &[i64]) -> Vec<i64> {
    if wanted { ids.to_vec() } else { Vec::new() }
}

/// `loader`'s rows for `keys` (deduplicated and sorted, so the statement is the same for the
/// same keys); nothing for no keys.
async fn load<L: Loader<i64, Error = LoadError>>(
    loader: L,
    mut keys: Vec<i64>,
) -> Result<HashMap<i64, L::Value>, LoadError> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    keys.sort_unstable();
    keys.dedup();
    loader.load(&keys).await
}
