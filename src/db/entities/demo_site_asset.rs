//! The `demo_site_asset` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "demo_site_asset")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub demo_site_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub asset_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
