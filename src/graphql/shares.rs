//! The "three changes" (三变) and the collective shareholding reform: organisations, members,
//! share classes, holdings and their changes, contributions, distributions and payouts; the
//! household's statement and the coverage figures; and the mutations that write the register.
//!
//! Access: an organisation, its share classes, its distributions' totals and the coverage
//! figures are public (村务公开). Who is a member, who holds what and who was paid what is
//! personal data: the district office, the cadres of the organisation's township, and a bank
//! for its own borrowers (on `Party.shareStatement`). A CADRE writes in its own township.

use std::collections::BTreeMap;

use async_graphql::connection::Connection;
use async_graphql::dataloader::DataLoader;
use async_graphql::{
    Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject, Union,
};
use chrono::{DateTime, NaiveDate, Utc};

use crate::db;
use crate::db::entities::{
    collective_member, collective_organization, distribution, distribution_class, payout,
    share_change, share_class, share_holding,
};
use crate::domain::access::Actor;
use crate::domain::period::Period;
use crate::domain::shares::{
    CollectiveKind, ContributionDraft, ContributionKind, DividendSplit, FundSource, Holder,
    HoldingPolicyKind, MemberDraft, MembershipBasis, NewHolding, OrganizationDraft, PayoutMethod,
    ShareChangeKind, ShareClassDraft, ShareClassKind, Shares, not_future,
};
use crate::error::AppError;
use crate::graphql::audit::{AuditEvent, audit_connection, history_of};
use crate::graphql::common::context::{author, caller, db_conn, stored, today};
use crate::graphql::common::ids::{self, Kind};
use crate::graphql::common::loaders::{
    AssetKey, ClosedBy, DbLoader, DistributionKey, HoldingKey, OpenedBy, OrganizationKey, PartyKey,
    RevitalizationKey, RightKey, ShareChangeKey, ShareClassKey,
};
use crate::graphql::common::nodes::{
    CollectiveOrganization, Contribution, CoverageScope, IdleAsset, Party, PropertyRight,
    Revitalization, ShareCoverage, ShareStatement, Township, Village,
};
use crate::graphql::common::paging::{ListTotal, PageRequest, encode_cursor};
use crate::graphql::common::scalars::Long;
use crate::graphql::parties::party_id;
use crate::services::shares::{
    self as service, ChangeRequest, ContributionRequest, Declaration, Opening, ShareError,
};

// ---------------------------------------------------------------------------------------------
// Errors and access

/// The client's error for a refused write: the rule's code and its message, with the register's
/// records named by their global IDs.
fn refused(err: ShareError) -> async_graphql::Error {
    match (err.code(), err) {
        (Some(code), err) => AppError::new(code, name_records(&err.to_string())).into(),
        (None, ShareError::Store(e)) => AppError::from(e).into(),
        (None, err) => AppError::internal(err.to_string()).into(),
    }
}

/// Rewrites "holding 12", "class 3", "party 101", … into the records' global IDs.
fn name_records(message: &str) -> String {
    const NAMES: [(&str, Kind); 9] = [
        ("holding ", Kind::ShareHolding),
        ("class ", Kind::ShareClass),
        ("party ", Kind::Party),
        ("payout ", Kind::Payout),
        ("membership ", Kind::Member),
        ("organisation ", Kind::CollectiveOrganization),
        ("distribution ", Kind::Distribution),
        ("revitalization ", Kind::Revitalization),
        ("contribution ", Kind::Contribution),
    ];
    let mut out = String::with_capacity(message.len() + 32);
    let mut rest = message;
    'outer: while !rest.is_empty() {
        for (word, kind) in NAMES {
            if let Some(tail) = rest.strip_prefix(word) {
                let digits = tail.chars().take_while(char::is_ascii_digit).count();
                if digits > 0
                    && let Ok(n) = tail[..digits].parse::<i64>()
                {
                    out.push_str(word);
                    out.push_str(kind.id(n).as_str());
                    rest = &tail[digits..];
                    continue 'outer;
                }
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The township of an organisation's village.
async fn township_of(ctx: &Context<'_>, org: &collective_organization::Model) -> Result<i64> {
    Village::load(ctx, Some(org.village_id))
        .await?
        .map(|v| v.0.township_id)
        .ok_or_else(|| AppError::internal("an organisation's village is missing").into())
}

/// Writing an organisation's register: ADMIN, or a CADRE of its township.
async fn may_write<'a>(
    ctx: &Context<'a>,
    org: &collective_organization::Model,
) -> Result<&'a Actor> {
    let township = township_of(ctx, org).await?;
    Ok(caller(ctx).may_write_in(township).map_err(AppError::from)?)
}

/// Reading who is a member and who holds what: personal data of the organisation's township.
async fn may_see_register(ctx: &Context<'_>, org: &collective_organization::Model) -> Result<()> {
    let township = township_of(ctx, org).await?;
    caller(ctx)
        .may_see_personal_data(Some(township))
        .map_err(|d| AppError::from(d).into())
}

/// The holdings a change opened or closed, through the request's loader.
async fn holdings_of_change<K>(ctx: &Context<'_>, key: K) -> Result<Vec<ShareHolding>>
where
    DbLoader: async_graphql::dataloader::Loader<
            K,
            Value = Vec<share_holding::Model>,
            Error = crate::db::StoreError,
        >,
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
{
    Ok(ctx
        .data::<DataLoader<DbLoader>>()?
        .load_one(key)
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(ShareHolding)
        .collect())
}

async fn organization_by_id(ctx: &Context<'_>, id: i64) -> Result<collective_organization::Model> {
    ctx.data::<DataLoader<DbLoader>>()?
        .load_one(OrganizationKey(id))
        .await?
        .ok_or_else(|| {
            AppError::not_found("no collective economic organisation has this ID").into()
        })
}

async fn organization(ctx: &Context<'_>, id: &ID) -> Result<collective_organization::Model> {
    organization_by_id(ctx, ids::decode_as(id, Kind::CollectiveOrganization)?).await
}

fn shares_of(hundredths: i64) -> String {
    Shares::from_hundredths(hundredths).to_string()
}

fn parse_shares(text: &str, field: &str) -> Result<Shares> {
    Shares::parse(text).map_err(|e| AppError::bad_input(format!("`{field}`: {e}")).into())
}

async fn load_party(ctx: &Context<'_>, id: Option<i64>) -> Result<Option<Party>> {
    let Some(id) = id else { return Ok(None) };
    Ok(ctx
        .data::<DataLoader<DbLoader>>()?
        .load_one(PartyKey(id))
        .await?
        .map(Party))
}

// ---------------------------------------------------------------------------------------------
// Types

/// A collective economic organisation (农村集体经济组织): a village's stock or economic
/// cooperative, a professional cooperative or an enterprise issuing shares. It is a `Party`, so
/// rights, revitalizations and loans naming it keep working.
#[Object]
impl CollectiveOrganization {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::CollectiveOrganization.id(self.0.id)
    }

    /// The organisation as a party (权利人): rights, revitalizations and loans name it so.
    async fn party(&self, ctx: &Context<'_>) -> Result<Party> {
        load_party(ctx, Some(self.0.party_id))
            .await?
            .ok_or_else(|| AppError::internal("an organisation's party is missing").into())
    }

    /// Name (名称), e.g. 白家村股份经济合作社.
    async fn name(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.party(ctx).await?.0.name)
    }

    /// Unified social credit code (统一社会信用代码).
    async fn credit_code(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.party(ctx).await?.0.credit_code)
    }

    /// Kind (组织类型).
    async fn kind(&self) -> Result<CollectiveKind> {
        stored(CollectiveKind::parse(&self.0.kind))
    }

    /// The village it belongs to (所属村).
    async fn village(&self, ctx: &Context<'_>) -> Result<Village> {
        Village::load(ctx, Some(self.0.village_id))
            .await?
            .ok_or_else(|| AppError::internal("an organisation's village is missing").into())
    }

    /// The township (乡镇).
    async fn township(&self, ctx: &Context<'_>) -> Result<Township> {
        Township::load(ctx, township_of(ctx, &self.0).await?).await
    }

    /// Registered on (登记日期).
    async fn registered_on(&self) -> NaiveDate {
        self.0.registered_on
    }

    /// Whether the shareholding reform is complete (股份合作制改革完成).
    async fn reform_completed(&self) -> bool {
        self.0.reform_completed_on.is_some()
    }

    /// When the shareholding reform was completed (改革完成日期).
    async fn reform_completed_on(&self) -> Option<NaiveDate> {
        self.0.reform_completed_on
    }

    /// How holdings are managed (股权管理方式): STATIC, "增人不增、减人不减", unless ADJUSTED.
    async fn holding_policy(&self) -> Result<HoldingPolicyKind> {
        stored(HoldingPolicyKind::parse(&self.0.holding_policy))
    }

    /// Under an ADJUSTED policy, every how many years holdings are adjusted (调整周期).
    async fn adjust_every_years(&self) -> Option<i32> {
        self.0.adjust_every_years
    }

    /// The part of each year's distributable income kept as reserves and welfare (公积公益金
    /// 提取比例), in basis points (10 000 = all).
    async fn reserve_bp(&self) -> i32 {
        self.0.reserve_bp
    }

    /// How the amount for holders is divided between share classes (分配方式).
    async fn dividend_split(&self) -> Result<DividendSplit> {
        stored(DividendSplit::parse(&self.0.dividend_split))
    }

    /// Share classes (股种), with the shares issued and held.
    async fn share_classes(&self, ctx: &Context<'_>) -> Result<Vec<ShareClass>> {
        Ok(db::shares::classes_of(db_conn(ctx)?, &[self.0.id])
            .await?
            .remove(&self.0.id)
            .unwrap_or_default()
            .into_iter()
            .map(ShareClass)
            .collect())
    }

    /// Members (成员), in the order recorded; only those current on `currentOn` when given.
    /// Personal data: the district office and the cadres of the township.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only members on this day (在册日期).")] current_on: Option<NaiveDate>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Member, ListTotal>> {
        may_see_register(ctx, &self.0).await?;
        let page = PageRequest::new("ID", first, after, last, before)?;
        let rows = db::shares::members_page(
            db_conn(ctx)?,
            self.0.id,
            current_on,
            page.after_id(),
            page.backward,
            page.fetch(),
        )
        .await?;
        Ok(page.connection(
            rows,
            |m| encode_cursor("ID", "", m.id),
            Member,
            ListTotal::Members(self.0.id, current_on),
        ))
    }

    /// Holdings (股权) open on `on` (today unless given), in the order opened. Personal data:
    /// the district office and the cadres of the township.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    async fn holdings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The day (日期); today unless given.")] on: Option<NaiveDate>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, ShareHolding, ListTotal>> {
        may_see_register(ctx, &self.0).await?;
        let day = on.unwrap_or_else(today);
        let page = PageRequest::new("ID", first, after, last, before)?;
        let rows = db::shares::holdings_page(
            db_conn(ctx)?,
            self.0.id,
            day,
            page.after_id(),
            page.backward,
            page.fetch(),
        )
        .await?;
        Ok(page.connection(
            rows,
            |h| encode_cursor("ID", "", h.id),
            ShareHolding,
            ListTotal::Holdings(self.0.id, day),
        ))
    }

    /// The latest changes of the holdings (股权变更), newest first; at most 100.
    async fn share_changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> Result<Vec<ShareChange>> {
        may_see_register(ctx, &self.0).await?;
        let limit = u64::try_from(first.clamp(1, 100)).unwrap_or(20);
        Ok(db::shares::changes_of(db_conn(ctx)?, self.0.id, limit)
            .await?
            .into_iter()
            .map(ShareChange)
            .collect())
    }

    /// What was turned into shares (入股), in the order recorded. Needs a token.
    async fn contributions(&self, ctx: &Context<'_>) -> Result<Vec<Contribution>> {
        caller(ctx)
            .may_read_details("contributions")
            .map_err(AppError::from)?;
        Ok(db::shares::contributions_of(db_conn(ctx)?, &[self.0.id])
            .await?
            .into_iter()
            .map(Contribution)
            .collect())
    }

    /// Distributions (收益分配), by year.
    async fn distributions(&self, ctx: &Context<'_>) -> Result<Vec<Distribution>> {
        Ok(db::shares::distributions_of(db_conn(ctx)?, &[self.0.id])
            .await?
            .into_iter()
            .map(Distribution)
            .collect())
    }

    /// The distribution of one year (年度收益分配), if declared.
    async fn distribution(&self, ctx: &Context<'_>, year: i32) -> Result<Option<Distribution>> {
        Ok(
            db::shares::distribution_of_year(db_conn(ctx)?, self.0.id, year)
                .await?
                .map(Distribution),
        )
    }

    /// The organisation's figures (三变 指标).
    async fn coverage(&self) -> ShareCoverage {
        ShareCoverage(CoverageScope::Organization(self.0.id))
    }

    /// Version for optimistic locking (版本号).
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Every change to the organisation's own record, oldest first (变更记录). Needs a token.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, AuditEvent, ListTotal>> {
        caller(ctx)
            .may_read_details("an organisation's history")
            .map_err(AppError::from)?;
        Box::pin(audit_connection(
            ctx,
            history_of("collective_organization", self.0.id),
            first,
            after,
            last,
            before,
        ))
        .await
    }
}

pub struct Member(pub collective_member::Model);

/// A membership of a collective (成员资格): a household, from joining until leaving.
#[Object]
impl Member {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::Member.id(self.0.id)
    }

    /// The member household (成员户).
    async fn party(&self, ctx: &Context<'_>) -> Result<Party> {
        load_party(ctx, Some(self.0.party_id))
            .await?
            .ok_or_else(|| AppError::internal("a member's party is missing").into())
    }

    /// The organisation (集体经济组织).
    async fn organization(&self, ctx: &Context<'_>) -> Result<CollectiveOrganization> {
        Ok(CollectiveOrganization(
            organization_by_id(ctx, self.0.organization_id).await?,
        ))
    }

    /// How membership was acquired (成员身份取得方式).
    async fn basis(&self) -> Result<MembershipBasis> {
        stored(MembershipBasis::parse(&self.0.basis))
    }

    /// Joined on (取得成员身份日期).
    async fn joined_on(&self) -> NaiveDate {
        self.0.joined_on
    }

    /// Left on (丧失成员身份日期), if the membership ended.
    async fn left_on(&self) -> Option<NaiveDate> {
        self.0.left_on
    }

    /// Why the membership ended (丧失原因).
    async fn left_reason(&self) -> Option<&str> {
        self.0.left_reason.as_deref()
    }

    /// The source document (认定依据), e.g. the members' assembly resolution.
    async fn document(&self) -> Option<&str> {
        self.0.document.as_deref()
    }

    /// Version for optimistic locking (版本号).
    async fn version(&self) -> i32 {
        self.0.version
    }
}

pub struct ShareClass(pub share_class::Model);

/// A class of shares (股种) of an organisation.
#[Object]
impl ShareClass {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::ShareClass.id(self.0.id)
    }

    /// Kind (股份类别).
    async fn kind(&self) -> Result<ShareClassKind> {
        stored(ShareClassKind::parse(&self.0.kind))
    }

    /// Name (名称), e.g. 人口股.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Shares issued for the class (总股本), a decimal with two places such as "1200.00";
    /// holdings of the class never total more.
    async fn issued(&self) -> String {
        shares_of(self.0.issued_hundredths)
    }

    /// Shares of the class held today (已持有), a decimal with two places.
    async fn held(&self, ctx: &Context<'_>) -> Result<String> {
        let totals =
            db::shares::open_shares_by_class(db_conn(ctx)?, &[self.0.organization_id], today())
                .await?;
        let held = totals
            .iter()
            .find(|(c, _)| *c == self.0.id)
            .map_or(0, |(_, n)| *n);
        Ok(shares_of(held))
    }

    /// Under a BY_CLASS_WEIGHT split, the class's part of the amount for holders, in basis
    /// points (分配比例).
    async fn weight_bp(&self) -> Option<i32> {
        self.0.weight_bp
    }
}

pub struct ShareHolding(pub share_holding::Model);

/// A holding (股权): a number of shares of one class held by a member household or by the
/// organisation itself (集体股), from `validFrom` until `validTo`. Never edited: a change closes
/// it and opens new ones.
#[Object]
impl ShareHolding {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::ShareHolding.id(self.0.id)
    }

    /// The holder household (持股成员); null for collective shares held by the organisation.
    async fn holder(&self, ctx: &Context<'_>) -> Result<Option<Party>> {
        load_party(ctx, self.0.holder_party_id).await
    }

    /// Whether the organisation itself holds it (集体股).
    async fn held_by_organization(&self) -> bool {
        self.0.holder_party_id.is_none()
    }

    /// The organisation (集体经济组织).
    async fn organization(&self, ctx: &Context<'_>) -> Result<CollectiveOrganization> {
        Ok(CollectiveOrganization(
            organization_by_id(ctx, self.0.organization_id).await?,
        ))
    }

    /// The class (股种).
    async fn share_class(&self, ctx: &Context<'_>) -> Result<ShareClass> {
        ctx.data::<DataLoader<DbLoader>>()?
            .load_one(ShareClassKey(self.0.class_id))
            .await?
            .map(ShareClass)
            .ok_or_else(|| AppError::internal("a holding's class is missing").into())
    }

    /// Number of shares (股数), a decimal with two places.
    async fn shares(&self) -> String {
        shares_of(self.0.shares_hundredths)
    }

    /// Certificate number (股权证号).
    async fn certificate_no(&self) -> Option<&str> {
        self.0.certificate_no.as_deref()
    }

    /// Valid from (起始日期).
    async fn valid_from(&self) -> NaiveDate {
        self.0.valid_from
    }

    /// Valid until, exclusive (终止日期); null while held.
    async fn valid_to(&self) -> Option<NaiveDate> {
        self.0.valid_to
    }

    /// The change that opened it (产生的变更).
    async fn opened_by(&self, ctx: &Context<'_>) -> Result<ShareChange> {
        ctx.data::<DataLoader<DbLoader>>()?
            .load_one(ShareChangeKey(self.0.opened_by))
            .await?
            .map(ShareChange)
            .ok_or_else(|| AppError::internal("a holding's change is missing").into())
    }

    /// The change that closed it (终止的变更), if closed.
    async fn closed_by(&self, ctx: &Context<'_>) -> Result<Option<ShareChange>> {
        let Some(id) = self.0.closed_by else {
            return Ok(None);
        };
        Ok(ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(ShareChangeKey(id))
            .await?
            .map(ShareChange))
    }
}

pub struct ShareChange(pub share_change::Model);

/// A change of holdings (股权变更): the holdings it closed and those it opened.
#[Object]
impl ShareChange {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::ShareChange.id(self.0.id)
    }

    /// Kind (变更类型).
    async fn kind(&self) -> Result<ShareChangeKind> {
        stored(ShareChangeKind::parse(&self.0.kind))
    }

    /// The day it took effect (变更日期).
    async fn occurred_on(&self) -> NaiveDate {
        self.0.occurred_on
    }

    /// Reason (变更原因).
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }

    /// Document (依据文件), e.g. a members' assembly resolution or a will.
    async fn document(&self) -> Option<&str> {
        self.0.document.as_deref()
    }

    /// Who recorded it (登记人).
    async fn recorded_by(&self) -> &str {
        &self.0.recorded_by
    }

    /// The holdings it closed (终止的股权).
    async fn closed(&self, ctx: &Context<'_>) -> Result<Vec<ShareHolding>> {
        holdings_of_change(ctx, ClosedBy(self.0.id)).await
    }

    /// The holdings it opened (新增的股权).
    async fn opened(&self, ctx: &Context<'_>) -> Result<Vec<ShareHolding>> {
        holdings_of_change(ctx, OpenedBy(self.0.id)).await
    }
}

/// What was contributed (入股标的).
#[derive(Union)]
pub enum Contributed {
    IdleAsset(IdleAsset),
    PropertyRight(PropertyRight),
    Funds(Funds),
}

/// Funds made into shares (资金变股金).
#[derive(SimpleObject)]
pub struct Funds {
    /// Where they came from (资金来源).
    pub source: FundSource,
}

/// What was turned into shares (入股): an idle asset, a land right or funds, its appraised
/// value, and the shares issued for it and to whom.
#[Object]
impl Contribution {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::Contribution.id(self.0.id)
    }

    /// Kind (入股类型).
    async fn kind(&self) -> Result<ContributionKind> {
        stored(ContributionKind::parse(&self.0.kind))
    }

    /// The contributor (入股人); null when the organisation itself contributed (e.g. fiscal
    /// funds held as collective shares).
    async fn contributor(&self, ctx: &Context<'_>) -> Result<Option<Party>> {
        load_party(ctx, self.0.contributor_party_id).await
    }

    /// The organisation the shares are of (入股对象).
    async fn organization(&self, ctx: &Context<'_>) -> Result<CollectiveOrganization> {
        Ok(CollectiveOrganization(
            organization_by_id(ctx, self.0.organization_id).await?,
        ))
    }

    /// What was contributed: an idle asset, a property right, or funds.
    async fn contributed(&self, ctx: &Context<'_>) -> Result<Option<Contributed>> {
        let loader = ctx.data::<DataLoader<DbLoader>>()?;
        if let Some(a) = self.0.asset_id {
            return Ok(loader
                .load_one(AssetKey(a))
                .await?
                .map(|m| Contributed::IdleAsset(IdleAsset::from(m))));
        }
        if let Some(r) = self.0.right_id {
            return Ok(loader
                .load_one(RightKey(r))
                .await?
                .map(|m| Contributed::PropertyRight(PropertyRight(m))));
        }
        Ok(match self.0.fund_source.as_deref() {
            Some(source) => Some(Contributed::Funds(Funds {
                source: stored(FundSource::parse(source))?,
            })),
            None => None,
        })
    }

    /// The EQUITY_CONTRIBUTION revitalization it comes from (盘活记录), if any.
    async fn revitalization(&self, ctx: &Context<'_>) -> Result<Option<Revitalization>> {
        let Some(id) = self.0.revitalization_id else {
            return Ok(None);
        };
        Ok(ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(RevitalizationKey(id))
            .await?
            .map(Revitalization))
    }

    /// Description (说明).
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Appraised value in fen (评估作价, 分).
    async fn appraised_value_fen(&self) -> Long {
        Long(self.0.appraised_value_fen)
    }

    /// Contributed on (入股日期).
    async fn contributed_on(&self) -> NaiveDate {
        self.0.contributed_on
    }

    /// The class of the shares issued for it (股种).
    async fn share_class(&self, ctx: &Context<'_>) -> Result<ShareClass> {
        ctx.data::<DataLoader<DbLoader>>()?
            .load_one(ShareClassKey(self.0.class_id))
            .await?
            .map(ShareClass)
            .ok_or_else(|| AppError::internal("a contribution's class is missing").into())
    }

    /// Shares issued for it (折股数), a decimal with two places.
    async fn shares(&self) -> String {
        shares_of(self.0.shares_hundredths)
    }

    /// The holding opened for it (入股形成的股权).
    async fn holdings(&self, ctx: &Context<'_>) -> Result<Vec<ShareHolding>> {
        holdings_of_change(ctx, OpenedBy(self.0.change_id)).await
    }
}

pub struct Distribution(pub distribution::Model);

/// A year's distribution of income (年度收益分配). Rounding: the reserve is rounded down; the
/// rest is shared by the largest remainder method (each payout is the floor of its exact share,
/// and the fen left over go one each to the largest remainders, ties to the older holding), so
/// payouts sum exactly to `holdersFen` and each lies within 1 fen of its exact share.
#[Object]
impl Distribution {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::Distribution.id(self.0.id)
    }

    /// The organisation (集体经济组织).
    async fn organization(&self, ctx: &Context<'_>) -> Result<CollectiveOrganization> {
        Ok(CollectiveOrganization(
            organization_by_id(ctx, self.0.organization_id).await?,
        ))
    }

    /// The year whose income is distributed (分配年度).
    async fn year(&self) -> i32 {
        self.0.year
    }

    /// Declared on (宣告日期).
    async fn declared_on(&self) -> NaiveDate {
        self.0.declared_on
    }

    /// The day whose holdings are paid (股权登记日).
    async fn record_date(&self) -> NaiveDate {
        self.0.record_date
    }

    /// Distributable income in fen (可分配收益, 分).
    async fn distributable_fen(&self) -> Long {
        Long(self.0.distributable_fen)
    }

    /// The reserve rate applied (公积公益金提取比例), basis points.
    async fn reserve_bp(&self) -> i32 {
        self.0.reserve_bp
    }

    /// Kept as reserves and welfare in fen (提取公积公益金, 分), rounded down.
    async fn reserve_fen(&self) -> Long {
        Long(self.0.reserve_fen)
    }

    /// Paid out to holdings in fen (分红总额, 分): the payouts sum to exactly this.
    async fn holders_fen(&self) -> Long {
        Long(self.0.holders_fen)
    }

    /// How it was divided between classes (分配方式).
    async fn split(&self) -> Result<DividendSplit> {
        stored(DividendSplit::parse(&self.0.split))
    }

    /// Document (分配方案文件).
    async fn document(&self) -> Option<&str> {
        self.0.document.as_deref()
    }

    /// What each class received (各股种分配额).
    async fn classes(&self, ctx: &Context<'_>) -> Result<Vec<ClassDistribution>> {
        Ok(
            db::shares::distribution_classes(db_conn(ctx)?, &[self.0.id])
                .await?
                .remove(&self.0.id)
                .unwrap_or_default()
                .into_iter()
                .map(ClassDistribution)
                .collect(),
        )
    }

    /// Payouts marked paid and their sum (已发放).
    async fn paid(&self, ctx: &Context<'_>) -> Result<PaidFigures> {
        let (count, fen, households) =
            db::shares::paid_by_distribution(db_conn(ctx)?, &[self.0.id])
                .await?
                .remove(&self.0.id)
                .unwrap_or_default();
        Ok(PaidFigures {
            payouts: count,
            fen: Long(fen),
            households,
        })
    }

    /// One payout per holding (分红明细), in holding order. Personal data: the district office
    /// and the cadres of the township.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    async fn payouts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, PayoutNode, ListTotal>> {
        let org = organization_by_id(ctx, self.0.organization_id).await?;
        may_see_register(ctx, &org).await?;
        let page = PageRequest::new("ID", first, after, last, before)?;
        let rows = db::shares::payouts_page(
            db_conn(ctx)?,
            self.0.id,
            page.after_id(),
            page.backward,
            page.fetch(),
        )
        .await?;
        Ok(page.connection(
            rows,
            |p| encode_cursor("ID", "", p.id),
            PayoutNode,
            ListTotal::Payouts(self.0.id),
        ))
    }

    /// Version for optimistic locking (版本号).
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// Payouts marked paid (已发放).
#[derive(SimpleObject)]
pub struct PaidFigures {
    /// How many payouts (笔数).
    pub payouts: i64,
    /// Their sum in fen (金额, 分).
    pub fen: Long,
    /// Households paid (户数).
    pub households: i64,
}

pub struct ClassDistribution(distribution_class::Model);

/// What one class received from a distribution (股种分配额).
#[Object]
impl ClassDistribution {
    /// The class (股种).
    async fn share_class(&self, ctx: &Context<'_>) -> Result<ShareClass> {
        ctx.data::<DataLoader<DbLoader>>()?
            .load_one(ShareClassKey(self.0.class_id))
            .await?
            .map(ShareClass)
            .ok_or_else(|| AppError::internal("a distribution's class is missing").into())
    }

    /// Its weight in the plan (分配比例), basis points, under BY_CLASS_WEIGHT.
    async fn weight_bp(&self) -> Option<i32> {
        self.0.weight_bp
    }

    /// Its amount in fen (分配额, 分).
    async fn fen(&self) -> Long {
        Long(self.0.fen)
    }
}

#[derive(Clone)]
pub struct PayoutNode(pub payout::Model);

/// What one holding received from a distribution (分红).
#[Object(name = "Payout")]
impl PayoutNode {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::Payout.id(self.0.id)
    }

    /// The distribution (收益分配).
    async fn distribution(&self, ctx: &Context<'_>) -> Result<Distribution> {
        ctx.data::<DataLoader<DbLoader>>()?
            .load_one(DistributionKey(self.0.distribution_id))
            .await?
            .map(Distribution)
            .ok_or_else(|| AppError::internal("a payout's distribution is missing").into())
    }

    /// The holding paid (股权).
    async fn holding(&self, ctx: &Context<'_>) -> Result<ShareHolding> {
        ctx.data::<DataLoader<DbLoader>>()?
            .load_one(HoldingKey(self.0.holding_id))
            .await?
            .map(ShareHolding)
            .ok_or_else(|| AppError::internal("a payout's holding is missing").into())
    }

    /// The household paid (收款户); null for collective shares.
    async fn holder(&self, ctx: &Context<'_>) -> Result<Option<Party>> {
        load_party(ctx, self.0.holder_party_id).await
    }

    /// Amount in fen (金额, 分).
    async fn fen(&self) -> Long {
        Long(self.0.fen)
    }

    /// Paid on (发放日期); null until paid.
    async fn paid_on(&self) -> Option<NaiveDate> {
        self.0.paid_on
    }

    /// How it was paid (发放方式).
    async fn paid_method(&self) -> Result<Option<PayoutMethod>> {
        self.0
            .paid_method
            .as_deref()
            .map(|m| stored(PayoutMethod::parse(m)))
            .transpose()
    }
}

// ---------------------------------------------------------------------------------------------
// The household's statement

/// One year's payouts to a household from one organisation (年度分红).
#[derive(SimpleObject)]
pub struct YearPayouts {
    /// Year (年度).
    pub year: i32,
    /// The organisation (集体经济组织).
    pub organization: CollectiveOrganization,
    /// Declared to the household, in fen (应分, 分).
    pub fen: Long,
    /// Paid so far, in fen (已发放, 分).
    pub paid_fen: Long,
    /// The payouts (明细).
    pub payouts: Vec<PayoutNode>,
}

/// A household's shares statement (股权及分红明细): its memberships, holdings and payouts.
#[Object]
impl ShareStatement {
    /// The household (农户).
    async fn party(&self) -> Party {
        Party(self.0.clone())
    }

    /// Its memberships (成员资格), current and past.
    async fn memberships(&self, ctx: &Context<'_>) -> Result<Vec<Member>> {
        Ok(
            db::shares::memberships_of_parties(db_conn(ctx)?, &[self.0.id])
                .await?
                .remove(&self.0.id)
                .unwrap_or_default()
                .into_iter()
                .map(Member)
                .collect(),
        )
    }

    /// Its holdings (股权) open on `on` (today unless given); all of them, closed too, when
    /// `includeClosed`.
    async fn holdings(
        &self,
        ctx: &Context<'_>,
        on: Option<NaiveDate>,
        #[graphql(default = false)] include_closed: bool,
    ) -> Result<Vec<ShareHolding>> {
        let day = on.unwrap_or_else(today);
        Ok(db::shares::holdings_of_parties(db_conn(ctx)?, &[self.0.id])
            .await?
            .into_iter()
            .filter(|h| {
                include_closed || (h.valid_from <= day && h.valid_to.is_none_or(|to| to > day))
            })
            .map(ShareHolding)
            .collect())
    }

    /// Its payouts by year and organisation (分红明细), oldest year first.
    async fn payouts_by_year(&self, ctx: &Context<'_>) -> Result<Vec<YearPayouts>> {
        let conn = db_conn(ctx)?;
        let payouts = db::shares::payouts_to(conn, &[self.0.id]).await?;
        let dist_ids: Vec<i64> = payouts.iter().map(|p| p.distribution_id).collect();
        let dists = db::shares::distributions_by_ids(conn, &dist_ids).await?;
        let org_ids: Vec<i64> = dists.values().map(|d| d.organization_id).collect();
        let orgs = db::shares::organizations_by_ids(conn, &org_ids).await?;
        let mut years: BTreeMap<(i32, i64), Vec<payout::Model>> = BTreeMap::new();
        for p in payouts {
            let d = dists
                .get(&p.distribution_id)
                .ok_or_else(|| AppError::internal("a payout's distribution is missing"))?;
            years
                .entry((d.year, d.organization_id))
                .or_default()
                .push(p);
        }
        years
            .into_iter()
            .map(|((year, org), payouts)| {
                let org = orgs.get(&org).cloned().ok_or_else(|| {
                    AppError::internal("a distribution's organisation is missing")
                })?;
                Ok(YearPayouts {
                    year,
                    organization: CollectiveOrganization(org),
                    fen: Long(payouts.iter().map(|p| p.fen).sum()),
                    paid_fen: Long(
                        payouts
                            .iter()
                            .filter(|p| p.paid_on.is_some())
                            .map(|p| p.fen)
                            .sum(),
                    ),
                    payouts: payouts.into_iter().map(PayoutNode).collect(),
                })
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Coverage (三变 figures)

/// Shares held of one class kind (按股种).
#[derive(SimpleObject)]
pub struct SharesOfKind {
    /// Class kind (股份类别).
    pub kind: ShareClassKind,
    /// Shares held today, a decimal with two places (股数).
    pub shares: String,
}

/// Contributions of one kind (按入股类型).
#[derive(SimpleObject)]
pub struct ContributionFigures {
    /// Kind (入股类型).
    pub kind: ContributionKind,
    /// How many (笔数).
    pub count: i64,
    /// Appraised value in fen (评估作价, 分).
    pub value_fen: Long,
    /// Shares issued for them, a decimal with two places (折股数).
    pub shares: String,
}

/// Dividends of one year (年度分红).
#[derive(SimpleObject)]
pub struct YearDividends {
    /// Year (年度).
    pub year: i32,
    /// Distributions declared (分配次数): one per organisation.
    pub distributions: i64,
    /// Distributable income in fen (可分配收益, 分).
    pub distributable_fen: Long,
    /// Declared to holders in fen (分红总额, 分).
    pub declared_fen: Long,
    /// Marked paid in fen (已发放, 分).
    pub paid_fen: Long,
    /// Households paid (已发放户数; a household paid by two organisations counts twice).
    pub households_paid: i64,
}

impl ShareCoverage {
    async fn organizations(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<collective_organization::Model>> {
        let conn = db_conn(ctx)?;
        Ok(match self.0 {
            CoverageScope::District => db::shares::organizations_in(conn, None).await?,
            CoverageScope::Township(t) => db::shares::organizations_in_township(conn, t).await?,
            CoverageScope::Village(v) => db::shares::organizations_in(conn, Some(&[v])).await?,
            CoverageScope::Organization(o) => db::shares::organizations_by_ids(conn, &[o])
                .await?
                .into_values()
                .collect(),
        })
    }

    async fn organization_ids(&self, ctx: &Context<'_>) -> Result<Vec<i64>> {
        Ok(self
            .organizations(ctx)
            .await?
            .iter()
            .map(|o| o.id)
            .collect())
    }
}

/// The "three changes" (三变) in figures over the district, a township, a village or one
/// organisation: the figures behind "增点扩面". Counted from the register on every request
/// (there are at most a few hundred organisations), so they never drift from it. Public.
#[Object]
impl ShareCoverage {
    /// Organisations issuing shares (股份发行组织数), of every kind.
    async fn organizations_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(self.organizations(ctx).await?.len() as i64)
    }

    /// Villages whose collective economic organisation completed the shareholding reform
    /// (完成股份合作制改革的村).
    async fn reformed_villages(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(self
            .organizations(ctx)
            .await?
            .iter()
            .filter(|o| {
                o.reform_completed_on.is_some()
                    && CollectiveKind::parse(&o.kind)
                        .is_ok_and(CollectiveKind::is_village_collective)
            })
            .count() as i64)
    }

    /// Member households today (成员户数), each counted once.
    async fn member_households(&self, ctx: &Context<'_>) -> Result<i64> {
        let orgs = self.organization_ids(ctx).await?;
        Ok(db::shares::member_households(db_conn(ctx)?, &orgs, today()).await?)
    }

    /// Households holding shares today (持股户数, 农民变股东), each counted once.
    async fn shareholder_households(&self, ctx: &Context<'_>) -> Result<i64> {
        let orgs = self.organization_ids(ctx).await?;
        Ok(db::shares::shareholder_households(db_conn(ctx)?, &orgs, today()).await?)
    }

    /// Shares held today by class kind (按股种股数).
    async fn shares_by_class(&self, ctx: &Context<'_>) -> Result<Vec<SharesOfKind>> {
        let conn = db_conn(ctx)?;
        let orgs = self.organization_ids(ctx).await?;
        let totals = db::shares::open_shares_by_class(conn, &orgs, today()).await?;
        let ids: Vec<i64> = totals.iter().map(|(c, _)| *c).collect();
        let classes = db::shares::classes_by_ids(conn, &ids).await?;
        let mut by_kind: BTreeMap<ShareClassKind, i64> = BTreeMap::new();
        for (class, n) in totals {
            let c = classes
                .get(&class)
                .ok_or_else(|| AppError::internal("a holding's class is missing"))?;
            *by_kind
                .entry(stored(ShareClassKind::parse(&c.kind))?)
                .or_default() += n;
        }
        Ok(by_kind
            .into_iter()
            .map(|(kind, n)| SharesOfKind {
                kind,
                shares: shares_of(n),
            })
            .collect())
    }

    /// Assets, rights and funds turned into shares (资源变资产、资金变股金), by kind.
    async fn contributions(&self, ctx: &Context<'_>) -> Result<Vec<ContributionFigures>> {
        let orgs = self.organization_ids(ctx).await?;
        db::shares::contribution_totals(db_conn(ctx)?, &orgs)
            .await?
            .into_iter()
            .map(|(kind, count, value, shares)| {
                Ok(ContributionFigures {
                    kind: stored(ContributionKind::parse(&kind))?,
                    count,
                    value_fen: Long(value),
                    shares: shares_of(shares),
                })
            })
            .collect()
    }

    /// Dividends by year (年度分红), oldest first.
    async fn dividends(&self, ctx: &Context<'_>) -> Result<Vec<YearDividends>> {
        let conn = db_conn(ctx)?;
        let orgs = self.organization_ids(ctx).await?;
        let dists = db::shares::distributions_of(conn, &orgs).await?;
        let ids: Vec<i64> = dists.iter().map(|d| d.id).collect();
        let paid = db::shares::paid_by_distribution(conn, &ids).await?;
        let mut years: BTreeMap<i32, YearDividends> = BTreeMap::new();
        for d in dists {
            let y = years.entry(d.year).or_insert(YearDividends {
                year: d.year,
                distributions: 0,
                distributable_fen: Long(0),
                declared_fen: Long(0),
                paid_fen: Long(0),
                households_paid: 0,
            });
            let (_, paid_fen, households) = paid.get(&d.id).copied().unwrap_or_default();
            y.distributions += 1;
            y.distributable_fen.0 += d.distributable_fen;
            y.declared_fen.0 += d.holders_fen;
            y.paid_fen.0 += paid_fen;
            y.households_paid += households;
        }
        Ok(years.into_values().collect())
    }
}

// ---------------------------------------------------------------------------------------------
// Queries

/// The "three changes" (三变): organisations and their figures.
#[derive(Default)]
pub struct SharesQuery;

#[Object]
impl SharesQuery {
    /// A collective economic organisation (农村集体经济组织) by global ID or by its unified
    /// social credit code.
    async fn collective_organization(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        #[graphql(desc = "Unified social credit code (统一社会信用代码).")] code: Option<String>,
    ) -> Result<Option<CollectiveOrganization>> {
        match crate::graphql::common::context::id_or_code(id.as_ref(), code.as_deref())? {
            Some(id) => {
                let n = ids::decode_as(id, Kind::CollectiveOrganization)?;
                Ok(ctx
                    .data::<DataLoader<DbLoader>>()?
                    .load_one(OrganizationKey(n))
                    .await?
                    .map(CollectiveOrganization))
            }
            None => {
                let code = code.unwrap_or_default().trim().to_ascii_uppercase();
                Ok(
                    db::shares::organization_by_credit_code(db_conn(ctx)?, &code)
                        .await?
                        .map(CollectiveOrganization),
                )
            }
        }
    }

    /// Organisations issuing shares, of the district or of one township, in the order
    /// registered (there is about one per village).
    async fn collective_organizations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those of villages in this township (乡镇).")] township_id: Option<
            ID,
        >,
        #[graphql(desc = "Only those changed at or after this instant (更新时间不早于).")]
        updated_since: Option<DateTime<Utc>>,
    ) -> Result<Vec<CollectiveOrganization>> {
        let township = crate::graphql::places::township_id(township_id.as_ref())?;
        let updated = Period::since_opt(updated_since);
        let scope = match township {
            Some(t) => CoverageScope::Township(t),
            None => CoverageScope::District,
        };
        Ok(ShareCoverage(scope)
            .organizations(ctx)
            .await?
            .into_iter()
            .filter(|o| updated.contains(o.updated_at))
            .map(CollectiveOrganization)
            .collect())
    }

    /// The "three changes" (三变) in figures (三变改革覆盖情况): the district's, or one
    /// township's. Public.
    async fn share_coverage(
        &self,
        #[graphql(desc = "One township (乡镇); the district unless given.")] township_id: Option<
            ID,
        >,
    ) -> Result<ShareCoverage> {
        let township = crate::graphql::places::township_id(township_id.as_ref())?;
        Ok(ShareCoverage(match township {
            Some(t) => CoverageScope::Township(t),
            None => CoverageScope::District,
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations

/// Creates a collective economic organisation (登记集体经济组织). When a party with its credit
/// code is registered already (the village collective that holds rights, say), that party
/// becomes the organisation; otherwise a party is registered for it.
#[derive(InputObject)]
pub struct CreateCollectiveOrganizationInput {
    /// The village it belongs to (所属村).
    pub village_id: ID,
    /// Name (名称).
    pub name: String,
    /// Unified social credit code (统一社会信用代码), checked with its check character.
    pub credit_code: String,
    /// Kind (组织类型).
    pub kind: CollectiveKind,
    /// Registered on (登记日期).
    pub registered_on: NaiveDate,
    /// When the shareholding reform was completed (股份合作制改革完成日期); leave out if not.
    pub reform_completed_on: Option<NaiveDate>,
    /// How holdings are managed (股权管理方式).
    #[graphql(default_with = "HoldingPolicyKind::Static")]
    pub holding_policy: HoldingPolicyKind,
    /// Under ADJUSTED, every how many years (1–30) (调整周期).
    pub adjust_every_years: Option<i32>,
    /// Reserves and welfare kept from each year's income (公积公益金提取比例), basis points.
    #[graphql(default)]
    pub reserve_bp: i32,
    /// How the amount for holders is divided between classes (分配方式).
    #[graphql(default_with = "DividendSplit::PerShare")]
    pub dividend_split: DividendSplit,
}

/// Changes an organisation (修改集体经济组织). Fields left out keep their value.
#[derive(InputObject)]
pub struct UpdateCollectiveOrganizationInput {
    /// The organisation.
    pub id: ID,
    /// The version you read (版本号).
    pub version: i32,
    /// Name (名称).
    pub name: Option<String>,
    /// Unified social credit code (统一社会信用代码).
    pub credit_code: Option<String>,
    /// Kind (组织类型).
    pub kind: Option<CollectiveKind>,
    /// Registered on (登记日期).
    pub registered_on: Option<NaiveDate>,
    /// When the shareholding reform was completed (改革完成日期); null: not complete.
    pub reform_completed_on: MaybeUndefined<NaiveDate>,
    /// How holdings are managed (股权管理方式); give `adjustEveryYears` with ADJUSTED.
    pub holding_policy: Option<HoldingPolicyKind>,
    /// Under ADJUSTED, every how many years (调整周期).
    pub adjust_every_years: MaybeUndefined<i32>,
    /// Reserves and welfare rate (公积公益金提取比例), basis points.
    pub reserve_bp: Option<i32>,
    /// How the amount for holders is divided (分配方式).
    pub dividend_split: Option<DividendSplit>,
}

/// The organisation created or changed.
#[derive(SimpleObject)]
pub struct CollectiveOrganizationPayload {
    /// The organisation as stored.
    pub organization: CollectiveOrganization,
}

/// Records a member (登记成员).
#[derive(InputObject)]
pub struct RecordMemberInput {
    /// The organisation.
    pub organization_id: ID,
    /// The household (农户), a party of the organisation's village.
    pub party_id: ID,
    /// How membership was acquired (成员身份取得方式).
    pub basis: MembershipBasis,
    /// Joined on (取得日期).
    pub joined_on: NaiveDate,
    /// The source document (认定依据).
    pub document: Option<String>,
}

/// Ends a membership (成员资格终止). A member who holds shares leaves through `recordShareChange`
/// with `leaverIds`, which transfers or redeems them in the same change.
#[derive(InputObject)]
pub struct EndMembershipInput {
    /// The membership.
    pub member_id: ID,
    /// The version you read (版本号).
    pub version: i32,
    /// Left on (终止日期).
    pub left_on: NaiveDate,
    /// Why (原因), e.g. 迁出, 死亡.
    pub reason: Option<String>,
}

/// The membership recorded or ended.
#[derive(SimpleObject)]
pub struct MemberPayload {
    /// The membership as stored.
    pub member: Member,
}

/// Defines a share class (设置股种).
#[derive(InputObject)]
pub struct DefineShareClassInput {
    /// The organisation.
    pub organization_id: ID,
    /// Kind (股份类别).
    pub kind: ShareClassKind,
    /// Name (名称), unique in the organisation.
    pub name: String,
    /// Shares issued for the class (总股本), e.g. "1200" or "1200.50"; "0" for resource or
    /// fund shares issued as contributions come in (each raises it).
    pub issued: String,
    /// Its part of the amount for holders under BY_CLASS_WEIGHT (分配比例), basis points.
    pub weight_bp: Option<i32>,
}

/// The class defined.
#[derive(SimpleObject)]
pub struct ShareClassPayload {
    /// The class as stored.
    pub share_class: ShareClass,
}

/// A holding to open (新股权).
#[derive(InputObject)]
pub struct NewHoldingInput {
    /// The member household; leave out for collective shares held by the organisation.
    pub holder_id: Option<ID>,
    /// The class (股种).
    pub share_class_id: ID,
    /// Number of shares (股数), e.g. "10" or "2.50".
    pub shares: String,
    /// Certificate number (股权证号).
    pub certificate_no: Option<String>,
}

/// Issues shares on the reform (股权量化): opens the first holdings, in one change of kind
/// ISSUE.
#[derive(InputObject)]
pub struct IssueSharesInput {
    /// The organisation.
    pub organization_id: ID,
    /// The day of quantification (量化日期).
    pub issued_on: NaiveDate,
    /// The holdings (股权), at most 5000.
    pub holdings: Vec<NewHoldingInput>,
    /// Document (依据文件), e.g. the reform plan's resolution.
    pub document: Option<String>,
}

/// Records a change of holdings (股权变更): closes holdings and opens new ones, on one day.
#[derive(InputObject)]
pub struct RecordShareChangeInput {
    /// The organisation.
    pub organization_id: ID,
    /// Kind (变更类型). Contributions go through `recordContribution`.
    pub kind: ShareChangeKind,
    /// The day it takes effect (变更日期).
    pub occurred_on: NaiveDate,
    /// The holdings it closes (终止的股权).
    #[graphql(default)]
    pub close_holding_ids: Vec<ID>,
    /// The holdings it opens (新股权).
    #[graphql(default)]
    pub open: Vec<NewHoldingInput>,
    /// Members who leave with this change (退出成员): they must hold nothing after it.
    #[graphql(default)]
    pub leaver_ids: Vec<ID>,
    /// Reason (原因).
    pub reason: Option<String>,
    /// Document (依据文件).
    pub document: Option<String>,
}

/// The change recorded.
#[derive(SimpleObject)]
pub struct ShareChangePayload {
    /// The change as stored, with the holdings it closed and opened.
    pub share_change: ShareChange,
}

/// Records a contribution (登记入股): issues new shares of a class for it and opens the
/// contributor's holding.
#[derive(InputObject)]
pub struct RecordContributionInput {
    /// The organisation the shares are of.
    pub organization_id: ID,
    /// Kind (入股类型).
    pub kind: ContributionKind,
    /// The contributor, a member (入股人); leave out when the organisation itself contributes.
    pub contributor_id: Option<ID>,
    /// For IDLE_ASSET: the asset (资产).
    pub asset_id: Option<ID>,
    /// For IDLE_ASSET: the EQUITY_CONTRIBUTION revitalization it comes from (盘活记录).
    pub revitalization_id: Option<ID>,
    /// For LAND_RIGHT: the property right (权利).
    pub right_id: Option<ID>,
    /// For FUNDS: where the funds came from (资金来源).
    pub fund_source: Option<FundSource>,
    /// Description (说明).
    pub description: Option<String>,
    /// Appraised value in fen (评估作价, 分).
    pub appraised_value_fen: Long,
    /// Contributed on (入股日期).
    pub contributed_on: NaiveDate,
    /// The class of the shares issued for it (股种).
    pub share_class_id: ID,
    /// Shares issued for it (折股数).
    pub shares: String,
    /// Certificate number (股权证号).
    pub certificate_no: Option<String>,
}

/// The contribution recorded.
#[derive(SimpleObject)]
pub struct ContributionPayload {
    /// The contribution as stored.
    pub contribution: Contribution,
}

/// Declares a year's distribution (宣告年度收益分配). The reserve rate and the split are the
/// organisation's settings; the server computes every payout.
#[derive(InputObject)]
pub struct DeclareDistributionInput {
    /// The organisation.
    pub organization_id: ID,
    /// The year whose income is distributed (分配年度).
    pub year: i32,
    /// Distributable income in fen (可分配收益, 分).
    pub distributable_fen: Long,
    /// Declared on (宣告日期).
    pub declared_on: NaiveDate,
    /// The day whose holdings are paid (股权登记日); the year's 31 December unless given.
    pub record_date: Option<NaiveDate>,
    /// Document (分配方案文件).
    pub document: Option<String>,
}

/// The distribution declared.
#[derive(SimpleObject)]
pub struct DistributionPayload {
    /// The distribution as stored, with its payouts.
    pub distribution: Distribution,
}

/// Marks payouts paid (登记分红发放).
#[derive(InputObject)]
pub struct MarkPayoutsPaidInput {
    /// The distribution.
    pub distribution_id: ID,
    /// The payouts; every unpaid payout of the distribution when left out.
    pub payout_ids: Option<Vec<ID>>,
    /// Paid on (发放日期).
    pub paid_on: NaiveDate,
    /// How (发放方式).
    pub method: PayoutMethod,
}

/// Payouts marked paid.
#[derive(SimpleObject)]
pub struct MarkPayoutsPaidPayload {
    /// How many were marked (笔数).
    pub marked: i64,
    /// The distribution, with its paid figures.
    pub distribution: Distribution,
}

/// Writes a change of holdings in its own transaction.
async fn write_change(
    ctx: &Context<'_>,
    actor: &Actor,
    org: &collective_organization::Model,
    request: ChangeRequest,
) -> Result<ShareChangePayload> {
    let txn = db::begin_write(db_conn(ctx)?).await?;
    let recorded = service::record_change(&txn, &author(ctx, actor), org, request)
        .await
        .map_err(refused)?;
    db::commit(txn).await?;
    Ok(ShareChangePayload {
        share_change: ShareChange(recorded.change),
    })
}

fn holding_input(n: &NewHoldingInput) -> Result<Opening> {
    let holder = match &n.holder_id {
        Some(id) => Holder::Member(ids::decode_as(id, Kind::Party)?),
        None => Holder::Organisation,
    };
    Ok(Opening {
        holding: NewHolding {
            holder,
            class: ids::decode_as(&n.share_class_id, Kind::ShareClass)?,
            shares: parse_shares(&n.shares, "shares")?,
        },
        certificate_no: crate::domain::text::optional(
            "certificateNo",
            n.certificate_no.as_deref(),
            40,
        )
        .map_err(|e| AppError::bad_input(e.to_string()))?,
    })
}

fn optional_text(field: &'static str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    crate::domain::text::optional(field, value, max)
        .map_err(|e| AppError::bad_input(e.to_string()).into())
}

/// Changes to the shareholding register (三变).
#[derive(Default)]
pub struct SharesMutation;

#[Object]
impl SharesMutation {
    /// Creates a collective economic organisation (登记集体经济组织).
    async fn create_collective_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateCollectiveOrganizationInput,
    ) -> Result<CollectiveOrganizationPayload> {
        caller(ctx)
            .actor("creating an organisation")
            .map_err(AppError::from)?;
        let village_id = ids::decode_as(&input.village_id, Kind::Village)?;
        let village = Village::load(ctx, Some(village_id))
            .await?
            .ok_or_else(|| AppError::bad_input("`villageId` names no village"))?;
        let actor = caller(ctx)
            .may_write_in(village.0.township_id)
            .map_err(AppError::from)?;
        let new = OrganizationDraft {
            name: input.name,
            credit_code: input.credit_code,
            kind: input.kind,
            registered_on: input.registered_on,
            reform_completed_on: input.reform_completed_on,
            holding_policy: input.holding_policy,
            adjust_every_years: input.adjust_every_years,
            reserve_bp: input.reserve_bp,
            dividend_split: input.dividend_split,
        }
        .validate(today())
        .map_err(|e| refused(e.into()))?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let row = service::create_organization(&txn, &author(ctx, actor), &new, village_id)
            .await
            .map_err(refused)?;
        db::commit(txn).await?;
        Ok(CollectiveOrganizationPayload {
            organization: CollectiveOrganization(row),
        })
    }

    /// Changes an organisation (修改集体经济组织), if it is still at `version`.
    async fn update_collective_organization(
        &self,
        ctx: &Context<'_>,
        input: UpdateCollectiveOrganizationInput,
    ) -> Result<CollectiveOrganizationPayload> {
        caller(ctx)
            .actor("changing an organisation")
            .map_err(AppError::from)?;
        let before = organization(ctx, &input.id).await?;
        let actor = may_write(ctx, &before).await?;
        let party = load_party(ctx, Some(before.party_id))
            .await?
            .ok_or_else(|| AppError::internal("an organisation's party is missing"))?;
        let mut reform = before.reform_completed_on;
        crate::graphql::common::context::patch(&mut reform, input.reform_completed_on);
        let policy = match input.holding_policy {
            Some(p) => p,
            None => stored(HoldingPolicyKind::parse(&before.holding_policy))?,
        };
        let mut every = before.adjust_every_years;
        crate::graphql::common::context::patch(&mut every, input.adjust_every_years);
        if policy == HoldingPolicyKind::Static {
            every = None;
        }
        let new = OrganizationDraft {
            name: input.name.unwrap_or(party.0.name),
            credit_code: input
                .credit_code
                .or(party.0.credit_code)
                .unwrap_or_default(),
            kind: match input.kind {
                Some(k) => k,
                None => stored(CollectiveKind::parse(&before.kind))?,
            },
            registered_on: input.registered_on.unwrap_or(before.registered_on),
            reform_completed_on: reform,
            holding_policy: policy,
            adjust_every_years: every,
            reserve_bp: input.reserve_bp.unwrap_or(before.reserve_bp),
            dividend_split: match input.dividend_split {
                Some(s) => s,
                None => stored(DividendSplit::parse(&before.dividend_split))?,
            },
        }
        .validate(today())
        .map_err(|e| refused(e.into()))?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let row =
            service::update_organization(&txn, &author(ctx, actor), &before, input.version, &new)
                .await
                .map_err(refused)?;
        db::commit(txn).await?;
        Ok(CollectiveOrganizationPayload {
            organization: CollectiveOrganization(row),
        })
    }

    /// Records a member of an organisation (登记成员).
    async fn record_member(
        &self,
        ctx: &Context<'_>,
        input: RecordMemberInput,
    ) -> Result<MemberPayload> {
        caller(ctx)
            .actor("recording a member")
            .map_err(AppError::from)?;
        let org = organization(ctx, &input.organization_id).await?;
        let actor = may_write(ctx, &org).await?;
        let party = ids::decode_as(&input.party_id, Kind::Party)?;
        let new = MemberDraft {
            basis: input.basis,
            joined_on: input.joined_on,
            document: input.document,
        }
        .validate(today())
        .map_err(|e| refused(e.into()))?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let row = service::record_member(&txn, &author(ctx, actor), &org, party, &new)
            .await
            .map_err(refused)?;
        db::commit(txn).await?;
        Ok(MemberPayload {
            member: Member(row),
        })
    }

    /// Ends a membership (成员资格终止), if it is still at `version`.
    async fn end_membership(
        &self,
        ctx: &Context<'_>,
        input: EndMembershipInput,
    ) -> Result<MemberPayload> {
        caller(ctx)
            .actor("ending a membership")
            .map_err(AppError::from)?;
        let id = ids::decode_as(&input.member_id, Kind::Member)?;
        let member = db::shares::member_by_id(db_conn(ctx)?, id)
            .await?
            .ok_or_else(|| AppError::not_found("no membership has this ID"))?;
        let org = organization_by_id(ctx, member.organization_id).await?;
        let actor = may_write(ctx, &org).await?;
        not_future("leftOn", input.left_on, today()).map_err(|e| refused(e.into()))?;
        let reason = optional_text("reason", input.reason.as_deref(), 200)?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let row = service::end_member(
            &txn,
            &author(ctx, actor),
            &member,
            input.version,
            input.left_on,
            reason,
        )
        .await
        .map_err(refused)?;
        db::commit(txn).await?;
        Ok(MemberPayload {
            member: Member(row),
        })
    }

    /// Defines a share class of an organisation (设置股种).
    async fn define_share_class(
        &self,
        ctx: &Context<'_>,
        input: DefineShareClassInput,
    ) -> Result<ShareClassPayload> {
        caller(ctx)
            .actor("defining a share class")
            .map_err(AppError::from)?;
        let org = organization(ctx, &input.organization_id).await?;
        let actor = may_write(ctx, &org).await?;
        let new = ShareClassDraft {
            kind: input.kind,
            name: input.name,
            issued: input.issued,
            weight_bp: input.weight_bp,
        }
        .validate()
        .map_err(|e| refused(e.into()))?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let row = service::define_class(&txn, &author(ctx, actor), &org, &new)
            .await
            .map_err(refused)?;
        db::commit(txn).await?;
        Ok(ShareClassPayload {
            share_class: ShareClass(row),
        })
    }

    /// Issues shares on the reform (股权量化): the first holdings, in one change of kind ISSUE.
    async fn issue_shares(
        &self,
        ctx: &Context<'_>,
        input: IssueSharesInput,
    ) -> Result<ShareChangePayload> {
        caller(ctx)
            .actor("issuing shares")
            .map_err(AppError::from)?;
        if input.holdings.is_empty() || input.holdings.len() > 5000 {
            return Err(AppError::bad_input("give 1 to 5000 holdings").into());
        }
        let org = organization(ctx, &input.organization_id).await?;
        let actor = may_write(ctx, &org).await?;
        not_future("issuedOn", input.issued_on, today()).map_err(|e| refused(e.into()))?;
        let opens = input
            .holdings
            .iter()
            .map(holding_input)
            .collect::<Result<Vec<_>>>()?;
        let request = ChangeRequest {
            kind: ShareChangeKind::Issue,
            date: input.issued_on,
            closes: Vec::new(),
            opens,
            contributor: None,
            leavers: Vec::new(),
            reason: None,
            document: optional_text("document", input.document.as_deref(), 200)?,
        };
        write_change(ctx, actor, &org, request).await
    }

    /// Records a change of holdings (股权变更): inheritance, transfer, adjustment or redemption.
    async fn record_share_change(
        &self,
        ctx: &Context<'_>,
        input: RecordShareChangeInput,
    ) -> Result<ShareChangePayload> {
        caller(ctx)
            .actor("changing holdings")
            .map_err(AppError::from)?;
        if input.kind == ShareChangeKind::Contribution {
            return Err(AppError::bad_input(
                "a contribution is recorded with `recordContribution`, which records what was contributed",
            )
            .into());
        }
        if input.open.len() > 5000 || input.close_holding_ids.len() > 5000 {
            return Err(AppError::bad_input("at most 5000 holdings to open or close").into());
        }
        let org = organization(ctx, &input.organization_id).await?;
        let actor = may_write(ctx, &org).await?;
        not_future("occurredOn", input.occurred_on, today()).map_err(|e| refused(e.into()))?;
        let closes = input
            .close_holding_ids
            .iter()
            .map(|id| ids::decode_as(id, Kind::ShareHolding).map_err(Into::into))
            .collect::<Result<Vec<_>>>()?;
        let leavers = input
            .leaver_ids
            .iter()
            .map(|id| ids::decode_as(id, Kind::Party).map_err(Into::into))
            .collect::<Result<Vec<_>>>()?;
        let opens = input
            .open
            .iter()
            .map(holding_input)
            .collect::<Result<Vec<_>>>()?;
        let request = ChangeRequest {
            kind: input.kind,
            date: input.occurred_on,
            closes,
            opens,
            contributor: None,
            leavers,
            reason: optional_text("reason", input.reason.as_deref(), 200)?,
            document: optional_text("document", input.document.as_deref(), 200)?,
        };
        write_change(ctx, actor, &org, request).await
    }

    /// Records a contribution (登记入股): resources or funds turned into shares.
    async fn record_contribution(
        &self,
        ctx: &Context<'_>,
        input: RecordContributionInput,
    ) -> Result<ContributionPayload> {
        caller(ctx)
            .actor("recording a contribution")
            .map_err(AppError::from)?;
        let org = organization(ctx, &input.organization_id).await?;
        let actor = may_write(ctx, &org).await?;
        let decode = |id: &Option<ID>, kind| -> Result<Option<i64>> {
            Ok(id.as_ref().map(|id| ids::decode_as(id, kind)).transpose()?)
        };
        let asset_id = decode(&input.asset_id, Kind::IdleAsset)?;
        let revitalization_id = decode(&input.revitalization_id, Kind::Revitalization)?;
        let right_id = decode(&input.right_id, Kind::PropertyRight)?;
        let facts = ContributionDraft {
            kind: input.kind,
            has_revitalization: revitalization_id.is_some(),
            has_asset: asset_id.is_some(),
            has_right: right_id.is_some(),
            fund_source: input.fund_source,
            description: input.description,
            appraised_value_fen: input.appraised_value_fen.0,
            contributed_on: input.contributed_on,
        }
        .validate(today())
        .map_err(|e| refused(e.into()))?;
        let contributor = match &input.contributor_id {
            Some(id) => Holder::Member(party_id(ctx, id, "contributorId").await?),
            None => Holder::Organisation,
        };
        let request = ContributionRequest {
            facts,
            contributor,
            class_id: ids::decode_as(&input.share_class_id, Kind::ShareClass)?,
            shares: parse_shares(&input.shares, "shares")?,
            certificate_no: optional_text("certificateNo", input.certificate_no.as_deref(), 40)?,
            asset_id,
            revitalization_id,
            right_id,
        };
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let (row, _) = service::record_contribution(&txn, &author(ctx, actor), &org, request)
            .await
            .map_err(refused)?;
        db::commit(txn).await?;
        Ok(ContributionPayload {
            contribution: Contribution(row),
        })
    }

    /// Declares a year's distribution (宣告年度收益分配); the server computes every payout.
    /// Declaring a year twice is a CONFLICT.
    async fn declare_distribution(
        &self,
        ctx: &Context<'_>,
        input: DeclareDistributionInput,
    ) -> Result<DistributionPayload> {
        caller(ctx)
            .actor("declaring a distribution")
            .map_err(AppError::from)?;
        let org = organization(ctx, &input.organization_id).await?;
        let actor = may_write(ctx, &org).await?;
        let declaration = Declaration {
            year: input.year,
            distributable_fen: input.distributable_fen.0,
            declared_on: input.declared_on,
            record_date: input.record_date,
            document: optional_text("document", input.document.as_deref(), 200)?,
        };
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let row =
            service::declare_distribution(&txn, &author(ctx, actor), &org, &declaration, today())
                .await
                .map_err(refused)?;
        db::commit(txn).await?;
        Ok(DistributionPayload {
            distribution: Distribution(row),
        })
    }

    /// Marks payouts paid (登记分红发放). A payout already paid is a CONFLICT and nothing is
    /// written.
    async fn mark_payouts_paid(
        &self,
        ctx: &Context<'_>,
        input: MarkPayoutsPaidInput,
    ) -> Result<MarkPayoutsPaidPayload> {
        caller(ctx)
            .actor("marking payouts paid")
            .map_err(AppError::from)?;
        let id = ids::decode_as(&input.distribution_id, Kind::Distribution)?;
        let dist = db::shares::distributions_by_ids(db_conn(ctx)?, &[id])
            .await?
            .remove(&id)
            .ok_or_else(|| AppError::not_found("no distribution has this ID"))?;
        let org = organization_by_id(ctx, dist.organization_id).await?;
        let actor = may_write(ctx, &org).await?;
        let payout_ids = match &input.payout_ids {
            Some(list) if list.is_empty() => {
                return Err(AppError::bad_input(
                    "`payoutIds` is empty; leave it out to mark every unpaid payout",
                )
                .into());
            }
            Some(list) if list.len() > 5000 => {
                return Err(AppError::bad_input("at most 5000 payouts at once").into());
            }
            Some(list) => list
                .iter()
                .map(|id| ids::decode_as(id, Kind::Payout).map_err(Into::into))
                .collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let marked = service::mark_paid(
            &txn,
            &author(ctx, actor),
            &dist,
            &payout_ids,
            input.paid_on,
            input.method,
            today(),
        )
        .await
        .map_err(refused)?;
        db::commit(txn).await?;
        Ok(MarkPayoutsPaidPayload {
            marked: i64::try_from(marked).unwrap_or(i64::MAX),
            distribution: Distribution(dist),
        })
    }
}

/// A record of the register by global ID, for `node`: the organisation and its totals are
/// public; memberships, holdings and payouts are personal data of its township.
pub(crate) async fn node(ctx: &Context<'_>, kind: Kind, id: i64) -> Result<Option<RegisterNode>> {
    let conn = db_conn(ctx)?;
    Ok(match kind {
        Kind::CollectiveOrganization => ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(OrganizationKey(id))
            .await?
            .map(|o| RegisterNode::Organization(CollectiveOrganization(o))),
        Kind::ShareClass => db::shares::classes_by_ids(conn, &[id])
            .await?
            .remove(&id)
            .map(|c| RegisterNode::Class(ShareClass(c))),
        Kind::Distribution => db::shares::distributions_by_ids(conn, &[id])
            .await?
            .remove(&id)
            .map(|d| RegisterNode::Distribution(Distribution(d))),
        Kind::Contribution => {
            caller(ctx)
                .may_read_details("contributions")
                .map_err(AppError::from)?;
            db::shares::contributions_by_ids(conn, &[id])
                .await?
                .remove(&id)
                .map(|c| RegisterNode::Contribution(Contribution(c)))
        }
        Kind::Member => match db::shares::member_by_id(conn, id).await? {
            Some(m) => {
                may_see_register(ctx, &organization_by_id(ctx, m.organization_id).await?).await?;
                Some(RegisterNode::Member(Member(m)))
            }
            None => None,
        },
        Kind::ShareHolding => match db::shares::holdings_by_ids(conn, &[id]).await?.remove(&id) {
            Some(h) => {
                may_see_register(ctx, &organization_by_id(ctx, h.organization_id).await?).await?;
                Some(RegisterNode::Holding(ShareHolding(h)))
            }
            None => None,
        },
        Kind::ShareChange => match db::shares::changes_by_ids(conn, &[id]).await?.remove(&id) {
            Some(c) => {
                may_see_register(ctx, &organization_by_id(ctx, c.organization_id).await?).await?;
                Some(RegisterNode::Change(ShareChange(c)))
            }
            None => None,
        },
        Kind::Payout => match db::shares::payouts_by_ids(conn, &[id]).await?.remove(&id) {
            Some(p) => {
                let d = db::shares::distributions_by_ids(conn, &[p.distribution_id])
                    .await?
                    .remove(&p.distribution_id)
                    .ok_or_else(|| AppError::internal("a payout's distribution is missing"))?;
                may_see_register(ctx, &organization_by_id(ctx, d.organization_id).await?).await?;
                Some(RegisterNode::Payout(PayoutNode(p)))
            }
            None => None,
        },
        _ => None,
    })
}

/// A record of the register, as `node` answers it.
pub enum RegisterNode {
    Organization(CollectiveOrganization),
    Member(Member),
    Class(ShareClass),
    Holding(ShareHolding),
    Change(ShareChange),
    Contribution(Contribution),
    Distribution(Distribution),
    Payout(PayoutNode),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_records_by_their_global_ids() {
        let text = name_records("party 101 leaves but keeps holding 7; class 3 of 人口股");
        assert_eq!(
            text,
            format!(
                "party {} leaves but keeps holding {}; class {} of 人口股",
                Kind::Party.id(101).as_str(),
                Kind::ShareHolding.id(7).as_str(),
                Kind::ShareClass.id(3).as_str()
            )
        );
        assert_eq!(name_records("new holding #0 of"), "new holding #0 of");
        assert_eq!(name_records("a party is"), "a party is");
    }
}
