//! Tokens minted by the gateway's side and read by the subgraphs' side: identities round-trip,
//! what is expired, forged or of the other kind is refused, API tokens allow their scopes only.

use super::*;
use crate::model::{ApiScope, Role};
use biscuit_auth::{Biscuit, KeyPair, builder_ext::BuilderExt, macros::fact};
use std::time::{Duration, SystemTime};

fn minter() -> TokenMinter {
    TokenMinter::new(KeyPair::new())
}

#[test]
fn identity_round_trips() {
    let m = minter();
    let p = Principal::user(7, vec![Role::Faculty, Role::Fss], vec![3, 9]);
    let token = m.mint(&p).unwrap();
    assert_eq!(m.verifier().verify(&token).unwrap(), p);
}

#[test]
fn anonymous_round_trips() {
    let m = minter();
    let token = m.mint(&Principal::anonymous()).unwrap();
    assert_eq!(m.verifier().verify(&token).unwrap(), Principal::anonymous());
}

#[test]
fn expired_tokens_are_refused() {
    let m = minter();
    let past = SystemTime::now() - Duration::from_secs(5);
    let token = m
        .mint_expiring(&Principal::user(1, vec![Role::Admin], vec![]), past)
        .unwrap();
    assert!(matches!(
        m.verifier().verify(&token),
        Err(AuthError::Refused(_))
    ));
}

#[test]
fn verified_tokens_are_remembered_until_they_expire() {
    let m = minter();
    let verifier = m.verifier();
    let p = Principal::user(7, vec![Role::GradOffice], vec![]);
    let expires = SystemTime::now() + Duration::from_secs(2);
    let token = m.mint_expiring(&p, expires).unwrap();
    assert_eq!(verifier.verify(&token).unwrap(), p);
    assert_eq!(verifier.remembered(), 1);
    // A clone (each request handler holds one) shares what was verified.
    assert_eq!(verifier.clone().verify(&format!(" {token} ")).unwrap(), p);
    assert_eq!(verifier.remembered(), 1);
    // Only the exact text is remembered: a changed token is checked in full.
    let middle = token.len() / 2;
    let flipped = if &token[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    let tampered = format!("{}{flipped}{}", &token[..middle], &token[middle + 1..]);
    assert!(verifier.verify(&tampered).is_err());
    // Past its expiry the remembered answer no longer holds.
    while SystemTime::now() <= expires + Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(matches!(
        verifier.verify(&token),
        Err(AuthError::Refused(_))
    ));
}

#[test]
fn signed_out_and_attenuated_tokens_are_not_remembered() {
    let m = minter();
    let verifier = m.verifier();
    let anonymous = m.mint(&Principal::anonymous()).unwrap();
    assert_eq!(verifier.verify(&anonymous).unwrap(), Principal::anonymous());
    assert_eq!(verifier.remembered(), 0);
    // A block appended by a holder may end the token sooner than its authority says.
    let p = Principal::user(1, vec![Role::Faculty], vec![]);
    let token = m.mint(&p).unwrap();
    let soon = SystemTime::now() + Duration::from_secs(60);
    let narrowed = Biscuit::from_base64(&token, m.key.public())
        .unwrap()
        .append(biscuit_auth::macros::block!(
            "check if time($t), $t <= {soon};",
            soon = soon
        ))
        .unwrap()
        .to_base64()
        .unwrap();
    assert_eq!(verifier.verify(&narrowed).unwrap(), p);
    assert_eq!(verifier.remembered(), 0);
    // Tokens minted before the expiry became a fact carry none: checked every time.
    let old = Biscuit::builder()
        .fact(fact!("user(1)"))
        .unwrap()
        .fact(fact!(r#"role("FACULTY")"#))
        .unwrap()
        .check_expiration_date(soon)
        .build(&m.key)
        .unwrap()
        .to_base64()
        .unwrap();
    assert_eq!(verifier.verify(&old).unwrap(), p);
    assert_eq!(verifier.remembered(), 0);
    assert_eq!(verifier.verify(&token).unwrap(), p);
    assert_eq!(verifier.remembered(), 1);
}

#[test]
fn another_key_is_refused() {
    let token = minter()
        .mint(&Principal::user(1, vec![Role::Admin], vec![]))
        .unwrap();
    assert!(matches!(
        minter().verifier().verify(&token),
        Err(AuthError::Invalid(_))
    ));
    assert!(matches!(
        minter().verifier().verify("not a token"),
        Err(AuthError::Invalid(_))
    ));
}

#[test]
fn attenuated_blocks_cannot_add_identity() {
    let m = minter();
    let token = m
        .mint(&Principal::user(1, vec![Role::Faculty], vec![]))
        .unwrap();
    let biscuit = Biscuit::from_base64(&token, m.key.public()).unwrap();
    let forged = biscuit
        .append(biscuit_auth::macros::block!(r#"role("ADMIN"); user(2);"#))
        .unwrap()
        .to_base64()
        .unwrap();
    let p = m.verifier().verify(&forged).unwrap();
    assert_eq!(p, Principal::user(1, vec![Role::Faculty], vec![]));
}

fn access(operation: &str, fields: &[&str], requires: &[&str]) -> Access {
    Access {
        operation: operation.into(),
        fields: fields.iter().map(|f| f.to_string()).collect(),
        requires: requires.iter().map(|r| r.to_string()).collect(),
    }
}

#[test]
fn api_tokens_allow_their_scopes_only() {
    let m = minter();
    let minted = m
        .mint_api_token(4, &[ApiScope::TicketsRead, ApiScope::Exports], None)
        .unwrap();
    let token = m.verifier().api_token(&minted.token).unwrap();
    assert_eq!(token.user_id, 4);
    assert_eq!(token.revocation_id, minted.revocation_id);
    assert_eq!(token.revocation_id.len(), 128);
    let now = SystemTime::now();
    let read = access("query", &["tickets"], &["TICKETS_READ"]);
    token.authorize(&read, now).unwrap();
    token
        .authorize(&access("download", &[], &["EXPORTS"]), now)
        .unwrap();
    for refused in [
        access("mutation", &["addNote"], &["TICKETS_WRITE"]),
        access("mutation", &["createApiToken"], &[SESSION_ONLY]),
        access(
            "query",
            &["tickets", "apiTokens"],
            &["TICKETS_READ", SESSION_ONLY],
        ),
    ] {
        assert!(matches!(
            token.authorize(&refused, now),
            Err(AuthError::Refused(_))
        ));
    }
}

#[test]
fn api_tokens_expire() {
    let m = minter();
    let expires = SystemTime::now() + Duration::from_secs(60);
    let minted = m
        .mint_api_token(4, &[ApiScope::TicketsRead], Some(expires))
        .unwrap();
    let token = m.verifier().api_token(&minted.token).unwrap();
    let read = access("query", &["me"], &["TICKETS_READ"]);
    token.authorize(&read, SystemTime::now()).unwrap();
    assert!(matches!(
        token.authorize(&read, expires + Duration::from_secs(1)),
        Err(AuthError::Refused(_))
    ));
}

#[test]
fn attenuated_api_tokens_are_narrower_and_keep_their_revocation_id() {
    let m = minter();
    let minted = m
        .mint_api_token(4, &[ApiScope::TicketsRead, ApiScope::TicketsWrite], None)
        .unwrap();
    // The holder needs no key to attenuate.
    let narrower = biscuit_auth::UnverifiedBiscuit::from_base64(&minted.token)
        .unwrap()
        .append(biscuit_auth::macros::block!(
            r#"check if operation("query");"#
        ))
        .unwrap()
        .to_base64()
        .unwrap();
    let token = m.verifier().api_token(&narrower).unwrap();
    assert_eq!(token.revocation_id, minted.revocation_id);
    let now = SystemTime::now();
    token
        .authorize(&access("query", &["tickets"], &["TICKETS_READ"]), now)
        .unwrap();
    assert!(
        token
            .authorize(&access("mutation", &["addNote"], &["TICKETS_WRITE"]), now)
            .is_err()
    );
}

#[test]
fn api_tokens_and_request_tokens_are_not_interchangeable() {
    let m = minter();
    let minted = m.mint_api_token(4, &[ApiScope::TicketsRead], None).unwrap();
    assert!(matches!(
        m.verifier().verify(&minted.token),
        Err(AuthError::Refused(_))
    ));
    let request = m
        .mint(&Principal::user(4, vec![Role::Admin], vec![]))
        .unwrap();
    assert!(matches!(
        m.verifier().api_token(&request),
        Err(AuthError::Malformed(_))
    ));
    assert!(matches!(
        minter().verifier().api_token(&minted.token),
        Err(AuthError::Invalid(_))
    ));
}
