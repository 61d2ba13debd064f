//! Ticket lists: the contract's filters, search and ordering, with keyset (cursor) pagination
//! so that pages never skip or repeat a ticket while others are being created, and the
//! statistics of the dashboard. Cursors are opaque: base64url of the sort key and the id.

use crate::{
    error::{Result, ServiceError},
    validate,
    visibility::tickets_visible_to,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use common::{Principal, Residency, TicketState};
use db::entity::{applicant, ticket, user};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Value,
    sea_query::{CaseStatement, Expr, Func, LikeExpr, Query, SimpleExpr},
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

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
}

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
}

/// An ordering: a field and a direction; ties are broken by id in the same direction.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ordering {
    /// The field.
    pub field: OrderField,
    /// Descending when true.
    pub descending: bool,
}

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

/// The sort key of one row, as carried in a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Key {
    Int(i64),
    Time(DateTime<Utc>),
    Text(String),
}

impl Key {
    fn value(&self) -> Value {
        match self {
            Key::Int(v) => (*v).into(),
            Key::Time(v) => (*v).into(),
            Key::Text(v) => v.clone().into(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    /// The ordering the cursor belongs to.
    f: OrderField,
    k: Key,
    id: i64,
}

fn encode(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

fn decode(field: &'static str, raw: &str, order: OrderField) -> Result<Cursor> {
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
            | (OrderField::CreatedAt | OrderField::UpdatedAt, Key::Time(_))
            | (OrderField::OwnerName, Key::Text(_))
    );
    if fits { Ok(cursor) } else { Err(bad()) }
}

/// The SQL expression a field sorts by.
fn key_expr(field: OrderField) -> SimpleExpr {
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
    }
}

fn key_of(field: OrderField, row: &ticket::Model, owner_names: &HashMap<i64, String>) -> Key {
    match field {
        OrderField::Number => Key::Int(row.number),
        OrderField::CreatedAt => Key::Time(row.created_at),
        OrderField::UpdatedAt => Key::Time(row.updated_at),
        OrderField::State => Key::Int(row.state().rank() as i64),
        OrderField::OwnerName => {
            Key::Text(owner_names.get(&row.owner_id).cloned().unwrap_or_default())
        }
    }
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
pub(crate) fn contains_pattern(text: &str) -> LikeExpr {
    LikeExpr::new(format!("%{}%", escape_like(text))).escape('\\')
}

pub(crate) fn lower(col: impl sea_orm::sea_query::IntoColumnRef) -> SimpleExpr {
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
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
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
                            lower((user::Entity, user::Column::Name))
                                .like(contains_pattern(&search)),
                        )
                        .to_owned(),
                ),
            );
        if let Ok(number) = search.trim_start_matches('#').parse::<i64>() {
            any = any.add(ticket::Column::Number.eq(number));
        }
        cond = cond.add(any);
    }
    Ok(cond)
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
    let backward = request.last.is_some() || (request.before.is_some() && request.first.is_none());
    let limit = request.first.or(request.last).unwrap_or(DEFAULT_PAGE);
    let after = request
        .after
        .as_deref()
        .map(|c| decode("after", c, ordering.field))
        .transpose()?;
    let before = request
        .before
        .as_deref()
        .map(|c| decode("before", c, ordering.field))
        .transpose()?;

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
            let cursor = Cursor {
                f: ordering.field,
                k: key_of(ordering.field, &row, &owner_names),
                id: row.id,
            };
            (row, encode(&cursor))
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

/// How many tickets match a page's condition.
pub async fn count<C: ConnectionTrait>(db: &C, condition: Condition) -> Result<i64> {
    let n = ticket::Entity::find().filter(condition).count(db).await?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Rows strictly after `cursor` in the list's direction (`forward`), or before it:
/// `key >= v AND (key > v OR (key = v AND id > c))`. The first term says nothing the second
/// does not, but it is one an index on the key can start from; without it PostgreSQL walked
/// the index from the first row and filtered, so each page cost as much as all before it.
fn beyond(ordering: Ordering, cursor: &Cursor, forward: bool) -> Condition {
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

/// The owner names an ordering by owner name needs for the rows' cursors (none otherwise).
async fn owner_names_for_keys<C: ConnectionTrait>(
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
            Some(encode(&Cursor {
                f: ordering.field,
                k: key_of(ordering.field, last, &names),
                id: last.id,
            }))
        }
        _ => None,
    };
    Ok((rows, next))
}

/// The dashboard totals of the tickets a caller may see.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Tickets in all.
    pub total: i64,
    /// Domestic tickets.
    pub domestic: i64,
    /// International tickets.
    pub international: i64,
    /// Count per state, in workflow order, zero counts included.
    pub by_state: Vec<(TicketState, i64)>,
    /// Per owner: total and count per state, owners in id order.
    pub by_owner: Vec<OwnerStats>,
}

/// One owner's tickets.
#[derive(Debug, Clone)]
pub struct OwnerStats {
    /// The faculty member.
    pub owner_id: i64,
    /// Their tickets in all.
    pub total: i64,
    /// Their tickets per state (states they have none in are left out).
    pub by_state: Vec<(TicketState, i64)>,
}

#[derive(Debug, FromQueryResult)]
struct Group {
    owner_id: i64,
    state: String,
    residency: String,
    n: i64,
}

/// Counts the tickets `caller` may see, optionally in one cycle, with one grouped query.
pub async fn stats(
    db: &DatabaseConnection,
    caller: &Principal,
    cycle: Option<&str>,
) -> Result<Stats> {
    let mut cond = Condition::all().add(tickets_visible_to(caller));
    if let Some(cycle) = cycle {
        cond = cond.add(ticket::Column::Cycle.eq(validate::cycle("cycle", cycle)?));
    }
    let groups = ticket::Entity::find()
        .select_only()
        .column(ticket::Column::OwnerId)
        .column(ticket::Column::State)
        .column(ticket::Column::Residency)
        .column_as(Expr::col(ticket::Column::Id).count(), "n")
        .filter(cond)
        .group_by(ticket::Column::OwnerId)
        .group_by(ticket::Column::State)
        .group_by(ticket::Column::Residency)
        .into_model::<Group>()
        .all(db)
        .await?;
    let mut stats = Stats::default();
    let mut states: BTreeMap<TicketState, i64> = TicketState::ALL.iter().map(|s| (*s, 0)).collect();
    let mut owners: BTreeMap<i64, BTreeMap<TicketState, i64>> = BTreeMap::new();
    for g in groups {
        let Ok(state) = g.state.parse::<TicketState>() else {
            continue;
        };
        stats.total += g.n;
        match g.residency.parse::<Residency>() {
            Ok(Residency::International) => stats.international += g.n,
            _ => stats.domestic += g.n,
        }
        *states.entry(state).or_default() += g.n;
        *owners
            .entry(g.owner_id)
            .or_default()
            .entry(state)
            .or_default() += g.n;
    }
    stats.by_state = states.into_iter().collect();
    stats.by_owner = owners
        .into_iter()
        .map(|(owner_id, counts)| OwnerStats {
            owner_id,
            total: counts.values().sum(),
            by_state: counts.into_iter().collect(),
        })
        .collect();
    Ok(stats)
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

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(escape_like("50%_Off\\"), "50\\%\\_off\\\\");
    }
}
