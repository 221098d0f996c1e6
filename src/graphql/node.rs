//! Relay's `Node` interface: any record by its global ID.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Interface, Object, Result};

use crate::db;
use crate::error::AppError;
use crate::graphql::common::context::{caller, db_conn};
use crate::graphql::common::ids;
use crate::graphql::common::ids::Kind;
use crate::graphql::common::loaders::{
    AssetKey, DbLoader, DemoSiteKey, PartyKey, RevitalizationKey, TownshipKey, VillageKey,
};
use crate::graphql::common::nodes::{
    DemoSite, IdleAsset, Party, Revitalization, Township, Village,
};
use crate::graphql::common::paging::MAX_PAGE;

/// Anything with a global ID (Relay's Node).
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global ID."))]
pub enum Node {
    Township(Township),
    Village(Village),
    Party(Party),
    IdleAsset(IdleAsset),
    Revitalization(Revitalization),
    DemoSite(DemoSite),
    PropertyRight(crate::graphql::common::nodes::PropertyRight),
    LoanProduct(crate::graphql::common::nodes::LoanProduct),
    LoanApplication(crate::graphql::common::nodes::LoanApplication),
    CollectiveOrganization(crate::graphql::common::nodes::CollectiveOrganization),
    Member(crate::graphql::shares::Member),
    ShareClass(crate::graphql::shares::ShareClass),
    ShareHolding(crate::graphql::shares::ShareHolding),
    ShareChange(crate::graphql::shares::ShareChange),
    Contribution(crate::graphql::common::nodes::Contribution),
    Distribution(crate::graphql::shares::Distribution),
    Payout(crate::graphql::shares::PayoutNode),
    Target(crate::graphql::targets::Target),
    ImportJob(crate::graphql::import::ImportJob),
    CreditLine(crate::graphql::common::nodes::CreditLine),
    Recommendation(crate::graphql::common::nodes::Recommendation),
    Mortgage(crate::graphql::common::nodes::Mortgage),
}

pub(crate) async fn load_node(ctx: &Context<'_>, kind: Kind, id: i64) -> Result<Option<Node>> {
    let loader = ctx.data::<DataLoader<DbLoader>>()?;
    Ok(match kind {
        Kind::Township => loader
            .load_one(TownshipKey(id))
            .await?
            .map(|m| Node::Township(Township(m))),
        Kind::Village => loader
            .load_one(VillageKey(id))
            .await?
            .map(|m| Node::Village(Village(m))),
        Kind::Party => loader
            .load_one(PartyKey(id))
            .await?
            .map(|m| Node::Party(Party(m))),
        Kind::IdleAsset => loader
            .load_one(AssetKey(id))
            .await?
            .map(|m| Node::IdleAsset(IdleAsset::from(m))),
        Kind::Revitalization => loader
            .load_one(RevitalizationKey(id))
            .await?
            .map(|m| Node::Revitalization(Revitalization(m))),
        Kind::DemoSite => loader
            .load_one(DemoSiteKey(id))
            .await?
            .map(|m| Node::DemoSite(DemoSite(m))),
        // Rights and products need a token, like their own queries.
        Kind::PropertyRight => {
            caller(ctx)
                .may_read_details("property rights")
                .map_err(AppError::from)?;
            db::rights::right(db_conn(ctx)?, id)
                .await?
                .map(|m| Node::PropertyRight(crate::graphql::common::nodes::PropertyRight(m)))
        }
        Kind::LoanProduct => crate::graphql::credit::visible_product(ctx, id)
            .await?
            .map(|p| Node::LoanProduct(crate::graphql::common::nodes::LoanProduct(p))),
        Kind::LoanApplication => crate::graphql::loans::node(ctx, id)
            .await?
            .map(Node::LoanApplication),
        Kind::CreditLine => crate::graphql::credit::credit_line_node(ctx, id)
            .await?
            .map(Node::CreditLine),
        Kind::Recommendation => crate::graphql::credit::recommendation_node(ctx, id)
            .await?
            .map(Node::Recommendation),
        Kind::Mortgage => crate::graphql::loans::mortgage_node(ctx, id)
            .await?
            .map(Node::Mortgage),
        Kind::Target => crate::graphql::targets::node(ctx, id)
            .await?
            .map(Node::Target),
        Kind::ImportJob => crate::graphql::import::node(ctx, id)
            .await?
            .map(Node::ImportJob),
        Kind::CollectiveOrganization
        | Kind::Member
        | Kind::ShareClass
        | Kind::ShareHolding
        | Kind::ShareChange
        | Kind::Contribution
        | Kind::Distribution
        | Kind::Payout => {
            use crate::graphql::shares::RegisterNode as R;
            crate::graphql::shares::node(ctx, kind, id)
                .await?
                .map(|n| match n {
                    R::Organization(o) => Node::CollectiveOrganization(o),
                    R::Member(m) => Node::Member(m),
                    R::Class(c) => Node::ShareClass(c),
                    R::Holding(h) => Node::ShareHolding(h),
                    R::Change(c) => Node::ShareChange(c),
                    R::Contribution(c) => Node::Contribution(c),
                    R::Distribution(d) => Node::Distribution(d),
                    R::Payout(p) => Node::Payout(p),
                })
        }
    })
}

/// Records by global ID (Relay's `node` and `nodes`).
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any record by its global ID; null if there is none.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let (kind, n) = ids::decode(&id)?;
        load_node(ctx, kind, n).await
    }

    /// Records by global ID, in the order asked (null where there is none); at most 100.
    #[graphql(complexity = "ids.len().max(1).saturating_mul(child_complexity)")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>> {
        if ids.len() > MAX_PAGE as usize {
            return Err(AppError::limit_exceeded(format!(
                "at most {MAX_PAGE} ids at once, got {}",
                ids.len()
            ))
            .into());
        }
        let decoded = ids.iter().map(ids::decode).collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(decoded.len());
        // The loader batches these: one query per record type, however many ids.
        let loads = decoded.into_iter().map(|(kind, n)| load_node(ctx, kind, n));
        for node in futures_util::future::join_all(loads).await {
            out.push(node?);
        }
        Ok(out)
    }
}
