//! Recording revitalization, demonstration sites and their indicators: roles, rules, audit.

use rural_registry::domain::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_apps};

const DONGCHUAN: &str = "369901102000";
const SUSHAN: &str = "369901103000";

const RECORD: &str = "mutation ($input: RecordRevitalizationInput!) { recordRevitalization(input: $input) { revitalization { id mode revenueSplit { collective operator farmer } asset { code } } } }";
const CREATE: &str = "mutation ($input: CreateDemoSiteInput!) { createDemoSite(input: $input) { demoSite { id code version township { code } revitalizedAssets { code } } } }";
const UPDATE: &str = "mutation ($input: UpdateDemoSiteInput!) { updateDemoSite(input: $input) { demoSite { name version theme } } }";
const INDICATORS: &str = "mutation ($input: RecordDemoIndicatorsInput!) { recordDemoIndicators(input: $input) { demoSite { indicators(years: [2025]) { code value } } } }";

/// A REVITALIZED and a LISTED asset of 东川镇, and its site DS-001.
async fn targets(app: &TestApp) -> (Value, Value, Value) {
    let q = r#"{ township(code: "369901102000") {
        revitalized: idleAssets(first: 1, filter: { status: [REVITALIZED] }) { nodes { id longitude latitude } }
        listed: idleAssets(first: 1, filter: { status: [LISTED] }) { nodes { id } } }
        demoSite(code: "DS-001") { id } }"#;
    let r = app.graphql(q, json!({})).await;
    let t = &r["data"]["township"];
    (
        t["revitalized"]["nodes"][0].clone(),
        t["listed"]["nodes"][0]["id"].clone(),
        r["data"]["demoSite"]["id"].clone(),
    )
}

async fn site_version(app: &TestApp, id: &Value) -> i64 {
    let r = app
        .graphql(
            "query ($id: ID!) { node(id: $id) { ... on DemoSite { version } } }",
            json!({ "id": id }),
        )
        .await;
    r["data"]["node"]["version"].as_i64().expect("a version")
}

#[tokio::test]
async fn each_role_records_revitalization_and_sites_as_the_policy_says() {
    for app in spawn_apps().await {
        let (revitalized, _, site) = targets(&app).await;
        let own = app.token(Role::Cadre, Some(DONGCHUAN), None).await;
        let other = app.token(Role::Cadre, Some(SUSHAN), None).await;
        let bank = app.token(Role::Bank, None, Some("QLRCB")).await;
        let admin = app.admin.clone();
        let callers: [(&str, Option<&str>, Option<&str>); 5] = [
            ("admin", Some(&admin), None),
            ("own cadre", Some(&own), None),
            ("other cadre", Some(&other), Some("FORBIDDEN")),
            ("bank", Some(&bank), Some("FORBIDDEN")),
            ("anonymous", None, Some("UNAUTHENTICATED")),
        ];
        for (i, (who, token, want)) in callers.into_iter().enumerate() {
            let cases: Vec<(&str, &str, Value)> = vec![
                (
                    "recordRevitalization",
                    RECORD,
                    json!({ "input": { "assetId": revitalized["id"], "contractNo": format!("T-{i}"), "mode": "LEASE",
                    "startDate": "2025-01-01", "termMonths": 60, "annualRentFen": 1_200_000, "revenueSplit": { "collective": 0.6, "operator": 0.2, "farmer": 0.2 } } }),
                ),
                (
                    "createDemoSite",
                    CREATE,
                    json!({ "input": { "code": format!("DS-T{i}"), "name": "测试示范点", "level": "DISTRICT", "designationYear": 2025,
                    "longitude": revitalized["longitude"], "latitude": revitalized["latitude"], "assetIds": [revitalized["id"]] } }),
                ),
                (
                    "updateDemoSite",
                    UPDATE,
                    json!({ "input": { "id": site, "version": site_version(&app, &site).await, "theme": format!("主题 {i}") } }),
                ),
                (
                    "recordDemoIndicators",
                    INDICATORS,
                    json!({ "input": { "demoSiteId": site, "indicators": [{ "year": 2025, "code": "VISITORS", "value": 1000 + i }] } }),
                ),
            ];
            for (name, q, vars) in cases {
                let r = app.graphql_as(token, q, vars).await;
                assert_eq!(error_code(&r), want, "{} {name} as {who}: {r}", app.engine);
            }
        }
        let r = app
            .graphql(r#"{ demoSite(code: "DS-001") { theme indicators(years: [2025]) { value } history(first: 20) { totalCount } } }"#, json!({}))
            .await;
        let s = &r["data"]["demoSite"];
        assert_eq!(
            s["theme"], "主题 1",
            "{}: the own cadre's update is the last that passed: {r}",
            app.engine
        );
        assert_eq!(
            s["indicators"],
            json!([{ "value": 1001 }]),
            "a second value for the year replaces the first"
        );
        assert_eq!(
            s["history"]["totalCount"], 4,
            "two updates and two indicator records are in the history"
        );
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn records_and_sites_follow_the_domain_rules() {
    for app in spawn_apps().await {
        let (revitalized, listed, site) = targets(&app).await;
        let record = |input: Value| app.graphql(RECORD, json!({ "input": input }));
        let base =
            json!({ "assetId": revitalized["id"], "mode": "LEASE", "startDate": "2025-01-01" });
        let with = |patch: Value| {
            let mut v = base.clone();
            for (k, x) in patch.as_object().expect("object") {
                v[k] = x.clone();
            }
            v
        };
        let cases = [
            (
                with(json!({ "assetId": listed })),
                "BAD_INPUT",
                "a lease on an asset that is only LISTED",
            ),
            (
                with(
                    json!({ "revenueSplit": { "collective": 0.6, "operator": 0.3, "farmer": 0.2 } }),
                ),
                "BAD_INPUT",
                "shares summing to 1.1",
            ),
            (with(json!({ "termMonths": 0 })), "BAD_INPUT", "a zero term"),
            (
                with(json!({ "annualRentFen": -5 })),
                "BAD_INPUT",
                "a negative rent",
            ),
            (
                with(json!({ "compensationFen": 100 })),
                "BAD_INPUT",
                "compensation on a lease",
            ),
            (
                with(json!({ "contractNo": "QL-2021-0001" })),
                "CONFLICT",
                "a contract number already recorded",
            ),
            (
                with(json!({ "counterpartyId": revitalized["id"] })),
                "BAD_INPUT",
                "an asset as counterparty",
            ),
        ];
        for (input, code, why) in cases {
            let r = record(input).await;
            assert_eq!(error_code(&r), Some(code), "{} {why}: {r}", app.engine);
        }
        let ok = record(with(
            json!({ "revenueSplit": { "collective": 0.2, "operator": 0, "farmer": 0.8 } }),
        ))
        .await;
        assert_eq!(
            ok["data"]["recordRevitalization"]["revitalization"]["revenueSplit"]["farmer"], 0.8,
            "{ok}"
        );

        let create = |input: Value| app.graphql(CREATE, json!({ "input": input }));
        let r = create(json!({ "code": "DS-X", "name": "x", "level": "CITY", "designationYear": 2025, "longitude": revitalized["longitude"],
            "latitude": revitalized["latitude"], "assetIds": [listed] }))
        .await;
        assert_eq!(
            error_code(&r),
            Some("BAD_INPUT"),
            "a site shows revitalized assets only: {r}"
        );
        let r = create(json!({ "code": "DS-001", "name": "x", "level": "CITY", "designationYear": 2025, "longitude": revitalized["longitude"], "latitude": revitalized["latitude"] })).await;
        assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
        let r = create(json!({ "code": "DS-Y", "name": "x", "level": "CITY", "designationYear": 2099, "longitude": revitalized["longitude"], "latitude": revitalized["latitude"] })).await;
        assert_eq!(
            error_code(&r),
            Some("BAD_INPUT"),
            "designated in the future: {r}"
        );
        let r = app
            .graphql(
                UPDATE,
                json!({ "input": { "id": site, "version": 99, "name": "x" } }),
            )
            .await;
        assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
        let r = app.graphql(INDICATORS, json!({ "input": { "demoSiteId": site, "indicators": [{ "year": 2025, "code": "VISITORS", "value": -1 }] } })).await;
        assert_eq!(error_code(&r), Some("BAD_INPUT"), "{r}");
        let r = app
            .graphql(
                INDICATORS,
                json!({ "input": { "demoSiteId": site, "indicators": [] } }),
            )
            .await;
        assert_eq!(error_code(&r), Some("BAD_INPUT"), "{r}");
        app.assert_sound().await;
    }
}
