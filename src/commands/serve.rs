//! `serve` (also the command when none is named): migrate, load the demo district into an empty
//! database, and serve until SIGINT or SIGTERM.

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
    let app = App::build(args.settings, !args.no_demo).await?;
    println!("rural-registry listening on http://{}", app.address());
    println!("GraphiQL: http://{}/graphiql", app.address());
    if let Some(secret) = &app.demo_admin_token {
        println!(
            "Admin token for the demo district (shown once; `rural-registry token create` makes more):"
        );
        println!("  {secret}");
        println!("GraphiQL headers: {{\"Authorization\": \"Bearer {secret}\"}}");
    }
    app.run_until_stopped().await
}
