//! The `credit_line` table: Pre-credit granted on seeing a registered house (见房即授信).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "credit_line")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub bank_id: i64,
    pub party_id: i64,
    pub right_id: i64,
    pub amount_fen: i64,
    pub granted_on: Date,
    pub expires_on: Date,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
