//! The `share_contribution` table: resources or funds turned into shares (入股).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "share_contribution")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    /// None: the organisation itself.
    pub contributor_party_id: Option<i64>,
    pub kind: String,
    pub asset_id: Option<i64>,
    pub revitalization_id: Option<i64>,
    pub right_id: Option<i64>,
    pub fund_source: Option<String>,
    pub description: Option<String>,
    pub appraised_value_fen: i64,
    pub contributed_on: Date,
    pub change_id: i64,
    pub class_id: i64,
    pub shares_hundredths: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
