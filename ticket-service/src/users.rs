//! Users: the directory signed-in users may read (`listed_for`, `may_read_email`,
//! `visible_roles` say how much of it), and the ADMIN's changes to it.

use crate::{
    error::{Result, ServiceError},
    scheduler::system_user::EMAIL as SCHEDULER_EMAIL,
    tickets::{active_faculty, caller_id},
    validate,
};
use common::{Principal, Role};
use db::entity::{user, user_role_change, user_support};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set, SqlErr, TransactionTrait,
    sea_query::{Expr, Func},
};

/// Whether `caller` may read every detail of anyone: the roles that see every ticket (they
/// run the workflow, contact people and manage accounts).
fn sees_everyone(caller: &Principal) -> bool {
    caller.sees_every_ticket()
}

/// Whether `users` and `user(id)` show `user` to `caller`. The workflow roles see everyone;
/// faculty and FSS see the faculty (whom they pick as supervisors) and themselves.
pub fn listed_for(caller: &Principal, user: &user::Model) -> bool {
    sees_everyone(caller)
        || caller.user_id == Some(user.id)
        || user.role_list().contains(&Role::Faculty)
}

/// Whether `caller` may read `user`'s email: their own, any faculty member's (the people
/// named on offers), and everyone's for the workflow roles. Anyone else's email is
/// FORBIDDEN to faculty and FSS.
pub fn may_read_email(caller: &Principal, user: &user::Model) -> bool {
    listed_for(caller, user)
}

/// The roles of `user` that `caller` may see: all of them for themselves and the workflow
/// roles; to anyone else only FACULTY (whether they can own or supervise a ticket).
pub fn visible_roles(caller: &Principal, user: &user::Model) -> Vec<Role> {
    let roles = user.role_list();
    if sees_everyone(caller) || caller.user_id == Some(user.id) {
        roles
    } else {
        roles.into_iter().filter(|r| *r == Role::Faculty).collect()
    }
}

/// Lists users, optionally with one role, as far as `listed_for` shows them to the caller;
/// inactive ones only for ADMIN and only when asked.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Principal,
    role: Option<Role>,
    include_inactive: bool,
) -> Result<Vec<user::Model>> {
    caller_id(caller)?;
    if include_inactive && !caller.has_role(Role::Admin) {
        return Err(ServiceError::Forbidden(
            "only an administrator may list inactive users".into(),
        ));
    }
    // The scheduler's own user is nobody to manage: it never signs in and is never emailed.
    let mut query = user::Entity::find()
        .filter(user::Column::Email.ne(SCHEDULER_EMAIL))
        .order_by_asc(user::Column::Name)
        .order_by_asc(user::Column::Id);
    if !include_inactive {
        query = query.filter(user::Column::Active.eq(true));
    }
    if let Some(role) = role {
        // Role names never contain one another, so a substring match is exact.
        query = query.filter(user::Column::Roles.contains(role.as_str()));
    }
    let mut rows = query.all(db).await?;
    rows.retain(|row| listed_for(caller, row));
    Ok(rows)
}

/// What `createUser` asks for.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Unique, case-insensitively.
    pub email: String,
    /// Display name.
    pub name: String,
    /// At least one role.
    pub roles: Vec<Role>,
    /// At least eight characters.
    pub password: String,
    /// For FSS users: the faculty they support.
    pub supports_ids: Vec<String>,
}

/// What `updateUser` changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    /// The user to change.
    pub id: String,
    /// New name.
    pub name: Option<String>,
    /// New roles.
    pub roles: Option<Vec<Role>>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// New password.
    pub password: Option<String>,
    /// New support links.
    pub supports_ids: Option<Vec<String>>,
}

fn admin_only(caller: &Principal) -> Result<i64> {
    let me = caller_id(caller)?;
    if caller.has_role(Role::Admin) {
        Ok(me)
    } else {
        Err(ServiceError::Forbidden(
            "only an administrator may manage users".into(),
        ))
    }
}

fn check_roles(roles: &[Role]) -> Result<()> {
    if roles.is_empty() {
        return Err(ServiceError::bad_input(
            "roles",
            "a user needs at least one role",
        ));
    }
    Ok(())
}

async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || common::password::hash(&password))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

async fn check_supports(
    txn: &DatabaseTransaction,
    roles: &[Role],
    ids: &[String],
) -> Result<Vec<i64>> {
    let mut parsed = ids
        .iter()
        .map(|id| validate::id("supportsIds", id))
        .collect::<Result<Vec<_>>>()?;
    parsed.sort_unstable();
    parsed.dedup();
    if !parsed.is_empty() && !roles.contains(&Role::Fss) {
        return Err(ServiceError::bad_input(
            "supportsIds",
            "only FSS users support faculty members",
        ));
    }
    active_faculty(txn, "supportsIds", &parsed).await?;
    Ok(parsed)
}

async fn replace_supports(txn: &DatabaseTransaction, fss_id: i64, ids: &[i64]) -> Result<()> {
    user_support::Entity::delete_many()
        .filter(user_support::Column::FssId.eq(fss_id))
        .exec(txn)
        .await?;
    if !ids.is_empty() {
        user_support::Entity::insert_many(ids.iter().map(|f| user_support::ActiveModel {
            fss_id: Set(fss_id),
            faculty_id: Set(*f),
        }))
        .exec(txn)
        .await?;
    }
    Ok(())
}

fn duplicate_email(err: DbErr, email: &str) -> ServiceError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => ServiceError::bad_input(
            "email",
            format!("a user with the email {email} already exists"),
        ),
        _ => err.into(),
    }
}

/// Creates a user (ADMIN only).
pub async fn create(
    db: &DatabaseConnection,
    caller: &Principal,
    input: NewUser,
) -> Result<user::Model> {
    let me = admin_only(caller)?;
    let email = validate::email("email", &input.email)?;
    if email.eq_ignore_ascii_case(SCHEDULER_EMAIL) {
        // The scheduler would take this account as its own.
        return Err(ServiceError::bad_input(
            "email",
            format!("{SCHEDULER_EMAIL} is reserved for Tessera's scheduler"),
        ));
    }
    let name = validate::text("name", &input.name, validate::SHORT_MAX)?;
    check_roles(&input.roles)?;
    validate::password("password", &input.password)?;
    let password_hash = hash(input.password).await?;
    let txn = db.begin().await?;
    let supports = check_supports(&txn, &input.roles, &input.supports_ids).await?;
    let taken = user::Entity::find()
        .filter(Expr::expr(Func::lower(Expr::col(user::Column::Email))).eq(email.to_lowercase()))
        .one(&txn)
        .await?;
    if taken.is_some() {
        return Err(ServiceError::bad_input(
            "email",
            format!("a user with the email {email} already exists"),
        ));
    }
    let now = db::now();
    let row = user::ActiveModel {
        email: Set(email.clone()),
        name: Set(name),
        roles: Set(user::format_roles(&input.roles)),
        password_hash: Set(Some(password_hash)),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| duplicate_email(e, &email))?;
    let source = user_role_change::ADMIN;
    user_role_change::record(&txn, row.id, &[], &input.roles, Some(me), source).await?;
    replace_supports(&txn, row.id, &supports).await?;
    txn.commit().await?;
    Ok(row)
}

/// Refuses to change the scheduler's own user: with roles and a password, someone could sign
/// in as it.
fn not_the_scheduler(user: &user::Model) -> Result<()> {
    if user.email == SCHEDULER_EMAIL {
        let message = format!(
            "{} is Tessera's scheduler, which cannot be changed",
            user.id
        );
        return Err(ServiceError::bad_input("id", message));
    }
    Ok(())
}

/// Changes a user (ADMIN only). An administrator cannot lock themselves out.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Principal,
    changes: UserChanges,
) -> Result<user::Model> {
    let me = admin_only(caller)?;
    let id = validate::id("id", &changes.id)?;
    let name = changes
        .name
        .as_deref()
        .map(|n| validate::text("name", n, validate::SHORT_MAX))
        .transpose()?;
    if let Some(roles) = &changes.roles {
        check_roles(roles)?;
        if id == me && !roles.contains(&Role::Admin) {
            return Err(ServiceError::bad_input(
                "roles",
                "you cannot remove your own ADMIN role",
            ));
        }
    }
    if id == me && changes.active == Some(false) {
        return Err(ServiceError::bad_input(
            "active",
            "you cannot deactivate yourself",
        ));
    }
    let password_hash = match changes.password {
        None => None,
        Some(p) => {
            validate::password("password", &p)?;
            Some(hash(p).await?)
        }
    };
    let txn = db.begin().await?;
    let current = user::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| ServiceError::bad_input("id", format!("{id} is not a known user")))?;
    not_the_scheduler(&current)?;
    let roles = changes.roles.clone().unwrap_or_else(|| current.role_list());
    let before = current.role_list();
    let supports = match &changes.supports_ids {
        Some(ids) => Some(check_supports(&txn, &roles, ids).await?),
        // Losing the FSS role ends the support links.
        None if !roles.contains(&Role::Fss) => Some(Vec::new()),
        None => None,
    };
    let mut active: user::ActiveModel = current.into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(roles) = &changes.roles {
        active.roles = Set(user::format_roles(roles));
    }
    if let Some(flag) = changes.active {
        active.active = Set(flag);
    }
    if let Some(hash) = password_hash {
        active.password_hash = Set(Some(hash));
    }
    active.updated_at = Set(db::now());
    let row = active.update(&txn).await?;
    user_role_change::record(
        &txn,
        row.id,
        &before,
        &roles,
        Some(me),
        user_role_change::ADMIN,
    )
    .await?;
    if let Some(ids) = supports {
        replace_supports(&txn, row.id, &ids).await?;
    }
    txn.commit().await?;
    Ok(row)
}
