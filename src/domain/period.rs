//! A stretch of time a listing is narrowed to by when its records last changed: `updatedSince`
//! (GraphQL listings, `/download`) and OGC API – Features' `datetime` (Part 1, § 7.15.4).
//!
//! Both ends are included: OGC selects the features whose time *intersects* the interval, and
//! a record's time is an instant (when it last changed), so an instant on either bound matches.

use chrono::{DateTime, NaiveDate, Utc};

/// Why a time or an interval was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error(
        "{0:?} is not an RFC 3339 date-time: give the date, the time and the offset, e.g. \
         2026-12-01T00:00:00Z or 2026-12-01T08:00:00+08:00"
    )]
    NotADateTime(String),
    #[error("the interval starts at {start} after it ends at {end}")]
    StartAfterEnd { start: String, end: String },
    #[error(
        "an interval needs at least one end: `a/b`, `../b`, `a/..` (or `/b`, `a/`); leave the \
         parameter out to select everything"
    )]
    Unbounded,
}

/// From `from` to `to`, both included; an end that is `None` is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Period {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Period {
    /// All of time: narrows nothing.
    pub const ALL: Period = Period {
        from: None,
        to: None,
    };

    /// From `t` on (`updatedSince`).
    pub fn since(t: DateTime<Utc>) -> Period {
        Period {
            from: Some(t),
            to: None,
        }
    }

    /// From `t` on when given, else all of time.
    pub fn since_opt(t: Option<DateTime<Utc>>) -> Period {
        t.map_or(Period::ALL, Period::since)
    }

    /// Whether it narrows nothing.
    pub fn is_all(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// Whether `t` lies in it, ends included.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| f <= t) && self.to.is_none_or(|e| t <= e)
    }

    /// An OGC `datetime` value: an instant (`2026-12-01T00:00:00Z`, which matches records whose
    /// time is exactly that), a closed interval (`a/b`), or a half-bounded one whose open end is
    /// `..` or empty (`../b`, `/b`, `a/..`, `a/`). The grammar has no interval open at both ends.
    pub fn parse_ogc(value: &str) -> Result<Period, PeriodError> {
        let Some((start, end)) = value.split_once('/') else {
            let t = instant(value)?;
            return Ok(Period {
                from: Some(t),
                to: Some(t),
            });
        };
        let bound = |s: &str| match s {
            "" | ".." => Ok(None),
            s => instant(s).map(Some),
        };
        let (from, to) = (bound(start)?, bound(end)?);
        match (from, to) {
            (None, None) => Err(PeriodError::Unbounded),
            (Some(f), Some(e)) if f > e => Err(PeriodError::StartAfterEnd {
                start: start.to_owned(),
                end: end.to_owned(),
            }),
            _ => Ok(Period { from, to }),
        }
    }
}

impl Period {
    /// From `from` to `to`, either end open when absent; refused when it starts after it ends.
    pub fn between(
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Period, PeriodError> {
        match (from, to) {
            (Some(f), Some(e)) if f > e => Err(PeriodError::StartAfterEnd {
                start: f.to_rfc3339(),
                end: e.to_rfc3339(),
            }),
            _ => Ok(Period { from, to }),
        }
    }
}

/// A stretch of calendar days, both ends included; an end that is `None` is open. For dates
/// the registry keeps as dates (granted, registered, paid out on), so no time zone is guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Days {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl Days {
    /// From `from` to `to`; refused when it starts after it ends.
    pub fn new(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<Days, PeriodError> {
        match (from, to) {
            (Some(f), Some(e)) if f > e => Err(PeriodError::StartAfterEnd {
                start: f.to_string(),
                end: e.to_string(),
            }),
            _ => Ok(Days { from, to }),
        }
    }

    /// Whether it narrows nothing.
    pub fn is_all(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// Whether `day` lies in it, ends included.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from.is_none_or(|f| f <= day) && self.to.is_none_or(|e| day <= e)
    }
}

/// An RFC 3339 date-time (`2026-12-01T00:00:00Z`, `2026-12-01T08:00:00.5+08:00`), as UTC.
pub fn instant(value: &str) -> Result<DateTime<Utc>, PeriodError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| PeriodError::NotADateTime(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        instant(s).expect("a date-time")
    }

    #[test]
    fn ogc_datetime_reads_instants_and_closed_and_half_bounded_intervals() {
        let a = at("2026-12-01T00:00:00Z");
        let b = at("2026-12-02T12:30:00Z");
        for (value, from, to) in [
            ("2026-12-01T00:00:00Z", Some(a), Some(a)),
            ("2026-12-01T08:00:00+08:00", Some(a), Some(a)),
            (
                "2026-12-01T00:00:00Z/2026-12-02T12:30:00Z",
                Some(a),
                Some(b),
            ),
            (
                "2026-12-01T00:00:00Z/2026-12-01T00:00:00Z",
                Some(a),
                Some(a),
            ),
            ("../2026-12-02T12:30:00Z", None, Some(b)),
            ("/2026-12-02T12:30:00Z", None, Some(b)),
            ("2026-12-01T00:00:00Z/..", Some(a), None),
            ("2026-12-01T00:00:00Z/", Some(a), None),
        ] {
            assert_eq!(Period::parse_ogc(value), Ok(Period { from, to }), "{value}");
        }
    }

    #[test]
    fn malformed_datetimes_are_refused_with_the_reason() {
        for (value, reason) in [
            ("", "empty"),
            ("yesterday", "not a date-time"),
            ("2026-12-01", "a date without a time"),
            ("2026-12-01T00:00:00", "no offset"),
            ("2026-13-01T00:00:00Z", "no such month"),
            ("../..", "open at both ends"),
            ("/", "open at both ends"),
            (
                "2026-12-02T00:00:00Z/2026-12-01T00:00:00Z",
                "start after end",
            ),
            (
                "2026-12-01T00:00:00Z/2026-12-02T00:00:00Z/..",
                "three parts",
            ),
            ("2026-12-01T00:00:00Z/...", "not `..`"),
        ] {
            assert!(Period::parse_ogc(value).is_err(), "{value:?}: {reason}");
        }
        assert_eq!(Period::parse_ogc("../.."), Err(PeriodError::Unbounded));
    }

    #[test]
    fn day_ranges_include_both_ends_and_refuse_a_start_after_the_end() {
        let d = |s: &str| s.parse::<NaiveDate>().expect("a date");
        let days = Days::new(Some(d("2026-03-01")), Some(d("2026-03-31"))).expect("a range");
        assert!(days.contains(d("2026-03-01")) && days.contains(d("2026-03-31")));
        assert!(!days.contains(d("2026-02-28")) && !days.contains(d("2026-04-01")));
        assert!(Days::new(Some(d("2026-03-01")), Some(d("2026-03-01"))).is_ok());
        assert!(matches!(
            Days::new(Some(d("2026-03-02")), Some(d("2026-03-01"))),
            Err(PeriodError::StartAfterEnd { .. })
        ));
        assert!(Days::new(None, None).expect("open").is_all());
        let (a, b) = (at("2026-12-01T00:00:00Z"), at("2026-12-02T00:00:00Z"));
        assert!(Period::between(Some(a), Some(b)).is_ok());
        assert!(Period::between(Some(b), Some(a)).is_err());
        assert_eq!(Period::between(None, None), Ok(Period::ALL));
    }

    #[test]
    fn both_ends_are_included() {
        let a = at("2026-12-01T00:00:00Z");
        let b = at("2026-12-02T00:00:00Z");
        let p = Period {
            from: Some(a),
            to: Some(b),
        };
        assert!(p.contains(a) && p.contains(b));
        assert!(!p.contains(a - chrono::Duration::microseconds(1)));
        assert!(!p.contains(b + chrono::Duration::microseconds(1)));
        assert!(Period::since(a).contains(b) && !Period::since(b).contains(a));
        assert!(Period::ALL.contains(a) && Period::ALL.is_all());
        assert!(!Period::since(a).is_all());
    }
}
