//! Spatial listings checked against brute force: every asset's geodesic distance, or its
//! point-in-polygon test, computed directly from the stored rows.

use geo::{Distance as _, Geodesic, Intersects, Point};
use rural_registry::db::entities::idle_asset;
use rural_registry::domain::access::{PUBLIC_GRID_DEG, snap};
use rural_registry::domain::geometry::Location;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_apps};

/// (id, lon, lat) of every stored asset.
async fn all_assets(app: &TestApp) -> Vec<(i64, f64, f64)> {
    idle_asset::Entity::find()
        .all(&app.db)
        .await
        .expect("assets")
        .into_iter()
        .map(|a| (a.id, a.lon, a.lat))
        .collect()
}

fn geodesic(a: (f64, f64), b: (f64, f64)) -> f64 {
    Geodesic.distance(Point::new(a.0, a.1), Point::new(b.0, b.1))
}

fn db_id(node: &Value) -> i64 {
    let id = async_graphql::ID::from(node["id"].as_str().expect("id"));
    rural_registry::graphql::common::ids::decode(&id)
        .expect("a global id")
        .1
}

/// Every page of a listing `idleAssets(<args>, first: 7, after: …)`, as (id, distance).
async fn walk(app: &TestApp, token: Option<&str>, args: &str) -> (Vec<(i64, Option<f64>)>, u64) {
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let q = format!(
            "query($after: String) {{ idleAssets({args}, first: 7, after: $after) {{
                totalCount pageInfo {{ hasNextPage endCursor }}
                nodes {{ id distanceMeters }} }} }}"
        );
        let r = app.graphql_as(token, &q, json!({ "after": after })).await;
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
        let list = &r["data"]["idleAssets"];
        let total = list["totalCount"].as_u64().expect("count");
        for n in list["nodes"].as_array().expect("nodes") {
            out.push((db_id(n), n["distanceMeters"].as_f64()));
        }
        if !list["pageInfo"]["hasNextPage"].as_bool().expect("flag") {
            return (out, total);
        }
        after = list["pageInfo"]["endCursor"].clone();
    }
}

/// A point where the demo assets are densest, a little off any one asset.
async fn centre(app: &TestApp) -> (f64, f64) {
    let all = all_assets(app).await;
    let near = |a: &(i64, f64, f64)| {
        all.iter()
            .filter(|b| (a.1 - b.1).abs() < 0.02 && (a.2 - b.2).abs() < 0.02)
            .count()
    };
    let densest = all.iter().max_by_key(|a| near(a)).expect("demo assets");
    (densest.1 + 0.0013, densest.2 - 0.0011)
}

/// A JSON value written as a GraphQL input literal (object keys unquoted).
fn literal(v: &Value) -> String {
    match v {
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{k}: {}", literal(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Array(a) => format!("[{}]", a.iter().map(literal).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

fn within_circle(c: (f64, f64), radius: f64, all: &[(i64, f64, f64)]) -> Vec<(i64, f64)> {
    let mut expected: Vec<(i64, f64)> = all
        .iter()
        .map(|a| (a.0, geodesic(c, (a.1, a.2))))
        .filter(|(_, d)| *d <= radius)
        .collect();
    expected.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    expected
}

#[tokio::test]
async fn a_circle_lists_exactly_the_assets_within_its_radius_nearest_first() {
    for app in spawn_apps().await {
        let c = centre(&app).await;
        let expected = within_circle(c, 2_000.0, &all_assets(&app).await);
        assert!(
            expected.len() > 10,
            "the circle should hold a few pages: {}",
            expected.len()
        );
        let args = format!(
            "within: {{circle: {{longitude: {}, latitude: {}, radiusMeters: 2000}}}}, \
             orderBy: {{field: DISTANCE}}",
            c.0, c.1
        );
        let (got, total) = walk(&app, Some(&app.admin), &args).await;
        assert_eq!(total, expected.len() as u64, "{}", app.engine);
        assert_eq!(
            got.iter().map(|g| g.0).collect::<Vec<_>>(),
            expected.iter().map(|e| e.0).collect::<Vec<_>>(),
            "{}",
            app.engine
        );
        for (g, e) in got.iter().zip(&expected) {
            let d = g.1.expect("a distance on every circle result");
            assert!((d - e.1).abs() < 0.01, "{d} vs {}", e.1);
        }

        // Descending, and read from the end with `last`.
        let q = format!(
            "{{ idleAssets(within: {{circle: {{longitude: {}, latitude: {}, radiusMeters: 2000}}}},
                orderBy: {{field: DISTANCE, direction: DESC}}, first: 3) {{ nodes {{ id }} }}
               tail: idleAssets(within: {{circle: {{longitude: {}, latitude: {}, radiusMeters: 2000}}}},
                orderBy: {{field: DISTANCE}}, last: 3) {{ nodes {{ id }} }} }}",
            c.0, c.1, c.0, c.1
        );
        let r = app.graphql(&q, json!({})).await;
        assert!(r["errors"].is_null(), "{r}");
        let ids = |k: &str| -> Vec<i64> {
            r["data"][k]["nodes"]
                .as_array()
                .expect("nodes")
                .iter()
                .map(db_id)
                .collect()
        };
        let n = expected.len();
        let farthest: Vec<i64> = expected[n - 3..].iter().rev().map(|e| e.0).collect();
        assert_eq!(ids("idleAssets"), farthest);
        let tail: Vec<i64> = expected[n - 3..].iter().map(|e| e.0).collect();
        assert_eq!(ids("tail"), tail);

        // Without DISTANCE the circle keeps the usual order and still tells distances.
        let args = format!(
            "within: {{circle: {{longitude: {}, latitude: {}, radiusMeters: 2000}}}}",
            c.0, c.1
        );
        let (by_id, _) = walk(&app, Some(&app.admin), &args).await;
        let mut ids: Vec<i64> = expected.iter().map(|e| e.0).collect();
        ids.sort_unstable();
        assert_eq!(by_id.iter().map(|g| g.0).collect::<Vec<_>>(), ids);
        assert!(by_id.iter().all(|g| g.1.is_some()));
    }
}

#[tokio::test]
async fn a_polygon_and_a_box_list_the_assets_inside_them() {
    for app in spawn_apps().await {
        let all = all_assets(&app).await;
        let c = centre(&app).await;
        // A triangle of a few kilometres, drawn clockwise (the query normalizes winding).
        let ring = vec![
            [c.0 - 0.03, c.1 - 0.02],
            [c.0, c.1 + 0.03],
            [c.0 + 0.03, c.1 - 0.02],
            [c.0 - 0.03, c.1 - 0.02],
        ];
        let triangle = geo::Polygon::new(
            geo::LineString::from(ring.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>()),
            vec![],
        );
        let mut expected: Vec<i64> = all
            .iter()
            .filter(|a| triangle.intersects(&Point::new(a.1, a.2)))
            .map(|a| a.0)
            .collect();
        expected.sort_unstable();
        assert!(expected.len() > 7, "{}", expected.len());
        let polygon = json!({ "type": "Polygon", "coordinates": [ring] });
        let args = format!("within: {{polygon: {{geometry: {}}}}}", literal(&polygon));
        let (got, total) = walk(&app, Some(&app.admin), &args).await;
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), expected);
        assert_eq!(total, expected.len() as u64);
        assert!(
            got.iter().all(|g| g.1.is_none()),
            "distances only for circles"
        );

        let (w, s, e, n) = (c.0 - 0.02, c.1 - 0.015, c.0 + 0.01, c.1 + 0.02);
        let mut in_box: Vec<i64> = all
            .iter()
            .filter(|a| (w..=e).contains(&a.1) && (s..=n).contains(&a.2))
            .map(|a| a.0)
            .collect();
        in_box.sort_unstable();
        let args = format!(
            "within: {{bbox: {{minLongitude: {w}, minLatitude: {s}, maxLongitude: {e}, \
             maxLatitude: {n}}}}}, filter: {{status: [LISTED, VERIFIED]}}"
        );
        let (got, _) = walk(&app, Some(&app.admin), &args).await;
        let idle: Vec<i64> = {
            let rows = idle_asset::Entity::find()
                .all(&app.db)
                .await
                .expect("assets");
            in_box
                .iter()
                .copied()
                .filter(|id| {
                    rows.iter()
                        .any(|r| r.id == *id && ["LISTED", "VERIFIED"].contains(&r.status.as_str()))
                })
                .collect()
        };
        assert!(!idle.is_empty());
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), idle);
    }
}

#[tokio::test]
async fn nearest_assets_are_the_k_smallest_distances() {
    for app in spawn_apps().await {
        let all = all_assets(&app).await;
        let c = centre(&app).await;
        let everything = within_circle(c, 1e9, &all);
        let q = format!(
            "{{ nearestIdleAssets(longitude: {}, latitude: {}, k: 12) {{ id distanceMeters }} }}",
            c.0, c.1
        );
        let r = app.graphql(&q, json!({})).await;
        assert!(r["errors"].is_null(), "{r}");
        let got: Vec<(i64, f64)> = r["data"]["nearestIdleAssets"]
            .as_array()
            .expect("list")
            .iter()
            .map(|n| (db_id(n), n["distanceMeters"].as_f64().expect("distance")))
            .collect();
        assert_eq!(
            got.iter().map(|g| g.0).collect::<Vec<_>>(),
            everything[..12].iter().map(|e| e.0).collect::<Vec<_>>()
        );
        for (g, e) in got.iter().zip(&everything) {
            assert!((g.1 - e.1).abs() < 0.01);
        }
        // A point far from any asset still finds them, by widening the search.
        let q = format!(
            "{{ nearestIdleAssets(longitude: {}, latitude: {}, k: 2) {{ id }} }}",
            c.0 + 0.6,
            c.1 + 0.3
        );
        let r = app.graphql(&q, json!({})).await;
        assert!(r["errors"].is_null(), "{r}");
        assert_eq!(
            r["data"]["nearestIdleAssets"]
                .as_array()
                .expect("list")
                .len(),
            2
        );
    }
}

#[tokio::test]
async fn without_a_token_spatial_queries_see_only_the_public_grid() {
    for app in spawn_apps().await {
        let all = all_assets(&app).await;
        let c = centre(&app).await;
        let grid = |a: &(i64, f64, f64)| {
            let s = snap(Location::parse(a.1, a.2).expect("stored"), PUBLIC_GRID_DEG);
            (s.lon(), s.lat())
        };
        let public: Vec<(i64, f64, f64)> = all
            .iter()
            .map(|a| {
                let (lon, lat) = grid(a);
                (a.0, lon, lat)
            })
            .collect();
        let expected = within_circle(c, 1_500.0, &public);
        let args = format!(
            "within: {{circle: {{longitude: {}, latitude: {}, radiusMeters: 1500}}}}, \
             orderBy: {{field: DISTANCE}}",
            c.0, c.1
        );
        let (got, _) = walk(&app, None, &args).await;
        assert_eq!(
            got.iter().map(|g| g.0).collect::<Vec<_>>(),
            expected.iter().map(|e| e.0).collect::<Vec<_>>(),
            "anonymous distances are to the snapped points ({})",
            app.engine
        );
        for (g, e) in got.iter().zip(&expected) {
            assert!((g.1.expect("distance") - e.1).abs() < 0.01);
        }
        let q = format!(
            "{{ nearestIdleAssets(longitude: {}, latitude: {}, k: 5) {{ longitude latitude }} }}",
            c.0, c.1
        );
        let r = app.graphql_as(None, &q, json!({})).await;
        assert!(r["errors"].is_null(), "{r}");
        for n in r["data"]["nearestIdleAssets"].as_array().expect("list") {
            let lon = n["longitude"].as_f64().expect("lon");
            let on_grid = ((lon / PUBLIC_GRID_DEG) - 0.5).fract().abs();
            assert!(
                !(1e-6..=1.0 - 1e-6).contains(&on_grid),
                "{lon} is not snapped"
            );
        }
    }
}

#[tokio::test]
async fn bad_regions_are_refused_with_their_codes() {
    let apps = spawn_apps().await;
    let app = &apps[0];
    let self_crossing = json!({"type": "Polygon", "coordinates": [[
        [99.30, 26.20], [99.32, 26.22], [99.32, 26.20], [99.30, 26.22], [99.30, 26.20]]]});
    let cases = [
        (
            "within: {circle: {longitude: 99.3, latitude: 26.2, radiusMeters: 0}}".to_owned(),
            "BAD_INPUT",
            "a circle needs a radius",
        ),
        (
            "within: {circle: {longitude: 99.3, latitude: 26.2, radiusMeters: 300000}}".to_owned(),
            "BAD_INPUT",
            "too wide a circle",
        ),
        (
            "within: {circle: {longitude: 199.3, latitude: 26.2, radiusMeters: 10}}".to_owned(),
            "INVALID_GEOMETRY",
            "a centre off the globe",
        ),
        (
            "orderBy: {field: DISTANCE}".to_owned(),
            "BAD_INPUT",
            "distance from nowhere",
        ),
        (
            "within: {bbox: {minLongitude: 99.5, minLatitude: 26, maxLongitude: 99, maxLatitude: 27}}"
                .to_owned(),
            "BAD_INPUT",
            "an inside-out box",
        ),
        (
            format!("within: {{polygon: {{geometry: {}}}}}", literal(&self_crossing)),
            "INVALID_GEOMETRY",
            "a bow-tie polygon",
        ),
        (
            r#"within: {polygon: {geometry: {type: "Point", coordinates: [99.3, 26.2]}}}"#
                .to_owned(),
            "INVALID_GEOMETRY",
            "a point is not an area",
        ),
    ];
    for (args, code, reason) in cases {
        let q = format!("{{ idleAssets({args}) {{ nodes {{ id }} }} }}");
        let r = app.graphql(&q, json!({})).await;
        assert_eq!(error_code(&r), Some(code), "{reason}: {r}");
    }
    for k in [0, 101] {
        let q =
            format!("{{ nearestIdleAssets(longitude: 99.3, latitude: 26.2, k: {k}) {{ id }} }}");
        let r = app.graphql(&q, json!({})).await;
        assert_eq!(error_code(&r), Some("BAD_INPUT"), "k = {k}: {r}");
    }
    let both = "{ idleAssets(within: {circle: {longitude: 99.3, latitude: 26.2, radiusMeters: 10},
        bbox: {minLongitude: 99, minLatitude: 26, maxLongitude: 99.5, maxLatitude: 27}}) { nodes { id } } }";
    let r = app.graphql(both, json!({})).await;
    assert!(
        r["data"].is_null() && !r["errors"].is_null(),
        "one region at a time: {r}"
    );
}

#[tokio::test]
async fn measures_are_geodesic_and_follow_the_access_rules() {
    use geo::GeodesicArea;
    for app in spawn_apps().await {
        let rows = idle_asset::Entity::find()
            .all(&app.db)
            .await
            .expect("assets");
        let with_footprint = rows
            .iter()
            .find(|r| r.footprint.is_some())
            .expect("a surveyed footprint in the demo");
        let shape: geojson::Geometry = with_footprint
            .footprint
            .as_deref()
            .expect("footprint")
            .parse()
            .expect("GeoJSON");
        let polygon = geo::Polygon::<f64>::try_from(shape.value).expect("a polygon");
        let q = format!(
            r#"{{ idleAsset(code: "{}") {{ areaSquareMeters perimeterMeters
                centroid bbox gcj: bbox(crs: GCJ02) }} }}"#,
            with_footprint.code
        );
        let r = app.graphql(&q, json!({})).await;
        assert!(r["errors"].is_null(), "{r}");
        let a = &r["data"]["idleAsset"];
        let area = a["areaSquareMeters"].as_f64().expect("area");
        assert!((area - polygon.geodesic_area_unsigned()).abs() < 1e-6 * area.max(1.0));
        assert!(
            (a["perimeterMeters"].as_f64().expect("perimeter") - polygon.geodesic_perimeter())
                .abs()
                < 1e-6
        );
        let b: Vec<f64> = serde_json::from_value(a["bbox"].clone()).expect("bbox");
        assert!(b[0] <= with_footprint.lon && with_footprint.lon <= b[2]);
        let g: Vec<f64> = serde_json::from_value(a["gcj"].clone()).expect("bbox");
        assert!(
            (g[0] - b[0]).abs() > 1e-3,
            "GCJ-02 shifts the box: {b:?} {g:?}"
        );

        // Without a token an asset's measures are details; a demo site's totals are not, but
        // where its land lies is told on the public grid only.
        let r = app.graphql_as(None, &q, json!({})).await;
        assert_eq!(error_code(&r), Some("UNAUTHENTICATED"), "{r}");
        let q = r#"{ demoSites { nodes { code areaSquareMeters bbox
            revitalizedAssets { code } } } }"#;
        let signed = app.graphql(q, json!({})).await;
        let public = app
            .graphql_as(
                None,
                "{ demoSites { nodes { code areaSquareMeters bbox } } }",
                json!({}),
            )
            .await;
        assert!(public["errors"].is_null(), "{public}");
        for (s, p) in signed["data"]["demoSites"]["nodes"]
            .as_array()
            .expect("sites")
            .iter()
            .zip(
                public["data"]["demoSites"]["nodes"]
                    .as_array()
                    .expect("sites"),
            )
        {
            let expected: f64 = s["revitalizedAssets"]
                .as_array()
                .expect("assets")
                .iter()
                .filter_map(|m| rows.iter().find(|r| m["code"] == r.code.as_str()))
                .filter_map(|r| r.footprint.as_deref())
                .map(|f| {
                    let g: geojson::Geometry = f.parse().expect("GeoJSON");
                    geo::Polygon::<f64>::try_from(g.value)
                        .expect("polygon")
                        .geodesic_area_unsigned()
                })
                .sum();
            let area = s["areaSquareMeters"].as_f64().expect("area");
            assert!((area - expected).abs() < 1e-6 * expected.max(1.0), "{s}");
            assert_eq!(p["areaSquareMeters"], s["areaSquareMeters"]);
            assert_eq!(p["bbox"].as_array().map(Vec::len), Some(4));
        }
    }
}
