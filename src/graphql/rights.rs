//! Recording property rights and what credit rests on (产权与授信登记): rights with their
//! holders and documents, appraisals, expropriation zones, party-branch recommendations and
//! pre-credit lines. Each is one transaction with its audit event.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::NaiveDate;

use super::access::caller;
use super::credit::PropertyRight;
use super::db_conn;
use super::ids::{self, Kind};
use super::mutation::{json, party_id, record, today};
use super::scalars::{GeoJson, Long};
use crate::db;
use crate::db::entities::property_right;
use crate::db::rights::{NewAppraisal, NewDocument, NewRight};
use crate::domain::access::Actor;
use crate::domain::datum::Crs;
use crate::domain::eligibility::{self, Request, Verdict};
use crate::domain::geometry::Area;
use crate::domain::rights::{
    self, AppraisalMethod, CreditGrade, DocumentKind, RightKind, RightStatus,
};
use crate::error::AppError;

/// A holder of a new right and its share (权利人及份额).
#[derive(InputObject)]
pub struct HolderInput {
    /// The party (权利人).
    pub party_id: ID,
    /// Share, more than 0 and at most 1; the shares of a right sum to 1 (份额).
    pub share: f64,
}

/// Registers a property right (产权登记): ADMIN, or a CADRE for an asset of its township.
#[derive(InputObject)]
pub struct RegisterPropertyRightInput {
    /// Registry code (权利编号), unique.
    pub code: String,
    /// Kind (权利类型).
    pub kind: RightKind,
    /// The idle asset it is on (所在资产).
    pub asset_id: Option<ID>,
    /// Certificate number (权证号); absent while unregistered.
    pub certificate_no: Option<String>,
    /// Kind of certificate (权证类型).
    pub certificate_kind: Option<String>,
    /// Issued on (登簿日期).
    pub issued_on: Option<NaiveDate>,
    /// Expires on (到期日期).
    pub expires_on: Option<NaiveDate>,
    /// Holders and shares (权利人).
    pub holders: Vec<HolderInput>,
}

/// Changes a right's standing (权利状态变更): status, dispute, seizure.
#[derive(InputObject)]
pub struct SetRightStandingInput {
    /// The right.
    pub id: ID,
    /// Its version, as read.
    pub version: i32,
    /// New status (状态).
    pub status: Option<RightStatus>,
    /// Under dispute (权属争议).
    pub disputed: Option<bool>,
    /// Seized or frozen (查封).
    pub seized: Option<bool>,
}

/// Files a source document of a right (来源文件).
#[derive(InputObject)]
pub struct AddSourceDocumentInput {
    /// The right.
    pub right_id: ID,
    /// Kind (类型).
    pub kind: DocumentKind,
    /// Number (文号).
    pub number: String,
    /// Issued by (出具单位).
    pub issuer: String,
    /// Issued on (出具日期).
    pub issued_on: NaiveDate,
    /// Whose it is, for a consent or proof of residence (相关权利人).
    pub party_id: Option<ID>,
}

/// Records an appraisal (价值评估): a BANK or ADMIN.
#[derive(InputObject)]
pub struct RecordAppraisalInput {
    /// The right.
    pub right_id: ID,
    /// Method (评估方式).
    pub method: AppraisalMethod,
    /// Appraiser (评估机构).
    pub appraiser: String,
    /// Value, fen (价值, 分).
    pub value_fen: Long,
    /// Valued on (评估日期).
    pub valued_on: NaiveDate,
    /// Valid until (有效期至); the policy's validity when absent.
    pub valid_until: Option<NaiveDate>,
}

/// Announces an expropriation zone (公告征收范围): ADMIN.
#[derive(InputObject)]
pub struct AnnounceExpropriationZoneInput {
    /// Code (编号), unique.
    pub code: String,
    /// Name (名称).
    pub name: String,
    /// The zone, a GeoJSON Polygon or MultiPolygon (范围).
    pub boundary: GeoJson,
    /// Datum of the boundary (坐标系).
    #[graphql(default)]
    pub crs: Crs,
    /// Announced on (公告日期).
    pub announced_on: NaiveDate,
    /// Announced by (公告机关).
    pub authority: String,
}

/// A party branch endorses a borrower (党支部推荐): ADMIN, or a CADRE of the party's township.
#[derive(InputObject)]
pub struct RecordRecommendationInput {
    /// The household (农户).
    pub party_id: ID,
    /// Grade (信用等级).
    pub grade: CreditGrade,
    /// The branch (推荐党支部).
    pub issuer: String,
    /// On (推荐日期); today when absent.
    pub issued_on: Option<NaiveDate>,
}

/// Grants a pre-credit line on a registered house (见房即授信): the product's BANK.
#[derive(InputObject)]
pub struct GrantCreditLineInput {
    /// The right (权利).
    pub right_id: ID,
    /// The product (贷款产品).
    pub product_id: ID,
    /// The line, fen (授信额度, 分); at most what the report allows.
    pub amount_fen: Long,
    /// Expires on (授信到期日).
    pub expires_on: NaiveDate,
}

/// The right as stored.
#[derive(SimpleObject)]
pub struct PropertyRightPayload {
    /// The right (产权).
    pub property_right: PropertyRight,
}

/// What was recorded: its table and id.
#[derive(SimpleObject)]
pub struct RecordedPayload {
    /// Its type (类型).
    pub kind: String,
    /// Its id (记录号).
    pub record_id: Long,
}

/// The township of the asset a right is on, for the cadre rule.
pub(crate) async fn right_township(
    ctx: &Context<'_>,
    right: &property_right::Model,
) -> Result<Option<i64>> {
    Ok(match right.asset_id {
        Some(a) => db::assets::by_ids(db_conn(ctx)?, &[a])
            .await?
            .remove(&a)
            .map(|a| a.township_id),
        None => None,
    })
}

/// ADMIN, or a CADRE of the right's township (a right on no asset is the district's).
async fn may_write_right<'a>(
    ctx: &Context<'a>,
    right: &property_right::Model,
) -> Result<&'a Actor> {
    let who = caller(ctx);
    match right_township(ctx, right).await? {
        Some(t) => Ok(who.may_write_in(t).map_err(AppError::from)?),
        None => Ok(who
            .may_administer("a right on no registered asset")
            .map_err(AppError::from)?),
    }
}

async fn right_row(ctx: &Context<'_>, id: &ID) -> Result<property_right::Model> {
    let n = ids::decode_as(id, Kind::PropertyRight)?;
    db::rights::right(db_conn(ctx)?, n)
        .await?
        .ok_or_else(|| AppError::bad_input("`rightId` names no property right").into())
}

fn text(field: &'static str, value: &str, max: usize) -> Result<String, AppError> {
    crate::domain::text::required(field, value, max).map_err(|e| AppError::bad_input(e.to_string()))
}

#[derive(Default)]
pub struct RightsMutation;

#[Object]
impl RightsMutation {
    /// Registers a property right with its holders (产权登记).
    async fn register_property_right(
        &self,
        ctx: &Context<'_>,
        input: RegisterPropertyRightInput,
    ) -> Result<PropertyRightPayload> {
        let conn = db_conn(ctx)?;
        let asset = match &input.asset_id {
            Some(id) => {
                let n = ids::decode_as(id, Kind::IdleAsset)?;
                Some(
                    db::assets::by_ids(conn, &[n])
                        .await?
                        .remove(&n)
                        .ok_or_else(|| AppError::bad_input("`assetId` names no idle asset"))?,
                )
            }
            None => None,
        };
        let who = caller(ctx);
        let actor = match &asset {
            Some(a) => who.may_write_in(a.township_id).map_err(AppError::from)?,
            None => who
                .may_administer("a right on no registered asset")
                .map_err(AppError::from)?,
        };
        let mut holders = Vec::with_capacity(input.holders.len());
        for h in &input.holders {
            holders.push((
                party_id(ctx, &h.party_id, "holders.partyId").await?,
                h.share,
            ));
        }
        let holders =
            rights::holder_shares(&holders).map_err(|e| AppError::bad_input(e.to_string()))?;
        rights::check_term(input.issued_on, input.expires_on)
            .map_err(|e| AppError::bad_input(e.to_string()))?;
        let new = NewRight {
            code: text("code", &input.code, 40)?,
            kind: input.kind,
            asset_id: asset.as_ref().map(|a| a.id),
            certificate_no: input
                .certificate_no
                .map(|c| text("certificateNo", &c, 64))
                .transpose()?,
            certificate_kind: input
                .certificate_kind
                .map(|c| text("certificateKind", &c, 64))
                .transpose()?,
            issued_on: input.issued_on,
            expires_on: input.expires_on,
            status: RightStatus::Valid,
            disputed: false,
            seized: false,
            holders,
        };
        let txn = db::begin_write(conn).await?;
        let id = db::rights::insert_right(&txn, &new).await?;
        record(ctx, &txn, actor, "register", "property_right", id, (None, json(&serde_json::json!({ "code": new.code, "kind": new.kind, "holders": new.holders })))).await?;
        let row = db::rights::right(&txn, id)
            .await?
            .ok_or_else(|| AppError::internal("a right vanished in its own transaction"))?;
        db::commit(txn).await?;
        Ok(PropertyRightPayload {
            property_right: PropertyRight(row),
        })
    }

    /// Changes a right's status, dispute or seizure flag (权利状态变更), at `version`.
    async fn set_right_standing(
        &self,
        ctx: &Context<'_>,
        input: SetRightStandingInput,
    ) -> Result<PropertyRightPayload> {
        let right = right_row(ctx, &input.id).await?;
        let actor = may_write_right(ctx, &right).await?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let after = super::mutation::updated(
            "property right",
            db::rights::set_standing(
                &txn,
                right.id,
                input.version,
                input.status,
                input.disputed,
                input.seized,
            )
            .await?,
            input.version,
        )?;
        record(
            ctx,
            &txn,
            actor,
            "set_standing",
            "property_right",
            right.id,
            (
                Some(serde_json::json!({ "status": right.status, "disputed": right.disputed, "seized": right.seized })),
                Some(serde_json::json!({ "status": after.status, "disputed": after.disputed, "seized": after.seized })),
            ),
        )
        .await?;
        db::commit(txn).await?;
        Ok(PropertyRightPayload {
            property_right: PropertyRight(after),
        })
    }

    /// Files a source document of a right (登记来源文件).
    async fn add_source_document(
        &self,
        ctx: &Context<'_>,
        input: AddSourceDocumentInput,
    ) -> Result<RecordedPayload> {
        let right = right_row(ctx, &input.right_id).await?;
        let actor = may_write_right(ctx, &right).await?;
        let party = match &input.party_id {
            Some(p) => Some(party_id(ctx, p, "partyId").await?),
            None => None,
        };
        let d = NewDocument {
            kind: input.kind,
            number: text("number", &input.number, 64)?,
            issuer: text("issuer", &input.issuer, 100)?,
            issued_on: input.issued_on,
            party_id: party,
        };
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let id = db::rights::insert_document(&txn, right.id, &d).await?;
        record(
            ctx,
            &txn,
            actor,
            "add_document",
            "property_right",
            right.id,
            (
                None,
                json(&serde_json::json!({ "documentId": id, "kind": d.kind, "number": d.number })),
            ),
        )
        .await?;
        db::commit(txn).await?;
        Ok(RecordedPayload {
            kind: "SourceDocument".into(),
            record_id: Long(id),
        })
    }

    /// Records an appraisal of a right (登记价值评估): a BANK or ADMIN.
    async fn record_appraisal(
        &self,
        ctx: &Context<'_>,
        input: RecordAppraisalInput,
    ) -> Result<RecordedPayload> {
        let actor = caller(ctx).may_appraise().map_err(AppError::from)?;
        let right = right_row(ctx, &input.right_id).await?;
        rights::check_appraisal(input.value_fen.0, input.valued_on, input.valid_until)
            .map_err(|e| AppError::bad_input(e.to_string()))?;
        let a = NewAppraisal {
            method: input.method,
            appraiser: text("appraiser", &input.appraiser, 100)?,
            value_fen: input.value_fen.0,
            valued_on: input.valued_on,
            valid_until: input.valid_until,
        };
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let id = db::rights::insert_appraisal(&txn, right.id, &a).await?;
        record(ctx, &txn, actor, "appraise", "property_right", right.id, (None, json(&serde_json::json!({ "appraisalId": id, "valueFen": a.value_fen, "method": a.method })))).await?;
        db::commit(txn).await?;
        Ok(RecordedPayload {
            kind: "Appraisal".into(),
            record_id: Long(id),
        })
    }

    /// Announces an expropriation zone (公告征收范围), as ADMIN.
    async fn announce_expropriation_zone(
        &self,
        ctx: &Context<'_>,
        input: AnnounceExpropriationZoneInput,
    ) -> Result<RecordedPayload> {
        let actor = caller(ctx)
            .may_administer("announcing an expropriation zone")
            .map_err(AppError::from)?;
        let area = Area::from_geojson(&super::geo::input(input.boundary, input.crs)?)
            .map_err(AppError::from)?;
        let code = text("code", &input.code, 40)?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let id = db::rights::insert_zone(
            &txn,
            &code,
            &text("name", &input.name, 100)?,
            &area,
            input.announced_on,
            &text("authority", &input.authority, 100)?,
        )
        .await?;
        record(ctx, &txn, actor, "announce", "expropriation_zone", id, (None, json(&serde_json::json!({ "code": code, "areaSquareMeters": area.geodesic_area_m2() })))).await?;
        db::commit(txn).await?;
        Ok(RecordedPayload {
            kind: "ExpropriationZone".into(),
            record_id: Long(id),
        })
    }

    /// Records a party branch's recommendation of a household (登记党支部推荐).
    async fn record_recommendation(
        &self,
        ctx: &Context<'_>,
        input: RecordRecommendationInput,
    ) -> Result<RecordedPayload> {
        let conn = db_conn(ctx)?;
        let n = party_id(ctx, &input.party_id, "partyId").await?;
        let party = db::parties::by_ids(conn, &[n])
            .await?
            .remove(&n)
            .ok_or_else(|| AppError::bad_input("`partyId` is not a registered party"))?;
        let village_id = party
            .village_id
            .ok_or_else(|| AppError::bad_input("the party belongs to no village"))?;
        let village = db::places::villages_by_ids(conn, &[village_id])
            .await?
            .remove(&village_id)
            .ok_or_else(|| AppError::internal("a party's village is gone"))?;
        let actor = caller(ctx)
            .may_write_in(village.township_id)
            .map_err(AppError::from)?;
        let issuer = text("issuer", &input.issuer, 100)?;
        let txn = db::begin_write(conn).await?;
        let id = db::credit::insert_recommendation(
            &txn,
            n,
            village_id,
            input.grade.as_str(),
            &issuer,
            input.issued_on.unwrap_or_else(today),
        )
        .await?;
        record(
            ctx,
            &txn,
            actor,
            "recommend",
            "party",
            n,
            (
                None,
                json(&serde_json::json!({ "recommendationId": id, "grade": input.grade.as_str() })),
            ),
        )
        .await?;
        db::commit(txn).await?;
        Ok(RecordedPayload {
            kind: "Recommendation".into(),
            record_id: Long(id),
        })
    }

    /// Grants a pre-credit line on a registered house (见房即授信), as the product's bank: the
    /// right's report for the product must pass, and the line is at most what it allows.
    async fn grant_credit_line(
        &self,
        ctx: &Context<'_>,
        input: GrantCreditLineInput,
    ) -> Result<RecordedPayload> {
        let conn = db_conn(ctx)?;
        let product_n = ids::decode_as(&input.product_id, Kind::LoanProduct)?;
        let product = db::credit::product(conn, product_n)
            .await?
            .ok_or_else(|| AppError::bad_input("`productId` names no loan product"))?;
        let bank_code = super::credit::bank_code(ctx, product.bank_id).await?;
        let actor = caller(ctx)
            .may_lend_as(&bank_code)
            .map_err(AppError::from)?;
        let right = right_row(ctx, &input.right_id).await?;
        let holder = db::rights::holders_of(conn, right.id)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AppError::bad_input("the right records no holder"))?;
        let on = today();
        if input.expires_on <= on {
            return Err(AppError::bad_input("`expiresOn` must be after today").into());
        }
        let request = Request {
            amount_fen: product.min_amount_fen,
            term_months: product.min_term_months.max(1) as u32,
            rank: 1,
        };
        let txn = db::begin_write(conn).await?;
        let snapshot =
            db::eligibility::snapshot(&txn, right.id, product.id, holder.party_id, request, on)
                .await?
                .ok_or_else(|| AppError::bad_input("no district policy is in force"))?;
        let report = eligibility::evaluate(&snapshot);
        match (report.verdict, report.max_amount_fen) {
            (Verdict::Pass, Some(max)) if input.amount_fen.0 > 0 && input.amount_fen.0 <= max => {}
            (Verdict::Pass, Some(max)) => {
                return Err(AppError::bad_input(format!(
                    "the line must be more than 0 and at most {max} fen"
                ))
                .into());
            }
            (verdict, _) => {
                return Err(AppError::bad_input(format!(
                    "the right's report for this product is {verdict}, not PASS"
                ))
                .into());
            }
        }
        let id = db::credit::insert_credit_line(
            &txn,
            product.bank_id,
            holder.party_id,
            right.id,
            input.amount_fen.0,
            on,
            input.expires_on,
        )
        .await?;
        record(ctx, &txn, actor, "grant_credit_line", "property_right", right.id, (None, json(&serde_json::json!({ "creditLineId": id, "amountFen": input.amount_fen.0, "snapshotDigest": report.snapshot_digest })))).await?;
        db::commit(txn).await?;
        Ok(RecordedPayload {
            kind: "CreditLine".into(),
            record_id: Long(id),
        })
    }
}
