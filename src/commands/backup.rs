//! `backup` and `restore`: a copy of the database taken while the server runs, and putting one
//! back (`services::backup`).

use std::path::PathBuf;

use rural_registry::services::backup;

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The file to write; never overwritten. SQLite: a database file; PostgreSQL: a
    /// `pg_dump --format=custom` archive.
    #[arg(long, short)]
    pub output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A file written by `rural-registry backup`.
    pub file: PathBuf,
    /// Replace a database that holds records.
    #[arg(long)]
    pub force: bool,
}

pub async fn backup(database_url: &str, args: BackupArgs) -> anyhow::Result<()> {
    let written = backup::backup(database_url, &args.output).await?;
    println!(
        "wrote {} ({} bytes, schema {}), checked",
        written.path.display(),
        written.bytes,
        written.migration
    );
    Ok(())
}

pub async fn restore(database_url: &str, args: RestoreArgs) -> anyhow::Result<()> {
    let restored = backup::restore(database_url, &args.file, args.force).await?;
    println!(
        "restored {} (schema {})",
        args.file.display(),
        restored.migration
    );
    for m in &restored.migrated {
        println!("  then applied {m}");
    }
    Ok(())
}
