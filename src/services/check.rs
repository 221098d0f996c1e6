//! The integrity check (完整性检查): `rural-registry check` and the ADMIN query
//! `integrityCheck`. First the engine's own checks of its storage, then the registry's rules,
//! each reported with how many records it looked at, how many break it, and the first few.
//!
//! The check reads and never writes. It reads each table whole, so on a 100,000-asset district
//! it takes seconds, not milliseconds: it is for a nightly run, after a restore, or when a figure
//! looks wrong, not for every request.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectOptions, Database, DatabaseBackend, DatabaseConnection};
use serde::Serialize;

use migrations::{Migrator, MigratorTrait as _};

use crate::db;
use crate::db::check::{AssetRow, EventStamp, Probe};
use crate::domain::geometry::Location;
use crate::domain::spatial_key;

/// How many of a rule's breaches the report lists; it counts them all.
pub const EXAMPLES: usize = 20;

/// What one rule found.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The rule's code, e.g. `ASSET_PLACEMENT`: what a script reads.
    pub code: &'static str,
    /// The rule's name in Chinese, e.g. 资产落位.
    pub name: &'static str,
    /// What the rule says, in English.
    pub rule: &'static str,
    /// How many records (or, for storage, objects) it looked at.
    pub examined: u64,
    /// How many break it.
    pub problems: u64,
    /// The first [`EXAMPLES`] of them, one line each.
    pub examples: Vec<String>,
}

impl Outcome {
    fn new(code: &'static str, name: &'static str, rule: &'static str) -> Self {
        Self {
            code,
            name,
            rule,
            examined: 0,
            problems: 0,
            examples: Vec::new(),
        }
    }

    fn problem(&mut self, line: impl FnOnce() -> String) {
        self.problems += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(line());
        }
    }

    fn problems_from(mut self, lines: Vec<String>, examined: i64) -> Self {
        self.examined = u64::try_from(examined).unwrap_or(0);
        for line in lines {
            self.problem(|| line);
        }
        self
    }
}

/// The whole check.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `sqlite` or `postgres`.
    pub engine: &'static str,
    pub checked_at: DateTime<Utc>,
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// The number of problems found, over every rule.
    pub fn problems(&self) -> u64 {
        self.outcomes.iter().map(|o| o.problems).sum()
    }

    pub fn ok(&self) -> bool {
        self.problems() == 0
    }
}

/// Checks the database `conn` holds: storage first, then every rule.
pub async fn run(conn: &DatabaseConnection) -> anyhow::Result<Report> {
    let engine = match conn.get_database_backend() {
        DatabaseBackend::Postgres => "postgres",
        _ => "sqlite",
    };
    let mut outcomes = vec![storage(conn).await?, schema(conn).await?];
    let assets = db::check::assets(conn).await?;
    outcomes.push(placement(conn, &assets).await?);
    outcomes.push(tally(conn, &assets).await?);
    drop(assets);
    for (code, name, rule, probe) in PROBES {
        let (lines, examined) = db::check::run(conn, probe).await?;
        outcomes.push(Outcome::new(code, name, rule).problems_from(lines, examined));
    }
    outcomes.push(audit_trail(conn).await?);
    Ok(Report {
        engine,
        checked_at: Utc::now(),
        outcomes,
    })
}

/// The rules one SQL statement tests, with their code, Chinese name and wording.
const PROBES: [(&str, &str, &str, &Probe); 5] = [
    (
        "MORTGAGE_RANK",
        "抵押顺位",
        "no two mortgages in force on one right at one rank",
        &db::check::MORTGAGE_RANK,
    ),
    (
        "RIGHT_UNIT",
        "权利客体",
        "every right sits on a unit that exists: an idle asset, or for a COLLECTIVE_SHARE right \
         a share holding",
        &db::check::RIGHT_UNIT,
    ),
    (
        "RIGHT_HOLDERS",
        "权利人份额",
        "every right's holders exist and their parts sum to 100%",
        &db::check::RIGHT_HOLDERS,
    ),
    (
        "SHARE_HOLDINGS",
        "股权台账",
        "no share class's open holdings total more than was issued; every holding positive, of \
         a class of its own organisation, closed no earlier than it opened",
        &db::check::SHARE_HOLDINGS,
    ),
    (
        "DISTRIBUTIONS",
        "收益分配",
        "every distribution adds up to the fen: reserve plus holders' amount is the \
         distributable amount, the classes' amounts make the holders' amount, each class's \
         payouts make its amount",
        &db::check::DISTRIBUTIONS,
    ),
];

async fn storage(conn: &DatabaseConnection) -> anyhow::Result<Outcome> {
    let rule = match conn.get_database_backend() {
        DatabaseBackend::Postgres => {
            "the catalog reports no invalid index, unvalidated constraint or disabled trigger, \
             every foreign key holds, and amcheck (where installed) finds no damaged B-tree index"
        }
        _ => "SQLite's integrity_check and foreign_key_check find nothing wrong with the file",
    };
    let (lines, examined) = db::check::storage(conn).await?;
    Ok(Outcome::new("STORAGE", "存储完整性", rule).problems_from(lines, examined))
}

/// Objects every registry has that an engine may lack for good reason.
const ENGINE_ONLY: [(&str, DatabaseBackend); 1] =
    // SQLite upserts the tally's cells on a unique index; PostgreSQL appends and compacts.
    [("index ux_asset_tally_cell", DatabaseBackend::Sqlite)];

/// Every table, index and trigger the migrations create is there: a missing unique index or
/// trigger would let a rule below be broken without an error.
async fn schema(conn: &DatabaseConnection) -> anyhow::Result<Outcome> {
    let backend = conn.get_database_backend();
    let mut out = Outcome::new(
        "SCHEMA",
        "数据库结构",
        "every table, index and trigger the migrations create is present",
    );
    let reference = reference_schema().await?;
    let present = db::check::schema_objects(conn).await?;
    for object in &reference {
        let elsewhere = ENGINE_ONLY
            .iter()
            .any(|(name, only)| name == object && *only != backend);
        if elsewhere {
            continue;
        }
        out.examined += 1;
        if !present.contains(object) {
            out.problem(|| format!("{object} is missing"));
        }
    }
    Ok(out)
}

/// The tables, indexes and triggers of a registry freshly migrated by this version, on SQLite
/// in memory (the same names on PostgreSQL, but for [`ENGINE_ONLY`]).
async fn reference_schema() -> anyhow::Result<BTreeSet<String>> {
    let mut options = ConnectOptions::new("sqlite::memory:");
    options
        .max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    let fresh = Database::connect(options).await?;
    // Not `db::migrate`, which logs each migration it applies: this database is a yardstick.
    Migrator::up(&fresh, None).await?;
    let objects = db::check::schema_objects(&fresh).await?;
    fresh.close().await?;
    Ok(objects)
}

/// Every asset lies in the township and village it is filed under, as the current boundaries
/// place it, and carries the spatial key of its location.
async fn placement(conn: &DatabaseConnection, assets: &[AssetRow]) -> anyhow::Result<Outcome> {
    let mut out = Outcome::new(
        "ASSET_PLACEMENT",
        "资产落位",
        "every asset lies inside the township and village it is filed under, and its spatial \
         key is its location's",
    );
    let locator = db::places::locator(conn).await?;
    let name =
        |village: Option<i64>| village.map_or("no village".to_owned(), |v| format!("village #{v}"));
    for a in assets {
        out.examined += 1;
        let Ok(at) = Location::parse(a.lon, a.lat) else {
            out.problem(|| {
                format!(
                    "asset {} has no valid location ({}, {})",
                    a.code, a.lon, a.lat
                )
            });
            continue;
        };
        match locator.locate(at) {
            None => out.problem(|| {
                format!(
                    "asset {} at ({}, {}) lies outside every township",
                    a.code, a.lon, a.lat
                )
            }),
            Some(p) if p.township_id != a.township_id || p.village_id != a.village_id => out
                .problem(|| {
                    format!(
                        "asset {} is filed under township #{} and {}, but lies in township #{} \
                         and {}",
                        a.code,
                        a.township_id,
                        name(a.village_id),
                        p.township_id,
                        name(p.village_id)
                    )
                }),
            Some(_) => {
                let key = spatial_key::key(a.lon, a.lat);
                if a.cell != Some(key) {
                    out.problem(|| {
                        format!(
                            "asset {} has spatial key {:?}, its location's is {key}",
                            a.code, a.cell
                        )
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The asset tally that statistics read is a true count of the assets.
async fn tally(conn: &DatabaseConnection, assets: &[AssetRow]) -> anyhow::Result<Outcome> {
    let mut out = Outcome::new(
        "ASSET_TALLY",
        "资产统计表",
        "the asset tally the statistics read equals a count of the assets, cell by cell \
         (township, village, kind, status, month of registration)",
    );
    let cm2 = |m2: Option<f64>| (m2.unwrap_or(0.0) * 10_000.0).round() as i64;
    let mut recount: BTreeMap<_, (i64, i64, i64)> = BTreeMap::new();
    for a in assets {
        let key = (
            a.township_id,
            a.village_id.unwrap_or(0),
            a.kind.clone(),
            a.status.clone(),
            a.created_at.format("%Y-%m").to_string(),
        );
        let c = recount.entry(key).or_default();
        c.0 += 1;
        c.1 += cm2(a.floor_area_m2);
        c.2 += cm2(a.land_area_m2);
    }
    let mut tallied: BTreeMap<_, _> = db::check::tally(conn).await?.into_iter().collect();
    let show = |k: &(i64, i64, String, String, String)| {
        format!(
            "township #{}, village #{}, {} {}, {}",
            k.0, k.1, k.2, k.3, k.4
        )
    };
    for (key, counted) in &recount {
        out.examined += 1;
        match tallied.remove(key) {
            Some(t) if t == *counted => {}
            t => out.problem(|| {
                let t = t.unwrap_or_default();
                format!(
                    "{}: the tally says {} assets ({} / {} cm² floor / land), the assets are {} \
                     ({} / {})",
                    show(key),
                    t.0,
                    t.1,
                    t.2,
                    counted.0,
                    counted.1,
                    counted.2
                )
            }),
        }
    }
    for (key, t) in tallied {
        out.examined += 1;
        out.problem(|| {
            format!(
                "{}: the tally says {} assets, there are none",
                show(&key),
                t.0
            )
        });
    }
    Ok(out)
}

/// The tables whose records the audit rule follows, with the entity name their events carry.
/// Each record's own events name it by table and id; a bulk load (an import of the table, the
/// demo's seed, gen-synthetic) writes one event for all it wrote.
const AUDITED: [&str; 14] = [
    "township",
    "village",
    "party",
    "idle_asset",
    "revitalization",
    "demo_site",
    "property_right",
    "loan_application",
    "mortgage",
    "target",
    "collective_organization",
    "collective_member",
    "share_class",
    "distribution",
];

/// Whether `event` is a bulk load that may have written records of `table` without an event of
/// their own.
fn loads(event: &EventStamp, table: &str) -> bool {
    match event.action.as_str() {
        "import" => event.entity == table,
        "seed" => true,
        "generate" => matches!(table, "idle_asset" | "party"),
        _ => false,
    }
}

/// Every record's creation and latest change are in the audit trail, and the versions its
/// events give increase.
async fn audit_trail(conn: &DatabaseConnection) -> anyhow::Result<Outcome> {
    let mut out = Outcome::new(
        "AUDIT_TRAIL",
        "审计记录",
        "every record's creation and latest change have an audit event (its own, or a bulk \
         load's of its table written no earlier), and the versions its events give increase and \
         never pass the record's",
    );
    let events = db::check::events(conn).await?;
    // One pass over the trail: each record's own events, by table and id, in the order written;
    // and the bulk loads (few), kept apart.
    let mut own: HashMap<(&str, i64), Vec<&EventStamp>> = HashMap::new();
    let mut bulk: Vec<&EventStamp> = Vec::new();
    for e in &events {
        match e.entity_id {
            Some(id) => own.entry((e.entity.as_str(), id)).or_default().push(e),
            None => bulk.push(e),
        }
    }
    for table in AUDITED {
        // A bulk load covers the records it wrote: those changed at or before it.
        let last_load = bulk.iter().filter(|e| loads(e, table)).map(|e| e.at).max();
        for r in db::check::stamps(conn, table).await? {
            out.examined += 1;
            let mine = own
                .get(&(table, r.id))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let loaded = |t: DateTime<Utc>| last_load.is_some_and(|at| at >= t);
            if mine.is_empty() && !loaded(r.created_at) {
                out.problem(|| {
                    format!(
                        "{table} #{} (created {}) has no audit event",
                        r.id, r.created_at
                    )
                });
                continue;
            }
            let last_own = mine.iter().map(|e| e.at).max();
            if !loaded(r.updated_at) && last_own.is_none_or(|at| at < r.updated_at) {
                out.problem(|| {
                    format!(
                        "{table} #{} was changed at {} (version {}) with no audit event since{}",
                        r.id,
                        r.updated_at,
                        r.version,
                        last_own.map_or(String::new(), |at| format!(" {at}"))
                    )
                });
                continue;
            }
            let versions: Vec<i64> = mine.iter().filter_map(|e| e.version).collect();
            if versions.windows(2).any(|w| w[1] <= w[0]) {
                out.problem(|| {
                    format!(
                        "{table} #{}: its events' versions do not increase: {versions:?}",
                        r.id
                    )
                });
            } else if let Some(&last) = versions.last()
                && last > i64::from(r.version)
            {
                out.problem(|| {
                    format!(
                        "{table} #{} is at version {}, but an event already gave it version \
                         {last}",
                        r.id, r.version
                    )
                });
            }
        }
    }
    Ok(out)
}
