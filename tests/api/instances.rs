//! Several server processes over one PostgreSQL database, as behind a load balancer: a boundary
//! changed through one (or by the command line) places the next asset registered through the
//! other; a token revoked through one is refused by the other at its next request; and when one
//! is killed
//! (SIGKILL) in the middle of 16 clients' writes the other goes on answering, nothing is
//! half-written, and the check passes. A subscriber on one hears the changes made through the
//! other, and after its instance's database connections are cut and come back it has missed and
//! repeated nothing. (Skipped without `TEST_DATABASE_URL`: SQLite is one process's file.)

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{ServerProcess, cli, next_message, rect, scratch_database, subscribe_at};

async fn post(address: &str, token: &str, query: &str, variables: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{address}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("sent");
    let status = r.status().as_u16();
    (status, r.json().await.expect("JSON"))
}

fn postgres() -> bool {
    let set = std::env::var("TEST_DATABASE_URL").is_ok();
    if !set {
        // Straight to stderr: the harness hides what a passing test prints.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"skipped: the two-instance tests need TEST_DATABASE_URL (PostgreSQL)\n",
        );
    }
    set
}

#[tokio::test]
async fn a_token_revoked_on_one_instance_is_refused_by_the_other_at_once() {
    if !postgres() {
        return;
    }
    let db = scratch_database("postgres").await;
    assert!(cli(&db.url, &["seed"]).status.success());
    let admin = admin_token(&db.url);
    let a = ServerProcess::start(&db.url, false);
    let a_address = a.address.clone();
    let b = ServerProcess::start(&db.url, false);
    let b_address = b.address.clone();
    let (_, created) = post(
        &a_address,
        &admin,
        "mutation { createToken(input: { role: CADRE, townshipCode: \"369901102000\", label: \"王干事\" }) { secret token { number } } }",
        json!({}),
    )
    .await;
    let secret = created["data"]["createToken"]["secret"]
        .as_str()
        .expect("a secret")
        .to_owned();
    let number = created["data"]["createToken"]["token"]["number"].clone();
    let viewer = "{ viewer { role } }";
    let (status, seen) = post(&b_address, &secret, viewer, json!({})).await;
    assert_eq!(
        (status, &seen["data"]["viewer"]["role"]),
        (200, &json!("CADRE"))
    );
    let (_, revoked) = post(
        &a_address,
        &admin,
        "mutation ($n: Int!) { revokeToken(input: { number: $n }) { token { number } } }",
        json!({ "n": number }),
    )
    .await;
    assert!(revoked["errors"].is_null(), "{revoked}");
    // The very next request to the other instance.
    let (status, refused) = post(&b_address, &secret, viewer, json!({})).await;
    assert_eq!(status, 401, "{refused}");
    assert_eq!(
        refused["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    drop((a, b));
}

#[tokio::test]
async fn when_one_instance_is_killed_mid_write_the_other_answers_and_nothing_is_half_written() {
    use rural_registry::db::entities::idle_asset;
    use sea_orm::EntityTrait;
    if !postgres() {
        return;
    }
    let db = scratch_database("postgres").await;
    assert!(cli(&db.url, &["seed"]).status.success());
    let admin = admin_token(&db.url);
    let mut a = ServerProcess::start(&db.url, false);
    let a_address = a.address.clone();
    let b = ServerProcess::start(&db.url, false);
    let b_address = b.address.clone();
    let owner = rural_registry::graphql::common::ids::Kind::Party.id(1);
    let register = "mutation ($i: RegisterIdleAssetInput!) { registerIdleAsset(input: $i) { idleAsset { code } } }";
    // 16 clients, half on each instance, writing until 3 s have passed; A dies after 1 s.
    let started = Instant::now();
    let client = |c: usize| {
        let address = if c.is_multiple_of(2) {
            a_address.clone()
        } else {
            b_address.clone()
        };
        let (admin, owner) = (admin.clone(), owner.clone());
        async move {
            let mut acknowledged = Vec::new();
            let mut refused_after_kill = false;
            let mut n = 0;
            while started.elapsed() < Duration::from_secs(3) {
                n += 1;
                let code = format!("TWO-{c}-{n}");
                let input = json!({
                    "code": code, "kind": "IDLE_FARMHOUSE", "ownerId": owner,
                    "longitude": 117.164953 + (c as f64) * 1e-5,
                    "latitude": 28.16099 + (n as f64) * 1e-6,
                });
                let sent = reqwest::Client::new()
                    .post(format!("{address}/graphql"))
                    .bearer_auth(&admin)
                    .json(&json!({ "query": register, "variables": { "i": input } }))
                    .send()
                    .await;
                match sent {
                    Ok(r) => {
                        let body: Value = r.json().await.unwrap_or(Value::Null);
                        if body["data"]["registerIdleAsset"]["idleAsset"]["code"] == code.as_str() {
                            acknowledged.push((code, started.elapsed()));
                        }
                    }
                    Err(_) => {
                        refused_after_kill = true;
                        break;
                    }
                }
            }
            (c, acknowledged, refused_after_kill)
        }
    };
    let killer = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        a.child.kill().expect("kill -9");
        a.child.wait().expect("reaped");
    };
    let (results, ()) = tokio::join!(futures_util::future::join_all((0..16).map(client)), killer);
    let mut all = Vec::new();
    for (c, acknowledged, refused) in results {
        if c % 2 == 1 {
            // B's clients go on being answered after A died.
            assert!(!refused, "client {c} on the surviving instance was refused");
            assert!(
                acknowledged
                    .iter()
                    .any(|(_, at)| *at > Duration::from_millis(1500)),
                "client {c}: no write acknowledged after the kill"
            );
        }
        all.extend(acknowledged.into_iter().map(|(code, _)| code));
    }
    let out = cli(&db.url, &["check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let conn = sea_orm::Database::connect(&db.url).await.expect("connect");
    let stored: std::collections::HashSet<String> = idle_asset::Entity::find()
        .all(&conn)
        .await
        .expect("assets")
        .into_iter()
        .map(|a| a.code)
        .collect();
    conn.close().await.expect("close");
    let lost: Vec<_> = all.iter().filter(|c| !stored.contains(*c)).collect();
    assert!(lost.is_empty(), "acknowledged and lost: {lost:?}");
    drop(b);
}

/// The admin token of a seeded scratch database, made by the command line.
fn admin_token(url: &str) -> String {
    let out = cli(
        url,
        &["token", "create", "--role", "admin", "--label", "office"],
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn a_subscriber_on_one_instance_hears_the_other_and_loses_nothing_when_its_database_connection_is_cut()
 {
    if !postgres() {
        return;
    }
    let db = scratch_database("postgres").await;
    assert!(cli(&db.url, &["seed"]).status.success());
    let admin = admin_token(&db.url);
    let a = ServerProcess::start(&db.url, false);
    let b = ServerProcess::start(&db.url, false);
    let listings =
        "{ idleAssets(first: 1, filter: { status: [IDENTIFIED] }) { nodes { id version } } }";
    let (_, found) = post(&a.address, &admin, listings, json!({})).await;
    let node = &found["data"]["idleAssets"]["nodes"][0];
    let id = node["id"].clone();
    let mut version = node["version"].as_i64().expect("a version");
    let statuses = [
        "VERIFIED",
        "LISTED",
        "NEGOTIATING",
        "LISTED",
        "VERIFIED",
        "LISTED",
    ];
    let mut step = 0;
    let change = "mutation ($i: ChangeIdleAssetStatusInput!) { changeIdleAssetStatus(input: $i) { idleAsset { version } } }";
    let subscription = "subscription { assetEvents { id status } }";
    let mut on_b = subscribe_at(&b.address, Some(&admin), subscription).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut heard = Vec::new();
    let hear = async |ws: &mut crate::helpers::WebSocket, heard: &mut Vec<(String, String)>| {
        let m = next_message(ws, 60_000).await.expect("an event");
        let e = &m["payload"]["data"]["assetEvents"];
        heard.push((
            e["id"].as_str().expect("an id").to_owned(),
            e["status"].as_str().expect("a status").to_owned(),
        ));
    };
    for _ in 0..2 {
        let (_, r) = post(
            &a.address,
            &admin,
            change,
            json!({ "i": { "id": id, "version": version, "status": statuses[step] } }),
        )
        .await;
        assert!(r["errors"].is_null(), "{r}");
        version += 1;
        step += 1;
        hear(&mut on_b, &mut heard).await;
    }
    // Cut every connection to the database but this test's own: B's listener and pool, A's pool.
    let conn = sea_orm::Database::connect(&db.url).await.expect("connect");
    use sea_orm::ConnectionTrait;
    conn.execute_unprepared(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .await
    .expect("connections cut");
    conn.close().await.expect("close");
    // Writes go on through A (its pool connects again) while B reconnects.
    for _attempt in 0..50 {
        if step == 5 {
            break;
        }
        let (_, r) = post(
            &a.address,
            &admin,
            change,
            json!({ "i": { "id": id, "version": version, "status": statuses[step] } }),
        )
        .await;
        if r["errors"].is_null() {
            version += 1;
            step += 1;
        }
    }
    for _ in 2..5 {
        hear(&mut on_b, &mut heard).await;
    }
    assert_eq!(
        next_message(&mut on_b, 500).await,
        None,
        "nothing twice: {heard:?}"
    );
    let got: Vec<&str> = heard.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(got, statuses[..5], "every change once, in order");

    // A client that saw B's second event resumes on A from it.
    let resume = format!(
        "subscription {{ assetEvents(after: \"{}\") {{ id status }} }}",
        heard[1].0
    );
    let mut on_a = subscribe_at(&a.address, Some(&admin), &resume).await;
    let mut again = Vec::new();
    for _ in 2..5 {
        hear(&mut on_a, &mut again).await;
    }
    assert_eq!(again, heard[2..5], "the same events, by the same ids");
    let (_, r) = post(
        &b.address,
        &admin,
        change,
        json!({ "i": { "id": id, "version": version, "status": statuses[5] } }),
    )
    .await;
    assert!(r["errors"].is_null(), "{r}");
    hear(&mut on_a, &mut again).await;
    assert_eq!(again[3].1, "LISTED", "and then live: {again:?}");
    drop((a, b));
}

#[tokio::test]
async fn a_boundary_changed_through_one_instance_places_the_next_asset_on_the_other() {
    if !postgres() {
        return;
    }
    let db = scratch_database("postgres").await;
    assert!(cli(&db.url, &["migrate"]).status.success());
    let admin = admin_token(&db.url);
    // Both start on a registry with no place at all.
    let a = ServerProcess::start(&db.url, false);
    let a_address = a.address.clone();
    let b = ServerProcess::start(&db.url, false);
    let b_address = b.address.clone();
    let on = |address: &str, query: &'static str, variables: Value| {
        let (address, admin) = (address.to_owned(), admin.clone());
        async move {
            let (_, r) = post(&address, &admin, query, variables).await;
            assert!(r["errors"].is_null(), "{r}");
            r
        }
    };
    const TOWNSHIP: &str = "mutation ($b: GeoJSON!) { upsertTownship(input: { code: \"369901901000\", name: \"测试镇\", boundary: $b }) { township { code } } }";
    const VILLAGE: &str = "mutation ($code: String!, $b: GeoJSON!) { upsertVillage(input: { townshipCode: \"369901901000\", code: $code, name: \"测试村\", boundary: $b }) { village { code } } }";
    const REGISTER: &str = "mutation ($i: RegisterIdleAssetInput!) { registerIdleAsset(input: $i) { idleAsset { village { code } } } }";
    on(&a_address, TOWNSHIP, json!({ "b": rect(117.0, 117.1) })).await;
    on(
        &a_address,
        VILLAGE,
        json!({ "code": "369901901201", "b": rect(117.0, 117.05) }),
    )
    .await;
    on(
        &a_address,
        VILLAGE,
        json!({ "code": "369901901202", "b": rect(117.05, 117.1) }),
    )
    .await;
    let party = on(
        &a_address,
        "mutation { registerParty(input: { kind: HOUSEHOLD, name: \"测试户\", householdNo: \"H-1\" }) { party { id } } }",
        json!({}),
    )
    .await;
    let owner = party["data"]["registerParty"]["party"]["id"].clone();
    let register = |address: &str, code: &'static str, lon: f64| {
        let input = json!({ "code": code, "kind": "IDLE_FARMHOUSE", "ownerId": owner, "longitude": lon, "latitude": 28.05 });
        let address = address.to_owned();
        async move {
            let r = on(&address, REGISTER, json!({ "i": input })).await;
            r["data"]["registerIdleAsset"]["idleAsset"]["village"]["code"].clone()
        }
    };
    // B never saw a boundary change, yet places by the boundaries A committed.
    assert_eq!(
        register(&b_address, "B-1", 117.07).await,
        json!("369901901202")
    );
    // A moves the border between the two villages past the point.
    on(
        &a_address,
        VILLAGE,
        json!({ "code": "369901901202", "b": rect(117.08, 117.1) }),
    )
    .await;
    on(
        &a_address,
        VILLAGE,
        json!({ "code": "369901901201", "b": rect(117.0, 117.08) }),
    )
    .await;
    assert_eq!(
        register(&b_address, "B-2", 117.07).await,
        json!("369901901201")
    );
    // The command line moves it back while both serve.
    let file = tempfile::NamedTempFile::new().expect("a file");
    std::fs::write(
        file.path(),
        "code,name,townshipCode,centerLon,centerLat,boundary\n\
         369901901201,测试村,369901901000,117.025,28.05,\"POLYGON((117.0 28.0,117.05 28.0,117.05 28.1,117.0 28.1,117.0 28.0))\"\n\
         369901901202,测试村,369901901000,117.075,28.05,\"POLYGON((117.05 28.0,117.1 28.0,117.1 28.1,117.05 28.1,117.05 28.0))\"\n",
    )
    .expect("write");
    let out = cli(
        &db.url,
        &[
            "import",
            "villages",
            file.path().to_str().expect("UTF-8"),
            "--upsert",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        register(&b_address, "B-3", 117.07).await,
        json!("369901901202")
    );
    assert_eq!(
        register(&a_address, "A-1", 117.07).await,
        json!("369901901202")
    );
    let out = cli(&db.url, &["check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    drop((a, b));
}
