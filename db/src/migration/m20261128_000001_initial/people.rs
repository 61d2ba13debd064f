//! The initial migration's tables about people: users, FSS support links, applicants and API
//! tokens.

use super::*;

/// The `users` table with its indexes.
pub(super) async fn create_users(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
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
    Ok(())
}

/// The `user_supports` table with its indexes.
pub(super) async fn create_user_supports(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
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
    Ok(())
}

/// The `applicants` table.
pub(super) async fn create_applicants(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
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
    Ok(())
}

/// The `api_tokens` table with its indexes.
pub(super) async fn create_api_tokens(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
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
