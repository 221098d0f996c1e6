//! Targets and progress: the demo's goals, their progress against a recount, who may set them,
//! and the rules' codes with nothing written.

use chrono::Datelike;
use rural_registry::db::entities::{idle_asset, revitalization, target, township, village};
use rural_registry::domain::access::Role;
use rural_registry::graphql::common::ids::Kind;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_apps};

const SET: &str = r#"mutation($i: SetTargetInput!) {
  setTarget(input: $i) { target { id version level year measure value progress { actual ratio expected status } } } }"#;
const UPDATE: &str = r#"mutation($i: UpdateTargetInput!) {
  updateTarget(input: $i) { target { id version value } } }"#;
const LIST: &str = r#"query($y: Int!, $l: TargetLevel, $t: ID, $m: TargetMeasure, $s: ProgressStatus) {
  targets(year: $y, level: $l, townshipId: $t, measure: $m, status: $s) {
    id level year measure value township { code } village { code }
    progress { actual ratio expected status } } }"#;

async fn written(app: &TestApp) -> (u64, u64) {
    (
        target::Entity::find()
            .count(&app.db)
            .await
            .expect("targets"),
        rural_registry::db::entities::audit_event::Entity::find()
            .count(&app.db)
            .await
            .expect("audit"),
    )
}

#[tokio::test]
async fn the_demo_sets_goals_some_met_some_behind_and_progress_is_counted_from_the_records() {
    for app in spawn_apps().await {
        let year = chrono::Local::now().year();
        let townships = township::Entity::find()
            .all(&app.db)
            .await
            .expect("townships");
        let assets = idle_asset::Entity::find()
            .all(&app.db)
            .await
            .expect("assets");
        let revitalizations = revitalization::Entity::find()
            .all(&app.db)
            .await
            .expect("revs");
        for y in [year - 1, year] {
            let r = app.graphql(LIST, json!({ "y": y, "l": "TOWNSHIP" })).await;
            assert!(r["errors"].is_null(), "{r}");
            let list = r["data"]["targets"].as_array().expect("targets");
            for t in &townships {
                assert!(
                    list.iter().any(|x| x["township"]["code"] == json!(t.code)),
                    "{}: {} has {y} targets",
                    app.engine,
                    t.code
                );
            }
            let statuses: Vec<&str> = list
                .iter()
                .map(|x| x["progress"]["status"].as_str().expect("status"))
                .collect();
            assert!(
                statuses.contains(&"AHEAD"),
                "{}: {y}: {statuses:?}",
                app.engine
            );
            assert!(
                statuses.contains(&"BEHIND"),
                "{}: {y}: {statuses:?}",
                app.engine
            );
            // Each actual against a recount from the raw tables.
            for x in list {
                let code = x["township"]["code"].as_str().expect("code");
                let t = townships.iter().find(|t| t.code == code).expect("township");
                let in_township: Vec<&idle_asset::Model> =
                    assets.iter().filter(|a| a.township_id == t.id).collect();
                let started = revitalizations.iter().filter(|r| {
                    r.start_date.year() == y && in_township.iter().any(|a| a.id == r.asset_id)
                });
                let expected = match x["measure"].as_str().expect("measure") {
                    "ASSETS_REGISTERED" => in_township
                        .iter()
                        .filter(|a| a.created_at.year() == y)
                        .count() as f64,
                    "ASSETS_REVITALIZED" => {
                        let mut ids: Vec<i64> = started.map(|r| r.asset_id).collect();
                        ids.sort_unstable();
                        ids.dedup();
                        ids.len() as f64
                    }
                    "JOBS_CREATED" => started
                        .map(|r| f64::from(r.jobs_created.unwrap_or(0)))
                        .sum(),
                    "REVITALIZED_SHARE" => {
                        let n = |s: &[&str]| {
                            in_township
                                .iter()
                                .filter(|a| s.contains(&a.status.as_str()))
                                .count()
                        };
                        let base = in_township.len() - n(&["WITHDRAWN"]);
                        if base == 0 {
                            0.0
                        } else {
                            n(&["REVITALIZED", "RELINQUISHED"]) as f64 / base as f64
                        }
                    }
                    other => panic!("the demo sets no {other}"),
                };
                let actual = x["progress"]["actual"].as_f64().expect("actual");
                assert!(
                    (actual - expected).abs() < 1e-9,
                    "{}: {x}: {expected}",
                    app.engine
                );
            }
            // Filtered by status: only those.
            let r = app
                .graphql(LIST, json!({ "y": y, "l": "TOWNSHIP", "s": "BEHIND" }))
                .await;
            let behind = r["data"]["targets"].as_array().expect("targets");
            assert!(!behind.is_empty());
            assert!(
                behind.iter().all(|x| x["progress"]["status"] == "BEHIND"),
                "{r}"
            );
        }
        // The same progress on the district and a township's statistics.
        let r = app
            .graphql(
                "query($y: Int) { district { targets(year: $y) { measure level } } }",
                json!({ "y": year }),
            )
            .await;
        let own = r["data"]["district"]["targets"]
            .as_array()
            .expect("targets");
        assert!(
            !own.is_empty() && own.iter().all(|t| t["level"] == "DISTRICT"),
            "{r}"
        );
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn who_sets_targets_and_the_rules_codes() {
    for app in spawn_apps().await {
        let townships = township::Entity::find()
            .all(&app.db)
            .await
            .expect("townships");
        let villages = village::Entity::find()
            .all(&app.db)
            .await
            .expect("villages");
        let own = &townships[0];
        let other = &townships[1];
        let own_village = villages
            .iter()
            .find(|v| v.township_id == own.id)
            .expect("village");
        let other_village = villages
            .iter()
            .find(|v| v.township_id == other.id)
            .expect("village");
        let cadre = app.token(Role::Cadre, Some(&own.code), None).await;
        let bank = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let vid = |v: &village::Model| Kind::Village.id(v.id).to_string();
        let tid = |t: &township::Model| Kind::Township.id(t.id).to_string();
        let set = |scope: Value, measure: &str, value: f64| {
            let mut i = json!({ "year": 2030, "measure": measure, "value": value });
            if let Some(o) = scope.as_object() {
                for (k, v) in o {
                    i[k] = v.clone();
                }
            }
            json!({ "i": i })
        };
        let cases: Vec<(Option<&str>, Value, &str, &str)> = vec![
            (
                None,
                set(json!({}), "JOBS_CREATED", 10.0),
                "UNAUTHENTICATED",
                "anonymous",
            ),
            (
                Some(&bank),
                set(json!({}), "JOBS_CREATED", 10.0),
                "FORBIDDEN",
                "a bank",
            ),
            (
                Some(&cadre),
                set(
                    json!({ "villageId": vid(other_village) }),
                    "JOBS_CREATED",
                    10.0,
                ),
                "FORBIDDEN",
                "a village outside the cadre's township",
            ),
            (
                Some(&cadre),
                set(json!({ "townshipId": tid(own) }), "JOBS_CREATED", 10.0),
                "FORBIDDEN",
                "a cadre's own township is the district office's to set",
            ),
            (
                Some(&app.admin),
                set(json!({}), "NO_SUCH_MEASURE", 10.0),
                "BAD_INPUT",
                "an unknown measure",
            ),
            (
                Some(&app.admin),
                set(json!({}), "REVITALIZED_SHARE", 1.5),
                "BAD_INPUT",
                "a share over 1",
            ),
            (
                Some(&app.admin),
                set(json!({}), "JOBS_CREATED", -1.0),
                "BAD_INPUT",
                "a negative goal",
            ),
            (
                Some(&app.admin),
                set(
                    json!({ "townshipId": tid(own), "villageId": vid(own_village) }),
                    "JOBS_CREATED",
                    1.0,
                ),
                "BAD_INPUT",
                "two scopes",
            ),
        ];
        for (token, variables, code, why) in cases {
            let before = written(&app).await;
            let r = app.graphql_as(token, SET, variables).await;
            assert_eq!(error_code(&r), Some(code), "{}: {why}: {r}", app.engine);
            assert_eq!(written(&app).await, before, "{why} wrote");
        }

        // A cadre sets its village's; ADMIN any; a second of the same is CONFLICT.
        let village_goal = set(
            json!({ "villageId": vid(own_village) }),
            "JOBS_CREATED",
            12.0,
        );
        let r = app
            .graphql_as(Some(&cadre), SET, village_goal.clone())
            .await;
        assert!(r["errors"].is_null(), "{r}");
        let t = r["data"]["setTarget"]["target"].clone();
        assert_eq!(t["level"], "VILLAGE");
        assert_eq!(
            t["progress"]["expected"],
            json!(0.0),
            "2030 has not begun: {t}"
        );
        let before = written(&app).await;
        let again = app.graphql(SET, village_goal).await;
        assert_eq!(error_code(&again), Some("CONFLICT"), "{again}");
        assert_eq!(written(&app).await, before);
        let r = app
            .graphql(
                SET,
                set(
                    json!({ "townshipId": tid(other) }),
                    "ASSETS_REVITALIZED",
                    5.0,
                ),
            )
            .await;
        assert!(r["errors"].is_null(), "{r}");

        // Changing it at its version; a stale version is CONFLICT.
        let change = |version: i64, value: f64| json!({ "i": { "id": t["id"], "version": version, "value": value } });
        let r = app.graphql_as(Some(&cadre), UPDATE, change(1, 15.0)).await;
        assert_eq!(
            r["data"]["updateTarget"]["target"]["version"],
            json!(2),
            "{r}"
        );
        let before = written(&app).await;
        let stale = app.graphql_as(Some(&cadre), UPDATE, change(1, 20.0)).await;
        assert_eq!(error_code(&stale), Some("CONFLICT"), "{stale}");
        assert_eq!(written(&app).await, before);
        let other_cadre = app.token(Role::Cadre, Some(&other.code), None).await;
        let r = app
            .graphql_as(Some(&other_cadre), UPDATE, change(2, 20.0))
            .await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");

        // Reading: ADMIN and cadres; not banks, not anonymous callers.
        for (token, code) in [
            (None, Some("UNAUTHENTICATED")),
            (Some(bank.as_str()), Some("FORBIDDEN")),
        ] {
            let r = app.graphql_as(token, LIST, json!({ "y": 2030 })).await;
            assert_eq!(error_code(&r), code, "{r}");
        }
        let r = app
            .graphql_as(Some(&cadre), LIST, json!({ "y": 2030 }))
            .await;
        assert_eq!(
            r["data"]["targets"].as_array().map(Vec::len),
            Some(2),
            "{r}"
        );
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn targets_import_from_a_table_all_or_nothing_and_export_back() {
    use rural_registry::services::import::{Kind as ImportKind, Mode};
    use std::io::Cursor;
    for app in spawn_apps().await {
        let townships = township::Entity::find()
            .all(&app.db)
            .await
            .expect("townships");
        let villages = village::Entity::find()
            .all(&app.db)
            .await
            .expect("villages");
        let (t, v) = (
            &townships[0],
            villages
                .iter()
                .find(|v| v.township_id == townships[0].id)
                .expect("village"),
        );
        let other_v = villages
            .iter()
            .find(|v| v.township_id != townships[0].id)
            .expect("village");
        let file = |measure: &str| {
            format!(
                "年度,乡镇代码,村代码,指标,目标值,说明\n\
                 2031,,,ASSETS_REVITALIZED,40,全区\n\
                 2031,{},,JOBS_CREATED,120,\n\
                 2031,,{},{measure},0.6,村\n",
                t.code, v.code
            )
            .into_bytes()
        };
        let before = written(&app).await;
        let report = crate::helpers::import_as_admin(
            &app.db,
            ImportKind::Targets,
            Cursor::new(file("NO_SUCH")),
            Mode::default(),
        )
        .await;
        assert!(!report.written);
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        assert_eq!(
            (report.errors[0].row, report.errors[0].column.as_str()),
            (4, "measure")
        );
        assert_eq!(
            written(&app).await,
            before,
            "{}: nothing written",
            app.engine
        );

        let report = crate::helpers::import_as_admin(
            &app.db,
            ImportKind::Targets,
            Cursor::new(file("REVITALIZED_SHARE")),
            Mode::default(),
        )
        .await;
        assert!(report.written, "{:?}", report.errors);
        assert_eq!(report.inserted, 3);
        let r = app.graphql(LIST, json!({ "y": 2031 })).await;
        assert_eq!(
            r["data"]["targets"].as_array().map(Vec::len),
            Some(3),
            "{r}"
        );

        // Again: stored rows are refused unless --upsert, which changes them.
        let again = crate::helpers::import_as_admin(
            &app.db,
            ImportKind::Targets,
            Cursor::new(file("REVITALIZED_SHARE")),
            Mode::default(),
        )
        .await;
        assert!(!again.written && again.errors.iter().all(|e| e.code == "CONFLICT"));
        let upsert = Mode {
            upsert: true,
            ..Mode::default()
        };
        let changed = file("REVITALIZED_SHARE");
        let changed = String::from_utf8(changed)
            .expect("text")
            .replace(",40,", ",45,");
        let report = crate::helpers::import_as_admin(
            &app.db,
            ImportKind::Targets,
            Cursor::new(changed.into_bytes()),
            upsert,
        )
        .await;
        assert_eq!(report.updated, 3, "{:?}", report.errors);
        let r = app
            .graphql(LIST, json!({ "y": 2031, "l": "DISTRICT" }))
            .await;
        assert_eq!(r["data"]["targets"][0]["value"], json!(45.0), "{r}");

        // A cadre's file: its own township's villages only.
        let cadre = Mode {
            only_township: Some(t.id),
            ..Mode::default()
        };
        let text = format!(
            "year,townshipCode,villageCode,measure,value\n2032,,{},JOBS_CREATED,5\n2032,,{},JOBS_CREATED,5\n2032,{},,JOBS_CREATED,5\n",
            v.code, other_v.code, t.code
        );
        let report = crate::helpers::import_as_admin(
            &app.db,
            ImportKind::Targets,
            Cursor::new(text.into_bytes()),
            cadre,
        )
        .await;
        let codes: Vec<(usize, &str)> = report.errors.iter().map(|e| (e.row, e.code)).collect();
        assert_eq!(
            codes,
            vec![(3, "FORBIDDEN"), (4, "FORBIDDEN")],
            "{:?}",
            report.errors
        );

        // Exported as the file it imports from.
        let text = app
            .client
            .get(format!("{}/export/targets.csv", app.address))
            .bearer_auth(&app.admin)
            .send()
            .await
            .expect("sent")
            .text()
            .await
            .expect("text");
        let header = text
            .trim_start_matches('\u{feff}')
            .lines()
            .next()
            .expect("header");
        assert_eq!(header, "year,townshipCode,villageCode,measure,value,note");
        assert!(
            text.contains(&format!("2031,{},,JOBS_CREATED,120,", t.code)),
            "{text}"
        );
        assert!(
            text.contains(&format!("2031,,{},REVITALIZED_SHARE,0.6,村", v.code)),
            "{text}"
        );
        app.assert_sound().await;
    }
}

/// The actual values of every scope at once (the district, each township, each village) against
/// a recount from the raw tables, scope by scope: a household or an asset counts once in a
/// scope however many of its villages it appears in.
#[tokio::test]
async fn every_scopes_actual_values_counted_together_match_a_recount() {
    use rural_registry::db::statistics::Scope;
    use rural_registry::domain::targets::TargetMeasure as M;
    use std::collections::HashSet;

    for app in spawn_apps().await {
        let assets = idle_asset::Entity::find()
            .all(&app.db)
            .await
            .expect("assets");
        let revitalizations = revitalization::Entity::find()
            .all(&app.db)
            .await
            .expect("revitalizations");
        let mut scopes = vec![Scope::District];
        for t in township::Entity::find()
            .all(&app.db)
            .await
            .expect("townships")
        {
            scopes.push(Scope::Township(t.id));
        }
        for v in village::Entity::find()
            .all(&app.db)
            .await
            .expect("villages")
        {
            scopes.push(Scope::Village(v.id));
        }
        for year in [2021, chrono::Local::now().year()] {
            let counted = rural_registry::db::targets::actuals_of(&app.db, &scopes, year)
                .await
                .expect("actual values");
            assert_eq!(counted.len(), scopes.len());
            for scope in &scopes {
                let inside: Vec<&idle_asset::Model> = assets
                    .iter()
                    .filter(|a| match *scope {
                        Scope::District => true,
                        Scope::Township(t) => a.township_id == t,
                        Scope::Village(v) => a.village_id == Some(v),
                    })
                    .collect();
                let ids: HashSet<i64> = inside.iter().map(|a| a.id).collect();
                let started: Vec<&revitalization::Model> = revitalizations
                    .iter()
                    .filter(|r| r.start_date.year() == year && ids.contains(&r.asset_id))
                    .collect();
                let owners: HashSet<i64> = started
                    .iter()
                    .filter_map(|r| inside.iter().find(|a| a.id == r.asset_id))
                    .map(|a| a.owner_id)
                    .collect();
                let n = |s: &[&str]| {
                    inside
                        .iter()
                        .filter(|a| s.contains(&a.status.as_str()))
                        .count()
                };
                let base = inside.len() - n(&["WITHDRAWN"]);
                let expected = [
                    (
                        M::AssetsRegistered,
                        inside
                            .iter()
                            .filter(|a| a.created_at.year() == year)
                            .count() as f64,
                    ),
                    (
                        M::AssetsRevitalized,
                        started
                            .iter()
                            .map(|r| r.asset_id)
                            .collect::<HashSet<_>>()
                            .len() as f64,
                    ),
                    (M::HouseholdsBenefited, owners.len() as f64),
                    (
                        M::InvestmentFen,
                        started
                            .iter()
                            .map(|r| r.investment_fen.unwrap_or(0) as f64)
                            .sum(),
                    ),
                    (
                        M::JobsCreated,
                        started
                            .iter()
                            .map(|r| f64::from(r.jobs_created.unwrap_or(0)))
                            .sum(),
                    ),
                    (
                        M::RevitalizedShare,
                        if base == 0 {
                            0.0
                        } else {
                            n(&["REVITALIZED", "RELINQUISHED"]) as f64 / base as f64
                        },
                    ),
                ];
                for (measure, value) in expected {
                    let got = counted[scope][&measure];
                    assert!(
                        (got - value).abs() < 1e-9,
                        "{}: {scope:?} {year} {measure:?}: {got} against {value}",
                        app.engine
                    );
                }
            }
        }
        app.assert_sound().await;
    }
}
