//! The `right_holder` table: Holders of a right and their shares (basis points, summing to 10 000).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "right_holder")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub right_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub party_id: i64,
    pub share_bp: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
