//! The district's mortgage policy and the snapshot of every record an eligibility decision
//! rests on.

use chrono::{Months, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};

use super::entities::{idle_asset, mortgage, party, policy_version, revitalization};
use super::{StoreError, StoreResult};
use crate::domain::eligibility::Policy;
use crate::domain::eligibility::{
    AppraisalFacts, AssetFacts, BorrowerFacts, Document, Holder, HoldingFacts, MortgageFacts,
    ProductFacts, Request, RightFacts, Snapshot, ZoneFacts, birth_and_sex,
};
use crate::domain::geometry::Location;
use crate::domain::rights::{CreditModel, DocumentKind, RightKind, RightStatus};

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
        super::rights::right(conn, right_id).await?,
        super::credit::product(conn, product_id).await?,
        party::Entity::find_by_id(borrower_id).one(conn).await?,
        current_policy(conn).await?,
    ) else {
        return Ok(None);
    };
    let kind = |k: &str| RightKind::parse(k).map_err(|e| corrupt("right kind", e));
    let holders = super::rights::holders_of(conn, right_id)
        .await?
        .into_iter()
        .map(|h| Holder {
            party_id: h.party_id,
            share_bp: h.share_bp.max(0) as u32,
        })
        .collect();
    let documents = super::rights::documents_of(conn, right_id)
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
    let holding = match right.holding_id {
        None => None,
        Some(id) => super::shares::holdings_by_ids(conn, &[id])
            .await?
            .remove(&id)
            .map(|h| HoldingFacts {
                id: h.id,
                organization_id: h.organization_id,
                holder_party_id: h.holder_party_id,
                valid_from: h.valid_from,
                valid_to: h.valid_to,
            }),
    };
    let appraisals = super::rights::appraisals_of(conn, right_id)
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
    let zones = super::rights::zones(conn)
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
            holding,
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
