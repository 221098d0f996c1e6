//! Importing a township's survey: a table of broken files, each refused whole with its row
//! report; partial imports write exactly the good rows; exports import back unchanged.

use rural_registry::db::entities::idle_asset;
use rural_registry::services::import::{self, Encoding, Mode, Report};
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::helpers::{TestApp, import_as_admin, spawn_apps};

pub(crate) const HEADER: &str = "code,kind,status,townshipCode,villageCode,ownerKey,lon,lat,footprint,landAreaM2,floorAreaM2,structure,yearBuilt,condition,idleSince,idleCause,ownerWillingness,address";

async fn count(app: &TestApp) -> u64 {
    idle_asset::Entity::find()
        .count(&app.db)
        .await
        .expect("count")
}

async fn run(app: &TestApp, bytes: &[u8], mode: Mode) -> Report {
    let input = std::io::Cursor::new(bytes.to_vec());
    import_as_admin(&app.db, import::Kind::Assets, input, mode).await
}

/// A good row for a new asset at the point of an existing one (no footprint: points may share
/// a spot, land may not).
pub(crate) async fn good_row(app: &TestApp, code: &str) -> String {
    let a = idle_asset::Entity::find()
        .all(&app.db)
        .await
        .expect("assets")
        .into_iter()
        .next()
        .expect("an asset");
    let owner = rural_registry::db::parties::by_ids(&app.db, &[a.owner_id])
        .await
        .expect("owner")
        .remove(&a.owner_id)
        .expect("owner");
    let key = owner.household_no.or(owner.credit_code).expect("a key");
    format!(
        "{code},IDLE_FARMHOUSE,IDENTIFIED,,,{key},{},{},,,120.5,BRICK_WOOD,1990,FAIR,2020-01-01,,,测试地址",
        a.lon, a.lat
    )
}

#[tokio::test]
async fn broken_files_are_refused_whole_with_a_report_of_every_row() {
    for app in spawn_apps().await {
        let before = count(&app).await;
        let good = good_row(&app, "IMP-GOOD-1").await;
        let existing = idle_asset::Entity::find()
            .all(&app.db)
            .await
            .expect("assets")
            .into_iter()
            .next()
            .expect("an asset")
            .code;
        let with = |find: &str, replace: &str| good.replacen(find, replace, 1);
        let square =
            "\"POLYGON((117.1 28.15,117.1002 28.15,117.1002 28.1502,117.1 28.1502,117.1 28.15))\"";
        // (file, encoding, (row, column, code) expected, why)
        type Case<'a> = (String, Encoding, (usize, &'a str, &'a str), &'a str);
        let cases: Vec<Case> = vec![
            (
                format!("{}\n{good}\n", HEADER.replace(",lon,", ",longitude,")),
                Encoding::Auto,
                (1, "lon", "BAD_INPUT"),
                "a missing column",
            ),
            (
                format!(
                    "{HEADER}\n{good}\n{}\n",
                    with("IMP-GOOD-1", "IMP-2").replacen(",,,", ",369901999000,,", 1)
                ),
                Encoding::Auto,
                (3, "townshipCode", "BAD_INPUT"),
                "an unknown township code",
            ),
            (
                format!(
                    "{HEADER}\n{good}\n{}\n",
                    good.replace("IMP-GOOD-1", "IMP-3")
                        .replace(",117.", ",100.")
                ),
                Encoding::Auto,
                (3, "lon", "INVALID_GEOMETRY"),
                "a point outside the district",
            ),
            (
                format!("{HEADER}\n{good}\n{good}\n"),
                Encoding::Auto,
                (3, "code", "CONFLICT"),
                "a duplicate key",
            ),
            (
                format!(
                    "{HEADER}\n{good}\n{}\n",
                    good.replace("IMP-GOOD-1", &existing)
                ),
                Encoding::Auto,
                (3, "code", "CONFLICT"),
                "a code that exists, without --upsert",
            ),
            (
                format!("{HEADER}\n{good}\n{}\n", good.replace("120.5", "一百二")),
                Encoding::Auto,
                (3, "floorAreaM2", "BAD_INPUT"),
                "an unparseable number",
            ),
            (
                format!("{HEADER}\n{good}\nIMP-5,IDLE_FARMHOUSE,IDENTIFIED\n"),
                Encoding::Auto,
                (3, "", "BAD_INPUT"),
                "a truncated file",
            ),
        ];
        for (text, encoding, (row, column, code), why) in cases {
            let report = run(
                &app,
                text.as_bytes(),
                Mode {
                    encoding,
                    ..Mode::default()
                },
            )
            .await;
            assert!(!report.written, "{why}: nothing is written");
            let found = report
                .errors
                .iter()
                .any(|e| e.row == row && e.column == column && e.code == code);
            assert!(found, "{} {why}: {:?}", app.engine, report.errors);
            assert_eq!(count(&app).await, before, "{why}: nothing is written");
        }

        // Two new footprints on the same land, both in the file.
        let fp = |code: &str| {
            format!(
                "{code},IDLE_HOMESTEAD,IDENTIFIED,,,{},117.1001,28.1501,{square},,,,,,,,,",
                good.split(',').nth(5).expect("owner")
            )
        };
        let text = format!("{HEADER}\n{}\n{}\n", fp("IMP-F1"), fp("IMP-F2"));
        let report = run(&app, text.as_bytes(), Mode::default()).await;
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.row == 3 && e.code == "INVALID_GEOMETRY"),
            "overlapping footprints: {:?}",
            report.errors
        );
        assert_eq!(count(&app).await, before);

        // GB18030 bytes read as UTF-8 are a bad encoding; detected, they import.
        let chinese = format!("{}\n{good}\n", HEADER.replace("lon,lat", "经度,纬度"));
        let gb = encoding_rs::GB18030.encode(&chinese).0.into_owned();
        let refused = run(
            &app,
            &gb,
            Mode {
                encoding: Encoding::Utf8,
                ..Mode::default()
            },
        )
        .await;
        assert_eq!(refused.errors[0].code, "BAD_ENCODING");
        let report = run(&app, &gb, Mode::default()).await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!((report.inserted, report.written), (1, true));
        assert_eq!(count(&app).await, before + 1);
    }
}

#[tokio::test]
async fn partial_imports_write_exactly_the_good_rows_and_exports_import_back_unchanged() {
    for app in spawn_apps().await {
        let before = count(&app).await;
        let text = format!(
            "\u{feff}{HEADER}\n{}\n{}\n{}\n",
            good_row(&app, "IMP-P1").await,
            good_row(&app, "IMP-P2").await.replace(",117.", ",100."),
            good_row(&app, "IMP-P3").await,
        );
        let report = run(
            &app,
            text.as_bytes(),
            Mode {
                partial: true,
                ..Mode::default()
            },
        )
        .await;
        assert_eq!(
            (report.inserted, report.errors.len()),
            (2, 1),
            "{:?}",
            report.errors
        );
        assert_eq!(count(&app).await, before + 2);
        app.assert_sound().await;
        let rejected = String::from_utf8(report.rejected_csv.clone()).expect("UTF-8");
        assert!(
            rejected.contains("IMP-P2") && !rejected.contains("IMP-P1"),
            "{rejected}"
        );
        assert!(rejected.lines().next().expect("header").ends_with(",error"));

        // Export, re-import with --upsert: every record stays as it was.
        let export = |db: sea_orm::DatabaseConnection| async move {
            use futures_util::StreamExt;
            let options = rural_registry::services::export::Options {
                kind: rural_registry::services::export::Kind::Assets,
                format: rural_registry::services::export::Format::Csv,
                township_id: None,
                crs: rural_registry::domain::datum::Crs::Wgs84,
                encoding: rural_registry::services::export::Encoding::Utf8,
                caller: rural_registry::domain::access::Caller::Anonymous,
                only: None,
            };
            let chunks: Vec<_> = rural_registry::services::export::stream(db, options)
                .collect()
                .await;
            chunks
                .into_iter()
                .flat_map(|c| c.expect("a chunk"))
                .collect::<Vec<u8>>()
        };
        let first = export(app.db.clone()).await;
        let report = run(
            &app,
            &first,
            Mode {
                upsert: true,
                ..Mode::default()
            },
        )
        .await;
        assert!(
            report.errors.is_empty(),
            "{} {:?}",
            app.engine,
            report.errors.first()
        );
        assert_eq!(report.updated as u64, count(&app).await);
        app.assert_sound().await;
        let second = export(app.db.clone()).await;
        assert_eq!(
            String::from_utf8_lossy(&first),
            String::from_utf8_lossy(&second),
            "{}",
            app.engine
        );
    }
}

/// Text that means something to a SQL or an array literal's parser (quotes, a backslash,
/// braces, commas, the word NULL) is stored as written, on both engines: PostgreSQL's inserts
/// carry each column as one array literal.
#[tokio::test]
async fn awkward_text_is_stored_as_written() {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    for app in spawn_apps().await {
        let awkward = r#"他说"好" \ {1,2} NULL"#;
        let mut text = format!("{HEADER}\n");
        for (code, address) in [("IMP-Q1", awkward), ("IMP-Q2", "NULL"), ("IMP-Q3", "")] {
            let mut row = good_row(&app, code).await;
            row.truncate(row.rfind(',').expect("a last column") + 1);
            text += &format!("{row}\"{}\"\n", address.replace('"', "\"\""));
        }
        let report = run(&app, text.as_bytes(), Mode::default()).await;
        assert_eq!(report.inserted, 3, "{} {:?}", app.engine, report.errors);
        let stored = idle_asset::Entity::find()
            .filter(idle_asset::Column::Code.starts_with("IMP-Q"))
            .order_by_asc(idle_asset::Column::Code)
            .all(&app.db)
            .await
            .expect("the imported assets");
        let addresses: Vec<_> = stored.iter().map(|a| a.address.as_deref()).collect();
        assert_eq!(
            addresses,
            [Some(awkward), Some("NULL"), None],
            "{}",
            app.engine
        );
        for a in &stored {
            assert_eq!(
                (
                    a.floor_area_m2,
                    a.year_built,
                    a.version,
                    a.footprint.as_deref()
                ),
                (Some(120.5), Some(1990), 1, None),
                "{}",
                app.engine
            );
            assert_eq!(a.created_at, a.updated_at, "{}", app.engine);
        }
    }
}

/// POSTs `csv` to `importFile` as a GraphQL multipart request (assets).
async fn upload(
    app: &TestApp,
    token: Option<&str>,
    csv: &str,
    partial: bool,
) -> (u16, serde_json::Value) {
    upload_kind(app, token, "ASSETS", csv, partial, false).await
}

/// POSTs `csv` to `importFile` as a GraphQL multipart request, as `kind` (`ASSETS`, …), and
/// waits for its job to end: the answer is `{"data": {"importFile": <report>, "importJob":
/// <job>}}`, or the mutation's own answer when it was refused.
pub(crate) async fn upload_kind(
    app: &TestApp,
    token: Option<&str>,
    kind: &str,
    csv: &str,
    partial: bool,
    upsert: bool,
) -> (u16, serde_json::Value) {
    let (status, r) = submit(app, token, kind, csv, partial, upsert).await;
    let Some(id) = r["data"]["importFile"]["id"].as_str() else {
        return (status, r);
    };
    let job = until_ended(app, token, id).await;
    let report = job["report"].clone();
    (
        status,
        serde_json::json!({ "data": { "importFile": report, "importJob": job } }),
    )
}

/// The fields of an import job the tests read.
pub(crate) const JOB: &str = "id kind fileName status partial upsert rowsDone rowsTotal createdAt startedAt finishedAt error { code message } report { rows inserted updated written checksum errors { row column code message } rejectedCsv }";

/// POSTs `csv` to `importFile` as `kind`: the mutation's answer, a job just queued.
pub(crate) async fn submit(
    app: &TestApp,
    token: Option<&str>,
    kind: &str,
    csv: &str,
    partial: bool,
    upsert: bool,
) -> (u16, serde_json::Value) {
    submit_at(&app.address, token, kind, csv, partial, upsert).await
}

/// [`submit`] to the server at `address`.
pub(crate) async fn submit_at(
    address: &str,
    token: Option<&str>,
    kind: &str,
    csv: &str,
    partial: bool,
    upsert: bool,
) -> (u16, serde_json::Value) {
    let boundary = "rr-test-boundary";
    let operations = serde_json::json!({
        "query": format!("mutation($f: Upload!, $p: Boolean!, $u: Boolean!) {{ importFile(kind: {kind}, file: $f, partial: $p, upsert: $u) {{ {JOB} }} }}"),
        "variables": { "f": null, "p": partial, "u": upsert },
    });
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{\"0\":[\"variables.f\"]}}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"survey.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n\
         --{boundary}--\r\n"
    );
    let mut req = reqwest::Client::new()
        .post(format!("{address}/graphql"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.expect("sent");
    let status = r.status().as_u16();
    (status, r.json().await.expect("JSON"))
}

/// The job `id` as `token` reads it from the server at `address` (`data.importJob`, null when
/// it may not), or the errors.
pub(crate) async fn job_at(address: &str, token: Option<&str>, id: &str) -> serde_json::Value {
    let query = format!("query($id: ID!) {{ importJob(id: $id) {{ {JOB} }} }}");
    let mut req = reqwest::Client::new()
        .post(format!("{address}/graphql"))
        .json(&serde_json::json!({ "query": query, "variables": { "id": id } }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("sent").json().await.expect("JSON")
}

/// Asks for the job `id` until it has ended; its last answer.
pub(crate) async fn until_ended(app: &TestApp, token: Option<&str>, id: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    loop {
        let r = job_at(&app.address, token, id).await;
        let j = &r["data"]["importJob"];
        assert!(j.is_object(), "{}: job {id}: {r}", app.engine);
        if matches!(j["status"].as_str(), Some("WRITTEN" | "REFUSED" | "FAILED")) {
            return j.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{}: job {id} never ended: {r}",
            app.engine
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn import_file_takes_an_upload_within_the_callers_township_and_size_limit() {
    use rural_registry::domain::access::Role;
    for app in spawn_apps().await {
        let before = count(&app).await;
        let row = good_row(&app, "IMP-UP-1").await;
        let first = idle_asset::Entity::find()
            .all(&app.db)
            .await
            .expect("assets")
            .into_iter()
            .next()
            .expect("an asset");
        let townships = rural_registry::db::places::all_townships(&app.db)
            .await
            .expect("townships");
        let code = |own: bool| {
            townships
                .iter()
                .find(|t| (t.id == first.township_id) == own)
                .expect("township")
                .code
                .clone()
        };
        let own = app.token(Role::Cadre, Some(&code(true)), None).await;
        let other = app.token(Role::Cadre, Some(&code(false)), None).await;
        let bank = app.token(Role::Bank, None, Some("JXRCB-DC")).await;
        let csv = format!("{HEADER}\n{row}\n");

        let (_, r) = upload(&app, Some(&other), &csv, false).await;
        let report = &r["data"]["importFile"];
        assert_eq!(report["written"], false, "{r}");
        assert_eq!(
            report["errors"][0]["code"], "FORBIDDEN",
            "another township's land: {r}"
        );
        let (_, r) = upload(&app, Some(&bank), &csv, false).await;
        assert_eq!(crate::helpers::error_code(&r), Some("FORBIDDEN"));
        let (_, r) = upload(&app, None, &csv, false).await;
        assert_eq!(crate::helpers::error_code(&r), Some("UNAUTHENTICATED"));
        assert_eq!(count(&app).await, before);

        let (status, r) = upload(&app, Some(&own), &csv, false).await;
        assert_eq!(status, 200);
        let report = &r["data"]["importFile"];
        assert_eq!(
            (report["inserted"].as_i64(), report["written"].as_bool()),
            (Some(1), Some(true)),
            "{r}"
        );
        assert_eq!(report["checksum"].as_str().map(str::len), Some(64));
        assert_eq!(count(&app).await, before + 1);

        // Boundaries are the district office's: a cadre's upload is refused, an admin's runs
        // the same import (here the townships as they stand, updated in place).
        let mut townships_csv = String::from("code,name,boundary\n");
        for t in &townships {
            let area = rural_registry::domain::geometry::Area::from_geojson_str(&t.boundary)
                .expect("a stored boundary");
            let shape: geo::Geometry<f64> = area.to_geojson().value.try_into().expect("a shape");
            townships_csv.push_str(&format!(
                "{},{},\"{}\"\n",
                t.code,
                t.name,
                wkt::ToWkt::wkt_string(&shape)
            ));
        }
        let (_, r) = upload_kind(&app, Some(&own), "TOWNSHIPS", &townships_csv, false, true).await;
        assert_eq!(crate::helpers::error_code(&r), Some("FORBIDDEN"), "{r}");
        let (_, r) = upload_kind(
            &app,
            Some(&app.admin),
            "TOWNSHIPS",
            &townships_csv,
            false,
            true,
        )
        .await;
        let report = &r["data"]["importFile"];
        assert_eq!(
            (report["updated"].as_u64(), report["written"].as_bool()),
            (Some(townships.len() as u64), Some(true)),
            "{r}"
        );
    }
    let small = crate::helpers::spawn_app_with(|s| s.max_upload_bytes = 200).await;
    let big = format!("{HEADER}\n{}\n", "x".repeat(1000));
    let (status, r) = upload(&small, Some(&small.admin), &big, false).await;
    assert_eq!(
        (status, crate::helpers::error_code(&r)),
        (413, Some("LIMIT_EXCEEDED")),
        "{r}"
    );
}

/// A batch's inserts run while the next batch is decided: a code repeated from the batch
/// before (still being stored), from one further back (stored) or from the same batch is
/// refused alike, and with `partial` every other row is written once.
#[tokio::test]
async fn a_code_repeated_across_batches_is_refused_wherever_it_first_appeared() {
    const ROWS: usize = 3_500;
    for app in spawn_apps().await {
        let before = count(&app).await;
        let good = good_row(&app, "XB-TEMPLATE").await;
        let code = |n: usize| format!("XB-{n:05}");
        // Data rows are numbered from 2 (row 1 is the header); batches hold 1,000 rows.
        let repeats = [
            (1_500, 900),   // the batch before
            (2_100, 1_200), // the batch before, itself still being stored
            (3_100, 40),    // two batches back
            (3_200, 3_150), // the same batch
        ];
        let mut text = format!("{HEADER}\n");
        for n in 0..ROWS {
            let row = n + 2;
            let c = match repeats.iter().find(|(at, _)| *at == row) {
                Some((_, first)) => code(*first - 2),
                None => code(n),
            };
            text.push_str(&good.replace("XB-TEMPLATE", &c));
            text.push('\n');
        }
        let whole = run(&app, text.as_bytes(), Mode::default()).await;
        assert!(!whole.written, "{}", app.engine);
        assert_eq!(count(&app).await, before, "{}", app.engine);
        let partial = run(
            &app,
            text.as_bytes(),
            Mode {
                partial: true,
                ..Mode::default()
            },
        )
        .await;
        for report in [&whole, &partial] {
            let refused: Vec<(usize, &str, &str)> = report
                .errors
                .iter()
                .map(|e| (e.row, e.column.as_str(), e.code))
                .collect();
            let expected: Vec<(usize, &str, &str)> = repeats
                .iter()
                .map(|(row, _)| (*row, "code", "CONFLICT"))
                .collect();
            assert_eq!(refused, expected, "{}", app.engine);
        }
        assert!(partial.written, "{}", app.engine);
        assert_eq!(partial.inserted, ROWS - repeats.len(), "{}", app.engine);
        assert_eq!(
            count(&app).await,
            before + (ROWS - repeats.len()) as u64,
            "{}",
            app.engine
        );
    }
}
