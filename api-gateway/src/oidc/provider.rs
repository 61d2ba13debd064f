//! One identity provider as discovered from its issuer URL: the client that builds
//! authorization requests and exchanges codes, the provider's signing keys (cached, refetched
//! when an ID token names a key the cache does not hold, at most once per floor), and the ID
//! token checks.

use super::config::OidcSettings;
use super::error::OidcError;
use openidconnect::core::{
    CoreClient, CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AdditionalClaims, ClaimsVerificationError, ClientId, ClientSecret, EndSessionUrl,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken, IdTokenClaims, IdTokenVerifier,
    IssuerUrl, JsonWebKeySet, JsonWebKeySetUrl, Nonce, ProviderMetadataWithLogout, RedirectUrl,
    SignatureVerificationError,
};
use serde::{Deserialize, Serialize};
use std::{
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

/// The claims besides the standard ones, kept whole: the groups claim's name is configured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OtherClaims(serde_json::Map<String, serde_json::Value>);

impl AdditionalClaims for OtherClaims {}

impl OtherClaims {
    /// The strings of claim `name` (a list, or one string).
    pub fn strings(&self, name: &str) -> Vec<String> {
        match self.0.get(name) {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(serde_json::Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        }
    }
}

/// An ID token with every claim readable.
pub type Token = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// The client as discovery makes it: an authorization endpoint, maybe a token endpoint.
pub type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

type Keys = JsonWebKeySet<CoreJsonWebKey>;

/// What a verified ID token says about the person.
#[derive(Debug, Clone)]
pub struct Person {
    /// The `email` claim.
    pub email: String,
    /// `name`, else `email`.
    pub name: String,
    /// The groups claim's values (empty without a group mapping).
    pub groups: Vec<String>,
}

/// A discovered provider.
pub struct Provider {
    /// Builds authorization requests and exchanges codes.
    pub client: Client,
    /// The provider's `end_session_endpoint`, for RP-initiated logout.
    pub end_session: Option<EndSessionUrl>,
    issuer: IssuerUrl,
    jwks_url: JsonWebKeySetUrl,
    keys: RwLock<Arc<Keys>>,
    // When an unknown key last made us refetch the key set.
    refetched: Mutex<Option<Instant>>,
    // `OidcSettings::keys_refetch_floor`.
    floor: Duration,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("issuer", &self.issuer.as_str())
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// Fetches the discovery document and the keys it names.
    pub async fn discover(
        settings: &OidcSettings,
        http: &reqwest::Client,
    ) -> Result<Self, OidcError> {
        let issuer = IssuerUrl::new(settings.issuer.clone())
            .map_err(|e| OidcError::Unavailable(format!("OIDC_ISSUER: {e}")))?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer.clone(), http)
            .await
            .map_err(|e| OidcError::Unavailable(format!("discovery: {}", chain(&e))))?;
        let end_session = metadata.additional_metadata().end_session_endpoint.clone();
        let jwks_url = metadata.jwks_uri().clone();
        let keys = metadata.jwks().clone();
        let redirect = RedirectUrl::new(settings.redirect_url.to_string())
            .map_err(|e| OidcError::Unavailable(format!("OIDC_REDIRECT_URL: {e}")))?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(settings.client_id.clone()),
            settings.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect);
        Ok(Self {
            client,
            end_session,
            issuer,
            jwks_url,
            keys: RwLock::new(Arc::new(keys)),
            refetched: Mutex::new(None),
            floor: settings.keys_refetch_floor,
        })
    }

    /// Checks `raw` (signature, algorithm, issuer, audience, expiry with the clock skew,
    /// nonce) and reads the person from it. An unknown key refetches the key set once.
    pub async fn verify(
        &self,
        settings: &OidcSettings,
        http: &reqwest::Client,
        raw: &str,
        nonce: &Nonce,
    ) -> Result<Person, OidcError> {
        let token: Token = raw
            .parse()
            .map_err(|e| OidcError::Token(format!("malformed ID token: {e}")))?;
        let claims = match self.check(settings, &token, nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) if self.may_refetch() => {
                let keys = JsonWebKeySet::fetch_async(&self.jwks_url, http)
                    .await
                    .map_err(|e| OidcError::Unavailable(format!("keys: {}", chain(&e))))?;
                tracing::info!(keys = keys.keys().len(), "refetched the provider's keys");
                if let Ok(mut held) = self.keys.write() {
                    *held = Arc::new(keys);
                }
                self.check(settings, &token, nonce)
            }
            checked => checked,
        }
        .map_err(|e| OidcError::Token(e.to_string()))?;
        person(settings, claims)
    }

    /// Whether an unknown key may refetch the keys now: the first time, then once per floor.
    fn may_refetch(&self) -> bool {
        let Ok(mut last) = self.refetched.lock() else {
            return false;
        };
        let floor = last.is_some_and(|at| at.elapsed() < self.floor);
        if floor {
            tracing::warn!("an ID token names an unknown key; the keys were refetched lately");
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// The checks, against the keys held now.
    fn check<'t>(
        &self,
        settings: &OidcSettings,
        token: &'t Token,
        nonce: &Nonce,
    ) -> Result<&'t Claims, ClaimsVerificationError> {
        let keys = self
            .keys
            .read()
            .map(|k| Keys::clone(&k))
            .unwrap_or_else(|_| Keys::new(Vec::new()));
        let client_id = ClientId::new(settings.client_id.clone());
        let shared_secret = settings.algorithms.iter().any(|a| {
            matches!(
                a,
                CoreJwsSigningAlgorithm::HmacSha256
                    | CoreJwsSigningAlgorithm::HmacSha384
                    | CoreJwsSigningAlgorithm::HmacSha512
            )
        });
        // HS* signatures are checked with the client secret, so only when configured.
        let verifier = match (&settings.client_secret, shared_secret) {
            (Some(secret), true) => IdTokenVerifier::new_confidential_client(
                client_id,
                ClientSecret::new(secret.clone()),
                self.issuer.clone(),
                keys,
            ),
            _ => IdTokenVerifier::new_public_client(client_id, self.issuer.clone(), keys),
        };
        let skew = chrono::Duration::from_std(settings.clock_skew).unwrap_or_default();
        let verifier = verifier
            .set_allowed_algs(settings.algorithms.iter().cloned())
            .set_time_fn(move || chrono::Utc::now() - skew);
        token.claims(&verifier, nonce)
    }
}

/// The claims of a `Token`.
type Claims = IdTokenClaims<OtherClaims, CoreGenderClaim>;

/// The person a verified token names: an email the provider says it verified is required
/// (any email, with `OIDC_TRUST_EMAIL`).
fn person(settings: &OidcSettings, claims: &Claims) -> Result<Person, OidcError> {
    let email = claims
        .email()
        .map(|e| e.as_str().trim().to_string())
        .filter(|e| e.contains('@'))
        .ok_or(OidcError::Unverified)?;
    if !settings.trust_email && claims.email_verified() != Some(true) {
        return Err(OidcError::Unverified);
    }
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| email.clone());
    let groups = settings
        .groups
        .as_ref()
        .map(|g| claims.additional_claims().strings(&g.claim))
        .unwrap_or_default();
    Ok(Person {
        email,
        name,
        groups,
    })
}

/// An error and its sources, on one line.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(next) = source {
        text.push_str(": ");
        text.push_str(&next.to_string());
        source = next.source();
    }
    text
}
