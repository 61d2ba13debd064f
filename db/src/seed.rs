//! Demo data for the embedded default and for trying the platform: a few users per role, an
//! FSS who supports three faculty members, and about forty tickets spread over every state
//! with their history and some notes.
//!
//! The history is written as it would have happened, but without outbox rows: demo data is
//! past, not news, so nobody is emailed about it.

use crate::entity::{
    applicant, counter, note, ticket, ticket_event, ticket_supervisor, user, user_support,
};
use chrono::{DateTime, Duration, Utc};
use common::{Role, TicketEventKind, TicketState};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, Set,
    TransactionTrait,
};

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "tessera-demo";

/// A demo login, for printing at start.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    /// The role the login shows.
    pub role: Role,
    /// Sign in with this email...
    pub email: &'static str,
    /// ...and `DEMO_PASSWORD`.
    pub name: &'static str,
}

const USERS: &[(&str, &str, &[Role])] = &[
    ("admin@example.edu", "Avery Admin", &[Role::Admin]),
    (
        "budget@example.edu",
        "Bianca Budget",
        &[Role::BudgetDirector],
    ),
    (
        "chair@example.edu",
        "Chandra Chair",
        &[Role::AssociateChair],
    ),
    (
        "gradoffice@example.edu",
        "Gwen Graduate",
        &[Role::GradOffice],
    ),
    ("registry@example.edu", "Omar Office", &[Role::GradOffice]),
    ("ada@example.edu", "Ada Lovelace", &[Role::Faculty]),
    ("alan@example.edu", "Alan Turing", &[Role::Faculty]),
    ("grace@example.edu", "Grace Hopper", &[Role::Faculty]),
    ("barbara@example.edu", "Barbara Liskov", &[Role::Faculty]),
    ("donald@example.edu", "Donald Knuth", &[Role::Faculty]),
    ("fiona@example.edu", "Fiona Support", &[Role::Fss]),
];

const APPLICANTS: &[&str] = &[
    "Amara Okafor",
    "Bao Nguyen",
    "Camila Reyes",
    "Dmitri Volkov",
    "Elif Yılmaz",
    "Farah Haddad",
    "Gabriel Silva",
    "Hana Sato",
    "Ines Moreau",
    "Jonas Berg",
    "Kavya Iyer",
    "Liam O'Brien",
    "Mei Lin",
    "Nikolai Petrov",
    "Olivia \"Liv\" Chen",
    "Pedro Alves",
    "Qi Zhang",
    "Rosa Delgado",
    "Samuel Mensah",
    "Tara Singh",
    "Uma Patel",
    "Victor Hugo, Jr.",
    "Wen Li",
    "Yusuf Demir",
];

/// The logins the demo creates, one per role.
pub fn logins() -> Vec<DemoLogin> {
    let mut seen = Vec::new();
    USERS
        .iter()
        .filter_map(|(email, name, roles)| {
            let role = roles[0];
            (!seen.contains(&role)).then(|| {
                seen.push(role);
                DemoLogin { role, email, name }
            })
        })
        .collect()
}

/// Seeds the demo into `db` when it has no users yet. Returns whether it seeded.
pub async fn seed_if_empty(db: &DatabaseConnection) -> Result<bool, DbErr> {
    if user::Entity::find().count(db).await? > 0 {
        return Ok(false);
    }
    let hash = common::password::hash(DEMO_PASSWORD).map_err(|e| DbErr::Custom(e.to_string()))?;
    let txn = db.begin().await?;
    seed(&txn, &hash, crate::now()).await?;
    txn.commit().await?;
    Ok(true)
}

/// kind, actor, from, to, detail, at.
type HistoryEntry = (
    TicketEventKind,
    i64,
    Option<TicketState>,
    Option<TicketState>,
    Option<String>,
    DateTime<Utc>,
);

struct Ids {
    users: Vec<i64>,
}

impl Ids {
    fn by_email(&self, email: &str) -> i64 {
        USERS
            .iter()
            .position(|(e, ..)| *e == email)
            .map(|i| self.users[i])
            .unwrap_or(0)
    }
}

async fn seed<C: ConnectionTrait>(
    db: &C,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let start = now - Duration::days(60);
    let mut users = Vec::new();
    for (email, name, roles) in USERS {
        let row = user::ActiveModel {
            email: Set((*email).to_owned()),
            name: Set((*name).to_owned()),
            roles: Set(user::format_roles(roles)),
            password_hash: Set(Some(password_hash.to_owned())),
            active: Set(true),
            created_at: Set(start),
            updated_at: Set(start),
            ..Default::default()
        }
        .insert(db)
        .await?;
        users.push(row.id);
    }
    let ids = Ids { users };
    let fiona = ids.by_email("fiona@example.edu");
    let faculty: Vec<i64> = ["ada", "alan", "grace", "barbara", "donald"]
        .iter()
        .map(|n| ids.by_email(&format!("{n}@example.edu")))
        .collect();
    for supported in &faculty[..3] {
        user_support::ActiveModel {
            fss_id: Set(fiona),
            faculty_id: Set(*supported),
        }
        .insert(db)
        .await?;
    }
    let budget = ids.by_email("budget@example.edu");
    let chair = ids.by_email("chair@example.edu");
    let grad = ids.by_email("gradoffice@example.edu");

    // The state each ticket ends in; every state appears several times.
    let targets = [
        TicketState::Granted,
        TicketState::OfferRequested,
        TicketState::OfferPending,
        TicketState::OfferAccepted,
        TicketState::Initial,
        TicketState::OfferRefused,
        TicketState::Granted,
        TicketState::Cancelled,
    ];
    let count: i64 = 40;
    let mut applicant_no = 0usize;
    for i in 0..count {
        let number = i + 1;
        let owner = faculty[(i as usize) % faculty.len()];
        let target = targets[(i as usize) % targets.len()];
        let mut at = start + Duration::hours(i * 30);
        let mut history: Vec<HistoryEntry> = vec![(
            TicketEventKind::Created,
            budget,
            None,
            Some(TicketState::Initial),
            None,
            at,
        )];
        let mut state = TicketState::Initial;
        let mut step = |to: TicketState,
                        actor: i64,
                        detail: Option<String>,
                        history: &mut Vec<_>,
                        at: &mut DateTime<Utc>| {
            *at += Duration::hours(20);
            history.push((
                TicketEventKind::StateChanged,
                actor,
                Some(state),
                Some(to),
                detail,
                *at,
            ));
            state = to;
        };
        let mut applicant_id = None;
        let mut supervisors = Vec::new();
        if target == TicketState::Cancelled {
            step(
                TicketState::Cancelled,
                budget,
                Some("Funding line withdrawn for this cycle".into()),
                &mut history,
                &mut at,
            );
        } else if target != TicketState::Initial {
            step(TicketState::Granted, budget, None, &mut history, &mut at);
        }
        if matches!(
            target,
            TicketState::OfferRequested
                | TicketState::OfferPending
                | TicketState::OfferAccepted
                | TicketState::OfferRefused
        ) {
            let name = APPLICANTS[applicant_no % APPLICANTS.len()];
            applicant_no += 1;
            let applicant_number = format!("A2027-{:04}", 100 + applicant_no);
            let email = name
                .split(|c: char| !c.is_alphanumeric())
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(".")
                .to_lowercase();
            let applicant = applicant::ActiveModel {
                applicant_number: Set(applicant_number.clone()),
                name: Set(name.to_owned()),
                email: Set(Some(format!("{email}@mail.example.org"))),
                created_at: Set(at),
                updated_at: Set(at),
                ..Default::default()
            }
            .insert(db)
            .await?;
            applicant_id = Some(applicant.id);
            // The FSS files the request for the faculty members they support.
            let requester = if faculty[..3].contains(&owner) && i % 2 == 0 {
                fiona
            } else {
                owner
            };
            at += Duration::hours(20);
            history.push((
                TicketEventKind::ApplicantSet,
                requester,
                None,
                None,
                Some(format!("{name} ({applicant_number})")),
                at,
            ));
            supervisors.push(owner);
            if i % 3 == 0 {
                let co = faculty[(i as usize + 1) % faculty.len()];
                supervisors.push(co);
                history.push((
                    TicketEventKind::SupervisorsChanged,
                    requester,
                    None,
                    None,
                    None,
                    at,
                ));
            }
            step(
                TicketState::OfferRequested,
                requester,
                None,
                &mut history,
                &mut at,
            );
            if target != TicketState::OfferRequested {
                step(
                    TicketState::OfferPending,
                    chair,
                    None,
                    &mut history,
                    &mut at,
                );
            }
            if target == TicketState::OfferAccepted {
                step(
                    TicketState::OfferAccepted,
                    grad,
                    None,
                    &mut history,
                    &mut at,
                );
            } else if target == TicketState::OfferRefused {
                step(
                    TicketState::OfferRefused,
                    grad,
                    Some("Accepted an offer elsewhere".into()),
                    &mut history,
                    &mut at,
                );
            }
        }
        let residency = if i % 3 == 1 {
            common::Residency::International
        } else {
            common::Residency::Domestic
        };
        let cycle = if i < 6 { "2026" } else { "2027" };
        let created_at = history.first().map(|h| h.5).unwrap_or(start);
        let ticket = ticket::ActiveModel {
            number: Set(number),
            cycle: Set(cycle.to_owned()),
            residency: Set(residency.as_str().to_owned()),
            state: Set(state.as_str().to_owned()),
            owner_id: Set(owner),
            applicant_id: Set(applicant_id),
            created_by: Set(budget),
            created_at: Set(created_at),
            updated_at: Set(at),
            version: Set(history.len() as i32),
            ..Default::default()
        }
        .insert(db)
        .await?;
        for sup in &supervisors {
            ticket_supervisor::ActiveModel {
                ticket_id: Set(ticket.id),
                user_id: Set(*sup),
            }
            .insert(db)
            .await?;
        }
        for (kind, actor, from, to, detail, when) in history {
            ticket_event::ActiveModel {
                ticket_id: Set(ticket.id),
                kind: Set(kind.as_str().to_owned()),
                actor_id: Set(actor),
                from_state: Set(from.map(|s| s.as_str().to_owned())),
                to_state: Set(to.map(|s| s.as_str().to_owned())),
                detail: Set(detail),
                at: Set(when),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
        if i % 4 == 1 {
            let bodies = [
                (
                    owner,
                    "Strong publication record; the lab can co-fund the summer term.",
                ),
                (
                    grad,
                    "Transcripts received, reference letters still outstanding.",
                ),
            ];
            for (k, (author, body)) in bodies.iter().enumerate() {
                note::ActiveModel {
                    ticket_id: Set(ticket.id),
                    author_id: Set(*author),
                    body: Set((*body).to_owned()),
                    resolved: Set(k == 1 && i % 8 == 1),
                    resolved_by: Set((k == 1 && i % 8 == 1).then_some(owner)),
                    created_at: Set(created_at + Duration::hours(5 + k as i64)),
                    edited_at: Set(None),
                    ..Default::default()
                }
                .insert(db)
                .await?;
            }
        }
    }
    counter::Entity::update(counter::ActiveModel {
        name: Set(counter::TICKET_NUMBER.to_owned()),
        value: Set(count),
    })
    .exec(db)
    .await?;
    Ok(())
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
    let states = TicketState::ALL;
    for chunk_start in (0..count).step_by(500) {
        let chunk: Vec<i64> = (chunk_start..(chunk_start + 500).min(count)).collect();
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
                    states[(*i as usize) % states.len()]
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
                    owner_id: Set(faculty[(*i as usize) % faculty.len()]),
                    applicant_id: Set(with_applicant(*i)
                        .then(|| first_applicant.get(&format!("BENCH-{i:06}")).copied())
                        .flatten()),
                    created_by: Set(budget.id),
                    created_at: Set(now),
                    updated_at: Set(now),
                    version: Set(1),
                    ..Default::default()
                }
            })
            .collect();
        // Supervisors and notes chunk by chunk too, so that memory stays flat.
        let inserted = ticket::Entity::insert_many(rows)
            .exec_with_returning_many(conn)
            .await?;
        bulk_links_and_notes(conn, &inserted, &faculty, grad.id, now).await?;
    }
    counter::Entity::update(counter::ActiveModel {
        name: Set(counter::TICKET_NUMBER.into()),
        value: Set(count),
    })
    .exec(conn)
    .await?;
    conn.execute_unprepared("ANALYZE").await?;
    Ok(grad.id)
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
