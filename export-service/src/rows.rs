//! A batch of tickets turned into export rows: their owners, supervisors, applicants and notes
//! loaded with one query each for the whole batch, whatever its size.

use crate::csv::Row;
use db::entity::{applicant, note, ticket, ticket_supervisor, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, sea_orm::FromQueryResult)]
struct Name {
    id: i64,
    name: String,
}

#[derive(Debug, sea_orm::FromQueryResult)]
struct Body {
    ticket_id: i64,
    body: String,
}

/// The rows of `tickets`, in their order.
pub async fn load<C: ConnectionTrait>(
    conn: &C,
    tickets: Vec<ticket::Model>,
) -> Result<Vec<Row>, DbErr> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
    let links = ticket_supervisor::Entity::find()
        .filter(ticket_supervisor::Column::TicketId.is_in(ids.iter().copied()))
        .all(conn)
        .await?;
    let people: BTreeSet<i64> = tickets
        .iter()
        .map(|t| t.owner_id)
        .chain(links.iter().map(|l| l.user_id))
        .collect();
    let names = names(conn, people).await?;
    let applicants = applicants(
        conn,
        tickets.iter().filter_map(|t| t.applicant_id).collect(),
    )
    .await?;
    let mut notes = notes(conn, ids).await?;
    let mut supervisors: HashMap<i64, Vec<(String, i64)>> = HashMap::new();
    for link in links {
        let name = names.get(&link.user_id).cloned().unwrap_or_default();
        supervisors
            .entry(link.ticket_id)
            .or_default()
            .push((name, link.user_id));
    }
    Ok(tickets
        .into_iter()
        .map(|t| {
            let applicant = t.applicant_id.and_then(|a| applicants.get(&a));
            let mut sups = supervisors.remove(&t.id).unwrap_or_default();
            sups.sort();
            Row {
                number: t.number,
                owner: names.get(&t.owner_id).cloned().unwrap_or_default(),
                supervisors: sups.into_iter().map(|(name, _)| name).collect(),
                applicant_number: applicant.map(|a| a.applicant_number.clone()),
                applicant_name: applicant.map(|a| a.name.clone()),
                notes: notes.remove(&t.id).unwrap_or_default(),
                created_at: t.created_at,
                updated_at: t.updated_at,
                due_at: t.due_at,
                cycle: t.cycle,
                residency: t.residency,
                state: t.state,
            }
        })
        .collect())
}

/// The names of the users `ids`, by id.
async fn names<C: ConnectionTrait>(
    conn: &C,
    ids: BTreeSet<i64>,
) -> Result<HashMap<i64, String>, DbErr> {
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Name)
        .filter(user::Column::Id.is_in(ids))
        .into_model::<Name>()
        .all(conn)
        .await?
        .into_iter()
        .map(|n| (n.id, n.name))
        .collect())
}

/// The applicants `ids`, by id (no query when there are none).
async fn applicants<C: ConnectionTrait>(
    conn: &C,
    ids: BTreeSet<i64>,
) -> Result<HashMap<i64, applicant::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(applicant::Entity::find()
        .filter(applicant::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect())
}

/// The note bodies of the tickets `ids`, oldest first, by ticket.
async fn notes<C: ConnectionTrait>(
    conn: &C,
    ids: Vec<i64>,
) -> Result<HashMap<i64, Vec<String>>, DbErr> {
    let mut notes: HashMap<i64, Vec<String>> = HashMap::new();
    for n in note::Entity::find()
        .select_only()
        .column(note::Column::TicketId)
        .column(note::Column::Body)
        .filter(note::Column::TicketId.is_in(ids))
        .order_by_asc(note::Column::CreatedAt)
        .order_by_asc(note::Column::Id)
        .into_model::<Body>()
        .all(conn)
        .await?
    {
        notes.entry(n.ticket_id).or_default().push(n.body);
    }
    Ok(notes)
}
