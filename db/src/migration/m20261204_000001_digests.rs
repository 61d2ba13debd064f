//! Digests: per user, when each kind of event (state changes, notes, reminders) reaches them on
//! each channel (email, in-app): at once, in a daily or weekly digest, or not at all; their time
//! zone and the hour (and weekday) digests go out. An email waiting for a digest is a
//! `notifications` row in status DIGEST with the cadence it waits for (`held_for`) until a
//! `digests` row takes it (`digest_id`); an inbox item waiting for one is hidden (`held_for`)
//! until the digest releases it. One `digests` row per (user, cadence, due moment), inserted
//! with insert-or-skip: a digest is composed once however many workers run.
//!
//! The old switches carry over: `email` off turns every email off, `notes` on asks for notes
//! on both channels (by email only when `email` is on too).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum NotificationPreferences {
    Table,
    StateEmail,
    StateInApp,
    NotesEmail,
    NotesInApp,
    RemindersEmail,
    RemindersInApp,
    TimeZone,
    DigestHour,
    DigestWeekday,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    RecipientId,
    HeldFor,
    DigestId,
    Status,
}

#[derive(DeriveIden)]
enum InboxItems {
    Table,
    UserId,
    HeldFor,
}

#[derive(DeriveIden)]
enum Digests {
    Table,
    Id,
    UserId,
    Cadence,
    DueAt,
    Changes,
    Subject,
    Status,
    Attempts,
    LastError,
    ProviderMessageId,
    CreatedAt,
    SentAt,
    ClaimedUntil,
}

/// One digest per (user, cadence, due moment).
const UNIQUE: &str = "digests_user_cadence_due";
/// Digests still to send.
const QUEUED: &str = "digests_queued_idx";
/// Emails waiting for a digest, by recipient.
const WAITING: &str = "notifications_digest_waiting_idx";
/// Inbox items waiting for a digest, by user.
const HELD: &str = "inbox_items_held_idx";
/// The emails a digest listed (to render it again when its send is retried).
const LISTED: &str = "notifications_digest_idx";

/// The preference columns with their default cadence.
const CADENCES: [(NotificationPreferences, &str); 6] = [
    (NotificationPreferences::StateEmail, "IMMEDIATE"),
    (NotificationPreferences::StateInApp, "IMMEDIATE"),
    (NotificationPreferences::NotesEmail, "OFF"),
    (NotificationPreferences::NotesInApp, "OFF"),
    (NotificationPreferences::RemindersEmail, "IMMEDIATE"),
    (NotificationPreferences::RemindersInApp, "IMMEDIATE"),
];

/// The old switches, carried over (see the module's documentation).
const CARRY_OVER: [&str; 3] = [
    "UPDATE notification_preferences SET state_email = 'OFF', reminders_email = 'OFF' WHERE NOT email",
    "UPDATE notification_preferences SET notes_in_app = 'IMMEDIATE' WHERE notes",
    "UPDATE notification_preferences SET notes_email = 'IMMEDIATE' WHERE notes AND email",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_preferences(manager).await?;
        for sql in CARRY_OVER {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        add_holds(manager).await?;
        create_digests(manager).await?;
        let indexes = [
            Index::create()
                .name(UNIQUE)
                .table(Digests::Table)
                .col(Digests::UserId)
                .col(Digests::Cadence)
                .col(Digests::DueAt)
                .unique()
                .to_owned(),
            Index::create()
                .name(QUEUED)
                .table(Digests::Table)
                .col(Digests::Id)
                .and_where(Expr::col(Digests::Status).eq("QUEUED"))
                .to_owned(),
            Index::create()
                .name(WAITING)
                .table(Notifications::Table)
                .col(Notifications::RecipientId)
                .and_where(Expr::col(Notifications::Status).eq("DIGEST"))
                .and_where(Expr::col(Notifications::DigestId).is_null())
                .to_owned(),
            Index::create()
                .name(LISTED)
                .table(Notifications::Table)
                .col(Notifications::DigestId)
                .and_where(Expr::col(Notifications::DigestId).is_not_null())
                .to_owned(),
            Index::create()
                .name(HELD)
                .table(InboxItems::Table)
                .col(InboxItems::UserId)
                .and_where(Expr::col(InboxItems::HeldFor).is_not_null())
                .to_owned(),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            (WAITING, Notifications::Table.into_iden()),
            (LISTED, Notifications::Table.into_iden()),
            (HELD, InboxItems::Table.into_iden()),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        manager
            .drop_table(Table::drop().table(Digests::Table).to_owned())
            .await?;
        let drops: [(DynIden, DynIden); 12] = [
            (
                Notifications::Table.into_iden(),
                Notifications::HeldFor.into_iden(),
            ),
            (
                Notifications::Table.into_iden(),
                Notifications::DigestId.into_iden(),
            ),
            (
                InboxItems::Table.into_iden(),
                InboxItems::HeldFor.into_iden(),
            ),
            (
                NotificationPreferences::Table.into_iden(),
                NotificationPreferences::TimeZone.into_iden(),
            ),
            (
                NotificationPreferences::Table.into_iden(),
                NotificationPreferences::DigestHour.into_iden(),
            ),
            (
                NotificationPreferences::Table.into_iden(),
                NotificationPreferences::DigestWeekday.into_iden(),
            ),
            (
                NotificationPreferences::Table.into_iden(),
                NotificationPreferences::StateEmail.into_iden(),
            ),
            (
                NotificationPreferences::Table.into_iden(),
                NotificationPreferences::StateInApp.into_iden(),
            ),
            (
                NotificationPreferences::Table.into_iden(),
                NotificationPreferences::NotesEmail.into_iden(),
            ),
            (
                NotificationPreferences::Table.into_iden(),
                NotificationPreferences::NotesInApp.into_iden(),
            ),
            (
                NotificationPreferences::Table.into_iden(),
                NotificationPreferences::RemindersEmail.into_iden(),
            ),
            (
                NotificationPreferences::Table.into_iden(),
                NotificationPreferences::RemindersInApp.into_iden(),
            ),
        ];
        for (table, column) in drops {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// The new preference columns, one statement each (SQLite adds one column at a time).
async fn add_preferences(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let mut columns: Vec<ColumnDef> = CADENCES
        .into_iter()
        .map(|(column, default)| {
            ColumnDef::new(column)
                .string_len(16)
                .not_null()
                .default(default)
                .to_owned()
        })
        .collect();
    columns.push(
        ColumnDef::new(NotificationPreferences::TimeZone)
            .string_len(64)
            .null()
            .to_owned(),
    );
    columns.push(
        ColumnDef::new(NotificationPreferences::DigestHour)
            .integer()
            .not_null()
            .default(8)
            .to_owned(),
    );
    columns.push(
        ColumnDef::new(NotificationPreferences::DigestWeekday)
            .integer()
            .not_null()
            .default(1)
            .to_owned(),
    );
    for column in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(NotificationPreferences::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

/// What an email or an inbox item waits for: `held_for` on both, `digest_id` on emails.
async fn add_holds(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let columns: [(DynIden, ColumnDef); 3] = [
        (
            Notifications::Table.into_iden(),
            ColumnDef::new(Notifications::HeldFor)
                .string_len(16)
                .null()
                .to_owned(),
        ),
        (
            Notifications::Table.into_iden(),
            ColumnDef::new(Notifications::DigestId)
                .big_integer()
                .null()
                .to_owned(),
        ),
        (
            InboxItems::Table.into_iden(),
            ColumnDef::new(InboxItems::HeldFor)
                .string_len(16)
                .null()
                .to_owned(),
        ),
    ];
    for (table, column) in columns {
        manager
            .alter_table(Table::alter().table(table).add_column(column).to_owned())
            .await?;
    }
    Ok(())
}

/// The `digests` table.
async fn create_digests(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let time = |column: Digests, null: bool| {
        let mut def = ColumnDef::new(column);
        def.timestamp_with_time_zone();
        if null {
            def.null()
        } else {
            def.not_null()
        };
        def
    };
    manager
        .create_table(
            Table::create()
                .table(Digests::Table)
                .col(
                    ColumnDef::new(Digests::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(Digests::UserId).big_integer().not_null())
                .col(ColumnDef::new(Digests::Cadence).string_len(16).not_null())
                .col(time(Digests::DueAt, false))
                .col(ColumnDef::new(Digests::Changes).integer().not_null())
                .col(ColumnDef::new(Digests::Subject).text().not_null())
                .col(ColumnDef::new(Digests::Status).string_len(16).not_null())
                .col(
                    ColumnDef::new(Digests::Attempts)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(ColumnDef::new(Digests::LastError).text().null())
                .col(ColumnDef::new(Digests::ProviderMessageId).text().null())
                .col(time(Digests::CreatedAt, false))
                .col(time(Digests::SentAt, true))
                .col(time(Digests::ClaimedUntil, true))
                .foreign_key(
                    ForeignKey::create()
                        .name("digests_user")
                        .from(Digests::Table, Digests::UserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await
}
