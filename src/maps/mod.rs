//! Map output: the registry's layers as features, encoded as GeoJSON and vector tiles.

pub mod feature_stream;
pub mod features;
pub mod mvt;
