//! The foundation: users and their roles, FSS support links, applicants, tickets and their
//! supervisors, notes, the history, the outbox, API tokens and the ticket number counter.

use sea_orm_migration::prelude::*;

mod people;
mod tickets;

use people::{create_api_tokens, create_applicants, create_user_supports, create_users};
use tickets::{
    create_counters, create_notes, create_outbox, create_ticket_events, create_ticket_supervisors,
    create_tickets, index_tickets,
};

/// Named after this file's stem (`DeriveMigrationName` reads `file!()`), the name databases
/// record as applied: the file keeps its name, its tables live in the files beside it.
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
        create_users(manager).await?;
        create_user_supports(manager).await?;
        create_applicants(manager).await?;
        create_counters(manager).await?;
        create_tickets(manager).await?;
        index_tickets(manager).await?;
        create_ticket_supervisors(manager).await?;
        create_notes(manager).await?;
        create_ticket_events(manager).await?;
        create_outbox(manager).await?;
        create_api_tokens(manager).await?;
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
