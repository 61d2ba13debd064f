//! Every `OIDC_*` mistake stops the gateway with one line naming the variable.

use super::*;
use std::collections::HashMap;

const GOOD: [(&str, &str); 3] = [
    ("OIDC_ISSUER", "https://login.example.edu/realms/staff/"),
    ("OIDC_CLIENT_ID", "tessera"),
    (
        "OIDC_REDIRECT_URL",
        "https://tessera.example.edu/auth/oidc/callback",
    ),
];

fn read(
    extra: &[(&'static str, &'static str)],
) -> Result<(Option<OidcSettings>, SignInMethods), ConfigError> {
    let mut env: HashMap<&str, &str> = GOOD.into_iter().collect();
    for (k, v) in extra {
        env.insert(k, v);
    }
    let oidc = oidc(&env)?;
    let methods = methods(&env, oidc.as_ref())?;
    Ok((oidc, methods))
}

fn error(extra: &[(&'static str, &'static str)]) -> String {
    read(extra).unwrap_err().to_string()
}

#[test]
fn a_complete_configuration_is_read_with_its_defaults() {
    let (oidc, methods) = read(&[]).unwrap();
    let oidc = oidc.unwrap();
    assert_eq!(oidc.issuer, "https://login.example.edu/realms/staff");
    assert_eq!(oidc.scopes, ["email", "profile"]);
    assert_eq!(
        oidc.post_logout_redirect_url.as_str(),
        "https://tessera.example.edu/"
    );
    assert!(!oidc.create_users && oidc.groups.is_none());
    assert!(
        !oidc
            .algorithms
            .contains(&CoreJwsSigningAlgorithm::HmacSha256)
    );
    assert!(
        oidc.algorithms
            .contains(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256)
    );
    assert!(methods.password && methods.break_glass.is_none());
    let env: HashMap<&str, &str> = HashMap::new();
    assert!(super::oidc(&env).unwrap().is_none());
}

#[test]
fn group_mappings_are_read_pair_by_pair() {
    let (oidc, _) = read(&[
        ("OIDC_GROUPS_CLAIM", "groups"),
        ("OIDC_ROLE_MAP", "a=FACULTY, /x/y=GRAD_OFFICE,a=FSS"),
    ])
    .unwrap();
    let groups = oidc.unwrap().groups.unwrap();
    assert_eq!(groups.roles(["a"]), [Role::Faculty, Role::Fss]);
    assert_eq!(groups.roles(["/x/y", "b"]), [Role::GradOffice]);
    assert!(groups.roles(["b"]).is_empty());
}

#[test]
fn each_mistake_names_its_variable() {
    let cases: &[(&[(&'static str, &'static str)], &str)] = &[
        (
            &[("OIDC_ISSUER", "http://login.example.edu")],
            "OIDC_ISSUER: must be https://",
        ),
        (
            &[("OIDC_ISSUER", "not a url")],
            "OIDC_ISSUER: expected a URL",
        ),
        (
            &[("OIDC_ISSUER", "ftp://login.example.edu")],
            "OIDC_ISSUER: expected an https:// URL",
        ),
        (
            &[("OIDC_REDIRECT_URL", "http://tessera.example.edu/cb")],
            "OIDC_REDIRECT_URL: must be https://",
        ),
        (
            &[("OIDC_SIGNING_ALGS", "RS256,none")],
            "OIDC_SIGNING_ALGS: `none` is not",
        ),
        (
            &[("OIDC_SIGNING_ALGS", "RS999")],
            "OIDC_SIGNING_ALGS: `RS999` is not",
        ),
        (
            &[("OIDC_CREATE_USERS", "maybe")],
            "OIDC_CREATE_USERS: expected true or false",
        ),
        (
            &[("OIDC_NEW_USER_ROLES", "FACULTY,BOSS")],
            "OIDC_NEW_USER_ROLES: `BOSS` is not a role",
        ),
        (
            &[("OIDC_GROUPS_CLAIM", "groups")],
            "OIDC_ROLE_MAP: must be set with OIDC_GROUPS_CLAIM",
        ),
        (
            &[("OIDC_ROLE_MAP", "a=FACULTY")],
            "OIDC_GROUPS_CLAIM: must be set with OIDC_ROLE_MAP",
        ),
        (
            &[("OIDC_GROUPS_CLAIM", "groups"), ("OIDC_ROLE_MAP", "a=BOSS")],
            "OIDC_ROLE_MAP: expected group=ROLE",
        ),
        (
            &[
                ("OIDC_GROUPS_CLAIM", "groups"),
                ("OIDC_ROLE_MAP", "FACULTY"),
            ],
            "OIDC_ROLE_MAP: expected group=ROLE",
        ),
        (
            &[("PASSWORD_LOGIN", "sometimes")],
            "PASSWORD_LOGIN: expected true or false",
        ),
        (
            &[("BREAK_GLASS_ADMIN", "admin")],
            "BREAK_GLASS_ADMIN: expected an email address",
        ),
    ];
    for (extra, expected) in cases {
        let err = error(extra);
        assert!(err.starts_with(expected), "{extra:?}: {err}");
        assert!(!err.contains('\n'), "{err}");
    }
}

#[test]
fn settings_that_need_another_name_it() {
    let mut env: HashMap<&str, &str> = HashMap::from([("OIDC_CLIENT_ID", "tessera")]);
    assert_eq!(
        oidc(&env).unwrap_err().to_string(),
        "OIDC_CLIENT_ID: set without OIDC_ISSUER"
    );
    env = HashMap::from([("PASSWORD_LOGIN", "off")]);
    assert_eq!(
        methods(&env, None).unwrap_err().to_string(),
        "PASSWORD_LOGIN: off needs an identity provider (OIDC_ISSUER)"
    );
    env = HashMap::from([("OIDC_ISSUER", "https://login.example.edu")]);
    assert_eq!(
        oidc(&env).unwrap_err().to_string(),
        "OIDC_CLIENT_ID: must be set with OIDC_ISSUER"
    );
}

#[test]
fn plain_http_is_for_loopback_only() {
    for issuer in [
        "http://127.0.0.1:8081",
        "http://localhost:8081/realms/x",
        "http://[::1]:9",
    ] {
        let env: HashMap<&str, &str> = HashMap::from([
            ("OIDC_ISSUER", issuer),
            ("OIDC_CLIENT_ID", "tessera"),
            (
                "OIDC_REDIRECT_URL",
                "http://127.0.0.1:8080/auth/oidc/callback",
            ),
        ]);
        assert!(oidc(&env).unwrap().is_some(), "{issuer}");
    }
}

#[test]
fn passwords_off_leave_only_the_break_glass_admin() {
    let (_, methods) = read(&[
        ("PASSWORD_LOGIN", "off"),
        ("BREAK_GLASS_ADMIN", " Root@Example.edu "),
    ])
    .unwrap();
    assert!(methods.password_allowed("root@example.edu"));
    assert!(methods.password_allowed("ROOT@example.edu "));
    assert!(!methods.password_allowed("someone@example.edu"));
}
