//! The `share_holding` table: a holding (股权), open from `valid_from` until `valid_to`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "share_holding")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub class_id: i64,
    /// None: the organisation itself (collective shares, 集体股).
    pub holder_party_id: Option<i64>,
    pub shares_hundredths: i64,
    pub certificate_no: Option<String>,
    pub valid_from: Date,
    pub valid_to: Option<Date>,
    pub opened_by: i64,
    pub closed_by: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
