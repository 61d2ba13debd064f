//! Who gets in: a verified email of a known, active user; unknown people only when the
//! operator allows it; roles from groups when mapped (and the history of every role change,
//! an ADMIN's included);
//! password sign-in turned off except for the break-glass administrator.

use super::fake::{self, FIRST, FakeProvider};
use super::{browser, me, platform, sign_in, sign_in_with, ways_in};
use crate::on_both_databases;
use crate::support::{Backend, PASSWORD, Platform, Who};
use db::entity::{user, user_role_change};
use db::sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde_json::{Value, json};

/// The role history of `id`, oldest first: (from, to, changed_by, source).
async fn history(app: &Platform, id: i64) -> Vec<(String, String, Option<i64>, String)> {
    user_role_change::Entity::find()
        .filter(user_role_change::Column::UserId.eq(id))
        .order_by_asc(user_role_change::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.from_roles, c.to_roles, c.changed_by, c.source))
        .collect()
}

async fn only_known_active_verified_people_get_in(backend: Backend) {
    let provider = FakeProvider::start(&[FIRST]).await;
    let app = platform(backend, &provider, &[]).await;
    let to = sign_in(&app, &provider, &browser(), "stranger@test.edu", &FIRST).await;
    assert_eq!(to, "/?oidc_error=no_user");
    let count = user::Entity::find().all(&app.db).await.unwrap().len();
    assert_eq!(count, Who::ALL.len(), "nobody was created");

    // An email the provider does not say it verified does not match anyone.
    let unverified = sign_in_with(&app, &provider, &browser(), |nonce| {
        let mut claims = provider.claims(Who::FacultyA.email(), nonce);
        claims["email_verified"] = json!(false);
        fake::sign(&claims, &FIRST)
    })
    .await;
    assert_eq!(unverified, "/?oidc_error=unverified");

    // A deactivated user stays out whatever the provider says.
    let mut bob = user::Entity::find_by_id(app.id(Who::FacultyB))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    bob.active = Set(false);
    bob.update(&app.db).await.unwrap();
    let browser = browser();
    let to = sign_in(&app, &provider, &browser, Who::FacultyB.email(), &FIRST).await;
    assert_eq!(to, "/?oidc_error=deactivated");
    assert_eq!(me(&app, &browser).await, Value::Null);
    app.cleanup().await;
}

async fn unknown_people_are_created_when_allowed(backend: Backend) {
    let provider = FakeProvider::start(&[FIRST]).await;
    let app = platform(
        backend,
        &provider,
        &[
            ("OIDC_CREATE_USERS", "true"),
            ("OIDC_NEW_USER_ROLES", "FACULTY"),
            ("OIDC_TRUST_EMAIL", "true"),
        ],
    )
    .await;
    // A provider trusted with its emails need not say they are verified (Entra ID never does).
    let trusted = super::browser();
    sign_in_with(&app, &provider, &trusted, |nonce| {
        let mut claims = provider.claims(Who::FacultyA.email(), nonce);
        claims.as_object_mut().unwrap().remove("email_verified");
        fake::sign(&claims, &FIRST)
    })
    .await;
    assert_eq!(me(&app, &trusted).await["email"], Who::FacultyA.email());
    let browser = browser();
    let to = sign_in(&app, &provider, &browser, "New.Person@Test.edu", &FIRST).await;
    assert_eq!(to, "/");
    let signed_in = me(&app, &browser).await;
    assert_eq!(signed_in["email"], "New.Person@Test.edu");
    assert_eq!(signed_in["name"], "Someone From Campus");
    assert_eq!(signed_in["roles"], json!(["FACULTY"]));
    let id: i64 = signed_in["id"].as_str().unwrap().parse().unwrap();
    let created = user::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.password_hash, None, "no password to guess");
    assert_eq!(
        history(&app, id).await,
        vec![(String::new(), "FACULTY".into(), None, "SIGN_IN".into())]
    );
    // The second sign-in finds the same user (case-insensitively), creating nobody.
    let again = super::browser();
    sign_in(&app, &provider, &again, "new.person@test.edu", &FIRST).await;
    assert_eq!(me(&app, &again).await["id"], signed_in["id"]);
    app.cleanup().await;
}

async fn groups_give_roles_at_every_sign_in(backend: Backend) {
    let provider = FakeProvider::start(&[FIRST]).await;
    let app = platform(
        backend,
        &provider,
        &[
            ("OIDC_GROUPS_CLAIM", "groups"),
            (
                "OIDC_ROLE_MAP",
                "grad-office=GRAD_OFFICE,faculty=FACULTY,/tessera/admins=ADMIN",
            ),
        ],
    )
    .await;
    let alice = app.id(Who::FacultyA);
    let with_groups = |groups: Value| {
        let provider = &provider;
        move |nonce: &str| {
            let mut claims = provider.claims(Who::FacultyA.email(), nonce);
            claims["groups"] = groups;
            fake::sign(&claims, &FIRST)
        }
    };
    let browser = browser();
    let to = sign_in_with(
        &app,
        &provider,
        &browser,
        with_groups(json!(["grad-office", "x"])),
    )
    .await;
    assert_eq!(to, "/");
    assert_eq!(me(&app, &browser).await["roles"], json!(["GRAD_OFFICE"]));
    // The same groups again change nothing; new ones change the roles again.
    sign_in_with(
        &app,
        &provider,
        &super::browser(),
        with_groups(json!(["grad-office"])),
    )
    .await;
    let both = super::browser();
    let groups = json!(["faculty", "/tessera/admins"]);
    sign_in_with(&app, &provider, &both, with_groups(groups)).await;
    assert_eq!(me(&app, &both).await["roles"], json!(["FACULTY", "ADMIN"]));
    // No mapped group: refused, and the roles stay as they were.
    let none = sign_in_with(
        &app,
        &provider,
        &super::browser(),
        with_groups(json!(["x"])),
    )
    .await;
    assert_eq!(none, "/?oidc_error=no_role");
    let none = sign_in(
        &app,
        &provider,
        &super::browser(),
        Who::FacultyA.email(),
        &FIRST,
    )
    .await;
    assert_eq!(none, "/?oidc_error=no_role");
    let sign_in = |from: &str, to: &str| (from.into(), to.into(), None, "SIGN_IN".to_string());
    assert_eq!(
        history(&app, alice).await,
        vec![
            sign_in("FACULTY", "GRAD_OFFICE"),
            sign_in("GRAD_OFFICE", "FACULTY,ADMIN"),
        ]
    );

    app.cleanup().await;
}

async fn an_admins_role_changes_are_history_too(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let alice = app.id(Who::FacultyA);
    let admin = app.signed_in(Who::Admin).await;
    let body = app
        .gql(
            &admin,
            "mutation($i: UpdateUserInput!) { updateUser(input: $i) { roles } }",
            json!({"i": {"id": alice.to_string(), "roles": ["FACULTY", "ADMIN"]}}),
        )
        .await;
    let roles = &body["data"]["updateUser"]["roles"];
    assert_eq!(roles, &json!(["FACULTY", "ADMIN"]), "{body}");
    let by = Some(app.id(Who::Admin));
    assert_eq!(
        history(&app, alice).await,
        vec![("FACULTY".into(), "FACULTY,ADMIN".into(), by, "ADMIN".into())]
    );
    let body = app
        .gql(
            &admin,
            "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
            json!({"i": {"email": "new@test.edu", "name": "New Person", "roles": ["FSS"], "password": PASSWORD}}),
        )
        .await;
    let id: i64 = body["data"]["createUser"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        history(&app, id).await,
        vec![(String::new(), "FSS".into(), by, "ADMIN".into())]
    );
    // A change of name only is no role change.
    app.gql(
        &admin,
        "mutation($i: UpdateUserInput!) { updateUser(input: $i) { id } }",
        json!({"i": {"id": id.to_string(), "name": "Newer Person"}}),
    )
    .await;
    assert_eq!(history(&app, id).await.len(), 1);
    app.cleanup().await;
}

async fn password_sign_in_can_be_turned_off(backend: Backend) {
    let backend_again = backend.clone();
    let provider = FakeProvider::start(&[FIRST]).await;
    let app = platform(
        backend,
        &provider,
        &[
            ("PASSWORD_LOGIN", "off"),
            ("BREAK_GLASS_ADMIN", "Admin@Test.edu"),
        ],
    )
    .await;
    for email in [Who::FacultyA.email(), "nobody@test.edu"] {
        let refused = app.login(&app.client(), email, PASSWORD).await;
        assert_eq!(refused.status(), 403, "{email}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "FORBIDDEN", "{body}");
    }
    // The break-glass administrator still signs in with a password (a wrong one fails).
    let wrong = app.login(&app.client(), Who::Admin.email(), "not it").await;
    assert_eq!(wrong.status(), 401);
    app.signed_in(Who::Admin).await;
    // Everyone else signs in at the provider.
    let browser = browser();
    sign_in(&app, &provider, &browser, Who::FacultyA.email(), &FIRST).await;
    assert_eq!(me(&app, &browser).await["email"], Who::FacultyA.email());
    let config = ways_in(&app).await;
    assert_eq!(config["password"], false);
    app.cleanup().await;

    // The break-glass address opens only an ADMIN's account.
    let app = platform(
        backend_again,
        &provider,
        &[
            ("PASSWORD_LOGIN", "off"),
            ("BREAK_GLASS_ADMIN", Who::FacultyA.email()),
        ],
    )
    .await;
    let refused = app
        .login(&app.client(), Who::FacultyA.email(), PASSWORD)
        .await;
    assert_eq!(refused.status(), 401);
    app.cleanup().await;
}

on_both_databases!(
    only_known_active_verified_people_get_in,
    unknown_people_are_created_when_allowed,
    groups_give_roles_at_every_sign_in,
    an_admins_role_changes_are_history_too,
    password_sign_in_can_be_turned_off,
);
