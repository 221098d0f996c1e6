//! OGC API – Features, GeoJSON downloads and `idleAssetsGeoJson`: the required links and fields,
//! paging to the end, bbox against brute force, and the anonymous generalization on each.

use std::collections::BTreeSet;

use rural_registry::db::entities::idle_asset;
use rural_registry::domain::datum::Crs;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_apps};

async fn get_json(app: &TestApp, token: Option<&str>, path: &str) -> (u16, String, Value) {
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        format!("{}{path}", app.address)
    };
    let mut req = app.client.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.expect("request sent");
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, kind, r.json().await.expect("JSON"))
}

fn rel<'a>(doc: &'a Value, rel: &str) -> Option<&'a str> {
    doc["links"]
        .as_array()?
        .iter()
        .find(|l| l["rel"] == rel)
        .and_then(|l| l["href"].as_str())
}

async fn assets(app: &TestApp) -> Vec<idle_asset::Model> {
    idle_asset::Entity::find()
        .all(&app.db)
        .await
        .expect("assets")
}

/// Whether a coordinate is the centre of a 0.005° cell.
fn on_grid(v: f64) -> bool {
    let f = (v / 0.005 - 0.5).fract().abs();
    !(1e-6..=1.0 - 1e-6).contains(&f)
}

#[tokio::test]
async fn the_landing_page_conformance_and_collections_have_the_required_links() {
    for app in spawn_apps().await {
        let (status, kind, landing) = get_json(&app, None, "/ogc").await;
        assert_eq!(status, 200);
        assert!(kind.starts_with("application/json"));
        for r in ["self", "conformance", "data", "service-doc"] {
            assert!(rel(&landing, r).is_some(), "landing lacks {r}: {landing}");
        }
        let (_, _, conf) = get_json(&app, None, rel(&landing, "conformance").expect("link")).await;
        let classes: Vec<&str> = conf["conformsTo"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(classes.contains(&"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"));
        assert!(
            classes.contains(&"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson")
        );
        let (_, _, list) = get_json(&app, None, rel(&landing, "data").expect("link")).await;
        let ids: Vec<&str> = list["collections"]
            .as_array()
            .expect("collections")
            .iter()
            .map(|c| c["id"].as_str().expect("id"))
            .collect();
        assert_eq!(
            ids,
            [
                "townships",
                "villages",
                "idle-assets",
                "demo-sites",
                "expropriation-zones"
            ]
        );
        for c in list["collections"].as_array().expect("collections") {
            assert!(rel(c, "items").is_some() && rel(c, "self").is_some(), "{c}");
            let b = &c["extent"]["spatial"]["bbox"][0];
            assert_eq!(b.as_array().expect("bbox").len(), 4, "{c}");
            let (status, _, one) = get_json(&app, None, rel(c, "self").expect("self")).await;
            assert_eq!(status, 200);
            assert_eq!(one["id"], c["id"]);
        }
        let (status, _, e) = get_json(&app, None, "/ogc/collections/parcels").await;
        assert_eq!((status, e["code"].as_str()), (404, Some("NOT_FOUND")));
    }
}

#[tokio::test]
async fn items_page_to_the_end_through_next_links_and_match_the_bbox() {
    for app in spawn_apps().await {
        let all = assets(&app).await;
        let (w, s, e, n) = {
            let a = &all[all.len() / 2];
            (a.lon - 0.08, a.lat - 0.06, a.lon + 0.08, a.lat + 0.06)
        };
        let expected: BTreeSet<i64> = all
            .iter()
            .filter(|a| (w..=e).contains(&a.lon) && (s..=n).contains(&a.lat))
            .map(|a| a.id)
            .collect();
        assert!(expected.len() > 25, "{}", expected.len());
        let mut url = format!("/ogc/collections/idle-assets/items?bbox={w},{s},{e},{n}&limit=10");
        let mut seen = Vec::new();
        loop {
            let (status, kind, page) = get_json(&app, Some(&app.admin), &url).await;
            assert_eq!(status, 200, "{page}");
            assert!(kind.starts_with("application/geo+json"), "{kind}");
            assert_eq!(page["type"], "FeatureCollection");
            assert_eq!(page["numberMatched"].as_u64(), Some(expected.len() as u64));
            let features = page["features"].as_array().expect("features");
            assert_eq!(page["numberReturned"].as_u64(), Some(features.len() as u64));
            assert!(page["timeStamp"].is_string() && rel(&page, "self").is_some());
            for f in features {
                assert_eq!(f["type"], "Feature");
                seen.push(f["id"].as_i64().expect("id"));
                let c = &f["geometry"]["coordinates"];
                let row = all
                    .iter()
                    .find(|a| Some(a.id) == f["id"].as_i64())
                    .expect("row");
                assert_eq!(
                    (c[0].as_f64(), c[1].as_f64()),
                    (Some(row.lon), Some(row.lat))
                );
                assert_eq!(f["properties"]["code"], json!(row.code));
            }
            match rel(&page, "next") {
                Some(next) => url = next.to_owned(),
                None => break,
            }
        }
        assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), expected);
        assert_eq!(seen.len(), expected.len(), "no feature twice");
        assert!(seen.windows(2).all(|p| p[0] < p[1]), "id order");

        // One feature, in GCJ-02.
        let id = seen[0];
        let (status, _, f) = get_json(
            &app,
            Some(&app.admin),
            &format!("/ogc/collections/idle-assets/items/{id}?crs=GCJ02"),
        )
        .await;
        assert_eq!(status, 200);
        let row = all.iter().find(|a| a.id == id).expect("row");
        let (glon, glat) = Crs::Gcj02.from_wgs84(row.lon, row.lat);
        let c = &f["geometry"]["coordinates"];
        assert!((c[0].as_f64().expect("x") - glon).abs() < 2e-7);
        assert!((c[1].as_f64().expect("y") - glat).abs() < 2e-7);
        assert!(rel(&f, "self").is_some() && rel(&f, "collection").is_some());
        let (status, _, _) =
            get_json(&app, None, "/ogc/collections/idle-assets/items/999999").await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn townships_villages_and_demo_sites_are_collections_too() {
    for app in spawn_apps().await {
        let (_, _, t) = get_json(&app, None, "/ogc/collections/townships/items?limit=100").await;
        assert_eq!(t["numberMatched"], 8);
        let f = &t["features"][0];
        assert_eq!(
            f["geometry"]["type"]
                .as_str()
                .map(|t| t.ends_with("Polygon")),
            Some(true)
        );
        assert!(f["properties"]["name"].is_string() && f["properties"]["code"].is_string());
        let (_, _, v) = get_json(&app, None, "/ogc/collections/villages/items").await;
        assert!(v["numberMatched"].as_u64().expect("n") > 10);
        assert_eq!(v["numberReturned"], 10, "the default limit");
        let (_, _, d) = get_json(&app, None, "/ogc/collections/demo-sites/items").await;
        assert!(d["numberMatched"].as_u64().expect("n") >= 2);
        assert_eq!(d["features"][0]["geometry"]["type"], "Point");
    }
}

#[tokio::test]
async fn anonymous_map_outputs_are_generalized_everywhere() {
    for app in spawn_apps().await {
        let check = |f: &Value| {
            let p = f["properties"].as_object().expect("properties");
            let mut keys: Vec<&str> = p.keys().map(String::as_str).collect();
            keys.sort_unstable();
            keys.retain(|k| *k != "distanceMeters");
            assert_eq!(keys, ["kind", "status"], "{f}");
            let c = &f["geometry"]["coordinates"];
            assert!(
                on_grid(c[0].as_f64().expect("x")) && on_grid(c[1].as_f64().expect("y")),
                "{f}"
            );
        };
        let (_, _, page) =
            get_json(&app, None, "/ogc/collections/idle-assets/items?limit=50").await;
        page["features"]
            .as_array()
            .expect("features")
            .iter()
            .for_each(check);
        let (_, _, one) = get_json(&app, None, "/ogc/collections/idle-assets/items/1").await;
        check(&one);
        let download = app.get("/download/idle-assets.geojson").await;
        assert_eq!(download.status(), 200);
        let all: Value = download.json().await.expect("GeoJSON");
        let features = all["features"].as_array().expect("features");
        assert_eq!(features.len(), assets(&app).await.len());
        features.iter().for_each(check);
        let r = app
            .graphql_as(None, "{ idleAssetsGeoJson(limit: 30) }", json!({}))
            .await;
        assert!(r["errors"].is_null(), "{r}");
        r["data"]["idleAssetsGeoJson"]["features"]
            .as_array()
            .expect("features")
            .iter()
            .for_each(check);
    }
}

#[tokio::test]
async fn downloads_stream_whole_layers_and_the_graphql_collection_matches_the_region() {
    for app in spawn_apps().await {
        let all = assets(&app).await;
        let r = app
            .client
            .get(format!(
                "{}/download/idle-assets.geojson?crs=BD09",
                app.address
            ))
            .bearer_auth(&app.admin)
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 200);
        let disposition = r
            .headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(disposition.contains("idle-assets.geojson"), "{disposition}");
        let doc: Value = r.json().await.expect("GeoJSON");
        let features = doc["features"].as_array().expect("features");
        assert_eq!(features.len(), all.len());
        let first = all.iter().min_by_key(|a| a.id).expect("an asset");
        let (blon, _) = Crs::Bd09.from_wgs84(first.lon, first.lat);
        assert!(
            (features[0]["geometry"]["coordinates"][0]
                .as_f64()
                .expect("x")
                - blon)
                .abs()
                < 2e-7
        );
        let (status, _, e) = get_json(&app, None, "/download/parcels.geojson").await;
        assert_eq!((status, e["code"].as_str()), (404, Some("NOT_FOUND")));
        let (status, _, e) = get_json(&app, None, "/download/townships.geojson?bbox=1,2").await;
        assert_eq!((status, e["code"].as_str()), (400, Some("BAD_INPUT")));
        let t = app.get("/download/townships.geojson").await;
        let t: Value = t.json().await.expect("GeoJSON");
        assert_eq!(t["features"].as_array().expect("features").len(), 8);

        // A circle as one FeatureCollection: nearest first, with distances, all that match.
        let a = &all[all.len() / 3];
        let q = format!(
            "{{ idleAssetsGeoJson(within: {{circle: {{longitude: {}, latitude: {}, radiusMeters: 3000}}}}, limit: 5000) }}",
            a.lon, a.lat
        );
        let r = app.graphql(&q, json!({})).await;
        assert!(r["errors"].is_null(), "{r}");
        let fc = &r["data"]["idleAssetsGeoJson"];
        let distances: Vec<f64> = fc["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| {
                f["properties"]["distanceMeters"]
                    .as_f64()
                    .expect("distance")
            })
            .collect();
        assert_eq!(fc["numberMatched"].as_u64(), Some(distances.len() as u64));
        assert!(distances.windows(2).all(|w| w[0] <= w[1]), "nearest first");
        assert_eq!(distances[0], 0.0, "the asset at the centre comes first");
        let r = app
            .graphql("{ idleAssetsGeoJson(limit: 5001) }", json!({}))
            .await;
        assert_eq!(crate::helpers::error_code(&r), Some("BAD_INPUT"));
    }
}

#[tokio::test]
async fn bad_items_requests_are_refused_with_a_code() {
    let apps = spawn_apps().await;
    let app = &apps[0];
    for (query, why) in [
        ("bbox=1,2,3", "three numbers"),
        ("bbox=99,27,98,26", "inside out"),
        ("limit=0", "no items"),
        ("offset=-1", "negative offset"),
        ("crs=EPSG:3857", "an unsupported datum"),
        ("colour=red", "an unknown parameter"),
    ] {
        let (status, _, e) = get_json(
            app,
            None,
            &format!("/ogc/collections/villages/items?{query}"),
        )
        .await;
        assert_eq!(
            (status, e["code"].as_str()),
            (400, Some("BAD_INPUT")),
            "{why}: {e}"
        );
    }
    let (status, _, e) =
        get_json(app, Some("not-a-token"), "/ogc/collections/villages/items").await;
    assert_eq!((status, e["code"].as_str()), (401, Some("UNAUTHENTICATED")));
}

/// The landing page's `self` link when a proxy for `https://registry.example.cn` asks for it.
async fn self_link_through_a_proxy(app: &TestApp) -> String {
    let landing: Value = app
        .client
        .get(format!("{}/ogc", app.address))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "registry.example.cn")
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    rel(&landing, "self").expect("a self link").to_owned()
}

#[tokio::test]
async fn links_follow_forwarded_host_and_scheme_only_from_a_trusted_proxy() {
    let untrusted = crate::helpers::spawn_app_with(|s| {
        s.trusted_proxies = "10.0.0.0/8".parse().expect("a network");
    })
    .await;
    assert_eq!(
        self_link_through_a_proxy(&untrusted).await,
        format!("{}/ogc", untrusted.address),
        "anyone may write X-Forwarded-Host: from a peer not in TRUSTED_PROXIES it is ignored"
    );
    let trusted = crate::helpers::spawn_app_with(|s| {
        s.trusted_proxies = "127.0.0.1".parse().expect("an address");
    })
    .await;
    assert_eq!(
        self_link_through_a_proxy(&trusted).await,
        "https://registry.example.cn/ogc"
    );
}
