//! Settings, from command-line flags with environment fallbacks. One typed struct, passed by
//! value into `App::build`; tests build apps with their own.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// rural-registry: the registry of a district's idle farmhouses and homesteads (两闲), their
/// revitalization and its demonstration sites, served as GraphQL.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate, load the demo district into an empty database, and serve (the default).
    Serve {
        /// Do not load the demo district into an empty database.
        #[arg(long)]
        no_demo: bool,
    },
    /// Bring the database schema up to date.
    Migrate,
    /// Load the demo district; a second run adds nothing.
    Seed,
    /// Create, list and revoke access tokens.
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
    /// Generate synthetic idle assets and their owner households, for benchmarks: the same seed
    /// gives the same rows. Loads the demo district first into an empty database. A second run
    /// with another seed adds a distinct batch; with the same seed it is refused.
    GenSynthetic {
        /// How many assets to generate.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=50_000_000))]
        assets: u64,
        /// The seed the data is drawn from.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Export records as CSV (UTF-8 with BOM, or GB18030) or GeoJSON, to a file or stdout.
    /// Runs as the district office: personal fields are included.
    Export {
        /// What to export.
        #[arg(value_enum)]
        kind: crate::services::export::Kind,
        /// File format.
        #[arg(long, value_enum, default_value = "csv")]
        format: crate::services::export::Format,
        /// Only records of this township (12-digit code).
        #[arg(long)]
        township: Option<String>,
        /// Datum of the coordinates written: WGS84, GCJ02 or BD09.
        #[arg(long, default_value = "WGS84")]
        crs: String,
        /// Text encoding of a CSV file.
        #[arg(long, value_enum, default_value = "utf8")]
        encoding: crate::services::export::Encoding,
        /// Where to write it; stdout when absent.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Import townships, villages, parties, idle assets or revitalizations from CSV (UTF-8 or
    /// GB18030; headers in English or Chinese) or a GeoJSON FeatureCollection. All or nothing
    /// unless `--partial`; every refused row is reported.
    Import {
        /// What the file holds.
        #[arg(value_enum)]
        kind: crate::services::export::Kind,
        /// The file (with `--template`: where to write the template; stdout when absent).
        #[arg(required_unless_present = "template")]
        file: Option<PathBuf>,
        /// Write an empty CSV file with the kind's column headers (UTF-8 with BOM), to fill in
        /// Excel.
        #[arg(long)]
        template: bool,
        /// Write the good rows even when others fail; the refused ones go to FILE.rejected.csv.
        #[arg(long)]
        partial: bool,
        /// Update the records whose natural key exists instead of refusing the row.
        #[arg(long)]
        upsert: bool,
        /// Where to write the report of refused rows (default: FILE.report.csv beside the input).
        #[arg(long)]
        report: Option<PathBuf>,
        /// The file's text encoding.
        #[arg(long, value_enum, default_value = "auto")]
        encoding: crate::services::import::Encoding,
        /// Datum of the file's coordinates: WGS84, GCJ02 or BD09; stored as WGS84.
        #[arg(long, default_value = "WGS84")]
        crs: String,
    },
    /// Write the GraphQL schema (SDL).
    ExportSchema {
        /// Where to write it.
        #[arg(default_value = "schema/schema.graphql")]
        path: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token. The secret alone goes to stdout, shown this once; the rest to stderr.
    Create {
        /// What the token may do.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// For a cadre token: the 12-digit code of its township.
        #[arg(long)]
        township: Option<String>,
        /// For a bank token: the bank's code.
        #[arg(long)]
        bank: Option<String>,
        /// Who holds it, e.g. "东川镇 王干事"; recorded in the audit trail of every change.
        #[arg(long)]
        label: String,
    },
    /// Revoke a token by its number (see `token list`); it stops working at once.
    Revoke { id: i64 },
    /// List tokens: number, label, role, scope, created, last used, revoked. Never secrets.
    List,
}

/// Roles as typed on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    Admin,
    Cadre,
    Bank,
}

impl From<RoleArg> for crate::domain::access::Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Admin => Self::Admin,
            RoleArg::Cadre => Self::Cadre,
            RoleArg::Bank => Self::Bank,
        }
    }
}

/// Every setting, with its flag and environment variable.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database URL: `sqlite://PATH?mode=rwc` (the folder is created) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        global = true,
        default_value = "sqlite://data/registry.db?mode=rwc"
    )]
    pub database_url: String,
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(
        long,
        env = "LISTEN_ADDR",
        global = true,
        default_value = "127.0.0.1:8080"
    )]
    pub listen: SocketAddr,
    /// Log filter, e.g. `info` or `rural_registry=debug,sqlx=warn`.
    #[arg(long = "log", env = "RUST_LOG", global = true, default_value = "info")]
    pub log: String,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", global = true, default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Largest upload accepted by `importFile` (a multipart request), in bytes.
    #[arg(long, env = "MAX_UPLOAD_BYTES", global = true, default_value_t = 100 * 1024 * 1024)]
    pub max_upload_bytes: usize,
    /// Deepest query nesting accepted (GraphiQL's introspection needs 13).
    #[arg(long, env = "MAX_QUERY_DEPTH", global = true, default_value_t = 16, value_parser = clap::value_parser!(u16).range(13..))]
    pub max_query_depth: u16,
    /// Highest query complexity accepted (connections count their page size).
    #[arg(
        long,
        env = "MAX_QUERY_COMPLEXITY",
        global = true,
        default_value_t = 20_000
    )]
    pub max_query_complexity: usize,
    /// How long, in milliseconds, the per-request DataLoaders gather keys before one batched
    /// query. Longer waits batch more reliably on a slow machine, at that cost in latency.
    #[arg(long, env = "BATCH_WINDOW_MS", global = true, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=1000))]
    pub batch_window_ms: u64,
    /// Longest query text accepted, in bytes.
    #[arg(
        long,
        env = "MAX_QUERY_LENGTH",
        global = true,
        default_value_t = 20_000
    )]
    pub max_query_length: usize,
    /// Most aliased fields in one query (aliases multiply work the complexity count sees once).
    #[arg(long, env = "MAX_ALIASES", global = true, default_value_t = 50)]
    pub max_aliases: usize,
    /// Longest a request may run, in seconds, before it is stopped with LIMIT_EXCEEDED.
    #[arg(long, env = "QUERY_TIMEOUT_SECS", global = true, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub query_timeout_secs: u64,
    /// Requests a minute per token (per address without one), in bursts of as many; 0 is no limit.
    #[arg(
        long,
        env = "RATE_LIMIT_PER_MINUTE",
        global = true,
        default_value_t = 600
    )]
    pub rate_limit_per_minute: u32,
    /// Origins whose web pages may call the API from the browser (CORS), comma-separated, e.g.
    /// `https://map.example.cn,http://localhost:5173`; `*` allows any; empty allows none.
    #[arg(long, env = "CORS_ORIGINS", global = true, value_delimiter = ',', value_parser = parse_origin)]
    pub cors_origins: Vec<String>,
    /// Most operations in one batched request.
    #[arg(long, env = "MAX_BATCH", global = true, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_batch: u16,
}

/// An origin as browsers send it: `*`, or scheme, host and optional port, no path.
fn parse_origin(value: &str) -> Result<String, String> {
    let value = value.trim();
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    match rest {
        _ if value == "*" => Ok(value.to_owned()),
        Some(host) if !host.is_empty() && !host.contains('/') => Ok(value.to_owned()),
        _ => Err(format!(
            "{value:?} is not an origin like https://map.example.cn or http://localhost:5173"
        )),
    }
}

impl Settings {
    /// The defaults, as a test or an embedding program starts from.
    pub fn with_database(database_url: impl Into<String>) -> Self {
        let mut s = Cli::parse_from(["rural-registry"]).settings;
        s.database_url = database_url.into();
        s
    }
}
