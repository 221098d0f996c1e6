//! Property rights, banks, products, appraisals, zones, the district policy, and the snapshot of
//! all of them an eligibility decision rests on.

use std::collections::HashMap;

use chrono::{Months, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};

use super::entities::{
    appraisal, bank, expropriation_zone, idle_asset, loan_product, mortgage, party, policy_version,
    property_right, recommendation, revitalization, right_holder, source_document,
};
use super::{StoreError, StoreResult};
use crate::domain::eligibility::{
    AppraisalFacts, AssetFacts, BorrowerFacts, Document, Holder, MortgageFacts, ProductFacts,
    Request, RightFacts, Snapshot, ZoneFacts, birth_and_sex,
};
use crate::domain::geometry::{Area, Location};
use crate::domain::right::{CreditModel, DocumentKind, Policy, RightKind, RightStatus};

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::from(sea_orm::DbErr::Custom(format!("stored {what}: {e}")))
}

/// The policy in force: the latest version stored.
pub async fn current_policy(conn: &impl ConnectionTrait) -> StoreResult<Option<Policy>> {
    let row = policy_version::Entity::find()
        .order_by_desc(policy_version::Column::Id)
        .one(conn)
        .await?;
    row.map(|r| serde_json::from_str(&r.body).map_err(|e| corrupt("policy", e)))
        .transpose()
}

pub async fn policy_exists(conn: &impl ConnectionTrait, version: &str) -> StoreResult<bool> {
    Ok(policy_version::Entity::find()
        .filter(policy_version::Column::Version.eq(version))
        .one(conn)
        .await?
        .is_some())
}

/// Stores a checked policy as the version in force.
pub async fn insert_policy(conn: &impl ConnectionTrait, policy: &Policy) -> StoreResult<()> {
    let body = serde_json::to_string(policy).map_err(|e| corrupt("policy", e))?;
    policy_version::ActiveModel {
        version: Set(policy.version.clone()),
        body: Set(body),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

pub async fn banks(conn: &impl ConnectionTrait) -> StoreResult<Vec<bank::Model>> {
    Ok(bank::Entity::find()
        .order_by_asc(bank::Column::Id)
        .all(conn)
        .await?)
}

pub async fn insert_bank(conn: &impl ConnectionTrait, code: &str, name: &str) -> StoreResult<i64> {
    Ok(bank::ActiveModel {
        code: Set(code.to_owned()),
        name: Set(name.to_owned()),
        ..Default::default()
    }
    .insert(conn)
    .await?
    .id)
}

/// A loan product as the seeds or an ADMIN define it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProduct {
    pub bank_id: i64,
    pub code: String,
    pub name: String,
    pub right_kind: RightKind,
    pub credit_model: CreditModel,
    pub max_ltv_bp: i32,
    pub term_months: (i32, i32),
    pub amount_fen: (i64, i64),
    pub rate_bp: (i32, i32),
    pub needs_collective_consent: bool,
}

pub async fn insert_product(conn: &impl ConnectionTrait, p: &NewProduct) -> StoreResult<i64> {
    let now = Utc::now();
    Ok(loan_product::ActiveModel {
        bank_id: Set(p.bank_id),
        code: Set(p.code.clone()),
        name: Set(p.name.clone()),
        right_kind: Set(p.right_kind.as_str().to_owned()),
        credit_model: Set(p.credit_model.as_str().to_owned()),
        max_ltv_bp: Set(p.max_ltv_bp),
        min_term_months: Set(p.term_months.0),
        max_term_months: Set(p.term_months.1),
        min_amount_fen: Set(p.amount_fen.0),
        max_amount_fen: Set(p.amount_fen.1),
        min_rate_bp: Set(p.rate_bp.0),
        max_rate_bp: Set(p.rate_bp.1),
        needs_collective_consent: Set(p.needs_collective_consent),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?
    .id)
}

pub async fn products(conn: &impl ConnectionTrait) -> StoreResult<Vec<loan_product::Model>> {
    Ok(loan_product::Entity::find()
        .order_by_asc(loan_product::Column::Id)
        .all(conn)
        .await?)
}

pub async fn product(
    conn: &impl ConnectionTrait,
    id: i64,
) -> StoreResult<Option<loan_product::Model>> {
    Ok(loan_product::Entity::find_by_id(id).one(conn).await?)
}

/// A right as the seeds or a cadre record it, checked by the domain.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRight {
    pub code: String,
    pub kind: RightKind,
    pub asset_id: Option<i64>,
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
    pub method: crate::domain::right::AppraisalMethod,
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

/// The party a recommendation endorses, if it exists.
pub async fn recommended_party(conn: &impl ConnectionTrait, id: i64) -> StoreResult<Option<i64>> {
    Ok(recommendation::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(|r| r.party_id))
}

pub async fn insert_recommendation(
    conn: &impl ConnectionTrait,
    party_id: i64,
    village_id: i64,
    grade: &str,
    issuer: &str,
    issued_on: NaiveDate,
) -> StoreResult<i64> {
    Ok(recommendation::ActiveModel {
        party_id: Set(party_id),
        village_id: Set(village_id),
        grade: Set(grade.to_owned()),
        issuer: Set(issuer.to_owned()),
        issued_on: Set(issued_on),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?
    .id)
}

pub async fn active_mortgages_on(
    conn: &impl ConnectionTrait,
    right_id: i64,
) -> StoreResult<Vec<mortgage::Model>> {
    Ok(mortgage::Entity::find()
        .filter(mortgage::Column::RightId.eq(right_id))
        .filter(mortgage::Column::Status.eq("ACTIVE"))
        .all(conn)
        .await?)
}

/// Revitalization modes that hand the use of the asset to someone else while they run.
const LEASING_MODES: [&str; 4] = [
    "LEASE",
    "EQUITY_CONTRIBUTION",
    "COOPERATIVE_OPERATION",
    "HOMESTAY",
];

/// Revitalizations of `asset_id` that lease it out and still run on `today`.
async fn active_leases(
    conn: &impl ConnectionTrait,
    asset_id: i64,
    today: NaiveDate,
) -> StoreResult<Vec<i64>> {
    let rows = revitalization::Entity::find()
        .filter(revitalization::Column::AssetId.eq(asset_id))
        .filter(revitalization::Column::Mode.is_in(LEASING_MODES))
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|r| {
            r.start_date <= today
                && r.term_months.is_none_or(|m| {
                    r.start_date
                        .checked_add_months(Months::new(m.max(0) as u32))
                        .is_none_or(|end| end > today)
                })
        })
        .map(|r| r.id)
        .collect())
}

/// Everything an eligibility decision on `right_id` for `product_id` and `borrower_id` rests
/// on, read in one go (inside the caller's transaction when there is one). None when the right,
/// product or borrower does not exist, or no policy is in force.
pub async fn snapshot(
    conn: &impl ConnectionTrait,
    right_id: i64,
    product_id: i64,
    borrower_id: i64,
    request: Request,
    today: NaiveDate,
) -> StoreResult<Option<Snapshot>> {
    let (Some(right), Some(product), Some(borrower), Some(policy)) = (
        self::right(conn, right_id).await?,
        self::product(conn, product_id).await?,
        party::Entity::find_by_id(borrower_id).one(conn).await?,
        current_policy(conn).await?,
    ) else {
        return Ok(None);
    };
    let kind = |k: &str| RightKind::parse(k).map_err(|e| corrupt("right kind", e));
    let holders = holders_of(conn, right_id)
        .await?
        .into_iter()
        .map(|h| Holder {
            party_id: h.party_id,
            share_bp: h.share_bp.max(0) as u32,
        })
        .collect();
    let documents = documents_of(conn, right_id)
        .await?
        .into_iter()
        .map(|d| {
            Ok(Document {
                id: d.id,
                kind: DocumentKind::parse(&d.kind).map_err(|e| corrupt("document kind", e))?,
                party_id: d.party_id,
                date: d.issued_on,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let asset = match right.asset_id {
        None => None,
        Some(id) => match idle_asset::Entity::find_by_id(id).one(conn).await? {
            None => None,
            Some(a) => Some(AssetFacts {
                id: a.id,
                location: Location::parse(a.lon, a.lat).map_err(|e| corrupt("location", e))?,
                footprint: a
                    .footprint
                    .as_deref()
                    .map(super::geometry::read_area)
                    .transpose()
                    .map_err(|e| corrupt("footprint", e))?,
                active_leases: active_leases(conn, a.id, today).await?,
            }),
        },
    };
    let appraisals = appraisals_of(conn, right_id)
        .await?
        .into_iter()
        .map(|a| AppraisalFacts {
            id: a.id,
            value_fen: a.value_fen,
            valued_on: a.valued_on,
            valid_until: a.valid_until,
        })
        .collect();
    let active_mortgages = active_mortgages_on(conn, right_id)
        .await?
        .into_iter()
        .map(|m| MortgageFacts {
            id: m.id,
            rank: m.rank.max(0) as u32,
        })
        .collect();
    let zones = zones(conn)
        .await?
        .into_iter()
        .map(|z| {
            Ok(ZoneFacts {
                id: z.id,
                area: super::geometry::read_area(&z.boundary).map_err(|e| corrupt("zone", e))?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Some(Snapshot {
        today,
        policy,
        right: RightFacts {
            id: right.id,
            kind: kind(&right.kind)?,
            status: RightStatus::parse(&right.status).map_err(|e| corrupt("right status", e))?,
            certificate_no: right.certificate_no,
            expires_on: right.expires_on,
            disputed: right.disputed,
            seized: right.seized,
            holders,
            documents,
            asset,
        },
        product: ProductFacts {
            id: product.id,
            right_kind: kind(&product.right_kind)?,
            credit_model: CreditModel::parse(&product.credit_model)
                .map_err(|e| corrupt("credit model", e))?,
            max_ltv_bp: product.max_ltv_bp.max(0) as u32,
            min_term_months: product.min_term_months.max(0) as u32,
            max_term_months: product.max_term_months.max(0) as u32,
            min_amount_fen: product.min_amount_fen,
            max_amount_fen: product.max_amount_fen,
            needs_collective_consent: product.needs_collective_consent,
        },
        borrower: BorrowerFacts {
            id: borrower.id,
            birth: borrower.id_number.as_deref().and_then(birth_and_sex),
        },
        appraisals,
        active_mortgages,
        zones,
        request,
    }))
}

/// Ids of banks by code.
pub async fn bank_ids(conn: &impl ConnectionTrait) -> StoreResult<HashMap<String, i64>> {
    Ok(banks(conn)
        .await?
        .into_iter()
        .map(|b| (b.code, b.id))
        .collect())
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
    use sea_orm::sea_query::{Expr, ExprTrait};
    let mut q = property_right::Entity::update_many()
        .col_expr(
            property_right::Column::Version,
            Expr::col(property_right::Column::Version).add(1),
        )
        .col_expr(property_right::Column::UpdatedAt, Expr::val(Utc::now()));
    if let Some(s) = status {
        q = q.col_expr(property_right::Column::Status, Expr::val(s.as_str()));
    }
    if let Some(d) = disputed {
        q = q.col_expr(property_right::Column::Disputed, Expr::val(d));
    }
    if let Some(s) = seized {
        q = q.col_expr(property_right::Column::Seized, Expr::val(s));
    }
    let result = q
        .filter(property_right::Column::Id.eq(id))
        .filter(property_right::Column::Version.eq(version))
        .exec(conn)
        .await?;
    super::versioned::<property_right::Entity>(conn, id, result.rows_affected, |m| m.version).await
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_credit_line(
    conn: &impl ConnectionTrait,
    bank_id: i64,
    party_id: i64,
    right_id: i64,
    amount_fen: i64,
    granted_on: NaiveDate,
    expires_on: NaiveDate,
) -> StoreResult<i64> {
    Ok(super::entities::credit_line::ActiveModel {
        bank_id: Set(bank_id),
        party_id: Set(party_id),
        right_id: Set(right_id),
        amount_fen: Set(amount_fen),
        granted_on: Set(granted_on),
        expires_on: Set(expires_on),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?
    .id)
}

/// Rows of `E` whose `column` is one of `ids`, grouped by that column.
async fn grouped<E, F>(
    conn: &impl ConnectionTrait,
    column: E::Column,
    ids: &[i64],
    key: F,
) -> StoreResult<HashMap<i64, Vec<E::Model>>>
where
    E: EntityTrait,
    F: Fn(&E::Model) -> i64,
{
    let rows = E::find()
        .filter(column.is_in(ids.iter().copied()))
        .all(conn)
        .await?;
    let mut out: HashMap<i64, Vec<E::Model>> = HashMap::new();
    for r in rows {
        out.entry(key(&r)).or_default().push(r);
    }
    Ok(out)
}

/// Rows of `E` whose `column` is one of `ids`, by that key.
async fn keyed<E, F>(
    conn: &impl ConnectionTrait,
    column: E::Column,
    ids: &[i64],
    key: F,
) -> StoreResult<HashMap<i64, E::Model>>
where
    E: EntityTrait,
    F: Fn(&E::Model) -> i64,
{
    Ok(E::find()
        .filter(column.is_in(ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (key(&m), m))
        .collect())
}

pub async fn rights_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, property_right::Model>> {
    keyed::<property_right::Entity, _>(conn, property_right::Column::Id, ids, |r| r.id).await
}

pub async fn products_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, loan_product::Model>> {
    keyed::<loan_product::Entity, _>(conn, loan_product::Column::Id, ids, |r| r.id).await
}

pub async fn banks_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, bank::Model>> {
    keyed::<bank::Entity, _>(conn, bank::Column::Id, ids, |r| r.id).await
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
