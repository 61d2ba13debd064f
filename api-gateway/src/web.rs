//! The web client: `web/dist` (built by `npm run build` in `web/` and committed with the hash
//! of its sources) embedded in the binary, so `cargo run` serves it on a machine without Node.
//! Every path no other route takes lands here: a file of the bundle is served as itself, any
//! other page path gets the single-page app's `index.html` (deep links such as `/tickets/12`).

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use rust_embed::RustEmbed;

/// The built bundle. `debug-embed` embeds it in debug builds too (rust-embed otherwise reads
/// the folder at run time in debug), so every build serves the files it was compiled with.
#[derive(RustEmbed)]
#[folder = "../web/dist"]
#[exclude = ".source-hash"]
struct Dist;

/// The app's entry page.
const INDEX: &str = "index.html";

/// GraphiQL's page, the bundle's second entry. Only `/graphiql` serves it (`graphiql`), after
/// checking who may use the playground; its own name is a 404 like any missing file.
const GRAPHIQL: &str = "graphiql.html";

/// Vite names everything under `assets/` by its content hash: a new build is a new name, so
/// those may be cached for good. Anything else (index.html) is revalidated every time.
const ASSETS: &str = "assets/";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// `GET` on any path without a route of its own.
pub async fn serve(uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    if !path.is_empty()
        && path != GRAPHIQL
        && let Some(file) = Dist::get(path)
    {
        let cache = if path.starts_with(ASSETS) {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        return file_response(&file, file.metadata.mimetype(), cache, &headers);
    }
    // A missing file (a stale asset name, /favicon.ico) is a 404, never the app's HTML
    // under a script's or image's name.
    if path.starts_with(ASSETS)
        || path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
    {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match Dist::get(INDEX) {
        Some(index) => file_response(&index, "text/html; charset=utf-8", REVALIDATE, &headers),
        None => (
            StatusCode::NOT_FOUND,
            "the web client is not built: run `npm ci && npm run build` in web/",
        )
            .into_response(),
    }
}

/// GraphiQL's page, for `/graphiql` once the caller may use it. It runs under the
/// Content-Security-Policy every response gets (`http::CONTENT_SECURITY_POLICY`): scripts only
/// from this origin, none inline or `eval`'d, so a page with an admin's session runs no
/// third-party code. GraphiQL needs nothing more because the bundle carries it whole.
pub fn graphiql(headers: &HeaderMap) -> Response {
    let Some(page) = Dist::get(GRAPHIQL) else {
        return (
            StatusCode::NOT_FOUND,
            "GraphiQL is not built: run `npm ci && npm run build` in web/",
        )
            .into_response();
    };
    file_response(&page, "text/html; charset=utf-8", REVALIDATE, headers)
}

fn file_response(
    file: &rust_embed::EmbeddedFile,
    content_type: &str,
    cache: &'static str,
    request: &HeaderMap,
) -> Response {
    let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Body::from(file.data.clone()).into_response()
    };
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, value);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The app is never framed by another site (clickjacking).
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}
