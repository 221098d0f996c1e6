//! Write paths shared by the API, the command line and the demo data: each takes a connection or
//! a transaction, checks its input through `domain`, writes through `db`, and returns its own
//! error type for the edge (GraphQL, HTTP, CLI) to map.

pub mod backup;
pub mod check;
pub mod events;
pub mod export;
pub mod import;
pub mod loans;
pub mod places;
pub mod report;
pub mod seed;
pub mod shares;
