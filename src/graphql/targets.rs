//! Targets (目标任务) and progress (进度): the year's goals of the district, a township or a
//! village, and where each stands today. The district office's steering tool: ADMIN and cadres
//! read them; ADMIN sets any, a cadre its own township's villages'.

use std::collections::{BTreeMap, HashMap};

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db;
use crate::db::entities::target;
use crate::db::statistics::Scope;
use crate::db::targets::NewTarget;
use crate::domain::access::{Actor, Role};
use crate::domain::period::Period;
use crate::domain::targets::{self, ProgressStatus, TargetMeasure};
use crate::error::{AppError, ErrorCode};
use crate::graphql::common::context::{caller, db_conn, json, record, stored, today, updated};
use crate::graphql::common::ids::{self, Kind};
use crate::graphql::common::loaders::{DbLoader, TownshipKey};
use crate::graphql::common::nodes::{Township, Village};

/// What a target covers (目标层级).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum TargetLevel {
    /// The whole district (全区).
    District,
    /// A township (乡镇).
    Township,
    /// A village (行政村).
    Village,
}

/// Where a target stands today (目标进度). An even pace is assumed over the year for what
/// happens in it; a state as of today (the revitalized share, shareholder households) is
/// expected whole. AHEAD: met, or at least 110% of the expected; ON_TRACK: at least 90%;
/// BEHIND: less.
#[derive(SimpleObject)]
pub struct TargetProgress {
    /// The measure's value now, counted from the records (实际完成).
    pub actual: f64,
    /// Actual over target (完成率); null for a target of 0.
    pub ratio: Option<f64>,
    /// What an even pace expects by today (序时进度目标).
    pub expected: f64,
    /// AHEAD, ON_TRACK or BEHIND (进度状态).
    pub status: ProgressStatus,
}

/// A year's goal for the district, a township or a village (目标任务).
pub struct Target(pub target::Model, pub Option<TargetProgress>);

/// A year's goal for the district, a township or a village (目标任务), with its progress.
#[Object]
impl Target {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::Target.id(self.0.id)
    }

    /// What it covers (层级).
    async fn level(&self) -> TargetLevel {
        match db::targets::scope_of(&self.0) {
            Scope::District => TargetLevel::District,
            Scope::Township(_) => TargetLevel::Township,
            Scope::Village(_) => TargetLevel::Village,
        }
    }

    /// The township, for a township's target (乡镇).
    async fn township(&self, ctx: &Context<'_>) -> Result<Option<Township>> {
        match self.0.township_id {
            Some(t) => Ok(Some(Township::load(ctx, t).await?)),
            None => Ok(None),
        }
    }

    /// The village, for a village's target (行政村).
    async fn village(&self, ctx: &Context<'_>) -> Result<Option<Village>> {
        Village::load(ctx, self.0.village_id).await
    }

    /// Year (年度).
    async fn year(&self) -> i32 {
        self.0.year
    }

    /// What it measures (指标).
    async fn measure(&self) -> Result<TargetMeasure> {
        stored(TargetMeasure::parse(&self.0.measure))
    }

    /// The goal (目标值), in the measure's unit (fen for money, 0–1 for a share).
    async fn value(&self) -> f64 {
        self.0.value
    }

    /// Note (说明), e.g. the work report it comes from.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// Who set it last (设定人).
    async fn set_by(&self) -> &str {
        &self.0.set_by
    }

    /// Version for optimistic locking (版本号).
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Where it stands today (进度).
    async fn progress(&self, ctx: &Context<'_>) -> Result<TargetProgress> {
        if let Some(p) = &self.1 {
            return Ok(TargetProgress {
                actual: p.actual,
                ratio: p.ratio,
                expected: p.expected,
                status: p.status,
            });
        }
        let mut one = with_progress(ctx, vec![self.0.clone()]).await?;
        one.pop()
            .and_then(|t| t.1)
            .ok_or_else(|| AppError::internal("a target's progress is missing").into())
    }
}

/// The targets with their progress, each scope's and year's actual values counted once.
pub(crate) async fn with_progress(
    ctx: &Context<'_>,
    rows: Vec<target::Model>,
) -> Result<Vec<Target>> {
    let conn = db_conn(ctx)?;
    let day = today();
    // Each year's scopes are counted together.
    let mut scopes: BTreeMap<i32, Vec<db::statistics::Scope>> = BTreeMap::new();
    for row in &rows {
        let of_year = scopes.entry(row.year).or_default();
        let scope = db::targets::scope_of(row);
        if !of_year.contains(&scope) {
            of_year.push(scope);
        }
    }
    let mut actuals: HashMap<(db::statistics::Scope, i32), HashMap<TargetMeasure, f64>> =
        HashMap::new();
    for (year, of_year) in scopes {
        for (scope, values) in db::targets::actuals_of(conn, &of_year, year).await? {
            actuals.insert((scope, year), values);
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let key = (db::targets::scope_of(&row), row.year);
        let measure = stored(TargetMeasure::parse(&row.measure))?;
        let actual = actuals
            .get(&key)
            .and_then(|a| a.get(&measure))
            .copied()
            .unwrap_or(0.0);
        let p = targets::progress(measure, row.year, row.value, actual, day);
        let progress = TargetProgress {
            actual: p.actual,
            ratio: p.ratio,
            expected: p.expected,
            status: p.status,
        };
        out.push(Target(row, Some(progress)));
    }
    Ok(out)
}

/// Targets are the district office's and its cadres': ADMIN and CADRE tokens read them.
fn may_read(ctx: &Context<'_>) -> Result<()> {
    let actor = caller(ctx).actor("targets").map_err(AppError::from)?;
    if actor.role == Role::Bank {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "targets are the district's; a bank token does not read them",
        )
        .into());
    }
    Ok(())
}

/// The targets of a scope in a year (every year when `None`), with their progress.
pub(crate) async fn of_scope(
    ctx: &Context<'_>,
    scope: Scope,
    year: Option<i32>,
) -> Result<Vec<Target>> {
    may_read(ctx)?;
    let rows = db::targets::list(db_conn(ctx)?, year, Some(&[scope])).await?;
    with_progress(ctx, rows).await
}

/// ADMIN sets any target; a CADRE only its own township's villages'.
async fn may_set<'a>(ctx: &Context<'a>, scope: Scope) -> Result<&'a Actor> {
    let who = caller(ctx);
    let actor = who.actor("setting targets").map_err(AppError::from)?;
    match (actor.role, scope) {
        (Role::Admin, _) => Ok(actor),
        (Role::Cadre, Scope::Village(v)) => {
            let village = Village::load(ctx, Some(v)).await?.ok_or_else(|| {
                AppError::bad_input("`villageId` names no village")
            })?;
            Ok(who.may_write_in(village.0.township_id).map_err(AppError::from)?)
        }
        (Role::Cadre, _) => Err(AppError::new(
            ErrorCode::Forbidden,
            "a cadre sets targets for the villages of its own township; the district office sets the district's and the townships'",
        )
        .into()),
        (Role::Bank, _) => Err(AppError::new(ErrorCode::Forbidden, "a bank token does not set targets").into()),
    }
}

/// The targets of the district, its townships and villages (目标任务).
#[derive(Default)]
pub struct TargetsQuery;

#[Object]
impl TargetsQuery {
    /// Targets of a year with their progress (年度目标及进度), narrowed by level, township (its
    /// own targets and its villages'), measure and status: "which townships are behind on
    /// revitalization this year?" is `targets(year: 2026, level: TOWNSHIP, measure:
    /// ASSETS_REVITALIZED, status: BEHIND)`. ADMIN and CADRE tokens.
    #[expect(
        clippy::too_many_arguments,
        reason = "each parameter is a GraphQL argument of the field"
    )]
    async fn targets(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Year (年度).")] year: i32,
        #[graphql(desc = "Only this level (层级).")] level: Option<TargetLevel>,
        #[graphql(desc = "Only this township's targets and its villages' (乡镇).")]
        township_id: Option<ID>,
        #[graphql(desc = "Only this measure (指标).")] measure: Option<TargetMeasure>,
        #[graphql(desc = "Only targets in this state (进度状态).")] status: Option<ProgressStatus>,
        #[graphql(desc = "Only those changed at or after this instant (更新时间不早于).")]
        updated_since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Target>> {
        let changed = Period::since_opt(updated_since);
        may_read(ctx)?;
        let conn = db_conn(ctx)?;
        let township = match &township_id {
            Some(id) => Some(ids::decode_as(id, Kind::Township)?),
            None => None,
        };
        let villages_of_township: Vec<i64> = match township {
            Some(t) => db::places::all_villages(conn)
                .await?
                .into_iter()
                .filter(|v| v.township_id == t)
                .map(|v| v.id)
                .collect(),
            None => Vec::new(),
        };
        let rows: Vec<target::Model> = db::targets::list(conn, Some(year), None)
            .await?
            .into_iter()
            .filter(|t| {
                let scope = db::targets::scope_of(t);
                let at_level = matches!(
                    (level, scope),
                    (None, _)
                        | (Some(TargetLevel::District), Scope::District)
                        | (Some(TargetLevel::Township), Scope::Township(_))
                        | (Some(TargetLevel::Village), Scope::Village(_))
                );
                let in_township = match (township, scope) {
                    (None, _) => true,
                    (Some(t), Scope::Township(x)) => t == x,
                    (Some(_), Scope::Village(v)) => villages_of_township.contains(&v),
                    (Some(_), Scope::District) => false,
                };
                at_level
                    && in_township
                    && measure.is_none_or(|m| t.measure == m.as_str())
                    && changed.contains(t.updated_at)
            })
            .collect();
        Ok(with_progress(ctx, rows)
            .await?
            .into_iter()
            .filter(|t| status.is_none_or(|s| t.1.as_ref().is_some_and(|p| p.status == s)))
            .collect())
    }
}

/// Sets a year's target (设定目标任务): for the district (neither id), a township
/// (`townshipId`) or a village (`villageId`).
#[derive(InputObject)]
pub struct SetTargetInput {
    /// The township, for a township's target (乡镇).
    pub township_id: Option<ID>,
    /// The village, for a village's target (行政村).
    pub village_id: Option<ID>,
    /// Year (年度), 2000–2100.
    pub year: i32,
    /// What it measures (指标).
    pub measure: TargetMeasure,
    /// The goal (目标值), 0 or more; a share is 0–1; money is fen.
    pub value: f64,
    /// Note (说明), up to 200 characters.
    pub note: Option<String>,
}

/// Changes a target's value (调整目标任务) at `version`.
#[derive(InputObject)]
pub struct UpdateTargetInput {
    /// The target.
    pub id: ID,
    /// Its version, as read.
    pub version: i32,
    /// The new goal (目标值).
    pub value: f64,
    /// Note (说明); left out clears it.
    pub note: Option<String>,
}

/// The target as stored.
#[derive(SimpleObject)]
pub struct TargetPayload {
    /// The target, with its progress.
    pub target: Target,
}

/// Setting and changing targets.
#[derive(Default)]
pub struct TargetsMutation;

#[Object]
impl TargetsMutation {
    /// Sets a target (设定目标任务): ADMIN for any scope, a CADRE for a village of its township.
    /// A second target for the same scope, year and measure is CONFLICT: change the first.
    async fn set_target(&self, ctx: &Context<'_>, input: SetTargetInput) -> Result<TargetPayload> {
        caller(ctx)
            .actor("setting targets")
            .map_err(AppError::from)?;
        let scope = match (&input.township_id, &input.village_id) {
            (None, None) => Scope::District,
            (Some(t), None) => {
                let t = ids::decode_as(t, Kind::Township)?;
                ctx.data::<DataLoader<DbLoader>>()?
                    .load_one(TownshipKey(t))
                    .await?
                    .ok_or_else(|| AppError::bad_input("`townshipId` names no township"))?;
                Scope::Township(t)
            }
            (None, Some(v)) => {
                let v = ids::decode_as(v, Kind::Village)?;
                Village::load(ctx, Some(v))
                    .await?
                    .ok_or_else(|| AppError::bad_input("`villageId` names no village"))?;
                Scope::Village(v)
            }
            (Some(_), Some(_)) => {
                return Err(AppError::bad_input(
                    "give `townshipId` or `villageId`, not both: a village's target is the village's",
                )
                .into());
            }
        };
        let actor = may_set(ctx, scope).await?;
        targets::check(
            input.measure,
            input.year,
            input.value,
            input.note.as_deref(),
        )
        .map_err(|e| AppError::bad_input(e.to_string()))?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        if let Some(t) = db::targets::find(&txn, scope, input.year, input.measure).await? {
            return Err(AppError::conflict(format!(
                "a {} target for {} is set already ({}); change it with `updateTarget`",
                input.measure,
                input.year,
                Kind::Target.id(t.id).as_str()
            ))
            .into());
        }
        let row = db::targets::insert(
            &txn,
            &NewTarget {
                scope,
                year: input.year,
                measure: input.measure,
                value: input.value,
                note: input.note.filter(|n| !n.trim().is_empty()),
                set_by: actor.label.clone(),
            },
        )
        .await?;
        record(
            ctx,
            &txn,
            actor,
            "setTarget",
            "target",
            row.id,
            (None, json(&row)),
        )
        .await?;
        db::commit(txn).await?;
        let target = with_progress(ctx, vec![row]).await?.pop();
        Ok(TargetPayload {
            target: target.ok_or_else(|| AppError::internal("a target vanished"))?,
        })
    }

    /// Changes a target's value (调整目标任务), at the `version` read.
    async fn update_target(
        &self,
        ctx: &Context<'_>,
        input: UpdateTargetInput,
    ) -> Result<TargetPayload> {
        caller(ctx)
            .actor("changing targets")
            .map_err(AppError::from)?;
        let id = ids::decode_as(&input.id, Kind::Target)?;
        let conn = db_conn(ctx)?;
        let before = db::targets::by_ids(conn, &[id])
            .await?
            .remove(&id)
            .ok_or_else(|| AppError::not_found("no target has this ID"))?;
        let actor = may_set(ctx, db::targets::scope_of(&before)).await?;
        let measure = stored(TargetMeasure::parse(&before.measure))?;
        targets::check(measure, before.year, input.value, input.note.as_deref())
            .map_err(|e| AppError::bad_input(e.to_string()))?;
        let txn = db::begin_write(conn).await?;
        let after = updated(
            "target",
            db::targets::update(
                &txn,
                id,
                input.version,
                input.value,
                input.note,
                &actor.label,
            )
            .await?,
            input.version,
        )?;
        record(
            ctx,
            &txn,
            actor,
            "updateTarget",
            "target",
            id,
            (json(&before), json(&after)),
        )
        .await?;
        db::commit(txn).await?;
        let target = with_progress(ctx, vec![after]).await?.pop();
        Ok(TargetPayload {
            target: target.ok_or_else(|| AppError::internal("a target vanished"))?,
        })
    }
}

/// A target by global ID, for `node`: ADMIN and CADRE tokens.
pub(crate) async fn node(ctx: &Context<'_>, id: i64) -> Result<Option<Target>> {
    may_read(ctx)?;
    match db::targets::by_ids(db_conn(ctx)?, &[id]).await?.remove(&id) {
        Some(row) => Ok(with_progress(ctx, vec![row]).await?.pop()),
        None => Ok(None),
    }
}
