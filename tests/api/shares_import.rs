//! Member rosters and holdings from a village's CSV files, through the import machinery: all
//! or nothing unless partial, each refused row reported with its column, Chinese or English
//! headers; and exported back.

use std::fmt::Write as _;
use std::io::Cursor;

use rural_registry::services::import::{Kind, Mode, Report, columns};
use serde_json::json;

use crate::helpers::{TestApp, import_as_admin, spawn_apps};
use crate::shares::{class, create_org, ok, place, snapshot};

const ROSTER: usize = 500;
/// The roster's broken row, counted from 0; the file's line is this plus 2 (1 is the header).
const BROKEN: usize = 317;

async fn members(app: &TestApp, org: &str) -> i64 {
    let r = app
        .graphql(
            "query($o: ID!) { collectiveOrganization(id: $o) {
                members(first: 1) { totalCount } holdings(first: 1) { totalCount } } }",
            json!({ "o": org }),
        )
        .await;
    ok(&r, "collectiveOrganization")["members"]["totalCount"]
        .as_i64()
        .expect("a count")
}

async fn holdings(app: &TestApp, org: &str) -> i64 {
    let r = app
        .graphql(
            "query($o: ID!) { collectiveOrganization(id: $o) { holdings(first: 1) { totalCount } } }",
            json!({ "o": org }),
        )
        .await;
    ok(&r, "collectiveOrganization")["holdings"]["totalCount"]
        .as_i64()
        .expect("a count")
}

#[tokio::test]
async fn a_roster_of_500_with_a_broken_row_is_refused_whole_and_written_with_partial() {
    for app in spawn_apps().await {
        let place = place(&app).await;
        let org = create_org(&app, &app.admin, &place).await;
        let village = &place.village.code;
        let org_code = place.collective.credit_code.clone().expect("a credit code");

        // 500 households of the village, as a township's roster would list them.
        let mut parties = String::from("kind,name,householdNo,villageCode\n");
        for n in 0..ROSTER {
            writeln!(
                parties,
                "HOUSEHOLD,户主{n},{village}{:04},{village}",
                5000 + n
            )
            .expect("text");
        }
        let report = import_as_admin(
            &app.db,
            Kind::Parties,
            Cursor::new(parties.into_bytes()),
            Mode::default(),
        )
        .await;
        assert!(report.written, "{}: {:?}", app.engine, report.errors);

        // The roster with Chinese headers; one row has a date that does not exist.
        let roster = |broken: bool| {
            let mut csv = String::from("组织代码,户号,取得方式,加入日期,认定依据\n");
            for n in 0..ROSTER {
                let joined = if broken && n == BROKEN {
                    "2018-02-30"
                } else {
                    "2018-03-01"
                };
                let basis = ["原始取得", "STATUTORY", "申请取得"][n % 3];
                writeln!(
                    csv,
                    "{org_code},{village}{:04},{basis},{joined},2018年成员确认决议",
                    5000 + n
                )
                .expect("text");
            }
            csv.into_bytes()
        };
        let before = snapshot(&app).await;
        let report = import_as_admin(
            &app.db,
            Kind::Members,
            Cursor::new(roster(true)),
            Mode::default(),
        )
        .await;
        assert!(!report.written, "{}", app.engine);
        assert_eq!(report.rows, ROSTER);
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        let e = &report.errors[0];
        assert_eq!(
            (e.row, e.column.as_str(), e.value.as_str(), e.code),
            (BROKEN + 2, "joinedOn", "2018-02-30", "BAD_INPUT"),
            "{e:?}"
        );
        assert_eq!(
            snapshot(&app).await,
            before,
            "{}: nothing written",
            app.engine
        );
        assert_eq!(members(&app, &org).await, 0);

        let partial = Mode {
            partial: true,
            ..Mode::default()
        };
        let report =
            import_as_admin(&app.db, Kind::Members, Cursor::new(roster(true)), partial).await;
        assert!(report.written);
        assert_eq!((report.inserted, report.errors.len()), (ROSTER - 1, 1));
        assert_eq!(members(&app, &org).await, (ROSTER - 1) as i64);
        let rejected = String::from_utf8(report.rejected_csv).expect("UTF-8");
        assert!(
            rejected.starts_with("组织代码,户号,取得方式,加入日期,认定依据,error"),
            "the user's own headers: {rejected}"
        );
        assert_eq!(rejected.lines().count(), 2, "{rejected}");

        // The fixed file again: the stored rows are reported as stored, the fixed one written.
        let report =
            import_as_admin(&app.db, Kind::Members, Cursor::new(roster(false)), partial).await;
        assert_eq!(report.inserted, 1, "{:?}", &report.errors[..3]);
        assert!(report.errors.iter().all(|e| e.code == "CONFLICT"));
        assert_eq!(members(&app, &org).await, ROSTER as i64);

        // Holdings with English headers: one row over-issues its class, refusing the file.
        class(&app, &app.admin, &org, "POPULATION", "人口股", "1000").await;
        class(&app, &app.admin, &org, "COLLECTIVE", "集体股", "200").await;
        let holdings_file = |over: bool| {
            let mut csv = String::from(
                "organizationCode,holderKey,shareClass,shares,certificateNo,validFrom,document\n",
            );
            for n in 0..ROSTER {
                writeln!(
                    csv,
                    "{org_code},{village}{:04},人口股,2,GQZ-{n:04},2018-06-30,改革方案",
                    5000 + n
                )
                .expect("text");
            }
            let collective = if over { "200.01" } else { "200" };
            writeln!(csv, "{org_code},,集体股,{collective},,2018-06-30,改革方案").expect("text");
            csv.into_bytes()
        };
        let before = snapshot(&app).await;
        let report = import_as_admin(
            &app.db,
            Kind::Holdings,
            Cursor::new(holdings_file(true)),
            Mode::default(),
        )
        .await;
        assert!(!report.written);
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        let e = &report.errors[0];
        assert_eq!(
            (e.row, e.column.as_str(), e.code),
            (ROSTER + 2, "shareClass", "CONFLICT"),
            "{e:?}"
        );
        assert_eq!(
            snapshot(&app).await,
            before,
            "{}: nothing written",
            app.engine
        );
        let report = import_as_admin(
            &app.db,
            Kind::Holdings,
            Cursor::new(holdings_file(false)),
            Mode::default(),
        )
        .await;
        assert!(report.written, "{:?}", report.errors);
        assert_eq!(holdings(&app, &org).await, ROSTER as i64 + 1);

        // The register exports as the files it imports from.
        let exported = app
            .client
            .get(format!("{}/export/holdings.csv", app.address))
            .bearer_auth(&app.admin)
            .send()
            .await
            .expect("sent");
        assert_eq!(exported.status(), 200);
        let text = exported.text().await.expect("text");
        let mut lines = text.trim_start_matches('\u{feff}').lines();
        assert_eq!(
            lines.next(),
            Some(columns(Kind::Holdings).join(",").as_str())
        );
        let ours = |line: &&str| line.starts_with(org_code.as_str());
        assert_eq!(lines.filter(ours).count(), ROSTER + 1, "{}", app.engine);
        let exported = app
            .client
            .get(format!("{}/export/members.csv", app.address))
            .bearer_auth(&app.admin)
            .send()
            .await
            .expect("sent")
            .text()
            .await
            .expect("text");
        assert_eq!(exported.lines().filter(ours).count(), ROSTER);
        let anonymous = app.get("/export/members.csv").await;
        assert_eq!(anonymous.status(), 401);
        app.assert_sound().await;
    }
}

/// An organisation by its credit code, as ADMIN reads it.
async fn organization(app: &TestApp, code: &str) -> serde_json::Value {
    let r = app
        .graphql_as(
            Some(&app.admin),
            "query($c: String) { collectiveOrganization(code: $c) { name reserveBp village { code } shareClasses { name issued } } }",
            json!({ "c": code }),
        )
        .await;
    ok(&r, "collectiveOrganization").clone()
}

/// Imports `csv` of `kind` as ADMIN, with `upsert` when asked.
async fn import_text(app: &TestApp, kind: Kind, csv: &str, upsert: bool) -> Report {
    let mode = Mode {
        upsert,
        ..Mode::default()
    };
    import_as_admin(&app.db, kind, Cursor::new(csv.as_bytes().to_vec()), mode).await
}

#[tokio::test]
async fn organisations_and_classes_import_with_chinese_headers_and_upsert_only_what_may_change() {
    for app in spawn_apps().await {
        let place = place(&app).await;
        let village = &place.village.code;
        let code = place.collective.credit_code.clone().expect("a credit code");
        let engine = app.engine;
        let header =
            "统一社会信用代码,名称,组织类型,村代码,登记日期,改革完成日期,公积公益金提取比例";
        let row = |name: &str, village: &str| {
            format!(
                "{header}\n{code},{name},STOCK_ECONOMIC_COOPERATIVE,{village},2018-03-01,2018-06-30,1500\n"
            )
        };

        let r = import_text(
            &app,
            Kind::Organizations,
            &row("新村股份经济合作社", village),
            false,
        )
        .await;
        assert_eq!(
            (r.inserted, r.errors.len()),
            (1, 0),
            "{engine}: {:?}",
            r.errors
        );
        let org = organization(&app, &code).await;
        assert_eq!(org["name"], "新村股份经济合作社", "{engine}");
        assert_eq!(
            (org["reserveBp"].as_i64(), org["village"]["code"].as_str()),
            (Some(1500), Some(village.as_str()))
        );

        // Again: refused as stored, unless upsert, which finds it unchanged or takes the change.
        let r = import_text(
            &app,
            Kind::Organizations,
            &row("新村股份经济合作社", village),
            false,
        )
        .await;
        assert_eq!(
            (r.written, r.errors[0].code, r.errors[0].column.as_str()),
            (false, "CONFLICT", "creditCode"),
            "{engine}"
        );
        let r = import_text(
            &app,
            Kind::Organizations,
            &row("新村股份经济合作社", village),
            true,
        )
        .await;
        assert_eq!(
            (r.inserted, r.updated, r.unchanged),
            (0, 0, 1),
            "{engine}: {:?}",
            r.errors
        );
        let r = import_text(
            &app,
            Kind::Organizations,
            &row("新村股份经济合作联社", village),
            true,
        )
        .await;
        assert_eq!(
            (r.inserted, r.updated, r.unchanged),
            (0, 1, 0),
            "{engine}: {:?}",
            r.errors
        );
        assert_eq!(
            organization(&app, &code).await["name"],
            "新村股份经济合作联社",
            "{engine}"
        );
        // An organisation does not move to another village.
        let r = import_text(
            &app,
            Kind::Organizations,
            &row("新村股份经济合作联社", &place.second_village.code),
            true,
        )
        .await;
        assert_eq!(
            (r.written, r.errors[0].code, r.errors[0].column.as_str()),
            (false, "CONFLICT", "villageCode"),
            "{engine}"
        );
        // Bad rows name their column.
        for (line, column) in [
            (
                format!("{code},合作社,COMMUNE,{village},2018-03-01,,0"),
                "kind",
            ),
            (
                format!("{code},合作社,STOCK_ECONOMIC_COOPERATIVE,{village},2999-01-01,,0"),
                "registeredOn",
            ),
            (
                format!("{code},合作社,STOCK_ECONOMIC_COOPERATIVE,{village},2018-03-01,,12000"),
                "reserveBp",
            ),
            (
                format!("{code},合作社,STOCK_ECONOMIC_COOPERATIVE,999999999999,2018-03-01,,0"),
                "villageCode",
            ),
        ] {
            let r = import_text(
                &app,
                Kind::Organizations,
                &format!("{header}\n{line}\n"),
                true,
            )
            .await;
            assert_eq!((r.written, r.errors.len()), (false, 1), "{engine}: {line}");
            assert_eq!(
                (r.errors[0].column.as_str(), r.errors[0].code),
                (column, "BAD_INPUT"),
                "{engine}: {line}"
            );
        }

        // Classes: defined, then under upsert their shares issued change, never below what is
        // held (the demo's 白家村 has issued all its 人口股).
        let classes = format!(
            "组织代码,类别,股种,总股本\n{code},POPULATION,人口股,1000\n{code},COLLECTIVE,集体股,200\n"
        );
        let r = import_text(&app, Kind::ShareClasses, &classes, false).await;
        assert_eq!(
            (r.inserted, r.errors.len()),
            (2, 0),
            "{engine}: {:?}",
            r.errors
        );
        let r = import_text(
            &app,
            Kind::ShareClasses,
            &classes.replace(",1000", ",1200"),
            true,
        )
        .await;
        assert_eq!(
            (r.inserted, r.updated, r.unchanged),
            (0, 1, 1),
            "{engine}: {:?}",
            r.errors
        );
        let org = organization(&app, &code).await;
        assert_eq!(
            org["shareClasses"],
            json!([{ "name": "人口股", "issued": "1200.00" }, { "name": "集体股", "issued": "200.00" }]),
            "{engine}"
        );
        let r = import_text(
            &app,
            Kind::ShareClasses,
            &classes.replace("POPULATION", "LABOUR_AGE"),
            true,
        )
        .await;
        assert_eq!(
            (r.errors[0].column.as_str(), r.errors[0].code),
            ("kind", "CONFLICT"),
            "{engine}"
        );
        let demo = "组织代码,类别,股种,总股本\nN2369901558847040B,POPULATION,人口股,10\n";
        let before = snapshot(&app).await;
        let r = import_text(&app, Kind::ShareClasses, demo, true).await;
        assert_eq!(
            (r.written, r.errors[0].column.as_str(), r.errors[0].code),
            (false, "issued", "CONFLICT"),
            "{engine}: {:?}",
            r.errors
        );
        assert_eq!(snapshot(&app).await, before, "{engine}: nothing written");
        let r = import_text(
            &app,
            Kind::ShareClasses,
            "组织代码,类别,股种,总股本\nN0000000000000000X,POPULATION,人口股,10\n",
            false,
        )
        .await;
        assert_eq!(
            (r.errors[0].column.as_str(), r.errors[0].code),
            ("organizationCode", "BAD_INPUT"),
            "{engine}"
        );
    }
}
