//! Revitalization records (盘活利用): how an idle asset was put back to use, on what terms, and
//! how the revenue is split between the village collective, the operator and the farmer.

use chrono::NaiveDate;

use super::assets::AssetStatus;
use super::code_enum;
use super::text::{self, TextError};

code_enum! {
    /// How an idle asset was put to use (盘活方式).
    pub enum RevitalizationMode {
        /// Leased out (出租).
        Lease = "LEASE",
        /// Contributed as equity to a collective, cooperative or company (入股).
        EquityContribution = "EQUITY_CONTRIBUTION",
        /// Operated together with a partner (合作经营).
        CooperativeOperation = "COOPERATIVE_OPERATION",
        /// The use right transferred (转让).
        Transfer = "TRANSFER",
        /// Run as a homestay (民宿).
        Homestay = "HOMESTAY",
        /// Returned to the collective for compensation (有偿退出).
        PaidRelinquishment = "PAID_RELINQUISHMENT",
    }
}

/// Why a revitalization record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevitalizationError {
    #[error("revenue shares must each be between 0 and 1 and sum to exactly 1; they sum to {sum}")]
    SharesDoNotSumToOne { sum: String },
    #[error("term must be 1 to 600 months, got {0}")]
    TermOutOfRange(i32),
    #[error("{field} must not be negative")]
    NegativeAmount { field: &'static str },
    #[error("jobs created must be 0 to 100000, got {0}")]
    JobsOutOfRange(i32),
    #[error("compensation is only recorded for a paid relinquishment (有偿退出)")]
    CompensationWithoutRelinquishment,
    #[error("a {mode} record needs the asset to be {expected}, but it is {actual}")]
    AssetStatusMismatch {
        mode: RevitalizationMode,
        expected: AssetStatus,
        actual: AssetStatus,
    },
    #[error("start date {0} is before 1949")]
    StartDateTooEarly(NaiveDate),
    #[error(transparent)]
    Text(#[from] TextError),
}

/// Basis points in one whole: shares are kept as integers so that they sum exactly.
pub const WHOLE_BP: i32 = 10_000;

/// Who gets what share of the revenue (收益分配), in basis points summing to 10 000.
/// Practice varies (6+2+2, 8+2, …), so the split is data, not a fixed scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevenueSplit {
    pub collective_bp: i32,
    pub operator_bp: i32,
    pub farmer_bp: i32,
}

impl RevenueSplit {
    /// From fractions such as 0.6 / 0.2 / 0.2, rounded to basis points.
    pub fn from_fractions(
        collective: f64,
        operator: f64,
        farmer: f64,
    ) -> Result<Self, RevitalizationError> {
        let to_bp = |v: f64| -> Option<i32> {
            (v.is_finite() && (0.0..=1.0).contains(&v))
                .then(|| (v * f64::from(WHOLE_BP)).round() as i32)
        };
        let sum = collective + operator + farmer;
        match (to_bp(collective), to_bp(operator), to_bp(farmer)) {
            (Some(c), Some(o), Some(f)) if c + o + f == WHOLE_BP => Ok(Self {
                collective_bp: c,
                operator_bp: o,
                farmer_bp: f,
            }),
            _ => Err(RevitalizationError::SharesDoNotSumToOne {
                sum: format!("{sum}"),
            }),
        }
    }

    /// From stored basis points; `None` unless all three are present.
    pub fn from_bp(
        collective: Option<i32>,
        operator: Option<i32>,
        farmer: Option<i32>,
    ) -> Option<Self> {
        Some(Self {
            collective_bp: collective?,
            operator_bp: operator?,
            farmer_bp: farmer?,
        })
    }
}

/// A revitalization as submitted.
#[derive(Debug, Clone)]
pub struct RevitalizationDraft {
    pub contract_no: Option<String>,
    pub mode: RevitalizationMode,
    pub end_use: Option<String>,
    pub start_date: NaiveDate,
    pub term_months: Option<i32>,
    pub annual_rent_fen: Option<i64>,
    pub investment_fen: Option<i64>,
    pub compensation_fen: Option<i64>,
    pub jobs_created: Option<i32>,
    pub split: Option<RevenueSplit>,
}

/// A revitalization, checked against its own rules and the asset's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRevitalization {
    pub contract_no: Option<String>,
    pub mode: RevitalizationMode,
    pub end_use: Option<String>,
    pub start_date: NaiveDate,
    pub term_months: Option<i32>,
    pub annual_rent_fen: Option<i64>,
    pub investment_fen: Option<i64>,
    pub compensation_fen: Option<i64>,
    pub jobs_created: Option<i32>,
    pub split: Option<RevenueSplit>,
}

impl RevitalizationDraft {
    /// `asset_status` is the status of the asset it is recorded on: a paid relinquishment
    /// needs a RELINQUISHED asset, every other mode a REVITALIZED one.
    pub fn validate(
        self,
        asset_status: AssetStatus,
    ) -> Result<NewRevitalization, RevitalizationError> {
        let expected = if self.mode == RevitalizationMode::PaidRelinquishment {
            AssetStatus::Relinquished
        } else {
            AssetStatus::Revitalized
        };
        if asset_status != expected {
            return Err(RevitalizationError::AssetStatusMismatch {
                mode: self.mode,
                expected,
                actual: asset_status,
            });
        }
        if self.start_date < NaiveDate::from_ymd_opt(1949, 1, 1).unwrap_or(NaiveDate::MIN) {
            return Err(RevitalizationError::StartDateTooEarly(self.start_date));
        }
        if let Some(term) = self.term_months
            && !(1..=600).contains(&term)
        {
            return Err(RevitalizationError::TermOutOfRange(term));
        }
        for (field, amount) in [
            ("annual rent", self.annual_rent_fen),
            ("investment", self.investment_fen),
            ("compensation", self.compensation_fen),
        ] {
            if amount.is_some_and(|a| a < 0) {
                return Err(RevitalizationError::NegativeAmount { field });
            }
        }
        if self.compensation_fen.is_some() && self.mode != RevitalizationMode::PaidRelinquishment {
            return Err(RevitalizationError::CompensationWithoutRelinquishment);
        }
        if let Some(jobs) = self.jobs_created
            && !(0..=100_000).contains(&jobs)
        {
            return Err(RevitalizationError::JobsOutOfRange(jobs));
        }
        Ok(NewRevitalization {
            contract_no: text::optional("contract number", self.contract_no.as_deref(), 64)?,
            mode: self.mode,
            end_use: text::optional("end use", self.end_use.as_deref(), 100)?,
            start_date: self.start_date,
            term_months: self.term_months,
            annual_rent_fen: self.annual_rent_fen,
            investment_fen: self.investment_fen,
            compensation_fen: self.compensation_fen,
            jobs_created: self.jobs_created,
            split: self.split,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(mode: RevitalizationMode) -> RevitalizationDraft {
        RevitalizationDraft {
            contract_no: Some("QL-2024-0001".into()),
            mode,
            end_use: Some("民宿".into()),
            start_date: NaiveDate::from_ymd_opt(2024, 3, 1).expect("valid date"),
            term_months: Some(120),
            annual_rent_fen: Some(1_200_000),
            investment_fen: None,
            compensation_fen: None,
            jobs_created: Some(4),
            split: None,
        }
    }

    #[test]
    fn practice_splits_sum_to_one() {
        assert!(RevenueSplit::from_fractions(0.6, 0.2, 0.2).is_ok(), "6+2+2");
        assert!(RevenueSplit::from_fractions(0.2, 0.0, 0.8).is_ok(), "8+2");
        assert!(
            RevenueSplit::from_fractions(0.1, 0.2, 0.7).is_ok(),
            "float noise is rounded away"
        );
        for (c, o, f, why) in [
            (0.6, 0.2, 0.3, "sums to 1.1"),
            (0.5, 0.2, 0.2, "sums to 0.9"),
            (1.2, -0.1, -0.1, "negative share"),
            (f64::NAN, 0.5, 0.5, "not a number"),
        ] {
            assert!(RevenueSplit::from_fractions(c, o, f).is_err(), "{why}");
        }
    }

    #[test]
    fn the_mode_must_fit_the_asset_status() {
        use RevitalizationMode::*;
        assert!(draft(Lease).validate(AssetStatus::Revitalized).is_ok());
        assert!(draft(Lease).validate(AssetStatus::Listed).is_err());
        let exit = RevitalizationDraft {
            compensation_fen: Some(5_000_000),
            ..draft(PaidRelinquishment)
        };
        assert!(exit.clone().validate(AssetStatus::Relinquished).is_ok());
        assert!(exit.validate(AssetStatus::Revitalized).is_err());
    }

    #[test]
    fn bad_terms_are_refused() {
        use RevitalizationMode::*;
        let cases = [
            (
                RevitalizationDraft {
                    term_months: Some(0),
                    ..draft(Lease)
                },
                "zero term",
            ),
            (
                RevitalizationDraft {
                    annual_rent_fen: Some(-1),
                    ..draft(Lease)
                },
                "negative rent",
            ),
            (
                RevitalizationDraft {
                    jobs_created: Some(-3),
                    ..draft(Lease)
                },
                "negative jobs",
            ),
            (
                RevitalizationDraft {
                    compensation_fen: Some(1),
                    ..draft(Lease)
                },
                "compensation on a lease",
            ),
        ];
        for (d, why) in cases {
            assert!(d.validate(AssetStatus::Revitalized).is_err(), "{why}");
        }
    }
}
