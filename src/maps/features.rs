//! The registry's map layers as features (geometry and properties), as a caller may see them:
//! the one source behind GeoJSON downloads, OGC API – Features and vector tiles, so that the
//! access rules for map output live in one place.
//!
//! Townships, villages and demonstration sites are public. Idle assets follow the same rule as
//! GraphQL: without a token, a point snapped to the public grid with its kind and status only;
//! with one, the true point and the survey attributes. No layer carries owners.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use geo::{Geometry, Point};
use sea_orm::ConnectionTrait;
use serde_json::{Map, Value, json};

use crate::db::assets::AssetFilter;
use crate::db::entities::{demo_site, expropriation_zone, idle_asset, township, village};
use crate::db::{self, StoreResult};
use crate::domain::access::Caller;
use crate::domain::datum::Crs;
use crate::domain::geometry::{BBox, Location, rounded};
use crate::domain::period::Period;
use crate::domain::region::Region;

/// A map layer (图层).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    Townships,
    Villages,
    IdleAssets,
    DemoSites,
    ExpropriationZones,
}

impl Layer {
    pub const ALL: [Layer; 5] = [
        Layer::Townships,
        Layer::Villages,
        Layer::IdleAssets,
        Layer::DemoSites,
        Layer::ExpropriationZones,
    ];

    /// The layer's id in URLs (`/ogc/collections/{id}`, `/tiles/{id}/…`, `/export/{id}…`).
    pub fn id(self) -> &'static str {
        match self {
            Layer::Townships => "townships",
            Layer::Villages => "villages",
            Layer::IdleAssets => "idle-assets",
            Layer::DemoSites => "demo-sites",
            Layer::ExpropriationZones => "expropriation-zones",
        }
    }

    pub fn parse(id: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.id() == id)
    }

    pub fn title(self) -> &'static str {
        match self {
            Layer::Townships => "Townships (乡镇)",
            Layer::Villages => "Villages (行政村)",
            Layer::IdleAssets => "Idle assets (闲置农房/闲置宅基地)",
            Layer::DemoSites => "Demonstration sites (示范点)",
            Layer::ExpropriationZones => "Expropriation zones (征收范围)",
        }
    }

    /// The tables its features are read from, whose versions tag a download of it
    /// (`db::table_versions`): a write to any of them may change what it shows.
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Layer::Townships => &["township"],
            Layer::Villages => &["township", "village"],
            Layer::IdleAssets => &["idle_asset", "township", "village"],
            Layer::DemoSites => &["demo_site"],
            Layer::ExpropriationZones => &["expropriation_zone"],
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Layer::Townships => "Township boundaries of the district, as MultiPolygons.",
            Layer::Villages => {
                "Administrative villages: the surveyed boundary where there is one, else the \
                 village centre as a point."
            }
            Layer::IdleAssets => {
                "Idle farmhouses and homesteads as points. Without a token: kind and status \
                 only, the point snapped to a 0.005° grid (about 500 m)."
            }
            Layer::DemoSites => "Demonstration sites of rural revitalization, as points.",
            Layer::ExpropriationZones => {
                "Announced land-acquisition zones, as polygons, where no right is mortgaged: \
                 for token holders, as the rights are (empty without a token)."
            }
        }
    }
}

/// One feature: its id in its layer, its WGS84 geometry and its properties.
#[derive(Debug, Clone, PartialEq)]
pub struct MapFeature {
    pub id: i64,
    pub geometry: Geometry,
    pub properties: Map<String, Value>,
}

impl MapFeature {
    /// As an RFC 7946 GeoJSON Feature in `crs`: [lon, lat] order, right-hand-rule rings (as
    /// stored), coordinates rounded to 7 decimals.
    pub fn to_geojson(&self, crs: Crs) -> Value {
        let geometry = rounded(crs.geometry_from_wgs84(geojson::Geometry::from(&self.geometry)));
        json!({
            "type": "Feature",
            "id": self.id,
            "geometry": geometry,
            "properties": self.properties,
        })
    }
}

/// A slice of a layer and how many features the whole selection holds.
#[derive(Debug, Clone, PartialEq)]
pub struct FeaturePage {
    pub features: Vec<MapFeature>,
    pub matched: u64,
}

/// Which features of a layer to return: those meeting `bbox` (when given) whose time lies in
/// `updated` (see [`time_extent`]), in id order, `limit` of them after skipping `offset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Selection {
    pub bbox: Option<BBox>,
    pub updated: Period,
    pub limit: u64,
    pub offset: u64,
}

fn boxes_meet(a: BBox, b: BBox) -> bool {
    a.min_lon <= b.max_lon
        && b.min_lon <= a.max_lon
        && a.min_lat <= b.max_lat
        && b.min_lat <= a.max_lat
}

fn slice<T>(mut all: Vec<T>, s: Selection) -> (Vec<T>, u64) {
    let matched = all.len() as u64;
    let start = (s.offset.min(matched)) as usize;
    let end = (s.offset.saturating_add(s.limit)).min(matched) as usize;
    (all.drain(start..end).collect(), matched)
}

fn area_geometry(text: &str) -> StoreResult<Geometry> {
    let area = db::geometry::read_area(text).map_err(|e| {
        db::StoreError::from(sea_orm::DbErr::Custom(format!("stored geometry: {e}")))
    })?;
    Ok(match area.shape().0.as_slice() {
        [one] => Geometry::Polygon(one.clone()),
        _ => Geometry::MultiPolygon(area.shape().clone()),
    })
}

fn township_feature(t: &township::Model) -> StoreResult<MapFeature> {
    let mut p = Map::new();
    p.insert("code".into(), json!(t.code));
    p.insert("name".into(), json!(t.name));
    Ok(MapFeature {
        id: t.id,
        geometry: area_geometry(&t.boundary)?,
        properties: p,
    })
}

fn village_feature(
    v: &village::Model,
    townships: &HashMap<i64, String>,
) -> StoreResult<MapFeature> {
    let mut p = Map::new();
    p.insert("code".into(), json!(v.code));
    p.insert("name".into(), json!(v.name));
    p.insert("townshipCode".into(), json!(townships.get(&v.township_id)));
    let geometry = match &v.boundary {
        Some(b) => area_geometry(b)?,
        None => Geometry::Point(Point::new(v.center_lon, v.center_lat)),
    };
    Ok(MapFeature {
        id: v.id,
        geometry,
        properties: p,
    })
}

fn village_box(v: &village::Model) -> BBox {
    match (v.min_lon, v.min_lat, v.max_lon, v.max_lat) {
        (Some(min_lon), Some(min_lat), Some(max_lon), Some(max_lat)) => BBox {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        },
        _ => BBox {
            min_lon: v.center_lon,
            min_lat: v.center_lat,
            max_lon: v.center_lon,
            max_lat: v.center_lat,
        },
    }
}

fn demo_site_feature(d: &demo_site::Model) -> MapFeature {
    let mut p = Map::new();
    p.insert("code".into(), json!(d.code));
    p.insert("name".into(), json!(d.name));
    p.insert("level".into(), json!(d.level));
    p.insert("designationYear".into(), json!(d.designation_year));
    p.insert("theme".into(), json!(d.theme));
    MapFeature {
        id: d.id,
        geometry: Geometry::Point(Point::new(d.lon, d.lat)),
        properties: p,
    }
}

fn zone_feature(z: &expropriation_zone::Model) -> StoreResult<MapFeature> {
    let mut p = Map::new();
    p.insert("code".into(), json!(z.code));
    p.insert("name".into(), json!(z.name));
    p.insert("announcedOn".into(), json!(z.announced_on));
    p.insert("authority".into(), json!(z.authority));
    Ok(MapFeature {
        id: z.id,
        geometry: area_geometry(&z.boundary)?,
        properties: p,
    })
}

fn zone_box(z: &expropriation_zone::Model) -> BBox {
    BBox {
        min_lon: z.min_lon,
        min_lat: z.min_lat,
        max_lon: z.max_lon,
        max_lat: z.max_lat,
    }
}

/// Codes of townships and villages, to name an asset's place without a query per asset.
struct Places {
    townships: HashMap<i64, String>,
    villages: HashMap<i64, String>,
}

impl Places {
    /// The codes of the places `rows` lie in: two small reads of ids and codes, whatever the
    /// district's size (never every village with its boundary, as for each page before).
    async fn of(conn: &impl ConnectionTrait, rows: &[idle_asset::Model]) -> StoreResult<Places> {
        let townships: BTreeSet<i64> = rows.iter().map(|a| a.township_id).collect();
        let villages: BTreeSet<i64> = rows.iter().filter_map(|a| a.village_id).collect();
        Ok(Places {
            townships: db::places::township_codes(conn, &Vec::from_iter(townships)).await?,
            villages: db::places::village_codes(conn, &Vec::from_iter(villages)).await?,
        })
    }
}

/// The codes of the townships of `villages`.
async fn townships_of(
    conn: &impl ConnectionTrait,
    villages: &[village::Model],
) -> StoreResult<HashMap<i64, String>> {
    let ids: BTreeSet<i64> = villages.iter().map(|v| v.township_id).collect();
    db::places::township_codes(conn, &Vec::from_iter(ids)).await
}

/// An asset as `caller` may see it on a map; none for a row whose stored location is out of
/// range (checked on the way in, so only a hand-edited row), which is logged.
fn asset_feature(
    a: &idle_asset::Model,
    caller: &Caller,
    places: Option<&Places>,
) -> Option<MapFeature> {
    let Ok(exact) = Location::parse(a.lon, a.lat) else {
        tracing::warn!(asset = a.id, "stored location out of range");
        return None;
    };
    let seen = caller.visible_location(exact);
    let mut p = Map::new();
    p.insert("kind".into(), json!(a.kind));
    p.insert("status".into(), json!(a.status));
    if let (false, Some(places)) = (caller.is_anonymous(), places) {
        p.insert("code".into(), json!(a.code));
        p.insert(
            "townshipCode".into(),
            json!(places.townships.get(&a.township_id)),
        );
        p.insert(
            "villageCode".into(),
            json!(a.village_id.and_then(|v| places.villages.get(&v))),
        );
        p.insert("floorAreaSquareMeters".into(), json!(a.floor_area_m2));
        p.insert("landAreaSquareMeters".into(), json!(a.land_area_m2));
        p.insert("structure".into(), json!(a.structure));
        p.insert("condition".into(), json!(a.condition));
        p.insert("yearBuilt".into(), json!(a.year_built));
        p.insert("idleSince".into(), json!(a.idle_since));
    }
    Some(MapFeature {
        id: a.id,
        geometry: Geometry::Point(seen.point()),
        properties: p,
    })
}

/// The features of `layer` that `caller` may see, selected by `s`.
pub async fn page(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    layer: Layer,
    s: Selection,
) -> StoreResult<FeaturePage> {
    let meets = |b: BBox| s.bbox.is_none_or(|q| boxes_meet(q, b));
    let (features, matched) = match layer {
        Layer::Townships => {
            let rows: Vec<_> = db::places::all_townships(conn)
                .await?
                .into_iter()
                .filter(|t| {
                    s.updated.contains(t.updated_at)
                        && meets(BBox {
                            min_lon: t.min_lon,
                            min_lat: t.min_lat,
                            max_lon: t.max_lon,
                            max_lat: t.max_lat,
                        })
                })
                .collect();
            let (rows, matched) = slice(rows, s);
            (
                rows.iter()
                    .map(township_feature)
                    .collect::<StoreResult<_>>()?,
                matched,
            )
        }
        Layer::Villages => {
            let rows: Vec<_> = db::places::all_villages(conn)
                .await?
                .into_iter()
                .filter(|v| s.updated.contains(v.updated_at) && meets(village_box(v)))
                .collect();
            let (rows, matched) = slice(rows, s);
            let codes = townships_of(conn, &rows).await?;
            (
                rows.iter()
                    .map(|v| village_feature(v, &codes))
                    .collect::<StoreResult<_>>()?,
                matched,
            )
        }
        Layer::DemoSites => {
            let rows: Vec<_> = db::demo_sites::all(conn)
                .await?
                .into_iter()
                .filter(|d| {
                    s.updated.contains(d.updated_at)
                        && meets(BBox {
                            min_lon: d.lon,
                            min_lat: d.lat,
                            max_lon: d.lon,
                            max_lat: d.lat,
                        })
                })
                .collect();
            let (rows, matched) = slice(rows, s);
            (rows.iter().map(demo_site_feature).collect(), matched)
        }
        Layer::IdleAssets => return asset_page(conn, caller, s).await,
        Layer::ExpropriationZones if caller.is_anonymous() => (Vec::new(), 0),
        Layer::ExpropriationZones => {
            let rows: Vec<_> = db::rights::zones(conn)
                .await?
                .into_iter()
                .filter(|z| s.updated.contains(z.created_at) && meets(zone_box(z)))
                .collect();
            let (rows, matched) = slice(rows, s);
            (
                rows.iter().map(zone_feature).collect::<StoreResult<_>>()?,
                matched,
            )
        }
    };
    Ok(FeaturePage { features, matched })
}

async fn asset_page(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    s: Selection,
) -> StoreResult<FeaturePage> {
    let (rows, matched) = match s.bbox {
        // The public point may lie in the box when the true one does not, and the other way
        // round: decide on the public point, in Rust.
        Some(b) if caller.is_anonymous() => {
            let mut ids: Vec<i64> = db::assets::in_region(
                conn,
                &AssetFilter {
                    updated: s.updated,
                    ..AssetFilter::default()
                },
                &Region::Box(b),
                |l| caller.visible_location(l),
                caller.location_slack_deg(),
            )
            .await?
            .into_iter()
            .map(|(id, _, _)| id)
            .collect();
            ids.sort_unstable();
            let (ids, matched) = slice(ids, s);
            let mut found = db::assets::by_ids(conn, &ids).await?;
            (
                ids.iter().filter_map(|id| found.remove(id)).collect(),
                matched,
            )
        }
        bbox => {
            let filter = AssetFilter {
                bbox,
                updated: s.updated,
                ..AssetFilter::default()
            };
            (
                db::assets::page_at_offset(conn, &filter, s.offset, s.limit).await?,
                db::assets::count(conn, &filter).await?,
            )
        }
    };
    Ok(FeaturePage {
        features: asset_features(conn, caller, &rows).await?,
        matched,
    })
}

/// The first and last time of the features of `layer` that `caller` may see; none for a layer
/// without any. A feature's time, which `Selection::updated` selects by, is when its record
/// last changed (`updated_at`); an expropriation zone's, never changed once announced, is when
/// it was recorded.
pub async fn time_extent(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    layer: Layer,
) -> StoreResult<Option<(DateTime<Utc>, DateTime<Utc>)>> {
    Ok(match layer {
        Layer::Townships => db::updated_span::<township::Entity>(conn).await?,
        Layer::Villages => db::updated_span::<village::Entity>(conn).await?,
        Layer::DemoSites => db::updated_span::<demo_site::Entity>(conn).await?,
        Layer::IdleAssets => db::updated_span::<idle_asset::Entity>(conn).await?,
        // A few, never changed once recorded: read whole.
        Layer::ExpropriationZones if caller.is_anonymous() => None,
        Layer::ExpropriationZones => db::rights::zones(conn)
            .await?
            .iter()
            .map(|z| (z.created_at, z.created_at))
            .reduce(|(f, l), (a, b)| (f.min(a), l.max(b))),
    })
}

/// Assets as `caller` may see them on a map, in the order given.
pub async fn asset_features(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    rows: &[idle_asset::Model],
) -> StoreResult<Vec<MapFeature>> {
    let places = if caller.is_anonymous() {
        None
    } else {
        Some(Places::of(conn, rows).await?)
    };
    Ok(rows
        .iter()
        .filter_map(|a| asset_feature(a, caller, places.as_ref()))
        .collect())
}

/// A GeoJSON FeatureCollection of `features` in `crs`, telling how many the selection held.
pub fn collection(features: &[MapFeature], matched: u64, crs: Crs) -> Value {
    json!({
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": features.len(),
        "features": features.iter().map(|f| f.to_geojson(crs)).collect::<Vec<_>>(),
    })
}

/// One feature of `layer` by id, if it exists and the caller may see it (every layer's
/// features but the expropriation zones are visible to all, in the form the caller may see).
pub async fn one(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    layer: Layer,
    id: i64,
) -> StoreResult<Option<MapFeature>> {
    Ok(match layer {
        Layer::Townships => db::places::townships_by_ids(conn, &[id])
            .await?
            .get(&id)
            .map(township_feature)
            .transpose()?,
        Layer::Villages => {
            let found: Vec<village::Model> = db::places::villages_by_ids(conn, &[id])
                .await?
                .into_values()
                .collect();
            let codes = townships_of(conn, &found).await?;
            found
                .first()
                .map(|v| village_feature(v, &codes))
                .transpose()?
        }
        Layer::DemoSites => db::demo_sites::by_ids(conn, &[id])
            .await?
            .get(&id)
            .map(demo_site_feature),
        Layer::IdleAssets => {
            let rows: Vec<idle_asset::Model> = db::assets::by_ids(conn, &[id])
                .await?
                .into_values()
                .collect();
            asset_features(conn, caller, &rows).await?.pop()
        }
        Layer::ExpropriationZones if caller.is_anonymous() => None,
        Layer::ExpropriationZones => db::rights::zones(conn)
            .await?
            .iter()
            .find(|z| z.id == id)
            .map(zone_feature)
            .transpose()?,
    })
}
