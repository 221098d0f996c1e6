//! Demonstration sites, the assets they revitalized and their yearly indicators.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::{demo_indicator, demo_site, demo_site_asset};
use super::{StoreResult, Versioned};
use crate::domain::demo_sites::{Indicator, NewDemoSite};
use crate::domain::locator::Placement;
use crate::domain::period::Period;

pub async fn by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, demo_site::Model>> {
    let rows = demo_site::Entity::find()
        .filter(demo_site::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|d| (d.id, d)).collect())
}

pub async fn by_code(
    conn: &impl ConnectionTrait,
    code: &str,
) -> StoreResult<Option<demo_site::Model>> {
    Ok(demo_site::Entity::find()
        .filter(demo_site::Column::Code.eq(code))
        .one(conn)
        .await?)
}

/// A page of sites, optionally of one township, in id order.
pub async fn page(
    conn: &impl ConnectionTrait,
    township_id: Option<i64>,
    updated: Period,
    after: Option<i64>,
    backward: bool,
    limit: u64,
) -> StoreResult<Vec<demo_site::Model>> {
    use demo_site::Column;
    let mut q =
        demo_site::Entity::find().filter(super::updated_within::<demo_site::Entity>(updated));
    if let Some(t) = township_id {
        q = q.filter(Column::TownshipId.eq(t));
    }
    if let Some(id) = after {
        q = q.filter(if backward {
            Column::Id.lt(id)
        } else {
            Column::Id.gt(id)
        });
    }
    q = if backward {
        q.order_by_desc(Column::Id)
    } else {
        q.order_by_asc(Column::Id)
    };
    Ok(q.limit(limit).all(conn).await?)
}

pub async fn count(
    conn: &impl ConnectionTrait,
    township_id: Option<i64>,
    updated: Period,
) -> StoreResult<u64> {
    let mut q =
        demo_site::Entity::find().filter(super::updated_within::<demo_site::Entity>(updated));
    if let Some(t) = township_id {
        q = q.filter(demo_site::Column::TownshipId.eq(t));
    }
    Ok(q.count(conn).await?)
}

/// The ids of the assets each site revitalized, in one query.
pub async fn asset_ids_of(
    conn: &impl ConnectionTrait,
    site_ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<i64>>> {
    let rows = demo_site_asset::Entity::find()
        .filter(demo_site_asset::Column::DemoSiteId.is_in(site_ids.iter().copied()))
        .order_by_asc(demo_site_asset::Column::AssetId)
        .all(conn)
        .await?;
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    for r in rows {
        out.entry(r.demo_site_id).or_default().push(r.asset_id);
    }
    Ok(out)
}

/// The indicators of each site, by year then code, in one query.
pub async fn indicators_of(
    conn: &impl ConnectionTrait,
    site_ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<demo_indicator::Model>>> {
    let rows = demo_indicator::Entity::find()
        .filter(demo_indicator::Column::DemoSiteId.is_in(site_ids.iter().copied()))
        .order_by_asc(demo_indicator::Column::Year)
        .order_by_asc(demo_indicator::Column::Code)
        .all(conn)
        .await?;
    let mut out: HashMap<i64, Vec<demo_indicator::Model>> = HashMap::new();
    for r in rows {
        out.entry(r.demo_site_id).or_default().push(r);
    }
    Ok(out)
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    site: &NewDemoSite,
    place: Placement,
    operator_id: Option<i64>,
) -> StoreResult<demo_site::Model> {
    let now = Utc::now();
    let row = demo_site::ActiveModel {
        code: Set(site.code.clone()),
        name: Set(site.name.clone()),
        level: Set(site.level.as_str().to_owned()),
        designation_year: Set(site.designation_year),
        theme: Set(site.theme.clone()),
        description: Set(site.description.clone()),
        operator_id: Set(operator_id),
        township_id: Set(place.township_id),
        village_id: Set(place.village_id),
        lon: Set(site.location.lon()),
        lat: Set(site.location.lat()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    Ok(row.insert(conn).await?)
}

pub async fn link_asset(
    conn: &impl ConnectionTrait,
    site_id: i64,
    asset_id: i64,
) -> StoreResult<()> {
    demo_site_asset::ActiveModel {
        demo_site_id: Set(site_id),
        asset_id: Set(asset_id),
    }
    .insert(conn)
    .await?;
    Ok(())
}

pub async fn insert_indicator(
    conn: &impl ConnectionTrait,
    site_id: i64,
    i: &Indicator,
) -> StoreResult<()> {
    demo_indicator::ActiveModel {
        demo_site_id: Set(site_id),
        year: Set(i.year),
        code: Set(i.code.as_str().to_owned()),
        value: Set(i.value),
        source: Set(i.source.clone()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Replaces a site's attributes, place and operator if it is still at `version`.
pub async fn update(
    conn: &impl ConnectionTrait,
    id: i64,
    version: i32,
    site: &NewDemoSite,
    place: Placement,
    operator_id: Option<i64>,
) -> StoreResult<Versioned<demo_site::Model>> {
    let row = demo_site::ActiveModel {
        code: Set(site.code.clone()),
        name: Set(site.name.clone()),
        level: Set(site.level.as_str().to_owned()),
        designation_year: Set(site.designation_year),
        theme: Set(site.theme.clone()),
        description: Set(site.description.clone()),
        operator_id: Set(operator_id),
        township_id: Set(place.township_id),
        village_id: Set(place.village_id),
        lon: Set(site.location.lon()),
        lat: Set(site.location.lat()),
        ..Default::default()
    };
    let changes = demo_site::Entity::update_many().set(row);
    super::update_versioned(conn, id, version, changes).await
}

/// Replaces the set of assets a site revitalized.
pub async fn set_assets(
    conn: &impl ConnectionTrait,
    site_id: i64,
    asset_ids: &[i64],
) -> StoreResult<()> {
    demo_site_asset::Entity::delete_many()
        .filter(demo_site_asset::Column::DemoSiteId.eq(site_id))
        .exec(conn)
        .await?;
    for asset in asset_ids {
        link_asset(conn, site_id, *asset).await?;
    }
    Ok(())
}

/// Records indicators, replacing any value a site already has for the same year and code.
pub async fn upsert_indicators(
    conn: &impl ConnectionTrait,
    site_id: i64,
    indicators: &[Indicator],
) -> StoreResult<()> {
    use demo_indicator::Column;
    for i in indicators {
        demo_indicator::Entity::delete_many()
            .filter(Column::DemoSiteId.eq(site_id))
            .filter(Column::Year.eq(i.year))
            .filter(Column::Code.eq(i.code.as_str()))
            .exec(conn)
            .await?;
        insert_indicator(conn, site_id, i).await?;
    }
    Ok(())
}

/// Every site with its location and place (there are tens, not thousands).
pub async fn all(conn: &impl ConnectionTrait) -> StoreResult<Vec<demo_site::Model>> {
    Ok(demo_site::Entity::find().all(conn).await?)
}

/// Moves a site to the place its location now falls in.
pub async fn set_place(conn: &impl ConnectionTrait, id: i64, place: Placement) -> StoreResult<()> {
    use demo_site::Column;
    use sea_orm::sea_query::Expr;
    let changes = demo_site::Entity::update_many()
        .col_expr(Column::TownshipId, Expr::val(place.township_id))
        .col_expr(Column::VillageId, Expr::val(place.village_id));
    super::update_any_version(conn, id, changes).await?;
    Ok(())
}
