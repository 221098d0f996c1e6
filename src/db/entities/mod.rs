//! Plain sea-orm entities, one per table. No GraphQL here: the API types live in `graphql`.

pub mod access_token;
pub mod audit_event;
pub mod demo_indicator;
pub mod demo_site;
pub mod demo_site_asset;
pub mod idle_asset;
pub mod party;
pub mod revitalization;
pub mod township;
pub mod village;
