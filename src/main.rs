use anyhow::Context as _;
use clap::Parser as _;
use rural_registry::app::App;
use rural_registry::config::{Cli, Command, Settings, TokenCommand};
use rural_registry::domain::access::{Role, check_scope};
use rural_registry::services::{import, seed};
use rural_registry::{db, graphql, synthetic};
use tracing_subscriber::EnvFilter;

// glibc's malloc spent a quarter of a loaded server's CPU (arena locks between the runtime's
// threads, consolidation); mimalloc's thread-local heaps do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
            if let Some(secret) = &app.demo_admin_token {
                println!(
                    "Admin token for the demo district (shown once; `rural-registry token create` makes more):"
                );
                println!("  {secret}");
                println!("GraphiQL headers: {{\"Authorization\": \"Bearer {secret}\"}}");
            }
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
        Command::Token { action } => token(&cli.settings, action).await,
        Command::Export {
            kind,
            format,
            township,
            crs,
            encoding,
            output,
        } => {
            use futures_util::StreamExt as _;
            use std::io::Write as _;
            let crs = rural_registry::domain::datum::Crs::parse(&crs)
                .with_context(|| format!("--crs {crs:?}"))?;
            let (conn, _) = db::connect(&cli.settings.database_url).await?;
            db::migrate(&conn).await?;
            let township_id = match &township {
                Some(code) => Some(
                    db::places::township_by_code(&conn, code)
                        .await?
                        .with_context(|| format!("no township has the code {code}"))?
                        .id,
                ),
                None => None,
            };
            let caller = rural_registry::domain::access::Caller::Signed(
                rural_registry::domain::access::Actor {
                    token_id: 0,
                    label: "command line".into(),
                    role: Role::Admin,
                    township_id: None,
                    bank_code: None,
                },
            );
            let options = rural_registry::services::export::Options {
                kind,
                format,
                township_id,
                crs,
                encoding,
                caller,
            };
            let mut out: Box<dyn std::io::Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut chunks =
                std::pin::pin!(rural_registry::services::export::stream(conn, options));
            while let Some(chunk) = chunks.next().await {
                out.write_all(&chunk?)?;
            }
            out.flush()?;
            Ok(())
        }
        Command::Import {
            kind,
            file,
            template,
            partial,
            upsert,
            report,
            encoding,
            crs,
        } => {
            if template {
                let header = format!("\u{feff}{}\r\n", import::columns(kind).join(","));
                match &file {
                    Some(path) => std::fs::write(path, header)
                        .with_context(|| format!("writing {}", path.display()))?,
                    None => print!("{header}"),
                }
                return Ok(());
            }
            let crs = rural_registry::domain::datum::Crs::parse(&crs)
                .with_context(|| format!("--crs {crs:?}"))?;
            let file = file.context("the file to import")?;
            let input = std::fs::File::open(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let (conn, _) = db::connect(&cli.settings.database_url).await?;
            db::migrate(&conn).await?;
            let actor = db::audit::Actor {
                label: "command line".into(),
                role: "ADMIN".into(),
            };
            let mode = import::Mode {
                partial,
                upsert,
                encoding,
                only_township: None,
                crs,
            };
            let name = file.display().to_string();
            eprintln!("importing {} from {name}", kind.name());
            let mut progress: Option<synthetic::Progress> = None;
            let who = import::Importing {
                actor: &actor,
                file_name: &name,
                today: chrono::Local::now().date_naive(),
            };
            let outcome = import::run(&conn, kind, input, mode, who, |done, total| {
                progress
                    .get_or_insert_with(|| {
                        synthetic::Progress::new(total.saturating_sub(1) as u64, "rows")
                    })
                    .update(done as u64)
            })
            .await;
            if let Some(p) = progress.as_mut() {
                p.finish();
            }
            let outcome = outcome?;
            for e in &outcome.errors {
                eprintln!(
                    "row {}: {} {} {:?}: {}",
                    e.row, e.code, e.column, e.value, e.message
                );
            }
            if !outcome.errors.is_empty() {
                let path = report.unwrap_or_else(|| file.with_extension("report.csv"));
                std::fs::write(&path, outcome.errors_csv())
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!(
                    "{} row(s) refused; report in {}",
                    outcome.errors.len(),
                    path.display()
                );
                if partial {
                    let rejected = file.with_extension("rejected.csv");
                    std::fs::write(&rejected, &outcome.rejected_csv)
                        .with_context(|| format!("writing {}", rejected.display()))?;
                    eprintln!(
                        "the refused rows, to fix and import again: {}",
                        rejected.display()
                    );
                }
            }
            println!(
                "{} rows: {} inserted, {} updated, {} refused{}",
                outcome.rows,
                outcome.inserted,
                outcome.updated,
                outcome.errors.len(),
                if outcome.written {
                    ""
                } else {
                    "; nothing was written"
                }
            );
            if !outcome.errors.is_empty() && !partial {
                anyhow::bail!(
                    "the import was refused: fix the rows in the report and run it again"
                );
            }
            Ok(())
        }
        Command::GenSynthetic { assets, seed } => {
            let (conn, _) = db::connect(&cli.settings.database_url).await?;
            db::migrate(&conn).await?;
            let mut progress = synthetic::Progress::new(assets, "assets");
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

async fn token(settings: &Settings, action: TokenCommand) -> anyhow::Result<()> {
    let (conn, _) = db::connect(&settings.database_url).await?;
    db::migrate(&conn).await?;
    match action {
        TokenCommand::Create {
            role,
            township,
            bank,
            label,
        } => {
            let role = Role::from(role);
            check_scope(role, township.is_some(), bank.is_some())?;
            let label = rural_registry::domain::text::required("label", &label, 100)?;
            let township_id = match &township {
                Some(code) => Some(
                    db::places::township_by_code(&conn, code)
                        .await?
                        .with_context(|| format!("no township has the code {code}"))?
                        .id,
                ),
                None => None,
            };
            let (row, secret) =
                db::access::create(&conn, &label, role, township_id, bank.as_deref()).await?;
            eprintln!(
                "created token {} for {label:?}: {role}{}",
                row.id,
                scope(township.as_deref(), bank.as_deref())
            );
            eprintln!("the secret follows on stdout; it is not stored and cannot be shown again");
            println!("{secret}");
        }
        TokenCommand::Revoke { id } => {
            if db::access::revoke(&conn, id).await? {
                eprintln!("revoked token {id}");
            } else {
                anyhow::bail!(
                    "no live token has the number {id} (see `rural-registry token list`)"
                );
            }
        }
        TokenCommand::List => {
            let townships: std::collections::HashMap<i64, String> =
                db::places::all_townships(&conn)
                    .await?
                    .into_iter()
                    .map(|t| (t.id, t.code))
                    .collect();
            println!(
                "{:>4}  {:<6} {:<14} {:<20} {:<20} {:<20} label",
                "id", "role", "scope", "created", "last used", "revoked"
            );
            for t in db::access::list(&conn).await? {
                let township = t
                    .township_id
                    .and_then(|id| townships.get(&id))
                    .map(String::as_str);
                let when = |d: Option<chrono::DateTime<chrono::Utc>>| {
                    d.map_or("-".to_owned(), |d| {
                        d.format("%Y-%m-%d %H:%M:%S").to_string()
                    })
                };
                println!(
                    "{:>4}  {:<6} {:<14} {:<20} {:<20} {:<20} {}",
                    t.id,
                    t.role,
                    township.or(t.bank_code.as_deref()).unwrap_or("district"),
                    when(Some(t.created_at)),
                    when(t.last_used_at),
                    when(t.revoked_at),
                    t.label
                );
            }
        }
    }
    Ok(())
}

fn scope(township: Option<&str>, bank: Option<&str>) -> String {
    match (township, bank) {
        (Some(t), _) => format!(" in township {t}"),
        (_, Some(b)) => format!(" for bank {b}"),
        _ => String::new(),
    }
}
