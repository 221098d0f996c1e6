//! Integration tests: the real server over HTTP, on SQLite and (with `TEST_DATABASE_URL`)
//! PostgreSQL.

#![expect(
    clippy::expect_used,
    reason = "test harness: a failed setup step stops the test with its reason"
)]

mod access;
mod backup;
mod bad_input;
mod boundaries;
mod browser;
mod changes;
mod changes_since;
mod check;
mod credit;
mod dashboard_page;
mod datums;
mod demo_mutations;
mod durability;
mod events;
mod export;
mod firefox;
mod graphiql;
mod health;
mod helpers;
mod import;
mod import_jobs;
mod import_kill;
mod import_kinds;
mod instances;
mod limits;
mod loans;
mod logs;
mod map_page;
mod metrics;
mod mutations;
mod office_copy;
mod ogc;
mod projection;
mod queries;
mod readme;
mod replica;
mod rights;
mod seed;
mod shares;
mod shares_import;
mod shutdown;
mod spatial;
mod sql_count;
mod statistics;
mod targets;
mod tiles;
