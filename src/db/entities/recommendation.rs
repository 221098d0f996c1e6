//! The `recommendation` table: A village party branch's endorsement of a borrower (党建+金融 推荐).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "recommendation")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub party_id: i64,
    pub village_id: i64,
    pub grade: String,
    pub issuer: String,
    pub issued_on: Date,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
