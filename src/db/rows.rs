//! Rows read by position. SeaORM's derived readers look every column up by name (and, for a
//! join, format the prefixed name first), which made decoding a page of assets cost more than
//! the query itself. The listings that run on every map pan and township page read their
//! rows here instead, by position in the select list, which is the entity's column order.
//!
//! Each reader lists its model's fields in declaration order; a test holds that list to the
//! entity's columns, so a field added to a model without its reader fails the build's tests.

use sea_orm::sea_query::SelectStatement;
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use super::StoreResult;
use super::entities::{idle_asset, party, village};

/// A value read from consecutive columns of a row, starting at `at` and moving it past them.
pub trait ReadAt: Sized {
    /// How many columns the value takes.
    const COLUMNS: usize;

    fn read_at(row: &QueryResult, at: &mut usize) -> Result<Self, DbErr>;
}

macro_rules! positional {
    ($model:path { $($field:ident),+ $(,)? }) => {
        impl ReadAt for $model {
            const COLUMNS: usize = [$(stringify!($field)),+].len();

            fn read_at(row: &QueryResult, at: &mut usize) -> Result<Self, DbErr> {
                // Struct literal fields are evaluated in the order written: the select order.
                Ok(Self {
                    $($field: {
                        let value = row.try_get_by_index(*at)?;
                        *at += 1;
                        value
                    },)+
                })
            }
        }

        #[cfg(test)]
        impl Fields for $model {
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),+];
        }
    };
}

positional!(idle_asset::Model {
    id,
    code,
    kind,
    status,
    owner_id,
    township_id,
    village_id,
    lon,
    lat,
    cell,
    footprint,
    land_area_m2,
    floor_area_m2,
    structure,
    year_built,
    condition,
    idle_since,
    idle_cause,
    owner_willingness,
    address,
    version,
    created_at,
    updated_at,
});

positional!(village::Model {
    id,
    township_id,
    code,
    name,
    boundary,
    center_lon,
    center_lat,
    min_lon,
    min_lat,
    max_lon,
    max_lat,
    version,
    created_at,
    updated_at,
});

positional!(party::Model {
    id,
    kind,
    name,
    household_no,
    credit_code,
    id_number,
    phone,
    village_id,
    version,
    created_at,
    updated_at,
});

/// The side of a left join that may be missing: absent when its first column (the id, never
/// null in a stored row) is null.
impl<M: ReadAt> ReadAt for Option<M> {
    const COLUMNS: usize = M::COLUMNS;

    fn read_at(row: &QueryResult, at: &mut usize) -> Result<Self, DbErr> {
        let id: Option<i64> = row.try_get_by_index(*at)?;
        if id.is_none() {
            *at += M::COLUMNS;
            return Ok(None);
        }
        M::read_at(row, at).map(Some)
    }
}

impl<A: ReadAt, B: ReadAt, C: ReadAt> ReadAt for (A, B, C) {
    const COLUMNS: usize = A::COLUMNS + B::COLUMNS + C::COLUMNS;

    fn read_at(row: &QueryResult, at: &mut usize) -> Result<Self, DbErr> {
        Ok((
            A::read_at(row, at)?,
            B::read_at(row, at)?,
            C::read_at(row, at)?,
        ))
    }
}

/// Runs `select` and reads each row as a `T`, by position.
pub async fn all<T: ReadAt>(
    conn: &impl ConnectionTrait,
    select: &SelectStatement,
) -> StoreResult<Vec<T>> {
    let rows = conn
        .query_all_raw(conn.get_database_backend().build(select))
        .await?;
    let read = |row: &QueryResult| {
        let mut at = 0;
        T::read_at(row, &mut at)
    };
    Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
}

/// A model's fields in the order its reader reads them.
#[cfg(test)]
trait Fields {
    const FIELDS: &'static [&'static str];
}

#[cfg(test)]
mod tests {
    use sea_orm::{EntityTrait, IdenStatic, Iterable};

    use super::*;

    fn columns<E: EntityTrait>() -> Vec<&'static str> {
        E::Column::iter().map(|c| c.as_str()).collect()
    }

    #[test]
    fn readers_follow_the_entities_column_order() {
        assert_eq!(
            columns::<idle_asset::Entity>(),
            <idle_asset::Model as Fields>::FIELDS
        );
        assert_eq!(
            columns::<village::Entity>(),
            <village::Model as Fields>::FIELDS
        );
        assert_eq!(columns::<party::Entity>(), <party::Model as Fields>::FIELDS);
    }
}
