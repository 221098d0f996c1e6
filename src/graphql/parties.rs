//! Parties (权利人): households, collectives, cooperatives and enterprises; their personal
//! data under the access rules, and their registration and changes.

use async_graphql::connection::Connection;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use crate::db;
use crate::db::entities::party;
use crate::domain::access::{Actor, Caller, Role};
use crate::domain::parties::{PartyDraft, PartyKind};
use crate::error::AppError;
use crate::graphql::audit::{AuditEvent, audit_connection, history_of};
use crate::graphql::common::context::{
    Details, caller, db_conn, json, patch, record, stored, updated,
};
use crate::graphql::common::ids;
use crate::graphql::common::ids::Kind;
use crate::graphql::common::loaders::{DbLoader, OrganizationOfParty};
use crate::graphql::common::nodes::{CollectiveOrganization, Party, ShareStatement, Village};
use crate::graphql::common::paging::ListTotal;

impl Party {
    fn identity(&self, ctx: &Context<'_>) -> Result<()> {
        let household = self.0.kind == PartyKind::Household.as_str();
        caller(ctx)
            .may_see_party_identity(household)
            .map_err(|d| AppError::from(d).into())
    }

    /// The party's township is its village's.
    async fn personal(&self, ctx: &Context<'_>) -> Result<()> {
        let who = caller(ctx);
        who.may_read_details("personal data (身份证号, 电话)")
            .map_err(AppError::from)?;
        if let Caller::Signed(actor) = who
            && actor.role == Role::Bank
        {
            let bank = actor.bank_code.as_deref().unwrap_or_default();
            let own = Box::pin(db::loans::is_borrower_of(db_conn(ctx)?, self.0.id, bank)).await?;
            return who
                .may_see_borrower_data(own)
                .map_err(|d| AppError::from(d).into());
        }
        let township = match Box::pin(Village::load(ctx, self.0.village_id)).await? {
            Some(v) => Some(v.0.township_id),
            None => None,
        };
        who.may_see_personal_data(township)
            .map_err(|d| AppError::from(d).into())
    }
}

/// A party (权利人): a household, collective, cooperative or enterprise. Only its name and
/// kind are shown; personal data (ID number, phone) is never part of this type.
#[Object]
impl Party {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::Party.id(self.0.id)
    }

    /// Name (名称/户主姓名). A household's name needs a token; an organisation's is public.
    async fn name(&self, ctx: &Context<'_>) -> Result<&str> {
        self.identity(ctx)?;
        Ok(&self.0.name)
    }

    /// Kind of party (权利人类型).
    async fn kind(&self, ctx: &Context<'_>) -> Result<PartyKind> {
        self.identity(ctx)?;
        stored(PartyKind::parse(&self.0.kind))
    }

    /// Household number (户号).
    #[graphql(guard = "Details(\"a party's details\")")]
    async fn household_no(&self) -> Option<&str> {
        self.0.household_no.as_deref()
    }

    /// Unified social credit code of an organisation (统一社会信用代码).
    #[graphql(guard = "Details(\"a party's details\")")]
    async fn credit_code(&self) -> Option<&str> {
        self.0.credit_code.as_deref()
    }

    /// Resident ID number (身份证号): personal data, for the district office and cadres of the
    /// party's township only.
    async fn id_number(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        self.personal(ctx).await?;
        Ok(self.0.id_number.as_deref())
    }

    /// Version for optimistic locking (版本号): updates must send the version they read.
    #[graphql(guard = "Details(\"a party's details\")")]
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Every change to this party, oldest first (变更记录). Changes carry personal data, so
    /// the history is shown to those who may see it.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, AuditEvent, ListTotal>> {
        self.personal(ctx).await?;
        Box::pin(audit_connection(
            ctx,
            history_of("party", self.0.id),
            first,
            after,
            last,
            before,
        ))
        .await
    }

    /// Phone number (联系电话): personal data, like the ID number.
    async fn phone(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        self.personal(ctx).await?;
        Ok(self.0.phone.as_deref())
    }

    /// The household's shares statement (股权及分红明细): its memberships, holdings and payouts by
    /// year. Personal data: shown to those who may see the party's ID number.
    async fn share_statement(&self, ctx: &Context<'_>) -> Result<ShareStatement> {
        self.personal(ctx).await?;
        Ok(ShareStatement(self.0.clone()))
    }

    /// The collective economic organisation this party is (集体经济组织), when it is one.
    async fn collective_organization(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<CollectiveOrganization>> {
        Ok(ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(OrganizationOfParty(self.0.id))
            .await?
            .map(CollectiveOrganization))
    }
}

/// A party by global ID that must exist; `field` names the input field in the error.
pub(crate) async fn party_id(ctx: &Context<'_>, id: &ID, field: &str) -> Result<i64> {
    let n = ids::decode_as(id, Kind::Party)?;
    if db::parties::by_ids(db_conn(ctx)?, &[n])
        .await?
        .contains_key(&n)
    {
        Ok(n)
    } else {
        Err(AppError::bad_input(format!("`{field}` is not a registered party")).into())
    }
}

/// Registers a party (登记权利人).
#[derive(InputObject)]
pub struct RegisterPartyInput {
    /// Kind (类型).
    pub kind: PartyKind,
    /// Name (名称/户主姓名).
    pub name: String,
    /// Household number (户号): a household needs this or an ID number.
    pub household_no: Option<String>,
    /// Unified social credit code (统一社会信用代码): organisations need it.
    pub credit_code: Option<String>,
    /// Resident ID number (身份证号), checked with its check digit.
    pub id_number: Option<String>,
    /// Phone (电话).
    pub phone: Option<String>,
    /// The village the party belongs to (所在村); a CADRE registers parties of its township.
    pub village_id: Option<ID>,
}

/// Changes a party (修改权利人). Fields left out keep their value; null clears.
#[derive(InputObject)]
pub struct UpdatePartyInput {
    /// The party (权利人).
    pub id: ID,
    /// The version you read (版本号).
    pub version: i32,
    /// Name (名称).
    pub name: Option<String>,
    /// Household number (户号).
    pub household_no: MaybeUndefined<String>,
    /// Credit code (统一社会信用代码).
    pub credit_code: MaybeUndefined<String>,
    /// ID number (身份证号).
    pub id_number: MaybeUndefined<String>,
    /// Phone (电话).
    pub phone: MaybeUndefined<String>,
    /// Village (所在村).
    pub village_id: MaybeUndefined<ID>,
}

/// The party registered or changed.
#[derive(SimpleObject)]
pub struct PartyPayload {
    /// The party as stored (权利人).
    pub party: Party,
}

/// The township a party belongs to, through its village; who may write it depends on that.
async fn party_scope<'a>(ctx: &Context<'a>, village_id: Option<i64>) -> Result<&'a Actor> {
    let who = caller(ctx);
    let township = match village_id {
        Some(v) => Some(
            db::places::villages_by_ids(db_conn(ctx)?, &[v])
                .await?
                .remove(&v)
                .ok_or_else(|| AppError::bad_input("villageId names no village"))?
                .township_id,
        ),
        None => None,
    };
    Ok(match township {
        Some(t) => who.may_write_in(t),
        None => who.may_administer("a party outside every village"),
    }
    .map_err(AppError::from)?)
}

fn village_id(id: Option<&ID>) -> Result<Option<i64>, AppError> {
    id.map(|id| ids::decode_as(id, Kind::Village)).transpose()
}

/// Registering and changing parties (权利人).
#[derive(Default)]
pub struct PartiesMutation;

#[Object]
impl PartiesMutation {
    /// Registers a party (登记权利人): a household, collective, cooperative or enterprise.
    async fn register_party(
        &self,
        ctx: &Context<'_>,
        input: RegisterPartyInput,
    ) -> Result<PartyPayload> {
        caller(ctx)
            .actor("registering a party")
            .map_err(AppError::from)?;
        let party = PartyDraft {
            kind: Some(input.kind),
            name: input.name,
            household_no: input.household_no,
            credit_code: input.credit_code,
            id_number: input.id_number,
            phone: input.phone,
        }
        .validate()
        .map_err(AppError::from)?;
        let village = village_id(input.village_id.as_ref())?;
        let actor = party_scope(ctx, village).await?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let row = db::parties::insert(&txn, &party, village).await?;
        record(
            ctx,
            &txn,
            actor,
            "registerParty",
            "party",
            row.id,
            (None, json(&row)),
        )
        .await?;
        db::commit(txn).await?;
        Ok(PartyPayload { party: Party(row) })
    }

    /// Changes a party (修改权利人), if it is still at `version`.
    async fn update_party(
        &self,
        ctx: &Context<'_>,
        input: UpdatePartyInput,
    ) -> Result<PartyPayload> {
        caller(ctx)
            .actor("changing a party")
            .map_err(AppError::from)?;
        let n = ids::decode_as(&input.id, Kind::Party)?;
        let before: party::Model = db::parties::by_ids(db_conn(ctx)?, &[n])
            .await?
            .remove(&n)
            .ok_or_else(|| AppError::not_found("no party has this ID"))?;
        party_scope(ctx, before.village_id).await?;
        let mut draft = PartyDraft {
            kind: Some(stored(PartyKind::parse(&before.kind))?),
            name: input.name.unwrap_or_else(|| before.name.clone()),
            household_no: before.household_no.clone(),
            credit_code: before.credit_code.clone(),
            id_number: before.id_number.clone(),
            phone: before.phone.clone(),
        };
        patch(&mut draft.household_no, input.household_no);
        patch(&mut draft.credit_code, input.credit_code);
        patch(&mut draft.id_number, input.id_number);
        patch(&mut draft.phone, input.phone);
        let party = draft.validate().map_err(AppError::from)?;
        let mut village = before.village_id;
        match input.village_id {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => village = None,
            MaybeUndefined::Value(id) => village = village_id(Some(&id))?,
        }
        let actor = party_scope(ctx, village).await?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let after = updated(
            "party",
            db::parties::update(&txn, n, input.version, &party, village).await?,
            input.version,
        )?;
        record(
            ctx,
            &txn,
            actor,
            "updateParty",
            "party",
            n,
            (json(&before), json(&after)),
        )
        .await?;
        db::commit(txn).await?;
        Ok(PartyPayload {
            party: Party(after),
        })
    }
}
