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
    let cases: [Case; 4] = [
        (&["--listen", "nowhere"], &[], "--listen"),
        (&["migrate"], &[("LISTEN_ADDR", "300.1.1.1:80")], "--listen"),
        (
            &["migrate", "--database-url", "mysql://x/y"],
            &[],
            "DATABASE_URL",
        ),
        (
            &["migrate", "--max-query-depth", "5"],
            &[],
            "--max-query-depth",
        ),
    ];
    for (args, env, named) in cases {
        let out = run(args, env);
        assert!(!out.status.success(), "{args:?} must fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(named), "{args:?}: {stderr}");
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
