//! The `mortgage` table: Mortgages registered on a right (抵押登记).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "mortgage")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub application_id: i64,
    pub right_id: i64,
    pub bank_id: i64,
    pub amount_fen: i64,
    pub rank: i32,
    #[sea_orm(unique)]
    pub registration_no: String,
    pub registered_on: Date,
    pub released_on: Option<Date>,
    pub status: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
