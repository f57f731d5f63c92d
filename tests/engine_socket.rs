//! The local engine socket: mode 0600, a stale file from a crashed run is replaced, a live
//! one is refused with a clear error, and the local user needs no token on it.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use std::os::unix::fs::PermissionsExt;

use campanile::local::{StartError, bind_socket};

#[tokio::test]
async fn stale_sockets_are_replaced_and_live_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("campanile/engine.sock");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // A crashed engine leaves its socket file behind with nobody listening.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());

    let live = bind_socket(&path).await.unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700);

    // Someone answers there: a second engine must not take over.
    let accept = tokio::spawn(async move {
        let _ = live.accept().await;
    });
    match bind_socket(&path).await {
        Err(StartError::AlreadyRunning(p)) => assert!(p.ends_with("engine.sock")),
        other => panic!("expected AlreadyRunning, got {:?}", other.map(|_| ())),
    }
    accept.abort();
}

#[test]
fn a_second_engine_says_one_is_running() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("run");
    let data = dir.path().join("data");
    let start = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_campanile"))
            .args(["--data", data.to_str().unwrap(), "daemon", "--listen", "127.0.0.1:0"])
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("USER", "alice")
            .env("NO_COLOR", "1")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut first = start();
    let socket = runtime.join("campanile/engine.sock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(std::time::Instant::now() < deadline, "the first engine did not come up");
        std::thread::yield_now();
    }
    let second = start().wait_with_output().unwrap();
    assert_eq!(second.status.code(), Some(2));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("another campanile engine already serves"), "{err}");
    first.kill().unwrap();
    first.wait().unwrap();
}

#[test]
fn one_engine_per_store_and_send_does_not_write_behind_its_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_campanile"));
        c.args(["--data", data.to_str().unwrap()])
            .args(args)
            .env_remove("XDG_RUNTIME_DIR")
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("USER", "alice")
            .env("NO_COLOR", "1")
            .env_remove("CAMPANILE_SERVER");
        c
    };
    let mut first = run(&["daemon", "--listen", "127.0.0.1:0", "--no-socket"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = data.join("campanile.lock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !campanile::dispatch::engine_running(&data.join("campanile.db")) {
        assert!(std::time::Instant::now() < deadline, "the engine never took {}", lock.display());
        std::thread::yield_now();
    }
    let second = run(&["daemon", "--listen", "127.0.0.1:0", "--no-socket"]).output().unwrap();
    assert_eq!(second.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&second.stderr).contains("another campanile engine already runs"));

    let sent = run(&["send", "--title", "behind its back"]).output().unwrap();
    assert_eq!(sent.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&sent.stderr).contains("--server"),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );

    first.kill().unwrap();
    first.wait().unwrap();
    // Once it is gone, the store is free again.
    assert!(run(&["send", "--title", "now"]).output().unwrap().status.success());
}
