//! The demo district, loaded from `seeds/`.
//!
//! Townships, villages, parties, idle assets and revitalization records are files in the formats
//! `rural-registry import` reads, and go through that import in-process, one file after the
//! other: a user's validation, row reports and audit events. Demonstration sites and the credit
//! data (policy, banks, products, zones, rights, recommendations, loans) have no import kind and
//! are read from their JSON here, in one transaction of their own.
//!
//! The files are embedded in the binary so `serve` works from any folder. Loading is
//! idempotent: every record has a natural key (division code, household number or credit code,
//! asset code, contract number, site code) and records whose key exists are skipped, so a
//! second run adds nothing. An import file the seed has imported before (its checksum is in the
//! import's audit event) is not read again; one whose records exist, some or all, is imported
//! with `partial`, which adds the missing ones. Each import file is all or nothing, as an import
//! is; a run that stops on a refused file keeps the files before it, and the next run adds what
//! is missing.

use std::collections::{HashMap, HashSet};
use std::io::Cursor;

use anyhow::{Context as _, bail};
use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
    TransactionTrait,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::db::{self, audit, entities};
use crate::domain::assets::AssetStatus;
use crate::domain::demo_sites::{DemoSiteDraft, DemoSiteLevel, Indicator, IndicatorCode};
use crate::services::import::{self, Kind};

mod credit;
mod shares;
mod targets;

/// The files of the importable kinds, in the order they depend on each other.
const IMPORTS: [(Kind, &str, &[u8]); 5] = [
    (
        Kind::Townships,
        "seeds/townships.geojson",
        include_bytes!("../../../seeds/townships.geojson"),
    ),
    (
        Kind::Villages,
        "seeds/villages.geojson",
        include_bytes!("../../../seeds/villages.geojson"),
    ),
    (
        Kind::Parties,
        "seeds/parties.csv",
        include_bytes!("../../../seeds/parties.csv"),
    ),
    (
        Kind::Assets,
        "seeds/assets.geojson",
        include_bytes!("../../../seeds/assets.geojson"),
    ),
    (
        Kind::Revitalizations,
        "seeds/revitalizations.csv",
        include_bytes!("../../../seeds/revitalizations.csv"),
    ),
];
const DEMO_SITES: &str = include_str!("../../../seeds/demo_sites.json");

/// Who the seed's changes are by, in the audit trail.
fn actor() -> audit::Actor {
    audit::Actor {
        label: "seed".into(),
        role: "SYSTEM".into(),
    }
}

/// How many records of each kind a run added.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SeedReport {
    pub townships: usize,
    pub villages: usize,
    pub parties: usize,
    pub assets: usize,
    pub revitalizations: usize,
    pub members: usize,
    pub holdings: usize,
    pub organizations: usize,
    pub share_classes: usize,
    pub contributions: usize,
    pub distributions: usize,
    pub targets: usize,
    pub demo_sites: usize,
    pub policies: usize,
    pub banks: usize,
    pub products: usize,
    pub zones: usize,
    pub rights: usize,
    pub recommendations: usize,
    pub applications: usize,
}

impl SeedReport {
    pub fn total(&self) -> usize {
        self.townships
            + self.villages
            + self.parties
            + self.assets
            + self.revitalizations
            + self.members
            + self.holdings
            + self.organizations
            + self.share_classes
            + self.contributions
            + self.distributions
            + self.targets
            + self.demo_sites
            + self.policies
            + self.banks
            + self.products
            + self.zones
            + self.rights
            + self.recommendations
            + self.applications
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndicatorRow {
    year: i32,
    code: String,
    value: i64,
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoSiteRow {
    code: String,
    name: String,
    level: String,
    designation_year: i32,
    theme: Option<String>,
    operator_key: Option<String>,
    description: Option<String>,
    lon: f64,
    lat: f64,
    asset_codes: Vec<String>,
    indicators: Vec<IndicatorRow>,
}

/// Codes already stored in a table's `code`-like column.
async fn existing<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    column: E::Column,
) -> anyhow::Result<HashSet<String>> {
    let rows: Vec<Option<String>> = E::find()
        .select_only()
        .column(column)
        .into_tuple()
        .all(conn)
        .await
        .map_err(db::StoreError::from)?;
    Ok(rows.into_iter().flatten().collect())
}

/// Loads the demo district, adding only what is missing.
pub async fn load(db: &DatabaseConnection, today: NaiveDate) -> anyhow::Result<SeedReport> {
    let mut report = SeedReport::default();
    let imported = imported(db).await?;
    for (kind, file, bytes) in IMPORTS {
        if imported.contains(&hex::encode(Sha256::digest(bytes))) {
            continue;
        }
        let added = import_file(db, kind, file, bytes, today).await?;
        *match kind {
            Kind::Townships => &mut report.townships,
            Kind::Villages => &mut report.villages,
            Kind::Parties => &mut report.parties,
            Kind::Assets => &mut report.assets,
            Kind::Revitalizations => &mut report.revitalizations,
            Kind::Organizations => &mut report.organizations,
            Kind::ShareClasses => &mut report.share_classes,
            Kind::Members => &mut report.members,
            Kind::Holdings => &mut report.holdings,
            Kind::Targets => &mut report.targets,
        } = added;
    }
    let txn = db.begin().await.map_err(db::StoreError::from)?;
    load_sites(&txn, today, &mut report).await?;
    credit::load(&txn, &mut report).await?;
    shares::load(&txn, today, &mut report).await?;
    targets::load(&txn, today, &mut report).await?;
    if report.total() > 0 {
        audit::record(
            &txn,
            &actor(),
            audit::Change {
                action: "seed",
                entity: "demo_district",
                entity_id: None,
                before: None,
                after: serde_json::to_value(&report).ok(),
                request_id: None,
            },
        )
        .await?;
    }
    txn.commit().await.map_err(db::StoreError::from)?;
    Ok(report)
}

/// The checksums of the files the seed has imported, from the import's audit events.
async fn imported(db: &DatabaseConnection) -> anyhow::Result<HashSet<String>> {
    use entities::audit_event;
    let afters: Vec<Option<String>> = audit_event::Entity::find()
        .select_only()
        .column(audit_event::Column::After)
        .filter(audit_event::Column::Action.eq("import"))
        .filter(audit_event::Column::ActorLabel.eq(actor().label))
        .into_tuple()
        .all(db)
        .await
        .map_err(db::StoreError::from)?;
    Ok(afters
        .into_iter()
        .flatten()
        .filter_map(|after| {
            let after: serde_json::Value = serde_json::from_str(&after).ok()?;
            after["checksum"].as_str().map(str::to_owned)
        })
        .collect())
}

/// Whether a refused row is refused only because its record is stored.
fn exists(e: &import::RowError) -> bool {
    e.exists
}

/// The refused rows a failed seed names.
const SHOWN_ERRORS: usize = 10;

/// Imports one of the files as `rural-registry import` would, all or nothing. An import refuses
/// a file whose records exist: when that is all it refuses, the file is imported again with
/// `partial`, which writes the rows not yet stored. Returns how many records it added.
async fn import_file(
    db: &DatabaseConnection,
    kind: Kind,
    file: &str,
    bytes: &'static [u8],
    today: NaiveDate,
) -> anyhow::Result<usize> {
    let actor = actor();
    let run = |partial: bool| {
        let mode = import::Mode {
            partial,
            ..import::Mode::default()
        };
        let who = import::Importing {
            actor: &actor,
            file_name: file,
            today,
            job: None,
        };
        import::run(db, kind, Cursor::new(bytes), mode, who, |_, _| {})
    };
    let failed = |e: db::StoreError| anyhow::Error::from(e).context(format!("importing {file}"));
    let mut report = run(false).await.map_err(failed)?;
    if !report.errors.is_empty() && report.errors.iter().all(exists) {
        report = run(true).await.map_err(failed)?;
    }
    if report.errors.iter().all(exists) {
        return Ok(report.inserted);
    }
    let refused: Vec<&import::RowError> = report.errors.iter().filter(|e| !exists(e)).collect();
    let mut rows: Vec<String> = refused
        .iter()
        .take(SHOWN_ERRORS)
        .map(|e| {
            format!(
                "row {}: {} {} {:?}: {}",
                e.row, e.code, e.column, e.value, e.message
            )
        })
        .collect();
    if refused.len() > SHOWN_ERRORS {
        rows.push(format!("and {} more", refused.len() - SHOWN_ERRORS));
    }
    bail!("{file} is refused by the import:\n{}", rows.join("\n"))
}

/// Demonstration sites with their assets and indicators, placed by their location.
async fn load_sites(
    conn: &impl ConnectionTrait,
    today: NaiveDate,
    report: &mut SeedReport,
) -> anyhow::Result<()> {
    use entities::demo_site;
    let locator = db::places::locator(conn).await?;
    let owners = party_ids(conn).await?;
    let rows: Vec<DemoSiteRow> = serde_json::from_str(DEMO_SITES).context("demo_sites.json")?;
    let known = existing::<demo_site::Entity>(conn, demo_site::Column::Code).await?;
    for row in rows {
        if known.contains(&row.code) {
            continue;
        }
        let context = format!("demo_sites.json: site {}", row.code);
        let site = DemoSiteDraft {
            code: row.code,
            name: row.name,
            level: DemoSiteLevel::parse(&row.level).with_context(|| context.clone())?,
            designation_year: row.designation_year,
            theme: row.theme,
            description: row.description,
            lon: row.lon,
            lat: row.lat,
        }
        .validate(today)
        .with_context(|| context.clone())?;
        let place = locator
            .locate(site.location)
            .with_context(|| format!("{context}: the location is outside every township"))?;
        let operator = match &row.operator_key {
            Some(key) => Some(
                *owners
                    .get(key)
                    .with_context(|| format!("{context}: unknown operator {key}"))?,
            ),
            None => None,
        };
        let stored = db::demo_sites::insert(conn, &site, place, operator).await?;
        for code in &row.asset_codes {
            let asset = db::assets::by_code(conn, code)
                .await?
                .with_context(|| format!("{context}: unknown asset {code}"))?;
            if asset.status != AssetStatus::Revitalized.as_str() {
                bail!(
                    "{context}: asset {code} is {}, not REVITALIZED",
                    asset.status
                );
            }
            db::demo_sites::link_asset(conn, stored.id, asset.id).await?;
        }
        for i in row.indicators {
            let code = IndicatorCode::parse(&i.code).with_context(|| context.clone())?;
            let indicator = Indicator::parse(i.year, code, i.value, i.source.as_deref(), today)
                .with_context(|| context.clone())?;
            db::demo_sites::insert_indicator(conn, stored.id, &indicator).await?;
        }
        report.demo_sites += 1;
    }
    Ok(())
}

/// Party ids by natural key (household number or credit code).
async fn party_ids(conn: &impl ConnectionTrait) -> anyhow::Result<HashMap<String, i64>> {
    use entities::party;
    let rows: Vec<(i64, Option<String>, Option<String>)> = party::Entity::find()
        .select_only()
        .column(party::Column::Id)
        .column(party::Column::HouseholdNo)
        .column(party::Column::CreditCode)
        .into_tuple()
        .all(conn)
        .await
        .map_err(db::StoreError::from)?;
    let mut out = HashMap::new();
    for (id, household, credit) in rows {
        for key in [household, credit].into_iter().flatten() {
            out.insert(key, id);
        }
    }
    Ok(out)
}
