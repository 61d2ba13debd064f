//! Which tickets a caller may see, as a SQL condition, and the lookups of one ticket under it. The same rule, in Rust, is
//! `Principal::can_see_ticket`; both say what DESIGN.md says: FACULTY see tickets they own or
//! supervise, FSS those of the faculty they support, every other role every ticket.

use common::{Principal, Role, subgraph::error::Result};
use db::entity::{ticket, ticket_supervisor};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, Query},
};

/// A condition on `tickets` that keeps exactly the rows `caller` may see.
pub fn tickets_visible_to(caller: &Principal) -> Condition {
    let nothing = Condition::all().add(Expr::val(1).eq(0));
    let Some(me) = caller.user_id else {
        return nothing;
    };
    if caller.sees_every_ticket() {
        return Condition::all();
    }
    let mut any = Condition::any();
    let mut some = false;
    if caller.has_role(Role::Faculty) {
        some = true;
        any = any.add(ticket::Column::OwnerId.eq(me)).add(
            ticket::Column::Id.in_subquery(
                Query::select()
                    .column(ticket_supervisor::Column::TicketId)
                    .from(ticket_supervisor::Entity)
                    .and_where(ticket_supervisor::Column::UserId.eq(me))
                    .to_owned(),
            ),
        );
    }
    if caller.has_role(Role::Fss) && !caller.supports.is_empty() {
        some = true;
        any = any.add(ticket::Column::OwnerId.is_in(caller.supports.clone()));
    }
    if some { any } else { nothing }
}

/// The ticket `id` if `caller` may see it.
pub async fn find_visible<C: ConnectionTrait>(
    conn: &C,
    caller: &Principal,
    id: i64,
) -> Result<Option<ticket::Model>> {
    Ok(ticket::Entity::find_by_id(id)
        .filter(tickets_visible_to(caller))
        .one(conn)
        .await?)
}

/// The ticket numbered `number` if `caller` may see it.
pub async fn find_visible_by_number(
    db: &impl ConnectionTrait,
    caller: &Principal,
    number: i64,
) -> Result<Option<ticket::Model>> {
    Ok(ticket::Entity::find()
        .filter(ticket::Column::Number.eq(number))
        .filter(tickets_visible_to(caller))
        .one(db)
        .await?)
}
