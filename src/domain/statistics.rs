//! District statistics (统计): the measures' definitions, the dimensions they group by, and the
//! rule that keeps a published figure from pointing at one household.

use super::assets::AssetStatus;
use super::code_enum;

/// Cells counting fewer households or assets than this are hidden from anonymous callers, unless
/// the district sets another floor (`MIN_PUBLIC_CELL`).
pub const DEFAULT_MIN_PUBLIC_CELL: u32 = 3;

code_enum! {
    /// What idle assets are grouped by (资产分组维度).
    pub enum AssetDimension {
        /// Township (乡镇).
        Township = "TOWNSHIP",
        /// Village (行政村); assets outside every village form a group of their own.
        Village = "VILLAGE",
        /// Kind of asset (资产类型).
        Kind = "KIND",
        /// Status (状态).
        Status = "STATUS",
        /// Year the asset was registered (登记年份), `2026`.
        RegistrationYear = "REGISTRATION_YEAR",
        /// Month the asset was registered (登记月份), `2026-03`.
        RegistrationMonth = "REGISTRATION_MONTH",
    }
}

code_enum! {
    /// What revitalizations are grouped by (盘活分组维度).
    pub enum RevitalizationDimension {
        /// Mode (盘活方式).
        Mode = "MODE",
        /// Township of the asset (乡镇).
        Township = "TOWNSHIP",
        /// Village of the asset (行政村).
        Village = "VILLAGE",
        /// Year it started (起始年份).
        StartYear = "START_YEAR",
        /// Month it started (起始月份), `2026-03`.
        StartMonth = "START_MONTH",
    }
}

/// Whether a cell counting `count` households or assets may be shown to anonymous callers: an
/// empty cell tells nothing about anyone, one under the floor might name a household.
pub fn public_cell(count: i64, min_public_cell: u32) -> bool {
    count == 0 || count >= i64::from(min_public_cell)
}

/// The statuses that count as back in use for the revitalized share: revitalized, or
/// relinquished with compensation (its land returned to the collective for use).
pub fn counts_as_revitalized(status: AssetStatus) -> bool {
    matches!(status, AssetStatus::Revitalized | AssetStatus::Relinquished)
}

/// The statuses the revitalized share is taken over: every asset but the withdrawn ones (no
/// longer idle, or registered in error).
pub fn counts_in_base(status: AssetStatus) -> bool {
    status != AssetStatus::Withdrawn
}

/// The revitalized share (资产盘活率): assets REVITALIZED or RELINQUISHED over all assets not
/// WITHDRAWN; `None` when there are none.
pub fn revitalized_share(counts: &[(AssetStatus, i64)]) -> Option<f64> {
    let part: i64 = counts
        .iter()
        .filter(|(s, _)| counts_as_revitalized(*s))
        .map(|(_, n)| n)
        .sum();
    let base: i64 = counts
        .iter()
        .filter(|(s, _)| counts_in_base(*s))
        .map(|(_, n)| n)
        .sum();
    (base > 0).then(|| part as f64 / base as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_revitalized_share_leaves_withdrawn_assets_out() {
        use AssetStatus::*;
        let counts = [
            (Identified, 3),
            (Revitalized, 4),
            (Relinquished, 1),
            (Withdrawn, 2),
        ];
        assert_eq!(revitalized_share(&counts), Some(5.0 / 8.0));
        assert_eq!(revitalized_share(&[(Withdrawn, 2)]), None);
        assert_eq!(revitalized_share(&[]), None);
    }

    #[test]
    fn small_cells_are_hidden_but_empty_ones_are_not() {
        assert!(public_cell(0, 3));
        assert!(!public_cell(1, 3));
        assert!(!public_cell(2, 3));
        assert!(public_cell(3, 3));
        assert!(public_cell(1, 1));
    }
}
