//! The gateway's own rules on a normalized operation, checked before anything is planned or
//! any subgraph is called (GET never mutates, introspection for those allowed, no selection
//! under `__typename`, the limits), and the root fields an API token's scopes are checked on.

use super::GqlError;
use crate::limits::{self, Limits};
use common::ErrorCode;
use hive_router::{
    executor::plugins::hooks::on_graphql_params::GraphQLParams, http::Method,
    query_planner::state::supergraph_state::OperationKind,
};

/// The gateway's own rules, checked on the normalized operation before anything is planned
/// or any subgraph is called.
pub(super) fn policy(
    operation: &hive_router::query_planner::ast::operation::OperationDefinition,
    introspects: bool,
    params: &GraphQLParams,
    method: &Method,
    allow_introspection: bool,
    limits: Limits,
) -> Result<(), GqlError> {
    if *method == Method::GET && operation.operation_kind == Some(OperationKind::Mutation) {
        return Err(GqlError::new(
            405,
            ErrorCode::BadUserInput,
            "mutations are not allowed over GET; use POST",
        ));
    }
    if introspects && !allow_introspection {
        return Err(GqlError::new(
            200,
            ErrorCode::Forbidden,
            "schema introspection is for administrators",
        ));
    }
    if selects_under_typename(&operation.selection_set) {
        return Err(GqlError::bad_request(
            "`__typename` is a scalar: it takes no selection",
        ));
    }
    limits::check(operation, &params.variables, limits)
}

/// Whether a selection set selects fields under `__typename`: the engine's validation lets
/// that through and its planner then fails with an internal error (a 500), which the
/// property-based fuzz found. Depth is already bounded by validation.
fn selects_under_typename(
    set: &hive_router::query_planner::ast::selection_set::SelectionSet,
) -> bool {
    use hive_router::query_planner::ast::selection_item::SelectionItem;
    set.items.iter().any(|item| match item {
        SelectionItem::Field(field) => {
            (field.name == "__typename" && !field.selections.items.is_empty())
                || selects_under_typename(&field.selections)
        }
        SelectionItem::InlineFragment(fragment) => selects_under_typename(&fragment.selections),
        SelectionItem::FragmentSpread(_) => false,
    })
}

/// The root fields an operation selects, with `__schema` standing for any introspection.
pub(super) fn root_fields(
    set: &hive_router::query_planner::ast::selection_set::SelectionSet,
    introspects: bool,
) -> Vec<&str> {
    use hive_router::query_planner::ast::selection_item::SelectionItem;
    fn collect<'a>(
        set: &'a hive_router::query_planner::ast::selection_set::SelectionSet,
        out: &mut Vec<&'a str>,
    ) {
        for item in &set.items {
            match item {
                SelectionItem::Field(field) if field.name != "__typename" => {
                    if !out.contains(&field.name.as_str()) {
                        out.push(&field.name);
                    }
                }
                SelectionItem::InlineFragment(fragment) => collect(&fragment.selections, out),
                SelectionItem::Field(_) | SelectionItem::FragmentSpread(_) => {}
            }
        }
    }
    let mut fields = Vec::new();
    collect(set, &mut fields);
    if introspects {
        fields.push("__schema");
    }
    fields
}
