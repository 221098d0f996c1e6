//! Townships (乡镇/街道) and villages (行政村/社区): the administrative areas that every asset is
//! placed in by its location.

use super::geometry::{Area, GeometryError, Location};
use super::text::{self, TextError};

/// Why a township or village was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AdminAreaError {
    #[error("division code {0:?} must be 12 digits (统计用区划代码)")]
    BadCode(String),
    #[error("village code {village} does not start with its township's prefix {prefix}")]
    VillageOutsideTownshipCode { village: String, prefix: String },
    #[error(transparent)]
    Text(#[from] TextError),
    #[error(transparent)]
    Geometry(#[from] GeometryError),
}

/// A 12-digit statistical division code (统计用区划代码).
pub fn division_code(code: &str) -> Result<String, AdminAreaError> {
    let code = code.trim();
    if code.len() == 12 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code.to_owned())
    } else {
        Err(AdminAreaError::BadCode(code.to_owned()))
    }
}

/// A township ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTownship {
    pub code: String,
    pub name: String,
    pub boundary: Area,
}

impl NewTownship {
    pub fn parse(
        code: &str,
        name: &str,
        boundary: &geojson::Geometry,
    ) -> Result<Self, AdminAreaError> {
        Ok(Self {
            code: division_code(code)?,
            name: text::required("name", name, 64)?,
            boundary: Area::from_geojson(boundary)?,
        })
    }
}

/// A village ready to store: a boundary when surveyed, else only a centre point.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVillage {
    pub code: String,
    pub name: String,
    pub boundary: Option<Area>,
    pub center: Location,
}

impl NewVillage {
    /// The centre is the boundary's centroid when there is a boundary, else `center` is needed.
    pub fn parse(
        township_code: &str,
        code: &str,
        name: &str,
        boundary: Option<&geojson::Geometry>,
        center: Option<Location>,
    ) -> Result<Self, AdminAreaError> {
        let code = division_code(code)?;
        // Village codes extend their township's first nine digits (县 + 乡).
        let prefix = &township_code[..township_code.len().min(9)];
        if !code.starts_with(prefix) {
            return Err(AdminAreaError::VillageOutsideTownshipCode {
                village: code,
                prefix: prefix.to_owned(),
            });
        }
        let boundary = boundary.map(Area::from_geojson).transpose()?;
        let center = match (center, &boundary) {
            (Some(c), _) => c,
            (None, Some(b)) => b.centroid().ok_or(GeometryError::ZeroArea)?,
            (None, None) => {
                return Err(GeometryError::WrongType {
                    expected: "boundary or centre point",
                    got: "neither".to_owned(),
                }
                .into());
            }
        };
        Ok(Self {
            code,
            name: text::required("name", name, 64)?,
            boundary,
            center,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_codes_are_twelve_digits() {
        assert!(division_code("369901101000").is_ok());
        for bad in ["36990110100", "3699011010000", "36990110100X", ""] {
            assert!(division_code(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn village_code_must_extend_the_township_prefix() {
        let center = Location::parse(117.0, 28.2).ok();
        assert!(NewVillage::parse("369901101000", "369901101201", "白家村", None, center).is_ok());
        assert!(matches!(
            NewVillage::parse("369901101000", "369901102201", "白家村", None, center),
            Err(AdminAreaError::VillageOutsideTownshipCode { .. })
        ));
        assert!(NewVillage::parse("369901101000", "369901101201", "白家村", None, None).is_err());
    }
}
