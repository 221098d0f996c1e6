//! `gen-synthetic`: add deterministic synthetic assets and households, for benchmarks.

use super::progress::Progress;
use super::synthetic;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many assets to generate.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=50_000_000))]
    pub assets: u64,
    /// The seed the data is drawn from.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub async fn run(database_url: &str, args: Args) -> anyhow::Result<()> {
    let Args { assets, seed } = args;
    let conn = super::open(database_url).await?;
    let mut progress = Progress::new(assets, "assets");
    let report = synthetic::generate(&conn, assets, seed, |done| progress.update(done));
    let report = report.await;
    progress.finish();
    let report = report?;
    let secs = report.elapsed.as_secs_f64();
    println!(
        "generated {} assets and {} households from seed {seed} in {secs:.1} s ({:.0} assets/s){}",
        report.assets,
        report.households,
        report.assets as f64 / secs.max(1e-3),
        if report.demo_records > 0 {
            format!(
                ", after loading the demo district ({} records)",
                report.demo_records
            )
        } else {
            String::new()
        }
    );
    Ok(())
}
