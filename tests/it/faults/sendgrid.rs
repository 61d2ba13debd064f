//! The fake SendGrid: `POST /v3/mail/send` answering as the suite switches it (202, 500, 429
//! or a slow 202), counting the emails it took, per notification.

use serde_json::Value;
use std::{
    collections::{BTreeSet, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU8, Ordering},
    },
    time::Duration,
};

pub const MODE_OK: u8 = 0;
pub const MODE_500: u8 = 1;
pub const MODE_429: u8 = 2;
pub const MODE_SLOW: u8 = 3;

/// SendGrid's `POST /v3/mail/send`, answering as `mode` says, counting the emails it took.
#[derive(Default)]
pub struct FakeSendGrid {
    mode: AtomicU8,
    /// Calls that were taken (a 202, or a slow call that reached us: SendGrid may have sent
    /// it even if the caller died before the answer), per notification id.
    taken: Mutex<HashMap<i64, u64>>,
    pub calls: Mutex<u64>,
}

impl FakeSendGrid {
    pub async fn start() -> (Arc<Self>, String) {
        let fake = Arc::new(Self::default());
        let state = fake.clone();
        let app = axum::Router::new().route(
            "/v3/mail/send",
            axum::routing::post(move |body: axum::Json<Value>| {
                let fake = state.clone();
                async move {
                    *fake.calls.lock().unwrap() += 1;
                    let id: i64 = body["custom_args"]["tessera_notification_id"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(-1);
                    let take = |fake: &FakeSendGrid| {
                        *fake.taken.lock().unwrap().entry(id).or_default() += 1;
                    };
                    use axum::{http::StatusCode, response::IntoResponse};
                    match fake.mode.load(Ordering::SeqCst) {
                        MODE_500 => {
                            (StatusCode::INTERNAL_SERVER_ERROR, "provider incident").into_response()
                        }
                        MODE_429 => (
                            StatusCode::TOO_MANY_REQUESTS,
                            [("retry-after", "1")],
                            "slow down",
                        )
                            .into_response(),
                        mode => {
                            take(&fake);
                            if mode == MODE_SLOW {
                                tokio::time::sleep(Duration::from_millis(1500)).await;
                            }
                            (StatusCode::ACCEPTED, [("x-message-id", "sg")]).into_response()
                        }
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (fake, url)
    }

    pub fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    /// Emails taken more than once.
    pub fn duplicates(&self) -> u64 {
        self.taken
            .lock()
            .unwrap()
            .values()
            .map(|n| n.saturating_sub(1))
            .sum()
    }

    pub fn taken_ids(&self) -> BTreeSet<i64> {
        self.taken.lock().unwrap().keys().copied().collect()
    }
}
