//! Property rights, products and the eligibility report over real HTTP, on both engines: every
//! rule fails somewhere in the demo, a bank sees its own business only, and a report names no
//! person.

use std::collections::BTreeSet;

use rural_registry::db::entities::{loan_product, party, property_right, right_holder};
use rural_registry::domain::access::Role;
use rural_registry::graphql::common::ids::Kind;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_apps};

const ELIGIBILITY: &str = r#"query($right: ID!, $product: ID!, $amount: Long!, $term: Int!, $borrower: ID!) {
  mortgageEligibility(rightId: $right, productId: $product, amountFen: $amount,
                      termMonths: $term, borrowerId: $borrower) {
    verdict maxAmountFen ruleSetVersion computedAt snapshotDigest
    rules { code verdict message evidence { kind recordId } }
  }
}"#;

struct Demo {
    rights: Vec<property_right::Model>,
    holders: Vec<right_holder::Model>,
    products: Vec<loan_product::Model>,
}

async fn demo(app: &TestApp) -> Demo {
    Demo {
        rights: property_right::Entity::find()
            .all(&app.db)
            .await
            .expect("rights"),
        holders: right_holder::Entity::find()
            .all(&app.db)
            .await
            .expect("holders"),
        products: loan_product::Entity::find()
            .all(&app.db)
            .await
            .expect("products"),
    }
}

impl Demo {
    fn product(&self, bank: &str, kind: &str) -> &loan_product::Model {
        self.products
            .iter()
            .find(|p| p.code == format!("{bank}-{kind}"))
            .expect("a product per kind")
    }

    fn first_holder(&self, right: i64) -> i64 {
        self.holders
            .iter()
            .filter(|h| h.right_id == right)
            .max_by_key(|h| h.share_bp)
            .expect("a holder")
            .party_id
    }
}

fn vars(right: i64, product: i64, amount: i64, term: i32, borrower: i64) -> Value {
    json!({
        "right": Kind::PropertyRight.id(right),
        "product": Kind::LoanProduct.id(product),
        "amount": amount,
        "term": term,
        "borrower": Kind::Party.id(borrower),
    })
}

#[tokio::test]
async fn every_rule_fails_somewhere_in_the_demo_and_some_rights_pass() {
    for app in spawn_apps().await {
        let d = demo(&app).await;
        let bank = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let mut failing = BTreeSet::new();
        let mut passing = 0;
        for (n, right) in d.rights.iter().enumerate() {
            // Every seventh right is offered to the other kind's product.
            let kind = match (n % 7 == 0, right.kind.as_str()) {
                (true, "FARMHOUSE_PROPERTY") => "HOMESTEAD_USE",
                (true, _) => "FARMHOUSE_PROPERTY",
                (false, k) => k,
            };
            let product = d.product("JXRCB-DC", kind);
            let v = vars(
                right.id,
                product.id,
                12_000_000,
                36,
                d.first_holder(right.id),
            );
            let r = app.graphql_as(Some(&bank), ELIGIBILITY, v).await;
            assert!(r["errors"].is_null(), "{}: {r}", app.engine);
            let report = &r["data"]["mortgageEligibility"];
            let rules = report["rules"].as_array().expect("rules");
            assert_eq!(rules.len(), 20, "one entry per rule");
            for rule in rules {
                assert!(!rule["evidence"].as_array().expect("evidence").is_empty());
                if rule["verdict"] == "FAIL" {
                    failing.insert(rule["code"].as_str().expect("code").to_owned());
                }
            }
            if report["verdict"] == "PASS" {
                passing += 1;
                let max = report["maxAmountFen"]
                    .as_i64()
                    .expect("a passing report tells the most");
                assert!(max >= 12_000_000, "{report}");
            }
        }
        let amount = app
            .graphql_as(
                Some(&bank),
                ELIGIBILITY,
                vars(
                    d.rights[0].id,
                    d.product("JXRCB-DC", &d.rights[0].kind).id,
                    1,
                    36,
                    1,
                ),
            )
            .await;
        for rule in amount["data"]["mortgageEligibility"]["rules"]
            .as_array()
            .expect("rules")
        {
            if rule["verdict"] == "FAIL" {
                failing.insert(rule["code"].as_str().expect("code").to_owned());
            }
        }
        let expected: BTreeSet<String> = [
            "TITLE_REGISTERED",
            "RIGHT_VALID",
            "HOLDER_IS_BORROWER",
            "CO_OWNER_CONSENT",
            "NO_TITLE_DISPUTE",
            "NOT_SEIZED",
            "NOT_ENCUMBERED",
            "MORTGAGE_RANK_UNIQUE",
            "PRODUCT_MATCHES_RIGHT",
            "JURISDICTION_ALLOWS",
            "APPRAISAL_PRESENT",
            "LTV_WITHIN_LIMIT",
            "TERM_WITHIN_RIGHT",
            "AMOUNT_IN_RANGE",
            "ALTERNATIVE_RESIDENCE",
            "COLLECTIVE_CONSENT",
            "LEASE_DISCLOSED",
            "NOT_IN_EXPROPRIATION_ZONE",
            "AGE_LIMIT",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        let missing: Vec<&String> = expected.difference(&failing).collect();
        assert!(
            missing.is_empty(),
            "{}: never fails: {missing:?}",
            app.engine
        );
        assert!(passing > 5, "{}: only {passing} rights pass", app.engine);
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn a_report_is_reproducible_and_names_no_person() {
    for app in spawn_apps().await {
        let d = demo(&app).await;
        let bank = app.token(Role::Bank, None, Some("PSBC-DC")).await;
        let right = &d.rights[1];
        let borrower = d.first_holder(right.id);
        let v = vars(
            right.id,
            d.product("PSBC-DC", &right.kind).id,
            8_000_000,
            24,
            borrower,
        );
        let a = app.graphql_as(Some(&bank), ELIGIBILITY, v.clone()).await;
        let b = app.graphql_as(Some(&bank), ELIGIBILITY, v).await;
        let (a, b) = (
            &a["data"]["mortgageEligibility"],
            &b["data"]["mortgageEligibility"],
        );
        assert_eq!(a["snapshotDigest"], b["snapshotDigest"]);
        assert_eq!(a["snapshotDigest"].as_str().map(str::len), Some(64));
        assert_eq!(a["ruleSetVersion"], "东川区-2026-2");
        let person = party::Entity::find_by_id(borrower)
            .one(&app.db)
            .await
            .expect("query")
            .expect("borrower");
        let text = a.to_string();
        for personal in [Some(person.name), person.id_number, person.phone]
            .into_iter()
            .flatten()
        {
            assert!(!text.contains(&personal), "the report shows {personal}");
        }
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn a_bank_sees_its_own_products_only_and_strangers_see_none() {
    for app in spawn_apps().await {
        let d = demo(&app).await;
        let rural = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let r = app
            .graphql_as(
                Some(&rural),
                "{ loanProducts { code bank { code } } }",
                json!({}),
            )
            .await;
        let codes: Vec<&str> = r["data"]["loanProducts"]
            .as_array()
            .expect("products")
            .iter()
            .map(|p| p["bank"]["code"].as_str().expect("bank"))
            .collect();
        assert_eq!(codes, vec!["JXRCB-DC"; 6], "{r}");
        let all = app.graphql("{ loanProducts { code } }", json!({})).await;
        assert_eq!(
            all["data"]["loanProducts"].as_array().map(Vec::len),
            Some(11)
        );

        let theirs = d.product("PSBC-DC", "FARMHOUSE_PROPERTY");
        let right = &d.rights[0];
        let r = app
            .graphql_as(
                Some(&rural),
                ELIGIBILITY,
                vars(right.id, theirs.id, 8_000_000, 24, d.first_holder(right.id)),
            )
            .await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
        let q = format!(
            r#"{{ node(id: "{}") {{ id }} }}"#,
            Kind::LoanProduct.id(theirs.id).as_str()
        );
        assert_eq!(
            error_code(&app.graphql_as(Some(&rural), &q, json!({})).await),
            Some("FORBIDDEN")
        );
        let r = app
            .graphql_as(
                None,
                ELIGIBILITY,
                vars(right.id, theirs.id, 8_000_000, 24, d.first_holder(right.id)),
            )
            .await;
        assert_eq!(error_code(&r), Some("UNAUTHENTICATED"));
        let r = app
            .graphql_as(None, "{ loanProducts { code } }", json!({}))
            .await;
        assert_eq!(error_code(&r), Some("UNAUTHENTICATED"));
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn bad_eligibility_questions_get_their_code() {
    let apps = spawn_apps().await;
    let app = &apps[0];
    let d = demo(app).await;
    let right = &d.rights[0];
    let product = d.product("JXRCB-DC", &right.kind).id;
    let borrower = d.first_holder(right.id);
    let mut wrong_kind = vars(right.id, product, 8_000_000, 24, borrower);
    wrong_kind["right"] = json!(Kind::Party.id(right.id));
    let mut unknown = vars(right.id, product, 8_000_000, 24, borrower);
    unknown["right"] = json!(Kind::PropertyRight.id(999_999));
    for (v, code, why) in [
        (
            vars(right.id, product, 0, 24, borrower),
            "BAD_INPUT",
            "no amount",
        ),
        (
            vars(right.id, product, 8_000_000, 0, borrower),
            "BAD_INPUT",
            "no term",
        ),
        (wrong_kind, "BAD_INPUT", "a party's id as the right"),
        (unknown, "NOT_FOUND", "no such right"),
    ] {
        let r = app.graphql(ELIGIBILITY, v).await;
        assert_eq!(error_code(&r), Some(code), "{why}: {r}");
    }
}

#[tokio::test]
async fn the_policy_is_data_the_district_office_versions() {
    for app in spawn_apps().await {
        let r = app
            .graphql("{ mortgagePolicy { version mortgageable ltvCeilings { kind maxLoanToValue } minAppraisalFen appraisalValidDays collectiveConsent age { min maleMax femaleMax } } }", json!({}))
            .await;
        let mut policy = r["data"]["mortgagePolicy"].clone();
        assert_eq!(policy["version"], "东川区-2026-2", "{r}");
        policy["version"] = json!("东川区-2026-3");
        policy["mortgageable"] = json!(["FARMHOUSE_PROPERTY", "HOMESTEAD_USE"]);
        let set = "mutation($p: MortgagePolicyInput!) { setMortgagePolicy(input: $p) { version mortgageable } }";
        let cadre = app.token(Role::Cadre, Some("369901102000"), None).await;
        let r = app
            .graphql_as(Some(&cadre), set, json!({ "p": policy }))
            .await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"));
        let mut bad = policy.clone();
        bad["ltvCeilings"][0]["maxLoanToValue"] = json!(1.5);
        assert_eq!(
            error_code(&app.graphql(set, json!({ "p": bad })).await),
            Some("BAD_INPUT")
        );
        let r = app.graphql(set, json!({ "p": policy })).await;
        assert!(r["errors"].is_null(), "{r}");
        assert_eq!(
            error_code(&app.graphql(set, json!({ "p": policy })).await),
            Some("CONFLICT"),
            "a version is written once"
        );

        // Reports now name the new version, and homestead rights pass JURISDICTION_ALLOWS.
        let d = demo(&app).await;
        let homestead = d
            .rights
            .iter()
            .find(|r| r.kind == "HOMESTEAD_USE")
            .expect("a homestead right");
        let v = vars(
            homestead.id,
            d.product("JXRCB-DC", "HOMESTEAD_USE").id,
            2_000_000,
            24,
            d.first_holder(homestead.id),
        );
        let r = app.graphql(ELIGIBILITY, v).await;
        let report = &r["data"]["mortgageEligibility"];
        assert_eq!(report["ruleSetVersion"], "东川区-2026-3");
        let jurisdiction = report["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .find(|r| r["code"] == "JURISDICTION_ALLOWS")
            .expect("rule");
        assert_eq!(jurisdiction["verdict"], "PASS");
        let audit = app
            .graphql(r#"{ auditEvents(first: 5, filter: { entity: "mortgage_policy" }) { nodes { action } } }"#, json!({}))
            .await;
        assert_eq!(
            audit["data"]["auditEvents"]["nodes"][0]["action"], "set_policy",
            "{audit}"
        );
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn the_pre_credit_list_holds_exactly_the_households_whose_houses_pass() {
    for app in spawn_apps().await {
        let d = demo(&app).await;
        let bank = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let product = d.product("JXRCB-DC", "FARMHOUSE_PROPERTY");
        let township = rural_registry::db::places::township_by_code(&app.db, "369901101000")
            .await
            .expect("query")
            .expect("township");
        let q = r#"query($p: ID!, $t: ID!) { preCreditCandidates(productId: $p, townshipId: $t) {
            household { id } right { id } indicativeCreditFen } }"#;
        let v =
            json!({ "p": Kind::LoanProduct.id(product.id), "t": Kind::Township.id(township.id) });
        let r = app.graphql_as(Some(&bank), q, v.clone()).await;
        assert!(r["errors"].is_null(), "{r}");
        let listed: BTreeSet<String> = r["data"]["preCreditCandidates"]
            .as_array()
            .expect("list")
            .iter()
            .map(|c| c["right"]["id"].as_str().expect("id").to_owned())
            .collect();
        // Brute force: every farmhouse right in the township, asked one by one.
        let assets = rural_registry::db::entities::idle_asset::Entity::find()
            .all(&app.db)
            .await
            .expect("assets");
        let mut expected = BTreeSet::new();
        for right in d.rights.iter().filter(|r| r.kind == "FARMHOUSE_PROPERTY") {
            let in_township = assets
                .iter()
                .any(|a| Some(a.id) == right.asset_id && a.township_id == township.id);
            if !in_township {
                continue;
            }
            let vars = vars(
                right.id,
                product.id,
                product.min_amount_fen,
                product.min_term_months,
                d.first_holder(right.id),
            );
            let r = app.graphql_as(Some(&bank), ELIGIBILITY, vars).await;
            if r["data"]["mortgageEligibility"]["verdict"] == "PASS" {
                expected.insert(Kind::PropertyRight.id(right.id).to_string());
            }
        }
        assert!(
            !expected.is_empty(),
            "{}: some house in the township passes",
            app.engine
        );
        assert_eq!(listed, expected, "{}", app.engine);
        let other = app.token(Role::Bank, None, Some("PSBC-DC")).await;
        assert_eq!(
            error_code(&app.graphql_as(Some(&other), q, v).await),
            Some("FORBIDDEN")
        );
        app.assert_sound().await;
    }
}

/// A credit line a bank granted in the demo, and what it was granted on.
pub(crate) struct Granted {
    /// Its global ID.
    pub line: Value,
    pub right: Value,
    pub product: Value,
    pub household: Value,
    pub amount: i64,
    pub term: i32,
}

/// Grants a line as bank `bank_code` (its token `token`) on the first house the pre-credit list
/// of its farmhouse product offers, searching the townships in order.
pub(crate) async fn grant_line(app: &TestApp, token: &str, bank_code: &str) -> Granted {
    let product = loan_product::Entity::find()
        .all(&app.db)
        .await
        .expect("products")
        .into_iter()
        .find(|p| p.code == format!("{bank_code}-FARMHOUSE_PROPERTY"))
        .expect("a farmhouse product");
    let townships = rural_registry::db::places::all_townships(&app.db)
        .await
        .expect("townships");
    let q = r#"query($p: ID!, $t: ID!) { preCreditCandidates(productId: $p, townshipId: $t) {
        household { id } right { id } } }"#;
    for t in &townships {
        let v = json!({ "p": Kind::LoanProduct.id(product.id), "t": Kind::Township.id(t.id) });
        let r = app.graphql_as(Some(token), q, v).await;
        let Some(c) = r["data"]["preCreditCandidates"]
            .as_array()
            .and_then(|c| c.first())
        else {
            continue;
        };
        let expires = chrono::Local::now().date_naive() + chrono::Days::new(365);
        let input = json!({ "rightId": c["right"]["id"], "productId": Kind::LoanProduct.id(product.id),
                            "amountFen": product.min_amount_fen, "expiresOn": expires });
        let g = app
            .graphql_as(
                Some(token),
                "mutation($i: GrantCreditLineInput!) { grantCreditLine(input: $i) { kind id } }",
                json!({ "i": input }),
            )
            .await;
        assert!(g["errors"].is_null(), "{}: {g}", app.engine);
        return Granted {
            line: g["data"]["grantCreditLine"]["id"].clone(),
            right: c["right"]["id"].clone(),
            product: json!(Kind::LoanProduct.id(product.id)),
            household: c["household"]["id"].clone(),
            amount: product.min_amount_fen,
            term: product.min_term_months,
        };
    }
    panic!("{}: no house passes for {bank_code}", app.engine);
}

/// Records a recommendation of `household` (as ADMIN) and brings it to bank `token` in an
/// application on the line's right: (recommendation, application), by global ID.
pub(crate) async fn recommend_and_apply(app: &TestApp, token: &str, g: &Granted) -> (Value, Value) {
    let r = app
        .graphql(
            "mutation($i: RecordRecommendationInput!) { recordRecommendation(input: $i) { recordId id } }",
            json!({ "i": { "partyId": g.household, "grade": "AA", "issuer": "测试村党支部" } }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let rec = r["data"]["recordRecommendation"].clone();
    let input = json!({ "productId": g.product, "rightId": g.right, "borrowerId": g.household,
                        "amountFen": g.amount, "termMonths": g.term,
                        "recommendationId": rec["recordId"] });
    let a = app
        .graphql_as(
            Some(token),
            "mutation($i: SubmitLoanApplicationInput!) { submitLoanApplication(input: $i) { loanApplication { id } } }",
            json!({ "i": input }),
        )
        .await;
    assert!(a["errors"].is_null(), "{a}");
    (
        rec["id"].clone(),
        a["data"]["submitLoanApplication"]["loanApplication"]["id"].clone(),
    )
}

const LINES: &str = r#"query($f: CreditLineFilter) { creditLines(first: 100, filter: $f) {
    totalCount nodes { id bank { code } household { id } right { id } asset { id }
    amountFen grantedOn expiresOn status drawnFen availableFen loans { id status } } } }"#;

#[tokio::test]
async fn a_bank_reads_back_its_credit_lines_and_what_they_lent_and_no_other_banks() {
    for app in spawn_apps().await {
        let rural = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let postal = app.token(Role::Bank, None, Some("PSBC-DC")).await;
        let mine = grant_line(&app, &rural, "JXRCB-DC").await;
        let theirs = grant_line(&app, &postal, "PSBC-DC").await;
        let today = chrono::Local::now().date_naive().to_string();

        let r = app.graphql_as(Some(&rural), LINES, json!({})).await;
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
        let lines = &r["data"]["creditLines"];
        assert_eq!(lines["totalCount"], 1, "{}: its own only: {r}", app.engine);
        let line = &lines["nodes"][0];
        assert_eq!(line["id"], mine.line);
        assert_eq!(line["bank"]["code"], "JXRCB-DC");
        assert_eq!(line["household"]["id"], mine.household);
        assert_eq!(line["right"]["id"], mine.right);
        assert!(line["asset"]["id"].is_string(), "granted on a house: {r}");
        assert_eq!(line["amountFen"], mine.amount);
        assert_eq!(line["grantedOn"], today);
        assert_eq!(line["status"], "ACTIVE");
        assert_eq!(line["drawnFen"], 0);
        assert_eq!(line["availableFen"], mine.amount);

        // Another bank: its own line only; this one's FORBIDDEN by id and by bank code.
        let r = app.graphql_as(Some(&postal), LINES, json!({})).await;
        let ids: Vec<&Value> = r["data"]["creditLines"]["nodes"]
            .as_array()
            .expect("lines")
            .iter()
            .map(|l| &l["id"])
            .collect();
        assert_eq!(ids, vec![&theirs.line], "{}: {r}", app.engine);
        let node = "query($id: ID!) { node(id: $id) { ... on CreditLine { amountFen } } }";
        let r = app
            .graphql_as(Some(&postal), node, json!({ "id": mine.line }))
            .await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
        assert!(r["data"]["node"].is_null(), "nothing leaks: {r}");
        let r = app
            .graphql_as(
                Some(&postal),
                LINES,
                json!({ "f": { "bankCode": "JXRCB-DC" } }),
            )
            .await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
        assert_eq!(
            error_code(&app.graphql_as(None, LINES, json!({})).await),
            Some("UNAUTHENTICATED")
        );

        // The district office sees both, and the filters narrow as the records say.
        for (filter, expected) in [
            (json!({}), 2),
            (json!({ "bankCode": "JXRCB-DC" }), 1),
            (json!({ "status": ["EXPIRED"] }), 0),
            (json!({ "status": ["ACTIVE", "EXPIRED"] }), 2),
            // Both banks may have granted on the same house.
            (
                json!({ "householdId": mine.household }),
                1 + i32::from(theirs.household == mine.household),
            ),
            (
                json!({ "rightId": theirs.right }),
                1 + i32::from(theirs.right == mine.right),
            ),
            (json!({ "bankCode": "PSBC-DC", "rightId": theirs.right }), 1),
            (json!({ "grantedFrom": today, "grantedTo": today }), 2),
            (json!({ "expiresTo": today }), 0),
        ] {
            let r = app.graphql(LINES, json!({ "f": filter })).await;
            assert_eq!(
                r["data"]["creditLines"]["totalCount"], expected,
                "{}: {filter}: {r}",
                app.engine
            );
        }
        let r = app
            .graphql(
                LINES,
                json!({ "f": { "grantedFrom": "2026-02-01", "grantedTo": "2026-01-01" } }),
            )
            .await;
        assert_eq!(error_code(&r), Some("BAD_INPUT"), "{r}");
        let r = app
            .graphql(LINES, json!({ "f": { "townshipId": mine.right } }))
            .await;
        assert_eq!(
            error_code(&r),
            Some("BAD_INPUT"),
            "a right's id as a township"
        );

        // The township filter: the line's house's township lists it, another does not.
        let right_id = rural_registry::graphql::common::ids::decode_as(
            &async_graphql::ID(mine.right.as_str().expect("id").to_owned()),
            Kind::PropertyRight,
        )
        .expect("a right id");
        let right = property_right::Entity::find_by_id(right_id)
            .one(&app.db)
            .await
            .expect("query")
            .expect("right");
        let asset = rural_registry::db::entities::idle_asset::Entity::find_by_id(
            right.asset_id.expect("on a house"),
        )
        .one(&app.db)
        .await
        .expect("query")
        .expect("asset");
        let townships = rural_registry::db::places::all_townships(&app.db)
            .await
            .expect("townships");
        for t in &townships {
            let r = app
                .graphql_as(
                    Some(&rural),
                    LINES,
                    json!({ "f": { "townshipId": Kind::Township.id(t.id) } }),
                )
                .await;
            let expected = i64::from(t.id == asset.township_id);
            assert_eq!(
                r["data"]["creditLines"]["totalCount"], expected,
                "{}: {}",
                app.engine, t.code
            );
        }

        // A loan on the line draws on it; a repayment gives some back.
        let (_, application) = recommend_and_apply(&app, &rural, &mine).await;
        let step = |name: &str, version: i64, amount: Option<i64>| {
            (
                format!(
                    "mutation($i: LoanStepInput!) {{ {name}(input: $i) {{ loanApplication {{ status }} }} }}"
                ),
                json!({ "i": { "applicationId": application, "version": version, "amountFen": amount } }),
            )
        };
        let d = app
            .graphql_as(
                Some(&rural),
                "mutation($i: DecideLoanApplicationInput!) { decideLoanApplication(input: $i) { loanApplication { status } } }",
                json!({ "i": { "id": application, "version": 1, "approve": true } }),
            )
            .await;
        assert_eq!(
            d["data"]["decideLoanApplication"]["loanApplication"]["status"], "APPROVED",
            "{d}"
        );
        let reg = app
            .graphql(
                "mutation($i: RegisterMortgageInput!) { registerMortgage(input: $i) { loanApplication { status } } }",
                json!({ "i": { "applicationId": application, "version": 2, "registrationNo": "DY-LINE-1" } }),
            )
            .await;
        assert!(reg["errors"].is_null(), "{reg}");
        let (q, v) = step("disburseLoan", 3, None);
        assert!(
            app.graphql_as(Some(&rural), &q, v).await["errors"].is_null(),
            "disbursed"
        );
        let r = app.graphql_as(Some(&rural), LINES, json!({})).await;
        let line = &r["data"]["creditLines"]["nodes"][0];
        assert_eq!(line["drawnFen"], mine.amount, "{}: {r}", app.engine);
        assert_eq!(line["availableFen"], 0);
        assert_eq!(line["loans"][0]["id"], application);
        let half = mine.amount / 2;
        let (q, v) = step("recordRepayment", 4, Some(half));
        assert!(app.graphql_as(Some(&rural), &q, v).await["errors"].is_null());
        let r = app.graphql_as(Some(&rural), LINES, json!({})).await;
        let line = &r["data"]["creditLines"]["nodes"][0];
        assert_eq!(line["drawnFen"], mine.amount - half, "{}: {r}", app.engine);
        assert_eq!(line["availableFen"], half);
        // The other bank's line lent nothing.
        let r = app.graphql_as(Some(&postal), LINES, json!({})).await;
        assert_eq!(r["data"]["creditLines"]["nodes"][0]["drawnFen"], 0);
        app.assert_sound().await;
    }
}

const RECOMMENDATIONS: &str = r#"query($f: RecommendationFilter) { recommendations(first: 100, filter: $f) {
    totalCount nodes { id household { id } village { code } issuer grade issuedOn
    applications { id bank { code } } } } }"#;

#[tokio::test]
async fn a_recommendation_reaches_a_bank_through_the_applications_it_backs() {
    use rural_registry::db::entities::{recommendation, village};
    for app in spawn_apps().await {
        let rural = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let postal = app.token(Role::Bank, None, Some("PSBC-DC")).await;
        let seeded = recommendation::Entity::find()
            .all(&app.db)
            .await
            .expect("recommendations");
        assert!(!seeded.is_empty(), "the demo has recommendations");

        // The district office and the cadres read every one; filters narrow as a recount.
        let r = app.graphql(RECOMMENDATIONS, json!({})).await;
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
        assert_eq!(r["data"]["recommendations"]["totalCount"], seeded.len());
        let aaa = seeded.iter().filter(|s| s.grade == "AAA").count();
        let r = app
            .graphql(RECOMMENDATIONS, json!({ "f": { "grade": ["AAA"] } }))
            .await;
        assert_eq!(r["data"]["recommendations"]["totalCount"], aaa, "{r}");
        let villages = village::Entity::find()
            .all(&app.db)
            .await
            .expect("villages");
        let township = villages
            .iter()
            .find(|v| v.id == seeded[0].village_id)
            .expect("village")
            .township_id;
        let in_township = seeded
            .iter()
            .filter(|s| {
                villages
                    .iter()
                    .any(|v| v.id == s.village_id && v.township_id == township)
            })
            .count();
        let cadre_code = rural_registry::db::places::all_townships(&app.db)
            .await
            .expect("townships")
            .into_iter()
            .find(|t| t.id != township)
            .expect("another township")
            .code;
        let cadre = app.token(Role::Cadre, Some(&cadre_code), None).await;
        let r = app
            .graphql_as(
                Some(&cadre),
                RECOMMENDATIONS,
                json!({ "f": { "townshipId": Kind::Township.id(township) } }),
            )
            .await;
        assert_eq!(
            r["data"]["recommendations"]["totalCount"], in_township,
            "{}: {r}",
            app.engine
        );
        let day = seeded[0].issued_on.to_string();
        let on_day = seeded
            .iter()
            .filter(|s| s.issued_on == seeded[0].issued_on)
            .count();
        let r = app
            .graphql(
                RECOMMENDATIONS,
                json!({ "f": { "issuedFrom": day, "issuedTo": day } }),
            )
            .await;
        assert_eq!(r["data"]["recommendations"]["totalCount"], on_day);

        // A bank sees none until one backs an application to it.
        let r = app
            .graphql_as(Some(&rural), RECOMMENDATIONS, json!({}))
            .await;
        assert_eq!(r["data"]["recommendations"]["totalCount"], 0, "{r}");
        let g = grant_line(&app, &rural, "JXRCB-DC").await;
        let (rec, application) = recommend_and_apply(&app, &rural, &g).await;
        let r = app
            .graphql_as(Some(&rural), RECOMMENDATIONS, json!({}))
            .await;
        let listed = &r["data"]["recommendations"];
        assert_eq!(listed["totalCount"], 1, "{}: {r}", app.engine);
        assert_eq!(listed["nodes"][0]["id"], rec);
        assert_eq!(listed["nodes"][0]["grade"], "AA");
        assert_eq!(listed["nodes"][0]["issuer"], "测试村党支部");
        assert_eq!(listed["nodes"][0]["household"]["id"], g.household);
        assert_eq!(listed["nodes"][0]["applications"][0]["id"], application);
        let q = "query($id: ID!) { loanApplication(id: $id) { recommendation { id grade } } }";
        let r = app
            .graphql_as(Some(&rural), q, json!({ "id": application }))
            .await;
        assert_eq!(
            r["data"]["loanApplication"]["recommendation"]["id"], rec,
            "{r}"
        );

        // The other bank: not listed, FORBIDDEN by id and by bank code.
        let r = app
            .graphql_as(Some(&postal), RECOMMENDATIONS, json!({}))
            .await;
        assert_eq!(r["data"]["recommendations"]["totalCount"], 0, "{r}");
        let node = "query($id: ID!) { node(id: $id) { ... on Recommendation { grade } } }";
        let r = app
            .graphql_as(Some(&postal), node, json!({ "id": rec }))
            .await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
        let r = app
            .graphql_as(
                Some(&postal),
                RECOMMENDATIONS,
                json!({ "f": { "bankCode": "JXRCB-DC" } }),
            )
            .await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
        for token in [Some(&rural), Some(&cadre), Some(&app.admin)] {
            let r = app
                .graphql_as(token.map(String::as_str), node, json!({ "id": rec }))
                .await;
            assert_eq!(r["data"]["node"]["grade"], "AA", "{r}");
        }
        let r = app
            .graphql(RECOMMENDATIONS, json!({ "f": { "bankCode": "JXRCB-DC" } }))
            .await;
        assert_eq!(r["data"]["recommendations"]["totalCount"], 1, "{r}");
        let r = app
            .graphql(
                RECOMMENDATIONS,
                json!({ "f": { "bankCode": "NO-SUCH-BANK" } }),
            )
            .await;
        assert_eq!(error_code(&r), Some("BAD_INPUT"), "{r}");
        assert_eq!(
            error_code(&app.graphql_as(None, RECOMMENDATIONS, json!({})).await),
            Some("UNAUTHENTICATED")
        );
        app.assert_sound().await;
    }
}
