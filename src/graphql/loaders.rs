//! Per-request DataLoaders: every relation is fetched in one batched query per request and
//! key type, never once per parent. Built per request, because what a caller may load will
//! depend on who is asking.

use std::collections::HashMap;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::DatabaseConnection;

use crate::db::entities::{
    demo_indicator, demo_site, idle_asset, party, revitalization, township, village,
};
use crate::db::{self, StoreError};

/// The loader behind every relation; one key type per relation.
pub struct DbLoader {
    db: DatabaseConnection,
}

/// A fresh loader for one request, gathering keys for `window` before each batched query.
pub fn for_request(db: DatabaseConnection, window: Duration) -> DataLoader<DbLoader> {
    DataLoader::new(DbLoader { db }, tokio::spawn).delay(window)
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

loader!(TownshipKey => township::Model, db::place::townships_by_ids);
loader!(VillageKey => village::Model, db::place::villages_by_ids);
loader!(PartyKey => party::Model, db::party::by_ids);
loader!(AssetKey => idle_asset::Model, db::asset::by_ids);
loader!(RevitalizationKey => revitalization::Model, db::revitalization::by_ids);
loader!(DemoSiteKey => demo_site::Model, db::demo_site::by_ids);
loader!(RevitalizationsOf => Vec<revitalization::Model>, db::revitalization::of_assets);
loader!(StatusCountsOf => Vec<(String, i64)>, db::asset::status_counts);
loader!(SiteAssetsOf => Vec<i64>, db::demo_site::asset_ids_of);
loader!(IndicatorsOf => Vec<demo_indicator::Model>, db::demo_site::indicators_of);
