//! The one place where geometry meets storage: GeoJSON text and bounding-box columns to and
//! from the domain's validated types. sea-orm has no geometry type, and we want none: the
//! same text columns work on SQLite and PostgreSQL.

use crate::domain::geometry::{Area, GeometryError};

/// Reads a stored area. Stored geometry was validated on the way in, so a failure here means
/// the database was edited by hand; callers report it as an internal error.
pub fn read_area(text: &str) -> Result<Area, GeometryError> {
    Area::from_geojson_str(text)
}

/// The text stored for an area: a Polygon when it is one piece (footprints, most villages).
pub fn write_area(area: &Area) -> String {
    area.to_geojson().to_string()
}

/// The text stored for a township boundary: always a MultiPolygon, as the API documents.
pub fn write_multi_area(area: &Area) -> String {
    area.to_multi_geojson().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_areas_read_back_equal() {
        let text = r#"{"type":"MultiPolygon","coordinates":[[[[117.0,28.2],[117.01,28.2],[117.01,28.21],[117.0,28.21],[117.0,28.2]]]]}"#;
        let area = read_area(text).expect("valid");
        assert_eq!(read_area(&write_area(&area)).expect("round trip"), area);
    }

    #[test]
    fn hand_edited_garbage_is_reported() {
        assert!(read_area("{not json").is_err());
        assert!(read_area(r#"{"type":"Point","coordinates":[117,28]}"#).is_err());
    }
}
