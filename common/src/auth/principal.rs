//! Who is calling (`Principal`), as the gateway vouched for it in the token, and the
//! visibility rule every service applies to it.

use crate::model::Role;

/// Who is calling, as the gateway vouched for it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Principal {
    /// The signed-in user, `None` for an anonymous request.
    pub user_id: Option<i64>,
    /// The user's roles at the time the gateway minted the token.
    pub roles: Vec<Role>,
    /// For FSS users: the faculty members they act for.
    pub supports: Vec<i64>,
}

impl Principal {
    /// The anonymous caller.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// A signed-in user.
    pub fn user(user_id: i64, roles: Vec<Role>, supports: Vec<i64>) -> Self {
        Self {
            user_id: Some(user_id),
            roles,
            supports,
        }
    }

    /// Whether the caller holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether one of the caller's roles sees every ticket.
    pub fn sees_every_ticket(&self) -> bool {
        self.roles.iter().any(|r| r.sees_every_ticket())
    }

    /// Whether the caller is an FSS user who acts for `faculty_id`.
    pub fn supports(&self, faculty_id: i64) -> bool {
        self.has_role(Role::Fss) && self.supports.contains(&faculty_id)
    }

    /// Whether the caller is `user_id` or acts for them (the owner's side of a ticket).
    pub fn acts_for(&self, user_id: i64) -> bool {
        self.user_id == Some(user_id) || self.supports(user_id)
    }

    /// DESIGN.md's visibility rule: FACULTY see tickets they own or supervise, FSS those of the
    /// faculty they support, every other role sees every ticket. Subscriptions filter events
    /// with this; ticket-service's SQL filter says the same thing in SQL.
    pub fn can_see_ticket(&self, owner_id: i64, supervisor_ids: &[i64]) -> bool {
        let Some(me) = self.user_id else { return false };
        self.sees_every_ticket()
            || (self.has_role(Role::Faculty) && (owner_id == me || supervisor_ids.contains(&me)))
            || self.supports(owner_id)
    }
}
