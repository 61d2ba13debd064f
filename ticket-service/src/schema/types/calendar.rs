//! The office's calendar as the API shows it.

use async_graphql::SimpleObject;
use db::entity::closed_day;

/// A day the office is closed besides weekends: waiting targets in business days skip it.
#[derive(SimpleObject, Debug, Clone)]
pub struct ClosedDay {
    /// The day, `YYYY-MM-DD`, in the office's time zone (`OFFICE_TIME_ZONE`).
    pub date: String,
    /// What it is ("Winter closure").
    pub label: String,
}

impl From<closed_day::Model> for ClosedDay {
    fn from(row: closed_day::Model) -> Self {
        Self {
            date: row.day.format("%Y-%m-%d").to_string(),
            label: row.label,
        }
    }
}
