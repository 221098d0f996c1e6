//! `seed`: load the demo district; a second run adds nothing.

use rural_registry::services::seed;

pub async fn run(database_url: &str) -> anyhow::Result<()> {
    let conn = super::open(database_url).await?;
    let report = seed::load(&conn, chrono::Local::now().date_naive()).await?;
    println!("added {} records: {report:?}", report.total());
    Ok(())
}
