//! `import`: a CSV or GeoJSON file into the registry, all or nothing unless `--partial`, with a
//! report of the refused rows; or, with `--template`, the empty CSV of a kind.

use std::path::PathBuf;

use anyhow::Context as _;
use rural_registry::db;
use rural_registry::domain::datum::Crs;
use rural_registry::services::export::Kind;
use rural_registry::services::import::{self, Encoding};

use super::progress::Progress;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What the file holds.
    #[arg(value_enum)]
    pub kind: Kind,
    /// The file (with `--template`: where to write the template; stdout when absent).
    #[arg(required_unless_present = "template")]
    pub file: Option<PathBuf>,
    /// Write an empty CSV file with the kind's column headers (UTF-8 with BOM), to fill in
    /// Excel.
    #[arg(long)]
    pub template: bool,
    /// Write the good rows even when others fail; the refused ones go to FILE.rejected.csv.
    #[arg(long)]
    pub partial: bool,
    /// Update the records whose natural key exists instead of refusing the row.
    #[arg(long)]
    pub upsert: bool,
    /// Where to write the report of refused rows (default: FILE.report.csv beside the input).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The file's text encoding.
    #[arg(long, value_enum, default_value = "auto")]
    pub encoding: Encoding,
    /// Datum of the file's coordinates: WGS84, GCJ02 or BD09; stored as WGS84.
    #[arg(long, default_value = "WGS84")]
    pub crs: String,
    /// Load assets in bulk: set the asset table's secondary indexes, foreign keys and triggers
    /// aside and build them again at the end. Several times faster for a large file, but it
    /// LOCKS THE ASSET TABLE against readers and writers until it commits: for an initial load
    /// or a maintenance window, not while the server is in use. Assets only.
    #[arg(long)]
    pub bulk: bool,
}

pub async fn run(database_url: &str, args: Args) -> anyhow::Result<()> {
    let Args {
        kind,
        file,
        template,
        partial,
        upsert,
        report,
        encoding,
        crs,
        bulk,
    } = args;
    if bulk && kind != Kind::Assets {
        anyhow::bail!(
            "--bulk loads assets only; import {} without it",
            kind.name()
        );
    }
    if template {
        let header = format!("\u{feff}{}\r\n", import::columns(kind).join(","));
        match &file {
            Some(path) => {
                std::fs::write(path, header)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            None => print!("{header}"),
        }
        return Ok(());
    }
    let crs = Crs::parse(&crs).with_context(|| format!("--crs {crs:?}"))?;
    let file = file.context("the file to import")?;
    let input =
        std::fs::File::open(&file).with_context(|| format!("reading {}", file.display()))?;
    let conn = super::open(database_url).await?;
    let actor = db::audit::Actor {
        label: "command line".into(),
        role: "ADMIN".into(),
    };
    let mode = import::Mode {
        partial,
        upsert,
        encoding,
        only_township: None,
        crs,
        bulk,
    };
    let name = file.display().to_string();
    eprintln!("importing {} from {name}", kind.name());
    let mut progress: Option<Progress> = None;
    let who = import::Importing {
        actor: &actor,
        file_name: &name,
        today: chrono::Local::now().date_naive(),
        job: None,
    };
    let outcome = import::run(&conn, kind, input, mode, who, |done, total| {
        progress
            .get_or_insert_with(|| Progress::new(total.saturating_sub(1) as u64, "rows"))
            .update(done as u64)
    })
    .await;
    if let Some(p) = progress.as_mut() {
        p.finish();
    }
    let outcome = outcome?;
    for e in &outcome.errors {
        eprintln!(
            "row {}: {} {} {:?}: {}",
            e.row, e.code, e.column, e.value, e.message
        );
    }
    if !outcome.errors.is_empty() {
        let path = report.unwrap_or_else(|| file.with_extension("report.csv"));
        std::fs::write(&path, outcome.errors_csv())
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "{} row(s) refused; report in {}",
            outcome.errors.len(),
            path.display()
        );
        if partial {
            let rejected = file.with_extension("rejected.csv");
            std::fs::write(&rejected, &outcome.rejected_csv)
                .with_context(|| format!("writing {}", rejected.display()))?;
            eprintln!(
                "the refused rows, to fix and import again: {}",
                rejected.display()
            );
        }
    }
    println!(
        "{} rows: {} inserted, {} updated, {} unchanged, {} refused{}",
        outcome.rows,
        outcome.inserted,
        outcome.updated,
        outcome.unchanged,
        outcome.errors.len(),
        if outcome.written {
            ""
        } else {
            "; nothing was written"
        }
    );
    if !outcome.errors.is_empty() && !partial {
        anyhow::bail!("the import was refused: fix the rows in the report and run it again");
    }
    Ok(())
}
