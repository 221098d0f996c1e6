//! Outputs in the datum of the client's base map, inputs converted back to WGS84.

use rural_registry::domain::datum::Crs;
use serde_json::json;

use crate::helpers::spawn_apps;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 2e-7
}

#[tokio::test]
async fn geometry_comes_back_in_the_datum_asked_for() {
    for app in spawn_apps().await {
        let q = r#"{ idleAssets(first: 3) { nodes {
            longitude latitude
            gcjLon: longitude(crs: GCJ02) gcjLat: latitude(crs: GCJ02)
            bd: location(crs: BD09) } }
            township(code: "369901102000") { wgs: boundary gcj: boundary(crs: GCJ02) } }"#;
        let r = app.graphql(q, json!({})).await;
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
        for n in r["data"]["idleAssets"]["nodes"].as_array().expect("assets") {
            let (lon, lat) = (
                n["longitude"].as_f64().expect("lon"),
                n["latitude"].as_f64().expect("lat"),
            );
            let (glon, glat) = Crs::Gcj02.from_wgs84(lon, lat);
            assert!(
                close(n["gcjLon"].as_f64().expect("lon"), glon)
                    && close(n["gcjLat"].as_f64().expect("lat"), glat),
                "{n}"
            );
            let (blon, blat) = Crs::Bd09.from_wgs84(lon, lat);
            assert!(
                close(n["bd"]["coordinates"][0].as_f64().expect("x"), blon)
                    && close(n["bd"]["coordinates"][1].as_f64().expect("y"), blat)
            );
            assert!(
                (glon - lon).abs() > 1e-3,
                "GCJ-02 moves points here by hundreds of metres"
            );
        }
        let t = &r["data"]["township"];
        let (w, g) = (
            &t["wgs"]["coordinates"][0][0][0],
            &t["gcj"]["coordinates"][0][0][0],
        );
        let expected = Crs::Gcj02.from_wgs84(w[0].as_f64().expect("x"), w[1].as_f64().expect("y"));
        assert!(
            close(g[0].as_f64().expect("x"), expected.0)
                && close(g[1].as_f64().expect("y"), expected.1),
            "{t}"
        );
    }
}

#[tokio::test]
async fn a_point_sent_in_gcj02_is_stored_as_wgs84() {
    for app in spawn_apps().await {
        let r = app
            .graphql(
                r#"{ idleAsset(code: "369901102203-0001") { longitude latitude owner { id } } }"#,
                json!({}),
            )
            .await;
        let a = &r["data"]["idleAsset"];
        let (lon, lat) = (
            a["longitude"].as_f64().expect("lon") + 0.0002,
            a["latitude"].as_f64().expect("lat") + 0.0002,
        );
        let (glon, glat) = Crs::Gcj02.from_wgs84(lon, lat);
        let input = json!({ "code": "GCJ-1", "kind": "IDLE_HOMESTEAD", "ownerId": a["owner"]["id"], "longitude": glon, "latitude": glat, "crs": "GCJ02" });
        let r = app
            .graphql("mutation ($i: RegisterIdleAssetInput!) { registerIdleAsset(input: $i) { idleAsset { longitude latitude village { code } } } }", json!({ "i": input }))
            .await;
        let stored = &r["data"]["registerIdleAsset"]["idleAsset"];
        assert!(
            close(stored["longitude"].as_f64().expect("lon"), lon)
                && close(stored["latitude"].as_f64().expect("lat"), lat),
            "{}: {r}",
            app.engine
        );
        assert_eq!(
            stored["village"]["code"], "369901102203",
            "placed by its WGS84 location"
        );
    }
}

#[tokio::test]
async fn anonymous_locations_are_snapped_before_they_are_shifted() {
    for app in spawn_apps().await {
        let r = app.graphql_as(None, "{ idleAssets(first: 5) { nodes { longitude latitude gcj: location(crs: GCJ02) } } }", json!({})).await;
        for n in r["data"]["idleAssets"]["nodes"].as_array().expect("assets") {
            let (lon, lat) = (
                n["longitude"].as_f64().expect("lon"),
                n["latitude"].as_f64().expect("lat"),
            );
            let expected = Crs::Gcj02.from_wgs84(lon, lat);
            assert!(
                close(n["gcj"]["coordinates"][0].as_f64().expect("x"), expected.0),
                "{}: {n}",
                app.engine
            );
        }
    }
}
