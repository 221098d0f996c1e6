//! Data out: the registry's records as CSV (Excel opens it: UTF-8 with a BOM, or GB18030 on
//! request) or GeoJSON, a page of rows at a time so that a million assets never sit in memory.
//! Records are named by their natural keys (codes, household numbers), as a cadre knows them,
//! and geometry goes into CSV as WKT. Personal fields follow the access rules.

use std::collections::HashMap;

use futures_util::Stream;
use futures_util::future::Either;
use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Map, Value, json};
use wkt::ToWkt;

use crate::db::entities::{
    collective_organization, idle_asset, party, revitalization, township, village,
};
use crate::db::{self, StoreError, StoreResult};
use crate::domain::access::Caller;
use crate::domain::datum::Crs;
use crate::domain::geometry::{Area, rounded};
use crate::domain::shares::Shares;
use crate::maps::feature_stream::feature_collection;

/// Rows read per page.
const CHUNK: u64 = 5_000;

/// What to export (导出内容).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Townships,
    Villages,
    Parties,
    Assets,
    Revitalizations,
    /// Collective economic organisations (农村集体经济组织), one row an organisation.
    Organizations,
    /// Share classes (股种) of the organisations, one row a class.
    ShareClasses,
    /// Members of collective economic organisations (集体经济组织成员名册).
    Members,
    /// Share holdings open today (股权), one row a holding.
    Holdings,
    /// Targets (目标任务), one row a goal.
    Targets,
}

impl Kind {
    pub fn parse(name: &str) -> Option<Kind> {
        match name {
            "townships" => Some(Kind::Townships),
            "villages" => Some(Kind::Villages),
            "parties" => Some(Kind::Parties),
            "assets" => Some(Kind::Assets),
            "revitalizations" => Some(Kind::Revitalizations),
            "organizations" => Some(Kind::Organizations),
            "share-classes" => Some(Kind::ShareClasses),
            "members" => Some(Kind::Members),
            "holdings" => Some(Kind::Holdings),
            "targets" => Some(Kind::Targets),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Townships => "townships",
            Kind::Villages => "villages",
            Kind::Parties => "parties",
            Kind::Assets => "assets",
            Kind::Revitalizations => "revitalizations",
            Kind::Organizations => "organizations",
            Kind::ShareClasses => "share-classes",
            Kind::Members => "members",
            Kind::Holdings => "holdings",
            Kind::Targets => "targets",
        }
    }

    /// The name of the kind's records in the event log (`db::events`, the change feed).
    pub fn logged(self) -> &'static str {
        match self {
            Kind::Townships => "township",
            Kind::Villages => "village",
            Kind::Parties => "party",
            Kind::Assets => "asset",
            Kind::Revitalizations => "revitalization",
            Kind::Organizations => "organization",
            Kind::ShareClasses => "share_class",
            Kind::Members => "member",
            Kind::Holdings => "holding",
            Kind::Targets => "target",
        }
    }

    /// The tables an export of this kind reads, whose versions tag it over HTTP
    /// (`db::table_versions`): a write to any of them may change the file. Every kind names
    /// townships (the `township` parameter), and places and parties name its records.
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Kind::Townships => &["township"],
            Kind::Villages => &["township", "village"],
            Kind::Parties => &["party", "township", "village"],
            Kind::Assets => &["idle_asset", "party", "township", "village"],
            Kind::Revitalizations => &[
                "idle_asset",
                "party",
                "revitalization",
                "township",
                "village",
            ],
            Kind::Organizations => &["collective_organization", "party", "township", "village"],
            Kind::ShareClasses => &[
                "collective_organization",
                "party",
                "share_class",
                "township",
                "village",
            ],
            Kind::Members => &[
                "collective_member",
                "collective_organization",
                "party",
                "township",
                "village",
            ],
            Kind::Holdings => &[
                "collective_organization",
                "party",
                "share_change",
                "share_class",
                "share_holding",
                "township",
                "village",
            ],
            Kind::Targets => &["target", "township", "village"],
        }
    }

    /// The columns of a CSV file of this kind, in order; import reads the same headers.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::Townships => &["code", "name", "boundary"],
            Kind::Villages => &[
                "code",
                "name",
                "townshipCode",
                "centerLon",
                "centerLat",
                "boundary",
            ],
            Kind::Parties => &[
                "key",
                "kind",
                "name",
                "householdNo",
                "creditCode",
                "idNumber",
                "phone",
                "villageCode",
            ],
            Kind::Assets => &[
                "code",
                "kind",
                "status",
                "townshipCode",
                "villageCode",
                "ownerKey",
                "lon",
                "lat",
                "footprint",
                "landAreaM2",
                "floorAreaM2",
                "structure",
                "yearBuilt",
                "condition",
                "idleSince",
                "idleCause",
                "ownerWillingness",
                "address",
            ],
            Kind::Revitalizations => &[
                "contractNo",
                "assetCode",
                "mode",
                "endUse",
                "counterpartyKey",
                "startDate",
                "termMonths",
                "annualRentFen",
                "investmentFen",
                "compensationFen",
                "jobsCreated",
                "collectiveShare",
                "operatorShare",
                "farmerShare",
            ],
            Kind::Organizations => &[
                "creditCode",
                "name",
                "kind",
                "villageCode",
                "registeredOn",
                "reformCompletedOn",
                "holdingPolicy",
                "adjustEveryYears",
                "reserveBp",
                "dividendSplit",
            ],
            Kind::ShareClasses => &["organizationCode", "kind", "name", "issued", "weightBp"],
            Kind::Members => &[
                "organizationCode",
                "memberKey",
                "basis",
                "joinedOn",
                "document",
                "leftOn",
                "leftReason",
            ],
            Kind::Holdings => &[
                "organizationCode",
                "holderKey",
                "shareClass",
                "shares",
                "certificateNo",
                "validFrom",
                "document",
            ],
            Kind::Targets => &[
                "year",
                "townshipCode",
                "villageCode",
                "measure",
                "value",
                "note",
            ],
        }
    }
}

/// The file format (格式).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Geojson,
}

/// The text encoding of a CSV file (编码).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Encoding {
    /// UTF-8 with a byte-order mark, which Excel needs to read Chinese correctly.
    #[default]
    Utf8,
    /// GB18030, what Chinese Excel writes by default.
    Gb18030,
}

/// What an export covers and how it is written.
#[derive(Debug, Clone)]
pub struct Options {
    pub kind: Kind,
    pub format: Format,
    pub township_id: Option<i64>,
    pub crs: Crs,
    pub encoding: Encoding,
    pub caller: Caller,
    /// Only these records (by id): those changed since a cursor of the change feed, for an
    /// office copy's sync (`changedAfter`).
    pub only: Option<std::sync::Arc<std::collections::HashSet<i64>>>,
}

impl Options {
    /// Whether the record `id` is in the export.
    fn wants(&self, id: i64) -> bool {
        self.only.as_ref().is_none_or(|ids| ids.contains(&id))
    }
}

/// One exported record: its columns and, for GeoJSON, its geometry.
struct Row {
    values: Map<String, Value>,
    geometry: Option<geojson::Geometry>,
}

/// Natural keys of places and parties, to name what rows refer to.
struct Names {
    townships: HashMap<i64, String>,
    villages: HashMap<i64, (String, i64)>,
    parties: HashMap<i64, String>,
}

impl Names {
    async fn load(db: &DatabaseConnection) -> StoreResult<Names> {
        let parties: Vec<(i64, Option<String>, Option<String>)> = party::Entity::find()
            .select_only()
            .column(party::Column::Id)
            .column(party::Column::HouseholdNo)
            .column(party::Column::CreditCode)
            .into_tuple()
            .all(db)
            .await?;
        Ok(Names {
            townships: db::places::all_townships(db)
                .await?
                .into_iter()
                .map(|t| (t.id, t.code))
                .collect(),
            villages: db::places::all_villages(db)
                .await?
                .into_iter()
                .map(|v| (v.id, (v.code, v.township_id)))
                .collect(),
            parties: parties
                .into_iter()
                .filter_map(|(id, h, c)| h.or(c).map(|k| (id, k)))
                .collect(),
        })
    }

    fn township(&self, id: i64) -> Value {
        json!(self.townships.get(&id))
    }

    fn village(&self, id: Option<i64>) -> Value {
        json!(id.and_then(|v| self.villages.get(&v)).map(|v| &v.0))
    }

    fn party(&self, id: Option<i64>) -> Value {
        json!(id.and_then(|p| self.parties.get(&p)))
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::from(sea_orm::DbErr::Custom(format!("stored geometry: {e}")))
}

/// A stored area in `crs`, as GeoJSON, rounded like every output.
fn area_in(text: &str, crs: Crs) -> StoreResult<geojson::Geometry> {
    let area = Area::from_geojson_str(text).map_err(corrupt)?;
    Ok(rounded(crs.geometry_from_wgs84(area.to_geojson())))
}

fn point_in(lon: f64, lat: f64, crs: Crs) -> (f64, f64) {
    let (x, y) = crs.from_wgs84(lon, lat);
    ((x * 1e7).round() / 1e7, (y * 1e7).round() / 1e7)
}

fn to_wkt(g: &geojson::Geometry) -> StoreResult<String> {
    let shape: geo::Geometry<f64> = g.value.clone().try_into().map_err(corrupt)?;
    Ok(shape.wkt_string())
}

fn bp_share(bp: Option<i32>) -> Value {
    json!(bp.map(|b| f64::from(b) / 10_000.0))
}

/// The rows of one page: `after` the last id of the previous page; None when done.
async fn page(
    db: &DatabaseConnection,
    o: &Options,
    names: &Names,
    after: i64,
) -> StoreResult<(Vec<Row>, Option<i64>)> {
    let crs = o.crs;
    match o.kind {
        Kind::Townships => {
            let mut rows = Vec::new();
            for t in township::Entity::find()
                .filter(township::Column::Id.gt(after))
                .order_by_asc(township::Column::Id)
                .all(db)
                .await?
                .into_iter()
                .filter(|t| o.township_id.is_none_or(|w| w == t.id) && o.wants(t.id))
            {
                let g = area_in(&t.boundary, crs)?;
                let mut v = Map::new();
                v.insert("code".into(), json!(t.code));
                v.insert("name".into(), json!(t.name));
                rows.push(Row {
                    values: v,
                    geometry: Some(g),
                });
            }
            Ok((rows, None))
        }
        Kind::Villages => {
            let mut q = village::Entity::find().order_by_asc(village::Column::Id);
            if let Some(t) = o.township_id {
                q = q.filter(village::Column::TownshipId.eq(t));
            }
            let mut rows = Vec::new();
            for v in q.all(db).await?.into_iter().filter(|v| o.wants(v.id)) {
                let (lon, lat) = point_in(v.center_lon, v.center_lat, crs);
                let g = v.boundary.as_deref().map(|b| area_in(b, crs)).transpose()?;
                let mut m = Map::new();
                m.insert("code".into(), json!(v.code));
                m.insert("name".into(), json!(v.name));
                m.insert("townshipCode".into(), names.township(v.township_id));
                m.insert("centerLon".into(), json!(lon));
                m.insert("centerLat".into(), json!(lat));
                let geometry = g.or_else(|| {
                    Some(geojson::Geometry::new(geojson::GeometryValue::new_point([
                        lon, lat,
                    ])))
                });
                rows.push(Row {
                    values: m,
                    geometry,
                });
            }
            Ok((rows, None))
        }
        Kind::Parties => {
            let mut q = party::Entity::find()
                .filter(party::Column::Id.gt(after))
                .order_by_asc(party::Column::Id)
                .limit(CHUNK);
            if let Some(t) = o.township_id {
                let villages: Vec<i64> = names
                    .villages
                    .iter()
                    .filter(|(_, (_, tw))| *tw == t)
                    .map(|(id, _)| *id)
                    .collect();
                q = q.filter(party::Column::VillageId.is_in(villages));
            }
            let found = q.all(db).await?;
            let next = (found.len() as u64 == CHUNK)
                .then(|| found.last().map(|p| p.id))
                .flatten();
            let rows = found
                .into_iter()
                .filter(|p| o.wants(p.id))
                .map(|p| {
                    let township = p
                        .village_id
                        .and_then(|v| names.villages.get(&v))
                        .map(|v| v.1);
                    let personal = o.caller.may_see_personal_data(township).is_ok();
                    let mut m = Map::new();
                    m.insert(
                        "key".into(),
                        json!(p.household_no.clone().or(p.credit_code.clone())),
                    );
                    m.insert("kind".into(), json!(p.kind));
                    m.insert("name".into(), json!(p.name));
                    m.insert("householdNo".into(), json!(p.household_no));
                    m.insert("creditCode".into(), json!(p.credit_code));
                    m.insert("idNumber".into(), json!(p.id_number.filter(|_| personal)));
                    m.insert("phone".into(), json!(p.phone.filter(|_| personal)));
                    m.insert("villageCode".into(), names.village(p.village_id));
                    Row {
                        values: m,
                        geometry: None,
                    }
                })
                .collect();
            Ok((rows, next))
        }
        Kind::Assets => {
            let mut q = idle_asset::Entity::find()
                .filter(idle_asset::Column::Id.gt(after))
                .order_by_asc(idle_asset::Column::Id)
                .limit(CHUNK);
            if let Some(t) = o.township_id {
                q = q.filter(idle_asset::Column::TownshipId.eq(t));
            }
            let found = q.all(db).await?;
            let next = (found.len() as u64 == CHUNK)
                .then(|| found.last().map(|a| a.id))
                .flatten();
            let mut rows = Vec::with_capacity(found.len());
            for a in found.into_iter().filter(|a| o.wants(a.id)) {
                let (lon, lat) = point_in(a.lon, a.lat, crs);
                let footprint = a
                    .footprint
                    .as_deref()
                    .map(|f| area_in(f, crs))
                    .transpose()?;
                let mut m = Map::new();
                m.insert("code".into(), json!(a.code));
                m.insert("kind".into(), json!(a.kind));
                m.insert("status".into(), json!(a.status));
                m.insert("townshipCode".into(), names.township(a.township_id));
                m.insert("villageCode".into(), names.village(a.village_id));
                m.insert("ownerKey".into(), names.party(Some(a.owner_id)));
                m.insert("lon".into(), json!(lon));
                m.insert("lat".into(), json!(lat));
                m.insert(
                    "footprint".into(),
                    match (&o.format, &footprint) {
                        (Format::Csv, Some(f)) => json!(to_wkt(f)?),
                        (_, Some(f)) => json!(f),
                        (_, None) => Value::Null,
                    },
                );
                m.insert("landAreaM2".into(), json!(a.land_area_m2));
                m.insert("floorAreaM2".into(), json!(a.floor_area_m2));
                m.insert("structure".into(), json!(a.structure));
                m.insert("yearBuilt".into(), json!(a.year_built));
                m.insert("condition".into(), json!(a.condition));
                m.insert("idleSince".into(), json!(a.idle_since));
                m.insert("idleCause".into(), json!(a.idle_cause));
                m.insert("ownerWillingness".into(), json!(a.owner_willingness));
                m.insert("address".into(), json!(a.address));
                let point = geojson::Geometry::new(geojson::GeometryValue::new_point([lon, lat]));
                rows.push(Row {
                    values: m,
                    geometry: Some(point),
                });
            }
            Ok((rows, next))
        }
        Kind::Revitalizations => {
            let assets: HashMap<i64, (String, i64)> = idle_asset::Entity::find()
                .select_only()
                .column(idle_asset::Column::Id)
                .column(idle_asset::Column::Code)
                .column(idle_asset::Column::TownshipId)
                .into_tuple::<(i64, String, i64)>()
                .all(db)
                .await?
                .into_iter()
                .map(|(id, code, t)| (id, (code, t)))
                .collect();
            let rows = revitalization::Entity::find()
                .order_by_asc(revitalization::Column::Id)
                .all(db)
                .await?
                .into_iter()
                .filter(|r| {
                    o.wants(r.id)
                        && o.township_id
                            .is_none_or(|t| assets.get(&r.asset_id).is_some_and(|a| a.1 == t))
                })
                .map(|r| {
                    let mut m = Map::new();
                    m.insert("contractNo".into(), json!(r.contract_no));
                    m.insert(
                        "assetCode".into(),
                        json!(assets.get(&r.asset_id).map(|a| &a.0)),
                    );
                    m.insert("mode".into(), json!(r.mode));
                    m.insert("endUse".into(), json!(r.end_use));
                    m.insert("counterpartyKey".into(), names.party(r.counterparty_id));
                    m.insert("startDate".into(), json!(r.start_date));
                    m.insert("termMonths".into(), json!(r.term_months));
                    m.insert("annualRentFen".into(), json!(r.annual_rent_fen));
                    m.insert("investmentFen".into(), json!(r.investment_fen));
                    m.insert("compensationFen".into(), json!(r.compensation_fen));
                    m.insert("jobsCreated".into(), json!(r.jobs_created));
                    m.insert("collectiveShare".into(), bp_share(r.collective_share_bp));
                    m.insert("operatorShare".into(), bp_share(r.operator_share_bp));
                    m.insert("farmerShare".into(), bp_share(r.farmer_share_bp));
                    Row {
                        values: m,
                        geometry: None,
                    }
                })
                .collect();
            Ok((rows, None))
        }
        Kind::Organizations | Kind::ShareClasses => organizations_page(db, o, names).await,
        Kind::Members | Kind::Holdings => register_page(db, o, names).await,
        Kind::Targets => {
            let mut rows = Vec::new();
            for t in db::targets::list(db, None, None)
                .await?
                .into_iter()
                .filter(|t| o.wants(t.id))
            {
                let township = t.township_id.or_else(|| {
                    t.village_id
                        .and_then(|v| names.villages.get(&v))
                        .map(|v| v.1)
                });
                if o.township_id.is_some_and(|w| township != Some(w)) {
                    continue;
                }
                let mut v = Map::new();
                v.insert("year".into(), json!(t.year));
                v.insert(
                    "townshipCode".into(),
                    json!(t.township_id.and_then(|x| names.townships.get(&x))),
                );
                v.insert("villageCode".into(), names.village(t.village_id));
                v.insert("measure".into(), json!(t.measure));
                // Whole numbers as Excel shows them: 120, not 120.0.
                let value = if t.value.fract() == 0.0 && t.value.abs() < 1e15 {
                    json!(t.value as i64)
                } else {
                    json!(t.value)
                };
                v.insert("value".into(), value);
                v.insert("note".into(), json!(t.note));
                rows.push(Row {
                    values: v,
                    geometry: None,
                });
            }
            Ok((rows, None))
        }
    }
}

/// Organisations of the export's township, or their share classes: public, as the
/// organisations' register (登记) is.
async fn organizations_page(
    db: &DatabaseConnection,
    o: &Options,
    names: &Names,
) -> StoreResult<(Vec<Row>, Option<i64>)> {
    let organizations: Vec<collective_organization::Model> = db::shares::organizations_in(db, None)
        .await?
        .into_iter()
        .filter(|org| {
            let township = names.villages.get(&org.village_id).map(|v| v.1);
            o.township_id.is_none_or(|t| township == Some(t))
        })
        .collect();
    let mut rows = Vec::new();
    if o.kind == Kind::Organizations {
        let party_ids: Vec<i64> = organizations.iter().map(|org| org.party_id).collect();
        let parties = db::parties::by_ids(db, &party_ids).await?;
        for org in organizations.iter().filter(|org| o.wants(org.id)) {
            let mut v = Map::new();
            v.insert("creditCode".into(), names.party(Some(org.party_id)));
            v.insert(
                "name".into(),
                json!(parties.get(&org.party_id).map(|p| &p.name)),
            );
            v.insert("kind".into(), json!(org.kind));
            v.insert("villageCode".into(), names.village(Some(org.village_id)));
            v.insert("registeredOn".into(), json!(org.registered_on));
            v.insert("reformCompletedOn".into(), json!(org.reform_completed_on));
            v.insert("holdingPolicy".into(), json!(org.holding_policy));
            v.insert("adjustEveryYears".into(), json!(org.adjust_every_years));
            v.insert("reserveBp".into(), json!(org.reserve_bp));
            v.insert("dividendSplit".into(), json!(org.dividend_split));
            rows.push(Row {
                values: v,
                geometry: None,
            });
        }
        return Ok((rows, None));
    }
    let ids: Vec<i64> = organizations.iter().map(|org| org.id).collect();
    let mut classes = db::shares::classes_of(db, &ids).await?;
    for org in &organizations {
        for c in classes
            .remove(&org.id)
            .unwrap_or_default()
            .into_iter()
            .filter(|c| o.wants(c.id))
        {
            let mut v = Map::new();
            v.insert("organizationCode".into(), names.party(Some(org.party_id)));
            v.insert("kind".into(), json!(c.kind));
            v.insert("name".into(), json!(c.name));
            v.insert(
                "issued".into(),
                json!(Shares::from_hundredths(c.issued_hundredths).to_string()),
            );
            v.insert("weightBp".into(), json!(c.weight_bp));
            rows.push(Row {
                values: v,
                geometry: None,
            });
        }
    }
    Ok((rows, None))
}

/// Members or open holdings of the organisations in the export's township, of those whose
/// register the caller may see (who is a member and who holds what is personal data).
async fn register_page(
    db: &DatabaseConnection,
    o: &Options,
    names: &Names,
) -> StoreResult<(Vec<Row>, Option<i64>)> {
    let organizations: HashMap<i64, collective_organization::Model> =
        db::shares::organizations_in(db, None)
            .await?
            .into_iter()
            .filter(|org| {
                let township = names.villages.get(&org.village_id).map(|v| v.1);
                o.township_id.is_none_or(|t| township == Some(t))
                    && o.caller.may_see_personal_data(township).is_ok()
            })
            .map(|org| (org.id, org))
            .collect();
    let code = |org: i64| names.party(organizations.get(&org).map(|o| o.party_id));
    // In id order, as every other export: the same registry exports the same bytes.
    let mut ids: Vec<i64> = organizations.keys().copied().collect();
    ids.sort_unstable();
    let mut rows = Vec::new();
    if o.kind == Kind::Members {
        for org in &ids {
            for m in db::shares::members_of(db, *org)
                .await?
                .into_iter()
                .filter(|m| o.wants(m.id))
            {
                let mut v = Map::new();
                v.insert("organizationCode".into(), code(*org));
                v.insert("memberKey".into(), names.party(Some(m.party_id)));
                v.insert("basis".into(), json!(m.basis));
                v.insert("joinedOn".into(), json!(m.joined_on));
                v.insert("document".into(), json!(m.document));
                v.insert("leftOn".into(), json!(m.left_on));
                v.insert("leftReason".into(), json!(m.left_reason));
                rows.push(Row {
                    values: v,
                    geometry: None,
                });
            }
        }
        return Ok((rows, None));
    }
    let classes: HashMap<i64, String> = db::shares::classes_of(db, &ids)
        .await?
        .into_values()
        .flatten()
        .map(|c| (c.id, c.name))
        .collect();
    for org in &ids {
        let open: Vec<_> = db::shares::holdings_of(db, *org)
            .await?
            .into_iter()
            .filter(|h| h.valid_to.is_none() && o.wants(h.id))
            .collect();
        let change_ids: Vec<i64> = open.iter().map(|h| h.opened_by).collect();
        let changes = db::shares::changes_by_ids(db, &change_ids).await?;
        for h in open {
            let mut v = Map::new();
            v.insert("organizationCode".into(), code(*org));
            v.insert("holderKey".into(), names.party(h.holder_party_id));
            v.insert("shareClass".into(), json!(classes.get(&h.class_id)));
            v.insert(
                "shares".into(),
                json!(Shares::from_hundredths(h.shares_hundredths).to_string()),
            );
            v.insert("certificateNo".into(), json!(h.certificate_no));
            v.insert("validFrom".into(), json!(h.valid_from));
            v.insert(
                "document".into(),
                json!(changes.get(&h.opened_by).and_then(|c| c.document.clone())),
            );
            rows.push(Row {
                values: v,
                geometry: None,
            });
        }
    }
    Ok((rows, None))
}

/// A CSV cell: text as it is, numbers as JSON writes them, null as empty.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn csv_lines(kind: Kind, rows: &[Row], geometry: bool) -> Vec<u8> {
    // CRLF, as the header line and RFC 4180: one line ending through the file.
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for r in rows {
        let record: Vec<String> = kind
            .columns()
            .iter()
            .map(|c| match (*c, geometry) {
                ("boundary", true) => r
                    .geometry
                    .as_ref()
                    .filter(|g| !matches!(g.value, geojson::GeometryValue::Point { .. }))
                    .and_then(|g| to_wkt(g).ok())
                    .unwrap_or_default(),
                _ => cell(r.values.get(*c).unwrap_or(&Value::Null)),
            })
            .collect();
        // Writing to a Vec cannot fail.
        let _ = w.write_record(&record);
    }
    w.into_inner().unwrap_or_default()
}

fn encode(text: Vec<u8>, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf8 => text,
        Encoding::Gb18030 => {
            let s = String::from_utf8_lossy(&text);
            encoding_rs::GB18030.encode(&s).0.into_owned()
        }
    }
}

/// A whole CSV file as Excel opens it: UTF-8 behind a byte-order mark, or GB18030.
pub(crate) fn for_excel(text: Vec<u8>, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf8 => {
            let mut out = "\u{feff}".as_bytes().to_vec();
            out.extend(text);
            out
        }
        Encoding::Gb18030 => encode(text, encoding),
    }
}

/// The export's rows, a page at a time.
fn pages(
    db: DatabaseConnection,
    o: Options,
) -> impl Stream<Item = Result<Vec<Row>, std::io::Error>> + Send + 'static {
    // (where the next page starts, the names once loaded); None when done.
    stream::try_unfold((Some(0i64), None::<Names>), move |(after, names)| {
        let (db, o) = (db.clone(), o.clone());
        async move {
            let Some(after) = after else {
                return Ok(None);
            };
            let io = |e: StoreError| std::io::Error::other(format!("{e:?}"));
            let names = match names {
                Some(n) => n,
                None => Names::load(&db).await.map_err(io)?,
            };
            let (rows, next) = page(&db, &o, &names, after).await.map_err(io)?;
            Ok(Some((rows, (next, Some(names)))))
        }
    })
}

/// The export as a stream of byte chunks: header first, a page of rows at a time.
pub fn stream(
    db: DatabaseConnection,
    o: Options,
) -> impl Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    let (kind, format, encoding) = (o.kind, o.format, o.encoding);
    let pages = pages(db, o);
    match format {
        Format::Csv => {
            let mut head = match encoding {
                Encoding::Utf8 => "\u{feff}".as_bytes().to_vec(),
                Encoding::Gb18030 => Vec::new(),
            };
            head.extend(encode(
                format!("{}\r\n", kind.columns().join(",")).into_bytes(),
                encoding,
            ));
            let lines = pages.map_ok(move |rows| encode(csv_lines(kind, &rows, true), encoding));
            Either::Left(
                stream::once(async move { Ok(head) })
                    .chain(lines)
                    .filter(|c| std::future::ready(!matches!(c, Ok(b) if b.is_empty()))),
            )
        }
        Format::Geojson => Either::Right(feature_collection(pages.map_ok(|rows| {
            rows.into_iter()
                .map(|r| json!({ "type": "Feature", "geometry": r.geometry, "properties": r.values }))
                .collect()
        }))),
    }
}
