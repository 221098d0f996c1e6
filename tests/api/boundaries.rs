//! Boundaries change: the affected assets are placed again in the same transaction, and a
//! change that would strand an asset or overlap a neighbour is refused whole.

use rural_registry::domain::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, rect, spawn_empty_apps};

const TOWNSHIP: &str = "mutation ($code: String!, $b: GeoJSON!) { upsertTownship(input: { code: $code, name: \"测试镇\", boundary: $b }) { reassigned township { code version } } }";
const VILLAGE: &str = "mutation ($code: String!, $b: GeoJSON!) { upsertVillage(input: { townshipCode: \"369901901000\", code: $code, name: \"测试村\", boundary: $b }) { reassigned village { code } } }";

async fn place_of(app: &TestApp, code: &str) -> (Value, Value) {
    let r = app
        .graphql(
            &format!(
                "{{ idleAsset(code: \"{code}\") {{ township {{ code }} village {{ code }} }} }}"
            ),
            json!({}),
        )
        .await;
    let a = &r["data"]["idleAsset"];
    (a["township"]["code"].clone(), a["village"]["code"].clone())
}

#[tokio::test]
async fn moving_a_village_border_moves_the_assets_it_crosses() {
    for app in spawn_empty_apps().await {
        let t =
            |code: &'static str, b: Value| app.graphql(TOWNSHIP, json!({ "code": code, "b": b }));
        let first = t("369901901000", rect(117.0, 117.1)).await;
        assert!(first["errors"].is_null(), "{}: {first}", app.engine);
        assert!(t("369901902000", rect(117.1, 117.2)).await["errors"].is_null());
        let v =
            |code: &'static str, b: Value| app.graphql(VILLAGE, json!({ "code": code, "b": b }));
        assert!(v("369901901201", rect(117.0, 117.05)).await["errors"].is_null());
        assert!(v("369901901202", rect(117.05, 117.1)).await["errors"].is_null());

        let party = app
            .graphql(r#"mutation { registerParty(input: { kind: HOUSEHOLD, name: "测试户", householdNo: "H-1" }) { party { id } } }"#, json!({}))
            .await;
        let owner = party["data"]["registerParty"]["party"]["id"].clone();
        let asset = json!({ "code": "A-1", "kind": "IDLE_FARMHOUSE", "ownerId": owner, "longitude": 117.06, "latitude": 28.05 });
        let r = app.graphql("mutation ($i: RegisterIdleAssetInput!) { registerIdleAsset(input: $i) { idleAsset { code } } }", json!({ "i": asset })).await;
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
        assert_eq!(
            place_of(&app, "A-1").await,
            (json!("369901901000"), json!("369901901202"))
        );

        let r = v("369901901201", rect(117.0, 117.08)).await;
        assert_eq!(
            error_code(&r),
            Some("BAD_INPUT"),
            "{}: growing into a neighbour overlaps it: {r}",
            app.engine
        );
        let r = v("369901901202", rect(117.08, 117.1)).await;
        assert_eq!(
            r["data"]["upsertVillage"]["reassigned"], 1,
            "{}: {r}",
            app.engine
        );
        assert_eq!(
            place_of(&app, "A-1").await,
            (json!("369901901000"), Value::Null),
            "between villages now"
        );
        let r = v("369901901201", rect(117.0, 117.08)).await;
        assert_eq!(r["data"]["upsertVillage"]["reassigned"], 1, "{r}");
        assert_eq!(
            place_of(&app, "A-1").await,
            (json!("369901901000"), json!("369901901201"))
        );
        app.assert_sound().await;

        let r = t("369901901000", rect(117.0, 117.03)).await;
        assert_eq!(
            error_code(&r),
            Some("BAD_INPUT"),
            "{}: shrinking would strand the asset: {r}",
            app.engine
        );
        let r = t("369901902000", rect(117.05, 117.2)).await;
        assert_eq!(
            error_code(&r),
            Some("BAD_INPUT"),
            "overlapping a neighbour township: {r}"
        );
        let r = app
            .graphql(
                r#"{ township(code: "369901901000") { version bbox } }"#,
                json!({}),
            )
            .await;
        assert_eq!(
            r["data"]["township"]["version"], 1,
            "the refused changes wrote nothing: {r}"
        );

        let history = app
            .graphql(
                r#"{ idleAsset(code: "A-1") { history(first: 10) { nodes { action } } } }"#,
                json!({}),
            )
            .await;
        let actions: Vec<&str> = history["data"]["idleAsset"]["history"]["nodes"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert_eq!(
            actions,
            ["registerIdleAsset", "reassignPlace", "reassignPlace"],
            "{}",
            app.engine
        );

        let cadre = app.token(Role::Cadre, Some("369901901000"), None).await;
        let r = app
            .graphql_as(
                Some(&cadre),
                TOWNSHIP,
                json!({ "code": "369901903000", "b": rect(117.2, 117.3) }),
            )
            .await;
        assert_eq!(
            error_code(&r),
            Some("FORBIDDEN"),
            "boundaries are the district's: {r}"
        );
    }
}
