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
use common::Role;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, Set,
    TransactionTrait,
};

mod bulk;
mod story;

pub use bulk::bulk;
use story::Story;

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

/// A response date for an offer out with the applicant, spread from three days past to two
/// weeks ahead so that lists show overdue offers beside upcoming ones.
pub(crate) fn due_at(
    state: common::TicketState,
    i: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    (state == common::TicketState::OfferPending)
        .then(|| now + chrono::Duration::days(i % 5 * 4 - 3))
}

/// The demo's users, by the part they play.
struct Cast {
    budget: i64,
    chair: i64,
    grad: i64,
    fiona: i64,
    /// Ada, Alan, Grace, Barbara and Donald; Fiona supports the first three.
    faculty: Vec<i64>,
}

/// How many demo tickets there are.
const TICKETS: i64 = 40;

async fn seed<C: ConnectionTrait>(
    db: &C,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let start = now - Duration::days(60);
    let cast = seed_people(db, password_hash, start).await?;
    let mut applicants = 0usize;
    for i in 0..TICKETS {
        let story = Story::of_ticket(i, &cast, start, &mut applicants);
        write_story(db, i, story, &cast, start).await?;
    }
    counter::Entity::update(counter::ActiveModel {
        name: Set(counter::TICKET_NUMBER.to_owned()),
        value: Set(TICKETS),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// Every demo user, and Fiona's support of the first three faculty members.
async fn seed_people<C: ConnectionTrait>(
    db: &C,
    password_hash: &str,
    start: DateTime<Utc>,
) -> Result<Cast, DbErr> {
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
    let by_email = |email: &str| {
        USERS
            .iter()
            .position(|(e, ..)| *e == email)
            .map(|i| users[i])
            .unwrap_or(0)
    };
    let fiona = by_email("fiona@example.edu");
    let faculty: Vec<i64> = ["ada", "alan", "grace", "barbara", "donald"]
        .iter()
        .map(|n| by_email(&format!("{n}@example.edu")))
        .collect();
    for supported in &faculty[..3] {
        user_support::ActiveModel {
            fss_id: Set(fiona),
            faculty_id: Set(*supported),
        }
        .insert(db)
        .await?;
    }
    Ok(Cast {
        budget: by_email("budget@example.edu"),
        chair: by_email("chair@example.edu"),
        grad: by_email("gradoffice@example.edu"),
        fiona,
        faculty,
    })
}

/// Writes the `i`th ticket as `story` tells it: its applicant, the ticket, its supervisors,
/// its history, and (on every fourth) two notes.
async fn write_story<C: ConnectionTrait>(
    db: &C,
    i: i64,
    story: Story,
    cast: &Cast,
    start: DateTime<Utc>,
) -> Result<(), DbErr> {
    let applicant_id = match &story.applicant {
        Some(new) => Some(
            applicant::ActiveModel {
                applicant_number: Set(new.number.clone()),
                name: Set(new.name.to_owned()),
                email: Set(Some(new.email.clone())),
                created_at: Set(new.at),
                updated_at: Set(new.at),
                ..Default::default()
            }
            .insert(db)
            .await?
            .id,
        ),
        None => None,
    };
    let residency = if i % 3 == 1 {
        common::Residency::International
    } else {
        common::Residency::Domestic
    };
    let cycle = if i < 6 { "2026" } else { "2027" };
    let created_at = story.history.first().map(|h| h.5).unwrap_or(start);
    let ticket = ticket::ActiveModel {
        number: Set(i + 1),
        cycle: Set(cycle.to_owned()),
        residency: Set(residency.as_str().to_owned()),
        state: Set(story.state.as_str().to_owned()),
        owner_id: Set(story.owner),
        applicant_id: Set(applicant_id),
        created_by: Set(cast.budget),
        created_at: Set(created_at),
        updated_at: Set(story.at),
        due_at: Set(due_at(story.state, i, crate::now())),
        version: Set(story.history.len() as i32),
        ..Default::default()
    }
    .insert(db)
    .await?;
    for sup in &story.supervisors {
        ticket_supervisor::ActiveModel {
            ticket_id: Set(ticket.id),
            user_id: Set(*sup),
        }
        .insert(db)
        .await?;
    }
    for (kind, actor, from, to, detail, when) in story.history {
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
        write_notes(db, i, ticket.id, story.owner, cast.grad, created_at).await?;
    }
    Ok(())
}

/// The owner's note and the graduate office's on ticket `i`; the second is resolved on every
/// eighth ticket.
async fn write_notes<C: ConnectionTrait>(
    db: &C,
    i: i64,
    ticket_id: i64,
    owner: i64,
    grad: i64,
    created_at: DateTime<Utc>,
) -> Result<(), DbErr> {
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
            ticket_id: Set(ticket_id),
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
    Ok(())
}
