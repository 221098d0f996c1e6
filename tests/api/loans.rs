//! The loan lifecycle over real HTTP on both engines: application to release, steps outside the
//! lifecycle refused, one bank kept out of another's business, and one ACTIVE mortgage per
//! right and rank however many registrations race.

use futures_util::future::join_all;
use rural_registry::db::entities::{loan_product, mortgage, property_right, right_holder};
use rural_registry::domain::access::Role;
use rural_registry::graphql::common::ids::Kind;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{TestApp, WebSocket, error_code, next_message, spawn_apps};

const ELIGIBILITY: &str = r#"query($right: ID!, $product: ID!, $borrower: ID!) {
  mortgageEligibility(rightId: $right, productId: $product, amountFen: 8000000, termMonths: 24,
                      borrowerId: $borrower) { verdict rules { code verdict } } }"#;
const SUBMIT: &str = r#"mutation($input: SubmitLoanApplicationInput!) {
  submitLoanApplication(input: $input) { loanApplication { id status version } } }"#;
const DECIDE: &str = r#"mutation($input: DecideLoanApplicationInput!) {
  decideLoanApplication(input: $input) { loanApplication { id status version decisionReport } } }"#;
const REGISTER: &str = r#"mutation($input: RegisterMortgageInput!) {
  registerMortgage(input: $input) { loanApplication { status version mortgage { status registrationNo } } } }"#;

/// A right, its product at the rural bank and its holder, on which the demo's eligibility
/// report passes.
struct Case {
    right: Value,
    product: Value,
    borrower: Value,
    right_id: i64,
}

async fn passing_case(app: &TestApp, bank: &str) -> Case {
    let rights = property_right::Entity::find()
        .all(&app.db)
        .await
        .expect("rights");
    let holders = right_holder::Entity::find()
        .all(&app.db)
        .await
        .expect("holders");
    let products = loan_product::Entity::find()
        .all(&app.db)
        .await
        .expect("products");
    for r in &rights {
        let product = products
            .iter()
            .find(|p| p.code == format!("JXRCB-DC-{}", r.kind))
            .expect("product");
        let holder = holders
            .iter()
            .filter(|h| h.right_id == r.id)
            .max_by_key(|h| h.share_bp)
            .expect("holder");
        let case = Case {
            right: json!(Kind::PropertyRight.id(r.id)),
            product: json!(Kind::LoanProduct.id(product.id)),
            borrower: json!(Kind::Party.id(holder.party_id)),
            right_id: r.id,
        };
        let v = json!({ "right": case.right, "product": case.product, "borrower": case.borrower });
        let report = app.graphql_as(Some(bank), ELIGIBILITY, v).await;
        if report["data"]["mortgageEligibility"]["verdict"] == "PASS" {
            return case;
        }
    }
    panic!("no right passes in the demo");
}

async fn submit(app: &TestApp, token: Option<&str>, c: &Case) -> Value {
    let input = json!({ "productId": c.product, "rightId": c.right, "borrowerId": c.borrower,
                        "amountFen": 8000000, "termMonths": 24 });
    app.graphql_as(token, SUBMIT, json!({ "input": input }))
        .await
}

fn payload<'a>(r: &'a Value, field: &str) -> &'a Value {
    assert!(r["errors"].is_null(), "{field}: {r}");
    &r["data"][field]["loanApplication"]
}

#[tokio::test]
async fn a_loan_runs_from_application_to_release() {
    for app in spawn_apps().await {
        let bank = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let c = passing_case(&app, &bank).await;
        let a = submit(&app, Some(&bank), &c).await;
        let a = payload(&a, "submitLoanApplication").clone();
        assert_eq!(a["status"], "SUBMITTED");
        let id = a["id"].clone();

        // The bank now sees its applicant's personal data, and still no one else's.
        let q = "query($id: ID!) { loanApplication(id: $id) { borrower { idNumber } } }";
        let r = app.graphql_as(Some(&bank), q, json!({ "id": id })).await;
        assert!(
            r["data"]["loanApplication"]["borrower"]["idNumber"].is_string(),
            "{r}"
        );
        let other = if c.borrower == json!(Kind::Party.id(1)) {
            2
        } else {
            1
        };
        let q = format!(
            r#"{{ node(id: "{}") {{ ... on Party {{ idNumber }} }} }}"#,
            Kind::Party.id(other).as_str()
        );
        let r = app.graphql_as(Some(&bank), &q, json!({})).await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");

        // Out of order: nothing registers or pays out before approval.
        let r = app
            .graphql(
                REGISTER,
                json!({ "input": { "applicationId": id, "version": 1, "registrationNo": "DY-0" } }),
            )
            .await;
        assert_eq!(error_code(&r), Some("BAD_INPUT"), "{r}");

        let d = app
            .graphql_as(
                Some(&bank),
                DECIDE,
                json!({ "input": { "id": id, "version": 1, "approve": true } }),
            )
            .await;
        let d = payload(&d, "decideLoanApplication").clone();
        assert_eq!(d["status"], "APPROVED");
        assert_eq!(d["decisionReport"]["verdict"], "PASS");
        assert_eq!(
            d["decisionReport"]["snapshot_digest"]
                .as_str()
                .map(str::len),
            Some(64)
        );

        // The registry office registers; a bank may not.
        let r = app
            .graphql_as(
                Some(&bank),
                REGISTER,
                json!({ "input": { "applicationId": id, "version": 2, "registrationNo": "DY-1" } }),
            )
            .await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
        let r = app
            .graphql(
                REGISTER,
                json!({ "input": { "applicationId": id, "version": 2, "registrationNo": "DY-1" } }),
            )
            .await;
        let r = payload(&r, "registerMortgage").clone();
        assert_eq!(r["mortgage"]["status"], "ACTIVE");

        // With the mortgage registered the right is encumbered at rank 1.
        let v = json!({ "right": c.right, "product": c.product, "borrower": c.borrower });
        let report = app.graphql_as(Some(&bank), ELIGIBILITY, v.clone()).await;
        let rules = report["data"]["mortgageEligibility"]["rules"]
            .as_array()
            .expect("rules")
            .clone();
        let verdict = |code: &str| {
            rules
                .iter()
                .find(|r| r["code"] == code)
                .map(|r| r["verdict"].clone())
                .expect("rule")
        };
        assert_eq!(verdict("NOT_ENCUMBERED"), "FAIL");
        assert_eq!(verdict("MORTGAGE_RANK_UNIQUE"), "FAIL");

        let step = |name: &'static str, version: i64, amount: Option<i64>| {
            let input = json!({ "applicationId": id, "version": version, "amountFen": amount });
            let q = format!(
                "mutation($input: LoanStepInput!) {{ {name}(input: $input) {{ loanApplication {{ status version repaidFen mortgage {{ status releasedOn }} }} }} }}"
            );
            (q, json!({ "input": input }))
        };
        let mut version = 3;
        for (name, amount, token, expected) in [
            ("disburseLoan", None, &bank, "DISBURSED"),
            ("recordRepayment", Some(3_000_000), &bank, "DISBURSED"),
            ("recordRepayment", Some(5_000_000), &bank, "REPAID"),
            ("releaseMortgage", None, &app.admin, "REPAID"),
        ] {
            let (q, v) = step(name, version, amount);
            let r = app.graphql_as(Some(token), &q, v).await;
            let r = payload(&r, name).clone();
            assert_eq!(r["status"], expected, "{name}");
            version = r["version"].as_i64().expect("version");
        }
        let m = mortgage::Entity::find()
            .filter(mortgage::Column::RightId.eq(c.right_id))
            .one(&app.db)
            .await
            .expect("query")
            .expect("mortgage");
        assert_eq!(m.status, "RELEASED");
        assert!(m.released_on.is_some());
        let (q, v) = step("recordDefault", version, None);
        assert_eq!(
            error_code(&app.graphql_as(Some(&bank), &q, v).await),
            Some("BAD_INPUT"),
            "a repaid loan cannot default"
        );
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn a_failing_report_cannot_be_approved_and_other_banks_stay_out() {
    for app in spawn_apps().await {
        let bank = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let other = app.token(Role::Bank, None, Some("PSBC-DC")).await;
        let c = passing_case(&app, &bank).await;
        // Five times the LTV allows.
        let input = json!({ "productId": c.product, "rightId": c.right, "borrowerId": c.borrower,
                            "amountFen": 290000000, "termMonths": 24 });
        let a = app
            .graphql_as(Some(&bank), SUBMIT, json!({ "input": input }))
            .await;
        let id = payload(&a, "submitLoanApplication")["id"].clone();
        let r = app
            .graphql_as(
                Some(&other),
                DECIDE,
                json!({ "input": { "id": id, "version": 1, "approve": false } }),
            )
            .await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
        let r = app
            .graphql_as(
                Some(&other),
                "query($id: ID!) { loanApplication(id: $id) { code } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"));
        let r = app
            .graphql_as(
                Some(&bank),
                DECIDE,
                json!({ "input": { "id": id, "version": 1, "approve": true } }),
            )
            .await;
        assert_eq!(error_code(&r), Some("BAD_INPUT"), "{r}");
        let r = app
            .graphql_as(
                Some(&bank),
                DECIDE,
                json!({ "input": { "id": id, "version": 1, "approve": false } }),
            )
            .await;
        let r = payload(&r, "decideLoanApplication");
        assert_eq!(r["status"], "REJECTED");
        assert_eq!(r["decisionReport"]["verdict"], "FAIL");
        let mine = app
            .graphql_as(
                Some(&other),
                "{ loanApplications(first: 100) { nodes { id product { bank { code } } } } }",
                json!({}),
            )
            .await;
        let listed = mine["data"]["loanApplications"]["nodes"]
            .as_array()
            .expect("list");
        assert!(!listed.is_empty(), "the demo has PSBC loans: {mine}");
        assert!(
            listed
                .iter()
                .all(|a| a["product"]["bank"]["code"] == "PSBC-DC" && a["id"] != id),
            "a bank lists its own applications only: {mine}"
        );
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn a_hundred_racing_registrations_leave_one_active_mortgage() {
    for app in spawn_apps().await {
        let bank = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let c = passing_case(&app, &bank).await;
        let mut ids = Vec::new();
        for _ in 0..100 {
            let a = submit(&app, Some(&bank), &c).await;
            let id = payload(&a, "submitLoanApplication")["id"].clone();
            let d = app
                .graphql_as(
                    Some(&bank),
                    DECIDE,
                    json!({ "input": { "id": id, "version": 1, "approve": true } }),
                )
                .await;
            assert_eq!(payload(&d, "decideLoanApplication")["status"], "APPROVED");
            ids.push(id);
        }
        let results = join_all(ids.iter().enumerate().map(|(n, id)| {
            app.graphql(
                REGISTER,
                json!({ "input": { "applicationId": id, "version": 2, "registrationNo": format!("DY-RACE-{n}") } }),
            )
        }))
        .await;
        let ok = results.iter().filter(|r| r["errors"].is_null()).count();
        let conflicts = results
            .iter()
            .filter(|r| error_code(r) == Some("CONFLICT"))
            .count();
        assert_eq!(
            (ok, conflicts),
            (1, 99),
            "{}: {:?}",
            app.engine,
            results
                .iter()
                .find(|r| !r["errors"].is_null() && error_code(r) != Some("CONFLICT"))
        );
        let active = mortgage::Entity::find()
            .filter(mortgage::Column::RightId.eq(c.right_id))
            .filter(mortgage::Column::Status.eq("ACTIVE"))
            .all(&app.db)
            .await
            .expect("query");
        assert_eq!(active.len(), 1, "{}", app.engine);
        app.assert_sound().await;
    }
}

/// The role × operation cells of the credit side: who may look at products and eligibility,
/// apply, decide and register.
#[tokio::test]
async fn credit_operations_answer_each_role_as_the_policy_says() {
    use rural_registry::db::entities::idle_asset;
    for app in spawn_apps().await {
        let bank = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let other_bank = app.token(Role::Bank, None, Some("PSBC-DC")).await;
        let c = passing_case(&app, &bank).await;
        let right = property_right::Entity::find_by_id(c.right_id)
            .one(&app.db)
            .await
            .expect("query")
            .expect("right");
        let asset = idle_asset::Entity::find_by_id(right.asset_id.expect("on an asset"))
            .one(&app.db)
            .await
            .expect("query")
            .expect("asset");
        let townships = rural_registry::db::places::all_townships(&app.db)
            .await
            .expect("townships");
        let own_code = townships
            .iter()
            .find(|t| t.id == asset.township_id)
            .expect("township")
            .code
            .clone();
        let other_code = townships
            .iter()
            .find(|t| t.id != asset.township_id)
            .expect("another township")
            .code
            .clone();
        let own_cadre = app.token(Role::Cadre, Some(&own_code), None).await;
        let other_cadre = app.token(Role::Cadre, Some(&other_code), None).await;
        let admin = app.admin.clone();
        let eligibility = json!({ "right": c.right, "product": c.product, "borrower": c.borrower });
        // (caller, token, products, eligibility, submit, decide, register)
        type Row<'a> = (&'a str, Option<&'a str>, [Option<&'a str>; 5]);
        let rows: [Row; 6] = [
            (
                "admin",
                Some(&admin),
                [None, None, None, Some("FORBIDDEN"), Some("BAD_INPUT")],
            ),
            (
                "own cadre",
                Some(&own_cadre),
                [None, None, None, Some("FORBIDDEN"), Some("FORBIDDEN")],
            ),
            (
                "other cadre",
                Some(&other_cadre),
                [
                    None,
                    None,
                    Some("FORBIDDEN"),
                    Some("FORBIDDEN"),
                    Some("FORBIDDEN"),
                ],
            ),
            (
                "the bank",
                Some(&bank),
                [None, None, None, None, Some("FORBIDDEN")],
            ),
            (
                "another bank",
                Some(&other_bank),
                [
                    None,
                    Some("FORBIDDEN"),
                    Some("FORBIDDEN"),
                    Some("FORBIDDEN"),
                    Some("FORBIDDEN"),
                ],
            ),
            ("anonymous", None, [Some("UNAUTHENTICATED"); 5]),
        ];
        for (who, token, want) in rows {
            let fresh = submit(&app, Some(&bank), &c).await;
            let id = payload(&fresh, "submitLoanApplication")["id"].clone();
            let answers = [
                app.graphql_as(token, "{ loanProducts { code } }", json!({})).await,
                app.graphql_as(token, ELIGIBILITY, eligibility.clone()).await,
                submit(&app, token, &c).await,
                app.graphql_as(token, DECIDE, json!({ "input": { "id": id, "version": 1, "approve": false } }))
                    .await,
                app.graphql_as(token, REGISTER, json!({ "input": { "applicationId": id, "version": 1, "registrationNo": format!("DY-M-{who}") } }))
                    .await,
            ];
            for (n, (r, expected)) in answers.iter().zip(want).enumerate() {
                assert_eq!(
                    error_code(r),
                    expected,
                    "{} operation {n} as {who}: {r}",
                    app.engine
                );
            }
        }
        app.assert_sound().await;
    }
}

/// A graphql-transport-ws connection with `token` in its `connection_init`, subscribed to
/// `mortgageEvents`.
async fn listen(app: &TestApp, token: Option<&str>) -> WebSocket {
    app.subscribe(
        token,
        "subscription { mortgageEvents { applicationId action status mortgageStatus } }",
    )
    .await
}

#[tokio::test]
async fn a_bank_hears_its_own_loans_change_and_no_one_elses() {
    for app in spawn_apps().await {
        let bank = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let other = app.token(Role::Bank, None, Some("PSBC-DC")).await;
        let mut mine = listen(&app, Some(&bank)).await;
        let mut theirs = listen(&app, Some(&other)).await;
        let mut stranger = listen(&app, None).await;
        let refused = next_message(&mut stranger, 5_000).await.expect("an answer");
        assert_eq!(
            refused["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{refused}"
        );
        // The subscription is live once the server has it; give it a moment.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;

        let c = passing_case(&app, &bank).await;
        let a = submit(&app, Some(&bank), &c).await;
        let id = payload(&a, "submitLoanApplication")["id"].clone();
        let d = app
            .graphql_as(
                Some(&bank),
                DECIDE,
                json!({ "input": { "id": id, "version": 1, "approve": true } }),
            )
            .await;
        payload(&d, "decideLoanApplication");
        let r = app
            .graphql(REGISTER, json!({ "input": { "applicationId": id, "version": 2, "registrationNo": "DY-WS" } }))
            .await;
        payload(&r, "registerMortgage");
        let mut heard = Vec::new();
        for _ in 0..3 {
            let m = next_message(&mut mine, 60_000).await.expect("an event");
            assert_eq!(m["type"], "next", "{m}");
            let e = &m["payload"]["data"]["mortgageEvents"];
            assert_eq!(e["applicationId"], id);
            heard.push((
                e["action"].clone(),
                e["status"].clone(),
                e["mortgageStatus"].clone(),
            ));
        }
        assert_eq!(
            heard,
            vec![
                (json!("submit"), json!("SUBMITTED"), Value::Null),
                (json!("approve"), json!("APPROVED"), Value::Null),
                (
                    json!("register_mortgage"),
                    json!("REGISTERED"),
                    json!("ACTIVE")
                ),
            ],
            "{}",
            app.engine
        );
        assert_eq!(
            next_message(&mut theirs, 300).await,
            None,
            "another bank hears nothing"
        );
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn an_application_carries_only_its_borrowers_recommendation() {
    use rural_registry::db::entities::recommendation;
    for app in spawn_apps().await {
        let bank = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let c = passing_case(&app, &bank).await;
        let borrower = rural_registry::graphql::common::ids::decode_as(
            &async_graphql::ID(c.borrower.as_str().expect("id").to_owned()),
            Kind::Party,
        )
        .expect("a party id");
        let someone_elses = recommendation::Entity::find()
            .all(&app.db)
            .await
            .expect("recommendations")
            .into_iter()
            .find(|r| r.party_id != borrower)
            .expect("a recommendation of another household");
        let input = json!({ "productId": c.product, "rightId": c.right, "borrowerId": c.borrower,
                            "amountFen": 8000000, "termMonths": 24,
                            "recommendationId": someone_elses.id });
        let r = app
            .graphql_as(Some(&bank), SUBMIT, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&r), Some("BAD_INPUT"), "{r}");
        app.assert_sound().await;
    }
}
