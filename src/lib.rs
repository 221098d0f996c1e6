//! rural-registry: the registry of a district's idle rural assets ("两闲"), the rights on them and
//! the demonstration villages, served as GraphQL.

pub mod app;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod maps;
pub mod metrics;
pub mod services;
