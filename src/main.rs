use anyhow::Context as _;
use clap::Parser as _;
use rural_registry::app::App;
use rural_registry::config::{Cli, Command};
use rural_registry::{db, graphql, seed};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = EnvFilter::try_new(&cli.settings.log).with_context(|| {
        format!(
            "invalid log filter {:?} (setting RUST_LOG / --log)",
            cli.settings.log
        )
    })?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    match cli.command.unwrap_or(Command::Serve { no_demo: false }) {
        Command::Serve { no_demo } => {
            let app = App::build(cli.settings, !no_demo).await?;
            println!("rural-registry listening on http://{}", app.address());
            println!("GraphiQL: http://{}/graphiql", app.address());
            app.run_until_stopped().await
        }
        Command::Migrate => {
            let (conn, _) = db::connect(&cli.settings.database_url).await?;
            db::migrate(&conn).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Seed => {
            let (conn, _) = db::connect(&cli.settings.database_url).await?;
            db::migrate(&conn).await?;
            let report = seed::load(&conn, chrono::Local::now().date_naive()).await?;
            println!("added {} records: {report:?}", report.total());
            Ok(())
        }
        Command::ExportSchema { path } => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, graphql::sdl())
                .with_context(|| format!("writing {}", path.display()))?;
            println!("wrote {}", path.display());
            Ok(())
        }
    }
}
