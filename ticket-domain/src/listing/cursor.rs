//! Keyset cursors: opaque base64url of the sort key and the id, each belonging to one
//! ordering, and the condition that keeps the rows beyond one.

use super::order::{Key, OrderField, Ordering, key_expr};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use common::subgraph::error::{Result, ServiceError};
use db::entity::ticket;
use sea_orm::{
    Condition,
    sea_query::{Expr, SimpleExpr},
};
use serde::{Deserialize, Serialize};

/// Where a page or a walk stopped: the ordering, the row's sort key and its id.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Cursor {
    /// The ordering the cursor belongs to.
    pub(super) f: OrderField,
    pub(super) k: Key,
    pub(super) id: i64,
}

pub(super) fn encode(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

pub(super) fn decode(field: &'static str, raw: &str, order: OrderField) -> Result<Cursor> {
    let bad = || ServiceError::bad_input(field, format!("`{raw}` is not a cursor of this list"));
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if cursor.f != order {
        return Err(bad());
    }
    // The key must have the type the ordering sorts by.
    let fits = matches!(
        (order, &cursor.k),
        (OrderField::Number | OrderField::State, Key::Int(_))
            | (
                OrderField::CreatedAt | OrderField::UpdatedAt | OrderField::DueAt,
                Key::Time(_)
            )
            | (OrderField::OwnerName, Key::Text(_))
    );
    if fits { Ok(cursor) } else { Err(bad()) }
}

/// Rows strictly after `cursor` in the list's direction (`forward`), or before it:
/// `key >= v AND (key > v OR (key = v AND id > c))`. The first term says nothing the second
/// does not, but it is one an index on the key can start from; without it PostgreSQL walked
/// the index from the first row and filtered, so each page cost as much as all before it.
pub(super) fn beyond(ordering: Ordering, cursor: &Cursor, forward: bool) -> Condition {
    let key = key_expr(ordering.field);
    let id: SimpleExpr = Expr::col((ticket::Entity, ticket::Column::Id)).into();
    let ascending = forward != ordering.descending;
    let v = cursor.k.value();
    let (from, gt_key, gt_id) = if ascending {
        (
            Expr::expr(key.clone()).gte(v.clone()),
            Expr::expr(key.clone()).gt(v.clone()),
            Expr::expr(id).gt(cursor.id),
        )
    } else {
        (
            Expr::expr(key.clone()).lte(v.clone()),
            Expr::expr(key.clone()).lt(v.clone()),
            Expr::expr(id).lt(cursor.id),
        )
    };
    Condition::all().add(from).add(
        Condition::any()
            .add(gt_key)
            .add(Condition::all().add(Expr::expr(key).eq(v)).add(gt_id)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_belong_to_their_ordering() {
        let c = Cursor {
            f: OrderField::CreatedAt,
            k: Key::Time(db::now()),
            id: 42,
        };
        let raw = encode(&c);
        let back = decode("after", &raw, OrderField::CreatedAt).unwrap();
        assert_eq!((back.k, back.id), (c.k, 42));
        assert!(decode("after", &raw, OrderField::Number).is_err());
        assert!(decode("after", "garbage!", OrderField::Number).is_err());
    }
}
