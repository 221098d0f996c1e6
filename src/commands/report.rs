//! `report`: the year's figures for Excel, the district's by township or a township's by village,
//! as CSV to a file or stdout.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use rural_registry::db;
use rural_registry::domain::access::{Actor, Caller, Role};
use rural_registry::services::export::Encoding;
use rural_registry::services::report;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The year whose flows are counted (registrations, revitalizations, disbursements,
    /// dividends); stocks are as of today.
    #[arg(long)]
    pub year: i32,
    /// One township (12-digit code), by village; the district by township when absent.
    #[arg(long)]
    pub township: Option<String>,
    /// Text encoding of the CSV file.
    #[arg(long, value_enum, default_value = "utf8")]
    pub encoding: Encoding,
    /// Where to write it; stdout when absent.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

pub async fn run(database_url: &str, args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        (2000..=2100).contains(&args.year),
        "--year is 2000 to 2100, got {}",
        args.year
    );
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
    // The command line is the district office.
    let caller = Caller::Signed(Actor {
        token_id: 0,
        label: "command line".into(),
        role: Role::Admin,
        township_id: None,
        bank_code: None,
    });
    let bytes =
        report::statistics_csv(&conn, &caller, args.year, township_id, args.encoding).await?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            out.flush()?;
        }
    }
    Ok(())
}
