//! The change log follows the "three changes" (三变) register's organisations and share
//! classes as well as its members and holdings, so that an office copy learns of them: the
//! triggers of `m20261208_000002_change_log`, for two more tables.

use sea_orm_migration::prelude::*;

use crate::m20261208_000002_change_log::{Followed, follow, unfollow};

#[derive(DeriveMigrationName)]
pub struct Migration;

const FOLLOWED: [Followed; 2] = [
    ("collective_organization", "organization", true, "NULL"),
    ("share_class", "share_class", true, "NULL"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in follow(manager.get_database_backend(), &FOLLOWED) {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in unfollow(manager.get_database_backend(), &FOLLOWED) {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}
