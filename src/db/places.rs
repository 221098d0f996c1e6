//! Townships and villages.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use super::StoreResult;
use super::entities::{township, village};
use super::geometry::{write_area, write_multi_area};
use anyhow::Context as _;

use crate::domain::geometry::{Area, BBox, Location};
use crate::domain::locator::{Locator, VillageShape};
use crate::domain::period::Period;
use crate::domain::places::{NewTownship, NewVillage};

pub async fn townships_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, township::Model>> {
    let rows = township::Entity::find()
        .filter(township::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|t| (t.id, t)).collect())
}

pub async fn villages_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, village::Model>> {
    let select = village::Entity::find().filter(village::Column::Id.is_in(ids.iter().copied()));
    let found: Vec<village::Model> =
        super::rows::all(conn, sea_orm::QueryTrait::as_query(&select)).await?;
    Ok(found.into_iter().map(|v| (v.id, v)).collect())
}

/// The codes of the townships `ids` names, by id: two columns, never a boundary.
pub async fn township_codes(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String)> = township::Entity::find()
        .select_only()
        .column(township::Column::Id)
        .column(township::Column::Code)
        .filter(township::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The codes of the villages `ids` names, by id: two columns, never a boundary.
pub async fn village_codes(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String)> = village::Entity::find()
        .select_only()
        .column(village::Column::Id)
        .column(village::Column::Code)
        .filter(village::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

pub async fn township_by_code(
    conn: &impl ConnectionTrait,
    code: &str,
) -> StoreResult<Option<township::Model>> {
    Ok(township::Entity::find()
        .filter(township::Column::Code.eq(code))
        .one(conn)
        .await?)
}

pub async fn village_by_code(
    conn: &impl ConnectionTrait,
    code: &str,
) -> StoreResult<Option<village::Model>> {
    Ok(village::Entity::find()
        .filter(village::Column::Code.eq(code))
        .one(conn)
        .await?)
}

/// Every township, by id: there are tens per district, never enough to page through in SQL.
pub async fn all_townships(conn: &impl ConnectionTrait) -> StoreResult<Vec<township::Model>> {
    Ok(township::Entity::find()
        .order_by_asc(township::Column::Id)
        .all(conn)
        .await?)
}

/// Every village, by id (the locator loads them all).
pub async fn all_villages(conn: &impl ConnectionTrait) -> StoreResult<Vec<village::Model>> {
    Ok(village::Entity::find()
        .order_by_asc(village::Column::Id)
        .all(conn)
        .await?)
}

/// A page of townships in id order after (or before, going backwards) a cursor id.
pub async fn townships_page(
    conn: &impl ConnectionTrait,
    updated: Period,
    after: Option<i64>,
    backward: bool,
    limit: u64,
) -> StoreResult<Vec<township::Model>> {
    let mut q = township::Entity::find().filter(super::updated_within::<township::Entity>(updated));
    if let Some(id) = after {
        q = q.filter(if backward {
            township::Column::Id.lt(id)
        } else {
            township::Column::Id.gt(id)
        });
    }
    q = if backward {
        q.order_by_desc(township::Column::Id)
    } else {
        q.order_by_asc(township::Column::Id)
    };
    Ok(q.limit(limit).all(conn).await?)
}

/// How many townships last changed in `updated`.
pub async fn count_townships(conn: &impl ConnectionTrait, updated: Period) -> StoreResult<u64> {
    Ok(township::Entity::find()
        .filter(super::updated_within::<township::Entity>(updated))
        .count(conn)
        .await?)
}

/// A page of villages, optionally of one township, last changed in `updated`, in id order.
pub async fn villages_page(
    conn: &impl ConnectionTrait,
    township_id: Option<i64>,
    updated: Period,
    after: Option<i64>,
    backward: bool,
    limit: u64,
) -> StoreResult<Vec<village::Model>> {
    let mut q = village::Entity::find().filter(super::updated_within::<village::Entity>(updated));
    if let Some(t) = township_id {
        q = q.filter(village::Column::TownshipId.eq(t));
    }
    if let Some(id) = after {
        q = q.filter(if backward {
            village::Column::Id.lt(id)
        } else {
            village::Column::Id.gt(id)
        });
    }
    q = if backward {
        q.order_by_desc(village::Column::Id)
    } else {
        q.order_by_asc(village::Column::Id)
    };
    Ok(q.limit(limit).all(conn).await?)
}

pub async fn count_villages(
    conn: &impl ConnectionTrait,
    township_id: Option<i64>,
    updated: Period,
) -> StoreResult<u64> {
    let mut q = village::Entity::find().filter(super::updated_within::<village::Entity>(updated));
    if let Some(t) = township_id {
        q = q.filter(village::Column::TownshipId.eq(t));
    }
    Ok(q.count(conn).await?)
}

pub async fn insert_township(
    conn: &impl ConnectionTrait,
    t: &NewTownship,
) -> StoreResult<township::Model> {
    let b = t.boundary.bbox();
    let now = Utc::now();
    let row = township::ActiveModel {
        code: Set(t.code.clone()),
        name: Set(t.name.clone()),
        boundary: Set(write_multi_area(&t.boundary)),
        min_lon: Set(b.min_lon),
        min_lat: Set(b.min_lat),
        max_lon: Set(b.max_lon),
        max_lat: Set(b.max_lat),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    Ok(row.insert(conn).await?)
}

pub async fn insert_village(
    conn: &impl ConnectionTrait,
    township_id: i64,
    v: &NewVillage,
) -> StoreResult<village::Model> {
    let b = v.boundary.as_ref().map(|a| a.bbox());
    let now = Utc::now();
    let row = village::ActiveModel {
        township_id: Set(township_id),
        code: Set(v.code.clone()),
        name: Set(v.name.clone()),
        boundary: Set(v.boundary.as_ref().map(write_area)),
        center_lon: Set(v.center.lon()),
        center_lat: Set(v.center.lat()),
        min_lon: Set(b.map(|b| b.min_lon)),
        min_lat: Set(b.map(|b| b.min_lat)),
        max_lon: Set(b.map(|b| b.max_lon)),
        max_lat: Set(b.map(|b| b.max_lat)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    Ok(row.insert(conn).await?)
}

/// The locator over every stored boundary.
pub async fn locator(conn: &impl ConnectionTrait) -> anyhow::Result<Locator> {
    let townships = all_townships(conn)
        .await?
        .into_iter()
        .map(|t| {
            let area = super::geometry::read_area(&t.boundary)
                .with_context(|| format!("stored boundary of township {}", t.code))?;
            Ok((t.id, area))
        })
        .collect::<anyhow::Result<Vec<(i64, Area)>>>()?;
    let villages = all_villages(conn)
        .await?
        .into_iter()
        .map(|v| {
            let boundary = v
                .boundary
                .as_deref()
                .map(super::geometry::read_area)
                .transpose()
                .with_context(|| format!("stored boundary of village {}", v.code))?;
            let center = Location::parse(v.center_lon, v.center_lat)?;
            Ok(VillageShape {
                id: v.id,
                township_id: v.township_id,
                boundary,
                center,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Locator::new(townships, villages))
}

/// Replaces a township's name and boundary, bumping its version.
pub async fn update_township(
    conn: &impl ConnectionTrait,
    id: i64,
    t: &NewTownship,
) -> StoreResult<township::Model> {
    let b = t.boundary.bbox();
    let row = township::ActiveModel {
        name: Set(t.name.clone()),
        boundary: Set(write_multi_area(&t.boundary)),
        min_lon: Set(b.min_lon),
        min_lat: Set(b.min_lat),
        max_lon: Set(b.max_lon),
        max_lat: Set(b.max_lat),
        ..Default::default()
    };
    super::update_any_version(conn, id, township::Entity::update_many().set(row)).await?;
    township::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound(format!("township {id}")).into())
}

/// Replaces a village's name, boundary and centre, bumping its version.
pub async fn update_village(
    conn: &impl ConnectionTrait,
    id: i64,
    v: &NewVillage,
) -> StoreResult<village::Model> {
    let b = v.boundary.as_ref().map(|a| a.bbox());
    let row = village::ActiveModel {
        name: Set(v.name.clone()),
        boundary: Set(v.boundary.as_ref().map(write_area)),
        center_lon: Set(v.center.lon()),
        center_lat: Set(v.center.lat()),
        min_lon: Set(b.map(|b| b.min_lon)),
        min_lat: Set(b.map(|b| b.min_lat)),
        max_lon: Set(b.map(|b| b.max_lon)),
        max_lat: Set(b.map(|b| b.max_lat)),
        ..Default::default()
    };
    super::update_any_version(conn, id, village::Entity::update_many().set(row)).await?;
    village::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound(format!("village {id}")).into())
}

/// The union of the townships' boxes, or Web Mercator's whole world when there are none.
pub async fn district_bounds(conn: &impl ConnectionTrait) -> StoreResult<BBox> {
    let townships = all_townships(conn).await?;
    Ok(townships
        .iter()
        .map(|t| BBox {
            min_lon: t.min_lon,
            min_lat: t.min_lat,
            max_lon: t.max_lon,
            max_lat: t.max_lat,
        })
        .reduce(|a, b| BBox {
            min_lon: a.min_lon.min(b.min_lon),
            min_lat: a.min_lat.min(b.min_lat),
            max_lon: a.max_lon.max(b.max_lon),
            max_lat: a.max_lat.max(b.max_lat),
        })
        .unwrap_or(BBox {
            min_lon: -180.0,
            min_lat: -85.051_128_779_8,
            max_lon: 180.0,
            max_lat: 85.051_128_779_8,
        }))
}

/// The boundary version (migration `m20261207_000005_boundary_version`): raised in the
/// transaction of every change that can move a placement. `for_share` is for a write
/// transaction that places: on PostgreSQL the row is then read `FOR SHARE`, so that a concurrent
/// boundary change waits for this transaction, or this one for it, and the placement is made with
/// what is committed. (SQLite's one writer at a time needs no lock.)
pub async fn boundary_version(conn: &impl ConnectionTrait, for_share: bool) -> StoreResult<i64> {
    let sql = match conn.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres if for_share => {
            "SELECT version FROM boundary_version WHERE id = 1 FOR SHARE"
        }
        _ => "SELECT version FROM boundary_version WHERE id = 1",
    };
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            sql,
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0))
}

/// The locator over every stored boundary, with the boundary version it was built from (read
/// first, so a change committed in between makes the snapshot look older than it is, never newer).
pub async fn versioned_locator(conn: &impl ConnectionTrait) -> anyhow::Result<(i64, Locator)> {
    let version = boundary_version(conn, false).await?;
    Ok((version, locator(conn).await?))
}

/// The ids of the villages of `township`, as a subquery.
pub(crate) fn village_ids_of(township: i64) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    Query::select()
        .column(village::Column::Id)
        .from(village::Entity)
        .and_where(Expr::col(village::Column::TownshipId).eq(township))
        .to_owned()
}
