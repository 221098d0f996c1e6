//! The registry's object types, declared once so that every concept can name another's type
//! without importing its module. GraphQL's type graph has cycles (a township lists its assets, an
//! asset names its township); the modules do not: each type's fields are the `#[Object] impl` in
//! its concept's module (`Township` in `places`, `IdleAsset` in `assets`, `PropertyRight` in
//! `rights`, …), and these declarations hold only the row each wraps, and how a related record
//! loads one.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Result};

use super::loaders::{DbLoader, TownshipKey, VillageKey};
use crate::db;
use crate::db::entities::{
    collective_organization, credit_line, demo_site, idle_asset, loan_application, loan_product,
    mortgage, party, property_right, recommendation, revitalization, share_contribution, township,
    village,
};
use crate::error::AppError;

/// A township or subdistrict (乡镇/街道): the unit cadres work in.
pub struct Township(pub township::Model);

/// An administrative village or community (行政村/社区).
pub struct Village(pub village::Model);

/// An idle farmhouse or homestead (闲置农房/闲置宅基地). Its township and village are derived
/// from its location, never entered.
///
/// The row; its distance from a circle's centre when listed by distance; its village and owner
/// when the listing read them in its own query.
pub struct IdleAsset(
    pub idle_asset::Model,
    pub Option<f64>,
    pub Option<Box<Relations>>,
);

/// An asset's village and owner, read with it.
pub struct Relations {
    pub village: Option<village::Model>,
    pub owner: party::Model,
}

impl From<idle_asset::Model> for IdleAsset {
    fn from(row: idle_asset::Model) -> Self {
        Self(row, None, None)
    }
}

impl IdleAsset {
    /// The asset as listed by distance from a point, `distance_m` away.
    pub fn at_distance(row: idle_asset::Model, distance_m: f64) -> Self {
        Self(row, Some(distance_m), None)
    }

    /// The asset with the village and owner joined to it.
    pub fn joined((row, village, owner): db::assets::Joined) -> Self {
        let relations = owner.map(|owner| Box::new(Relations { village, owner }));
        Self(row, None, relations)
    }
}

/// A party (权利人): a household, collective, cooperative or enterprise. Its personal data (ID
/// number, phone) is shown only to those the access policy allows, and refused with FORBIDDEN to
/// others.
pub struct Party(pub party::Model);

/// A revitalization record (盘活利用记录): how an idle asset was put back to use.
pub struct Revitalization(pub revitalization::Model);

/// A demonstration site (示范点/惠农共富样板): a village or base that shows what revitalization
/// achieved, e.g. 东川白家七星山庄.
pub struct DemoSite(pub demo_site::Model);

/// A property right (产权): a household's house with its homestead, a land management right, a
/// forest right… with its certificate, holders and source documents (LADM: LA_Right).
pub struct PropertyRight(pub property_right::Model);

/// A loan product (贷款产品): one per kind of right at a bank ("一权一品").
pub struct LoanProduct(pub loan_product::Model);

/// A loan application and the loan it became (贷款申请).
pub struct LoanApplication(pub loan_application::Model);

/// A mortgage on a right (抵押权, LADM LA_Mortgage).
pub struct Mortgage(pub mortgage::Model);

/// A pre-credit line granted on seeing a registered house (见房即授信).
pub struct CreditLine(pub credit_line::Model);

/// A village party branch's recommendation of a household to the banks (党建+金融服务).
pub struct Recommendation(pub recommendation::Model);

impl Village {
    /// The village a record lies in, through the request's loader; `None` when it lies in none.
    pub async fn load(ctx: &Context<'_>, id: Option<i64>) -> Result<Option<Village>> {
        let Some(id) = id else { return Ok(None) };
        let loader = ctx.data::<DataLoader<DbLoader>>()?;
        Ok(loader.load_one(VillageKey(id)).await?.map(Village))
    }
}

impl Township {
    /// The township a record lies in, through the request's loader. Every record that has a
    /// township id has a township (a foreign key), so a missing one is an internal error.
    pub async fn load(ctx: &Context<'_>, id: i64) -> Result<Township> {
        let loader = ctx.data::<DataLoader<DbLoader>>()?;
        let t = loader.load_one(TownshipKey(id)).await?;
        t.map(Township)
            .ok_or_else(|| AppError::internal(format!("township {id} is missing")).into())
    }
}

/// A collective economic organisation (农村集体经济组织) or another issuer of shares under the
/// "three changes" (三变).
pub struct CollectiveOrganization(pub collective_organization::Model);

/// Resources or funds turned into shares (入股).
pub struct Contribution(pub share_contribution::Model);

/// A household's shareholding statement (股权及分红明细): the party it is of.
pub struct ShareStatement(pub party::Model);

/// What the "three changes" (三变) figures are counted over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverageScope {
    District,
    Township(i64),
    Village(i64),
    Organization(i64),
}

/// The "three changes" (三变) in figures over a scope: the figures behind "增点扩面".
pub struct ShareCoverage(pub CoverageScope);

/// The figures of the district, a township or a village (统计数据).
pub struct Statistics(pub db::statistics::Scope);
