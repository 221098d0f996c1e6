//! A mortgage loan's lifecycle, from application to release or disposal, as explicit transitions:
//! anything outside them is refused, whoever asks.

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
}
