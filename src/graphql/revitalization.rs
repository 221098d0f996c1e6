//! Revitalization records (盘活利用): how an idle asset was put back to use, its revenue
//! split, and recording one.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::NaiveDate;

use crate::db;
use crate::db::entities::idle_asset;
use crate::domain::assets::AssetStatus;
use crate::domain::revitalization::{
    RevenueSplit as DomainSplit, RevitalizationDraft, RevitalizationMode, WHOLE_BP,
};
use crate::error::AppError;
use crate::graphql::common::context::{Details, caller, db_conn, json, record, stored};
use crate::graphql::common::ids;
use crate::graphql::common::ids::Kind;
use crate::graphql::common::loaders::{AssetKey, ContributionOf, DbLoader, PartyKey};
use crate::graphql::common::nodes::{Contribution, IdleAsset, Party, Revitalization};
use crate::graphql::common::scalars::Long;
use crate::graphql::parties::party_id;

/// How revenue is shared (收益分配): fractions that sum to 1, e.g. 0.6 / 0.2 / 0.2 (6+2+2).
#[derive(SimpleObject)]
pub struct RevenueSplit {
    /// Village collective's share (村集体).
    pub collective: f64,
    /// Operator's share (经营主体).
    pub operator: f64,
    /// Farmer's share (农户).
    pub farmer: f64,
}

impl From<DomainSplit> for RevenueSplit {
    fn from(s: DomainSplit) -> Self {
        let f = |bp: i32| f64::from(bp) / f64::from(WHOLE_BP);
        Self {
            collective: f(s.collective_bp),
            operator: f(s.operator_bp),
            farmer: f(s.farmer_bp),
        }
    }
}

/// A revitalization record (盘活利用记录): how an idle asset was put back to use.
#[Object]
impl Revitalization {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::Revitalization.id(self.0.id)
    }

    /// Contract number (合同编号).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn contract_no(&self) -> Option<&str> {
        self.0.contract_no.as_deref()
    }

    /// How it was put to use (盘活方式).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn mode(&self) -> Result<RevitalizationMode> {
        stored(RevitalizationMode::parse(&self.0.mode))
    }

    /// What it is used for now (用途), e.g. 民宿, 研学基地.
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn end_use(&self) -> Option<&str> {
        self.0.end_use.as_deref()
    }

    /// The asset (资产).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn asset(&self, ctx: &Context<'_>) -> Result<IdleAsset> {
        let a = ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(AssetKey(self.0.asset_id))
            .await?;
        a.map(IdleAsset::from)
            .ok_or_else(|| AppError::internal(format!("record {} has no asset", self.0.id)).into())
    }

    /// The other party: tenant, investor, cooperative or collective (承租/合作方).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn counterparty(&self, ctx: &Context<'_>) -> Result<Option<Party>> {
        let Some(id) = self.0.counterparty_id else {
            return Ok(None);
        };
        Ok(ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(PartyKey(id))
            .await?
            .map(Party))
    }

    /// Start date (起始日期).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn start_date(&self) -> NaiveDate {
        self.0.start_date
    }

    /// Term in months (期限/月).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn term_months(&self) -> Option<i32> {
        self.0.term_months
    }

    /// Annual rent in fen (年租金/分).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn annual_rent_fen(&self) -> Option<Long> {
        self.0.annual_rent_fen.map(Long)
    }

    /// Investment in fen (投资额/分).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn investment_fen(&self) -> Option<Long> {
        self.0.investment_fen.map(Long)
    }

    /// Compensation paid for a paid relinquishment, in fen (退出补偿/分).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn compensation_fen(&self) -> Option<Long> {
        self.0.compensation_fen.map(Long)
    }

    /// Jobs created (带动就业/人).
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn jobs_created(&self) -> Option<i32> {
        self.0.jobs_created
    }

    /// How revenue is shared (收益分配), where agreed.
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn revenue_split(&self) -> Option<RevenueSplit> {
        let r = &self.0;
        DomainSplit::from_bp(
            r.collective_share_bp,
            r.operator_share_bp,
            r.farmer_share_bp,
        )
        .map(Into::into)
    }

    /// The contribution it became (入股记录), for an EQUITY_CONTRIBUTION once recorded: the
    /// shares issued for the asset and to whom.
    #[graphql(guard = "Details(\"a revitalization record\")")]
    async fn contribution(&self, ctx: &Context<'_>) -> Result<Option<Contribution>> {
        Ok(ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(ContributionOf(self.0.id))
            .await?
            .map(Contribution))
    }
}

async fn asset(ctx: &Context<'_>, id: &ID) -> Result<idle_asset::Model> {
    let n = ids::decode_as(id, Kind::IdleAsset)?;
    db::assets::by_ids(db_conn(ctx)?, &[n])
        .await?
        .remove(&n)
        .ok_or_else(|| AppError::bad_input("`assetId` names no idle asset").into())
}

/// How revenue is shared (收益分配), as fractions that must sum to 1.
#[derive(InputObject)]
pub struct RevenueSplitInput {
    /// Village collective's share (村集体), e.g. 0.6.
    pub collective: f64,
    /// Operator's share (经营主体), e.g. 0.2.
    pub operator: f64,
    /// Farmer's share (农户), e.g. 0.2.
    pub farmer: f64,
}

/// Records how an idle asset was put to use (登记盘活利用).
#[derive(InputObject)]
pub struct RecordRevitalizationInput {
    /// The asset (资产): REVITALIZED, or RELINQUISHED for a paid relinquishment.
    pub asset_id: ID,
    /// Contract number (合同编号), unique.
    pub contract_no: Option<String>,
    /// How (盘活方式).
    pub mode: RevitalizationMode,
    /// What for (用途), e.g. 民宿.
    pub end_use: Option<String>,
    /// The other party (承租/合作方).
    pub counterparty_id: Option<ID>,
    /// Start date (起始日期).
    pub start_date: chrono::NaiveDate,
    /// Term in months (期限/月), 1 to 600.
    pub term_months: Option<i32>,
    /// Annual rent in fen (年租金/分).
    pub annual_rent_fen: Option<Long>,
    /// Investment in fen (投资额/分).
    pub investment_fen: Option<Long>,
    /// Compensation in fen, for a paid relinquishment only (退出补偿/分).
    pub compensation_fen: Option<Long>,
    /// Jobs created (带动就业).
    pub jobs_created: Option<i32>,
    /// Revenue split (收益分配).
    pub revenue_split: Option<RevenueSplitInput>,
}

/// The record made.
#[derive(SimpleObject)]
pub struct RevitalizationPayload {
    /// The record as stored (盘活记录).
    pub revitalization: Revitalization,
}

/// Recording how idle assets were put to use (盘活利用).
#[derive(Default)]
pub struct RevitalizationMutation;

#[Object]
impl RevitalizationMutation {
    /// Records how an idle asset was put to use (登记盘活利用).
    async fn record_revitalization(
        &self,
        ctx: &Context<'_>,
        input: RecordRevitalizationInput,
    ) -> Result<RevitalizationPayload> {
        caller(ctx)
            .actor("recording a revitalization")
            .map_err(AppError::from)?;
        let asset = asset(ctx, &input.asset_id).await?;
        let actor = caller(ctx)
            .may_write_in(asset.township_id)
            .map_err(AppError::from)?;
        let split = input
            .revenue_split
            .map(|s| DomainSplit::from_fractions(s.collective, s.operator, s.farmer))
            .transpose()
            .map_err(AppError::from)?;
        let record_ = RevitalizationDraft {
            contract_no: input.contract_no,
            mode: input.mode,
            end_use: input.end_use,
            start_date: input.start_date,
            term_months: input.term_months,
            annual_rent_fen: input.annual_rent_fen.map(|l| l.0),
            investment_fen: input.investment_fen.map(|l| l.0),
            compensation_fen: input.compensation_fen.map(|l| l.0),
            jobs_created: input.jobs_created,
            split,
        }
        .validate(stored(AssetStatus::parse(&asset.status))?)
        .map_err(AppError::from)?;
        let counterparty = match &input.counterparty_id {
            Some(id) => Some(party_id(ctx, id, "counterpartyId").await?),
            None => None,
        };
        let txn = db::begin_write(db_conn(ctx)?).await?;
        if let Some(no) = &record_.contract_no
            && db::revitalization::by_contract_no(&txn, no)
                .await?
                .is_some()
        {
            return Err(AppError::conflict(format!("contract {no} is already recorded")).into());
        }
        let row = db::revitalization::insert(&txn, asset.id, counterparty, &record_).await?;
        record(
            ctx,
            &txn,
            actor,
            "recordRevitalization",
            "revitalization",
            row.id,
            (None, json(&row)),
        )
        .await?;
        db::commit(txn).await?;
        Ok(RevitalizationPayload {
            revitalization: Revitalization(row),
        })
    }
}
