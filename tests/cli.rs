//! The binary's command line: a bad setting stops start-up with a message naming it.

use std::process::Command;

fn run(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rural-registry"));
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("LISTEN_ADDR")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    match cmd.output() {
        Ok(out) => out,
        Err(err) => panic!("the binary does not run: {err}"),
    }
}

/// Arguments, environment, and the setting the error must name.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[test]
fn bad_settings_name_themselves() {
    // The server's settings are `serve`'s (the command when none is named); every command
    // takes the database's.
    let cases: [Case; 8] = [
        (&["--listen", "nowhere"], &[], "--listen"),
        (&["serve"], &[("LISTEN_ADDR", "300.1.1.1:80")], "--listen"),
        (
            &["migrate", "--database-url", "mysql://x/y"],
            &[],
            "DATABASE_URL",
        ),
        (
            &["export", "parties"],
            &[("DATABASE_URL", "x.db")],
            "DATABASE_URL",
        ),
        (
            &["serve", "--max-query-depth", "5"],
            &[],
            "--max-query-depth",
        ),
        (
            &[],
            &[("CORS_ORIGINS", "map.example.cn/path")],
            "--cors-origins",
        ),
        (
            &["serve"],
            &[("METRICS_LISTEN", "9464")],
            "--metrics-listen",
        ),
        (&["migrate", "--log-format", "yaml"], &[], "--log-format"),
    ];
    for (args, env, named) in cases {
        let out = run(args, env);
        assert!(!out.status.success(), "{args:?} must fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(named), "{args:?}: {stderr}");
    }
}

/// The settings `docs/deploy.md` and the `Containerfile` name are the server's own, so the
/// deployment guide cannot drift from the binary.
#[test]
fn the_deployment_guide_names_only_real_settings() {
    let help = run(&["serve", "--help"], &[]);
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let root = env!("CARGO_MANIFEST_DIR");
    let guide = std::fs::read_to_string(format!("{root}/docs/deploy.md")).expect("docs/deploy.md");
    let image = std::fs::read_to_string(format!("{root}/Containerfile")).expect("Containerfile");
    let mut named = Vec::new();
    for line in guide.lines().filter(|l| l.starts_with("| `")) {
        let first = line.split('|').nth(1).unwrap_or_default();
        named.extend(first.split('`').skip(1).step_by(2).map(str::to_owned));
    }
    for line in image.lines() {
        let line = line.trim().trim_start_matches("ENV ");
        if let Some((name, _)) = line.split_once('=')
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        {
            named.push(name.to_owned());
        }
    }
    assert!(named.len() >= 10, "{named:?}");
    for name in &named {
        assert!(
            help.contains(&format!("[env: {name}")),
            "{name} is not a setting of `serve`"
        );
    }
}

#[test]
fn the_server_options_are_serves_alone() {
    let help = |args: &[&str]| {
        let out = run(args, &[]);
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    for args in [
        &["import", "--help"][..],
        &["migrate", "--help"],
        &["token", "create", "--help"],
    ] {
        let text = help(args);
        assert!(
            !text.contains("--listen") && !text.contains("--max-body-bytes"),
            "{args:?}: {text}"
        );
        assert!(
            text.contains("--database-url") && text.contains("--log"),
            "{args:?}: {text}"
        );
    }
    let serve = help(&["serve", "--help"]);
    for option in [
        "--listen",
        "--max-body-bytes",
        "--cors-origins",
        "--database-url",
        "--log",
        "--log-format",
        "--metrics-listen",
        "--shutdown-grace-secs",
    ] {
        assert!(
            serve.contains(option),
            "serve --help lacks {option}: {serve}"
        );
    }

    // Another command neither takes the server's options nor reads their environment.
    let out = run(
        &["--listen", "127.0.0.1:0", "import", "--template", "assets"],
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
    let out = run(
        &["import", "--template", "assets"],
        &[("LISTEN_ADDR", "nowhere"), ("MAX_QUERY_DEPTH", "5")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What keeps a fresh database alive until the test ends: a temporary folder, or a PostgreSQL
/// database that is dropped.
#[expect(
    dead_code,
    reason = "never read: held until the test ends for what its Drop deletes"
)]
enum Fresh {
    Sqlite(tempfile::TempDir),
    Postgres(PostgresDatabase),
}

/// A fresh database of each engine under test, by URL: SQLite, and PostgreSQL when
/// `TEST_DATABASE_URL` names a server.
fn fresh_databases() -> anyhow::Result<Vec<(String, Fresh)>> {
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}/registry.db?mode=rwc", dir.path().display());
    let mut out = vec![(sqlite, Fresh::Sqlite(dir))];
    if let Some(admin) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        let name = format!("rr_cli_test_{}", std::process::id());
        let base = admin.rsplit_once('/').map_or("", |(base, _)| base);
        let url = format!("{base}/{name}");
        out.push((url, Fresh::Postgres(PostgresDatabase::create(admin, name)?)));
    }
    Ok(out)
}

/// A PostgreSQL database of a test's own, dropped at the end.
struct PostgresDatabase {
    admin: String,
    name: String,
}

impl PostgresDatabase {
    fn create(admin: String, name: String) -> anyhow::Result<Self> {
        let db = Self { admin, name };
        db.drop_database()?;
        db.execute(&format!("CREATE DATABASE \"{}\"", db.name))?;
        Ok(db)
    }

    fn drop_database(&self) -> anyhow::Result<()> {
        self.execute(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ))
    }

    fn execute(&self, sql: &str) -> anyhow::Result<()> {
        use sea_orm::ConnectionTrait as _;
        tokio::runtime::Runtime::new()?.block_on(async {
            let conn = sea_orm::Database::connect(&self.admin).await?;
            conn.execute_unprepared(sql).await?;
            Ok(())
        })
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        if let Err(err) = self.drop_database() {
            eprintln!("cannot drop the test database {}: {err}", self.name);
        }
    }
}

#[test]
fn migrate_names_the_migrations_it_applies_and_is_silent_when_there_are_none() {
    use migrations::MigratorTrait as _;
    let names: Vec<String> = migrations::Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    for (url, _fresh) in fresh_databases().expect("fresh databases") {
        let first = run(&["--database-url", &url, "migrate"], &[]);
        assert!(first.status.success(), "{url}");
        let stderr = String::from_utf8_lossy(&first.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(
            lines.len(),
            names.len(),
            "{url}: a line a migration: {stderr}"
        );
        for (line, name) in lines.iter().zip(&names) {
            assert!(
                line.contains(&format!("applied migration {name}")),
                "{url}: {stderr}"
            );
        }

        let again = run(&["migrate", "--database-url", &url], &[]);
        assert!(again.status.success(), "{url}");
        assert_eq!(
            String::from_utf8_lossy(&again.stderr),
            "",
            "{url}: nothing to say"
        );
        assert_eq!(
            String::from_utf8_lossy(&again.stdout),
            "database is up to date\n"
        );
    }
}

#[test]
fn export_schema_writes_the_sdl() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("out/schema.graphql");
    let out = run(&["export-schema", path.to_str().expect("utf-8 path")], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sdl = std::fs::read_to_string(&path).expect("written");
    assert_eq!(sdl, rural_registry::graphql::sdl());
}

#[test]
fn serve_prints_its_address_answers_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db?mode=rwc", dir.path().display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_rural-registry"))
        .args([
            "--database-url",
            &url,
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--log",
            "warn",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a line").expect("text");
    let address = first.rsplit(' ').next().expect("an address").to_owned();
    assert!(address.starts_with("http://127.0.0.1:"), "{first}");
    let graphiql = lines.next().expect("a line").expect("text");
    assert_eq!(graphiql, format!("GraphiQL: {address}/graphiql"));
    let metrics = lines.next().expect("a line").expect("text");
    assert!(
        metrics.starts_with("Metrics: http://127.0.0.1:") && metrics.ends_with("/metrics"),
        "{metrics}"
    );
    let _ = lines
        .next()
        .expect("the admin token heading")
        .expect("text");
    let secret = lines
        .next()
        .expect("the admin token")
        .expect("text")
        .trim()
        .to_owned();
    let headers = lines
        .next()
        .expect("the GraphiQL headers line")
        .expect("text");
    assert!(
        headers.contains(&format!("\"Bearer {secret}\"")),
        "{headers}"
    );

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let body: serde_json::Value = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{address}/graphql"))
            .bearer_auth(&secret)
            .json(&serde_json::json!({ "query": "{ townships(first: 1) { totalCount } } " }))
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("JSON")
    });
    assert_eq!(
        body["data"]["townships"]["totalCount"], 8,
        "the demo district was loaded on first start"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("the server exits");
    assert!(status.success(), "a graceful stop exits 0, got {status}");
}

#[test]
fn token_commands_print_the_secret_alone_and_never_list_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db?mode=rwc", dir.path().display());
    let db = ["--database-url", url.as_str()];
    assert!(run(&[&db[..], &["seed"]].concat(), &[]).status.success());

    let created = run(
        &[
            &db[..],
            &[
                "token",
                "create",
                "--role",
                "cadre",
                "--township",
                "369901102000",
                "--label",
                "东川镇 王干事",
            ],
        ]
        .concat(),
        &[],
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let stdout = String::from_utf8(created.stdout).expect("utf-8");
    let secret = stdout.trim_end();
    assert!(
        secret.starts_with("rr_") && !secret.contains(char::is_whitespace),
        "only the secret on stdout: {stdout:?}"
    );

    let listed = run(&[&db[..], &["token", "list"]].concat(), &[]);
    let listing = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listing.contains("东川镇 王干事") && listing.contains("369901102000"),
        "{listing}"
    );
    assert!(
        !listing.contains(&secret[3..]),
        "the list never shows a secret"
    );

    assert!(
        run(&[&db[..], &["token", "revoke", "1"]].concat(), &[])
            .status
            .success()
    );
    assert!(
        !run(&[&db[..], &["token", "revoke", "1"]].concat(), &[])
            .status
            .success(),
        "revoked already"
    );

    let unscoped = run(
        &[
            &db[..],
            &["token", "create", "--role", "cadre", "--label", "x"],
        ]
        .concat(),
        &[],
    );
    assert!(!unscoped.status.success());
    assert!(String::from_utf8_lossy(&unscoped.stderr).contains("--township"));
    let unknown = run(
        &[
            &db[..],
            &[
                "token",
                "create",
                "--role",
                "cadre",
                "--township",
                "369901199000",
                "--label",
                "x",
            ],
        ]
        .concat(),
        &[],
    );
    assert!(!unknown.status.success());
}

/// The synthetic assets and their owners in a database, without the load's timestamps.
fn synthetic_rows(url: &str) -> anyhow::Result<(Vec<serde_json::Value>, Vec<serde_json::Value>)> {
    use rural_registry::db::entities::{idle_asset, party};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let json = |v: serde_json::Result<serde_json::Value>| {
        let mut v = v?;
        if let Some(o) = v.as_object_mut() {
            o.remove("created_at");
            o.remove("updated_at");
        }
        Ok(v)
    };
    tokio::runtime::Runtime::new()?.block_on(async {
        let (conn, _) = rural_registry::db::connect(url).await?;
        let assets = idle_asset::Entity::find()
            .filter(idle_asset::Column::Code.starts_with("SYN-"))
            .order_by_asc(idle_asset::Column::Id)
            .all(&conn)
            .await?;
        let parties = party::Entity::find()
            .filter(party::Column::HouseholdNo.starts_with("S"))
            .order_by_asc(party::Column::Id)
            .all(&conn)
            .await?;
        Ok((
            assets
                .iter()
                .map(serde_json::to_value)
                .map(json)
                .collect::<anyhow::Result<_>>()?,
            parties
                .iter()
                .map(serde_json::to_value)
                .map(json)
                .collect::<anyhow::Result<_>>()?,
        ))
    })
}

#[test]
fn gen_synthetic_draws_the_same_rows_from_the_same_seed_and_never_repeats_one() {
    // Two transactions' worth, so that a batch boundary is crossed.
    const N: usize = 10_300;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = |name: &str| format!("sqlite://{}/{name}.db?mode=rwc", dir.path().display());
    let generate = |name: &str, seed: &str| {
        run(
            &[
                "--database-url",
                &url(name),
                "--log",
                "warn",
                "gen-synthetic",
                "--assets",
                &N.to_string(),
                "--seed",
                seed,
            ],
            &[],
        )
    };
    for (name, seed) in [("a", "7"), ("b", "7"), ("c", "8")] {
        let out = generate(name, seed);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("generated {N} assets")),
            "{stdout}"
        );
    }
    let (a, a_owners) = synthetic_rows(&url("a")).expect("read");
    let (b, b_owners) = synthetic_rows(&url("b")).expect("read");
    let (c, _) = synthetic_rows(&url("c")).expect("read");
    assert_eq!(a.len(), N);
    assert!(a == b && a_owners == b_owners, "same seed, same rows");
    assert_eq!(c.len(), N);
    assert_ne!(a, c, "another seed, other rows");
    assert!(a_owners.len() < N, "some households own two assets");
    assert!(
        a.iter().all(|r| r["cell"].is_i64()),
        "every asset has its spatial key"
    );

    let again = generate("a", "7");
    assert!(!again.status.success(), "the same seed twice is refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("seed 7"));
    assert_eq!(
        synthetic_rows(&url("a")).expect("read").0.len(),
        N,
        "nothing was added"
    );

    let other = generate("a", "8");
    assert!(
        other.status.success(),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
    let (both, _) = synthetic_rows(&url("a")).expect("read");
    assert_eq!(both.len(), 2 * N, "another seed adds a distinct batch");
    let place = |r: &serde_json::Value| (r["code"].clone(), r["lon"].clone(), r["lat"].clone());
    assert!(
        both[N..].iter().map(place).eq(c.iter().map(place)),
        "drawn as in a database of its own"
    );
}

#[test]
fn export_writes_a_township_as_csv_and_all_townships_as_geojson() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db?mode=rwc", dir.path().display());
    let db = ["--database-url", url.as_str()];
    assert!(run(&[&db[..], &["seed"]].concat(), &[]).status.success());
    let file = dir.path().join("assets.csv");
    let file_arg = file.display().to_string();
    let out = run(
        &[
            &db[..],
            &[
                "export",
                "assets",
                "--township",
                "369901102000",
                "--output",
                &file_arg,
            ],
        ]
        .concat(),
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).expect("the file");
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .expect("a header")
            .starts_with("\u{feff}code,kind,status")
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() > 10 && rows.iter().all(|r| r.contains(",369901102000,")));

    let out = run(
        &[&db[..], &["export", "townships", "--format", "geojson"]].concat(),
        &[],
    );
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("GeoJSON on stdout");
    assert_eq!(doc["features"].as_array().map(Vec::len), Some(8));

    let out = run(
        &[&db[..], &["export", "assets", "--township", "999"]].concat(),
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("999"));
}

#[test]
fn import_writes_a_template_and_refuses_a_bad_file_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db?mode=rwc", dir.path().display());
    let db = ["--database-url", url.as_str()];
    assert!(run(&[&db[..], &["seed"]].concat(), &[]).status.success());
    let template = run(&["import", "--template", "assets"], &[]);
    assert!(template.status.success());
    let header = String::from_utf8(template.stdout).expect("UTF-8");
    assert!(
        header.starts_with("\u{feff}code,kind,status,townshipCode,villageCode,ownerKey,lon,lat")
    );

    let file = dir.path().join("survey.csv");
    std::fs::write(
        &file,
        format!("{header}BAD-1,IDLE_FARMHOUSE,,,,nobody,117.16,28.16,,,,,,,,,,\n"),
    )
    .expect("write");
    let file_arg = file.display().to_string();
    let out = run(&[&db[..], &["import", "assets", &file_arg]].concat(), &[]);
    assert!(!out.status.success(), "a refused import fails");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("row 2") && stderr.contains("ownerKey"),
        "{stderr}"
    );
    let report = std::fs::read_to_string(dir.path().join("survey.report.csv")).expect("a report");
    assert!(report.starts_with("row,column,value,code,message"));
    assert!(report.contains("2,ownerKey,nobody,BAD_INPUT"), "{report}");
}

#[test]
fn report_writes_the_years_figures_by_township_and_by_village() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db?mode=rwc", dir.path().display());
    let db = ["--database-url", url.as_str()];
    assert!(run(&[&db[..], &["seed"]].concat(), &[]).status.success());
    let out = run(&[&db[..], &["report", "--year", "2025"]].concat(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    assert!(
        lines
            .next()
            .is_some_and(|h| h.starts_with("level,code,name,assets,floorAreaM2")),
        "{text}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(
        rows.len(),
        1 + 8,
        "the district, then its 8 townships: {text}"
    );
    assert!(rows[0].starts_with("DISTRICT,,,400,"), "{text}");
    let township_assets: i64 = rows[1..]
        .iter()
        .map(|r| {
            r.split(',')
                .nth(3)
                .and_then(|n| n.parse::<i64>().ok())
                .expect("assets")
        })
        .sum();
    assert_eq!(township_assets, 400, "the townships add up to the district");

    let file = dir.path().join("report.csv");
    let file_arg = file.display().to_string();
    let out = run(
        &[
            &db[..],
            &[
                "report",
                "--year",
                "2025",
                "--township",
                "369901102000",
                "--encoding",
                "gb18030",
                "--output",
                &file_arg,
            ],
        ]
        .concat(),
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&file).expect("the file");
    let (text, _, bad) = encoding_rs::GB18030.decode(&bytes);
    assert!(!bad);
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("TOWNSHIP,369901102000,")),
        "{text}"
    );
    assert!(
        text.lines()
            .skip(2)
            .all(|l| l.starts_with("VILLAGE,369901102")),
        "{text}"
    );
    let bad_year = run(&[&db[..], &["report", "--year", "1900"]].concat(), &[]);
    assert!(!bad_year.status.success());
}
