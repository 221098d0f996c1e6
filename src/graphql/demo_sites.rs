//! Demonstration sites (示范点/样板): their fields and yearly indicators, the queries that
//! find them, and their creation and changes.

use async_graphql::connection::Connection;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db;
use crate::db::entities::{demo_indicator, demo_site, idle_asset};
use crate::domain::assets::AssetStatus;
use crate::domain::datum::Crs;
use crate::domain::demo_sites::{
    DemoSiteDraft, DemoSiteLevel, Indicator, IndicatorCode, IndicatorUnit,
};
use crate::domain::geometry::{Area, Location, Measures, measures};
use crate::domain::period::Period;
use crate::error::AppError;
use crate::graphql::audit::{AuditEvent, audit_connection, history_of};
use crate::graphql::common::context::{
    Details, caller, confirm_place, db_conn, id_or_code, json, locate_current, patch, record,
    stored, today, updated,
};
use crate::graphql::common::ids::Kind;
use crate::graphql::common::loaders::{
    AssetKey, DbLoader, DemoSiteKey, IndicatorsOf, PartyKey, SiteAssetsOf,
};
use crate::graphql::common::nodes::{DemoSite, IdleAsset, Party, Township, Village};
use crate::graphql::common::paging::{ListTotal, PageRequest, encode_cursor};
use crate::graphql::common::scalars::{GeoJson, Long};
use crate::graphql::common::{geo, ids};
use crate::graphql::parties::party_id;

impl DemoSite {
    fn location_(&self) -> Result<Location> {
        Location::parse(self.0.lon, self.0.lat).map_err(|e| AppError::internal(e).into())
    }

    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<idle_asset::Model>> {
        let loader = ctx.data::<DataLoader<DbLoader>>()?;
        let ids = loader
            .load_one(SiteAssetsOf(self.0.id))
            .await?
            .unwrap_or_default();
        let assets = loader.load_many(ids.iter().map(|id| AssetKey(*id))).await?;
        Ok(ids
            .iter()
            .filter_map(|id| assets.get(&AssetKey(*id)).cloned())
            .collect())
    }

    /// The site's land: its assets' footprints, with the site's own location. Totals are the
    /// same for every caller; where the land lies (centroid, box) is told from footprints only
    /// to a caller who may see them, else from the public points.
    async fn measures(&self, ctx: &Context<'_>) -> Result<Measures> {
        let who = caller(ctx);
        let members = self.members(ctx).await?;
        let mut points = vec![self.location_()?];
        let mut areas = Vec::new();
        for m in &members {
            let at = Location::parse(m.lon, m.lat).map_err(AppError::internal)?;
            points.push(who.visible_location(at));
            if let Some(f) = m.footprint.as_deref() {
                areas.push(db::geometry::read_area(f).map_err(AppError::internal)?);
            }
        }
        let areas: Vec<&Area> = areas.iter().collect();
        let missing = || AppError::internal("a site always has its own location");
        let whole = measures(&areas, &points).ok_or_else(missing)?;
        if who.is_anonymous() {
            let public = measures(&[], &points).ok_or_else(missing)?;
            return Ok(Measures {
                centroid: public.centroid,
                bbox: public.bbox,
                ..whole
            });
        }
        Ok(whole)
    }
}

/// A demonstration site (示范点/惠农共富样板): a village or base that shows what revitalization
/// achieved, e.g. 东川白家七星山庄.
#[Object]
impl DemoSite {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::DemoSite.id(self.0.id)
    }

    /// Code (编号).
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// Name (名称).
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Level of the designation (命名级别).
    async fn level(&self) -> Result<DemoSiteLevel> {
        stored(DemoSiteLevel::parse(&self.0.level))
    }

    /// Year designated (命名年份).
    async fn designation_year(&self) -> i32 {
        self.0.designation_year
    }

    /// Theme (主题), e.g. 民宿康养.
    async fn theme(&self) -> Option<&str> {
        self.0.theme.as_deref()
    }

    /// Description (简介).
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// The operator (运营主体).
    async fn operator(&self, ctx: &Context<'_>) -> Result<Option<Party>> {
        let Some(id) = self.0.operator_id else {
            return Ok(None);
        };
        Ok(ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(PartyKey(id))
            .await?
            .map(Party))
    }

    /// Location (位置) as a GeoJSON Point.
    async fn location(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<GeoJson> {
        Ok(geo::point_in(self.location_()?, crs))
    }

    /// Longitude in degrees (经度).
    async fn longitude(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<f64> {
        Ok(geo::lon_lat_in(self.location_()?, crs).0)
    }

    /// Latitude in degrees (纬度).
    async fn latitude(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<f64> {
        Ok(geo::lon_lat_in(self.location_()?, crs).1)
    }

    /// The village it lies in (所在村).
    async fn village(&self, ctx: &Context<'_>) -> Result<Option<Village>> {
        Village::load(ctx, self.0.village_id).await
    }

    /// The township it lies in (所在乡镇).
    async fn township(&self, ctx: &Context<'_>) -> Result<Township> {
        Township::load(ctx, self.0.township_id).await
    }

    /// The idle assets it put back to use (盘活的闲置资产).
    async fn revitalized_assets(&self, ctx: &Context<'_>) -> Result<Vec<IdleAsset>> {
        Ok(self
            .members(ctx)
            .await?
            .into_iter()
            .map(IdleAsset::from)
            .collect())
    }

    /// Total geodesic area of its revitalized assets' surveyed footprints, m² (示范点占地面积);
    /// 0 when none is surveyed.
    async fn area_square_meters(&self, ctx: &Context<'_>) -> Result<f64> {
        Ok(self.measures(ctx).await?.area_m2)
    }

    /// Total geodesic perimeter of those footprints, m (占地周长).
    async fn perimeter_meters(&self, ctx: &Context<'_>) -> Result<f64> {
        Ok(self.measures(ctx).await?.perimeter_m)
    }

    /// Centroid of those footprints (几何中心); the site's location when none is surveyed.
    async fn centroid(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<GeoJson> {
        Ok(geo::point_in(self.measures(ctx).await?.centroid, crs))
    }

    /// Bounding box [west, south, east, north] of the site and its assets (外包矩形); without a
    /// token, of the site and its assets' public (snapped) points.
    async fn bbox(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<Vec<f64>> {
        Ok(geo::bbox_in(self.measures(ctx).await?.bbox, crs))
    }

    /// Every change to this site, oldest first (变更记录).
    #[graphql(
        guard = "Details(\"a site's history\")",
        complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)"
    )]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, AuditEvent, ListTotal>> {
        audit_connection(
            ctx,
            history_of("demo_site", self.0.id),
            first,
            after,
            last,
            before,
        )
        .await
    }

    /// Version for optimistic locking (版本号): updates must send the version they read.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Yearly indicators (年度指标), by year then code; optionally only some years or codes.
    async fn indicators(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these years (年份).")] years: Option<Vec<i32>>,
        #[graphql(desc = "Only these indicators (指标).")] codes: Option<Vec<IndicatorCode>>,
    ) -> Result<Vec<DemoIndicator>> {
        let rows = ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(IndicatorsOf(self.0.id))
            .await?
            .unwrap_or_default();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let code = stored(IndicatorCode::parse(&row.code))?;
            let wanted_year = years.as_ref().is_none_or(|y| y.contains(&row.year));
            let wanted_code = codes.as_ref().is_none_or(|c| c.contains(&code));
            if wanted_year && wanted_code {
                out.push(DemoIndicator { row, code });
            }
        }
        Ok(out)
    }
}

/// One yearly indicator of a demonstration site (年度指标).
pub struct DemoIndicator {
    row: demo_indicator::Model,
    code: IndicatorCode,
}

/// One yearly indicator of a demonstration site (年度指标).
#[Object]
impl DemoIndicator {
    /// Year (年份).
    async fn year(&self) -> i32 {
        self.row.year
    }

    /// What it measures (指标).
    async fn code(&self) -> IndicatorCode {
        self.code
    }

    /// Unit of `value` (单位); money is in fen.
    async fn unit(&self) -> IndicatorUnit {
        self.code.unit()
    }

    /// The value, an integer in `unit` (数值).
    async fn value(&self) -> Long {
        Long(self.row.value)
    }

    /// Where the figure comes from (数据来源).
    async fn source(&self) -> Option<&str> {
        self.row.source.as_deref()
    }
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

/// Demonstration sites (示范点/样板), listed.
#[derive(Default)]
pub struct DemoSitesQuery;

#[Object]
impl DemoSitesQuery {
    /// Demonstration sites (示范点/样板), optionally of one township, in id order.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    #[expect(
        clippy::too_many_arguments,
        reason = "each parameter is a GraphQL argument of the field"
    )]
    async fn demo_sites(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only sites in this township (乡镇).")] township_id: Option<ID>,
        #[graphql(desc = "Only those changed at or after this instant (更新时间不早于).")]
        updated_since: Option<DateTime<Utc>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, DemoSite, ListTotal>> {
        let township = crate::graphql::places::township_id(township_id.as_ref())?;
        let updated = Period::since_opt(updated_since);
        let page = PageRequest::new("ID", first, after, last, before)?;
        let rows = db::demo_sites::page(
            db_conn(ctx)?,
            township,
            updated,
            page.after_id(),
            page.backward,
            page.fetch(),
        )
        .await?;
        Ok(page.connection(
            rows,
            |d| encode_cursor("ID", "", d.id),
            DemoSite,
            ListTotal::DemoSites(township, updated),
        ))
    }
}

/// One demonstration site (示范点).
#[derive(Default)]
pub struct DemoSiteQuery;

#[Object]
impl DemoSiteQuery {
    /// One demonstration site by global ID or by code (示范点).
    async fn demo_site(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        code: Option<String>,
    ) -> Result<Option<DemoSite>> {
        match id_or_code(id.as_ref(), code.as_deref())? {
            Some(id) => {
                let n = ids::decode_as(id, Kind::DemoSite)?;
                Ok(ctx
                    .data::<DataLoader<DbLoader>>()?
                    .load_one(DemoSiteKey(n))
                    .await?
                    .map(DemoSite))
            }
            None => Ok(
                db::demo_sites::by_code(db_conn(ctx)?, code.as_deref().unwrap_or_default())
                    .await?
                    .map(DemoSite),
            ),
        }
    }
}

/// Creating and changing demonstration sites (示范点).
#[derive(Default)]
pub struct DemoSitesMutation;

#[Object]
impl DemoSitesMutation {
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
        let place = locate_current(ctx, new.location).await?;
        caller(ctx)
            .may_write_in(place.township_id)
            .map_err(AppError::from)?;
        let operator = match &input.operator_id {
            Some(id) => Some(party_id(ctx, id, "operatorId").await?),
            None => None,
        };
        let assets = revitalized_assets(ctx, &input.asset_ids).await?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let place = confirm_place(ctx, &txn, new.location, place).await?;
        let actor = caller(ctx)
            .may_write_in(place.township_id)
            .map_err(AppError::from)?;
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
        let place = locate_current(ctx, new.location).await?;
        caller(ctx)
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
        let place = confirm_place(ctx, &txn, new.location, place).await?;
        let actor = caller(ctx)
            .may_write_in(place.township_id)
            .map_err(AppError::from)?;
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
