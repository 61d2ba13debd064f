//! The initial migration's tables about tickets: the number counter, tickets and their
//! supervisors, notes, the history and the outbox.

use super::*;

/// The `counters` table, with the ticket number counter at 0.
pub(super) async fn create_counters(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
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
    Ok(())
}

/// The `tickets` table.
pub(super) async fn create_tickets(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
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
    Ok(())
}

/// The indexes of `tickets`.
pub(super) async fn index_tickets(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
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
    Ok(())
}

/// The `ticket_supervisors` table with its indexes.
pub(super) async fn create_ticket_supervisors(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
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
    Ok(())
}

/// The `notes` table with its indexes.
pub(super) async fn create_notes(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
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
    Ok(())
}

/// The `ticket_events` table with its indexes.
pub(super) async fn create_ticket_events(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
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
    Ok(())
}

/// The `outbox` table with its indexes.
pub(super) async fn create_outbox(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
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
        .execute_unprepared("CREATE INDEX outbox_pending ON outbox (id) WHERE relayed_at IS NULL")
        .await?;
    Ok(())
}
