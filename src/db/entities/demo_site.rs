//! The `demo_site` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "demo_site")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    pub level: String,
    pub designation_year: i32,
    pub theme: Option<String>,
    pub description: Option<String>,
    pub operator_id: Option<i64>,
    pub township_id: i64,
    pub village_id: Option<i64>,
    pub lon: f64,
    pub lat: f64,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
