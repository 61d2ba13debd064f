//! `cargo run`: the whole platform in one process with the embedded defaults (SQLite in
//! `tessera-data/`, migrations applied, demo data seeded into an empty database).

use anyhow::Context;
use common::{
    Principal, Role, TokenMinter,
    config::{self, CommonSettings, Env, Mode},
};
use db::sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let settings = match ticket_service::Settings::from_env() {
        Ok(s) => s,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let common: &CommonSettings = &settings.common;
    let conn = db::connect(&common.database_url)
        .await
        .context("DATABASE_URL: cannot connect")?;
    db::migrate(&conn)
        .await
        .context("database migration failed")?;
    let seeded = if common.demo {
        db::seed::seed_if_empty(&conn)
            .await
            .context("seeding the demo failed")?
    } else {
        false
    };
    let mode = common.mode;
    let key = config::signing_key(&Env, &common.data_dir)?;
    let budget_director = db::entity::user::Entity::find()
        .filter(db::entity::user::Column::Roles.contains(Role::BudgetDirector.as_str()))
        .filter(db::entity::user::Column::Active.eq(true))
        .one(&conn)
        .await?;
    let app = ticket_service::Application::build_with_db(settings, conn).await?;
    let port = app.port();
    println!("Tessera is running:");
    println!("  ticket-service (GraphQL subgraph)  http://127.0.0.1:{port}/graphql");
    if seeded {
        println!(
            "Demo data seeded. Every demo user's password is `{}`:",
            db::seed::DEMO_PASSWORD
        );
    }
    if mode == Mode::Development {
        for login in db::seed::logins() {
            println!("  {:<16} {}", login.role.as_str(), login.email);
        }
        // Until the gateway signs people in, a development token lets you try the subgraph.
        if let Some(director) = budget_director {
            let minter = TokenMinter::new(key).with_ttl(std::time::Duration::from_secs(8 * 3600));
            let token = minter.mint(&Principal::user(director.id, director.role_list(), vec![]))?;
            println!(
                "Try it as {} (a development token, valid 8 hours):",
                director.email
            );
            println!(
                "  curl -s http://127.0.0.1:{port}/graphql -H 'content-type: application/json' \\\n    -H 'authorization: Bearer {token}' \\\n    -d '{{\"query\":\"{{ ticketStats {{ total byState {{ state count }} }} }}\"}}'"
            );
        }
    }
    app.run_until_stopped().await?;
    Ok(())
}
