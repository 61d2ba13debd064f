//! One webhook request: the client (no redirects, no proxy, timeouts, every address checked
//! by the resolver), the Standard Webhooks headers, and the answer read up to a small limit.

use crate::webhooks::{
    address::{self, CheckedResolver, Refused},
    config::HookSettings,
    signature,
};
use reqwest::{Client, Url, redirect::Policy};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// The most of an answer's body that is read (and kept as its excerpt).
pub const MAX_EXCERPT: usize = 4_096;

/// The delivery client.
pub(super) fn client(settings: &HookSettings) -> Result<Client, reqwest::Error> {
    Client::builder()
        .redirect(Policy::none())
        // A proxy would connect to addresses the resolver never saw.
        .no_proxy()
        .connect_timeout(settings.timeout)
        .timeout(settings.timeout)
        .dns_resolver(Arc::new(CheckedResolver {
            allow_private: settings.allow_private,
        }))
        .user_agent(concat!("Tessera-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// How a request went.
#[derive(Debug)]
pub(super) enum Answer {
    /// The receiver answered.
    Status {
        /// The HTTP status.
        code: u16,
        /// The start of its body.
        excerpt: String,
        /// Until the answer's headers came.
        latency: Duration,
    },
    /// No answer: a timeout, a connection refused, a TLS failure.
    Failed {
        /// In words.
        error: String,
        /// Until it failed.
        latency: Duration,
    },
    /// Not sent: the address is not one a webhook may reach.
    Refused(String),
}

/// What one request carries.
pub(super) struct Request<'a> {
    pub url: &'a str,
    pub message_id: &'a str,
    pub secrets: Vec<&'a str>,
    pub body: &'a str,
}

/// POSTs `request`, signed with each of its secrets at the current time.
pub(super) async fn post(client: &Client, settings: &HookSettings, request: Request<'_>) -> Answer {
    let url = match Url::parse(request.url) {
        Ok(url) => url,
        Err(err) => return Answer::Refused(format!("the URL cannot be used: {err}")),
    };
    if let Err(Refused(why)) = address::check_literal(&url, settings.allow_private) {
        return Answer::Refused(why);
    }
    let timestamp = chrono::Utc::now().timestamp();
    let signatures = signature::header(
        request.secrets,
        request.message_id,
        timestamp,
        request.body.as_bytes(),
    );
    let started = Instant::now();
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", request.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signatures)
        .body(request.body.to_string())
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(err) => return failure(&err, started.elapsed()),
    };
    let latency = started.elapsed();
    let code = response.status().as_u16();
    let mut excerpt = Vec::new();
    // What came within the timeout, up to the limit; the rest is never read.
    while excerpt.len() < MAX_EXCERPT {
        match response.chunk().await {
            Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    Answer::Status {
        code,
        excerpt: excerpt_of(&excerpt),
        latency,
    }
}

/// The first `MAX_EXCERPT` bytes of an answer as text to keep: invalid UTF-8 replaced, and
/// NUL too, which PostgreSQL's text refuses (one receiver's odd answer must not stop the
/// recording of every other).
fn excerpt_of(body: &[u8]) -> String {
    let body = &body[..body.len().min(MAX_EXCERPT)];
    String::from_utf8_lossy(body).replace('\0', "\u{fffd}")
}

/// A request that got no answer, in words: the resolver's refusal, a timeout, a
/// connection failure.
fn failure(err: &reqwest::Error, latency: Duration) -> Answer {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if let Some(Refused(why)) = cause.downcast_ref::<Refused>() {
            return Answer::Refused(why.clone());
        }
        source = cause.source();
    }
    let error = if err.is_timeout() {
        "the receiver did not answer in time".to_string()
    } else if err.is_connect() {
        format!("cannot connect to the receiver: {}", root_cause(err))
    } else {
        format!("the request failed: {}", root_cause(err))
    };
    Answer::Failed { error, latency }
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_keeps_no_nul_and_no_invalid_utf8_and_is_bounded() {
        assert_eq!(excerpt_of(b"ok\0\xffdone"), "ok\u{fffd}\u{fffd}done");
        assert_eq!(excerpt_of(&[b'a'; MAX_EXCERPT + 10]).len(), MAX_EXCERPT);
    }
}
