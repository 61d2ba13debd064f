//! The foundation: users and their roles, FSS support links, applicants, tickets and their
//! supervisors, notes, the history, the outbox, API tokens and the ticket number counter.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Name,
    Roles,
    PasswordHash,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserSupports {
    Table,
    FssId,
    FacultyId,
}

#[derive(DeriveIden)]
enum Applicants {
    Table,
    Id,
    ApplicantNumber,
    Name,
    Email,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Counters {
    Table,
    Name,
    Value,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
    Number,
    Cycle,
    Residency,
    State,
    OwnerId,
    ApplicantId,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum TicketSupervisors {
    Table,
    TicketId,
    UserId,
}

#[derive(DeriveIden)]
enum Notes {
    Table,
    Id,
    TicketId,
    AuthorId,
    Body,
    Resolved,
    ResolvedBy,
    CreatedAt,
    EditedAt,
}

#[derive(DeriveIden)]
enum TicketEvents {
    Table,
    Id,
    TicketId,
    Kind,
    ActorId,
    FromState,
    ToState,
    Detail,
    At,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Topic,
    TicketEventId,
    Payload,
    CreatedAt,
    RelayedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    Name,
    Scopes,
    RevocationId,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    LastUsedAt,
}

fn id<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn fk(
    name: &str,
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: (impl IntoIden + 'static, impl IntoIden + 'static),
    cascade: bool,
) -> ForeignKeyCreateStatement {
    let mut fk = ForeignKey::create();
    fk.name(name).from(from.0, from.1).to(to.0, to.1);
    if cascade {
        fk.on_delete(ForeignKeyAction::Cascade);
    }
    fk.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(id(Users::Id))
                    .col(ColumnDef::new(Users::Email).string_len(320).not_null())
                    .col(ColumnDef::new(Users::Name).string_len(200).not_null())
                    .col(ColumnDef::new(Users::Roles).string_len(200).not_null())
                    .col(ColumnDef::new(Users::PasswordHash).string_len(200).null())
                    .col(
                        ColumnDef::new(Users::Active)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(
                        ColumnDef::new(Users::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Users::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Emails are unique whatever their case: an expression index both databases support.
        manager
            .get_connection()
            .execute_unprepared("CREATE UNIQUE INDEX users_email_lower ON users (lower(email))")
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(UserSupports::Table)
                    .col(ColumnDef::new(UserSupports::FssId).big_integer().not_null())
                    .col(
                        ColumnDef::new(UserSupports::FacultyId)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(UserSupports::FssId)
                            .col(UserSupports::FacultyId),
                    )
                    .foreign_key(&mut fk(
                        "user_supports_fss",
                        (UserSupports::Table, UserSupports::FssId),
                        (Users::Table, Users::Id),
                        true,
                    ))
                    .foreign_key(&mut fk(
                        "user_supports_faculty",
                        (UserSupports::Table, UserSupports::FacultyId),
                        (Users::Table, Users::Id),
                        true,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("user_supports_faculty_idx")
                    .table(UserSupports::Table)
                    .col(UserSupports::FacultyId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Applicants::Table)
                    .col(id(Applicants::Id))
                    .col(
                        ColumnDef::new(Applicants::ApplicantNumber)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Applicants::Name).string_len(200).not_null())
                    .col(ColumnDef::new(Applicants::Email).string_len(320).null())
                    .col(
                        ColumnDef::new(Applicants::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Applicants::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Counters::Table)
                    .col(
                        ColumnDef::new(Counters::Name)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Counters::Value).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Counters::Table)
                    .columns([Counters::Name, Counters::Value])
                    .values_panic(["ticket_number".into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tickets::Table)
                    .col(id(Tickets::Id))
                    .col(
                        ColumnDef::new(Tickets::Number)
                            .big_integer()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Tickets::Cycle).string_len(4).not_null())
                    .col(ColumnDef::new(Tickets::Residency).string_len(16).not_null())
                    .col(ColumnDef::new(Tickets::State).string_len(32).not_null())
                    .col(ColumnDef::new(Tickets::OwnerId).big_integer().not_null())
                    .col(ColumnDef::new(Tickets::ApplicantId).big_integer().null())
                    .col(ColumnDef::new(Tickets::CreatedBy).big_integer().not_null())
                    .col(
                        ColumnDef::new(Tickets::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Tickets::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Tickets::Version)
                            .integer()
                            .not_null()
                            .default(1),
                    )
                    .foreign_key(&mut fk(
                        "tickets_owner",
                        (Tickets::Table, Tickets::OwnerId),
                        (Users::Table, Users::Id),
                        false,
                    ))
                    .foreign_key(&mut fk(
                        "tickets_applicant",
                        (Tickets::Table, Tickets::ApplicantId),
                        (Applicants::Table, Applicants::Id),
                        false,
                    ))
                    .foreign_key(&mut fk(
                        "tickets_created_by",
                        (Tickets::Table, Tickets::CreatedBy),
                        (Users::Table, Users::Id),
                        false,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("tickets_owner_idx", vec![Tickets::OwnerId, Tickets::Id]),
            ("tickets_state_idx", vec![Tickets::State, Tickets::Id]),
            ("tickets_created_idx", vec![Tickets::CreatedAt, Tickets::Id]),
            ("tickets_updated_idx", vec![Tickets::UpdatedAt, Tickets::Id]),
            ("tickets_cycle_idx", vec![Tickets::Cycle, Tickets::Id]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Tickets::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        // An applicant is on at most one ticket that holds them (DESIGN.md's workflow rules).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX tickets_one_active_applicant ON tickets (applicant_id) \
                 WHERE state IN ('OFFER_REQUESTED', 'OFFER_PENDING', 'OFFER_ACCEPTED')",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TicketSupervisors::Table)
                    .col(
                        ColumnDef::new(TicketSupervisors::TicketId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(TicketSupervisors::UserId)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(TicketSupervisors::TicketId)
                            .col(TicketSupervisors::UserId),
                    )
                    .foreign_key(&mut fk(
                        "ticket_supervisors_ticket",
                        (TicketSupervisors::Table, TicketSupervisors::TicketId),
                        (Tickets::Table, Tickets::Id),
                        true,
                    ))
                    .foreign_key(&mut fk(
                        "ticket_supervisors_user",
                        (TicketSupervisors::Table, TicketSupervisors::UserId),
                        (Users::Table, Users::Id),
                        false,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ticket_supervisors_user_idx")
                    .table(TicketSupervisors::Table)
                    .col(TicketSupervisors::UserId)
                    .col(TicketSupervisors::TicketId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Notes::Table)
                    .col(id(Notes::Id))
                    .col(ColumnDef::new(Notes::TicketId).big_integer().not_null())
                    .col(ColumnDef::new(Notes::AuthorId).big_integer().not_null())
                    .col(ColumnDef::new(Notes::Body).text().not_null())
                    .col(
                        ColumnDef::new(Notes::Resolved)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(Notes::ResolvedBy).big_integer().null())
                    .col(
                        ColumnDef::new(Notes::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Notes::EditedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(&mut fk(
                        "notes_ticket",
                        (Notes::Table, Notes::TicketId),
                        (Tickets::Table, Tickets::Id),
                        true,
                    ))
                    .foreign_key(&mut fk(
                        "notes_author",
                        (Notes::Table, Notes::AuthorId),
                        (Users::Table, Users::Id),
                        false,
                    ))
                    .foreign_key(&mut fk(
                        "notes_resolved_by",
                        (Notes::Table, Notes::ResolvedBy),
                        (Users::Table, Users::Id),
                        false,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("notes_ticket_idx")
                    .table(Notes::Table)
                    .col(Notes::TicketId)
                    .col(Notes::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TicketEvents::Table)
                    .col(id(TicketEvents::Id))
                    .col(
                        ColumnDef::new(TicketEvents::TicketId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(TicketEvents::Kind).string_len(32).not_null())
                    .col(
                        ColumnDef::new(TicketEvents::ActorId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(TicketEvents::FromState)
                            .string_len(32)
                            .null(),
                    )
                    .col(ColumnDef::new(TicketEvents::ToState).string_len(32).null())
                    .col(ColumnDef::new(TicketEvents::Detail).text().null())
                    .col(
                        ColumnDef::new(TicketEvents::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(&mut fk(
                        "ticket_events_ticket",
                        (TicketEvents::Table, TicketEvents::TicketId),
                        (Tickets::Table, Tickets::Id),
                        true,
                    ))
                    .foreign_key(&mut fk(
                        "ticket_events_actor",
                        (TicketEvents::Table, TicketEvents::ActorId),
                        (Users::Table, Users::Id),
                        false,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ticket_events_ticket_idx")
                    .table(TicketEvents::Table)
                    .col(TicketEvents::TicketId)
                    .col(TicketEvents::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(id(Outbox::Id))
                    .col(ColumnDef::new(Outbox::Topic).string_len(64).not_null())
                    .col(
                        ColumnDef::new(Outbox::TicketEventId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Outbox::Payload).text().not_null())
                    .col(
                        ColumnDef::new(Outbox::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Outbox::RelayedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // The relay scans only what is left to send.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX outbox_pending ON outbox (id) WHERE relayed_at IS NULL",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(id(ApiTokens::Id))
                    .col(ColumnDef::new(ApiTokens::UserId).big_integer().not_null())
                    .col(ColumnDef::new(ApiTokens::Name).string_len(200).not_null())
                    .col(ColumnDef::new(ApiTokens::Scopes).string_len(200).not_null())
                    .col(
                        ColumnDef::new(ApiTokens::RevocationId)
                            .string_len(256)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(ApiTokens::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ApiTokens::ExpiresAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ApiTokens::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ApiTokens::LastUsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(&mut fk(
                        "api_tokens_user",
                        (ApiTokens::Table, ApiTokens::UserId),
                        (Users::Table, Users::Id),
                        true,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("api_tokens_user_idx")
                    .table(ApiTokens::Table)
                    .col(ApiTokens::UserId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ApiTokens::Table.into_iden(),
            Outbox::Table.into_iden(),
            TicketEvents::Table.into_iden(),
            Notes::Table.into_iden(),
            TicketSupervisors::Table.into_iden(),
            Tickets::Table.into_iden(),
            Counters::Table.into_iden(),
            Applicants::Table.into_iden(),
            UserSupports::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
