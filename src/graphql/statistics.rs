//! District statistics (统计): the district's figures, a township's or a village's, counted from
//! the records on every request and grouped by the dimensions the district office reports by.
//! Anonymous callers get every figure but those of cells too small to publish (they would point
//! at a household): those are null, and the response's `extensions.suppressed` says why.

use std::collections::{BTreeMap, HashMap};

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};

use crate::db;
use crate::db::statistics::{AssetCell, Narrow, RevitalizationCell, Scope};
use crate::domain::access::Role;
use crate::domain::assets::{AssetKind, AssetStatus};
use crate::domain::demo_sites::{IndicatorCode, IndicatorUnit};
use crate::domain::loans::LoanStatus;
use crate::domain::revitalization::RevitalizationMode;
use crate::domain::rights::RightKind;
use crate::domain::statistics::{
    AssetDimension, LoanDimension, LoanFacts, LoanTotals, RevitalizationDimension,
    counts_as_revitalized, counts_in_base, public_cell, revitalized_share,
};
use crate::error::AppError;
use crate::graphql::common::context::{PublicCell, Suppressed, caller, db_conn, stored};
use crate::graphql::common::nodes::{CoverageScope, ShareCoverage, Statistics};
use crate::graphql::common::scalars::Long;
use crate::graphql::targets::Target;

/// One status's assets in a group (按状态).
#[derive(SimpleObject)]
pub struct StatusFigures {
    /// The status (状态).
    pub status: AssetStatus,
    /// Assets (资产数); null when too few to publish.
    pub count: Option<i64>,
    /// Floor area in m² (建筑面积); null when too few to publish.
    pub floor_area_square_meters: Option<f64>,
    /// Land area in m² (占地面积); null when too few to publish.
    pub land_area_square_meters: Option<f64>,
}

/// Idle assets of a group (资产统计).
#[derive(SimpleObject)]
pub struct AssetFigures {
    /// The group (分组): a township's or village's division code, a kind, a status, a year
    /// (`2026`) or a month (`2026-03`); empty for the whole scope, or for assets outside every
    /// village.
    pub key: String,
    /// The township's or village's name (名称), when the group is one.
    pub label: Option<String>,
    /// Assets (资产数), every status; null when too few to publish.
    pub count: Option<i64>,
    /// Floor area in m² (建筑面积).
    pub floor_area_square_meters: Option<f64>,
    /// Land area in m² (占地面积).
    pub land_area_square_meters: Option<f64>,
    /// By status, every status listed (按状态).
    pub by_status: Vec<StatusFigures>,
    /// Assets back in use (已盘活): REVITALIZED or RELINQUISHED.
    pub revitalized: Option<i64>,
    /// The revitalized share (资产盘活率): assets REVITALIZED or RELINQUISHED over all assets
    /// not WITHDRAWN; null when there are none, or when too few to publish.
    pub revitalized_share: Option<f64>,
}

/// Revitalizations of a group (盘活统计).
#[derive(SimpleObject)]
pub struct RevitalizationFigures {
    /// The group (分组): a mode, a township's or village's division code, a year (`2026`) or a
    /// month (`2026-03`) of the start date; empty for the whole scope.
    pub key: String,
    /// The township's or village's name (名称), when the group is one.
    pub label: Option<String>,
    /// Revitalization records (盘活记录数).
    pub count: Option<i64>,
    /// Households benefited (受益农户): distinct owners of the assets revitalized.
    pub households_benefited: Option<i64>,
    /// Investment in fen (投资额, 分).
    pub investment_fen: Option<Long>,
    /// Annual rent in fen (年租金, 分).
    pub annual_rent_fen: Option<Long>,
    /// Jobs created (带动就业).
    pub jobs_created: Option<i64>,
}

/// Lending of a group (贷款统计): loans on the rights of the scope's assets. A BANK sees its own
/// business only; ADMIN and CADREs see the district's.
#[derive(SimpleObject)]
pub struct LoanFigures {
    /// The group (分组): a bank's or product's code, a kind of right, a township's or village's
    /// division code, a year (`2026`) or month (`2026-03`) of the first disbursement (loans
    /// never disbursed: empty), a loan status (credit lines: empty); empty for the whole scope.
    pub key: String,
    /// The bank's, product's, township's or village's name (名称), when the group is one.
    pub label: Option<String>,
    /// Applications (申请笔数), every status.
    pub applications: i64,
    /// Amount applied for, in fen (申请金额).
    pub applied_fen: Long,
    /// Approvals (审批通过笔数): applications past the bank's approval (APPROVED, REGISTERED,
    /// DISBURSED, REPAID, DEFAULTED, DISPOSED).
    pub approvals: i64,
    /// Amount approved, in fen (审批金额).
    pub approved_fen: Long,
    /// Loans paid out (放款笔数).
    pub disbursed_loans: i64,
    /// Amount paid out, in fen (放款金额).
    pub disbursed_fen: Long,
    /// Amount repaid, in fen (还款金额).
    pub repaid_fen: Long,
    /// Outstanding (贷款余额): paid out and not repaid, of loans DISBURSED or DEFAULTED; fen.
    pub outstanding_fen: Long,
    /// Loans in default (违约笔数): DEFAULTED or DISPOSED.
    pub defaulted: i64,
    /// What loans in default still owe, in fen (违约余额).
    pub defaulted_fen: Long,
    /// Non-performing loan ratio (不良贷款率): what loans in default owe over all outstanding;
    /// null with nothing outstanding.
    pub npl_ratio: Option<f64>,
    /// Mortgages in force (有效抵押笔数); by year or month of their registration.
    pub active_mortgages: i64,
    /// Amount they secure, in fen (抵押金额).
    pub mortgaged_fen: Long,
    /// Credit lines granted (授信笔数, 见房即授信); by year or month of their grant.
    pub credit_lines: i64,
    /// Amount granted, in fen (授信金额).
    pub credit_line_fen: Long,
}

/// A group's loans, mortgages and credit lines, summed.
#[derive(Default)]
struct LendingGroup {
    loans: LoanTotals,
    mortgages: (i64, i64),
    lines: (i64, i64),
}

impl LendingGroup {
    fn figures(self, key: String, label: Option<String>) -> LoanFigures {
        let l = self.loans;
        LoanFigures {
            key,
            label,
            applications: l.applications,
            applied_fen: Long(l.applied_fen),
            approvals: l.approvals,
            approved_fen: Long(l.approved_fen),
            disbursed_loans: l.disbursed_loans,
            disbursed_fen: Long(l.disbursed_fen),
            repaid_fen: Long(l.repaid_fen),
            outstanding_fen: Long(l.outstanding_fen),
            defaulted: l.defaulted,
            npl_ratio: l.npl_ratio(),
            defaulted_fen: Long(l.defaulted_fen),
            active_mortgages: self.mortgages.0,
            mortgaged_fen: Long(self.mortgages.1),
            credit_lines: self.lines.0,
            credit_line_fen: Long(self.lines.1),
        }
    }
}

/// The lending of `scope` grouped by `dimension` (one group, keyed "", when `None`), as the
/// caller may see it: a BANK its own, ADMIN and CADREs all; anonymous callers none.
async fn lending(
    ctx: &Context<'_>,
    scope: Scope,
    dimension: Option<LoanDimension>,
    filter: LoanFigureFilter,
) -> Result<Vec<LoanFigures>> {
    check_years(filter.disbursement_years.as_deref())?;
    let actor = caller(ctx).actor("loan figures").map_err(AppError::from)?;
    let conn = db_conn(ctx)?;
    let banks = db::credit::banks(conn).await?;
    let bank = match actor.role {
        Role::Bank => {
            let code = actor.bank_code.as_deref().unwrap_or_default();
            // A bank unknown to the registry has no business in it: an id no bank has.
            Some(banks.iter().find(|b| b.code == code).map_or(0, |b| b.id))
        }
        Role::Admin | Role::Cadre => None,
    };
    // The filter, applied to each loan, mortgage and credit line read.
    let bank_codes: HashMap<i64, &str> = banks.iter().map(|b| (b.id, b.code.as_str())).collect();
    let kept = |bank_id: i64, kind: &str, on: Option<&str>| {
        filter.bank_codes.as_ref().is_none_or(|codes| {
            bank_codes
                .get(&bank_id)
                .is_some_and(|c| codes.iter().any(|x| x == c))
        }) && filter
            .right_kinds
            .as_ref()
            .is_none_or(|kinds| kinds.iter().any(|k| k.as_str() == kind))
            && filter.disbursement_years.as_ref().is_none_or(|years| {
                on.is_some_and(|d| years.iter().any(|y| d.starts_with(&y.to_string())))
            })
    };
    let loans: Vec<_> = db::statistics::loans(conn, scope, bank)
        .await?
        .into_iter()
        .filter(|l| kept(l.bank_id, &l.right_kind, l.first_disbursed_on.as_deref()))
        .collect();
    let (mortgages, lines) = db::statistics::pledges(conn, scope, bank).await?;
    let mortgages: Vec<_> = mortgages
        .into_iter()
        .filter(|m| kept(m.bank_id, &m.right_kind, Some(&m.on)))
        .collect();
    let lines: Vec<_> = lines
        .into_iter()
        .filter(|m| kept(m.bank_id, &m.right_kind, Some(&m.on)))
        .collect();
    let products = match dimension {
        Some(LoanDimension::Product) => db::credit::products(conn).await?,
        _ => Vec::new(),
    };
    let places = match dimension {
        Some(LoanDimension::Township | LoanDimension::Village) => Some(Places::load(ctx).await?),
        _ => None,
    };
    let named = |k: Option<i64>| k.map(|v| v.to_string()).unwrap_or_default();
    let key = |bank_id: i64,
               product: Option<i64>,
               kind: &str,
               township: Option<i64>,
               village: Option<i64>,
               on: Option<&str>,
               status: Option<&str>|
     -> (String, Option<String>) {
        let prefix = |len: usize| {
            on.map(|d| d.chars().take(len).collect())
                .unwrap_or_default()
        };
        match dimension {
            None => (String::new(), None),
            Some(LoanDimension::Bank) => match banks.iter().find(|b| b.id == bank_id) {
                Some(b) => (b.code.clone(), Some(b.name.clone())),
                None => (String::new(), None),
            },
            Some(LoanDimension::Product) => match products.iter().find(|p| Some(p.id) == product) {
                Some(p) => (p.code.clone(), Some(p.name.clone())),
                None => (String::new(), None),
            },
            Some(LoanDimension::RightKind) => (kind.to_owned(), None),
            Some(LoanDimension::Township) => match &places {
                Some(p) if township.is_some() => p.name(&named(township), true),
                _ => (String::new(), None),
            },
            Some(LoanDimension::Village) => match &places {
                Some(p) if village.is_some() => p.name(&named(village), false),
                _ => (String::new(), None),
            },
            Some(LoanDimension::DisbursementYear) => (prefix(4), None),
            Some(LoanDimension::DisbursementMonth) => (prefix(7), None),
            Some(LoanDimension::Status) => (status.unwrap_or_default().to_owned(), None),
        }
    };
    let mut groups: BTreeMap<String, (Option<String>, LendingGroup)> = BTreeMap::new();
    for l in &loans {
        let (k, label) = key(
            l.bank_id,
            Some(l.product_id),
            &l.right_kind,
            l.township_id,
            l.village_id,
            l.first_disbursed_on.as_deref(),
            Some(&l.status),
        );
        let facts = LoanFacts {
            status: stored(LoanStatus::parse(&l.status))?,
            amount_fen: l.amount_fen,
            disbursed_fen: l.disbursed_fen,
            repaid_fen: l.repaid_fen,
        };
        groups
            .entry(k)
            .or_insert_with(|| (label, LendingGroup::default()))
            .1
            .loans
            .add(&facts);
    }
    for (rows, mortgage) in [(&mortgages, true), (&lines, false)] {
        for m in rows {
            let (k, label) = key(
                m.bank_id,
                m.product_id,
                &m.right_kind,
                m.township_id,
                m.village_id,
                Some(&m.on),
                m.loan_status.as_deref(),
            );
            let g = &mut groups
                .entry(k)
                .or_insert_with(|| (label, LendingGroup::default()))
                .1;
            let slot = if mortgage {
                &mut g.mortgages
            } else {
                &mut g.lines
            };
            slot.0 += 1;
            slot.1 += m.amount_fen;
        }
    }
    if dimension.is_none() && groups.is_empty() {
        groups.insert(String::new(), (None, LendingGroup::default()));
    }
    Ok(groups
        .into_iter()
        .map(|(k, (label, g))| g.figures(k, label))
        .collect())
}

/// Demonstration sites' indicators of one year, over the sites in the scope (示范点指标汇总).
#[derive(SimpleObject)]
pub struct SiteIndicatorFigures {
    /// Year (年份).
    pub year: i32,
    /// What it measures (指标).
    pub code: IndicatorCode,
    /// Unit (单位); money is in fen.
    pub unit: IndicatorUnit,
    /// The sites' values summed (合计); null for an average (a household's income gain,
    /// per-capita income), which does not add up.
    pub total: Option<Long>,
    /// The mean over the sites reporting it (平均).
    pub mean: f64,
    /// Sites reporting it that year (填报示范点数).
    pub sites: i64,
}

/// Narrows asset figures (资产筛选); each list left out does not narrow.
#[derive(InputObject, Default)]
pub struct AssetFigureFilter {
    /// Only these kinds (资产类型).
    pub kinds: Option<Vec<AssetKind>>,
    /// Only assets registered in these years (登记年份).
    pub registration_years: Option<Vec<i32>>,
}

impl AssetFigureFilter {
    fn narrow(self) -> Result<Narrow> {
        check_years(self.registration_years.as_deref())?;
        Ok(Narrow {
            codes: self
                .kinds
                .unwrap_or_default()
                .into_iter()
                .map(AssetKind::as_str)
                .collect(),
            years: self.registration_years.unwrap_or_default(),
        })
    }
}

/// Narrows revitalization figures (盘活筛选); each list left out does not narrow.
#[derive(InputObject, Default)]
pub struct RevitalizationFigureFilter {
    /// Only these modes (盘活方式).
    pub modes: Option<Vec<RevitalizationMode>>,
    /// Only revitalizations started in these years (起始年份).
    pub start_years: Option<Vec<i32>>,
}

impl RevitalizationFigureFilter {
    fn narrow(self) -> Result<Narrow> {
        check_years(self.start_years.as_deref())?;
        Ok(Narrow {
            codes: self
                .modes
                .unwrap_or_default()
                .into_iter()
                .map(RevitalizationMode::as_str)
                .collect(),
            years: self.start_years.unwrap_or_default(),
        })
    }
}

/// Narrows lending figures (贷款筛选); each list left out does not narrow.
#[derive(InputObject, Default)]
pub struct LoanFigureFilter {
    /// Only these banks, by code (银行).
    pub bank_codes: Option<Vec<String>>,
    /// Only loans on these kinds of right (权利类型).
    pub right_kinds: Option<Vec<RightKind>>,
    /// Only loans first paid out in these years (放款年份); mortgages by their registration,
    /// credit lines by their grant.
    pub disbursement_years: Option<Vec<i32>>,
}

/// Years in a filter: at most 50, each 2000–2100.
fn check_years(years: Option<&[i32]>) -> Result<()> {
    let years = years.unwrap_or_default();
    if years.len() > 50 {
        return Err(AppError::bad_input("at most 50 years in a filter").into());
    }
    if let Some(y) = years.iter().find(|y| !(2000..=2100).contains(*y)) {
        return Err(
            AppError::bad_input(format!("a year in a filter is 2000 to 2100, got {y}")).into(),
        );
    }
    Ok(())
}

/// Who sees what: tokens see every cell, anonymous callers the cells at or above the floor.
struct Publish<'a> {
    ctx: &'a Context<'a>,
    anonymous: bool,
    floor: u32,
}

impl<'a> Publish<'a> {
    fn of(ctx: &'a Context<'a>) -> Self {
        Self {
            ctx,
            anonymous: caller(ctx).is_anonymous(),
            floor: ctx
                .data_opt::<PublicCell>()
                .map_or(crate::domain::statistics::DEFAULT_MIN_PUBLIC_CELL, |p| p.0),
        }
    }

    /// Whether a cell counting `count` is shown; when not, the reason is recorded for the
    /// response's extensions.
    fn shows(&self, count: i64, what: impl FnOnce() -> String) -> bool {
        if !self.anonymous || public_cell(count, self.floor) {
            return true;
        }
        if let Some(s) = self.ctx.data_opt::<Suppressed>() {
            s.push(format!(
                "{} counts fewer than {} and is not published without a token",
                what(),
                self.floor
            ));
        }
        false
    }
}

/// Codes and names of the townships and villages a group key may be.
struct Places {
    townships: HashMap<String, (String, String)>,
    villages: HashMap<String, (String, String)>,
}

impl Places {
    async fn load(ctx: &Context<'_>) -> Result<Places> {
        let conn = db_conn(ctx)?;
        Ok(Places {
            townships: db::places::all_townships(conn)
                .await?
                .into_iter()
                .map(|t| (t.id.to_string(), (t.code, t.name)))
                .collect(),
            villages: db::places::all_villages(conn)
                .await?
                .into_iter()
                .map(|v| (v.id.to_string(), (v.code, v.name)))
                .collect(),
        })
    }

    /// The key as a division code with its name, for a township or village group.
    fn name(&self, key: &str, township: bool) -> (String, Option<String>) {
        let map = if township {
            &self.townships
        } else {
            &self.villages
        };
        match map.get(key) {
            Some((code, name)) => (code.clone(), Some(name.clone())),
            None => (key.to_owned(), None),
        }
    }
}

fn asset_figures(
    publish: &Publish<'_>,
    key: String,
    label: Option<String>,
    cells: &[&AssetCell],
) -> Result<AssetFigures> {
    let named = |k: &str| {
        if k.is_empty() {
            "the total".to_owned()
        } else {
            k.to_owned()
        }
    };
    let parsed = cells
        .iter()
        .map(|c| Ok((stored(AssetStatus::parse(&c.status))?, *c)))
        .collect::<Result<Vec<_>>>()?;
    let mut by_status = Vec::with_capacity(AssetStatus::ALL.len());
    let mut counts = Vec::with_capacity(AssetStatus::ALL.len());
    let (mut count, mut floor, mut land) = (0, 0.0, 0.0);
    for status in AssetStatus::ALL {
        let cell = parsed.iter().find(|(s, _)| s == status).map(|(_, c)| c);
        let (n, f, l) = cell.map_or((0, 0.0, 0.0), |c| (c.count, c.floor_m2, c.land_m2));
        count += n;
        floor += f;
        land += l;
        counts.push((*status, n));
        let shown = publish.shows(n, || format!("{} {status}", named(&key)));
        by_status.push(StatusFigures {
            status: *status,
            count: shown.then_some(n),
            floor_area_square_meters: shown.then_some(f),
            land_area_square_meters: shown.then_some(l),
        });
    }
    let shown = publish.shows(count, || named(&key));
    let revitalized: i64 = counts
        .iter()
        .filter(|(s, _)| counts_as_revitalized(*s))
        .map(|(_, n)| n)
        .sum();
    let base: i64 = counts
        .iter()
        .filter(|(s, _)| counts_in_base(*s))
        .map(|(_, n)| n)
        .sum();
    let share_shown = shown
        && publish.shows(revitalized, || format!("{} revitalized", named(&key)))
        && publish.shows(base, || format!("{} not withdrawn", named(&key)));
    Ok(AssetFigures {
        key,
        label,
        count: shown.then_some(count),
        floor_area_square_meters: shown.then_some(floor),
        land_area_square_meters: shown.then_some(land),
        by_status,
        revitalized: share_shown.then_some(revitalized),
        revitalized_share: if share_shown {
            revitalized_share(&counts)
        } else {
            None
        },
    })
}

fn revitalization_figures(
    publish: &Publish<'_>,
    key: String,
    label: Option<String>,
    cell: &RevitalizationCell,
) -> RevitalizationFigures {
    let what = || {
        if key.is_empty() {
            "the revitalizations".to_owned()
        } else {
            format!("the revitalizations of {key}")
        }
    };
    // A group is published when it covers enough households, so no sum is one household's.
    let shown = publish.shows(cell.households, what);
    RevitalizationFigures {
        label,
        count: shown.then_some(cell.count),
        households_benefited: shown.then_some(cell.households),
        investment_fen: shown.then_some(Long(cell.investment_fen)),
        annual_rent_fen: shown.then_some(Long(cell.annual_rent_fen)),
        jobs_created: shown.then_some(cell.jobs_created),
        key,
    }
}

/// The figures of the district, a township or a village (统计数据), counted from the records on
/// every request, so they never drift from them. Without a token, cells counting fewer than
/// `MIN_PUBLIC_CELL` assets or households are null; `extensions.suppressed` lists them.
#[Object]
impl Statistics {
    /// Idle assets in the scope (资产总量): counts, areas, by status, and the revitalized share.
    async fn assets(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these assets (筛选).")] filter: Option<AssetFigureFilter>,
    ) -> Result<AssetFigures> {
        let narrow = filter.unwrap_or_default().narrow()?;
        let cells = db::statistics::assets(db_conn(ctx)?, self.0, None, &narrow).await?;
        let all: Vec<&AssetCell> = cells.iter().collect();
        asset_figures(&Publish::of(ctx), String::new(), None, &all)
    }

    /// Idle assets grouped by `dimension` (资产分组统计), groups in key order; a group with no
    /// asset is not listed.
    async fn assets_by(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to group by (分组维度).")] dimension: AssetDimension,
        #[graphql(desc = "Only these assets (筛选).")] filter: Option<AssetFigureFilter>,
    ) -> Result<Vec<AssetFigures>> {
        let narrow = filter.unwrap_or_default().narrow()?;
        let cells = db::statistics::assets(db_conn(ctx)?, self.0, Some(dimension), &narrow).await?;
        let places = match dimension {
            AssetDimension::Township | AssetDimension::Village => Some(Places::load(ctx).await?),
            _ => None,
        };
        let mut groups: Vec<(String, Vec<&AssetCell>)> = Vec::new();
        for c in &cells {
            match groups.last_mut() {
                Some((k, v)) if *k == c.key => v.push(c),
                _ => groups.push((c.key.clone(), vec![c])),
            }
        }
        if dimension == AssetDimension::Kind {
            for (k, _) in &groups {
                stored(AssetKind::parse(k))?;
            }
        }
        let publish = Publish::of(ctx);
        let mut out = Vec::with_capacity(groups.len());
        for (key, cells) in groups {
            let (key, label) = match &places {
                Some(p) => p.name(&key, dimension == AssetDimension::Township),
                None => (key, None),
            };
            out.push(asset_figures(&publish, key, label, &cells)?);
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Revitalizations of the scope's assets (盘活总量): records, households benefited,
    /// investment, rent and jobs.
    async fn revitalizations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these revitalizations (筛选).")] filter: Option<
            RevitalizationFigureFilter,
        >,
    ) -> Result<RevitalizationFigures> {
        let narrow = filter.unwrap_or_default().narrow()?;
        let cells = db::statistics::revitalizations(db_conn(ctx)?, self.0, None, &narrow).await?;
        let empty = RevitalizationCell {
            key: String::new(),
            count: 0,
            households: 0,
            investment_fen: 0,
            annual_rent_fen: 0,
            jobs_created: 0,
        };
        let cell = cells.first().unwrap_or(&empty);
        Ok(revitalization_figures(
            &Publish::of(ctx),
            String::new(),
            None,
            cell,
        ))
    }

    /// Revitalizations grouped by `dimension` (盘活分组统计), groups in key order.
    async fn revitalizations_by(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to group by (分组维度).")] dimension: RevitalizationDimension,
        #[graphql(desc = "Only these revitalizations (筛选).")] filter: Option<
            RevitalizationFigureFilter,
        >,
    ) -> Result<Vec<RevitalizationFigures>> {
        let narrow = filter.unwrap_or_default().narrow()?;
        let cells =
            db::statistics::revitalizations(db_conn(ctx)?, self.0, Some(dimension), &narrow)
                .await?;
        let places = match dimension {
            RevitalizationDimension::Township | RevitalizationDimension::Village => {
                Some(Places::load(ctx).await?)
            }
            _ => None,
        };
        if dimension == RevitalizationDimension::Mode {
            for c in &cells {
                stored(RevitalizationMode::parse(&c.key))?;
            }
        }
        let publish = Publish::of(ctx);
        let mut out: Vec<RevitalizationFigures> = cells
            .iter()
            .map(|c| {
                let (key, label) = match &places {
                    Some(p) => p.name(&c.key, dimension == RevitalizationDimension::Township),
                    None => (c.key.clone(), None),
                };
                revitalization_figures(&publish, key, label, c)
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Lending on the rights of the scope's assets (贷款统计): applications, approvals,
    /// disbursed, repaid, outstanding, defaulted with the NPL ratio, mortgages in force and
    /// credit lines. A token is needed; a BANK sees its own business only.
    async fn loans(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these loans (筛选).")] filter: Option<LoanFigureFilter>,
    ) -> Result<LoanFigures> {
        lending(ctx, self.0, None, filter.unwrap_or_default())
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AppError::internal("the total of lending is missing").into())
    }

    /// Lending grouped by `dimension` (贷款分组统计), groups in key order. A token is needed;
    /// a BANK sees its own business only.
    async fn loans_by(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to group by (分组维度).")] dimension: LoanDimension,
        #[graphql(desc = "Only these loans (筛选).")] filter: Option<LoanFigureFilter>,
    ) -> Result<Vec<LoanFigures>> {
        lending(ctx, self.0, Some(dimension), filter.unwrap_or_default()).await
    }

    /// The demonstration sites' yearly indicators over the scope (示范点指标汇总): summed by
    /// year and indicator (averaged where they are averages), oldest year first. Public.
    async fn site_indicators(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these years (年份).")] years: Option<Vec<i32>>,
    ) -> Result<Vec<SiteIndicatorFigures>> {
        db::statistics::site_indicators(db_conn(ctx)?, self.0, years.as_deref())
            .await?
            .into_iter()
            .map(|(year, code, total, sites)| {
                let code = stored(IndicatorCode::parse(&code))?;
                Ok(SiteIndicatorFigures {
                    year,
                    code,
                    unit: code.unit(),
                    total: code.is_additive().then_some(Long(total)),
                    mean: if sites > 0 {
                        total as f64 / sites as f64
                    } else {
                        0.0
                    },
                    sites,
                })
            })
            .collect()
    }

    /// The scope's own targets (目标任务) with their progress, of a year or of every year.
    /// ADMIN and CADRE tokens.
    async fn targets(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this year's (年度).")] year: Option<i32>,
    ) -> Result<Vec<Target>> {
        crate::graphql::targets::of_scope(ctx, self.0, year).await
    }

    /// The "three changes" (三变) in the scope: organisations, member and shareholder
    /// households, shares by class, contributions and dividends paid per year.
    async fn shares(&self) -> ShareCoverage {
        ShareCoverage(match self.0 {
            Scope::District => CoverageScope::District,
            Scope::Township(t) => CoverageScope::Township(t),
            Scope::Village(v) => CoverageScope::Village(v),
        })
    }
}

/// The district at a glance (全区概览).
#[derive(Default)]
pub struct StatisticsQuery;

#[Object]
impl StatisticsQuery {
    /// The district's figures (全区统计): assets, revitalizations and the "three changes", by
    /// township, village, kind, status, year or month. Public, small cells suppressed without a
    /// token.
    async fn district(&self) -> Statistics {
        Statistics(Scope::District)
    }
}
