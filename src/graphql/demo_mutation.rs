//! Recording how assets were put to use, and the demonstration sites that show it.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use super::access::caller;
use super::asset::Revitalization;
use super::demo_site::DemoSite;
use super::ids::{self, Kind};
use super::mutation::{json, locate, party_id, patch, record, today, updated};
use super::scalars::Long;
use super::{db_conn, stored};
use crate::db;
use crate::db::entities::{demo_site, idle_asset};
use crate::domain::assets::AssetStatus;
use crate::domain::datum::Crs;
use crate::domain::demo_sites::{DemoSiteDraft, DemoSiteLevel, Indicator, IndicatorCode};
use crate::domain::revitalization::{RevenueSplit, RevitalizationDraft, RevitalizationMode};
use crate::error::AppError;

/// Recording revitalization and demonstration sites (盘活记录与示范点).
#[derive(Default)]
pub struct DemoMutation;

async fn asset(ctx: &Context<'_>, id: &ID) -> Result<idle_asset::Model> {
    let n = ids::decode_as(id, Kind::IdleAsset)?;
    db::assets::by_ids(db_conn(ctx)?, &[n])
        .await?
        .remove(&n)
        .ok_or_else(|| AppError::bad_input("`assetId` names no idle asset").into())
}

async fn site(ctx: &Context<'_>, id: &ID) -> Result<demo_site::Model> {
    let n = ids::decode_as(id, Kind::DemoSite)?;
    db::demo_sites::by_ids(db_conn(ctx)?, &[n])
        .await?
        .remove(&n)
        .ok_or_else(|| AppError::not_found("no demonstration site has this ID").into())
}

/// The assets a site shows: each must exist and be REVITALIZED (a site shows results).
async fn revitalized_assets(ctx: &Context<'_>, ids_: &[ID]) -> Result<Vec<i64>> {
    let wanted = ids_
        .iter()
        .map(|id| ids::decode_as(id, Kind::IdleAsset))
        .collect::<Result<Vec<_>, _>>()?;
    let found = db::assets::by_ids(db_conn(ctx)?, &wanted).await?;
    for n in &wanted {
        match found.get(n) {
            None => {
                return Err(
                    AppError::bad_input("`assetIds` names an asset that does not exist").into(),
                );
            }
            Some(a) if a.status != AssetStatus::Revitalized.as_str() => {
                return Err(AppError::bad_input(format!(
                    "asset {} is {}; a demonstration site shows REVITALIZED assets",
                    a.code, a.status
                ))
                .into());
            }
            Some(_) => {}
        }
    }
    let mut unique = wanted;
    unique.sort_unstable();
    unique.dedup();
    Ok(unique)
}

/// How revenue is shared (收益分配), as fractions that must sum to 1.
#[derive(InputObject)]
pub struct RevenueSplitInput {
    /// Village collective's share (村集体), e.g. 0.6.
    pub collective: f64,
    /// Operator's share (经营主体), e.g. 0.2.
    pub operator: f64,
    /// Farmer's share (农户), e.g. 0.2.
    pub farmer: f64,
}

/// Records how an idle asset was put to use (登记盘活利用).
#[derive(InputObject)]
pub struct RecordRevitalizationInput {
    /// The asset (资产): REVITALIZED, or RELINQUISHED for a paid relinquishment.
    pub asset_id: ID,
    /// Contract number (合同编号), unique.
    pub contract_no: Option<String>,
    /// How (盘活方式).
    pub mode: RevitalizationMode,
    /// What for (用途), e.g. 民宿.
    pub end_use: Option<String>,
    /// The other party (承租/合作方).
    pub counterparty_id: Option<ID>,
    /// Start date (起始日期).
    pub start_date: chrono::NaiveDate,
    /// Term in months (期限/月), 1 to 600.
    pub term_months: Option<i32>,
    /// Annual rent in fen (年租金/分).
    pub annual_rent_fen: Option<Long>,
    /// Investment in fen (投资额/分).
    pub investment_fen: Option<Long>,
    /// Compensation in fen, for a paid relinquishment only (退出补偿/分).
    pub compensation_fen: Option<Long>,
    /// Jobs created (带动就业).
    pub jobs_created: Option<i32>,
    /// Revenue split (收益分配).
    pub revenue_split: Option<RevenueSplitInput>,
}

/// The record made.
#[derive(SimpleObject)]
pub struct RevitalizationPayload {
    /// The record as stored (盘活记录).
    pub revitalization: Revitalization,
}

/// Creates a demonstration site (新建示范点).
#[derive(InputObject)]
pub struct CreateDemoSiteInput {
    /// Code (编号), unique.
    pub code: String,
    /// Name (名称).
    pub name: String,
    /// Level (命名级别).
    pub level: DemoSiteLevel,
    /// Year designated (命名年份).
    pub designation_year: i32,
    /// Theme (主题).
    pub theme: Option<String>,
    /// Description (简介).
    pub description: Option<String>,
    /// Operator (运营主体).
    pub operator_id: Option<ID>,
    /// Longitude (经度); the township and village come from the location.
    pub longitude: f64,
    /// Latitude (纬度).
    pub latitude: f64,
    /// The REVITALIZED assets it shows (盘活的资产).
    #[graphql(default)]
    pub asset_ids: Vec<ID>,
    /// Datum of the coordinates and geometry sent (坐标系): GCJ02 for AMap or Tencent, BD09 for
    /// Baidu; stored as WGS84.
    #[graphql(default)]
    pub crs: Crs,
}

/// Changes a demonstration site (修改示范点). Fields left out keep their value.
#[derive(InputObject)]
pub struct UpdateDemoSiteInput {
    /// The site (示范点).
    pub id: ID,
    /// The version you read (版本号).
    pub version: i32,
    /// Name (名称).
    pub name: Option<String>,
    /// Level (命名级别).
    pub level: Option<DemoSiteLevel>,
    /// Year designated (命名年份).
    pub designation_year: Option<i32>,
    /// Theme (主题).
    pub theme: MaybeUndefined<String>,
    /// Description (简介).
    pub description: MaybeUndefined<String>,
    /// Operator (运营主体).
    pub operator_id: MaybeUndefined<ID>,
    /// Longitude (经度); give it with latitude.
    pub longitude: Option<f64>,
    /// Latitude (纬度).
    pub latitude: Option<f64>,
    /// The assets it shows, replacing the current set (盘活的资产).
    pub asset_ids: Option<Vec<ID>>,
    /// Datum of the coordinates and geometry sent (坐标系): GCJ02 for AMap or Tencent, BD09 for
    /// Baidu; stored as WGS84.
    #[graphql(default)]
    pub crs: Crs,
}

/// One yearly value (年度指标).
#[derive(InputObject)]
pub struct IndicatorInput {
    /// Year (年份).
    pub year: i32,
    /// What it measures (指标).
    pub code: IndicatorCode,
    /// The value, an integer in the indicator's unit (money in fen) (数值).
    pub value: Long,
    /// Where the figure comes from (数据来源).
    pub source: Option<String>,
}

/// Records yearly indicators of a site (填报年度指标); a value for a year and code the site
/// already has replaces it.
#[derive(InputObject)]
pub struct RecordDemoIndicatorsInput {
    /// The site (示范点).
    pub demo_site_id: ID,
    /// The values (指标值), at most 200.
    pub indicators: Vec<IndicatorInput>,
}

/// The site created or changed.
#[derive(SimpleObject)]
pub struct DemoSitePayload {
    /// The site as stored (示范点).
    pub demo_site: DemoSite,
}

#[Object]
impl DemoMutation {
    /// Records how an idle asset was put to use (登记盘活利用).
    async fn record_revitalization(
        &self,
        ctx: &Context<'_>,
        input: RecordRevitalizationInput,
    ) -> Result<RevitalizationPayload> {
        caller(ctx)
            .actor("recording a revitalization")
            .map_err(AppError::from)?;
        let asset = asset(ctx, &input.asset_id).await?;
        let actor = caller(ctx)
            .may_write_in(asset.township_id)
            .map_err(AppError::from)?;
        let split = input
            .revenue_split
            .map(|s| RevenueSplit::from_fractions(s.collective, s.operator, s.farmer))
            .transpose()
            .map_err(AppError::from)?;
        let record_ = RevitalizationDraft {
            contract_no: input.contract_no,
            mode: input.mode,
            end_use: input.end_use,
            start_date: input.start_date,
            term_months: input.term_months,
            annual_rent_fen: input.annual_rent_fen.map(|l| l.0),
            investment_fen: input.investment_fen.map(|l| l.0),
            compensation_fen: input.compensation_fen.map(|l| l.0),
            jobs_created: input.jobs_created,
            split,
        }
        .validate(stored(AssetStatus::parse(&asset.status))?)
        .map_err(AppError::from)?;
        let counterparty = match &input.counterparty_id {
            Some(id) => Some(party_id(ctx, id, "counterpartyId").await?),
            None => None,
        };
        let txn = db::begin_write(db_conn(ctx)?).await?;
        if let Some(no) = &record_.contract_no
            && db::revitalization::by_contract_no(&txn, no)
                .await?
                .is_some()
        {
            return Err(AppError::conflict(format!("contract {no} is already recorded")).into());
        }
        let row = db::revitalization::insert(&txn, asset.id, counterparty, &record_).await?;
        record(
            ctx,
            &txn,
            actor,
            "recordRevitalization",
            "revitalization",
            row.id,
            (None, json(&row)),
        )
        .await?;
        db::commit(txn).await?;
        Ok(RevitalizationPayload {
            revitalization: Revitalization(row),
        })
    }

    /// Creates a demonstration site (新建示范点) at its location.
    async fn create_demo_site(
        &self,
        ctx: &Context<'_>,
        input: CreateDemoSiteInput,
    ) -> Result<DemoSitePayload> {
        caller(ctx)
            .actor("creating a demonstration site")
            .map_err(AppError::from)?;
        let new = DemoSiteDraft {
            code: input.code,
            name: input.name,
            level: input.level,
            designation_year: input.designation_year,
            theme: input.theme,
            description: input.description,
            lon: input.crs.to_wgs84(input.longitude, input.latitude).0,
            lat: input.crs.to_wgs84(input.longitude, input.latitude).1,
        }
        .validate(today())
        .map_err(AppError::from)?;
        let place = locate(ctx, new.location)?;
        let actor = caller(ctx)
            .may_write_in(place.township_id)
            .map_err(AppError::from)?;
        let operator = match &input.operator_id {
            Some(id) => Some(party_id(ctx, id, "operatorId").await?),
            None => None,
        };
        let assets = revitalized_assets(ctx, &input.asset_ids).await?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        if db::demo_sites::by_code(&txn, &new.code).await?.is_some() {
            return Err(AppError::conflict(format!(
                "a demonstration site with code {} exists",
                new.code
            ))
            .into());
        }
        let row = db::demo_sites::insert(&txn, &new, place, operator).await?;
        db::demo_sites::set_assets(&txn, row.id, &assets).await?;
        let after = serde_json::json!({ "site": row, "assetIds": assets });
        record(
            ctx,
            &txn,
            actor,
            "createDemoSite",
            "demo_site",
            row.id,
            (None, Some(after)),
        )
        .await?;
        db::commit(txn).await?;
        Ok(DemoSitePayload {
            demo_site: DemoSite(row),
        })
    }

    /// Changes a demonstration site (修改示范点), if it is still at `version`.
    async fn update_demo_site(
        &self,
        ctx: &Context<'_>,
        input: UpdateDemoSiteInput,
    ) -> Result<DemoSitePayload> {
        caller(ctx)
            .actor("changing a demonstration site")
            .map_err(AppError::from)?;
        let before = site(ctx, &input.id).await?;
        caller(ctx)
            .may_write_in(before.township_id)
            .map_err(AppError::from)?;
        let (lon, lat) = match (input.longitude, input.latitude) {
            (Some(lon), Some(lat)) => input.crs.to_wgs84(lon, lat),
            (None, None) => (before.lon, before.lat),
            _ => return Err(AppError::bad_input("give longitude and latitude together").into()),
        };
        let mut theme = before.theme.clone();
        patch(&mut theme, input.theme);
        let mut description = before.description.clone();
        patch(&mut description, input.description);
        let new = DemoSiteDraft {
            code: before.code.clone(),
            name: input.name.unwrap_or_else(|| before.name.clone()),
            level: match input.level {
                Some(l) => l,
                None => stored(DemoSiteLevel::parse(&before.level))?,
            },
            designation_year: input.designation_year.unwrap_or(before.designation_year),
            theme,
            description,
            lon,
            lat,
        }
        .validate(today())
        .map_err(AppError::from)?;
        let place = locate(ctx, new.location)?;
        let actor = caller(ctx)
            .may_write_in(place.township_id)
            .map_err(AppError::from)?;
        let operator = match input.operator_id {
            MaybeUndefined::Undefined => before.operator_id,
            MaybeUndefined::Null => None,
            MaybeUndefined::Value(id) => Some(party_id(ctx, &id, "operatorId").await?),
        };
        let assets = match &input.asset_ids {
            Some(list) => Some(revitalized_assets(ctx, list).await?),
            None => None,
        };
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let after = updated(
            "demonstration site",
            db::demo_sites::update(&txn, before.id, input.version, &new, place, operator).await?,
            input.version,
        )?;
        if let Some(assets) = &assets {
            db::demo_sites::set_assets(&txn, after.id, assets).await?;
        }
        let change = (
            json(&before),
            Some(serde_json::json!({ "site": after, "assetIds": assets })),
        );
        record(
            ctx,
            &txn,
            actor,
            "updateDemoSite",
            "demo_site",
            after.id,
            change,
        )
        .await?;
        db::commit(txn).await?;
        Ok(DemoSitePayload {
            demo_site: DemoSite(after),
        })
    }

    /// Records yearly indicators of a demonstration site (填报年度指标).
    async fn record_demo_indicators(
        &self,
        ctx: &Context<'_>,
        input: RecordDemoIndicatorsInput,
    ) -> Result<DemoSitePayload> {
        caller(ctx)
            .actor("recording indicators")
            .map_err(AppError::from)?;
        if input.indicators.is_empty() || input.indicators.len() > 200 {
            return Err(AppError::bad_input("give 1 to 200 indicator values").into());
        }
        let site = site(ctx, &input.demo_site_id).await?;
        let actor = caller(ctx)
            .may_write_in(site.township_id)
            .map_err(AppError::from)?;
        let indicators = input
            .indicators
            .iter()
            .map(|i| Indicator::parse(i.year, i.code, i.value.0, i.source.as_deref(), today()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(AppError::from)?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let before = db::demo_sites::indicators_of(&txn, &[site.id])
            .await?
            .remove(&site.id)
            .unwrap_or_default();
        db::demo_sites::upsert_indicators(&txn, site.id, &indicators).await?;
        let after = db::demo_sites::indicators_of(&txn, &[site.id])
            .await?
            .remove(&site.id)
            .unwrap_or_default();
        record(
            ctx,
            &txn,
            actor,
            "recordDemoIndicators",
            "demo_site",
            site.id,
            (json(&before), json(&after)),
        )
        .await?;
        db::commit(txn).await?;
        Ok(DemoSitePayload {
            demo_site: DemoSite(site),
        })
    }
}
