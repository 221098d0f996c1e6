//! Exports over HTTP: whole tables in the columns a cadre knows, CSV that Excel opens (BOM, or
//! GB18030), GeoJSON, personal fields by the access rules.

use rural_registry::db::entities::{idle_asset, party};
use rural_registry::domain::access::Role;
use sea_orm::EntityTrait;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_apps};

async fn fetch(app: &TestApp, token: Option<&str>, path: &str) -> (u16, String, Vec<u8>) {
    let mut req = app.client.get(format!("{}{path}", app.address));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.expect("sent");
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, kind, r.bytes().await.expect("body").to_vec())
}

fn records(csv_text: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(csv_text.as_bytes())
        .records()
        .map(|r| r.expect("a CSV record"))
        .collect()
}

#[tokio::test]
async fn assets_export_as_csv_excel_opens_and_as_geojson() {
    for app in spawn_apps().await {
        let township = rural_registry::db::places::township_by_code(&app.db, "369901102000")
            .await
            .expect("query")
            .expect("township");
        let expected: Vec<String> = idle_asset::Entity::find()
            .all(&app.db)
            .await
            .expect("assets")
            .into_iter()
            .filter(|a| a.township_id == township.id)
            .map(|a| a.code)
            .collect();
        let (status, kind, body) = fetch(
            &app,
            Some(&app.admin),
            "/export/assets.csv?township=369901102000",
        )
        .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert!(kind.starts_with("text/csv"), "{kind}");
        assert!(
            body.starts_with("\u{feff}".as_bytes()),
            "a BOM so Excel reads UTF-8"
        );
        let text = String::from_utf8(body[3..].to_vec()).expect("UTF-8");
        let header = text.lines().next().expect("header");
        assert!(header.starts_with("code,kind,status,townshipCode,villageCode,ownerKey,lon,lat"));
        let rows = records(&text);
        let codes: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
        assert_eq!(codes, expected, "{}", app.engine);
        assert!(rows.iter().all(|r| &r[3] == "369901102000"));
        assert!(
            rows.iter().any(|r| r[8].starts_with("POLYGON((")),
            "footprints as WKT"
        );

        // GB18030 reads back to the same text.
        let (_, kind, gb) = fetch(
            &app,
            Some(&app.admin),
            "/export/assets.csv?township=369901102000&encoding=gb18030",
        )
        .await;
        assert!(kind.contains("gb18030"), "{kind}");
        let (decoded, _, bad) = encoding_rs::GB18030.decode(&gb);
        assert!(!bad);
        assert_eq!(decoded.trim_start_matches('\u{feff}'), text);

        let (status, _, body) = fetch(&app, Some(&app.admin), "/export/assets.geojson").await;
        assert_eq!(status, 200);
        let doc: Value = serde_json::from_slice(&body).expect("GeoJSON");
        assert_eq!(
            doc["features"].as_array().map(Vec::len),
            Some(
                idle_asset::Entity::find()
                    .all(&app.db)
                    .await
                    .expect("assets")
                    .len()
            )
        );
    }
}

#[tokio::test]
async fn personal_fields_follow_the_access_rules_and_strangers_get_none() {
    for app in spawn_apps().await {
        let cadre = app.token(Role::Cadre, Some("369901102000"), None).await;
        let (status, _, body) = fetch(&app, Some(&cadre), "/export/parties.csv").await;
        assert_eq!(status, 200);
        let text = String::from_utf8(body[3..].to_vec()).expect("UTF-8");
        let rows = records(&text);
        let parties = party::Entity::find().all(&app.db).await.expect("parties");
        let villages = rural_registry::db::places::all_villages(&app.db)
            .await
            .expect("villages");
        let township = rural_registry::db::places::township_by_code(&app.db, "369901102000")
            .await
            .expect("query")
            .expect("township");
        let mut own_seen = 0;
        for r in &rows {
            let p = parties
                .iter()
                .find(|p| p.household_no.as_deref().or(p.credit_code.as_deref()) == Some(&r[0]))
                .expect("the party");
            let own = p
                .village_id
                .and_then(|v| villages.iter().find(|x| x.id == v))
                .is_some_and(|v| v.township_id == township.id);
            if own && p.id_number.is_some() {
                own_seen += 1;
                assert_eq!(
                    Some(&r[5]),
                    p.id_number.as_deref(),
                    "own township's ID numbers"
                );
            } else {
                assert_eq!(&r[5], "", "no one else's ID number");
                assert_eq!(&r[6], "", "no one else's phone");
            }
        }
        assert!(own_seen > 0);
        let (status, _, _) = fetch(&app, None, "/export/assets.csv").await;
        assert_eq!(status, 401, "exports need a token");
        let (status, _, _) = fetch(&app, Some(&app.admin), "/export/castles.csv").await;
        assert_eq!(status, 404);
        let (status, _, _) = fetch(&app, Some(&app.admin), "/export/assets.csv?crs=EPSG3857").await;
        assert_eq!(status, 400);
        let (status, _, body) =
            fetch(&app, Some(&app.admin), "/export/townships.csv?crs=GCJ02").await;
        assert_eq!(status, 200);
        let text = String::from_utf8(body[3..].to_vec()).expect("UTF-8");
        assert_eq!(records(&text).len(), 8);
    }
}
