//! The TUI's layers, checked on its source (DESIGN §2, issue 11): no import cycle between its
//! files; nothing in it, shell included, names the store, the server, the dispatcher or the
//! local engine (the binary's entry point hands the shell an engine starter instead); the
//! leaf modules import nothing of the TUI; `update` never reaches into `view`.
//!
//! A file depends on the TUI modules its code names: `use` trees, `crate::tui::…`,
//! `super::…` and `self::…` paths anywhere, and its own child modules by name. Comments,
//! string literals and inline test modules are not code. Each rule is also run on a small
//! made-up source that breaks it, so a checker that stopped seeing violations fails too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules the TUI must not name (DESIGN §2: it reaches the engine and the store
/// only through the sync protocol).
const FORBIDDEN: [&str; 4] = ["store", "server", "dispatch", "local"];

/// Files that import nothing of the TUI: the types and helpers everything else shares.
const LEAVES: [&str; 4] = ["state.rs", "words.rs", "layout.rs", "row.rs"];

/// One source file: its path under `src/tui`, its module path from the crate root and its
/// code (comments, strings and inline test modules blanked out).
struct Source {
    rel: String,
    module: Vec<String>,
    code: String,
}

impl Source {
    fn new(rel: &str, text: &str) -> Source {
        let mut module = vec!["tui".to_string()];
        let stem = rel.strip_suffix(".rs").unwrap_or(rel);
        module.extend(stem.split('/').filter(|s| *s != "mod").map(str::to_string));
        Source { rel: rel.to_string(), module, code: without_test_modules(&strip(text)) }
    }
}

/// Every `.rs` file under `src/tui`, with the ones under `tests/` only when asked for.
fn sources(with_tests: bool) -> Vec<Source> {
    fn walk(dir: &Path, with_tests: bool, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if with_tests || path.file_name().is_some_and(|n| n != "tests") {
                    walk(&path, with_tests, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui");
    let mut paths = Vec::new();
    walk(&root, with_tests, &mut paths);
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
            Source::new(&rel, &std::fs::read_to_string(p).unwrap())
        })
        .collect()
}

/// The text with comments, string and char literals replaced by spaces (newlines kept).
fn strip(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '/' && next == Some('*') {
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
        } else if c[i] == 'r'
            && (next == Some('"') || next == Some('#'))
            && !c.get(i.wrapping_sub(1)).is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= c.len() {
                    break;
                }
                if c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            for &ch in &c[i..j.min(c.len())] {
                blank(&mut out, ch);
            }
            i = j;
        } else if c[i] == '"' {
            blank(&mut out, c[i]);
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    blank(&mut out, c[i]);
                    i += 1;
                }
                if i < c.len() {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
            if i < c.len() {
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '\'' && (c.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            // A char literal ('x', '\n', '\''); a lifetime has no closing quote.
            let mut j = i + 1;
            if c.get(j) == Some(&'\\') {
                j += 2;
            } else {
                j += 1;
            }
            while j < c.len() && c[j] != '\'' {
                j += 1;
            }
            for &ch in &c[i..(j + 1).min(c.len())] {
                blank(&mut out, ch);
            }
            i = j + 1;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// The code without `#[cfg(test)] mod … { … }` blocks: their `super` is the file itself.
fn without_test_modules(code: &str) -> String {
    let mut out = code.to_string();
    while let Some(at) = out.find("#[cfg(test)]") {
        let after = &out[at + "#[cfg(test)]".len()..];
        let rest = after.trim_start();
        if !rest.starts_with("mod ") {
            // Some other item under cfg(test): keep it, look further on.
            let cut = at + "#[cfg(test)]".len();
            let (head, tail) = out.split_at(cut);
            return format!("{head}{}", without_test_modules(tail));
        }
        let Some(open) = rest.find(['{', ';']) else { break };
        let start = at + "#[cfg(test)]".len() + (after.len() - rest.len());
        if rest.as_bytes()[open] == b';' {
            out.replace_range(at..start + open + 1, "");
            continue;
        }
        let mut depth = 0;
        let mut end = out.len();
        for (k, ch) in out[start + open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = start + open + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.replace_range(at..end, "");
    }
    out
}

fn tokens(code: &str) -> Vec<String> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if c[i].is_alphabetic() || c[i] == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(c[start..i].iter().collect());
        } else if c[i] == ':' && c.get(i + 1) == Some(&':') {
            out.push("::".to_string());
            i += 2;
        } else if c[i].is_whitespace() {
            i += 1;
        } else {
            out.push(c[i].to_string());
            i += 1;
        }
    }
    out
}

fn is_ident(t: &str) -> bool {
    t.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// The paths of one `use` tree starting at `tokens[*i]`, each prefixed with `prefix`.
fn use_tree(t: &[String], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    while *i < t.len() {
        let tok = t[*i].as_str();
        if tok == "{" {
            *i += 1;
            while *i < t.len() && t[*i] != "}" {
                use_tree(t, i, &path, out);
                if t.get(*i).is_some_and(|x| x == ",") {
                    *i += 1;
                }
            }
            *i += 1;
            return;
        } else if tok == "*" {
            *i += 1;
            break;
        } else if tok == "::" {
            *i += 1;
        } else if is_ident(tok) {
            path.push(tok.to_string());
            *i += 1;
            if t.get(*i).is_some_and(|x| x == "as") {
                *i += 2;
                break;
            }
            if t.get(*i).is_none_or(|x| x != "::") {
                break;
            }
        } else {
            break;
        }
    }
    out.push(path);
}

/// Every path the code names: `use` trees, and `a::b::…` chains outside them.
fn paths(code: &str) -> Vec<Vec<String>> {
    let t = tokens(code);
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if t[i] == "use" {
            i += 1;
            while i < t.len() && t[i] != ";" {
                use_tree(&t, &mut i, &[], &mut out);
                if t.get(i).is_some_and(|x| x == ",") {
                    i += 1;
                }
            }
        } else if is_ident(&t[i])
            && t.get(i + 1).is_some_and(|x| x == "::")
            && (i == 0 || t[i - 1] != "::" || t.get(i.wrapping_sub(2)).is_none_or(|p| !is_ident(p)))
        {
            let mut path = vec![t[i].clone()];
            i += 1;
            while t.get(i).is_some_and(|x| x == "::") && t.get(i + 1).is_some_and(|x| is_ident(x)) {
                path.push(t[i + 1].clone());
                i += 2;
            }
            out.push(path);
            continue;
        }
        i += 1;
    }
    out
}

/// The child modules a file declares (`mod x;`).
fn children(code: &str) -> BTreeSet<String> {
    let t = tokens(code);
    t.windows(3).filter(|w| w[0] == "mod" && is_ident(&w[1]) && w[2] == ";").map(|w| w[1].clone()).collect()
}

/// A path as a module path from the crate root, when it is one of ours.
fn resolve(source: &Source, kids: &BTreeSet<String>, path: &[String]) -> Option<Vec<String>> {
    let first = path.first()?.as_str();
    match first {
        "crate" | "campanile" => Some(path[1..].to_vec()),
        "super" | "self" => {
            let mut module = source.module.clone();
            let mut rest = path;
            while let Some(head) = rest.first() {
                match head.as_str() {
                    "super" => {
                        module.pop();
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
            module.extend(rest.iter().cloned());
            Some(module)
        }
        _ if kids.contains(first) => {
            let mut module = source.module.clone();
            module.extend(path.iter().cloned());
            Some(module)
        }
        _ => None,
    }
}

/// Every module path a file's code names.
fn named(source: &Source) -> Vec<Vec<String>> {
    let kids = children(&source.code);
    paths(&source.code).iter().filter_map(|p| resolve(source, &kids, p)).collect()
}

/// File → the other TUI files it depends on.
fn graph(files: &[Source]) -> BTreeMap<String, BTreeSet<String>> {
    let by_module: BTreeMap<Vec<String>, String> =
        files.iter().map(|f| (f.module.clone(), f.rel.clone())).collect();
    let file_of =
        |module: &[String]| (1..=module.len()).rev().find_map(|n| by_module.get(&module[..n])).cloned();
    files
        .iter()
        .map(|f| {
            let deps = named(f)
                .iter()
                .filter(|m| m.first().is_some_and(|x| x == "tui"))
                .filter_map(|m| file_of(m))
                .filter(|d| *d != f.rel)
                .collect();
            (f.rel.clone(), deps)
        })
        .collect()
}

/// The groups of files that depend on each other (strongly connected, more than one file).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Kosaraju: finish order on the graph, then components on the reversed graph.
    fn visit<'a>(
        g: &'a BTreeMap<String, BTreeSet<String>>,
        v: &'a str,
        seen: &mut BTreeSet<&'a str>,
        out: &mut Vec<&'a str>,
    ) {
        if !seen.insert(v) {
            return;
        }
        for w in g.get(v).into_iter().flatten() {
            visit(g, w, seen, out);
        }
        out.push(v);
    }
    let mut reversed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (v, ws) in graph {
        for w in ws {
            reversed.entry(w.clone()).or_default().insert(v.clone());
        }
    }
    let (mut seen, mut order) = (BTreeSet::new(), Vec::new());
    for v in graph.keys() {
        visit(graph, v, &mut seen, &mut order);
    }
    let mut assigned = BTreeSet::new();
    let mut groups = Vec::new();
    for v in order.into_iter().rev() {
        let mut group = Vec::new();
        visit(&reversed, v, &mut assigned, &mut group);
        if group.len() > 1 {
            group.sort();
            groups.push(group.into_iter().map(str::to_string).collect());
        }
    }
    groups
}

fn describe(graph: &BTreeMap<String, BTreeSet<String>>, group: &[String]) -> String {
    group
        .iter()
        .map(|f| {
            let inside: Vec<&str> =
                graph[f].iter().filter(|d| group.contains(d)).map(String::as_str).collect();
            format!("  {f} → {}", inside.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where a file names a module the TUI must not reach.
fn forbidden(source: &Source) -> Vec<String> {
    named(source)
        .into_iter()
        .filter(|m| m.first().is_some_and(|top| FORBIDDEN.contains(&top.as_str())))
        .map(|m| format!("src/tui/{} names crate::{}", source.rel, m.join("::")))
        .collect()
}

#[test]
fn no_file_of_the_tui_imports_one_that_imports_it_back() {
    let files = sources(false);
    assert!(files.len() >= 30, "expected the TUI's files, found {}", files.len());
    let g = graph(&files);
    let found: Vec<String> = cycles(&g).iter().map(|c| describe(&g, c)).collect();
    assert!(found.is_empty(), "import cycles in src/tui:\n{}", found.join("\n\n"));
}

#[test]
fn the_tui_names_no_store_server_dispatcher_or_local_engine() {
    let found: Vec<String> = sources(true).iter().flat_map(forbidden).collect();
    assert!(found.is_empty(), "the TUI reaches past the sync protocol:\n{}", found.join("\n"));
}

#[test]
fn the_leaves_import_nothing_of_the_tui_and_update_never_reaches_into_view() {
    let files = sources(false);
    let g = graph(&files);
    for leaf in LEAVES {
        let deps = g.get(leaf).unwrap_or_else(|| panic!("no src/tui/{leaf}"));
        assert!(deps.is_empty(), "src/tui/{leaf} is a leaf but imports {deps:?}");
    }
    for (file, deps) in &g {
        if file == "update.rs" || file.starts_with("update/") {
            let views: Vec<&String> = deps.iter().filter(|d| d.starts_with("view/")).collect();
            assert!(views.is_empty(), "src/tui/{file} reaches into the view: {views:?}");
        }
    }
}

// The checkers themselves, on made-up sources that break each rule.

fn made_up(files: &[(&str, &str)]) -> Vec<Source> {
    files.iter().map(|(rel, text)| Source::new(rel, text)).collect()
}

#[test]
fn a_cycle_is_found_however_the_files_name_each_other() {
    let files = made_up(&[
        ("mod.rs", "pub mod app;\npub mod view;\nmod update;"),
        ("app.rs", "use super::view::{self, thousands};"),
        ("view/mod.rs", "mod list;\npub fn thousands() {}\npub fn view() { list::draw() }"),
        ("view/list.rs", "pub fn draw() { let _ = crate::tui::app::App::new(); }"),
        ("update.rs", "// use super::app::App;\nconst S: &str = \"crate::tui::app\";"),
    ]);
    let g = graph(&files);
    assert_eq!(cycles(&g), vec![vec!["app.rs".to_string(), "view/list.rs".into(), "view/mod.rs".into()]]);
    assert!(g["update.rs"].is_empty(), "comments and strings are not code: {g:?}");
}

#[test]
fn a_parent_and_a_child_that_use_each_other_are_a_cycle() {
    let files = made_up(&[
        ("mod.rs", "mod view;"),
        ("view/mod.rs", "mod chrome;\npub fn name() {}\npub fn view() { chrome::header() }"),
        ("view/chrome.rs", "use super::name;\npub fn header() { name(); }"),
    ]);
    assert_eq!(cycles(&graph(&files)).len(), 1);
}

#[test]
fn a_test_module_inside_a_file_is_not_a_dependency() {
    let files = made_up(&[
        ("mod.rs", "mod a;\nmod b;"),
        ("a.rs", "pub fn x() { super::b::y() }"),
        (
            "b.rs",
            "pub fn y() {}\n#[cfg(test)]\nmod tests {\n    use crate::tui::a::x;\n    #[test] fn t() { x() }\n}",
        ),
    ]);
    assert!(cycles(&graph(&files)).is_empty());
}

#[test]
fn every_way_of_naming_a_forbidden_module_is_caught() {
    let cases = [
        "use crate::store::Store;",
        "use crate::{model::Event, server::rest::Devices};",
        "fn f() { crate::local::run(); }",
        "use campanile::dispatch::Dispatch;",
        "fn f() { let _ = super::super::store::open(); }",
    ];
    for case in cases {
        let found = forbidden(&Source::new("shell/mod.rs", case));
        assert_eq!(found.len(), 1, "{case}: {found:?}");
    }
    let fine = "use crate::sync::client::Transport; // crate::store\nconst S: &str = \"crate::server\";";
    assert!(forbidden(&Source::new("shell/mod.rs", fine)).is_empty());
}
