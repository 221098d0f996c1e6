//! An office copy kept by `rural-registry sync`, as two processes: the district server and the
//! copy, a SQLite file. After writes at the district through every path (the API, a status
//! step, a boundary move, the command line's import, a delete), a sync brings the copy's exports level with the
//! district's as the token sees them, the "three changes" register included (a transfer of
//! shares, its giver leaving, a new class, an organisation changed); a sync killed half-way and run again ends equal; writers
//! during a sync lose nothing; a CADRE's copy holds no other township's personal data; the copy
//! served `--read-only` refuses mutations, naming the district.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{ServerProcess, cli, rect, scratch_database};

const KINDS: [&str; 10] = [
    "townships",
    "villages",
    "parties",
    "assets",
    "revitalizations",
    "organizations",
    "share-classes",
    "members",
    "holdings",
    "targets",
];

fn engines() -> Vec<&'static str> {
    let mut engines = vec!["sqlite"];
    if std::env::var("TEST_DATABASE_URL").is_ok() {
        engines.push("postgres");
    }
    engines
}

/// A kind's export lines, sorted: the district's over HTTP as `token` sees it.
async fn district_export(address: &str, token: &str, kind: &str) -> Vec<String> {
    let r = reqwest::Client::new()
        .get(format!("{address}/export/{kind}.csv"))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200, "{kind}");
    sorted(&r.text().await.expect("text"))
}

/// A kind's export lines, sorted: the copy's, from the command line.
fn copy_export(url: &str, kind: &str) -> Vec<String> {
    let out = cli(url, &["export", kind]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sorted(&String::from_utf8(out.stdout).expect("UTF-8"))
}

fn sorted(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .trim_start_matches('\u{feff}')
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

async fn assert_level(engine: &str, address: &str, token: &str, copy: &str) {
    for kind in KINDS {
        let theirs = district_export(address, token, kind).await;
        let ours = copy_export(copy, kind);
        assert!(theirs.len() > 1, "{engine}: {kind} is empty");
        assert_eq!(ours, theirs, "{engine}: {kind}");
    }
}

fn sync(copy: &str, address: &str, token: &str) {
    let out = cli(copy, &["sync", "--from", address, "--token", token]);
    assert!(
        out.status.success(),
        "sync: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn post(address: &str, token: &str, query: &str, variables: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{address}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON")
}

const REGISTER: &str = "mutation ($i: RegisterIdleAssetInput!) { registerIdleAsset(input: $i) { idleAsset { id version } } }";

fn asset(code: &str, n: usize) -> Value {
    json!({
        "code": code, "kind": "IDLE_FARMHOUSE",
        "ownerId": rural_registry::graphql::common::ids::Kind::Party.id(1),
        "longitude": 117.164953 + (n % 50) as f64 * 1e-5,
        "latitude": 28.16099 + (n / 50) as f64 * 1e-5,
        "floorAreaSquareMeters": 80,
    })
}

fn cadre_token(url: &str) -> String {
    let out = cli(
        url,
        &[
            "token",
            "create",
            "--role",
            "cadre",
            "--township",
            "369901102000",
            "--label",
            "白家镇 office",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned()
}

/// Changes the demo's 白家村 register at the district: its first holder transfers its shares to
/// the second and leaves, the organisation keeps more reserves, and a fund class is defined.
async fn change_register(engine: &str, address: &str, admin: &str) {
    let r = post(
        address,
        admin,
        "{ collectiveOrganization(code: \"N2369901558847040B\") { id version shareClasses { id name } holdings(first: 100) { nodes { id certificateNo holder { id } } } } }",
        json!({}),
    )
    .await;
    let org = &r["data"]["collectiveOrganization"];
    assert!(org["id"].is_string(), "{engine}: {r}");
    let holding = |no: &str| {
        org["holdings"]["nodes"]
            .as_array()
            .and_then(|hs| hs.iter().find(|h| h["certificateNo"] == no))
            .cloned()
            .unwrap_or_else(|| panic!("{engine}: holding {no}"))
    };
    let (giver, taker) = (holding("BJ-GQZ-001"), holding("BJ-GQZ-002"));
    let class = org["shareClasses"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == "人口股"))
        .map(|c| c["id"].clone())
        .expect("人口股");
    let transfer = json!({ "i": {
        "organizationId": org["id"], "kind": "TRANSFER", "occurredOn": "2026-01-05",
        "closeHoldingIds": [giver["id"]], "leaverIds": [giver["holder"]["id"]],
        "open": [{ "holderId": taker["holder"]["id"], "shareClassId": class, "shares": "160",
                   "certificateNo": "BJ-GQZ-011" }],
    } });
    let r = post(
        address,
        admin,
        "mutation ($i: RecordShareChangeInput!) { recordShareChange(input: $i) { shareChange { id } } }",
        transfer,
    )
    .await;
    assert!(r["errors"].is_null(), "{engine}: {r}");
    let r = post(
        address,
        admin,
        "mutation ($i: UpdateCollectiveOrganizationInput!) { updateCollectiveOrganization(input: $i) { organization { reserveBp } } }",
        json!({ "i": { "id": org["id"], "version": org["version"], "reserveBp": 2500 } }),
    )
    .await;
    assert!(r["errors"].is_null(), "{engine}: {r}");
    let r = post(
        address,
        admin,
        "mutation ($i: DefineShareClassInput!) { defineShareClass(input: $i) { shareClass { id } } }",
        json!({ "i": { "organizationId": org["id"], "kind": "FUND", "name": "资金股", "issued": "0" } }),
    )
    .await;
    assert!(r["errors"].is_null(), "{engine}: {r}");
}

#[tokio::test]
async fn a_copy_kept_by_sync_equals_the_districts_exports_through_every_write_path() {
    for engine in engines() {
        let district = scratch_database(engine).await;
        let server = ServerProcess::start(&district.url, true);
        let admin = server.admin.clone().expect("the demo's admin token");
        let copy = scratch_database("sqlite").await;
        sync(&copy.url, &server.address, &admin);
        assert_level(engine, &server.address, &admin, &copy.url).await;

        // Writes at the district, through every path.
        let r = post(
            &server.address,
            &admin,
            REGISTER,
            json!({ "i": asset("COPY-1", 0) }),
        )
        .await;
        assert!(r["errors"].is_null(), "{engine}: {r}");
        let a = &r["data"]["registerIdleAsset"]["idleAsset"];
        let r = post(
            &server.address,
            &admin,
            "mutation ($i: ChangeIdleAssetStatusInput!) { changeIdleAssetStatus(input: $i) { idleAsset { version } } }",
            json!({ "i": { "id": a["id"], "version": a["version"], "status": "VERIFIED" } }),
        )
        .await;
        assert!(r["errors"].is_null(), "{engine}: {r}");
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("survey.csv");
        let (csv, _) = {
            let conn = sea_orm::Database::connect(&district.url)
                .await
                .expect("connect");
            crate::import_kill::survey(&conn, "CLI", 50).await
        };
        std::fs::write(&file, csv).expect("write");
        let out = cli(
            &district.url,
            &["import", "assets", file.to_str().expect("UTF-8")],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A boundary move: a new township, an asset in it, then a village drawn around the
        // asset, which the district places in it again.
        let township = "mutation ($b: GeoJSON!) { upsertTownship(input: { code: \"369901909000\", name: \"新镇\", boundary: $b }) { township { code } } }";
        let r = post(
            &server.address,
            &admin,
            township,
            json!({ "b": rect(117.9, 118.0) }),
        )
        .await;
        assert!(r["errors"].is_null(), "{engine}: {r}");
        let mut moved = asset("MOVE-1", 0);
        moved["longitude"] = json!(117.95);
        moved["latitude"] = json!(28.05);
        let r = post(&server.address, &admin, REGISTER, json!({ "i": moved })).await;
        assert!(r["errors"].is_null(), "{engine}: {r}");
        let village = "mutation ($b: GeoJSON!) { upsertVillage(input: { townshipCode: \"369901909000\", code: \"369901909201\", name: \"新村\", boundary: $b }) { reassigned } }";
        let r = post(
            &server.address,
            &admin,
            village,
            json!({ "b": rect(117.92, 117.98) }),
        )
        .await;
        assert_eq!(r["data"]["upsertVillage"]["reassigned"], 1, "{engine}: {r}");
        change_register(engine, &server.address, &admin).await;
        {
            use sea_orm::ConnectionTrait;
            let conn = sea_orm::Database::connect(&district.url)
                .await
                .expect("connect");
            conn.execute_unprepared("DELETE FROM target WHERE id = (SELECT MIN(id) FROM target)")
                .await
                .expect("a target deleted");
        }
        sync(&copy.url, &server.address, &admin);
        assert_level(engine, &server.address, &admin, &copy.url).await;
        let placed = copy_export(&copy.url, "assets");
        assert!(
            placed
                .iter()
                .any(|l| l.starts_with("MOVE-1,") && l.contains("369901909201")),
            "{engine}: the moved asset is in its new village in the copy"
        );
        let holdings = copy_export(&copy.url, "holdings");
        assert!(
            holdings.iter().any(|l| l.contains("BJ-GQZ-011"))
                && !holdings.iter().any(|l| l.contains("BJ-GQZ-001")),
            "{engine}: the transfer is in the copy: {holdings:?}"
        );
        // Again: nothing to do, nothing changes.
        sync(&copy.url, &server.address, &admin);
        assert_level(engine, &server.address, &admin, &copy.url).await;

        // A cadre's copy: the district as the cadre sees it, no one else's ID number or phone.
        let cadre = cadre_token(&district.url);
        let theirs = scratch_database("sqlite").await;
        sync(&theirs.url, &server.address, &cadre);
        assert_level(engine, &server.address, &cadre, &theirs.url).await;
        let conn = sea_orm::Database::connect(&theirs.url)
            .await
            .expect("connect");
        use sea_orm::EntityTrait;
        let parties = rural_registry::db::entities::party::Entity::find()
            .all(&conn)
            .await
            .expect("parties");
        let villages = rural_registry::db::places::all_villages(&conn)
            .await
            .expect("villages");
        let own = rural_registry::db::places::township_by_code(&conn, "369901102000")
            .await
            .expect("query")
            .expect("the township");
        let mut personal = 0;
        for p in &parties {
            if p.id_number.is_some() || p.phone.is_some() {
                personal += 1;
                let village = villages.iter().find(|v| Some(v.id) == p.village_id);
                assert_eq!(
                    village.map(|v| v.township_id),
                    Some(own.id),
                    "{engine}: {}'s personal data in a cadre's copy",
                    p.name
                );
            }
        }
        assert!(personal > 0, "{engine}: its own township's are there");
        conn.close().await.expect("close");

        // Served read-only, it answers queries and refuses mutations, naming the district.
        let office = ServerProcess::start_with(&copy.url, false, |c| {
            c.arg("--read-only");
        });
        let token = cadre_token(&copy.url);
        let r = post(
            &office.address,
            &token,
            "{ idleAssets(first: 1) { totalCount } }",
            json!({}),
        )
        .await;
        assert!(r["errors"].is_null(), "{engine}: {r}");
        let r = post(
            &office.address,
            &token,
            REGISTER,
            json!({ "i": asset("NO-1", 1) }),
        )
        .await;
        assert_eq!(
            crate::helpers::error_code(&r),
            Some("FORBIDDEN"),
            "{engine}: {r}"
        );
        let message = r["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&server.address) && message.contains("read-only copy"),
            "{engine}: {message}"
        );
    }
}

#[tokio::test]
async fn a_sync_killed_half_way_or_racing_writers_ends_level_when_run_again() {
    for engine in engines() {
        let district = scratch_database(engine).await;
        assert!(
            cli(&district.url, &["gen-synthetic", "--assets", "20000"])
                .status
                .success()
        );
        let server = ServerProcess::start(&district.url, false);
        let out = cli(
            &district.url,
            &["token", "create", "--role", "admin", "--label", "sync"],
        );
        let admin = String::from_utf8(out.stdout)
            .expect("UTF-8")
            .trim()
            .to_owned();
        let copy = scratch_database("sqlite").await;
        // Killed once it has written some of the copy, before it ends.
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rural-registry"))
            .args(["--database-url", &copy.url, "--log", "warn", "sync"])
            .args(["--from", &server.address, "--token", &admin])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("sync starts");
        let started = Instant::now();
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
        // It reports each kind as it is written: killed after the first.
        let first = lines.next().expect("a line").expect("text");
        assert!(first.starts_with("townships"), "{engine}: {first}");
        child.kill().expect("kill");
        child.wait().expect("reaped");
        assert!(started.elapsed() < Duration::from_secs(600));
        let conn = sea_orm::Database::connect(&copy.url)
            .await
            .expect("connect");
        assert_eq!(
            rural_registry::db::sync_state::get(&conn)
                .await
                .expect("state"),
            None,
            "{engine}: a sync cut off keeps no cursor"
        );
        conn.close().await.expect("close");

        // Run again while writers write at the district; then once more: level.
        let writers = futures_util::future::join_all((0..4).map(|w| {
            let (address, admin) = (server.address.clone(), admin.clone());
            async move {
                for n in 0..10 {
                    let r = post(
                        &address,
                        &admin,
                        REGISTER,
                        json!({ "i": asset(&format!("RACE-{w}-{n}"), w * 10 + n) }),
                    )
                    .await;
                    assert!(r["errors"].is_null(), "{r}");
                }
            }
        }));
        let syncing = tokio::task::spawn_blocking({
            let (url, address, admin) = (copy.url.clone(), server.address.clone(), admin.clone());
            move || sync(&url, &address, &admin)
        });
        writers.await;
        syncing.await.expect("the sync");
        sync(&copy.url, &server.address, &admin);
        assert_level(engine, &server.address, &admin, &copy.url).await;
    }
}

#[tokio::test]
async fn a_copy_older_than_the_districts_retention_is_synced_in_full() {
    let district = scratch_database("sqlite").await;
    let server = ServerProcess::start(&district.url, true);
    let admin = server.admin.clone().expect("the demo's admin token");
    let copy = scratch_database("sqlite").await;
    sync(&copy.url, &server.address, &admin);
    let r = post(
        &server.address,
        &admin,
        REGISTER,
        json!({ "i": asset("OLD-1", 0) }),
    )
    .await;
    assert!(r["errors"].is_null(), "{r}");
    // The district prunes everything the copy has not read, then deletes a target: the copy's
    // cursor is expired, and only a full sync can see the deletion.
    let conn = sea_orm::Database::connect(&district.url)
        .await
        .expect("connect");
    let pruned =
        rural_registry::db::events::prune(&conn, chrono::Utc::now() + chrono::Duration::seconds(1))
            .await
            .expect("pruned");
    assert!(pruned > 0);
    {
        use sea_orm::ConnectionTrait;
        conn.execute_unprepared("DELETE FROM target WHERE id = (SELECT MIN(id) FROM target)")
            .await
            .expect("a target deleted");
    }
    conn.close().await.expect("close");
    let out = cli(
        &copy.url,
        &["sync", "--from", &server.address, "--token", &admin],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("syncing in full"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_level("sqlite", &server.address, &admin, &copy.url).await;
}
