//! The integrity check (完整性检查) as an ADMIN query: the report `rural-registry check`
//! prints.

use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};

use crate::error::AppError;
use crate::graphql::common::context::{caller, db_conn};
use crate::services::check;

/// The integrity check's report (完整性检查报告): the engine's own checks of its storage, then
/// each of the registry's rules.
pub struct IntegrityReport(check::Report);

/// The integrity check's report (完整性检查报告): the engine's own checks of its storage, then
/// each of the registry's rules.
#[Object]
impl IntegrityReport {
    /// Whether every rule holds (通过).
    async fn ok(&self) -> bool {
        self.0.ok()
    }

    /// The problems found over every rule (问题数).
    async fn problems(&self) -> i64 {
        saturating(self.0.problems())
    }

    /// `sqlite` or `postgres` (数据库).
    async fn engine(&self) -> &str {
        self.0.engine
    }

    /// When the check ran (检查时间).
    async fn checked_at(&self) -> DateTime<Utc> {
        self.0.checked_at
    }

    /// Each rule's outcome, storage first (各项结果).
    async fn outcomes(&self) -> Vec<IntegrityOutcome> {
        self.0
            .outcomes
            .iter()
            .cloned()
            .map(IntegrityOutcome)
            .collect()
    }
}

/// What one rule of the integrity check found (检查项).
pub struct IntegrityOutcome(check::Outcome);

/// What one rule of the integrity check found (检查项).
#[Object]
impl IntegrityOutcome {
    /// The rule's code, for scripts (代码): STORAGE, SCHEMA, ASSET_PLACEMENT, ASSET_TALLY,
    /// MORTGAGE_RANK, RIGHT_UNIT, RIGHT_HOLDERS, SHARE_HOLDINGS, DISTRIBUTIONS, AUDIT_TRAIL.
    async fn code(&self) -> &str {
        self.0.code
    }

    /// The rule's name in Chinese (名称), e.g. 资产落位.
    async fn name(&self) -> &str {
        self.0.name
    }

    /// What the rule says (规则).
    async fn rule(&self) -> &str {
        self.0.rule
    }

    /// How many records (for storage, objects) it looked at (检查数).
    async fn examined(&self) -> i64 {
        saturating(self.0.examined)
    }

    /// How many break it (问题数).
    async fn problems(&self) -> i64 {
        saturating(self.0.problems)
    }

    /// The first 20 that break it, one line each (示例).
    async fn examples(&self) -> &[String] {
        &self.0.examples
    }
}

fn saturating(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The integrity check (完整性检查).
#[derive(Default)]
pub struct CheckQuery;

#[Object]
impl CheckQuery {
    /// Checks the whole database now (完整性检查), for ADMIN: the engine's integrity check, then
    /// the registry's rules — assets inside the township and village they are filed under, the
    /// asset tally, mortgage ranks, rights and their holders, the share register, distributions,
    /// the audit trail. It reads every table: seconds on a large district. Also
    /// `rural-registry check`.
    async fn integrity_check(&self, ctx: &Context<'_>) -> Result<IntegrityReport> {
        caller(ctx)
            .may_administer("the integrity check")
            .map_err(AppError::from)?;
        let report = check::run(db_conn(ctx)?)
            .await
            .map_err(AppError::internal)?;
        Ok(IntegrityReport(report))
    }
}
