//! Parties (权利人).

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect,
};

use super::entities::party::{self, Column};
use super::{StoreResult, Versioned};
use crate::domain::parties::NewParty;

pub async fn by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, party::Model>> {
    let select = party::Entity::find().filter(Column::Id.is_in(ids.iter().copied()));
    let found: Vec<party::Model> =
        super::rows::all(conn, sea_orm::QueryTrait::as_query(&select)).await?;
    Ok(found.into_iter().map(|p| (p.id, p)).collect())
}

fn attributes(p: &NewParty, village_id: Option<i64>) -> party::ActiveModel {
    party::ActiveModel {
        kind: Set(p.kind.as_str().to_owned()),
        name: Set(p.name.clone()),
        household_no: Set(p.household_no.clone()),
        credit_code: Set(p.credit_code.clone()),
        id_number: Set(p.id_number.clone()),
        phone: Set(p.phone.clone()),
        village_id: Set(village_id),
        ..Default::default()
    }
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    p: &NewParty,
    village_id: Option<i64>,
) -> StoreResult<party::Model> {
    let now = Utc::now();
    let mut row = attributes(p, village_id);
    row.version = Set(1);
    row.created_at = Set(now);
    row.updated_at = Set(now);
    Ok(row.insert(conn).await?)
}

/// Replaces a party's attributes if it is still at `version`.
pub async fn update(
    conn: &impl ConnectionTrait,
    id: i64,
    version: i32,
    p: &NewParty,
    village_id: Option<i64>,
) -> StoreResult<Versioned<party::Model>> {
    let changes = party::Entity::update_many().set(attributes(p, village_id));
    super::update_versioned(conn, id, version, changes).await
}

/// The parties that one of `keys` names — a household number, a credit code or a resident ID
/// number, the keys a cadre knows: a query per key column, each on its unique index. Only keys
/// of 18 characters can be credit codes or ID numbers; they are asked for a few at a time,
/// since SQLite's statistics count the many NULLs of those columns as one repeated key and
/// would scan the table for a long list.
pub async fn by_keys(conn: &impl ConnectionTrait, keys: &[&str]) -> StoreResult<Vec<party::Model>> {
    let mut found: HashMap<i64, party::Model> = HashMap::new();
    let backend = conn.get_database_backend();
    for (column, chunks) in key_lists(keys, &long_keys(keys)) {
        for chunk in chunks {
            let rows = party::Entity::find()
                .filter(super::bulk::one_of(backend, column, chunk))
                .all(conn)
                .await?;
            found.extend(rows.into_iter().map(|p| (p.id, p)));
        }
    }
    Ok(found.into_values().collect())
}

/// The keys that can be credit codes or ID numbers: 18 characters.
fn long_keys<'a>(keys: &[&'a str]) -> Vec<&'a str> {
    keys.iter().copied().filter(|k| k.len() == 18).collect()
}

/// Each key column with the lists of keys to ask it for.
fn key_lists<'a>(
    keys: &'a [&'a str],
    long: &'a [&'a str],
) -> [(Column, std::slice::Chunks<'a, &'a str>); 3] {
    [
        (Column::HouseholdNo, keys.chunks(1_000)),
        (Column::CreditCode, long.chunks(32)),
        (Column::IdNumber, long.chunks(32)),
    ]
}

/// The keys a party is known by, household number first.
pub fn keys_of(p: &party::Model) -> impl Iterator<Item = &str> {
    [&p.household_no, &p.credit_code, &p.id_number]
        .into_iter()
        .filter_map(|k| k.as_deref())
}

/// Party ids by the keys in `keys` that name one: `by_keys`, reading only the keys.
pub async fn ids_by_keys(
    conn: &impl ConnectionTrait,
    keys: &[&str],
) -> StoreResult<HashMap<String, i64>> {
    type Keys = (i64, Option<String>, Option<String>, Option<String>);
    let mut ids = HashMap::new();
    let backend = conn.get_database_backend();
    for (column, chunks) in key_lists(keys, &long_keys(keys)) {
        for chunk in chunks {
            let rows: Vec<Keys> = party::Entity::find()
                .select_only()
                .columns([Column::Id, Column::HouseholdNo, Column::CreditCode])
                .column(Column::IdNumber)
                .filter(super::bulk::one_of(backend, column, chunk))
                .into_tuple()
                .all(conn)
                .await?;
            for (id, household, credit, person) in rows {
                for key in [household, credit, person].into_iter().flatten() {
                    ids.entry(key).or_insert(id);
                }
            }
        }
    }
    Ok(ids)
}
