//! The TUI's layers, checked on its source (DESIGN §2, issue 11): no import cycle between its
//! files; nothing in it, shell included, names the store, the server, the dispatcher or the
//! local engine (the binary's entry point hands the shell an engine starter instead); the
//! leaf modules import nothing of the TUI; `update` never reaches into `view`.
//!
//! A file depends on the TUI modules its code names: `use` trees, `crate::tui::…`,
//! `super::…` and `self::…` paths anywhere, and its own child modules by name. Comments,
//! string literals and inline test modules are not code. Each rule is also run on a small
//! made-up source that breaks it, so a checker that stopped seeing violations fails too.
//! How source becomes paths is in [`super::rust_paths`].

use std::collections::{BTreeMap, BTreeSet};

use super::rust_paths::{Source, named, sources};

/// Top-level modules the TUI must not name (DESIGN §2: it reaches the engine and the store
/// only through the sync protocol).
const FORBIDDEN: [&str; 4] = ["store", "server", "dispatch", "local"];

/// Files that import nothing of the TUI: the types and helpers everything else shares.
const LEAVES: [&str; 4] = ["state.rs", "words.rs", "layout.rs", "row.rs"];

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
