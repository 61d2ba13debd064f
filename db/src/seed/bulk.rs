//! Benchmark data: many tickets inserted in bulk, chunk by chunk, without history.

use crate::entity::{applicant, counter, note, ticket, ticket_supervisor, user};
use chrono::{DateTime, Utc};
use common::{Role, TicketState};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, Set};

/// The bench's users.
struct People {
    budget: i64,
    grad: i64,
    faculty: Vec<i64>,
}

/// Benchmark data: a budget director, a graduate office reader (`grad@bench.edu`, with
/// `password_hash` so it can sign in), twenty faculty, and `count` tickets spread over every
/// state, half with an applicant, a co-supervisor and two notes, inserted in bulk (no history).
/// Returns the reader's user id. PostgreSQL only (it ends with `ANALYZE`).
pub async fn bulk(
    conn: &DatabaseConnection,
    count: i64,
    password_hash: Option<String>,
) -> Result<i64, DbErr> {
    let now = crate::now();
    let people = bulk_people(conn, password_hash, now).await?;
    for chunk_start in (0..count).step_by(500) {
        let chunk: Vec<i64> = (chunk_start..(chunk_start + 500).min(count)).collect();
        bulk_chunk(conn, &chunk, &people, now).await?;
    }
    counter::Entity::update(counter::ActiveModel {
        name: Set(counter::TICKET_NUMBER.into()),
        value: Set(count),
    })
    .exec(conn)
    .await?;
    conn.execute_unprepared("ANALYZE").await?;
    Ok(people.grad)
}

/// The budget director, the graduate office reader and twenty faculty.
async fn bulk_people(
    conn: &DatabaseConnection,
    password_hash: Option<String>,
    now: DateTime<Utc>,
) -> Result<People, DbErr> {
    let mk = |email: String, name: String, role: Role| user::ActiveModel {
        email: Set(email),
        name: Set(name),
        roles: Set(role.as_str().into()),
        password_hash: Set(password_hash.clone()),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let budget = mk(
        "budget@bench.edu".into(),
        "Budget".into(),
        Role::BudgetDirector,
    )
    .insert(conn)
    .await?;
    let grad = mk("grad@bench.edu".into(), "Grad".into(), Role::GradOffice)
        .insert(conn)
        .await?;
    let mut faculty = Vec::new();
    for i in 0..20 {
        faculty.push(
            mk(
                format!("f{i}@bench.edu"),
                format!("Faculty {i:02}"),
                Role::Faculty,
            )
            .insert(conn)
            .await?
            .id,
        );
    }
    Ok(People {
        budget: budget.id,
        grad: grad.id,
        faculty,
    })
}

/// Tickets `chunk` (numbered from 0) with their applicants, supervisors and notes.
async fn bulk_chunk(
    conn: &DatabaseConnection,
    chunk: &[i64],
    people: &People,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let with_applicant = |i: i64| i % 2 == 0;
    let applicants: Vec<applicant::ActiveModel> = chunk
        .iter()
        .filter(|i| with_applicant(**i))
        .map(|i| applicant::ActiveModel {
            applicant_number: Set(format!("BENCH-{i:06}")),
            name: Set(format!("Applicant {i}")),
            email: Set(Some(format!("applicant{i}@example.org"))),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    // The inserted rows come back with their ids: reading applicants back after every
    // chunk made seeding quadratic.
    let first_applicant = applicant::Entity::insert_many(applicants)
        .exec_with_returning_many(conn)
        .await?
        .into_iter()
        .map(|a| (a.applicant_number.clone(), a.id))
        .collect::<std::collections::HashMap<_, _>>();
    let rows: Vec<ticket::ActiveModel> = chunk
        .iter()
        .map(|i| {
            // Applicants sit on tickets in states that hold one; the rest are spread evenly.
            let state = if with_applicant(*i) {
                [
                    TicketState::OfferRequested,
                    TicketState::OfferPending,
                    TicketState::OfferAccepted,
                ][(*i as usize / 2) % 3]
            } else {
                TicketState::ALL[(*i as usize) % TicketState::ALL.len()]
            };
            ticket::ActiveModel {
                number: Set(i + 1),
                cycle: Set("2027".into()),
                residency: Set(if i % 3 == 0 {
                    "INTERNATIONAL"
                } else {
                    "DOMESTIC"
                }
                .into()),
                state: Set(state.as_str().into()),
                owner_id: Set(people.faculty[(*i as usize) % people.faculty.len()]),
                applicant_id: Set(with_applicant(*i)
                    .then(|| first_applicant.get(&format!("BENCH-{i:06}")).copied())
                    .flatten()),
                created_by: Set(people.budget),
                created_at: Set(now),
                updated_at: Set(now),
                due_at: Set(super::due_at(state, *i, now)),
                version: Set(1),
                ..Default::default()
            }
        })
        .collect();
    // Supervisors and notes chunk by chunk too, so that memory stays flat.
    let inserted = ticket::Entity::insert_many(rows)
        .exec_with_returning_many(conn)
        .await?;
    bulk_links_and_notes(conn, &inserted, &people.faculty, people.grad, now).await
}

/// The bench seed's supervisors (the owner and one colleague) and two notes on every ticket
/// that holds an applicant.
async fn bulk_links_and_notes(
    conn: &DatabaseConnection,
    tickets: &[ticket::Model],
    faculty: &[i64],
    grad: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut links = Vec::new();
    let mut notes = Vec::new();
    for t in tickets {
        if t.applicant_id.is_some() {
            links.push(ticket_supervisor::ActiveModel {
                ticket_id: Set(t.id),
                user_id: Set(t.owner_id),
            });
            let other = faculty[(t.number as usize + 1) % faculty.len()];
            links.push(ticket_supervisor::ActiveModel {
                ticket_id: Set(t.id),
                user_id: Set(other),
            });
            for k in 0..2 {
                notes.push(note::ActiveModel {
                    ticket_id: Set(t.id),
                    author_id: Set(grad),
                    body: Set(format!("Note {k} on ticket {}", t.number)),
                    resolved: Set(false),
                    resolved_by: Set(None),
                    created_at: Set(now),
                    edited_at: Set(None),
                    ..Default::default()
                });
            }
        }
    }
    for chunk in links.chunks(1000) {
        ticket_supervisor::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(conn)
            .await?;
    }
    for chunk in notes.chunks(1000) {
        note::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}
