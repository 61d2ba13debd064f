//! The sign-in routes: `POST /auth/login` (email and password to a session cookie) and
//! `POST /auth/logout` (ends the session, and with it its live-updates connections).

use super::guard::{cross_origin, same_site_json};
use super::reply::{auth_error, secure, set_cookie};
use crate::auth::{LoginError, SignedIn};
use crate::identity::{same_origin, session_cookie};
use crate::state::Gateway;
use axum::{
    Json,
    body::Bytes,
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use common::{
    ErrorCode,
    nesting::{self, MAX_NESTING},
};
use serde::Deserialize;
use serde_json::json;
use std::{net::SocketAddr, sync::Arc};

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

/// `POST /auth/login`.
pub(super) async fn login(
    State(state): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = same_site_json(&headers, "POST /auth/login") {
        return refused;
    }
    if let Err(err) = nesting::check_json(&body, MAX_NESTING) {
        return auth_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            &err.to_string(),
        );
    }
    let Ok(LoginBody { email, password }) = serde_json::from_slice::<LoginBody>(&body) else {
        return auth_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            "expected a JSON body {\"email\": \"...\", \"password\": \"...\"}",
        );
    };
    let address = peer.ip().to_string();
    let outcome = state
        .login
        .sign_in(&state.identity.sessions, &email, &password, &address)
        .await;
    let label = match &outcome {
        Ok(_) => "ok",
        Err(LoginError::Invalid) => "invalid",
        Err(LoginError::Locked(_)) => "locked",
        Err(LoginError::PasswordOff) => "password_off",
        Err(LoginError::Unavailable(_)) => "unavailable",
    };
    state.metrics.logins.with_label_values(&[label]).inc();
    match outcome {
        Ok(signed_in) => signed_in_response(&state, &headers, &signed_in),
        Err(err) => refused(err),
    }
}

/// The user who signed in, and their session cookie.
fn signed_in_response(state: &Gateway, headers: &HeaderMap, signed_in: &SignedIn) -> Response {
    let user = &signed_in.user;
    state.identity.forget(user.id);
    let secure = secure(state, headers);
    let roles: Vec<&str> = user.role_list().iter().map(|r| r.as_str()).collect();
    let mut response = Json(json!({"user": {
        "id": user.id.to_string(),
        "email": user.email,
        "name": user.name,
        "roles": roles,
    }}))
    .into_response();
    set_cookie(&mut response, &signed_in.session_id, None, secure);
    response
}

/// Why a sign-in was refused.
fn refused(err: LoginError) -> Response {
    match err {
        LoginError::Invalid => auth_error(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "invalid email or password",
        ),
        LoginError::PasswordOff => auth_error(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "password sign-in is turned off; sign in with the identity provider",
        ),
        LoginError::Locked(secs) => {
            let mut response = auth_error(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                &format!("too many failed sign-ins; try again in {secs} seconds"),
            );
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        LoginError::Unavailable(err) => {
            tracing::error!(%err, "sign-in");
            auth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                "sign-in is unavailable; try again",
            )
        }
    }
}

/// `POST /auth/logout`.
pub(super) async fn logout(State(state): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    // The web client sends no body; a forged cross-site form always has one.
    if headers.contains_key(header::CONTENT_TYPE)
        && let Err(refused) = same_site_json(&headers, "POST /auth/logout")
    {
        return refused;
    }
    if !same_origin(&headers) {
        return cross_origin();
    }
    let mut provider_logout = None;
    if let Some(id) = session_cookie(&headers) {
        provider_logout = end_at_provider(&state, id).await;
        let sessions = &state.identity.sessions;
        if let Ok(Some(session)) = sessions.get(id).await {
            state.identity.forget(session.user_id);
        }
        if let Err(err) = sessions.log_out(id).await {
            tracing::error!(%err, "logout");
            return auth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                "sign-out is unavailable; try again",
            );
        }
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    set_cookie(&mut response, "", Some(0), state.policy.cookie_secure);
    if let Some(url) = provider_logout
        && let Ok(value) = HeaderValue::from_str(&url)
    {
        response.headers_mut().insert(PROVIDER_LOGOUT, value);
    }
    response
}

/// The header of a logout's answer that says where the browser goes to end its session at
/// the identity provider too (RP-initiated logout), when the session was opened there and the
/// provider has an `end_session_endpoint`.
pub const PROVIDER_LOGOUT: &str = "tessera-provider-logout";

/// The provider's logout URL for session `id`, if it was opened at the provider.
async fn end_at_provider(state: &Gateway, id: &str) -> Option<String> {
    let oidc = state.oidc.as_ref()?;
    let id_token = match oidc.pending.take_id_token(id).await {
        Ok(token) => token?,
        Err(err) => {
            tracing::warn!(%err, "cannot read the session's ID token");
            return None;
        }
    };
    oidc.end_session_url(&id_token).await
}
