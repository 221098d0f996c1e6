//! A read replica (`DATABASE_READ_URL`): with the replica's replay paused, queries, OGC and
//! downloads answer from it (the change just made is not there yet), a mutation answers from
//! the primary, and the caller that wrote reads its own write; once the replica catches up,
//! everyone sees it. (Skipped without `TEST_REPLICA_URL`: `.ci/run` starts one with
//! `.ci/replica.sh`.)

use std::time::Duration;

use futures_util::FutureExt;
use rural_registry::domain::access::Role;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::json;

use crate::helpers::spawn_with_replica;

async fn one(conn: &DatabaseConnection, sql: &str) -> String {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .expect(sql)
        .expect("a row");
    row.try_get_by_index::<String>(0).expect("text")
}

/// Waits until the replica has replayed everything the primary has written so far.
async fn caught_up(primary: &DatabaseConnection, replica: &DatabaseConnection) {
    let target = one(primary, "SELECT pg_current_wal_lsn()::text").await;
    for _ in 0..600 {
        let done = one(
            replica,
            &format!("SELECT (pg_last_wal_replay_lsn() >= '{target}'::pg_lsn)::text"),
        )
        .await;
        if done == "true" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the replica did not catch up with {target}");
}

#[tokio::test]
async fn queries_read_the_replica_and_a_writer_reads_its_own_writes() {
    let Some((app, replica_url)) = spawn_with_replica().await else {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"skipped: the replica test needs TEST_DATABASE_URL and TEST_REPLICA_URL\n",
        );
        return;
    };
    let replica = Database::connect(&replica_url).await.expect("the replica");
    assert_eq!(
        one(&replica, "SELECT pg_is_in_recovery()::text").await,
        "true"
    );
    let bystander = app.token(Role::Cadre, Some("369901102000"), None).await;
    caught_up(&app.db, &replica).await;
    let listing =
        "{ idleAssets(first: 1, filter: { status: [IDENTIFIED] }) { nodes { id code version } } }";
    let found = app.graphql(listing, json!({})).await;
    let node = found["data"]["idleAssets"]["nodes"][0].clone();
    let code = node["code"].as_str().expect("a code").to_owned();
    let status_of = |token: Option<String>| {
        let code = code.clone();
        let app = &app;
        async move {
            let r = app
                .graphql_as(
                    token.as_deref(),
                    &format!("{{ idleAsset(code: \"{code}\") {{ status }} }}"),
                    json!({}),
                )
                .await;
            r["data"]["idleAsset"]["status"].clone()
        }
    };

    one(&replica, "SELECT pg_wal_replay_pause()::text").await;
    let changed = app
        .graphql(
            "mutation ($i: ChangeIdleAssetStatusInput!) { changeIdleAssetStatus(input: $i) { idleAsset { status } } }",
            json!({ "i": { "id": node["id"], "version": node["version"], "status": "VERIFIED" } }),
        )
        .await;
    let outcome = std::panic::AssertUnwindSafe(async {
        assert_eq!(
            changed["data"]["changeIdleAssetStatus"]["idleAsset"]["status"], "VERIFIED",
            "the mutation answers from the primary: {changed}"
        );
        assert_eq!(
            status_of(Some(app.admin.clone())).await,
            "VERIFIED",
            "the writer reads its own write"
        );
        assert_eq!(
            status_of(Some(bystander.clone())).await,
            "IDENTIFIED",
            "another caller reads the paused replica"
        );
        assert_eq!(status_of(None).await, "IDENTIFIED");
        let id = rural_registry::db::assets::by_codes(&app.db, &[code.as_str()])
            .await
            .expect("query")
            .remove(&code)
            .expect("the asset")
            .id;
        let feature: serde_json::Value = app
            .get(&format!("/ogc/collections/idle-assets/items/{id}"))
            .await
            .json()
            .await
            .expect("a feature");
        assert_eq!(
            feature["properties"]["status"], "IDENTIFIED",
            "OGC reads the replica: {feature}"
        );
    })
    .catch_unwind()
    .await;
    // Resumed whatever happened above, so that other tests' databases go on replicating.
    one(&replica, "SELECT pg_wal_replay_resume()::text").await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    caught_up(&app.db, &replica).await;
    assert_eq!(status_of(Some(bystander)).await, "VERIFIED");
    assert_eq!(status_of(None).await, "VERIFIED");
}
