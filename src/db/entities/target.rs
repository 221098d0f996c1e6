//! The `target` table: a year's goal (目标任务) of the district, a township or a village.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "target")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub scope_key: String,
    pub township_id: Option<i64>,
    pub village_id: Option<i64>,
    pub year: i32,
    pub measure: String,
    pub value: f64,
    pub note: Option<String>,
    pub set_by: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
