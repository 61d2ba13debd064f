//! What the mixed benchmark's clients send: the page query (walking a cursor chain of a list
//! with a filter and an ordering each client picks at random) and the random-ticket query, in
//! our schema's words and in PostGraphile's, and the checks of every answer.

use rand::{Rng, seq::SliceRandom};
use serde_json::{Value, json};

/// Which query a round sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A page of 100 with owner, applicant, supervisors, notes, page information and count.
    Page,
    /// One ticket the caller may see, by id, with the same fields.
    Ticket,
}

/// Whose schema a target speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Ours (the subgraph's and the gateway's).
    Tessera,
    /// PostGraphile's inflection of the same tables.
    PostGraphile,
}

const OUR_PAGE: &str = "query Page($first: Int, $after: String, $filter: TicketFilter, $orderBy: TicketOrder) { \
tickets(first: $first, after: $after, filter: $filter, orderBy: $orderBy) { \
nodes { id number state owner { name } applicant { name applicantNumber } supervisors { name } notes { body } } \
pageInfo { hasNextPage endCursor } totalCount } }";

const OUR_TICKET: &str = "query Ticket($id: ID!) { ticket(id: $id) { \
id number state owner { name } applicant { name applicantNumber } supervisors { name } notes { body } } }";

const THEIR_PAGE: &str = "query Page($first: Int, $after: Cursor, $condition: TicketCondition, $orderBy: [TicketsOrderBy!]) { \
tickets: allTickets(first: $first, after: $after, condition: $condition, orderBy: $orderBy) { \
nodes { id number state owner: userByOwnerId { name } applicant: applicantByApplicantId { name applicantNumber } \
supervisors: ticketSupervisorsByTicketId { nodes { user: userByUserId { name } } } \
notes: notesByTicketId(orderBy: ID_ASC) { nodes { body } } } \
pageInfo { hasNextPage endCursor } totalCount } }";

const THEIR_TICKET: &str = "query Ticket($id: BigInt!) { ticket: ticketById(id: $id) { \
id number state owner: userByOwnerId { name } applicant: applicantByApplicantId { name applicantNumber } \
supervisors: ticketSupervisorsByTicketId { nodes { user: userByUserId { name } } } \
notes: notesByTicketId(orderBy: ID_ASC) { nodes { body } } } }";

/// The states a filter may name.
const STATES: [&str; 7] = [
    "INITIAL",
    "GRANTED",
    "OFFER_REQUESTED",
    "OFFER_PENDING",
    "OFFER_ACCEPTED",
    "OFFER_REFUSED",
    "CANCELLED",
];

/// Orderings both schemas have, as (ours, ours' direction, theirs).
const ORDERS: [(&str, &str, &str); 4] = [
    ("NUMBER", "ASC", "NUMBER_ASC"),
    ("NUMBER", "DESC", "NUMBER_DESC"),
    ("CREATED_AT", "ASC", "CREATED_AT_ASC"),
    ("UPDATED_AT", "DESC", "UPDATED_AT_DESC"),
];

/// A list a client walks: its filter and ordering, where it is, and how many pages are left
/// before it starts another.
#[derive(Clone, Debug, Default)]
pub struct Chain {
    filter: Option<(&'static str, String)>,
    order: usize,
    after: Option<String>,
    pages_left: u32,
}

impl Chain {
    /// A new list: no filter (half the time), or one state, one residency or one owner; any
    /// ordering; 1 to 10 pages.
    fn start(rng: &mut impl Rng, owners: &[i64]) -> Chain {
        let filter = match rng.gen_range(0..6) {
            0 => Some(("state", STATES.choose(rng).unwrap().to_string())),
            1 => Some((
                "residency",
                ["DOMESTIC", "INTERNATIONAL"]
                    .choose(rng)
                    .unwrap()
                    .to_string(),
            )),
            2 if !owners.is_empty() => Some(("ownerId", owners.choose(rng).unwrap().to_string())),
            _ => None,
        };
        Chain {
            filter,
            order: rng.gen_range(0..ORDERS.len()),
            after: None,
            pages_left: rng.gen_range(1..=10),
        }
    }

    /// The next page's variables in `dialect` (starting a new list when this one is done).
    pub fn next_variables(
        &mut self,
        dialect: Dialect,
        rng: &mut impl Rng,
        owners: &[i64],
    ) -> Value {
        if self.pages_left == 0 {
            *self = Chain::start(rng, owners);
        }
        let (field, direction, theirs) = ORDERS[self.order];
        match dialect {
            Dialect::Tessera => {
                let filter = self.filter.as_ref().map(|(name, value)| match *name {
                    "state" => json!({"states": [value]}),
                    name => one(name, json!(value)),
                });
                json!({"first": 100, "after": self.after, "filter": filter,
                       "orderBy": {"field": field, "direction": direction}})
            }
            Dialect::PostGraphile => {
                let condition = self
                    .filter
                    .as_ref()
                    .map(|(name, value)| one(name, json!(value)));
                json!({"first": 100, "after": self.after, "condition": condition, "orderBy": [theirs]})
            }
        }
    }

    /// Takes the page `body` answered: where the next one starts.
    pub fn advance(&mut self, body: &Value) {
        let info = &body["data"]["tickets"]["pageInfo"];
        self.pages_left = self.pages_left.saturating_sub(1);
        if info["hasNextPage"] == json!(true) {
            self.after = info["endCursor"].as_str().map(String::from);
        } else {
            self.pages_left = 0;
        }
    }
}

/// `{name: value}`.
fn one(name: &str, value: Value) -> Value {
    Value::Object([(name.to_string(), value)].into_iter().collect())
}

/// The query text of `kind` in `dialect`.
pub fn query(kind: Kind, dialect: Dialect) -> &'static str {
    match (kind, dialect) {
        (Kind::Page, Dialect::Tessera) => OUR_PAGE,
        (Kind::Ticket, Dialect::Tessera) => OUR_TICKET,
        (Kind::Page, Dialect::PostGraphile) => THEIR_PAGE,
        (Kind::Ticket, Dialect::PostGraphile) => THEIR_TICKET,
    }
}

/// Checks an answer: no errors; a page of at most 100 with a count, or the ticket asked for
/// with its owner.
pub fn check(kind: Kind, target: &str, body: &Value) {
    assert!(body.get("errors").is_none(), "{target}: {body}");
    match kind {
        Kind::Page => {
            let tickets = &body["data"]["tickets"];
            let n = tickets["nodes"].as_array().map(Vec::len);
            assert!(n.is_some_and(|n| n <= 100), "{target}: {body}");
            assert!(tickets["totalCount"].is_number(), "{target}: {body}");
        }
        Kind::Ticket => {
            let ticket = &body["data"]["ticket"];
            // PostGraphile writes a bigint as a string.
            let number = &ticket["number"];
            assert!(number.is_number() || number.is_string(), "{target}: {body}");
            assert!(ticket["owner"]["name"].is_string(), "{target}: {body}");
        }
    }
}
