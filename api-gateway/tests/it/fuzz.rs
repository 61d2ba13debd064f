//! Property-based fuzzing of the public surface: generated GraphQL documents, variables,
//! extensions and raw bodies (sizes, nesting, encodings, wrong types, huge numbers) sent to a
//! running gateway as POST and GET `/graphql`, sign-in, sign-out and other paths, anonymous
//! and signed in. Whatever comes in: no 5xx except UNAVAILABLE, no panic on the gateway's
//! threads, `/healthz` still answers and the memory stays bounded. `FUZZ_CASES` sets how many
//! cases run (a few hundred by default).

use crate::support::{Backend, PASSWORD, Platform, Who};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::header::{CONTENT_TYPE, COOKIE};
use serde_json::Value;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// The name of the fuzzed gateway's runtime threads: panics there are the gateway's.
const WORKER: &str = "fuzz-gateway";

/// Panics seen on the gateway's threads.
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records every panic on a `WORKER` thread, then reports it as usual.
fn watch_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(WORKER) {
                PANICS.lock().unwrap().push(info.to_string());
            }
            previous(info);
        }));
    });
}

/// Depths that matter: around the limit, and far past where a recursive parser dies.
static DEPTHS: [usize; 9] = [1, 10, 63, 64, 65, 128, 7_500, 10_000, 100_000];

/// `[` nested `depth` deep, and closed.
fn lists(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// A JSON string literal of `text`.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// JSON texts: well-formed values with awkward leaves (huge and malformed numbers, escapes
/// and lone surrogates, unicode), nested a little or very deep, or not JSON at all.
fn json_text() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        "-?[0-9]{1,400}(\\.[0-9]{1,30})?([eE][+-]?[0-9]{1,7})?",
        any::<String>().prop_map(|s| quoted(&s)),
        "\"(\\\\u[dD][89abAB][0-9a-f]{2}|\\\\u[0-9a-fA-F]{4}|\\\\[nrtbf\"/\\\\]|[a-z ])*\"",
        Just("\"GRANTED\"".to_string()),
        Just("\"1\"".to_string()),
    ];
    let nested = leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-zA-Z_$]{1,8}", inner), 0..6).prop_map(|v| {
                let members: Vec<String> = v
                    .iter()
                    .map(|(k, v)| format!("{}:{v}", quoted(k)))
                    .collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    });
    prop_oneof![
        6 => nested,
        2 => (prop::sample::select(&DEPTHS[..]), prop::bool::ANY).prop_map(|(depth, arrays)| {
            if arrays {
                lists(depth)
            } else {
                format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
            }
        }),
        1 => prop::sample::select(&DEPTHS[..]).prop_map(|depth| "[".repeat(depth)),
        1 => "[\\[\\]{}\",:0-9a-z\\\\ ]{0,64}",
    ]
    .boxed()
}

/// A JSON object of variables, as text (its values from `json_text`).
fn variables() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::collection::vec(
            (prop::sample::select(vec!["id", "first", "s", "input", "x", "after"]), json_text()),
            0..4,
        )
        .prop_map(|v| {
            let members: Vec<String> = v.iter().map(|(k, v)| format!("{}:{v}", quoted(k))).collect();
            format!("{{{}}}", members.join(","))
        }),
        1 => json_text(),
    ]
    .boxed()
}

/// Root fields (with arguments, right or wrong) and what may be selected under them.
static ROOTS: [&str; 16] = [
    "me",
    "__typename",
    "tickets(first: 5)",
    "tickets(first: $first, after: $after)",
    "tickets(filter: {states: $s})",
    "users",
    "user(id: $id)",
    "ticket(id: \"1\")",
    "ticketByNumber(number: 99999999999)",
    "ticketStats",
    "applicants(search: \"\\u0000\")",
    "exportJobs",
    "notifications(first: -1)",
    "apiTokens",
    "__schema",
    "nope(x: [[[1]]])",
];
static FIELDS: [&str; 14] = [
    "id",
    "name",
    "email",
    "roles",
    "totalCount",
    "nodes { id number owner { name email } }",
    "notificationPreferences { email notes }",
    "supports { id name }",
    "types { name }",
    "byState { state count }",
    "__typename",
    "pageInfo { endCursor }",
    "history { kind actor { name } }",
    "...on User { id }",
];

/// GraphQL documents: plausible operations over the schema (valid or not), deep selections
/// and list values, and arbitrary text.
fn document() -> BoxedStrategy<String> {
    let selection = prop::collection::vec(
        (
            prop::sample::select(&ROOTS[..]),
            prop::collection::vec(prop::sample::select(&FIELDS[..]), 0..4),
            prop::option::of("[a-z]{1,6}"),
        ),
        1..5,
    )
    .prop_map(|fields| {
        fields
            .iter()
            .map(|(root, under, alias)| {
                let alias = alias.as_ref().map(|a| format!("{a}: ")).unwrap_or_default();
                if under.is_empty() {
                    format!("{alias}{root}")
                } else {
                    format!("{alias}{root} {{ {} }}", under.join(" "))
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    });
    let operation = (
        prop::sample::select(vec![
            "",
            "query ",
            "query Q($id: ID!, $first: Int, $s: [TicketState!], $after: String) ",
            "mutation ",
            "subscription ",
        ]),
        selection,
    )
        .prop_map(|(head, body)| format!("{head}{{ {body} }}"));
    prop_oneof![
        6 => operation,
        1 => prop::sample::select(&DEPTHS[..]).prop_map(|d| format!("{}{}", "{a".repeat(d), "}".repeat(d))),
        1 => prop::sample::select(&DEPTHS[..]).prop_map(|d| format!("{{ user(id: {}) {{ id }} }}", lists(d))),
        1 => any::<String>(),
        1 => "[{}()\\[\\]a-z$:!@#\" \\n]{0,200}",
        1 => Just("mutation { addNote(ticketId: \"1\", body: \"x\") { id } }".to_string()),
    ]
    .boxed()
}

/// A GraphQL request body: JSON with a document, variables, extensions and an operation
/// name (each maybe missing or of the wrong type), or anything else.
fn graphql_body() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        6 => (
            document(),
            prop::option::of(variables()),
            prop::option::of(json_text()),
            prop::option::of(prop_oneof![Just("\"Q\"".to_string()), json_text()]),
        )
            .prop_map(|(query, variables, extensions, name)| {
                let mut members = vec![format!("\"query\":{}", quoted(&query))];
                members.extend(variables.map(|v| format!("\"variables\":{v}")));
                members.extend(extensions.map(|e| format!("\"extensions\":{e}")));
                members.extend(name.map(|n| format!("\"operationName\":{n}")));
                format!("{{{}}}", members.join(",")).into_bytes()
            }),
        1 => json_text().prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..512),
        1 => json_text().prop_map(|q| format!("{{\"query\":{q}}}").into_bytes()),
    ]
    .boxed()
}

static CONTENT_TYPES: [Option<&str>; 6] = [
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("text/plain"),
    Some("application/x-www-form-urlencoded"),
    Some("application/graphql-response+json"),
    None,
];

/// One request to the gateway.
#[derive(Clone)]
enum Probe {
    Post {
        content_type: Option<&'static str>,
        body: Vec<u8>,
    },
    Get {
        params: Vec<(&'static str, String)>,
    },
    Login {
        content_type: Option<&'static str>,
        body: Vec<u8>,
    },
    Logout {
        content_type: Option<&'static str>,
        body: Vec<u8>,
    },
    Path {
        path: String,
    },
}

/// Mostly JSON, as clients send.
fn content_type() -> BoxedStrategy<Option<&'static str>> {
    prop_oneof![
        4 => Just(Some("application/json")),
        1 => prop::sample::select(&CONTENT_TYPES[..]),
    ]
    .boxed()
}

/// At most 300 characters of `text`, and its length: a failing case stays readable.
fn clipped(text: &[u8]) -> String {
    let shown = String::from_utf8_lossy(&text[..text.len().min(300)]).into_owned();
    format!("{shown:?} ({} bytes)", text.len())
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Probe::Post { content_type, body } => {
                write!(f, "POST /graphql {content_type:?} {}", clipped(body))
            }
            Probe::Get { params } => {
                write!(f, "GET /graphql")?;
                for (name, value) in params {
                    write!(f, " {name}={}", clipped(value.as_bytes()))?;
                }
                Ok(())
            }
            Probe::Login { content_type, body } => {
                write!(f, "POST /auth/login {content_type:?} {}", clipped(body))
            }
            Probe::Logout { content_type, body } => {
                write!(f, "POST /auth/logout {content_type:?} {}", clipped(body))
            }
            Probe::Path { path } => write!(f, "GET {}", clipped(path.as_bytes())),
        }
    }
}

fn probe() -> BoxedStrategy<(Probe, Option<Who>)> {
    let request = prop_oneof![
        8 => (content_type(), graphql_body())
            .prop_map(|(content_type, body)| Probe::Post { content_type, body }),
        4 => (
            document(),
            prop::option::of(variables()),
            prop::option::of(json_text()),
            prop::option::of("[A-Za-z]{0,5}"),
        )
            .prop_map(|(query, variables, extensions, name)| {
                let mut params = vec![("query", query)];
                params.extend(variables.map(|v| ("variables", v)));
                params.extend(extensions.map(|e| ("extensions", e)));
                params.extend(name.map(|n| ("operationName", n)));
                Probe::Get { params }
            }),
        2 => (
            content_type(),
            prop_oneof![
                (any::<String>(), any::<String>()).prop_map(|(email, password)| {
                    format!("{{\"email\":{},\"password\":{}}}", quoted(&email), quoted(&password)).into_bytes()
                }),
                json_text().prop_map(String::into_bytes),
                prop::collection::vec(any::<u8>(), 0..256),
            ],
        )
            .prop_map(|(content_type, body)| Probe::Login { content_type, body }),
        1 => (prop::sample::select(&CONTENT_TYPES[..]), prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(content_type, body)| Probe::Logout { content_type, body }),
        1 => prop_oneof![
            "/[a-zA-Z0-9%./_-]{0,40}",
            "/exports/[0-9a-z.%-]{0,30}",
            Just("/metrics".to_string()),
            Just("/readyz".to_string()),
        ]
        .prop_map(|path| Probe::Path { path }),
    ];
    let who = prop_oneof![
        Just(None),
        Just(Some(Who::Admin)),
        Just(Some(Who::FacultyA)),
    ];
    (request, who).boxed()
}

/// The platform under test, and a session cookie per signed-in caller.
struct Target {
    app: Platform,
    client: reqwest::Client,
    cookies: Vec<(Who, String)>,
    baseline_rss: u64,
}

/// This process's resident memory, in bytes (Linux).
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// How far the process's memory may grow over the run: a leak or an input that makes the
/// gateway hold memory it should not would pass it, ordinary caches and other tests running
/// alongside would not.
const RSS_GROWTH: u64 = 1024 * 1024 * 1024;

impl Target {
    async fn start() -> Self {
        let app = Platform::spawn(Backend::Sqlite).await;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let mut cookies = Vec::new();
        for who in [Who::Admin, Who::FacultyA] {
            cookies.push((who, app.session_cookie(who, PASSWORD).await));
        }
        Self {
            app,
            client,
            cookies,
            baseline_rss: rss(),
        }
    }

    fn cookie(&self, who: Option<Who>) -> Option<&str> {
        let who = who?;
        self.cookies
            .iter()
            .find(|(w, _)| *w == who)
            .map(|(_, c)| c.as_str())
    }

    async fn send(&self, probe: &Probe, who: Option<Who>) -> reqwest::Result<reqwest::Response> {
        let url = &self.app.url;
        let with = |request: reqwest::RequestBuilder, content_type: Option<&str>| {
            let mut request = request;
            if let Some(content_type) = content_type {
                request = request.header(CONTENT_TYPE, content_type);
            }
            request
        };
        let request = match probe {
            Probe::Post { content_type, body } => with(
                self.client
                    .post(format!("{url}/graphql"))
                    .body(body.clone()),
                *content_type,
            ),
            Probe::Get { params } => self.client.get(format!("{url}/graphql")).query(params),
            Probe::Login { content_type, body } => with(
                self.client
                    .post(format!("{url}/auth/login"))
                    .body(body.clone()),
                *content_type,
            ),
            // Never with a session: the other cases go on signed in.
            Probe::Logout { content_type, body } => {
                return with(
                    self.client
                        .post(format!("{url}/auth/logout"))
                        .body(body.clone()),
                    *content_type,
                )
                .send()
                .await;
            }
            Probe::Path { path } => self.client.get(format!("{url}{path}")),
        };
        let request = match self.cookie(who) {
            Some(cookie) => request.header(COOKIE, cookie),
            None => request,
        };
        request.send().await
    }

    /// The property, for one request.
    async fn check(&self, probe: &Probe, who: Option<Who>) -> Result<(), TestCaseError> {
        let response = match self.send(probe, who).await {
            Ok(response) => response,
            // A link longer than the client's URLs (64 KiB) never leaves it: not a case.
            Err(err) if err.is_builder() => return Err(TestCaseError::reject("URL too long")),
            Err(err) => return Err(TestCaseError::fail(format!("no answer: {err}"))),
        };
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        if status >= 500 {
            let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let code = value["errors"][0]["extensions"]["code"]
                .as_str()
                .or(value["error"]["code"].as_str());
            prop_assert_eq!(
                code,
                Some("UNAVAILABLE"),
                "{} {}",
                status,
                String::from_utf8_lossy(&body)
            );
        }
        let panics = PANICS.lock().unwrap().clone();
        prop_assert!(panics.is_empty(), "the gateway panicked: {:?}", panics);
        let health = self
            .client
            .get(format!("{}/healthz", self.app.url))
            .send()
            .await
            .map(|r| r.status().as_u16());
        prop_assert_eq!(health.ok(), Some(200), "/healthz after the request");
        let grown = rss().saturating_sub(self.baseline_rss);
        prop_assert!(grown < RSS_GROWTH, "RSS grew by {} MiB", grown >> 20);
        Ok(())
    }
}

#[test]
fn the_public_surface_survives_any_input() {
    watch_panics();
    // The gateway serves on these workers: tokio's default 2 MiB stacks, as in production.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(WORKER)
        .enable_all()
        .build()
        .unwrap();
    let target = runtime.block_on(Target::start());
    let cases = testkit::fuzz_cases(300);
    let mut runner = TestRunner::new(Config {
        cases,
        // GET links longer than the client sends are skipped, about one case in fifty.
        max_global_rejects: cases.max(1024),
        failure_persistence: None,
        ..Config::default()
    });
    let started = Instant::now();
    let result = runner.run(&probe(), |(probe, who)| {
        runtime.block_on(target.check(&probe, who))
    });
    eprintln!(
        "fuzz: {cases} cases against the gateway in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    runtime.block_on(target.app.cleanup());
    if let Err(err) = result {
        panic!("{err}");
    }
}
