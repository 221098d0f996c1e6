//! The command line: parse it, log to stderr, run the command (src/commands, a file each).

mod commands;

use anyhow::Context as _;
use commands::{Cli, Command};
use rural_registry::config::LogFormat;
use tracing_subscriber::EnvFilter;

// glibc's malloc spent a quarter of a loaded server's CPU (arena locks between the runtime's
// threads, consolidation); mimalloc's thread-local heaps do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (shared, command) = Cli::parse_args();
    let filter = EnvFilter::try_new(&shared.log).with_context(|| {
        format!(
            "invalid log filter {:?} (setting RUST_LOG / --log)",
            shared.log
        )
    })?;
    // Logs go to stderr: stdout is the commands' data (an export, a token's secret).
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match shared.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }

    let database = shared.database_url.as_str();
    match command {
        Command::Serve(args) => commands::serve::run(*args).await,
        Command::Migrate => commands::migrate::run(database).await,
        Command::Seed => commands::seed::run(database).await,
        Command::Token { action } => commands::token::run(database, action).await,
        Command::GenSynthetic(args) => commands::gen_synthetic::run(database, args).await,
        Command::Export(args) => commands::export::run(database, args).await,
        Command::Import(args) => commands::import::run(database, args).await,
        Command::ExportSchema(args) => commands::export_schema::run(&args),
        Command::Report(args) => commands::report::run(database, args).await,
        Command::Backup(args) => commands::backup::backup(database, args).await,
        Command::Restore(args) => commands::backup::restore(database, args).await,
        Command::Check(args) => commands::check::run(database, args).await,
        Command::Sync(args) => commands::sync::run(database, args).await,
    }
}
