//! Relay pagination: argument checks, opaque keyset cursors, the page-size-aware complexity and
//! the date ranges listing filters take.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{ObjectType, OutputType};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::period::{Days, Period};
use crate::error::AppError;

/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE: i32 = 20;
/// The largest page a client may ask for.
pub const MAX_PAGE: i32 = 100;

/// A checked request for one page.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub size: u64,
    pub backward: bool,
    /// The decoded cursor: the ordering value (empty for id order) and the id.
    pub cursor: Option<(String, i64)>,
}

impl PageRequest {
    /// Checks `first`/`after`/`last`/`before` for a listing whose cursors are tagged `order`.
    pub fn new(
        order: &str,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Self, AppError> {
        let (size, backward, cursor) = match (first, last) {
            (Some(_), Some(_)) => {
                return Err(AppError::bad_input("give `first` or `last`, not both"));
            }
            (_, Some(n)) => {
                if after.is_some() {
                    return Err(AppError::bad_input(
                        "`after` goes with `first`; use `before` with `last`",
                    ));
                }
                (check_size("last", n)?, true, before)
            }
            (n, None) => {
                if before.is_some() {
                    return Err(AppError::bad_input(
                        "`before` goes with `last`; use `after` with `first`",
                    ));
                }
                (
                    check_size("first", n.unwrap_or(DEFAULT_PAGE))?,
                    false,
                    after,
                )
            }
        };
        let cursor = cursor.map(|c| decode_cursor(order, &c)).transpose()?;
        Ok(Self {
            size,
            backward,
            cursor,
        })
    }

    /// The id of the cursor row, for listings in id order.
    pub fn after_id(&self) -> Option<i64> {
        self.cursor.as_ref().map(|(_, id)| *id)
    }

    /// How many rows to fetch: one more than the page, to know whether another follows.
    pub fn fetch(&self) -> u64 {
        self.size + 1
    }

    /// Builds the connection from the rows fetched (in walking order, `fetch()` at most).
    pub fn connection<R, N, E>(
        &self,
        mut rows: Vec<R>,
        cursor: impl Fn(&R) -> String,
        node: impl Fn(R) -> N,
        extra: E,
    ) -> Connection<String, N, E>
    where
        N: OutputType,
        E: ObjectType,
    {
        let more = rows.len() as u64 > self.size;
        rows.truncate(self.size as usize);
        if self.backward {
            rows.reverse();
        }
        let (has_previous, has_next) = if self.backward {
            (more, self.cursor.is_some())
        } else {
            (self.cursor.is_some(), more)
        };
        let mut connection = Connection::with_additional_fields(has_previous, has_next, extra);
        connection.edges = rows
            .into_iter()
            .map(|r| Edge::new(cursor(&r), node(r)))
            .collect();
        connection
    }
}

/// The cursor tag of listings newest first (by id, descending).
pub const NEWEST_FIRST: &str = "ID_DESC";

/// The days from `from` to `to` a filter names (`names`: its two fields), BAD_INPUT naming
/// both when they are the wrong way round.
pub fn days(
    names: (&str, &str),
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
) -> Result<Days, AppError> {
    Days::new(from, to)
        .map_err(|e| AppError::bad_input(format!("`{}` to `{}`: {e}", names.0, names.1)))
}

/// The instants from `from` to `to` a filter names, as [`days`].
pub fn period(
    names: (&str, &str),
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Period, AppError> {
    Period::between(from, to)
        .map_err(|e| AppError::bad_input(format!("`{}` to `{}`: {e}", names.0, names.1)))
}

fn check_size(arg: &str, n: i32) -> Result<u64, AppError> {
    if n > MAX_PAGE {
        Err(AppError::limit_exceeded(format!(
            "`{arg}` is {n}; at most {MAX_PAGE} items a page"
        )))
    } else if n < 1 {
        Err(AppError::bad_input(format!(
            "`{arg}` must be between 1 and {MAX_PAGE}, got {n}"
        )))
    } else {
        Ok(n as u64)
    }
}

/// An opaque cursor: the listing's order tag, the ordering value of the row and its id.
pub fn encode_cursor(order: &str, value: &str, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{order}|{value}|{id}"))
}

fn decode_cursor(order: &str, cursor: &str) -> Result<(String, i64), AppError> {
    let bad = || AppError::bad_input(format!("cursor {cursor:?} is not a cursor of this listing"));
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.splitn(3, '|');
    let (Some(tag), Some(value), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if tag != order {
        return Err(AppError::bad_input(format!(
            "cursor {cursor:?} belongs to a listing ordered by {tag}, not {order}"
        )));
    }
    Ok((value.to_owned(), id.parse().map_err(|_| bad())?))
}

/// Complexity of a connection field: its page size times the cost of one node, so that a
/// query's cost grows with what it can fetch.
pub fn cost(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let n = first.or(last).unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize;
    n.saturating_mul(child).saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn page_sizes_outside_one_to_a_hundred_are_refused_with_their_code() {
        let code = |first: i32| {
            PageRequest::new("ID", Some(first), None, None, None)
                .map(|_| ())
                .map_err(|e| e.code())
        };
        assert_eq!(code(1), Ok(()));
        assert_eq!(code(100), Ok(()));
        assert_eq!(code(101), Err(ErrorCode::LimitExceeded));
        assert_eq!(code(0), Err(ErrorCode::BadInput));
        assert_eq!(code(-1), Err(ErrorCode::BadInput));
    }

    #[test]
    fn cursors_round_trip_and_refuse_other_orders() {
        let c = encode_cursor("IDLE_SINCE", "2020-01-01", 7);
        let page =
            PageRequest::new("IDLE_SINCE", Some(5), Some(c.clone()), None, None).expect("valid");
        assert_eq!(page.cursor, Some(("2020-01-01".to_owned(), 7)));
        assert!(PageRequest::new("ID", Some(5), Some(c), None, None).is_err());
        assert!(PageRequest::new("ID", Some(5), Some("garbage".into()), None, None).is_err());
    }

    #[test]
    fn cost_grows_with_the_page() {
        assert!(cost(Some(100), None, 10) > 10 * cost(Some(5), None, 10));
        assert_eq!(cost(Some(5000), None, 1), cost(Some(100), None, 1));
    }
}

/// What a connection's `totalCount` counts. Counted only when the field is selected. (Idle
/// assets count through `assets::AssetTotal`, which may need the caller's region rules.)
pub enum ListTotal {
    /// Townships last changed in a period.
    Townships(Period),
    /// Villages, of a township when given, last changed in a period.
    Villages(Option<i64>, Period),
    /// Demonstration sites, of a township when given, last changed in a period.
    DemoSites(Option<i64>, Period),
    AuditEvents(Box<crate::db::audit::AuditFilter>),
    /// An organisation's memberships, those current on a day only when given.
    Members(i64, Option<chrono::NaiveDate>),
    /// An organisation's holdings open on a day.
    Holdings(i64, chrono::NaiveDate),
    /// A distribution's payouts.
    Payouts(i64),
}

#[async_graphql::Object]
impl ListTotal {
    /// Number of items in the whole list, across all pages (总数).
    async fn total_count(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<u64> {
        use crate::db;
        let conn = super::context::db_conn(ctx)?;
        Ok(match self {
            ListTotal::Townships(u) => db::places::count_townships(conn, *u).await?,
            ListTotal::Villages(t, u) => db::places::count_villages(conn, *t, *u).await?,
            ListTotal::DemoSites(t, u) => db::demo_sites::count(conn, *t, *u).await?,
            ListTotal::AuditEvents(f) => db::audit::count(conn, f).await?,
            ListTotal::Members(o, day) => db::shares::count_members(conn, *o, *day).await?,
            ListTotal::Holdings(o, day) => db::shares::count_holdings(conn, *o, *day).await?,
            ListTotal::Payouts(d) => db::shares::count_payouts(conn, *d).await?,
        })
    }
}
