//! Synthetic districts for benchmarks (合成数据): idle assets and their owner households,
//! generated deterministically from a seed and bulk-loaded in multi-row INSERTs.
//!
//! Assets cluster around the demo district's villages, more around some than others, with a
//! thin scatter between them; every location is placed by the same `Locator` as user input, and
//! a point that falls outside every township is drawn again. Owners are households, most owning
//! one asset and some two or more (一户多宅).
//!
//! The same seed gives the same rows, on either engine: codes are `SYN-<seed>-<n>` and household
//! numbers `S<seed>H<n>`, and nothing depends on the clock but the record timestamps. A second
//! run with another seed appends a distinct batch; a second run with the same seed is refused,
//! since it could only repeat the first.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, InsertStatement, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};

use rural_registry::db::entities::{idle_asset, party};
use rural_registry::db::{self, audit};
use rural_registry::domain::assets::{
    AssetKind, AssetStatus, Condition, IdleCause, OwnerWillingness, Structure,
};
use rural_registry::domain::geometry::{BBox, Location};
use rural_registry::domain::locator::{Locator, Placement};
use rural_registry::domain::parties::PartyKind;
use rural_registry::domain::period::Period;
use rural_registry::domain::spatial_key;

/// Assets written in one transaction.
pub const BATCH: usize = 10_000;

/// Bound parameters in one statement: SQLite's limit (PostgreSQL's, 65,535, is higher).
const PARAMS_PER_STATEMENT: usize = 32_766;

/// Share of assets scattered over the district rather than clustered around a village.
const SCATTERED: f64 = 0.08;

/// Share of assets whose owner already owns another in the same village (一户多宅).
const SECOND_HOME: f64 = 0.18;

/// The day the synthetic register was surveyed up to: idle-since dates and construction years
/// end here, fixed so that the data does not depend on the day it is generated.
fn survey_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default()
}

/// A small seeded generator (SplitMix64): fast, well mixed, and the same on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5851_F42D_4C95_7F2D)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in lo..=hi.
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo + 1).max(1) as u64;
        lo + (self.next_u64() % span) as i64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// One of `choices`, with probability proportional to its weight.
    pub fn weighted<T: Copy>(&mut self, choices: &[(T, f64)]) -> Option<T> {
        let total: f64 = choices.iter().map(|c| c.1).sum();
        let mut x = self.unit() * total;
        for &(value, weight) in choices {
            if x < weight {
                return Some(value);
            }
            x -= weight;
        }
        choices.last().map(|c| c.0)
    }
}

/// A village as the generator needs it.
#[derive(Debug, Clone)]
pub struct VillageSite {
    pub centre: Location,
}

/// What the generator draws from: the district's shape and names.
#[derive(Debug)]
pub struct District {
    pub locator: Locator,
    /// Sorted by code, so that the draw does not depend on row ids.
    pub villages: Vec<VillageSite>,
    pub township_names: HashMap<i64, String>,
    pub village_names: HashMap<i64, String>,
    /// The box around every township, for the scattered assets.
    pub bbox: BBox,
}

/// A household to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewHousehold {
    pub household_no: String,
    pub name: String,
    pub phone: String,
    pub village_id: Option<i64>,
}

/// An asset to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAsset {
    pub code: String,
    pub kind: AssetKind,
    pub status: AssetStatus,
    /// The owner: the n-th household of the run (0-based), created in this batch or an
    /// earlier one.
    pub owner: usize,
    pub location: Location,
    pub place: Placement,
    pub land_area_m2: f64,
    pub floor_area_m2: Option<f64>,
    pub structure: Option<Structure>,
    pub year_built: Option<i32>,
    pub condition: Option<Condition>,
    pub idle_since: NaiveDate,
    pub idle_cause: IdleCause,
    pub owner_willingness: OwnerWillingness,
    pub address: String,
}

/// One transaction's worth of rows.
#[derive(Debug, Default, PartialEq)]
pub struct Batch {
    /// The households first created here; the first is household number `first_household`.
    pub households: Vec<NewHousehold>,
    pub first_household: usize,
    pub assets: Vec<NewAsset>,
}

/// A village's cluster: how many assets it draws, and how far they spread.
#[derive(Debug, Clone, Copy)]
struct Cluster {
    village: usize,
    weight: f64,
    spread_m: f64,
}

/// Draws assets and households, one batch at a time, from a seed.
pub struct Generator<'a> {
    district: &'a District,
    seed: u64,
    rng: Rng,
    clusters: Vec<Cluster>,
    /// Running sums of the clusters' weights.
    cumulative: Vec<f64>,
    assets: u64,
    households: usize,
    /// The last household created in each village, the one a second asset goes to.
    last_household: HashMap<Option<i64>, usize>,
}

const METRES_PER_DEGREE: f64 = 111_320.0;

impl<'a> Generator<'a> {
    pub fn new(district: &'a District, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        // Log-normal weights: a few large villages, many small ones.
        let clusters: Vec<Cluster> = (0..district.villages.len())
            .map(|village| Cluster {
                village,
                weight: (rng.normal() * 0.8).exp(),
                spread_m: rng.range(300.0, 1_500.0),
            })
            .collect();
        let cumulative = clusters
            .iter()
            .scan(0.0, |sum, c| {
                *sum += c.weight;
                Some(*sum)
            })
            .collect();
        Self {
            district,
            seed,
            rng,
            clusters,
            cumulative,
            assets: 0,
            households: 0,
            last_household: HashMap::new(),
        }
    }

    /// The next `n` assets and the households they bring.
    pub fn batch(&mut self, n: usize) -> anyhow::Result<Batch> {
        let mut batch = Batch {
            first_household: self.households,
            ..Batch::default()
        };
        for _ in 0..n {
            let asset = self.asset(&mut batch.households)?;
            batch.assets.push(asset);
        }
        Ok(batch)
    }

    fn asset(&mut self, households: &mut Vec<NewHousehold>) -> anyhow::Result<NewAsset> {
        self.assets += 1;
        let (location, place) = self.location()?;
        let rng = &mut self.rng;
        let owner = match self.last_household.get(&place.village_id) {
            Some(&h) if rng.chance(SECOND_HOME) => h,
            _ => {
                let h = self.households;
                self.households += 1;
                households.push(NewHousehold {
                    household_no: household_no(self.seed, h),
                    name: person_name(rng),
                    phone: format!("1{}{:09}", rng.int(3, 9), rng.int(0, 999_999_999)),
                    village_id: place.village_id,
                });
                self.last_household.insert(place.village_id, h);
                h
            }
        };
        let rng = &mut self.rng;
        let kind = if rng.chance(0.62) {
            AssetKind::IdleFarmhouse
        } else {
            AssetKind::IdleHomestead
        };
        let status = rng
            .weighted(&[
                (AssetStatus::Identified, 30.0),
                (AssetStatus::Verified, 24.0),
                (AssetStatus::Listed, 17.0),
                (AssetStatus::Negotiating, 7.0),
                (AssetStatus::Revitalized, 13.0),
                (AssetStatus::Relinquished, 5.0),
                (AssetStatus::Withdrawn, 4.0),
            ])
            .unwrap_or(AssetStatus::Identified);
        let land_area_m2 = round1((rng.normal() * 0.3).exp() * 160.0).clamp(40.0, 900.0);
        let survey = survey_date();
        let idle_since = survey - chrono::Days::new(rng.int(60, 17 * 365) as u64);
        let (floor_area_m2, structure, year_built, condition) = match kind {
            AssetKind::IdleFarmhouse => {
                let storeys = rng.int(1, 3) as f64;
                let floor = round1(land_area_m2 * storeys * rng.range(0.55, 0.9));
                let structure = rng.weighted(&[
                    (Structure::BrickConcrete, 45.0),
                    (Structure::BrickWood, 25.0),
                    (Structure::EarthWood, 18.0),
                    (Structure::Frame, 8.0),
                    (Structure::Simple, 4.0),
                ]);
                let year = match structure {
                    Some(Structure::EarthWood) => rng.int(1950, 1990),
                    Some(Structure::Frame) => rng.int(1995, 2018),
                    _ => rng.int(1970, 2015),
                } as i32;
                let condition = rng.weighted(&[
                    (Condition::Good, 20.0),
                    (Condition::Fair, 40.0),
                    (Condition::Poor, 28.0),
                    (Condition::Dilapidated, 12.0),
                ]);
                (Some(floor), structure, Some(year), condition)
            }
            AssetKind::IdleHomestead => {
                let condition =
                    rng.weighted(&[(Condition::Poor, 30.0), (Condition::Dilapidated, 70.0)]);
                (None, None, None, condition)
            }
        };
        let idle_cause = rng
            .weighted(&[
                (IdleCause::MigratedToCity, 45.0),
                (IdleCause::MultipleHomesteads, 20.0),
                (IdleCause::Inherited, 12.0),
                (IdleCause::Dilapidated, 15.0),
                (IdleCause::Other, 8.0),
            ])
            .unwrap_or(IdleCause::Other);
        let owner_willingness = rng
            .weighted(&[
                (OwnerWillingness::Lease, 30.0),
                (OwnerWillingness::Equity, 10.0),
                (OwnerWillingness::Cooperation, 12.0),
                (OwnerWillingness::Relinquish, 10.0),
                (OwnerWillingness::Undecided, 28.0),
                (OwnerWillingness::Unwilling, 10.0),
            ])
            .unwrap_or(OwnerWillingness::Undecided);
        let township = self
            .district
            .township_names
            .get(&place.township_id)
            .map_or("", String::as_str);
        let village = place
            .village_id
            .and_then(|v| self.district.village_names.get(&v))
            .map_or("", String::as_str);
        let address = format!(
            "{township}{village}{}组{}号",
            rng.int(1, 12),
            rng.int(1, 80)
        );
        Ok(NewAsset {
            code: asset_code(self.seed, self.assets),
            kind,
            status,
            owner,
            location,
            place,
            land_area_m2,
            floor_area_m2,
            structure,
            year_built,
            condition,
            idle_since,
            idle_cause,
            owner_willingness,
            address,
        })
    }

    /// A location inside a township: near a village drawn by weight, or anywhere in the
    /// district; drawn again while it falls outside every township.
    fn location(&mut self) -> anyhow::Result<(Location, Placement)> {
        const TRIES: usize = 1_000;
        let d = self.district;
        let scattered = self.clusters.is_empty() || self.rng.chance(SCATTERED);
        let cluster = if scattered {
            None
        } else {
            let total = self.cumulative.last().copied().unwrap_or_default();
            let x = self.rng.unit() * total;
            let i = self.cumulative.partition_point(|&c| c <= x);
            self.clusters.get(i.min(self.clusters.len() - 1)).copied()
        };
        for _ in 0..TRIES {
            let (lon, lat) = match cluster {
                Some(c) => {
                    let centre = d.villages[c.village].centre;
                    let north = self.rng.normal() * c.spread_m;
                    let east = self.rng.normal() * c.spread_m;
                    let lat = centre.lat() + north / METRES_PER_DEGREE;
                    let lon =
                        centre.lon() + east / (METRES_PER_DEGREE * centre.lat().to_radians().cos());
                    (lon, lat)
                }
                None => (
                    self.rng.range(d.bbox.min_lon, d.bbox.max_lon),
                    self.rng.range(d.bbox.min_lat, d.bbox.max_lat),
                ),
            };
            // Six decimals, as a surveyor's GPS gives them (about 10 cm).
            let (lon, lat) = (round6(lon), round6(lat));
            if let Ok(location) = Location::parse(lon, lat)
                && let Some(place) = d.locator.locate(location)
            {
                return Ok((location, place));
            }
        }
        bail!("no location inside a township after {TRIES} draws: is the district loaded?")
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The code of the n-th (1-based) asset of a seed.
pub fn asset_code(seed: u64, n: u64) -> String {
    format!("SYN-{seed}-{n:07}")
}

/// The household number of the n-th (0-based) household of a seed.
pub fn household_no(seed: u64, n: usize) -> String {
    format!("S{seed}H{n:07}")
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "董", "程", "曹", "袁", "邓", "许",
    "傅", "沈", "曾", "彭", "吕", "苏", "卢", "蒋", "蔡", "丁", "魏", "叶", "余", "潘", "杜", "夏",
    "钟", "汪", "田", "任", "姜", "范", "方", "石", "姚", "谭", "廖", "邹", "熊", "万", "雷", "易",
    "龚", "文", "赖", "白",
];

const GIVEN: &[&str] = &[
    "建", "国", "华", "明", "伟", "强", "军", "平", "芳", "秀", "英", "兰", "红", "勇", "志", "春",
    "海", "文", "金", "玉", "福", "贵", "桂", "荣", "德", "清", "水", "根", "生", "发", "林", "财",
    "冬", "梅", "霞", "云", "辉", "新", "长", "正",
];

fn person_name(rng: &mut Rng) -> String {
    let mut name = String::from(SURNAMES[rng.int(0, SURNAMES.len() as i64 - 1) as usize]);
    let chars = if rng.chance(0.7) { 2 } else { 1 };
    for _ in 0..chars {
        name.push_str(GIVEN[rng.int(0, GIVEN.len() as i64 - 1) as usize]);
    }
    name
}

/// What a run added, and how long it took.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    pub seed: u64,
    pub assets: u64,
    pub households: u64,
    /// Records of the demo district loaded first, into an empty database (0 otherwise).
    pub demo_records: usize,
    #[serde(skip)]
    pub elapsed: Duration,
}

/// The district as stored: townships, villages, their names and the locator.
pub async fn district(conn: &impl ConnectionTrait) -> anyhow::Result<District> {
    let locator = db::places::locator(conn).await?;
    let townships = db::places::all_townships(conn).await?;
    let mut bbox: Option<BBox> = None;
    for t in &townships {
        let b = db::geometry::read_area(&t.boundary)
            .with_context(|| format!("stored boundary of township {}", t.code))?
            .bbox();
        bbox = Some(match bbox {
            None => b,
            Some(a) => BBox {
                min_lon: a.min_lon.min(b.min_lon),
                min_lat: a.min_lat.min(b.min_lat),
                max_lon: a.max_lon.max(b.max_lon),
                max_lat: a.max_lat.max(b.max_lat),
            },
        });
    }
    let bbox = bbox.context("the database has no township to place assets in")?;
    let mut villages = db::places::all_villages(conn).await?;
    villages.sort_by(|a, b| a.code.cmp(&b.code));
    let village_names = villages.iter().map(|v| (v.id, v.name.clone())).collect();
    let villages = villages
        .into_iter()
        .map(|v| {
            Ok(VillageSite {
                centre: Location::parse(v.center_lon, v.center_lat)
                    .with_context(|| format!("stored centre of village {}", v.code))?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(District {
        locator,
        villages,
        township_names: townships.into_iter().map(|t| (t.id, t.name)).collect(),
        village_names,
        bbox,
    })
}

/// Generates `assets` assets from `seed` into `conn`: loads the demo district first if the
/// database has no township, writes a transaction per `BATCH` assets, reports progress after
/// each, records one audit event, and refreshes the planner's statistics (`ANALYZE`).
///
/// Refused when the seed's assets are already there. The schema must be up to date.
pub async fn generate(
    conn: &DatabaseConnection,
    assets: u64,
    seed: u64,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut demo_records = 0;
    if db::places::count_townships(conn, Period::ALL).await? == 0 {
        demo_records =
            rural_registry::services::seed::load(conn, chrono::Local::now().date_naive())
                .await?
                .total();
    }
    if db::assets::by_code(conn, &asset_code(seed, 1))
        .await?
        .is_some()
    {
        bail!(
            "the database already holds the synthetic assets of seed {seed} (codes SYN-{seed}-…): \
             generate into a fresh database, or choose another seed to add a distinct batch"
        );
    }
    let district = district(conn).await?;
    let mut generator = Generator::new(&district, seed);
    let now = Utc::now();
    let mut household_ids: Vec<i64> = Vec::new();
    let mut done = 0u64;
    while done < assets {
        let n = (assets - done).min(BATCH as u64) as usize;
        let batch = generator.batch(n)?;
        let txn = db::begin_write(conn).await?;
        let ids = insert_households(&txn, &batch.households, now).await?;
        debug_assert_eq!(household_ids.len(), batch.first_household);
        household_ids.extend(ids);
        insert_assets(&txn, &batch.assets, &household_ids, now).await?;
        db::commit(txn).await?;
        done += n as u64;
        progress(done);
    }
    let report = Report {
        seed,
        assets,
        households: household_ids.len() as u64,
        demo_records,
        elapsed: started.elapsed(),
    };
    audit::record(
        conn,
        &audit::Actor {
            label: "gen-synthetic".into(),
            role: "SYSTEM".into(),
        },
        audit::Change {
            action: "generate",
            entity: "synthetic_assets",
            entity_id: None,
            before: None,
            after: serde_json::to_value(&report).ok(),
            request_id: None,
        },
    )
    .await?;
    db::statistics::compact_tally(conn).await?;
    analyze(conn).await?;
    Ok(Report {
        elapsed: started.elapsed(),
        ..report
    })
}

/// Refreshes the planner's statistics after a bulk load; on PostgreSQL also the visibility
/// map, so that counts can be answered from the index alone.
async fn analyze(conn: &DatabaseConnection) -> anyhow::Result<()> {
    let sql = match conn.get_database_backend() {
        DbBackend::Postgres => "VACUUM (ANALYZE) idle_asset, party, asset_tally",
        _ => "ANALYZE",
    };
    conn.execute_unprepared(sql)
        .await
        .with_context(|| format!("refreshing statistics ({sql})"))?;
    Ok(())
}

/// Writes the households and returns their ids, in order.
async fn insert_households(
    conn: &impl ConnectionTrait,
    households: &[NewHousehold],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<i64>> {
    use party::Column as C;
    const COLUMNS: [C; 8] = [
        C::Kind,
        C::Name,
        C::HouseholdNo,
        C::Phone,
        C::VillageId,
        C::Version,
        C::CreatedAt,
        C::UpdatedAt,
    ];
    let mut ids = HashMap::with_capacity(households.len());
    for chunk in households.chunks(PARAMS_PER_STATEMENT / COLUMNS.len()) {
        let mut insert = Query::insert();
        insert.into_table(party::Entity).columns(COLUMNS);
        for h in chunk {
            insert.values([
                Expr::val(PartyKind::Household.as_str()),
                Expr::val(h.name.as_str()),
                Expr::val(h.household_no.as_str()),
                Expr::val(h.phone.as_str()),
                Expr::val(h.village_id),
                Expr::val(1),
                Expr::val(now),
                Expr::val(now),
            ])?;
        }
        // Rows come back in no promised order: match them by household number.
        insert.returning(Query::returning().columns([C::Id, C::HouseholdNo]));
        for row in conn
            .query_all(&insert)
            .await
            .map_err(db::StoreError::from)?
        {
            let id: i64 = row.try_get_by_index(0).map_err(db::StoreError::from)?;
            let no: String = row.try_get_by_index(1).map_err(db::StoreError::from)?;
            ids.insert(no, id);
        }
    }
    households
        .iter()
        .map(|h| {
            ids.get(&h.household_no)
                .copied()
                .with_context(|| format!("household {} was not written", h.household_no))
        })
        .collect()
}

async fn insert_assets(
    conn: &impl ConnectionTrait,
    assets: &[NewAsset],
    household_ids: &[i64],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    use idle_asset::Column as C;
    const COLUMNS: [C; 21] = [
        C::Code,
        C::Kind,
        C::Status,
        C::OwnerId,
        C::TownshipId,
        C::VillageId,
        C::Lon,
        C::Lat,
        C::Cell,
        C::LandAreaM2,
        C::FloorAreaM2,
        C::Structure,
        C::YearBuilt,
        C::Condition,
        C::IdleSince,
        C::IdleCause,
        C::OwnerWillingness,
        C::Address,
        C::Version,
        C::CreatedAt,
        C::UpdatedAt,
    ];
    for chunk in assets.chunks(PARAMS_PER_STATEMENT / COLUMNS.len()) {
        let mut insert: InsertStatement = Query::insert();
        insert.into_table(idle_asset::Entity).columns(COLUMNS);
        for a in chunk {
            let owner_id = *household_ids.get(a.owner).with_context(|| {
                format!("asset {} names household {}, not written", a.code, a.owner)
            })?;
            let (lon, lat) = (a.location.lon(), a.location.lat());
            insert.values([
                Expr::val(a.code.as_str()),
                Expr::val(a.kind.as_str()),
                Expr::val(a.status.as_str()),
                Expr::val(owner_id),
                Expr::val(a.place.township_id),
                Expr::val(a.place.village_id),
                Expr::val(lon),
                Expr::val(lat),
                Expr::val(spatial_key::key(lon, lat)),
                Expr::val(a.land_area_m2),
                Expr::val(a.floor_area_m2),
                Expr::val(a.structure.map(|s| s.as_str())),
                Expr::val(a.year_built),
                Expr::val(a.condition.map(|c| c.as_str())),
                Expr::val(a.idle_since),
                Expr::val(a.idle_cause.as_str()),
                Expr::val(a.owner_willingness.as_str()),
                Expr::val(a.address.as_str()),
                Expr::val(1),
                Expr::val(now),
                Expr::val(now),
            ])?;
        }
        conn.execute(&insert).await.map_err(db::StoreError::from)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rural_registry::domain::geometry::Area;
    use rural_registry::domain::locator::VillageShape;

    fn square(x0: f64, y0: f64, side: f64) -> Area {
        Area::from_geojson(&geojson::Geometry::new(
            geojson::GeometryValue::new_polygon([[
                [x0, y0],
                [x0 + side, y0],
                [x0 + side, y0 + side],
                [x0, y0 + side],
                [x0, y0],
            ]]),
        ))
        .expect("a square")
    }

    /// Two townships side by side, each with a village near its edge, so that many draws fall
    /// outside and must be drawn again.
    fn district() -> District {
        let at = |lon, lat| Location::parse(lon, lat).expect("valid");
        let villages = vec![
            VillageSite {
                centre: at(117.001, 28.01),
            },
            VillageSite {
                centre: at(117.03, 28.03),
            },
        ];
        let locator = Locator::new(
            vec![
                (1, square(117.0, 28.0, 0.02)),
                (2, square(117.02, 28.0, 0.02)),
            ],
            vec![
                VillageShape {
                    id: 10,
                    township_id: 1,
                    boundary: None,
                    center: villages[0].centre,
                },
                VillageShape {
                    id: 20,
                    township_id: 2,
                    boundary: Some(square(117.025, 28.025, 0.01)),
                    center: villages[1].centre,
                },
            ],
        );
        District {
            locator,
            villages,
            township_names: [(1, "甲镇".into()), (2, "乙乡".into())].into(),
            village_names: [(10, "甲村".into()), (20, "乙村".into())].into(),
            bbox: BBox {
                min_lon: 117.0,
                min_lat: 28.0,
                max_lon: 117.04,
                max_lat: 28.02,
            },
        }
    }

    #[test]
    fn the_same_seed_draws_the_same_batches() {
        let d = district();
        let draw = |seed| {
            let mut g = Generator::new(&d, seed);
            let first = g.batch(300).expect("drawn");
            let second = g.batch(200).expect("drawn");
            (first, second)
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn every_asset_lies_in_the_township_it_is_placed_in() {
        let d = district();
        let batch = Generator::new(&d, 1).batch(2_000).expect("drawn");
        for a in &batch.assets {
            assert_eq!(d.locator.locate(a.location), Some(a.place), "{}", a.code);
        }
        let in_second = batch
            .assets
            .iter()
            .filter(|a| a.place.township_id == 2)
            .count();
        assert!(in_second > 0 && in_second < batch.assets.len());
    }

    #[test]
    fn owners_are_households_of_the_run_some_with_two_homes() {
        let d = district();
        let mut g = Generator::new(&d, 3);
        let first = g.batch(1_000).expect("drawn");
        let second = g.batch(1_000).expect("drawn");
        assert_eq!(second.first_household, first.households.len());
        let total = first.households.len() + second.households.len();
        assert!(total < 2_000 && total > 1_400, "{total} households");
        for a in first.assets.iter().chain(&second.assets) {
            assert!(a.owner < total, "{}", a.code);
        }
        let mut nos: Vec<&str> = first
            .households
            .iter()
            .chain(&second.households)
            .map(|h| h.household_no.as_str())
            .collect();
        nos.sort_unstable();
        nos.dedup();
        assert_eq!(nos.len(), total, "household numbers are unique");
    }

    #[test]
    fn attributes_are_plausible() {
        let d = district();
        let batch = Generator::new(&d, 5).batch(2_000).expect("drawn");
        for a in &batch.assets {
            assert!((40.0..=900.0).contains(&a.land_area_m2), "{a:?}");
            assert!(a.idle_since <= survey_date(), "{a:?}");
            match a.kind {
                AssetKind::IdleFarmhouse => {
                    assert!(a.floor_area_m2.is_some_and(|f| f > 0.0 && f < 20_000.0));
                    assert!(a.year_built.is_some_and(|y| (1950..=2018).contains(&y)));
                }
                AssetKind::IdleHomestead => assert!(a.floor_area_m2.is_none()),
            }
            assert!(a.code.len() <= 40 && a.address.starts_with(['甲', '乙']));
        }
        let kinds = |k| batch.assets.iter().filter(|a| a.kind == k).count();
        assert!(kinds(AssetKind::IdleFarmhouse) > kinds(AssetKind::IdleHomestead));
    }

    #[test]
    fn normal_draws_centre_on_zero_with_unit_spread() {
        let mut rng = Rng::new(42);
        let xs: Vec<f64> = (0..20_000).map(|_| rng.normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
    }
}
