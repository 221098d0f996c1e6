//! Property rights (农村产权): holders, source documents, appraisals and standing, the
//! expropriation zones that restrict them, and their registration. Rights need a token.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::NaiveDate;

use crate::db;
use crate::db::entities::{appraisal, property_right, source_document};
use crate::db::rights::{NewAppraisal, NewDocument, NewRight};
use crate::domain::access::Actor;
use crate::domain::datum::Crs;
use crate::domain::geometry::Area;
use crate::domain::rights::{self, AppraisalMethod, DocumentKind, RightKind, RightStatus};
use crate::error::AppError;
use crate::graphql::common::context::{Details, caller, db_conn, json, record, stored, today};
use crate::graphql::common::ids;
use crate::graphql::common::ids::Kind;
use crate::graphql::common::loaders::{
    AppraisalsOf, AssetKey, DocumentsOf, HoldersOf, HoldingKey, PartyKey,
};
use crate::graphql::common::nodes::{IdleAsset, Party, PropertyRight};
use crate::graphql::common::scalars::{GeoJson, Long};
use crate::graphql::parties::party_id;
use crate::graphql::shares::ShareHolding;

/// A property right (产权): a household's house with its homestead, a land management right, a
/// forest right… with its certificate, holders and source documents (LADM: LA_Right).
#[Object]
impl PropertyRight {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::PropertyRight.id(self.0.id)
    }

    /// Registry code of the right (权利编号).
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// Kind of right (权利类型).
    async fn kind(&self) -> Result<RightKind> {
        stored(RightKind::parse(&self.0.kind))
    }

    /// Standing (权利状态).
    async fn status(&self) -> Result<RightStatus> {
        stored(RightStatus::parse(&self.0.status))
    }

    /// Certificate number (权证号); null when not registered.
    async fn certificate_no(&self) -> Option<&str> {
        self.0.certificate_no.as_deref()
    }

    /// Kind of certificate (权证类型), e.g. 不动产权证书.
    async fn certificate_kind(&self) -> Option<&str> {
        self.0.certificate_kind.as_deref()
    }

    /// Issued on (登簿日期).
    async fn issued_on(&self) -> Option<NaiveDate> {
        self.0.issued_on
    }

    /// Expires on (到期日期); null when it does not expire.
    async fn expires_on(&self) -> Option<NaiveDate> {
        self.0.expires_on
    }

    /// Under dispute (存在权属争议).
    async fn disputed(&self) -> bool {
        self.0.disputed
    }

    /// Seized or frozen (被查封/冻结).
    async fn seized(&self) -> bool {
        self.0.seized
    }

    /// Version (版本号), raised by every change; `setRightStanding` takes it.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// The idle asset it is on (所在资产).
    async fn asset(&self, ctx: &Context<'_>) -> Result<Option<IdleAsset>> {
        let Some(id) = self.0.asset_id else {
            return Ok(None);
        };
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(AssetKey(id))
            .await?
            .map(IdleAsset::from))
    }

    /// The share holding it is on (所质押股权), for a COLLECTIVE_SHARE right.
    async fn holding(&self, ctx: &Context<'_>) -> Result<Option<ShareHolding>> {
        let Some(id) = self.0.holding_id else {
            return Ok(None);
        };
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(HoldingKey(id))
            .await?
            .map(ShareHolding))
    }

    /// Holders and their shares (权利人及份额); a household's members are co-owners.
    async fn holders(&self, ctx: &Context<'_>) -> Result<Vec<RightHolder>> {
        let loader = crate::graphql::common::loaders::of(ctx)?;
        let holders = loader
            .load_one(HoldersOf(self.0.id))
            .await?
            .unwrap_or_default();
        let mut parties = loader
            .load_many(holders.iter().map(|h| PartyKey(h.party_id)))
            .await?;
        Ok(holders
            .into_iter()
            .filter_map(|h| {
                parties.remove(&PartyKey(h.party_id)).map(|p| RightHolder {
                    party: Party(p),
                    share: f64::from(h.share_bp) / 10_000.0,
                })
            })
            .collect())
    }

    /// Source documents (来源文件): certificates, consents, resolutions.
    async fn documents(&self, ctx: &Context<'_>) -> Result<Vec<SourceDocument>> {
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(DocumentsOf(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(SourceDocument)
            .collect())
    }

    /// Appraisals (价值评估), oldest first.
    async fn appraisals(&self, ctx: &Context<'_>) -> Result<Vec<Appraisal>> {
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(AppraisalsOf(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Appraisal)
            .collect())
    }
}

/// A holder of a right and its share (权利人).
pub struct RightHolder {
    party: Party,
    share: f64,
}

/// A holder of a right and its share (权利人).
#[Object]
impl RightHolder {
    /// The holder (权利人).
    async fn party(&self) -> &Party {
        &self.party
    }

    /// Share of the right, 0 to 1 (份额).
    async fn share(&self) -> f64 {
        self.share
    }
}

/// A source document of a right (来源文件).
pub struct SourceDocument(source_document::Model);

/// A source document of a right (来源文件).
#[Object]
impl SourceDocument {
    /// Kind (类型).
    async fn kind(&self) -> Result<DocumentKind> {
        stored(DocumentKind::parse(&self.0.kind))
    }

    /// Number (文号).
    async fn number(&self) -> &str {
        &self.0.number
    }

    /// Issued by (出具单位).
    async fn issuer(&self) -> &str {
        &self.0.issuer
    }

    /// Issued on (出具日期).
    async fn issued_on(&self) -> NaiveDate {
        self.0.issued_on
    }
}

/// An appraisal of a right (价值评估).
pub struct Appraisal(appraisal::Model);

/// An appraisal of a right (价值评估).
#[Object]
impl Appraisal {
    /// Method (评估方式).
    async fn method(&self) -> Result<AppraisalMethod> {
        stored(AppraisalMethod::parse(&self.0.method))
    }

    /// Appraiser (评估机构).
    async fn appraiser(&self) -> &str {
        &self.0.appraiser
    }

    /// Value in fen (评估价值, 分).
    async fn value_fen(&self) -> Long {
        Long(self.0.value_fen)
    }

    /// Valued on (评估日期).
    async fn valued_on(&self) -> NaiveDate {
        self.0.valued_on
    }

    /// Valid until (有效期至); null means the policy's validity applies.
    async fn valid_until(&self) -> Option<NaiveDate> {
        self.0.valid_until
    }
}

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
    /// The idle asset it is on (所在资产); none for a COLLECTIVE_SHARE right.
    pub asset_id: Option<ID>,
    /// The share holding a COLLECTIVE_SHARE right is on (所质押股权): open, held by a member
    /// household, who is the right's only holder; one right per holding.
    pub holding_id: Option<ID>,
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
    /// Its global ID (全局ID), for `node`, when it has one.
    pub id: Option<ID>,
}

/// The township of the asset a right is on, for the cadre rule.
pub(crate) async fn right_township(
    ctx: &Context<'_>,
    right: &property_right::Model,
) -> Result<Option<i64>> {
    let conn = db_conn(ctx)?;
    if let Some(h) = right.holding_id {
        return holding_township(conn, h).await;
    }
    Ok(match right.asset_id {
        Some(a) => db::assets::by_ids(conn, &[a])
            .await?
            .remove(&a)
            .map(|a| a.township_id),
        None => None,
    })
}

/// The township of a share holding's organisation.
async fn holding_township(conn: &sea_orm::DatabaseConnection, holding: i64) -> Result<Option<i64>> {
    let Some(h) = db::shares::holdings_by_ids(conn, &[holding])
        .await?
        .remove(&holding)
    else {
        return Ok(None);
    };
    let Some(org) = db::shares::organizations_by_ids(conn, &[h.organization_id])
        .await?
        .remove(&h.organization_id)
    else {
        return Ok(None);
    };
    Ok(db::places::villages_by_ids(conn, &[org.village_id])
        .await?
        .remove(&org.village_id)
        .map(|v| v.township_id))
}

/// ADMIN, or a CADRE of the right's township (a right on no asset is the district's).
pub(crate) async fn may_write_right<'a>(
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

pub(crate) async fn right_row(ctx: &Context<'_>, id: &ID) -> Result<property_right::Model> {
    let n = ids::decode_as(id, Kind::PropertyRight)?;
    db::rights::right(db_conn(ctx)?, n)
        .await?
        .ok_or_else(|| AppError::bad_input("`rightId` names no property right").into())
}

pub(crate) fn text(field: &'static str, value: &str, max: usize) -> Result<String, AppError> {
    crate::domain::text::required(field, value, max).map_err(|e| AppError::bad_input(e.to_string()))
}

/// Property rights (农村产权).
#[derive(Default)]
pub struct RightsQuery;

#[Object]
impl RightsQuery {
    /// One property right by global ID or registry code (产权).
    #[graphql(guard = "Details(\"property rights\")")]
    async fn property_right(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        code: Option<String>,
    ) -> Result<Option<PropertyRight>> {
        let conn = db_conn(ctx)?;
        let row = match (id, code) {
            (Some(id), None) => {
                db::rights::right(conn, ids::decode_as(&id, Kind::PropertyRight)?).await?
            }
            (None, Some(code)) => db::rights::right_by_code(conn, &code).await?,
            _ => return Err(AppError::bad_input("give `id` or `code`, one of them").into()),
        };
        Ok(row.map(PropertyRight))
    }
}

/// Registering property rights and what stands behind them.
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
        let holding = match &input.holding_id {
            Some(id) => {
                let n = ids::decode_as(id, Kind::ShareHolding)?;
                Some(
                    db::shares::holdings_by_ids(conn, &[n])
                        .await?
                        .remove(&n)
                        .ok_or_else(|| AppError::bad_input("`holdingId` names no share holding"))?,
                )
            }
            None => None,
        };
        match (input.kind == RightKind::CollectiveShare, &holding, &asset) {
            (true, None, _) => {
                return Err(AppError::bad_input(
                    "a COLLECTIVE_SHARE right sits on a share holding: give `holdingId`",
                )
                .into());
            }
            (true, Some(_), Some(_)) => {
                return Err(AppError::bad_input(
                    "a COLLECTIVE_SHARE right sits on a holding, not on an asset: leave out `assetId`",
                )
                .into());
            }
            (false, Some(_), _) => {
                return Err(AppError::bad_input(
                    "only a COLLECTIVE_SHARE right sits on a share holding",
                )
                .into());
            }
            _ => {}
        }
        let who = caller(ctx);
        let township = match (&asset, &holding) {
            (Some(a), _) => Some(a.township_id),
            (None, Some(h)) => holding_township(conn, h.id).await?,
            (None, None) => None,
        };
        let actor = match township {
            Some(t) => who.may_write_in(t).map_err(AppError::from)?,
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
        if let Some(h) = &holding {
            let Some(holder) = h.holder_party_id else {
                return Err(AppError::bad_input(
                    "collective shares held by the organisation itself are not pledged",
                )
                .into());
            };
            if h.valid_to.is_some_and(|to| to <= today()) {
                return Err(AppError::bad_input(format!(
                    "holding {} was closed on {}",
                    Kind::ShareHolding.id(h.id).as_str(),
                    h.valid_to.unwrap_or_default()
                ))
                .into());
            }
            if holders != [(holder, 10_000)] {
                return Err(AppError::bad_input(
                    "a share right's one holder is the household holding the shares",
                )
                .into());
            }
            if let Some(r) = db::rights::rights_on_holdings(conn, &[h.id])
                .await?
                .remove(&h.id)
            {
                return Err(AppError::conflict(format!(
                    "the holding already backs right {}",
                    r.code
                ))
                .into());
            }
        }
        let new = NewRight {
            code: text("code", &input.code, 40)?,
            kind: input.kind,
            asset_id: asset.as_ref().map(|a| a.id),
            holding_id: holding.as_ref().map(|h| h.id),
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
        let after = crate::graphql::common::context::updated(
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
            id: None,
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
            id: None,
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
        let area = Area::from_geojson(&crate::graphql::common::geo::input(
            input.boundary,
            input.crs,
        )?)
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
            id: None,
        })
    }
}
