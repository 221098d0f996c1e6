//! The `village` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "village")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub township_id: i64,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    /// GeoJSON Polygon or MultiPolygon, when surveyed.
    pub boundary: Option<String>,
    pub center_lon: f64,
    pub center_lat: f64,
    pub min_lon: Option<f64>,
    pub min_lat: Option<f64>,
    pub max_lon: Option<f64>,
    pub max_lat: Option<f64>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
