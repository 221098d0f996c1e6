//! Relations go through per-request DataLoaders, or are joined into the page: a page of 100
//! costs no more SQL statements than a page of 5. The query below makes about eight (the page
//! with its villages and owners joined in, its count, and the loads of the other relations);
//! without batching a page of 100 would run hundreds. DataLoader batches are formed in a time
//! window, so on a loaded machine a load may split in two: the bound allows for that, not for
//! growth with the page.

use serde_json::json;

use crate::helpers::spawn_apps;

const QUERY: &str = "query ($n: Int!) { idleAssets(first: $n) { totalCount edges { node {
    code village { name township { name } } township { name statusCounts { count } } owner { name }
    revitalizations { mode counterparty { name } } } } } }";

#[tokio::test]
async fn statement_count_does_not_grow_with_page_size() {
    for app in spawn_apps().await {
        let mut counts = Vec::new();
        for n in [5, 100] {
            let before = app.queries.get();
            let r = app.graphql(QUERY, json!({ "n": n })).await;
            assert!(r["errors"].is_null(), "{}: {r}", app.engine);
            assert_eq!(
                r["data"]["idleAssets"]["edges"].as_array().map(Vec::len),
                Some(n)
            );
            counts.push(app.queries.get() - before);
        }
        for c in &counts {
            assert!(
                *c <= 12,
                "{}: statements for 5 vs 100 assets: {counts:?}",
                app.engine
            );
        }
    }
}

/// The listings read their rows by position (`db::rows`), a join's three models side by side:
/// every field must come back as SeaORM's by-name reading gives it, on both engines.
#[tokio::test]
async fn rows_read_by_position_equal_rows_read_by_name() {
    use rural_registry::db::assets::{
        AssetFilter, AssetOrder, AssetOrderField, WHOLE, page, page_joined,
    };
    use rural_registry::db::entities::{idle_asset, party, village};
    use sea_orm::EntityTrait;

    for app in spawn_apps().await {
        let order = AssetOrder {
            field: AssetOrderField::Id,
            descending: false,
        };
        let joined = page_joined(
            &app.db,
            &AssetFilter::default(),
            order,
            None,
            false,
            1000,
            WHOLE,
        )
        .await
        .expect("page");
        let assets = idle_asset::Entity::find()
            .all(&app.db)
            .await
            .expect("assets");
        assert_eq!(joined.len(), assets.len(), "{}", app.engine);
        for ((asset, village, owner), by_name) in joined.iter().zip(&assets) {
            assert_eq!(asset, by_name, "{}", app.engine);
            let v = match asset.village_id {
                Some(id) => village::Entity::find_by_id(id)
                    .one(&app.db)
                    .await
                    .expect("village"),
                None => None,
            };
            assert_eq!(village, &v, "{}: village of {}", app.engine, asset.code);
            let o = party::Entity::find_by_id(asset.owner_id)
                .one(&app.db)
                .await
                .expect("owner");
            assert_eq!(owner, &o, "{}: owner of {}", app.engine, asset.code);
        }
        assert!(joined.len() >= 400, "{}: the demo district", app.engine);

        // The joined page is cut in a subquery and ordered again outside it: every order, both
        // directions, either way of walking, gives the plain page's rows in its order.
        let filter = AssetFilter {
            township_id: Some(assets[0].township_id),
            ..AssetFilter::default()
        };
        for field in [
            AssetOrderField::Id,
            AssetOrderField::IdleSince,
            AssetOrderField::FloorArea,
        ] {
            for descending in [false, true] {
                for backward in [false, true] {
                    let order = AssetOrder { field, descending };
                    let plain = page(&app.db, &filter, order, None, backward, 30)
                        .await
                        .expect("page");
                    let joined = page_joined(&app.db, &filter, order, None, backward, 30, WHOLE)
                        .await
                        .expect("joined page");
                    let joined: Vec<_> = joined.into_iter().map(|(a, _, _)| a).collect();
                    assert_eq!(
                        joined, plain,
                        "{}: {order:?}, backward {backward}",
                        app.engine
                    );
                }
            }
        }
    }
}

/// The lending listings load their relations in batches too: a page of every recommendation
/// (with its household, village and the applications it backs) or every loan (with its bank,
/// product, borrower, right, mortgage, events and recommendation) costs what a page of one does.
#[tokio::test]
async fn lending_listings_cost_no_more_statements_for_a_longer_page() {
    use rural_registry::domain::access::Role;
    const LENDING: &str = "query ($n: Int!) {
        recommendations(first: $n) { totalCount nodes { household { name } village { name }
            grade applications { code bank { code } } } }
        loanApplications(first: $n) { totalCount nodes { code bank { code } product { code }
            borrower { name } right { code } mortgage { id registrationNo } repaidFen
            outstandingFen firstDisbursedOn recommendation { grade } } }
        creditLines(first: $n) { totalCount nodes { bank { code } household { name }
            right { code } asset { code } drawnFen availableFen loans { code } } }
        mortgages(first: $n) { totalCount nodes { registrationNo application { code }
            bank { code } right { code } } } }";
    for app in spawn_apps().await {
        let rural = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let postal = app.token(Role::Bank, None, Some("PSBC-DC")).await;
        crate::credit::grant_line(&app, &rural, "JXRCB-DC").await;
        crate::credit::grant_line(&app, &postal, "PSBC-DC").await;
        let mut counts = Vec::new();
        for n in [1, 100] {
            let before = app.queries.get();
            let r = app.graphql(LENDING, json!({ "n": n })).await;
            assert!(r["errors"].is_null(), "{}: {r}", app.engine);
            if n == 100 {
                let listed = r["data"]["recommendations"]["nodes"]
                    .as_array()
                    .map(Vec::len);
                assert!(listed > Some(20), "{}: a long page: {listed:?}", app.engine);
                assert_eq!(
                    r["data"]["creditLines"]["nodes"].as_array().map(Vec::len),
                    Some(2)
                );
            }
            counts.push(app.queries.get() - before);
        }
        // Four pages, four counts, and a batch per relation; a window split may add a few.
        assert!(
            counts[1] <= counts[0] + 4 && counts[1] <= 30,
            "{}: statements for pages of 1 vs 100: {counts:?}",
            app.engine
        );
    }
}
