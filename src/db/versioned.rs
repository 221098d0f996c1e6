//! Writes to the tables whose rows carry an edit `version`: every write bumps it and stamps
//! `updated_at`, so that a client holding the version it read can tell whether the row changed
//! since. An edit a client makes is guarded by that version (an optimistic lock,
//! [`update_versioned`]); a write the registry makes on its own (moving a record to the place
//! its location now falls in, an import's upsert) is not, but still bumps it
//! ([`update_any_version`]).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PrimaryKeyTrait, QueryFilter,
    QuerySelect, UpdateMany,
};

use super::StoreResult;
use super::entities;
use crate::domain::period::Period;

/// The outcome of an update guarded by the version the client read.
#[derive(Debug)]
pub enum Versioned<M> {
    /// Written; the record as it is now.
    Updated(M),
    /// Not written: the record is at another version.
    Stale { current: i32 },
    /// Not written: there is no such record.
    Missing,
}

/// A table whose rows carry an edit version and the time of their last write.
pub trait VersionedTable: EntityTrait {
    const ID: Self::Column;
    const VERSION: Self::Column;
    const UPDATED_AT: Self::Column;
    fn version(row: &Self::Model) -> i32;
}

macro_rules! versioned_tables {
    ($($table:ident),+ $(,)?) => {$(
        impl VersionedTable for entities::$table::Entity {
            const ID: Self::Column = entities::$table::Column::Id;
            const VERSION: Self::Column = entities::$table::Column::Version;
            const UPDATED_AT: Self::Column = entities::$table::Column::UpdatedAt;
            fn version(row: &Self::Model) -> i32 {
                row.version
            }
        }
    )+};
}

versioned_tables!(
    collective_member,
    collective_organization,
    demo_site,
    distribution,
    idle_asset,
    loan_application,
    mortgage,
    party,
    payout,
    property_right,
    revitalization,
    share_class,
    target,
    township,
    village,
);

/// The rows whose last write (`updated_at`) lies in `period`, ends included.
pub fn updated_within<E: VersionedTable>(period: Period) -> Condition {
    let mut c = Condition::all();
    if let Some(from) = period.from {
        c = c.add(E::UPDATED_AT.gte(from));
    }
    if let Some(to) = period.to {
        c = c.add(E::UPDATED_AT.lte(to));
    }
    c
}

/// When the first and the last row of the table last changed (its `updated_at` at both ends);
/// none for an empty table.
pub async fn updated_span<E: VersionedTable>(
    conn: &impl ConnectionTrait,
) -> StoreResult<Option<(DateTime<Utc>, DateTime<Utc>)>> {
    type Ends = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let span: Option<Ends> = E::find()
        .select_only()
        .column_as(E::UPDATED_AT.min(), "first")
        .column_as(E::UPDATED_AT.max(), "last")
        .into_tuple()
        .one(conn)
        .await?;
    Ok(match span {
        Some((Some(first), Some(last))) => Some((first, last)),
        _ => None,
    })
}

/// Applies `changes` to row `id` if it is still at `expected_version`, bumping the version;
/// when it is not (changed meanwhile, or gone) nothing is written and the outcome says which.
/// `changes` must not set the version or `updated_at`: this does.
pub async fn update_versioned<E>(
    conn: &impl ConnectionTrait,
    id: i64,
    expected_version: i32,
    changes: UpdateMany<E>,
) -> StoreResult<Versioned<E::Model>>
where
    E: VersionedTable,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
{
    let written =
        update_any_version(conn, id, changes.filter(E::VERSION.eq(expected_version))).await?;
    // Read back in the same transaction: the row as written, or what stopped the write.
    let row = E::find_by_id(id).one(conn).await?;
    Ok(match (written, row) {
        (1, Some(row)) => Versioned::Updated(row),
        (_, Some(row)) => Versioned::Stale {
            current: E::version(&row),
        },
        (_, None) => Versioned::Missing,
    })
}

/// Applies `changes` to row `id` whatever its version, bumping it so that an editor holding the
/// old one notices; returns how many rows were written (0 when there is no such row).
/// `changes` must not set the version or `updated_at`: this does.
pub async fn update_any_version<E: VersionedTable>(
    conn: &impl ConnectionTrait,
    id: i64,
    changes: UpdateMany<E>,
) -> StoreResult<u64> {
    let result = changes
        .col_expr(E::VERSION, Expr::col(E::VERSION).add(1))
        .col_expr(E::UPDATED_AT, Expr::val(Utc::now()))
        .filter(E::ID.eq(id))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::entities::party;
    use crate::db::memory_database as database;
    use crate::domain::parties::{NewParty, PartyKind};

    fn rename(name: &str) -> UpdateMany<party::Entity> {
        party::Entity::update_many().col_expr(party::Column::Name, Expr::val(name))
    }

    #[tokio::test]
    async fn only_a_write_at_the_version_read_is_written_and_every_write_bumps_it() {
        let db = database().await;
        let new = NewParty {
            kind: PartyKind::Household,
            name: "张三".to_owned(),
            household_no: Some("530702001001".to_owned()),
            credit_code: None,
            id_number: None,
            phone: None,
        };
        let row = crate::db::parties::insert(&db, &new, None)
            .await
            .expect("inserted");

        let Versioned::Updated(written) =
            update_versioned(&db, row.id, row.version, rename("李四"))
                .await
                .expect("no storage error")
        else {
            panic!("a write at the version read is written");
        };
        assert_eq!(
            (written.name.as_str(), written.version),
            ("李四", row.version + 1)
        );
        assert!(written.updated_at >= row.updated_at);

        let stale = update_versioned(&db, row.id, row.version, rename("王五"))
            .await
            .expect("no storage error");
        assert!(
            matches!(stale, Versioned::Stale { current } if current == row.version + 1),
            "{stale:?}"
        );
        let missing = update_versioned(&db, row.id + 1, 1, rename("王五"))
            .await
            .expect("no storage error");
        assert!(matches!(missing, Versioned::Missing), "{missing:?}");

        assert_eq!(
            update_any_version(&db, row.id, rename("赵六")).await.ok(),
            Some(1)
        );
        assert_eq!(
            update_any_version(&db, row.id + 1, rename("赵六"))
                .await
                .ok(),
            Some(0)
        );
        let now = party::Entity::find_by_id(row.id)
            .one(&db)
            .await
            .expect("read")
            .expect("still there");
        assert_eq!((now.name.as_str(), now.version), ("赵六", row.version + 2));
    }
}
