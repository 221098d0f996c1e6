//! The root query.

use async_graphql::connection::Connection;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Interface, Object, Result};

use super::access::caller;
use super::asset::{
    IdleAsset, IdleAssetFilter, IdleAssetOrder, Party, Revitalization, asset_connection,
};
use super::audit::{AuditEvent, AuditEventFilter, audit_connection};
use super::demo_site::DemoSite;
use super::ids::{self, Kind};
use super::loaders::{
    AssetKey, DbLoader, DemoSiteKey, PartyKey, RevitalizationKey, TownshipKey, VillageKey,
};
use super::mutation::SharedLocator;
use super::paging::{MAX_PAGE, PageRequest, encode_cursor};
use super::place::{Township, Village, township_connection, village_connection};
use super::scalars::GeoJson;
use super::spatial::WithinInput;
use super::{ListTotal, db_conn};
use crate::db;
use crate::domain::datum::Crs;
use crate::domain::geometry::Location;
use crate::domain::locator::Placement;
use crate::error::AppError;

/// Anything with a global ID (Relay's Node).
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global ID."))]
pub enum Node {
    Township(Township),
    Village(Village),
    Party(Party),
    IdleAsset(IdleAsset),
    Revitalization(Revitalization),
    DemoSite(DemoSite),
    PropertyRight(super::credit::PropertyRight),
    LoanProduct(super::credit::LoanProduct),
    LoanApplication(super::loan::LoanApplication),
}

/// The root query: the registry itself, and the credit built on its property rights.
#[derive(async_graphql::MergedObject, Default)]
pub struct Query(
    RegistryQuery,
    super::credit::CreditQuery,
    super::credit::CampaignQuery,
    super::loan::LoanQuery,
);

#[derive(Default)]
pub struct RegistryQuery;

/// Where a point lies, by the shared boundary locator (the one mutations place records with).
fn place_of(ctx: &Context<'_>, lon: f64, lat: f64, crs: Crs) -> Result<Option<Placement>> {
    let (lon, lat) = crs.to_wgs84(lon, lat);
    let location = Location::parse(lon, lat).map_err(AppError::from)?;
    let locator = ctx.data::<SharedLocator>()?;
    let locator = locator
        .read()
        .map_err(|_| AppError::internal("the locator lock is poisoned"))?;
    Ok(locator.locate(location))
}

/// Exactly one of `id` and `code`.
fn id_or_code<'a>(id: Option<&'a ID>, code: Option<&'a str>) -> Result<Option<&'a ID>, AppError> {
    match (id, code) {
        (Some(_), Some(_)) | (None, None) => {
            Err(AppError::bad_input("give exactly one of `id` and `code`"))
        }
        (id, _) => Ok(id),
    }
}

async fn load_node(ctx: &Context<'_>, kind: Kind, id: i64) -> Result<Option<Node>> {
    let loader = ctx.data::<DataLoader<DbLoader>>()?;
    Ok(match kind {
        Kind::Township => loader
            .load_one(TownshipKey(id))
            .await?
            .map(|m| Node::Township(Township(m))),
        Kind::Village => loader
            .load_one(VillageKey(id))
            .await?
            .map(|m| Node::Village(Village(m))),
        Kind::Party => loader
            .load_one(PartyKey(id))
            .await?
            .map(|m| Node::Party(Party(m))),
        Kind::IdleAsset => loader
            .load_one(AssetKey(id))
            .await?
            .map(|m| Node::IdleAsset(IdleAsset::from(m))),
        Kind::Revitalization => loader
            .load_one(RevitalizationKey(id))
            .await?
            .map(|m| Node::Revitalization(Revitalization(m))),
        Kind::DemoSite => loader
            .load_one(DemoSiteKey(id))
            .await?
            .map(|m| Node::DemoSite(DemoSite(m))),
        // Rights and products need a token, like their own queries.
        Kind::PropertyRight => {
            caller(ctx)
                .may_read_details("property rights")
                .map_err(AppError::from)?;
            db::rights::right(db_conn(ctx)?, id)
                .await?
                .map(|m| Node::PropertyRight(super::credit::PropertyRight(m)))
        }
        Kind::LoanProduct => super::credit::visible_product(ctx, id)
            .await?
            .map(|p| Node::LoanProduct(super::credit::LoanProduct(p))),
        Kind::LoanApplication => super::loan::node(ctx, id).await?.map(Node::LoanApplication),
    })
}

/// The registry of 青岚区 (乡村振兴资产登记): townships, villages, idle assets ("两闲") and
/// demonstration sites. Every list is a Relay connection of at most 100 items a page.
#[Object]
impl RegistryQuery {
    /// Any record by its global ID; null if there is none.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let (kind, n) = ids::decode(&id)?;
        load_node(ctx, kind, n).await
    }

    /// Records by global ID, in the order asked (null where there is none); at most 100.
    #[graphql(complexity = "ids.len().max(1).saturating_mul(child_complexity)")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>> {
        if ids.len() > MAX_PAGE as usize {
            return Err(AppError::limit_exceeded(format!(
                "at most {MAX_PAGE} ids at once, got {}",
                ids.len()
            ))
            .into());
        }
        let decoded = ids.iter().map(ids::decode).collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(decoded.len());
        // The loader batches these: one query per record type, however many ids.
        let loads = decoded.into_iter().map(|(kind, n)| load_node(ctx, kind, n));
        for node in futures_util::future::join_all(loads).await {
            out.push(node?);
        }
        Ok(out)
    }

    /// Townships of the district (乡镇/街道), in id order.
    #[graphql(complexity = "super::paging::cost(first, last, child_complexity)")]
    async fn townships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Township, ListTotal>> {
        township_connection(ctx, first, after, last, before).await
    }

    /// One township by global ID or by 12-digit division code (乡镇).
    async fn township(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        code: Option<String>,
    ) -> Result<Option<Township>> {
        match id_or_code(id.as_ref(), code.as_deref())? {
            Some(id) => {
                let n = ids::decode_as(id, Kind::Township)?;
                Ok(ctx
                    .data::<DataLoader<DbLoader>>()?
                    .load_one(TownshipKey(n))
                    .await?
                    .map(Township))
            }
            None => Ok(db::places::township_by_code(
                db_conn(ctx)?,
                code.as_deref().unwrap_or_default(),
            )
            .await?
            .map(Township)),
        }
    }

    /// Villages (行政村/社区), optionally of one township, in id order.
    #[graphql(complexity = "super::paging::cost(first, last, child_complexity)")]
    async fn villages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only villages of this township (乡镇).")] township_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Village, ListTotal>> {
        let township = super::place::township_id(township_id.as_ref())?;
        village_connection(ctx, township, first, after, last, before).await
    }

    /// One village by global ID or by 12-digit division code (村).
    async fn village(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        code: Option<String>,
    ) -> Result<Option<Village>> {
        match id_or_code(id.as_ref(), code.as_deref())? {
            Some(id) => {
                let n = ids::decode_as(id, Kind::Village)?;
                Ok(ctx
                    .data::<DataLoader<DbLoader>>()?
                    .load_one(VillageKey(n))
                    .await?
                    .map(Village))
            }
            None => Ok(db::places::village_by_code(
                db_conn(ctx)?,
                code.as_deref().unwrap_or_default(),
            )
            .await?
            .map(Village)),
        }
    }

    /// Idle assets ("两闲": 闲置农房/闲置宅基地), filtered and ordered.
    #[graphql(complexity = "super::paging::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn idle_assets(
        &self,
        ctx: &Context<'_>,
        filter: Option<IdleAssetFilter>,
        #[graphql(desc = "Only assets located in this circle, polygon or box (空间范围).")]
        within: Option<WithinInput>,
        order_by: Option<IdleAssetOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, IdleAsset, ListTotal>> {
        let filter = filter.unwrap_or_default().into_db()?;
        let within = within.map(WithinInput::into_region).transpose()?;
        asset_connection(
            ctx,
            filter,
            within,
            order_by.unwrap_or_default(),
            first,
            after,
            last,
            before,
        )
        .await
    }

    /// The idle assets nearest a point (最近的闲置资产), nearest first (ties in registration
    /// order), each with its `distanceMeters`; looks up to 200 km away. Without a token,
    /// distances are to the public (snapped) locations.
    #[graphql(complexity = "k.clamp(1, 100) as usize * child_complexity + 1")]
    async fn nearest_idle_assets(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Longitude (经度).")] longitude: f64,
        #[graphql(desc = "Latitude (纬度).")] latitude: f64,
        #[graphql(default, desc = "Datum of the point (坐标系).")] crs: Crs,
        #[graphql(default = 10, desc = "How many (数量), 1 to 100.")] k: i32,
        filter: Option<IdleAssetFilter>,
    ) -> Result<Vec<IdleAsset>> {
        let filter = filter.unwrap_or_default().into_db()?;
        caller(ctx)
            .may_narrow_assets(filter.uses_details())
            .map_err(AppError::from)?;
        let (lon, lat) = crs.to_wgs84(longitude, latitude);
        let centre = Location::parse(lon, lat).map_err(AppError::from)?;
        super::spatial::nearest(ctx, centre, k, filter).await
    }

    /// Idle assets as one GeoJSON FeatureCollection (GeoJSON 要素集), for a map layer or a GIS
    /// desk: points with kind and status (and, with a token, the survey attributes), nearest
    /// first inside a circle, else in registration order. `numberMatched` tells how many the
    /// selection held; at most `limit` (≤ 5000) are returned.
    #[graphql(complexity = "limit.clamp(1, 5000) as usize + 1")]
    async fn idle_assets_geo_json(
        &self,
        ctx: &Context<'_>,
        filter: Option<IdleAssetFilter>,
        #[graphql(desc = "Only assets located in this circle, polygon or box (空间范围).")]
        within: Option<WithinInput>,
        #[graphql(
            default = 500,
            desc = "How many features at most (数量上限), 1 to 5000."
        )]
        limit: i32,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<GeoJson> {
        let filter = filter.unwrap_or_default().into_db()?;
        caller(ctx)
            .may_narrow_assets(filter.uses_details())
            .map_err(AppError::from)?;
        let within = within.map(WithinInput::into_region).transpose()?;
        super::spatial::geojson_collection(ctx, filter, within, limit, crs).await
    }

    /// One idle asset by global ID or by survey code (资产编号).
    async fn idle_asset(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        code: Option<String>,
    ) -> Result<Option<IdleAsset>> {
        match id_or_code(id.as_ref(), code.as_deref())? {
            Some(id) => {
                let n = ids::decode_as(id, Kind::IdleAsset)?;
                Ok(ctx
                    .data::<DataLoader<DbLoader>>()?
                    .load_one(AssetKey(n))
                    .await?
                    .map(IdleAsset::from))
            }
            None => Ok(
                db::assets::by_code(db_conn(ctx)?, code.as_deref().unwrap_or_default())
                    .await?
                    .map(IdleAsset::from),
            ),
        }
    }

    /// Demonstration sites (示范点/样板), optionally of one township, in id order.
    #[graphql(complexity = "super::paging::cost(first, last, child_complexity)")]
    async fn demo_sites(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only sites in this township (乡镇).")] township_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, DemoSite, ListTotal>> {
        let township = super::place::township_id(township_id.as_ref())?;
        let page = PageRequest::new("ID", first, after, last, before)?;
        let rows = db::demo_sites::page(
            db_conn(ctx)?,
            township,
            page.after_id(),
            page.backward,
            page.fetch(),
        )
        .await?;
        Ok(page.connection(
            rows,
            |d| encode_cursor("ID", "", d.id),
            DemoSite,
            ListTotal::DemoSites(township),
        ))
    }

    /// The audit trail of the whole registry, oldest first (审计记录): for the district office.
    #[graphql(complexity = "super::paging::cost(first, last, child_complexity)")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditEventFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, AuditEvent, ListTotal>> {
        caller(ctx)
            .may_administer("the audit trail")
            .map_err(AppError::from)?;
        audit_connection(
            ctx,
            filter.unwrap_or_default().into(),
            first,
            after,
            last,
            before,
        )
        .await
    }

    /// Every access token, oldest first, never their secrets (访问令牌): for the district office.
    async fn access_tokens(&self, ctx: &Context<'_>) -> Result<Vec<super::token::AccessToken>> {
        super::token::tokens(ctx).await
    }

    /// The township a point lies in (坐标所在乡镇); null outside the district.
    async fn township_at(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Longitude (经度).")] longitude: f64,
        #[graphql(desc = "Latitude (纬度).")] latitude: f64,
        #[graphql(default, desc = "Datum of the point (坐标系).")] crs: Crs,
    ) -> Result<Option<Township>> {
        let Some(place) = place_of(ctx, longitude, latitude, crs)? else {
            return Ok(None);
        };
        Ok(ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(TownshipKey(place.township_id))
            .await?
            .map(Township))
    }

    /// The village a point lies in (坐标所在村); null outside every village.
    async fn village_at(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Longitude (经度).")] longitude: f64,
        #[graphql(desc = "Latitude (纬度).")] latitude: f64,
        #[graphql(default, desc = "Datum of the point (坐标系).")] crs: Crs,
    ) -> Result<Option<Village>> {
        let Some(village) = place_of(ctx, longitude, latitude, crs)?.and_then(|p| p.village_id)
        else {
            return Ok(None);
        };
        Ok(ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(VillageKey(village))
            .await?
            .map(Village))
    }

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
