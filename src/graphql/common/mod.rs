//! The API's plumbing, shared by every concept and importing none: the request's context, the
//! object types' declarations, global IDs, Relay paging, the columns a selection reads, the
//! DataLoader, the limits, the parsed-document cache, scalars and GeoJSON conversion.

pub mod context;
pub mod documents;
pub mod geo;
pub mod ids;
pub mod limits;
pub mod loaders;
pub mod nodes;
pub mod paging;
pub mod projection;
pub mod scalars;
