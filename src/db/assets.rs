//! Idle assets: filtered, ordered, keyset-paginated listings and their counts.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, NullOrdering, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend,
    EntityTrait, IdenStatic, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Select,
};

use super::entities::idle_asset::{self, Column};
use super::entities::{party, village};
use super::rows::{self, Columns};
use super::{StoreResult, Versioned};
use crate::domain::assets::{
    AssetKind, AssetStatus, Condition as AssetCondition, IdleAssetAttributes, Structure,
};
use crate::domain::geometry::{BBox, Location};
use crate::domain::locator::Placement;
use crate::domain::period::Period;
use crate::domain::region::Region;
use crate::domain::spatial_key;

/// What a listing of idle assets is narrowed to. Empty lists mean "any".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssetFilter {
    pub township_id: Option<i64>,
    pub village_id: Option<i64>,
    pub kinds: Vec<AssetKind>,
    pub statuses: Vec<AssetStatus>,
    pub idle_since_from: Option<NaiveDate>,
    pub idle_since_to: Option<NaiveDate>,
    pub floor_area_min: Option<f64>,
    pub floor_area_max: Option<f64>,
    pub structures: Vec<Structure>,
    pub conditions: Vec<AssetCondition>,
    /// Located in this box (edges included), found through the spatial key.
    pub bbox: Option<BBox>,
    /// Last changed (`updated_at`) in this period, ends included.
    pub updated: Period,
}

impl AssetFilter {
    /// Whether it narrows by an asset's details (dates, areas, structure, condition, when it
    /// last changed) rather than by where it is, its kind and status: such a filter could
    /// single out one household.
    pub fn uses_details(&self) -> bool {
        !self.updated.is_all()
            || self.idle_since_from.is_some()
            || self.idle_since_to.is_some()
            || self.floor_area_min.is_some()
            || self.floor_area_max.is_some()
            || !self.structures.is_empty()
            || !self.conditions.is_empty()
    }
}

/// The column a listing is ordered by; ties are always broken by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetOrderField {
    Id,
    IdleSince,
    FloorArea,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetOrder {
    pub field: AssetOrderField,
    pub descending: bool,
}

/// The ordering value of the row a page continues from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SortValue {
    /// The row had no value (such rows come after all others, in either direction).
    Null,
    Date(NaiveDate),
    Number(f64),
}

/// Where a page continues from: the ordering value and id of the last row seen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Keyset {
    pub value: SortValue,
    pub id: i64,
}

impl AssetOrder {
    /// The keyset of a row under this ordering.
    pub fn keyset(self, row: &idle_asset::Model) -> Keyset {
        let value = match self.field {
            AssetOrderField::Id => SortValue::Null,
            AssetOrderField::IdleSince => row.idle_since.map_or(SortValue::Null, SortValue::Date),
            AssetOrderField::FloorArea => {
                row.floor_area_m2.map_or(SortValue::Null, SortValue::Number)
            }
        };
        Keyset { value, id: row.id }
    }

    /// The columns a page in this order reads whatever it shows: the id and the order's.
    fn needs(self) -> Columns<Column> {
        Columns::of(self.column()).with(Column::Id)
    }

    fn column(self) -> Option<Column> {
        match self.field {
            AssetOrderField::Id => None,
            AssetOrderField::IdleSince => Some(Column::IdleSince),
            AssetOrderField::FloorArea => Some(Column::FloorAreaM2),
        }
    }
}

fn filtered(filter: &AssetFilter) -> Select<idle_asset::Entity> {
    let mut q = idle_asset::Entity::find();
    if let Some(t) = filter.township_id {
        q = q.filter(Column::TownshipId.eq(t));
    }
    if let Some(v) = filter.village_id {
        q = q.filter(Column::VillageId.eq(v));
    }
    if !filter.kinds.is_empty() {
        q = q.filter(Column::Kind.is_in(filter.kinds.iter().map(|k| k.as_str())));
    }
    if !filter.statuses.is_empty() {
        q = q.filter(Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    if !filter.structures.is_empty() {
        q = q.filter(Column::Structure.is_in(filter.structures.iter().map(|s| s.as_str())));
    }
    if !filter.conditions.is_empty() {
        q = q.filter(Column::Condition.is_in(filter.conditions.iter().map(|c| c.as_str())));
    }
    if let Some(d) = filter.idle_since_from {
        q = q.filter(Column::IdleSince.gte(d));
    }
    if let Some(d) = filter.idle_since_to {
        q = q.filter(Column::IdleSince.lte(d));
    }
    if let Some(a) = filter.floor_area_min {
        q = q.filter(Column::FloorAreaM2.gte(a));
    }
    if let Some(a) = filter.floor_area_max {
        q = q.filter(Column::FloorAreaM2.lte(a));
    }
    if let Some(b) = filter.bbox {
        q = q.filter(in_box(b));
    }
    if !filter.updated.is_all() {
        q = q.filter(super::updated_within::<idle_asset::Entity>(filter.updated));
    }
    q
}

/// Locations in `b`: the key ranges covering the box let either engine read a few runs of the
/// spatial index; the coordinates (in the same index) then cut the runs to the box exactly.
fn in_box(b: BBox) -> Condition {
    let cells = spatial_key::ranges(b)
        .into_iter()
        .fold(Condition::any(), |c, (lo, hi)| {
            c.add(Column::Cell.between(lo, hi))
        });
    Condition::all()
        .add(cells)
        .add(Column::Lon.between(b.min_lon, b.max_lon))
        .add(Column::Lat.between(b.min_lat, b.max_lat))
}

/// (id, lon, lat) of every asset under `filter`: the candidates an exact spatial test in Rust
/// decides on. Only the index is read when the filter is a box alone.
pub async fn locations(
    conn: &impl ConnectionTrait,
    filter: &AssetFilter,
) -> StoreResult<Vec<(i64, f64, f64)>> {
    Ok(filtered(filter)
        .select_only()
        .column(Column::Id)
        .column(Column::Lon)
        .column(Column::Lat)
        .into_tuple()
        .all(conn)
        .await?)
}

/// The assets under `filter` whose location, as the caller sees it (`seen`, at most `slack_deg`
/// from the true one), lies in `region`: the spatial key narrows in SQL, Rust decides exactly.
pub async fn in_region(
    conn: &impl ConnectionTrait,
    filter: &AssetFilter,
    region: &Region,
    seen: impl Fn(Location) -> Location,
    slack_deg: f64,
) -> StoreResult<Vec<(i64, Location, Option<f64>)>> {
    let mut narrowed = filter.clone();
    narrowed.bbox = Some(region.envelope().grown(slack_deg));
    Ok(locations(conn, &narrowed)
        .await?
        .into_iter()
        .filter_map(|(id, lon, lat)| {
            let at = seen(Location::parse(lon, lat).ok()?);
            region.place(at).map(|distance| (id, at, distance))
        })
        .collect())
}

/// Gives every asset without a spatial key its key (rows written before the key existed), in
/// batches; returns how many it filled.
pub async fn fill_cells(db: &sea_orm::DatabaseConnection) -> StoreResult<u64> {
    use sea_orm::TransactionTrait;
    let mut filled = 0;
    loop {
        let rows: Vec<(i64, f64, f64)> = idle_asset::Entity::find()
            .select_only()
            .column(Column::Id)
            .column(Column::Lon)
            .column(Column::Lat)
            .filter(Column::Cell.is_null())
            .limit(5_000)
            .into_tuple()
            .all(db)
            .await?;
        if rows.is_empty() {
            return Ok(filled);
        }
        let txn = db.begin().await?;
        for (id, lon, lat) in &rows {
            idle_asset::Entity::update_many()
                .col_expr(Column::Cell, Expr::val(spatial_key::key(*lon, *lat)))
                .filter(Column::Id.eq(*id))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        filled += rows.len() as u64;
    }
}

/// The direction a page is read in: value order, and where rows without a value go.
#[derive(Debug, Clone, Copy)]
struct Walk {
    ascending: bool,
    nulls_last: bool,
}

impl Walk {
    /// Rows without a value come last in either order (a cadre sorting by floor area wants the
    /// measured houses first); reading backwards is the exact reverse.
    fn of(order: AssetOrder, backward: bool) -> Self {
        Self {
            ascending: order.descending == backward,
            nulls_last: !backward,
        }
    }
}

/// Rows strictly after `key` in the walk, ties broken by id in the walk's direction.
fn after_condition(col: Column, key: Keyset, walk: Walk) -> Condition {
    let id_after = if walk.ascending {
        Column::Id.gt(key.id)
    } else {
        Column::Id.lt(key.id)
    };
    let value = match key.value {
        SortValue::Null => None,
        SortValue::Date(d) => Some(Expr::val(d)),
        SortValue::Number(n) => Some(Expr::val(n)),
    };
    match value {
        Some(v) => {
            let beyond = if walk.ascending {
                Expr::col(col).gt(v.clone())
            } else {
                Expr::col(col).lt(v.clone())
            };
            let mut c = Condition::any()
                .add(beyond)
                .add(Condition::all().add(Expr::col(col).eq(v)).add(id_after));
            if walk.nulls_last {
                c = c.add(col.is_null());
            }
            c
        }
        None => {
            let c = Condition::any().add(Condition::all().add(col.is_null()).add(id_after));
            if walk.nulls_last {
                c
            } else {
                c.add(col.is_not_null())
            }
        }
    }
}

/// One page of assets: `limit` rows after `after` in the order, or before it when `backward`
/// (returned in walking order; the caller reverses a backward page).
pub async fn page(
    conn: &impl ConnectionTrait,
    filter: &AssetFilter,
    order: AssetOrder,
    after: Option<Keyset>,
    backward: bool,
    limit: u64,
) -> StoreResult<Vec<idle_asset::Model>> {
    page_of(conn, filter, order, after, backward, limit, Columns::ALL).await
}

/// [`page`], reading only `columns` of each row (and those the order needs); the other fields
/// hold their type's default.
pub async fn page_of(
    conn: &impl ConnectionTrait,
    filter: &AssetFilter,
    order: AssetOrder,
    after: Option<Keyset>,
    backward: bool,
    limit: u64,
    columns: Columns<Column>,
) -> StoreResult<Vec<idle_asset::Model>> {
    let columns = columns.union(order.needs());
    let backend = conn.get_database_backend();
    let page = page_query(backend, filter, order, after, backward, limit, columns);
    rows::page(conn, page.as_query(), columns).await
}

/// An asset with the village it lies in and its owner, read in one query.
pub type Joined = (
    idle_asset::Model,
    Option<village::Model>,
    Option<party::Model>,
);

/// The columns of a [`Joined`] row to read: the asset's, the village's, the owner's.
pub type JoinedColumns = (
    Columns<Column>,
    Columns<village::Column>,
    Columns<party::Column>,
);

/// Every column of a [`Joined`] row.
pub const WHOLE: JoinedColumns = (Columns::ALL, Columns::ALL, Columns::ALL);

/// [`page`], each asset with its village and owner joined in: one query where a listing that
/// shows them would otherwise make three. Only `columns` are read (and those the order and the
/// joins need); the other fields hold their type's default. The page is cut first, in a
/// subquery named like the table, and only its rows are joined: joined directly, SQLite's
/// planner sorted a whole township's assets to find the first 50.
pub async fn page_joined(
    conn: &impl ConnectionTrait,
    filter: &AssetFilter,
    order: AssetOrder,
    after: Option<Keyset>,
    backward: bool,
    limit: u64,
    (asset, of_village, of_owner): JoinedColumns,
) -> StoreResult<Vec<Joined>> {
    let asset = asset
        .union(order.needs())
        .with(Column::VillageId)
        .with(Column::OwnerId);
    // A missing side of the join is told by its id: read first, whatever else is.
    let of_village = of_village.with(village::Column::Id);
    let of_owner = of_owner.with(party::Column::Id);
    let backend = conn.get_database_backend();
    let page = page_query(backend, filter, order, after, backward, limit, asset).into_query();
    let mut joined = Query::select();
    joined
        .columns(asset.iter().map(|c| (idle_asset::Entity, c)))
        .columns(of_village.iter().map(|c| (village::Entity, c)))
        .columns(of_owner.iter().map(|c| (party::Entity, c)))
        .from_subquery(page, idle_asset::Entity)
        .left_join(
            village::Entity,
            Expr::col((village::Entity, village::Column::Id))
                .equals((idle_asset::Entity, Column::VillageId)),
        )
        .left_join(
            party::Entity,
            Expr::col((party::Entity, party::Column::Id))
                .equals((idle_asset::Entity, Column::OwnerId)),
        );
    for (col, dir, nulls) in page_order(order, backward) {
        match nulls {
            Some(nulls) => joined.order_by_with_nulls((idle_asset::Entity, col), dir, nulls),
            None => joined.order_by((idle_asset::Entity, col), dir),
        };
    }
    rows::page(conn, &joined, (asset, of_village, of_owner)).await
}

/// The ORDER BY of a page: the order's column, rows without a value where the walk puts them,
/// then the id.
fn page_order(order: AssetOrder, backward: bool) -> Vec<(Column, Order, Option<NullOrdering>)> {
    let walk = Walk::of(order, backward);
    let dir = if walk.ascending {
        Order::Asc
    } else {
        Order::Desc
    };
    let nulls = if walk.nulls_last {
        NullOrdering::Last
    } else {
        NullOrdering::First
    };
    let mut by: Vec<_> = order
        .column()
        .map(|col| (col, dir.clone(), Some(nulls)))
        .into_iter()
        .collect();
    by.push((Column::Id, dir, None));
    by
}

/// On PostgreSQL, the village or township a page in id order is read within, by its
/// (place, id) index. The page's plan is kept (`rows::page`), and a kept plan is made for the
/// average place: written `place_id = $1`, it walked the primary key past every other place's
/// assets, which for a place with few of them meant reading most of the table (306 ms on a
/// million assets). Written `place_id = ANY('{…}'::bigint[])` and ordered by the place first,
/// which no other index serves, every plan reads the place's own index entries.
fn walked_within(
    backend: DbBackend,
    filter: &AssetFilter,
    order: AssetOrder,
) -> Option<(Column, i64)> {
    if backend != DbBackend::Postgres || order.column().is_some() {
        return None;
    }
    filter
        .village_id
        .map(|v| (Column::VillageId, v))
        .or(filter.township_id.map(|t| (Column::TownshipId, t)))
}

fn page_query(
    backend: DbBackend,
    filter: &AssetFilter,
    order: AssetOrder,
    after: Option<Keyset>,
    backward: bool,
    limit: u64,
    columns: Columns<Column>,
) -> Select<idle_asset::Entity> {
    let walk = Walk::of(order, backward);
    let within = walked_within(backend, filter, order);
    let mut q = match within {
        Some((place, id)) => {
            let mut rest = filter.clone();
            match place {
                Column::VillageId => rest.village_id = None,
                _ => rest.township_id = None,
            }
            // A one-element array literal: sea-query reads `[…]` as a quoted name.
            filtered(&rest).filter(Expr::cust_with_values(
                format!("\"idle_asset\".\"{}\" = ANY($1::bigint[])", place.as_str()),
                [format!("{{{id}}}")],
            ))
        }
        None => filtered(filter),
    };
    if !columns.is_all() {
        q = q.select_only().columns(columns.iter());
    }
    match (order.column(), after) {
        (Some(col), Some(key)) => q = q.filter(after_condition(col, key, walk)),
        (None, Some(key)) => {
            q = q.filter(if walk.ascending {
                Column::Id.gt(key.id)
            } else {
                Column::Id.lt(key.id)
            })
        }
        _ => {}
    }
    let mut by = page_order(order, backward);
    if let Some((place, _)) = within {
        // A place is walked only in id order: the place goes first, in the id's direction.
        let dir = by[0].1.clone();
        by.insert(0, (place, dir, None));
    }
    for (col, dir, nulls) in by {
        q = match nulls {
            Some(nulls) => q.order_by_with_nulls(col, dir, nulls),
            None => q.order_by(col, dir),
        };
    }
    q.limit(limit)
}

/// `limit` assets under `filter` in id order after skipping `offset` (OGC API paging).
pub async fn page_at_offset(
    conn: &impl ConnectionTrait,
    filter: &AssetFilter,
    offset: u64,
    limit: u64,
) -> StoreResult<Vec<idle_asset::Model>> {
    Ok(filtered(filter)
        .order_by(Column::Id, Order::Asc)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await?)
}

pub async fn count(conn: &impl ConnectionTrait, filter: &AssetFilter) -> StoreResult<u64> {
    Ok(filtered(filter).count(conn).await?)
}

pub async fn by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, idle_asset::Model>> {
    by_ids_of(conn, ids, Columns::ALL).await
}

/// [`by_ids`], reading only `columns` (and the id); the other fields hold their type's default.
pub async fn by_ids_of(
    conn: &impl ConnectionTrait,
    ids: &[i64],
    columns: Columns<Column>,
) -> StoreResult<HashMap<i64, idle_asset::Model>> {
    let columns = columns.with(Column::Id);
    let mut select = idle_asset::Entity::find().filter(Column::Id.is_in(ids.iter().copied()));
    if !columns.is_all() {
        select = select.select_only().columns(columns.iter());
    }
    let found: Vec<idle_asset::Model> = rows::some(conn, select.as_query(), columns).await?;
    Ok(found.into_iter().map(|a| (a.id, a)).collect())
}

pub async fn by_code(
    conn: &impl ConnectionTrait,
    code: &str,
) -> StoreResult<Option<idle_asset::Model>> {
    Ok(idle_asset::Entity::find()
        .filter(Column::Code.eq(code))
        .one(conn)
        .await?)
}

/// Asset counts by status for each of the given townships, in one grouped query of the asset
/// tally (`db::statistics::assets`).
pub async fn status_counts(
    conn: &impl ConnectionTrait,
    township_ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<(String, i64)>>> {
    use sea_orm::Statement;
    if township_ids.is_empty() {
        return Ok(HashMap::new());
    }
    // Ids are numbers, written into the statement.
    let ids: Vec<String> = township_ids.iter().map(i64::to_string).collect();
    let sql = format!(
        "SELECT township_id, status, CAST(SUM(assets) AS BIGINT) FROM asset_tally \
         WHERE township_id IN ({}) GROUP BY township_id, status HAVING SUM(assets) <> 0 \
         ORDER BY township_id, status",
        ids.join(", ")
    );
    let rows = conn
        .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await?;
    let mut out: HashMap<i64, Vec<(String, i64)>> = HashMap::new();
    for r in rows {
        let township: i64 = r.try_get_by_index(0)?;
        out.entry(township)
            .or_default()
            .push((r.try_get_by_index(1)?, r.try_get_by_index(2)?));
    }
    Ok(out)
}

/// The columns a checked asset sets, at the place its location was found in.
fn attributes(
    attrs: &IdleAssetAttributes,
    owner_id: i64,
    place: Placement,
) -> idle_asset::ActiveModel {
    idle_asset::ActiveModel {
        code: Set(attrs.code.clone()),
        kind: Set(attrs.kind.as_str().to_owned()),
        owner_id: Set(owner_id),
        township_id: Set(place.township_id),
        village_id: Set(place.village_id),
        lon: Set(attrs.location.lon()),
        lat: Set(attrs.location.lat()),
        cell: Set(Some(spatial_key::key(
            attrs.location.lon(),
            attrs.location.lat(),
        ))),
        footprint: Set(attrs.footprint.as_ref().map(super::geometry::write_area)),
        land_area_m2: Set(attrs.land_area_m2),
        floor_area_m2: Set(attrs.floor_area_m2),
        structure: Set(attrs.structure.map(|s| s.as_str().to_owned())),
        year_built: Set(attrs.year_built),
        condition: Set(attrs.condition.map(|c| c.as_str().to_owned())),
        idle_since: Set(attrs.idle_since),
        idle_cause: Set(attrs.idle_cause.map(|c| c.as_str().to_owned())),
        owner_willingness: Set(attrs.owner_willingness.map(|w| w.as_str().to_owned())),
        address: Set(attrs.address.clone()),
        ..Default::default()
    }
}

/// A new row for a checked asset, at version 1.
fn new_row(
    attrs: &IdleAssetAttributes,
    status: AssetStatus,
    owner_id: i64,
    place: Placement,
    now: DateTime<Utc>,
) -> idle_asset::ActiveModel {
    let mut row = attributes(attrs, owner_id, place);
    row.status = Set(status.as_str().to_owned());
    row.version = Set(1);
    row.created_at = Set(now);
    row.updated_at = Set(now);
    row
}

/// Stores a checked asset at the place its location was found in.
pub async fn insert(
    conn: &impl ConnectionTrait,
    attrs: &IdleAssetAttributes,
    status: AssetStatus,
    owner_id: i64,
    place: Placement,
) -> StoreResult<idle_asset::Model> {
    Ok(new_row(attrs, status, owner_id, place, Utc::now())
        .insert(conn)
        .await?)
}

/// Rows a multi-row INSERT carries on SQLite: 1,000 rows of the asset's columns stay under its
/// 32,766 bound parameters. (PostgreSQL takes a batch whole, as column arrays.)
pub const INSERT_BATCH: usize = 1_000;

/// The statements that store many checked assets: on PostgreSQL one of column arrays, on
/// SQLite a multi-row INSERT per `INSERT_BATCH` of them. Built apart from running them, so
/// that an import builds a batch's while the database runs the last one's.
pub fn insert_many(
    backend: sea_orm::DbBackend,
    rows: &[(&IdleAssetAttributes, AssetStatus, i64, Placement)],
) -> StoreResult<Vec<sea_orm::Statement>> {
    // One time for the lot: a value every row shares travels once (see `bulk`).
    let now = Utc::now();
    let models: Vec<_> = rows
        .iter()
        .map(|(attrs, status, owner, place)| new_row(attrs, *status, *owner, *place, now))
        .collect();
    if backend == sea_orm::DbBackend::Postgres {
        return Ok(super::bulk::insert_arrays(backend, models)?
            .into_iter()
            .collect());
    }
    let mut statements = Vec::new();
    let mut models = models.into_iter();
    loop {
        let chunk: Vec<_> = models.by_ref().take(INSERT_BATCH).collect();
        if chunk.is_empty() {
            break;
        }
        statements.push(idle_asset::Entity::insert_many(chunk).build(backend));
    }
    Ok(statements)
}

/// The spatial index, which the topology rule's search for nearby footprints needs.
const SPATIAL_INDEX: &str = "idx_idle_asset_cell";

/// The upkeep of the asset table a bulk load puts off until its end: the statements that
/// build again the secondary indexes (and, on PostgreSQL, the foreign keys) it dropped.
#[derive(Debug, Default)]
pub struct Deferred {
    restore: Vec<String>,
    /// SQLite: the row triggers on new assets (the tally's, the event log's, the table
    /// version's), dropped for the load, and the last asset id before it: the new rows are
    /// tallied, their events written and the table's write counted in one statement each
    /// before the triggers come back.
    row_triggers: Option<(Vec<String>, i64)>,
    /// The spatial index, built again as soon as a footprint is to be checked.
    spatial: Option<String>,
}

impl Deferred {
    /// Builds the spatial index again, if it was dropped, before footprints are searched.
    pub async fn spatial_index(&mut self, txn: &impl ConnectionTrait) -> StoreResult<()> {
        if let Some(sql) = self.spatial.take() {
            let backend = txn.get_database_backend();
            txn.execute_raw(sea_orm::Statement::from_string(backend, sql))
                .await?;
        }
        Ok(())
    }
}

/// Drops, inside `txn`, the asset table's secondary indexes, and on
/// PostgreSQL its foreign keys, reading their definitions from the catalogue: building them
/// once over a million new rows is several times cheaper than updating them row by row.
/// The primary key and the unique code stay. On PostgreSQL this locks the table against
/// readers until the transaction ends; a rollback restores everything.
pub async fn defer_upkeep(txn: &impl ConnectionTrait) -> StoreResult<Deferred> {
    use sea_orm::{DbBackend, Statement};
    let backend = txn.get_database_backend();
    let query = |sql: &str| Statement::from_string(backend, sql.to_owned());
    let mut drop = Vec::new();
    let mut restore = Vec::new();
    let mut spatial = None;
    let indexes = match backend {
        DbBackend::Postgres => {
            "SELECT indexname, indexdef FROM pg_indexes \
             WHERE schemaname = current_schema() AND tablename = 'idle_asset' \
             AND indexdef NOT LIKE 'CREATE UNIQUE%'"
        }
        _ => {
            "SELECT name, sql FROM sqlite_master \
             WHERE type = 'index' AND tbl_name = 'idle_asset' AND sql IS NOT NULL \
             AND sql NOT LIKE 'CREATE UNIQUE%'"
        }
    };
    for row in txn.query_all_raw(query(indexes)).await? {
        let name: String = row.try_get_by_index(0)?;
        let definition: String = row.try_get_by_index(1)?;
        drop.push(format!("DROP INDEX \"{name}\""));
        if name == SPATIAL_INDEX {
            spatial = Some(definition);
        } else {
            restore.push(definition);
        }
    }
    if backend == DbBackend::Postgres {
        let keys = "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint \
                    WHERE conrelid = 'idle_asset'::regclass AND contype = 'f'";
        for row in txn.query_all_raw(query(keys)).await? {
            let name: String = row.try_get_by_index(0)?;
            let definition: String = row.try_get_by_index(1)?;
            drop.push(format!("ALTER TABLE idle_asset DROP CONSTRAINT \"{name}\""));
            restore.push(format!(
                "ALTER TABLE idle_asset ADD CONSTRAINT \"{name}\" {definition}"
            ));
        }
        restore.push("ANALYZE idle_asset".to_owned());
    }
    let mut row_triggers = None;
    if backend == DbBackend::Sqlite {
        // A row trigger costs about 20 µs an asset; PostgreSQL's are one per statement.
        let found = txn
            .query_all_raw(query(&format!(
                "SELECT name, sql, (SELECT COALESCE(MAX(id), 0) FROM idle_asset) \
                 FROM sqlite_master WHERE type = 'trigger' \
                 AND name IN ('asset_tally_insert', 'event_log_asset_insert', '{}') \
                 ORDER BY name",
                super::table_versions::ASSET_INSERT_TRIGGER
            )))
            .await?;
        let mut triggers = Vec::new();
        let mut last = 0;
        for row in found {
            let name: String = row.try_get_by_index(0)?;
            triggers.push(row.try_get_by_index(1)?);
            last = row.try_get_by_index(2)?;
            drop.push(format!("DROP TRIGGER \"{name}\""));
        }
        if !triggers.is_empty() {
            row_triggers = Some((triggers, last));
        }
    }
    for sql in &drop {
        txn.execute_raw(query(sql)).await?;
    }
    Ok(Deferred {
        restore,
        spatial,
        row_triggers,
    })
}

/// Builds again what `defer_upkeep` dropped, checking every row against the foreign keys.
pub async fn restore_upkeep(txn: &impl ConnectionTrait, mut deferred: Deferred) -> StoreResult<()> {
    deferred.spatial_index(txn).await?;
    let backend = txn.get_database_backend();
    if let Some((triggers, last)) = deferred.row_triggers.take() {
        super::statistics::tally_assets_after(txn, last).await?;
        super::events::assets_registered_after(txn, last).await?;
        super::table_versions::count_write(txn, "idle_asset").await?;
        for trigger in triggers {
            txn.execute_raw(sea_orm::Statement::from_string(backend, trigger))
                .await?;
        }
    }
    for sql in deferred.restore {
        txn.execute_raw(sea_orm::Statement::from_string(backend, sql))
            .await?;
    }
    Ok(())
}

/// The assets with these codes, by code.
pub async fn by_codes(
    conn: &impl ConnectionTrait,
    codes: &[&str],
) -> StoreResult<HashMap<String, idle_asset::Model>> {
    let backend = conn.get_database_backend();
    Ok(idle_asset::Entity::find()
        .filter(super::bulk::one_of(backend, Column::Code, codes))
        .all(conn)
        .await?
        .into_iter()
        .map(|a| (a.code.clone(), a))
        .collect())
}

/// Replaces an asset's attributes, owner and place, if it is still at `version`.
pub async fn update(
    conn: &impl ConnectionTrait,
    id: i64,
    version: i32,
    attrs: &IdleAssetAttributes,
    owner_id: i64,
    place: Placement,
) -> StoreResult<Versioned<idle_asset::Model>> {
    let changes = idle_asset::Entity::update_many().set(attributes(attrs, owner_id, place));
    super::update_versioned(conn, id, version, changes).await
}

/// Sets an asset's status, if it is still at `version`.
pub async fn set_status(
    conn: &impl ConnectionTrait,
    id: i64,
    version: i32,
    status: AssetStatus,
) -> StoreResult<Versioned<idle_asset::Model>> {
    let changes =
        idle_asset::Entity::update_many().col_expr(Column::Status, Expr::val(status.as_str()));
    super::update_versioned(conn, id, version, changes).await
}

/// Assets whose location lies in a bounding box, or in a township: the candidates a boundary
/// change may move.
pub async fn in_bbox_or_township(
    conn: &impl ConnectionTrait,
    bbox: crate::domain::geometry::BBox,
    township_id: Option<i64>,
) -> StoreResult<Vec<idle_asset::Model>> {
    let mut within = in_box(bbox);
    if let Some(t) = township_id {
        within = Condition::any().add(within).add(Column::TownshipId.eq(t));
    }
    Ok(idle_asset::Entity::find().filter(within).all(conn).await?)
}

/// Moves an asset to the place its location now falls in, bumping its version so that an
/// editor holding the old one notices.
pub async fn set_place(conn: &impl ConnectionTrait, id: i64, place: Placement) -> StoreResult<()> {
    let changes = idle_asset::Entity::update_many()
        .col_expr(Column::TownshipId, Expr::val(place.township_id))
        .col_expr(Column::VillageId, Expr::val(place.village_id));
    super::update_any_version(conn, id, changes).await?;
    Ok(())
}

/// How far around a footprint's box other assets' points are looked for: footprints are house
/// plots, so an overlapping one has its point within a couple of hundred metres.
const FOOTPRINT_SEARCH_DEG: f64 = 0.005;

/// (code, footprint) of the assets near `bbox` that still hold their land, but `except`.
pub async fn active_footprints_near(
    conn: &impl ConnectionTrait,
    bbox: crate::domain::geometry::BBox,
    except: Option<i64>,
) -> StoreResult<Vec<(String, String)>> {
    let d = FOOTPRINT_SEARCH_DEG;
    let active: Vec<&str> = AssetStatus::ALL
        .iter()
        .filter(|s| s.holds_land())
        .map(|s| s.as_str())
        .collect();
    let mut q = idle_asset::Entity::find()
        .select_only()
        .column(Column::Code)
        .column(Column::Footprint)
        .filter(Column::Footprint.is_not_null())
        .filter(Column::Status.is_in(active))
        .filter(in_box(bbox.grown(d)));
    if let Some(id) = except {
        q = q.filter(Column::Id.ne(id));
    }
    let rows: Vec<(String, Option<String>)> = q.into_tuple().all(conn).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(code, f)| f.map(|f| (code, f)))
        .collect())
}
