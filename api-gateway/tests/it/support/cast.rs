//! The cast every test platform is seeded with: seven users, one per role (two faculty), each
//! with the same password, and the one support assignment (Fay supports Alice).

use common::Role;
use db::entity::{user, user_support};
use db::sea_orm::{ActiveModelTrait, DatabaseConnection, Set};
use std::{collections::HashMap, sync::OnceLock};

/// Every test user's password.
pub const PASSWORD: &str = "correct horse battery";

/// The cast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    Admin,
    Budget,
    Chair,
    Grad,
    FacultyA,
    FacultyB,
    FssA,
}

impl Who {
    pub const ALL: [Who; 7] = [
        Who::Admin,
        Who::Budget,
        Who::Chair,
        Who::Grad,
        Who::FacultyA,
        Who::FacultyB,
        Who::FssA,
    ];

    pub fn email(self) -> &'static str {
        self.seed().0
    }

    // Read by the platform tests (`tests/it`) only.
    #[allow(dead_code)]
    pub fn name(self) -> &'static str {
        self.seed().1
    }

    fn seed(self) -> (&'static str, &'static str, Role) {
        match self {
            Who::Admin => ("admin@test.edu", "Ann Admin", Role::Admin),
            Who::Budget => ("budget@test.edu", "Bea Budget", Role::BudgetDirector),
            Who::Chair => ("chair@test.edu", "Cy Chair", Role::AssociateChair),
            Who::Grad => ("grad@test.edu", "Gil Grad", Role::GradOffice),
            Who::FacultyA => ("a@test.edu", "Alice Faculty", Role::Faculty),
            Who::FacultyB => ("b@test.edu", "Bob Faculty", Role::Faculty),
            Who::FssA => ("fss.a@test.edu", "Fay Support", Role::Fss),
        }
    }
}

// Hashing is slow by design (argon2): once per test binary, not once per user.
fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| common::password::hash(PASSWORD).expect("hash"))
        .clone()
}

pub async fn seed_cast(conn: &DatabaseConnection) -> HashMap<Who, i64> {
    let mut ids = HashMap::new();
    let now = db::now();
    for who in Who::ALL {
        let (email, name, role) = who.seed();
        let row = user::ActiveModel {
            email: Set(email.into()),
            name: Set(name.into()),
            roles: Set(user::format_roles(&[role])),
            password_hash: Set(Some(password_hash())),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(conn)
        .await
        .expect("seed user");
        ids.insert(who, row.id);
    }
    user_support::ActiveModel {
        fss_id: Set(ids[&Who::FssA]),
        faculty_id: Set(ids[&Who::FacultyA]),
    }
    .insert(conn)
    .await
    .expect("seed support");
    ids
}
