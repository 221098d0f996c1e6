//! The `source_document` table: Source documents of a right: certificates, consents, resolutions.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "source_document")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub right_id: i64,
    pub kind: String,
    pub number: String,
    pub issuer: String,
    pub issued_on: Date,
    pub party_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
