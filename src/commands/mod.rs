//! The commands, a file each, and the command line that chooses one.
//!
//! Every command takes the `Shared` options (database, log filter); only `serve` takes the
//! server's `Settings`, so no other command reads their environment or lists them in `--help`.

pub mod backup;
pub mod check;
pub mod export;
pub mod export_schema;
pub mod gen_synthetic;
pub mod import;
pub mod migrate;
pub mod progress;
pub mod report;
pub mod seed;
pub mod serve;
pub mod sync;
pub mod synthetic;
pub mod token;

use std::ffi::OsString;

use clap::{CommandFactory as _, Parser, Subcommand};
use rural_registry::config::Shared;
use rural_registry::db;
use sea_orm::DatabaseConnection;

/// rural-registry: the registry of a district's idle farmhouses and homesteads (两闲), their
/// revitalization and its demonstration sites, served as GraphQL.
#[derive(Debug, Parser)]
#[command(
    name = "rural-registry",
    version,
    about,
    after_help = "With no command, rural-registry serves: `rural-registry --listen 0.0.0.0:8080` \
                  is `rural-registry serve --listen 0.0.0.0:8080`, and `rural-registry serve \
                  --help` lists the server's options."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub shared: Shared,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate, load the demo district into an empty database, and serve (the default).
    Serve(Box<serve::Args>),
    /// Bring the database schema up to date.
    Migrate,
    /// Load the demo district; a second run adds nothing.
    Seed,
    /// Create, list and revoke access tokens.
    Token {
        #[command(subcommand)]
        action: token::Action,
    },
    /// Generate synthetic idle assets and their owner households, for benchmarks: the same seed
    /// gives the same rows. Loads the demo district first into an empty database. A second run
    /// with another seed adds a distinct batch; with the same seed it is refused.
    GenSynthetic(gen_synthetic::Args),
    /// Export records as CSV (UTF-8 with BOM, or GB18030) or GeoJSON, to a file or stdout.
    /// Runs as the district office: personal fields are included.
    Export(export::Args),
    /// Import townships, villages, parties, idle assets, revitalizations, collective members,
    /// share holdings or targets from CSV (UTF-8 or GB18030; headers in English or Chinese) or a GeoJSON
    /// FeatureCollection. All or nothing unless `--partial`; every refused row is reported.
    Import(import::Args),
    /// Write the GraphQL schema (SDL).
    ExportSchema(export_schema::Args),
    /// The year's figures for Excel (统计报表): the district by township, or one township by
    /// village, as CSV (UTF-8 with BOM, or GB18030). Runs as the district office.
    Report(report::Args),
    /// Write a copy of the database while the server runs (备份): SQLite's `VACUUM INTO`,
    /// opened and integrity-checked before it takes its name; on PostgreSQL, `pg_dump`.
    Backup(backup::BackupArgs),
    /// Put a backup in place of the database (恢复), then migrate it: refused for a database
    /// that holds records unless `--force`. Stop the server first.
    Restore(backup::RestoreArgs),
    /// Check the database (完整性检查): the engine's own integrity check, then the registry's
    /// rules (assets where they are filed, mortgage ranks, rights and their holders, the share
    /// register and distributions, the audit trail). Exits non-zero when something is wrong.
    Check(check::Args),
    /// Keep an office copy (办公室副本) of a district server's registry, as a token may see
    /// it: the first run copies it, each later run reads the change feed and takes only what
    /// changed. Resumable and idempotent; serve the copy with `serve --read-only`.
    Sync(sync::Args),
}

impl Cli {
    /// The process's command line, exiting with clap's message when it is wrong.
    pub fn parse_args() -> (Shared, Command) {
        let cli = Self::parse_from(serve_first(std::env::args_os().collect()));
        match cli.command {
            Some(command) => (cli.shared, command),
            // `serve_first` names a command unless help or the version is asked for, which clap
            // answers and exits on before this.
            None => Self::command()
                .error(clap::error::ErrorKind::MissingSubcommand, "no command")
                .exit(),
        }
    }
}

/// The arguments with `serve` first when they name no command or name `serve` after options.
///
/// With no command the binary serves, as it always has (`rural-registry --listen …`), and
/// scripts put the server's options before the command (`rural-registry --listen … serve`)
/// while every option was global. Only `serve` knows those options now: declaring them at the
/// top as well would make clap read their environment variables for every command.
fn serve_first(mut args: Vec<OsString>) -> Vec<OsString> {
    let mut cli = Cli::command();
    cli.build();
    let serve = cli.find_subcommand("serve");
    let takes_value = |long: &str| {
        cli.get_arguments()
            .chain(serve.into_iter().flat_map(|s| s.get_arguments()))
            .any(|a| a.get_long() == Some(long) && a.get_action().takes_values())
    };
    // The first argument that is neither an option nor an option's value names the command.
    let mut command = None;
    let mut i = 1;
    while let Some(arg) = args.get(i) {
        match arg.to_str() {
            Some("--") => break,
            Some(arg) if arg.starts_with("--") => {
                if !arg.contains('=') && takes_value(&arg[2..]) {
                    i += 1;
                }
            }
            Some(arg) if arg.starts_with('-') && arg != "-" => {}
            _ => {
                command = Some(i);
                break;
            }
        }
        i += 1;
    }
    match command {
        Some(at) if args[at] == "serve" => {
            let serve = args.remove(at);
            args.insert(1, serve);
        }
        None if !args.is_empty() && !asks_for_help_or_version(&args) => {
            args.insert(1, "serve".into());
        }
        _ => {}
    }
    args
}

/// Whether the top-level help or version is wanted (then there is no command to assume).
fn asks_for_help_or_version(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .any(|a| ["-h", "--help", "-V", "--version"].iter().any(|f| a == f))
}

/// Connects and brings the schema up to date, as every command on the database does first.
async fn open(database_url: &str) -> anyhow::Result<DatabaseConnection> {
    let (conn, _) = db::connect(database_url).await?;
    db::migrate(&conn).await?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &[&str]) -> Vec<OsString> {
        line.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_is_the_command_when_none_is_named_and_comes_first_when_named_late() {
        let cases: [(&[&str], &[&str]); 7] = [
            (&["rr"], &["rr", "serve"]),
            (
                &["rr", "--listen", "127.0.0.1:0", "--log=warn"],
                &["rr", "serve", "--listen", "127.0.0.1:0", "--log=warn"],
            ),
            (
                &[
                    "rr",
                    "--database-url",
                    "x",
                    "--listen",
                    "y",
                    "serve",
                    "--no-demo",
                ],
                &[
                    "rr",
                    "serve",
                    "--database-url",
                    "x",
                    "--listen",
                    "y",
                    "--no-demo",
                ],
            ),
            (
                &["rr", "--log", "migrate", "migrate"],
                &["rr", "--log", "migrate", "migrate"],
            ),
            (&["rr", "--help"], &["rr", "--help"]),
            (&["rr", "-V"], &["rr", "-V"]),
            (&["rr", "help", "serve"], &["rr", "help", "serve"]),
        ];
        for (given, wanted) in cases {
            assert_eq!(serve_first(args(given)), args(wanted), "{given:?}");
        }
    }

    #[test]
    fn shared_options_reach_serve_on_either_side_of_it() {
        for line in [
            &[
                "rr",
                "--database-url",
                "sqlite::memory:",
                "--log",
                "warn",
                "serve",
            ][..],
            &[
                "rr",
                "serve",
                "--database-url",
                "sqlite::memory:",
                "--log",
                "warn",
            ][..],
        ] {
            let cli = Cli::parse_from(line);
            assert_eq!(cli.shared.database_url, "sqlite::memory:", "{line:?}");
            assert_eq!(cli.shared.log, "warn", "{line:?}");
            let Some(Command::Serve(serve)) = cli.command else {
                panic!("{line:?} serves");
            };
            assert_eq!(serve.settings.database_url, "sqlite::memory:", "{line:?}");
            assert_eq!(serve.settings.log, "warn", "{line:?}");
        }
    }
}
