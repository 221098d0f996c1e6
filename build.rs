//! Puts the browser pages' assets into `OUT_DIR` for the binary to embed: GraphiQL's into
//! `OUT_DIR/graphiql/` (for `src/http/graphiql.rs`), MapLibre GL JS's into `OUT_DIR/maplibre/`,
//! and the `/map` page's own script and stylesheet, gzip-compressed, into `OUT_DIR/pages/` (for
//! `src/http/pages.rs`).
//!
//! Township offices have no internet, so the pages cannot load React, GraphiQL or MapLibre from a
//! CDN: the binary carries them. They are committed, gzip-compressed, in `assets/graphiql/` and
//! `assets/maplibre/` (see their READMEs) rather than fetched here, because township offices and
//! CI machines may reach no npm registry, an HTTP client in a build script would pull a TLS stack
//! into every build and need the network on every clean build, and git stores them compressed
//! anyway.
//!
//! Each file is decompressed and checked against the SHA-512 pinned below: a build either embeds
//! exactly the reviewed bytes or fails, naming the file and both hashes.
//!
//! Every file is also brotli-compressed (`<name>.br` beside it in `OUT_DIR`), which browsers take
//! over HTTPS and localhost: 17 % fewer bytes than gzip over the lot (GraphiQL's script 568 kB
//! against 730 kB, MapLibre's 225 kB against 276 kB). Quality 11 takes seconds for GraphiQL, so a
//! vendored file's `.br` is kept in `OUT_DIR` with the hash it was made from and made again only
//! when that changes.

use std::env;
use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest as _, Sha512};

/// Brotli's densest setting: the files are compressed once, at build time.
const BROTLI_QUALITY: u32 = 11;
/// Brotli's window, 2^22 bytes (its largest in the standard format).
const BROTLI_WINDOW: u32 = 22;

/// The page files of `src/http/pages/` that are served, each compressed into `OUT_DIR/pages/`.
const PAGE_DIR: &str = "src/http/pages";
const PAGE_FILES: [&str; 4] = ["map.js", "map.css", "dashboard.js", "dashboard.css"];

/// One npm package the files come from. `env` names the variable through which
/// `src/http/graphiql.rs` learns the `name@version`, for its asset URLs: they are cached as
/// immutable, so they must change whenever a version does.
struct Package {
    env: &'static str,
    spec: &'static str,
}

/// One file served to the browser: the folder of `assets/` it is committed in (and of `OUT_DIR`
/// it is decompressed into), its package, its name (`assets/<dir>/<name>.gz`), and the SHA-512 of
/// its uncompressed bytes in SRI form, as `assets/<dir>/update.sh` prints it.
struct Asset {
    dir: &'static str,
    package: &'static str,
    name: &'static str,
    integrity: &'static str,
}

/// To change a version: run `assets/graphiql/update.sh`, review, and pin what it prints here
/// (see `assets/graphiql/README.md`). Whatever is pinned ships in the binary.
const PACKAGES: [Package; 4] = [
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
    Package {
        env: "MAPLIBRE_NPM",
        spec: "maplibre-gl@5.24.1",
    },
];

const ASSETS: [Asset; 6] = [
    Asset {
        dir: "graphiql",
        package: "graphiql@3.8.3",
        name: "graphiql.min.js",
        integrity: "sha512-3ZcfBS0oJlWv+AMZNM6tpTHjeNRBK93phPETcJWL2MmFHQyjsRnouZWUm6C17fU8rXgI+aUEVw5wk5YyFQ7jqg==",
    },
    Asset {
        dir: "graphiql",
        package: "graphiql@3.8.3",
        name: "graphiql.min.css",
        integrity: "sha512-QtAPrZpMjJp07BxaOEw3s8nRQ5Odrr8P5gpIEw4C42bMt95fVkTfX4vSV24NHg06UVX9sRwPkTBOPFXDQrJg/A==",
    },
    Asset {
        dir: "graphiql",
        package: "react@18.3.1",
        name: "react.production.min.js",
        integrity: "sha512-QVs8Lo43F9lSuBykadDb0oSXDL/BbZ588urWVCRwSIoewQv/Ewg1f84mK3U790bZ0FfhFa1YSQUmIhG+pIRKeg==",
    },
    Asset {
        dir: "graphiql",
        package: "react-dom@18.3.1",
        name: "react-dom.production.min.js",
        integrity: "sha512-6a1107rTlA4gYpgHAqbwLAtxmWipBdJFcq8y5S/aTge3Bp+VAklABm2LO+Kg51vOWR9JMZq1Ovjl5tpluNpTeQ==",
    },
    Asset {
        dir: "maplibre",
        package: "maplibre-gl@5.24.1",
        name: "maplibre-gl.js",
        integrity: "sha512-2CQ15eKGQFXMbdYigOqtulNip19/AwroCJMW00f6BaZlF1QiQyKsubw/TVPKzz0FdqU9V7ryADY6W2NYF2Fg9Q==",
    },
    Asset {
        dir: "maplibre",
        package: "maplibre-gl@5.24.1",
        name: "maplibre-gl.css",
        integrity: "sha512-KIMsMWIdnoG9OwZa+oaIafmbDonqck1UCmq+/zcUi2aaZ97N9QE6TqpTM+n36EO40HGh64hU/375zxtjx7WTyQ==",
    },
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for asset in &ASSETS {
        println!(
            "cargo:rerun-if-changed=assets/{}/{}.gz",
            asset.dir, asset.name
        );
    }
    for file in PAGE_FILES {
        println!("cargo:rerun-if-changed={PAGE_DIR}/{file}");
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

    for asset in &ASSETS {
        let source_dir = format!("assets/{}", asset.dir);
        let dest = out_dir.join(asset.dir);
        fs::create_dir_all(&dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
        let source = manifest_dir
            .join(&source_dir)
            .join(format!("{}.gz", asset.name));
        let bytes = decompress(&source)?;
        let found = sri_sha512(&bytes);
        if found != asset.integrity {
            return Err(format!(
                "{source_dir}/{}.gz does not hold the pinned {} of {}:\n  \
                 expected {}\n  \
                 found    {found}\n\
                 Restore it with `git checkout -- {source_dir}`, or, when updating the package, \
                 pin the hashes `{source_dir}/update.sh` prints (see {source_dir}/README.md).",
                asset.name, asset.name, asset.package, asset.integrity,
            ));
        }
        let target = dest.join(asset.name);
        fs::write(&target, &bytes)
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        brotli_once(
            &bytes,
            asset.integrity,
            &dest.join(format!("{}.br", asset.name)),
        )?;
    }
    pages(&manifest_dir, &out_dir)
}

/// Compresses the page files into `OUT_DIR/pages/`, and names their version: the first 16 hex
/// digits of the SHA-512 of them all, in `RR_PAGES_DIGEST`, which their URLs carry.
fn pages(manifest_dir: &Path, out_dir: &Path) -> Result<(), String> {
    let dest = out_dir.join("pages");
    fs::create_dir_all(&dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    let mut digest = Sha512::new();
    for file in PAGE_FILES {
        let source = manifest_dir.join(PAGE_DIR).join(file);
        let bytes =
            fs::read(&source).map_err(|e| format!("cannot read {}: {e}", source.display()))?;
        digest.update(&bytes);
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder
            .write_all(&bytes)
            .and_then(|()| encoder.finish())
            .and_then(|gz| fs::write(dest.join(format!("{file}.gz")), gz))
            .map_err(|e| format!("cannot compress {}: {e}", source.display()))?;
        fs::write(dest.join(format!("{file}.br")), brotli(&bytes)?)
            .map_err(|e| format!("cannot write {file}.br: {e}"))?;
    }
    let hex: String = digest
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    println!("cargo:rustc-env=RR_PAGES_DIGEST={hex}");
    Ok(())
}

/// `bytes` brotli-compressed.
fn brotli(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut writer =
            brotli::CompressorWriter::new(&mut out, 64 * 1024, BROTLI_QUALITY, BROTLI_WINDOW);
        writer
            .write_all(bytes)
            .and_then(|()| writer.flush())
            .map_err(|e| format!("cannot brotli-compress: {e}"))?;
    }
    Ok(out)
}

/// Writes `bytes` brotli-compressed to `target`, unless it holds them already: `target.sri`
/// names the `integrity` of what `target` was made from.
fn brotli_once(bytes: &[u8], integrity: &str, target: &Path) -> Result<(), String> {
    let stamp = target.with_extension("br.sri");
    if target.is_file() && fs::read_to_string(&stamp).is_ok_and(|s| s == integrity) {
        return Ok(());
    }
    fs::write(target, brotli(bytes)?)
        .and_then(|()| fs::write(&stamp, integrity))
        .map_err(|e| format!("cannot write {}: {e}", target.display()))
}

/// The whole decompressed content; the decoder also checks gzip's own CRC-32 and length.
fn decompress(source: &Path) -> Result<Vec<u8>, String> {
    let file = fs::File::open(source).map_err(|e| {
        format!(
            "cannot open {}: {e}\nThe pages' assets are committed in assets/; \
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
