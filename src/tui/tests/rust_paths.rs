//! Rust source read as the module paths it names, for the architecture tests: comments,
//! string and char literals blanked out, inline `#[cfg(test)]` modules cut, then every `use`
//! tree expanded and every `a::b::…` chain taken, and each resolved against the file's own
//! module (`crate::`, `campanile::`, `super::`, `self::`, or a child module it declares).
//! Enough Rust to follow imports, not a parser: macros and `#[path]` are not looked into.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One source file: its path under `src/tui`, its module path from the crate root and its
/// code (comments, strings and inline test modules blanked out).
pub struct Source {
    pub rel: String,
    pub module: Vec<String>,
    pub code: String,
}

impl Source {
    pub fn new(rel: &str, text: &str) -> Source {
        let mut module = vec!["tui".to_string()];
        let stem = rel.strip_suffix(".rs").unwrap_or(rel);
        module.extend(stem.split('/').filter(|s| *s != "mod").map(str::to_string));
        Source { rel: rel.to_string(), module, code: without_test_modules(&strip(text)) }
    }
}

/// Every `.rs` file under `src/tui`, with the ones under `tests/` only when asked for.
pub fn sources(with_tests: bool) -> Vec<Source> {
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
pub fn named(source: &Source) -> Vec<Vec<String>> {
    let kids = children(&source.code);
    paths(&source.code).iter().filter_map(|p| resolve(source, &kids, p)).collect()
}
