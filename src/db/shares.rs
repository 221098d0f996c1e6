//! The shareholding register (三变): organisations, memberships, share classes, holdings and
//! their changes, contributions, distributions and payouts.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::{
    collective_member, collective_organization, distribution, distribution_class, party, payout,
    share_change, share_class, share_contribution, share_holding,
};
use super::{StoreResult, Versioned};
use crate::domain::shares::{
    ClassAmount, Holder, NewContribution, NewMember, NewOrganization, NewShareClass, Payout,
    ShareChangeKind, Shares,
};

// ---------------------------------------------------------------------------------------------
// Organisations

pub async fn organizations_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, collective_organization::Model>> {
    super::keyed::<collective_organization::Entity, _>(
        conn,
        collective_organization::Column::Id,
        ids,
        |o| o.id,
    )
    .await
}

/// The organisations that are these parties.
pub async fn organizations_of_parties(
    conn: &impl ConnectionTrait,
    party_ids: &[i64],
) -> StoreResult<HashMap<i64, collective_organization::Model>> {
    super::keyed::<collective_organization::Entity, _>(
        conn,
        collective_organization::Column::PartyId,
        party_ids,
        |o| o.party_id,
    )
    .await
}

/// Each village's collective economic organisation (村集体经济组织), if it has one.
pub async fn village_collectives(
    conn: &impl ConnectionTrait,
    village_ids: &[i64],
) -> StoreResult<HashMap<i64, collective_organization::Model>> {
    use collective_organization::Column;
    let rows = collective_organization::Entity::find()
        .filter(Column::VillageId.is_in(village_ids.iter().copied()))
        .filter(Column::Kind.is_in(["STOCK_ECONOMIC_COOPERATIVE", "ECONOMIC_COOPERATIVE"]))
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|o| (o.village_id, o)).collect())
}

/// The organisation whose party has this unified social credit code.
pub async fn organization_by_credit_code(
    conn: &impl ConnectionTrait,
    code: &str,
) -> StoreResult<Option<collective_organization::Model>> {
    let Some(p) = party::Entity::find()
        .filter(party::Column::CreditCode.eq(code))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(organizations_of_parties(conn, &[p.id]).await?.remove(&p.id))
}

/// Organisations in these villages (every village when `None`), in id order.
pub async fn organizations_in(
    conn: &impl ConnectionTrait,
    village_ids: Option<&[i64]>,
) -> StoreResult<Vec<collective_organization::Model>> {
    use collective_organization::Column;
    let mut q = collective_organization::Entity::find().order_by_asc(Column::Id);
    if let Some(v) = village_ids {
        q = q.filter(Column::VillageId.is_in(v.iter().copied()));
    }
    Ok(q.all(conn).await?)
}

fn organization_attributes(
    o: &NewOrganization,
    village_id: i64,
) -> collective_organization::ActiveModel {
    collective_organization::ActiveModel {
        village_id: Set(village_id),
        kind: Set(o.kind.as_str().to_owned()),
        registered_on: Set(o.registered_on),
        reform_completed_on: Set(o.reform_completed_on),
        holding_policy: Set(o.policy.as_str().to_owned()),
        adjust_every_years: Set(o.policy.interval_years().map(i32::from)),
        reserve_bp: Set(i32::try_from(o.reserve_bp).unwrap_or(i32::MAX)),
        dividend_split: Set(o.dividend_split.as_str().to_owned()),
        ..Default::default()
    }
}

pub async fn insert_organization(
    conn: &impl ConnectionTrait,
    o: &NewOrganization,
    party_id: i64,
    village_id: i64,
) -> StoreResult<collective_organization::Model> {
    let now = Utc::now();
    let mut row = organization_attributes(o, village_id);
    row.party_id = Set(party_id);
    row.register_version = Set(0);
    row.version = Set(1);
    row.created_at = Set(now);
    row.updated_at = Set(now);
    Ok(row.insert(conn).await?)
}

/// Replaces an organisation's attributes if it is still at `version`.
pub async fn update_organization(
    conn: &impl ConnectionTrait,
    id: i64,
    version: i32,
    o: &NewOrganization,
    village_id: i64,
) -> StoreResult<Versioned<collective_organization::Model>> {
    let changes =
        collective_organization::Entity::update_many().set(organization_attributes(o, village_id));
    super::update_versioned(conn, id, version, changes).await
}

/// Takes the register's lock for the rest of the transaction: bumps `register_version`, which
/// on PostgreSQL holds the row until commit, so two changes of one register run one after the
/// other and each checks the holdings the other wrote.
pub async fn lock_register(conn: &impl ConnectionTrait, organization_id: i64) -> StoreResult<()> {
    use collective_organization::Column;
    collective_organization::Entity::update_many()
        .col_expr(
            Column::RegisterVersion,
            Expr::col(Column::RegisterVersion).add(1),
        )
        .filter(Column::Id.eq(organization_id))
        .exec(conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Members

/// An organisation's memberships, by party then joining date.
pub async fn members_of(
    conn: &impl ConnectionTrait,
    organization_id: i64,
) -> StoreResult<Vec<collective_member::Model>> {
    use collective_member::Column;
    Ok(collective_member::Entity::find()
        .filter(Column::OrganizationId.eq(organization_id))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}

/// A page of an organisation's memberships in id order, optionally only those current on a day.
pub async fn members_page(
    conn: &impl ConnectionTrait,
    organization_id: i64,
    current_on: Option<NaiveDate>,
    after: Option<i64>,
    backward: bool,
    limit: u64,
) -> StoreResult<Vec<collective_member::Model>> {
    use collective_member::Column;
    let mut q =
        collective_member::Entity::find().filter(Column::OrganizationId.eq(organization_id));
    if let Some(day) = current_on {
        q = q.filter(Column::JoinedOn.lte(day)).filter(
            Condition::any()
                .add(Column::LeftOn.is_null())
                .add(Column::LeftOn.gt(day)),
        );
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

/// The memberships of these parties, in any organisation.
pub async fn memberships_of_parties(
    conn: &impl ConnectionTrait,
    party_ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<collective_member::Model>>> {
    super::grouped::<collective_member::Entity, _>(
        conn,
        collective_member::Column::PartyId,
        party_ids,
        |m| m.party_id,
    )
    .await
}

pub async fn member_by_id(
    conn: &impl ConnectionTrait,
    id: i64,
) -> StoreResult<Option<collective_member::Model>> {
    Ok(collective_member::Entity::find_by_id(id).one(conn).await?)
}

pub async fn insert_member(
    conn: &impl ConnectionTrait,
    organization_id: i64,
    party_id: i64,
    m: &NewMember,
) -> StoreResult<collective_member::Model> {
    let now = Utc::now();
    Ok(collective_member::ActiveModel {
        organization_id: Set(organization_id),
        party_id: Set(party_id),
        basis: Set(m.basis.as_str().to_owned()),
        joined_on: Set(m.joined_on),
        left_on: Set(None),
        document: Set(m.document.clone()),
        left_reason: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

/// Ends a membership on `left_on` if it is still at `version` (None: whatever its version, for
/// a member who leaves in a share change).
pub async fn end_member(
    conn: &impl ConnectionTrait,
    id: i64,
    version: Option<i32>,
    left_on: NaiveDate,
    reason: Option<String>,
) -> StoreResult<Versioned<collective_member::Model>> {
    let changes = collective_member::Entity::update_many().set(collective_member::ActiveModel {
        left_on: Set(Some(left_on)),
        left_reason: Set(reason),
        ..Default::default()
    });
    match version {
        Some(v) => super::update_versioned(conn, id, v, changes).await,
        None => {
            super::update_any_version(conn, id, changes).await?;
            Ok(match member_by_id(conn, id).await? {
                Some(row) => Versioned::Updated(row),
                None => Versioned::Missing,
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Share classes

pub async fn classes_of(
    conn: &impl ConnectionTrait,
    organization_ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<share_class::Model>>> {
    let mut out = super::grouped::<share_class::Entity, _>(
        conn,
        share_class::Column::OrganizationId,
        organization_ids,
        |c| c.organization_id,
    )
    .await?;
    for classes in out.values_mut() {
        classes.sort_by_key(|c| c.id);
    }
    Ok(out)
}

pub async fn classes_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, share_class::Model>> {
    super::keyed::<share_class::Entity, _>(conn, share_class::Column::Id, ids, |c| c.id).await
}

pub async fn insert_class(
    conn: &impl ConnectionTrait,
    organization_id: i64,
    c: &NewShareClass,
) -> StoreResult<share_class::Model> {
    let now = Utc::now();
    Ok(share_class::ActiveModel {
        organization_id: Set(organization_id),
        kind: Set(c.kind.as_str().to_owned()),
        name: Set(c.name.clone()),
        issued_hundredths: Set(c.issued.hundredths()),
        weight_bp: Set(c.weight_bp.and_then(|w| i32::try_from(w).ok())),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

/// Sets a class's issued shares (a contribution issues new shares for it), bumping its version;
/// returns the class as written.
pub async fn set_issued(
    conn: &impl ConnectionTrait,
    class_id: i64,
    issued: Shares,
) -> StoreResult<Option<share_class::Model>> {
    use share_class::Column;
    let changes = share_class::Entity::update_many()
        .col_expr(Column::IssuedHundredths, Expr::val(issued.hundredths()));
    super::update_any_version(conn, class_id, changes).await?;
    Ok(share_class::Entity::find_by_id(class_id).one(conn).await?)
}

// ---------------------------------------------------------------------------------------------
// Holdings and changes

/// Every holding of an organisation, open and closed, in id order.
pub async fn holdings_of(
    conn: &impl ConnectionTrait,
    organization_id: i64,
) -> StoreResult<Vec<share_holding::Model>> {
    use share_holding::Column;
    Ok(share_holding::Entity::find()
        .filter(Column::OrganizationId.eq(organization_id))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}

/// The holdings open on `day` (all holdings when `None`) of some organisations, in id order.
pub async fn open_holdings(
    conn: &impl ConnectionTrait,
    organization_ids: &[i64],
    day: Option<NaiveDate>,
) -> StoreResult<Vec<share_holding::Model>> {
    use share_holding::Column;
    let mut q = share_holding::Entity::find()
        .filter(Column::OrganizationId.is_in(organization_ids.iter().copied()));
    if let Some(day) = day {
        q = q.filter(Column::ValidFrom.lte(day)).filter(
            Condition::any()
                .add(Column::ValidTo.is_null())
                .add(Column::ValidTo.gt(day)),
        );
    }
    Ok(q.order_by_asc(Column::Id).all(conn).await?)
}

/// The holdings these parties hold or held, in id order.
pub async fn holdings_of_parties(
    conn: &impl ConnectionTrait,
    party_ids: &[i64],
) -> StoreResult<Vec<share_holding::Model>> {
    use share_holding::Column;
    Ok(share_holding::Entity::find()
        .filter(Column::HolderPartyId.is_in(party_ids.iter().copied()))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}

pub async fn holdings_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, share_holding::Model>> {
    super::keyed::<share_holding::Entity, _>(conn, share_holding::Column::Id, ids, |h| h.id).await
}

/// A change as it is written.
pub struct NewChange<'a> {
    pub organization_id: i64,
    pub kind: ShareChangeKind,
    pub occurred_on: NaiveDate,
    pub reason: Option<&'a str>,
    pub document: Option<&'a str>,
    pub contributor: Option<Holder>,
    pub recorded_by: &'a str,
}

pub async fn insert_change(
    conn: &impl ConnectionTrait,
    c: &NewChange<'_>,
) -> StoreResult<share_change::Model> {
    Ok(share_change::ActiveModel {
        organization_id: Set(c.organization_id),
        kind: Set(c.kind.as_str().to_owned()),
        occurred_on: Set(c.occurred_on),
        reason: Set(c.reason.map(str::to_owned)),
        document: Set(c.document.map(str::to_owned)),
        contributor_party_id: Set(match c.contributor {
            Some(Holder::Member(p)) => Some(p),
            _ => None,
        }),
        recorded_by: Set(c.recorded_by.to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

pub async fn changes_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, share_change::Model>> {
    super::keyed::<share_change::Entity, _>(conn, share_change::Column::Id, ids, |c| c.id).await
}

/// The holdings some changes opened, by change, in id order.
pub async fn holdings_opened_by(
    conn: &impl ConnectionTrait,
    change_ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<share_holding::Model>>> {
    let mut out = super::grouped::<share_holding::Entity, _>(
        conn,
        share_holding::Column::OpenedBy,
        change_ids,
        |h| h.opened_by,
    )
    .await?;
    out.values_mut().for_each(|v| v.sort_by_key(|h| h.id));
    Ok(out)
}

/// The holdings some changes closed, by change, in id order.
pub async fn holdings_closed_by(
    conn: &impl ConnectionTrait,
    change_ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<share_holding::Model>>> {
    // Every row read has `closed_by` among `change_ids`.
    let mut out = super::grouped::<share_holding::Entity, _>(
        conn,
        share_holding::Column::ClosedBy,
        change_ids,
        |h| h.closed_by.unwrap_or_default(),
    )
    .await?;
    out.values_mut().for_each(|v| v.sort_by_key(|h| h.id));
    Ok(out)
}

/// An organisation's changes, newest first.
pub async fn changes_of(
    conn: &impl ConnectionTrait,
    organization_id: i64,
    limit: u64,
) -> StoreResult<Vec<share_change::Model>> {
    use share_change::Column;
    Ok(share_change::Entity::find()
        .filter(Column::OrganizationId.eq(organization_id))
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Closes holdings on `day` by `change_id`.
pub async fn close_holdings(
    conn: &impl ConnectionTrait,
    ids: &[i64],
    day: NaiveDate,
    change_id: i64,
) -> StoreResult<()> {
    use share_holding::Column;
    if ids.is_empty() {
        return Ok(());
    }
    share_holding::Entity::update_many()
        .col_expr(Column::ValidTo, Expr::val(day))
        .col_expr(Column::ClosedBy, Expr::val(change_id))
        .filter(Column::Id.is_in(ids.iter().copied()))
        .exec(conn)
        .await?;
    Ok(())
}

/// A holding as it is opened.
pub struct NewHoldingRow<'a> {
    pub organization_id: i64,
    pub class_id: i64,
    pub holder: Holder,
    pub shares: Shares,
    pub certificate_no: Option<&'a str>,
    pub valid_from: NaiveDate,
    pub opened_by: i64,
}

pub async fn insert_holding(
    conn: &impl ConnectionTrait,
    h: &NewHoldingRow<'_>,
) -> StoreResult<share_holding::Model> {
    Ok(share_holding::ActiveModel {
        organization_id: Set(h.organization_id),
        class_id: Set(h.class_id),
        holder_party_id: Set(match h.holder {
            Holder::Member(p) => Some(p),
            Holder::Organisation => None,
        }),
        shares_hundredths: Set(h.shares.hundredths()),
        certificate_no: Set(h.certificate_no.map(str::to_owned)),
        valid_from: Set(h.valid_from),
        valid_to: Set(None),
        opened_by: Set(h.opened_by),
        closed_by: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

// ---------------------------------------------------------------------------------------------
// Contributions

/// A contribution as it is written.
pub struct ContributionRow<'a> {
    pub organization_id: i64,
    pub contributor: Holder,
    pub facts: &'a NewContribution,
    pub asset_id: Option<i64>,
    pub revitalization_id: Option<i64>,
    pub right_id: Option<i64>,
    pub change_id: i64,
    pub class_id: i64,
    pub shares: Shares,
}

pub async fn insert_contribution(
    conn: &impl ConnectionTrait,
    c: &ContributionRow<'_>,
) -> StoreResult<share_contribution::Model> {
    Ok(share_contribution::ActiveModel {
        organization_id: Set(c.organization_id),
        contributor_party_id: Set(match c.contributor {
            Holder::Member(p) => Some(p),
            Holder::Organisation => None,
        }),
        kind: Set(c.facts.kind.as_str().to_owned()),
        asset_id: Set(c.asset_id),
        revitalization_id: Set(c.revitalization_id),
        right_id: Set(c.right_id),
        fund_source: Set(c.facts.fund_source.map(|s| s.as_str().to_owned())),
        description: Set(c.facts.description.clone()),
        appraised_value_fen: Set(c.facts.appraised_value_fen),
        contributed_on: Set(c.facts.contributed_on),
        change_id: Set(c.change_id),
        class_id: Set(c.class_id),
        shares_hundredths: Set(c.shares.hundredths()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

/// The contributions to some organisations, in id order.
pub async fn contributions_of(
    conn: &impl ConnectionTrait,
    organization_ids: &[i64],
) -> StoreResult<Vec<share_contribution::Model>> {
    use share_contribution::Column;
    Ok(share_contribution::Entity::find()
        .filter(Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}

/// The contribution each of these revitalizations became, if any.
pub async fn contributions_of_revitalizations(
    conn: &impl ConnectionTrait,
    revitalization_ids: &[i64],
) -> StoreResult<HashMap<i64, share_contribution::Model>> {
    let rows = share_contribution::Entity::find()
        .filter(
            share_contribution::Column::RevitalizationId.is_in(revitalization_ids.iter().copied()),
        )
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|c| c.revitalization_id.map(|r| (r, c)))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Distributions and payouts

/// A distribution as it is written, with what the domain computed.
pub struct DistributionRow<'a> {
    pub organization_id: i64,
    pub year: i32,
    pub declared_on: NaiveDate,
    pub record_date: NaiveDate,
    pub distributable_fen: i64,
    pub reserve_bp: u32,
    pub split: &'a str,
    pub document: Option<&'a str>,
    pub computed: &'a crate::domain::shares::Distribution,
    /// Each class's weight in the plan, when the split is by class.
    pub weights: &'a [(i64, u32)],
    /// The holder of each holding paid.
    pub holders: &'a HashMap<i64, Holder>,
}

pub async fn insert_distribution(
    conn: &impl ConnectionTrait,
    d: &DistributionRow<'_>,
) -> StoreResult<distribution::Model> {
    let now = Utc::now();
    let row = distribution::ActiveModel {
        organization_id: Set(d.organization_id),
        year: Set(d.year),
        declared_on: Set(d.declared_on),
        record_date: Set(d.record_date),
        distributable_fen: Set(d.distributable_fen),
        reserve_bp: Set(i32::try_from(d.reserve_bp).unwrap_or(i32::MAX)),
        reserve_fen: Set(d.computed.reserve_fen),
        holders_fen: Set(d.computed.holders_fen),
        split: Set(d.split.to_owned()),
        document: Set(d.document.map(str::to_owned)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    let weight = |class: i64| {
        d.weights
            .iter()
            .find(|(c, _)| *c == class)
            .and_then(|(_, w)| i32::try_from(*w).ok())
    };
    let classes: Vec<distribution_class::ActiveModel> = d
        .computed
        .classes
        .iter()
        .map(
            |ClassAmount { class, fen }| distribution_class::ActiveModel {
                distribution_id: Set(row.id),
                class_id: Set(*class),
                weight_bp: Set(weight(*class)),
                fen: Set(*fen),
            },
        )
        .collect();
    if !classes.is_empty() {
        distribution_class::Entity::insert_many(classes)
            .exec(conn)
            .await?;
    }
    for chunk in d.computed.payouts.chunks(500) {
        let rows: Vec<payout::ActiveModel> = chunk
            .iter()
            .map(
                |Payout {
                     holding,
                     class,
                     fen,
                 }| payout::ActiveModel {
                    distribution_id: Set(row.id),
                    holding_id: Set(*holding),
                    holder_party_id: Set(match d.holders.get(holding) {
                        Some(Holder::Member(p)) => Some(*p),
                        _ => None,
                    }),
                    class_id: Set(*class),
                    fen: Set(*fen),
                    paid_on: Set(None),
                    paid_method: Set(None),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                },
            )
            .collect();
        payout::Entity::insert_many(rows).exec(conn).await?;
    }
    Ok(row)
}

pub async fn distribution_of_year(
    conn: &impl ConnectionTrait,
    organization_id: i64,
    year: i32,
) -> StoreResult<Option<distribution::Model>> {
    use distribution::Column;
    Ok(distribution::Entity::find()
        .filter(Column::OrganizationId.eq(organization_id))
        .filter(Column::Year.eq(year))
        .one(conn)
        .await?)
}

/// The distributions of some organisations, by year.
pub async fn distributions_of(
    conn: &impl ConnectionTrait,
    organization_ids: &[i64],
) -> StoreResult<Vec<distribution::Model>> {
    use distribution::Column;
    Ok(distribution::Entity::find()
        .filter(Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .order_by_asc(Column::Year)
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}

pub async fn distributions_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, distribution::Model>> {
    super::keyed::<distribution::Entity, _>(conn, distribution::Column::Id, ids, |d| d.id).await
}

pub async fn distribution_classes(
    conn: &impl ConnectionTrait,
    distribution_ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<distribution_class::Model>>> {
    let mut out = super::grouped::<distribution_class::Entity, _>(
        conn,
        distribution_class::Column::DistributionId,
        distribution_ids,
        |c| c.distribution_id,
    )
    .await?;
    for classes in out.values_mut() {
        classes.sort_by_key(|c| c.class_id);
    }
    Ok(out)
}

/// The payouts of some distributions, in id order.
pub async fn payouts_of(
    conn: &impl ConnectionTrait,
    distribution_ids: &[i64],
) -> StoreResult<Vec<payout::Model>> {
    use payout::Column;
    Ok(payout::Entity::find()
        .filter(Column::DistributionId.is_in(distribution_ids.iter().copied()))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}

/// The payouts to these parties, in id order.
pub async fn payouts_to(
    conn: &impl ConnectionTrait,
    party_ids: &[i64],
) -> StoreResult<Vec<payout::Model>> {
    use payout::Column;
    Ok(payout::Entity::find()
        .filter(Column::HolderPartyId.is_in(party_ids.iter().copied()))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}

pub async fn payouts_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, payout::Model>> {
    super::keyed::<payout::Entity, _>(conn, payout::Column::Id, ids, |p| p.id).await
}

/// Marks payouts paid; only those not yet paid are written. Returns how many were.
pub async fn mark_paid(
    conn: &impl ConnectionTrait,
    ids: &[i64],
    paid_on: NaiveDate,
    method: &str,
) -> StoreResult<u64> {
    use payout::Column;
    let mut written = 0;
    for chunk in ids.chunks(500) {
        let result = payout::Entity::update_many()
            .col_expr(Column::PaidOn, Expr::val(paid_on))
            .col_expr(Column::PaidMethod, Expr::val(method))
            .col_expr(Column::Version, Expr::col(Column::Version).add(1))
            .col_expr(Column::UpdatedAt, Expr::val(Utc::now()))
            .filter(Column::Id.is_in(chunk.iter().copied()))
            .filter(Column::PaidOn.is_null())
            .exec(conn)
            .await?;
        written += result.rows_affected;
    }
    Ok(written)
}

// ---------------------------------------------------------------------------------------------
// Pages and figures

/// A page of the holdings of an organisation open on `day`, in id order.
pub async fn holdings_page(
    conn: &impl ConnectionTrait,
    organization_id: i64,
    day: NaiveDate,
    after: Option<i64>,
    backward: bool,
    limit: u64,
) -> StoreResult<Vec<share_holding::Model>> {
    use share_holding::Column;
    let mut q = share_holding::Entity::find()
        .filter(Column::OrganizationId.eq(organization_id))
        .filter(open_on(day));
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

fn open_on(day: NaiveDate) -> Condition {
    use share_holding::Column;
    Condition::all().add(Column::ValidFrom.lte(day)).add(
        Condition::any()
            .add(Column::ValidTo.is_null())
            .add(Column::ValidTo.gt(day)),
    )
}

fn member_on(day: NaiveDate) -> Condition {
    use collective_member::Column;
    Condition::all().add(Column::JoinedOn.lte(day)).add(
        Condition::any()
            .add(Column::LeftOn.is_null())
            .add(Column::LeftOn.gt(day)),
    )
}

/// How many holdings of an organisation are open on `day`.
pub async fn count_holdings(
    conn: &impl ConnectionTrait,
    organization_id: i64,
    day: NaiveDate,
) -> StoreResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(share_holding::Entity::find()
        .filter(share_holding::Column::OrganizationId.eq(organization_id))
        .filter(open_on(day))
        .count(conn)
        .await?)
}

/// How many memberships an organisation has (current on `day` only, when given).
pub async fn count_members(
    conn: &impl ConnectionTrait,
    organization_id: i64,
    day: Option<NaiveDate>,
) -> StoreResult<u64> {
    use sea_orm::PaginatorTrait;
    let mut q = collective_member::Entity::find()
        .filter(collective_member::Column::OrganizationId.eq(organization_id));
    if let Some(day) = day {
        q = q.filter(member_on(day));
    }
    Ok(q.count(conn).await?)
}

/// The organisations of a township's villages, in id order.
pub async fn organizations_in_township(
    conn: &impl ConnectionTrait,
    township_id: i64,
) -> StoreResult<Vec<collective_organization::Model>> {
    use super::entities::village;
    use collective_organization::Column;
    use sea_orm::sea_query::Query;
    let villages = Query::select()
        .column(village::Column::Id)
        .from(village::Entity)
        .and_where(Expr::col(village::Column::TownshipId).eq(township_id))
        .to_owned();
    Ok(collective_organization::Entity::find()
        .filter(Column::VillageId.in_subquery(villages))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}

/// Distinct member households of some organisations on `day`.
pub async fn member_households(
    conn: &impl ConnectionTrait,
    organization_ids: &[i64],
    day: NaiveDate,
) -> StoreResult<i64> {
    use collective_member::Column;
    let n: Option<i64> = collective_member::Entity::find()
        .select_only()
        .column_as(Expr::cust("COUNT(DISTINCT party_id)"), "n")
        .filter(Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .filter(member_on(day))
        .into_tuple()
        .one(conn)
        .await?;
    Ok(n.unwrap_or(0))
}

/// Distinct households holding shares of some organisations on `day`.
pub async fn shareholder_households(
    conn: &impl ConnectionTrait,
    organization_ids: &[i64],
    day: NaiveDate,
) -> StoreResult<i64> {
    use share_holding::Column;
    let n: Option<i64> = share_holding::Entity::find()
        .select_only()
        .column_as(Expr::cust("COUNT(DISTINCT holder_party_id)"), "n")
        .filter(Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .filter(open_on(day))
        .into_tuple()
        .one(conn)
        .await?;
    Ok(n.unwrap_or(0))
}

/// The shares open on `day` by class, in hundredths.
pub async fn open_shares_by_class(
    conn: &impl ConnectionTrait,
    organization_ids: &[i64],
    day: NaiveDate,
) -> StoreResult<Vec<(i64, i64)>> {
    use share_holding::Column;
    Ok(share_holding::Entity::find()
        .select_only()
        .column(Column::ClassId)
        .column_as(Expr::cust("CAST(SUM(shares_hundredths) AS BIGINT)"), "n")
        .filter(Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .filter(open_on(day))
        .group_by(Column::ClassId)
        .into_tuple()
        .all(conn)
        .await?)
}

/// Contributions by kind: how many, their appraised value in fen, and the shares issued.
pub async fn contribution_totals(
    conn: &impl ConnectionTrait,
    organization_ids: &[i64],
) -> StoreResult<Vec<(String, i64, i64, i64)>> {
    use share_contribution::Column;
    Ok(share_contribution::Entity::find()
        .select_only()
        .column(Column::Kind)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(
            Expr::cust("CAST(SUM(appraised_value_fen) AS BIGINT)"),
            "value",
        )
        .column_as(
            Expr::cust("CAST(SUM(shares_hundredths) AS BIGINT)"),
            "shares",
        )
        .filter(Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .group_by(Column::Kind)
        .order_by_asc(Column::Kind)
        .into_tuple()
        .all(conn)
        .await?)
}

/// Per distribution: the payouts marked paid, their sum in fen, and the households paid.
pub async fn paid_by_distribution(
    conn: &impl ConnectionTrait,
    distribution_ids: &[i64],
) -> StoreResult<HashMap<i64, (i64, i64, i64)>> {
    use payout::Column;
    let rows: Vec<(i64, i64, i64, i64)> = payout::Entity::find()
        .select_only()
        .column(Column::DistributionId)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(Expr::cust("CAST(SUM(fen) AS BIGINT)"), "fen")
        .column_as(Expr::cust("COUNT(DISTINCT holder_party_id)"), "households")
        .filter(Column::DistributionId.is_in(distribution_ids.iter().copied()))
        .filter(Column::PaidOn.is_not_null())
        .group_by(Column::DistributionId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(d, n, fen, households)| (d, (n, fen, households)))
        .collect())
}

/// A page of a distribution's payouts, in id order.
pub async fn payouts_page(
    conn: &impl ConnectionTrait,
    distribution_id: i64,
    after: Option<i64>,
    backward: bool,
    limit: u64,
) -> StoreResult<Vec<payout::Model>> {
    use payout::Column;
    let mut q = payout::Entity::find().filter(Column::DistributionId.eq(distribution_id));
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

/// How many payouts a distribution has.
pub async fn count_payouts(conn: &impl ConnectionTrait, distribution_id: i64) -> StoreResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(payout::Entity::find()
        .filter(payout::Column::DistributionId.eq(distribution_id))
        .count(conn)
        .await?)
}

pub async fn contributions_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, share_contribution::Model>> {
    super::keyed::<share_contribution::Entity, _>(conn, share_contribution::Column::Id, ids, |c| {
        c.id
    })
    .await
}
