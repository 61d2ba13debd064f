//! A fresh database with a small cast (a budget director, a faculty member and the FSS who
//! supports them) and helpers that commit ticket events the way ticket-service does.

use common::{Role, TicketEventKind, TicketEventMessage, TicketState};
use db::entity::{notification, ticket, ticket_event, user, user_support};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, QueryOrder, Set};

pub use testkit::Backend;

/// The cast's ids.
#[derive(Debug, Clone, Copy)]
pub struct Cast {
    pub budget: i64,
    pub faculty: i64,
    pub fss: i64,
}

pub const FACULTY_EMAIL: &str = "faculty@test.edu";
pub const FSS_EMAIL: &str = "fss@test.edu";

pub struct Fixture {
    pub db: DatabaseConnection,
    pub cast: Cast,
    pub database: testkit::TestDatabase,
}

async fn person(db: &DatabaseConnection, email: &str, name: &str, role: Role) -> i64 {
    let now = db::now();
    user::ActiveModel {
        email: Set(email.into()),
        name: Set(name.into()),
        roles: Set(user::format_roles(&[role])),
        password_hash: Set(None),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

impl Fixture {
    pub async fn new(backend: &Backend) -> Self {
        common::telemetry::init_for_tests();
        let database = testkit::TestDatabase::create(backend, "notify_test").await;
        let db = db::connect(&database.url).await.unwrap();
        db::migrate(&db).await.unwrap();
        let cast = Cast {
            budget: person(&db, "budget@test.edu", "Bea Budget", Role::BudgetDirector).await,
            faculty: person(&db, FACULTY_EMAIL, "Fran Faculty", Role::Faculty).await,
            fss: person(&db, FSS_EMAIL, "Sam Support", Role::Fss).await,
        };
        user_support::ActiveModel {
            fss_id: Set(cast.fss),
            faculty_id: Set(cast.faculty),
        }
        .insert(&db)
        .await
        .unwrap();
        Self { db, cast, database }
    }

    /// Commits `count` tickets of the faculty member, each granted by the budget director
    /// (a ticket row, its history row), and returns the events' stream messages: each
    /// emails the owner and the FSS.
    pub async fn granted_tickets(&self, count: usize) -> Vec<TicketEventMessage> {
        let now = db::now();
        let last = ticket::Entity::find()
            .order_by_desc(ticket::Column::Number)
            .one(&self.db)
            .await
            .unwrap()
            .map_or(0, |t| t.number);
        let mut messages = Vec::with_capacity(count);
        for i in 0..count {
            let number = last + 1 + i64::try_from(i).unwrap();
            let row = ticket::ActiveModel {
                number: Set(number),
                cycle: Set("2027".into()),
                residency: Set("DOMESTIC".into()),
                state: Set(TicketState::Granted.as_str().into()),
                owner_id: Set(self.cast.faculty),
                applicant_id: Set(None),
                created_by: Set(self.cast.budget),
                created_at: Set(now),
                updated_at: Set(now),
                version: Set(2),
                ..Default::default()
            }
            .insert(&self.db)
            .await
            .unwrap();
            let event = ticket_event::ActiveModel {
                ticket_id: Set(row.id),
                kind: Set(TicketEventKind::StateChanged.as_str().into()),
                actor_id: Set(self.cast.budget),
                from_state: Set(Some(TicketState::Initial.as_str().into())),
                to_state: Set(Some(TicketState::Granted.as_str().into())),
                detail: Set(None),
                at: Set(now),
                ..Default::default()
            }
            .insert(&self.db)
            .await
            .unwrap();
            messages.push(TicketEventMessage {
                event_id: event.id,
                ticket_id: row.id,
                ticket_number: number,
                kind: TicketEventKind::StateChanged,
                actor_id: self.cast.budget,
                from_state: Some(TicketState::Initial),
                to_state: Some(TicketState::Granted),
                state: TicketState::Granted,
                owner_id: self.cast.faculty,
                supervisor_ids: Vec::new(),
                applicant: None,
                detail: None,
                at: now,
            });
        }
        messages
    }

    pub async fn notifications(&self) -> Vec<notification::Model> {
        notification::Entity::find()
            .order_by_asc(notification::Column::Id)
            .all(&self.db)
            .await
            .unwrap()
    }

    /// The notifications once `count` exist and none is QUEUED (or after a generous wait, so
    /// the assertion that follows fails instead of the test hanging).
    pub async fn settled(&self, count: usize) -> Vec<notification::Model> {
        let mut rows = Vec::new();
        for _ in 0..1_200 {
            rows = self.notifications().await;
            if rows.len() >= count && rows.iter().all(|r| r.status != "QUEUED") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        rows
    }

    pub async fn cleanup(self) {
        self.db.close().await.ok();
        self.database.remove().await;
    }
}
