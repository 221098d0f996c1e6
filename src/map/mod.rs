//! Map output: vector tiles.

pub mod mvt;
