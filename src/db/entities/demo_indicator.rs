//! The `demo_indicator` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "demo_indicator")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub demo_site_id: i64,
    pub year: i32,
    pub code: String,
    /// Integer in the indicator's unit (money in fen).
    pub value: i64,
    pub source: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
