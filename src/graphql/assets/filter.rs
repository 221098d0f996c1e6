//! The idle-asset listing: its filter and order inputs, keyset cursors, and the connection
//! every asset list is read through.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use chrono::{DateTime, NaiveDate, Utc};

use crate::db;
use crate::db::assets::{AssetFilter, AssetOrder, AssetOrderField, Keyset, SortValue};
use crate::domain::assets::{AssetKind, AssetStatus, Condition, Structure};
use crate::domain::period::Period;
use crate::domain::region::Region;
use crate::error::AppError;
use crate::graphql::common::context::{caller, db_conn};
use crate::graphql::common::ids;
use crate::graphql::common::ids::Kind;
use crate::graphql::common::nodes::IdleAsset;
use crate::graphql::common::paging::{PageRequest, encode_cursor};

/// Narrows a listing of idle assets (筛选条件). Lists mean "any of these"; absent means any.
#[derive(InputObject, Default)]
pub struct IdleAssetFilter {
    /// In this township (乡镇).
    pub township_id: Option<ID>,
    /// In this village (村).
    pub village_id: Option<ID>,
    /// Of these kinds (类型).
    pub kind: Option<Vec<AssetKind>>,
    /// With these statuses (状态).
    pub status: Option<Vec<AssetStatus>>,
    /// Idle since on or after (闲置起始不早于).
    pub idle_since_from: Option<NaiveDate>,
    /// Idle since on or before (闲置起始不晚于).
    pub idle_since_to: Option<NaiveDate>,
    /// Floor area at least, m² (建筑面积下限).
    pub floor_area_min: Option<f64>,
    /// Floor area at most, m² (建筑面积上限).
    pub floor_area_max: Option<f64>,
    /// With these structures (结构).
    pub structure: Option<Vec<Structure>>,
    /// In these conditions (状况).
    pub condition: Option<Vec<Condition>>,
    /// Changed at or after this instant (更新时间不早于): its `updatedAt` is this or later, e.g.
    /// `2026-12-01T00:00:00Z` (RFC 3339, with the offset); needs a token.
    pub updated_since: Option<DateTime<Utc>>,
}

impl IdleAssetFilter {
    pub fn into_db(self) -> Result<AssetFilter, AppError> {
        for (name, v) in [
            ("floorAreaMin", self.floor_area_min),
            ("floorAreaMax", self.floor_area_max),
        ] {
            if v.is_some_and(|v| !v.is_finite()) {
                return Err(AppError::bad_input(format!(
                    "`{name}` must be a finite number"
                )));
            }
        }
        Ok(AssetFilter {
            township_id: self
                .township_id
                .as_ref()
                .map(|id| ids::decode_as(id, Kind::Township))
                .transpose()?,
            village_id: self
                .village_id
                .as_ref()
                .map(|id| ids::decode_as(id, Kind::Village))
                .transpose()?,
            kinds: self.kind.unwrap_or_default(),
            statuses: self.status.unwrap_or_default(),
            idle_since_from: self.idle_since_from,
            idle_since_to: self.idle_since_to,
            floor_area_min: self.floor_area_min,
            floor_area_max: self.floor_area_max,
            structures: self.structure.unwrap_or_default(),
            conditions: self.condition.unwrap_or_default(),
            bbox: None,
            updated: Period::since_opt(self.updated_since),
        })
    }
}

/// What to order idle assets by (排序字段). Ties are broken by id; missing values come last
/// in either direction.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdleAssetOrderField {
    /// Registration order (登记顺序).
    #[default]
    Id,
    /// Idle since (闲置起始日期).
    IdleSince,
    /// Floor area (建筑面积).
    FloorArea,
    /// Distance from the centre of `within: {circle: …}` (距离); only with a circle.
    Distance,
}

/// Sort direction (排序方向).
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// Ascending (升序).
    #[default]
    Asc,
    /// Descending (降序).
    Desc,
}

/// The order of an idle-asset listing (排序).
#[derive(InputObject, Default, Clone, Copy)]
pub struct IdleAssetOrder {
    /// Field (字段).
    #[graphql(default)]
    pub field: IdleAssetOrderField,
    /// Direction (方向).
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl IdleAssetOrder {
    fn to_db(self) -> AssetOrder {
        let field = match self.field {
            IdleAssetOrderField::Id => AssetOrderField::Id,
            IdleAssetOrderField::IdleSince => AssetOrderField::IdleSince,
            IdleAssetOrderField::FloorArea => AssetOrderField::FloorArea,
            // Distance is ordered in Rust; the SQL walk of a circle stays in id order.
            IdleAssetOrderField::Distance => AssetOrderField::Id,
        };
        AssetOrder {
            field,
            descending: self.direction == OrderDirection::Desc,
        }
    }

    /// The tag that binds a cursor to this order.
    fn tag(self) -> &'static str {
        match (self.field, self.direction) {
            (IdleAssetOrderField::Id, OrderDirection::Asc) => "ID",
            (IdleAssetOrderField::Id, OrderDirection::Desc) => "ID_DESC",
            (IdleAssetOrderField::IdleSince, OrderDirection::Asc) => "IDLE_SINCE",
            (IdleAssetOrderField::IdleSince, OrderDirection::Desc) => "IDLE_SINCE_DESC",
            (IdleAssetOrderField::FloorArea, OrderDirection::Asc) => "FLOOR_AREA",
            (IdleAssetOrderField::FloorArea, OrderDirection::Desc) => "FLOOR_AREA_DESC",
            (IdleAssetOrderField::Distance, OrderDirection::Asc) => "DISTANCE",
            (IdleAssetOrderField::Distance, OrderDirection::Desc) => "DISTANCE_DESC",
        }
    }
}

pub(crate) fn cursor_value(value: SortValue) -> String {
    match value {
        SortValue::Null => String::new(),
        SortValue::Date(d) => d.to_string(),
        SortValue::Number(n) => n.to_string(),
    }
}

fn keyset(order: AssetOrder, value: &str, id: i64) -> Result<Keyset, AppError> {
    let bad = || AppError::bad_input("the cursor does not fit this listing's order");
    let value = match order.field {
        _ if value.is_empty() => SortValue::Null,
        AssetOrderField::Id => return Err(bad()),
        AssetOrderField::IdleSince => SortValue::Date(value.parse().map_err(|_| bad())?),
        AssetOrderField::FloorArea => SortValue::Number(
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(bad)?,
        ),
    };
    Ok(Keyset { value, id })
}

/// A page of idle assets under a filter and order, in a region when one is given.
#[expect(
    clippy::too_many_arguments,
    reason = "a filter, a region or order, and the four Relay paging arguments"
)]
pub async fn asset_connection(
    ctx: &Context<'_>,
    filter: AssetFilter,
    within: Option<Region>,
    order: IdleAssetOrder,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<Connection<String, IdleAsset, AssetTotal>> {
    let narrows_by_details = filter.uses_details()
        || !matches!(
            order.field,
            IdleAssetOrderField::Id | IdleAssetOrderField::Distance
        );
    caller(ctx)
        .may_narrow_assets(narrows_by_details)
        .map_err(AppError::from)?;
    let tag = order.tag();
    let order_db = order.to_db();
    let page = PageRequest::new(tag, first, after, last, before)?;
    let by_distance = match (order.field, &within) {
        (IdleAssetOrderField::Distance, Some(Region::Circle(_))) => {
            Some(order.direction == OrderDirection::Desc)
        }
        (IdleAssetOrderField::Distance, _) => {
            return Err(AppError::bad_input(
                "ordering by DISTANCE needs `within: {circle: …}`: distance from its centre",
            )
            .into());
        }
        _ => None,
    };
    let key = match by_distance {
        Some(_) => None,
        None => page
            .cursor
            .as_ref()
            .map(|(v, id)| keyset(order_db, v, *id))
            .transpose()?,
    };
    if let Some(region) = within {
        return crate::graphql::assets::spatial::region_connection(
            ctx,
            filter,
            region,
            order_db,
            by_distance,
            tag,
            page,
            key,
        )
        .await;
    }
    let conn = db_conn(ctx)?;
    let (backward, limit) = (page.backward, page.fetch());
    let shown = crate::graphql::common::projection::asset_listing(ctx.field());
    let nodes: Vec<IdleAsset> = if shown.joined {
        let columns = shown.columns;
        db::assets::page_joined(conn, &filter, order_db, key, backward, limit, columns)
            .await?
            .into_iter()
            .map(IdleAsset::joined)
            .collect()
    } else {
        let columns = shown.columns.0;
        db::assets::page_of(conn, &filter, order_db, key, backward, limit, columns)
            .await?
            .into_iter()
            .map(IdleAsset::from)
            .collect()
    };
    Ok(page.connection(
        nodes,
        |a| {
            let k = order_db.keyset(&a.0);
            encode_cursor(tag, &cursor_value(k.value), k.id)
        },
        |a| a,
        AssetTotal::Filter(Box::new(filter)),
    ))
}

/// What an idle-asset connection's `totalCount` counts. Counted only when the field is selected.
pub enum AssetTotal {
    /// Assets under a filter.
    Filter(Box<AssetFilter>),
    /// Assets under a filter in a region, as the caller sees them.
    InRegion(Box<(AssetFilter, Region)>),
}

#[Object]
impl AssetTotal {
    /// Number of items in the whole list, across all pages (总数).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        Ok(match self {
            AssetTotal::Filter(f) => db::assets::count(db_conn(ctx)?, f).await?,
            AssetTotal::InRegion(q) => super::spatial::count_in_region(ctx, &q.0, &q.1).await?,
        })
    }
}
