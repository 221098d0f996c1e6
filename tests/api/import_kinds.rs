//! Every kind of file: the demo district exported, then imported into an empty registry in
//! the order records refer to each other, exports the same — from CSV and from GeoJSON, on
//! both engines; and a table of broken files for the kinds beside assets.

use futures_util::StreamExt;
use rural_registry::db::entities::{party, revitalization, township, village};
use rural_registry::domain::access::{self, Caller, Role};
use rural_registry::domain::datum::Crs;
use rural_registry::services::export::{self, Format, Kind};
use rural_registry::services::import::{Mode, Report};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use crate::helpers::{import_as_admin, spawn_apps, spawn_empty_apps};

const ORDER: [Kind; 9] = [
    Kind::Townships,
    Kind::Villages,
    Kind::Parties,
    Kind::Assets,
    Kind::Revitalizations,
    Kind::Organizations,
    Kind::ShareClasses,
    Kind::Members,
    Kind::Holdings,
];

fn admin() -> Caller {
    Caller::Signed(access::Actor {
        token_id: 0,
        label: "test".into(),
        role: Role::Admin,
        township_id: None,
        bank_code: None,
    })
}

async fn export(db: &DatabaseConnection, kind: Kind, format: Format) -> Vec<u8> {
    let options = export::Options {
        kind,
        format,
        township_id: None,
        crs: Crs::Wgs84,
        encoding: export::Encoding::Utf8,
        caller: admin(),
        only: None,
    };
    let chunks: Vec<_> = export::stream(db.clone(), options).collect().await;
    chunks
        .into_iter()
        .flat_map(|c| c.expect("a chunk"))
        .collect()
}

async fn run(db: &DatabaseConnection, kind: Kind, bytes: &[u8], mode: Mode) -> Report {
    import_as_admin(db, kind, std::io::Cursor::new(bytes.to_vec()), mode).await
}

#[tokio::test]
async fn every_kind_exported_imports_into_an_empty_registry_unchanged_from_csv_and_geojson() {
    let sources = spawn_apps().await;
    for format in [Format::Csv, Format::Geojson] {
        let targets = spawn_empty_apps().await;
        for (source, target) in sources.iter().zip(&targets) {
            for kind in ORDER {
                let file = export(&source.db, kind, format).await;
                let report = run(&target.db, kind, &file, Mode::default()).await;
                assert!(
                    report.errors.is_empty(),
                    "{} {format:?} {}: {:?}",
                    source.engine,
                    kind.name(),
                    &report.errors[..report.errors.len().min(3)]
                );
                assert!(report.written && report.inserted > 0, "{}", kind.name());
                assert_eq!(report.inserted, report.rows, "{}", kind.name());
            }
            for kind in ORDER {
                let before = export(&source.db, kind, Format::Csv).await;
                let after = export(&target.db, kind, Format::Csv).await;
                assert!(
                    before == after,
                    "{} {format:?} {}: the records differ after the round trip",
                    source.engine,
                    kind.name()
                );
            }
            // Imported again with --upsert, every record is updated (or, for the register, found
            // unchanged) and none changes.
            for kind in ORDER {
                let file = export(&target.db, kind, format).await;
                let mode = Mode {
                    upsert: true,
                    ..Mode::default()
                };
                let report = run(&target.db, kind, &file, mode).await;
                assert!(report.errors.is_empty(), "{:?}", report.errors.first());
                let register = matches!(
                    kind,
                    Kind::Organizations | Kind::ShareClasses | Kind::Members | Kind::Holdings
                );
                let (updated, unchanged) = if register {
                    (0, report.rows)
                } else {
                    (report.rows, 0)
                };
                assert_eq!(
                    (report.inserted, report.updated, report.unchanged),
                    (0, updated, unchanged),
                    "{}",
                    kind.name()
                );
                assert!(file == export(&target.db, kind, format).await);
            }
        }
    }
}

async fn counts(db: &DatabaseConnection) -> [u64; 4] {
    [
        township::Entity::find().count(db).await.expect("count"),
        village::Entity::find().count(db).await.expect("count"),
        party::Entity::find().count(db).await.expect("count"),
        revitalization::Entity::find()
            .count(db)
            .await
            .expect("count"),
    ]
}

#[tokio::test]
async fn broken_files_of_every_kind_are_refused_whole_with_their_row_report() {
    for app in spawn_apps().await {
        let before = counts(&app.db).await;
        let db = &app.db;
        let csv = |kind: Kind| async move {
            String::from_utf8(export(db, kind, Format::Csv).await).expect("UTF-8")
        };
        let townships = csv(Kind::Townships).await;
        let villages = csv(Kind::Villages).await;
        let parties = csv(Kind::Parties).await;
        let revitalizations = csv(Kind::Revitalizations).await;
        let line = |text: &str, n: usize| text.lines().nth(n).expect("a line").to_owned();
        let header = |text: &str| line(text, 0);
        // A township's boundary, under a new code: it overlaps the one it came from.
        let first_township = line(&townships, 1);
        let (code, rest) = first_township.split_once(',').expect("code");
        let new_code = format!("{}9", &code[..11]);
        let square = "\"POLYGON((117.5 28.5,117.51 28.5,117.51 28.51,117.5 28.51,117.5 28.5))\"";
        let first_village = line(&villages, 1);
        let first_party = line(&parties, 1);
        let first_record = line(&revitalizations, 1);
        // (kind, file, (row, column, code) expected, why)
        type Case = (
            Kind,
            String,
            (usize, &'static str, &'static str),
            &'static str,
        );
        let cases: Vec<Case> = vec![
            (
                Kind::Townships,
                format!("{}\n{new_code},{rest}\n", header(&townships)),
                (2, "boundary", "BAD_INPUT"),
                "a township overlapping another",
            ),
            (
                Kind::Townships,
                format!("{}\n12345,新乡,{square}\n", header(&townships)),
                (2, "code", "BAD_INPUT"),
                "a division code that is not 12 digits",
            ),
            (
                Kind::Townships,
                format!("code,name\n{new_code},新乡\n"),
                (1, "boundary", "BAD_INPUT"),
                "a missing column",
            ),
            (
                Kind::Villages,
                format!(
                    "{}\n{}\n",
                    header(&villages),
                    first_village.replacen(&first_village[..12], "369999101201", 1)
                ),
                (2, "code", "BAD_INPUT"),
                "a village code outside its township's prefix",
            ),
            (
                Kind::Villages,
                format!("{}\n{first_village}\n", header(&villages)),
                (2, "code", "CONFLICT"),
                "an existing village without --upsert",
            ),
            (
                Kind::Parties,
                format!(
                    "{}\n,HOUSEHOLD,张三,HH-NEW-1,,110101199003070000,,\n",
                    header(&parties)
                ),
                (2, "idNumber", "BAD_INPUT"),
                "an ID number with a wrong check digit",
            ),
            (
                Kind::Parties,
                format!(
                    "{}\n,HOUSEHOLD,张三,HH-NEW-2,,,,没有这个村\n",
                    header(&parties)
                ),
                (2, "villageCode", "BAD_INPUT"),
                "an unknown village",
            ),
            (
                Kind::Parties,
                format!("{}\n{first_party}\n", header(&parties)),
                (2, "householdNo", "CONFLICT"),
                "an existing party without --upsert",
            ),
            (
                Kind::Revitalizations,
                format!(
                    "{}\n,NO-SUCH-ASSET,LEASE,,,2024-01-01,12,,,,,,,\n",
                    header(&revitalizations)
                ),
                (2, "assetCode", "BAD_INPUT"),
                "an unknown asset",
            ),
            (
                Kind::Revitalizations,
                format!(
                    "{}\nQL-NEW-1,{},LEASE,,,2024-01-01,12,,,,,0.5,0.2,0.2\n",
                    header(&revitalizations),
                    first_record.split(',').nth(1).expect("asset code")
                ),
                (2, "collectiveShare", "BAD_INPUT"),
                "shares that do not sum to one",
            ),
            (
                Kind::Revitalizations,
                format!(
                    "{}\nQL-NEW-2,{},LEASE,,,2024-13-01,12,,,,,,,\n",
                    header(&revitalizations),
                    first_record.split(',').nth(1).expect("asset code")
                ),
                (2, "startDate", "BAD_INPUT"),
                "an unparseable date",
            ),
            (
                Kind::Townships,
                r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"3699011"#
                    .to_owned(),
                (1, "", "BAD_INPUT"),
                "a truncated GeoJSON file",
            ),
        ];
        for (kind, text, (row, column, code), why) in cases {
            let report = run(&app.db, kind, text.as_bytes(), Mode::default()).await;
            assert!(!report.written, "{why}: nothing is written");
            let found = report
                .errors
                .iter()
                .any(|e| e.row == row && e.column == column && e.code == code);
            assert!(found, "{} {why}: {:?}", app.engine, report.errors);
            assert_eq!(counts(&app.db).await, before, "{why}: nothing is written");
        }
        app.assert_sound().await;
    }
}
