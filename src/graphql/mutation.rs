//! Mutations: each takes one `…Input`, checks it in the domain, asks the access policy, and
//! writes the change and its audit event in one transaction, so a change without its audit
//! event cannot exist and a failed mutation leaves nothing behind.

use std::sync::{Arc, RwLock};

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::NaiveDate;

use super::access::caller;
use super::asset::{IdleAsset, Party};
use super::ids::{self, Kind};
use super::scalars::GeoJson;
use super::{db_conn, stored};
use crate::db::entities::{idle_asset, party};
use crate::db::{self, Versioned, audit};
use crate::domain::access::Actor;
use crate::domain::assets::{
    AssetKind, AssetStatus, Condition, IdleAssetDraft, IdleCause, OwnerWillingness, Structure,
};
use crate::domain::datum::Crs;
use crate::domain::geometry::GeometryError;
use crate::domain::geometry::Location;
use crate::domain::locator::{Locator, Placement};
use crate::domain::parties::{PartyDraft, PartyKind};
use crate::error::AppError;

/// The boundaries every location is placed against, shared by all requests.
pub type SharedLocator = Arc<RwLock<Locator>>;

/// The id of the HTTP request, recorded with every change it makes.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Changes to the registry (登记与变更). Each needs a token; a CADRE changes only records in
/// its own township. Each change and its audit event are one transaction.
#[derive(async_graphql::MergedObject, Default)]
pub struct Mutation(
    AssetMutation,
    super::demo_mutation::DemoMutation,
    super::boundary_mutation::BoundaryMutation,
    super::token::TokenMutation,
    super::loan::LoanMutation,
    super::credit::CreditMutation,
    super::rights::RightsMutation,
    super::import::ImportMutation,
);

/// Registering and changing assets and parties.
#[derive(Default)]
pub struct AssetMutation;

pub(crate) fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// The audit identity of an API caller.
pub(crate) fn audit_actor(actor: &Actor) -> audit::Actor {
    audit::Actor {
        label: actor.label.clone(),
        role: actor.role.as_str().to_owned(),
    }
}

fn request_id(ctx: &Context<'_>) -> Option<String> {
    ctx.data_opt::<RequestId>().map(|r| r.0.clone())
}

/// The audit identity of a change made through the API.
pub(crate) fn author(ctx: &Context<'_>, actor: &Actor) -> crate::services::places::Author {
    crate::services::places::Author {
        actor: audit_actor(actor),
        request_id: request_id(ctx),
    }
}

pub(crate) use crate::db::audit::snapshot as json;

/// The township and village of a location, or INVALID_GEOMETRY when it is outside the district.
pub(crate) fn locate(ctx: &Context<'_>, location: Location) -> Result<Placement> {
    let locator = ctx.data::<SharedLocator>()?;
    let locator = locator
        .read()
        .map_err(|_| AppError::internal("the locator lock is poisoned"))?;
    locator.locate(location).ok_or_else(|| {
        AppError::from(GeometryError::OutsideDistrict {
            lon: location.lon(),
            lat: location.lat(),
        })
        .into()
    })
}

pub(crate) fn footprint(
    value: Option<GeoJson>,
    crs: Crs,
) -> Result<Option<geojson::Geometry>, AppError> {
    value.map(|g| super::geo::input(g, crs)).transpose()
}

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

/// Writes `change` for `actor` in `txn`.
pub(crate) async fn record(
    ctx: &Context<'_>,
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    action: &str,
    entity: &str,
    id: i64,
    (before, after): (Option<serde_json::Value>, Option<serde_json::Value>),
) -> Result<()> {
    let change = audit::Change {
        action,
        entity,
        entity_id: Some(id),
        before,
        after,
        request_id: request_id(ctx),
    };
    audit::record(txn, &audit_actor(actor), change).await?;
    Ok(())
}

/// The record an update wrote, or why it wrote nothing: CONFLICT for a stale `version`.
pub(crate) fn updated<M>(what: &str, outcome: Versioned<M>, version: i32) -> Result<M> {
    Err(match outcome {
        Versioned::Updated(row) => return Ok(row),
        Versioned::Missing => AppError::not_found(format!("no {what} has this ID")),
        Versioned::Stale { current } => AppError::conflict(format!(
            "the {what} was changed by someone else: you sent version {version}, the current one is {current}; reload it and apply your change again"
        )),
    }
    .into())
}

/// A party by global ID that must exist; `field` names the input field in the error.
pub(crate) async fn party_id(ctx: &Context<'_>, id: &ID, field: &str) -> Result<i64> {
    let n = ids::decode_as(id, Kind::Party)?;
    if db::parties::by_ids(db_conn(ctx)?, &[n])
        .await?
        .contains_key(&n)
    {
        Ok(n)
    } else {
        Err(AppError::bad_input(format!("`{field}` is not a registered party")).into())
    }
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

/// Applies a nullable patch field: undefined keeps, null clears, a value replaces.
pub(crate) fn patch<T>(current: &mut Option<T>, update: MaybeUndefined<T>) {
    match update {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => *current = None,
        MaybeUndefined::Value(v) => *current = Some(v),
    }
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

/// Registers a party (登记权利人).
#[derive(InputObject)]
pub struct RegisterPartyInput {
    /// Kind (类型).
    pub kind: PartyKind,
    /// Name (名称/户主姓名).
    pub name: String,
    /// Household number (户号): a household needs this or an ID number.
    pub household_no: Option<String>,
    /// Unified social credit code (统一社会信用代码): organisations need it.
    pub credit_code: Option<String>,
    /// Resident ID number (身份证号), checked with its check digit.
    pub id_number: Option<String>,
    /// Phone (电话).
    pub phone: Option<String>,
    /// The village the party belongs to (所在村); a CADRE registers parties of its township.
    pub village_id: Option<ID>,
}

/// Changes a party (修改权利人). Fields left out keep their value; null clears.
#[derive(InputObject)]
pub struct UpdatePartyInput {
    /// The party (权利人).
    pub id: ID,
    /// The version you read (版本号).
    pub version: i32,
    /// Name (名称).
    pub name: Option<String>,
    /// Household number (户号).
    pub household_no: MaybeUndefined<String>,
    /// Credit code (统一社会信用代码).
    pub credit_code: MaybeUndefined<String>,
    /// ID number (身份证号).
    pub id_number: MaybeUndefined<String>,
    /// Phone (电话).
    pub phone: MaybeUndefined<String>,
    /// Village (所在村).
    pub village_id: MaybeUndefined<ID>,
}

/// The party registered or changed.
#[derive(SimpleObject)]
pub struct PartyPayload {
    /// The party as stored (权利人).
    pub party: Party,
}

/// The township a party belongs to, through its village; who may write it depends on that.
async fn party_scope<'a>(ctx: &Context<'a>, village_id: Option<i64>) -> Result<&'a Actor> {
    let who = caller(ctx);
    let township = match village_id {
        Some(v) => Some(
            db::places::villages_by_ids(db_conn(ctx)?, &[v])
                .await?
                .remove(&v)
                .ok_or_else(|| AppError::bad_input("villageId names no village"))?
                .township_id,
        ),
        None => None,
    };
    Ok(match township {
        Some(t) => who.may_write_in(t),
        None => who.may_administer("a party outside every village"),
    }
    .map_err(AppError::from)?)
}

fn village_id(id: Option<&ID>) -> Result<Option<i64>, AppError> {
    id.map(|id| ids::decode_as(id, Kind::Village)).transpose()
}

/// Registering and changing assets and parties (资产与权利人登记).
#[Object]
impl AssetMutation {
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
        let place = locate(ctx, attrs.location)?;
        let actor = caller(ctx)
            .may_write_in(place.township_id)
            .map_err(AppError::from)?;
        let owner = party_id(ctx, &input.owner_id, "ownerId").await?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
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
        let place = locate(ctx, attrs.location)?;
        // A cadre may neither change an asset of another township nor move one out of its own.
        caller(ctx)
            .may_write_in(before.township_id)
            .map_err(AppError::from)?;
        let actor = caller(ctx)
            .may_write_in(place.township_id)
            .map_err(AppError::from)?;
        let owner = match &input.owner_id {
            Some(id) => party_id(ctx, id, "ownerId").await?,
            None => before.owner_id,
        };
        let txn = db::begin_write(db_conn(ctx)?).await?;
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

    /// Registers a party (登记权利人): a household, collective, cooperative or enterprise.
    async fn register_party(
        &self,
        ctx: &Context<'_>,
        input: RegisterPartyInput,
    ) -> Result<PartyPayload> {
        caller(ctx)
            .actor("registering a party")
            .map_err(AppError::from)?;
        let party = PartyDraft {
            kind: Some(input.kind),
            name: input.name,
            household_no: input.household_no,
            credit_code: input.credit_code,
            id_number: input.id_number,
            phone: input.phone,
        }
        .validate()
        .map_err(AppError::from)?;
        let village = village_id(input.village_id.as_ref())?;
        let actor = party_scope(ctx, village).await?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let row = db::parties::insert(&txn, &party, village).await?;
        record(
            ctx,
            &txn,
            actor,
            "registerParty",
            "party",
            row.id,
            (None, json(&row)),
        )
        .await?;
        db::commit(txn).await?;
        Ok(PartyPayload { party: Party(row) })
    }

    /// Changes a party (修改权利人), if it is still at `version`.
    async fn update_party(
        &self,
        ctx: &Context<'_>,
        input: UpdatePartyInput,
    ) -> Result<PartyPayload> {
        caller(ctx)
            .actor("changing a party")
            .map_err(AppError::from)?;
        let n = ids::decode_as(&input.id, Kind::Party)?;
        let before: party::Model = db::parties::by_ids(db_conn(ctx)?, &[n])
            .await?
            .remove(&n)
            .ok_or_else(|| AppError::not_found("no party has this ID"))?;
        party_scope(ctx, before.village_id).await?;
        let mut draft = PartyDraft {
            kind: Some(stored(PartyKind::parse(&before.kind))?),
            name: input.name.unwrap_or_else(|| before.name.clone()),
            household_no: before.household_no.clone(),
            credit_code: before.credit_code.clone(),
            id_number: before.id_number.clone(),
            phone: before.phone.clone(),
        };
        patch(&mut draft.household_no, input.household_no);
        patch(&mut draft.credit_code, input.credit_code);
        patch(&mut draft.id_number, input.id_number);
        patch(&mut draft.phone, input.phone);
        let party = draft.validate().map_err(AppError::from)?;
        let mut village = before.village_id;
        match input.village_id {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => village = None,
            MaybeUndefined::Value(id) => village = village_id(Some(&id))?,
        }
        let actor = party_scope(ctx, village).await?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let after = updated(
            "party",
            db::parties::update(&txn, n, input.version, &party, village).await?,
            input.version,
        )?;
        record(
            ctx,
            &txn,
            actor,
            "updateParty",
            "party",
            n,
            (json(&before), json(&after)),
        )
        .await?;
        db::commit(txn).await?;
        Ok(PartyPayload {
            party: Party(after),
        })
    }
}
