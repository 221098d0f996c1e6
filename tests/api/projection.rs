//! An asset listing reads only the columns its selection shows (`graphql::common::projection`). Every
//! field of an asset, of its village and of its owner, asked alone in each kind of listing (a
//! page, a circle by distance, a box, the nearest), must answer as it does when the asset is
//! read whole (`nodes(ids:)`), on both engines, with and without a token: a field that read a
//! column its listing did not select would get the column's default and show a wrong value.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_apps};

/// The assets compared: the listing's first page, in id order.
const PAGE: usize = 60;

/// The fields of a GraphQL object type, each with whether it is an object itself.
async fn fields_of(app: &TestApp, name: &str) -> Vec<(String, bool)> {
    let r = app
        .graphql(
            "query ($name: String!) { __type(name: $name) { fields {
                name type { kind ofType { kind ofType { kind ofType { kind } } } } } } }",
            json!({ "name": name }),
        )
        .await;
    let fields = r["data"]["__type"]["fields"].as_array().expect("fields");
    fields
        .iter()
        .map(|f| {
            let mut t = &f["type"];
            while matches!(t["kind"].as_str(), Some("NON_NULL" | "LIST")) {
                t = &t["ofType"];
            }
            let name = f["name"].as_str().expect("name").to_owned();
            (name, t["kind"] == "OBJECT")
        })
        .collect()
}

/// A selection of an object-typed field: enough of it to tell a wrong row apart.
fn object_selection(name: &str) -> &'static str {
    match name {
        "village" | "township" => "{ id code name }",
        "owner" => "{ id name kind }",
        "propertyRights" | "revitalizations" => "{ id }",
        "history" => "(first: 3) { totalCount nodes { action entity entityId } }",
        "idleAssets" => "(first: 3) { totalCount nodes { id code } }",
        "collectiveOrganization" => "{ id name }",
        "shareCoverage" => "{ organizationsCount memberHouseholds }",
        "statistics" => "{ assets { count revitalized } }",
        "shareStatement" => "{ holdings { id } payoutsByYear { year fen } }",
        other => panic!("add a selection for the object field `{other}` to this test"),
    }
}

fn selection((name, object): &(String, bool)) -> String {
    if *object {
        format!("{name} {}", object_selection(name))
    } else {
        name.clone()
    }
}

/// The listing's answer and the whole rows' answer, node by node, for `inner` asked of each
/// asset; with the errors' codes, since a field refused to the caller must be refused alike.
async fn compare(
    app: &TestApp,
    token: Option<&str>,
    listing: &Listing,
    ids: &[Value],
    inner: &str,
    what: &str,
) {
    let listed = app
        .graphql_as(token, &listing.query.replace("INNER", inner), json!({}))
        .await;
    let whole = app
        .graphql_as(
            token,
            &format!("query ($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on IdleAsset {{ id {inner} }} }} }}"),
            json!({ "ids": ids }),
        )
        .await;
    let codes = |r: &Value| {
        let mut codes: Vec<String> = r["errors"]
            .as_array()
            .map(|es| {
                es.iter()
                    .map(|e| e["extensions"]["code"].as_str().unwrap_or("?").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        codes.dedup();
        codes
    };
    let signed = if token.is_some() {
        "signed"
    } else {
        "anonymous"
    };
    let name = listing.name;
    assert_eq!(
        codes(&listed),
        codes(&whole),
        "{}, {signed}, {name}: errors of {what}: listed {listed}, whole {whole}",
        app.engine
    );
    if listed["errors"].is_null() {
        assert_eq!(
            listed["data"].pointer(listing.nodes),
            whole["data"].pointer("/nodes"),
            "{}, {signed}, {name}: {what}",
            app.engine
        );
    }
}

/// A listing of assets: its query, with INNER where a node's fields go, and where its nodes
/// are in the answer's `data`.
struct Listing {
    name: &'static str,
    query: String,
    nodes: &'static str,
}

/// The listings compared: a plain page (its villages and owners joined in), a circle by
/// distance and a box in id order (both read their rows apart from their loaders), the nearest.
fn listings(lon: f64, lat: f64) -> Vec<Listing> {
    let circle = format!("{{circle: {{longitude: {lon}, latitude: {lat}, radiusMeters: 20000}}}}");
    let bbox = "{bbox: {minLongitude: 116, minLatitude: 27, maxLongitude: 119, maxLatitude: 30}}";
    vec![
        Listing {
            name: "a page",
            query: format!("{{ idleAssets(first: {PAGE}) {{ nodes {{ id INNER }} }} }}"),
            nodes: "/idleAssets/nodes",
        },
        Listing {
            name: "a circle by distance",
            query: format!(
                "{{ idleAssets(within: {circle}, orderBy: {{field: DISTANCE}}, first: {PAGE}) {{ nodes {{ id INNER }} }} }}"
            ),
            nodes: "/idleAssets/nodes",
        },
        Listing {
            name: "a box",
            query: format!(
                "{{ idleAssets(within: {bbox}, first: {PAGE}) {{ nodes {{ id INNER }} }} }}"
            ),
            nodes: "/idleAssets/nodes",
        },
        Listing {
            name: "the nearest",
            query: format!(
                "{{ nearestIdleAssets(longitude: {lon}, latitude: {lat}, k: {PAGE}) {{ id INNER }} }}"
            ),
            nodes: "/nearestIdleAssets",
        },
    ]
}

#[tokio::test]
async fn every_field_of_a_listing_answers_as_the_whole_row_does() {
    for app in spawn_apps().await {
        let page = app
            .graphql(
                &format!("{{ idleAssets(first: {PAGE}) {{ nodes {{ id longitude latitude footprint village {{ id }} owner {{ kind }} }} }} }}"),
                json!({}),
            )
            .await;
        let nodes = page["data"]["idleAssets"]["nodes"]
            .as_array()
            .expect("nodes");
        assert_eq!(nodes.len(), PAGE, "{}", app.engine);
        let (lon, lat) = (&nodes[0]["longitude"], &nodes[0]["latitude"]);
        let (lon, lat) = (lon.as_f64().expect("lon"), lat.as_f64().expect("lat"));
        // The page holds the cases a wrong default would hide behind.
        assert!(nodes.iter().any(|n| n["footprint"].is_object()));
        assert!(nodes.iter().any(|n| n["footprint"].is_null()));
        let kinds: Vec<&Value> = nodes.iter().map(|n| &n["owner"]["kind"]).collect();
        assert!(kinds.iter().any(|k| *k == "HOUSEHOLD"));

        let assets = fields_of(&app, "IdleAsset").await;
        let villages = fields_of(&app, "Village").await;
        let parties = fields_of(&app, "Party").await;
        assert!(assets.len() > 25 && villages.len() > 5 && parties.len() > 5);
        let mut asked = Vec::new();
        // `distanceMeters` is the listing's, not the row's (null in `nodes(ids:)`), and reads
        // no column; the spatial tests check it against brute force.
        for f in assets.iter().filter(|f| f.0 != "distanceMeters") {
            asked.push((selection(f), format!("IdleAsset.{}", f.0)));
        }
        for f in &villages {
            asked.push((
                format!("village {{ {} }}", selection(f)),
                format!("Village.{}", f.0),
            ));
        }
        for f in &parties {
            asked.push((
                format!("owner {{ {} }}", selection(f)),
                format!("Party.{}", f.0),
            ));
        }
        // A township page's selection, and one across the three tables' narrowest fields.
        asked.push((
            "code kind status floorAreaSquareMeters village { name } owner { name kind }".into(),
            "a township page".into(),
        ));
        asked.push((
            "__typename longitude village { __typename code } owner { __typename id }".into(),
            "typenames and ids".into(),
        ));
        for listing in listings(lon, lat) {
            for token in [Some(app.admin.as_str()), None] {
                // The anonymous see snapped locations: their circle may hold other assets.
                let r = app
                    .graphql_as(token, &listing.query.replace("INNER", ""), json!({}))
                    .await;
                let ids: Vec<Value> = r["data"]
                    .pointer(listing.nodes)
                    .and_then(Value::as_array)
                    .map(|nodes| nodes.iter().map(|n| n["id"].clone()).collect())
                    .unwrap_or_default();
                assert_eq!(ids.len(), PAGE, "{}, {}: {r}", app.engine, listing.name);
                for (inner, what) in &asked {
                    compare(&app, token, &listing, &ids, inner, what).await;
                }
            }
        }
    }
}

/// `edges { node }` is read like `nodes`, and a node's fields are the union of both.
#[tokio::test]
async fn edges_and_nodes_together_read_what_either_shows() {
    for app in spawn_apps().await {
        let r = app
            .graphql(
                "{ idleAssets(first: 20) { nodes { code } edges { cursor node { address owner { name } } } } }",
                json!({}),
            )
            .await;
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
        let ids = app
            .graphql("{ idleAssets(first: 20) { nodes { id } } }", json!({}))
            .await;
        let ids = ids["data"]["idleAssets"]["nodes"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|n| n["id"].clone())
            .collect::<Vec<_>>();
        let whole = app
            .graphql(
                "query ($ids: [ID!]!) { nodes(ids: $ids) { ... on IdleAsset { code address owner { name } } } }",
                json!({ "ids": ids }),
            )
            .await;
        let whole = whole["data"]["nodes"].as_array().expect("whole");
        let listed = &r["data"]["idleAssets"];
        for (i, w) in whole.iter().enumerate() {
            assert_eq!(listed["nodes"][i]["code"], w["code"], "{}", app.engine);
            let node = &listed["edges"][i]["node"];
            assert_eq!(node["address"], w["address"], "{}", app.engine);
            assert_eq!(node["owner"], w["owner"], "{}", app.engine);
        }
        assert!(whole.iter().any(|w| w["address"].is_string()));
    }
}
