//! Ticket lists: the contract's filters and search as one condition with the caller's
//! visibility, ordering, and keyset (cursor) pagination so that pages never skip or repeat a
//! ticket while others are being created. export-service walks whole lists with the same
//! filters, order and visibility.

/// Keyset cursors and the rows beyond one.
mod cursor;
/// Orderings and the sort key of a row.
mod order;
/// Pages, counts and the batches of a walk.
mod page;

pub use order::{OrderField, Ordering};
pub use page::{Page, PageRequest, batch, count, page};

use crate::{validate, visibility::tickets_visible_to};
use chrono::{DateTime, Utc};
use common::{Principal, Residency, TicketState, subgraph::error::Result};
use db::entity::{applicant, ticket, user};
use sea_orm::{
    ColumnTrait, Condition,
    sea_query::{Expr, Func, LikeExpr, Query, SimpleExpr},
};

/// The most rows one page may ask for.
pub const MAX_PAGE: i32 = 100;
/// The page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE: i32 = 20;

/// The contract's `TicketFilter`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Any of these states.
    pub states: Option<Vec<TicketState>>,
    /// This residency.
    pub residency: Option<Residency>,
    /// This cycle (four digits).
    pub cycle: Option<String>,
    /// This owner.
    pub owner_id: Option<String>,
    /// The ticket holding this applicant.
    pub applicant_number: Option<String>,
    /// Ticket number, applicant name or number, owner name.
    pub search: Option<String>,
    /// Due before this time (tickets with no due date never match).
    pub due_before: Option<DateTime<Utc>>,
    /// Past their due time (`true`), or not (`false`: due later, or nothing due).
    pub overdue: Option<bool>,
}

/// Lower-cased text with LIKE's wildcards and escape character escaped.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// `%text%`, matching `text` anywhere, case-insensitively (compared with `lower(column)`).
pub fn contains_pattern(text: &str) -> LikeExpr {
    LikeExpr::new(format!("%{}%", escape_like(text))).escape('\\')
}

/// `lower(column)`, to compare with a `contains_pattern`.
pub fn lower(col: impl sea_orm::sea_query::IntoColumnRef) -> SimpleExpr {
    Func::lower(Expr::col(col)).into()
}

/// The filter and the caller's visibility as one condition on `tickets`.
pub fn condition(caller: &Principal, filter: &Filter) -> Result<Condition> {
    let mut cond = Condition::all().add(tickets_visible_to(caller));
    if let Some(states) = &filter.states {
        cond = cond.add(ticket::Column::State.is_in(states.iter().map(|s| s.as_str())));
    }
    if let Some(residency) = filter.residency {
        cond = cond.add(ticket::Column::Residency.eq(residency.as_str()));
    }
    if let Some(cycle) = &filter.cycle {
        cond = cond.add(ticket::Column::Cycle.eq(validate::cycle("cycle", cycle)?));
    }
    if let Some(owner) = &filter.owner_id {
        cond = cond.add(ticket::Column::OwnerId.eq(validate::id("ownerId", owner)?));
    }
    if let Some(number) = filter
        .applicant_number
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        cond = cond.add(
            ticket::Column::ApplicantId.in_subquery(
                Query::select()
                    .column(applicant::Column::Id)
                    .from(applicant::Entity)
                    .and_where(applicant::Column::ApplicantNumber.eq(number))
                    .to_owned(),
            ),
        );
    }
    if let Some(before) = filter.due_before {
        cond = cond.add(ticket::Column::DueAt.lt(before));
    }
    if let Some(overdue) = filter.overdue {
        let now = db::now();
        cond = cond.add(if overdue {
            Condition::all().add(ticket::Column::DueAt.lt(now))
        } else {
            Condition::any()
                .add(ticket::Column::DueAt.is_null())
                .add(ticket::Column::DueAt.gte(now))
        });
    }
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        cond = cond.add(search_condition(search)?);
    }
    Ok(cond)
}

/// `search` (trimmed, not blank) as a condition: the applicant's name or number or the
/// owner's name contains it, or it is the ticket number (`#` optional).
fn search_condition(search: &str) -> Result<Condition> {
    let search = validate::text("search", search, validate::SHORT_MAX)?;
    let mut any = Condition::any()
        .add(
            ticket::Column::ApplicantId.in_subquery(
                Query::select()
                    .column(applicant::Column::Id)
                    .from(applicant::Entity)
                    .cond_where(
                        Condition::any()
                            .add(
                                lower((applicant::Entity, applicant::Column::Name))
                                    .like(contains_pattern(&search)),
                            )
                            .add(
                                lower((applicant::Entity, applicant::Column::ApplicantNumber))
                                    .like(contains_pattern(&search)),
                            ),
                    )
                    .to_owned(),
            ),
        )
        .add(
            ticket::Column::OwnerId.in_subquery(
                Query::select()
                    .column(user::Column::Id)
                    .from(user::Entity)
                    .and_where(
                        lower((user::Entity, user::Column::Name)).like(contains_pattern(&search)),
                    )
                    .to_owned(),
            ),
        );
    if let Ok(number) = search.trim_start_matches('#').parse::<i64>() {
        any = any.add(ticket::Column::Number.eq(number));
    }
    Ok(any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(escape_like("50%_Off\\"), "50\\%\\_off\\\\");
    }
}
