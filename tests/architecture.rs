//! The engine stays pure (STYLE habit 1): no clock, no I/O, no runtime, no randomness.
//! A cheap check that fails the moment someone reaches for one inside `src/engine/`.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

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
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
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
