//! The `payout` table: what one holding receives from a distribution (分红).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "payout")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub distribution_id: i64,
    pub holding_id: i64,
    pub holder_party_id: Option<i64>,
    pub class_id: i64,
    pub fen: i64,
    pub paid_on: Option<Date>,
    pub paid_method: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
