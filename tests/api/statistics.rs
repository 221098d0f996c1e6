//! The district's figures against a brute-force recount from the raw tables, on both engines;
//! small cells hidden from anonymous callers and shown to tokens.

use std::collections::{BTreeMap, HashMap, HashSet};

use rural_registry::db::entities::{
    bank, credit_line, idle_asset, loan_application, loan_event, mortgage, revitalization,
    township, village,
};
use rural_registry::domain::access::Role;
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_apps};

/// A revitalization group as recounted: records, owners, investment, rent, jobs, label.
type RevitalizationGroup = (i64, HashSet<i64>, i64, i64, i64, Option<String>);

const ASSET_FIELDS: &str = "key label count floorAreaSquareMeters landAreaSquareMeters
    byStatus { status count floorAreaSquareMeters landAreaSquareMeters } revitalized revitalizedShare";
const REVITALIZATION_FIELDS: &str =
    "key label count householdsBenefited investmentFen annualRentFen jobsCreated";

/// What the recount expects of one asset group: count, floor, land by status.
#[derive(Default, Debug)]
struct Expected {
    label: Option<String>,
    by_status: BTreeMap<String, (i64, f64, f64)>,
}

/// An area as the figures sum it: each asset's rounded to the square centimetre.
fn to_cm2(m2: Option<f64>) -> f64 {
    (m2.unwrap_or(0.0) * 10_000.0).round() / 10_000.0
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

fn check_assets(answer: &Value, expected: &Expected, what: &str) {
    let mut total = (0, 0.0, 0.0);
    for s in answer["byStatus"].as_array().expect("byStatus") {
        let status = s["status"].as_str().expect("status");
        let (n, f, l) = expected
            .by_status
            .get(status)
            .copied()
            .unwrap_or((0, 0.0, 0.0));
        total = (total.0 + n, total.1 + f, total.2 + l);
        assert_eq!(s["count"].as_i64(), Some(n), "{what} {status}: {answer}");
        assert!(
            close(s["floorAreaSquareMeters"].as_f64().expect("floor"), f),
            "{what}: {answer}"
        );
        assert!(
            close(s["landAreaSquareMeters"].as_f64().expect("land"), l),
            "{what}: {answer}"
        );
    }
    assert_eq!(answer["count"].as_i64(), Some(total.0), "{what}: {answer}");
    assert!(close(
        answer["floorAreaSquareMeters"].as_f64().expect("floor"),
        total.1
    ));
    assert!(close(
        answer["landAreaSquareMeters"].as_f64().expect("land"),
        total.2
    ));
    let n = |s: &str| expected.by_status.get(s).map_or(0, |c| c.0);
    let revitalized = n("REVITALIZED") + n("RELINQUISHED");
    let base = total.0 - n("WITHDRAWN");
    assert_eq!(answer["revitalized"].as_i64(), Some(revitalized), "{what}");
    if base > 0 {
        let share = answer["revitalizedShare"].as_f64().expect("a share");
        assert!(
            close(share, revitalized as f64 / base as f64),
            "{what}: {answer}"
        );
    } else {
        assert!(answer["revitalizedShare"].is_null(), "{what}: {answer}");
    }
    assert_eq!(
        answer["label"].as_str(),
        expected.label.as_deref(),
        "{what}"
    );
}

struct Raw {
    assets: Vec<idle_asset::Model>,
    revitalizations: Vec<revitalization::Model>,
    townships: HashMap<i64, township::Model>,
    villages: HashMap<i64, village::Model>,
}

async fn raw(app: &TestApp) -> Raw {
    Raw {
        assets: idle_asset::Entity::find()
            .all(&app.db)
            .await
            .expect("assets"),
        revitalizations: revitalization::Entity::find()
            .all(&app.db)
            .await
            .expect("revitalizations"),
        townships: township::Entity::find()
            .all(&app.db)
            .await
            .expect("townships")
            .into_iter()
            .map(|t| (t.id, t))
            .collect(),
        villages: village::Entity::find()
            .all(&app.db)
            .await
            .expect("villages")
            .into_iter()
            .map(|v| (v.id, v))
            .collect(),
    }
}

impl Raw {
    /// The asset groups of `dimension` over `assets`, by key.
    fn asset_groups(
        &self,
        assets: &[&idle_asset::Model],
        dimension: &str,
    ) -> BTreeMap<String, Expected> {
        let mut out: BTreeMap<String, Expected> = BTreeMap::new();
        for a in assets {
            let (key, label) = match dimension {
                "TOWNSHIP" => {
                    let t = &self.townships[&a.township_id];
                    (t.code.clone(), Some(t.name.clone()))
                }
                "VILLAGE" => match a.village_id {
                    Some(v) => {
                        let v = &self.villages[&v];
                        (v.code.clone(), Some(v.name.clone()))
                    }
                    None => (String::new(), None),
                },
                "KIND" => (a.kind.clone(), None),
                "STATUS" => (a.status.clone(), None),
                "REGISTRATION_YEAR" => (a.created_at.format("%Y").to_string(), None),
                "REGISTRATION_MONTH" => (a.created_at.format("%Y-%m").to_string(), None),
                "" => (String::new(), None),
                other => panic!("no dimension {other}"),
            };
            let e = out.entry(key).or_default();
            e.label = label;
            let c = e.by_status.entry(a.status.clone()).or_insert((0, 0.0, 0.0));
            c.0 += 1;
            c.1 += to_cm2(a.floor_area_m2);
            c.2 += to_cm2(a.land_area_m2);
        }
        out
    }

    /// Revitalization groups: count, owners, investment, rent, jobs, label.
    fn revitalization_groups(
        &self,
        assets: &[&idle_asset::Model],
        dimension: &str,
    ) -> BTreeMap<String, RevitalizationGroup> {
        let by_id: HashMap<i64, &&idle_asset::Model> = assets.iter().map(|a| (a.id, a)).collect();
        let mut out: BTreeMap<String, RevitalizationGroup> = BTreeMap::new();
        for r in &self.revitalizations {
            let Some(a) = by_id.get(&r.asset_id) else {
                continue;
            };
            let (key, label) = match dimension {
                "MODE" => (r.mode.clone(), None),
                "TOWNSHIP" => {
                    let t = &self.townships[&a.township_id];
                    (t.code.clone(), Some(t.name.clone()))
                }
                "VILLAGE" => match a.village_id {
                    Some(v) => {
                        let v = &self.villages[&v];
                        (v.code.clone(), Some(v.name.clone()))
                    }
                    None => (String::new(), None),
                },
                "START_YEAR" => (r.start_date.format("%Y").to_string(), None),
                "START_MONTH" => (r.start_date.format("%Y-%m").to_string(), None),
                "" => (String::new(), None),
                other => panic!("no dimension {other}"),
            };
            let e = out.entry(key).or_default();
            e.0 += 1;
            e.1.insert(a.owner_id);
            e.2 += r.investment_fen.unwrap_or(0);
            e.3 += r.annual_rent_fen.unwrap_or(0);
            e.4 += i64::from(r.jobs_created.unwrap_or(0));
            e.5 = label;
        }
        out
    }
}

fn check_revitalizations(answer: &Value, e: &RevitalizationGroup, what: &str) {
    assert_eq!(answer["count"].as_i64(), Some(e.0), "{what}: {answer}");
    assert_eq!(
        answer["householdsBenefited"].as_i64(),
        Some(e.1.len() as i64),
        "{what}: {answer}"
    );
    assert_eq!(
        answer["investmentFen"].as_i64(),
        Some(e.2),
        "{what}: {answer}"
    );
    assert_eq!(
        answer["annualRentFen"].as_i64(),
        Some(e.3),
        "{what}: {answer}"
    );
    assert_eq!(
        answer["jobsCreated"].as_i64(),
        Some(e.4),
        "{what}: {answer}"
    );
    assert_eq!(answer["label"].as_str(), e.5.as_deref(), "{what}");
}

/// Every figure of `scope` ("district", or a township's or village's `statistics`) against the
/// recount of `assets`, the scope's assets.
async fn check_scope(app: &TestApp, raw: &Raw, query_scope: &str, assets: &[&idle_asset::Model]) {
    for dimension in [
        "",
        "TOWNSHIP",
        "VILLAGE",
        "KIND",
        "STATUS",
        "REGISTRATION_YEAR",
        "REGISTRATION_MONTH",
    ] {
        let field = if dimension.is_empty() {
            format!("assets {{ {ASSET_FIELDS} }}")
        } else {
            format!("assetsBy(dimension: {dimension}) {{ {ASSET_FIELDS} }}")
        };
        let r = app
            .graphql(&query_scope.replace("FIELDS", &field), json!({}))
            .await;
        assert!(r["errors"].is_null(), "{r}");
        let figures = find_figures(&r);
        let expected = raw.asset_groups(assets, dimension);
        let what = format!("{}: {query_scope} {dimension}", app.engine);
        if dimension.is_empty() {
            let total = expected.into_values().next().unwrap_or_default();
            check_assets(figures, &total, &what);
            continue;
        }
        let groups = figures.as_array().expect("groups");
        assert_eq!(
            groups
                .iter()
                .map(|g| g["key"].as_str().expect("key").to_owned())
                .collect::<Vec<_>>(),
            expected.keys().cloned().collect::<Vec<_>>(),
            "{what}"
        );
        for g in groups {
            let key = g["key"].as_str().expect("key");
            check_assets(g, &expected[key], &format!("{what} {key}"));
        }
    }
    for dimension in [
        "",
        "MODE",
        "TOWNSHIP",
        "VILLAGE",
        "START_YEAR",
        "START_MONTH",
    ] {
        let field = if dimension.is_empty() {
            format!("revitalizations {{ {REVITALIZATION_FIELDS} }}")
        } else {
            format!("revitalizationsBy(dimension: {dimension}) {{ {REVITALIZATION_FIELDS} }}")
        };
        let r = app
            .graphql(&query_scope.replace("FIELDS", &field), json!({}))
            .await;
        assert!(r["errors"].is_null(), "{r}");
        let figures = find_figures(&r);
        let expected = raw.revitalization_groups(assets, dimension);
        let what = format!("{}: {query_scope} {dimension}", app.engine);
        if dimension.is_empty() {
            let total = expected.into_values().next().unwrap_or_default();
            check_revitalizations(figures, &total, &what);
            continue;
        }
        let groups = figures.as_array().expect("groups");
        assert_eq!(groups.len(), expected.len(), "{what}: {r}");
        for g in groups {
            let key = g["key"].as_str().expect("key");
            check_revitalizations(g, &expected[key], &format!("{what} {key}"));
        }
    }
}

/// The one figure field of a response, wherever the scope put it.
fn find_figures(r: &Value) -> &Value {
    let mut v = &r["data"];
    while let Some(obj) = v.as_object() {
        let Some((_, next)) = obj.iter().next() else {
            break;
        };
        if next.is_array()
            || next.get("byStatus").is_some()
            || next.get("householdsBenefited").is_some()
        {
            return next;
        }
        v = next;
    }
    panic!("no figures in {r}");
}

#[tokio::test]
async fn every_figure_matches_a_recount_from_the_records() {
    for app in spawn_apps().await {
        let raw = raw(&app).await;
        let all: Vec<&idle_asset::Model> = raw.assets.iter().collect();
        check_scope(&app, &raw, "{ district { FIELDS } }", &all).await;

        let township = raw
            .townships
            .values()
            .min_by_key(|t| &t.code)
            .expect("a township");
        let of_township: Vec<&idle_asset::Model> = raw
            .assets
            .iter()
            .filter(|a| a.township_id == township.id)
            .collect();
        let q = format!(
            "{{ township(code: \"{}\") {{ statistics {{ FIELDS }} }} }}",
            township.code
        );
        check_scope(&app, &raw, &q, &of_township).await;

        let village = raw
            .villages
            .values()
            .filter(|v| raw.assets.iter().any(|a| a.village_id == Some(v.id)))
            .min_by_key(|v| &v.code)
            .expect("a village with assets");
        let of_village: Vec<&idle_asset::Model> = raw
            .assets
            .iter()
            .filter(|a| a.village_id == Some(village.id))
            .collect();
        let q = format!(
            "{{ village(code: \"{}\") {{ statistics {{ FIELDS }} }} }}",
            village.code
        );
        check_scope(&app, &raw, &q, &of_village).await;
    }
}

#[tokio::test]
async fn small_cells_are_hidden_from_anonymous_callers_only() {
    let query = "{ district { assetsBy(dimension: VILLAGE) { key count byStatus { count } }
                   revitalizationsBy(dimension: VILLAGE) { key count investmentFen } } }";
    for app in spawn_apps().await {
        let anonymous = app.graphql_as(None, query, json!({})).await;
        assert!(anonymous["errors"].is_null(), "{anonymous}");
        let suppressed = anonymous["extensions"]["suppressed"]
            .as_array()
            .expect("the hidden cells are listed");
        assert!(!suppressed.is_empty());
        let groups = anonymous["data"]["district"]["assetsBy"]
            .as_array()
            .expect("groups");
        let mut hidden = 0;
        for g in groups {
            for s in g["byStatus"].as_array().expect("statuses") {
                match s["count"].as_i64() {
                    None => hidden += 1,
                    Some(n) => assert!(n == 0 || n >= 3, "{}: {g}", app.engine),
                }
            }
        }
        assert!(
            hidden > 0,
            "{}: the demo has villages with one or two assets of a status",
            app.engine
        );
        for g in anonymous["data"]["district"]["revitalizationsBy"]
            .as_array()
            .expect("groups")
        {
            assert!(g["count"].is_null() == g["investmentFen"].is_null(), "{g}");
        }

        let cadre = app.token(Role::Cadre, Some("369901101000"), None).await;
        for token in [app.admin.clone(), cadre] {
            let r = app.graphql_as(Some(&token), query, json!({})).await;
            assert!(r["extensions"]["suppressed"].is_null(), "{r}");
            let text = r["data"].to_string();
            assert!(
                !text.contains("null"),
                "{}: a token sees every cell: {r}",
                app.engine
            );
        }
    }
}

/// A recount of lending from the raw tables: (applications, applied, approvals, approved,
/// disbursed loans, disbursed, repaid, outstanding, defaulted, defaulted owed, mortgages,
/// mortgaged, credit lines, granted), by a key of the loan's bank id or first disbursement.
async fn lending_recount(
    app: &TestApp,
    bank: Option<i64>,
    key: impl Fn(&loan_application::Model, Option<chrono::NaiveDate>) -> String,
) -> BTreeMap<String, [i64; 14]> {
    let loans = loan_application::Entity::find()
        .all(&app.db)
        .await
        .expect("loans");
    let events = loan_event::Entity::find()
        .all(&app.db)
        .await
        .expect("events");
    let mortgages = mortgage::Entity::find()
        .all(&app.db)
        .await
        .expect("mortgages");
    let lines = credit_line::Entity::find()
        .all(&app.db)
        .await
        .expect("lines");
    let mut out: BTreeMap<String, [i64; 14]> = BTreeMap::new();
    for l in loans.iter().filter(|l| bank.is_none_or(|b| b == l.bank_id)) {
        let of = |kind: &str| -> i64 {
            events
                .iter()
                .filter(|e| e.application_id == l.id && e.kind == kind)
                .filter_map(|e| e.amount_fen)
                .sum()
        };
        let first = events
            .iter()
            .filter(|e| e.application_id == l.id && e.kind == "DISBURSEMENT")
            .map(|e| e.occurred_on)
            .min();
        let (disbursed, repaid) = (of("DISBURSEMENT"), of("REPAYMENT"));
        let owed = (disbursed - repaid).max(0);
        let c = out.entry(key(l, first)).or_default();
        c[0] += 1;
        c[1] += l.amount_fen;
        if !["SUBMITTED", "REJECTED"].contains(&l.status.as_str()) {
            c[2] += 1;
            c[3] += l.amount_fen;
        }
        if disbursed > 0 {
            c[4] += 1;
        }
        c[5] += disbursed;
        c[6] += repaid;
        if ["DISBURSED", "DEFAULTED"].contains(&l.status.as_str()) {
            c[7] += owed;
        }
        if ["DEFAULTED", "DISPOSED"].contains(&l.status.as_str()) {
            c[8] += 1;
            c[9] += owed;
        }
    }
    for m in mortgages
        .iter()
        .filter(|m| m.status == "ACTIVE" && bank.is_none_or(|b| b == m.bank_id))
    {
        let l = loans
            .iter()
            .find(|l| l.id == m.application_id)
            .expect("its loan");
        let c = out.entry(key(l, Some(m.registered_on))).or_default();
        c[10] += 1;
        c[11] += m.amount_fen;
    }
    for g in lines.iter().filter(|g| bank.is_none_or(|b| b == g.bank_id)) {
        // A credit line is no loan: it has no loan status.
        let pseudo = loan_application::Model {
            bank_id: g.bank_id,
            status: String::new(),
            ..loans.first().expect("a loan").clone()
        };
        let c = out.entry(key(&pseudo, Some(g.granted_on))).or_default();
        c[12] += 1;
        c[13] += g.amount_fen;
    }
    out
}

fn lending_answer(g: &Value) -> [i64; 14] {
    let n = |f: &str| g[f].as_i64().unwrap_or_else(|| panic!("{f} in {g}"));
    [
        n("applications"),
        n("appliedFen"),
        n("approvals"),
        n("approvedFen"),
        n("disbursedLoans"),
        n("disbursedFen"),
        n("repaidFen"),
        n("outstandingFen"),
        n("defaulted"),
        n("defaultedFen"),
        n("activeMortgages"),
        n("mortgagedFen"),
        n("creditLines"),
        n("creditLineFen"),
    ]
}

const LENDING_FIELDS: &str =
    "key label applications appliedFen approvals approvedFen disbursedLoans
    disbursedFen repaidFen outstandingFen defaulted defaultedFen nplRatio activeMortgages
    mortgagedFen creditLines creditLineFen";

#[tokio::test]
async fn lending_figures_match_a_recount_and_a_bank_sees_only_its_own() {
    for app in spawn_apps().await {
        let banks = bank::Entity::find().all(&app.db).await.expect("banks");
        let q = format!(
            "{{ district {{ loans {{ {LENDING_FIELDS} }} byBank: loansBy(dimension: BANK) {{ {LENDING_FIELDS} }}
                byYear: loansBy(dimension: DISBURSEMENT_YEAR) {{ {LENDING_FIELDS} }} }} }}"
        );
        let r = app.graphql(&q, json!({})).await;
        assert!(r["errors"].is_null(), "{r}");
        let d = &r["data"]["district"];
        let total = lending_recount(&app, None, |_, _| String::new()).await;
        assert_eq!(
            lending_answer(&d["loans"]),
            total[""],
            "{}: {r}",
            app.engine
        );
        assert!(total[""][0] > 0, "the demo has loans");
        let code = |id: i64| {
            banks
                .iter()
                .find(|b| b.id == id)
                .expect("bank")
                .code
                .clone()
        };
        let by_bank = lending_recount(&app, None, |l, _| code(l.bank_id)).await;
        let answered: BTreeMap<String, [i64; 14]> = d["byBank"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| {
                (
                    g["key"].as_str().expect("key").to_owned(),
                    lending_answer(g),
                )
            })
            .collect();
        assert_eq!(answered, by_bank, "{}", app.engine);
        let by_year = lending_recount(&app, None, |_, on| {
            on.map(|d| d.format("%Y").to_string()).unwrap_or_default()
        })
        .await;
        let answered: BTreeMap<String, [i64; 14]> = d["byYear"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| {
                (
                    g["key"].as_str().expect("key").to_owned(),
                    lending_answer(g),
                )
            })
            .collect();
        assert_eq!(answered, by_year, "{}", app.engine);
        let t = total[""];
        match d["loans"]["nplRatio"].as_f64() {
            Some(ratio) => assert!(close(ratio, t[9].min(t[7]) as f64 / t[7] as f64)),
            None => assert_eq!(t[7], 0),
        }

        // A bank sees its own business only, also by status (its portfolio); anonymous callers
        // none.
        for b in &banks {
            let token = app.token(Role::Bank, None, Some(&b.code)).await;
            let r = app
                .graphql_as(
                    Some(&token),
                    &format!(
                        "{{ district {{ loans {{ {LENDING_FIELDS} }}
                        byStatus: loansBy(dimension: STATUS) {{ {LENDING_FIELDS} }} }} }}"
                    ),
                    json!({}),
                )
                .await;
            assert!(r["errors"].is_null(), "{r}");
            let own = lending_recount(&app, Some(b.id), |_, _| String::new()).await;
            let expected = own.get("").copied().unwrap_or_default();
            assert_eq!(
                lending_answer(&r["data"]["district"]["loans"]),
                expected,
                "{}: {}",
                app.engine,
                b.code
            );
            let by_status = lending_recount(&app, Some(b.id), |l, _| l.status.clone()).await;
            let answered: BTreeMap<String, [i64; 14]> = r["data"]["district"]["byStatus"]
                .as_array()
                .expect("groups")
                .iter()
                .map(|g| {
                    (
                        g["key"].as_str().expect("key").to_owned(),
                        lending_answer(g),
                    )
                })
                .collect();
            assert_eq!(answered, by_status, "{}: {}", app.engine, b.code);
            assert!(
                answered.len() > 1,
                "{}: {} has loans in several states",
                app.engine,
                b.code
            );
        }
        let r = app
            .graphql_as(None, "{ district { loans { applications } } }", json!({}))
            .await;
        assert_eq!(
            crate::helpers::error_code(&r),
            Some("UNAUTHENTICATED"),
            "{r}"
        );
    }
}

/// splitmix64, so the random writes are the same every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// 16 clients register assets, change statuses and record revitalizations at once; then every
/// figure is recounted from the raw tables.
#[tokio::test]
async fn figures_match_a_recount_after_random_writes_from_16_concurrent_clients() {
    const REGISTER: &str = "mutation ($i: RegisterIdleAssetInput!) { registerIdleAsset(input: $i) { idleAsset { code } } }";
    const STATUS: &str = "mutation ($i: ChangeIdleAssetStatusInput!) { changeIdleAssetStatus(input: $i) { idleAsset { status } } }";
    const REVITALIZE: &str = "mutation ($i: RecordRevitalizationInput!) { recordRevitalization(input: $i) { revitalization { id } } }";
    for app in spawn_apps().await {
        let before = raw(&app).await;
        let owner = json!(rural_registry::graphql::common::ids::Kind::Party.id(1));
        let app = &app;
        let before = &before;
        let client = |c: u64| {
            let owner = owner.clone();
            async move {
                let mut rng = Rng(0x57A7_0000 + c);
                let mut written = 0;
                for n in 0..10 {
                    let base = &before.assets[rng.below(before.assets.len())];
                    let r = match rng.below(3) {
                        0 => {
                            let jitter = |r: &mut Rng| (r.below(200) as f64 - 100.0) * 1e-6;
                            let input = json!({
                                "code": format!("STAT-{c}-{n}"), "kind": "IDLE_FARMHOUSE", "ownerId": owner,
                                "longitude": base.lon + jitter(&mut rng), "latitude": base.lat + jitter(&mut rng),
                                "floorAreaSquareMeters": 50 + rng.below(300),
                            });
                            app.graphql(REGISTER, json!({ "i": input })).await
                        }
                        1 => {
                            let q = format!(
                                "{{ idleAsset(code: \"{}\") {{ id version }} }}",
                                base.code
                            );
                            let a = app.graphql(&q, json!({})).await;
                            let a = &a["data"]["idleAsset"];
                            let to = [
                                "IDENTIFIED",
                                "VERIFIED",
                                "LISTED",
                                "NEGOTIATING",
                                "REVITALIZED",
                                "WITHDRAWN",
                            ][rng.below(6)];
                            let input =
                                json!({ "id": a["id"], "version": a["version"], "status": to });
                            app.graphql(STATUS, json!({ "i": input })).await
                        }
                        _ => {
                            let input = json!({
                                "assetId": rural_registry::graphql::common::ids::Kind::IdleAsset.id(base.id),
                                "mode": "LEASE", "startDate": format!("202{}-0{}-15", rng.below(6), 1 + rng.below(9)),
                                "investmentFen": 1000 * rng.below(1000), "annualRentFen": 100 * rng.below(1000),
                                "jobsCreated": rng.below(5),
                            });
                            app.graphql(REVITALIZE, json!({ "i": input })).await
                        }
                    };
                    match crate::helpers::error_code(&r) {
                        None => written += 1,
                        // Lifecycle refusals and lost races are expected; nothing else is.
                        Some("BAD_INPUT" | "CONFLICT") => {}
                        Some(other) => panic!("{}: {other}: {r}", app.engine),
                    }
                }
                written
            }
        };
        // Beside the writers, the tally is compacted over and over.
        let writing = std::sync::atomic::AtomicBool::new(true);
        let compactor = async {
            let mut folded = 0;
            while writing.load(std::sync::atomic::Ordering::Relaxed) {
                folded += rural_registry::db::statistics::compact_tally(&app.db)
                    .await
                    .expect("compacting beside writers");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            folded
        };
        let writers = async {
            let done = futures_util::future::join_all((0..16).map(client)).await;
            writing.store(false, std::sync::atomic::Ordering::Relaxed);
            done
        };
        let (done, _) = tokio::join!(writers, compactor);
        app.assert_sound().await;
        // Compacted at rest: one row a cell, no empty cells, the same sums.
        rural_registry::db::statistics::compact_tally(&app.db)
            .await
            .expect("compacting");
        let backend = app.db.get_database_backend();
        let row = app
            .db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT COUNT(*), (SELECT COUNT(*) FROM (SELECT 1 FROM asset_tally GROUP BY \
                 township_id, village_id, kind, status, month) c), \
                 (SELECT COUNT(*) FROM asset_tally WHERE assets = 0) FROM asset_tally",
            ))
            .await
            .expect("the tally's rows")
            .expect("a row");
        let (rows, cells, empty): (i64, i64, i64) = (
            row.try_get_by_index(0).expect("rows"),
            row.try_get_by_index(1).expect("cells"),
            row.try_get_by_index(2).expect("empty"),
        );
        assert_eq!((rows, empty), (cells, 0), "{}", app.engine);
        app.assert_sound().await;
        assert!(
            done.iter().sum::<usize>() > 40,
            "{}: writes went through: {done:?}",
            app.engine
        );

        let after = raw(app).await;
        assert!(after.assets.len() > before.assets.len());
        let all: Vec<&idle_asset::Model> = after.assets.iter().collect();
        check_scope(app, &after, "{ district { FIELDS } }", &all).await;
        let township = after
            .townships
            .values()
            .min_by_key(|t| &t.code)
            .expect("a township");
        let of_township: Vec<&idle_asset::Model> = after
            .assets
            .iter()
            .filter(|a| a.township_id == township.id)
            .collect();
        let q = format!(
            "{{ township(code: \"{}\") {{ statistics {{ FIELDS }} }} }}",
            township.code
        );
        check_scope(app, &after, &q, &of_township).await;
    }
}

#[tokio::test]
async fn site_indicators_add_up_by_township_and_year() {
    use rural_registry::db::entities::{demo_indicator, demo_site};
    const Q: &str = "{ SCOPE { siteIndicators { year code unit total mean sites } } }";
    for app in spawn_apps().await {
        let sites = demo_site::Entity::find().all(&app.db).await.expect("sites");
        let indicators = demo_indicator::Entity::find()
            .all(&app.db)
            .await
            .expect("indicators");
        let townships = township::Entity::find()
            .all(&app.db)
            .await
            .expect("townships");
        let with_sites = townships
            .iter()
            .find(|t| sites.iter().any(|s| s.township_id == t.id))
            .expect("a township with sites");
        for (scope, of) in [
            ("district".to_owned(), None),
            (
                format!("township(code: \"{}\") {{ statistics", with_sites.code),
                Some(with_sites.id),
            ),
        ] {
            let q = Q.replace("SCOPE", &scope);
            let q = if of.is_some() {
                q.replacen("} }", "} } }", 1)
            } else {
                q
            };
            let r = app.graphql(&q, json!({})).await;
            assert!(r["errors"].is_null(), "{q}: {r}");
            let mut expected: BTreeMap<(i64, String), (i64, i64)> = BTreeMap::new();
            for i in &indicators {
                let site = sites.iter().find(|s| s.id == i.demo_site_id).expect("site");
                if of.is_some_and(|t| t != site.township_id) {
                    continue;
                }
                let e = expected
                    .entry((i64::from(i.year), i.code.clone()))
                    .or_default();
                e.0 += i.value;
                e.1 += 1;
            }
            let figures = if of.is_some() {
                &r["data"]["township"]["statistics"]["siteIndicators"]
            } else {
                &r["data"]["district"]["siteIndicators"]
            };
            let figures = figures.as_array().expect("figures");
            assert_eq!(figures.len(), expected.len(), "{}: {r}", app.engine);
            for f in figures {
                let key = (
                    f["year"].as_i64().expect("year"),
                    f["code"].as_str().expect("code").to_owned(),
                );
                let (sum, n) = expected[&key];
                assert_eq!(f["sites"].as_i64(), Some(n), "{f}");
                let average = ["AVG_HOUSEHOLD_INCOME_GAIN", "PER_CAPITA_DISPOSABLE_INCOME"]
                    .contains(&key.1.as_str());
                if average {
                    assert!(f["total"].is_null(), "an average does not add up: {f}");
                } else {
                    assert_eq!(f["total"].as_i64(), Some(sum), "{f}");
                }
                assert!(close(
                    f["mean"].as_f64().expect("mean"),
                    sum as f64 / n as f64
                ));
            }
        }
    }
}

#[tokio::test]
async fn the_statistics_export_gives_the_apis_figures_for_excel() {
    for app in spawn_apps().await {
        let get = async |token: Option<&str>, query: &str| {
            let mut r = app
                .client
                .get(format!("{}/export/statistics.csv{query}", app.address));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            r.send().await.expect("sent")
        };
        let r = get(Some(&app.admin), "?year=2025").await;
        assert_eq!(r.status(), 200);
        let text = r.text().await.expect("text");
        let mut lines = text.trim_start_matches('\u{feff}').lines();
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        let district: Vec<&str> = lines.next().expect("the district").split(',').collect();
        let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
        let api = app
            .graphql(
                "{ district { assets { count revitalized } loans { disbursedFen } } }",
                json!({}),
            )
            .await;
        let d = &api["data"]["district"];
        assert_eq!(
            district[col("assets")],
            d["assets"]["count"].to_string(),
            "{text}"
        );
        assert_eq!(
            district[col("revitalized")],
            d["assets"]["revitalized"].to_string()
        );
        assert!(
            !district[col("loansDisbursedFen")].is_empty(),
            "ADMIN sees lending: {text}"
        );

        let bank = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let text = get(Some(&bank), "?year=2025")
            .await
            .text()
            .await
            .expect("text");
        let district: Vec<String> = text
            .trim_start_matches('\u{feff}')
            .lines()
            .nth(1)
            .expect("the district")
            .split(',')
            .map(str::to_owned)
            .collect();
        assert!(
            district[col("loansDisbursedFen")].is_empty(),
            "a bank sees no district lending: {text}"
        );

        assert_eq!(get(None, "?year=2025").await.status(), 401);
        assert_eq!(get(Some(&app.admin), "?year=1900").await.status(), 400);
        assert_eq!(get(Some(&app.admin), "").await.status(), 400);
        assert_eq!(
            get(Some(&app.admin), "?year=2025&township=999")
                .await
                .status(),
            400
        );
    }
}

#[tokio::test]
async fn filters_narrow_each_figure_as_a_recount_does() {
    for app in spawn_apps().await {
        let raw = raw(&app).await;
        let year = chrono::Datelike::year(&chrono::Local::now());
        let q = format!(
            "{{ district {{
                homesteads: assets(filter: {{ kinds: [IDLE_HOMESTEAD], registrationYears: [{year}] }}) {{ {ASSET_FIELDS} }}
                byTownship: assetsBy(dimension: TOWNSHIP, filter: {{ kinds: [IDLE_FARMHOUSE] }}) {{ {ASSET_FIELDS} }}
                leases: revitalizations(filter: {{ modes: [LEASE], startYears: [2021, 2022] }}) {{ {REVITALIZATION_FIELDS} }}
                ruralBank: loans(filter: {{ bankCodes: [\"JXRCB-DC\"] }}) {{ {LENDING_FIELDS} }}
            }} }}"
        );
        let r = app.graphql(&q, json!({})).await;
        assert!(r["errors"].is_null(), "{r}");
        let d = &r["data"]["district"];
        let homesteads: Vec<&idle_asset::Model> = raw
            .assets
            .iter()
            .filter(|a| a.kind == "IDLE_HOMESTEAD" && chrono::Datelike::year(&a.created_at) == year)
            .collect();
        let expected = raw
            .asset_groups(&homesteads, "")
            .into_values()
            .next()
            .unwrap_or_default();
        check_assets(
            &d["homesteads"],
            &expected,
            &format!("{} homesteads", app.engine),
        );
        let farmhouses: Vec<&idle_asset::Model> = raw
            .assets
            .iter()
            .filter(|a| a.kind == "IDLE_FARMHOUSE")
            .collect();
        let expected = raw.asset_groups(&farmhouses, "TOWNSHIP");
        let groups = d["byTownship"].as_array().expect("groups");
        assert_eq!(groups.len(), expected.len());
        for g in groups {
            let key = g["key"].as_str().expect("key");
            check_assets(
                g,
                &expected[key],
                &format!("{} farmhouses {key}", app.engine),
            );
        }
        let leases = Raw {
            revitalizations: raw
                .revitalizations
                .iter()
                .filter(|r| {
                    r.mode == "LEASE"
                        && [2021, 2022].contains(&chrono::Datelike::year(&r.start_date))
                })
                .cloned()
                .collect(),
            assets: Vec::new(),
            townships: HashMap::new(),
            villages: HashMap::new(),
        };
        let all: Vec<&idle_asset::Model> = raw.assets.iter().collect();
        let expected = leases
            .revitalization_groups(&all, "")
            .into_values()
            .next()
            .unwrap_or_default();
        check_revitalizations(&d["leases"], &expected, &format!("{} leases", app.engine));
        let banks = bank::Entity::find().all(&app.db).await.expect("banks");
        let rural = banks
            .iter()
            .find(|b| b.code == "JXRCB-DC")
            .expect("the rural bank");
        let own = lending_recount(&app, Some(rural.id), |_, _| String::new()).await;
        assert_eq!(
            lending_answer(&d["ruralBank"]),
            own.get("").copied().unwrap_or_default()
        );

        let bad = app
            .graphql(
                "{ district { assets(filter: { registrationYears: [1900] }) { count } } }",
                json!({}),
            )
            .await;
        assert_eq!(crate::helpers::error_code(&bad), Some("BAD_INPUT"), "{bad}");
    }
}
