//! The `loan_application` table: Loan applications and the loan's state (贷款申请).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "loan_application")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub code: String,
    pub bank_id: i64,
    pub product_id: i64,
    pub right_id: i64,
    pub borrower_id: i64,
    pub recommendation_id: Option<i64>,
    pub amount_fen: i64,
    pub term_months: i32,
    pub rank: i32,
    pub status: String,
    #[sea_orm(column_type = "Text")]
    pub report: Option<String>,
    pub decided_at: Option<DateTimeUtc>,
    pub submitted_by: String,
    pub decided_by: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
