//! The read side: the README's example queries and the relations behind them.

use serde_json::{Value, json};

use crate::helpers::{error_code, spawn_apps};

const TOWNSHIP_ASSETS: &str = r#"
query ($code: String!) {
  township(code: $code) {
    id code name bbox
    boundary
    statusCounts { status count }
    all: idleAssets(first: 1) { totalCount }
    idleAssets(first: 10, filter: { status: [REVITALIZED] }) {
      totalCount
      edges { node { code status kind village { name } township { code }
                     owner { name kind } revitalizations { mode revenueSplit { collective operator farmer } } } }
    }
  }
}"#;

#[tokio::test]
async fn a_townships_idle_assets_come_with_their_village_owner_and_records() {
    for app in spawn_apps().await {
        let r = app
            .graphql(TOWNSHIP_ASSETS, json!({ "code": "369901102000" }))
            .await;
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
        let t = &r["data"]["township"];
        assert_eq!(t["name"], "东川镇");
        assert_eq!(t["boundary"]["type"], "MultiPolygon");
        let counts: i64 = t["statusCounts"]
            .as_array()
            .expect("counts")
            .iter()
            .map(|c| c["count"].as_i64().unwrap_or(0))
            .sum();
        assert_eq!(
            Some(counts),
            t["all"]["totalCount"].as_i64(),
            "{}: counts by status add up",
            app.engine
        );
        let assets = &t["idleAssets"];
        assert_eq!(assets["totalCount"], 9, "{}", app.engine);
        for edge in assets["edges"].as_array().expect("edges") {
            let node = &edge["node"];
            assert_eq!(node["status"], "REVITALIZED");
            assert_eq!(
                node["township"]["code"], "369901102000",
                "an asset of the township lies in it"
            );
            assert!(node["owner"]["name"].is_string());
            assert!(
                !node["revitalizations"]
                    .as_array()
                    .expect("records")
                    .is_empty(),
                "a revitalized asset has its record"
            );
        }
    }
}

#[tokio::test]
async fn a_village_lists_its_assets_and_each_lies_inside_its_boundary() {
    for app in spawn_apps().await {
        let r = app
            .graphql(
                r#"{ village(code: "369901102203") { name township { name } boundary center
                     idleAssets(first: 100) { totalCount nodes { code longitude latitude village { code } } } } }"#,
                json!({}),
            )
            .await;
        let v = &r["data"]["village"];
        assert_eq!(v["name"], "白家村", "{}: {r}", app.engine);
        assert_eq!(v["township"]["name"], "东川镇");
        assert_eq!(v["center"]["type"], "Point");
        let nodes = v["idleAssets"]["nodes"].as_array().expect("nodes");
        assert!(!nodes.is_empty());
        assert_eq!(
            v["idleAssets"]["totalCount"].as_u64(),
            Some(nodes.len() as u64)
        );
        for n in nodes {
            assert_eq!(n["village"]["code"], "369901102203");
            assert!(
                n["code"]
                    .as_str()
                    .expect("code")
                    .starts_with("369901102203-"),
                "the survey code names the village"
            );
        }
    }
}

#[tokio::test]
async fn a_demonstration_site_shows_its_assets_and_indicators_by_year() {
    for app in spawn_apps().await {
        let r = app
            .graphql(
                r#"{ demoSites(first: 10) { totalCount nodes { code name } }
                     demoSite(code: "DS-001") { name level designationYear location village { name } township { name }
                       operator { name kind }
                       revitalizedAssets { code status }
                       indicators(codes: [COLLECTIVE_OPERATING_INCOME]) { year code unit value } } }"#,
                json!({}),
            )
            .await;
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
        let names: Vec<&str> = r["data"]["demoSites"]["nodes"]
            .as_array()
            .expect("sites")
            .iter()
            .filter_map(|s| s["name"].as_str())
            .collect();
        assert!(
            names.contains(&"东川白家七星山庄") && names.contains(&"刘家苏山水果莲基地"),
            "{names:?}"
        );
        let site = &r["data"]["demoSite"];
        assert_eq!(site["village"]["name"], "白家村");
        assert_eq!(site["township"]["name"], "东川镇");
        let assets = site["revitalizedAssets"].as_array().expect("assets");
        assert!(!assets.is_empty());
        assert!(assets.iter().all(|a| a["status"] == "REVITALIZED"));
        let incomes = site["indicators"].as_array().expect("indicators");
        assert!(incomes.len() >= 3, "several years: {incomes:?}");
        assert!(
            incomes
                .iter()
                .all(|i| i["unit"] == "FEN" && i["code"] == "COLLECTIVE_OPERATING_INCOME")
        );
        let years: Vec<i64> = incomes.iter().filter_map(|i| i["year"].as_i64()).collect();
        assert!(years.windows(2).all(|w| w[0] < w[1]), "by year: {years:?}");
    }
}

#[tokio::test]
async fn node_finds_any_record_by_its_global_id_and_null_for_unknown_ones() {
    for app in spawn_apps().await {
        let r = app.graphql("{ idleAssets(first: 1) { nodes { id code } } townships(first: 1) { nodes { id } } }", json!({})).await;
        let asset_id = r["data"]["idleAssets"]["nodes"][0]["id"].clone();
        let township_id = r["data"]["townships"]["nodes"][0]["id"].clone();
        let r = app
            .graphql(
                "query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on IdleAsset { code } } }",
                json!({ "ids": [asset_id, township_id, "SWRsZUFzc2V0Ojk5OTk5OQ"] }),
            )
            .await;
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
        let nodes = r["data"]["nodes"].as_array().expect("nodes");
        assert_eq!(nodes[0]["__typename"], "IdleAsset");
        assert_eq!(nodes[1]["__typename"], "Township");
        assert_eq!(nodes[2], Value::Null, "IdleAsset:999999 does not exist");
    }
}

/// Walks a whole listing forwards and backwards and checks both see every row once, in order.
async fn walk(app: &crate::helpers::TestApp, order: &str, backward: bool) -> Vec<Value> {
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    for _ in 0..100 {
        let (args, info) = if backward {
            ("last: 37, before: $c", "hasPreviousPage startCursor")
        } else {
            ("first: 37, after: $c", "hasNextPage endCursor")
        };
        let q = format!(
            "query ($c: String) {{ idleAssets({args}, orderBy: {order}) {{ edges {{ node {{ code idleSince floorAreaSquareMeters }} }} pageInfo {{ {info} }} }} }}"
        );
        let r = app.graphql(&q, json!({ "c": cursor })).await;
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
        let conn = &r["data"]["idleAssets"];
        let mut page: Vec<Value> = conn["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"].clone())
            .collect();
        if backward {
            page.reverse();
        }
        seen.extend(page);
        let (more, next) = if backward {
            ("hasPreviousPage", "startCursor")
        } else {
            ("hasNextPage", "endCursor")
        };
        if conn["pageInfo"][more] != true {
            break;
        }
        cursor = conn["pageInfo"][next].as_str().map(str::to_owned);
    }
    if backward {
        seen.reverse();
    }
    seen
}

#[tokio::test]
async fn every_order_pages_through_all_assets_once_in_both_directions() {
    for app in spawn_apps().await {
        for order in [
            "{ field: ID }",
            "{ field: ID, direction: DESC }",
            "{ field: IDLE_SINCE }",
            "{ field: IDLE_SINCE, direction: DESC }",
            "{ field: FLOOR_AREA }",
            "{ field: FLOOR_AREA, direction: DESC }",
        ] {
            let forward = walk(&app, order, false).await;
            let backward = walk(&app, order, true).await;
            assert_eq!(
                forward.len(),
                400,
                "{} {order}: every asset once",
                app.engine
            );
            let mut codes: Vec<&str> = forward.iter().filter_map(|n| n["code"].as_str()).collect();
            codes.sort_unstable();
            codes.dedup();
            assert_eq!(codes.len(), 400, "{} {order}: no asset twice", app.engine);
            assert_eq!(
                forward, backward,
                "{} {order}: backwards is the same list",
                app.engine
            );
            if order.contains("FLOOR_AREA") {
                let areas: Vec<Option<f64>> = forward
                    .iter()
                    .map(|n| n["floorAreaSquareMeters"].as_f64())
                    .collect();
                let first_null = areas
                    .iter()
                    .position(Option::is_none)
                    .unwrap_or(areas.len());
                assert!(
                    areas[first_null..].iter().all(Option::is_none),
                    "{order}: missing areas come last"
                );
                let values: Vec<f64> = areas[..first_null].iter().flatten().copied().collect();
                let sorted = if order.contains("DESC") {
                    values.windows(2).all(|w| w[0] >= w[1])
                } else {
                    values.windows(2).all(|w| w[0] <= w[1])
                };
                assert!(sorted, "{order}: in order");
            }
        }
    }
}

#[tokio::test]
async fn filters_narrow_the_listing_and_total_count_follows() {
    for app in spawn_apps().await {
        let q = "query ($f: IdleAssetFilter) { idleAssets(first: 100, filter: $f) { totalCount nodes { kind status structure floorAreaSquareMeters idleSince } } }";
        let all = app.graphql(q, json!({ "f": null })).await;
        assert_eq!(
            all["data"]["idleAssets"]["totalCount"], 400,
            "{}: {all}",
            app.engine
        );
        let cases = [
            json!({ "kind": ["IDLE_HOMESTEAD"] }),
            json!({ "status": ["LISTED", "NEGOTIATING"] }),
            json!({ "floorAreaMin": 150, "floorAreaMax": 200 }),
            json!({ "idleSinceFrom": "2020-01-01", "idleSinceTo": "2021-12-31" }),
            json!({ "structure": ["EARTH_WOOD"], "condition": ["POOR", "DILAPIDATED"] }),
        ];
        for f in cases {
            let r = app.graphql(q, json!({ "f": f })).await;
            assert!(r["errors"].is_null(), "{f}: {r}");
            let conn = &r["data"]["idleAssets"];
            let total = conn["totalCount"].as_u64().expect("count");
            assert!(
                total > 0 && total < 400,
                "{} {f}: narrows, got {total}",
                app.engine
            );
            for n in conn["nodes"].as_array().expect("nodes") {
                if let Some(kinds) = f["kind"].as_array() {
                    assert!(kinds.contains(&n["kind"]));
                }
                if let Some(statuses) = f["status"].as_array() {
                    assert!(statuses.contains(&n["status"]));
                }
                if let Some(min) = f["floorAreaMin"].as_f64() {
                    let a = n["floorAreaSquareMeters"].as_f64().expect("has an area");
                    assert!(a >= min && a <= f["floorAreaMax"].as_f64().unwrap_or(f64::MAX));
                }
                if let Some(from) = f["idleSinceFrom"].as_str() {
                    let d = n["idleSince"].as_str().expect("has a date");
                    assert!(d >= from && d <= f["idleSinceTo"].as_str().unwrap_or("9999"));
                }
                if f["structure"].is_array() {
                    assert_eq!(n["structure"], "EARTH_WOOD");
                }
            }
        }
    }
}

#[tokio::test]
async fn an_id_of_the_wrong_kind_is_bad_input_and_an_unknown_code_is_null() {
    for app in spawn_apps().await {
        let r = app
            .graphql("{ villages(first: 1) { nodes { id } } }", json!({}))
            .await;
        let village_id = r["data"]["villages"]["nodes"][0]["id"].clone();
        let r = app
            .graphql(
                "query ($id: ID) { township(id: $id) { name } }",
                json!({ "id": village_id }),
            )
            .await;
        assert_eq!(error_code(&r), Some("BAD_INPUT"), "{}: {r}", app.engine);
        let r = app
            .graphql(r#"{ township(code: "369901199000") { name } }"#, json!({}))
            .await;
        assert!(
            r["errors"].is_null() && r["data"]["township"].is_null(),
            "{r}"
        );
    }
}
