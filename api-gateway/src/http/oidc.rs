//! Sign-in with the identity provider: `GET /auth/config` (which ways in the sign-in page
//! offers), `GET /auth/oidc/login` (to the provider, the `state` bound to this browser by a
//! short-lived cookie) and `GET /auth/oidc/callback` (back from it: the same session cookie
//! as a password sign-in, or the sign-in page with `oidc_error=<code>`).

use super::reply::{secure, set_cookie};
use crate::identity::cookie;
use crate::oidc::{Callback, OidcError, pending::BEGUN_FOR, people};
use crate::state::Gateway;
use axum::{
    Json,
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;
use std::{net::SocketAddr, sync::Arc};

/// The cookie that binds a begun sign-in's `state` to the browser that began it.
pub const STATE_COOKIE: &str = "tessera_oidc_state";

/// `GET /auth/config`: whether passwords are accepted, and the identity provider's name.
pub(super) async fn config(State(state): State<Arc<Gateway>>) -> Response {
    let provider = state
        .oidc
        .as_ref()
        .map(|oidc| json!({"name": oidc.settings.display_name, "login": "/auth/oidc/login"}));
    let mut response = Json(json!({
        "password": state.policy.sign_in.password,
        "provider": provider,
    }))
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Deserialize)]
pub(super) struct LoginQuery {
    redirect: Option<String>,
}

/// `GET /auth/oidc/login?redirect=/path`.
pub(super) async fn login(
    State(state): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    let Some(oidc) = &state.oidc else {
        return failed(&state, &OidcError::NotConfigured);
    };
    let begun = async {
        locked(&state, &peer).await?;
        oidc.begin(query.redirect.as_deref()).await
    }
    .await;
    match begun {
        Ok((url, bound)) => {
            let mut response = to(&url);
            let age = Some(BEGUN_FOR.as_secs());
            state_cookie(&mut response, &bound, age, secure(&state, &headers));
            response
        }
        Err(err) => failed(&state, &err),
    }
}

/// `GET /auth/oidc/callback?code=...&state=...` (or `error=...`).
pub(super) async fn callback(
    State(state): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<Callback>,
) -> Response {
    let Some(oidc) = &state.oidc else {
        return failed(&state, &OidcError::NotConfigured);
    };
    let outcome = async {
        locked(&state, &peer).await?;
        let finished = oidc.finish(&query, cookie(&headers, STATE_COOKIE)).await?;
        let user = people::admit(&state.backends.db, &oidc.settings, &finished.person).await?;
        let stamp = crate::auth::password_stamp(user.password_hash.as_deref());
        let sessions = &state.identity.sessions;
        let session = sessions.create(user.id, stamp).await?;
        oidc.pending
            .keep_id_token(&session, &finished.id_token, sessions.absolute())
            .await?;
        Ok::<_, OidcError>((user, session, finished.redirect))
    }
    .await;
    let secure = secure(&state, &headers);
    match outcome {
        Ok((user, session, redirect)) => {
            state.identity.forget(user.id);
            state.metrics.logins.with_label_values(&["oidc_ok"]).inc();
            tracing::info!(user = user.id, "signed in at the identity provider");
            let mut response = to(&redirect);
            set_cookie(&mut response, &session, None, secure);
            state_cookie(&mut response, "", Some(0), secure);
            response
        }
        Err(err) => {
            if err.counts_as_failure()
                && let Err(count) = state.login.address_failed(&peer.ip().to_string()).await
            {
                tracing::error!(err = %count, "cannot count a failed sign-in");
            }
            let mut response = failed(&state, &err);
            state_cookie(&mut response, "", Some(0), secure);
            response
        }
    }
}

/// Refuses an address that failed too many sign-ins (passwords included).
async fn locked(state: &Gateway, peer: &SocketAddr) -> Result<(), OidcError> {
    match state.login.address_locked(&peer.ip().to_string()).await {
        Ok(Some(secs)) => Err(OidcError::Locked(secs)),
        Ok(None) => Ok(()),
        Err(err) => Err(OidcError::Unavailable(err.to_string())),
    }
}

/// The sign-in page, saying why: `/?oidc_error=<code>`. The details go to the log only.
fn failed(state: &Gateway, err: &OidcError) -> Response {
    let code = err.code();
    let label = format!("oidc_{code}");
    state
        .metrics
        .logins
        .with_label_values(&[label.as_str()])
        .inc();
    match err {
        OidcError::Unavailable(_) => tracing::error!(%err, "identity provider sign-in"),
        _ => tracing::warn!(%err, code, "identity provider sign-in refused"),
    }
    let mut response = to(&format!("/?oidc_error={code}"));
    if let OidcError::Locked(secs) = err
        && let Ok(value) = HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A 302 to `location` (the provider's authorization URL, or a local path).
fn to(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Adds the state cookie (`Max-Age=0` clears it), beside any session cookie.
fn state_cookie(response: &mut Response, value: &str, max_age: Option<u64>, secure: bool) {
    let mut cookie = format!("{STATE_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/auth/oidc");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
