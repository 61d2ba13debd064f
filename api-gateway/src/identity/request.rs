//! What credentials a request carries, and whether a browser could have sent it from another
//! site: the session cookie, and the `Origin` check that keeps other sites from using it.

use crate::sessions;
use axum::http::{HeaderMap, header};

/// The session cookie's value, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, sessions::COOKIE)
}

/// The value of cookie `name`, if the request has one.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name && !value.is_empty()).then_some(value)
        })
}

/// Whether the request's `Origin`, if any, is the host it was sent to (a browser always
/// sends `Origin` with a cross-site POST or websocket).
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|host| host.eq_ignore_ascii_case(authority))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_must_match_the_host() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "tessera.example.edu".parse().unwrap());
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            "https://tessera.example.edu".parse().unwrap(),
        );
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, "https://evil.example.com".parse().unwrap());
        assert!(!same_origin(&headers));
    }
}
