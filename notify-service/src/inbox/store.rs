//! A user's inbox as data: a page of it (unread first, then newest, with keyset cursors),
//! counts, and marking items read. Every function takes the user whose inbox it reads: an
//! item is only ever read or changed by its own user.

use crate::error::ServiceError;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use db::entity::inbox_item;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait, sea_query::Expr,
};

/// The most items one page holds.
pub const MAX_FIRST: u64 = 100;

/// The most items one `markRead` names.
pub const MAX_MARK: usize = 100;

/// Where a page stopped: the part of the inbox (unread or read, as the item was when the
/// page was read) and the item's id. The inbox is two runs, each newest first: the unread
/// items, then the read ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The item was in the unread run.
    pub unread: bool,
    /// The item.
    pub id: i64,
}

const PREFIX: &str = "inbox:";

impl Cursor {
    /// The opaque text clients pass back as `after`.
    pub fn encode(self) -> String {
        let run = if self.unread { 'u' } else { 'r' };
        URL_SAFE_NO_PAD.encode(format!("{PREFIX}{run}:{}", self.id))
    }

    /// Reads a cursor of the inbox; BAD_USER_INPUT on `field` for anything else.
    pub fn decode(field: &'static str, raw: &str) -> Result<Self, ServiceError> {
        let bad =
            || ServiceError::bad_input(field, format!("`{raw}` is not a cursor of the inbox"));
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let rest = text.strip_prefix(PREFIX).ok_or_else(bad)?;
        let (run, id) = rest.split_once(':').ok_or_else(bad)?;
        let unread = match run {
            "u" => true,
            "r" => false,
            _ => return Err(bad()),
        };
        let id = id.parse().map_err(|_| bad())?;
        Ok(Self { unread, id })
    }
}

/// One page of an inbox.
#[derive(Debug, Clone)]
pub struct Page {
    /// The items, each with its cursor.
    pub items: Vec<(inbox_item::Model, String)>,
    /// Whether items follow.
    pub has_next: bool,
    /// Whether items precede (the page started after a cursor).
    pub has_previous: bool,
}

/// `user`'s items that their inbox shows: not those held for their next digest.
fn shown_to(user: i64) -> Condition {
    Condition::all()
        .add(inbox_item::Column::UserId.eq(user))
        .add(inbox_item::Column::HeldFor.is_null())
}

/// The `first` items of `user`'s inbox after `after`: unread ones first, newest first, then
/// (unless `unread_only`) the read ones, newest first. Two statements at most, each an
/// index range (`inbox_items_user_read_id`, then `inbox_items_user_id`). An item marked read
/// while a client pages may show again in the read run: it is read now.
pub async fn page(
    db: &DatabaseConnection,
    user: i64,
    first: u64,
    after: Option<Cursor>,
    unread_only: bool,
) -> Result<Page, DbErr> {
    let want = first + 1;
    let mut rows = Vec::new();
    if after.is_none_or(|c| c.unread) {
        let mut unread = inbox_item::Entity::find()
            .filter(shown_to(user))
            .filter(inbox_item::Column::ReadAt.is_null());
        if let Some(cursor) = after {
            unread = unread.filter(inbox_item::Column::Id.lt(cursor.id));
        }
        rows.extend(
            unread
                .order_by_desc(inbox_item::Column::Id)
                .limit(want)
                .all(db)
                .await?,
        );
    }
    let left = want.saturating_sub(rows.len() as u64);
    if !unread_only && left > 0 {
        let mut read = inbox_item::Entity::find()
            .filter(shown_to(user))
            .filter(inbox_item::Column::ReadAt.is_not_null());
        if let Some(cursor) = after.filter(|c| !c.unread) {
            read = read.filter(inbox_item::Column::Id.lt(cursor.id));
        }
        rows.extend(
            read.order_by_desc(inbox_item::Column::Id)
                .limit(left)
                .all(db)
                .await?,
        );
    }
    let has_next = rows.len() as u64 > first;
    rows.truncate(usize::try_from(first).unwrap_or(usize::MAX));
    let items = rows
        .into_iter()
        .map(|row| {
            let cursor = Cursor {
                unread: row.read_at.is_none(),
                id: row.id,
            };
            (row, cursor.encode())
        })
        .collect();
    Ok(Page {
        items,
        has_next,
        has_previous: after.is_some(),
    })
}

/// How many items `user`'s inbox holds (only the unread ones with `unread_only`).
pub async fn count(db: &DatabaseConnection, user: i64, unread_only: bool) -> Result<u64, DbErr> {
    let mut query = inbox_item::Entity::find().filter(shown_to(user));
    if unread_only {
        query = query.filter(inbox_item::Column::ReadAt.is_null());
    }
    query.count(db).await
}

/// Marks `ids` read in `user`'s inbox and answers them, in the order given. NOT_FOUND when
/// any of them is not an item of `user`'s, whoever's it is (and nothing is marked); an item
/// already read keeps when it was first read.
pub async fn mark_read(
    db: &DatabaseConnection,
    user: i64,
    ids: &[i64],
) -> Result<Vec<inbox_item::Model>, ServiceError> {
    if ids.len() > MAX_MARK {
        return Err(ServiceError::bad_input(
            "ids",
            format!("mark at most {MAX_MARK} items at once (or all of them with markAllRead)"),
        ));
    }
    let txn = db.begin().await?;
    let own = || {
        inbox_item::Entity::find()
            .filter(shown_to(user))
            .filter(inbox_item::Column::Id.is_in(ids.iter().copied()))
    };
    let found = own().count(&txn).await?;
    let wanted = ids.iter().collect::<std::collections::BTreeSet<_>>().len() as u64;
    if found < wanted {
        return Err(ServiceError::NotFound("inbox item"));
    }
    inbox_item::Entity::update_many()
        .col_expr(inbox_item::Column::ReadAt, Expr::value(Some(db::now())))
        .filter(shown_to(user))
        .filter(inbox_item::Column::Id.is_in(ids.iter().copied()))
        .filter(inbox_item::Column::ReadAt.is_null())
        .exec(&txn)
        .await?;
    let rows = own().all(&txn).await?;
    txn.commit().await?;
    Ok(ids
        .iter()
        .filter_map(|id| rows.iter().find(|row| row.id == *id).cloned())
        .collect())
}

/// Marks every unread item of `user`'s read; answers how many were.
pub async fn mark_all_read(db: &DatabaseConnection, user: i64) -> Result<u64, DbErr> {
    let result = inbox_item::Entity::update_many()
        .col_expr(inbox_item::Column::ReadAt, Expr::value(Some(db::now())))
        .filter(shown_to(user))
        .filter(inbox_item::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        for cursor in [
            Cursor {
                unread: true,
                id: 42,
            },
            Cursor {
                unread: false,
                id: 7,
            },
        ] {
            assert_eq!(Cursor::decode("after", &cursor.encode()).unwrap(), cursor);
        }
        // A ticket list's cursor, and one of the inbox naming no run.
        let foreign = URL_SAFE_NO_PAD.encode(r#"{"f":"NUMBER","k":1,"id":2}"#);
        let no_run = URL_SAFE_NO_PAD.encode("inbox:x:1");
        for raw in ["", "garbage!", foreign.as_str(), no_run.as_str()] {
            assert!(
                matches!(
                    Cursor::decode("after", raw),
                    Err(ServiceError::BadInput { field: "after", .. })
                ),
                "{raw}"
            );
        }
    }
}
