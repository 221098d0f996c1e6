//! The `revitalization` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "revitalization")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub asset_id: i64,
    pub contract_no: Option<String>,
    pub mode: String,
    pub end_use: Option<String>,
    pub counterparty_id: Option<i64>,
    pub start_date: Date,
    pub term_months: Option<i32>,
    pub annual_rent_fen: Option<i64>,
    pub investment_fen: Option<i64>,
    pub compensation_fen: Option<i64>,
    pub jobs_created: Option<i32>,
    /// Revenue shares in basis points (10 000 = all of it).
    pub collective_share_bp: Option<i32>,
    pub operator_share_bp: Option<i32>,
    pub farmer_share_bp: Option<i32>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
