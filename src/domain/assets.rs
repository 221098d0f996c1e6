//! Idle assets ("两闲"): idle farmhouses (闲置农房) and idle homesteads (闲置宅基地), their
//! attributes and the lifecycle from identification to revitalization.

use chrono::{Datelike, NaiveDate};

use super::code_enum;
use super::geometry::{Area, GeometryError, Location};
use super::text::{self, TextError};

code_enum! {
    /// Kind of idle asset (两闲).
    pub enum AssetKind {
        /// Idle farmhouse (闲置农房): a house nobody has lived in for 11 months or more of a year.
        IdleFarmhouse = "IDLE_FARMHOUSE",
        /// Idle homestead (闲置宅基地): a vacant, derelict or collapsed homestead plot.
        IdleHomestead = "IDLE_HOMESTEAD",
    }
}

code_enum! {
    /// Where an idle asset stands in its lifecycle (状态).
    pub enum AssetStatus {
        /// Identified in a survey (摸底登记), not yet checked.
        Identified = "IDENTIFIED",
        /// Verified on site by the township (核实).
        Verified = "VERIFIED",
        /// Listed for investors (挂牌招引).
        Listed = "LISTED",
        /// Under negotiation with a prospective user (洽谈中).
        Negotiating = "NEGOTIATING",
        /// Put back to use (已盘活).
        Revitalized = "REVITALIZED",
        /// Returned to the village collective for compensation (有偿退出).
        Relinquished = "RELINQUISHED",
        /// Taken off the register, e.g. the owner moved back in (撤回).
        Withdrawn = "WITHDRAWN",
    }
}

code_enum! {
    /// Building structure (房屋结构).
    pub enum Structure {
        /// Brick and concrete (砖混).
        BrickConcrete = "BRICK_CONCRETE",
        /// Brick and timber (砖木).
        BrickWood = "BRICK_WOOD",
        /// Reinforced-concrete frame (框架).
        Frame = "FRAME",
        /// Rammed earth and timber (土木).
        EarthWood = "EARTH_WOOD",
        /// Simple or temporary structure (简易).
        Simple = "SIMPLE",
    }
}

code_enum! {
    /// Physical condition (房屋状况).
    pub enum Condition {
        /// Good, usable as it is (良好).
        Good = "GOOD",
        /// Fair, needs minor repair (一般).
        Fair = "FAIR",
        /// Poor, needs major repair (较差).
        Poor = "POOR",
        /// Dilapidated or collapsed (危房/倒塌).
        Dilapidated = "DILAPIDATED",
    }
}

code_enum! {
    /// Why the asset stands idle (闲置原因).
    pub enum IdleCause {
        /// The household moved to a town or city (进城落户/外出务工).
        MigratedToCity = "MIGRATED_TO_CITY",
        /// The household has more than one homestead (一户多宅).
        MultipleHomesteads = "MULTIPLE_HOMESTEADS",
        /// Inherited by heirs who live elsewhere (继承).
        Inherited = "INHERITED",
        /// Too run-down to live in (破旧失修).
        Dilapidated = "DILAPIDATED",
        /// Another cause (其他).
        Other = "OTHER",
    }
}

code_enum! {
    /// What the owner is willing to do with the asset (盘活意愿).
    pub enum OwnerWillingness {
        /// Willing to lease it out (愿意出租).
        Lease = "LEASE",
        /// Willing to contribute it as equity (愿意入股).
        Equity = "EQUITY",
        /// Willing to operate it with a partner (愿意合作).
        Cooperation = "COOPERATION",
        /// Willing to relinquish it for compensation (愿意有偿退出).
        Relinquish = "RELINQUISH",
        /// Not decided yet (未定).
        Undecided = "UNDECIDED",
        /// Not willing (不愿意).
        Unwilling = "NONE",
    }
}

impl AssetStatus {
    /// The statuses an asset may move to from this one.
    ///
    /// Forward along IDENTIFIED → VERIFIED → LISTED → NEGOTIATING → REVITALIZED; talks that
    /// fail go back to LISTED, as does a revitalized asset whose contract ended. Relinquishment
    /// is possible once verified and is final; withdrawal is possible until the asset is in
    /// use, and a withdrawn asset can be identified again.
    pub fn next(self) -> &'static [AssetStatus] {
        use AssetStatus::*;
        match self {
            Identified => &[Verified, Withdrawn],
            Verified => &[Listed, Relinquished, Withdrawn],
            Listed => &[Negotiating, Verified, Relinquished, Withdrawn],
            Negotiating => &[Revitalized, Listed, Relinquished, Withdrawn],
            Revitalized => &[Listed],
            Relinquished => &[],
            Withdrawn => &[Identified],
        }
    }

    pub fn can_become(self, to: AssetStatus) -> bool {
        self.next().contains(&to)
    }

    /// Checks a status change against the lifecycle.
    pub fn transition(self, to: AssetStatus) -> Result<AssetStatus, AssetError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(AssetError::TransitionNotAllowed { from: self, to })
        }
    }
}

/// Why an idle asset was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AssetError {
    #[error("an asset cannot go from {from} to {to}")]
    TransitionNotAllowed { from: AssetStatus, to: AssetStatus },
    #[error("{field} must be greater than 0 and at most {max} m², got {value}")]
    AreaOutOfRange {
        field: &'static str,
        value: f64,
        max: f64,
    },
    #[error("year built {year} must be between 1800 and {this_year}")]
    YearBuiltOutOfRange { year: i32, this_year: i32 },
    #[error("idle since {date} is in the future")]
    IdleSinceInFuture { date: NaiveDate },
    #[error("the location is not inside the footprint")]
    LocationOutsideFootprint,
    #[error("the footprint overlaps that of asset {code} by {shared_m2:.1} m²")]
    FootprintOverlap { code: String, shared_m2: f64 },
    #[error(transparent)]
    Text(#[from] TextError),
    #[error(transparent)]
    Geometry(#[from] GeometryError),
}

/// How much two footprints may share before they count as overlapping, in m²: room for the
/// slivers that digitising a shared wall leaves, not for a second claim on the same land.
pub const FOOTPRINT_OVERLAP_TOLERANCE_M2: f64 = 1.0;

impl AssetStatus {
    /// Whether an asset in this status still holds its land: withdrawn and relinquished assets
    /// no longer do, so their footprints do not block new ones.
    pub fn holds_land(self) -> bool {
        !matches!(self, AssetStatus::Withdrawn | AssetStatus::Relinquished)
    }
}

/// The topology rule: a footprint may not overlap the footprint of another active asset by more
/// than the tolerance. `others` are (code, footprint) of active assets nearby.
pub fn check_footprint_overlap<'a>(
    footprint: &Area,
    others: impl IntoIterator<Item = (&'a str, &'a Area)>,
) -> Result<(), AssetError> {
    for (code, other) in others {
        let shared = footprint.overlap_m2(other);
        if shared > FOOTPRINT_OVERLAP_TOLERANCE_M2 {
            return Err(AssetError::FootprintOverlap {
                code: code.to_owned(),
                shared_m2: shared,
            });
        }
    }
    Ok(())
}

/// The largest area taken as plausible for one house or homestead, to catch unit mistakes
/// (square metres typed as mu, or a footprint drawn around a whole village).
const MAX_AREA_M2: f64 = 20_000.0;

/// An idle asset's attributes as submitted, before any check.
#[derive(Debug, Clone, Default)]
pub struct IdleAssetDraft {
    pub code: String,
    pub kind: Option<AssetKind>,
    pub lon: f64,
    pub lat: f64,
    pub footprint: Option<geojson::Geometry>,
    pub land_area_m2: Option<f64>,
    pub floor_area_m2: Option<f64>,
    pub structure: Option<Structure>,
    pub year_built: Option<i32>,
    pub condition: Option<Condition>,
    pub idle_since: Option<NaiveDate>,
    pub idle_cause: Option<IdleCause>,
    pub owner_willingness: Option<OwnerWillingness>,
    pub address: Option<String>,
}

/// An idle asset's attributes, checked. The township and village are not here: they are
/// derived from the location by the caller, never submitted.
#[derive(Debug, Clone, PartialEq)]
pub struct IdleAssetAttributes {
    pub code: String,
    pub kind: AssetKind,
    pub location: Location,
    pub footprint: Option<Area>,
    /// From the footprint (geodesic) when there is one, else as submitted.
    pub land_area_m2: Option<f64>,
    pub floor_area_m2: Option<f64>,
    pub structure: Option<Structure>,
    pub year_built: Option<i32>,
    pub condition: Option<Condition>,
    pub idle_since: Option<NaiveDate>,
    pub idle_cause: Option<IdleCause>,
    pub owner_willingness: Option<OwnerWillingness>,
    pub address: Option<String>,
}

impl IdleAssetDraft {
    /// Checks every attribute; `today` bounds the dates (passed in to keep this pure).
    pub fn validate(self, today: NaiveDate) -> Result<IdleAssetAttributes, AssetError> {
        let location = Location::parse(self.lon, self.lat)?;
        let footprint = self
            .footprint
            .as_ref()
            .map(Area::polygon_from_geojson)
            .transpose()?;
        if let Some(footprint) = &footprint
            && !footprint.contains(location)
        {
            return Err(AssetError::LocationOutsideFootprint);
        }
        let land_area_m2 = match &footprint {
            Some(f) => Some(area("land area", f.geodesic_area_m2())?),
            None => self
                .land_area_m2
                .map(|v| area("land area", v))
                .transpose()?,
        };
        let floor_area_m2 = self
            .floor_area_m2
            .map(|v| area("floor area", v))
            .transpose()?;
        if let Some(year) = self.year_built {
            let this_year = today.year();
            if !(1800..=this_year).contains(&year) {
                return Err(AssetError::YearBuiltOutOfRange { year, this_year });
            }
        }
        if let Some(date) = self.idle_since
            && date > today
        {
            return Err(AssetError::IdleSinceInFuture { date });
        }
        Ok(IdleAssetAttributes {
            code: text::required("code", &self.code, 40)?,
            kind: self.kind.unwrap_or(AssetKind::IdleFarmhouse),
            location,
            footprint,
            land_area_m2,
            floor_area_m2,
            structure: self.structure,
            year_built: self.year_built,
            condition: self.condition,
            idle_since: self.idle_since,
            idle_cause: self.idle_cause,
            owner_willingness: self.owner_willingness,
            address: text::optional("address", self.address.as_deref(), 200)?,
        })
    }
}

fn area(field: &'static str, value: f64) -> Result<f64, AssetError> {
    if value.is_finite() && value > 0.0 && value <= MAX_AREA_M2 {
        Ok(value)
    } else {
        Err(AssetError::AreaOutOfRange {
            field,
            value,
            max: MAX_AREA_M2,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).expect("valid date")
    }

    fn draft() -> IdleAssetDraft {
        IdleAssetDraft {
            code: "369901101201-0001".into(),
            kind: Some(AssetKind::IdleFarmhouse),
            lon: 117.0005,
            lat: 28.2005,
            ..Default::default()
        }
    }

    #[test]
    fn the_lifecycle_moves_forward_and_refuses_shortcuts() {
        use AssetStatus::*;
        let allowed = [
            (Identified, Verified),
            (Verified, Listed),
            (Listed, Negotiating),
            (Negotiating, Revitalized),
            (Negotiating, Listed),
            (Verified, Relinquished),
            (Listed, Withdrawn),
            (Withdrawn, Identified),
            (Revitalized, Listed),
        ];
        for (from, to) in allowed {
            assert_eq!(from.transition(to), Ok(to), "{from} → {to}");
        }
        let refused = [
            (Identified, Revitalized),
            (Identified, Listed),
            (Relinquished, Listed),
            (Revitalized, Withdrawn),
            (Verified, Verified),
        ];
        for (from, to) in refused {
            assert!(
                from.transition(to).is_err(),
                "{from} → {to} must be refused"
            );
        }
    }

    #[test]
    fn every_status_is_reachable_from_identified() {
        let mut seen = vec![AssetStatus::Identified];
        let mut i = 0;
        while i < seen.len() {
            for next in seen[i].next() {
                if !seen.contains(next) {
                    seen.push(*next);
                }
            }
            i += 1;
        }
        assert_eq!(seen.len(), AssetStatus::ALL.len());
    }

    #[test]
    fn codes_round_trip() {
        for status in AssetStatus::ALL {
            assert_eq!(AssetStatus::parse(status.as_str()), Ok(*status));
        }
        assert!(AssetKind::parse("IDLE_CASTLE").is_err());
    }

    #[test]
    fn land_area_comes_from_the_footprint() {
        let footprint = geojson::Geometry::new(geojson::GeometryValue::new_polygon([[
            [117.0, 28.2],
            [117.001, 28.2],
            [117.001, 28.201],
            [117.0, 28.201],
            [117.0, 28.2],
        ]]));
        let attrs = IdleAssetDraft {
            footprint: Some(footprint),
            land_area_m2: Some(1.0),
            ..draft()
        }
        .validate(today())
        .expect("valid");
        let land = attrs.land_area_m2.expect("derived");
        assert!((land - 10_890.0).abs() < 60.0, "got {land}");
    }

    #[test]
    fn footprints_may_touch_but_not_overlap() {
        let square = |x: f64| {
            Area::from_geojson(&geojson::Geometry::new(
                geojson::GeometryValue::new_polygon([[
                    [x, 28.2],
                    [x + 0.0002, 28.2],
                    [x + 0.0002, 28.2002],
                    [x, 28.2002],
                    [x, 28.2],
                ]]),
            ))
            .expect("valid")
        };
        let (a, neighbour, sliver, overlapping) = (
            square(117.0),
            square(117.0002),
            square(117.000_199_95),
            square(117.0001),
        );
        assert!(
            check_footprint_overlap(&a, [("N", &neighbour)]).is_ok(),
            "a shared wall"
        );
        assert!(
            check_footprint_overlap(&a, [("S", &sliver)]).is_ok(),
            "a digitising sliver"
        );
        assert!(matches!(
            check_footprint_overlap(&a, [("N", &neighbour), ("O", &overlapping)]),
            Err(AssetError::FootprintOverlap { code, .. }) if code == "O"
        ));
    }

    #[test]
    fn bad_attributes_are_refused() {
        let cases: Vec<(IdleAssetDraft, &str)> = vec![
            (
                IdleAssetDraft {
                    floor_area_m2: Some(0.0),
                    ..draft()
                },
                "zero floor area",
            ),
            (
                IdleAssetDraft {
                    floor_area_m2: Some(-5.0),
                    ..draft()
                },
                "negative floor area",
            ),
            (
                IdleAssetDraft {
                    land_area_m2: Some(f64::NAN),
                    ..draft()
                },
                "NaN land area",
            ),
            (
                IdleAssetDraft {
                    year_built: Some(2027),
                    ..draft()
                },
                "built next year",
            ),
            (
                IdleAssetDraft {
                    year_built: Some(1700),
                    ..draft()
                },
                "built too long ago",
            ),
            (
                IdleAssetDraft {
                    idle_since: NaiveDate::from_ymd_opt(2027, 1, 1),
                    ..draft()
                },
                "idle since the future",
            ),
            (
                IdleAssetDraft {
                    code: "  ".into(),
                    ..draft()
                },
                "blank code",
            ),
            (
                IdleAssetDraft {
                    lat: 95.0,
                    ..draft()
                },
                "latitude out of range",
            ),
        ];
        for (d, why) in cases {
            assert!(d.validate(today()).is_err(), "{why} must be refused");
        }
    }
}
