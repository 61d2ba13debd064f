//! Sending one email: through SendGrid's v3 `POST /v3/mail/send`, or, without an API key,
//! as an `.eml` file in `DATA_DIR/outbox/` (the embedded default shows what would have gone
//! out). The answer says whether to record the email SENT, retry it later, or give up now.

use crate::email::Email;
use lettre::message::{Mailbox, MultiPart};
use reqwest::{StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use std::{
    path::PathBuf,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// Why an email was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth another try: rate limited (429, with the wait the provider asked for, if any),
    /// a 5xx, a timeout, a connection failure.
    Retry {
        /// How long the provider asked us to wait.
        after: Option<Duration>,
        /// A 429: the provider is fine but asks us to slow down. Such waits are not failures
        /// and never use up an email's `SENDGRID_MAX_ATTEMPTS`.
        rate_limited: bool,
        /// What went wrong, for `lastError`.
        message: String,
    },
    /// Never going to work (a 4xx other than 429: a bad address, a bad key): fail at once.
    Fatal(String),
}

/// Where emails go.
#[derive(Debug, Clone)]
pub enum Mailer {
    /// The SendGrid v3 API.
    SendGrid {
        /// The HTTP client (with the request timeout).
        client: reqwest::Client,
        /// `<SENDGRID_API_URL>/v3/mail/send`.
        endpoint: String,
        /// `SENDGRID_API_KEY`.
        key: String,
        /// `MAIL_FROM`.
        from: Mailbox,
    },
    /// `.eml` files in a folder.
    Outbox {
        /// `DATA_DIR/outbox`.
        dir: PathBuf,
        /// `MAIL_FROM`.
        from: Mailbox,
    },
}

/// The longest provider message kept in `lastError`.
const MAX_ERROR: usize = 500;

impl Mailer {
    /// The mailer `settings` name: SendGrid, or the outbox folder.
    pub fn from_settings(settings: &crate::config::MailSettings) -> Result<Self, reqwest::Error> {
        Ok(match &settings.provider {
            crate::config::Provider::SendGrid { api_url, api_key } => {
                Self::sendgrid(api_url, api_key, settings.from.clone(), settings.timeout)?
            }
            crate::config::Provider::Outbox(dir) => Self::Outbox {
                dir: dir.clone(),
                from: settings.from.clone(),
            },
        })
    }

    /// SendGrid at `api_url` (e.g. `https://api.sendgrid.com`), each call cut off after
    /// `timeout`.
    pub fn sendgrid(
        api_url: &str,
        key: &str,
        from: Mailbox,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(Self::SendGrid {
            client,
            endpoint: format!("{}/v3/mail/send", api_url.trim_end_matches('/')),
            key: key.to_string(),
            from,
        })
    }

    /// Sends notification `id`'s email (about ticket event `event_id`); returns the
    /// provider's message id.
    pub async fn send(&self, id: i64, event_id: i64, email: &Email) -> Result<String, SendError> {
        match self {
            Self::SendGrid {
                client,
                endpoint,
                key,
                from,
            } => {
                let body = sendgrid_body(from, id, event_id, email);
                send_sendgrid(client, endpoint, key, &body).await
            }
            Self::Outbox { dir, from } => write_outbox(dir, from, &id.to_string(), email).await,
        }
    }

    /// Sends a notice that is not about a ticket event (a webhook disabled), named `name`
    /// (the outbox file `<name>.eml`, written once; SendGrid's `tessera_notice`).
    pub async fn send_notice(&self, name: &str, email: &Email) -> Result<String, SendError> {
        match self {
            Self::SendGrid {
                client,
                endpoint,
                key,
                from,
            } => {
                let mut body = sendgrid_body(from, 0, 0, email);
                body["custom_args"] = json!({ "tessera_notice": name });
                send_sendgrid(client, endpoint, key, &body).await
            }
            Self::Outbox { dir, from } => write_outbox(dir, from, name, email).await,
        }
    }
}

/// The JSON body SendGrid's v3 mail send takes.
pub fn sendgrid_body(from: &Mailbox, id: i64, event_id: i64, email: &Email) -> Value {
    let mut sender = json!({ "email": from.email.to_string() });
    if let Some(name) = &from.name {
        sender["name"] = json!(name);
    }
    json!({
        "personalizations": [{
            "to": [{ "email": email.to_email, "name": email.to_name }],
        }],
        "from": sender,
        "subject": email.subject,
        "content": [
            { "type": "text/plain", "value": email.text },
            { "type": "text/html", "value": email.html },
        ],
        // Lets SendGrid's event webhook and activity feed be matched to our rows.
        "custom_args": {
            "tessera_notification_id": id.to_string(),
            "tessera_event_id": event_id.to_string(),
        },
    })
}

async fn send_sendgrid(
    client: &reqwest::Client,
    endpoint: &str,
    key: &str,
    body: &Value,
) -> Result<String, SendError> {
    let response = client
        .post(endpoint)
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .map_err(|err| SendError::Retry {
            after: None,
            rate_limited: false,
            message: if err.is_timeout() {
                "SendGrid did not answer in time".to_string()
            } else {
                format!("SendGrid unreachable: {}", root_cause(&err))
            },
        })?;
    let status = response.status();
    let headers = response.headers().clone();
    if status.is_success() {
        return Ok(headers
            .get("x-message-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string());
    }
    let body = response.text().await.unwrap_or_default();
    let said = provider_message(&body);
    let message = format!("SendGrid answered {}: {said}", status.as_u16());
    if status == StatusCode::TOO_MANY_REQUESTS {
        Err(SendError::Retry {
            after: retry_after(&headers, SystemTime::now()),
            rate_limited: true,
            message,
        })
    } else if status.is_server_error() {
        Err(SendError::Retry {
            after: None,
            rate_limited: false,
            message,
        })
    } else {
        Err(SendError::Fatal(message))
    }
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// SendGrid's `{"errors":[{"message":...}]}` joined, or the body itself, shortened.
pub fn provider_message(body: &str) -> String {
    let from_json = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        let messages: Vec<String> = v
            .get("errors")?
            .as_array()?
            .iter()
            .filter_map(|e| e.get("message").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        (!messages.is_empty()).then(|| messages.join("; "))
    });
    let text = from_json.unwrap_or_else(|| body.trim().to_string());
    let text = if text.is_empty() {
        "no details given".to_string()
    } else {
        text
    };
    text.chars().take(MAX_ERROR).collect()
}

/// The wait a 429 asks for: `Retry-After` in seconds, else `X-RateLimit-Reset` (the epoch
/// second the limit resets at).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    if let Some(seconds) = header("retry-after") {
        return Some(Duration::from_secs(seconds));
    }
    let reset = header("x-ratelimit-reset")?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(reset.saturating_sub(now)))
}

/// Writes the email as `<dir>/<id>.eml` (through a temporary file renamed into place, so a
/// file there is always whole). A file already there was sent before: nothing is written twice.
async fn write_outbox(
    dir: &std::path::Path,
    from: &Mailbox,
    stem: &str,
    email: &Email,
) -> Result<String, SendError> {
    let name = format!("{stem}.eml");
    let path = dir.join(&name);
    if tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Ok(format!("outbox/{name}"));
    }
    let io = |err: std::io::Error| SendError::Retry {
        after: None,
        rate_limited: false,
        message: format!("cannot write {}: {err}", path.display()),
    };
    let to = Mailbox::new(
        Some(email.to_name.clone()),
        email.to_email.parse().map_err(|_| {
            SendError::Fatal(format!("`{}` is not an email address", email.to_email))
        })?,
    );
    let message = lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|err| SendError::Fatal(format!("cannot build the email: {err}")))?;
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    let partial = dir.join(format!(".{stem}.eml.partial"));
    tokio::fs::write(&partial, message.formatted())
        .await
        .map_err(io)?;
    tokio::fs::rename(&partial, &path).await.map_err(io)?;
    Ok(format!("outbox/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn a_429_waits_as_long_as_the_provider_asks() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers, now), None);
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("1007"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        headers.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(3)));
        headers.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
    }

    #[test]
    fn the_providers_own_words_become_the_error() {
        assert_eq!(
            provider_message(r#"{"errors":[{"message":"bad to"},{"message":"bad from"}]}"#),
            "bad to; bad from"
        );
        assert_eq!(provider_message("  upstream broke "), "upstream broke");
        assert_eq!(provider_message(""), "no details given");
        assert_eq!(provider_message(&"x".repeat(2_000)).len(), MAX_ERROR);
    }

    #[tokio::test]
    async fn the_outbox_writes_each_email_once_as_a_whole_file() {
        let dir = std::env::temp_dir().join(format!("tessera-outbox-{}", uuid::Uuid::new_v4()));
        let from: Mailbox = "Tessera <tessera@example.edu>".parse().unwrap();
        let mailer = Mailer::Outbox {
            dir: dir.clone(),
            from,
        };
        let email = Email {
            to_email: "grace@example.edu".into(),
            to_name: "Grace Hopper".into(),
            subject: "Ticket #7 granted".into(),
            text: "Hello Grace".into(),
            html: "<p>Hello Grace</p>".into(),
        };
        assert_eq!(mailer.send(7, 70, &email).await.unwrap(), "outbox/7.eml");
        let written = std::fs::read_to_string(dir.join("7.eml")).unwrap();
        assert!(written.contains("Subject: Ticket #7 granted"), "{written}");
        assert!(
            written.contains("To: \"Grace Hopper\" <grace@example.edu>")
                || written.contains("To: Grace Hopper <grace@example.edu>"),
            "{written}"
        );
        assert!(written.contains("multipart/alternative"));
        // Sent again (a redelivered event): the file is not rewritten.
        std::fs::write(dir.join("7.eml"), "kept").unwrap();
        mailer.send(7, 70, &email).await.unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("7.eml")).unwrap(), "kept");
        let bad = Email {
            to_email: "not an address".into(),
            ..email
        };
        assert!(matches!(
            mailer.send(8, 80, &bad).await,
            Err(SendError::Fatal(_))
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
