//! `migrate`: bring the database schema up to date. The migrations applied are logged; an
//! up-to-date database logs nothing.

pub async fn run(database_url: &str) -> anyhow::Result<()> {
    super::open(database_url).await?;
    println!("database is up to date");
    Ok(())
}
