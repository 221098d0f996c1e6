//! The `distribution_class` table: what a share class receives from a distribution.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "distribution_class")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub distribution_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub class_id: i64,
    pub weight_bp: Option<i32>,
    pub fen: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
