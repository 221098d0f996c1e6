//! The spatial key: a position on a Hilbert curve through the whole lon/lat plane, stored with
//! each asset in a B-tree index, so that "what lies in this box" is a handful of key ranges on
//! either engine without a spatial extension. The ranges narrow the candidates in SQL; the exact
//! predicates (geodesic distance, point in polygon) run in Rust on what they return.
//!
//! The curve has `ORDER` levels: at the finest, a cell is 360/2^26 degrees of longitude by
//! 180/2^26 of latitude (about 0.6 × 0.3 m), and a key fits in 52 bits. Hilbert rather than
//! Z-order because nearby cells stay nearby on the curve, so a box needs fewer ranges.

use super::geometry::BBox;

/// Levels of the curve.
pub const ORDER: u32 = 26;
const SIDE: u64 = 1 << ORDER;

/// How many key ranges a box is covered by, at most, before adjacent ones are merged: more
/// ranges fit the box tighter but make a longer SQL condition.
pub const MAX_RANGES: usize = 24;

/// The cell of a longitude/latitude at the finest level.
fn cell_xy(lon: f64, lat: f64) -> (u64, u64) {
    let scale = |v: f64, min: f64, span: f64| {
        let c = ((v - min) / span * SIDE as f64).floor();
        // 180° longitude and 90° latitude fall in the last cell rather than past it.
        c.clamp(0.0, (SIDE - 1) as f64) as u64
    };
    (scale(lon, -180.0, 360.0), scale(lat, -90.0, 180.0))
}

/// The Hilbert index of cell (x, y) on a curve of side `n` (a power of two).
fn hilbert(n: u64, mut x: u64, mut y: u64) -> u64 {
    let mut d = 0;
    let mut s = n / 2;
    while s > 0 {
        let rx = u64::from(x & s != 0);
        let ry = u64::from(y & s != 0);
        d += s * s * ((3 * rx) ^ ry);
        // Rotate the quadrant so that the curve inside it runs the canonical way.
        if ry == 0 {
            if rx == 1 {
                x = s - 1 - (x & (s - 1));
                y = s - 1 - (y & (s - 1));
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

/// The spatial key of a position, as stored in the `cell` column.
pub fn key(lon: f64, lat: f64) -> i64 {
    let (x, y) = cell_xy(lon, lat);
    hilbert(SIDE, x, y) as i64
}

/// Inclusive key ranges, sorted and disjoint, whose cells together cover `bbox`: every position
/// in the box has its key in one of them (positions outside may too; filter them after).
pub fn ranges(bbox: BBox) -> Vec<(i64, i64)> {
    let (x0, y0) = cell_xy(bbox.min_lon, bbox.min_lat);
    let (x1, y1) = cell_xy(bbox.max_lon, bbox.max_lat);
    let (x0, x1) = (x0.min(x1), x0.max(x1));
    let (y0, y1) = (y0.min(y1), y0.max(y1));
    let mut out: Vec<(u64, u64)> = Vec::new();
    // Cells of the current level that straddle the box's edge, at level `level`.
    let mut partial: Vec<(u64, u64)> = vec![(0, 0)];
    let mut level = 0;
    loop {
        let shift = ORDER - level;
        let span = |c: u64| (c << shift, ((c + 1) << shift) - 1);
        let range_of = |cx: u64, cy: u64| {
            let d = hilbert(1 << level, cx, cy);
            let size = 1u64 << (2 * shift);
            (d * size, d * size + size - 1)
        };
        let mut straddling = Vec::new();
        for &(cx, cy) in &partial {
            let (ax, bx) = span(cx);
            let (ay, by) = span(cy);
            if bx < x0 || ax > x1 || by < y0 || ay > y1 {
                continue;
            }
            if ax >= x0 && bx <= x1 && ay >= y0 && by <= y1 {
                out.push(range_of(cx, cy));
            } else {
                straddling.push((cx, cy));
            }
        }
        // Splitting each straddling cell makes up to four; stop while the whole still fits.
        if straddling.is_empty()
            || level == ORDER
            || (level > 0 && out.len() + 4 * straddling.len() > MAX_RANGES)
        {
            out.extend(straddling.iter().map(|&(cx, cy)| range_of(cx, cy)));
            break;
        }
        partial = straddling
            .iter()
            .flat_map(|&(cx, cy)| {
                [(0, 0), (1, 0), (0, 1), (1, 1)].map(|(dx, dy)| (2 * cx + dx, 2 * cy + dy))
            })
            .collect();
        level += 1;
    }
    out.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(out.len());
    for (a, b) in out {
        match merged.last_mut() {
            Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
        .into_iter()
        .map(|(a, b)| (a as i64, b as i64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator, so the property checks see many positions.
    fn positions(n: usize, bbox: BBox) -> Vec<(f64, f64)> {
        let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| {
                (
                    bbox.min_lon + next() * (bbox.max_lon - bbox.min_lon),
                    bbox.min_lat + next() * (bbox.max_lat - bbox.min_lat),
                )
            })
            .collect()
    }

    fn bbox(min_lon: f64, min_lat: f64, max_lon: f64, max_lat: f64) -> BBox {
        BBox {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        }
    }

    #[test]
    fn the_curve_visits_every_cell_once_stepping_to_a_neighbour() {
        let n = 16;
        let mut at = vec![(0u64, 0u64); (n * n) as usize];
        for x in 0..n {
            for y in 0..n {
                at[hilbert(n, x, y) as usize] = (x, y);
            }
        }
        let mut seen = std::collections::HashSet::new();
        for w in at.windows(2) {
            let (a, b) = (w[0], w[1]);
            assert_eq!(a.0.abs_diff(b.0) + a.1.abs_diff(b.1), 1, "{a:?} -> {b:?}");
            seen.insert(a);
        }
        seen.insert(at[at.len() - 1]);
        assert_eq!(seen.len(), (n * n) as usize);
    }

    #[test]
    fn a_coarse_cell_holds_one_contiguous_run_of_fine_keys() {
        // The property `ranges` rests on: the key of a cell at a coarse level is the prefix of
        // the keys of every finer cell inside it.
        for &(lon, lat) in &positions(2000, bbox(-180.0, -90.0, 180.0, 90.0)) {
            let (x, y) = cell_xy(lon, lat);
            let fine = hilbert(SIDE, x, y);
            for level in [1, 5, 13, 20, 25] {
                let shift = ORDER - level;
                let coarse = hilbert(1 << level, x >> shift, y >> shift);
                assert_eq!(fine >> (2 * shift), coarse, "level {level} at {lon},{lat}");
            }
        }
    }

    #[test]
    fn every_position_in_a_box_has_its_key_in_the_boxes_ranges() {
        let boxes = [
            bbox(116.30, 39.90, 116.33, 39.92),
            bbox(99.0, 26.0, 99.6, 26.5),
            bbox(-0.001, -0.001, 0.001, 0.001),
            bbox(179.9, 89.9, 180.0, 90.0),
            bbox(-180.0, -90.0, 180.0, 90.0),
        ];
        for b in boxes {
            let ranges = ranges(b);
            assert!(ranges.len() <= MAX_RANGES, "{b:?}: {}", ranges.len());
            assert!(ranges.windows(2).all(|w| w[0].1 + 1 < w[1].0), "disjoint");
            for (lon, lat) in positions(5000, b) {
                let k = key(lon, lat);
                assert!(
                    ranges.iter().any(|&(a, z)| (a..=z).contains(&k)),
                    "{lon},{lat} in {b:?}"
                );
            }
        }
    }

    #[test]
    fn the_ranges_fit_a_small_box_tightly() {
        // A 2 km box should not drag in a township's worth of cells: the cells' total extent
        // stays within a small multiple of the box.
        let b = bbox(99.30, 26.20, 99.32, 26.218);
        let cells: u64 = ranges(b).iter().map(|&(a, z)| (z - a + 1) as u64).sum();
        let (x0, y0) = cell_xy(b.min_lon, b.min_lat);
        let (x1, y1) = cell_xy(b.max_lon, b.max_lat);
        let box_cells = (x1 - x0 + 1) * (y1 - y0 + 1);
        assert!(
            cells < 8 * box_cells,
            "{cells} cells for a box of {box_cells}"
        );
    }
}
