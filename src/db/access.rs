//! Access tokens. The secret is shown once, at creation; the table keeps its SHA-256 only.
//! A secret carries 256 random bits, so a fast hash is enough: there is nothing to guess.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use sha2::{Digest, Sha256};

use super::StoreResult;
use super::entities::access_token::{self, Column, Entity};
use crate::domain::access::Role;

/// What every secret starts with, so a leaked one is recognisable (and greppable in logs).
const PREFIX: &str = "rr_";

/// How stale `last_used_at` may get before a request refreshes it: one write a minute per
/// token, not one per request.
const TOUCH_EVERY: Duration = Duration::seconds(60);

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn new_secret() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    Ok(format!("{PREFIX}{}", hex::encode(bytes)))
}

/// Creates a token; returns it with its secret, which is not stored and cannot be shown again.
pub async fn create(
    conn: &impl ConnectionTrait,
    label: &str,
    role: Role,
    township_id: Option<i64>,
    bank_code: Option<&str>,
) -> anyhow::Result<(access_token::Model, String)> {
    let secret = new_secret()?;
    let row = access_token::ActiveModel {
        label: Set(label.to_owned()),
        role: Set(role.as_str().to_owned()),
        township_id: Set(township_id),
        bank_code: Set(bank_code.map(str::to_owned)),
        secret_hash: Set(hash(&secret)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await
    .map_err(super::StoreError::from)?;
    Ok((row, secret))
}

/// The live (not revoked) token with this secret.
pub async fn find_live(
    conn: &impl ConnectionTrait,
    secret: &str,
) -> StoreResult<Option<access_token::Model>> {
    Ok(Entity::find()
        .filter(Column::SecretHash.eq(hash(secret)))
        .filter(Column::RevokedAt.is_null())
        .one(conn)
        .await?)
}

/// Records that a token was used, at most once a minute.
pub async fn touch(
    conn: &impl ConnectionTrait,
    token: &access_token::Model,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if token.last_used_at.is_some_and(|t| now - t < TOUCH_EVERY) {
        return Ok(());
    }
    Entity::update_many()
        .col_expr(Column::LastUsedAt, Expr::val(now))
        .filter(Column::Id.eq(token.id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Records, after a token's write committed on PostgreSQL, how far the write-ahead log then
/// reached: a replica that has replayed as far shows the token its own writes.
pub async fn mark_write(conn: &impl ConnectionTrait, token_id: i64) -> StoreResult<()> {
    let backend = conn.get_database_backend();
    if backend == sea_orm::DbBackend::Postgres {
        conn.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            "UPDATE access_token SET write_position = pg_current_wal_lsn()::text WHERE id = $1",
            [token_id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Whether the replica `conn` has replayed the primary's log up to `position` (a token's
/// last write); false for a server that is not replaying at all.
pub async fn replayed(conn: &impl ConnectionTrait, position: &str) -> StoreResult<bool> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            "SELECT COALESCE(pg_last_wal_replay_lsn() >= CAST($1 AS pg_lsn), false)",
            [position.into()],
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get_by_index(0)?,
        None => false,
    })
}

/// Revokes a token; returns whether a live token was revoked.
pub async fn revoke(conn: &impl ConnectionTrait, id: i64) -> StoreResult<bool> {
    let result = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::val(Utc::now()))
        .filter(Column::Id.eq(id))
        .filter(Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn list(conn: &impl ConnectionTrait) -> StoreResult<Vec<access_token::Model>> {
    Ok(Entity::find().order_by_asc(Column::Id).all(conn).await?)
}

pub async fn by_id(
    conn: &impl ConnectionTrait,
    id: i64,
) -> StoreResult<Option<access_token::Model>> {
    Ok(Entity::find_by_id(id).one(conn).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_hash_to_hex() {
        let a = new_secret().expect("random");
        let b = new_secret().expect("random");
        assert_ne!(a, b);
        assert_eq!(a.len(), PREFIX.len() + 64);
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), hash(&b));
    }
}
