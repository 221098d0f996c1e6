//! Per-request DataLoaders: every relation is fetched in one batched query per request and
//! key type, never once per parent. Built per request, because what a caller may load will
//! depend on who is asking.

use std::collections::HashMap;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::DatabaseConnection;

use crate::db::entities::{
    appraisal, bank, collective_organization, credit_line, demo_indicator, demo_site, distribution,
    idle_asset, loan_application, loan_event, loan_product, mortgage, party, property_right,
    recommendation, revitalization, right_holder, share_change, share_class, share_contribution,
    share_holding, source_document, township, village,
};
use crate::db::{self, StoreError};

/// The loader behind every relation; one key type per relation.
pub struct DbLoader {
    db: DatabaseConnection,
}

/// The request's loader.
pub fn of<'a>(ctx: &async_graphql::Context<'a>) -> async_graphql::Result<&'a DataLoader<DbLoader>> {
    ctx.data::<DataLoader<DbLoader>>()
}

/// A fresh loader for one request, gathering keys for `window` before each batched query.
/// Its batches run in tasks of their own, in the request's span and statement count.
pub fn for_request(db: DatabaseConnection, window: Duration) -> DataLoader<DbLoader> {
    use tracing::Instrument as _;
    let spawn =
        |batch| tokio::spawn(crate::db::counted(batch).instrument(tracing::Span::current()));
    DataLoader::new(DbLoader { db }, spawn).delay(window)
}

macro_rules! key {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub i64);
    };
}

key!(/// A township by id.
    TownshipKey);
key!(/// A village by id.
    VillageKey);
key!(/// A party by id.
    PartyKey);
key!(/// An idle asset by id.
    AssetKey);
key!(/// A revitalization record by id.
    RevitalizationKey);
key!(/// A demonstration site by id.
    DemoSiteKey);
key!(/// The revitalization records of an asset.
    RevitalizationsOf);
key!(/// Asset counts by status of a township.
    StatusCountsOf);
key!(/// The assets a demonstration site revitalized.
    SiteAssetsOf);
key!(/// The yearly indicators of a demonstration site.
    IndicatorsOf);
key!(/// A property right by id.
    RightKey);
key!(/// A loan product by id.
    ProductKey);
key!(/// A bank by id.
    BankKey);
key!(/// The holders of a right.
    HoldersOf);
key!(/// The source documents of a right.
    DocumentsOf);
key!(/// The appraisals of a right.
    AppraisalsOf);
key!(/// The mortgage of a loan application.
    MortgageOf);
key!(/// The events of a loan application.
    LoanEventsOf);
key!(/// A collective economic organisation by id.
    OrganizationKey);
key!(/// The organisation a party is, if it is one.
    OrganizationOfParty);
key!(/// A village's collective economic organisation.
    VillageCollectiveOf);
key!(/// A share class by id.
    ShareClassKey);
key!(/// A holding by id.
    HoldingKey);
key!(/// The contribution a revitalization became.
    ContributionOf);
key!(/// A share change by id.
    ShareChangeKey);
key!(/// The holdings a share change opened.
    OpenedBy);
key!(/// The holdings a share change closed.
    ClosedBy);
key!(/// A distribution by id.
    DistributionKey);
key!(/// A loan application by id.
    ApplicationKey);
key!(/// A mortgage by id.
    MortgageKey);
key!(/// A credit line by id.
    CreditLineKey);
key!(/// A party branch's recommendation by id.
    RecommendationKey);
key!(/// The loan applications on a right.
    ApplicationsOnRight);
key!(/// The loan applications a recommendation backs.
    BackedBy);

macro_rules! loader {
    ($key:ident => $value:ty, $fetch:path) => {
        impl Loader<$key> for DbLoader {
            type Value = $value;
            type Error = StoreError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, StoreError> {
                let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
                Ok($fetch(&self.db, &ids)
                    .await?
                    .into_iter()
                    .map(|(id, v)| ($key(id), v))
                    .collect())
            }
        }
    };
}

loader!(TownshipKey => township::Model, db::places::townships_by_ids);
loader!(VillageKey => village::Model, db::places::villages_by_ids);
loader!(PartyKey => party::Model, db::parties::by_ids);
loader!(AssetKey => idle_asset::Model, db::assets::by_ids);
loader!(RevitalizationKey => revitalization::Model, db::revitalization::by_ids);
loader!(DemoSiteKey => demo_site::Model, db::demo_sites::by_ids);
loader!(RevitalizationsOf => Vec<revitalization::Model>, db::revitalization::of_assets);
loader!(StatusCountsOf => Vec<(String, i64)>, db::assets::status_counts);
loader!(SiteAssetsOf => Vec<i64>, db::demo_sites::asset_ids_of);
loader!(IndicatorsOf => Vec<demo_indicator::Model>, db::demo_sites::indicators_of);
loader!(RightKey => property_right::Model, db::rights::rights_by_ids);
loader!(ProductKey => loan_product::Model, db::credit::products_by_ids);
loader!(BankKey => bank::Model, db::credit::banks_by_ids);
loader!(HoldersOf => Vec<right_holder::Model>, db::rights::holders_of_rights);
loader!(DocumentsOf => Vec<source_document::Model>, db::rights::documents_of_rights);
loader!(AppraisalsOf => Vec<appraisal::Model>, db::rights::appraisals_of_rights);
loader!(MortgageOf => mortgage::Model, db::loans::mortgages_of);
loader!(LoanEventsOf => Vec<loan_event::Model>, db::loans::events_of_applications);
loader!(OrganizationKey => collective_organization::Model, db::shares::organizations_by_ids);
loader!(OrganizationOfParty => collective_organization::Model, db::shares::organizations_of_parties);
loader!(VillageCollectiveOf => collective_organization::Model, db::shares::village_collectives);
loader!(ShareClassKey => share_class::Model, db::shares::classes_by_ids);
loader!(HoldingKey => share_holding::Model, db::shares::holdings_by_ids);
loader!(ContributionOf => share_contribution::Model, db::shares::contributions_of_revitalizations);
loader!(ShareChangeKey => share_change::Model, db::shares::changes_by_ids);
loader!(OpenedBy => Vec<share_holding::Model>, db::shares::holdings_opened_by);
loader!(ClosedBy => Vec<share_holding::Model>, db::shares::holdings_closed_by);
loader!(DistributionKey => distribution::Model, db::shares::distributions_by_ids);
loader!(ApplicationKey => loan_application::Model, db::loans::applications_by_ids);
loader!(MortgageKey => mortgage::Model, db::loans::mortgages_by_ids);
loader!(CreditLineKey => credit_line::Model, db::credit::lines_by_ids);
loader!(RecommendationKey => recommendation::Model, db::credit::recommendations_by_ids);
loader!(ApplicationsOnRight => Vec<loan_application::Model>, db::loans::applications_on_rights);
loader!(BackedBy => Vec<loan_application::Model>, db::loans::applications_backed_by);
