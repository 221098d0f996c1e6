//! The records of the shareholding register as a cadre submits them: an organisation, a
//! membership, a share class, a contribution, a payout's payment. Each draft is checked here
//! into its plain counterpart; the storage layer writes what comes out.

use chrono::NaiveDate;

use super::{CollectiveKind, HoldingPolicy, MembershipBasis, ShareClassKind, Shares, WHOLE_BP};
use crate::domain::code_enum;
use crate::domain::parties::{CreditCode, CreditCodeError, PartyKind, parse_credit_code};
use crate::domain::text::{self, TextError};

code_enum! {
    /// How the amount for holders is divided between share classes (分配方式): a setting of the
    /// organisation, since practice varies between villages.
    pub enum DividendSplit {
        /// Every share of every class earns the same (按股分红).
        PerShare = "PER_SHARE",
        /// Each class gets its fixed part (`ShareClass.weightBp`), then its holdings share it
        /// by shares (按股种比例分配).
        ByClassWeight = "BY_CLASS_WEIGHT",
    }
}

code_enum! {
    /// How holdings are managed over time (股权管理方式).
    pub enum HoldingPolicyKind {
        /// Static (静态管理, "增人不增、减人不减"): fixed at quantification.
        Static = "STATIC",
        /// Adjusted to the membership every N years (动态调整).
        Adjusted = "ADJUSTED",
    }
}

code_enum! {
    /// What was turned into shares (入股资产类型).
    pub enum ContributionKind {
        /// An idle farmhouse or homestead (闲置农房/宅基地), through its EQUITY_CONTRIBUTION
        /// revitalization.
        IdleAsset = "IDLE_ASSET",
        /// A land management right (土地经营权) or another property right.
        LandRight = "LAND_RIGHT",
        /// Funds (资金变股金): fiscal, collective or members' money made into shares.
        Funds = "FUNDS",
    }
}

code_enum! {
    /// Where contributed funds came from (资金来源).
    pub enum FundSource {
        /// Fiscal funds (财政资金), e.g. development or relief funds quantified as shares.
        Fiscal = "FISCAL",
        /// The collective's own funds (集体资金).
        Collective = "COLLECTIVE",
        /// Members' own money (成员自有资金).
        Member = "MEMBER",
        /// Social capital (社会资本).
        Social = "SOCIAL",
    }
}

code_enum! {
    /// How a payout was paid (发放方式).
    pub enum PayoutMethod {
        /// To the household's bank account (银行转账).
        BankTransfer = "BANK_TRANSFER",
        /// Through the subsidy card (惠农"一卡通").
        SubsidyCard = "SUBSIDY_CARD",
        /// In cash, against a signature (现金).
        Cash = "CASH",
    }
}

impl CollectiveKind {
    /// The party kind an organisation of this kind is registered as.
    pub fn party_kind(self) -> PartyKind {
        match self {
            Self::StockEconomicCooperative | Self::EconomicCooperative => PartyKind::Collective,
            Self::ProfessionalCooperative => PartyKind::Cooperative,
            Self::Enterprise => PartyKind::Enterprise,
        }
    }

    /// Whether this is the village's collective economic organisation (村集体经济组织), of
    /// which a village has one and whose members are the village's households.
    pub fn is_village_collective(self) -> bool {
        matches!(
            self,
            Self::StockEconomicCooperative | Self::EconomicCooperative
        )
    }
}

/// Why a record of the register was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    CreditCode(#[from] CreditCodeError),
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("{field} {date} is in the future")]
    FutureDate {
        field: &'static str,
        date: NaiveDate,
    },
    #[error(
        "the reform was completed on {completed}, before the organisation was registered on {registered}"
    )]
    ReformBeforeRegistration {
        completed: NaiveDate,
        registered: NaiveDate,
    },
    #[error("{field} is in basis points, 0 to 10000, got {value}")]
    BasisPoints { field: &'static str, value: i32 },
    #[error("an ADJUSTED holding policy needs `adjustEveryYears`; a STATIC one takes none")]
    PolicyInterval,
    #[error(transparent)]
    Shares(#[from] super::SharesError),
    #[error("a class issues zero or more shares, got {0}")]
    IssuedNegative(Shares),
    #[error("an appraised value is not negative, got {0} fen")]
    NegativeValue(i64),
    #[error("{0}")]
    ContributionShape(&'static str),
}

/// An organisation as submitted.
#[derive(Debug, Clone)]
pub struct OrganizationDraft {
    pub name: String,
    pub credit_code: String,
    pub kind: CollectiveKind,
    pub registered_on: NaiveDate,
    pub reform_completed_on: Option<NaiveDate>,
    pub holding_policy: HoldingPolicyKind,
    pub adjust_every_years: Option<i32>,
    pub reserve_bp: i32,
    pub dividend_split: DividendSplit,
}

/// An organisation, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrganization {
    pub name: String,
    pub credit_code: CreditCode,
    pub kind: CollectiveKind,
    pub registered_on: NaiveDate,
    pub reform_completed_on: Option<NaiveDate>,
    pub policy: HoldingPolicy,
    pub reserve_bp: u32,
    pub dividend_split: DividendSplit,
}

impl OrganizationDraft {
    pub fn validate(self, today: NaiveDate) -> Result<NewOrganization, RecordError> {
        let name = text::required("name", &self.name, 100)?;
        let credit_code = parse_credit_code(&self.credit_code)?;
        not_future("registeredOn", self.registered_on, today)?;
        if let Some(completed) = self.reform_completed_on {
            not_future("reformCompletedOn", completed, today)?;
            if completed < self.registered_on {
                return Err(RecordError::ReformBeforeRegistration {
                    completed,
                    registered: self.registered_on,
                });
            }
        }
        let policy = match (self.holding_policy, self.adjust_every_years) {
            (HoldingPolicyKind::Static, None) => HoldingPolicy::Static,
            (HoldingPolicyKind::Adjusted, Some(years)) => HoldingPolicy::adjusted(years)?,
            _ => return Err(RecordError::PolicyInterval),
        };
        Ok(NewOrganization {
            name,
            credit_code,
            kind: self.kind,
            registered_on: self.registered_on,
            reform_completed_on: self.reform_completed_on,
            policy,
            reserve_bp: basis_points("reserveBp", self.reserve_bp)?,
            dividend_split: self.dividend_split,
        })
    }
}

/// A date that has happened.
pub fn not_future(
    field: &'static str,
    date: NaiveDate,
    today: NaiveDate,
) -> Result<(), RecordError> {
    if date > today {
        return Err(RecordError::FutureDate { field, date });
    }
    Ok(())
}

/// Basis points, 0 to 10000.
pub fn basis_points(field: &'static str, value: i32) -> Result<u32, RecordError> {
    u32::try_from(value)
        .ok()
        .filter(|bp| *bp <= WHOLE_BP)
        .ok_or(RecordError::BasisPoints { field, value })
}

/// A membership as submitted.
#[derive(Debug, Clone)]
pub struct MemberDraft {
    pub basis: MembershipBasis,
    pub joined_on: NaiveDate,
    pub document: Option<String>,
}

/// A membership, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember {
    pub basis: MembershipBasis,
    pub joined_on: NaiveDate,
    /// The source document (认定依据), e.g. the members' assembly resolution.
    pub document: Option<String>,
}

impl MemberDraft {
    pub fn validate(self, today: NaiveDate) -> Result<NewMember, RecordError> {
        not_future("joinedOn", self.joined_on, today)?;
        Ok(NewMember {
            basis: self.basis,
            joined_on: self.joined_on,
            document: text::optional("document", self.document.as_deref(), 200)?,
        })
    }
}

/// A share class as submitted.
#[derive(Debug, Clone)]
pub struct ShareClassDraft {
    pub kind: ShareClassKind,
    pub name: String,
    pub issued: String,
    pub weight_bp: Option<i32>,
}

/// A share class, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewShareClass {
    pub kind: ShareClassKind,
    pub name: String,
    pub issued: Shares,
    pub weight_bp: Option<u32>,
}

impl ShareClassDraft {
    pub fn validate(self) -> Result<NewShareClass, RecordError> {
        let issued = Shares::parse(&self.issued)?;
        // Zero suits resource and fund shares, issued as contributions come in.
        if issued.hundredths() < 0 {
            return Err(RecordError::IssuedNegative(issued));
        }
        Ok(NewShareClass {
            kind: self.kind,
            name: text::required("name", &self.name, 60)?,
            issued,
            weight_bp: self
                .weight_bp
                .map(|w| basis_points("weightBp", w))
                .transpose()?,
        })
    }
}

/// What a contribution turned into shares, as submitted: exactly the parts its kind needs.
#[derive(Debug, Clone)]
pub struct ContributionDraft {
    pub kind: ContributionKind,
    pub has_revitalization: bool,
    pub has_asset: bool,
    pub has_right: bool,
    pub fund_source: Option<FundSource>,
    pub description: Option<String>,
    pub appraised_value_fen: i64,
    pub contributed_on: NaiveDate,
}

/// A contribution's own facts, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContribution {
    pub kind: ContributionKind,
    pub fund_source: Option<FundSource>,
    pub description: Option<String>,
    pub appraised_value_fen: i64,
    pub contributed_on: NaiveDate,
}

impl ContributionDraft {
    pub fn validate(self, today: NaiveDate) -> Result<NewContribution, RecordError> {
        let shape = match self.kind {
            ContributionKind::IdleAsset if !self.has_asset && !self.has_revitalization => Err(
                "an IDLE_ASSET contribution names its asset or its EQUITY_CONTRIBUTION revitalization",
            ),
            ContributionKind::LandRight if !self.has_right => {
                Err("a LAND_RIGHT contribution names the right (`rightId`)")
            }
            ContributionKind::Funds if self.fund_source.is_none() => {
                Err("a FUNDS contribution says where the funds came from (`fundSource`)")
            }
            ContributionKind::Funds
                if self.has_asset || self.has_revitalization || self.has_right =>
            {
                Err("a FUNDS contribution names no asset, revitalization or right")
            }
            ContributionKind::IdleAsset | ContributionKind::LandRight
                if self.fund_source.is_some() =>
            {
                Err("only a FUNDS contribution has a `fundSource`")
            }
            _ => Ok(()),
        };
        shape.map_err(RecordError::ContributionShape)?;
        if self.appraised_value_fen < 0 {
            return Err(RecordError::NegativeValue(self.appraised_value_fen));
        }
        not_future("contributedOn", self.contributed_on, today)?;
        Ok(NewContribution {
            kind: self.kind,
            fund_source: self.fund_source,
            description: text::optional("description", self.description.as_deref(), 500)?,
            appraised_value_fen: self.appraised_value_fen,
            contributed_on: self.contributed_on,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn organization() -> OrganizationDraft {
        OrganizationDraft {
            name: "白家村股份经济合作社".into(),
            // A made-up code of a collective (registered by agriculture: N2) with its check character.
            credit_code: "N2360102MF0000010G".into(),
            kind: CollectiveKind::StockEconomicCooperative,
            registered_on: day(2019, 6, 1),
            reform_completed_on: Some(day(2020, 1, 15)),
            holding_policy: HoldingPolicyKind::Static,
            adjust_every_years: None,
            reserve_bp: 2000,
            dividend_split: DividendSplit::PerShare,
        }
    }

    #[test]
    fn an_organisation_is_checked_whole() {
        let today = day(2026, 12, 7);
        let credit = parse_credit_code(&organization().credit_code);
        let Ok(_) = credit else {
            // The example code must pass, or every other case below tests the wrong thing.
            panic!("the example credit code is refused: {credit:?}");
        };
        let ok = organization().validate(today).expect("valid organisation");
        assert_eq!((ok.policy, ok.reserve_bp), (HoldingPolicy::Static, 2000));
        let cases: Vec<(OrganizationDraft, &str)> = vec![
            (
                OrganizationDraft {
                    credit_code: "N2360102MF0000010A".into(),
                    ..organization()
                },
                "check character",
            ),
            (
                OrganizationDraft {
                    registered_on: day(2027, 1, 1),
                    ..organization()
                },
                "in the future",
            ),
            (
                OrganizationDraft {
                    reform_completed_on: Some(day(2019, 1, 1)),
                    ..organization()
                },
                "before the organisation was registered",
            ),
            (
                OrganizationDraft {
                    holding_policy: HoldingPolicyKind::Adjusted,
                    ..organization()
                },
                "adjustEveryYears",
            ),
            (
                OrganizationDraft {
                    adjust_every_years: Some(5),
                    ..organization()
                },
                "adjustEveryYears",
            ),
            (
                OrganizationDraft {
                    reserve_bp: 10_001,
                    ..organization()
                },
                "basis points",
            ),
            (
                OrganizationDraft {
                    name: "  ".into(),
                    ..organization()
                },
                "name",
            ),
        ];
        for (draft, why) in cases {
            let err = draft.validate(today).expect_err(why).to_string();
            assert!(err.contains(why), "{why}: {err}");
        }
        let adjusted = OrganizationDraft {
            holding_policy: HoldingPolicyKind::Adjusted,
            adjust_every_years: Some(5),
            ..organization()
        };
        assert_eq!(
            adjusted.validate(today).expect("adjusted").policy,
            HoldingPolicy::Adjusted { every_years: 5 }
        );
    }

    #[test]
    fn organisations_are_parties_of_their_kind() {
        assert_eq!(
            CollectiveKind::StockEconomicCooperative.party_kind(),
            PartyKind::Collective
        );
        assert_eq!(
            CollectiveKind::ProfessionalCooperative.party_kind(),
            PartyKind::Cooperative
        );
        assert!(CollectiveKind::EconomicCooperative.is_village_collective());
        assert!(!CollectiveKind::Enterprise.is_village_collective());
    }

    #[test]
    fn a_contribution_names_exactly_what_its_kind_needs() {
        let today = day(2026, 12, 7);
        let draft = |kind, asset, right, source| ContributionDraft {
            kind,
            has_revitalization: false,
            has_asset: asset,
            has_right: right,
            fund_source: source,
            description: None,
            appraised_value_fen: 1_000_000,
            contributed_on: day(2021, 3, 1),
        };
        use ContributionKind::*;
        assert!(draft(IdleAsset, true, false, None).validate(today).is_ok());
        assert!(draft(LandRight, false, true, None).validate(today).is_ok());
        assert!(
            draft(Funds, false, false, Some(FundSource::Fiscal))
                .validate(today)
                .is_ok()
        );
        for (d, why) in [
            (draft(IdleAsset, false, false, None), "names its asset"),
            (draft(LandRight, false, false, None), "names the right"),
            (draft(Funds, false, false, None), "came from"),
            (
                draft(Funds, true, false, Some(FundSource::Fiscal)),
                "names no asset",
            ),
            (
                draft(IdleAsset, true, false, Some(FundSource::Fiscal)),
                "only a FUNDS",
            ),
        ] {
            let err = d.validate(today).expect_err(why).to_string();
            assert!(err.contains(why), "{why}: {err}");
        }
        let negative = ContributionDraft {
            appraised_value_fen: -1,
            ..draft(IdleAsset, true, false, None)
        };
        assert!(negative.validate(today).is_err());
    }

    #[test]
    fn a_class_issues_zero_or_more_shares_and_weighs_at_most_the_whole() {
        let class = |issued: &str, weight| ShareClassDraft {
            kind: ShareClassKind::Population,
            name: "人口股".into(),
            issued: issued.into(),
            weight_bp: weight,
        };
        let ok = class("1200.50", Some(7000)).validate().expect("valid");
        assert_eq!(
            (ok.issued.to_string(), ok.weight_bp),
            ("1200.50".into(), Some(7000))
        );
        assert_eq!(
            class("0", None).validate().expect("zero is allowed").issued,
            Shares::ZERO
        );
        assert!(matches!(
            class("-1", None).validate(),
            Err(RecordError::IssuedNegative(_))
        ));
        assert!(class("12.345", None).validate().is_err());
        assert!(class("12", Some(-1)).validate().is_err());
    }
}
