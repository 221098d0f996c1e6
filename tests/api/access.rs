//! Who sees what: tokens, the anonymous public map, personal data by role and township.

use rural_registry::domain::access::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{error_code, spawn_app, spawn_apps};

const DONGCHUAN: &str = "369901102000";
const SUSHAN: &str = "369901103000";

#[tokio::test]
async fn anonymous_callers_see_the_public_map_and_nothing_else() {
    for app in spawn_apps().await {
        let public = app
            .graphql_as(
                None,
                r#"{ townships(first: 8) { totalCount nodes { name boundary statusCounts { status count } } }
                     villages(first: 3) { nodes { name boundary center } }
                     demoSites(first: 6) { nodes { name location indicators { year value } operator { name } } }
                     idleAssets(first: 100, filter: { status: [LISTED], kind: [IDLE_FARMHOUSE] }) { totalCount nodes { id kind status location longitude latitude } } }"#,
                json!({}),
            )
            .await;
        assert!(public["errors"].is_null(), "{}: {public}", app.engine);
        for node in public["data"]["idleAssets"]["nodes"]
            .as_array()
            .expect("assets")
        {
            for coordinate in [
                node["longitude"].as_f64().expect("lon"),
                node["latitude"].as_f64().expect("lat"),
            ] {
                let cells = coordinate / 0.005;
                assert!(
                    (cells - cells.floor() - 0.5).abs() < 1e-6,
                    "{coordinate} is a grid-cell centre"
                );
            }
        }
        for field in [
            "code",
            "floorAreaSquareMeters",
            "footprint",
            "address",
            "owner { name }",
            "village { name }",
            "revitalizations { mode }",
            "idleSince",
        ] {
            let r = app
                .graphql_as(
                    None,
                    &format!("{{ idleAssets(first: 1) {{ nodes {{ {field} }} }} }}"),
                    json!({}),
                )
                .await;
            assert_eq!(
                error_code(&r),
                Some("UNAUTHENTICATED"),
                "{}: {field}: {r}",
                app.engine
            );
        }
        for filter in [
            "filter: { floorAreaMin: 100 }",
            "filter: { idleSinceFrom: \"2020-01-01\" }",
            "orderBy: { field: FLOOR_AREA }",
        ] {
            let r = app
                .graphql_as(
                    None,
                    &format!("{{ idleAssets(first: 5, {filter}) {{ totalCount }} }}"),
                    json!({}),
                )
                .await;
            assert_eq!(
                error_code(&r),
                Some("UNAUTHENTICATED"),
                "{}: {filter} would narrow to a household: {r}",
                app.engine
            );
        }
    }
}

#[tokio::test]
async fn unknown_revoked_and_malformed_tokens_are_unauthenticated_with_401() {
    let app = spawn_app().await;
    let cadre = app.token(Role::Cadre, Some(DONGCHUAN), None).await;
    let ok = app
        .graphql_as(
            Some(&cadre),
            "{ idleAssets(first: 1) { nodes { code } } }",
            json!({}),
        )
        .await;
    assert!(ok["errors"].is_null(), "{ok}");
    let revoked: Value = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT id FROM access_token WHERE label = 'test CADRE'".to_owned(),
        ))
        .await
        .expect("query")
        .map(|r| json!(r.try_get_by_index::<i64>(0).expect("id")))
        .expect("a row");
    assert!(
        rural_registry::db::access::revoke(&app.db, revoked.as_i64().expect("id"))
            .await
            .expect("revoke")
    );
    for header in [
        format!("Bearer {cadre}"),
        "Bearer rr_0000".to_owned(),
        "Basic abc".to_owned(),
        "Bearer ".to_owned(),
    ] {
        let r = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("authorization", header.clone())
            .json(&json!({ "query": "{ townships(first: 1) { totalCount } }" }))
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 401, "{header}");
        let body: Value = r.json().await.expect("JSON");
        assert_eq!(
            error_code(&body),
            Some("UNAUTHENTICATED"),
            "{header}: {body}"
        );
    }
}

/// A household of 东川镇 and one of 苏山乡, by global ID.
async fn households(app: &crate::helpers::TestApp) -> (Value, Value) {
    let q = r#"query ($t: String!) { township(code: $t) { idleAssets(first: 1) { nodes { owner { id } } } } }"#;
    let mut ids = Vec::new();
    for t in [DONGCHUAN, SUSHAN] {
        let r = app.graphql(q, json!({ "t": t })).await;
        ids.push(r["data"]["township"]["idleAssets"]["nodes"][0]["owner"]["id"].clone());
    }
    (ids[0].clone(), ids[1].clone())
}

#[tokio::test]
async fn personal_data_goes_to_admin_and_cadres_of_the_partys_township_only() {
    for app in spawn_apps().await {
        let (own, other) = households(&app).await;
        let cadre = app.token(Role::Cadre, Some(DONGCHUAN), None).await;
        let bank = app.token(Role::Bank, None, Some("QLRCB")).await;
        let q = "query ($id: ID!) { node(id: $id) { ... on Party { name idNumber phone history(first: 1) { totalCount } } } }";
        let cases: [(Option<&str>, &Value, Option<&str>); 6] = [
            (Some(&app.admin), &own, None),
            (Some(&app.admin), &other, None),
            (Some(&cadre), &own, None),
            (Some(&cadre), &other, Some("FORBIDDEN")),
            (Some(&bank), &own, Some("FORBIDDEN")),
            (None, &own, Some("UNAUTHENTICATED")),
        ];
        for (token, party, expected) in cases {
            let r = app.graphql_as(token, q, json!({ "id": party })).await;
            assert_eq!(error_code(&r), expected, "{}: {r}", app.engine);
            if expected.is_none() {
                let id = r["data"]["node"]["idNumber"]
                    .as_str()
                    .expect("an ID number");
                assert_eq!(id.len(), 18, "{r}");
            } else {
                assert!(
                    r["data"]["node"].is_null() || r["data"]["node"]["idNumber"].is_null(),
                    "nothing leaks beside the error: {r}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_token_table_holds_no_secret_in_the_clear() {
    for app in spawn_apps().await {
        let cadre = app.token(Role::Cadre, Some(DONGCHUAN), None).await;
        let sql = "SELECT label, role, COALESCE(bank_code, ''), secret_hash FROM access_token";
        let rows = app
            .db
            .query_all_raw(Statement::from_string(
                app.db.get_database_backend(),
                sql.to_owned(),
            ))
            .await
            .expect("rows");
        assert!(rows.len() >= 2, "{}", app.engine);
        let mut stored = String::new();
        for row in &rows {
            for i in 0..4 {
                stored.push_str(&row.try_get_by_index::<String>(i).expect("text"));
                stored.push('|');
            }
            let hash = row.try_get_by_index::<String>(3).expect("hash");
            assert!(
                hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
                "a SHA-256 in hex: {hash}"
            );
        }
        for secret in [&app.admin, &cadre] {
            assert!(
                !stored.contains(secret.as_str()),
                "{}: a secret is stored in the clear",
                app.engine
            );
            assert!(
                !stored.contains(&secret[3..]),
                "{}: a secret without its prefix is stored",
                app.engine
            );
        }
    }
}

#[tokio::test]
async fn the_district_office_creates_and_revokes_tokens_through_the_api() {
    for app in spawn_apps().await {
        let create = r#"mutation { createToken(input: { role: CADRE, townshipCode: "369901102000", label: "东川镇 李干事" }) {
            secret token { number role townshipCode label } } }"#;
        let r = app.graphql(create, json!({})).await;
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
        let secret = r["data"]["createToken"]["secret"]
            .as_str()
            .expect("secret")
            .to_owned();
        let number = r["data"]["createToken"]["token"]["number"].clone();
        assert_eq!(r["data"]["createToken"]["token"]["townshipCode"], DONGCHUAN);
        let works = app
            .graphql_as(
                Some(&secret),
                "{ idleAssets(first: 1) { nodes { code } } }",
                json!({}),
            )
            .await;
        assert!(works["errors"].is_null(), "{works}");
        assert_eq!(
            error_code(&app.graphql_as(Some(&secret), create, json!({})).await),
            Some("FORBIDDEN"),
            "a cadre makes no tokens"
        );
        let bad =
            r#"mutation { createToken(input: { role: CADRE, label: "no township" }) { secret } }"#;
        assert_eq!(
            error_code(&app.graphql(bad, json!({})).await),
            Some("BAD_INPUT")
        );

        let listed = app
            .graphql(
                "{ accessTokens { number label lastUsedAt revokedAt } }",
                json!({}),
            )
            .await;
        let tokens = listed["data"]["accessTokens"].as_array().expect("tokens");
        assert!(
            tokens
                .iter()
                .any(|t| t["label"] == "东川镇 李干事" && t["lastUsedAt"].is_string()),
            "{listed}"
        );
        assert!(
            !listed.to_string().contains(&secret[3..]),
            "never a secret in the list"
        );

        let revoke = app.graphql("mutation ($n: Long!) { revokeToken(input: { number: $n }) { token { revokedAt } } }", json!({ "n": number })).await;
        assert!(
            revoke["data"]["revokeToken"]["token"]["revokedAt"].is_string(),
            "{revoke}"
        );
        let after = app
            .graphql_as(
                Some(&secret),
                "{ townships(first: 1) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(
            error_code(&after),
            Some("UNAUTHENTICATED"),
            "a revoked token stops at once"
        );
        let events = app.graphql(r#"{ auditEvents(first: 10, filter: { entity: "access_token" }) { nodes { action after } } }"#, json!({})).await;
        let actions: Vec<&str> = events["data"]["auditEvents"]["nodes"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert_eq!(actions, ["createToken", "revokeToken"]);
        assert!(
            !events.to_string().contains("secret_hash"),
            "the audit keeps no hash of a secret"
        );
    }
}

#[tokio::test]
async fn district_operations_answer_each_role_as_the_policy_says() {
    for app in spawn_apps().await {
        let own = app.token(Role::Cadre, Some(DONGCHUAN), None).await;
        let other = app.token(Role::Cadre, Some(SUSHAN), None).await;
        let bank = app.token(Role::Bank, None, Some("QLRCB")).await;
        let r = app
            .graphql(r#"{ township(code: "369901102000") { boundary } village(code: "369901102203") { boundary } }"#, json!({}))
            .await;
        let (township, village) = (
            r["data"]["township"]["boundary"].clone(),
            r["data"]["village"]["boundary"].clone(),
        );
        let admin = app.admin.clone();
        let callers: [(&str, Option<&str>, Option<&str>); 5] = [
            ("admin", Some(&admin), None),
            ("own cadre", Some(&own), Some("FORBIDDEN")),
            ("other cadre", Some(&other), Some("FORBIDDEN")),
            ("bank", Some(&bank), Some("FORBIDDEN")),
            ("anonymous", None, Some("UNAUTHENTICATED")),
        ];
        for (who, token, want) in callers {
            // A fresh token for each caller to try to revoke.
            app.token(Role::Bank, None, Some("SPARE")).await;
            let spare_number = app
                .graphql("{ accessTokens { number label } }", json!({}))
                .await["data"]["accessTokens"]
                .as_array()
                .and_then(|t| t.last().map(|t| t["number"].clone()))
                .expect("a token");
            let cases: [(&str, &str, Value); 6] = [
                (
                    "upsertTownship",
                    "mutation ($b: GeoJSON!) { upsertTownship(input: { code: \"369901102000\", name: \"东川镇\", boundary: $b }) { reassigned } }",
                    json!({ "b": township }),
                ),
                (
                    "upsertVillage",
                    "mutation ($b: GeoJSON!) { upsertVillage(input: { townshipCode: \"369901102000\", code: \"369901102203\", name: \"白家村\", boundary: $b }) { reassigned } }",
                    json!({ "b": village }),
                ),
                (
                    "createToken",
                    "mutation { createToken(input: { role: ADMIN, label: \"x\" }) { secret } }",
                    json!({}),
                ),
                (
                    "revokeToken",
                    "mutation ($n: Long!) { revokeToken(input: { number: $n }) { token { number } } }",
                    json!({ "n": spare_number }),
                ),
                (
                    "auditEvents",
                    "{ auditEvents(first: 1) { totalCount } }",
                    json!({}),
                ),
                ("accessTokens", "{ accessTokens { number } }", json!({})),
            ];
            for (name, q, vars) in cases {
                let r = app.graphql_as(token, q, vars).await;
                assert_eq!(error_code(&r), want, "{} {name} as {who}: {r}", app.engine);
                if name.starts_with("upsert") && want.is_none() {
                    let reassigned = r["data"]
                        .as_object()
                        .and_then(|d| d.values().next())
                        .map(|p| p["reassigned"].clone());
                    assert_eq!(
                        reassigned,
                        Some(json!(0)),
                        "an unchanged boundary moves nothing: {r}"
                    );
                }
            }
        }
    }
}

/// The role × operation cells of the lending reads: every listing answers each signed-in role
/// (a bank with its own business only), another bank's record by id or by `bankCode` is
/// FORBIDDEN, and anonymous callers are UNAUTHENTICATED.
#[tokio::test]
async fn lending_reads_answer_each_role_as_the_policy_says() {
    use rural_registry::db::entities::mortgage;
    use rural_registry::graphql::common::ids::Kind;
    use sea_orm::EntityTrait;
    for app in spawn_apps().await {
        let rural = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let postal = app.token(Role::Bank, None, Some("PSBC-DC")).await;
        let own_cadre = app.token(Role::Cadre, Some(DONGCHUAN), None).await;
        let other_cadre = app.token(Role::Cadre, Some(SUSHAN), None).await;
        let granted = crate::credit::grant_line(&app, &rural, "JXRCB-DC").await;
        let (recommendation, application) =
            crate::credit::recommend_and_apply(&app, &rural, &granted).await;
        let banks = rural_registry::db::credit::bank_ids(&app.db)
            .await
            .expect("banks");
        let their_mortgage = mortgage::Entity::find()
            .all(&app.db)
            .await
            .expect("mortgages")
            .into_iter()
            .find(|m| m.bank_id == banks["JXRCB-DC"])
            .expect("a JXRCB-DC mortgage in the demo");
        let node = |id: &Value| {
            (
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": id }),
            )
        };
        let operations: Vec<(&str, (&str, Value))> = vec![
            (
                "loanApplications",
                (
                    "{ loanApplications(first: 5) { totalCount nodes { id } } }",
                    json!({}),
                ),
            ),
            (
                "disbursedLoans",
                (
                    "{ disbursedLoans(first: 5) { totalCount nodes { id } } }",
                    json!({}),
                ),
            ),
            (
                "mortgages",
                (
                    "{ mortgages(first: 5) { totalCount nodes { id } } }",
                    json!({}),
                ),
            ),
            (
                "creditLines",
                (
                    "{ creditLines(first: 5) { totalCount nodes { id } } }",
                    json!({}),
                ),
            ),
            (
                "recommendations",
                (
                    "{ recommendations(first: 5) { totalCount nodes { id } } }",
                    json!({}),
                ),
            ),
            ("the bank's application", node(&application)),
            (
                "the bank's mortgage",
                node(&json!(Kind::Mortgage.id(their_mortgage.id))),
            ),
            ("the bank's credit line", node(&granted.line)),
            ("the bank's recommendation", node(&recommendation)),
            (
                "the bank's lines by bankCode",
                (
                    "{ creditLines(first: 5, filter: { bankCode: \"JXRCB-DC\" }) { totalCount } }",
                    json!({}),
                ),
            ),
            (
                "the bank's loans by bankCode",
                (
                    "{ loanApplications(first: 5, filter: { bankCode: \"JXRCB-DC\" }) { totalCount } }",
                    json!({}),
                ),
            ),
        ];
        let admin = app.admin.clone();
        let forbidden_from = 5;
        let callers: [(&str, Option<&str>); 6] = [
            ("admin", Some(&admin)),
            ("own cadre", Some(&own_cadre)),
            ("other cadre", Some(&other_cadre)),
            ("the bank", Some(&rural)),
            ("another bank", Some(&postal)),
            ("anonymous", None),
        ];
        for (who, token) in callers {
            for (n, (name, (q, vars))) in operations.iter().enumerate() {
                let want = match who {
                    "anonymous" => Some("UNAUTHENTICATED"),
                    "another bank" if n >= forbidden_from => Some("FORBIDDEN"),
                    _ => None,
                };
                let r = app.graphql_as(token, q, vars.clone()).await;
                assert_eq!(error_code(&r), want, "{} {name} as {who}: {r}", app.engine);
                if want.is_none() && n >= forbidden_from && q.contains("node(") {
                    assert_eq!(r["data"]["node"]["id"], vars["id"], "{name} as {who}: {r}");
                }
            }
        }
    }
}
