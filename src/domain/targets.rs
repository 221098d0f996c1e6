//! Targets (目标任务) and progress against them: what the district office steers the year by.

use chrono::{Datelike, NaiveDate};

use super::code_enum;

code_enum! {
    /// What a target measures (目标指标). Flows count what happened in the target's year;
    /// stocks are the state as of today.
    pub enum TargetMeasure {
        /// Idle assets registered in the year (新增登记闲置资产, 处).
        AssetsRegistered = "ASSETS_REGISTERED",
        /// Assets whose revitalization started in the year (新增盘活资产, 处).
        AssetsRevitalized = "ASSETS_REVITALIZED",
        /// Households owning those assets (受益农户, 户).
        HouseholdsBenefited = "HOUSEHOLDS_BENEFITED",
        /// Investment of the revitalizations started in the year (盘活投资额, 分).
        InvestmentFen = "INVESTMENT_FEN",
        /// Jobs created by the revitalizations started in the year (带动就业, 人).
        JobsCreated = "JOBS_CREATED",
        /// Loans paid out in the year on rights in the scope (放款金额, 分).
        LoansDisbursedFen = "LOANS_DISBURSED_FEN",
        /// Dividends paid to holders for the year's distributions (分红金额, 分).
        DividendsPaidFen = "DIVIDENDS_PAID_FEN",
        /// The revitalized share as of today (资产盘活率, 0 to 1): a stock.
        RevitalizedShare = "REVITALIZED_SHARE",
        /// Households holding shares as of today (持股农户, 户): a stock.
        ShareholderHouseholds = "SHAREHOLDER_HOUSEHOLDS",
    }
}

impl TargetMeasure {
    /// Whether the measure counts what happened in the year (and so can be paced), rather than
    /// a state as of today.
    pub fn is_flow(self) -> bool {
        !matches!(
            self,
            TargetMeasure::RevitalizedShare | TargetMeasure::ShareholderHouseholds
        )
    }
}

code_enum! {
    /// Where a target stands (进度状态).
    pub enum ProgressStatus {
        /// Met, or at least 110% of what an even pace expects by today (超前).
        Ahead = "AHEAD",
        /// At least 90% of what an even pace expects by today (正常).
        OnTrack = "ON_TRACK",
        /// Under 90% of what an even pace expects by today (滞后).
        Behind = "BEHIND",
    }
}

/// Why a target was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TargetError {
    #[error("a target's year is 2000 to 2100, got {0}")]
    YearOutOfRange(i32),
    #[error("a target's value is a finite number, 0 or more, got {0}")]
    BadValue(f64),
    #[error("the revitalized share is 0 to 1, got {0}")]
    ShareOverOne(f64),
    #[error("the note is at most 200 characters")]
    NoteTooLong,
}

/// Checks a target's year, value and note.
pub fn check(
    measure: TargetMeasure,
    year: i32,
    value: f64,
    note: Option<&str>,
) -> Result<(), TargetError> {
    if !(2000..=2100).contains(&year) {
        return Err(TargetError::YearOutOfRange(year));
    }
    if !value.is_finite() || value < 0.0 {
        return Err(TargetError::BadValue(value));
    }
    if measure == TargetMeasure::RevitalizedShare && value > 1.0 {
        return Err(TargetError::ShareOverOne(value));
    }
    if note.is_some_and(|n| n.chars().count() > 200) {
        return Err(TargetError::NoteTooLong);
    }
    Ok(())
}

/// A target's progress as of a day.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub actual: f64,
    /// `actual / target`; `None` for a target of 0.
    pub ratio: Option<f64>,
    /// What an even pace over the year expects by the day: the target times the part of the
    /// year gone (all of it for a past year, none for a future one). A stock is expected whole.
    pub expected: f64,
    pub status: ProgressStatus,
}

/// The part of `year` gone by the end of `today`: 0 before it starts, 1 once it is over.
pub fn year_elapsed(year: i32, today: NaiveDate) -> f64 {
    if today.year() < year {
        return 0.0;
    }
    if today.year() > year {
        return 1.0;
    }
    let days = if NaiveDate::from_ymd_opt(year, 12, 31).is_some_and(|d| d.ordinal() == 366) {
        366.0
    } else {
        365.0
    };
    f64::from(today.ordinal()) / days
}

/// Progress of a target of `value` on `measure` in `year`, with `actual` as of `today`.
/// AHEAD: the target is met, or the actual is at least 110% of the expected; ON_TRACK: at
/// least 90% of the expected; BEHIND otherwise.
pub fn progress(
    measure: TargetMeasure,
    year: i32,
    value: f64,
    actual: f64,
    today: NaiveDate,
) -> Progress {
    let expected = if measure.is_flow() {
        value * year_elapsed(year, today)
    } else {
        value
    };
    let status = if actual >= value || actual >= expected * 1.1 && expected > 0.0 {
        ProgressStatus::Ahead
    } else if actual >= expected * 0.9 {
        ProgressStatus::OnTrack
    } else {
        ProgressStatus::Behind
    };
    Progress {
        actual,
        ratio: (value > 0.0).then(|| actual / value),
        expected,
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    #[test]
    fn an_even_pace_decides_the_status() {
        let m = TargetMeasure::AssetsRevitalized;
        // Half way through 2026 (1 July is day 182 of 365), 100 expected 49.9.
        let mid = day("2026-07-01");
        assert_eq!(
            progress(m, 2026, 100.0, 60.0, mid).status,
            ProgressStatus::Ahead
        );
        assert_eq!(
            progress(m, 2026, 100.0, 50.0, mid).status,
            ProgressStatus::OnTrack
        );
        assert_eq!(
            progress(m, 2026, 100.0, 45.0, mid).status,
            ProgressStatus::OnTrack
        );
        assert_eq!(
            progress(m, 2026, 100.0, 40.0, mid).status,
            ProgressStatus::Behind
        );
        // A past year is judged whole; a met target is ahead.
        assert_eq!(
            progress(m, 2025, 100.0, 95.0, mid).status,
            ProgressStatus::OnTrack
        );
        assert_eq!(
            progress(m, 2025, 100.0, 80.0, mid).status,
            ProgressStatus::Behind
        );
        assert_eq!(
            progress(m, 2025, 100.0, 100.0, mid).status,
            ProgressStatus::Ahead
        );
        // A future year expects nothing yet.
        let p = progress(m, 2027, 100.0, 0.0, mid);
        assert_eq!((p.expected, p.status), (0.0, ProgressStatus::OnTrack));
        // A stock is expected whole.
        let share = progress(TargetMeasure::RevitalizedShare, 2026, 0.5, 0.44, mid);
        assert_eq!(
            (share.expected, share.status),
            (0.5, ProgressStatus::Behind)
        );
        assert_eq!(progress(m, 2026, 0.0, 0.0, mid).ratio, None);
        assert_eq!(progress(m, 2026, 100.0, 25.0, mid).ratio, Some(0.25));
    }

    #[test]
    fn the_year_elapses_by_days() {
        assert_eq!(year_elapsed(2026, day("2025-12-31")), 0.0);
        assert_eq!(year_elapsed(2026, day("2027-01-01")), 1.0);
        assert_eq!(year_elapsed(2026, day("2026-12-31")), 1.0);
        assert_eq!(year_elapsed(2024, day("2024-12-31")), 1.0);
        assert!((year_elapsed(2026, day("2026-01-01")) - 1.0 / 365.0).abs() < 1e-12);
    }

    #[test]
    fn targets_are_checked() {
        let m = TargetMeasure::JobsCreated;
        assert!(check(m, 2026, 120.0, Some("全年带动就业")).is_ok());
        assert_eq!(
            check(m, 1999, 1.0, None),
            Err(TargetError::YearOutOfRange(1999))
        );
        assert_eq!(check(m, 2026, -1.0, None), Err(TargetError::BadValue(-1.0)));
        assert!(check(m, 2026, f64::NAN, None).is_err());
        assert_eq!(
            check(TargetMeasure::RevitalizedShare, 2026, 1.5, None),
            Err(TargetError::ShareOverOne(1.5))
        );
        assert_eq!(
            check(m, 2026, 1.0, Some(&"字".repeat(201))),
            Err(TargetError::NoteTooLong)
        );
    }
}
