//! The `distribution` table: an organisation's distribution of a year's income (收益分配).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "distribution")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub year: i32,
    pub declared_on: Date,
    pub record_date: Date,
    pub distributable_fen: i64,
    pub reserve_bp: i32,
    pub reserve_fen: i64,
    pub holders_fen: i64,
    pub split: String,
    pub document: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
