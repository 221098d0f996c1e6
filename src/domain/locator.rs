//! Which township and village a point lies in: point-in-polygon against the boundaries, through
//! an R-tree of their bounding boxes held in memory. An asset's township and village are always
//! derived here from its location, never taken from input.

use geo::{Distance as _, Haversine};
use rstar::{AABB, RTree, RTreeObject};

use super::geometry::{Area, Location};

/// Where a point lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub township_id: i64,
    /// `None` when no village boundary covers the point and no boundary-less village of the
    /// township has its centre near it.
    pub village_id: Option<i64>,
}

/// A village as the locator needs it.
#[derive(Debug, Clone)]
pub struct VillageShape {
    pub id: i64,
    pub township_id: i64,
    pub boundary: Option<Area>,
    pub center: Location,
}

/// How far from a boundary-less village's centre a point may lie and still be placed in it.
const CENTRE_RADIUS_M: f64 = 3_000.0;

#[derive(Debug)]
struct Entry {
    id: i64,
    township_id: i64,
    area: Area,
    envelope: AABB<[f64; 2]>,
}

impl Entry {
    fn new(id: i64, township_id: i64, area: Area) -> Self {
        let b = area.bbox();
        let envelope = AABB::from_corners([b.min_lon, b.min_lat], [b.max_lon, b.max_lat]);
        Self {
            id,
            township_id,
            area,
            envelope,
        }
    }
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f64; 2]>;

    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

/// The in-memory index of township and village boundaries.
#[derive(Debug, Default)]
pub struct Locator {
    townships: RTree<Entry>,
    villages: RTree<Entry>,
    centres: Vec<(i64, i64, Location)>,
}

impl Locator {
    pub fn new(townships: Vec<(i64, Area)>, villages: Vec<VillageShape>) -> Self {
        let townships = townships
            .into_iter()
            .map(|(id, area)| Entry::new(id, id, area))
            .collect();
        let mut bounded = Vec::new();
        let mut centres = Vec::new();
        for v in villages {
            match v.boundary {
                Some(area) => bounded.push(Entry::new(v.id, v.township_id, area)),
                None => centres.push((v.id, v.township_id, v.center)),
            }
        }
        Self {
            townships: RTree::bulk_load(townships),
            villages: RTree::bulk_load(bounded),
            centres,
        }
    }

    /// The township and village of a point, or `None` when it lies outside every township.
    ///
    /// A point on a border shared by two areas goes to the one it is strictly inside, else to
    /// the lower id, so the answer never depends on load order.
    pub fn locate(&self, location: Location) -> Option<Placement> {
        let township_id = best(&self.townships, location, |_| true)?;
        let village_id = best(&self.villages, location, |e| e.township_id == township_id)
            .or_else(|| self.nearest_centre(township_id, location));
        Some(Placement {
            township_id,
            village_id,
        })
    }

    fn nearest_centre(&self, township_id: i64, location: Location) -> Option<i64> {
        self.centres
            .iter()
            .filter(|(_, t, _)| *t == township_id)
            .map(|(id, _, c)| (Haversine.distance(c.point(), location.point()), *id))
            .filter(|(d, _)| *d <= CENTRE_RADIUS_M)
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
            .map(|(_, id)| id)
    }
}

/// Records whose place a boundary change may have moved, and where each lies now.
#[derive(Debug, Clone, PartialEq)]
pub struct Moves {
    /// Ids whose township or village changed, with their new place.
    pub moved: Vec<(i64, Placement)>,
    /// Ids that would lie outside every township: the change must be refused.
    pub stranded: Vec<i64>,
}

impl Locator {
    /// Places again the records given as (id, location, current place).
    pub fn reassign(&self, records: impl IntoIterator<Item = (i64, Location, Placement)>) -> Moves {
        let mut moves = Moves {
            moved: Vec::new(),
            stranded: Vec::new(),
        };
        for (id, location, current) in records {
            match self.locate(location) {
                None => moves.stranded.push(id),
                Some(place) if place != current => moves.moved.push((id, place)),
                Some(_) => {}
            }
        }
        moves
    }
}

fn best(tree: &RTree<Entry>, location: Location, keep: impl Fn(&Entry) -> bool) -> Option<i64> {
    let probe = AABB::from_point([location.lon(), location.lat()]);
    tree.locate_in_envelope_intersecting(&probe)
        .filter(|e| keep(e) && e.area.covers(location))
        .min_by_key(|e| (!e.area.contains(location), e.id))
        .map(|e| e.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geojson::{Geometry, GeometryValue};

    fn square(x0: f64, y0: f64, size: f64) -> Area {
        let ring = vec![
            [x0, y0],
            [x0 + size, y0],
            [x0 + size, y0 + size],
            [x0, y0 + size],
            [x0, y0],
        ];
        Area::from_geojson(&Geometry::new(GeometryValue::new_polygon([ring]))).expect("valid")
    }

    fn loc(lon: f64, lat: f64) -> Location {
        Location::parse(lon, lat).expect("valid")
    }

    fn locator() -> Locator {
        Locator::new(
            vec![(1, square(117.0, 28.0, 0.1)), (2, square(117.1, 28.0, 0.1))],
            vec![
                VillageShape {
                    id: 10,
                    township_id: 1,
                    boundary: Some(square(117.0, 28.0, 0.05)),
                    center: loc(117.025, 28.025),
                },
                VillageShape {
                    id: 20,
                    township_id: 2,
                    boundary: None,
                    center: loc(117.15, 28.05),
                },
            ],
        )
    }

    #[test]
    fn places_a_point_in_its_township_and_village() {
        let l = locator();
        assert_eq!(
            l.locate(loc(117.01, 28.01)),
            Some(Placement {
                township_id: 1,
                village_id: Some(10)
            })
        );
        assert_eq!(
            l.locate(loc(117.08, 28.08)),
            Some(Placement {
                township_id: 1,
                village_id: None
            })
        );
    }

    #[test]
    fn a_village_without_boundary_takes_points_near_its_centre() {
        let l = locator();
        assert_eq!(
            l.locate(loc(117.151, 28.051)),
            Some(Placement {
                township_id: 2,
                village_id: Some(20)
            })
        );
        assert_eq!(
            l.locate(loc(117.19, 28.09)).and_then(|p| p.village_id),
            None
        );
    }

    #[test]
    fn a_point_outside_every_township_has_no_place() {
        assert_eq!(locator().locate(loc(118.0, 28.05)), None);
    }

    #[test]
    fn reassigning_reports_moved_and_stranded_records() {
        let here = Placement {
            township_id: 1,
            village_id: Some(10),
        };
        let moves = locator().reassign([
            (1, loc(117.01, 28.01), here),
            (2, loc(117.15, 28.05), here),
            (3, loc(118.0, 28.05), here),
        ]);
        assert_eq!(
            moves.moved,
            vec![(
                2,
                Placement {
                    township_id: 2,
                    village_id: Some(20)
                }
            )]
        );
        assert_eq!(moves.stranded, vec![3]);
    }

    #[test]
    fn a_point_on_a_shared_border_goes_to_the_lower_id() {
        assert_eq!(
            locator().locate(loc(117.1, 28.05)).map(|p| p.township_id),
            Some(1)
        );
    }
}
