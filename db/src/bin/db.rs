//! `db migrate` | `db status` | `db seed-demo`: schema migrations and demo data, against
//! `DATABASE_URL` (or the embedded SQLite file).

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let command = std::env::args().nth(1).unwrap_or_default();
    if !matches!(command.as_str(), "migrate" | "status" | "seed-demo") {
        eprintln!("usage: db migrate | db status | db seed-demo");
        std::process::exit(2);
    }
    let settings = match common::config::CommonSettings::from_env() {
        Ok(s) => s,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let conn = db::connect(&settings.database_url).await.with_context(|| {
        format!(
            "DATABASE_URL: cannot connect to {}",
            redact(&settings.database_url)
        )
    })?;
    match command.as_str() {
        "migrate" => {
            db::migrate(&conn).await.context("migration failed")?;
            println!("migrations applied");
        }
        "status" => {
            for (name, applied) in db::status(&conn)
                .await
                .context("cannot read migration status")?
            {
                println!("{} {name}", if applied { "applied" } else { "pending" });
            }
        }
        _ => {
            db::migrate(&conn).await.context("migration failed")?;
            if db::seed::seed_if_empty(&conn)
                .await
                .context("seeding failed")?
            {
                println!(
                    "demo data seeded; every demo user's password is `{}`:",
                    db::seed::DEMO_PASSWORD
                );
                for login in db::seed::logins() {
                    println!("  {:<16} {}", login.role.as_str(), login.email);
                }
            } else {
                println!("the database already has users; nothing seeded");
            }
        }
    }
    Ok(())
}

/// The URL without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…{}", &url[..scheme], &url[at..]),
        _ => url.to_owned(),
    }
}
