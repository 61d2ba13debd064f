//! Export downloads: `GET /exports/{id}.csv`, the finished file of an export job, found
//! through export-service's read model and streamed from disk in chunks (never read whole).

use super::reply::gql_error;
use crate::identity::{Auth, TokenCaller};
use crate::state::Gateway;
use crate::tokens::TokenError;
use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use common::Principal;
use export_service::read_model::{self, ExportJobView};
use std::sync::Arc;

/// The size of the chunks a file is streamed in.
const CHUNK: usize = 64 * 1024;

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such export").into_response()
}

/// `GET /exports/{id}.csv`: the file, to its requester or a role that sees every ticket.
/// Anyone else, a job that is not DONE, an expired one, or no job at all: the same 404.
pub(super) async fn download(
    State(state): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Response {
    let Some(id) = file
        .strip_suffix(".csv")
        .and_then(|id| id.parse::<i64>().ok())
    else {
        return not_found();
    };
    let principal = match downloader(&state, &headers).await {
        Ok(principal) => principal,
        Err(refused) => return refused,
    };
    let job = match read_model::job(&state.backends.db, id).await {
        Ok(job) => job,
        Err(err) => {
            tracing::error!(%err, "loading an export job");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable",
            )
                .into_response();
        }
    };
    let Some(job) = job
        .filter(|job| job.downloadable && common::export::may_read(&principal, job.requested_by))
    else {
        return not_found();
    };
    stream_file(&state, &job).await
}

/// Who is downloading: a session's user, or an API token's with the EXPORTS scope; `Err` is
/// the answer for anyone else.
async fn downloader(state: &Gateway, headers: &HeaderMap) -> Result<Principal, Response> {
    match state.identity.authenticate(headers).await {
        Ok(Auth::Session(caller)) => Ok(caller.principal),
        // An API token downloads with the EXPORTS scope (and whatever its holder added).
        Ok(Auth::Token(TokenCaller { caller, bearer })) => {
            match state.identity.tokens.authorize_download(&bearer) {
                Ok(()) => Ok(caller.principal),
                Err(TokenError::Forbidden(_)) => Err((
                    StatusCode::FORBIDDEN,
                    "downloading an export needs an API token with the EXPORTS scope",
                )
                    .into_response()),
                Err(err) => Err(gql_error(err.into())),
            }
        }
        Ok(Auth::Anonymous { .. }) => Err(not_found()),
        Err(err) => Err(gql_error(err)),
    }
}

/// The job's file as an attachment, streamed.
async fn stream_file(state: &Gateway, job: &ExportJobView) -> Response {
    let path = read_model::file(&state.backends.data_dir, job.id);
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(err) => {
            // DONE but gone: removed by hand, or DATA_DIR is not shared with export-service.
            tracing::warn!(%err, path = %path.display(), "an export's file is missing");
            return not_found();
        }
    };
    let length = file.metadata().await.map(|m| m.len()).ok();
    let mut response =
        Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file, CHUNK)).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"tessera-export-{}.csv\"",
        job.id
    )) {
        h.insert(header::CONTENT_DISPOSITION, value);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Some(length) = length {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    response
}
