//! `Query`: the caller's notifications (or a visible ticket's), and the entity resolvers for
//! `User` and `Ticket`.

use super::{caller, db, signed_in, types::*};
use crate::{error::ServiceError, records};
use async_graphql::{Context, ID, Object, Result};

/// The most notifications one request lists.
const MAX_FIRST: i32 = 100;

/// The root of notify-service's reads.
#[derive(Debug, Default)]
pub struct Query;

fn parse_id(field: &'static str, id: &ID) -> Result<i64, ServiceError> {
    id.trim().parse().map_err(|_| ServiceError::BadInput {
        field,
        message: format!("`{}` is not an id", id.as_str()),
    })
}

#[Object(name = "NotificationQuery")]
impl Query {
    /// With `ticketId`: the emails about that ticket (if the caller may see it); without: the
    /// caller's own, newest first.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        ticket_id: Option<ID>,
        #[graphql(default = 50)] first: Option<i32>,
    ) -> Result<Vec<Notification>> {
        let me = signed_in(ctx)?;
        let first = first.unwrap_or(50);
        if !(1..=MAX_FIRST).contains(&first) {
            return Err(ServiceError::BadInput {
                field: "first",
                message: format!("first must be between 1 and {MAX_FIRST}"),
            }
            .into());
        }
        let first = u64::try_from(first).unwrap_or(50);
        let rows = match ticket_id {
            Some(id) => {
                let Ok(ticket) = parse_id("ticketId", &id) else {
                    return Err(ServiceError::NotFound("ticket").into());
                };
                let visible = records::visible_tickets(db(ctx), caller(ctx), &[ticket])
                    .await
                    .map_err(ServiceError::from)?;
                if !visible.contains(&ticket) {
                    return Err(ServiceError::NotFound("ticket").into());
                }
                records::for_ticket(db(ctx), ticket, first)
                    .await
                    .map_err(ServiceError::from)?
            }
            None => records::for_recipient(db(ctx), me, first)
                .await
                .map_err(ServiceError::from)?,
        };
        Ok(rows.into_iter().map(Notification).collect())
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Result<User> {
        Ok(User(parse_id("id", &id)?))
    }

    #[graphql(entity)]
    async fn find_ticket_by_id(&self, id: ID) -> Result<Ticket> {
        Ok(Ticket(parse_id("id", &id)?))
    }
}
