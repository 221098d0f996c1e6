//! `export-schema`: write the GraphQL schema (SDL) to a file.

use std::path::PathBuf;

use anyhow::Context as _;
use rural_registry::graphql;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write it.
    #[arg(default_value = "schema/schema.graphql")]
    pub path: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let path = &args.path;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, graphql::sdl()).with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}
