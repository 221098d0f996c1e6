//! Property rights (产权) and the credit built on them: the kinds of right a household holds and
//! the loan products banks offer against them ("一权一品": one product per kind of right). The
//! district's mortgage policy over them is `eligibility::Policy`.

use serde::Deserialize;

use super::code_enum;

code_enum! {
    /// Kind of property right (权利类型).
    pub enum RightKind {
        /// The farmhouse with its homestead use right, mortgaged together (农房财产权, 房地一体).
        FarmhouseProperty = "FARMHOUSE_PROPERTY",
        /// Homestead use right alone (宅基地使用权).
        HomesteadUse = "HOMESTEAD_USE",
        /// Contracted land management right (土地经营权).
        LandManagement = "LAND_MANAGEMENT",
        /// Forest right (林权).
        Forest = "FOREST",
        /// Collective operating construction land use right (集体经营性建设用地使用权).
        CollectiveConstructionLand = "COLLECTIVE_CONSTRUCTION_LAND",
        /// A holding of shares in a collective economic organisation (集体经济组织股权), pledged
        /// where the district allows it (股权质押); it sits on the holding, not on an asset.
        CollectiveShare = "COLLECTIVE_SHARE",
    }
}

code_enum! {
    /// Standing of a right (权利状态).
    pub enum RightStatus {
        /// In force (有效).
        Valid = "VALID",
        /// Suspended, e.g. pending correction of the register (中止).
        Suspended = "SUSPENDED",
        /// Cancelled (注销).
        Cancelled = "CANCELLED",
    }
}

code_enum! {
    /// Kind of source document (来源文件类型).
    pub enum DocumentKind {
        /// Real-estate or right certificate (不动产权证书/权证).
        Certificate = "CERTIFICATE",
        /// A co-owner's written consent to the mortgage (共有人同意书).
        CoOwnerConsent = "CO_OWNER_CONSENT",
        /// The collective's written consent (集体经济组织同意书).
        CollectiveConsent = "COLLECTIVE_CONSENT",
        /// A collective resolution (集体决议).
        CollectiveResolution = "COLLECTIVE_RESOLUTION",
        /// Proof of other long-term housing (其他稳定住所证明).
        AlternativeResidenceProof = "ALTERNATIVE_RESIDENCE_PROOF",
        /// The tenant's acknowledgement that the lender was told of the lease (租赁告知书).
        LeaseDisclosure = "LEASE_DISCLOSURE",
    }
}

code_enum! {
    /// How a product lends (授信模式).
    pub enum CreditModel {
        /// A registered mortgage on the right (抵押贷款).
        Mortgage = "MORTGAGE",
        /// Credit granted on seeing a registered house ("见房即授信").
        HouseBasedCredit = "HOUSE_BASED_CREDIT",
        /// Village-wide credit recommended by the party branch ("党建+金融", 整村授信).
        VillageCredit = "VILLAGE_CREDIT",
    }
}

code_enum! {
    /// How an appraisal was made (评估方式).
    pub enum AppraisalMethod {
        /// By a qualified third-party appraiser (第三方评估).
        ThirdParty = "THIRD_PARTY",
        /// By the bank itself (银行自评).
        Bank = "BANK",
        /// Agreed between borrower and bank (协商定价).
        Negotiated = "NEGOTIATED",
    }
}

code_enum! {
    /// A household's credit grade, as a village party branch rates it (信用等级).
    pub enum CreditGrade {
        /// Excellent (AAA).
        Aaa = "AAA",
        /// Very good (AA).
        Aa = "AA",
        /// Good (A).
        A = "A",
        /// Fair (B).
        B = "B",
        /// Weak (C).
        C = "C",
        /// Poor (D).
        D = "D",
    }
}

impl<'de> Deserialize<'de> for RightKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        RightKind::parse(&code).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RightError {
    #[error("a right needs at least one holder")]
    NoHolder,
    #[error("party {0} is listed twice among the holders")]
    DuplicateHolder(i64),
    #[error("a holder's share must be more than 0 and at most 1, got {0}")]
    Share(f64),
    #[error("the holders' shares must sum to 1, they sum to {0}")]
    SharesSum(f64),
    #[error("the right expires ({expires}) before it was issued ({issued})")]
    ExpiresBeforeIssued {
        issued: chrono::NaiveDate,
        expires: chrono::NaiveDate,
    },
    #[error("an appraised value must be more than 0 fen, got {0}")]
    AppraisalValue(i64),
    #[error("an appraisal cannot be valid until {until}, before it was made on {made}")]
    AppraisalValidity {
        made: chrono::NaiveDate,
        until: chrono::NaiveDate,
    },
}

/// Holders' shares given as fractions (as a cadre types them), checked and turned into basis
/// points that sum exactly to 10 000: the last holder takes the rounding.
pub fn holder_shares(holders: &[(i64, f64)]) -> Result<Vec<(i64, u32)>, RightError> {
    if holders.is_empty() {
        return Err(RightError::NoHolder);
    }
    let mut seen = std::collections::HashSet::new();
    for (party, share) in holders {
        if !seen.insert(*party) {
            return Err(RightError::DuplicateHolder(*party));
        }
        if !(share.is_finite() && *share > 0.0 && *share <= 1.0) {
            return Err(RightError::Share(*share));
        }
    }
    let sum: f64 = holders.iter().map(|(_, s)| s).sum();
    if (sum - 1.0).abs() > 1e-6 {
        return Err(RightError::SharesSum(sum));
    }
    let mut out: Vec<(i64, u32)> = holders
        .iter()
        .map(|(p, s)| (*p, (s * 10_000.0).round() as u32))
        .collect();
    let rest: u32 = out[..out.len() - 1].iter().map(|(_, bp)| bp).sum();
    if let Some(last) = out.last_mut() {
        last.1 = 10_000 - rest;
    }
    Ok(out)
}

/// Checks that a right does not expire before it was issued.
pub fn check_term(
    issued: Option<chrono::NaiveDate>,
    expires: Option<chrono::NaiveDate>,
) -> Result<(), RightError> {
    match (issued, expires) {
        (Some(issued), Some(expires)) if expires < issued => {
            Err(RightError::ExpiresBeforeIssued { issued, expires })
        }
        _ => Ok(()),
    }
}

/// Checks an appraisal's value and validity.
pub fn check_appraisal(
    value_fen: i64,
    valued_on: chrono::NaiveDate,
    valid_until: Option<chrono::NaiveDate>,
) -> Result<(), RightError> {
    if value_fen <= 0 {
        return Err(RightError::AppraisalValue(value_fen));
    }
    match valid_until {
        Some(until) if until < valued_on => Err(RightError::AppraisalValidity {
            made: valued_on,
            until,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod holder_tests {
    use super::*;

    #[test]
    fn shares_become_basis_points_summing_to_one() {
        assert_eq!(
            holder_shares(&[(1, 1.0 / 3.0), (2, 1.0 / 3.0), (3, 1.0 / 3.0)]),
            Ok(vec![(1, 3_333), (2, 3_333), (3, 3_334)])
        );
        assert_eq!(holder_shares(&[]), Err(RightError::NoHolder));
        assert_eq!(
            holder_shares(&[(1, 0.5), (1, 0.5)]),
            Err(RightError::DuplicateHolder(1))
        );
        assert!(matches!(
            holder_shares(&[(1, 0.5), (2, 0.4)]),
            Err(RightError::SharesSum(_))
        ));
        assert!(holder_shares(&[(1, f64::NAN)]).is_err());
        assert!(holder_shares(&[(1, 0.0), (2, 1.0)]).is_err());
    }

    #[test]
    fn dates_and_values_must_make_sense() {
        let d = |s: &str| s.parse::<chrono::NaiveDate>().expect("date");
        assert!(check_term(Some(d("2020-01-01")), Some(d("2019-01-01"))).is_err());
        assert!(check_term(Some(d("2020-01-01")), None).is_ok());
        assert!(check_appraisal(0, d("2026-01-01"), None).is_err());
        assert!(check_appraisal(1, d("2026-01-01"), Some(d("2025-01-01"))).is_err());
        assert!(check_appraisal(1, d("2026-01-01"), Some(d("2027-01-01"))).is_ok());
    }
}
