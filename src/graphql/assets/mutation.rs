//! Registering and changing idle assets: each mutation checks its input in the domain, asks
//! the access policy, and writes the change and its audit event in one transaction.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::NaiveDate;

use crate::db::entities::idle_asset;
use crate::db::{self};
use crate::domain::assets::{
    AssetKind, AssetStatus, Condition, IdleAssetDraft, IdleCause, OwnerWillingness, Structure,
};
use crate::domain::datum::Crs;
use crate::error::AppError;
use crate::graphql::common::context::{
    caller, confirm_place, db_conn, footprint, json, locate_current, patch, record, stored, today,
    updated,
};
use crate::graphql::common::ids;
use crate::graphql::common::ids::Kind;
use crate::graphql::common::nodes::IdleAsset;
use crate::graphql::common::scalars::GeoJson;
use crate::graphql::parties::party_id;

/// Registering and changing assets and parties.
#[derive(Default)]
pub struct AssetsMutation;

/// The topology rule, checked inside the write transaction: a footprint may not overlap that of
/// another asset that still holds its land.
pub(crate) async fn check_overlap(
    txn: &sea_orm::DatabaseTransaction,
    footprint: Option<&crate::domain::geometry::Area>,
    except: Option<i64>,
) -> Result<()> {
    let Some(footprint) = footprint else {
        return Ok(());
    };
    let nearby = db::assets::active_footprints_near(txn, footprint.bbox(), except).await?;
    let mut others = Vec::with_capacity(nearby.len());
    for (code, text) in &nearby {
        others.push((
            code.as_str(),
            db::geometry::read_area(text).map_err(AppError::internal)?,
        ));
    }
    crate::domain::assets::check_footprint_overlap(footprint, others.iter().map(|(c, a)| (*c, a)))
        .map_err(|e| AppError::from(e).into())
}

async fn asset_row(ctx: &Context<'_>, id: &ID) -> Result<idle_asset::Model> {
    let n = ids::decode_as(id, Kind::IdleAsset)?;
    db::assets::by_ids(db_conn(ctx)?, &[n])
        .await?
        .remove(&n)
        .ok_or_else(|| AppError::not_found("no idle asset has this ID").into())
}

/// An idle asset's attributes as a draft, from a stored row (the base an update patches).
fn draft_of(row: &idle_asset::Model) -> Result<IdleAssetDraft> {
    Ok(IdleAssetDraft {
        code: row.code.clone(),
        kind: Some(stored(AssetKind::parse(&row.kind))?),
        lon: row.lon,
        lat: row.lat,
        footprint: row
            .footprint
            .as_deref()
            .map(|t| t.parse::<geojson::Geometry>().map_err(AppError::internal))
            .transpose()?,
        // Derived again from the footprint when there is one.
        land_area_m2: if row.footprint.is_some() {
            None
        } else {
            row.land_area_m2
        },
        floor_area_m2: row.floor_area_m2,
        structure: row
            .structure
            .as_deref()
            .map(|s| stored(Structure::parse(s)))
            .transpose()?,
        year_built: row.year_built,
        condition: row
            .condition
            .as_deref()
            .map(|s| stored(Condition::parse(s)))
            .transpose()?,
        idle_since: row.idle_since,
        idle_cause: row
            .idle_cause
            .as_deref()
            .map(|s| stored(IdleCause::parse(s)))
            .transpose()?,
        owner_willingness: row
            .owner_willingness
            .as_deref()
            .map(|s| stored(OwnerWillingness::parse(s)))
            .transpose()?,
        address: row.address.clone(),
    })
}

/// Registers an idle asset (登记闲置资产).
#[derive(InputObject)]
pub struct RegisterIdleAssetInput {
    /// Survey code (资产编号), unique in the district.
    pub code: String,
    /// Idle farmhouse or idle homestead (类型).
    pub kind: AssetKind,
    /// The owner (权利人), a registered party.
    pub owner_id: ID,
    /// Longitude, WGS84 (经度). The township and village are derived from the location.
    pub longitude: f64,
    /// Latitude, WGS84 (纬度).
    pub latitude: f64,
    /// Footprint (占地范围), a GeoJSON Polygon containing the location.
    pub footprint: Option<GeoJson>,
    /// Land area in m² (占地面积), when there is no footprint to measure it from.
    pub land_area_square_meters: Option<f64>,
    /// Floor area in m² (建筑面积).
    pub floor_area_square_meters: Option<f64>,
    /// Structure (结构).
    pub structure: Option<Structure>,
    /// Year built (建成年份).
    pub year_built: Option<i32>,
    /// Condition (状况).
    pub condition: Option<Condition>,
    /// Idle since (闲置起始日期).
    pub idle_since: Option<NaiveDate>,
    /// Why it is idle (闲置原因).
    pub idle_cause: Option<IdleCause>,
    /// What the owner is willing to do (盘活意愿).
    pub owner_willingness: Option<OwnerWillingness>,
    /// Address (地址).
    pub address: Option<String>,
    /// Datum of the coordinates and geometry sent (坐标系): GCJ02 for AMap or Tencent, BD09 for
    /// Baidu; stored as WGS84.
    #[graphql(default)]
    pub crs: Crs,
}

/// The asset registered or changed.
#[derive(SimpleObject)]
pub struct IdleAssetPayload {
    /// The asset as stored (资产).
    pub idle_asset: IdleAsset,
}

/// Changes an idle asset's attributes (修改资产信息). Fields left out keep their value; null
/// clears an optional one. Moving the location re-derives the township and village.
#[derive(InputObject)]
pub struct UpdateIdleAssetInput {
    /// The asset (资产).
    pub id: ID,
    /// The version you read (版本号); if it changed meanwhile the update is refused (CONFLICT).
    pub version: i32,
    /// Survey code (资产编号).
    pub code: Option<String>,
    /// Kind (类型).
    pub kind: Option<AssetKind>,
    /// Owner (权利人).
    pub owner_id: Option<ID>,
    /// Longitude (经度); give it with latitude.
    pub longitude: Option<f64>,
    /// Latitude (纬度); give it with longitude.
    pub latitude: Option<f64>,
    /// Footprint (占地范围).
    pub footprint: MaybeUndefined<GeoJson>,
    /// Land area in m² (占地面积), when there is no footprint.
    pub land_area_square_meters: MaybeUndefined<f64>,
    /// Floor area in m² (建筑面积).
    pub floor_area_square_meters: MaybeUndefined<f64>,
    /// Structure (结构).
    pub structure: MaybeUndefined<Structure>,
    /// Year built (建成年份).
    pub year_built: MaybeUndefined<i32>,
    /// Condition (状况).
    pub condition: MaybeUndefined<Condition>,
    /// Idle since (闲置起始日期).
    pub idle_since: MaybeUndefined<NaiveDate>,
    /// Why it is idle (闲置原因).
    pub idle_cause: MaybeUndefined<IdleCause>,
    /// Owner's willingness (盘活意愿).
    pub owner_willingness: MaybeUndefined<OwnerWillingness>,
    /// Address (地址).
    pub address: MaybeUndefined<String>,
    /// Datum of the coordinates and geometry sent (坐标系): GCJ02 for AMap or Tencent, BD09 for
    /// Baidu; stored as WGS84.
    #[graphql(default)]
    pub crs: Crs,
}

/// Moves an idle asset along its lifecycle (变更状态).
#[derive(InputObject)]
pub struct ChangeIdleAssetStatusInput {
    /// The asset (资产).
    pub id: ID,
    /// The version you read (版本号).
    pub version: i32,
    /// The new status (新状态); only the lifecycle's next steps are allowed.
    pub status: AssetStatus,
}

#[Object]
impl AssetsMutation {
    /// Registers an idle asset (登记闲置资产) at its location; its township and village are
    /// derived from the location. Status starts at IDENTIFIED.
    async fn register_idle_asset(
        &self,
        ctx: &Context<'_>,
        input: RegisterIdleAssetInput,
    ) -> Result<IdleAssetPayload> {
        caller(ctx)
            .actor("registering an asset")
            .map_err(AppError::from)?;
        let draft = IdleAssetDraft {
            code: input.code,
            kind: Some(input.kind),
            lon: input.crs.to_wgs84(input.longitude, input.latitude).0,
            lat: input.crs.to_wgs84(input.longitude, input.latitude).1,
            footprint: footprint(input.footprint, input.crs)?,
            land_area_m2: input.land_area_square_meters,
            floor_area_m2: input.floor_area_square_meters,
            structure: input.structure,
            year_built: input.year_built,
            condition: input.condition,
            idle_since: input.idle_since,
            idle_cause: input.idle_cause,
            owner_willingness: input.owner_willingness,
            address: input.address,
        };
        let attrs = draft.validate(today()).map_err(AppError::from)?;
        let place = locate_current(ctx, attrs.location).await?;
        caller(ctx)
            .may_write_in(place.township_id)
            .map_err(AppError::from)?;
        let owner = party_id(ctx, &input.owner_id, "ownerId").await?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let place = confirm_place(ctx, &txn, attrs.location, place).await?;
        let actor = caller(ctx)
            .may_write_in(place.township_id)
            .map_err(AppError::from)?;
        if db::assets::by_code(&txn, &attrs.code).await?.is_some() {
            return Err(AppError::conflict(format!(
                "an asset with code {} is already registered",
                attrs.code
            ))
            .into());
        }
        check_overlap(&txn, attrs.footprint.as_ref(), None).await?;
        let row = db::assets::insert(&txn, &attrs, AssetStatus::Identified, owner, place).await?;
        record(
            ctx,
            &txn,
            actor,
            "registerIdleAsset",
            "idle_asset",
            row.id,
            (None, json(&row)),
        )
        .await?;
        db::commit(txn).await?;
        Ok(IdleAssetPayload {
            idle_asset: IdleAsset::from(row),
        })
    }

    /// Changes an idle asset's attributes (修改资产信息), if it is still at `version`.
    async fn update_idle_asset(
        &self,
        ctx: &Context<'_>,
        input: UpdateIdleAssetInput,
    ) -> Result<IdleAssetPayload> {
        caller(ctx)
            .actor("changing an asset")
            .map_err(AppError::from)?;
        let before = asset_row(ctx, &input.id).await?;
        let mut draft = draft_of(&before)?;
        if let Some(code) = input.code {
            draft.code = code;
        }
        if let Some(kind) = input.kind {
            draft.kind = Some(kind);
        }
        match (input.longitude, input.latitude) {
            (Some(lon), Some(lat)) => (draft.lon, draft.lat) = input.crs.to_wgs84(lon, lat),
            (None, None) => {}
            _ => return Err(AppError::bad_input("give longitude and latitude together").into()),
        }
        match input.footprint {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => draft.footprint = None,
            MaybeUndefined::Value(g) => {
                draft.footprint = footprint(Some(g), input.crs)?;
                draft.land_area_m2 = None;
            }
        }
        patch(&mut draft.land_area_m2, input.land_area_square_meters);
        patch(&mut draft.floor_area_m2, input.floor_area_square_meters);
        patch(&mut draft.structure, input.structure);
        patch(&mut draft.year_built, input.year_built);
        patch(&mut draft.condition, input.condition);
        patch(&mut draft.idle_since, input.idle_since);
        patch(&mut draft.idle_cause, input.idle_cause);
        patch(&mut draft.owner_willingness, input.owner_willingness);
        patch(&mut draft.address, input.address);
        let attrs = draft.validate(today()).map_err(AppError::from)?;
        let place = locate_current(ctx, attrs.location).await?;
        // A cadre may neither change an asset of another township nor move one out of its own.
        caller(ctx)
            .may_write_in(before.township_id)
            .map_err(AppError::from)?;
        caller(ctx)
            .may_write_in(place.township_id)
            .map_err(AppError::from)?;
        let owner = match &input.owner_id {
            Some(id) => party_id(ctx, id, "ownerId").await?,
            None => before.owner_id,
        };
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let place = confirm_place(ctx, &txn, attrs.location, place).await?;
        let actor = caller(ctx)
            .may_write_in(place.township_id)
            .map_err(AppError::from)?;
        check_overlap(&txn, attrs.footprint.as_ref(), Some(before.id)).await?;
        let after = updated(
            "idle asset",
            db::assets::update(&txn, before.id, input.version, &attrs, owner, place).await?,
            input.version,
        )?;
        record(
            ctx,
            &txn,
            actor,
            "updateIdleAsset",
            "idle_asset",
            after.id,
            (json(&before), json(&after)),
        )
        .await?;
        db::commit(txn).await?;
        Ok(IdleAssetPayload {
            idle_asset: IdleAsset::from(after),
        })
    }

    /// Moves an idle asset along its lifecycle (变更状态): IDENTIFIED → VERIFIED → LISTED →
    /// NEGOTIATING → REVITALIZED, or RELINQUISHED / WITHDRAWN where the lifecycle allows.
    async fn change_idle_asset_status(
        &self,
        ctx: &Context<'_>,
        input: ChangeIdleAssetStatusInput,
    ) -> Result<IdleAssetPayload> {
        caller(ctx)
            .actor("changing an asset's status")
            .map_err(AppError::from)?;
        let before = asset_row(ctx, &input.id).await?;
        let actor = caller(ctx)
            .may_write_in(before.township_id)
            .map_err(AppError::from)?;
        let from = stored(AssetStatus::parse(&before.status))?;
        let to = from.transition(input.status).map_err(AppError::from)?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let after = updated(
            "idle asset",
            db::assets::set_status(&txn, before.id, input.version, to).await?,
            input.version,
        )?;
        record(
            ctx,
            &txn,
            actor,
            "changeIdleAssetStatus",
            "idle_asset",
            after.id,
            (json(&before), json(&after)),
        )
        .await?;
        db::commit(txn).await?;
        Ok(IdleAssetPayload {
            idle_asset: IdleAsset::from(after),
        })
    }
}
