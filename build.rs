//! Puts GraphiQL's browser assets into `OUT_DIR/graphiql/` for `src/http/graphiql.rs` to embed.
//!
//! Township offices have no internet, so the GraphiQL page cannot load React and GraphiQL from a
//! CDN: the binary carries them. They are committed, gzip-compressed, in `assets/graphiql/`
//! (see its README) rather than fetched here, because township offices and CI machines may reach
//! no npm registry, an HTTP client in a build script would pull a TLS stack into every build and
//! need the network on every clean build, and git stores them compressed anyway.
//!
//! Each file is decompressed and checked against the SHA-512 pinned below: a build either embeds
//! exactly the reviewed bytes or fails, naming the file and both hashes.

use std::env;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::read::GzDecoder;
use sha2::{Digest as _, Sha512};

/// Where the compressed files are committed, relative to the package root.
const SOURCE_DIR: &str = "assets/graphiql";

/// One npm package the files come from. `env` names the variable through which
/// `src/http/graphiql.rs` learns the `name@version`, for its asset URLs: they are cached as
/// immutable, so they must change whenever a version does.
struct Package {
    env: &'static str,
    spec: &'static str,
}

/// One file served to the browser: its package, its name (`assets/graphiql/<name>.gz` here,
/// `OUT_DIR/graphiql/<name>` once decompressed), and the SHA-512 of its uncompressed bytes in SRI
/// form, as `assets/graphiql/update.sh` prints it.
struct Asset {
    package: &'static str,
    name: &'static str,
    integrity: &'static str,
}

/// To change a version: run `assets/graphiql/update.sh`, review, and pin what it prints here
/// (see `assets/graphiql/README.md`). Whatever is pinned ships in the binary.
const PACKAGES: [Package; 3] = [
    Package {
        env: "GRAPHIQL_NPM_GRAPHIQL",
        spec: "graphiql@3.8.3",
    },
    Package {
        env: "GRAPHIQL_NPM_REACT",
        spec: "react@18.3.1",
    },
    Package {
        env: "GRAPHIQL_NPM_REACT_DOM",
        spec: "react-dom@18.3.1",
    },
];

const ASSETS: [Asset; 4] = [
    Asset {
        package: "graphiql@3.8.3",
        name: "graphiql.min.js",
        integrity: "sha512-3ZcfBS0oJlWv+AMZNM6tpTHjeNRBK93phPETcJWL2MmFHQyjsRnouZWUm6C17fU8rXgI+aUEVw5wk5YyFQ7jqg==",
    },
    Asset {
        package: "graphiql@3.8.3",
        name: "graphiql.min.css",
        integrity: "sha512-QtAPrZpMjJp07BxaOEw3s8nRQ5Odrr8P5gpIEw4C42bMt95fVkTfX4vSV24NHg06UVX9sRwPkTBOPFXDQrJg/A==",
    },
    Asset {
        package: "react@18.3.1",
        name: "react.production.min.js",
        integrity: "sha512-QVs8Lo43F9lSuBykadDb0oSXDL/BbZ588urWVCRwSIoewQv/Ewg1f84mK3U790bZ0FfhFa1YSQUmIhG+pIRKeg==",
    },
    Asset {
        package: "react-dom@18.3.1",
        name: "react-dom.production.min.js",
        integrity: "sha512-6a1107rTlA4gYpgHAqbwLAtxmWipBdJFcq8y5S/aTge3Bp+VAklABm2LO+Kg51vOWR9JMZq1Ovjl5tpluNpTeQ==",
    },
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for asset in &ASSETS {
        println!("cargo:rerun-if-changed={SOURCE_DIR}/{}.gz", asset.name);
    }
    for package in &PACKAGES {
        println!("cargo:rustc-env={}={}", package.env, package.spec);
    }
    if let Err(message) = run() {
        // A warning shows even when cargo hides the build script's output; the panic fails the
        // build with the same text.
        for line in message.lines() {
            println!("cargo:warning={line}");
        }
        panic!("\n{message}\n");
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(
        env::var_os("CARGO_MANIFEST_DIR").ok_or("cargo did not set CARGO_MANIFEST_DIR")?,
    );
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("cargo did not set OUT_DIR")?);
    let dest = out_dir.join("graphiql");
    fs::create_dir_all(&dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;

    for asset in &ASSETS {
        let source = manifest_dir
            .join(SOURCE_DIR)
            .join(format!("{}.gz", asset.name));
        let bytes = decompress(&source)?;
        let found = sri_sha512(&bytes);
        if found != asset.integrity {
            return Err(format!(
                "{SOURCE_DIR}/{}.gz does not hold the pinned {} of {}:\n  \
                 expected {}\n  \
                 found    {found}\n\
                 Restore it with `git checkout -- {SOURCE_DIR}`, or, when updating GraphiQL, pin \
                 the hashes `{SOURCE_DIR}/update.sh` prints (see {SOURCE_DIR}/README.md).",
                asset.name, asset.name, asset.package, asset.integrity,
            ));
        }
        let target = dest.join(asset.name);
        fs::write(&target, &bytes)
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
    }
    Ok(())
}

/// The whole decompressed content; the decoder also checks gzip's own CRC-32 and length.
fn decompress(source: &Path) -> Result<Vec<u8>, String> {
    let file = fs::File::open(source).map_err(|e| {
        format!(
            "cannot open {}: {e}\nGraphiQL's assets are committed in {SOURCE_DIR}/; \
             is the checkout complete?",
            source.display()
        )
    })?;
    let mut bytes = Vec::new();
    GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot decompress {}: {e}", source.display()))?;
    Ok(bytes)
}

/// SHA-512 in Subresource Integrity form, `sha512-<base64>`, as npm prints it.
fn sri_sha512(data: &[u8]) -> String {
    format!("sha512-{}", STANDARD.encode(Sha512::digest(data)))
}
