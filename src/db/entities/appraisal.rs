//! The `appraisal` table: Appraisals of a right (价值评估).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "appraisal")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub right_id: i64,
    pub method: String,
    pub appraiser: String,
    pub value_fen: i64,
    pub valued_on: Date,
    pub valid_until: Option<Date>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
