//! `export`: records as CSV or GeoJSON, to a file or stdout (then stdout holds the data alone).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use futures_util::StreamExt as _;
use rural_registry::db;
use rural_registry::domain::access::{Actor, Caller, Role};
use rural_registry::domain::datum::Crs;
use rural_registry::services::export::{self, Encoding, Format, Kind, Options};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to export.
    #[arg(value_enum)]
    pub kind: Kind,
    /// File format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Only records of this township (12-digit code).
    #[arg(long)]
    pub township: Option<String>,
    /// Datum of the coordinates written: WGS84, GCJ02 or BD09.
    #[arg(long, default_value = "WGS84")]
    pub crs: String,
    /// Text encoding of a CSV file.
    #[arg(long, value_enum, default_value = "utf8")]
    pub encoding: Encoding,
    /// Where to write it; stdout when absent.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// The command line is the district office: it sees every field of every township.
pub fn district_office() -> Caller {
    Caller::Signed(Actor {
        token_id: 0,
        label: "command line".into(),
        role: Role::Admin,
        township_id: None,
        bank_code: None,
    })
}

pub async fn run(database_url: &str, args: Args) -> anyhow::Result<()> {
    let crs = Crs::parse(&args.crs).with_context(|| format!("--crs {:?}", args.crs))?;
    let conn = super::open(database_url).await?;
    let township_id = match &args.township {
        Some(code) => Some(
            db::places::township_by_code(&conn, code)
                .await?
                .with_context(|| format!("no township has the code {code}"))?
                .id,
        ),
        None => None,
    };
    let caller = district_office();
    let options = Options {
        kind: args.kind,
        format: args.format,
        township_id,
        crs,
        encoding: args.encoding,
        caller,
        only: None,
    };
    let mut out: Box<dyn std::io::Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut chunks = std::pin::pin!(export::stream(conn, options));
    while let Some(chunk) = chunks.next().await {
        out.write_all(&chunk?)?;
    }
    out.flush()?;
    Ok(())
}
