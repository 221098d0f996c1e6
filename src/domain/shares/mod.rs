//! Shareholdings under the "three changes" (三变: 资源变资产、资金变股金、农民变股东) and the
//! collective shareholding reform (农村集体产权制度改革): who holds how many shares of which class
//! in a collective economic organisation, how a change of holdings is checked, and how a year's
//! income is distributed (收益分配) to the holdings, to the fen.
//!
//! Plain types and functions over plain inputs: the storage and API layers load the records,
//! call these rules and write what they return.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use super::code_enum;

mod records;
pub use records::*;

/// A party's id, as the parties table keys it.
pub type PartyId = i64;
/// A holding's id (one row of a member's or the organisation's shares of one class).
pub type HoldingId = i64;
/// A share class's id, within one organisation.
pub type ClassId = i64;

code_enum! {
    /// Kind of organisation that issues the shares (股份发行主体类型).
    pub enum CollectiveKind {
        /// A stock economic cooperative (股份经济合作社), the reformed village collective.
        StockEconomicCooperative = "STOCK_ECONOMIC_COOPERATIVE",
        /// An economic cooperative (经济合作社), a collective not (yet) reformed into shares.
        EconomicCooperative = "ECONOMIC_COOPERATIVE",
        /// A farmers' professional cooperative (农民专业合作社).
        ProfessionalCooperative = "PROFESSIONAL_COOPERATIVE",
        /// An enterprise (企业) the collective or farmers have put resources or funds into.
        Enterprise = "ENTERPRISE",
    }
}

code_enum! {
    /// How a person became a member of the collective (成员身份取得方式).
    pub enum MembershipBasis {
        /// Original acquisition (原始取得): a member when the collective's members were confirmed.
        Original = "ORIGINAL",
        /// Statutory acquisition (法定取得): by birth, marriage or adoption into a member family.
        Statutory = "STATUTORY",
        /// Acquisition by application (申请取得), admitted by the members' assembly.
        Application = "APPLICATION",
    }
}

code_enum! {
    /// Class of share (股份类别), as the reform plan sets them up.
    pub enum ShareClassKind {
        /// Population shares (人口股), one allotment per confirmed member.
        Population = "POPULATION",
        /// Labour-age shares (劳龄股), by years of work for the collective.
        LabourAge = "LABOUR_AGE",
        /// Resource shares (资源股): land, forest or water contributed as equity (资源变资产).
        Resource = "RESOURCE",
        /// Fund shares (资金股): money or fiscal funds quantified as equity (资金变股金).
        Fund = "FUND",
        /// Collective shares (集体股), held by the organisation itself.
        Collective = "COLLECTIVE",
    }
}

code_enum! {
    /// Kind of change to the holdings (股权变更类型).
    pub enum ShareChangeKind {
        /// First issue of shares, at quantification (股权量化).
        Issue = "ISSUE",
        /// Shares for a contribution of resources or funds (入股), to the contributor.
        Contribution = "CONTRIBUTION",
        /// Inheritance (继承) of a deceased holder's shares.
        Inheritance = "INHERITANCE",
        /// Transfer (转让) between members, as the articles allow.
        Transfer = "TRANSFER",
        /// Periodic adjustment (调整) of holdings, only under an adjusted holding policy.
        Adjustment = "ADJUSTMENT",
        /// Redemption (赎回 / 有偿退出) of shares by the organisation.
        Redemption = "REDEMPTION",
    }
}

/// Whether holdings follow the membership over time (股权管理方式).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HoldingPolicy {
    /// Static management (静态管理, "增人不增、减人不减"): holdings are fixed at quantification and
    /// change only by inheritance, transfer, contribution or redemption, never by adjustment.
    /// The 2016 reform's default, hence the default here.
    #[default]
    Static,
    /// Dynamic management (动态管理): holdings are adjusted to the membership every
    /// `every_years` years (1 to 30).
    Adjusted { every_years: u8 },
}

impl HoldingPolicy {
    /// The longest adjustment interval accepted: a generation, beyond which "adjusted" means
    /// static in practice and is more likely a typing error.
    pub const MAX_INTERVAL_YEARS: u8 = 30;

    /// An adjusted policy, refusing an interval outside 1 to 30 years.
    pub fn adjusted(every_years: i32) -> Result<Self, SharesError> {
        match u8::try_from(every_years) {
            Ok(years) if (1..=Self::MAX_INTERVAL_YEARS).contains(&years) => {
                Ok(Self::Adjusted { every_years: years })
            }
            _ => Err(SharesError::AdjustmentIntervalOutOfRange(every_years)),
        }
    }

    /// The stored code: `STATIC` or `ADJUSTED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Static => "STATIC",
            Self::Adjusted { .. } => "ADJUSTED",
        }
    }

    /// The adjustment interval, stored beside the code.
    pub fn interval_years(self) -> Option<u8> {
        match self {
            Self::Static => None,
            Self::Adjusted { every_years } => Some(every_years),
        }
    }

    /// Reads the stored code and interval back.
    pub fn from_stored(code: &str, interval_years: Option<i32>) -> Result<Self, SharesError> {
        match (code, interval_years) {
            ("STATIC", None) => Ok(Self::Static),
            ("ADJUSTED", Some(years)) => Self::adjusted(years),
            _ => Err(SharesError::HoldingPolicyFormat {
                code: code.to_owned(),
                interval_years,
            }),
        }
    }
}

/// Why a shareholding, a change of holdings or a distribution was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SharesError {
    // Share quantities and policies.
    #[error("shares are a number such as 12, 12.5 or 12.50, got {0:?}")]
    SharesFormat(String),
    #[error("shares have at most two decimal places, got {0:?}")]
    SharesPrecision(String),
    #[error("the number of shares is out of range")]
    SharesOverflow,
    #[error("holdings are adjusted every 1 to 30 years, got {0}")]
    AdjustmentIntervalOutOfRange(i32),
    #[error("{code:?} with interval {interval_years:?} is not a holding policy")]
    HoldingPolicyFormat {
        code: String,
        interval_years: Option<i32>,
    },

    // Distribution (收益分配).
    #[error("an amount to distribute must not be negative, got {fen} fen")]
    NegativeAmount { fen: i64 },
    #[error("the reserve (公积公益金) is at most 10000 basis points, got {reserve_bp}")]
    ReserveOverWhole { reserve_bp: u32 },
    #[error("class weights must sum to 10000 basis points, they sum to {sum}")]
    ClassWeightsDoNotSumToWhole { sum: u64 },
    #[error("class {class} is weighted twice in the distribution plan")]
    ClassWeightedTwice { class: ClassId },
    #[error("holding {holding} is of class {class}, which the distribution plan does not list")]
    ClassNotInPlan { holding: HoldingId, class: ClassId },
    #[error("class {class} has an amount to distribute but no holdings")]
    ClassWithoutHoldings { class: ClassId },
    #[error("there is an amount to distribute but no holdings")]
    AmountWithoutHoldings,
    #[error("holding {holding} has {shares} shares; a holding must be positive")]
    HoldingNotPositive { holding: HoldingId, shares: Shares },
    #[error("holding {holding} appears twice")]
    DuplicateHolding { holding: HoldingId },
    #[error("the distribution overflows")]
    DistributionOverflow,

    // Share changes (股权变更).
    #[error("a share change must close or open at least one holding")]
    EmptyChange,
    #[error("the change on {date} is dated before the holdings' last change on {last}")]
    ChangeBeforeLastChange { date: NaiveDate, last: NaiveDate },
    #[error("holding {holding} is not open on the change date, so it cannot be closed")]
    HoldingNotOpen { holding: HoldingId },
    #[error("holding {holding} is closed twice in one change")]
    HoldingClosedTwice { holding: HoldingId },
    #[error(
        "new holding #{index} of class {class} has {shares} shares; a holding must be positive"
    )]
    NewHoldingNotPositive {
        index: usize,
        class: ClassId,
        shares: Shares,
    },
    #[error("class {class} is not one of the organisation's share classes")]
    UnknownClass { class: ClassId },
    #[error("class {class} would total {total} shares, more than the {issued} issued")]
    ClassOverIssued {
        class: ClassId,
        total: Shares,
        issued: Shares,
    },
    #[error("party {party} is not a member on {date}, so cannot hold shares")]
    HolderNotMember { party: PartyId, date: NaiveDate },
    #[error(
        "new holding #{index} of class {class}: collective shares (集体股) are held by the \
         organisation itself, and only collective shares are"
    )]
    HolderDoesNotFitClass { index: usize, class: ClassId },
    #[error("a contribution must name its contributor")]
    ContributionWithoutContributor,
    #[error("new holding #{index} goes to someone other than the contributor, {contributor}")]
    ContributionNotToContributor { index: usize, contributor: Holder },
    #[error(
        "party {party} leaves but keeps holding {holding}; transfer or redeem it in the same change"
    )]
    LeaverKeepsHoldings { party: PartyId, holding: HoldingId },
    #[error("party {party} leaves in this change, so new holding #{index} cannot go to them")]
    LeaverReceivesShares { party: PartyId, index: usize },
    #[error("{kind} moves {closed} shares of class {class} out but {opened} in; it creates none")]
    TransferNotBalanced {
        kind: ShareChangeKind,
        class: ClassId,
        closed: Shares,
        opened: Shares,
    },
    #[error("holdings are managed statically (增人不增、减人不减), so they are not adjusted")]
    AdjustmentUnderStaticPolicy,
}

// ---------------------------------------------------------------------------------------------
// Shares (股份), exact to the hundredth

/// A number of shares, exact to two decimal places, kept as hundredths so that totals and
/// comparisons are exact. Parsed from `12`, `12.5` or `12.50`; shown as `12.50`. It may be zero
/// or negative as a value; a holding refuses both (see [`check_change`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Shares(i64);

impl Shares {
    pub const ZERO: Shares = Shares(0);

    /// From hundredths of a share, as stored.
    pub const fn from_hundredths(hundredths: i64) -> Self {
        Self(hundredths)
    }

    /// From a whole number of shares (a GraphQL `Int`).
    pub fn from_whole(shares: i64) -> Result<Self, SharesError> {
        shares
            .checked_mul(100)
            .map(Self)
            .ok_or(SharesError::SharesOverflow)
    }

    /// Hundredths of a share, as stored.
    pub const fn hundredths(self) -> i64 {
        self.0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).map(Self)
    }

    /// Parses `12`, `12.5`, `12.50` or `-3` (trimmed). More than two decimal places is refused
    /// rather than rounded: a certificate's number of shares is exact.
    pub fn parse(text: &str) -> Result<Self, SharesError> {
        let trimmed = text.trim();
        let format = || SharesError::SharesFormat(text.to_owned());
        let (negative, unsigned) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || (unsigned.contains('.') && !digits(fraction)) {
            return Err(format());
        }
        if fraction.len() > 2 {
            return Err(SharesError::SharesPrecision(text.to_owned()));
        }
        let whole: i64 = whole.parse().map_err(|_| SharesError::SharesOverflow)?;
        // "5" after the point is 50 hundredths, "05" is 5.
        let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| format())?;
        let hundredths = whole
            .checked_mul(100)
            .and_then(|h| h.checked_add(fraction))
            .ok_or(SharesError::SharesOverflow)?;
        Ok(Self(if negative { -hundredths } else { hundredths }))
    }
}

impl fmt::Display for Shares {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl FromStr for Shares {
    type Err = SharesError;
    fn from_str(text: &str) -> Result<Self, SharesError> {
        Self::parse(text)
    }
}

// ---------------------------------------------------------------------------------------------
// Distribution (收益分配)

/// Basis points in one whole.
pub const WHOLE_BP: u32 = 10_000;

/// How the amount for holders is divided between the share classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassSplit<'a> {
    /// Every share of every class earns the same (按股分红): the holdings share the amount in
    /// proportion to their shares, in one step, and a class's amount is what its holdings get.
    PerShare,
    /// The distribution plan (分配方案) gives each class a fixed part of the amount, in basis
    /// points summing to 10 000 (e.g. 人口股 7000, 劳龄股 3000); each class's amount is then
    /// shared by its holdings in proportion to their shares. A class listed with 0 gets nothing;
    /// a holding of a class not listed is refused, so that no class is left out by mistake.
    Weights(&'a [(ClassId, u32)]),
}

/// One holding as a distribution reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DistributionHolding {
    pub holding: HoldingId,
    pub class: ClassId,
    pub shares: Shares,
}

/// What a class receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassAmount {
    pub class: ClassId,
    pub fen: i64,
}

/// What a holding receives (分红).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payout {
    pub holding: HoldingId,
    pub class: ClassId,
    pub fen: i64,
}

/// A year's distribution: the reserve kept back, the amount for holders, per class and per
/// holding. `reserve_fen + holders_fen` is the distributable amount; the class amounts and the
/// payouts each sum to `holders_fen` exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distribution {
    pub reserve_fen: i64,
    pub holders_fen: i64,
    /// By class id.
    pub classes: Vec<ClassAmount>,
    /// By holding id.
    pub payouts: Vec<Payout>,
}

/// Distributes a year's distributable income (可分配收益) to the holdings, in fen.
///
/// First the reserve (公积公益金) is kept back: `reserve_bp` basis points of the distributable
/// amount, rounded down, so the odd fen goes to the holders. The rest is the amount for holders,
/// divided between the classes as `split` says, then within each class in proportion to shares.
///
/// Rounding is the largest remainder method (Hamilton): each payout is the floor of its exact
/// share, and the fen left over go one each to the largest fractional remainders, ties broken by
/// holding id ascending (by class id ascending when dividing between classes), so the result is
/// deterministic and sums exactly. Each payout lies within 1 fen of its exact share of its
/// class's amount (with [`ClassSplit::PerShare`], of the amount for holders). All arithmetic is
/// in integers (i128), never floats.
///
/// Refused: a negative amount, a reserve over 100%, weights not summing to 100% or naming a class
/// twice, a holding of a class the weights do not list, a class (or, per share, the whole
/// distribution) with an amount but no shares, a holding id given twice, a holding that is not
/// positive, and overflow (which i64 inputs cannot reach: an amount times a holding fits in
/// i128; the error guards the conversions back).
pub fn distribute(
    distributable_fen: i64,
    reserve_bp: u32,
    split: ClassSplit<'_>,
    holdings: &[DistributionHolding],
) -> Result<Distribution, SharesError> {
    if distributable_fen < 0 {
        return Err(SharesError::NegativeAmount {
            fen: distributable_fen,
        });
    }
    if reserve_bp > WHOLE_BP {
        return Err(SharesError::ReserveOverWhole { reserve_bp });
    }
    let reserve = i128::from(distributable_fen) * i128::from(reserve_bp) / i128::from(WHOLE_BP);
    let reserve_fen = i64::try_from(reserve).map_err(|_| SharesError::DistributionOverflow)?;
    let holders_fen = distributable_fen - reserve_fen;

    let mut sorted = holdings.to_vec();
    sorted.sort_by_key(|h| h.holding);
    for pair in sorted.windows(2) {
        if pair[0].holding == pair[1].holding {
            return Err(SharesError::DuplicateHolding {
                holding: pair[0].holding,
            });
        }
    }
    if let Some(h) = sorted.iter().find(|h| !h.shares.is_positive()) {
        return Err(SharesError::HoldingNotPositive {
            holding: h.holding,
            shares: h.shares,
        });
    }

    let payouts: Vec<Payout> = match split {
        ClassSplit::PerShare => {
            let weights: Vec<(i64, i128)> = sorted
                .iter()
                .map(|h| (h.holding, i128::from(h.shares.hundredths())))
                .collect();
            if holders_fen > 0 && weights.is_empty() {
                return Err(SharesError::AmountWithoutHoldings);
            }
            let fen = largest_remainder(holders_fen, &weights)?;
            sorted
                .iter()
                .zip(fen)
                .map(|(h, fen)| Payout {
                    holding: h.holding,
                    class: h.class,
                    fen,
                })
                .collect()
        }
        ClassSplit::Weights(plan) => {
            let mut by_class: BTreeMap<ClassId, u32> = BTreeMap::new();
            let mut sum: u64 = 0;
            for &(class, bp) in plan {
                if by_class.insert(class, bp).is_some() {
                    return Err(SharesError::ClassWeightedTwice { class });
                }
                sum += u64::from(bp);
            }
            if sum != u64::from(WHOLE_BP) {
                return Err(SharesError::ClassWeightsDoNotSumToWhole { sum });
            }
            if let Some(h) = sorted.iter().find(|h| !by_class.contains_key(&h.class)) {
                return Err(SharesError::ClassNotInPlan {
                    holding: h.holding,
                    class: h.class,
                });
            }
            let class_weights: Vec<(i64, i128)> = by_class
                .iter()
                .map(|(&class, &bp)| (class, i128::from(bp)))
                .collect();
            let class_fen = largest_remainder(holders_fen, &class_weights)?;
            let mut payouts = Vec::with_capacity(sorted.len());
            for (&class, fen) in by_class.keys().zip(class_fen) {
                let members: Vec<&DistributionHolding> =
                    sorted.iter().filter(|h| h.class == class).collect();
                if fen > 0 && members.is_empty() {
                    return Err(SharesError::ClassWithoutHoldings { class });
                }
                let weights: Vec<(i64, i128)> = members
                    .iter()
                    .map(|h| (h.holding, i128::from(h.shares.hundredths())))
                    .collect();
                let shares = largest_remainder(fen, &weights)?;
                payouts.extend(members.iter().zip(shares).map(|(h, fen)| Payout {
                    holding: h.holding,
                    class,
                    fen,
                }));
            }
            payouts.sort_by_key(|p| p.holding);
            payouts
        }
    };

    let mut class_totals: BTreeMap<ClassId, i64> = BTreeMap::new();
    if let ClassSplit::Weights(plan) = split {
        // A class weighted at 0, or without holdings, still shows its (zero) amount.
        for &(class, _) in plan {
            class_totals.insert(class, 0);
        }
    }
    for p in &payouts {
        let total = class_totals.entry(p.class).or_insert(0);
        *total = total
            .checked_add(p.fen)
            .ok_or(SharesError::DistributionOverflow)?;
    }
    Ok(Distribution {
        reserve_fen,
        holders_fen,
        classes: class_totals
            .into_iter()
            .map(|(class, fen)| ClassAmount { class, fen })
            .collect(),
        payouts,
    })
}

/// Divides `total` (≥ 0) in proportion to the weights (≥ 0) by the largest remainder method:
/// each part is the floor of `total · w / Σw`, and the units left over go one each to the
/// largest remainders, ties to the smaller key. The parts come back in the order given.
fn largest_remainder(total: i64, weights: &[(i64, i128)]) -> Result<Vec<i64>, SharesError> {
    let sum = weights
        .iter()
        .try_fold(0i128, |acc, &(_, w)| acc.checked_add(w))
        .ok_or(SharesError::DistributionOverflow)?;
    if sum == 0 {
        // Nothing to weigh by: only nothing can be shared out, or money would vanish.
        return if total == 0 {
            Ok(vec![0; weights.len()])
        } else {
            Err(SharesError::AmountWithoutHoldings)
        };
    }
    let total_wide = i128::from(total);
    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given: i128 = 0;
    for (index, &(key, weight)) in weights.iter().enumerate() {
        let exact = total_wide
            .checked_mul(weight)
            .ok_or(SharesError::DistributionOverflow)?;
        let floor = exact / sum;
        given += floor;
        parts.push(floor);
        remainders.push((exact % sum, key, index));
    }
    // Fewer units are left than there are parts, since each floor loses less than one.
    let left =
        usize::try_from(total_wide - given).map_err(|_| SharesError::DistributionOverflow)?;
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, _, index) in remainders.iter().take(left) {
        parts[index] += 1;
    }
    parts
        .into_iter()
        .map(|p| i64::try_from(p).map_err(|_| SharesError::DistributionOverflow))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Share changes (股权变更)

/// Who holds a holding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Holder {
    /// A member of the collective, by party id.
    Member(PartyId),
    /// The organisation itself: collective shares (集体股).
    Organisation,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Member(party) => write!(f, "party {party}"),
            Self::Organisation => f.write_str("the organisation itself"),
        }
    }
}

/// A share class of the organisation, with the number of shares issued for it (总股本 of the
/// class), which its holdings never exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareClass {
    pub id: ClassId,
    pub kind: ShareClassKind,
    pub issued: Shares,
}

/// A holding (持股), open from `valid_from` until `valid_to` (exclusive; `None` while open). A
/// change never edits a holding: it closes it and opens new ones, so the history stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holding {
    pub id: HoldingId,
    pub holder: Holder,
    pub class: ClassId,
    pub shares: Shares,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

impl Holding {
    fn is_open_on(&self, date: NaiveDate) -> bool {
        self.valid_from <= date && self.valid_to.is_none_or(|to| date < to)
    }
}

/// A membership (成员资格) of a party, from `joined` until `left` (exclusive; `None` while a
/// member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    pub party: PartyId,
    pub joined: NaiveDate,
    pub left: Option<NaiveDate>,
}

impl Membership {
    fn covers(&self, date: NaiveDate) -> bool {
        self.joined <= date && self.left.is_none_or(|left| date < left)
    }
}

/// A holding a change opens; it is valid from the change's date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewHolding {
    pub holder: Holder,
    pub class: ClassId,
    pub shares: Shares,
}

/// A change of holdings as submitted: on `date`, close these holdings and open those.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareChange {
    pub kind: ShareChangeKind,
    pub date: NaiveDate,
    pub closes: Vec<HoldingId>,
    pub opens: Vec<NewHolding>,
    /// For a [`ShareChangeKind::Contribution`]: who contributed the resources or funds — a
    /// member, or the organisation itself (fiscal funds held as collective shares).
    pub contributor: Option<Holder>,
    /// Members whose membership ends with this change (退出, 死亡, 迁出): their membership is
    /// closed on `date` in the same transaction, and they must hold nothing afterwards.
    pub leavers: Vec<PartyId>,
}

/// What an organisation's holdings are checked against: its policy, classes, holdings (all of
/// them, open and closed) and its members' memberships.
#[derive(Debug, Clone, Copy)]
pub struct Register<'a> {
    pub policy: HoldingPolicy,
    pub classes: &'a [ShareClass],
    pub holdings: &'a [Holding],
    pub memberships: &'a [Membership],
}

/// A change that passed every rule, with each class's total after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedChange {
    pub change: ShareChange,
    /// Each class's total after the change, by class id.
    pub class_totals: Vec<(ClassId, Shares)>,
}

/// Checks a change of holdings against the register.
///
/// The rules, each refused with its own [`SharesError`]:
/// - the change does something, is dated no earlier than the register's last change, and closes
///   only holdings open on its date, each once;
/// - every new holding is positive, of a known class, and fits it: collective shares are held by
///   the organisation and the organisation holds nothing else;
/// - no class totals more than was issued for it;
/// - every new holding's member holder is a member on the change date;
/// - a contribution names its contributor, and its new holdings all go to them;
/// - a transfer or an inheritance moves shares, class by class, and creates none;
/// - an adjustment is refused under static management (增人不增、减人不减);
/// - a member who leaves holds nothing after the change: all their holdings are transferred or
///   redeemed in the same change.
pub fn check_change(
    register: &Register<'_>,
    change: ShareChange,
) -> Result<CheckedChange, SharesError> {
    let date = change.date;
    if change.closes.is_empty() && change.opens.is_empty() {
        return Err(SharesError::EmptyChange);
    }
    if change.kind == ShareChangeKind::Adjustment && register.policy == HoldingPolicy::Static {
        return Err(SharesError::AdjustmentUnderStaticPolicy);
    }
    // Changes are appended in date order, so that a class total checked today is not broken by
    // a holding that a later-dated change already opened.
    let last = register
        .holdings
        .iter()
        .flat_map(|h| std::iter::once(h.valid_from).chain(h.valid_to))
        .max();
    if let Some(last) = last
        && date < last
    {
        return Err(SharesError::ChangeBeforeLastChange { date, last });
    }

    let mut closed: BTreeSet<HoldingId> = BTreeSet::new();
    for &id in &change.closes {
        if !register
            .holdings
            .iter()
            .any(|h| h.id == id && h.is_open_on(date))
        {
            return Err(SharesError::HoldingNotOpen { holding: id });
        }
        if !closed.insert(id) {
            return Err(SharesError::HoldingClosedTwice { holding: id });
        }
    }

    for (index, new) in change.opens.iter().enumerate() {
        if !new.shares.is_positive() {
            return Err(SharesError::NewHoldingNotPositive {
                index,
                class: new.class,
                shares: new.shares,
            });
        }
        let class = register
            .classes
            .iter()
            .find(|c| c.id == new.class)
            .ok_or(SharesError::UnknownClass { class: new.class })?;
        let collective = class.kind == ShareClassKind::Collective;
        match new.holder {
            Holder::Organisation if collective => {}
            Holder::Member(party) if !collective => {
                if !register
                    .memberships
                    .iter()
                    .any(|m| m.party == party && m.covers(date))
                {
                    return Err(SharesError::HolderNotMember { party, date });
                }
            }
            _ => {
                return Err(SharesError::HolderDoesNotFitClass {
                    index,
                    class: new.class,
                });
            }
        }
    }

    if change.kind == ShareChangeKind::Contribution {
        let contributor = change
            .contributor
            .ok_or(SharesError::ContributionWithoutContributor)?;
        if let Some(index) = change.opens.iter().position(|n| n.holder != contributor) {
            return Err(SharesError::ContributionNotToContributor { index, contributor });
        }
    }

    // The holdings open after the change: those open on the date and not closed, plus the new.
    let remaining: Vec<&Holding> = register
        .holdings
        .iter()
        .filter(|h| h.is_open_on(date) && !closed.contains(&h.id))
        .collect();

    if matches!(
        change.kind,
        ShareChangeKind::Transfer | ShareChangeKind::Inheritance
    ) {
        let classes: BTreeSet<ClassId> = register
            .holdings
            .iter()
            .filter(|h| closed.contains(&h.id))
            .map(|h| h.class)
            .chain(change.opens.iter().map(|n| n.class))
            .collect();
        for class in classes {
            let out = total(
                register
                    .holdings
                    .iter()
                    .filter(|h| closed.contains(&h.id) && h.class == class)
                    .map(|h| h.shares),
            )?;
            let into = total(
                change
                    .opens
                    .iter()
                    .filter(|n| n.class == class)
                    .map(|n| n.shares),
            )?;
            if out != into {
                return Err(SharesError::TransferNotBalanced {
                    kind: change.kind,
                    class,
                    closed: out,
                    opened: into,
                });
            }
        }
    }

    let mut class_totals = Vec::with_capacity(register.classes.len());
    let mut classes: Vec<&ShareClass> = register.classes.iter().collect();
    classes.sort_by_key(|c| c.id);
    for class in classes {
        let sum = total(
            remaining
                .iter()
                .filter(|h| h.class == class.id)
                .map(|h| h.shares)
                .chain(
                    change
                        .opens
                        .iter()
                        .filter(|n| n.class == class.id)
                        .map(|n| n.shares),
                ),
        )?;
        if sum > class.issued {
            return Err(SharesError::ClassOverIssued {
                class: class.id,
                total: sum,
                issued: class.issued,
            });
        }
        class_totals.push((class.id, sum));
    }

    for &party in &change.leavers {
        let holder = Holder::Member(party);
        if let Some(kept) = remaining.iter().find(|h| h.holder == holder) {
            return Err(SharesError::LeaverKeepsHoldings {
                party,
                holding: kept.id,
            });
        }
        if let Some(index) = change.opens.iter().position(|n| n.holder == holder) {
            return Err(SharesError::LeaverReceivesShares { party, index });
        }
    }

    Ok(CheckedChange {
        change,
        class_totals,
    })
}

/// The sum of some shares, refusing overflow.
fn total(mut shares: impl Iterator<Item = Shares>) -> Result<Shares, SharesError> {
    shares.try_fold(Shares::ZERO, |acc, s| {
        acc.checked_add(s).ok_or(SharesError::SharesOverflow)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn shares(text: &str) -> Shares {
        Shares::parse(text).expect("valid shares")
    }

    #[test]
    fn codes_read_back() {
        for kind in CollectiveKind::ALL {
            assert_eq!(CollectiveKind::parse(kind.as_str()), Ok(*kind));
        }
        for basis in MembershipBasis::ALL {
            assert_eq!(MembershipBasis::parse(basis.as_str()), Ok(*basis));
        }
        for kind in ShareClassKind::ALL {
            assert_eq!(ShareClassKind::parse(kind.as_str()), Ok(*kind));
        }
        for kind in ShareChangeKind::ALL {
            assert_eq!(ShareChangeKind::parse(kind.as_str()), Ok(*kind));
        }
        assert!(
            ShareClassKind::parse("population").is_err(),
            "codes are exact"
        );
    }

    #[test]
    fn holding_policy_is_static_unless_adjusted_every_1_to_30_years() {
        assert_eq!(HoldingPolicy::default(), HoldingPolicy::Static);
        let every5 = HoldingPolicy::adjusted(5).expect("5 years");
        assert_eq!(
            (every5.as_str(), every5.interval_years()),
            ("ADJUSTED", Some(5))
        );
        assert_eq!(HoldingPolicy::from_stored("ADJUSTED", Some(5)), Ok(every5));
        assert_eq!(
            HoldingPolicy::from_stored("STATIC", None),
            Ok(HoldingPolicy::Static)
        );
        for (code, years, why) in [
            ("ADJUSTED", Some(0), "no interval"),
            ("ADJUSTED", Some(31), "longer than a generation"),
            ("ADJUSTED", Some(-1), "negative"),
            ("ADJUSTED", None, "adjusted without an interval"),
            ("STATIC", Some(5), "static with an interval"),
            ("DYNAMIC", Some(5), "unknown code"),
        ] {
            assert!(HoldingPolicy::from_stored(code, years).is_err(), "{why}");
        }
    }

    #[test]
    fn shares_are_exact_to_the_hundredth() {
        for (text, hundredths, shown) in [
            ("12", 1200, "12.00"),
            ("12.5", 1250, "12.50"),
            ("12.50", 1250, "12.50"),
            ("0.05", 5, "0.05"),
            (" 3.1 ", 310, "3.10"),
            ("0", 0, "0.00"),
            ("-1.25", -125, "-1.25"),
            ("-0.05", -5, "-0.05"),
        ] {
            let parsed = Shares::parse(text).expect(text);
            assert_eq!(parsed.hundredths(), hundredths, "{text}");
            assert_eq!(parsed.to_string(), shown, "{text}");
        }
        assert_eq!(Shares::from_whole(12), Ok(shares("12")));
        assert_eq!(
            Shares::from_whole(i64::MAX),
            Err(SharesError::SharesOverflow)
        );
        for (text, why) in [
            ("", "empty"),
            ("12.", "a point without decimals"),
            (".5", "decimals without a whole part"),
            ("1,5", "a comma"),
            ("12.5.0", "two points"),
            ("+3", "a plus sign"),
            ("1e3", "an exponent"),
            ("十二", "not digits"),
            ("12.345", "three decimal places"),
            ("99999999999999999999", "too large"),
        ] {
            assert!(Shares::parse(text).is_err(), "{why}: {text:?}");
        }
        assert_eq!(
            Shares::parse("12.345"),
            Err(SharesError::SharesPrecision("12.345".into())),
            "refused, not rounded"
        );
    }

    fn holding(holding: HoldingId, class: ClassId, text: &str) -> DistributionHolding {
        DistributionHolding {
            holding,
            class,
            shares: shares(text),
        }
    }

    fn fen(d: &Distribution) -> Vec<(HoldingId, i64)> {
        d.payouts.iter().map(|p| (p.holding, p.fen)).collect()
    }

    #[test]
    fn leftover_fen_go_to_the_largest_remainders_then_the_smallest_id() {
        // 10 fen over 1 : 2 : 4 is 1.43, 2.86, 5.71: floors 1, 2, 5, and the two fen left go to
        // the remainders .86 and .71.
        let d = distribute(
            10,
            0,
            ClassSplit::PerShare,
            &[holding(3, 1, "4"), holding(1, 1, "1"), holding(2, 1, "2")],
        )
        .expect("distributes");
        assert_eq!(fen(&d), [(1, 1), (2, 3), (3, 6)]);
        // 100 fen over three equal holdings: the odd fen goes to the smallest holding id.
        let d = distribute(
            100,
            0,
            ClassSplit::PerShare,
            &[holding(9, 1, "1"), holding(4, 2, "1"), holding(7, 1, "1")],
        )
        .expect("distributes");
        assert_eq!(fen(&d), [(4, 34), (7, 33), (9, 33)]);
        assert_eq!(
            d.classes,
            [
                ClassAmount { class: 1, fen: 66 },
                ClassAmount { class: 2, fen: 34 }
            ]
        );
    }

    #[test]
    fn the_reserve_is_kept_back_rounded_down_then_classes_share_by_weight() {
        // 10% of 11 119 fen is 1 111.9: 1 111 kept, 10 008 for holders, 70/30 by class.
        let plan = [(1, 7000), (2, 3000), (3, 0)];
        let d = distribute(
            11_119,
            1000,
            ClassSplit::Weights(&plan),
            &[
                holding(10, 1, "1"),
                holding(11, 1, "2"),
                holding(12, 2, "0.5"),
                holding(13, 3, "30"),
            ],
        )
        .expect("distributes");
        assert_eq!((d.reserve_fen, d.holders_fen), (1_111, 10_008));
        // 7005.6 and 3002.4: the fen left goes to class 1's larger remainder.
        assert_eq!(
            d.classes,
            [
                ClassAmount {
                    class: 1,
                    fen: 7006
                },
                ClassAmount {
                    class: 2,
                    fen: 3002
                },
                ClassAmount { class: 3, fen: 0 },
            ]
        );
        // 7006 over 1 : 2 is 2335.33 and 4670.67.
        assert_eq!(fen(&d), [(10, 2335), (11, 4671), (12, 3002), (13, 0)]);
        let all_reserve = distribute(500, WHOLE_BP, ClassSplit::PerShare, &[holding(1, 1, "1")]);
        assert_eq!(
            all_reserve.map(|d| (d.reserve_fen, fen(&d))),
            Ok((500, vec![(1, 0)]))
        );
        let nothing = distribute(0, 0, ClassSplit::PerShare, &[]);
        assert_eq!(nothing.map(|d| d.payouts.len()), Ok(0), "nothing to nobody");
    }

    #[test]
    fn bad_distributions_are_refused_with_their_reason() {
        use SharesError::*;
        let one = [holding(1, 1, "1")];
        let two_classes = [holding(1, 1, "1"), holding(2, 2, "1")];
        let cases: Vec<(Result<Distribution, SharesError>, SharesError, &str)> = vec![
            (
                distribute(-1, 0, ClassSplit::PerShare, &one),
                NegativeAmount { fen: -1 },
                "negative amount",
            ),
            (
                distribute(100, 10_001, ClassSplit::PerShare, &one),
                ReserveOverWhole { reserve_bp: 10_001 },
                "reserve over 100%",
            ),
            (
                distribute(100, 0, ClassSplit::PerShare, &[]),
                AmountWithoutHoldings,
                "money and no one to pay",
            ),
            (
                distribute(
                    100,
                    0,
                    ClassSplit::Weights(&[(1, 5000), (2, 4000)]),
                    &two_classes,
                ),
                ClassWeightsDoNotSumToWhole { sum: 9000 },
                "weights short of 100%",
            ),
            (
                distribute(100, 0, ClassSplit::Weights(&[(1, 5000), (1, 5000)]), &one),
                ClassWeightedTwice { class: 1 },
                "a class weighted twice",
            ),
            (
                distribute(100, 0, ClassSplit::Weights(&[(1, 10_000)]), &two_classes),
                ClassNotInPlan {
                    holding: 2,
                    class: 2,
                },
                "a holding's class left out of the plan",
            ),
            (
                distribute(100, 0, ClassSplit::Weights(&[(1, 6000), (3, 4000)]), &one),
                ClassWithoutHoldings { class: 3 },
                "a class with an amount and no holdings",
            ),
            (
                distribute(
                    100,
                    0,
                    ClassSplit::PerShare,
                    &[holding(1, 1, "1"), holding(1, 2, "2")],
                ),
                DuplicateHolding { holding: 1 },
                "one holding twice",
            ),
            (
                distribute(
                    100,
                    0,
                    ClassSplit::PerShare,
                    &[holding(1, 1, "1"), holding(2, 1, "0")],
                ),
                HoldingNotPositive {
                    holding: 2,
                    shares: Shares::ZERO,
                },
                "a zero holding",
            ),
            (
                distribute(
                    100,
                    0,
                    ClassSplit::PerShare,
                    &[holding(1, 1, "1"), holding(2, 1, "-1")],
                ),
                HoldingNotPositive {
                    holding: 2,
                    shares: shares("-1"),
                },
                "a negative holding",
            ),
        ];
        for (got, expected, why) in cases {
            assert_eq!(got, Err(expected), "{why}");
        }
        // The largest amount over the largest holding is still exact: i64 · i64 fits in i128.
        let huge = distribute(
            i64::MAX,
            0,
            ClassSplit::PerShare,
            &[
                holding(1, 1, "0.01"),
                DistributionHolding {
                    holding: 2,
                    class: 1,
                    shares: Shares::from_hundredths(i64::MAX - 1),
                },
            ],
        );
        assert_eq!(huge.map(|d| fen(&d)), Ok(vec![(1, 1), (2, i64::MAX - 1)]));
        // A class weighted 0 needs no holdings.
        assert!(distribute(100, 0, ClassSplit::Weights(&[(1, 10_000), (2, 0)]), &one).is_ok());
    }

    /// splitmix64: a small deterministic generator, so the property test needs no dependency
    /// and fails the same way every run.
    struct SplitMix64(u64);

    impl SplitMix64 {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform enough in `low..=high` for a test.
        fn between(&mut self, low: i64, high: i64) -> i64 {
            let span = u64::try_from(high - low).expect("high ≥ low") + 1;
            low + i64::try_from(self.next() % span).expect("fits")
        }
    }

    #[test]
    fn payouts_sum_exactly_and_lie_within_a_fen_of_their_exact_share() {
        let mut rng = SplitMix64(0x5EED_2016_0037);
        for case in 0..4000 {
            let count = rng.between(1, 25);
            let classes = rng.between(1, 4);
            // Holding ids shuffled, so order and id ties are exercised.
            let mut holdings: Vec<DistributionHolding> = (0..count)
                .map(|i| DistributionHolding {
                    holding: 1000 - i * rng.between(1, 3),
                    class: rng.between(1, classes),
                    // Mostly small holdings, sometimes very large ones.
                    shares: Shares::from_hundredths(if rng.between(0, 9) == 0 {
                        rng.between(1, 1_000_000_000_000)
                    } else {
                        rng.between(1, 20_000)
                    }),
                })
                .collect();
            holdings.sort_by_key(|h| h.holding);
            holdings.dedup_by_key(|h| h.holding);
            let amount = match rng.between(0, 3) {
                0 => rng.between(0, 100),
                1 => rng.between(0, 100_000_000),
                2 => rng.between(0, 1_000_000_000_000_000),
                _ => i64::MAX - rng.between(0, 1000),
            };
            let reserve_bp = u32::try_from(rng.between(0, 10_000)).expect("fits");
            let present: BTreeSet<ClassId> = holdings.iter().map(|h| h.class).collect();
            // Weights over the classes present (one of them may get 0), summing to 10 000.
            let mut plan: Vec<(ClassId, u32)> = Vec::new();
            let mut left = WHOLE_BP;
            for (i, &class) in present.iter().enumerate() {
                let bp = if i + 1 == present.len() {
                    left
                } else {
                    u32::try_from(rng.between(0, i64::from(left))).expect("fits")
                };
                left -= bp;
                plan.push((class, bp));
            }
            let split = if case % 2 == 0 {
                ClassSplit::PerShare
            } else {
                ClassSplit::Weights(&plan)
            };
            let d = distribute(amount, reserve_bp, split, &holdings).expect("distributes");

            assert_eq!(d.reserve_fen + d.holders_fen, amount, "case {case}");
            assert_eq!(
                d.payouts.iter().map(|p| i128::from(p.fen)).sum::<i128>(),
                i128::from(d.holders_fen),
                "case {case}: payouts sum to the holders' amount"
            );
            assert_eq!(
                d.classes.iter().map(|c| i128::from(c.fen)).sum::<i128>(),
                i128::from(d.holders_fen),
                "case {case}: classes sum to the holders' amount"
            );
            assert_eq!(
                d.payouts.len(),
                holdings.len(),
                "case {case}: one payout each"
            );

            // Each payout p against its exact share A·s/S: |p·S − A·s| < S.
            for (p, h) in d.payouts.iter().zip(&holdings) {
                assert_eq!(p.holding, h.holding, "case {case}: by holding id");
                assert!(p.fen >= 0, "case {case}");
                let (pool, pool_shares) = match split {
                    ClassSplit::PerShare => (d.holders_fen, holdings.iter().collect::<Vec<_>>()),
                    ClassSplit::Weights(_) => (
                        d.classes
                            .iter()
                            .find(|c| c.class == h.class)
                            .expect("class amount")
                            .fen,
                        holdings.iter().filter(|o| o.class == h.class).collect(),
                    ),
                };
                let total: i128 = pool_shares
                    .iter()
                    .map(|o| i128::from(o.shares.hundredths()))
                    .sum();
                let error = i128::from(p.fen) * total
                    - i128::from(pool) * i128::from(h.shares.hundredths());
                assert!(
                    error.abs() < total,
                    "case {case}: holding {} off by a fen",
                    h.holding
                );
            }
            if let ClassSplit::Weights(plan) = split {
                for &(class, bp) in plan {
                    let got = d.classes.iter().find(|c| c.class == class).expect("listed");
                    let error = i128::from(got.fen) * i128::from(WHOLE_BP)
                        - i128::from(d.holders_fen) * i128::from(bp);
                    assert!(
                        error.abs() < i128::from(WHOLE_BP),
                        "case {case}: class {class}"
                    );
                }
            }

            // The order holdings are given in does not matter.
            let mut reversed = holdings.clone();
            reversed.reverse();
            assert_eq!(
                distribute(amount, reserve_bp, split, &reversed).as_ref(),
                Ok(&d),
                "case {case}: deterministic"
            );
        }
    }

    // A register: classes 1 population (100 issued), 2 fund (50), 3 collective (30); members 101
    // and 102, 103 who left mid-2024, 104 who joins in 2025.
    const POPULATION: ClassId = 1;
    const FUND: ClassId = 2;
    const COLLECTIVE: ClassId = 3;

    fn classes() -> Vec<ShareClass> {
        vec![
            ShareClass {
                id: POPULATION,
                kind: ShareClassKind::Population,
                issued: shares("100"),
            },
            ShareClass {
                id: FUND,
                kind: ShareClassKind::Fund,
                issued: shares("50"),
            },
            ShareClass {
                id: COLLECTIVE,
                kind: ShareClassKind::Collective,
                issued: shares("30"),
            },
        ]
    }

    fn memberships() -> Vec<Membership> {
        let since = day(2017, 1, 1);
        vec![
            Membership {
                party: 101,
                joined: since,
                left: None,
            },
            Membership {
                party: 102,
                joined: since,
                left: None,
            },
            Membership {
                party: 103,
                joined: since,
                left: Some(day(2024, 6, 30)),
            },
            Membership {
                party: 104,
                joined: day(2025, 1, 1),
                left: None,
            },
        ]
    }

    fn holdings() -> Vec<Holding> {
        let open = |id, holder, class, text| Holding {
            id,
            holder,
            class,
            shares: shares(text),
            valid_from: day(2018, 1, 1),
            valid_to: None,
        };
        vec![
            open(1, Holder::Member(101), POPULATION, "40"),
            open(2, Holder::Member(102), POPULATION, "40"),
            open(3, Holder::Organisation, COLLECTIVE, "30"),
            open(4, Holder::Member(102), FUND, "10"),
            // Closed at an earlier transfer: not open, so neither counted nor closable.
            Holding {
                valid_to: Some(day(2020, 1, 1)),
                ..open(5, Holder::Member(103), POPULATION, "5")
            },
        ]
    }

    fn to(party: PartyId, class: ClassId, text: &str) -> NewHolding {
        NewHolding {
            holder: Holder::Member(party),
            class,
            shares: shares(text),
        }
    }

    fn change(kind: ShareChangeKind, closes: &[HoldingId], opens: &[NewHolding]) -> ShareChange {
        ShareChange {
            kind,
            date: day(2024, 12, 1),
            closes: closes.to_vec(),
            opens: opens.to_vec(),
            contributor: None,
            leavers: Vec::new(),
        }
    }

    fn check(policy: HoldingPolicy, change: ShareChange) -> Result<CheckedChange, SharesError> {
        let (classes, holdings, memberships) = (classes(), holdings(), memberships());
        let register = Register {
            policy,
            classes: &classes,
            holdings: &holdings,
            memberships: &memberships,
        };
        check_change(&register, change)
    }

    #[test]
    fn lawful_changes_are_accepted() {
        use ShareChangeKind::*;
        let every3 = HoldingPolicy::adjusted(3).expect("3 years");
        let cases: Vec<(HoldingPolicy, ShareChange, [&str; 3], &str)> = vec![
            (
                HoldingPolicy::Static,
                change(
                    Transfer,
                    &[2],
                    &[to(102, POPULATION, "30"), to(101, POPULATION, "10")],
                ),
                ["80.00", "10.00", "30.00"],
                "a member transfers part of a holding to another",
            ),
            (
                HoldingPolicy::Static,
                change(Issue, &[], &[to(101, POPULATION, "20")]),
                ["100.00", "10.00", "30.00"],
                "an issue up to exactly what was issued",
            ),
            (
                HoldingPolicy::Static,
                ShareChange {
                    contributor: Some(Holder::Member(101)),
                    ..change(Contribution, &[], &[to(101, FUND, "20.5")])
                },
                ["80.00", "30.50", "30.00"],
                "a contribution's shares to the contributor",
            ),
            (
                HoldingPolicy::Static,
                change(
                    Inheritance,
                    &[2, 4],
                    &[to(101, POPULATION, "40"), to(101, FUND, "10")],
                ),
                ["80.00", "10.00", "30.00"],
                "an heir who is a member inherits",
            ),
            (
                HoldingPolicy::Static,
                ShareChange {
                    leavers: vec![102],
                    ..change(Redemption, &[2, 4], &[])
                },
                ["40.00", "0.00", "30.00"],
                "a leaver's holdings all redeemed in the same change",
            ),
            (
                HoldingPolicy::Static,
                ShareChange {
                    leavers: vec![102],
                    ..change(
                        Transfer,
                        &[2, 4],
                        &[to(101, POPULATION, "40"), to(101, FUND, "10")],
                    )
                },
                ["80.00", "10.00", "30.00"],
                "a leaver's holdings all transferred in the same change",
            ),
            (
                every3,
                change(Adjustment, &[1], &[to(101, POPULATION, "35")]),
                ["75.00", "10.00", "30.00"],
                "an adjustment under dynamic management",
            ),
            (
                HoldingPolicy::Static,
                change(Redemption, &[3], &[]),
                ["80.00", "10.00", "0.00"],
                "the organisation's own collective shares redeemed",
            ),
        ];
        for (policy, c, totals, why) in cases {
            let checked = check(policy, c).unwrap_or_else(|e| panic!("{why}: {e}"));
            let got: Vec<String> = checked
                .class_totals
                .iter()
                .map(|(_, s)| s.to_string())
                .collect();
            assert_eq!(got, totals, "{why}");
        }
    }

    #[test]
    fn unlawful_changes_are_refused_with_the_rule_they_break() {
        use ShareChangeKind::*;
        use SharesError::*;
        let on = day(2024, 12, 1);
        let cases: Vec<(HoldingPolicy, ShareChange, SharesError, &str)> = vec![
            (
                HoldingPolicy::Static,
                change(Transfer, &[], &[]),
                EmptyChange,
                "nothing changes",
            ),
            (
                HoldingPolicy::Static,
                ShareChange {
                    date: day(2017, 6, 1),
                    ..change(Issue, &[], &[to(101, POPULATION, "1")])
                },
                ChangeBeforeLastChange {
                    date: day(2017, 6, 1),
                    last: day(2020, 1, 1),
                },
                "dated before the last change",
            ),
            (
                HoldingPolicy::Static,
                change(Redemption, &[99], &[]),
                HoldingNotOpen { holding: 99 },
                "an unknown holding",
            ),
            (
                HoldingPolicy::Static,
                change(Redemption, &[5], &[]),
                HoldingNotOpen { holding: 5 },
                "a holding already closed",
            ),
            (
                HoldingPolicy::Static,
                change(Redemption, &[1, 1], &[]),
                HoldingClosedTwice { holding: 1 },
                "one holding closed twice",
            ),
            (
                HoldingPolicy::Static,
                change(
                    Issue,
                    &[],
                    &[to(101, POPULATION, "1"), to(102, POPULATION, "0")],
                ),
                NewHoldingNotPositive {
                    index: 1,
                    class: POPULATION,
                    shares: Shares::ZERO,
                },
                "(a) a zero holding",
            ),
            (
                HoldingPolicy::Static,
                change(Issue, &[], &[to(101, POPULATION, "-2.5")]),
                NewHoldingNotPositive {
                    index: 0,
                    class: POPULATION,
                    shares: shares("-2.5"),
                },
                "(a) a negative holding",
            ),
            (
                HoldingPolicy::Static,
                change(Issue, &[], &[to(101, 9, "1")]),
                UnknownClass { class: 9 },
                "a class the organisation does not have",
            ),
            (
                HoldingPolicy::Static,
                change(Issue, &[], &[to(101, POPULATION, "20.01")]),
                ClassOverIssued {
                    class: POPULATION,
                    total: shares("100.01"),
                    issued: shares("100"),
                },
                "(b) a class over what was issued, by a hundredth",
            ),
            (
                HoldingPolicy::Static,
                change(Issue, &[], &[to(104, POPULATION, "1")]),
                HolderNotMember {
                    party: 104,
                    date: on,
                },
                "(c) not yet a member",
            ),
            (
                HoldingPolicy::Static,
                change(Issue, &[], &[to(103, POPULATION, "1")]),
                HolderNotMember {
                    party: 103,
                    date: on,
                },
                "(c) no longer a member",
            ),
            (
                HoldingPolicy::Static,
                change(Issue, &[], &[to(999, POPULATION, "1")]),
                HolderNotMember {
                    party: 999,
                    date: on,
                },
                "(c) never a member",
            ),
            (
                HoldingPolicy::Static,
                change(Issue, &[], &[to(101, COLLECTIVE, "1")]),
                HolderDoesNotFitClass {
                    index: 0,
                    class: COLLECTIVE,
                },
                "(c) a member holding collective shares",
            ),
            (
                HoldingPolicy::Static,
                change(
                    Issue,
                    &[],
                    &[NewHolding {
                        holder: Holder::Organisation,
                        class: POPULATION,
                        shares: shares("1"),
                    }],
                ),
                HolderDoesNotFitClass {
                    index: 0,
                    class: POPULATION,
                },
                "(c) the organisation holding population shares",
            ),
            (
                HoldingPolicy::Static,
                change(Contribution, &[], &[to(101, FUND, "5")]),
                ContributionWithoutContributor,
                "(d) a contribution from no one",
            ),
            (
                HoldingPolicy::Static,
                ShareChange {
                    contributor: Some(Holder::Member(101)),
                    ..change(Contribution, &[], &[to(101, FUND, "5"), to(102, FUND, "5")])
                },
                ContributionNotToContributor {
                    index: 1,
                    contributor: Holder::Member(101),
                },
                "(d) a contribution's shares to someone else",
            ),
            (
                HoldingPolicy::Static,
                ShareChange {
                    leavers: vec![102],
                    ..change(Redemption, &[2], &[])
                },
                LeaverKeepsHoldings {
                    party: 102,
                    holding: 4,
                },
                "(e) a leaver keeps a holding",
            ),
            (
                HoldingPolicy::Static,
                ShareChange {
                    leavers: vec![102],
                    ..change(
                        Transfer,
                        &[2, 4],
                        &[to(102, POPULATION, "40"), to(101, FUND, "10")],
                    )
                },
                LeaverReceivesShares {
                    party: 102,
                    index: 0,
                },
                "(e) a leaver given shares in the change that ends the membership",
            ),
            (
                HoldingPolicy::Static,
                change(Transfer, &[2], &[to(101, POPULATION, "30")]),
                TransferNotBalanced {
                    kind: Transfer,
                    class: POPULATION,
                    closed: shares("40"),
                    opened: shares("30"),
                },
                "a transfer that loses shares",
            ),
            (
                HoldingPolicy::Static,
                change(Inheritance, &[4], &[to(101, POPULATION, "10")]),
                TransferNotBalanced {
                    kind: Inheritance,
                    class: POPULATION,
                    closed: Shares::ZERO,
                    opened: shares("10"),
                },
                "an inheritance that moves shares to another class",
            ),
            (
                HoldingPolicy::Static,
                change(Adjustment, &[1], &[to(101, POPULATION, "35")]),
                AdjustmentUnderStaticPolicy,
                "增人不增、减人不减: no adjustment",
            ),
        ];
        for (policy, c, expected, why) in cases {
            assert_eq!(check(policy, c), Err(expected), "{why}");
        }
    }
}
