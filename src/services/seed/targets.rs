//! The demo district's targets (目标任务): for the current and the previous year, for the
//! district and every township, set against what the records hold on the day the demo is
//! loaded, so that some are met and some are behind whenever it is loaded.

use chrono::{Datelike, NaiveDate};
use sea_orm::ConnectionTrait;

use super::SeedReport;
use crate::db;
use crate::db::statistics::Scope;
use crate::db::targets::NewTarget;
use crate::domain::targets::TargetMeasure;

/// How far above (or below) what was achieved each township's goals are set, by township in
/// code order: met with room, met exactly, missed.
const STRETCH: [f64; 3] = [0.8, 1.0, 1.5];

pub(super) async fn load(
    conn: &impl ConnectionTrait,
    today: NaiveDate,
    report: &mut SeedReport,
) -> anyhow::Result<()> {
    let townships = db::places::all_townships(conn).await?;
    let mut scopes = vec![(Scope::District, 1.0)];
    let mut sorted: Vec<_> = townships.iter().collect();
    sorted.sort_by(|a, b| a.code.cmp(&b.code));
    for (i, t) in sorted.iter().enumerate() {
        scopes.push((Scope::Township(t.id), STRETCH[i % STRETCH.len()]));
    }
    let this_year = today.year();
    for (scope, stretch) in scopes {
        for year in [this_year - 1, this_year] {
            let actual = db::targets::actuals(conn, scope, year).await?;
            let goals = [
                (
                    TargetMeasure::AssetsRegistered,
                    (actual[&TargetMeasure::AssetsRegistered] * stretch)
                        .round()
                        .max(1.0),
                ),
                (
                    TargetMeasure::AssetsRevitalized,
                    (actual[&TargetMeasure::AssetsRevitalized] * stretch)
                        .round()
                        .max(1.0),
                ),
                (
                    TargetMeasure::JobsCreated,
                    (actual[&TargetMeasure::JobsCreated] * stretch)
                        .round()
                        .max(5.0),
                ),
                (
                    TargetMeasure::RevitalizedShare,
                    ((actual[&TargetMeasure::RevitalizedShare] * stretch * 100.0).round() / 100.0)
                        .clamp(0.05, 1.0),
                ),
            ];
            for (measure, value) in goals {
                if db::targets::find(conn, scope, year, measure)
                    .await?
                    .is_some()
                {
                    continue;
                }
                db::targets::insert(
                    conn,
                    &NewTarget {
                        scope,
                        year,
                        measure,
                        value,
                        note: Some(format!("{year}年政府工作报告任务分解")),
                        set_by: "seed".to_owned(),
                    },
                )
                .await?;
                report.targets += 1;
            }
        }
    }
    Ok(())
}
