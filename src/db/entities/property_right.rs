//! The `property_right` table: Property rights (产权): a right on an asset or parcel, with its certificate.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "property_right")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub code: String,
    pub kind: String,
    pub asset_id: Option<i64>,
    /// The share holding a COLLECTIVE_SHARE right is on (股权).
    pub holding_id: Option<i64>,
    pub certificate_no: Option<String>,
    pub certificate_kind: Option<String>,
    pub issued_on: Option<Date>,
    pub expires_on: Option<Date>,
    pub status: String,
    pub disputed: bool,
    pub seized: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
