//! Mortgage eligibility: a pure function from a snapshot of the records a decision rests on to a
//! report with one entry per rule, so that a bank can show why it lent or refused, and prove
//! later what it saw (the report carries a digest of the snapshot).
//!
//! Every rule answers PASS, FAIL, UNKNOWN (the data to decide is missing) or NOT_APPLICABLE (it
//! does not concern this right or product), with the ids of the records it looked at.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use sha2::{Digest, Sha256};

mod policy;

pub use policy::{AgeLimits, Policy, PolicyError};

use super::code_enum;
use super::geometry::{Area, Location};
use super::rights::{CreditModel, DocumentKind, RightKind, RightStatus};

code_enum! {
    /// A rule's answer (规则结论).
    pub enum Verdict {
        /// Satisfied (通过).
        Pass = "PASS",
        /// Not satisfied (不通过).
        Fail = "FAIL",
        /// The records needed to decide are missing (数据不足).
        Unknown = "UNKNOWN",
        /// Does not concern this right or product (不适用).
        NotApplicable = "NOT_APPLICABLE",
    }
}

code_enum! {
    /// An eligibility rule (准入规则).
    pub enum RuleCode {
        /// The right has a certificate (已确权登记).
        TitleRegistered = "TITLE_REGISTERED",
        /// The right is in force and not expired (权利有效).
        RightValid = "RIGHT_VALID",
        /// The borrower holds the right (借款人为权利人).
        HolderIsBorrower = "HOLDER_IS_BORROWER",
        /// Every other holder consented in writing (共有人同意).
        CoOwnerConsent = "CO_OWNER_CONSENT",
        /// No open dispute on the title (无权属争议).
        NoTitleDispute = "NO_TITLE_DISPUTE",
        /// Not seized or frozen (未被查封).
        NotSeized = "NOT_SEIZED",
        /// No active mortgage on the right (未设定抵押).
        NotEncumbered = "NOT_ENCUMBERED",
        /// No active mortgage holds the rank asked for (抵押顺位唯一).
        MortgageRankUnique = "MORTGAGE_RANK_UNIQUE",
        /// The product lends against this kind of right ("一权一品").
        ProductMatchesRight = "PRODUCT_MATCHES_RIGHT",
        /// The district allows this kind of right as collateral (本地允许抵押).
        JurisdictionAllows = "JURISDICTION_ALLOWS",
        /// A current appraisal of at least the policy minimum (有效评估).
        AppraisalPresent = "APPRAISAL_PRESENT",
        /// The loan is within the loan-to-value ceiling (抵押率).
        LtvWithinLimit = "LTV_WITHIN_LIMIT",
        /// The loan matures before the right expires (期限不超过权利期限).
        TermWithinRight = "TERM_WITHIN_RIGHT",
        /// Amount and term are within the product's ranges (金额期限在产品范围内).
        AmountInRange = "AMOUNT_IN_RANGE",
        /// The household has other stable housing (有其他稳定住所), for farmhouse rights.
        AlternativeResidence = "ALTERNATIVE_RESIDENCE",
        /// The collective consented in writing, where product or policy needs it (集体同意).
        CollectiveConsent = "COLLECTIVE_CONSENT",
        /// A lease through a revitalization was disclosed to the lender (租赁已告知).
        LeaseDisclosed = "LEASE_DISCLOSED",
        /// The asset lies outside every announced expropriation zone (不在征收范围).
        NotInExpropriationZone = "NOT_IN_EXPROPRIATION_ZONE",
        /// The borrower's age is within the policy's limits (年龄).
        AgeLimit = "AGE_LIMIT",
        /// For a collective share, the holding is open and held by the right's holder (股权有效).
        HoldingValid = "HOLDING_VALID",
    }
}

/// A holder of a right and its share, in basis points (the shares of a right sum to 10 000).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Holder {
    pub party_id: i64,
    pub share_bp: u32,
}

/// A source document of a right.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    pub id: i64,
    pub kind: DocumentKind,
    /// Whose document it is (a co-owner's consent, a household's proof of residence).
    pub party_id: Option<i64>,
    pub date: NaiveDate,
}

/// The asset a right is on, as far as the rules need it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetFacts {
    pub id: i64,
    #[serde(serialize_with = "location_text")]
    pub location: Location,
    #[serde(serialize_with = "area_text")]
    pub footprint: Option<Area>,
    /// Revitalizations that lease it out or take it as equity, still running.
    pub active_leases: Vec<i64>,
}

fn location_text<S: serde::Serializer>(l: &Location, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{},{}", l.lon(), l.lat()))
}

fn area_text<S: serde::Serializer>(a: &Option<Area>, s: S) -> Result<S::Ok, S::Error> {
    match a {
        Some(a) => s.serialize_str(&a.to_geojson().to_string()),
        None => s.serialize_none(),
    }
}

/// The right offered as collateral.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RightFacts {
    pub id: i64,
    pub kind: RightKind,
    pub status: RightStatus,
    pub certificate_no: Option<String>,
    pub expires_on: Option<NaiveDate>,
    pub disputed: bool,
    pub seized: bool,
    pub holders: Vec<Holder>,
    pub documents: Vec<Document>,
    pub asset: Option<AssetFacts>,
    /// The share holding a COLLECTIVE_SHARE right is on; left out of the snapshot's JSON for
    /// other rights, so their digests are what they were before shares could be pledged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holding: Option<HoldingFacts>,
}

/// The share holding a COLLECTIVE_SHARE right is on, as far as the rules need it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoldingFacts {
    pub id: i64,
    pub organization_id: i64,
    /// None for collective shares held by the organisation itself.
    pub holder_party_id: Option<i64>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

/// The product applied for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductFacts {
    pub id: i64,
    pub right_kind: RightKind,
    pub credit_model: CreditModel,
    pub max_ltv_bp: u32,
    pub min_term_months: u32,
    pub max_term_months: u32,
    pub min_amount_fen: i64,
    pub max_amount_fen: i64,
    pub needs_collective_consent: bool,
}

code_enum! {
    /// Sex, as the resident ID number records it (性别).
    pub enum Sex {
        /// Male (男).
        Male = "MALE",
        /// Female (女).
        Female = "FEMALE",
    }
}

/// The borrower, as far as the rules need them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BorrowerFacts {
    pub id: i64,
    pub birth: Option<(NaiveDate, Sex)>,
}

/// The birth date and sex an 18-digit resident ID number (居民身份证号) encodes: digits 7–14
/// are the date, digit 17 is odd for men. None for another format or a bad check digit.
pub fn birth_and_sex(id_number: &str) -> Option<(NaiveDate, Sex)> {
    let checked = super::parties::resident_id_number(id_number).ok()?;
    let date = NaiveDate::parse_from_str(&checked[6..14], "%Y%m%d").ok()?;
    let sex = if (checked.as_bytes()[16] - b'0') % 2 == 1 {
        Sex::Male
    } else {
        Sex::Female
    };
    Some((date, sex))
}

/// A current or past appraisal of the right.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppraisalFacts {
    pub id: i64,
    pub value_fen: i64,
    pub valued_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

/// A mortgage on the right that is still active.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MortgageFacts {
    pub id: i64,
    pub rank: u32,
}

/// An announced expropriation zone (征收范围).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneFacts {
    pub id: i64,
    #[serde(serialize_with = "zone_text")]
    pub area: Area,
}

fn zone_text<S: serde::Serializer>(a: &Area, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&a.to_geojson().to_string())
}

/// What is asked: this much, for this long, at this rank.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    pub amount_fen: i64,
    pub term_months: u32,
    pub rank: u32,
}

/// Every record a decision rests on, as of `today`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub today: NaiveDate,
    pub policy: Policy,
    pub right: RightFacts,
    pub product: ProductFacts,
    pub borrower: BorrowerFacts,
    pub appraisals: Vec<AppraisalFacts>,
    pub active_mortgages: Vec<MortgageFacts>,
    pub zones: Vec<ZoneFacts>,
    pub request: Request,
}

impl Snapshot {
    /// SHA-256 of the snapshot's canonical JSON: the same records give the same digest, so a
    /// bank can show later what a decision rested on.
    pub fn digest(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

/// A record a rule looked at: its kind and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub kind: &'static str,
    pub id: i64,
}

/// One rule's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleResult {
    pub code: RuleCode,
    pub verdict: Verdict,
    pub message: String,
    pub evidence: Vec<Evidence>,
}

/// The whole answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub rules: Vec<RuleResult>,
    /// FAIL if any rule fails, else UNKNOWN if any is unknown, else PASS.
    pub verdict: Verdict,
    /// The largest amount that would pass every amount-dependent rule, when every other rule
    /// passes; fen.
    pub max_amount_fen: Option<i64>,
    pub rule_set_version: String,
    pub snapshot_digest: String,
}

fn ev(kind: &'static str, id: i64) -> Evidence {
    Evidence { kind, id }
}

fn rule(
    code: RuleCode,
    verdict: Verdict,
    message: impl Into<String>,
    evidence: Vec<Evidence>,
) -> RuleResult {
    RuleResult {
        code,
        verdict,
        message: message.into(),
        evidence,
    }
}

fn yuan(fen: i64) -> String {
    format!("¥{}.{:02}", fen / 100, (fen % 100).abs())
}

/// The months from `from` to `to`, whole months only.
fn months_between(from: NaiveDate, to: NaiveDate) -> i64 {
    let m =
        i64::from(to.year() - from.year()) * 12 + i64::from(to.month()) - i64::from(from.month());
    if to.day() < from.day() { m - 1 } else { m }
}

/// The appraisal the LTV is measured against: the latest current one.
fn current_appraisal(s: &Snapshot) -> Option<&AppraisalFacts> {
    let until = |a: &AppraisalFacts| {
        a.valid_until.unwrap_or_else(|| {
            a.valued_on + chrono::Days::new(u64::from(s.policy.appraisal_valid_days))
        })
    };
    s.appraisals
        .iter()
        .filter(|a| a.valued_on <= s.today && until(a) >= s.today)
        .max_by_key(|a| (a.valued_on, a.id))
}

/// The LTV ceiling in force: the lower of the product's and the policy's for the kind.
fn ltv_ceiling_bp(s: &Snapshot) -> u32 {
    let policy = s
        .policy
        .ltv_ceiling_bp
        .get(&s.right.kind)
        .copied()
        .unwrap_or(10_000);
    policy.min(s.product.max_ltv_bp)
}

/// A pledged share (股权质押) is good only while its holding is open and held by the right's
/// holder: a holding transferred, redeemed or inherited since the right was registered no longer
/// backs it.
fn holding_rule(s: &Snapshot) -> RuleResult {
    use RuleCode::HoldingValid;
    use Verdict::*;
    let r = &s.right;
    if r.kind != RightKind::CollectiveShare {
        return rule(
            HoldingValid,
            NotApplicable,
            "only for collective shares",
            vec![ev("PropertyRight", r.id)],
        );
    }
    let Some(h) = &r.holding else {
        return rule(
            HoldingValid,
            Fail,
            "the right names no share holding",
            vec![ev("PropertyRight", r.id)],
        );
    };
    let evidence = vec![ev("PropertyRight", r.id), ev("ShareHolding", h.id)];
    if let Some(to) = h.valid_to.filter(|to| *to <= s.today) {
        return rule(
            HoldingValid,
            Fail,
            format!("the holding was closed on {to}"),
            evidence,
        );
    }
    if h.valid_from > s.today {
        return rule(
            HoldingValid,
            Fail,
            format!("the holding opens only on {}", h.valid_from),
            evidence,
        );
    }
    let held_by_holders = h
        .holder_party_id
        .is_some_and(|p| r.holders.iter().any(|x| x.party_id == p));
    if held_by_holders {
        rule(
            HoldingValid,
            Pass,
            format!("the holding is open since {}", h.valid_from),
            evidence,
        )
    } else {
        rule(
            HoldingValid,
            Fail,
            "the holding is not held by the right's holder",
            evidence,
        )
    }
}

/// The rules that do not depend on the amount asked.
fn fixed_rules(s: &Snapshot) -> Vec<RuleResult> {
    use RuleCode::*;
    use Verdict::*;
    let r = &s.right;
    let right_ev = || vec![ev("PropertyRight", r.id)];
    let mut out = Vec::new();

    out.push(
        match (
            &r.certificate_no,
            r.documents
                .iter()
                .find(|d| d.kind == DocumentKind::Certificate),
        ) {
            (Some(no), Some(doc)) => rule(
                TitleRegistered,
                Pass,
                format!("certificate {no}"),
                vec![ev("PropertyRight", r.id), ev("SourceDocument", doc.id)],
            ),
            (Some(no), None) => rule(
                TitleRegistered,
                Pass,
                format!("certificate {no} (no scanned certificate on file)"),
                right_ev(),
            ),
            (None, _) => rule(
                TitleRegistered,
                Fail,
                "the right has no certificate number: it is not registered",
                right_ev(),
            ),
        },
    );

    out.push(match (r.status, r.expires_on) {
        (RightStatus::Valid, Some(e)) if e < s.today => {
            rule(RightValid, Fail, format!("expired on {e}"), right_ev())
        }
        (RightStatus::Valid, _) => rule(RightValid, Pass, "in force", right_ev()),
        (other, _) => rule(
            RightValid,
            Fail,
            format!("the right is {other}"),
            right_ev(),
        ),
    });

    let borrower_share = r.holders.iter().find(|h| h.party_id == s.borrower.id);
    out.push(match borrower_share {
        Some(h) => rule(
            HolderIsBorrower,
            Pass,
            format!(
                "the borrower holds {}% of the right",
                f64::from(h.share_bp) / 100.0
            ),
            vec![ev("PropertyRight", r.id), ev("Party", s.borrower.id)],
        ),
        None if r.holders.is_empty() => rule(
            HolderIsBorrower,
            Unknown,
            "the right records no holders",
            right_ev(),
        ),
        None => rule(
            HolderIsBorrower,
            Fail,
            "the borrower is not a holder of the right",
            vec![ev("PropertyRight", r.id), ev("Party", s.borrower.id)],
        ),
    });

    let others: Vec<i64> = r
        .holders
        .iter()
        .map(|h| h.party_id)
        .filter(|p| *p != s.borrower.id)
        .collect();
    let consent_of = |p: i64| {
        r.documents
            .iter()
            .find(|d| d.kind == DocumentKind::CoOwnerConsent && d.party_id == Some(p))
    };
    out.push(if others.is_empty() {
        rule(
            CoOwnerConsent,
            NotApplicable,
            "the borrower is the only holder",
            right_ev(),
        )
    } else {
        let missing: Vec<i64> = others
            .iter()
            .copied()
            .filter(|p| consent_of(*p).is_none())
            .collect();
        let docs: Vec<Evidence> = others
            .iter()
            .filter_map(|p| consent_of(*p))
            .map(|d| ev("SourceDocument", d.id))
            .collect();
        if missing.is_empty() {
            rule(
                CoOwnerConsent,
                Pass,
                format!("all {} co-owner(s) consented in writing", others.len()),
                docs,
            )
        } else {
            let mut e = docs;
            e.extend(missing.iter().map(|p| ev("Party", *p)));
            rule(
                CoOwnerConsent,
                Fail,
                format!(
                    "{} co-owner(s) have not consented in writing",
                    missing.len()
                ),
                e,
            )
        }
    });

    out.push(if r.disputed {
        rule(
            NoTitleDispute,
            Fail,
            "the title is under dispute",
            right_ev(),
        )
    } else {
        rule(NoTitleDispute, Pass, "no dispute recorded", right_ev())
    });
    out.push(if r.seized {
        rule(NotSeized, Fail, "the right is seized or frozen", right_ev())
    } else {
        rule(NotSeized, Pass, "no seizure recorded", right_ev())
    });

    let mortgages: Vec<Evidence> = s
        .active_mortgages
        .iter()
        .map(|m| ev("Mortgage", m.id))
        .collect();
    out.push(if s.active_mortgages.is_empty() {
        rule(NotEncumbered, Pass, "no active mortgage", right_ev())
    } else {
        rule(
            NotEncumbered,
            Fail,
            format!(
                "{} active mortgage(s) on the right",
                s.active_mortgages.len()
            ),
            mortgages.clone(),
        )
    });
    out.push(
        match s.active_mortgages.iter().find(|m| m.rank == s.request.rank) {
            Some(m) => rule(
                MortgageRankUnique,
                Fail,
                format!("rank {} is held by mortgage {}", m.rank, m.id),
                vec![ev("Mortgage", m.id)],
            ),
            None => rule(
                MortgageRankUnique,
                Pass,
                format!("rank {} is free", s.request.rank),
                if mortgages.is_empty() {
                    right_ev()
                } else {
                    mortgages
                },
            ),
        },
    );

    let product_ev = || vec![ev("LoanProduct", s.product.id), ev("PropertyRight", r.id)];
    out.push(if s.product.right_kind == r.kind {
        rule(
            ProductMatchesRight,
            Pass,
            format!("the product lends against {}", r.kind),
            product_ev(),
        )
    } else {
        rule(
            ProductMatchesRight,
            Fail,
            format!(
                "the product lends against {}, the right is {}",
                s.product.right_kind, r.kind
            ),
            product_ev(),
        )
    });

    out.push(if s.policy.mortgageable.contains(&r.kind) {
        rule(
            JurisdictionAllows,
            Pass,
            format!("policy {} allows {}", s.policy.version, r.kind),
            right_ev(),
        )
    } else {
        rule(
            JurisdictionAllows,
            Fail,
            format!(
                "policy {} does not allow {} as collateral here",
                s.policy.version, r.kind
            ),
            right_ev(),
        )
    });

    out.push(match current_appraisal(s) {
        Some(a) if a.value_fen >= s.policy.min_appraisal_fen => rule(
            AppraisalPresent,
            Pass,
            format!("appraised at {} on {}", yuan(a.value_fen), a.valued_on),
            vec![ev("Appraisal", a.id)],
        ),
        Some(a) => rule(
            AppraisalPresent,
            Fail,
            format!(
                "appraised at {}, below the minimum {}",
                yuan(a.value_fen),
                yuan(s.policy.min_appraisal_fen)
            ),
            vec![ev("Appraisal", a.id)],
        ),
        None if s.appraisals.is_empty() => {
            rule(AppraisalPresent, Fail, "no appraisal on file", right_ev())
        }
        None => rule(
            AppraisalPresent,
            Fail,
            "every appraisal on file has expired",
            s.appraisals.iter().map(|a| ev("Appraisal", a.id)).collect(),
        ),
    });

    out.push(match r.expires_on {
        None => rule(
            TermWithinRight,
            Pass,
            "the right does not expire",
            right_ev(),
        ),
        Some(e) => {
            let left = months_between(s.today, e);
            if i64::from(s.request.term_months) <= left {
                rule(
                    TermWithinRight,
                    Pass,
                    format!(
                        "{} months asked, {left} left on the right",
                        s.request.term_months
                    ),
                    right_ev(),
                )
            } else {
                rule(
                    TermWithinRight,
                    Fail,
                    format!(
                        "{} months asked, only {} left on the right (expires {e})",
                        s.request.term_months,
                        left.max(0)
                    ),
                    right_ev(),
                )
            }
        }
    });

    out.push(if r.kind != RightKind::FarmhouseProperty {
        rule(
            AlternativeResidence,
            NotApplicable,
            "only for farmhouse rights",
            right_ev(),
        )
    } else {
        match r.documents.iter().find(|d| {
            d.kind == DocumentKind::AlternativeResidenceProof
                && d.party_id.is_none_or(|p| p == s.borrower.id)
        }) {
            Some(d) => rule(
                AlternativeResidence,
                Pass,
                format!("proof of other housing dated {}", d.date),
                vec![ev("SourceDocument", d.id)],
            ),
            None => rule(
                AlternativeResidence,
                Fail,
                "no proof that the household has other stable housing",
                right_ev(),
            ),
        }
    });

    let consent_needed =
        s.product.needs_collective_consent || s.policy.collective_consent.contains(&r.kind);
    out.push(if !consent_needed {
        rule(
            CollectiveConsent,
            NotApplicable,
            "neither the product nor the policy asks for it",
            product_ev(),
        )
    } else {
        match r.documents.iter().find(|d| {
            matches!(
                d.kind,
                DocumentKind::CollectiveConsent | DocumentKind::CollectiveResolution
            )
        }) {
            Some(d) => rule(
                CollectiveConsent,
                Pass,
                format!("the collective consented on {}", d.date),
                vec![ev("SourceDocument", d.id)],
            ),
            None => rule(
                CollectiveConsent,
                Fail,
                "the collective's written consent is needed and not on file",
                product_ev(),
            ),
        }
    });

    let on_holding = r.kind == RightKind::CollectiveShare;
    out.push(match &r.asset {
        None if on_holding => rule(
            LeaseDisclosed,
            NotApplicable,
            "a share holding is not leased",
            right_ev(),
        ),
        None => rule(
            LeaseDisclosed,
            Unknown,
            "the right is linked to no registered asset",
            right_ev(),
        ),
        Some(a) if a.active_leases.is_empty() => rule(
            LeaseDisclosed,
            NotApplicable,
            "the asset is not leased out",
            vec![ev("IdleAsset", a.id)],
        ),
        Some(a) => {
            let leases: Vec<Evidence> = a
                .active_leases
                .iter()
                .map(|l| ev("Revitalization", *l))
                .collect();
            match r
                .documents
                .iter()
                .find(|d| d.kind == DocumentKind::LeaseDisclosure)
            {
                Some(d) => {
                    let mut e = leases;
                    e.push(ev("SourceDocument", d.id));
                    rule(
                        LeaseDisclosed,
                        Pass,
                        "the lease was disclosed to the lender and the tenant",
                        e,
                    )
                }
                None => rule(
                    LeaseDisclosed,
                    Fail,
                    "the asset is leased out and no disclosure is on file",
                    leases,
                ),
            }
        }
    });

    out.push(match &r.asset {
        None if on_holding => rule(
            NotInExpropriationZone,
            NotApplicable,
            "a share holding lies in no zone",
            right_ev(),
        ),
        None => rule(
            NotInExpropriationZone,
            Unknown,
            "the right is linked to no located asset",
            right_ev(),
        ),
        Some(a) => {
            let hit: Vec<&ZoneFacts> = s
                .zones
                .iter()
                .filter(|z| match &a.footprint {
                    Some(f) => z.area.overlap_m2(f) > 0.0 || z.area.covers(a.location),
                    None => z.area.covers(a.location),
                })
                .collect();
            if hit.is_empty() {
                rule(
                    NotInExpropriationZone,
                    Pass,
                    format!("outside all {} announced zone(s)", s.zones.len()),
                    vec![ev("IdleAsset", a.id)],
                )
            } else {
                let mut e = vec![ev("IdleAsset", a.id)];
                e.extend(hit.iter().map(|z| ev("ExpropriationZone", z.id)));
                rule(
                    NotInExpropriationZone,
                    Fail,
                    "the asset lies in an announced expropriation zone",
                    e,
                )
            }
        }
    });

    out.push(holding_rule(s));

    let ages = &s.policy.age;
    out.push(match s.borrower.birth {
        None => rule(
            AgeLimit,
            Unknown,
            "the borrower's birth date is not on file",
            vec![ev("Party", s.borrower.id)],
        ),
        Some((born, sex)) => {
            let age = s.today.years_since(born).unwrap_or(0);
            let max = match sex {
                Sex::Male => ages.male_max,
                Sex::Female => ages.female_max,
            };
            if (ages.min..=max).contains(&age) {
                rule(
                    AgeLimit,
                    Pass,
                    format!("aged {age}, within {}–{max}", ages.min),
                    vec![ev("Party", s.borrower.id)],
                )
            } else {
                rule(
                    AgeLimit,
                    Fail,
                    format!("aged {age}, outside {}–{max}", ages.min),
                    vec![ev("Party", s.borrower.id)],
                )
            }
        }
    });
    out
}

/// The largest loan the LTV ceiling allows on the current appraisal, fen.
fn ltv_cap(s: &Snapshot) -> Option<i64> {
    current_appraisal(s)
        .map(|a| (i128::from(a.value_fen) * i128::from(ltv_ceiling_bp(s)) / 10_000) as i64)
}

fn amount_rules(s: &Snapshot, amount_fen: i64) -> Vec<RuleResult> {
    use RuleCode::*;
    use Verdict::*;
    let p = &s.product;
    let ceiling = ltv_ceiling_bp(s);
    let ltv = match (current_appraisal(s), ltv_cap(s)) {
        (Some(a), Some(cap)) if amount_fen <= cap => rule(
            LtvWithinLimit,
            Pass,
            format!(
                "{} is within {}% of {}",
                yuan(amount_fen),
                f64::from(ceiling) / 100.0,
                yuan(a.value_fen)
            ),
            vec![ev("Appraisal", a.id), ev("LoanProduct", p.id)],
        ),
        (Some(a), Some(cap)) => rule(
            LtvWithinLimit,
            Fail,
            format!(
                "{} exceeds {}% of {} (at most {})",
                yuan(amount_fen),
                f64::from(ceiling) / 100.0,
                yuan(a.value_fen),
                yuan(cap)
            ),
            vec![ev("Appraisal", a.id), ev("LoanProduct", p.id)],
        ),
        _ => rule(
            LtvWithinLimit,
            Unknown,
            "no current appraisal to measure against",
            vec![ev("LoanProduct", p.id)],
        ),
    };
    let amount_ok = (p.min_amount_fen..=p.max_amount_fen).contains(&amount_fen);
    let term_ok = (p.min_term_months..=p.max_term_months).contains(&s.request.term_months);
    let range = if amount_ok && term_ok {
        rule(
            AmountInRange,
            Pass,
            format!(
                "{} over {} months fits the product",
                yuan(amount_fen),
                s.request.term_months
            ),
            vec![ev("LoanProduct", p.id)],
        )
    } else {
        rule(
            AmountInRange,
            Fail,
            format!(
                "the product lends {}–{} over {}–{} months",
                yuan(p.min_amount_fen),
                yuan(p.max_amount_fen),
                p.min_term_months,
                p.max_term_months
            ),
            vec![ev("LoanProduct", p.id)],
        )
    };
    vec![ltv, range]
}

fn overall(rules: &[RuleResult]) -> Verdict {
    if rules.iter().any(|r| r.verdict == Verdict::Fail) {
        Verdict::Fail
    } else if rules.iter().any(|r| r.verdict == Verdict::Unknown) {
        Verdict::Unknown
    } else {
        Verdict::Pass
    }
}

/// The report on `s`: every rule, in a fixed order.
pub fn evaluate(s: &Snapshot) -> Report {
    let fixed = fixed_rules(s);
    let mut rules = fixed.clone();
    rules.extend(amount_rules(s, s.request.amount_fen));
    let order = |r: &RuleResult| RuleCode::ALL.iter().position(|c| *c == r.code);
    rules.sort_by_key(order);
    // The largest amount passing the amount rules, when nothing else stands in the way.
    let max_amount_fen = match (overall(&fixed), ltv_cap(s)) {
        (Verdict::Pass, Some(cap)) => {
            let best = cap.min(s.product.max_amount_fen);
            let fits = amount_rules(s, best)
                .iter()
                .all(|r| r.verdict == Verdict::Pass);
            fits.then_some(best)
        }
        _ => None,
    };
    Report {
        verdict: overall(&rules),
        rules,
        max_amount_fen,
        rule_set_version: s.policy.version.clone(),
        snapshot_digest: s.digest(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::eligibility::AgeLimits;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    fn square(lon: f64, lat: f64, size: f64) -> Area {
        let ring = [
            [lon, lat],
            [lon + size, lat],
            [lon + size, lat + size],
            [lon, lat + size],
            [lon, lat],
        ];
        let g = geojson::Geometry::new(geojson::GeometryValue::new_polygon(vec![
            ring.iter().map(|p| p.to_vec()).collect::<Vec<_>>(),
        ]));
        Area::from_geojson(&g).expect("valid square")
    }

    /// A snapshot on which every rule passes: a farmhouse right held 60/40 by the borrower and
    /// a co-owner who consented, appraised at ¥300,000, asking ¥150,000 over 36 months.
    fn passing() -> Snapshot {
        let doc = |id, kind, party_id| Document {
            id,
            kind,
            party_id,
            date: day("2026-03-01"),
        };
        Snapshot {
            today: day("2026-11-26"),
            policy: Policy {
                version: "2026-1".into(),
                mortgageable: vec![RightKind::FarmhouseProperty, RightKind::LandManagement],
                ltv_ceiling_bp: BTreeMap::from([(RightKind::FarmhouseProperty, 7_000)]),
                collective_consent: vec![RightKind::FarmhouseProperty],
                min_appraisal_fen: 5_000_000,
                appraisal_valid_days: 365,
                age: AgeLimits {
                    min: 18,
                    male_max: 65,
                    female_max: 60,
                },
            },
            right: RightFacts {
                id: 10,
                kind: RightKind::FarmhouseProperty,
                status: RightStatus::Valid,
                certificate_no: Some("赣(2024)东川不动产权第0001号".into()),
                expires_on: None,
                disputed: false,
                seized: false,
                holders: vec![
                    Holder {
                        party_id: 1,
                        share_bp: 6_000,
                    },
                    Holder {
                        party_id: 2,
                        share_bp: 4_000,
                    },
                ],
                documents: vec![
                    doc(100, DocumentKind::Certificate, None),
                    doc(101, DocumentKind::CoOwnerConsent, Some(2)),
                    doc(102, DocumentKind::CollectiveConsent, None),
                    doc(103, DocumentKind::AlternativeResidenceProof, Some(1)),
                ],
                asset: Some(AssetFacts {
                    id: 7,
                    location: Location::parse(117.0005, 28.2005).expect("valid"),
                    footprint: Some(square(117.0, 28.2, 0.001)),
                    active_leases: vec![],
                }),
                holding: None,
            },
            product: ProductFacts {
                id: 20,
                right_kind: RightKind::FarmhouseProperty,
                credit_model: CreditModel::Mortgage,
                max_ltv_bp: 8_000,
                min_term_months: 6,
                max_term_months: 60,
                min_amount_fen: 1_000_000,
                max_amount_fen: 30_000_000,
                needs_collective_consent: false,
            },
            borrower: BorrowerFacts {
                id: 1,
                birth: Some((day("1980-05-01"), Sex::Male)),
            },
            appraisals: vec![AppraisalFacts {
                id: 30,
                value_fen: 30_000_000,
                valued_on: day("2026-06-01"),
                valid_until: None,
            }],
            active_mortgages: vec![],
            zones: vec![ZoneFacts {
                id: 40,
                area: square(117.1, 28.3, 0.01),
            }],
            request: Request {
                amount_fen: 15_000_000,
                term_months: 36,
                rank: 1,
            },
        }
    }

    fn verdict_of(report: &Report, code: RuleCode) -> Verdict {
        report
            .rules
            .iter()
            .find(|r| r.code == code)
            .map(|r| r.verdict)
            .expect("every rule answers")
    }

    /// Changes one thing and checks that exactly `code` turns to `expected`, the rest staying.
    fn only(code: RuleCode, expected: Verdict, change: impl FnOnce(&mut Snapshot)) {
        let base = evaluate(&passing());
        let mut s = passing();
        change(&mut s);
        let report = evaluate(&s);
        assert_eq!(verdict_of(&report, code), expected, "{code}: {report:#?}");
        for r in &report.rules {
            if r.code != code {
                assert_eq!(r.verdict, verdict_of(&base, r.code), "{} moved too", r.code);
            }
        }
        let overall = if expected == Verdict::Fail {
            Verdict::Fail
        } else if expected == Verdict::Unknown {
            Verdict::Unknown
        } else {
            Verdict::Pass
        };
        assert_eq!(report.verdict, overall, "{code}");
    }

    #[test]
    fn the_baseline_passes_every_rule_with_evidence() {
        let report = evaluate(&passing());
        assert_eq!(report.verdict, Verdict::Pass, "{report:#?}");
        assert_eq!(
            report.rules.len(),
            RuleCode::ALL.len(),
            "one entry per rule"
        );
        for r in &report.rules {
            assert!(!r.evidence.is_empty(), "{} names no record", r.code);
        }
        assert_eq!(
            verdict_of(&report, RuleCode::LeaseDisclosed),
            Verdict::NotApplicable
        );
        // 70% (the policy's ceiling, lower than the product's 80%) of ¥300,000.
        assert_eq!(report.max_amount_fen, Some(21_000_000));
        assert_eq!(report.rule_set_version, "2026-1");
        assert_eq!(report.snapshot_digest.len(), 64);
    }

    #[test]
    fn the_digest_changes_with_any_record_and_only_then() {
        let a = passing();
        assert_eq!(a.digest(), passing().digest());
        let mut b = passing();
        b.appraisals[0].value_fen += 1;
        assert_ne!(a.digest(), b.digest());
    }

    #[test]
    fn title_registered() {
        only(RuleCode::TitleRegistered, Verdict::Fail, |s| {
            s.right.certificate_no = None
        });
    }

    #[test]
    fn right_valid() {
        only(RuleCode::RightValid, Verdict::Fail, |s| {
            s.right.status = RightStatus::Suspended
        });
        only(RuleCode::RightValid, Verdict::Fail, |s| {
            s.right.kind = RightKind::FarmhouseProperty;
            s.right.status = RightStatus::Cancelled;
        });
    }

    #[test]
    fn holder_is_borrower() {
        only(RuleCode::HolderIsBorrower, Verdict::Fail, |s| {
            s.right.holders[0].party_id = 3;
            // Party 2's consent still covers the other holder.
            s.right.documents.push(Document {
                id: 109,
                kind: DocumentKind::CoOwnerConsent,
                party_id: Some(3),
                date: day("2026-03-01"),
            });
        });
    }

    #[test]
    fn co_owner_consent() {
        only(RuleCode::CoOwnerConsent, Verdict::Fail, |s| {
            s.right.documents.retain(|d| d.id != 101)
        });
        only(RuleCode::CoOwnerConsent, Verdict::NotApplicable, |s| {
            s.right.holders.truncate(1)
        });
    }

    #[test]
    fn no_title_dispute() {
        only(RuleCode::NoTitleDispute, Verdict::Fail, |s| {
            s.right.disputed = true
        });
    }

    #[test]
    fn not_seized() {
        only(RuleCode::NotSeized, Verdict::Fail, |s| {
            s.right.seized = true
        });
    }

    #[test]
    fn not_encumbered_and_rank_unique() {
        only(RuleCode::NotEncumbered, Verdict::Fail, |s| {
            s.active_mortgages.push(MortgageFacts { id: 50, rank: 1 });
            s.request.rank = 2;
        });
        let mut s = passing();
        s.active_mortgages.push(MortgageFacts { id: 50, rank: 1 });
        let report = evaluate(&s);
        assert_eq!(
            verdict_of(&report, RuleCode::MortgageRankUnique),
            Verdict::Fail
        );
        assert_eq!(
            report.max_amount_fen, None,
            "no amount passes while anything fails"
        );
    }

    #[test]
    fn product_matches_right() {
        only(RuleCode::ProductMatchesRight, Verdict::Fail, |s| {
            s.product.right_kind = RightKind::Forest
        });
    }

    #[test]
    fn jurisdiction_allows() {
        only(RuleCode::JurisdictionAllows, Verdict::Fail, |s| {
            s.policy.mortgageable = vec![RightKind::LandManagement]
        });
    }

    #[test]
    fn appraisal_present_and_current() {
        let mut s = passing();
        s.appraisals[0].valued_on = day("2025-01-01");
        let report = evaluate(&s);
        assert_eq!(
            verdict_of(&report, RuleCode::AppraisalPresent),
            Verdict::Fail
        );
        assert_eq!(
            verdict_of(&report, RuleCode::LtvWithinLimit),
            Verdict::Unknown
        );
        let mut s = passing();
        s.appraisals[0].value_fen = 4_000_000;
        s.request.amount_fen = 2_000_000;
        let report = evaluate(&s);
        assert_eq!(
            verdict_of(&report, RuleCode::AppraisalPresent),
            Verdict::Fail
        );
        assert_eq!(verdict_of(&report, RuleCode::LtvWithinLimit), Verdict::Pass);
    }

    #[test]
    fn ltv_within_limit() {
        only(RuleCode::LtvWithinLimit, Verdict::Fail, |s| {
            s.request.amount_fen = 21_000_001
        });
        only(RuleCode::LtvWithinLimit, Verdict::Pass, |s| {
            s.request.amount_fen = 21_000_000
        });
    }

    #[test]
    fn term_within_right() {
        only(RuleCode::TermWithinRight, Verdict::Fail, |s| {
            s.right.expires_on = Some(day("2028-01-01"))
        });
        only(RuleCode::TermWithinRight, Verdict::Pass, |s| {
            s.right.expires_on = Some(day("2029-11-26"))
        });
    }

    #[test]
    fn amount_in_range() {
        only(RuleCode::AmountInRange, Verdict::Fail, |s| {
            s.request.amount_fen = 999_999
        });
        only(RuleCode::AmountInRange, Verdict::Fail, |s| {
            s.request.term_months = 61
        });
    }

    #[test]
    fn alternative_residence() {
        only(RuleCode::AlternativeResidence, Verdict::Fail, |s| {
            s.right.documents.retain(|d| d.id != 103)
        });
    }

    #[test]
    fn collective_consent_follows_policy_or_product() {
        only(RuleCode::CollectiveConsent, Verdict::Fail, |s| {
            s.right.documents.retain(|d| d.id != 102)
        });
        only(RuleCode::CollectiveConsent, Verdict::NotApplicable, |s| {
            s.policy.collective_consent.clear();
            s.right.documents.retain(|d| d.id != 102);
        });
        only(RuleCode::CollectiveConsent, Verdict::Fail, |s| {
            s.policy.collective_consent.clear();
            s.product.needs_collective_consent = true;
            s.right.documents.retain(|d| d.id != 102);
        });
    }

    #[test]
    fn lease_disclosed() {
        let lease = |s: &mut Snapshot| {
            if let Some(a) = s.right.asset.as_mut() {
                a.active_leases.push(60);
            }
        };
        only(RuleCode::LeaseDisclosed, Verdict::Fail, lease);
        only(RuleCode::LeaseDisclosed, Verdict::Pass, |s| {
            lease(s);
            s.right.documents.push(Document {
                id: 110,
                kind: DocumentKind::LeaseDisclosure,
                party_id: None,
                date: day("2026-04-01"),
            });
        });
    }

    #[test]
    fn not_in_expropriation_zone_is_a_geo_test() {
        // A zone that takes a corner of the footprint but not the point.
        only(RuleCode::NotInExpropriationZone, Verdict::Fail, |s| {
            s.zones.push(ZoneFacts {
                id: 41,
                area: square(116.9995, 28.1995, 0.0007),
            })
        });
        let mut s = passing();
        s.right.asset = None;
        let report = evaluate(&s);
        assert_eq!(
            verdict_of(&report, RuleCode::NotInExpropriationZone),
            Verdict::Unknown
        );
        assert_eq!(report.verdict, Verdict::Unknown);
    }

    #[test]
    fn age_limit_depends_on_sex_and_is_unknown_without_a_birth_date() {
        only(RuleCode::AgeLimit, Verdict::Fail, |s| {
            s.borrower.birth = Some((day("1963-01-01"), Sex::Female))
        });
        only(RuleCode::AgeLimit, Verdict::Pass, |s| {
            s.borrower.birth = Some((day("1963-01-01"), Sex::Male))
        });
        only(RuleCode::AgeLimit, Verdict::Unknown, |s| {
            s.borrower.birth = None
        });
    }

    /// A pledged share (股权质押) on a holding open since 2020 and held by the borrower.
    fn pledged_share() -> Snapshot {
        let mut s = passing();
        s.right.kind = RightKind::CollectiveShare;
        s.right.asset = None;
        s.right.holders = vec![Holder {
            party_id: 1,
            share_bp: 10_000,
        }];
        s.right.holding = Some(HoldingFacts {
            id: 70,
            organization_id: 3,
            holder_party_id: Some(1),
            valid_from: day("2020-12-28"),
            valid_to: None,
        });
        s.product.right_kind = RightKind::CollectiveShare;
        s.policy.mortgageable.push(RightKind::CollectiveShare);
        s
    }

    #[test]
    fn a_pledged_share_needs_its_holding_open_and_held_by_the_borrower() {
        let report = evaluate(&pledged_share());
        assert_eq!(report.verdict, Verdict::Pass, "{report:#?}");
        assert_eq!(verdict_of(&report, RuleCode::HoldingValid), Verdict::Pass);
        for code in [
            RuleCode::LeaseDisclosed,
            RuleCode::NotInExpropriationZone,
            RuleCode::AlternativeResidence,
        ] {
            assert_eq!(verdict_of(&report, code), Verdict::NotApplicable, "{code}");
        }
        let fails = |change: &dyn Fn(&mut HoldingFacts)| {
            let mut s = pledged_share();
            if let Some(h) = s.right.holding.as_mut() {
                change(h);
            }
            let report = evaluate(&s);
            assert_eq!(report.verdict, Verdict::Fail);
            verdict_of(&report, RuleCode::HoldingValid)
        };
        assert_eq!(
            fails(&|h| h.valid_to = Some(day("2025-03-01"))),
            Verdict::Fail
        );
        assert_eq!(fails(&|h| h.holder_party_id = Some(9)), Verdict::Fail);
        assert_eq!(fails(&|h| h.holder_party_id = None), Verdict::Fail);
        let mut s = pledged_share();
        s.right.holding = None;
        assert_eq!(
            verdict_of(&evaluate(&s), RuleCode::HoldingValid),
            Verdict::Fail
        );
        // Other rights are not concerned.
        assert_eq!(
            verdict_of(&evaluate(&passing()), RuleCode::HoldingValid),
            Verdict::NotApplicable
        );
    }

    #[test]
    fn resident_id_numbers_give_birth_date_and_sex() {
        // The check digit of 11010519491231002 is X (GB 11643's worked example).
        assert_eq!(
            birth_and_sex("11010519491231002X"),
            Some((day("1949-12-31"), Sex::Female))
        );
        assert_eq!(birth_and_sex("110105194912310021"), None, "bad check digit");
        assert_eq!(birth_and_sex("1101051949123"), None);
    }
}
