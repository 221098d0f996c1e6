//! A mortgage loan's lifecycle, from application to release or disposal, as explicit transitions:
//! anything outside them is refused, whoever asks. Also what a pre-credit line ("见房即授信")
//! has lent and still allows.

use chrono::NaiveDate;

use super::code_enum;

code_enum! {
    /// Where a loan application stands (贷款状态).
    pub enum LoanStatus {
        /// Submitted to the bank (已申请).
        Submitted = "SUBMITTED",
        /// Approved on a passing eligibility report (已审批).
        Approved = "APPROVED",
        /// Rejected by the bank (已拒绝).
        Rejected = "REJECTED",
        /// The mortgage is registered with the registry office (已登记抵押).
        Registered = "REGISTERED",
        /// The money is paid out (已放款).
        Disbursed = "DISBURSED",
        /// Repaid in full (已结清).
        Repaid = "REPAID",
        /// In default (已违约).
        Defaulted = "DEFAULTED",
        /// The collateral was disposed of (已处置).
        Disposed = "DISPOSED",
    }
}

code_enum! {
    /// A mortgage's standing (抵押状态).
    pub enum MortgageStatus {
        /// In force (有效).
        Active = "ACTIVE",
        /// Released after repayment (已注销).
        Released = "RELEASED",
        /// Enforced by disposal of the collateral (已实现).
        Enforced = "ENFORCED",
    }
}

code_enum! {
    /// How a defaulted loan's collateral is dealt with (处置方式).
    pub enum DisposalMethod {
        /// Restructured: new terms, the loan runs on (重组).
        Restructure = "RESTRUCTURE",
        /// Sold by agreement (协议转让).
        Sale = "SALE",
        /// Auctioned (拍卖).
        Auction = "AUCTION",
        /// Let out under compulsory management to service the debt (强制管理).
        CompulsoryManagement = "COMPULSORY_MANAGEMENT",
    }
}

/// What is done to a loan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoanAction {
    Approve,
    Reject,
    RegisterMortgage,
    Disburse,
    /// A repayment; `settles` when it brings the amount repaid to the amount lent.
    Repay {
        settles: bool,
    },
    Release,
    Default,
    Dispose(DisposalMethod),
}

impl LoanAction {
    fn name(self) -> &'static str {
        match self {
            LoanAction::Approve => "approve",
            LoanAction::Reject => "reject",
            LoanAction::RegisterMortgage => "register a mortgage on",
            LoanAction::Disburse => "disburse",
            LoanAction::Repay { .. } => "record a repayment on",
            LoanAction::Release => "release the mortgage of",
            LoanAction::Default => "record a default on",
            LoanAction::Dispose(_) => "record a disposal on",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a loan that is {status}; {hint}")]
pub struct TransitionError {
    pub action: &'static str,
    pub status: LoanStatus,
    pub hint: &'static str,
}

/// The status after `action`, and the mortgage's when it changes.
pub fn transition(
    status: LoanStatus,
    action: LoanAction,
) -> Result<(LoanStatus, Option<MortgageStatus>), TransitionError> {
    use LoanStatus::*;
    let to = match (status, action) {
        (Submitted, LoanAction::Approve) => (Approved, None),
        (Submitted, LoanAction::Reject) => (Rejected, None),
        (Approved, LoanAction::RegisterMortgage) => (Registered, Some(MortgageStatus::Active)),
        (Registered, LoanAction::Disburse) => (Disbursed, None),
        (Disbursed, LoanAction::Repay { settles: false }) => (Disbursed, None),
        (Disbursed, LoanAction::Repay { settles: true }) => (Repaid, None),
        (Repaid, LoanAction::Release) => (Repaid, Some(MortgageStatus::Released)),
        (Disbursed, LoanAction::Default) => (Defaulted, None),
        (Defaulted, LoanAction::Repay { settles: true }) => (Repaid, None),
        (Defaulted, LoanAction::Dispose(DisposalMethod::Restructure)) => (Disbursed, None),
        (Defaulted, LoanAction::Dispose(_)) => (Disposed, Some(MortgageStatus::Enforced)),
        _ => {
            return Err(TransitionError {
                action: action.name(),
                status,
                hint: "the lifecycle is SUBMITTED → APPROVED → REGISTERED → DISBURSED → REPAID \
                       (then release), or DISBURSED → DEFAULTED → DISPOSED",
            });
        }
    };
    Ok(to)
}

impl LoanStatus {
    /// The statuses of a loan that was paid out (已放款): the money left the bank.
    pub const PAID_OUT: &'static [LoanStatus] = &[
        LoanStatus::Disbursed,
        LoanStatus::Repaid,
        LoanStatus::Defaulted,
        LoanStatus::Disposed,
    ];
}

code_enum! {
    /// A pre-credit line's standing (授信状态).
    pub enum CreditLineStatus {
        /// Usable until its expiry date, that day included (有效).
        Active = "ACTIVE",
        /// Past its expiry date (已到期).
        Expired = "EXPIRED",
    }
}

impl CreditLineStatus {
    /// The standing on `day` of a line that expires on `expires_on`.
    pub fn on(expires_on: NaiveDate, day: NaiveDate) -> Self {
        if day <= expires_on {
            CreditLineStatus::Active
        } else {
            CreditLineStatus::Expired
        }
    }
}

/// A credit line as the drawing rule reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTerms {
    pub bank_id: i64,
    pub party_id: i64,
    pub right_id: i64,
    pub granted_on: NaiveDate,
    pub expires_on: NaiveDate,
}

/// A loan application as the drawing rule reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoanTerms {
    pub bank_id: i64,
    pub borrower_id: i64,
    pub right_id: i64,
    /// The day it was submitted, in the district's time.
    pub submitted_on: NaiveDate,
}

/// Whether a loan draws on a credit line (用信): a line is granted by a bank to a household on
/// one right, so a loan of that bank to that household on that right, applied for while the
/// line runs (from the day it was granted to the day it expires), draws on it. An application
/// records no line of its own; this is the rule that ties them.
pub fn draws_on(line: &LineTerms, loan: &LoanTerms) -> bool {
    line.bank_id == loan.bank_id
        && line.party_id == loan.borrower_id
        && line.right_id == loan.right_id
        && line.granted_on <= loan.submitted_on
        && loan.submitted_on <= line.expires_on
}

/// What a line still allows (可用额度), fen: its amount less what is drawn, while it is
/// active; nothing once it expired.
pub fn available_fen(amount_fen: i64, drawn_fen: i64, status: CreditLineStatus) -> i64 {
    match status {
        CreditLineStatus::Active => (amount_fen - drawn_fen).max(0),
        CreditLineStatus::Expired => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path_runs_from_application_to_release() {
        let mut s = LoanStatus::Submitted;
        for (action, expected) in [
            (LoanAction::Approve, LoanStatus::Approved),
            (LoanAction::RegisterMortgage, LoanStatus::Registered),
            (LoanAction::Disburse, LoanStatus::Disbursed),
            (LoanAction::Repay { settles: false }, LoanStatus::Disbursed),
            (LoanAction::Repay { settles: true }, LoanStatus::Repaid),
            (LoanAction::Release, LoanStatus::Repaid),
        ] {
            s = transition(s, action).expect("allowed").0;
            assert_eq!(s, expected);
        }
    }

    #[test]
    fn default_leads_to_disposal_or_restructuring() {
        let d = transition(LoanStatus::Disbursed, LoanAction::Default).expect("allowed");
        assert_eq!(d, (LoanStatus::Defaulted, None));
        assert_eq!(
            transition(
                LoanStatus::Defaulted,
                LoanAction::Dispose(DisposalMethod::Auction)
            ),
            Ok((LoanStatus::Disposed, Some(MortgageStatus::Enforced)))
        );
        assert_eq!(
            transition(
                LoanStatus::Defaulted,
                LoanAction::Dispose(DisposalMethod::Restructure)
            ),
            Ok((LoanStatus::Disbursed, None))
        );
    }

    #[test]
    fn shortcuts_are_refused() {
        for (status, action) in [
            (LoanStatus::Submitted, LoanAction::RegisterMortgage),
            (LoanStatus::Submitted, LoanAction::Disburse),
            (LoanStatus::Rejected, LoanAction::Approve),
            (LoanStatus::Approved, LoanAction::Approve),
            (LoanStatus::Registered, LoanAction::Release),
            (LoanStatus::Repaid, LoanAction::Default),
            (LoanStatus::Disposed, LoanAction::Release),
            (
                LoanStatus::Disbursed,
                LoanAction::Dispose(DisposalMethod::Sale),
            ),
        ] {
            assert!(transition(status, action).is_err(), "{status} {action:?}");
        }
    }

    #[test]
    fn a_line_is_active_through_its_expiry_day_and_allows_what_is_not_drawn() {
        let d = |s: &str| s.parse::<NaiveDate>().expect("a date");
        let expires = d("2027-06-30");
        assert_eq!(
            CreditLineStatus::on(expires, d("2027-06-30")),
            CreditLineStatus::Active
        );
        assert_eq!(
            CreditLineStatus::on(expires, d("2027-07-01")),
            CreditLineStatus::Expired
        );
        assert_eq!(available_fen(100, 30, CreditLineStatus::Active), 70);
        assert_eq!(
            available_fen(100, 130, CreditLineStatus::Active),
            0,
            "overdrawn"
        );
        assert_eq!(available_fen(100, 0, CreditLineStatus::Expired), 0);
    }

    #[test]
    fn a_loan_draws_on_the_line_of_its_bank_household_and_right_while_it_runs() {
        let d = |s: &str| s.parse::<NaiveDate>().expect("a date");
        let line = LineTerms {
            bank_id: 1,
            party_id: 2,
            right_id: 3,
            granted_on: d("2026-01-10"),
            expires_on: d("2026-12-31"),
        };
        let loan = LoanTerms {
            bank_id: 1,
            borrower_id: 2,
            right_id: 3,
            submitted_on: d("2026-01-10"),
        };
        assert!(draws_on(&line, &loan));
        assert!(draws_on(
            &line,
            &LoanTerms {
                submitted_on: d("2026-12-31"),
                ..loan
            }
        ));
        for (other, why) in [
            (LoanTerms { bank_id: 9, ..loan }, "another bank"),
            (
                LoanTerms {
                    borrower_id: 9,
                    ..loan
                },
                "another household",
            ),
            (
                LoanTerms {
                    right_id: 9,
                    ..loan
                },
                "another right",
            ),
            (
                LoanTerms {
                    submitted_on: d("2026-01-09"),
                    ..loan
                },
                "before the grant",
            ),
            (
                LoanTerms {
                    submitted_on: d("2027-01-01"),
                    ..loan
                },
                "after the expiry",
            ),
        ] {
            assert!(!draws_on(&line, &other), "{why}");
        }
    }
}
