//! The district's mortgage policy (抵押政策): which rights may be mortgaged here and on what
//! terms. Where the national rules leave a number to banks or to local policy, it is data an
//! ADMIN edits and versions, not a constant in the engine.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::rights::RightKind;

/// Age limits for borrowers, in whole years.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgeLimits {
    pub min: u32,
    pub male_max: u32,
    pub female_max: u32,
}

/// The district's mortgage policy: which rights may be mortgaged here and on what terms. Where
/// the domain brief marks a rule as inference (jurisdiction, consent, ceilings), it is a field
/// here rather than a constant in the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// The rule-set version a report names (规则版本).
    pub version: String,
    /// Right kinds the district allows as collateral (JURISDICTION_ALLOWS).
    pub mortgageable: Vec<RightKind>,
    /// Largest loan-to-value per right kind, in basis points of the appraised value.
    pub ltv_ceiling_bp: BTreeMap<RightKind, u32>,
    /// Right kinds whose mortgage needs the collective's written consent.
    pub collective_consent: Vec<RightKind>,
    /// The smallest appraised value accepted, fen.
    pub min_appraisal_fen: i64,
    /// How long an appraisal stays current when it names no expiry, in days.
    pub appraisal_valid_days: u32,
    pub age: AgeLimits,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy needs a version")]
    NoVersion,
    #[error("the loan-to-value ceiling for {0} must be between 1 and 10000 basis points")]
    Ceiling(RightKind),
    #[error("age limits must satisfy 18 ≤ min < max ≤ 100")]
    Ages,
    #[error("the minimum appraisal must not be negative")]
    MinAppraisal,
    #[error("the appraisal validity must be 1 to 3650 days")]
    Validity,
}

impl Policy {
    /// Checks a policy before it is stored.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.version.trim().is_empty() {
            return Err(PolicyError::NoVersion);
        }
        if let Some((k, _)) = self
            .ltv_ceiling_bp
            .iter()
            .find(|(_, bp)| !(1..=10_000).contains(*bp))
        {
            return Err(PolicyError::Ceiling(*k));
        }
        let a = &self.age;
        if a.min < 18 || a.min >= a.male_max.min(a.female_max) || a.male_max.max(a.female_max) > 100
        {
            return Err(PolicyError::Ages);
        }
        if self.min_appraisal_fen < 0 {
            return Err(PolicyError::MinAppraisal);
        }
        if !(1..=3650).contains(&self.appraisal_valid_days) {
            return Err(PolicyError::Validity);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            version: "2026-1".into(),
            mortgageable: vec![RightKind::FarmhouseProperty],
            ltv_ceiling_bp: BTreeMap::from([(RightKind::FarmhouseProperty, 7_000)]),
            collective_consent: vec![],
            min_appraisal_fen: 5_000_000,
            appraisal_valid_days: 365,
            age: AgeLimits {
                min: 18,
                male_max: 65,
                female_max: 60,
            },
        }
    }

    #[test]
    fn a_policy_reads_back_from_its_json() {
        let p = policy();
        let text = serde_json::to_string(&p).expect("serializes");
        assert!(text.contains("\"FARMHOUSE_PROPERTY\":7000"), "{text}");
        assert_eq!(serde_json::from_str::<Policy>(&text).expect("reads"), p);
        assert!(
            serde_json::from_str::<Policy>(&text.replace("FARMHOUSE_PROPERTY", "CASTLE")).is_err()
        );
    }

    #[test]
    fn nonsense_policies_are_refused() {
        assert_eq!(policy().validate(), Ok(()));
        type Change = fn(&mut Policy);
        let cases: [(Change, &str); 5] = [
            (|p| p.version = " ".into(), "no version"),
            (
                |p| {
                    p.ltv_ceiling_bp.insert(RightKind::Forest, 12_000);
                },
                "over 100%",
            ),
            (|p| p.age.min = 70, "min above max"),
            (|p| p.min_appraisal_fen = -1, "negative minimum"),
            (|p| p.appraisal_valid_days = 0, "appraisals never current"),
        ];
        for (change, why) in cases {
            let mut p = policy();
            change(&mut p);
            assert!(p.validate().is_err(), "{why}");
        }
    }
}
