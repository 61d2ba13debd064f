//! Sign-in with an OpenID provider (issue 21), against a fake provider the tests sign ID
//! tokens for: the flow and its cookies, the ID token checks, key rotation, who gets in, role
//! mapping and its history, password sign-in turned off, redirects and rate limits.

mod checks;
mod fake;
mod flow;
mod who;

use crate::support::{Backend, Options, Platform};
use fake::FakeProvider;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use std::collections::HashMap;

/// A browser: keeps cookies, does not follow redirects (the tests play the provider).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A platform whose gateway signs in at `provider`, with more settings from `env`.
pub async fn platform(
    backend: Backend,
    provider: &FakeProvider,
    env: &[(&'static str, &str)],
) -> Platform {
    let mut all = provider.env();
    all.extend(env.iter().map(|(k, v)| (*k, v.to_string())));
    Platform::spawn_with(
        backend,
        Options {
            env: all,
            ..Options::default()
        },
    )
    .await
}

/// What the gateway asked the provider for when a sign-in began.
#[derive(Debug)]
pub struct Begun {
    pub state: String,
    pub nonce: String,
    pub challenge: String,
    pub query: HashMap<String, String>,
}

/// `GET /auth/oidc/login` (with `redirect`): the gateway's 302 to the provider, read.
pub async fn begin(app: &Platform, browser: &reqwest::Client, redirect: Option<&str>) -> Begun {
    let mut url = reqwest::Url::parse(&format!("{}/auth/oidc/login", app.url)).unwrap();
    if let Some(redirect) = redirect {
        url.query_pairs_mut().append_pair("redirect", redirect);
    }
    let response = browser.get(url).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()[LOCATION].to_str().unwrap().to_string();
    let set = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(set.starts_with("tessera_oidc_state="), "{set}");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let url = reqwest::Url::parse(&location).unwrap();
    assert!(url.path().ends_with("/authorize"), "{location}");
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    Begun {
        state: query["state"].clone(),
        nonce: query["nonce"].clone(),
        challenge: query["code_challenge"].clone(),
        query,
    }
}

/// The provider's redirect back: `GET /auth/oidc/callback?{params}`.
pub async fn callback(
    app: &Platform,
    browser: &reqwest::Client,
    params: &[(&str, &str)],
) -> reqwest::Response {
    let mut url = reqwest::Url::parse(&format!("{}/auth/oidc/callback", app.url)).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    browser.get(url).send().await.unwrap()
}

/// Begins a sign-in, has the provider answer the code with the token `make` builds from
/// the nonce, and calls the callback: where the browser is sent.
pub async fn sign_in_with(
    app: &Platform,
    provider: &FakeProvider,
    browser: &reqwest::Client,
    make: impl FnOnce(&str) -> String,
) -> String {
    let begun = begin(app, browser, None).await;
    let code = format!("code-{}", uuid::Uuid::new_v4());
    provider.grant(&code, make(&begun.nonce), &begun.challenge);
    let response = callback(app, browser, &[("code", &code), ("state", &begun.state)]).await;
    assert_eq!(response.status(), 302);
    response.headers()[LOCATION].to_str().unwrap().to_string()
}

/// Signs `email` in with a good token signed with `key`: where the browser is sent.
pub async fn sign_in(
    app: &Platform,
    provider: &FakeProvider,
    browser: &reqwest::Client,
    email: &str,
    key: &fake::Key,
) -> String {
    sign_in_with(app, provider, browser, |nonce| {
        fake::sign(&provider.claims(email, nonce), key)
    })
    .await
}

/// `me` as `browser`.
pub async fn me(app: &Platform, browser: &reqwest::Client) -> Value {
    let body: Value = browser
        .post(format!("{}/graphql", app.url))
        .json(&json!({"query": "{ me { id email name roles } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"]["me"].clone()
}

/// `GET /auth/config`: the ways in the sign-in page offers.
pub async fn ways_in(app: &Platform) -> Value {
    reqwest::get(format!("{}/auth/config", app.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
