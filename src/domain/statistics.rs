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

code_enum! {
    /// What loans are grouped by (贷款分组维度).
    pub enum LoanDimension {
        /// Lending bank (银行).
        Bank = "BANK",
        /// Loan product (贷款产品).
        Product = "PRODUCT",
        /// Kind of right pledged (权利类型).
        RightKind = "RIGHT_KIND",
        /// Township of the asset the right is on (乡镇); rights on no asset form a group of their
        /// own.
        Township = "TOWNSHIP",
        /// Village of the asset the right is on (行政村).
        Village = "VILLAGE",
        /// Year of the first disbursement (放款年份); mortgages by their registration, credit
        /// lines by their grant.
        DisbursementYear = "DISBURSEMENT_YEAR",
        /// Month of the first disbursement (放款月份), `2026-03`.
        DisbursementMonth = "DISBURSEMENT_MONTH",
        /// Where the loan stands (贷款状态): a bank's portfolio by status. Mortgages by the
        /// status of the loan they secure; credit lines, which are no loan, form the group "".
        Status = "STATUS",
    }
}

/// One loan as the figures read it: its status, what it asked, what was paid out and back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanFacts {
    pub status: super::loans::LoanStatus,
    pub amount_fen: i64,
    pub disbursed_fen: i64,
    pub repaid_fen: i64,
}

/// Loan figures of a group (贷款统计).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoanTotals {
    pub applications: i64,
    pub applied_fen: i64,
    pub approvals: i64,
    pub approved_fen: i64,
    pub disbursed_loans: i64,
    pub disbursed_fen: i64,
    pub repaid_fen: i64,
    pub outstanding_fen: i64,
    pub defaulted: i64,
    pub defaulted_fen: i64,
}

impl LoanTotals {
    /// Adds a loan. Approved: every status past the bank's approval. Outstanding: disbursed and
    /// not repaid, of loans still running or in default. Defaulted: loans in default or whose
    /// collateral was disposed of, with what they still owe.
    pub fn add(&mut self, l: &LoanFacts) {
        use super::loans::LoanStatus::*;
        self.applications += 1;
        self.applied_fen += l.amount_fen;
        if !matches!(l.status, Submitted | Rejected) {
            self.approvals += 1;
            self.approved_fen += l.amount_fen;
        }
        if l.disbursed_fen > 0 {
            self.disbursed_loans += 1;
        }
        self.disbursed_fen += l.disbursed_fen;
        self.repaid_fen += l.repaid_fen;
        let owed = (l.disbursed_fen - l.repaid_fen).max(0);
        if matches!(l.status, Disbursed | Defaulted) {
            self.outstanding_fen += owed;
        }
        if matches!(l.status, Defaulted | Disposed) {
            self.defaulted += 1;
            self.defaulted_fen += owed;
        }
    }

    /// The non-performing loan ratio (不良贷款率): what loans in default still owe over all
    /// that is outstanding; `None` with nothing outstanding.
    pub fn npl_ratio(&self) -> Option<f64> {
        let defaulted_outstanding = self.defaulted_fen.min(self.outstanding_fen);
        (self.outstanding_fen > 0)
            .then(|| defaulted_outstanding as f64 / self.outstanding_fen as f64)
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
    fn loan_totals_follow_each_loans_status() {
        use crate::domain::loans::LoanStatus::*;
        let loan = |status, amount, disbursed, repaid| LoanFacts {
            status,
            amount_fen: amount,
            disbursed_fen: disbursed,
            repaid_fen: repaid,
        };
        let mut t = LoanTotals::default();
        for l in [
            loan(Submitted, 100, 0, 0),
            loan(Rejected, 200, 0, 0),
            loan(Approved, 300, 0, 0),
            loan(Disbursed, 400, 400, 100),
            loan(Repaid, 500, 500, 520),
            loan(Defaulted, 600, 600, 200),
        ] {
            t.add(&l);
        }
        assert_eq!((t.applications, t.applied_fen), (6, 2100));
        assert_eq!((t.approvals, t.approved_fen), (4, 1800));
        assert_eq!(
            (t.disbursed_loans, t.disbursed_fen, t.repaid_fen),
            (3, 1500, 820)
        );
        assert_eq!(t.outstanding_fen, 300 + 400);
        assert_eq!((t.defaulted, t.defaulted_fen), (1, 400));
        assert_eq!(t.npl_ratio(), Some(400.0 / 700.0));
        assert_eq!(LoanTotals::default().npl_ratio(), None);
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
