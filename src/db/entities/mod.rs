//! Plain sea-orm entities, one per table. No GraphQL here: the API types live in `graphql`.

pub mod access_token;
pub mod appraisal;
pub mod audit_event;
pub mod bank;
pub mod credit_line;
pub mod demo_indicator;
pub mod demo_site;
pub mod demo_site_asset;
pub mod expropriation_zone;
pub mod idle_asset;
pub mod loan_application;
pub mod loan_event;
pub mod loan_product;
pub mod mortgage;
pub mod party;
pub mod policy_version;
pub mod property_right;
pub mod recommendation;
pub mod revitalization;
pub mod right_holder;
pub mod source_document;
pub mod township;
pub mod village;
