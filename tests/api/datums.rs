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

#[tokio::test]
async fn points_find_their_township_and_village_and_areas_add_up() {
    for app in spawn_apps().await {
        let r = app
            .graphql(r#"{ idleAsset(code: "369901102203-0001") { longitude latitude township { code } village { code } } }"#, json!({}))
            .await;
        let a = &r["data"]["idleAsset"];
        let (lon, lat) = (
            a["longitude"].as_f64().expect("lon"),
            a["latitude"].as_f64().expect("lat"),
        );
        let (glon, glat) = Crs::Gcj02.from_wgs84(lon, lat);
        let q = "query ($lon: Float!, $lat: Float!, $glon: Float!, $glat: Float!) {
            t: townshipAt(longitude: $lon, latitude: $lat) { code }
            v: villageAt(longitude: $lon, latitude: $lat) { code }
            g: villageAt(longitude: $glon, latitude: $glat, crs: GCJ02) { code }
            out: townshipAt(longitude: 116.0, latitude: 28.2) { code } }";
        let at = app
            .graphql(
                q,
                json!({ "lon": lon, "lat": lat, "glon": glon, "glat": glat }),
            )
            .await;
        assert_eq!(
            at["data"]["t"]["code"], a["township"]["code"],
            "{}: {at}",
            app.engine
        );
        assert_eq!(at["data"]["v"]["code"], a["village"]["code"]);
        assert_eq!(
            at["data"]["g"]["code"], a["village"]["code"],
            "a GCJ-02 point is converted first"
        );
        assert!(at["data"]["out"].is_null(), "outside the district");

        let m = app
            .graphql(
                r#"{ township(code: "369901102000") { areaSquareMeters perimeterMeters centroid
                villages(first: 100) { nodes { areaSquareMeters perimeterMeters } } } }"#,
                json!({}),
            )
            .await;
        let t = &m["data"]["township"];
        let area = t["areaSquareMeters"].as_f64().expect("area");
        let villages: f64 = t["villages"]["nodes"]
            .as_array()
            .expect("villages")
            .iter()
            .filter_map(|v| v["areaSquareMeters"].as_f64())
            .sum();
        assert!(
            (villages - area).abs() / area < 1e-6,
            "{}: the villages tile the township: {villages} vs {area}",
            app.engine
        );
        assert!(
            area > 1e7 && t["perimeterMeters"].as_f64().expect("perimeter") > 1e4,
            "{m}"
        );
        let c = &t["centroid"]["coordinates"];
        let inside = app
            .graphql("query ($x: Float!, $y: Float!) { townshipAt(longitude: $x, latitude: $y) { code } }", json!({ "x": c[0], "y": c[1] }))
            .await;
        assert_eq!(
            inside["data"]["townshipAt"]["code"], "369901102000",
            "{inside}"
        );
    }
}
