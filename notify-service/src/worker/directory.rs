//! The people a batch of events concerns, read once per batch, and each recipient's email
//! rendered from an event and them.

use super::Worker;
use crate::{
    email::{self, Email},
    preferences,
    recipients::{self, BROADCAST_ROLES, Directory, Person},
};
use common::TicketEventMessage;
use db::entity::{user, user_support};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use std::collections::{BTreeSet, HashMap};

/// The names of everyone the events name, active or not, by user id.
pub(super) type Names = HashMap<i64, String>;

impl Worker {
    /// `recipient`'s email about `event`.
    pub(super) fn render(
        &self,
        event: &TicketEventMessage,
        dir: &Directory,
        names: &Names,
        recipient: i64,
    ) -> Email {
        let person = dir.people.get(&recipient);
        email::render(
            event,
            &email::Context {
                to_name: person.map_or("", |p| p.name.as_str()),
                to_email: person.map_or("", |p| p.email.as_str()),
                actor_name: names.get(&event.actor_id).map_or("Someone", String::as_str),
                withdrawn: recipients::withdrawn(event, dir),
                public_url: &self.inner.settings.public_url,
                zone: dir
                    .preferences
                    .get(&recipient)
                    .and_then(|p| p.time_zone)
                    .unwrap_or(self.inner.settings.office_zone),
            },
        )
    }

    /// What every email about `event` says first: its inbox items' title and summary.
    pub(super) fn headline(
        &self,
        event: &TicketEventMessage,
        dir: &Directory,
        names: &Names,
    ) -> email::Headline {
        email::headline(
            event,
            &email::Context {
                to_name: "",
                to_email: "",
                actor_name: names.get(&event.actor_id).map_or("Someone", String::as_str),
                withdrawn: recipients::withdrawn(event, dir),
                public_url: &self.inner.settings.public_url,
                zone: self.inner.settings.office_zone,
            },
        )
    }
}

/// Everyone `events` may concern (see [`Directory`]), and the names of everyone they name,
/// active or not (an actor who has left is still named in the email).
pub(super) async fn load_directory<'a>(
    db: &DatabaseConnection,
    events: impl Iterator<Item = &'a TicketEventMessage>,
) -> Result<(Directory, Names), DbErr> {
    let mut named = BTreeSet::new();
    let mut owners = BTreeSet::new();
    for event in events {
        owners.insert(event.owner_id);
        named.insert(event.owner_id);
        named.insert(event.actor_id);
        named.extend(event.supervisor_ids.iter().copied());
    }
    let mut dir = Directory::default();
    if owners.is_empty() {
        return Ok((dir, HashMap::new()));
    }
    for link in user_support::Entity::find()
        .filter(user_support::Column::FacultyId.is_in(owners))
        .all(db)
        .await?
    {
        named.insert(link.fss_id);
        dir.support
            .entry(link.faculty_id)
            .or_default()
            .push(link.fss_id);
    }
    let mut broadcast = Condition::any();
    for role in BROADCAST_ROLES {
        broadcast = broadcast.add(user::Column::Roles.like(format!("%{}%", role.as_str())));
    }
    let users = user::Entity::find()
        .filter(
            Condition::any().add(user::Column::Id.is_in(named)).add(
                Condition::all()
                    .add(user::Column::Active.eq(true))
                    .add(broadcast),
            ),
        )
        .all(db)
        .await?;
    let mut names = HashMap::new();
    for user in users {
        names.insert(user.id, user.name.clone());
        if user.active {
            let roles = user.role_list();
            dir.people.insert(
                user.id,
                Person {
                    name: user.name,
                    email: user.email,
                    roles,
                },
            );
        }
    }
    let ids: Vec<i64> = dir.people.keys().copied().collect();
    dir.preferences = preferences::load_many(db, &ids).await?;
    Ok((dir, names))
}
