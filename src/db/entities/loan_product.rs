//! The `loan_product` table: Loan products (贷款产品), one per kind of right at a bank.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "loan_product")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub bank_id: i64,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    pub right_kind: String,
    pub credit_model: String,
    pub max_ltv_bp: i32,
    pub min_term_months: i32,
    pub max_term_months: i32,
    pub min_amount_fen: i64,
    pub max_amount_fen: i64,
    pub min_rate_bp: i32,
    pub max_rate_bp: i32,
    pub needs_collective_consent: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
