//! The layers stay layered: `domain` does no I/O, `db` knows no API, the API's plumbing
//! (`graphql::common`) knows no concept, `http` does not reach back into the `app` that wires
//! it, and no layer's modules import each other in a circle. docs/ARCHITECTURE.md says why.
//!
//! It reads `src/**/*.rs` as text, with no Rust parser: comments and string literals are
//! blanked out, then every path that starts `crate::`, `super::` or `self::` (or a name a `use`
//! bound to one) is resolved to the deepest module the source tree has. The binary crate
//! (`src/main.rs`, `src/commands/`) imports the library as `rural_registry::` and may import
//! anything, so it is not read. Every violation is reported at once, with file, line and path.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// A layer rule: modules under `from` may not import modules under any of `may_not_import`,
/// except those under `except`. A module path matches itself and everything below it.
struct Rule {
    from: &'static str,
    may_not_import: &'static [&'static str],
    except: &'static [&'static str],
    why: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        from: "domain",
        may_not_import: &["db", "graphql", "http", "services", "maps", "app", "config"],
        except: &[],
        why: "the rules and types do no I/O and know no edge",
    },
    Rule {
        from: "db",
        may_not_import: &["graphql", "http", "services", "app"],
        except: &[],
        why: "storage serves the layers above it and knows none of them",
    },
    Rule {
        from: "graphql::common",
        may_not_import: &["graphql"],
        except: &["graphql::common"],
        why: "the API's plumbing imports no concept (nor the schema that assembles them)",
    },
    Rule {
        from: "metrics",
        may_not_import: &[
            "domain", "db", "graphql", "http", "services", "maps", "app", "config", "error",
        ],
        except: &[],
        why: "the instruments are a leaf: any layer may count through them without a cycle",
    },
    Rule {
        from: "http",
        may_not_import: &["app"],
        except: &[],
        why: "routes take their state from http::state; app wires http, not the reverse",
    },
];

/// Modules whose direct children may not import each other in a cycle ("" is the crate root).
/// `db::entities` is left out: sea-orm entities name each other in their relations.
const CYCLE_SCOPES: &[&str] = &["", "domain", "db", "graphql", "http", "services", "maps"];

/// One resolved import: the module it reaches, and where and how it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Import {
    target: String,
    line: usize,
    path: String,
}

/// A source file of the library crate and the module it is.
struct SourceFile {
    file: String,
    module: String,
    imports: Vec<Import>,
}

// ---------------------------------------------------------------------------------------------
// Reading the tree

/// The module a file is, from its path under `src/`: `graphql/asset.rs` is `graphql::asset`,
/// `graphql/common/mod.rs` is `graphql::common`, `lib.rs` the crate root "".
fn module_of(relative: &str) -> String {
    let stem = relative.strip_suffix(".rs").unwrap_or(relative);
    let mut parts: Vec<&str> = stem.split('/').collect();
    if parts.last() == Some(&"mod") || parts == ["lib"] {
        parts.pop();
    }
    parts.join("::")
}

fn is_binary_crate(relative: &str) -> bool {
    relative == "main.rs" || relative.starts_with("commands/") || relative.starts_with("bin/")
}

fn rust_files(dir: &Path, relative: &str, out: &mut Vec<String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if relative.is_empty() {
            name.clone()
        } else {
            format!("{relative}/{name}")
        };
        if entry.path().is_dir() {
            rust_files(&entry.path(), &path, out);
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

fn read_tree() -> Vec<SourceFile> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, "", &mut files);
    files.retain(|f| !is_binary_crate(f));
    let mut known = BTreeSet::new();
    for f in &files {
        let mut m = module_of(f);
        loop {
            known.insert(m.clone());
            match m.rfind("::") {
                Some(i) => m.truncate(i),
                None if !m.is_empty() => m.clear(),
                None => break,
            }
        }
    }
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(src.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            let module = module_of(f);
            SourceFile {
                file: format!("src/{f}"),
                imports: imports(&text, &module, &known),
                module,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Blanking comments and literals

/// The source with comments, string, byte-string, raw-string and char literals replaced by
/// spaces (newlines kept, so lines still count). Lifetimes (`'a`) are left alone.
fn strip(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        let prev_ident = i > 0 && ident(c[i - 1]);
        // Line comment (doc comments too).
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                blank(&mut out, c[i]);
                i += 1;
            }
            continue;
        }
        // Block comment, nested.
        if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
            continue;
        }
        // Raw (byte, C) strings: r"…", r#"…"#, br"…", cr"…".
        let raw_prefix_ok =
            !prev_ident || (matches!(c[i - 1], 'b' | 'c') && (i < 2 || !ident(c[i - 2])));
        if raw_prefix_ok && c[i] == 'r' {
            let mut j = i + 1;
            while c.get(j) == Some(&'#') {
                j += 1;
            }
            if c.get(j) == Some(&'"') {
                let hashes = j - i - 1;
                let mut k = j + 1;
                while k < c.len() {
                    if c[k] == '"' && (1..=hashes).all(|h| c.get(k + h) == Some(&'#')) {
                        k += 1 + hashes;
                        break;
                    }
                    k += 1;
                }
                for &ch in &c[i..k.min(c.len())] {
                    blank(&mut out, ch);
                }
                i = k;
                continue;
            }
        }
        // String literal (a `b` or `c` prefix stays as an identifier character, harmlessly).
        if c[i] == '"' {
            blank(&mut out, c[i]);
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' && i + 1 < c.len() {
                    blank(&mut out, c[i]);
                    i += 1;
                }
                blank(&mut out, c[i]);
                i += 1;
            }
            if i < c.len() {
                blank(&mut out, c[i]);
                i += 1;
            }
            continue;
        }
        // Char literal, told from a lifetime by its closing quote.
        if c[i] == '\'' {
            let end = if c.get(i + 1) == Some(&'\\') {
                let mut k = i + 2;
                while k < c.len() && c[k] != '\'' && c[k] != '\n' {
                    k += 1;
                }
                Some(k)
            } else if c.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            if let Some(end) = end {
                for &ch in &c[i..=end.min(c.len() - 1)] {
                    blank(&mut out, ch);
                }
                i = end + 1;
                continue;
            }
        }
        out.push(c[i]);
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Tokens and paths

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `$name` in a macro body (`$crate` is read as `crate`).
    MacroVar,
    PathSep,
    Punct(char),
}

fn tokens(stripped: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = stripped.chars().collect();
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push((Tok::PathSep, line));
            i += 2;
        } else if ch == '$' && c.get(i + 1).is_some_and(|&n| ident(n)) {
            let start = i + 1;
            i = start;
            while i < c.len() && ident(c[i]) {
                i += 1;
            }
            let name: String = c[start..i].iter().collect();
            out.push((
                if name == "crate" {
                    Tok::Ident(name)
                } else {
                    Tok::MacroVar
                },
                line,
            ));
        } else if ch.is_ascii_digit() {
            while i < c.len() && (ident(c[i]) || c[i] == '.') {
                i += 1;
            }
            out.push((Tok::Punct('0'), line));
        } else if ident(ch) {
            let start = i;
            while i < c.len() && ident(c[i]) {
                i += 1;
            }
            out.push((Tok::Ident(c[start..i].iter().collect()), line));
        } else {
            out.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    out
}

/// One path of a `use` tree, expanded: its segments as written, the name it binds (none for a
/// glob), and whether it is a glob.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UsePath {
    segments: Vec<String>,
    binds: Option<String>,
    glob: bool,
}

/// Parses a use tree at `toks[*i]`, expanding brace groups (nested) onto `prefix`.
fn use_tree(toks: &[(Tok, usize)], i: &mut usize, prefix: &[String], out: &mut Vec<UsePath>) {
    let mut segments = prefix.to_vec();
    if toks.get(*i).map(|t| &t.0) == Some(&Tok::PathSep) {
        *i += 1; // a leading `::` names an extern crate; its segments resolve to nothing.
    }
    loop {
        match toks.get(*i).map(|t| &t.0) {
            Some(Tok::Ident(name)) if name == "self" && !segments.is_empty() => {
                // `{self, …}`: the prefix itself.
                *i += 1;
            }
            Some(Tok::Ident(name)) => {
                segments.push(name.clone());
                *i += 1;
            }
            Some(Tok::Punct('*')) => {
                *i += 1;
                out.push(UsePath {
                    segments,
                    binds: None,
                    glob: true,
                });
                return;
            }
            Some(Tok::Punct('{')) => {
                *i += 1;
                loop {
                    match toks.get(*i).map(|t| &t.0) {
                        None => return,
                        Some(Tok::Punct('}')) => {
                            *i += 1;
                            return;
                        }
                        Some(Tok::Punct(',')) => *i += 1,
                        Some(_) => {
                            let before = *i;
                            use_tree(toks, i, &segments, out);
                            if *i == before {
                                *i += 1;
                            }
                        }
                    }
                }
            }
            _ => return,
        }
        if toks.get(*i).map(|t| &t.0) == Some(&Tok::PathSep) {
            *i += 1;
            continue;
        }
        let mut binds = segments.last().cloned();
        if toks.get(*i).map(|t| &t.0) == Some(&Tok::Ident("as".into())) {
            binds = match toks.get(*i + 1).map(|t| &t.0) {
                Some(Tok::Ident(alias)) if alias != "_" => Some(alias.clone()),
                _ => None,
            };
            *i += 2;
        }
        out.push(UsePath {
            segments,
            binds,
            glob: false,
        });
        return;
    }
}

/// A path met in a file, before it is resolved to a module.
struct Found {
    /// Its segments from the crate root.
    abs: Vec<String>,
    line: usize,
    /// As written.
    written: String,
    /// The name bound by an earlier `use` it starts with.
    via: Option<String>,
    /// The name it binds, for a `use`.
    binds: Option<String>,
}

/// The deepest known module a path of absolute segments reaches ("" for the crate root).
fn deepest_module(segments: &[String], known: &BTreeSet<String>) -> String {
    let mut best = String::new();
    let mut m = String::new();
    for s in segments {
        if !m.is_empty() {
            m.push_str("::");
        }
        m.push_str(s);
        if known.contains(&m) {
            best = m.clone();
        } else {
            break;
        }
    }
    best
}

fn split(module: &str) -> Vec<String> {
    if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").map(str::to_owned).collect()
    }
}

/// A path's segments made absolute from the crate root, if it starts with `crate`, `super` or
/// `self`; `None` for anything else (an extern crate, a local name).
fn absolute(segments: &[String], current: &[String]) -> Option<Vec<String>> {
    let mut base = match segments.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("self" | "super") => current.to_vec(),
        _ => return None,
    };
    let mut rest = &segments[usize::from(segments[0] == "crate" || segments[0] == "self")..];
    while rest.first().map(String::as_str) == Some("super") {
        base.pop()?;
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// Every module of the crate that the file `src` (the module `module`) imports: through `use`,
/// through paths in its code, through names a `use` bound. `known` is every module of the
/// crate; a file's inline modules (`mod tests { … }`) are added as they are met, so `super::`
/// inside one means the file's module. Imports of the module itself and of the crate root are
/// left out; each target is reported once, where it is first written.
fn imports(src: &str, module: &str, known: &BTreeSet<String>) -> Vec<Import> {
    let toks = tokens(&strip(src));
    let mut known = known.clone();
    let file_module = split(module);
    // Open inline modules: (name, brace depth inside it).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    // Names bound by `use` to an absolute path, and modules imported with `*`.
    let mut bound: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut globs: Vec<Vec<String>> = Vec::new();
    let mut found: Vec<Found> = Vec::new();
    let current = |inline: &[(String, usize)]| {
        let mut m = file_module.clone();
        m.extend(inline.iter().map(|(n, _)| n.clone()));
        m
    };
    let ident = |k: usize| match toks.get(k) {
        Some((Tok::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    let mut i = 0;
    while i < toks.len() {
        let (tok, line) = (&toks[i].0, toks[i].1);
        match tok {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let (Some(name), Some((Tok::Punct('{'), _))) = (ident(i + 1), toks.get(i + 2)) {
                    let mut m = current(&inline);
                    m.push(name.to_owned());
                    known.insert(m.join("::"));
                    inline.push((name.to_owned(), depth + 1));
                    depth += 1;
                    i += 3;
                    continue;
                }
            }
            Tok::Ident(kw) if kw == "use" => {
                let cur = current(&inline);
                let mut j = i + 1;
                let mut paths = Vec::new();
                use_tree(&toks, &mut j, &[], &mut paths);
                for p in paths {
                    let Some(abs) = resolve_start(&p.segments, &cur, &bound, &globs, &known) else {
                        continue;
                    };
                    if p.glob {
                        globs.push(abs.clone());
                    }
                    if let Some(name) = &p.binds {
                        bound.insert(name.clone(), abs.clone());
                    }
                    let written = p.segments.join("::") + if p.glob { "::*" } else { "" };
                    found.push(Found {
                        abs,
                        line,
                        written,
                        via: None,
                        binds: p.binds.clone(),
                    });
                }
                i = j;
                continue;
            }
            Tok::Ident(first)
                if toks.get(i + 1).map(|t| &t.0) == Some(&Tok::PathSep)
                    && i.checked_sub(1).and_then(|k| toks.get(k)).map(|t| &t.0)
                        != Some(&Tok::PathSep)
                    && first != "Self" =>
            {
                let mut segments = vec![first.clone()];
                let mut j = i + 1;
                while toks.get(j).map(|t| &t.0) == Some(&Tok::PathSep) {
                    match ident(j + 1) {
                        Some(s) => {
                            segments.push(s.to_owned());
                            j += 2;
                        }
                        None => break,
                    }
                }
                let cur = current(&inline);
                if let Some(abs) = resolve_start(&segments, &cur, &bound, &globs, &known) {
                    let via = bound.contains_key(first).then(|| first.clone());
                    found.push(Found {
                        abs,
                        line,
                        written: segments.join("::"),
                        via,
                        binds: None,
                    });
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    // A `use` that only binds a module name, whose uses were all resolved through it, is
    // represented by those uses (`use crate::graphql;` then `graphql::common::ids::…`).
    let used_bindings: BTreeSet<&String> = found.iter().filter_map(|f| f.via.as_ref()).collect();
    let mut out: Vec<Import> = Vec::new();
    for f in &found {
        let target = deepest_module(&f.abs, &known);
        let is_module_binding = f
            .binds
            .as_ref()
            .is_some_and(|b| used_bindings.contains(b) && f.abs.join("::") == target);
        if target.is_empty() || target == module || is_module_binding {
            continue;
        }
        if out.iter().all(|o| o.target != target) {
            out.push(Import {
                target,
                line: f.line,
                path: f.written.clone(),
            });
        }
    }
    out
}

/// A path's first segments made absolute: `crate`/`super`/`self`; a name a `use` bound; a child
/// module of the current one; a child of a module imported with `*`. `None` otherwise.
fn resolve_start(
    segments: &[String],
    current: &[String],
    bound: &BTreeMap<String, Vec<String>>,
    globs: &[Vec<String>],
    known: &BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(abs) = absolute(segments, current) {
        return Some(abs);
    }
    let first = segments.first()?;
    if let Some(base) = bound.get(first) {
        let mut abs = base.clone();
        abs.extend(segments[1..].iter().cloned());
        return Some(abs);
    }
    for base in std::iter::once(current).chain(globs.iter().map(Vec::as_slice)) {
        let mut m = base.to_vec();
        m.push(first.clone());
        if known.contains(&m.join("::")) {
            m.extend(segments[1..].iter().cloned());
            return Some(m);
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// The checks

fn within(module: &str, prefix: &str) -> bool {
    module == prefix
        || prefix.is_empty()
        || module
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with("::"))
}

fn rule_violations(files: &[SourceFile]) -> Vec<String> {
    let mut out = Vec::new();
    for rule in RULES {
        let mut lines = Vec::new();
        for f in files.iter().filter(|f| within(&f.module, rule.from)) {
            for imp in &f.imports {
                let forbidden = rule.may_not_import.iter().any(|m| within(&imp.target, m))
                    && !rule.except.iter().any(|m| within(&imp.target, m));
                if forbidden {
                    lines.push(format!(
                        "    {}:{}: {} imports {} (`{}`)",
                        f.file, imp.line, f.module, imp.target, imp.path
                    ));
                }
            }
        }
        if !lines.is_empty() {
            out.push(format!(
                "{} may not import {} ({}):\n{}",
                rule.from,
                rule.may_not_import.join(", ")
                    + &if rule.except.is_empty() {
                        String::new()
                    } else {
                        format!(" except {}", rule.except.join(", "))
                    },
                rule.why,
                lines.join("\n")
            ));
        }
    }
    out
}

/// The child of `scope` that `module` is in, if it is strictly below `scope`.
fn child_of<'a>(module: &'a str, scope: &str) -> Option<&'a str> {
    let rest = if scope.is_empty() {
        module
    } else {
        module.strip_prefix(scope)?.strip_prefix("::")?
    };
    rest.split("::").next().filter(|c| !c.is_empty())
}

/// Strongly connected components of more than one node (Tarjan), each sorted.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn lower(low: &mut BTreeMap<&str, usize>, v: &str, to: usize) {
        if let Some(l) = low.get_mut(v) {
            *l = (*l).min(to);
        }
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        let edges = s.edges;
        for w in edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let reach = s.low[w];
                lower(&mut s.low, v, reach);
            } else if s.on_stack.contains(w) {
                let reach = s.index[w];
                lower(&mut s.low, v, reach);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found.sort();
    s.found
}

fn cycle_violations(files: &[SourceFile]) -> Vec<String> {
    let mut out = Vec::new();
    for scope in CYCLE_SCOPES {
        // Edges between the scope's children, each with the first place it is written.
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut example: BTreeMap<(String, String), String> = BTreeMap::new();
        for f in files {
            let Some(from) = child_of(&f.module, scope) else {
                continue;
            };
            for imp in &f.imports {
                let Some(to) = child_of(&imp.target, scope) else {
                    continue;
                };
                if from == to {
                    continue;
                }
                edges
                    .entry(from.to_owned())
                    .or_default()
                    .insert(to.to_owned());
                example
                    .entry((from.to_owned(), to.to_owned()))
                    .or_insert_with(|| format!("{}:{} `{}`", f.file, imp.line, imp.path));
            }
        }
        let name = |child: &str| {
            if scope.is_empty() {
                child.to_owned()
            } else {
                format!("{scope}::{child}")
            }
        };
        for component in cycles(&edges) {
            let mut text = format!(
                "a cycle among the children of {} ({} modules: {}):",
                if scope.is_empty() { "the crate" } else { scope },
                component.len(),
                component.join(", ")
            );
            for from in &component {
                for to in edges.get(from).into_iter().flatten() {
                    if component.contains(to) {
                        let at = &example[&(from.clone(), to.clone())];
                        let _ = write!(text, "\n    {} -> {}: {at}", name(from), name(to));
                    }
                }
            }
            out.push(text);
        }
    }
    out
}

#[test]
fn the_layers_import_only_what_they_may_and_no_layer_has_a_cycle() {
    let files = read_tree();
    let mut violations = rule_violations(&files);
    violations.extend(cycle_violations(&files));
    assert!(
        violations.is_empty(),
        "{} architecture violation(s) (see docs/ARCHITECTURE.md):\n\n{}\n",
        violations.len(),
        violations.join("\n\n")
    );
}

#[test]
fn the_tree_is_read() {
    let files = read_tree();
    for layer in ["domain", "db", "graphql", "http"] {
        assert!(
            files.iter().any(|f| within(&f.module, layer)),
            "no module of {layer} found under src/"
        );
    }
    let graphql_to_db = files
        .iter()
        .filter(|f| within(&f.module, "graphql"))
        .flat_map(|f| &f.imports)
        .any(|i| within(&i.target, "db"));
    assert!(graphql_to_db, "the API's imports of db are seen");
    assert!(
        !files.iter().any(|f| f.file == "src/main.rs"),
        "the binary crate is not read"
    );
}

// ---------------------------------------------------------------------------------------------
// The reader, on small inputs

#[cfg(test)]
mod reader {
    use super::*;

    fn known() -> BTreeSet<String> {
        [
            "app",
            "db",
            "db::assets",
            "db::entities",
            "domain",
            "domain::assets",
            "domain::places",
            "graphql",
            "graphql::common",
            "graphql::common::ids",
            "graphql::common::paging",
            "graphql::assets",
            "graphql::places",
            "http",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect()
    }

    fn targets(src: &str, module: &str) -> Vec<String> {
        let mut t: Vec<String> = imports(src, module, &known())
            .into_iter()
            .map(|i| i.target)
            .collect();
        t.sort();
        t
    }

    #[test]
    fn brace_groups_are_expanded_nested() {
        let src = "use crate::{db, domain::{assets::Asset, places::{self, Place}}};\n";
        assert_eq!(
            targets(src, "graphql::places"),
            ["db", "domain::assets", "domain::places"]
        );
    }

    #[test]
    fn super_from_a_mod_rs_is_the_folders_parent() {
        // graphql/common/mod.rs is the module graphql::common: its super is graphql.
        let src = "use super::assets::Asset;\nuse self::ids::encode;\n";
        assert_eq!(
            targets(src, "graphql::common"),
            ["graphql::assets", "graphql::common::ids"]
        );
        // graphql/common/ids.rs is graphql::common::ids: its super is graphql::common.
        assert_eq!(
            targets("use super::paging::Page;", "graphql::common::ids"),
            ["graphql::common::paging"]
        );
        assert_eq!(
            targets(
                "fn f() { super::super::assets::list() }",
                "graphql::common::ids"
            ),
            ["graphql::assets"]
        );
    }

    #[test]
    fn paths_in_comments_and_strings_are_ignored() {
        let src = r##"
            // use crate::db::assets;
            /// See [`crate::http`].
            /* use crate::app; /* nested crate::graphql */ crate::domain */
            const A: &str = "crate::db::assets";
            const B: &str = r#"use crate::app; "quoted" crate::http"#;
            const C: char = '"';
            fn f<'a>(x: &'a str) -> char { let _ = b"crate::app"; '\'' }
            use crate::domain::places::Place;
        "##;
        assert_eq!(targets(src, "graphql::places"), ["domain::places"]);
        let found = imports(src, "graphql::places", &known());
        assert_eq!(found[0].line, 9, "lines still count after stripping");
    }

    #[test]
    fn paths_in_code_and_through_bound_names_count() {
        let src = "
            use crate::db;
            use crate::graphql::common::ids as gid;
            fn f() { db::assets::count(); gid::encode(); crate::domain::places::locate() }
        ";
        assert_eq!(
            targets(src, "graphql::assets"),
            ["db::assets", "domain::places", "graphql::common::ids"]
        );
    }

    #[test]
    fn an_inline_module_is_inside_its_file() {
        let src = "
            pub fn f() {}
            #[cfg(test)]
            mod tests { use super::*; use crate::app::App; }
            use super::places;
        ";
        // `super::*` in `tests` is db::assets itself (not reported); after `tests` closes,
        // `super::` is db again.
        assert_eq!(targets(src, "db::assets"), ["app", "db"]);
    }

    #[test]
    fn globs_make_their_modules_children_nameable() {
        let src = "use crate::graphql::*; fn f() { assets::list() }";
        assert_eq!(
            targets(src, "graphql::common"),
            ["graphql", "graphql::assets"]
        );
    }

    #[test]
    fn extern_crates_and_macro_variables_are_not_the_crate() {
        let src = "use sea_orm::entity::prelude::*; use std::fmt; \
                   macro_rules! m { ($t:ident) => { $t::new(); $crate::domain::assets::x() } }";
        assert_eq!(targets(src, "db::assets"), ["domain::assets"]);
    }

    #[test]
    fn a_cycle_is_found_with_its_members() {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("e", "d")] {
            edges.entry(a.into()).or_default().insert(b.into());
        }
        assert_eq!(cycles(&edges), [["a", "b", "c"]]);
    }
}
