//! Sign-in with the organisation's OpenID Connect provider: the authorization code flow with
//! PKCE (S256), `state` and `nonce`, through the `openidconnect` crate. `begin` keeps what the
//! callback needs under a random `state` (`pending`) and answers the provider's authorization
//! URL; `finish` takes it back once, exchanges the code, checks the ID token (`provider`) and
//! says who signed in; `people` turns that into a Tessera user. The provider is discovered at
//! start and, when it could not be reached then, at the first sign-in that needs it.

/// `OIDC_*`, `PASSWORD_LOGIN`, `BREAK_GLASS_ADMIN`.
pub mod config;
/// Why a sign-in failed, with the codes the sign-in page shows.
pub mod error;
/// What waits between the two legs of a sign-in, and a session's ID token.
pub mod pending;
/// The Tessera user a verified person signs in as.
pub mod people;
/// Discovery, the provider's keys, the ID token checks.
pub mod provider;

pub use config::{OidcSettings, SignInMethods};
pub use error::OidcError;

use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthorizationCode, CsrfToken, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, RequestTokenError, Scope, TokenResponse as _,
};
use pending::{Begun, Pending};
use provider::{Person, Provider, chain};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// How long a failed discovery keeps the next attempt waiting, so a provider that is down is
/// not asked again by every sign-in.
const DISCOVERY_RETRY: Duration = Duration::from_secs(5);

/// What the provider's redirect back to the callback carries.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Callback {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` the sign-in began with.
    pub state: Option<String>,
    /// The provider's error code (`access_denied`, `login_required`, ...).
    pub error: Option<String>,
}

/// A finished sign-in at the provider.
#[derive(Debug)]
pub struct Finished {
    /// Who the ID token names.
    pub person: Person,
    /// The ID token, for the provider's logout.
    pub id_token: String,
    /// The local path to land on.
    pub redirect: String,
}

/// Sign-in with the identity provider.
pub struct Oidc {
    /// The settings.
    pub settings: OidcSettings,
    /// Begun sign-ins, and sessions' ID tokens.
    pub pending: Pending,
    http: reqwest::Client,
    // The provider once discovered; else when discovery last failed.
    provider: tokio::sync::Mutex<(Option<Arc<Provider>>, Option<Instant>)>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Oidc {
    /// Sign-in with the provider `settings` names, keeping begun sign-ins in Redis when given.
    pub fn new(
        settings: OidcSettings,
        redis: Option<redis::aio::ConnectionManager>,
        prefix: &str,
    ) -> Self {
        // No redirects: a provider's endpoints answer directly, and following one could send
        // the code or the client secret elsewhere.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            settings,
            pending: Pending::new(redis, prefix),
            http,
            provider: tokio::sync::Mutex::new((None, None)),
        }
    }

    /// The provider, discovered now if it was not yet.
    pub async fn provider(&self) -> Result<Arc<Provider>, OidcError> {
        let mut held = self.provider.lock().await;
        if let Some(provider) = &held.0 {
            return Ok(provider.clone());
        }
        if held
            .1
            .is_some_and(|failed| failed.elapsed() < DISCOVERY_RETRY)
        {
            return Err(OidcError::Unavailable(
                "the identity provider could not be reached lately".into(),
            ));
        }
        match Provider::discover(&self.settings, &self.http).await {
            Ok(provider) => {
                let provider = Arc::new(provider);
                *held = (Some(provider.clone()), None);
                tracing::info!(issuer = %self.settings.issuer, "identity provider discovered");
                Ok(provider)
            }
            Err(err) => {
                held.1 = Some(Instant::now());
                Err(err)
            }
        }
    }

    /// Starts a sign-in that lands on `redirect` (a local path, else `/`): the provider's
    /// authorization URL, and the `state` to bind to the browser.
    pub async fn begin(&self, redirect: Option<&str>) -> Result<(String, String), OidcError> {
        let provider = self.provider().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = provider
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let begun = Begun {
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            redirect: local_path(redirect.unwrap_or("/")).to_string(),
        };
        self.pending.begin(state.secret(), &begun).await?;
        Ok((url.to_string(), state.secret().clone()))
    }

    /// Finishes the sign-in the provider sent back: `bound` is the `state` the browser's
    /// cookie holds, which must be the one the callback carries.
    pub async fn finish(
        &self,
        callback: &Callback,
        bound: Option<&str>,
    ) -> Result<Finished, OidcError> {
        let state = callback.state.as_deref().ok_or(OidcError::State)?;
        if bound != Some(state) {
            return Err(OidcError::State);
        }
        let begun = self.pending.take(state).await?.ok_or(OidcError::State)?;
        match callback.error.as_deref() {
            Some("access_denied") => return Err(OidcError::Cancelled),
            Some(other) => return Err(OidcError::Denied(other.chars().take(64).collect())),
            None => {}
        }
        let code = callback
            .code
            .clone()
            .ok_or_else(|| OidcError::Denied("no code".into()))?;
        let provider = self.provider().await?;
        let response = provider
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| OidcError::Unavailable(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(begun.verifier))
            .request_async(&self.http)
            .await
            .map_err(|err| match &err {
                RequestTokenError::ServerResponse(answer) => {
                    OidcError::Token(format!("the token endpoint refused: {answer}"))
                }
                RequestTokenError::Parse(..) => OidcError::Token(chain(&err)),
                _ => OidcError::Unavailable(format!("token endpoint: {}", chain(&err))),
            })?;
        let id_token = response
            .id_token()
            .map(ToString::to_string)
            .ok_or_else(|| OidcError::Token("the token response has no ID token".into()))?;
        let person = provider
            .verify(
                &self.settings,
                &self.http,
                &id_token,
                &Nonce::new(begun.nonce),
            )
            .await?;
        Ok(Finished {
            person,
            id_token,
            redirect: begun.redirect,
        })
    }

    /// Where to send a browser whose session, opened with `id_token`, just ended, so that it
    /// ends at the provider too; `None` when the provider has no `end_session_endpoint`.
    pub async fn end_session_url(&self, id_token: &str) -> Option<String> {
        let provider = self.provider().await.ok()?;
        let endpoint = provider.end_session.clone()?;
        let token: provider::Token = id_token.parse().ok()?;
        let back =
            PostLogoutRedirectUrl::new(self.settings.post_logout_redirect_url.to_string()).ok()?;
        let request: openidconnect::LogoutRequest = endpoint.into();
        Some(
            request
                .set_id_token_hint(&token)
                .set_client_id(openidconnect::ClientId::new(
                    self.settings.client_id.clone(),
                ))
                .set_post_logout_redirect_uri(back)
                .http_get_url()
                .to_string(),
        )
    }
}

/// `raw` if it is a path on this site, else `/`: never `//host`, a scheme, a backslash (which
/// browsers read as a slash) or a control character, so a sign-in cannot be made to land
/// on another site.
pub fn local_path(raw: &str) -> &str {
    let local = raw.starts_with('/')
        && !raw.starts_with("//")
        && raw.len() <= 2048
        && !raw.contains('\\')
        && !raw.chars().any(|c| c.is_control());
    if local { raw } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_landed_on() {
        for good in ["/", "/tickets/12", "/tickets?state=OFFER_PENDING#x"] {
            assert_eq!(local_path(good), good);
        }
        for bad in [
            "//evil.example",
            "https://evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "/\tevil",
            "evil.example",
            "",
        ] {
            assert_eq!(local_path(bad), "/", "{bad:?}");
        }
    }
}
