//! Changes since a time, and answers that did not change: ETags and 304 on downloads and
//! exports, `updatedSince` on listings and downloads, OGC `datetime` and temporal extents, each
//! against a brute-force reading of the records.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rural_registry::db::entities::{demo_site, idle_asset, village};
use rural_registry::domain::access::Role;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_apps};

/// A GET of `path` with `query` (encoded here), as `token`, holding `etag` when given: the
/// status, the ETag, the Vary header and the body.
async fn get(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
    query: &[(&str, &str)],
    etag: Option<&str>,
) -> (u16, Option<String>, String, Vec<u8>) {
    let mut req = app
        .client
        .get(format!("{}{path}", app.address))
        .query(query);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(tag) = etag {
        req = req.header("If-None-Match", tag);
    }
    let r = req.send().await.expect("request sent");
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (etag, vary) = (header("etag"), header("vary").unwrap_or_default());
    let status = r.status().as_u16();
    (status, etag, vary, r.bytes().await.expect("body").to_vec())
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Sets an asset's floor area through the API; returns its database id.
async fn edit_asset(app: &TestApp, code: &str, floor: f64) -> i64 {
    let found = app
        .graphql(
            "query ($c: String!) { idleAsset(code: $c) { id version } }",
            json!({ "c": code }),
        )
        .await;
    let asset = &found["data"]["idleAsset"];
    let r = app
        .graphql(
            "mutation ($i: UpdateIdleAssetInput!) { updateIdleAsset(input: $i) { idleAsset { version } } }",
            json!({ "i": { "id": asset["id"], "version": asset["version"], "floorAreaSquareMeters": floor } }),
        )
        .await;
    assert!(r["errors"].is_null(), "{}: {r}", app.engine);
    idle_asset::Entity::find()
        .all(&app.db)
        .await
        .expect("assets")
        .into_iter()
        .find(|a| a.code == code)
        .expect("the asset")
        .id
}

async fn assets(app: &TestApp) -> Vec<idle_asset::Model> {
    idle_asset::Entity::find()
        .all(&app.db)
        .await
        .expect("assets")
}

/// Asserts an answer is the routes' JSON error for a bad value, `BAD_INPUT` with HTTP 400,
/// whose description names the parameter.
fn refused_naming(status: u16, body: &[u8], parameter: &str, why: &str) {
    let e: Value = serde_json::from_slice(body).expect("a JSON error");
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("BAD_INPUT")),
        "{why}: {e}"
    );
    assert!(
        e["description"]
            .as_str()
            .is_some_and(|d| d.contains(parameter)),
        "{why}: {e}"
    );
}

/// The ids of a GeoJSON FeatureCollection's features.
fn feature_ids(body: &[u8]) -> BTreeSet<i64> {
    let fc: Value = serde_json::from_slice(body).expect("GeoJSON");
    fc["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["id"].as_i64().expect("an id"))
        .collect()
}

#[tokio::test]
async fn downloads_and_exports_answer_304_until_a_write_changes_what_they_show() {
    for app in spawn_apps().await {
        let engine = app.engine;
        let admin = Some(app.admin.as_str());
        let cursor = app.graphql("{ changeCursor }", json!({})).await["data"]["changeCursor"]
            .as_str()
            .expect("a cursor")
            .to_owned();
        let routes: [(&str, &[(&str, &str)]); 7] = [
            ("/download/idle-assets.geojson", &[]),
            ("/download/villages.geojson", &[("crs", "GCJ02")]),
            ("/export/assets.csv", &[]),
            ("/export/parties.csv", &[("encoding", "gb18030")]),
            ("/export/villages.geojson", &[]),
            ("/export/statistics.csv", &[("year", "2025")]),
            ("/export/assets.csv", &[("changedAfter", &cursor)]),
        ];
        let mut tags = Vec::new();
        for (path, query) in routes {
            let (status, etag, vary, body) = get(&app, admin, path, query, None).await;
            assert_eq!(status, 200, "{engine} {path}");
            assert!(!body.is_empty());
            assert!(vary.contains("Authorization"), "{engine} {path}: {vary}");
            let etag = etag.expect("an ETag");
            assert!(etag.starts_with("W/\""), "{etag}");
            for held in [
                etag.clone(),
                etag.trim_start_matches("W/").to_owned(),
                format!("\"other\", {etag}"),
            ] {
                let (status, again, vary, body) = get(&app, admin, path, query, Some(&held)).await;
                assert_eq!(status, 304, "{engine} {path} held {held}");
                assert_eq!(again.as_deref(), Some(etag.as_str()));
                assert!(body.is_empty(), "a 304 has no body");
                assert!(vary.contains("Authorization"), "{vary}");
            }
            let (status, _, _, _) = get(&app, admin, path, query, Some("W/\"other\"")).await;
            assert_eq!(status, 200, "another tag gets the body");
            tags.push(etag);
        }

        // Folding the table versions' rows (PostgreSQL appends one a write) changes no tag.
        rural_registry::db::table_versions::compact(&app.db)
            .await
            .expect("compacted");
        for ((path, query), etag) in routes.iter().zip(&tags) {
            let (status, _, _, _) = get(&app, admin, path, query, Some(etag)).await;
            assert_eq!(status, 304, "{engine} {path} after compaction");
        }

        // Answers that differ by caller have different tags: an anonymous download holds
        // generalized assets, a cadre's parties only its own township's personal data.
        let (status, anonymous_tag, _, _) = get(&app, None, routes[0].0, &[], Some(&tags[0])).await;
        assert_eq!(
            status, 200,
            "the ADMIN's tag does not fit an anonymous answer"
        );
        assert_ne!(anonymous_tag.as_deref(), Some(tags[0].as_str()));
        let cadre = app.token(Role::Cadre, Some("369901102000"), None).await;
        let (status, cadre_tag, _, _) =
            get(&app, Some(&cadre), routes[3].0, routes[3].1, Some(&tags[3])).await;
        assert_eq!(status, 200);
        assert_ne!(cadre_tag.as_deref(), Some(tags[3].as_str()));
        let (status, _, _, _) = get(&app, None, routes[0].0, &[], anonymous_tag.as_deref()).await;
        assert_eq!(status, 304, "an anonymous caller revalidates its own");

        // A write through the API: what shows the asset changes; the villages do not.
        let id = edit_asset(&app, "369901102203-0003", 321.5).await;
        let changed = [true, false, true, false, false, true, true];
        for (((path, query), old), changed) in routes.iter().zip(&tags).zip(changed) {
            let (status, etag, _, body) = get(&app, admin, path, query, Some(old)).await;
            if !changed {
                assert_eq!(status, 304, "{engine} {path} does not show assets");
                continue;
            }
            assert_eq!(status, 200, "{engine} {path} after the write");
            assert_ne!(etag.as_deref(), Some(old.as_str()));
            if *path == "/download/idle-assets.geojson" {
                let fc: Value = serde_json::from_slice(&body).expect("GeoJSON");
                let feature = fc["features"]
                    .as_array()
                    .expect("features")
                    .iter()
                    .find(|f| f["id"] == json!(id))
                    .expect("the asset");
                assert_eq!(feature["properties"]["floorAreaSquareMeters"], json!(321.5));
            }
            if query.iter().any(|(k, _)| *k == "changedAfter") {
                let text = String::from_utf8_lossy(&body);
                assert!(
                    text.contains("369901102203-0003"),
                    "{engine}: the asset changed since"
                );
            }
            let (status, _, _, _) = get(&app, admin, path, query, etag.as_deref()).await;
            assert_eq!(status, 304, "{engine} {path}: the new tag holds");
        }

        // A write outside the API (an import, as the command line does it) counts too.
        let (_, parties_tag, _, _) = get(&app, admin, routes[3].0, routes[3].1, None).await;
        let csv = "kind,name,householdNo,creditCode,idNumber,phone,villageCode,townshipCode\n\
                   HOUSEHOLD,新户,3699011022039901,,,,369901102203,\n";
        let report = crate::helpers::import_as_admin(
            &app.db,
            rural_registry::services::import::Kind::Parties,
            std::io::Cursor::new(csv.as_bytes().to_vec()),
            rural_registry::services::import::Mode::default(),
        )
        .await;
        assert_eq!(report.inserted, 1, "{engine}: {report:?}");
        let (status, _, _, body) = get(
            &app,
            admin,
            routes[3].0,
            routes[3].1,
            parties_tag.as_deref(),
        )
        .await;
        assert_eq!(status, 200, "{engine}: the imported party is in the export");
        let (text, _, _) = encoding_rs::GB18030.decode(&body);
        assert!(text.contains("新户"));
    }
}

#[tokio::test]
async fn updated_since_on_listings_and_downloads_matches_a_brute_force_filter() {
    for app in spawn_apps().await {
        let engine = app.engine;
        for (i, code) in [
            "369901102203-0003",
            "369901101202-0005",
            "369901102203-0010",
        ]
        .into_iter()
        .enumerate()
        {
            edit_asset(&app, code, 150.0 + i as f64).await;
        }
        let all = assets(&app).await;
        let mut times: Vec<DateTime<Utc>> = all.iter().map(|a| a.updated_at).collect();
        times.sort();
        let edited = times[times.len() - 2];
        let thresholds = [
            times[0],
            edited,
            edited + Duration::microseconds(1),
            times[times.len() - 1] + Duration::seconds(1),
        ];
        for since in thresholds {
            let expected: BTreeSet<String> = all
                .iter()
                .filter(|a| a.updated_at >= since)
                .map(|a| a.code.clone())
                .collect();
            let mut seen = BTreeSet::new();
            let mut after = Value::Null;
            loop {
                let r = app
                    .graphql(
                        "query ($s: DateTime!, $a: String) { idleAssets(filter: { updatedSince: $s }, first: 100, after: $a) { totalCount nodes { code updatedAt } pageInfo { hasNextPage endCursor } } }",
                        json!({ "s": rfc3339(since), "a": after }),
                    )
                    .await;
                let page = &r["data"]["idleAssets"];
                assert_eq!(page["totalCount"], json!(expected.len()), "{engine}: {r}");
                for n in page["nodes"].as_array().expect("nodes") {
                    seen.insert(n["code"].as_str().expect("code").to_owned());
                }
                if page["pageInfo"]["hasNextPage"] != json!(true) {
                    break;
                }
                after = page["pageInfo"]["endCursor"].clone();
            }
            assert_eq!(seen, expected, "{engine}: idleAssets since {since}");

            let expected_ids: BTreeSet<i64> = all
                .iter()
                .filter(|a| a.updated_at >= since)
                .map(|a| a.id)
                .collect();
            let (status, _, _, body) = get(
                &app,
                Some(&app.admin),
                "/download/idle-assets.geojson",
                &[("updatedSince", &rfc3339(since))],
                None,
            )
            .await;
            assert_eq!(status, 200, "{engine}");
            assert_eq!(
                feature_ids(&body),
                expected_ids,
                "{engine}: download since {since}"
            );
        }

        // The other listings and layers with a time, public ones without a token.
        let villages = village::Entity::find()
            .all(&app.db)
            .await
            .expect("villages");
        let sites = demo_site::Entity::find().all(&app.db).await.expect("sites");
        let since = villages[villages.len() / 2].updated_at;
        let r = app
            .graphql_as(
                None,
                "query ($s: DateTime!) { villages(updatedSince: $s, first: 100) { totalCount nodes { code } } demoSites(updatedSince: $s, first: 100) { totalCount nodes { code } } }",
                json!({ "s": rfc3339(since) }),
            )
            .await;
        let codes = |v: &Value| -> BTreeSet<String> {
            v["nodes"]
                .as_array()
                .expect("nodes")
                .iter()
                .map(|n| n["code"].as_str().expect("code").to_owned())
                .collect()
        };
        let expected: BTreeSet<String> = villages
            .iter()
            .filter(|v| v.updated_at >= since)
            .map(|v| v.code.clone())
            .collect();
        assert_eq!(codes(&r["data"]["villages"]), expected, "{engine}: {r}");
        assert_eq!(r["data"]["villages"]["totalCount"], json!(expected.len()));
        let expected_sites: BTreeSet<String> = sites
            .iter()
            .filter(|d| d.updated_at >= since)
            .map(|d| d.code.clone())
            .collect();
        assert_eq!(codes(&r["data"]["demoSites"]), expected_sites, "{engine}");
        let (status, _, _, body) = get(
            &app,
            None,
            "/download/villages.geojson",
            &[("updatedSince", &rfc3339(since))],
            None,
        )
        .await;
        assert_eq!(status, 200);
        let expected_ids: BTreeSet<i64> = villages
            .iter()
            .filter(|v| v.updated_at >= since)
            .map(|v| v.id)
            .collect();
        assert_eq!(feature_ids(&body), expected_ids, "{engine}");

        // Bad values, and an asset's time is one of its details.
        for bad in ["yesterday", "2026-12-01", "2026-12-01T00:00:00"] {
            let r = app
                .graphql(
                    "query ($s: DateTime!) { idleAssets(filter: { updatedSince: $s }) { totalCount } }",
                    json!({ "s": bad }),
                )
                .await;
            assert_eq!(error_code(&r), Some("BAD_INPUT"), "{bad}: {r}");
            let (status, _, _, body) = get(
                &app,
                Some(&app.admin),
                "/download/idle-assets.geojson",
                &[("updatedSince", bad)],
                None,
            )
            .await;
            refused_naming(status, &body, "updatedSince", bad);
        }
        let r = app
            .graphql_as(
                None,
                "{ idleAssets(filter: { updatedSince: \"2026-01-01T00:00:00Z\" }) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(error_code(&r), Some("UNAUTHENTICATED"), "{r}");
        let (status, _, _, body) = get(
            &app,
            None,
            "/download/idle-assets.geojson",
            &[("updatedSince", "2026-01-01T00:00:00Z")],
            None,
        )
        .await;
        let e: Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!((status, e["code"].as_str()), (401, Some("UNAUTHENTICATED")));
    }
}

#[tokio::test]
async fn ogc_datetime_selects_as_a_brute_force_filter_and_collections_give_their_time() {
    for app in spawn_apps().await {
        let engine = app.engine;
        let mut edited = Vec::new();
        for (i, code) in [
            "369901102203-0003",
            "369901101202-0005",
            "369901102203-0010",
        ]
        .into_iter()
        .enumerate()
        {
            edited.push(edit_asset(&app, code, 160.0 + i as f64).await);
        }
        let all = assets(&app).await;
        let time_of = |id: i64| all.iter().find(|a| a.id == id).expect("asset").updated_at;
        let (a, b) = (time_of(edited[0]), time_of(edited[1]));
        let seeded = all.iter().map(|x| x.updated_at).min().expect("assets");
        // Each `datetime` with the bounds a brute-force filter applies, ends included.
        type Bounds = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);
        let cases: Vec<(String, Bounds)> = vec![
            (rfc3339(b), (Some(b), Some(b))),
            (format!("{}/{}", rfc3339(a), rfc3339(b)), (Some(a), Some(b))),
            (
                format!("{}/{}", rfc3339(seeded), rfc3339(a)),
                (Some(seeded), Some(a)),
            ),
            (format!("../{}", rfc3339(a)), (None, Some(a))),
            (
                format!("/{}", rfc3339(a - Duration::microseconds(1))),
                (None, Some(a - Duration::microseconds(1))),
            ),
            (format!("{}/..", rfc3339(b)), (Some(b), None)),
            (format!("{}/", rfc3339(a)), (Some(a), None)),
        ];
        for (datetime, (from, to)) in &cases {
            let expected: BTreeSet<i64> = all
                .iter()
                .filter(|x| from.is_none_or(|f| f <= x.updated_at))
                .filter(|x| to.is_none_or(|t| x.updated_at <= t))
                .map(|x| x.id)
                .collect();
            let (status, _, _, body) = get(
                &app,
                Some(&app.admin),
                "/ogc/collections/idle-assets/items",
                &[("datetime", datetime), ("limit", "10000")],
                None,
            )
            .await;
            assert_eq!(status, 200, "{engine} {datetime}");
            let page: Value = serde_json::from_slice(&body).expect("GeoJSON");
            assert_eq!(
                page["numberMatched"],
                json!(expected.len()),
                "{engine} {datetime}"
            );
            assert_eq!(feature_ids(&body), expected, "{engine} datetime={datetime}");
        }
        // The instant of one edit selects that asset alone; the seeded ones are all before.
        let (_, _, _, body) = get(
            &app,
            Some(&app.admin),
            "/ogc/collections/idle-assets/items",
            &[("datetime", &rfc3339(b))],
            None,
        )
        .await;
        assert_eq!(feature_ids(&body), BTreeSet::from([edited[1]]), "{engine}");

        // Public layers take it without a token; villages against their own times.
        let villages = village::Entity::find()
            .all(&app.db)
            .await
            .expect("villages");
        let v = villages[villages.len() / 3].updated_at;
        let (status, _, _, body) = get(
            &app,
            None,
            "/ogc/collections/villages/items",
            &[
                ("datetime", &format!("../{}", rfc3339(v))),
                ("limit", "10000"),
            ],
            None,
        )
        .await;
        assert_eq!(status, 200);
        let expected: BTreeSet<i64> = villages
            .iter()
            .filter(|x| x.updated_at <= v)
            .map(|x| x.id)
            .collect();
        assert_eq!(feature_ids(&body), expected, "{engine}");

        // Every collection lists its features' time span, in the Gregorian calendar.
        let (status, _, _, body) = get(&app, Some(&app.admin), "/ogc/collections", &[], None).await;
        assert_eq!(status, 200);
        let doc: Value = serde_json::from_slice(&body).expect("JSON");
        for c in doc["collections"].as_array().expect("collections") {
            let temporal = &c["extent"]["temporal"];
            assert_eq!(
                temporal["trs"], "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
                "{engine} {}: {c}",
                c["id"]
            );
            let interval = &temporal["interval"][0];
            let (first, last) = (
                interval[0].as_str().expect("a start"),
                interval[1].as_str().expect("an end"),
            );
            assert!(first <= last, "{first} / {last}");
            assert!(
                c["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("datetime")),
                "{c}"
            );
        }
        let (_, _, _, body) = get(&app, None, "/ogc/collections/idle-assets", &[], None).await;
        let assets_doc: Value = serde_json::from_slice(&body).expect("JSON");
        let interval = &assets_doc["extent"]["temporal"]["interval"][0];
        let parse = |v: &Value| {
            DateTime::parse_from_rfc3339(v.as_str().expect("a time"))
                .expect("RFC 3339")
                .with_timezone(&Utc)
        };
        let last = all.iter().map(|x| x.updated_at).max().expect("assets");
        assert_eq!(
            (parse(&interval[0]), parse(&interval[1])),
            (seeded, last),
            "{engine}"
        );
        assert!(assets_doc["extent"]["spatial"]["bbox"].is_array());

        // Malformed values are refused as the other bad parameters are; an asset's time needs a
        // token.
        for (bad, why) in [
            ("2026-12-01", "a date without a time"),
            ("2026-12-01T00:00:00", "no offset"),
            ("../..", "open at both ends"),
            (
                "2026-12-02T00:00:00Z/2026-12-01T00:00:00Z",
                "the start after the end",
            ),
            ("2026-12-01T00:00:00Z/2026-12-02", "a bad end"),
        ] {
            let (status, _, _, body) = get(
                &app,
                None,
                "/ogc/collections/villages/items",
                &[("datetime", bad)],
                None,
            )
            .await;
            refused_naming(status, &body, "datetime", why);
        }
        let (status, _, _, _) = get(
            &app,
            None,
            "/ogc/collections/idle-assets/items",
            &[("datetime", "2026-01-01T00:00:00Z/..")],
            None,
        )
        .await;
        assert_eq!(status, 401, "{engine}");
    }
}
