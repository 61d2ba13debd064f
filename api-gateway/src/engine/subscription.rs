//! Subscriptions taken apart for the gateway to serve (see `Subscription`): the root field
//! with its arguments resolved, its selection, directives and the variables it uses.

use super::Subscription;
use crate::gql::GqlError;
use hive_router::executor::plugins::hooks::on_graphql_params::GraphQLParams;

/// A request's variables as JSON.
pub(super) fn json_variables(params: &GraphQLParams) -> serde_json::Map<String, serde_json::Value> {
    params
        .variables
        .iter()
        .filter_map(|(name, value)| {
            let text = hive_router::sonic_rs::to_string(value).ok()?;
            Some((name.clone(), serde_json::from_str(&text).ok()?))
        })
        .collect()
}

/// Takes a normalized subscription apart (see `Subscription`).
pub(super) fn subscription(
    operation: &hive_router::query_planner::ast::operation::OperationDefinition,
    variables: serde_json::Map<String, serde_json::Value>,
) -> Result<Subscription, GqlError> {
    use hive_router::query_planner::ast::selection_item::SelectionItem;
    let mut fields = operation
        .selection_set
        .items
        .iter()
        .filter_map(|item| match item {
            SelectionItem::Field(field) if field.name != "__typename" => Some(field),
            _ => None,
        });
    let (Some(field), None) = (fields.next(), fields.next()) else {
        return Err(GqlError::bad_request(
            "a subscription selects exactly one root field",
        ));
    };
    let definitions = operation
        .variable_definitions
        .as_deref()
        .unwrap_or_default();
    let default_of = |name: &str| {
        definitions
            .iter()
            .find(|d| d.name == name)
            .and_then(|d| d.default_value.as_ref())
            .map(|v| json_value(v, &variables, &|_| None))
    };
    let mut arguments = serde_json::Map::new();
    if let Some(args) = &field.arguments {
        for (name, value) in args {
            let resolved = json_value(value, &variables, &default_of);
            // An unset variable is an argument not given.
            if !(matches!(
                value,
                hive_router::query_planner::ast::value::Value::Variable(_)
            ) && resolved.is_null())
            {
                arguments.insert(name.clone(), resolved);
            }
        }
    }
    let used = field.selections.variable_usages();
    let mut kept = Vec::new();
    let mut values = serde_json::Map::new();
    let mut directive_vars = Vec::new();
    let mut directives = String::new();
    if let Some(var) = &field.skip_if {
        directives.push_str(&format!(" @skip(if: ${var})"));
        directive_vars.push(var.clone());
    }
    if let Some(var) = &field.include_if {
        directives.push_str(&format!(" @include(if: ${var})"));
        directive_vars.push(var.clone());
    }
    for definition in definitions {
        if used.contains(&definition.name) || directive_vars.contains(&definition.name) {
            kept.push(definition.to_string());
            if let Some(value) = variables.get(&definition.name) {
                values.insert(definition.name.clone(), value.clone());
            }
        }
    }
    Ok(Subscription {
        name: operation.name.clone(),
        field: field.name.clone(),
        response_key: field.alias.clone().unwrap_or_else(|| field.name.clone()),
        arguments,
        selection: field.selections.to_string(),
        directives,
        variable_definitions: kept.join(", "),
        variables: values,
    })
}

/// A GraphQL value as JSON, variables replaced by their values (or their defaults).
fn json_value(
    value: &hive_router::query_planner::ast::value::Value,
    variables: &serde_json::Map<String, serde_json::Value>,
    default_of: &dyn Fn(&str) -> Option<serde_json::Value>,
) -> serde_json::Value {
    use hive_router::query_planner::ast::value::Value;
    use serde_json::Value as Json;
    match value {
        Value::Variable(name) => variables
            .get(name)
            .cloned()
            .or_else(|| default_of(name))
            .unwrap_or(Json::Null),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::String(s) | Value::Enum(s) => Json::String(s.clone()),
        Value::Boolean(b) => Json::Bool(*b),
        Value::Null => Json::Null,
        Value::List(items) => Json::Array(
            items
                .iter()
                .map(|v| json_value(v, variables, default_of))
                .collect(),
        ),
        Value::Object(fields) => Json::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), json_value(v, variables, default_of)))
                .collect(),
        ),
    }
}
