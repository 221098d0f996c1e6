//! Access tokens through the API, for the district office.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db;
use crate::db::entities::access_token;
use crate::domain::access::{Role, check_scope};
use crate::domain::text;
use crate::error::AppError;
use crate::graphql::common::context::{caller, db_conn, record};
use crate::graphql::common::nodes::Township;

/// An access token (访问令牌): who holds it and what it allows. Never its secret.
pub struct AccessToken(pub access_token::Model);

/// An access token (访问令牌): who holds it and what it allows. Never its secret.
#[Object]
impl AccessToken {
    /// Its number (编号), as `rural-registry token revoke` takes it.
    async fn number(&self) -> i64 {
        self.0.id
    }

    /// Who holds it (持有人), recorded with every change made with it.
    async fn label(&self) -> &str {
        &self.0.label
    }

    /// What it allows (角色).
    async fn role(&self) -> Result<Role> {
        crate::graphql::common::context::stored(Role::parse(&self.0.role))
    }

    /// For a CADRE token: its township's division code (乡镇).
    async fn township_code(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let Some(id) = self.0.township_id else {
            return Ok(None);
        };
        Ok(Some(Township::load(ctx, id).await?.0.code))
    }

    /// For a BANK token: the bank's code (银行).
    async fn bank_code(&self) -> Option<&str> {
        self.0.bank_code.as_deref()
    }

    /// When it was made (创建时间).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it was last used, to the minute (最近使用).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }

    /// When it was revoked (吊销时间); null while it works.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

/// Creates a token (创建令牌).
#[derive(InputObject)]
pub struct CreateTokenInput {
    /// What it allows (角色).
    pub role: Role,
    /// For a CADRE token: the division code of its township (乡镇代码).
    pub township_code: Option<String>,
    /// For a BANK token: the bank's code (银行代码).
    pub bank_code: Option<String>,
    /// Who holds it (持有人), e.g. 东川镇 王干事.
    pub label: String,
}

/// A new token and its secret, shown this once.
#[derive(SimpleObject)]
pub struct CreateTokenPayload {
    /// The token (令牌).
    pub token: AccessToken,
    /// The secret for `Authorization: Bearer …` (密钥): shown only now, stored only as a hash.
    pub secret: String,
}

/// Revokes a token (吊销令牌).
#[derive(InputObject)]
pub struct RevokeTokenInput {
    /// Its number (编号).
    pub number: i64,
}

/// The token revoked.
#[derive(SimpleObject)]
pub struct RevokeTokenPayload {
    /// The token, with its revocation time (令牌).
    pub token: AccessToken,
}

/// Token administration (令牌管理), for the district office.
#[derive(Default)]
pub struct AccessMutation;

#[Object]
impl AccessMutation {
    /// Creates an access token (创建令牌); the payload carries the secret, once.
    async fn create_token(
        &self,
        ctx: &Context<'_>,
        input: CreateTokenInput,
    ) -> Result<CreateTokenPayload> {
        let actor = caller(ctx)
            .may_administer("creating tokens")
            .map_err(AppError::from)?;
        check_scope(
            input.role,
            input.township_code.is_some(),
            input.bank_code.is_some(),
        )
        .map_err(|e| AppError::bad_input(e.to_string()))?;
        let label = text::required("label", &input.label, 100)
            .map_err(|e| AppError::bad_input(e.to_string()))?;
        let bank = text::optional("bank code", input.bank_code.as_deref(), 32)
            .map_err(|e| AppError::bad_input(e.to_string()))?;
        let township = match &input.township_code {
            Some(code) => Some(
                db::places::township_by_code(db_conn(ctx)?, code)
                    .await?
                    .ok_or_else(|| AppError::bad_input(format!("no township has the code {code}")))?
                    .id,
            ),
            None => None,
        };
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let (row, secret) = db::access::create(&txn, &label, input.role, township, bank.as_deref())
            .await
            .map_err(AppError::internal)?;
        record(
            ctx,
            &txn,
            actor,
            "createToken",
            "access_token",
            row.id,
            (None, Some(token_json(&row))),
        )
        .await?;
        db::commit(txn).await?;
        Ok(CreateTokenPayload {
            token: AccessToken(row),
            secret,
        })
    }

    /// Revokes an access token (吊销令牌): it stops working with the next request.
    async fn revoke_token(
        &self,
        ctx: &Context<'_>,
        input: RevokeTokenInput,
    ) -> Result<RevokeTokenPayload> {
        let actor = caller(ctx)
            .may_administer("revoking tokens")
            .map_err(AppError::from)?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        if !db::access::revoke(&txn, input.number).await? {
            return Err(AppError::not_found(format!(
                "no live token has the number {}",
                input.number
            ))
            .into());
        }
        let row = db::access::by_id(&txn, input.number)
            .await?
            .ok_or_else(|| AppError::internal("a revoked token vanished"))?;
        record(
            ctx,
            &txn,
            actor,
            "revokeToken",
            "access_token",
            row.id,
            (None, Some(token_json(&row))),
        )
        .await?;
        db::commit(txn).await?;
        Ok(RevokeTokenPayload {
            token: AccessToken(row),
        })
    }
}

/// What the audit trail keeps of a token: everything but the hash of its secret.
fn token_json(t: &access_token::Model) -> serde_json::Value {
    serde_json::json!({
        "id": t.id, "label": t.label, "role": t.role, "townshipId": t.township_id,
        "bankCode": t.bank_code, "revokedAt": t.revoked_at,
    })
}

/// Every token, oldest first, for the district office.
pub async fn tokens(ctx: &Context<'_>) -> Result<Vec<AccessToken>> {
    caller(ctx)
        .may_administer("the token list")
        .map_err(AppError::from)?;
    Ok(db::access::list(db_conn(ctx)?)
        .await?
        .into_iter()
        .map(AccessToken)
        .collect())
}

/// Access tokens (访问令牌), for the district office.
#[derive(Default)]
pub struct AccessQuery;

/// Who is asking (当前用户): the role, holder and scope of the request's token; every field null
/// without one. The map page's "signed in as" line reads it.
pub struct Viewer;

/// Who is asking (当前用户): the role, holder and scope of the request's token; every field null
/// without one.
#[Object]
impl Viewer {
    /// The token's role (角色); null for an anonymous caller.
    async fn role(&self, ctx: &Context<'_>) -> Option<Role> {
        signed(ctx).map(|a| a.role)
    }

    /// Who holds the token (持有人), as recorded with every change made with it.
    async fn label<'a>(&self, ctx: &Context<'a>) -> Option<&'a str> {
        signed(ctx).map(|a| a.label.as_str())
    }

    /// For a CADRE token: its township (乡镇).
    async fn township(&self, ctx: &Context<'_>) -> Result<Option<Township>> {
        match signed(ctx).and_then(|a| a.township_id) {
            Some(id) => Ok(Some(Township::load(ctx, id).await?)),
            None => Ok(None),
        }
    }

    /// For a BANK token: the bank's code (银行).
    async fn bank_code<'a>(&self, ctx: &Context<'a>) -> Option<&'a str> {
        signed(ctx).and_then(|a| a.bank_code.as_deref())
    }
}

fn signed<'a>(ctx: &Context<'a>) -> Option<&'a crate::domain::access::Actor> {
    caller(ctx).actor("viewer").ok()
}

#[Object]
impl AccessQuery {
    /// Who is asking (当前用户): the token's role, holder and scope, or nulls without a token.
    async fn viewer(&self) -> Viewer {
        Viewer
    }

    /// Every access token, oldest first, never their secrets (访问令牌): for the district office.
    async fn access_tokens(&self, ctx: &Context<'_>) -> Result<Vec<AccessToken>> {
        tokens(ctx).await
    }
}
