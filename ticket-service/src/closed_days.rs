//! The office's closed days besides weekends, which business-day targets skip: listed, added
//! and removed by an ADMIN only (FORBIDDEN to anyone else). A date is `YYYY-MM-DD`, a real
//! day between 2000 and 2100 (BAD_USER_INPUT on `date` otherwise); a label says what it is.

use crate::{
    error::{Result, ServiceError},
    tickets::caller_id,
    validate,
};
use chrono::NaiveDate;
use common::{Principal, Role};
use db::entity::closed_day;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, QueryOrder, Set, SqlErr};

/// Refuses everyone but an ADMIN (UNAUTHENTICATED first when nobody is signed in).
fn admin_only(caller: &Principal) -> Result<i64> {
    let me = caller_id(caller)?;
    if !caller.has_role(Role::Admin) {
        return Err(ServiceError::Forbidden(
            "only an administrator manages closed days".into(),
        ));
    }
    Ok(me)
}

/// `date` as a day: `YYYY-MM-DD`, from 2000 to 2100.
pub fn parse_date(date: &str) -> Result<NaiveDate> {
    let bad = || {
        ServiceError::bad_input(
            "date",
            format!(
                "date must be a day written YYYY-MM-DD, got `{}`",
                date.trim()
            ),
        )
    };
    let text = date.trim();
    if text.len() != 10 {
        return Err(bad());
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad())?;
    let range = (
        NaiveDate::from_ymd_opt(2000, 1, 1),
        NaiveDate::from_ymd_opt(2100, 12, 31),
    );
    match range {
        (Some(first), Some(last)) if day >= first && day <= last => Ok(day),
        _ => Err(ServiceError::bad_input(
            "date",
            "date must be between 2000-01-01 and 2100-12-31",
        )),
    }
}

/// Every closed day, earliest first.
pub async fn list(db: &DatabaseConnection, caller: &Principal) -> Result<Vec<closed_day::Model>> {
    admin_only(caller)?;
    Ok(closed_day::Entity::find()
        .order_by_asc(closed_day::Column::Day)
        .all(db)
        .await?)
}

/// Adds `date` as a closed day called `label`; a day already closed is BAD_USER_INPUT.
pub async fn add(
    db: &DatabaseConnection,
    caller: &Principal,
    date: &str,
    label: &str,
) -> Result<closed_day::Model> {
    let me = admin_only(caller)?;
    let day = parse_date(date)?;
    let label = validate::text("label", label, validate::SHORT_MAX)?;
    let row = closed_day::ActiveModel {
        day: Set(day),
        label: Set(label),
        created_by: Set(Some(me)),
        created_at: Set(db::now()),
    }
    .insert(db)
    .await;
    match row {
        Ok(row) => Ok(row),
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Err(
            ServiceError::bad_input("date", format!("{day} is already a closed day")),
        ),
        Err(err) => Err(err.into()),
    }
}

/// Removes the closed day `date`; one that is not closed is NOT_FOUND.
pub async fn remove(
    db: &DatabaseConnection,
    caller: &Principal,
    date: &str,
) -> Result<closed_day::Model> {
    admin_only(caller)?;
    let day = parse_date(date)?;
    let Some(row) = closed_day::Entity::find_by_id(day).one(db).await? else {
        return Err(ServiceError::NotFound("closed day"));
    };
    closed_day::Entity::delete_by_id(day).exec(db).await?;
    Ok(row)
}
