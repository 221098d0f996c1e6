//! The "three changes" (三变) register over HTTP: a cadre's walk from the organisation to a
//! household's statement; every rule's refusal with its code and nothing written; who may read
//! and write what.

use rural_registry::db::entities::{collective_organization, idle_asset, party, township, village};
use rural_registry::domain::access::Role;
use rural_registry::graphql::common::ids::Kind;
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_apps};

const CREATE: &str = r#"mutation($i: CreateCollectiveOrganizationInput!) {
  createCollectiveOrganization(input: $i) { organization { id version party { id } village { code } reformCompleted } } }"#;
const UPDATE: &str = r#"mutation($i: UpdateCollectiveOrganizationInput!) {
  updateCollectiveOrganization(input: $i) { organization { id version reserveBp } } }"#;
const MEMBER: &str = r#"mutation($i: RecordMemberInput!) {
  recordMember(input: $i) { member { id version basis joinedOn party { id } } } }"#;
const END_MEMBER: &str = r#"mutation($i: EndMembershipInput!) {
  endMembership(input: $i) { member { id leftOn leftReason } } }"#;
const CLASS: &str = r#"mutation($i: DefineShareClassInput!) {
  defineShareClass(input: $i) { shareClass { id kind name issued held } } }"#;
const ISSUE: &str = r#"mutation($i: IssueSharesInput!) {
  issueShares(input: $i) { shareChange { id kind opened { id shares holder { id } heldByOrganization } } } }"#;
const CHANGE: &str = r#"mutation($i: RecordShareChangeInput!) {
  recordShareChange(input: $i) { shareChange { id kind closed { id validTo } opened { id shares holder { id } } } } }"#;
const CONTRIBUTE: &str = r#"mutation($i: RecordContributionInput!) {
  recordContribution(input: $i) { contribution { id kind shares appraisedValueFen
    contributor { id } revitalization { id } contributed { __typename }
    holdings { id shares } shareClass { issued held } } } }"#;
const DECLARE: &str = r#"mutation($i: DeclareDistributionInput!) {
  declareDistribution(input: $i) { distribution { id year distributableFen reserveFen holdersFen
    classes { fen } payouts(first: 100) { totalCount nodes { id fen holder { id } } } } } }"#;
const MARK: &str = r#"mutation($i: MarkPayoutsPaidInput!) {
  markPayoutsPaid(input: $i) { marked distribution { paid { payouts fen households } } } }"#;
const REVITALIZE: &str = r#"mutation($i: RecordRevitalizationInput!) {
  recordRevitalization(input: $i) { revitalization { id } } }"#;

/// A village with its collective party and households, in a township, with a second such
/// village of the same township; chosen in a township with no organisation yet, so that its
/// figures are the test's own.
pub(crate) struct Place {
    pub(crate) township: String,
    pub(crate) other_township: String,
    pub(crate) village: village::Model,
    pub(crate) collective: party::Model,
    pub(crate) households: Vec<i64>,
    pub(crate) asset: i64,
    pub(crate) second_village: village::Model,
    pub(crate) second_collective: party::Model,
}

pub(crate) async fn place(app: &TestApp) -> Place {
    let townships = township::Entity::find()
        .all(&app.db)
        .await
        .expect("townships");
    let villages = village::Entity::find()
        .all(&app.db)
        .await
        .expect("villages");
    let parties = party::Entity::find().all(&app.db).await.expect("parties");
    let assets = idle_asset::Entity::find()
        .all(&app.db)
        .await
        .expect("assets");
    let orgs = collective_organization::Entity::find()
        .all(&app.db)
        .await
        .expect("organisations");
    let free = |v: &village::Model| -> Option<(party::Model, Vec<i64>, Option<i64>)> {
        if orgs.iter().any(|o| o.village_id == v.id) {
            return None;
        }
        let collective = parties.iter().find(|p| {
            p.kind == "COLLECTIVE" && p.village_id == Some(v.id) && p.credit_code.is_some()
        })?;
        let households: Vec<i64> = parties
            .iter()
            .filter(|p| p.kind == "HOUSEHOLD" && p.village_id == Some(v.id))
            .map(|p| p.id)
            .collect();
        let asset = assets
            .iter()
            .find(|a| a.village_id == Some(v.id) && a.status == "REVITALIZED")
            .map(|a| a.id);
        (households.len() >= 5).then(|| (collective.clone(), households, asset))
    };
    let busy: Vec<i64> = orgs
        .iter()
        .filter_map(|o| villages.iter().find(|v| v.id == o.village_id))
        .map(|v| v.township_id)
        .collect();
    for v in villages.iter().filter(|v| !busy.contains(&v.township_id)) {
        let Some((collective, households, Some(asset))) = free(v) else {
            continue;
        };
        let Some((second, (second_collective, _, _))) = villages
            .iter()
            .filter(|w| w.id != v.id && w.township_id == v.township_id)
            .find_map(|w| free(w).map(|f| (w, f)))
        else {
            continue;
        };
        let code = |own: bool| {
            townships
                .iter()
                .find(|t| (t.id == v.township_id) == own)
                .expect("township")
                .code
                .clone()
        };
        return Place {
            township: code(true),
            other_township: code(false),
            village: v.clone(),
            collective,
            households,
            asset,
            second_village: second.clone(),
            second_collective,
        };
    }
    panic!("the demo district has a township with two villages free for an organisation");
}

pub(crate) fn party_id(n: i64) -> String {
    Kind::Party.id(n).to_string()
}

pub(crate) fn village_id(v: &village::Model) -> String {
    Kind::Village.id(v.id).to_string()
}

pub(crate) fn ok<'a>(r: &'a Value, field: &str) -> &'a Value {
    assert!(r["errors"].is_null(), "{field}: {r}");
    &r["data"][field]
}

/// The register's rows and the audit trail, counted and summed: any write changes them.
pub(crate) async fn snapshot(app: &TestApp) -> Vec<i64> {
    let sums = [
        "SELECT COUNT(*) FROM party",
        "SELECT COUNT(*) FROM collective_organization",
        "SELECT CAST(COALESCE(SUM(version + register_version), 0) AS BIGINT) FROM collective_organization",
        "SELECT COUNT(*) FROM collective_member",
        "SELECT COUNT(left_on) FROM collective_member",
        "SELECT COUNT(*) FROM share_class",
        "SELECT CAST(COALESCE(SUM(issued_hundredths), 0) AS BIGINT) FROM share_class",
        "SELECT COUNT(*) FROM share_change",
        "SELECT COUNT(*) FROM share_holding",
        "SELECT COUNT(valid_to) FROM share_holding",
        "SELECT COUNT(*) FROM share_contribution",
        "SELECT COUNT(*) FROM distribution",
        "SELECT COUNT(*) FROM payout",
        "SELECT COUNT(paid_on) FROM payout",
        "SELECT COUNT(*) FROM audit_event",
    ];
    let mut out = Vec::new();
    for sql in sums {
        let row = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                sql.to_owned(),
            ))
            .await
            .expect("query")
            .expect("a row");
        out.push(row.try_get_by_index::<i64>(0).expect("a number"));
    }
    out
}

/// A unified social credit code with its check character (GB 32100-2015).
fn credit_code(first17: &str) -> String {
    const CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let sum: usize = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| CHARS.find(c).expect("a code character") * w)
        .sum();
    let check = (31 - sum % 31) % 31;
    format!("{first17}{}", CHARS.as_bytes()[check] as char)
}

/// Creates the organisation for `place.village` as `token`; returns its global ID.
pub(crate) async fn create_org(app: &TestApp, token: &str, place: &Place) -> String {
    let r = app
        .graphql_as(
            Some(token),
            CREATE,
            json!({ "i": {
                "villageId": village_id(&place.village),
                "name": place.collective.name,
                "creditCode": place.collective.credit_code,
                "kind": "STOCK_ECONOMIC_COOPERATIVE",
                "registeredOn": "2018-03-01",
                "reformCompletedOn": "2018-06-30",
                "reserveBp": 1000,
            } }),
        )
        .await;
    let org = ok(&r, "createCollectiveOrganization");
    assert_eq!(
        org["organization"]["party"]["id"],
        json!(party_id(place.collective.id)),
        "the village's collective party becomes the organisation: {r}"
    );
    org["organization"]["id"].as_str().expect("id").to_owned()
}

async fn member(app: &TestApp, token: &str, org: &str, household: i64) -> Value {
    app.graphql_as(
        Some(token),
        MEMBER,
        json!({ "i": { "organizationId": org, "partyId": party_id(household),
            "basis": "ORIGINAL", "joinedOn": "2018-03-01", "document": "成员名册 2018" } }),
    )
    .await
}

pub(crate) async fn class(
    app: &TestApp,
    token: &str,
    org: &str,
    kind: &str,
    name: &str,
    issued: &str,
) -> String {
    let r = app
        .graphql_as(
            Some(token),
            CLASS,
            json!({ "i": { "organizationId": org, "kind": kind, "name": name, "issued": issued } }),
        )
        .await;
    ok(&r, "defineShareClass")["shareClass"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// An organisation with three members (the first three households), a population class of
/// 300 shares issued 100 + 100 + 50 on reform, and a collective class of 100 held by the
/// organisation: (organisation, population class, collective class, holdings by household).
async fn reformed(
    app: &TestApp,
    token: &str,
    place: &Place,
) -> (String, String, String, Vec<String>) {
    let org = create_org(app, token, place).await;
    for h in &place.households[..3] {
        ok(&member(app, token, &org, *h).await, "recordMember");
    }
    let population = class(app, token, &org, "POPULATION", "人口股", "300").await;
    let collective = class(app, token, &org, "COLLECTIVE", "集体股", "100.00").await;
    let h = &place.households;
    let r = app
        .graphql_as(
            Some(token),
            ISSUE,
            json!({ "i": { "organizationId": org, "issuedOn": "2018-06-30", "document": "改革方案",
                "holdings": [
                    { "holderId": party_id(h[0]), "shareClassId": population, "shares": "100", "certificateNo": "GQZ-001" },
                    { "holderId": party_id(h[1]), "shareClassId": population, "shares": "100", "certificateNo": "GQZ-002" },
                    { "holderId": party_id(h[2]), "shareClassId": population, "shares": "50" },
                    { "shareClassId": collective, "shares": "100" },
                ] } }),
        )
        .await;
    let opened = ok(&r, "issueShares")["shareChange"]["opened"]
        .as_array()
        .expect("opened")
        .clone();
    assert_eq!(opened.len(), 4, "{r}");
    assert_eq!(opened[3]["heldByOrganization"], json!(true), "{r}");
    let holdings = opened
        .iter()
        .map(|o| o["id"].as_str().expect("id").to_owned())
        .collect();
    (org, population, collective, holdings)
}

#[tokio::test]
async fn a_cadre_walks_from_the_organisation_to_a_households_statement() {
    for app in spawn_apps().await {
        let place = place(&app).await;
        let cadre = app.token(Role::Cadre, Some(&place.township), None).await;
        let (org, population, _collective, holdings) = reformed(&app, &cadre, &place).await;
        let h = &place.households;

        // The village names its organisation, publicly.
        let r = app
            .graphql_as(
                None,
                "query($v: ID!) { village(id: $v) { collectiveOrganization { id name reformCompleted
                    shareClasses { name issued held } } } }",
                json!({ "v": village_id(&place.village) }),
            )
            .await;
        let found = &ok(&r, "village")["collectiveOrganization"];
        assert_eq!(found["id"], json!(org), "{}: {r}", app.engine);
        assert_eq!(
            found["shareClasses"],
            json!([
                { "name": "人口股", "issued": "300.00", "held": "250.00" },
                { "name": "集体股", "issued": "100.00", "held": "100.00" },
            ]),
            "{}: {r}",
            app.engine
        );

        // An idle house contributed through its EQUITY_CONTRIBUTION revitalization.
        let resource = class(&app, &cadre, &org, "RESOURCE", "资源股", "0").await;
        let r = app
            .graphql_as(
                Some(&cadre),
                REVITALIZE,
                json!({ "i": { "assetId": Kind::IdleAsset.id(place.asset).to_string(),
                    "mode": "EQUITY_CONTRIBUTION", "endUse": "民宿",
                    "counterpartyId": party_id(place.collective.id), "startDate": "2021-01-10" } }),
            )
            .await;
        let revitalization = ok(&r, "recordRevitalization")["revitalization"]["id"].clone();
        let r = app
            .graphql_as(
                Some(&cadre),
                CONTRIBUTE,
                json!({ "i": { "organizationId": org, "kind": "IDLE_ASSET",
                    "contributorId": party_id(h[0]), "revitalizationId": revitalization,
                    "appraisedValueFen": "4050000", "contributedOn": "2021-01-12",
                    "shareClassId": resource, "shares": "40.5", "certificateNo": "GQZ-001-Z" } }),
            )
            .await;
        let c = &ok(&r, "recordContribution")["contribution"];
        assert_eq!(c["shares"], json!("40.50"), "{r}");
        assert_eq!(c["contributor"]["id"], json!(party_id(h[0])), "{r}");
        assert_eq!(c["contributed"]["__typename"], json!("IdleAsset"), "{r}");
        assert_eq!(
            c["shareClass"],
            json!({ "issued": "40.50", "held": "40.50" }),
            "{r}"
        );
        let r = app
            .graphql_as(
                Some(&cadre),
                "query($r: [ID!]!) { nodes(ids: $r) { ... on Revitalization { contribution { id } } } }",
                json!({ "r": [revitalization] }),
            )
            .await;
        assert_eq!(
            ok(&r, "nodes")[0]["contribution"]["id"],
            c["id"],
            "the link runs both ways: {r}"
        );

        // The third household leaves; its shares go to the second in the same change.
        let r = app
            .graphql_as(
                Some(&cadre),
                CHANGE,
                json!({ "i": { "organizationId": org, "kind": "TRANSFER", "occurredOn": "2022-03-01",
                    "closeHoldingIds": [holdings[2]], "leaverIds": [party_id(h[2])],
                    "open": [{ "holderId": party_id(h[1]), "shareClassId": population, "shares": "50" }],
                    "reason": "迁出本村", "document": "村民代表会议决议 2022-02" } }),
            )
            .await;
        let change = &ok(&r, "recordShareChange")["shareChange"];
        assert_eq!(change["closed"][0]["validTo"], json!("2022-03-01"), "{r}");
        let r = app
            .graphql_as(
                Some(&cadre),
                "query($o: ID!) { collectiveOrganization(id: $o) {
                    members(first: 10) { totalCount nodes { party { id } leftOn } }
                    on2021: holdings(on: \"2021-12-31\", first: 10) { totalCount }
                    now: holdings(first: 10) { totalCount nodes { shares holder { id } } } } }",
                json!({ "o": org }),
            )
            .await;
        let o = ok(&r, "collectiveOrganization");
        let left: Vec<&Value> = o["members"]["nodes"]
            .as_array()
            .expect("members")
            .iter()
            .filter(|m| !m["leftOn"].is_null())
            .collect();
        assert_eq!(left.len(), 1, "{r}");
        assert_eq!(left[0]["party"]["id"], json!(party_id(h[2])), "{r}");
        assert_eq!(o["on2021"]["totalCount"], json!(5), "history is kept: {r}");
        assert_eq!(o["now"]["totalCount"], json!(5), "{r}");

        // A year's income, declared: payouts computed by the server, summing exactly.
        let r = app
            .graphql_as(
                Some(&cadre),
                DECLARE,
                json!({ "i": { "organizationId": org, "year": 2023, "distributableFen": "1000001",
                    "declaredOn": "2024-01-20", "document": "2023年度收益分配方案" } }),
            )
            .await;
        let d = &ok(&r, "declareDistribution")["distribution"];
        assert_eq!(
            d["reserveFen"],
            json!(100_000),
            "10% kept, rounded down: {r}"
        );
        assert_eq!(d["holdersFen"], json!(900_001), "{r}");
        let payouts = d["payouts"]["nodes"].as_array().expect("payouts");
        assert_eq!(payouts.len(), 5, "one per holding: {r}");
        let fen = |p: &Value| p["fen"].as_i64().expect("fen");
        assert_eq!(payouts.iter().map(fen).sum::<i64>(), 900_001, "{r}");
        // 390.5 shares share 900,001 fen: the first household holds 140.5 of them.
        let first: i64 = payouts
            .iter()
            .filter(|p| p["holder"]["id"] == json!(party_id(h[0])))
            .map(fen)
            .sum();
        let exact = 900_001.0 * 140.5 / 390.5;
        assert!(
            (first as f64 - exact).abs() < 2.0,
            "{first} vs {exact}: {r}"
        );
        let distribution = d["id"].clone();

        let before = snapshot(&app).await;
        let again = app
            .graphql_as(
                Some(&cadre),
                DECLARE,
                json!({ "i": { "organizationId": org, "year": 2023, "distributableFen": "5",
                    "declaredOn": "2024-02-01" } }),
            )
            .await;
        assert_eq!(error_code(&again), Some("CONFLICT"), "{again}");
        assert_eq!(snapshot(&app).await, before, "{}", app.engine);

        let r = app
            .graphql_as(
                Some(&cadre),
                MARK,
                json!({ "i": { "distributionId": distribution, "paidOn": "2024-02-10",
                    "method": "BANK_TRANSFER" } }),
            )
            .await;
        let m = ok(&r, "markPayoutsPaid");
        assert_eq!(m["marked"], json!(5), "{r}");
        assert_eq!(
            m["distribution"]["paid"],
            json!({ "payouts": 5, "fen": 900_001, "households": 2 }),
            "{r}"
        );

        // The household's statement.
        let r = app
            .graphql_as(
                Some(&cadre),
                "query($p: ID!) { nodes(ids: [$p]) { ... on Party { shareStatement {
                    memberships { leftOn } holdings { shares certificateNo shareClass { name } }
                    payoutsByYear { year fen paidFen organization { id } } } } } }",
                json!({ "p": party_id(h[0]) }),
            )
            .await;
        let s = &ok(&r, "nodes")[0]["shareStatement"];
        assert_eq!(s["memberships"], json!([{ "leftOn": null }]), "{r}");
        assert_eq!(
            s["holdings"],
            json!([
                { "shares": "100.00", "certificateNo": "GQZ-001", "shareClass": { "name": "人口股" } },
                { "shares": "40.50", "certificateNo": "GQZ-001-Z", "shareClass": { "name": "资源股" } },
            ]),
            "{r}"
        );
        let year = &s["payoutsByYear"][0];
        assert_eq!(year["year"], json!(2023), "{r}");
        assert_eq!(year["fen"], json!(first), "{r}");
        assert_eq!(year["paidFen"], year["fen"], "{r}");
        assert_eq!(year["organization"]["id"], json!(org), "{r}");

        // Coverage, for anyone: the township's and the district's.
        let r = app
            .graphql_as(
                None,
                "query($t: String!) { township(code: $t) { shareCoverage {
                    organizationsCount reformedVillages memberHouseholds shareholderHouseholds
                    sharesByClass { kind shares } contributions { kind count valueFen shares }
                    dividends { year distributions distributableFen declaredFen paidFen householdsPaid } } }
                  shareCoverage { organizationsCount memberHouseholds } }",
                json!({ "t": place.township }),
            )
            .await;
        let cov = &ok(&r, "township")["shareCoverage"];
        assert_eq!(cov["organizationsCount"], json!(1), "{r}");
        assert_eq!(cov["reformedVillages"], json!(1), "{r}");
        assert_eq!(cov["memberHouseholds"], json!(2), "{r}");
        assert_eq!(cov["shareholderHouseholds"], json!(2), "{r}");
        assert_eq!(
            cov["contributions"],
            json!([{ "kind": "IDLE_ASSET", "count": 1, "valueFen": 4_050_000, "shares": "40.50" }]),
            "{r}"
        );
        assert_eq!(
            cov["dividends"],
            json!([{ "year": 2023, "distributions": 1, "distributableFen": 1_000_001,
                "declaredFen": 900_001, "paidFen": 900_001, "householdsPaid": 2 }]),
            "{r}"
        );
        assert!(
            r["data"]["shareCoverage"]["memberHouseholds"].as_i64() >= Some(2),
            "{r}"
        );
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn every_rule_refuses_with_its_code_and_writes_nothing() {
    for app in spawn_apps().await {
        let place = place(&app).await;
        let admin = app.admin.clone();
        let (org, population, collective, holdings) = reformed(&app, &admin, &place).await;
        let h = &place.households;
        let change =
            |kind: &str, on: &str, close: Vec<&String>, open: Value, leavers: Vec<String>| {
                json!({ "i": { "organizationId": org, "kind": kind, "occurredOn": on,
                "closeHoldingIds": close, "open": open, "leaverIds": leavers } })
            };
        let holding = |holder: Option<i64>, class: &str, shares: &str| match holder {
            Some(p) => json!({ "holderId": party_id(p), "shareClassId": class, "shares": shares }),
            None => json!({ "shareClassId": class, "shares": shares }),
        };
        let cases: Vec<(&str, &str, Value, &str)> = vec![
            (
                "shares of a class never exceed what was issued",
                ISSUE,
                json!({ "i": { "organizationId": org, "issuedOn": "2019-01-01",
                    "holdings": [holding(Some(h[0]), &population, "50.01")] } }),
                "CONFLICT",
            ),
            (
                "no zero holding",
                ISSUE,
                json!({ "i": { "organizationId": org, "issuedOn": "2019-01-01",
                    "holdings": [holding(Some(h[0]), &population, "0")] } }),
                "BAD_INPUT",
            ),
            (
                "no negative holding",
                ISSUE,
                json!({ "i": { "organizationId": org, "issuedOn": "2019-01-01",
                    "holdings": [holding(Some(h[0]), &population, "-5")] } }),
                "BAD_INPUT",
            ),
            (
                "shares have two decimal places at most",
                ISSUE,
                json!({ "i": { "organizationId": org, "issuedOn": "2019-01-01",
                    "holdings": [holding(Some(h[0]), &population, "1.005")] } }),
                "BAD_INPUT",
            ),
            (
                "holders are members on that date",
                ISSUE,
                json!({ "i": { "organizationId": org, "issuedOn": "2019-01-01",
                    "holdings": [holding(Some(h[3]), &population, "10")] } }),
                "BAD_INPUT",
            ),
            (
                "only collective shares are held by the organisation",
                ISSUE,
                json!({ "i": { "organizationId": org, "issuedOn": "2019-01-01",
                    "holdings": [holding(None, &population, "10")] } }),
                "BAD_INPUT",
            ),
            (
                "a member leaving needs their holdings transferred or redeemed in the change",
                CHANGE,
                change(
                    "TRANSFER",
                    "2019-01-01",
                    vec![&holdings[1]],
                    json!([holding(Some(h[0]), &population, "100")]),
                    vec![party_id(h[2])],
                ),
                "CONFLICT",
            ),
            (
                "a transfer creates no shares",
                CHANGE,
                change(
                    "TRANSFER",
                    "2019-01-01",
                    vec![&holdings[2]],
                    json!([holding(Some(h[0]), &population, "60")]),
                    vec![],
                ),
                "BAD_INPUT",
            ),
            (
                "a leaver receives no shares",
                CHANGE,
                change(
                    "TRANSFER",
                    "2019-01-01",
                    vec![&holdings[2]],
                    json!([holding(Some(h[2]), &population, "50")]),
                    vec![party_id(h[2])],
                ),
                "BAD_INPUT",
            ),
            (
                "a change is not dated before the last one",
                CHANGE,
                change(
                    "TRANSFER",
                    "2018-01-01",
                    vec![&holdings[2]],
                    json!([holding(Some(h[0]), &population, "50")]),
                    vec![],
                ),
                "CONFLICT",
            ),
            (
                "a static organisation does not adjust holdings",
                CHANGE,
                change(
                    "ADJUSTMENT",
                    "2019-01-01",
                    vec![&holdings[2]],
                    json!([holding(Some(h[2]), &population, "40")]),
                    vec![],
                ),
                "BAD_INPUT",
            ),
            (
                "a contribution is recorded with what was contributed, its shares to its contributor",
                CHANGE,
                change(
                    "CONTRIBUTION",
                    "2019-01-01",
                    vec![],
                    json!([holding(Some(h[1]), &collective, "1")]),
                    vec![],
                ),
                "BAD_INPUT",
            ),
            (
                "a closed holding is closed once",
                CHANGE,
                change(
                    "REDEMPTION",
                    "2019-01-01",
                    vec![&holdings[2], &holdings[2]],
                    json!([]),
                    vec![],
                ),
                "BAD_INPUT",
            ),
            (
                "a member with open holdings does not simply leave",
                END_MEMBER,
                json!({ "i": { "memberId": "placeholder", "version": 1, "leftOn": "2019-01-01" } }),
                "CONFLICT",
            ),
            (
                "one village collective per village",
                CREATE,
                json!({ "i": { "villageId": village_id(&place.village), "name": "又一个合作社",
                    "creditCode": credit_code("N2369901MF0000777"), "kind": "ECONOMIC_COOPERATIVE",
                    "registeredOn": "2020-01-01" } }),
                "CONFLICT",
            ),
            (
                "the credit code's check character is checked",
                CREATE,
                json!({ "i": { "villageId": village_id(&place.second_village), "name": "错码合作社",
                    "creditCode": "N2369901MF00007770", "kind": "PROFESSIONAL_COOPERATIVE",
                    "registeredOn": "2020-01-01" } }),
                "BAD_INPUT",
            ),
            (
                "a membership is not recorded twice",
                MEMBER,
                json!({ "i": { "organizationId": org, "partyId": party_id(h[0]),
                    "basis": "APPLICATION", "joinedOn": "2020-01-01" } }),
                "CONFLICT",
            ),
            (
                "members are households of the village",
                MEMBER,
                json!({ "i": { "organizationId": org, "partyId": party_id(place.second_collective.id),
                    "basis": "APPLICATION", "joinedOn": "2020-01-01" } }),
                "BAD_INPUT",
            ),
            (
                "a contribution is not dated in the future",
                CONTRIBUTE,
                json!({ "i": { "organizationId": org, "kind": "FUNDS", "fundSource": "FISCAL",
                    "appraisedValueFen": "100", "contributedOn": "2030-01-01",
                    "shareClassId": collective, "shares": "1" } }),
                "BAD_INPUT",
            ),
            (
                "declared income is not negative",
                DECLARE,
                json!({ "i": { "organizationId": org, "year": 2020, "distributableFen": "-1",
                    "declaredOn": "2021-01-10" } }),
                "BAD_INPUT",
            ),
        ];
        // The member whose holdings are open, for the END_MEMBER case.
        let r = app
            .graphql(
                "query($o: ID!) { collectiveOrganization(id: $o) { members(first: 10) { nodes { id version party { id } } } } }",
                json!({ "o": org }),
            )
            .await;
        let first_member = ok(&r, "collectiveOrganization")["members"]["nodes"]
            .as_array()
            .expect("members")
            .iter()
            .find(|m| m["party"]["id"] == json!(party_id(h[0])))
            .expect("the first household is a member")["id"]
            .clone();
        for (rule, mutation, mut variables, code) in cases {
            if mutation == END_MEMBER {
                variables["i"]["memberId"] = first_member.clone();
            }
            let before = snapshot(&app).await;
            let r = app.graphql(mutation, variables).await;
            assert_eq!(error_code(&r), Some(code), "{}: {rule}: {r}", app.engine);
            let message = r["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(!message.is_empty(), "{rule}: {r}");
            assert_eq!(snapshot(&app).await, before, "{}: {rule} wrote", app.engine);
        }

        // The refusal names the offending record by its global ID.
        let r = app
            .graphql(
                ISSUE,
                json!({ "i": { "organizationId": org, "issuedOn": "2019-01-01",
                    "holdings": [holding(Some(h[3]), &population, "10")] } }),
            )
            .await;
        let message = r["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(&party_id(h[3])), "{message}");
        app.assert_sound().await;
    }
}

/// Each operation, as anonymous, a bank, a cadre of another township, a cadre of the
/// organisation's township and the district office: refused with its code and nothing
/// written, or answered.
#[tokio::test]
async fn who_may_read_and_write_the_register() {
    for app in spawn_apps().await {
        let place = place(&app).await;
        let own = app.token(Role::Cadre, Some(&place.township), None).await;
        let other = app
            .token(Role::Cadre, Some(&place.other_township), None)
            .await;
        let bank = app.token(Role::Bank, None, Some("PSBC-DC")).await;
        let admin = app.admin.clone();
        let refused: [(Option<&str>, &str, &str); 3] = [
            (None, "anonymous", "UNAUTHENTICATED"),
            (Some(&bank), "a bank", "FORBIDDEN"),
            (Some(&other), "another township's cadre", "FORBIDDEN"),
        ];
        let write_refused = async |mutation: &str, variables: Value, what: &str| {
            for (token, who, code) in &refused {
                let before = snapshot(&app).await;
                let r = app.graphql_as(*token, mutation, variables.clone()).await;
                assert_eq!(
                    error_code(&r),
                    Some(*code),
                    "{}: {who} {what}: {r}",
                    app.engine
                );
                assert_eq!(snapshot(&app).await, before, "{who} {what} wrote");
            }
        };
        let h = &place.households;

        // Create: the own cadre in one village, the district office in the other.
        let create = |v: &village::Model, p: &party::Model| {
            json!({ "i": { "villageId": village_id(v), "name": p.name, "creditCode": p.credit_code,
                "kind": "STOCK_ECONOMIC_COOPERATIVE", "registeredOn": "2018-03-01" } })
        };
        write_refused(CREATE, create(&place.village, &place.collective), "create").await;
        let org = ok(
            &app.graphql_as(
                Some(&own),
                CREATE,
                create(&place.village, &place.collective),
            )
            .await,
            "createCollectiveOrganization",
        )["organization"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        ok(
            &app.graphql_as(
                Some(&admin),
                CREATE,
                create(&place.second_village, &place.second_collective),
            )
            .await,
            "createCollectiveOrganization",
        );

        // Update: each allowed caller in turn, each at the version it read.
        let update = |version: i64, bp: i64| {
            json!({ "i": { "id": org, "version": version, "reserveBp": bp,
                "reformCompletedOn": "2018-06-30" } })
        };
        write_refused(UPDATE, update(1, 500), "update").await;
        let r = app.graphql_as(Some(&own), UPDATE, update(1, 500)).await;
        let version = ok(&r, "updateCollectiveOrganization")["organization"]["version"]
            .as_i64()
            .expect("version");
        let r = app
            .graphql_as(Some(&admin), UPDATE, update(version, 1000))
            .await;
        assert_eq!(
            ok(&r, "updateCollectiveOrganization")["organization"]["reserveBp"],
            json!(1000)
        );

        // Members.
        let member_vars = |p: i64| {
            json!({ "i": { "organizationId": org, "partyId": party_id(p), "basis": "ORIGINAL",
                "joinedOn": "2018-03-01" } })
        };
        write_refused(MEMBER, member_vars(h[0]), "record a member").await;
        let mut members = Vec::new();
        for (i, &p) in h[..4].iter().enumerate() {
            let token = if i % 2 == 0 { &own } else { &admin };
            let r = app.graphql_as(Some(token), MEMBER, member_vars(p)).await;
            members.push(ok(&r, "recordMember")["member"].clone());
        }

        // Classes.
        let class_vars = |kind: &str, name: &str| json!({ "i": { "organizationId": org, "kind": kind, "name": name, "issued": "200" } });
        write_refused(CLASS, class_vars("POPULATION", "人口股"), "define a class").await;
        let population = ok(
            &app.graphql_as(Some(&own), CLASS, class_vars("POPULATION", "人口股"))
                .await,
            "defineShareClass",
        )["shareClass"]["id"]
            .clone();
        let funds = ok(
            &app.graphql_as(Some(&admin), CLASS, class_vars("FUND", "资金股"))
                .await,
            "defineShareClass",
        )["shareClass"]["id"]
            .clone();

        // Issue on reform: the cadre issues to two households, the office to the other two.
        let issue = |a: i64, b: i64, on: &str| {
            json!({ "i": { "organizationId": org, "issuedOn": on, "holdings": [
                { "holderId": party_id(a), "shareClassId": population, "shares": "50" },
                { "holderId": party_id(b), "shareClassId": population, "shares": "50" },
            ] } })
        };
        write_refused(ISSUE, issue(h[0], h[1], "2018-06-30"), "issue shares").await;
        let opened = ok(
            &app.graphql_as(Some(&own), ISSUE, issue(h[0], h[1], "2018-06-30"))
                .await,
            "issueShares",
        )["shareChange"]["opened"]
            .clone();
        ok(
            &app.graphql_as(Some(&admin), ISSUE, issue(h[2], h[3], "2018-07-01"))
                .await,
            "issueShares",
        );

        // Changes: a redemption each.
        let redeem = |holding: &Value, on: &str| {
            json!({ "i": { "organizationId": org, "kind": "REDEMPTION", "occurredOn": on,
                "closeHoldingIds": [holding] } })
        };
        write_refused(
            CHANGE,
            redeem(&opened[0]["id"], "2019-01-01"),
            "change holdings",
        )
        .await;
        ok(
            &app.graphql_as(Some(&own), CHANGE, redeem(&opened[0]["id"], "2019-01-01"))
                .await,
            "recordShareChange",
        );
        ok(
            &app.graphql_as(Some(&admin), CHANGE, redeem(&opened[1]["id"], "2019-02-01"))
                .await,
            "recordShareChange",
        );

        // End memberships: the two households whose holdings were redeemed.
        let end = |m: &Value| {
            json!({ "i": { "memberId": m["id"], "version": m["version"], "leftOn": "2019-03-01",
                "reason": "迁出" } })
        };
        write_refused(END_MEMBER, end(&members[0]), "end a membership").await;
        ok(
            &app.graphql_as(Some(&own), END_MEMBER, end(&members[0]))
                .await,
            "endMembership",
        );
        ok(
            &app.graphql_as(Some(&admin), END_MEMBER, end(&members[1]))
                .await,
            "endMembership",
        );

        // Contributions: fiscal funds made into fund shares held by a member.
        let contribute = |p: i64| {
            json!({ "i": { "organizationId": org, "kind": "FUNDS", "fundSource": "FISCAL",
                "contributorId": party_id(p), "appraisedValueFen": "1000000",
                "contributedOn": "2020-05-01", "shareClassId": funds, "shares": "10" } })
        };
        write_refused(CONTRIBUTE, contribute(h[2]), "record a contribution").await;
        ok(
            &app.graphql_as(Some(&own), CONTRIBUTE, contribute(h[2]))
                .await,
            "recordContribution",
        );
        ok(
            &app.graphql_as(Some(&admin), CONTRIBUTE, contribute(h[3]))
                .await,
            "recordContribution",
        );

        // Distributions, and marking them paid.
        let declare = |year: i32| {
            json!({ "i": { "organizationId": org, "year": year, "distributableFen": "300000",
                "declaredOn": format!("{}-01-15", year + 1) } })
        };
        write_refused(DECLARE, declare(2022), "declare a distribution").await;
        let mut distributions = Vec::new();
        for (year, token) in [(2022, &own), (2023, &admin)] {
            let r = app.graphql_as(Some(token), DECLARE, declare(year)).await;
            distributions.push(ok(&r, "declareDistribution")["distribution"]["id"].clone());
        }
        let mark = |d: &Value| json!({ "i": { "distributionId": d, "paidOn": "2024-03-01", "method": "SUBSIDY_CARD" } });
        write_refused(MARK, mark(&distributions[0]), "mark payouts paid").await;
        for (d, token) in distributions.iter().zip([&own, &admin]) {
            let r = app.graphql_as(Some(token), MARK, mark(d)).await;
            assert_eq!(ok(&r, "markPayoutsPaid")["marked"], json!(4), "{r}");
        }

        // Reading: the organisation and its figures are public; who is a member and who holds
        // what is personal data of the township; a household's statement too, and a bank sees
        // it only of its own borrowers.
        let public = "query($o: ID!) { collectiveOrganization(id: $o) { name kind reformCompleted
            shareClasses { name issued held } distributions { year holdersFen paid { fen } }
            coverage { memberHouseholds shareholderHouseholds dividends { year paidFen } } } }";
        for token in [
            None,
            Some(bank.as_str()),
            Some(other.as_str()),
            Some(own.as_str()),
            Some(admin.as_str()),
        ] {
            let r = app.graphql_as(token, public, json!({ "o": org })).await;
            let o = ok(&r, "collectiveOrganization");
            assert_eq!(o["coverage"]["memberHouseholds"], json!(2), "{r}");
            assert_eq!(o["distributions"].as_array().map(Vec::len), Some(2), "{r}");
        }
        let register = "query($o: ID!) { collectiveOrganization(id: $o) {
            members(first: 10) { totalCount } holdings(first: 10) { totalCount }
            distribution(year: 2023) { payouts(first: 10) { totalCount } } } }";
        let statement = "query($p: ID!) { nodes(ids: [$p]) { ... on Party { shareStatement {
            holdings { shares } payoutsByYear { year fen } } } } }";
        for (token, who, code) in &refused {
            let r = app.graphql_as(*token, register, json!({ "o": org })).await;
            let codes: Vec<&str> = r["errors"]
                .as_array()
                .expect("errors")
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or_default())
                .collect();
            assert_eq!(codes, vec![*code; 3], "{who} reads the register: {r}");
            let r = app
                .graphql_as(*token, statement, json!({ "p": party_id(h[2]) }))
                .await;
            assert_eq!(error_code(&r), Some(*code), "{who} reads a statement: {r}");
        }
        for token in [&own, &admin] {
            let r = app
                .graphql_as(Some(token), register, json!({ "o": org }))
                .await;
            let o = ok(&r, "collectiveOrganization");
            assert_eq!(o["members"]["totalCount"], json!(4), "{r}");
            assert_eq!(
                o["holdings"]["totalCount"],
                json!(4),
                "two population, two fund holdings: {r}"
            );
            assert_eq!(o["distribution"]["payouts"]["totalCount"], json!(4), "{r}");
            let r = app
                .graphql_as(Some(token), statement, json!({ "p": party_id(h[2]) }))
                .await;
            let s = &ok(&r, "nodes")[0]["shareStatement"];
            assert_eq!(s["holdings"].as_array().map(Vec::len), Some(2), "{r}");
            assert_eq!(s["payoutsByYear"].as_array().map(Vec::len), Some(2), "{r}");
        }

        // A bank reads the statement of its own borrower.
        let row = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                "SELECT a.borrower_id, b.code FROM loan_application a
                   JOIN loan_product p ON p.id = a.product_id JOIN bank b ON b.id = p.bank_id
                  ORDER BY a.id"
                    .to_owned(),
            ))
            .await
            .expect("query")
            .expect("the demo district has a loan application");
        let borrower = row.try_get_by_index::<i64>(0).expect("borrower");
        let lender = row.try_get_by_index::<String>(1).expect("bank code");
        let lender_token = app.token(Role::Bank, None, Some(&lender)).await;
        let r = app
            .graphql_as(
                Some(&lender_token),
                statement,
                json!({ "p": party_id(borrower) }),
            )
            .await;
        assert!(
            r["errors"].is_null(),
            "a bank reads its borrower's statement: {r}"
        );
        let r = app
            .graphql_as(
                Some(&lender_token),
                statement,
                json!({ "p": party_id(h[2]) }),
            )
            .await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");

        // Coverage is public at every level.
        for token in [None, Some(bank.as_str())] {
            let r = app
                .graphql_as(
                    token,
                    "query($t: String!, $v: ID!) { shareCoverage { organizationsCount }
                        township(code: $t) { shareCoverage { organizationsCount } }
                        village(id: $v) { shareCoverage { memberHouseholds } } }",
                    json!({ "t": place.township, "v": village_id(&place.village) }),
                )
                .await;
            assert!(r["errors"].is_null(), "{r}");
            assert_eq!(
                r["data"]["township"]["shareCoverage"]["organizationsCount"],
                json!(2),
                "{r}"
            );
            assert_eq!(
                r["data"]["village"]["shareCoverage"]["memberHouseholds"],
                json!(2),
                "{r}"
            );
        }
        app.assert_sound().await;
    }
}

/// splitmix64, so the engine-level property test needs no dependency and fails the same way
/// every run.
struct SplitMix64(u64);

impl SplitMix64 {
    fn between(&mut self, low: i64, high: i64) -> i64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let span = u64::try_from(high - low).expect("high ≥ low") + 1;
        low + i64::try_from((z ^ (z >> 31)) % span).expect("fits")
    }
}

/// Random organisations, holdings and amounts, declared through the API and stored on each
/// engine: the payouts read back sum exactly to what holders get, and each lies within 1 fen of
/// its exact share of its pool (the whole amount, or its class's under class weights).
#[tokio::test]
async fn stored_payouts_sum_exactly_and_lie_within_a_fen_of_their_share() {
    const CASES: i64 = 12;
    const KINDS: [&str; 3] = ["FUND", "RESOURCE", "LABOUR_AGE"];
    for app in spawn_apps().await {
        let place = place(&app).await;
        let mut rng = SplitMix64(0x5EED_0016_2026);
        let village = village_id(&place.village);
        for case in 0..CASES {
            let weighted = case % 2 == 1;
            let reserve = rng.between(0, 10_000);
            let r = app
                .graphql(
                    CREATE,
                    json!({ "i": { "villageId": village, "name": format!("测试专业合作社{case}"),
                        "creditCode": credit_code(&format!("93369901MA{case:07}")),
                        "kind": "PROFESSIONAL_COOPERATIVE", "registeredOn": "2015-01-01",
                        "reserveBp": reserve,
                        "dividendSplit": if weighted { "BY_CLASS_WEIGHT" } else { "PER_SHARE" } } }),
                )
                .await;
            let org = ok(&r, "createCollectiveOrganization")["organization"]["id"]
                .as_str()
                .expect("id")
                .to_owned();
            let members = rng.between(1, place.households.len() as i64) as usize;
            for h in &place.households[..members] {
                ok(&member(&app, &app.admin, &org, *h).await, "recordMember");
            }
            let class_count = rng.between(1, 3);
            let mut left = 10_000;
            let mut classes = Vec::new();
            for c in 0..class_count {
                let weight = if c + 1 == class_count {
                    left
                } else {
                    rng.between(0, left)
                };
                left -= weight;
                let r = app
                    .graphql(
                        CLASS,
                        json!({ "i": { "organizationId": org, "kind": KINDS[c as usize],
                            "name": format!("股{c}"), "issued": "100000000", "weightBp": weight } }),
                    )
                    .await;
                classes.push(ok(&r, "defineShareClass")["shareClass"]["id"].clone());
            }
            // Every class held, then random holdings of random classes.
            let mut holdings = Vec::new();
            for (i, h) in place.households[..members].iter().enumerate() {
                for _ in 0..rng.between(1, 3) {
                    let class = if i < classes.len() {
                        &classes[i]
                    } else {
                        &classes[rng.between(0, class_count - 1) as usize]
                    };
                    let hundredths = if rng.between(0, 5) == 0 {
                        rng.between(1, 1_000_000_000)
                    } else {
                        rng.between(1, 50_000)
                    };
                    holdings.push(json!({ "holderId": party_id(*h), "shareClassId": class,
                        "shares": format!("{}.{:02}", hundredths / 100, hundredths % 100) }));
                }
            }
            for class in classes.iter().skip(members) {
                holdings.push(json!({ "holderId": party_id(place.households[0]),
                    "shareClassId": class, "shares": "0.01" }));
            }
            let r = app
                .graphql(
                    ISSUE,
                    json!({ "i": { "organizationId": org, "issuedOn": "2018-06-30", "holdings": holdings } }),
                )
                .await;
            ok(&r, "issueShares");
            let amount = match rng.between(0, 2) {
                0 => rng.between(0, 1_000),
                1 => rng.between(0, 100_000_000),
                _ => rng.between(0, 1_000_000_000_000),
            };
            let r = app
                .graphql(
                    "mutation($i: DeclareDistributionInput!) { declareDistribution(input: $i) {
                        distribution { reserveFen holdersFen classes { shareClass { id } fen }
                          payouts(first: 100) { totalCount nodes { fen holding { shares shareClass { id } } } } } } }",
                    json!({ "i": { "organizationId": org, "year": 2020, "distributableFen": amount,
                        "declaredOn": "2021-01-10" } }),
                )
                .await;
            let d = &ok(&r, "declareDistribution")["distribution"];
            let fen = |v: &Value| i128::from(v.as_i64().expect("fen"));
            let holders = fen(&d["holdersFen"]);
            assert_eq!(
                fen(&d["reserveFen"]) + holders,
                i128::from(amount),
                "case {case}"
            );
            let payouts = d["payouts"]["nodes"].as_array().expect("payouts");
            assert_eq!(
                payouts.len(),
                holdings.len(),
                "case {case}: one payout a holding"
            );
            assert_eq!(
                payouts.iter().map(|p| fen(&p["fen"])).sum::<i128>(),
                holders,
                "{} case {case}: payouts sum to the holders' amount: {r}",
                app.engine
            );
            let hundredths = |p: &Value| {
                let s = p["holding"]["shares"]
                    .as_str()
                    .expect("shares")
                    .replace('.', "");
                s.parse::<i128>().expect("hundredths")
            };
            let class_of = |p: &Value| p["holding"]["shareClass"]["id"].clone();
            for p in payouts {
                // The pool this payout shares: the whole amount, or its class's.
                let (pool, among): (i128, Vec<&Value>) = if weighted {
                    let class = d["classes"]
                        .as_array()
                        .expect("classes")
                        .iter()
                        .find(|c| c["shareClass"]["id"] == class_of(p))
                        .expect("its class is in the plan");
                    let among = payouts
                        .iter()
                        .filter(|q| class_of(q) == class_of(p))
                        .collect();
                    (fen(&class["fen"]), among)
                } else {
                    (holders, payouts.iter().collect())
                };
                let total: i128 = among.iter().map(|q| hundredths(q)).sum();
                // |p·S − A·s| < S
                let off = (fen(&p["fen"]) * total - pool * hundredths(p)).abs();
                assert!(
                    off < total,
                    "{} case {case}: {p} of {pool}: {r}",
                    app.engine
                );
            }
        }
        app.assert_sound().await;
    }
}

/// Shares as collateral (股权质押): a COLLECTIVE_SHARE right sits on an open holding of its one
/// holder; the eligibility report checks the holding and the organisation's consent; while
/// the pledge's mortgage is active the holding cannot be transferred or redeemed.
#[tokio::test]
async fn a_pledged_share_is_checked_and_stays_put_while_pledged() {
    use rural_registry::domain::eligibility::{Sex, birth_and_sex};
    const RIGHT: &str = r#"mutation($i: RegisterPropertyRightInput!) {
      registerPropertyRight(input: $i) { propertyRight { id kind holding { id shares } } } }"#;
    const ELIGIBILITY: &str = r#"query($r: ID!, $p: ID!, $b: ID!) {
      mortgageEligibility(rightId: $r, productId: $p, amountFen: 8000000, termMonths: 24, borrowerId: $b) {
        verdict rules { code verdict } } }"#;
    for app in spawn_apps().await {
        let place = place(&app).await;
        let admin = app.admin.clone();
        let org = create_org(&app, &admin, &place).await;
        let today = chrono::Local::now().date_naive();
        // The borrower: a household of working age, as the demo policy wants it.
        let parties = party::Entity::find().all(&app.db).await.expect("parties");
        let of_age = |id: &i64| {
            let p = parties.iter().find(|p| p.id == *id).expect("a party");
            p.id_number
                .as_deref()
                .and_then(birth_and_sex)
                .is_some_and(|(born, sex)| {
                    let age = today.years_since(born).unwrap_or(0);
                    age >= 20 && age <= if sex == Sex::Male { 60 } else { 55 }
                })
        };
        let borrower = *place
            .households
            .iter()
            .find(|h| of_age(h))
            .expect("a borrower");
        let other = *place
            .households
            .iter()
            .find(|h| **h != borrower)
            .expect("another household");
        for h in [borrower, other] {
            ok(&member(&app, &admin, &org, h).await, "recordMember");
        }
        let population = class(&app, &admin, &org, "POPULATION", "人口股", "200").await;
        let collective = class(&app, &admin, &org, "COLLECTIVE", "集体股", "50").await;
        let r = app
            .graphql(
                ISSUE,
                json!({ "i": { "organizationId": org, "issuedOn": "2018-06-30", "holdings": [
                    { "holderId": party_id(borrower), "shareClassId": population, "shares": "100", "certificateNo": "GQZ-B" },
                    { "holderId": party_id(other), "shareClassId": population, "shares": "100" },
                    { "shareClassId": collective, "shares": "50" },
                ] } }),
            )
            .await;
        let opened = ok(&r, "issueShares")["shareChange"]["opened"].clone();
        let (held, organisation_held) = (opened[0]["id"].clone(), opened[2]["id"].clone());
        let right = |holding: &Value, holder: i64, code: &str| {
            json!({ "i": { "code": code, "kind": "COLLECTIVE_SHARE", "holdingId": holding,
                "certificateNo": "GQZ-B", "holders": [{ "partyId": party_id(holder), "share": 1.0 }] } })
        };

        // What cannot be pledged, refused with nothing written.
        let other_cadre = app
            .token(Role::Cadre, Some(&place.other_township), None)
            .await;
        let mut without_holding = right(&held, borrower, "GQZY-X");
        without_holding["i"]["holdingId"] = Value::Null;
        let mut wrong_kind = right(&held, borrower, "GQZY-X");
        wrong_kind["i"]["kind"] = json!("FARMHOUSE_PROPERTY");
        let refusals = [
            (Some(admin.as_str()), without_holding, "BAD_INPUT"),
            (Some(admin.as_str()), wrong_kind, "BAD_INPUT"),
            (
                Some(admin.as_str()),
                right(&organisation_held, borrower, "GQZY-X"),
                "BAD_INPUT",
            ),
            (
                Some(admin.as_str()),
                right(&held, other, "GQZY-X"),
                "BAD_INPUT",
            ),
            (
                Some(other_cadre.as_str()),
                right(&held, borrower, "GQZY-X"),
                "FORBIDDEN",
            ),
        ];
        for (token, variables, code) in refusals {
            let before = snapshot(&app).await;
            let r = app.graphql_as(token, RIGHT, variables).await;
            assert_eq!(error_code(&r), Some(code), "{}: {r}", app.engine);
            assert_eq!(snapshot(&app).await, before);
        }
        let cadre = app.token(Role::Cadre, Some(&place.township), None).await;
        let r = app
            .graphql_as(Some(&cadre), RIGHT, right(&held, borrower, "GQZY-0001"))
            .await;
        let pledged = ok(&r, "registerPropertyRight")["propertyRight"].clone();
        assert_eq!(pledged["holding"]["id"], held, "{r}");
        let again = app
            .graphql(RIGHT, right(&held, borrower, "GQZY-0002"))
            .await;
        assert_eq!(
            error_code(&again),
            Some("CONFLICT"),
            "one right per holding: {again}"
        );

        // The report: the holding is checked, the organisation's consent is asked for.
        let products = app.graphql("{ loanProducts { id code } }", json!({})).await;
        let product = ok(&products, "loanProducts")
            .as_array()
            .expect("products")
            .iter()
            .find(|p| p["code"] == "JXRCB-DC-COLLECTIVE_SHARE")
            .expect("the demo's share pledge product")["id"]
            .clone();
        let bank = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let report = async |token: &str| {
            let v = json!({ "r": pledged["id"], "p": product, "b": party_id(borrower) });
            let r = app.graphql_as(Some(token), ELIGIBILITY, v).await;
            ok(&r, "mortgageEligibility").clone()
        };
        let verdict = |report: &Value, code: &str| {
            report["rules"]
                .as_array()
                .expect("rules")
                .iter()
                .find(|r| r["code"] == code)
                .map(|r| r["verdict"].clone())
                .expect("every rule answers")
        };
        let first = report(&bank).await;
        assert_eq!(verdict(&first, "HOLDING_VALID"), json!("PASS"), "{first}");
        assert_eq!(
            verdict(&first, "JURISDICTION_ALLOWS"),
            json!("PASS"),
            "{first}"
        );
        assert_eq!(
            verdict(&first, "COLLECTIVE_CONSENT"),
            json!("FAIL"),
            "{first}"
        );
        assert_eq!(
            verdict(&first, "NOT_IN_EXPROPRIATION_ZONE"),
            json!("NOT_APPLICABLE")
        );

        for (mutation, input) in [
            (
                "mutation($i: AddSourceDocumentInput!) { addSourceDocument(input: $i) { recordId } }",
                json!({ "rightId": pledged["id"], "kind": "COLLECTIVE_CONSENT", "number": "同意书-2026-01",
                    "issuer": place.collective.name, "issuedOn": today.to_string() }),
            ),
            (
                "mutation($i: RecordAppraisalInput!) { recordAppraisal(input: $i) { recordId } }",
                json!({ "rightId": pledged["id"], "method": "NEGOTIATED", "appraiser": "村集体经济组织",
                    "valueFen": 30000000, "valuedOn": today.to_string() }),
            ),
        ] {
            let r = app.graphql(mutation, json!({ "i": input })).await;
            assert!(r["errors"].is_null(), "{r}");
        }
        let second = report(&bank).await;
        assert_eq!(second["verdict"], json!("PASS"), "{}: {second}", app.engine);

        // Pledged: the loan's mortgage is registered, and the holding stays put.
        let r = app
            .graphql_as(
                Some(&bank),
                "mutation($i: SubmitLoanApplicationInput!) { submitLoanApplication(input: $i) { loanApplication { id version } } }",
                json!({ "i": { "productId": product, "rightId": pledged["id"], "borrowerId": party_id(borrower),
                    "amountFen": 8000000, "termMonths": 24 } }),
            )
            .await;
        let application = ok(&r, "submitLoanApplication")["loanApplication"].clone();
        let r = app
            .graphql_as(
                Some(&bank),
                "mutation($i: DecideLoanApplicationInput!) { decideLoanApplication(input: $i) { loanApplication { version } } }",
                json!({ "i": { "id": application["id"], "version": application["version"], "approve": true } }),
            )
            .await;
        let version = ok(&r, "decideLoanApplication")["loanApplication"]["version"].clone();
        let r = app
            .graphql(
                "mutation($i: RegisterMortgageInput!) { registerMortgage(input: $i) { loanApplication { mortgage { status } } } }",
                json!({ "i": { "applicationId": application["id"], "version": version, "registrationNo": "ZY-2026-001" } }),
            )
            .await;
        assert_eq!(
            ok(&r, "registerMortgage")["loanApplication"]["mortgage"]["status"],
            json!("ACTIVE")
        );
        let transfer = json!({ "i": { "organizationId": org, "kind": "TRANSFER",
            "occurredOn": today.to_string(), "closeHoldingIds": [held],
            "open": [{ "holderId": party_id(other), "shareClassId": population, "shares": "100" }] } });
        let before = snapshot(&app).await;
        let r = app.graphql(CHANGE, transfer.clone()).await;
        assert_eq!(error_code(&r), Some("CONFLICT"), "{}: {r}", app.engine);
        assert_eq!(snapshot(&app).await, before);
        let third = report(&bank).await;
        assert_eq!(verdict(&third, "NOT_ENCUMBERED"), json!("FAIL"), "{third}");
        app.assert_sound().await;
    }
}
