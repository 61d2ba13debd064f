//! The history of users' roles: one row per change, whoever made it (an ADMIN's `updateUser`,
//! or the identity provider's groups at sign-in).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum UserRoleChanges {
    Table,
    Id,
    UserId,
    FromRoles,
    ToRoles,
    ChangedBy,
    Source,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UserRoleChanges::Table)
                    .col(
                        ColumnDef::new(UserRoleChanges::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(UserRoleChanges::UserId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(UserRoleChanges::FromRoles).text().not_null())
                    .col(ColumnDef::new(UserRoleChanges::ToRoles).text().not_null())
                    .col(
                        ColumnDef::new(UserRoleChanges::ChangedBy)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(UserRoleChanges::Source)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UserRoleChanges::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("user_role_changes_user")
                            .from(UserRoleChanges::Table, UserRoleChanges::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("user_role_changes_changed_by")
                            .from(UserRoleChanges::Table, UserRoleChanges::ChangedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // A user's history is read oldest first.
        manager
            .create_index(
                Index::create()
                    .name("user_role_changes_user_idx")
                    .table(UserRoleChanges::Table)
                    .col(UserRoleChanges::UserId)
                    .col(UserRoleChanges::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UserRoleChanges::Table).to_owned())
            .await
    }
}
