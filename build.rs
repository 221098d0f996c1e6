//! Puts GraphiQL's browser assets into `OUT_DIR/graphiql/` for `src/http/graphiql.rs` to embed.
//!
//! Township offices have no internet, so the GraphiQL page cannot load React and GraphiQL from a
//! CDN the way async-graphql's built-in page does: the binary has to carry them. They are taken
//! from the npm registry at build time (never committed: they are 4 MB of someone else's minified
//! code) and checked against the hashes pinned below, so a build either embeds exactly these bytes
//! or fails.
//!
//! Where the files come from, first match wins:
//! 1. `GRAPHIQL_ASSETS_DIR`: a folder holding the four files below, flat, already extracted (for
//!    machines that reach no npm registry: copy them from a machine that does).
//! 2. `OUT_DIR/graphiql/` itself, when an earlier run left the right bytes there: a rebuild needs
//!    no network and no npm.
//! 3. `npm pack` of the pinned versions, then `tar` to take out only the four files.
//!
//! Hashes are computed here, in plain Rust, instead of trusting npm's report alone or adding a
//! build dependency: a fresh download must match both npm's `integrity` and our own digest of the
//! tarball, so a wrong digest function could never let a build through.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One npm package to fetch, pinned by version and by the `integrity` npm prints for its tarball.
///
/// `env` names the variable through which `src/http/graphiql.rs` learns the `name@version`, for
/// its asset URLs: they are cached as immutable, so they must change whenever a version does.
struct Package {
    env: &'static str,
    spec: &'static str,
    tarball: &'static str,
    integrity: &'static str,
}

/// One file served to the browser: where it sits in its tarball, the flat name it gets in
/// `OUT_DIR/graphiql/` (and in `GRAPHIQL_ASSETS_DIR`), and its pinned SHA-512 in SRI form.
struct Asset {
    package: &'static str,
    member: &'static str,
    name: &'static str,
    integrity: &'static str,
}

/// To change a version: change `spec` and `tarball`, build once to read the new tarball's
/// integrity in the error, review the release, pin it, and build again to read each extracted
/// file's hash the same way. Review first: whatever is pinned here ships in the binary.
const PACKAGES: [Package; 3] = [
    Package {
        env: "GRAPHIQL_NPM_GRAPHIQL",
        spec: "graphiql@3.8.3",
        tarball: "graphiql-3.8.3.tgz",
        integrity: "sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
    },
    Package {
        env: "GRAPHIQL_NPM_REACT",
        spec: "react@18.3.1",
        tarball: "react-18.3.1.tgz",
        integrity: "sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ==",
    },
    Package {
        env: "GRAPHIQL_NPM_REACT_DOM",
        spec: "react-dom@18.3.1",
        tarball: "react-dom-18.3.1.tgz",
        integrity: "sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw==",
    },
];

const ASSETS: [Asset; 4] = [
    Asset {
        package: "graphiql-3.8.3.tgz",
        member: "package/graphiql.min.js",
        name: "graphiql.min.js",
        integrity: "sha512-3ZcfBS0oJlWv+AMZNM6tpTHjeNRBK93phPETcJWL2MmFHQyjsRnouZWUm6C17fU8rXgI+aUEVw5wk5YyFQ7jqg==",
    },
    Asset {
        package: "graphiql-3.8.3.tgz",
        member: "package/graphiql.min.css",
        name: "graphiql.min.css",
        integrity: "sha512-QtAPrZpMjJp07BxaOEw3s8nRQ5Odrr8P5gpIEw4C42bMt95fVkTfX4vSV24NHg06UVX9sRwPkTBOPFXDQrJg/A==",
    },
    Asset {
        package: "react-18.3.1.tgz",
        member: "package/umd/react.production.min.js",
        name: "react.production.min.js",
        integrity: "sha512-QVs8Lo43F9lSuBykadDb0oSXDL/BbZ588urWVCRwSIoewQv/Ewg1f84mK3U790bZ0FfhFa1YSQUmIhG+pIRKeg==",
    },
    Asset {
        package: "react-dom-18.3.1.tgz",
        member: "package/umd/react-dom.production.min.js",
        name: "react-dom.production.min.js",
        integrity: "sha512-6a1107rTlA4gYpgHAqbwLAtxmWipBdJFcq8y5S/aTge3Bp+VAklABm2LO+Kg51vOWR9JMZq1Ovjl5tpluNpTeQ==",
    },
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=GRAPHIQL_ASSETS_DIR");
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
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("cargo did not set OUT_DIR")?);
    let dest = out_dir.join("graphiql");
    fs::create_dir_all(&dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;

    if let Some(dir) = env::var_os("GRAPHIQL_ASSETS_DIR") {
        return copy_from_assets_dir(Path::new(&dir), &dest);
    }
    if ASSETS
        .iter()
        .all(|asset| file_matches(&dest.join(asset.name), asset.integrity))
    {
        return Ok(());
    }
    fetch_from_npm(&out_dir.join("npm"), &dest)
}

fn copy_from_assets_dir(dir: &Path, dest: &Path) -> Result<(), String> {
    for asset in &ASSETS {
        let source = dir.join(asset.name);
        println!("cargo:rerun-if-changed={}", source.display());
        let bytes = fs::read(&source).map_err(|e| {
            format!(
                "GRAPHIQL_ASSETS_DIR is set to {}, but {} cannot be read: {e}\n\
                 That folder must hold, flat: {}.\n\
                 Unset GRAPHIQL_ASSETS_DIR to fetch them with npm instead.",
                dir.display(),
                source.display(),
                asset_names(),
            )
        })?;
        let actual = sri_sha512(&bytes);
        if actual != asset.integrity {
            return Err(format!(
                "{} is not the pinned {} from {} (expected {}, found {actual}).\n\
                 Copy it from OUT_DIR/graphiql/ of a build that fetched it with npm.",
                source.display(),
                asset.name,
                asset.package,
                asset.integrity,
            ));
        }
        write(&dest.join(asset.name), &bytes)?;
    }
    Ok(())
}

fn fetch_from_npm(work: &Path, dest: &Path) -> Result<(), String> {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let specs: Vec<&str> = PACKAGES.iter().map(|package| package.spec).collect();
    let command_line = format!(
        "npm pack {} --json --pack-destination <OUT_DIR>/npm",
        specs.join(" ")
    );
    let how_to_fix = format!(
        "GraphiQL's assets are embedded in the binary and fetched at build time with:\n    \
         {command_line}\n\
         Either install Node.js with npm (Debian: apt-get install npm) on a machine that reaches \
         the npm registry,\n\
         or set GRAPHIQL_ASSETS_DIR to a folder holding, flat: {}.",
        asset_names(),
    );

    fs::create_dir_all(work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    // Run in the work folder so that no package.json or .npmrc of the source tree is picked up;
    // --prefer-offline lets a warm npm cache stand in for the network; --ignore-scripts because
    // nothing of these packages needs to run.
    let output = Command::new(npm)
        .current_dir(work)
        .arg("pack")
        .args(&specs)
        .args(["--json", "--ignore-scripts", "--prefer-offline"])
        .args([
            "--no-fund",
            "--no-audit",
            "--no-update-notifier",
            "--loglevel=error",
        ])
        .arg("--pack-destination")
        .arg(work)
        .output()
        .map_err(|e| {
            format!("cannot run `{npm}` ({e}): is npm installed and on PATH?\n{how_to_fix}")
        })?;
    if !output.status.success() {
        // With --json npm reports its own errors on stdout, as JSON.
        return Err(format!(
            "`{command_line}` failed ({}):\n{}\n{}\n{how_to_fix}",
            output.status,
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim(),
        ));
    }
    let report = String::from_utf8_lossy(&output.stdout);
    let reported = reported_integrities(&report);

    for package in &PACKAGES {
        let by_npm = reported
            .iter()
            .find(|(filename, _)| filename == package.tarball)
            .map(|(_, integrity)| integrity.as_str());
        if by_npm != Some(package.integrity) {
            return Err(format!(
                "npm reported integrity {by_npm:?} for {}, but build.rs pins {}.\n\
                 Refusing to embed assets that are not the reviewed ones.",
                package.spec, package.integrity,
            ));
        }
        let tarball = work.join(package.tarball);
        let bytes =
            fs::read(&tarball).map_err(|e| format!("cannot read {}: {e}", tarball.display()))?;
        let actual = sri_sha512(&bytes);
        if actual != package.integrity {
            return Err(format!(
                "{} hashes to {actual}, but build.rs pins {}.",
                tarball.display(),
                package.integrity,
            ));
        }
        extract(work, package.tarball, dest)?;
    }
    Ok(())
}

/// Takes only the assets of one tarball out, through a scratch folder, so that a file lands in
/// `dest` only once its own hash has been checked.
fn extract(work: &Path, tarball: &str, dest: &Path) -> Result<(), String> {
    let scratch = work.join("extract");
    if scratch.exists() {
        fs::remove_dir_all(&scratch)
            .map_err(|e| format!("cannot clear {}: {e}", scratch.display()))?;
    }
    fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let assets: Vec<&Asset> = ASSETS.iter().filter(|a| a.package == tarball).collect();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(work.join(tarball))
        .arg("-C")
        .arg(&scratch)
        .args(assets.iter().map(|asset| asset.member))
        .status()
        .map_err(|e| format!("cannot run `tar` to unpack {tarball}: {e} (install tar)"))?;
    if !status.success() {
        return Err(format!("`tar -xzf {tarball}` failed ({status})"));
    }
    for asset in assets {
        let extracted = scratch.join(asset.member);
        let bytes = fs::read(&extracted)
            .map_err(|e| format!("cannot read {}: {e}", extracted.display()))?;
        let actual = sri_sha512(&bytes);
        if actual != asset.integrity {
            return Err(format!(
                "{} from {tarball} hashes to {actual}, but build.rs pins {}.",
                asset.member, asset.integrity,
            ));
        }
        write(&dest.join(asset.name), &bytes)?;
    }
    fs::remove_dir_all(&scratch).map_err(|e| format!("cannot remove {}: {e}", scratch.display()))
}

/// Pairs each `"filename"` with the `"integrity"` before it in `npm pack --json` output.
///
/// A scan instead of a JSON parser keeps serde out of the build dependencies; it is safe because
/// what it returns is only compared with pinned strings, and the tarball is hashed again anyway.
fn reported_integrities(report: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut integrity = None;
    for line in report.lines() {
        let line = line.trim().trim_end_matches(',');
        if let Some(value) = string_value(line, "integrity") {
            integrity = Some(value);
        } else if let Some(value) = string_value(line, "filename")
            && let Some(integrity) = integrity.take()
        {
            pairs.push((value, integrity));
        }
    }
    pairs
}

fn string_value(line: &str, key: &str) -> Option<String> {
    let rest = line.strip_prefix(&format!("\"{key}\":"))?.trim();
    Some(rest.strip_prefix('"')?.strip_suffix('"')?.to_owned())
}

fn file_matches(path: &Path, integrity: &str) -> bool {
    fs::read(path).is_ok_and(|bytes| sri_sha512(&bytes) == integrity)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn asset_names() -> String {
    ASSETS.map(|asset| asset.name).join(", ")
}

/// SHA-512 (FIPS 180-4) in Subresource Integrity form, `sha512-<base64>`, as npm prints it.
fn sri_sha512(data: &[u8]) -> String {
    format!("sha512-{}", base64(&sha512(data)))
}

fn sha512(data: &[u8]) -> [u8; 64] {
    // The round constants and initial state of FIPS 180-4 §4.2.3 and §5.3.5, four to a line.
    #[rustfmt::skip]
    const K: [u64; 80] = [
        0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc,
        0x3956c25bf348b538, 0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118,
        0xd807aa98a3030242, 0x12835b0145706fbe, 0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2,
        0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235, 0xc19bf174cf692694,
        0xe49b69c19ef14ad2, 0xefbe4786384f25e3, 0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65,
        0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5,
        0x983e5152ee66dfab, 0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4,
        0xc6e00bf33da88fc2, 0xd5a79147930aa725, 0x06ca6351e003826f, 0x142929670a0e6e70,
        0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed, 0x53380d139d95b3df,
        0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b,
        0xa2bfe8a14cf10364, 0xa81a664bbc423001, 0xc24b8b70d0f89791, 0xc76c51a30654be30,
        0xd192e819d6ef5218, 0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8,
        0x19a4c116b8d2d0c8, 0x1e376c085141ab53, 0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8,
        0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb, 0x5b9cca4f7763e373, 0x682e6ff3d6b2b8a3,
        0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
        0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b,
        0xca273eceea26619c, 0xd186b8c721c0c207, 0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178,
        0x06f067aa72176fba, 0x0a637dc5a2c898a6, 0x113f9804bef90dae, 0x1b710b35131c471b,
        0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc, 0x431d67c49c100d4c,
        0x4cc5d4becb3e42b6, 0x597f299cfc657e2a, 0x5fcb6fab3ad6faec, 0x6c44198c4a475817,
    ];
    #[rustfmt::skip]
    let mut state: [u64; 8] = [
        0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
        0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
    ];

    let bit_len = (data.len() as u128).wrapping_mul(8);
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 128 != 112 {
        message.push(0);
    }
    message.extend_from_slice(&bit_len.to_be_bytes());

    for block in message.chunks_exact(128) {
        let mut w = [0u64; 80];
        for (word, bytes) in w.iter_mut().zip(block.chunks_exact(8)) {
            let mut be = [0u8; 8];
            be.copy_from_slice(bytes);
            *word = u64::from_be_bytes(be);
        }
        for t in 16..80 {
            let s0 = w[t - 15].rotate_right(1) ^ w[t - 15].rotate_right(8) ^ (w[t - 15] >> 7);
            let s1 = w[t - 2].rotate_right(19) ^ w[t - 2].rotate_right(61) ^ (w[t - 2] >> 6);
            w[t] = w[t - 16]
                .wrapping_add(s0)
                .wrapping_add(w[t - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = state;
        for t in 0..80 {
            let s1 = e.rotate_right(14) ^ e.rotate_right(18) ^ e.rotate_right(41);
            let choice = (e & f) ^ (!e & g);
            let t1 = h
                .wrapping_add(s1)
                .wrapping_add(choice)
                .wrapping_add(K[t])
                .wrapping_add(w[t]);
            let s0 = a.rotate_right(28) ^ a.rotate_right(34) ^ a.rotate_right(39);
            let majority = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(majority);
            h = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (word, value) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *word = word.wrapping_add(value);
        }
    }

    let mut digest = [0u8; 64];
    for (bytes, word) in digest.chunks_exact_mut(8).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

/// Standard base64 with padding, the alphabet SRI strings use.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let group = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        for position in 0..4 {
            if position <= chunk.len() {
                let index = (group >> (18 - 6 * position)) & 0x3f;
                encoded.push(char::from(ALPHABET[index as usize]));
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}
