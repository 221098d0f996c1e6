//! Scalars of our own: GeoJSON geometries and 64-bit integers (money in fen).

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// A GeoJSON geometry object (RFC 7946): coordinates are [longitude, latitude] in WGS84 /
/// CGCS2000 (EPSG:4326), at most 7 decimals, exterior rings counter-clockwise.
/// GeoJSON 几何对象(经度在前,纬度在后)。
#[derive(Debug, Clone, PartialEq)]
pub struct GeoJson(pub serde_json::Value);

/// A GeoJSON geometry object (RFC 7946): coordinates are [longitude, latitude] in WGS84 /
/// CGCS2000 (EPSG:4326), at most 7 decimals, exterior rings counter-clockwise.
/// GeoJSON 几何对象(经度在前,纬度在后)。
#[Scalar(name = "GeoJSON")]
impl ScalarType for GeoJson {
    fn parse(value: Value) -> InputValueResult<Self> {
        let json = value
            .into_json()
            .map_err(|e| InputValueError::custom(e.to_string()))?;
        if json.get("type").and_then(|t| t.as_str()).is_none() {
            return Err(InputValueError::custom(
                "a GeoJSON geometry needs a \"type\"",
            ));
        }
        Ok(Self(json))
    }

    fn to_value(&self) -> Value {
        Value::from_json(self.0.clone()).unwrap_or(Value::Null)
    }
}

impl From<geojson::Geometry> for GeoJson {
    fn from(g: geojson::Geometry) -> Self {
        Self(serde_json::to_value(g).unwrap_or(serde_json::Value::Null))
    }
}

/// A 64-bit integer, sent as a JSON number. Money is always integer fen (分, 1/100 yuan), so
/// sums are exact; amounts up to 90 trillion yuan are exact in JavaScript too.
/// 64 位整数;金额一律以"分"为单位。
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Long(pub i64);

/// A 64-bit integer, sent as a JSON number. Money is always integer fen (分, 1/100 yuan), so
/// sums are exact; amounts up to 90 trillion yuan are exact in JavaScript too.
/// 64 位整数;金额一律以"分"为单位。
#[Scalar(name = "Long")]
impl ScalarType for Long {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::Number(n) => n
                .as_i64()
                .map(Long)
                .ok_or_else(|| InputValueError::custom("expected an integer")),
            Value::String(s) => s
                .parse()
                .map(Long)
                .map_err(|_| InputValueError::custom("expected an integer")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::Number(self.0.into())
    }
}
