//! Many rows in one statement on PostgreSQL: `INSERT … SELECT * FROM unnest($1::text[], …)`,
//! one array parameter a column, each written in PostgreSQL's array text form.
//!
//! A multi-row `VALUES` list binds a parameter per cell (22,000 for a thousand assets), and
//! PostgreSQL plans and evaluates an expression for each, every batch: about a third of the
//! INSERT's time in an import (23 ms a batch, 15 ms as arrays). A column's array is parsed once
//! and unnested; the statement's text does not depend on the batch's size (only on which
//! columns every row shares), so it is prepared once and kept.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbBackend, DbErr, EntityName, EntityTrait, IdenStatic, Iterable,
    Statement, Value,
};

use super::StoreResult;

/// The statement that inserts `rows` into their table, in one go: an array literal a column.
/// Every row must set the same columns; the others take their defaults (the identity key, for
/// one). `None` for no rows.
pub fn insert_arrays<A: ActiveModelTrait>(
    backend: DbBackend,
    rows: Vec<A>,
) -> StoreResult<Option<Statement>> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let columns: Vec<_> = <A::Entity as EntityTrait>::Column::iter()
        .filter(|c| first.get(*c).is_set())
        .collect();
    let mut arrays: Vec<Array> = columns.iter().map(|_| Array::default()).collect();
    for row in rows {
        for (column, array) in columns.iter().zip(&mut arrays) {
            let value = row.get(*column).into_value().ok_or_else(|| {
                DbErr::Custom(format!(
                    "a bulk insert's rows must set the same columns; one leaves {} unset",
                    column.as_str()
                ))
            })?;
            array.push(value)?;
        }
    }
    let table = A::Entity::default().table_name().to_owned();
    let mut names = String::new();
    let mut selected = String::new();
    let mut unnested = String::new();
    let mut aliases = String::new();
    let mut values = Vec::with_capacity(arrays.len());
    for (i, (column, array)) in columns.iter().zip(arrays).enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(names, "{sep}\"{}\"", column.as_str());
        let n = values.len() + 1;
        let sql_type = array.sql_type;
        // A value every row shares (the version, the time of the batch) is bound once. The
        // first column always goes as an array, so that there is something to unnest.
        match array.finish(i > 0) {
            Column::Shared(value) => {
                let _ = write!(selected, "{sep}${n}::{sql_type}");
                values.push(value);
            }
            Column::Each(literal) => {
                let _ = write!(selected, "{sep}c{i}");
                let sep = if unnested.is_empty() { "" } else { ", " };
                let _ = write!(unnested, "{sep}${n}::{sql_type}[]");
                let _ = write!(aliases, "{sep}c{i}");
                values.push(Value::String(Some(literal)));
            }
        }
    }
    let sql = format!(
        "INSERT INTO \"{table}\" ({names}) SELECT {selected} FROM unnest({unnested}) AS u({aliases})"
    );
    Ok(Some(Statement::from_sql_and_values(backend, sql, values)))
}

/// `column IN (…)` for a batch of text keys. On PostgreSQL one array parameter, `= ANY($1)`,
/// rather than a parameter a key: the statement is prepared once and planned in a fraction of
/// the time a thousand-item list takes.
pub fn one_of<C: ColumnTrait>(backend: DbBackend, column: C, keys: &[&str]) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => {
            let mut array = Array::default();
            for key in keys {
                array.push_text(key);
            }
            let array = array.close();
            let table = <C::EntityName as Default>::default().table_name();
            Expr::cust_with_values(
                format!("\"{table}\".\"{}\" = ANY($1::text[])", column.as_str()),
                [array],
            )
        }
        _ => column.is_in(keys.iter().copied()),
    }
}

/// How a column's values travel.
enum Column {
    /// The value of every row, bound once.
    Shared(Value),
    /// An array literal.
    Each(String),
}

/// One column's values as a PostgreSQL array literal, `{"a",NULL,"b"}`, and their SQL type;
/// the first value too, while every row has had it.
#[derive(Default)]
struct Array {
    text: String,
    sql_type: &'static str,
    shared: Option<Value>,
    varies: bool,
    /// The last time pushed and its text: a batch's time, in every row, is formatted once.
    last_time: Option<(DateTime<Utc>, String)>,
}

impl Array {
    /// Opens the literal, or separates the next element.
    fn next_element(&mut self) {
        self.text.push(if self.text.is_empty() { '{' } else { ',' });
    }

    /// A text element, quoted.
    fn push_text(&mut self, s: &str) {
        self.next_element();
        quote_into(&mut self.text, s);
    }

    /// The literal, closed.
    fn close(mut self) -> String {
        if self.text.is_empty() {
            self.text.push('{');
        }
        self.text.push('}');
        self.text
    }

    fn push(&mut self, value: Value) -> Result<(), DbErr> {
        let sql_type = sql_type(&value)?;
        if self.text.is_empty() {
            self.sql_type = sql_type;
            self.shared = Some(value.clone());
        } else {
            self.varies = self.varies || self.shared.as_ref() != Some(&value);
        }
        self.next_element();
        let element = match value {
            Value::Bool(v) => v.map(|b| b.to_string()),
            Value::Int(v) => v.map(|n| n.to_string()),
            Value::BigInt(v) => v.map(|n| n.to_string()),
            // Rust writes the shortest text that reads back to the same double, as does
            // PostgreSQL's float8in.
            Value::Double(v) => v.map(|x| x.to_string()),
            Value::String(v) => v,
            Value::ChronoDate(v) => v.map(|d| d.to_string()),
            // Microseconds, as PostgreSQL keeps them (and as SQLx sends them, truncated).
            Value::ChronoDateTimeUtc(Some(t)) => Some(match &self.last_time {
                Some((last, text)) if *last == t => text.clone(),
                _ => {
                    let text = t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
                    self.last_time = Some((t, text.clone()));
                    text
                }
            }),
            Value::ChronoDateTimeUtc(None) => None,
            _ => unreachable!("sql_type refused it"),
        };
        match element {
            None => self.text.push_str("NULL"),
            Some(s) => quote_into(&mut self.text, &s),
        }
        Ok(())
    }

    /// The column as it is to be bound: once, when every row shares its value and `may_share`.
    fn finish(mut self, may_share: bool) -> Column {
        match self.shared.take() {
            Some(value) if may_share && !self.varies => Column::Shared(value),
            _ => Column::Each(self.close()),
        }
    }
}

/// The array element type a value is written as.
fn sql_type(value: &Value) -> Result<&'static str, DbErr> {
    Ok(match value {
        Value::Bool(_) => "bool",
        Value::Int(_) => "int4",
        Value::BigInt(_) => "int8",
        Value::Double(_) => "float8",
        Value::String(_) => "text",
        Value::ChronoDate(_) => "date",
        Value::ChronoDateTimeUtc(_) => "timestamptz",
        other => {
            return Err(DbErr::Custom(format!(
                "a bulk insert cannot carry a value of type {:?}",
                other.array_type()
            )));
        }
    })
}

/// An array element in double quotes, with `"` and `\` escaped: any text, `NULL` included,
/// reads back as itself.
fn quote_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;

    fn literal(values: Vec<Value>) -> (String, &'static str) {
        let mut array = Array::default();
        for v in values {
            array.push(v).expect("a supported type");
        }
        let sql_type = array.sql_type;
        match array.finish(false) {
            Column::Each(text) => (text, sql_type),
            Column::Shared(_) => unreachable!("not allowed to share"),
        }
    }

    #[test]
    fn text_is_quoted_and_escaped_and_null_is_bare() {
        let (text, ty) = literal(vec![
            Value::String(Some("黄家村 3号".into())),
            Value::String(None),
            Value::String(Some("NULL".into())),
            Value::String(Some(r#"a "b" \c {d},e"#.into())),
            Value::String(Some(String::new())),
        ]);
        assert_eq!(ty, "text");
        assert_eq!(text, r#"{"黄家村 3号",NULL,"NULL","a \"b\" \\c {d},e",""}"#);
    }

    #[test]
    fn numbers_dates_and_times_are_written_as_postgresql_reads_them() {
        let (doubles, ty) = literal(vec![
            Value::Double(Some(0.1)),
            Value::Double(Some(117.164953)),
            Value::Double(None),
        ]);
        assert_eq!(ty, "float8");
        assert_eq!(doubles, r#"{"0.1","117.164953",NULL}"#);
        let (dates, ty) = literal(vec![Value::ChronoDate(NaiveDate::from_ymd_opt(2019, 3, 1))]);
        assert_eq!((dates.as_str(), ty), (r#"{"2019-03-01"}"#, "date"));
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 8, 30, 5).unwrap()
            + chrono::Duration::nanoseconds(123_456_789);
        let (times, ty) = literal(vec![Value::ChronoDateTimeUtc(Some(at))]);
        assert_eq!(
            (times.as_str(), ty),
            (r#"{"2026-11-26T08:30:05.123456Z"}"#, "timestamptz")
        );
    }

    #[test]
    fn a_value_every_row_has_is_bound_once() {
        let mut same = Array::default();
        let mut differs = Array::default();
        for n in [1, 1, 1] {
            same.push(Value::Int(Some(n))).expect("int");
        }
        for n in [1, 1, 2] {
            differs.push(Value::Int(Some(n))).expect("int");
        }
        assert!(matches!(
            same.finish(true),
            Column::Shared(Value::Int(Some(1)))
        ));
        assert!(matches!(differs.finish(true), Column::Each(t) if t == r#"{"1","1","2"}"#));
    }

    #[test]
    fn other_types_are_refused_not_guessed() {
        let mut array = Array::default();
        assert!(array.push(Value::Float(Some(1.0))).is_err());
    }
}
