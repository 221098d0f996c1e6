//! Settings, from command-line flags with environment fallbacks. One typed struct, passed by
//! value into `App::build`; tests build apps with their own.
//!
//! The binary (src/commands) takes `Shared` at every command and `Settings` at `serve` only, so
//! that no other command reads the server's environment or lists its options in `--help`.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use clap::{Args, Parser};
use ipnet::IpNet;

/// Where the database is when neither `--database-url` nor `DATABASE_URL` says.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/registry.db?mode=rwc";

/// What is logged when neither `--log` nor `RUST_LOG` says. While migrations are applied,
/// sea-orm-migration narrates at INFO (two lines a migration) and PostgreSQL sends a NOTICE for
/// each `CREATE TABLE IF NOT EXISTS` of its bookkeeping table, which sqlx logs at INFO;
/// `db::migrate` names the migrations it applied itself, in a line each.
pub const DEFAULT_LOG: &str = "info,sea_orm_migration=warn,sqlx::postgres::notice=warn";

/// The options of every command. `Settings` repeats both fields for `serve`, with the same ids,
/// so clap fills in either from the other whichever side of the command they are written on.
#[derive(Debug, Clone, Args)]
pub struct Shared {
    /// Database URL: `sqlite://PATH?mode=rwc` (the folder is created) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        global = true,
        default_value = DEFAULT_DATABASE_URL
    )]
    pub database_url: String,
    /// Log filter, e.g. `info` or `rural_registry=debug,sqlx=warn`.
    #[arg(long = "log", env = "RUST_LOG", global = true, default_value = DEFAULT_LOG)]
    pub log: String,
    /// Log lines as text, or as one JSON object a line (for a log collector).
    #[arg(long, env = "LOG_FORMAT", global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines are written (on stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Text for a person: the time, the level, the request's span (`request{request_id=…}`)
    /// and the message with its fields.
    Text,
    /// One JSON object a line: `timestamp`, `level`, `fields` (the message among them),
    /// `target`, and `span` and `spans` with the request's id, route, operation and role.
    Json,
}

/// An address to listen on, or none (`off`, or empty).
pub type OptionalAddress = Option<SocketAddr>;

/// Every setting of the server, with its flag and environment variable: the options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    // This and `log` are `Shared`'s options again; keep their help and defaults the same.
    /// Database URL: `sqlite://PATH?mode=rwc` (the folder is created) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// A read replica of the PostgreSQL database (`postgres://…`, e.g. a streaming standby):
    /// queries, tiles, OGC, downloads and exports read there; writes, subscriptions and a
    /// token's reads until the replica has its last write go to `DATABASE_URL`.
    #[arg(long, env = "DATABASE_READ_URL")]
    pub database_read_url: Option<String>,
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Log filter, e.g. `info` or `rural_registry=debug,sqlx=warn`.
    #[arg(long = "log", env = "RUST_LOG", default_value = DEFAULT_LOG)]
    pub log: String,
    /// Log lines as text, or as one JSON object a line (for a log collector).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Address of /metrics (and /healthz, /readyz again), apart from the public port; port 0
    /// picks a free port (the bound address is printed); `off` serves no metrics.
    #[arg(long, env = "METRICS_LISTEN", default_value = "127.0.0.1:9464", value_parser = parse_optional_address)]
    pub metrics_listen: OptionalAddress,
    /// On SIGTERM or Ctrl-C, how long requests in flight and open subscriptions get to finish,
    /// in seconds, before the process exits regardless.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_grace_secs: u64,
    /// Serve a read-only copy (an office copy kept by `rural-registry sync`): every mutation is
    /// refused with FORBIDDEN, naming the server it is a copy of and when it was synced; the
    /// demo district is never loaded.
    #[arg(long, env = "READ_ONLY")]
    pub read_only: bool,
    /// How many days the change feed (`changes`) and the event log keep a change; a cursor
    /// older than that is refused with CURSOR_EXPIRED.
    #[arg(long, env = "CHANGE_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub change_retention_days: u32,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Largest upload accepted by `importFile` (a multipart request), in bytes.
    #[arg(long, env = "MAX_UPLOAD_BYTES", default_value_t = 100 * 1024 * 1024)]
    pub max_upload_bytes: usize,
    /// Deepest query nesting accepted (GraphiQL's introspection needs 13).
    #[arg(long, env = "MAX_QUERY_DEPTH", default_value_t = 16, value_parser = clap::value_parser!(u16).range(13..))]
    pub max_query_depth: u16,
    /// Highest query complexity accepted (connections count their page size).
    #[arg(long, env = "MAX_QUERY_COMPLEXITY", default_value_t = 20_000)]
    pub max_query_complexity: usize,
    /// How long, in milliseconds, the per-request DataLoaders gather keys before one batched
    /// query. Longer waits batch more reliably on a slow machine, at that cost in latency.
    #[arg(long, env = "BATCH_WINDOW_MS", default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=1000))]
    pub batch_window_ms: u64,
    /// Longest query text accepted, in bytes.
    #[arg(long, env = "MAX_QUERY_LENGTH", default_value_t = 20_000)]
    pub max_query_length: usize,
    /// Most aliased fields in one query (aliases multiply work the complexity count sees once).
    #[arg(long, env = "MAX_ALIASES", default_value_t = 50)]
    pub max_aliases: usize,
    /// Most directives (`@skip`, `@include`) on one field of a query.
    #[arg(long, env = "MAX_DIRECTIVES", default_value_t = 8)]
    pub max_directives: usize,
    /// Longest a request may run, in seconds, before it is stopped with LIMIT_EXCEEDED.
    #[arg(long, env = "QUERY_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub query_timeout_secs: u64,
    /// Requests a minute per token (per address without one), in bursts of as many; 0 is no limit.
    #[arg(long, env = "RATE_LIMIT_PER_MINUTE", default_value_t = 600)]
    pub rate_limit_per_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For`, `X-Forwarded-Host` and `X-Forwarded-Proto` are
    /// believed: addresses or CIDR ranges, comma-separated (`10.0.0.5,192.168.10.0/24`). Empty:
    /// none, and the TCP peer is the client.
    #[arg(
        long,
        env = "TRUSTED_PROXIES",
        default_value = "",
        hide_default_value = true,
        value_parser = TrustedProxies::from_str
    )]
    pub trusted_proxies: TrustedProxies,
    /// Statistics cells counting fewer assets or households than this are hidden from
    /// anonymous callers (null, listed in the response's `extensions.suppressed`).
    #[arg(long, env = "MIN_PUBLIC_CELL", default_value_t = 3)]
    pub min_public_cell: u32,
    /// Origins whose web pages may call the API from the browser (CORS), comma-separated, e.g.
    /// `https://map.example.cn,http://localhost:5173`; `*` allows any; empty allows none.
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub cors_origins: Vec<String>,
    /// Most operations in one batched request.
    #[arg(long, env = "MAX_BATCH", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_batch: u16,
    /// Take a backup every this many hours while serving (as `rural-registry backup` does),
    /// into `--backup-dir`; fractions allowed. Unset: no scheduled backups.
    #[arg(long = "backup-every", env = "BACKUP_EVERY_HOURS", value_parser = parse_hours)]
    pub backup_every_hours: Option<f64>,
    /// How many scheduled backups to keep; the oldest beyond it are deleted.
    #[arg(long, env = "BACKUP_KEEP", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..))]
    pub backup_keep: u32,
    /// Where scheduled backups are written (created when needed).
    #[arg(long, env = "BACKUP_DIR", default_value = "backups")]
    pub backup_dir: std::path::PathBuf,
    /// A raster base map under the /map page: a tile URL template with `{z}`, `{x}` and `{y}`,
    /// e.g. Tianditu's or a district GIS server's. None: boundaries on a plain background, which
    /// needs no internet.
    #[arg(long, env = "MAP_BASE_URL", value_parser = parse_tile_template, conflicts_with = "map_base_style")]
    pub map_base_url: Option<String>,
    /// A vector base map under the /map page instead: the URL of a MapLibre style (style JSON,
    /// version 8), e.g. a district tile server's. Its layers are drawn under the registry's.
    #[arg(long, env = "MAP_BASE_STYLE", value_parser = parse_web_url)]
    pub map_base_style: Option<String>,
    /// Other origins the base map loads from (its style's tiles, glyphs and sprites when they
    /// are not on the style's or the template's own origin), comma-separated: the /map page's
    /// security policy lets the browser reach these and no others.
    #[arg(long, env = "MAP_BASE_ORIGINS", value_delimiter = ',', value_parser = parse_web_origin)]
    pub map_base_origins: Vec<String>,
    /// The datum of the base map's tiles: WGS84 (Tianditu, most GIS servers), GCJ02 (AMap,
    /// Tencent). The page asks the registry's tiles in the same datum, so points land on the
    /// right house.
    #[arg(long, env = "MAP_BASE_DATUM", default_value = "WGS84", value_parser = parse_datum)]
    pub map_base_datum: crate::domain::datum::Crs,
    /// The base map's attribution, shown in the map's corner (e.g. "© 天地图").
    #[arg(long, env = "MAP_BASE_ATTRIBUTION")]
    pub map_base_attribution: Option<String>,
}

/// An address to listen on, or `off` (or nothing) for none.
fn parse_optional_address(value: &str) -> Result<OptionalAddress, String> {
    let value = value.trim();
    if value.is_empty() || value.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| format!("{value:?} is not an address like 127.0.0.1:9464, nor `off`"))
}

/// Hours between backups: more than zero, at most a year.
fn parse_hours(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(h) if h.is_finite() && h > 0.0 && h <= 8760.0 => Ok(h),
        _ => Err(format!(
            "{value:?} is not a number of hours between 0 and 8760, like 24 or 0.5"
        )),
    }
}

/// A tile URL template: http(s), with `{z}`, `{x}` and `{y}`.
fn parse_tile_template(value: &str) -> Result<String, String> {
    let value = value.trim();
    let web = value.starts_with("https://") || value.starts_with("http://");
    if web && ["{z}", "{x}", "{y}"].iter().all(|p| value.contains(p)) {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "{value:?} is not a tile URL template like https://tiles.example.cn/{{z}}/{{x}}/{{y}}.png"
        ))
    }
}

/// An http(s) URL.
fn parse_web_url(value: &str) -> Result<String, String> {
    let value = value.trim();
    let host = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .map(|rest| rest.split('/').next().unwrap_or_default());
    match host {
        Some(host) if !host.is_empty() => Ok(value.to_owned()),
        _ => Err(format!(
            "{value:?} is not a web address like https://tiles.example.cn/styles/basic/style.json"
        )),
    }
}

/// An http(s) origin, `*` not allowed.
fn parse_web_origin(value: &str) -> Result<String, String> {
    match parse_origin(value)? {
        any if any == "*" => Err("`*` is not an origin the base map may use: name them".into()),
        origin => Ok(origin.trim_end_matches('/').to_owned()),
    }
}

/// A datum a web base map may use. BD-09 (Baidu) is refused: Baidu's tiles are not on the web
/// Mercator grid MapLibre draws, so no datum shift would put them right.
fn parse_datum(value: &str) -> Result<crate::domain::datum::Crs, String> {
    use crate::domain::datum::Crs;
    match Crs::parse(value.trim()) {
        Ok(crs @ (Crs::Wgs84 | Crs::Gcj02)) => Ok(crs),
        _ => Err(format!(
            "{value:?} is not a base-map datum: WGS84 or GCJ02 (Baidu's BD09 tiles use their own \
             grid, which the map cannot draw)"
        )),
    }
}

/// The reverse proxies whose forwarding headers are believed (`http::client`): addresses and
/// networks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Whether `ip` is one of them.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// Comma-separated addresses (`10.0.0.5`, `::1`) and networks (`10.0.0.0/8`, `fd00::/8`);
    /// empty for none.
    fn from_str(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|value| {
                value
                    .parse::<IpNet>()
                    .map(|net| net.trunc())
                    .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "{value:?} is not an IP address or CIDR range like 10.0.0.5 or \
                             192.168.10.0/24"
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
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
        /// The settings alone, as a command line, to read their defaults and environment.
        #[derive(Parser)]
        struct Defaults {
            #[command(flatten)]
            settings: Settings,
        }
        let mut s = Defaults::parse_from(["rural-registry"]).settings;
        s.database_url = database_url.into();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_proxies_are_addresses_and_networks() {
        let proxies: TrustedProxies = " 10.1.2.3/8, 192.168.10.7 ,fd00::/8,"
            .parse()
            .expect("a list");
        for (ip, trusted) in [
            ("10.200.0.1", true),
            ("11.0.0.1", false),
            ("192.168.10.7", true),
            ("192.168.10.8", false),
            ("fd12::1", true),
            ("2001:db8::1", false),
        ] {
            let ip: IpAddr = ip.parse().expect("an address");
            assert_eq!(proxies.contains(ip), trusted, "{ip}");
        }
        assert_eq!("".parse(), Ok(TrustedProxies::default()), "empty is none");
        for bad in ["proxy.local", "10.0.0.0/33", "10.0.0.1:80"] {
            let err = bad.parse::<TrustedProxies>().expect_err(bad);
            assert!(err.contains(bad), "the error names the value: {err}");
        }
    }
}
