//! The `audit_event` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    pub actor_label: String,
    pub actor_role: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    /// JSON of the record before the change.
    pub before: Option<String>,
    /// JSON of the record after the change.
    pub after: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
