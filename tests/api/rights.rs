//! Recording rights and what credit rests on: each record moves the eligibility report the way
//! it should, and only those the policy allows may record it.

use rural_registry::db::entities::{idle_asset, party, property_right};
use rural_registry::domain::access::Role;
use rural_registry::graphql::common::ids::Kind;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_apps};

const REGISTER: &str = r#"mutation($i: RegisterPropertyRightInput!) {
  registerPropertyRight(input: $i) { propertyRight { id code version holders { share party { id } } } } }"#;
const ELIGIBILITY: &str = r#"query($r: ID!, $p: ID!, $b: ID!) {
  mortgageEligibility(rightId: $r, productId: $p, amountFen: 5000000, termMonths: 24, borrowerId: $b) {
    verdict rules { code verdict } } }"#;

/// A farmhouse with no right yet, owned by a household; another household; the township code
/// of the farmhouse and of another township.
async fn bare_asset(app: &TestApp) -> (idle_asset::Model, i64, i64, String, String) {
    let townships = rural_registry::db::places::all_townships(&app.db)
        .await
        .expect("townships");
    let rights = property_right::Entity::find()
        .all(&app.db)
        .await
        .expect("rights");
    let parties = party::Entity::find().all(&app.db).await.expect("parties");
    let household = |id: i64| parties.iter().any(|p| p.id == id && p.kind == "HOUSEHOLD");
    let assets = idle_asset::Entity::find()
        .all(&app.db)
        .await
        .expect("assets");
    let asset = assets
        .into_iter()
        .find(|a| {
            a.kind == "IDLE_FARMHOUSE"
                && household(a.owner_id)
                && !rights.iter().any(|r| r.asset_id == Some(a.id))
        })
        .expect("a bare farmhouse");
    let other = parties
        .iter()
        .find(|p| p.kind == "HOUSEHOLD" && p.id != asset.owner_id)
        .expect("another household")
        .id;
    let code = |own: bool| {
        townships
            .iter()
            .find(|t| (t.id == asset.township_id) == own)
            .expect("township")
            .code
            .clone()
    };
    (
        asset.clone(),
        asset.owner_id,
        other,
        code(true),
        code(false),
    )
}

fn verdicts(r: &Value) -> std::collections::HashMap<String, String> {
    r["data"]["mortgageEligibility"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|x| {
            (
                x["code"].as_str().expect("code").to_owned(),
                x["verdict"].as_str().expect("verdict").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn recording_a_right_and_its_documents_moves_the_report_rule_by_rule() {
    for app in spawn_apps().await {
        let (asset, owner, other, here, elsewhere) = bare_asset(&app).await;
        let own = app.token(Role::Cadre, Some(&here), None).await;
        let stranger = app.token(Role::Cadre, Some(&elsewhere), None).await;
        let bank = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let input = json!({ "code": "R-TEST-1", "kind": "FARMHOUSE_PROPERTY",
            "assetId": Kind::IdleAsset.id(asset.id), "certificateNo": "赣(2026)东川区不动产权第9000001号",
            "issuedOn": "2026-01-05",
            "holders": [{ "partyId": Kind::Party.id(owner), "share": 0.5 },
                        { "partyId": Kind::Party.id(other), "share": 0.5 }] });
        for (token, code) in [(&stranger, "FORBIDDEN"), (&bank, "FORBIDDEN")] {
            let r = app
                .graphql_as(Some(token), REGISTER, json!({ "i": input }))
                .await;
            assert_eq!(error_code(&r), Some(code), "{r}");
        }
        let mut lopsided = input.clone();
        lopsided["holders"][1]["share"] = json!(0.4);
        let r = app
            .graphql_as(Some(&own), REGISTER, json!({ "i": lopsided }))
            .await;
        assert_eq!(
            error_code(&r),
            Some("BAD_INPUT"),
            "shares must sum to 1: {r}"
        );
        let r = app
            .graphql_as(Some(&own), REGISTER, json!({ "i": input }))
            .await;
        assert!(r["errors"].is_null(), "{r}");
        let right = r["data"]["registerPropertyRight"]["propertyRight"].clone();
        let again = app
            .graphql_as(Some(&own), REGISTER, json!({ "i": input }))
            .await;
        assert_eq!(
            error_code(&again),
            Some("CONFLICT"),
            "a code is registered once"
        );

        let products = app.graphql("{ loanProducts { id code } }", json!({})).await;
        let product = products["data"]["loanProducts"]
            .as_array()
            .expect("products")
            .iter()
            .find(|p| p["code"] == "JXRCB-DC-FARMHOUSE_PROPERTY")
            .expect("product")["id"]
            .clone();
        let vars = json!({ "r": right["id"], "p": product, "b": Kind::Party.id(owner) });
        let before = verdicts(&app.graphql_as(Some(&bank), ELIGIBILITY, vars.clone()).await);
        for (rule, want) in [
            ("CO_OWNER_CONSENT", "FAIL"),
            ("COLLECTIVE_CONSENT", "FAIL"),
            ("ALTERNATIVE_RESIDENCE", "FAIL"),
            ("APPRAISAL_PRESENT", "FAIL"),
        ] {
            assert_eq!(before[rule], want, "{rule} before");
        }

        let doc = "mutation($i: AddSourceDocumentInput!) { addSourceDocument(input: $i) { kind recordId } }";
        for (kind, party) in [
            ("CO_OWNER_CONSENT", Some(other)),
            ("COLLECTIVE_CONSENT", None),
            ("ALTERNATIVE_RESIDENCE_PROOF", Some(owner)),
        ] {
            let i = json!({ "rightId": right["id"], "kind": kind, "number": format!("T-{kind}"),
                            "issuer": "白家村", "issuedOn": "2026-02-01",
                            "partyId": party.map(|p| Kind::Party.id(p)) });
            let r = app.graphql_as(Some(&own), doc, json!({ "i": i })).await;
            assert!(r["errors"].is_null(), "{r}");
        }
        let appraise =
            "mutation($i: RecordAppraisalInput!) { recordAppraisal(input: $i) { recordId } }";
        let a = json!({ "rightId": right["id"], "method": "BANK", "appraiser": "农商行",
                        "valueFen": 40000000, "valuedOn": "2026-11-01" });
        assert_eq!(
            error_code(
                &app.graphql_as(Some(&own), appraise, json!({ "i": a }))
                    .await
            ),
            Some("FORBIDDEN"),
            "cadres do not appraise"
        );
        let r = app
            .graphql_as(Some(&bank), appraise, json!({ "i": a }))
            .await;
        assert!(r["errors"].is_null(), "{r}");
        let after = verdicts(&app.graphql_as(Some(&bank), ELIGIBILITY, vars.clone()).await);
        for rule in [
            "CO_OWNER_CONSENT",
            "COLLECTIVE_CONSENT",
            "ALTERNATIVE_RESIDENCE",
            "APPRAISAL_PRESENT",
        ] {
            assert_eq!(after[rule], "PASS", "{rule} after its record: {after:?}");
        }

        // A dispute, at the version read; a stale version changes nothing.
        let standing = "mutation($i: SetRightStandingInput!) { setRightStanding(input: $i) { propertyRight { disputed version } } }";
        let stale = json!({ "id": right["id"], "version": 7, "disputed": true });
        assert_eq!(
            error_code(
                &app.graphql_as(Some(&own), standing, json!({ "i": stale }))
                    .await
            ),
            Some("CONFLICT")
        );
        let r = app
            .graphql_as(Some(&own), standing, json!({ "i": { "id": right["id"], "version": right["version"], "disputed": true } }))
            .await;
        assert_eq!(
            r["data"]["setRightStanding"]["propertyRight"]["disputed"], true,
            "{r}"
        );
        let disputed = verdicts(&app.graphql_as(Some(&bank), ELIGIBILITY, vars.clone()).await);
        assert_eq!(disputed["NO_TITLE_DISPUTE"], "FAIL");

        // A zone announced over the house.
        let zone = "mutation($i: AnnounceExpropriationZoneInput!) { announceExpropriationZone(input: $i) { recordId } }";
        let d = 0.001;
        let ring = json!([
            [asset.lon - d, asset.lat - d],
            [asset.lon + d, asset.lat - d],
            [asset.lon + d, asset.lat + d],
            [asset.lon - d, asset.lat + d],
            [asset.lon - d, asset.lat - d]
        ]);
        let z = json!({ "code": "ZS-TEST", "name": "测试征收", "boundary": { "type": "Polygon", "coordinates": [ring] },
                        "announcedOn": "2026-11-20", "authority": "东川区人民政府" });
        assert_eq!(
            error_code(&app.graphql_as(Some(&own), zone, json!({ "i": z })).await),
            Some("FORBIDDEN")
        );
        let mut bow = z.clone();
        bow["boundary"]["coordinates"][0] = json!([
            [asset.lon, asset.lat],
            [asset.lon + d, asset.lat + d],
            [asset.lon + d, asset.lat],
            [asset.lon, asset.lat + d],
            [asset.lon, asset.lat]
        ]);
        assert_eq!(
            error_code(&app.graphql(zone, json!({ "i": bow })).await),
            Some("INVALID_GEOMETRY")
        );
        let r = app.graphql(zone, json!({ "i": z })).await;
        assert!(r["errors"].is_null(), "{r}");
        let zoned = verdicts(&app.graphql_as(Some(&bank), ELIGIBILITY, vars).await);
        assert_eq!(zoned["NOT_IN_EXPROPRIATION_ZONE"], "FAIL");
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn branches_recommend_and_banks_grant_lines_only_where_reports_pass() {
    for app in spawn_apps().await {
        let (_, owner, _, here, elsewhere) = bare_asset(&app).await;
        let own = app.token(Role::Cadre, Some(&here), None).await;
        let stranger = app.token(Role::Cadre, Some(&elsewhere), None).await;
        let recommend = "mutation($i: RecordRecommendationInput!) { recordRecommendation(input: $i) { kind recordId } }";
        let rec =
            json!({ "partyId": Kind::Party.id(owner), "grade": "AA", "issuer": "白家村党支部" });
        assert_eq!(
            error_code(
                &app.graphql_as(Some(&stranger), recommend, json!({ "i": rec }))
                    .await
            ),
            Some("FORBIDDEN")
        );
        let mut bad = rec.clone();
        bad["grade"] = json!("Z");
        assert_eq!(
            error_code(
                &app.graphql_as(Some(&own), recommend, json!({ "i": bad }))
                    .await
            ),
            Some("BAD_INPUT")
        );
        let r = app
            .graphql_as(Some(&own), recommend, json!({ "i": rec }))
            .await;
        assert_eq!(
            r["data"]["recordRecommendation"]["kind"], "Recommendation",
            "{r}"
        );

        // A passing demo right gets a line up to its report's maximum; a failing one none.
        let bank = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let other = app.token(Role::Bank, None, Some("PSBC-DC")).await;
        let products = app.graphql("{ loanProducts { id code } }", json!({})).await;
        let product = products["data"]["loanProducts"]
            .as_array()
            .expect("products")
            .iter()
            .find(|p| p["code"] == "JXRCB-DC-FARMHOUSE_PROPERTY")
            .expect("product")["id"]
            .clone();
        let grant =
            "mutation($i: GrantCreditLineInput!) { grantCreditLine(input: $i) { kind recordId } }";
        let r = app
            .graphql(r#"{ propertyRight(code: "R-369901101202-0005") { id } failing: propertyRight(code: "R-369901101201-0002") { id } }"#, json!({}))
            .await;
        let (passing, failing) = (
            r["data"]["propertyRight"]["id"].clone(),
            r["data"]["failing"]["id"].clone(),
        );
        let line = |right: &Value, amount: i64| json!({ "i": { "rightId": right, "productId": product, "amountFen": amount, "expiresOn": "2027-11-30" } });
        assert_eq!(
            error_code(
                &app.graphql_as(Some(&other), grant, line(&passing, 1_000_000))
                    .await
            ),
            Some("FORBIDDEN")
        );
        assert_eq!(
            error_code(
                &app.graphql_as(Some(&bank), grant, line(&failing, 1_000_000))
                    .await
            ),
            Some("BAD_INPUT")
        );
        assert_eq!(
            error_code(
                &app.graphql_as(Some(&bank), grant, line(&passing, 9_000_000_000))
                    .await
            ),
            Some("BAD_INPUT")
        );
        let r = app
            .graphql_as(Some(&bank), grant, line(&passing, 10_000_000))
            .await;
        assert_eq!(r["data"]["grantCreditLine"]["kind"], "CreditLine", "{r}");
        app.assert_sound().await;
    }
}
