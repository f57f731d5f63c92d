//! The TUI core stays pure (STYLE habit 2): no terminal, no runtime, no clock, no I/O. A
//! cheap check that fails the moment one of its files reaches for one. The shell, which
//! owns the terminal, lists its files in `SHELL`, and only those may.

use std::path::{Path, PathBuf};

const SHELL: [&str; 8] = [
    "shell/clipboard.rs",
    "shell/event_loop.rs",
    "shell/live.rs",
    "shell/mod.rs",
    "shell/pager.rs",
    "shell/pipe.rs",
    "shell/popups.rs",
    "shell/rest.rs",
];

const FORBIDDEN: [&str; 12] = [
    "tokio",
    "crossterm::",
    "std::fs",
    "std::net",
    "std::io",
    "std::env",
    "SystemTime",
    "Instant::now",
    "Timestamp::now",
    "Zoned::now",
    "reqwest",
    "println!",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && path.file_name().is_some_and(|n| n != "tests") {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_tui_core_names_no_terminal_runtime_clock_or_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut checked = 0;
    for path in files {
        let rel = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        if SHELL.contains(&rel.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for word in FORBIDDEN {
            assert!(!text.contains(word), "src/tui/{rel} names `{word}`: the TUI core must stay pure");
        }
        checked += 1;
    }
    assert!(checked >= 10, "expected the core's modules, found {checked}");
}
