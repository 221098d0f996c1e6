//! Rows read by position. SeaORM's derived readers look every column up by name (and, for a
//! join, format the prefixed name first), which made decoding a page of assets cost more than
//! the query itself. The listings that run on every map pan and township page read their
//! rows here instead, by position in the select list, which is the entity's column order.
//!
//! A listing may also read only some of a model's columns ([`Columns`]): the ones its
//! GraphQL selection shows. The others then hold their type's default, so whoever asks for a
//! subset answers for never reading the rest (`graphql::common::projection` and its tests).
//!
//! Each reader lists its model's fields in declaration order; a test holds that list to the
//! entity's columns, so a field added to a model without its reader fails the build's tests.

use std::fmt;
use std::marker::PhantomData;

use sea_orm::sea_query::{SelectStatement, Value};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, IdenStatic, Iterable, QueryResult, Statement};

use super::StoreResult;
use super::entities::{idle_asset, party, village};

/// Some of an entity's columns, as a set: bit `i` stands for its `i`-th column in declaration
/// order (the order of `Column::iter()` and of the model's fields).
pub struct Columns<C> {
    bits: u64,
    column: PhantomData<C>,
}

impl<C> Clone for Columns<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for Columns<C> {}

impl<C> PartialEq for Columns<C> {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits
    }
}

impl<C: Iterable + IdenStatic> fmt::Debug for Columns<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(|c| c.as_str()))
            .finish()
    }
}

impl<C: Iterable + IdenStatic> Columns<C> {
    /// Every column.
    pub const ALL: Self = Self::from_bits(u64::MAX);
    /// No column.
    pub const NONE: Self = Self::from_bits(0);

    const fn from_bits(bits: u64) -> Self {
        Self {
            bits,
            column: PhantomData,
        }
    }

    fn bit(column: C) -> u64 {
        let name = column.as_str();
        C::iter()
            .position(|c| c.as_str() == name)
            .map_or(0, |i| 1 << i)
    }

    pub fn of(columns: impl IntoIterator<Item = C>) -> Self {
        columns.into_iter().fold(Self::NONE, Self::with)
    }

    #[must_use]
    pub fn with(self, column: C) -> Self {
        Self::from_bits(self.bits | Self::bit(column))
    }

    #[must_use]
    pub fn union(self, other: Self) -> Self {
        Self::from_bits(self.bits | other.bits)
    }

    pub fn contains(self, column: C) -> bool {
        self.bits & Self::bit(column) != 0
    }

    pub fn is_all(self) -> bool {
        C::iter().all(|c| self.contains(c))
    }

    /// The columns in the set, in declaration order: the order a select list names them.
    pub fn iter(self) -> impl Iterator<Item = C> {
        C::iter()
            .enumerate()
            .filter(move |(i, _)| self.bits & (1 << i) != 0)
            .map(|(_, c)| c)
    }
}

/// A value read from consecutive columns of a row, starting at `at` and moving it past them.
pub trait ReadAt: Sized {
    /// Which of its columns a query selected.
    type Columns: Copy;
    /// All of them.
    const ALL: Self::Columns;

    /// How many columns of the row the value takes.
    fn width(columns: Self::Columns) -> usize;

    /// Reads the selected columns; the others hold their type's default.
    fn read_at(row: &QueryResult, at: &mut usize, columns: Self::Columns) -> Result<Self, DbErr>;
}

macro_rules! positional {
    ($entity:ident { $($field:ident: $column:ident),+ $(,)? }) => {
        impl ReadAt for $entity::Model {
            type Columns = Columns<$entity::Column>;
            const ALL: Self::Columns = Columns::ALL;

            fn width(columns: Self::Columns) -> usize {
                columns.iter().count()
            }

            fn read_at(
                row: &QueryResult,
                at: &mut usize,
                columns: Self::Columns,
            ) -> Result<Self, DbErr> {
                // Struct literal fields are evaluated in the order written: the select order.
                Ok(Self {
                    $($field: {
                        let bit = 1u64 << ($entity::Column::$column as u32);
                        if columns.bits & bit != 0 {
                            let value = row.try_get_by_index(*at)?;
                            *at += 1;
                            value
                        } else {
                            Default::default()
                        }
                    },)+
                })
            }
        }

        #[cfg(test)]
        impl Fields for $entity::Model {
            const FIELDS: &'static [(&'static str, u32)] =
                &[$((stringify!($field), $entity::Column::$column as u32)),+];
        }
    };
}

positional!(idle_asset {
    id: Id,
    code: Code,
    kind: Kind,
    status: Status,
    owner_id: OwnerId,
    township_id: TownshipId,
    village_id: VillageId,
    lon: Lon,
    lat: Lat,
    cell: Cell,
    footprint: Footprint,
    land_area_m2: LandAreaM2,
    floor_area_m2: FloorAreaM2,
    structure: Structure,
    year_built: YearBuilt,
    condition: Condition,
    idle_since: IdleSince,
    idle_cause: IdleCause,
    owner_willingness: OwnerWillingness,
    address: Address,
    version: Version,
    created_at: CreatedAt,
    updated_at: UpdatedAt,
});

positional!(village {
    id: Id,
    township_id: TownshipId,
    code: Code,
    name: Name,
    boundary: Boundary,
    center_lon: CenterLon,
    center_lat: CenterLat,
    min_lon: MinLon,
    min_lat: MinLat,
    max_lon: MaxLon,
    max_lat: MaxLat,
    version: Version,
    created_at: CreatedAt,
    updated_at: UpdatedAt,
});

positional!(party {
    id: Id,
    kind: Kind,
    name: Name,
    household_no: HouseholdNo,
    credit_code: CreditCode,
    id_number: IdNumber,
    phone: Phone,
    village_id: VillageId,
    version: Version,
    created_at: CreatedAt,
    updated_at: UpdatedAt,
});

/// The side of a left join that may be missing: absent when its first selected column, which
/// must be the id (never null in a stored row), is null.
impl<M: ReadAt> ReadAt for Option<M> {
    type Columns = M::Columns;
    const ALL: Self::Columns = M::ALL;

    fn width(columns: Self::Columns) -> usize {
        M::width(columns)
    }

    fn read_at(row: &QueryResult, at: &mut usize, columns: Self::Columns) -> Result<Self, DbErr> {
        let id: Option<i64> = row.try_get_by_index(*at)?;
        if id.is_none() {
            *at += M::width(columns);
            return Ok(None);
        }
        M::read_at(row, at, columns).map(Some)
    }
}

impl<A: ReadAt, B: ReadAt, C: ReadAt> ReadAt for (A, B, C) {
    type Columns = (A::Columns, B::Columns, C::Columns);
    const ALL: Self::Columns = (A::ALL, B::ALL, C::ALL);

    fn width((a, b, c): Self::Columns) -> usize {
        A::width(a) + B::width(b) + C::width(c)
    }

    fn read_at(row: &QueryResult, at: &mut usize, (a, b, c): Self::Columns) -> Result<Self, DbErr> {
        Ok((
            A::read_at(row, at, a)?,
            B::read_at(row, at, b)?,
            C::read_at(row, at, c)?,
        ))
    }
}

/// Runs `select`, which names every column, and reads each row as a `T`, by position.
pub async fn all<T: ReadAt>(
    conn: &impl ConnectionTrait,
    select: &SelectStatement,
) -> StoreResult<Vec<T>> {
    some(conn, select, T::ALL).await
}

/// Runs `select`, which names the `columns` in their declaration order, and reads each row as
/// a `T` whose other fields hold their type's default.
pub async fn some<T: ReadAt>(
    conn: &impl ConnectionTrait,
    select: &SelectStatement,
    columns: T::Columns,
) -> StoreResult<Vec<T>> {
    run(conn, conn.get_database_backend().build(select), columns).await
}

/// [`some`] for a page: `select`'s LIMIT, the last value it binds, is written into the SQL
/// instead on PostgreSQL. With the LIMIT a parameter, PostgreSQL cannot cost a generic plan
/// (it guesses a tenth of the rows) and so plans the page again at every run, which took as
/// long as running it; with the LIMIT in the text it keeps the plan after five runs. Pages
/// come in few sizes, so this adds few statements to each connection's cache.
pub async fn page<T: ReadAt>(
    conn: &impl ConnectionTrait,
    select: &SelectStatement,
    columns: T::Columns,
) -> StoreResult<Vec<T>> {
    let backend = conn.get_database_backend();
    let mut statement = backend.build(select);
    if backend == DbBackend::Postgres {
        write_last_limit(&mut statement);
    }
    run(conn, statement, columns).await
}

async fn run<T: ReadAt>(
    conn: &impl ConnectionTrait,
    statement: Statement,
    columns: T::Columns,
) -> StoreResult<Vec<T>> {
    let rows = conn.query_all_raw(statement).await?;
    let read = |row: &QueryResult| {
        let mut at = 0;
        T::read_at(row, &mut at, columns)
    };
    Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
}

/// Writes a PostgreSQL statement's ` LIMIT $n`, where `$n` is its last parameter, as
/// ` LIMIT <value>`. A statement that does not end its parameters with a LIMIT is left alone.
fn write_last_limit(statement: &mut Statement) {
    let Some(values) = &mut statement.values else {
        return;
    };
    let Some(&Value::BigUnsigned(Some(limit))) = values.0.last() else {
        return;
    };
    // `$n` is the highest placeholder, so no other one starts with the same digits.
    let placeholder = format!(" LIMIT ${}", values.0.len());
    let Some(at) = statement.sql.rfind(&placeholder) else {
        return;
    };
    statement
        .sql
        .replace_range(at..at + placeholder.len(), &format!(" LIMIT {limit}"));
    values.0.pop();
}

/// A model's fields in the order its reader reads them, each with the position of the column
/// it reads.
#[cfg(test)]
trait Fields {
    const FIELDS: &'static [(&'static str, u32)];
}

#[cfg(test)]
mod tests {
    use sea_orm::{EntityTrait, IdenStatic, Iterable};

    use super::*;

    #[test]
    fn a_page_limit_is_written_into_postgresql_sql_and_nothing_else_is() {
        use sea_orm::ColumnTrait;
        use sea_orm::sea_query::Query;
        let select = Query::select()
            .column(idle_asset::Column::Id)
            .from(idle_asset::Entity)
            .and_where(idle_asset::Column::TownshipId.eq(2))
            .limit(51)
            .to_owned();
        let mut statement = DbBackend::Postgres.build(&select);
        write_last_limit(&mut statement);
        assert_eq!(
            statement.sql,
            r#"SELECT "id" FROM "idle_asset" WHERE "idle_asset"."township_id" = $1 LIMIT 51"#
        );
        assert_eq!(
            statement.values.map(|v| v.0),
            Some(vec![Value::Int(Some(2))])
        );

        // Without a LIMIT, or with a value bound after it, the statement is left as built.
        for select in [
            select.clone().reset_limit().to_owned(),
            select.clone().offset(10).to_owned(),
        ] {
            let built = DbBackend::Postgres.build(&select);
            let mut statement = built.clone();
            write_last_limit(&mut statement);
            assert_eq!(statement.sql, built.sql);
            assert_eq!(statement.values, built.values);
        }
    }

    /// The entity's columns, each with its position.
    fn columns<E: EntityTrait>() -> Vec<(&'static str, u32)> {
        E::Column::iter()
            .zip(0..)
            .map(|(c, i)| (c.as_str(), i))
            .collect()
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

    #[test]
    fn a_set_of_columns_names_them_in_declaration_order() {
        use idle_asset::Column as A;
        let set = Columns::of([A::Status, A::Id, A::Code]).with(A::Id);
        assert_eq!(set.iter().collect::<Vec<_>>().len(), 3);
        assert!(set.iter().map(|c| c.as_str()).eq(["id", "code", "status"]));
        assert!(set.contains(A::Code) && !set.contains(A::Kind));
        assert!(!set.is_all() && Columns::<A>::ALL.is_all());
        assert_eq!(<idle_asset::Model as ReadAt>::width(set), 3);
        assert_eq!(
            <idle_asset::Model as ReadAt>::width(Columns::ALL),
            A::iter().count()
        );
        assert_eq!(set.union(Columns::of([A::Kind])), set.with(A::Kind));
    }
}
