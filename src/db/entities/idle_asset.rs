//! The `idle_asset` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "idle_asset")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub code: String,
    pub kind: String,
    pub status: String,
    pub owner_id: i64,
    /// Derived from the location, never taken from input.
    pub township_id: i64,
    /// Derived from the location, never taken from input.
    pub village_id: Option<i64>,
    pub lon: f64,
    pub lat: f64,
    /// Spatial key of the location (`domain::spatial_key`); derived, never taken from input.
    pub cell: Option<i64>,
    /// GeoJSON Polygon.
    pub footprint: Option<String>,
    pub land_area_m2: Option<f64>,
    pub floor_area_m2: Option<f64>,
    pub structure: Option<String>,
    pub year_built: Option<i32>,
    pub condition: Option<String>,
    pub idle_since: Option<Date>,
    pub idle_cause: Option<String>,
    pub owner_willingness: Option<String>,
    pub address: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
