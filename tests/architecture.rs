//! The layers of DESIGN §2, enforced (STYLE habits 1 and 9): cheap checks over the source
//! text that fail the moment a module reaches for what its layer must not know.
//! - `engine` is pure: no clock, I/O, runtime or randomness, and of the crate only `model`;
//! - `model`, `config` and `workflows` name nothing above `model`;
//! - `store` knows no HTTP, screen, dispatcher or transport;
//! - `sync::protocol` (the wire) names only `model` and `engine` (presence states);
//! - each store backend's modules import each other in one direction (no cycles).
//!
//! The TUI's rules live in `src/tui/tests/`.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::<module>` a file names, with the line it is on.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            out.push((i + 1, name));
            rest = after;
        }
    }
    out
}

/// Fails for every file under `dir` that names a crate module outside `allowed`.
fn only(dir: &str, allowed: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let mut files = Vec::new();
    sources(&root, &mut files);
    assert!(!files.is_empty(), "no sources under src/{dir}");
    let mut problems = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (line, name) in crate_paths(&text) {
            if !allowed.contains(&name.as_str()) {
                let rel =
                    path.strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap().display().to_string();
                problems.push(format!("{rel}:{line} names crate::{name}"));
            }
        }
    }
    problems
}

fn assert_clean(problems: Vec<String>, rule: &str) {
    assert!(problems.is_empty(), "{rule}:\n{}", problems.join("\n"));
}

#[test]
fn the_engine_names_no_io_clock_or_randomness() {
    let forbidden = [
        "tokio",
        "std::fs",
        "std::net",
        "std::io",
        "std::env",
        "SystemTime",
        "Instant::now",
        "Timestamp::now",
        "Zoned::now",
        "rusqlite",
        "rand::",
        "ulid",
        "reqwest",
        "println!",
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for word in forbidden {
                assert!(!text.contains(word), "{} names `{word}`: the engine must stay pure", path.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= 3, "expected the engine's modules, found {checked}");
}

#[test]
fn the_engine_knows_only_the_model() {
    assert_clean(only("engine", &["engine", "model"]), "the engine may name only the model");
}

#[test]
fn the_model_and_the_config_name_nothing_above_the_model() {
    assert_clean(only("model", &["model"]), "the model names nothing above itself");
    // Workflow definitions are configuration; they name only the model themselves.
    assert_clean(only("workflows.rs", &["model", "template"]), "workflows name only the model");
    assert_clean(only("template.rs", &[]), "bounded rendering names nothing of the crate");
    assert_clean(
        only("config", &["model", "config", "workflows", "hooks"]),
        "the config names only the model",
    );
    // Incoming webhooks' mapping is pure: a sender's payload in, events out.
    assert_clean(only("hooks", &["model", "template"]), "the hooks' mapping names only the model");
}

#[test]
fn the_store_knows_no_http_screen_dispatcher_or_transport() {
    assert_clean(
        only("store", &["store", "model", "engine", "config"]),
        "the store knows the model, the engine's plans and its own config",
    );
}

#[test]
fn the_popups_a_tui_raises_name_no_dispatcher_or_store() {
    assert_clean(only("channels/desktop.rs", &["model"]), "desktop popups name only the model");
}

#[test]
fn the_wire_names_only_the_model() {
    assert_clean(only("sync/protocol.rs", &["model", "engine"]), "wire types name only the model");
}

#[test]
fn a_violation_is_reported_with_its_line() {
    let text = "use crate::model::Event;\nfn f() { crate::server::router(); }\n";
    assert_eq!(crate_paths(text), vec![(1, "model".to_string()), (2, "server".to_string())]);
}

/// The sibling modules of one directory a file names through `super::x` or `crate::<dir>::x`.
fn sibling_edges(dir: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") && path.file_stem().is_some_and(|s| s != "mod") {
            names.push(path.file_stem().unwrap().to_string_lossy().to_string());
        }
    }
    let absolute = format!("crate::{}::", dir.replace('/', "::"));
    let mut edges = Vec::new();
    for from in &names {
        let text = std::fs::read_to_string(root.join(format!("{from}.rs"))).unwrap();
        for prefix in ["super::", absolute.as_str()] {
            let mut rest = text.as_str();
            while let Some(at) = rest.find(prefix) {
                let after = &rest[at + prefix.len()..];
                let to: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if names.contains(&to) && &to != from && !edges.contains(&(from.clone(), to.clone())) {
                    edges.push((from.clone(), to));
                }
                rest = after;
            }
        }
    }
    edges
}

/// A cycle in `edges`, if there is one, as the modules along it.
fn cycle(edges: &[(String, String)]) -> Option<Vec<String>> {
    fn visit(
        at: &str,
        edges: &[(String, String)],
        path: &mut Vec<String>,
        done: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|p| p == at) {
            let mut found = path[start..].to_vec();
            found.push(at.to_string());
            return Some(found);
        }
        if done.iter().any(|d| d == at) {
            return None;
        }
        path.push(at.to_string());
        for (_, to) in edges.iter().filter(|(from, _)| from == at) {
            if let Some(found) = visit(to, edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.push(at.to_string());
        None
    }
    let mut done = Vec::new();
    edges.iter().find_map(|(from, _)| visit(from, edges, &mut Vec::new(), &mut done))
}

#[test]
fn the_stores_modules_import_each_other_in_one_direction() {
    for (dir, backend) in [("store/sqlite", "SQLite"), ("store/postgres", "PostgreSQL")] {
        let edges = sibling_edges(dir);
        assert!(edges.len() >= 5, "expected the {backend} store's modules to name each other: {edges:?}");
        if let Some(found) = cycle(&edges) {
            panic!("the {backend} store's modules import each other in a cycle: {}", found.join(" → "));
        }
    }
    // The shared types and the seam name no backend.
    assert_clean(
        only("store/types.rs", &["store", "model", "engine", "config"]),
        "store types name no backend",
    );
    let types =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store/types.rs")).unwrap();
    assert!(
        !types.contains("sqlite") && !types.contains("rusqlite"),
        "store/types.rs names the SQLite backend"
    );
    assert!(!types.contains("postgres"), "store/types.rs names the PostgreSQL backend");
}

#[test]
fn a_cycle_is_found_and_named() {
    let e = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(cycle(&[e("accept", "rows"), e("read", "rows")]), None);
    assert_eq!(
        cycle(&[e("accept", "read"), e("read", "rows"), e("rows", "accept")]),
        Some(vec!["accept".into(), "read".into(), "rows".into(), "accept".into()])
    );
}
