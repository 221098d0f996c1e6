//! Property rights (农村产权): their holders, source documents, appraisals and standing, and the
//! expropriation zones that restrict them.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder,
};

use super::entities::{
    appraisal, expropriation_zone, idle_asset, property_right, right_holder, source_document,
};
use super::{StoreResult, grouped, keyed};
use crate::domain::geometry::Area;
use crate::domain::rights::{DocumentKind, RightKind, RightStatus};

/// A right as the seeds or a cadre record it, checked by the domain.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRight {
    pub code: String,
    pub kind: RightKind,
    pub asset_id: Option<i64>,
    /// The share holding, for a COLLECTIVE_SHARE right.
    pub holding_id: Option<i64>,
    pub certificate_no: Option<String>,
    pub certificate_kind: Option<String>,
    pub issued_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub status: RightStatus,
    pub disputed: bool,
    pub seized: bool,
    /// (party, basis points), summing to 10 000.
    pub holders: Vec<(i64, u32)>,
}

pub async fn insert_right(conn: &impl ConnectionTrait, r: &NewRight) -> StoreResult<i64> {
    let now = Utc::now();
    let id = property_right::ActiveModel {
        code: Set(r.code.clone()),
        kind: Set(r.kind.as_str().to_owned()),
        asset_id: Set(r.asset_id),
        holding_id: Set(r.holding_id),
        certificate_no: Set(r.certificate_no.clone()),
        certificate_kind: Set(r.certificate_kind.clone()),
        issued_on: Set(r.issued_on),
        expires_on: Set(r.expires_on),
        status: Set(r.status.as_str().to_owned()),
        disputed: Set(r.disputed),
        seized: Set(r.seized),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?
    .id;
    for (party_id, share_bp) in &r.holders {
        right_holder::ActiveModel {
            right_id: Set(id),
            party_id: Set(*party_id),
            share_bp: Set(*share_bp as i32),
        }
        .insert(conn)
        .await?;
    }
    Ok(id)
}

pub async fn right(
    conn: &impl ConnectionTrait,
    id: i64,
) -> StoreResult<Option<property_right::Model>> {
    Ok(property_right::Entity::find_by_id(id).one(conn).await?)
}

/// The rights recorded on an asset, oldest first.
pub async fn rights_on_asset(
    conn: &impl ConnectionTrait,
    asset_id: i64,
) -> StoreResult<Vec<property_right::Model>> {
    Ok(property_right::Entity::find()
        .filter(property_right::Column::AssetId.eq(asset_id))
        .order_by_asc(property_right::Column::Id)
        .all(conn)
        .await?)
}

/// Rights of `kind` on assets in a township.
pub async fn rights_in_township(
    conn: &impl ConnectionTrait,
    township_id: i64,
    kind: &str,
) -> StoreResult<Vec<property_right::Model>> {
    let in_township = sea_orm::sea_query::Query::select()
        .column(idle_asset::Column::Id)
        .from(idle_asset::Entity)
        .and_where(idle_asset::Column::TownshipId.eq(township_id))
        .to_owned();
    Ok(property_right::Entity::find()
        .filter(property_right::Column::AssetId.in_subquery(in_township))
        .filter(property_right::Column::Kind.eq(kind))
        .order_by_asc(property_right::Column::Id)
        .all(conn)
        .await?)
}

pub async fn right_by_code(
    conn: &impl ConnectionTrait,
    code: &str,
) -> StoreResult<Option<property_right::Model>> {
    Ok(property_right::Entity::find()
        .filter(property_right::Column::Code.eq(code))
        .one(conn)
        .await?)
}

pub async fn holders_of(
    conn: &impl ConnectionTrait,
    right_id: i64,
) -> StoreResult<Vec<right_holder::Model>> {
    Ok(holders_of_rights(conn, &[right_id])
        .await?
        .remove(&right_id)
        .unwrap_or_default())
}

/// A source document of a right.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDocument {
    pub kind: DocumentKind,
    pub number: String,
    pub issuer: String,
    pub issued_on: NaiveDate,
    pub party_id: Option<i64>,
}

pub async fn insert_document(
    conn: &impl ConnectionTrait,
    right_id: i64,
    d: &NewDocument,
) -> StoreResult<i64> {
    Ok(source_document::ActiveModel {
        right_id: Set(right_id),
        kind: Set(d.kind.as_str().to_owned()),
        number: Set(d.number.clone()),
        issuer: Set(d.issuer.clone()),
        issued_on: Set(d.issued_on),
        party_id: Set(d.party_id),
        ..Default::default()
    }
    .insert(conn)
    .await?
    .id)
}

pub async fn documents_of(
    conn: &impl ConnectionTrait,
    right_id: i64,
) -> StoreResult<Vec<source_document::Model>> {
    Ok(documents_of_rights(conn, &[right_id])
        .await?
        .remove(&right_id)
        .unwrap_or_default())
}

/// An appraisal as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAppraisal {
    pub method: crate::domain::rights::AppraisalMethod,
    pub appraiser: String,
    pub value_fen: i64,
    pub valued_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

pub async fn insert_appraisal(
    conn: &impl ConnectionTrait,
    right_id: i64,
    a: &NewAppraisal,
) -> StoreResult<i64> {
    Ok(appraisal::ActiveModel {
        right_id: Set(right_id),
        method: Set(a.method.as_str().to_owned()),
        appraiser: Set(a.appraiser.clone()),
        value_fen: Set(a.value_fen),
        valued_on: Set(a.valued_on),
        valid_until: Set(a.valid_until),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?
    .id)
}

pub async fn appraisals_of(
    conn: &impl ConnectionTrait,
    right_id: i64,
) -> StoreResult<Vec<appraisal::Model>> {
    Ok(appraisals_of_rights(conn, &[right_id])
        .await?
        .remove(&right_id)
        .unwrap_or_default())
}

/// Stores an announced zone, its box beside it.
pub async fn insert_zone(
    conn: &impl ConnectionTrait,
    code: &str,
    name: &str,
    area: &Area,
    announced_on: NaiveDate,
    authority: &str,
) -> StoreResult<i64> {
    let b = area.bbox();
    Ok(expropriation_zone::ActiveModel {
        code: Set(code.to_owned()),
        name: Set(name.to_owned()),
        boundary: Set(super::geometry::write_area(area)),
        min_lon: Set(b.min_lon),
        min_lat: Set(b.min_lat),
        max_lon: Set(b.max_lon),
        max_lat: Set(b.max_lat),
        announced_on: Set(announced_on),
        authority: Set(authority.to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?
    .id)
}

pub async fn zones(conn: &impl ConnectionTrait) -> StoreResult<Vec<expropriation_zone::Model>> {
    Ok(expropriation_zone::Entity::find()
        .order_by_asc(expropriation_zone::Column::Id)
        .all(conn)
        .await?)
}

/// Changes a right's standing if it is still at `version`.
pub async fn set_standing(
    conn: &impl ConnectionTrait,
    id: i64,
    version: i32,
    status: Option<RightStatus>,
    disputed: Option<bool>,
    seized: Option<bool>,
) -> StoreResult<super::Versioned<property_right::Model>> {
    use sea_orm::sea_query::Expr;
    let mut changes = property_right::Entity::update_many();
    if let Some(s) = status {
        changes = changes.col_expr(property_right::Column::Status, Expr::val(s.as_str()));
    }
    if let Some(d) = disputed {
        changes = changes.col_expr(property_right::Column::Disputed, Expr::val(d));
    }
    if let Some(s) = seized {
        changes = changes.col_expr(property_right::Column::Seized, Expr::val(s));
    }
    super::update_versioned(conn, id, version, changes).await
}

pub async fn rights_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, property_right::Model>> {
    keyed::<property_right::Entity, _>(conn, property_right::Column::Id, ids, |r| r.id).await
}

/// Holders of each right, largest share first.
pub async fn holders_of_rights(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<right_holder::Model>>> {
    let mut out =
        grouped::<right_holder::Entity, _>(conn, right_holder::Column::RightId, ids, |h| {
            h.right_id
        })
        .await?;
    for v in out.values_mut() {
        v.sort_by_key(|h| std::cmp::Reverse(h.share_bp));
    }
    Ok(out)
}

/// Source documents of each right, in filing order.
pub async fn documents_of_rights(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<source_document::Model>>> {
    let mut out =
        grouped::<source_document::Entity, _>(conn, source_document::Column::RightId, ids, |d| {
            d.right_id
        })
        .await?;
    for v in out.values_mut() {
        v.sort_by_key(|d| d.id);
    }
    Ok(out)
}

/// Appraisals of each right, oldest first.
pub async fn appraisals_of_rights(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<appraisal::Model>>> {
    let mut out =
        grouped::<appraisal::Entity, _>(conn, appraisal::Column::RightId, ids, |a| a.right_id)
            .await?;
    for v in out.values_mut() {
        v.sort_by_key(|a| a.id);
    }
    Ok(out)
}

/// The right on each of these share holdings, by holding.
pub async fn rights_on_holdings(
    conn: &impl ConnectionTrait,
    holding_ids: &[i64],
) -> StoreResult<HashMap<i64, property_right::Model>> {
    let rows = property_right::Entity::find()
        .filter(property_right::Column::HoldingId.is_in(holding_ids.iter().copied()))
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.holding_id.map(|h| (h, r)))
        .collect())
}

/// The condition that `right_column` names a right in township `township`: on an asset placed
/// there, or on a share holding of a collective of one of its villages. (A right on neither is
/// in no township.)
pub(crate) fn in_township(right_column: impl ColumnTrait, township: i64) -> Condition {
    use super::entities::{collective_organization, share_holding};
    let on_asset = Query::select()
        .column((property_right::Entity, property_right::Column::Id))
        .from(property_right::Entity)
        .inner_join(
            idle_asset::Entity,
            Expr::col((idle_asset::Entity, idle_asset::Column::Id))
                .equals((property_right::Entity, property_right::Column::AssetId)),
        )
        .and_where(Expr::col((idle_asset::Entity, idle_asset::Column::TownshipId)).eq(township))
        .to_owned();
    let on_holding = Query::select()
        .column((property_right::Entity, property_right::Column::Id))
        .from(property_right::Entity)
        .inner_join(
            share_holding::Entity,
            Expr::col((share_holding::Entity, share_holding::Column::Id))
                .equals((property_right::Entity, property_right::Column::HoldingId)),
        )
        .inner_join(
            collective_organization::Entity,
            Expr::col((
                collective_organization::Entity,
                collective_organization::Column::Id,
            ))
            .equals((share_holding::Entity, share_holding::Column::OrganizationId)),
        )
        .and_where(
            Expr::col((
                collective_organization::Entity,
                collective_organization::Column::VillageId,
            ))
            .in_subquery(super::places::village_ids_of(township)),
        )
        .to_owned();
    Condition::any()
        .add(right_column.in_subquery(on_asset))
        .add(right_column.in_subquery(on_holding))
}
