//! Global IDs: opaque strings that name a record and its type, so `node(id)` can find any
//! record and a client cannot mistake a village's id for a township's.

use async_graphql::ID;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::AppError;

/// The record types that have global IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Township,
    Village,
    Party,
    IdleAsset,
    Revitalization,
    DemoSite,
    PropertyRight,
    LoanProduct,
    LoanApplication,
    CollectiveOrganization,
    Member,
    ShareClass,
    ShareHolding,
    ShareChange,
    Contribution,
    Distribution,
    Payout,
    Target,
    ImportJob,
    CreditLine,
    Recommendation,
    Mortgage,
}

impl Kind {
    const ALL: [Kind; 22] = [
        Kind::Township,
        Kind::Village,
        Kind::Party,
        Kind::IdleAsset,
        Kind::Revitalization,
        Kind::DemoSite,
        Kind::PropertyRight,
        Kind::LoanProduct,
        Kind::LoanApplication,
        Kind::CollectiveOrganization,
        Kind::Member,
        Kind::ShareClass,
        Kind::ShareHolding,
        Kind::ShareChange,
        Kind::Contribution,
        Kind::Distribution,
        Kind::Payout,
        Kind::Target,
        Kind::ImportJob,
        Kind::CreditLine,
        Kind::Recommendation,
        Kind::Mortgage,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Township => "Township",
            Kind::Village => "Village",
            Kind::Party => "Party",
            Kind::IdleAsset => "IdleAsset",
            Kind::Revitalization => "Revitalization",
            Kind::DemoSite => "DemoSite",
            Kind::PropertyRight => "PropertyRight",
            Kind::LoanProduct => "LoanProduct",
            Kind::LoanApplication => "LoanApplication",
            Kind::CollectiveOrganization => "CollectiveOrganization",
            Kind::Member => "Member",
            Kind::ShareClass => "ShareClass",
            Kind::ShareHolding => "ShareHolding",
            Kind::ShareChange => "ShareChange",
            Kind::Contribution => "Contribution",
            Kind::Distribution => "Distribution",
            Kind::Payout => "Payout",
            Kind::Target => "Target",
            Kind::ImportJob => "ImportJob",
            Kind::CreditLine => "CreditLine",
            Kind::Recommendation => "Recommendation",
            Kind::Mortgage => "Mortgage",
        }
    }

    pub fn id(self, id: i64) -> ID {
        ID(URL_SAFE_NO_PAD.encode(format!("{}:{id}", self.name())))
    }
}

/// Reads any global ID.
pub fn decode(id: &ID) -> Result<(Kind, i64), AppError> {
    let bad = || {
        AppError::bad_input(format!(
            "{:?} is not a valid ID of this registry",
            id.as_str()
        ))
    };
    let bytes = URL_SAFE_NO_PAD.decode(id.as_str()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (name, number) = text.split_once(':').ok_or_else(bad)?;
    let kind = Kind::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(bad)?;
    let number: i64 = number.parse().map_err(|_| bad())?;
    if number <= 0 {
        return Err(bad());
    }
    Ok((kind, number))
}

/// Reads a global ID that must name a record of `kind`.
pub fn decode_as(id: &ID, kind: Kind) -> Result<i64, AppError> {
    match decode(id)? {
        (k, n) if k == kind => Ok(n),
        (k, _) => Err(AppError::bad_input(format!(
            "ID {:?} names a {}, not a {}",
            id.as_str(),
            k.name(),
            kind.name()
        ))),
    }
}

/// A global ID a filter may leave out, which must name a record of `kind` when given.
pub fn decode_opt(id: Option<&ID>, kind: Kind) -> Result<Option<i64>, AppError> {
    id.map(|id| decode_as(id, kind)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_keep_their_kind() {
        let id = Kind::Village.id(42);
        assert_eq!(decode(&id).ok(), Some((Kind::Village, 42)));
        assert!(decode_as(&id, Kind::Township).is_err());
    }

    #[test]
    fn malformed_ids_are_bad_input() {
        let encoded = |s: &str| ID(URL_SAFE_NO_PAD.encode(s));
        for id in [
            ID("!!".into()),
            ID("".into()),
            encoded("Village"),
            encoded("Castle:1"),
            encoded("Village:x"),
            encoded("Village:-3"),
        ] {
            assert!(decode(&id).is_err(), "{id:?}");
        }
    }
}
