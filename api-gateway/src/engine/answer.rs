//! The engine's answers: its own errors, and the pipeline's responses and errors turned into
//! a `Response` with the contract's codes.

use super::{OperationType, Response};
use crate::gql::{self, GqlError};
use hive_router::{
    ntex::http::{
        Response as NtexResponse,
        body::{Body, ResponseBody},
    },
    pipeline::error::{ClientPipelineError, PipelineError},
};

impl Response {
    /// A request refused with `err`.
    pub(super) fn error(err: GqlError) -> Self {
        Self {
            status: err.status,
            body: gql::error_body(&[err]),
            operation: None,
        }
    }
}

/// `response`, of an operation of this type.
pub(super) fn with_operation(mut response: Response, operation: Option<OperationType>) -> Response {
    response.operation = operation;
    response
}

pub(super) fn from_ntex(response: NtexResponse, operation: Option<OperationType>) -> Response {
    let status = response.status().as_u16();
    let body = match response.body() {
        ResponseBody::Body(Body::Bytes(bytes)) => bytes.to_vec(),
        _ => Vec::new(),
    };
    Response {
        status,
        body: gql::rewrite_engine_codes(body, false),
        operation,
    }
}

pub(super) fn from_pipeline_error(
    err: PipelineError,
    operation: Option<OperationType>,
) -> Response {
    let errors: Vec<GqlError> = match &err {
        PipelineError::Client(ClientPipelineError::ValidationErrors(list)) => list
            .iter()
            .map(|e| {
                let e: hive_router::GraphQLError = e.into();
                GqlError::from_engine(&e)
            })
            .collect(),
        PipelineError::Client(_) => vec![GqlError::from_engine_code(
            err.graphql_error_code(),
            err.graphql_error_message(),
        )],
        PipelineError::Internal(inner) => {
            tracing::error!(error = %inner, "federation engine error");
            vec![GqlError::internal()]
        }
    };
    Response {
        status: errors.first().map(|e| e.status).unwrap_or(400),
        body: gql::error_body(&errors),
        operation,
    }
}
