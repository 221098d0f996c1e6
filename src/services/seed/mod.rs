//! The demo district, loaded from `seeds/` through the same validation as user input.
//!
//! The files are embedded in the binary so `serve` works from any folder. Loading is
//! idempotent: every record has a natural key (division code, household number or credit code,
//! asset code, contract number, site code) and records whose key exists are skipped, so a
//! second run adds nothing. Everything is one transaction: a bad file leaves no trace.

use std::collections::{HashMap, HashSet};

use anyhow::{Context as _, anyhow, bail};
use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, QuerySelect, TransactionTrait};
use serde::Deserialize;

use crate::db::{self, audit, entities};
use crate::domain::assets::{self, AssetStatus, IdleAssetDraft};
use crate::domain::demo_sites::{DemoSiteDraft, DemoSiteLevel, Indicator, IndicatorCode};
use crate::domain::parties::{PartyDraft, PartyKind};
use crate::domain::places::{NewTownship, NewVillage};
use crate::domain::revitalization::{RevenueSplit, RevitalizationDraft, RevitalizationMode};

mod credit;

const TOWNSHIPS: &str = include_str!("../../../seeds/townships.geojson");
const VILLAGES: &str = include_str!("../../../seeds/villages.geojson");
const PARTIES: &str = include_str!("../../../seeds/parties.json");
const ASSETS: &str = include_str!("../../../seeds/assets.json");
const REVITALIZATIONS: &str = include_str!("../../../seeds/revitalizations.json");
const DEMO_SITES: &str = include_str!("../../../seeds/demo_sites.json");

/// How many records of each kind a run added.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SeedReport {
    pub townships: usize,
    pub villages: usize,
    pub parties: usize,
    pub assets: usize,
    pub revitalizations: usize,
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
struct PartyRow {
    key: String,
    kind: String,
    name: String,
    household_no: Option<String>,
    credit_code: Option<String>,
    id_number: Option<String>,
    phone: Option<String>,
    village_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssetRow {
    code: String,
    kind: String,
    owner_key: String,
    lon: f64,
    lat: f64,
    footprint: Option<geojson::Geometry>,
    floor_area_m2: Option<f64>,
    structure: Option<String>,
    year_built: Option<i32>,
    condition: Option<String>,
    idle_since: Option<NaiveDate>,
    idle_cause: Option<String>,
    owner_willingness: Option<String>,
    status: String,
    address: Option<String>,
}

#[derive(Deserialize)]
struct SplitRow {
    collective: f64,
    operator: f64,
    farmer: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RevitalizationRow {
    contract_no: String,
    asset_code: String,
    mode: String,
    end_use: Option<String>,
    counterparty_key: Option<String>,
    start_date: NaiveDate,
    term_months: Option<i32>,
    annual_rent_fen: Option<i64>,
    investment_fen: Option<i64>,
    jobs_created: Option<i32>,
    compensation_fen: Option<i64>,
    revenue_split: Option<SplitRow>,
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

fn features(text: &str, file: &str) -> anyhow::Result<Vec<geojson::Feature>> {
    let collection: geojson::FeatureCollection = text
        .parse()
        .with_context(|| format!("{file} is not a GeoJSON FeatureCollection"))?;
    Ok(collection.features)
}

fn property(feature: &geojson::Feature, name: &str) -> anyhow::Result<String> {
    feature
        .property(name)
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("a feature has no text property {name:?}"))
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
    let txn = db.begin().await.map_err(db::StoreError::from)?;
    let report = load_in(&txn, today).await?;
    if report.total() > 0 {
        audit::record(
            &txn,
            &audit::Actor {
                label: "seed".into(),
                role: "SYSTEM".into(),
            },
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

async fn load_in(conn: &impl ConnectionTrait, today: NaiveDate) -> anyhow::Result<SeedReport> {
    use entities::*;
    let mut report = SeedReport::default();

    // Townships and villages, then the locator that places everything else.
    let known = existing::<township::Entity>(conn, township::Column::Code).await?;
    for f in features(TOWNSHIPS, "townships.geojson")? {
        let code = property(&f, "code")?;
        if known.contains(&code) {
            continue;
        }
        let geometry = f
            .geometry
            .as_ref()
            .with_context(|| format!("township {code} has no boundary"))?;
        let t = NewTownship::parse(&code, &property(&f, "name")?, geometry)
            .with_context(|| format!("townships.geojson: township {code}"))?;
        db::places::insert_township(conn, &t).await?;
        report.townships += 1;
    }
    let townships: HashMap<String, i64> = db::places::all_townships(conn)
        .await?
        .into_iter()
        .map(|t| (t.code, t.id))
        .collect();

    let known = existing::<village::Entity>(conn, village::Column::Code).await?;
    for f in features(VILLAGES, "villages.geojson")? {
        let code = property(&f, "code")?;
        if known.contains(&code) {
            continue;
        }
        let township_code = property(&f, "townshipCode")?;
        let township_id = *townships
            .get(&township_code)
            .with_context(|| format!("village {code}: unknown township {township_code}"))?;
        let v = NewVillage::parse(
            &township_code,
            &code,
            &property(&f, "name")?,
            f.geometry.as_ref(),
            None,
        )
        .with_context(|| format!("villages.geojson: village {code}"))?;
        db::places::insert_village(conn, township_id, &v).await?;
        report.villages += 1;
    }
    let locator = db::places::locator(conn).await?;
    let villages: HashMap<String, i64> = db::places::all_villages(conn)
        .await?
        .into_iter()
        .map(|v| (v.code, v.id))
        .collect();

    // Parties.
    let rows: Vec<PartyRow> = serde_json::from_str(PARTIES).context("parties.json")?;
    let mut known: HashSet<String> =
        existing::<party::Entity>(conn, party::Column::HouseholdNo).await?;
    known.extend(existing::<party::Entity>(conn, party::Column::CreditCode).await?);
    for row in rows {
        if known.contains(&row.key) {
            continue;
        }
        let p = PartyDraft {
            kind: Some(PartyKind::parse(&row.kind)?),
            name: row.name,
            household_no: row.household_no,
            credit_code: row.credit_code,
            id_number: row.id_number,
            phone: row.phone,
        }
        .validate()
        .with_context(|| format!("parties.json: party {}", row.key))?;
        let village_id = match &row.village_code {
            Some(code) => Some(
                *villages
                    .get(code)
                    .with_context(|| format!("party {}: unknown village {code}", row.key))?,
            ),
            None => None,
        };
        db::parties::insert(conn, &p, village_id).await?;
        report.parties += 1;
    }

    // Idle assets, placed by their location.
    let rows: Vec<AssetRow> = serde_json::from_str(ASSETS).context("assets.json")?;
    let known = existing::<idle_asset::Entity>(conn, idle_asset::Column::Code).await?;
    let owners = party_ids(conn).await?;
    for row in rows {
        if known.contains(&row.code) {
            continue;
        }
        let code = row.code.clone();
        let context = || format!("assets.json: asset {code}");
        let attrs = IdleAssetDraft {
            code: row.code,
            kind: Some(assets::AssetKind::parse(&row.kind).with_context(context)?),
            lon: row.lon,
            lat: row.lat,
            footprint: row.footprint,
            land_area_m2: None,
            floor_area_m2: row.floor_area_m2,
            structure: row
                .structure
                .as_deref()
                .map(assets::Structure::parse)
                .transpose()
                .with_context(context)?,
            year_built: row.year_built,
            condition: row
                .condition
                .as_deref()
                .map(assets::Condition::parse)
                .transpose()
                .with_context(context)?,
            idle_since: row.idle_since,
            idle_cause: row
                .idle_cause
                .as_deref()
                .map(assets::IdleCause::parse)
                .transpose()
                .with_context(context)?,
            owner_willingness: row
                .owner_willingness
                .as_deref()
                .map(assets::OwnerWillingness::parse)
                .transpose()
                .with_context(context)?,
            address: row.address,
        }
        .validate(today)
        .with_context(context)?;
        let status = AssetStatus::parse(&row.status).with_context(context)?;
        let place = locator
            .locate(attrs.location)
            .with_context(|| format!("{}: the location is outside every township", context()))?;
        let owner = *owners
            .get(&row.owner_key)
            .with_context(|| format!("{}: unknown owner {}", context(), row.owner_key))?;
        db::assets::insert(conn, &attrs, status, owner, place).await?;
        report.assets += 1;
    }

    // Revitalization records.
    let rows: Vec<RevitalizationRow> =
        serde_json::from_str(REVITALIZATIONS).context("revitalizations.json")?;
    let known =
        existing::<revitalization::Entity>(conn, revitalization::Column::ContractNo).await?;
    for row in rows {
        if known.contains(&row.contract_no) {
            continue;
        }
        let context = format!("revitalizations.json: contract {}", row.contract_no);
        let asset = db::assets::by_code(conn, &row.asset_code)
            .await?
            .with_context(|| format!("{context}: unknown asset {}", row.asset_code))?;
        let split = row
            .revenue_split
            .map(|s| RevenueSplit::from_fractions(s.collective, s.operator, s.farmer))
            .transpose()
            .with_context(|| context.clone())?;
        let r = RevitalizationDraft {
            contract_no: Some(row.contract_no),
            mode: RevitalizationMode::parse(&row.mode).with_context(|| context.clone())?,
            end_use: row.end_use,
            start_date: row.start_date,
            term_months: row.term_months,
            annual_rent_fen: row.annual_rent_fen,
            investment_fen: row.investment_fen,
            compensation_fen: row.compensation_fen,
            jobs_created: row.jobs_created,
            split,
        }
        .validate(AssetStatus::parse(&asset.status)?)
        .with_context(|| context.clone())?;
        let counterparty = match &row.counterparty_key {
            Some(key) => Some(
                *owners
                    .get(key)
                    .with_context(|| format!("{context}: unknown counterparty {key}"))?,
            ),
            None => None,
        };
        db::revitalization::insert(conn, asset.id, counterparty, &r).await?;
        report.revitalizations += 1;
    }

    // Demonstration sites with their assets and indicators.
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
    credit::load(conn, &mut report).await?;
    Ok(report)
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
