//! A fake OpenID provider at its HTTP edge, on port 0: discovery, the key set (which the test
//! can rotate, counting fetches) and a token endpoint that checks the PKCE verifier and
//! answers the ID token the test signed for that code. The authorization step itself is the
//! test's: it reads the gateway's redirect and calls the callback as the provider would.

use axum::{
    Form, Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde_json::{Value, json};
use sha2::Digest;
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

/// The client id the gateway is configured with.
pub const CLIENT_ID: &str = "tessera-test";
/// Its secret.
pub const CLIENT_SECRET: &str = "tessera-test-secret-0123456789";

/// A signing key of the fake, by key id.
#[derive(Clone)]
pub struct Key {
    pub kid: &'static str,
    pub pem: &'static [u8],
}

pub const FIRST: Key = Key {
    kid: "first",
    pem: include_bytes!("keys/first.pem"),
};
pub const SECOND: Key = Key {
    kid: "second",
    pem: include_bytes!("keys/second.pem"),
};

impl Key {
    fn encoding(&self) -> EncodingKey {
        EncodingKey::from_rsa_pem(self.pem).unwrap()
    }

    fn jwk(&self) -> Value {
        let mut jwk = Jwk::from_encoding_key(&self.encoding(), Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(self.kid.to_string());
        serde_json::to_value(jwk).unwrap()
    }
}

/// A code the token endpoint will answer once.
struct Grant {
    id_token: String,
    challenge: String,
}

#[derive(Default)]
struct Shared {
    issuer: String,
    keys: Mutex<Vec<Key>>,
    grants: Mutex<HashMap<String, Grant>>,
    key_fetches: AtomicUsize,
}

/// The running fake.
pub struct FakeProvider {
    pub issuer: String,
    shared: Arc<Shared>,
}

impl FakeProvider {
    /// Serves discovery with the key set `keys`.
    pub async fn start(keys: &[Key]) -> Self {
        Self::start_on(0, keys).await
    }

    /// `start`, on `port`.
    pub async fn start_on(port: u16, keys: &[Key]) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let shared = Arc::new(Shared {
            issuer: issuer.clone(),
            keys: Mutex::new(keys.to_vec()),
            ..Shared::default()
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { issuer, shared }
    }

    /// The gateway's settings for this provider.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("OIDC_ISSUER", self.issuer.clone()),
            ("OIDC_CLIENT_ID", CLIENT_ID.to_string()),
            ("OIDC_CLIENT_SECRET", CLIENT_SECRET.to_string()),
            (
                "OIDC_REDIRECT_URL",
                "http://127.0.0.1/auth/oidc/callback".to_string(),
            ),
            ("OIDC_DISPLAY_NAME", "Campus ID".to_string()),
        ]
    }

    /// Serves `keys` from now on.
    pub fn rotate(&self, keys: &[Key]) {
        *self.shared.keys.lock().unwrap() = keys.to_vec();
    }

    /// How many times the key set was fetched.
    pub fn key_fetches(&self) -> usize {
        self.shared.key_fetches.load(Ordering::SeqCst)
    }

    /// Answers `code` (once) with `id_token`, if the verifier matches `challenge`.
    pub fn grant(&self, code: &str, id_token: String, challenge: &str) {
        self.shared.grants.lock().unwrap().insert(
            code.to_string(),
            Grant {
                id_token,
                challenge: challenge.to_string(),
            },
        );
    }

    /// Claims a good ID token for `email` carries.
    pub fn claims(&self, email: &str, nonce: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": format!("sub-{email}"),
            "email": email,
            "email_verified": true,
            "name": "Someone From Campus",
            "nonce": nonce,
            "iat": now,
            "exp": now + 300,
        })
    }
}

/// `claims` signed with `key` (RS256, naming the key).
pub fn sign(claims: &Value, key: &Key) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.to_string());
    jsonwebtoken::encode(&header, claims, &key.encoding()).unwrap()
}

/// `claims` signed with HS256 and `secret`.
pub fn sign_hs256(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// An unsigned token (`alg: none`).
pub fn unsigned(claims: &Value) -> String {
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(claims)
    )
}

/// `token` with its claims replaced by `claims` and its signature kept.
pub fn tampered(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(claims).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let issuer = &shared.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "end_session_endpoint": format!("{issuer}/logout"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.key_fetches.fetch_add(1, Ordering::SeqCst);
    let keys: Vec<Value> = shared.keys.lock().unwrap().iter().map(Key::jwk).collect();
    Json(json!({"keys": keys}))
}

async fn token(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let refuse =
        |error: &str| (StatusCode::BAD_REQUEST, Json(json!({"error": error}))).into_response();
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return refuse("unsupported_grant_type");
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let Some(grant) = shared.grants.lock().unwrap().remove(&code) else {
        return refuse("invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    if computed != grant.challenge {
        return refuse("invalid_grant");
    }
    Json(json!({
        "access_token": "an-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": grant.id_token,
    }))
    .into_response()
}
