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

const APPLICATIONS: &str = r#"query($f: LoanApplicationFilter, $first: Int, $after: String, $last: Int, $before: String) {
  loanApplications(filter: $f, first: $first, after: $after, last: $last, before: $before) {
    totalCount edges { cursor node { id code status } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"#;

/// The ids of a connection's nodes, in order.
fn listed(r: &Value, field: &str) -> Vec<String> {
    assert!(r["errors"].is_null(), "{field}: {r}");
    r["data"][field]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn loan_listings_page_newest_first_and_filter_and_count_as_a_recount_does() {
    use rural_registry::db::entities::{idle_asset, loan_application, loan_event};
    for app in spawn_apps().await {
        let loans = loan_application::Entity::find()
            .all(&app.db)
            .await
            .expect("loans");
        let events = loan_event::Entity::find()
            .all(&app.db)
            .await
            .expect("events");
        let mut newest: Vec<String> = loans
            .iter()
            .map(|l| Kind::LoanApplication.id(l.id).to_string())
            .collect();
        newest.reverse();
        assert!(newest.len() >= 5, "the demo has loans");

        // Forward in pages of three, then backward from the end: the same newest-first order.
        let (mut forward, mut after) = (Vec::new(), Value::Null);
        loop {
            let r = app
                .graphql(APPLICATIONS, json!({ "first": 3, "after": after }))
                .await;
            forward.extend(listed(&r, "loanApplications"));
            let info = &r["data"]["loanApplications"]["pageInfo"];
            assert_eq!(r["data"]["loanApplications"]["totalCount"], loans.len());
            if info["hasNextPage"] != true {
                break;
            }
            after = info["endCursor"].clone();
        }
        assert_eq!(forward, newest, "{}", app.engine);
        let (mut backward, mut before) = (Vec::new(), Value::Null);
        loop {
            let r = app
                .graphql(APPLICATIONS, json!({ "last": 3, "before": before }))
                .await;
            let mut page = listed(&r, "loanApplications");
            page.extend(backward);
            backward = page;
            let info = &r["data"]["loanApplications"]["pageInfo"];
            if info["hasPreviousPage"] != true {
                break;
            }
            before = info["startCursor"].clone();
        }
        assert_eq!(backward, newest, "{}", app.engine);

        // Each filter keeps what a recount from the tables keeps.
        let assets = idle_asset::Entity::find()
            .all(&app.db)
            .await
            .expect("assets");
        let rights = property_right::Entity::find()
            .all(&app.db)
            .await
            .expect("rights");
        let township_of = |l: &loan_application::Model| {
            let r = rights.iter().find(|r| r.id == l.right_id).expect("right");
            assets
                .iter()
                .find(|a| Some(a.id) == r.asset_id)
                .map(|a| a.township_id)
        };
        let first_paid = |l: &loan_application::Model| {
            events
                .iter()
                .filter(|e| e.application_id == l.id && e.kind == "DISBURSEMENT")
                .map(|e| e.occurred_on)
                .min()
        };
        let some_loan = loans
            .iter()
            .find(|l| first_paid(l).is_some() && township_of(l).is_some())
            .expect("a loan paid out on a house");
        let township = township_of(some_loan).expect("township");
        let paid_on = first_paid(some_loan).expect("paid out");
        let postal_id = rural_registry::db::credit::bank_ids(&app.db)
            .await
            .expect("banks")["PSBC-DC"];
        let recount = |keep: &dyn Fn(&loan_application::Model) -> bool| -> Vec<String> {
            loans
                .iter()
                .rev()
                .filter(|l| keep(l))
                .map(|l| Kind::LoanApplication.id(l.id).to_string())
                .collect()
        };
        let cases: Vec<(Value, Vec<String>)> = vec![
            (
                json!({ "status": ["DISBURSED", "REPAID"] }),
                recount(&|l| ["DISBURSED", "REPAID"].contains(&l.status.as_str())),
            ),
            (
                json!({ "townshipId": Kind::Township.id(township) }),
                recount(&|l| township_of(l) == Some(township)),
            ),
            (
                json!({ "productId": Kind::LoanProduct.id(some_loan.product_id) }),
                recount(&|l| l.product_id == some_loan.product_id),
            ),
            (
                json!({ "bankCode": "PSBC-DC" }),
                recount(&|l| l.bank_id == postal_id),
            ),
            (
                json!({ "disbursedFrom": paid_on, "disbursedTo": paid_on }),
                recount(&|l| first_paid(l) == Some(paid_on)),
            ),
            (
                json!({ "disbursedFrom": paid_on }),
                recount(&|l| first_paid(l).is_some_and(|d| d >= paid_on)),
            ),
            (
                json!({ "submittedFrom": "2000-01-01T00:00:00Z", "submittedTo": "2000-12-31T00:00:00Z" }),
                Vec::new(),
            ),
        ];
        for (filter, expected) in cases {
            let r = app
                .graphql(APPLICATIONS, json!({ "f": filter, "first": 100 }))
                .await;
            assert_eq!(
                listed(&r, "loanApplications"),
                expected,
                "{}: {filter}",
                app.engine
            );
            assert_eq!(
                r["data"]["loanApplications"]["totalCount"],
                expected.len(),
                "{filter}"
            );
        }

        // Loans paid out, and mortgages.
        let q = r#"query($f: LoanApplicationFilter) { disbursedLoans(first: 100, filter: $f) {
            totalCount nodes { status disbursedFen outstandingFen firstDisbursedOn } } }"#;
        let r = app.graphql(q, json!({})).await;
        let paid: Vec<&loan_application::Model> = loans
            .iter()
            .filter(|l| {
                ["DISBURSED", "REPAID", "DEFAULTED", "DISPOSED"].contains(&l.status.as_str())
            })
            .collect();
        assert_eq!(r["data"]["disbursedLoans"]["totalCount"], paid.len(), "{r}");
        for n in r["data"]["disbursedLoans"]["nodes"]
            .as_array()
            .expect("loans")
        {
            assert!(n["firstDisbursedOn"].is_string(), "{n}");
            assert!(n["disbursedFen"].as_i64() > Some(0), "{n}");
        }
        for (filter, code) in [
            (json!({ "status": ["SUBMITTED"] }), "BAD_INPUT"),
            (
                json!({ "disbursedFrom": "2026-02-01", "disbursedTo": "2026-01-01" }),
                "BAD_INPUT",
            ),
            (json!({ "productId": Kind::Party.id(1) }), "BAD_INPUT"),
            (
                json!({ "productId": Kind::LoanProduct.id(999_999) }),
                "BAD_INPUT",
            ),
            (json!({ "bankCode": "NO-SUCH-BANK" }), "BAD_INPUT"),
        ] {
            assert_eq!(
                error_code(&app.graphql(q, json!({ "f": filter })).await),
                Some(code),
                "{filter}"
            );
        }
        for (args, code) in [
            (json!({ "first": 0 }), "BAD_INPUT"),
            (json!({ "first": 101 }), "LIMIT_EXCEEDED"),
            (json!({ "first": 2, "last": 2 }), "BAD_INPUT"),
            (json!({ "after": "garbage" }), "BAD_INPUT"),
        ] {
            assert_eq!(
                error_code(&app.graphql(APPLICATIONS, args.clone()).await),
                Some(code),
                "{args}"
            );
        }
        let mortgages = mortgage::Entity::find()
            .all(&app.db)
            .await
            .expect("mortgages");
        let q = r#"query($f: MortgageFilter) { mortgages(first: 100, filter: $f) {
            totalCount nodes { id status registrationNo application { id } bank { code } } } }"#;
        let r = app.graphql(q, json!({})).await;
        assert_eq!(r["data"]["mortgages"]["totalCount"], mortgages.len(), "{r}");
        let active = mortgages.iter().filter(|m| m.status == "ACTIVE").count();
        let r = app
            .graphql(q, json!({ "f": { "status": ["ACTIVE"] } }))
            .await;
        assert_eq!(r["data"]["mortgages"]["totalCount"], active, "{r}");
        let m = &mortgages[0];
        let r = app
            .graphql(
                q,
                json!({ "f": { "registeredFrom": m.registered_on, "registeredTo": m.registered_on,
                               "rightId": Kind::PropertyRight.id(m.right_id) } }),
            )
            .await;
        assert_eq!(
            r["data"]["mortgages"]["nodes"][0]["application"]["id"],
            json!(Kind::LoanApplication.id(m.application_id)),
            "{r}"
        );

        // A bank lists its own loans and mortgages only.
        let postal = app.token(Role::Bank, None, Some("PSBC-DC")).await;
        for (q, field) in [
            (
                "{ loanApplications(first: 100) { nodes { bank { code } } } }",
                "loanApplications",
            ),
            (
                "{ disbursedLoans(first: 100) { nodes { bank { code } } } }",
                "disbursedLoans",
            ),
            (
                "{ mortgages(first: 100) { nodes { bank { code } } } }",
                "mortgages",
            ),
        ] {
            let r = app.graphql_as(Some(&postal), q, json!({})).await;
            assert!(r["errors"].is_null(), "{r}");
            assert!(
                r["data"][field]["nodes"]
                    .as_array()
                    .expect("nodes")
                    .iter()
                    .all(|n| n["bank"]["code"] == "PSBC-DC"),
                "{}: {field}: {r}",
                app.engine
            );
        }
        app.assert_sound().await;
    }
}

/// Steps in one document run in order, and each reads the application as the step before left
/// it (no request cache stands between them).
#[tokio::test]
async fn steps_in_one_document_each_see_the_application_the_last_left() {
    for app in spawn_apps().await {
        let bank = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
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
            .graphql(
                REGISTER,
                json!({ "input": { "applicationId": id, "version": 2, "registrationNo": "DY-DOC" } }),
            )
            .await;
        payload(&r, "registerMortgage");
        let r = app
            .graphql_as(
                Some(&bank),
                r#"mutation($id: ID!) {
                  paid: disburseLoan(input: { applicationId: $id, version: 3 }) { loanApplication { status version } }
                  settled: recordRepayment(input: { applicationId: $id, version: 4, amountFen: 8000000 }) {
                    loanApplication { status version } } }"#,
                json!({ "id": id }),
            )
            .await;
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
        assert_eq!(r["data"]["paid"]["loanApplication"]["status"], "DISBURSED");
        assert_eq!(r["data"]["settled"]["loanApplication"]["status"], "REPAID");
        app.assert_sound().await;
    }
}
