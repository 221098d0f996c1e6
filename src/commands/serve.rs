//! `serve` (also the command when none is named): migrate, load the demo district into an empty
//! database, and serve until SIGINT or SIGTERM.

use std::io::Write as _;

use rural_registry::app::App;
use rural_registry::config::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not load the demo district into an empty database.
    #[arg(long)]
    pub no_demo: bool,
    #[command(flatten)]
    pub settings: Settings,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let demo = !args.no_demo && !args.settings.read_only;
    let app = App::build(args.settings, demo).await?;
    let mut said = format!(
        "rural-registry listening on http://{0}\nGraphiQL: http://{0}/graphiql\n",
        app.address()
    );
    if let Some(metrics) = app.metrics_address() {
        said.push_str(&format!("Metrics: http://{metrics}/metrics\n"));
    }
    if let Some(secret) = &app.demo_admin_token {
        said.push_str(&format!(
            "Admin token for the demo district (shown once; `rural-registry token create` makes \
             more):\n  {secret}\nGraphiQL headers: {{\"Authorization\": \"Bearer {secret}\"}}\n"
        ));
    }
    // Not `println!`, which panics when stdout is closed: a supervisor that closed it, or a
    // reader that stopped after the address, must not take the server down.
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(said.as_bytes()).and_then(|()| out.flush()) {
        tracing::warn!(error = %e, "could not print the server's address to stdout");
    }
    drop(out);
    app.run_until_stopped().await
}
