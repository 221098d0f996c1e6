//! Idle assets ("两闲"), their owners (name and kind only) and their revitalization records.

use async_graphql::connection::Connection;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::access::{Details, caller};
use super::audit::{AuditEvent, audit_connection, history_of};
use super::geo;
use super::ids::{self, Kind};
use super::loaders::{AssetKey, DbLoader, PartyKey, RevitalizationsOf};
use super::paging::{PageRequest, encode_cursor};
use super::place::{Township, Village, township_of, village_of};
use super::scalars::{GeoJson, Long};
use super::{ListTotal, db_conn, stored};
use crate::db;
use crate::db::assets::{AssetFilter, AssetOrder, AssetOrderField, Keyset, SortValue};
use crate::db::entities::{idle_asset, party, revitalization, village};
use crate::domain::access::{Caller, Role};
use crate::domain::assets::{
    AssetKind, AssetStatus, Condition, IdleCause, OwnerWillingness, Structure,
};
use crate::domain::datum::Crs;
use crate::domain::geometry::{Area, Location, Measures, measures};
use crate::domain::parties::PartyKind;
use crate::domain::region::Region;
use crate::domain::revitalization::{RevenueSplit as DomainSplit, RevitalizationMode, WHOLE_BP};
use crate::error::AppError;

/// An idle farmhouse or homestead (闲置农房/闲置宅基地). Its township and village are derived
/// from its location, never entered.
///
/// The row; its distance from a circle's centre when listed by distance; its village and owner
/// when the listing read them in its own query.
pub struct IdleAsset(
    pub idle_asset::Model,
    pub Option<f64>,
    pub Option<Box<Relations>>,
);

/// An asset's village and owner, read with it.
pub struct Relations {
    village: Option<village::Model>,
    owner: party::Model,
}

impl From<idle_asset::Model> for IdleAsset {
    fn from(row: idle_asset::Model) -> Self {
        Self(row, None, None)
    }
}

impl IdleAsset {
    /// The asset as listed by distance from a point, `distance_m` away.
    pub fn at_distance(row: idle_asset::Model, distance_m: f64) -> Self {
        Self(row, Some(distance_m), None)
    }

    /// The asset with the village and owner joined to it.
    pub fn joined((row, village, owner): db::assets::Joined) -> Self {
        let relations = owner.map(|owner| Box::new(Relations { village, owner }));
        Self(row, None, relations)
    }

    /// Measures of the footprint, or of the bare location where none was surveyed.
    fn measures(&self) -> Result<Option<Measures>> {
        let location = Location::parse(self.0.lon, self.0.lat).map_err(AppError::internal)?;
        let footprint = self
            .0
            .footprint
            .as_deref()
            .map(db::geometry::read_area)
            .transpose()
            .map_err(AppError::internal)?;
        let areas: Vec<&Area> = footprint.iter().collect();
        Ok(measures(&areas, &[location]))
    }

    fn visible_location(&self, ctx: &Context<'_>) -> Result<Location> {
        let exact = Location::parse(self.0.lon, self.0.lat).map_err(AppError::internal)?;
        Ok(caller(ctx).visible_location(exact))
    }
}

/// An idle farmhouse or homestead (闲置农房/闲置宅基地). Its township and village are derived
/// from its location, never entered.
#[Object]
impl IdleAsset {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::IdleAsset.id(self.0.id)
    }

    /// Distance in metres (距离, 米) from the point a listing measured from: the centre of
    /// `within: {circle: …}` or of `nearestIdleAssets`; null in other listings. Geodesic on
    /// WGS84, to the location the caller sees.
    async fn distance_meters(&self) -> Option<f64> {
        self.1.map(|d| (d * 100.0).round() / 100.0)
    }

    /// Survey code (资产编号), unique in the district.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// Idle farmhouse or idle homestead (类型).
    async fn kind(&self) -> Result<AssetKind> {
        stored(AssetKind::parse(&self.0.kind))
    }

    /// Where it stands in its lifecycle (状态).
    async fn status(&self) -> Result<AssetStatus> {
        stored(AssetStatus::parse(&self.0.status))
    }

    /// Location (位置) as a GeoJSON Point. Without a token, the centre of the 0.005° grid cell
    /// (about 500 m) it lies in: enough for a map of what is on offer, not to find a house.
    async fn location(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<GeoJson> {
        Ok(geo::point_in(self.visible_location(ctx)?, crs))
    }

    /// Longitude in degrees (经度); snapped to the public grid without a token.
    async fn longitude(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<f64> {
        Ok(geo::lon_lat_in(self.visible_location(ctx)?, crs).0)
    }

    /// Latitude in degrees (纬度); snapped to the public grid without a token.
    async fn latitude(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<f64> {
        Ok(geo::lon_lat_in(self.visible_location(ctx)?, crs).1)
    }

    /// Footprint (占地范围) as a GeoJSON Polygon, where surveyed.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn footprint(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<Option<GeoJson>> {
        self.0
            .footprint
            .as_deref()
            .map(|t| geo::stored_in(t, crs))
            .transpose()
    }

    /// Geodesic area of the surveyed footprint on WGS84, m² (图斑面积); null without one.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn area_square_meters(&self) -> Result<Option<f64>> {
        Ok(self
            .measures()?
            .filter(|_| self.0.footprint.is_some())
            .map(|m| m.area_m2))
    }

    /// Geodesic perimeter of the surveyed footprint, m (图斑周长); null without one.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn perimeter_meters(&self) -> Result<Option<f64>> {
        Ok(self
            .measures()?
            .filter(|_| self.0.footprint.is_some())
            .map(|m| m.perimeter_m))
    }

    /// Centroid of the footprint (几何中心), or the location where none was surveyed.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn centroid(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<Option<GeoJson>> {
        Ok(self.measures()?.map(|m| geo::point_in(m.centroid, crs)))
    }

    /// Bounding box [west, south, east, north] of the footprint and location (外包矩形).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn bbox(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<Option<Vec<f64>>> {
        Ok(self.measures()?.map(|m| geo::bbox_in(m.bbox, crs)))
    }

    /// The property rights recorded on it (产权).
    #[graphql(guard = "Details(\"property rights\")")]
    async fn property_rights(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::credit::PropertyRight>> {
        Ok(
            Box::pin(db::rights::rights_on_asset(db_conn(ctx)?, self.0.id))
                .await?
                .into_iter()
                .map(super::credit::PropertyRight)
                .collect(),
        )
    }

    /// Land area in m² (占地面积): geodesic, from the footprint when there is one.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn land_area_square_meters(&self) -> Option<f64> {
        self.0.land_area_m2
    }

    /// Floor area in m² (建筑面积).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn floor_area_square_meters(&self) -> Option<f64> {
        self.0.floor_area_m2
    }

    /// Building structure (房屋结构).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn structure(&self) -> Result<Option<Structure>> {
        self.0
            .structure
            .as_deref()
            .map(|s| stored(Structure::parse(s)))
            .transpose()
    }

    /// Year built (建成年份).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn year_built(&self) -> Option<i32> {
        self.0.year_built
    }

    /// Physical condition (房屋状况).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn condition(&self) -> Result<Option<Condition>> {
        self.0
            .condition
            .as_deref()
            .map(|s| stored(Condition::parse(s)))
            .transpose()
    }

    /// Idle since (闲置起始日期).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn idle_since(&self) -> Option<NaiveDate> {
        self.0.idle_since
    }

    /// Why it stands idle (闲置原因).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn idle_cause(&self) -> Result<Option<IdleCause>> {
        self.0
            .idle_cause
            .as_deref()
            .map(|s| stored(IdleCause::parse(s)))
            .transpose()
    }

    /// What the owner is willing to do (盘活意愿).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn owner_willingness(&self) -> Result<Option<OwnerWillingness>> {
        self.0
            .owner_willingness
            .as_deref()
            .map(|s| stored(OwnerWillingness::parse(s)))
            .transpose()
    }

    /// Address (地址), e.g. 东川镇白家村3组12号.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn address(&self) -> Option<&str> {
        self.0.address.as_deref()
    }

    /// The village it lies in (所在村), from its location; null if no village covers it.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn village(&self, ctx: &Context<'_>) -> Result<Option<Village>> {
        match &self.2 {
            Some(joined) => Ok(joined.village.clone().map(Village)),
            None => village_of(ctx, self.0.village_id).await,
        }
    }

    /// The township it lies in (所在乡镇), from its location.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn township(&self, ctx: &Context<'_>) -> Result<Township> {
        township_of(ctx, self.0.township_id).await
    }

    /// The owner (权利人): name and kind only.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn owner(&self, ctx: &Context<'_>) -> Result<Party> {
        if let Some(joined) = &self.2 {
            return Ok(Party(joined.owner.clone()));
        }
        let p = ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(PartyKey(self.0.owner_id))
            .await?;
        p.map(Party)
            .ok_or_else(|| AppError::internal(format!("asset {} has no owner", self.0.id)).into())
    }

    /// How it was put to use (盘活记录), oldest first.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn revitalizations(&self, ctx: &Context<'_>) -> Result<Vec<Revitalization>> {
        let rows = ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(RevitalizationsOf(self.0.id))
            .await?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(Revitalization)
            .collect())
    }

    /// Version for optimistic locking (版本号): updates must send the version they read.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Every change to this asset, oldest first (变更记录).
    #[graphql(
        guard = "Details(\"an asset's history\")",
        complexity = "super::paging::cost(first, last, child_complexity)"
    )]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, AuditEvent, ListTotal>> {
        Box::pin(audit_connection(
            ctx,
            history_of("idle_asset", self.0.id),
            first,
            after,
            last,
            before,
        ))
        .await
    }

    /// When it was registered (登记时间).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed (更新时间).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A party (权利人): a household, collective, cooperative or enterprise. Its personal data (ID
/// number, phone) is shown only to those the access policy allows, and refused with FORBIDDEN to
/// others.
pub struct Party(pub party::Model);

impl Party {
    fn identity(&self, ctx: &Context<'_>) -> Result<()> {
        let household = self.0.kind == PartyKind::Household.as_str();
        caller(ctx)
            .may_see_party_identity(household)
            .map_err(|d| AppError::from(d).into())
    }

    /// The party's township is its village's.
    async fn personal(&self, ctx: &Context<'_>) -> Result<()> {
        let who = caller(ctx);
        who.may_read_details("personal data (身份证号, 电话)")
            .map_err(AppError::from)?;
        if let Caller::Signed(actor) = who
            && actor.role == Role::Bank
        {
            let bank = actor.bank_code.as_deref().unwrap_or_default();
            let own = Box::pin(db::loans::is_borrower_of(db_conn(ctx)?, self.0.id, bank)).await?;
            return who
                .may_see_borrower_data(own)
                .map_err(|d| AppError::from(d).into());
        }
        let township = match Box::pin(village_of(ctx, self.0.village_id)).await? {
            Some(v) => Some(v.0.township_id),
            None => None,
        };
        who.may_see_personal_data(township)
            .map_err(|d| AppError::from(d).into())
    }
}

/// A party (权利人): a household, collective, cooperative or enterprise. Only its name and
/// kind are shown; personal data (ID number, phone) is never part of this type.
#[Object]
impl Party {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::Party.id(self.0.id)
    }

    /// Name (名称/户主姓名). A household's name needs a token; an organisation's is public.
    async fn name(&self, ctx: &Context<'_>) -> Result<&str> {
        self.identity(ctx)?;
        Ok(&self.0.name)
    }

    /// Kind of party (权利人类型).
    async fn kind(&self, ctx: &Context<'_>) -> Result<PartyKind> {
        self.identity(ctx)?;
        stored(PartyKind::parse(&self.0.kind))
    }

    /// Household number (户号).
    #[graphql(guard = "Details(\"a party's details\")")]
    async fn household_no(&self) -> Option<&str> {
        self.0.household_no.as_deref()
    }

    /// Unified social credit code of an organisation (统一社会信用代码).
    #[graphql(guard = "Details(\"a party's details\")")]
    async fn credit_code(&self) -> Option<&str> {
        self.0.credit_code.as_deref()
    }

    /// Resident ID number (身份证号): personal data, for the district office and cadres of the
    /// party's township only.
    async fn id_number(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        self.personal(ctx).await?;
        Ok(self.0.id_number.as_deref())
    }

    /// Version for optimistic locking (版本号): updates must send the version they read.
    #[graphql(guard = "Details(\"a party's details\")")]
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Every change to this party, oldest first (变更记录). Changes carry personal data, so
    /// the history is shown to those who may see it.
    #[graphql(complexity = "super::paging::cost(first, last, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, AuditEvent, ListTotal>> {
        self.personal(ctx).await?;
        Box::pin(audit_connection(
            ctx,
            history_of("party", self.0.id),
            first,
            after,
            last,
            before,
        ))
        .await
    }

    /// Phone number (联系电话): personal data, like the ID number.
    async fn phone(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        self.personal(ctx).await?;
        Ok(self.0.phone.as_deref())
    }
}

/// How revenue is shared (收益分配): fractions that sum to 1, e.g. 0.6 / 0.2 / 0.2 (6+2+2).
#[derive(SimpleObject)]
pub struct RevenueSplit {
    /// Village collective's share (村集体).
    pub collective: f64,
    /// Operator's share (经营主体).
    pub operator: f64,
    /// Farmer's share (农户).
    pub farmer: f64,
}

impl From<DomainSplit> for RevenueSplit {
    fn from(s: DomainSplit) -> Self {
        let f = |bp: i32| f64::from(bp) / f64::from(WHOLE_BP);
        Self {
            collective: f(s.collective_bp),
            operator: f(s.operator_bp),
            farmer: f(s.farmer_bp),
        }
    }
}

/// A revitalization record (盘活利用记录): how an idle asset was put back to use.
pub struct Revitalization(pub revitalization::Model);

/// A revitalization record (盘活利用记录): how an idle asset was put back to use.
#[Object]
impl Revitalization {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::Revitalization.id(self.0.id)
    }

    /// Contract number (合同编号).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn contract_no(&self) -> Option<&str> {
        self.0.contract_no.as_deref()
    }

    /// How it was put to use (盘活方式).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn mode(&self) -> Result<RevitalizationMode> {
        stored(RevitalizationMode::parse(&self.0.mode))
    }

    /// What it is used for now (用途), e.g. 民宿, 研学基地.
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn end_use(&self) -> Option<&str> {
        self.0.end_use.as_deref()
    }

    /// The asset (资产).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn asset(&self, ctx: &Context<'_>) -> Result<IdleAsset> {
        let a = ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(AssetKey(self.0.asset_id))
            .await?;
        a.map(IdleAsset::from)
            .ok_or_else(|| AppError::internal(format!("record {} has no asset", self.0.id)).into())
    }

    /// The other party: tenant, investor, cooperative or collective (承租/合作方).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn counterparty(&self, ctx: &Context<'_>) -> Result<Option<Party>> {
        let Some(id) = self.0.counterparty_id else {
            return Ok(None);
        };
        Ok(ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(PartyKey(id))
            .await?
            .map(Party))
    }

    /// Start date (起始日期).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn start_date(&self) -> NaiveDate {
        self.0.start_date
    }

    /// Term in months (期限/月).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn term_months(&self) -> Option<i32> {
        self.0.term_months
    }

    /// Annual rent in fen (年租金/分).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn annual_rent_fen(&self) -> Option<Long> {
        self.0.annual_rent_fen.map(Long)
    }

    /// Investment in fen (投资额/分).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn investment_fen(&self) -> Option<Long> {
        self.0.investment_fen.map(Long)
    }

    /// Compensation paid for a paid relinquishment, in fen (退出补偿/分).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn compensation_fen(&self) -> Option<Long> {
        self.0.compensation_fen.map(Long)
    }

    /// Jobs created (带动就业/人).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn jobs_created(&self) -> Option<i32> {
        self.0.jobs_created
    }

    /// How revenue is shared (收益分配), where agreed.
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn revenue_split(&self) -> Option<RevenueSplit> {
        let r = &self.0;
        DomainSplit::from_bp(
            r.collective_share_bp,
            r.operator_share_bp,
            r.farmer_share_bp,
        )
        .map(Into::into)
    }
}

/// Narrows a listing of idle assets (筛选条件). Lists mean "any of these"; absent means any.
#[derive(InputObject, Default)]
pub struct IdleAssetFilter {
    /// In this township (乡镇).
    pub township_id: Option<ID>,
    /// In this village (村).
    pub village_id: Option<ID>,
    /// Of these kinds (类型).
    pub kind: Option<Vec<AssetKind>>,
    /// With these statuses (状态).
    pub status: Option<Vec<AssetStatus>>,
    /// Idle since on or after (闲置起始不早于).
    pub idle_since_from: Option<NaiveDate>,
    /// Idle since on or before (闲置起始不晚于).
    pub idle_since_to: Option<NaiveDate>,
    /// Floor area at least, m² (建筑面积下限).
    pub floor_area_min: Option<f64>,
    /// Floor area at most, m² (建筑面积上限).
    pub floor_area_max: Option<f64>,
    /// With these structures (结构).
    pub structure: Option<Vec<Structure>>,
    /// In these conditions (状况).
    pub condition: Option<Vec<Condition>>,
}

impl IdleAssetFilter {
    pub fn into_db(self) -> Result<AssetFilter, AppError> {
        for (name, v) in [
            ("floorAreaMin", self.floor_area_min),
            ("floorAreaMax", self.floor_area_max),
        ] {
            if v.is_some_and(|v| !v.is_finite()) {
                return Err(AppError::bad_input(format!(
                    "`{name}` must be a finite number"
                )));
            }
        }
        Ok(AssetFilter {
            township_id: self
                .township_id
                .as_ref()
                .map(|id| ids::decode_as(id, Kind::Township))
                .transpose()?,
            village_id: self
                .village_id
                .as_ref()
                .map(|id| ids::decode_as(id, Kind::Village))
                .transpose()?,
            kinds: self.kind.unwrap_or_default(),
            statuses: self.status.unwrap_or_default(),
            idle_since_from: self.idle_since_from,
            idle_since_to: self.idle_since_to,
            floor_area_min: self.floor_area_min,
            floor_area_max: self.floor_area_max,
            structures: self.structure.unwrap_or_default(),
            conditions: self.condition.unwrap_or_default(),
            bbox: None,
        })
    }
}

/// What to order idle assets by (排序字段). Ties are broken by id; missing values come last
/// in either direction.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdleAssetOrderField {
    /// Registration order (登记顺序).
    #[default]
    Id,
    /// Idle since (闲置起始日期).
    IdleSince,
    /// Floor area (建筑面积).
    FloorArea,
    /// Distance from the centre of `within: {circle: …}` (距离); only with a circle.
    Distance,
}

/// Sort direction (排序方向).
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// Ascending (升序).
    #[default]
    Asc,
    /// Descending (降序).
    Desc,
}

/// The order of an idle-asset listing (排序).
#[derive(InputObject, Default, Clone, Copy)]
pub struct IdleAssetOrder {
    /// Field (字段).
    #[graphql(default)]
    pub field: IdleAssetOrderField,
    /// Direction (方向).
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl IdleAssetOrder {
    fn to_db(self) -> AssetOrder {
        let field = match self.field {
            IdleAssetOrderField::Id => AssetOrderField::Id,
            IdleAssetOrderField::IdleSince => AssetOrderField::IdleSince,
            IdleAssetOrderField::FloorArea => AssetOrderField::FloorArea,
            // Distance is ordered in Rust; the SQL walk of a circle stays in id order.
            IdleAssetOrderField::Distance => AssetOrderField::Id,
        };
        AssetOrder {
            field,
            descending: self.direction == OrderDirection::Desc,
        }
    }

    /// The tag that binds a cursor to this order.
    fn tag(self) -> &'static str {
        match (self.field, self.direction) {
            (IdleAssetOrderField::Id, OrderDirection::Asc) => "ID",
            (IdleAssetOrderField::Id, OrderDirection::Desc) => "ID_DESC",
            (IdleAssetOrderField::IdleSince, OrderDirection::Asc) => "IDLE_SINCE",
            (IdleAssetOrderField::IdleSince, OrderDirection::Desc) => "IDLE_SINCE_DESC",
            (IdleAssetOrderField::FloorArea, OrderDirection::Asc) => "FLOOR_AREA",
            (IdleAssetOrderField::FloorArea, OrderDirection::Desc) => "FLOOR_AREA_DESC",
            (IdleAssetOrderField::Distance, OrderDirection::Asc) => "DISTANCE",
            (IdleAssetOrderField::Distance, OrderDirection::Desc) => "DISTANCE_DESC",
        }
    }
}

pub(crate) fn cursor_value(value: SortValue) -> String {
    match value {
        SortValue::Null => String::new(),
        SortValue::Date(d) => d.to_string(),
        SortValue::Number(n) => n.to_string(),
    }
}

fn keyset(order: AssetOrder, value: &str, id: i64) -> Result<Keyset, AppError> {
    let bad = || AppError::bad_input("the cursor does not fit this listing's order");
    let value = match order.field {
        _ if value.is_empty() => SortValue::Null,
        AssetOrderField::Id => return Err(bad()),
        AssetOrderField::IdleSince => SortValue::Date(value.parse().map_err(|_| bad())?),
        AssetOrderField::FloorArea => SortValue::Number(
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(bad)?,
        ),
    };
    Ok(Keyset { value, id })
}

/// A page of idle assets under a filter and order, in a region when one is given.
#[allow(clippy::too_many_arguments)]
pub async fn asset_connection(
    ctx: &Context<'_>,
    filter: AssetFilter,
    within: Option<Region>,
    order: IdleAssetOrder,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<Connection<String, IdleAsset, ListTotal>> {
    let narrows_by_details = filter.uses_details()
        || !matches!(
            order.field,
            IdleAssetOrderField::Id | IdleAssetOrderField::Distance
        );
    caller(ctx)
        .may_narrow_assets(narrows_by_details)
        .map_err(AppError::from)?;
    let tag = order.tag();
    let order_db = order.to_db();
    let page = PageRequest::new(tag, first, after, last, before)?;
    let by_distance = match (order.field, &within) {
        (IdleAssetOrderField::Distance, Some(Region::Circle(_))) => {
            Some(order.direction == OrderDirection::Desc)
        }
        (IdleAssetOrderField::Distance, _) => {
            return Err(AppError::bad_input(
                "ordering by DISTANCE needs `within: {circle: …}`: distance from its centre",
            )
            .into());
        }
        _ => None,
    };
    let key = match by_distance {
        Some(_) => None,
        None => page
            .cursor
            .as_ref()
            .map(|(v, id)| keyset(order_db, v, *id))
            .transpose()?,
    };
    if let Some(region) = within {
        return super::spatial::region_connection(
            ctx,
            filter,
            region,
            order_db,
            by_distance,
            tag,
            page,
            key,
        )
        .await;
    }
    let conn = db_conn(ctx)?;
    let (backward, limit) = (page.backward, page.fetch());
    let shown = super::projection::asset_listing(ctx.field());
    let nodes: Vec<IdleAsset> = if shown.joined {
        let columns = shown.columns;
        db::assets::page_joined(conn, &filter, order_db, key, backward, limit, columns)
            .await?
            .into_iter()
            .map(IdleAsset::joined)
            .collect()
    } else {
        let columns = shown.columns.0;
        db::assets::page_of(conn, &filter, order_db, key, backward, limit, columns)
            .await?
            .into_iter()
            .map(IdleAsset::from)
            .collect()
    };
    Ok(page.connection(
        nodes,
        |a| {
            let k = order_db.keyset(&a.0);
            encode_cursor(tag, &cursor_value(k.value), k.id)
        },
        |a| a,
        ListTotal::Assets(Box::new(filter)),
    ))
}
