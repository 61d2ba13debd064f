//! Issue 18, tried as an attacker would: deep JSON, sign-in CSRF, sessions after a new
//! password, security headers, `/metrics`, who reads whose details, control characters in
//! names, lockouts, and subgraph names in errors.

mod deep_json;
mod directory;
mod exposure;
mod sessions;

const ME: &str = "{ me { id } }";
