//! How a list is ordered: the field and direction, the SQL expression each field sorts by and
//! the key of one row, as a cursor carries it.

use chrono::{DateTime, Utc};
use common::TicketState;
use db::entity::{ticket, user};
use sea_orm::{
    Value,
    sea_query::{CaseStatement, Expr, Func, Query, SimpleExpr},
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The field a list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum OrderField {
    /// Ticket number.
    #[default]
    Number,
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Workflow order of the state.
    State,
    /// The owner's name.
    OwnerName,
    /// When the ticket is due; tickets with nothing due come after every dated one.
    DueAt,
}

/// The sort key of a ticket with nothing due: after every date a ticket can be due by.
/// 9999-12-31T00:00:00Z: both databases store it, unlike chrono's own maximum.
pub(super) fn never_due() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_214_400, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// An ordering: a field and a direction; ties are broken by id in the same direction.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ordering {
    /// The field.
    pub field: OrderField,
    /// Descending when true.
    pub descending: bool,
}

/// The sort key of one row, as carried in a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum Key {
    Int(i64),
    Time(DateTime<Utc>),
    Text(String),
}

impl Key {
    pub(super) fn value(&self) -> Value {
        match self {
            Key::Int(v) => (*v).into(),
            Key::Time(v) => (*v).into(),
            Key::Text(v) => v.clone().into(),
        }
    }
}

/// The SQL expression a field sorts by.
pub(super) fn key_expr(field: OrderField) -> SimpleExpr {
    match field {
        OrderField::Number => Expr::col((ticket::Entity, ticket::Column::Number)).into(),
        OrderField::CreatedAt => Expr::col((ticket::Entity, ticket::Column::CreatedAt)).into(),
        OrderField::UpdatedAt => Expr::col((ticket::Entity, ticket::Column::UpdatedAt)).into(),
        OrderField::State => {
            let mut case = CaseStatement::new();
            for state in TicketState::ALL {
                case = case.case(
                    Expr::col((ticket::Entity, ticket::Column::State)).eq(state.as_str()),
                    Expr::val(state.rank() as i64),
                );
            }
            case.finally(Expr::val(TicketState::ALL.len() as i64))
                .into()
        }
        OrderField::OwnerName => SimpleExpr::SubQuery(
            None,
            Box::new(
                Query::select()
                    .column((user::Entity, user::Column::Name))
                    .from(user::Entity)
                    .and_where(
                        Expr::col((user::Entity, user::Column::Id))
                            .equals((ticket::Entity, ticket::Column::OwnerId)),
                    )
                    .to_owned()
                    .into_sub_query_statement(),
            ),
        ),
        OrderField::DueAt => Func::coalesce([
            Expr::col((ticket::Entity, ticket::Column::DueAt)).into(),
            Expr::val(never_due()).into(),
        ])
        .into(),
    }
}

pub(super) fn key_of(
    field: OrderField,
    row: &ticket::Model,
    owner_names: &HashMap<i64, String>,
) -> Key {
    match field {
        OrderField::Number => Key::Int(row.number),
        OrderField::CreatedAt => Key::Time(row.created_at),
        OrderField::UpdatedAt => Key::Time(row.updated_at),
        OrderField::State => Key::Int(row.state().rank() as i64),
        OrderField::OwnerName => {
            Key::Text(owner_names.get(&row.owner_id).cloned().unwrap_or_default())
        }
        OrderField::DueAt => Key::Time(row.due_at.unwrap_or_else(never_due)),
    }
}
