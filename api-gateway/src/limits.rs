//! The gateway's query limits (DESIGN.md "Auth"), checked before anything is planned or any
//! subgraph is called. Depth, aliases and tokens are enforced by the engine's validation
//! rules (configured from `Limits`); root fields and the complexity budget are counted here on
//! the normalized operation, where fragments are already inlined.

use crate::gql::GqlError;
use hive_router::query_planner::ast::{
    operation::OperationDefinition, selection_item::SelectionItem, selection_set::SelectionSet,
    value::Value,
};
use hive_router::sonic_rs::{JsonValueTrait, Value as JsonValue};
use std::collections::HashMap;

/// The largest request body accepted (DESIGN.md: 2 MB), over HTTP, in a websocket message,
/// and by the engine.
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// The limits one request must stay within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Nesting depth of selections.
    pub max_depth: usize,
    /// Aliased fields in one document.
    pub max_aliases: usize,
    /// Lexical tokens in one document (bounds parsing work).
    pub max_tokens: usize,
    /// Fields at the root of the operation.
    pub max_root_fields: usize,
    /// The complexity budget: every field costs 1, and a list field multiplies what is
    /// selected under it by its page size.
    pub max_complexity: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 15,
            max_aliases: 30,
            max_tokens: 10_000,
            max_root_fields: 20,
            max_complexity: 50_000,
        }
    }
}

/// The page size a paginated field returns when the request names none (ticket-service's
/// default page).
const DEFAULT_PAGE: u64 = 20;

/// The largest page a paginated field returns (ticket-service's `MAX_PAGE`).
const MAX_PAGE: u64 = 100;

/// How many items an unpaginated list field is assumed to hold (notes, history, supervisors).
const LIST_FACTOR: u64 = 10;

/// Fields that return an unpaginated list.
const UNPAGINATED_LISTS: &[&str] = &[
    "notes",
    "history",
    "supervisors",
    "supports",
    "users",
    "byOwner",
    "byState",
    "roles",
    "allowedTransitions",
];

/// Fields that take `first`/`last` and return at most that many items.
const PAGINATED: &[&str] = &["tickets", "applicants", "notifications", "exportJobs"];

/// Checks root fields and complexity.
pub fn check(
    operation: &OperationDefinition,
    variables: &HashMap<String, JsonValue>,
    limits: Limits,
) -> Result<(), GqlError> {
    let root_fields = operation
        .selection_set
        .items
        .iter()
        .filter(|item| matches!(item, SelectionItem::Field(f) if f.name != "__typename"))
        .count();
    if root_fields > limits.max_root_fields {
        return Err(GqlError::too_complex(format!(
            "the operation selects {root_fields} root fields; at most {} are allowed",
            limits.max_root_fields
        )));
    }
    let cost = complexity(&operation.selection_set, variables, limits.max_complexity);
    if cost > limits.max_complexity {
        return Err(GqlError::too_complex(format!(
            "the operation's complexity exceeds the budget of {}; ask for smaller pages or fewer nested lists",
            limits.max_complexity
        )));
    }
    Ok(())
}

/// The cost of a selection set, saturating once past `cap` (so hostile nesting cannot
/// overflow or take long to count).
fn complexity(set: &SelectionSet, variables: &HashMap<String, JsonValue>, cap: u64) -> u64 {
    let mut total: u64 = 0;
    for item in &set.items {
        let cost = match item {
            SelectionItem::Field(field) => {
                let children = complexity(&field.selections, variables, cap);
                let factor = list_factor(field, variables);
                1u64.saturating_add(factor.saturating_mul(children))
            }
            SelectionItem::InlineFragment(fragment) => {
                complexity(&fragment.selections, variables, cap)
            }
            // The normalized operation has no spreads left; count one if it ever does.
            SelectionItem::FragmentSpread(_) => 1,
        };
        total = total.saturating_add(cost);
        if total > cap {
            return total;
        }
    }
    total
}

fn list_factor(
    field: &hive_router::query_planner::ast::selection_set::FieldSelection,
    variables: &HashMap<String, JsonValue>,
) -> u64 {
    if PAGINATED.contains(&field.name.as_str()) {
        let size = ["first", "last"].iter().find_map(|name| {
            let arg = field.arguments.as_ref()?.get_argument(name)?;
            match arg {
                Value::Int(n) => u64::try_from(*n).ok(),
                Value::Variable(var) => variables.get(var)?.as_u64(),
                _ => None,
            }
        });
        return size.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE);
    }
    if UNPAGINATED_LISTS.contains(&field.name.as_str()) {
        return LIST_FACTOR;
    }
    1
}
