//! `check`: the integrity check (`services::check`), as a report on stdout (or JSON) and an exit
//! status a scheduler can act on.

use rural_registry::services::check;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write the report as JSON instead of lines of text.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(database_url: &str, args: Args) -> anyhow::Result<()> {
    let conn = super::open(database_url).await?;
    let report = check::run(&conn).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "check of {} ({}) at {}",
            rural_registry::db::redact(database_url),
            report.engine,
            report.checked_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        for o in &report.outcomes {
            let verdict = if o.problems == 0 { "ok  " } else { "FAIL" };
            println!(
                "{verdict}  {:<16} {:<10} {} of {} break it: {}",
                o.code, o.name, o.problems, o.examined, o.rule
            );
            for line in &o.examples {
                println!("        - {line}");
            }
            if o.problems > o.examples.len() as u64 {
                println!(
                    "        … and {} more",
                    o.problems - o.examples.len() as u64
                );
            }
        }
    }
    conn.close().await?;
    anyhow::ensure!(
        report.ok(),
        "the check found {} problem(s): see the report above",
        report.problems()
    );
    if !args.json {
        println!("no problems found");
    }
    Ok(())
}
