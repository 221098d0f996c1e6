//! The year's figures as a table for Excel (统计报表): one row for the district or the township
//! asked, then one for each township (or each village of that township), with the same figures
//! the API gives (`district`, `Township.statistics`), counted from the records. The same code for
//! `GET /export/statistics.csv` and `rural-registry report`.

use sea_orm::DatabaseConnection;

use crate::db::statistics::Scope;
use crate::db::{self, StoreResult};
use crate::domain::access::{Caller, Role};
use crate::domain::assets::AssetStatus;
use crate::domain::statistics::{counts_as_revitalized, revitalized_share};
use crate::domain::targets::TargetMeasure;
use crate::services::export::Encoding;

/// The report's columns, as its header names them.
pub const COLUMNS: [&str; 16] = [
    "level",
    "code",
    "name",
    "assets",
    "floorAreaM2",
    "landAreaM2",
    "revitalized",
    "revitalizedShare",
    "assetsRegistered",
    "assetsRevitalized",
    "householdsBenefited",
    "investmentFen",
    "jobsCreated",
    "loansDisbursedFen",
    "dividendsPaidFen",
    "shareholderHouseholds",
];

/// One row's figures for `scope` in `year`. Loans only for callers who see the district's
/// lending (ADMIN, CADRE); blank for a bank.
async fn row(
    db: &DatabaseConnection,
    scope: Scope,
    year: i32,
    loans: bool,
    (level, code, name): (&str, &str, &str),
) -> StoreResult<Vec<String>> {
    let cells = db::statistics::assets(db, scope, None, &Default::default()).await?;
    let counts: Vec<(AssetStatus, i64)> = cells
        .iter()
        .filter_map(|c| AssetStatus::parse(&c.status).ok().map(|s| (s, c.count)))
        .collect();
    let count: i64 = cells.iter().map(|c| c.count).sum();
    let floor: f64 = cells.iter().map(|c| c.floor_m2).sum();
    let land: f64 = cells.iter().map(|c| c.land_m2).sum();
    let revitalized: i64 = counts
        .iter()
        .filter(|(s, _)| counts_as_revitalized(*s))
        .map(|(_, n)| n)
        .sum();
    let actual = db::targets::actuals(db, scope, year).await?;
    let of = |m: TargetMeasure| {
        let v = actual.get(&m).copied().unwrap_or(0.0);
        format!("{}", v.round() as i64)
    };
    Ok(vec![
        level.to_owned(),
        code.to_owned(),
        name.to_owned(),
        count.to_string(),
        format!("{floor:.2}"),
        format!("{land:.2}"),
        revitalized.to_string(),
        revitalized_share(&counts)
            .map(|s| format!("{s:.4}"))
            .unwrap_or_default(),
        of(TargetMeasure::AssetsRegistered),
        of(TargetMeasure::AssetsRevitalized),
        of(TargetMeasure::HouseholdsBenefited),
        of(TargetMeasure::InvestmentFen),
        of(TargetMeasure::JobsCreated),
        if loans {
            of(TargetMeasure::LoansDisbursedFen)
        } else {
            String::new()
        },
        of(TargetMeasure::DividendsPaidFen),
        of(TargetMeasure::ShareholderHouseholds),
    ])
}

/// The report of `year` for the district (each township a row) or one township (each village a
/// row), as CSV in `encoding` (UTF-8 with a byte-order mark for Excel, or GB18030).
pub async fn statistics_csv(
    db: &DatabaseConnection,
    caller: &Caller,
    year: i32,
    township_id: Option<i64>,
    encoding: Encoding,
) -> StoreResult<Vec<u8>> {
    let loans = matches!(caller, Caller::Signed(a) if a.role != Role::Bank);
    let mut rows = Vec::new();
    let townships = db::places::all_townships(db).await?;
    match township_id {
        None => {
            rows.push(row(db, Scope::District, year, loans, ("DISTRICT", "", "")).await?);
            let mut sorted: Vec<_> = townships.iter().collect();
            sorted.sort_by(|a, b| a.code.cmp(&b.code));
            for t in sorted {
                let who = ("TOWNSHIP", t.code.as_str(), t.name.as_str());
                rows.push(row(db, Scope::Township(t.id), year, loans, who).await?);
            }
        }
        Some(t) => {
            if let Some(tw) = townships.iter().find(|x| x.id == t) {
                let who = ("TOWNSHIP", tw.code.as_str(), tw.name.as_str());
                rows.push(row(db, Scope::Township(t), year, loans, who).await?);
            }
            let mut villages: Vec<_> = db::places::all_villages(db)
                .await?
                .into_iter()
                .filter(|v| v.township_id == t)
                .collect();
            villages.sort_by(|a, b| a.code.cmp(&b.code));
            for v in &villages {
                let who = ("VILLAGE", v.code.as_str(), v.name.as_str());
                rows.push(row(db, Scope::Village(v.id), year, loans, who).await?);
            }
        }
    }
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(COLUMNS);
    for r in &rows {
        let _ = w.write_record(r);
    }
    Ok(crate::services::export::for_excel(
        w.into_inner().unwrap_or_default(),
        encoding,
    ))
}
