//! Cutting lists: one Relay page (`first`/`after`, `last`/`before`) with its cursors, a
//! count, and the batches of a walk through a whole list, all in the same keyset order.

use super::{
    DEFAULT_PAGE, Filter, MAX_PAGE, condition,
    cursor::{Cursor, beyond, decode, encode},
    order::{OrderField, Ordering, key_expr, key_of},
};
use common::{
    Principal,
    subgraph::error::{Result, ServiceError},
};
use db::entity::{ticket, user};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, SimpleExpr},
};
use std::collections::HashMap;

/// Which page: Relay's `first`/`after` or `last`/`before`.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// Rows after `after`.
    pub first: Option<i32>,
    /// A cursor from an earlier page.
    pub after: Option<String>,
    /// Rows before `before`.
    pub last: Option<i32>,
    /// A cursor from an earlier page.
    pub before: Option<String>,
}

/// One page of tickets, each with its cursor.
#[derive(Debug, Clone)]
pub struct Page {
    /// The rows in list order.
    pub rows: Vec<(ticket::Model, String)>,
    /// Whether rows follow this page.
    pub has_next: bool,
    /// Whether rows precede this page.
    pub has_previous: bool,
    /// The condition the page was cut from, for `totalCount`.
    pub condition: Condition,
}

/// One page of the tickets `caller` may see that match `filter`.
pub async fn page(
    db: &DatabaseConnection,
    caller: &Principal,
    filter: &Filter,
    ordering: Ordering,
    request: &PageRequest,
) -> Result<Page> {
    let cond = condition(caller, filter)?;
    let Window {
        backward,
        limit,
        after,
        before,
    } = Window::of(request, ordering)?;
    let key = key_expr(ordering.field);
    let id: SimpleExpr = Expr::col((ticket::Entity, ticket::Column::Id)).into();
    let mut page_cond = cond.clone();
    if let Some(c) = &after {
        page_cond = page_cond.add(beyond(ordering, c, true));
    }
    if let Some(c) = &before {
        page_cond = page_cond.add(beyond(ordering, c, false));
    }
    // Backward pages are read in reverse and turned around.
    let descending = ordering.descending != backward;
    let order = if descending { Order::Desc } else { Order::Asc };
    let mut rows = ticket::Entity::find()
        .filter(page_cond)
        .order_by(key.clone(), order.clone())
        .order_by(id, order)
        .limit(u64::try_from(limit).unwrap_or(0) + 1)
        .all(db)
        .await?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(0);
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    if backward {
        rows.reverse();
    }
    let owner_names = owner_names_for_keys(db, ordering, &rows).await?;
    let rows = rows
        .into_iter()
        .map(|row| {
            let cursor = cursor_of(ordering, &row, &owner_names);
            (row, cursor)
        })
        .collect();
    let (has_next, has_previous) = if backward {
        (before.is_some(), more)
    } else {
        (more, after.is_some())
    };
    Ok(Page {
        rows,
        has_next,
        has_previous,
        condition: cond,
    })
}

/// A page request, checked: its direction, its size and the cursors it starts from.
struct Window {
    /// Rows before `before` (`last`), read in reverse.
    backward: bool,
    limit: i32,
    after: Option<Cursor>,
    before: Option<Cursor>,
}

impl Window {
    /// `request` for a list in `ordering`, or BAD_USER_INPUT naming the argument at fault.
    fn of(request: &PageRequest, ordering: Ordering) -> Result<Self> {
        for (field, value) in [("first", request.first), ("last", request.last)] {
            if let Some(n) = value
                && !(0..=MAX_PAGE).contains(&n)
            {
                return Err(ServiceError::bad_input(
                    field,
                    format!("{field} must be between 0 and {MAX_PAGE}"),
                ));
            }
        }
        if request.first.is_some() && request.last.is_some() {
            return Err(ServiceError::bad_input(
                "last",
                "give either first or last, not both",
            ));
        }
        let cursor = |field: &'static str, raw: &Option<String>| {
            raw.as_deref()
                .map(|c| decode(field, c, ordering.field))
                .transpose()
        };
        Ok(Self {
            backward: request.last.is_some()
                || (request.before.is_some() && request.first.is_none()),
            limit: request.first.or(request.last).unwrap_or(DEFAULT_PAGE),
            after: cursor("after", &request.after)?,
            before: cursor("before", &request.before)?,
        })
    }
}

/// The cursor of `row` in a list in `ordering`.
fn cursor_of(
    ordering: Ordering,
    row: &ticket::Model,
    owner_names: &HashMap<i64, String>,
) -> String {
    encode(&Cursor {
        f: ordering.field,
        k: key_of(ordering.field, row, owner_names),
        id: row.id,
    })
}

/// How many tickets match a page's condition.
pub async fn count<C: ConnectionTrait>(db: &C, condition: Condition) -> Result<i64> {
    let n = ticket::Entity::find().filter(condition).count(db).await?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The owner names an ordering by owner name needs for the rows' cursors (none otherwise).
pub(super) async fn owner_names_for_keys<C: ConnectionTrait>(
    db: &C,
    ordering: Ordering,
    rows: &[ticket::Model],
) -> Result<HashMap<i64, String>> {
    if ordering.field != OrderField::OwnerName || rows.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.owner_id).collect();
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect())
}

/// One batch of a walk through a whole list (an export): the next `limit` tickets matching
/// `condition` after `after` (`None` at the start), in the same order and with the same keyset
/// as `page` but without its page-size limit, and the cursor to continue from (`None` once the
/// list is exhausted). Cursors are those of `page`, so a walk and the pages agree on order.
pub async fn batch<C: ConnectionTrait>(
    db: &C,
    condition: Condition,
    ordering: Ordering,
    after: Option<&str>,
    limit: u64,
) -> Result<(Vec<ticket::Model>, Option<String>)> {
    let mut cond = condition;
    if let Some(raw) = after {
        cond = cond.add(beyond(
            ordering,
            &decode("after", raw, ordering.field)?,
            true,
        ));
    }
    let key = key_expr(ordering.field);
    let id: SimpleExpr = Expr::col((ticket::Entity, ticket::Column::Id)).into();
    let order = if ordering.descending {
        Order::Desc
    } else {
        Order::Asc
    };
    let rows = ticket::Entity::find()
        .filter(cond)
        .order_by(key, order.clone())
        .order_by(id, order)
        .limit(limit)
        .all(db)
        .await?;
    let next = match rows.last() {
        Some(last) if u64::try_from(rows.len()).unwrap_or(u64::MAX) >= limit => {
            let names = owner_names_for_keys(db, ordering, std::slice::from_ref(last)).await?;
            Some(cursor_of(ordering, last, &names))
        }
        _ => None,
    };
    Ok((rows, next))
}
