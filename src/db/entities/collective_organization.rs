//! The `collective_organization` table: a collective economic organisation (农村集体经济组织), which is also a party.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "collective_organization")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub party_id: i64,
    pub village_id: i64,
    pub kind: String,
    pub registered_on: Date,
    pub reform_completed_on: Option<Date>,
    pub holding_policy: String,
    pub adjust_every_years: Option<i32>,
    /// The part of each year's distributable income kept as reserves (公积公益金), in basis points.
    pub reserve_bp: i32,
    pub dividend_split: String,
    /// Bumped first by every change of the holdings: the register's lock.
    pub register_version: i32,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
