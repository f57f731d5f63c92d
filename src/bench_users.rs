//! `campanile bench --users N --broadcasts K`: a team on one node. A temporary daemon runs in
//! a child process (so the client's work is not counted as the server's); N users each hold
//! one websocket connection; K broadcasts follow one another. For each broadcast the clock
//! runs from the POST being sent until the last connection has its frame; the daemon's CPU
//! (user + system, from `/proc`) and what it wrote to storage are read around every
//! broadcast; its resident memory before any connection, with half of them open and with all
//! open gives the cost of an idle connection, on average and at the margin. Loopback only.
//! A hidden `--nchan URL` measures an nginx + nchan server with the same client.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::bench::Latency;
use crate::store::{Location, NewUser, Scope, Synchronous};

#[derive(Debug, Clone)]
pub struct Options {
    pub users: usize,
    pub broadcasts: usize,
    pub synchronous: Synchronous,
    /// Measure an nginx + nchan server instead of a campanile daemon, with the same client.
    pub nchan: Option<Nchan>,
}

/// An nginx + nchan pub/sub server already running (scripts/nchan-compare.sh): subscribers
/// on `/sub/bench`, publishes to `/pub/bench`, kept in memory.
#[derive(Debug, Clone)]
pub struct Nchan {
    /// `host:port`.
    pub addr: String,
    /// nginx's processes (master and workers): their CPU and memory are the server's.
    pub pids: Vec<u32>,
}

#[derive(Debug, Serialize)]
pub struct UsersReport {
    pub target: String,
    pub users: usize,
    pub broadcasts: usize,
    pub synchronous: Synchronous,
    /// Seconds until every connection had its `welcome`.
    pub connect_s: f64,
    /// The daemon's resident memory before any connection, with half of them open and
    /// with all open and idle.
    pub rss_before_kib: u64,
    pub rss_half_kib: u64,
    pub rss_idle_kib: u64,
    /// (all open − none) / N: counts what the daemon grew by once, whatever the number.
    pub idle_bytes_per_connection: f64,
    /// (all open − half open) / (N − N/2): what one more connection costs.
    pub marginal_bytes_per_connection: f64,
    /// Per broadcast: POST sent → the last connection has the frame.
    pub reach_ms: Latency,
    /// The same, broadcast by broadcast, in order.
    pub reach_each_ms: Vec<f64>,
    /// Every frame of every broadcast: POST sent → that connection has it.
    pub frame_ms: Latency,
    /// Per broadcast: POST sent → `201` back.
    pub publish_ms: Latency,
    /// The daemon's CPU time (user + system) per broadcast, from POST to the last frame.
    pub server_cpu_ms_per_broadcast: f64,
    /// Of it, the writer thread's (the commit of the broadcast's rows).
    pub writer_cpu_ms_per_broadcast: f64,
    /// What the daemon wrote to storage per broadcast (`write_bytes` of `/proc/PID/io`: the
    /// commit's WAL and the checkpoints that copy it back).
    pub server_write_kib_per_broadcast: f64,
    /// This process's CPU time per broadcast: the client, on the same cores as the daemon.
    pub client_cpu_ms_per_broadcast: f64,
    /// Frames that did not arrive within the timeout (must be 0).
    pub frames_missing: u64,
}

/// How long one broadcast may take to reach everyone before its stragglers count as missing.
const REACH_TIMEOUT: Duration = Duration::from_secs(60);
/// The client's read buffer per connection: a broadcast's frame is a few KiB.
const CLIENT_READ_BUFFER: usize = 8 * 1024;
/// Connections opening at once.
const OPENING: usize = 64;

/// The daemon child: killed (and its directory removed) when dropped.
struct Daemon {
    child: Child,
    dir: std::path::PathBuf,
    addr: String,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32);
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        // It stops within a moment; one that does not is killed after ten seconds.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let watchdog = std::thread::spawn(move || {
            if rx.recv_timeout(Duration::from_secs(10)).is_err()
                && let Some(pid) = pid
            {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        });
        let _ = self.child.wait();
        let _ = tx.send(());
        let _ = watchdog.join();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Daemon {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// The daemon's resident memory in KiB (`VmRSS`).
fn rss_kib(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in /proc".into())
}

/// Bytes the process has caused to be written to storage so far.
fn write_bytes(pid: u32) -> Result<u64, String> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).map_err(|e| e.to_string())?;
    io.lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| "no write_bytes in /proc".into())
}

/// The daemon's CPU time so far (user + system) in milliseconds. `/proc` counts in USER_HZ
/// ticks, which Linux fixes at 100 a second for user space.
fn cpu_ms(pid: u32) -> Result<f64, String> {
    stat_cpu_ms(&format!("/proc/{pid}/stat"))
}

/// The CPU time of the daemon's writer thread (the one that commits), in milliseconds.
fn writer_cpu_ms(pid: u32) -> Result<f64, String> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|e| e.to_string())?;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == "campanile-write" {
            return stat_cpu_ms(&task.path().join("stat").to_string_lossy());
        }
    }
    Err("the daemon has no writer thread".into())
}

fn stat_cpu_ms(path: &str) -> Result<f64, String> {
    let stat = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    // The command name sits in parentheses and may hold spaces: count fields after it.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or("an unreadable /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).ok_or("an unreadable /proc stat");
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Ok((tick(11)? + tick(12)?) as f64 * 10.0)
}

/// Makes N users with preferences (the first also holds the admin token that broadcasts), then starts
/// `campanile daemon` on a free loopback port over that store.
fn start_daemon(opts: &Options) -> Result<(Daemon, String, Vec<String>), String> {
    let dir = crate::bench::tempfile_dir()?;
    let paths = crate::config::Paths {
        config_file: dir.join("config.toml"),
        data_dir: dir.clone(),
        runtime_dir: dir.join("run"),
        state_dir: dir.join("state"),
    };
    let (admin, tokens) = {
        let mut store =
            Location::Sqlite(paths.store()).open(Synchronous::Normal).map_err(|e| e.to_string())?;
        let now = jiff::Timestamp::now();
        let users: Vec<NewUser> = (0..opts.users)
            .map(|i| NewUser { name: format!("u{i:05}"), email: None, display_name: None })
            .collect();
        let imported = store.import_users(&users, Some(Scope::User), now).map_err(|e| e.to_string())?;
        // Each user has saved preferences, as a team's users have: quiet hours in one of a
        // few time zones (the engine reads and weighs them for every recipient).
        let defaults = crate::model::prefs::Preferences::default();
        let zones = ["Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC"];
        for (i, u) in users.iter().enumerate() {
            let mut prefs = defaults.clone();
            prefs.quiet_hours.enabled = true;
            prefs.quiet_hours.timezone = zones[i % zones.len()].to_string();
            store.put_prefs(&u.name, &prefs, None, &defaults, now).map_err(|e| e.to_string())?;
        }
        let admin = store
            .create_token(&users[0].name, Scope::Admin, Some("bench"), now)
            .map_err(|e| e.to_string())?;
        (admin, imported.into_iter().filter_map(|i| i.token).collect::<Vec<_>>())
    };
    let sync = match opts.synchronous {
        Synchronous::Full => "full",
        Synchronous::Normal => "normal",
    };
    let config = format!("[daemon]\nsynchronous = \"{sync}\"\nmax_connections = {}\n", opts.users + 256);
    std::fs::write(&paths.config_file, config).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .arg("--config")
        .arg(&paths.config_file)
        .arg("--data")
        .arg(&dir)
        .args(["daemon", "--listen", "127.0.0.1:0", "--no-socket"])
        .env("RUST_LOG", "campanile=info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the daemon: {e}"))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads the log until the daemon says where it listens, then keeps draining it.
    std::thread::spawn(move || {
        let mut tail = Vec::new();
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split_whitespace().find_map(|w| w.strip_prefix("listen="))
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(Ok(addr.to_string()));
            }
            if tx.is_some() {
                tail.push(line);
            } else if line.contains(" WARN ") || line.contains(" ERROR ") {
                // What went wrong during the run is part of its result.
                eprintln!("daemon: {line}");
            }
        }
        if let Some(tx) = tx {
            let _ = tx.send(Err(format!("the daemon stopped before it listened:\n{}", tail.join("\n"))));
        }
    });
    let mut daemon = Daemon { child, dir, addr: String::new() };
    daemon.addr = rx
        .recv_timeout(Duration::from_secs(60))
        .map_err(|_| "the daemon did not say where it listens within 60 s".to_string())??;
    Ok((daemon, admin, tokens))
}

/// One user's connection: says hello, waits for `welcome`, then reports each broadcast's
/// frame (its number) and when it came. To nchan it only subscribes.
async fn connection(
    url: String,
    hello: Option<String>,
    arrived: mpsc::UnboundedSender<(usize, Instant)>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    // A low-overhead client: the library's default 128 KiB read buffer is zero-filled on
    // each read, and with thousands of connections on the same cores as the daemon that
    // memset would be most of the machine's work, counted against the daemon's latency.
    let config = WebSocketConfig::default().read_buffer_size(CLIENT_READ_BUFFER);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .map_err(|e| format!("websocket: {e}"))?;
    if let Some(token) = hello {
        let hello =
            serde_json::json!({"type": "hello", "token": token, "last_seq": 0, "client": "campanile-bench"});
        ws.send(Message::text(hello.to_string())).await.map_err(|e| e.to_string())?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.contains("\"type\":\"welcome\"") => break,
                Some(Ok(Message::Text(t))) if t.contains("\"type\":\"error\"") => return Err(t.to_string()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("the daemon closed the connection before welcome".into()),
            }
        }
    }
    Ok(tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            let Message::Text(t) = msg else { continue };
            // A cheap look for the broadcast's number: the client's own cost is not the point.
            if let Some(at) = t.find("\"bench_b\":") {
                let digits: String = t[at + 10..].chars().take_while(char::is_ascii_digit).collect();
                if let Ok(n) = digits.parse() {
                    let _ = arrived.send((n, Instant::now()));
                }
            }
        }
    }))
}

/// Publishes broadcast `n`: to campanile's events route with the admin token, or to nchan's
/// publisher location.
async fn post(addr: &str, admin: Option<&str>, n: usize) -> Result<(), String> {
    let body = serde_json::json!({
        "type": "bench.broadcast", "title": format!("Broadcast {n}"),
        "to": {"broadcast": true}, "data": {"bench_b": n},
    });
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let (mut s, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let req = match admin {
        Some(admin) => hyper::Request::post("/api/v1/events")
            .header("authorization", format!("Bearer {admin}"))
            .header("content-type", "application/json"),
        None => hyper::Request::post("/pub/bench").header("content-type", "text/plain"),
    };
    let req = req
        .header("host", addr)
        .body(http_body_util::Full::new(hyper::body::Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    let resp = s.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let bytes =
        http_body_util::BodyExt::collect(resp.into_body()).await.map_err(|e| e.to_string())?.to_bytes();
    if !status.is_success() {
        return Err(format!("the broadcast was refused: {status}: {}", String::from_utf8_lossy(&bytes)));
    }
    Ok(())
}

fn latency(h: &Histogram<u64>) -> Latency {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    Latency { p50: ms(0.5), p90: ms(0.9), p99: ms(0.99), max: h.max() as f64 / 1000.0 }
}

/// What is measured: the temporary daemon, or an nchan server's processes.
struct Server {
    daemon: Option<Daemon>,
    pids: Vec<u32>,
    addr: String,
}

impl Server {
    fn sum<T: std::iter::Sum>(&self, f: impl Fn(u32) -> Result<T, String>) -> Result<T, String> {
        self.pids.iter().map(|p| f(*p)).sum()
    }
    fn rss_kib(&self) -> Result<u64, String> {
        self.sum(rss_kib)
    }
    fn cpu_ms(&self) -> Result<f64, String> {
        self.sum(cpu_ms)
    }
    fn writer_cpu_ms(&self) -> Result<f64, String> {
        match self.daemon {
            Some(_) => self.sum(writer_cpu_ms),
            None => Ok(0.0),
        }
    }
    fn write_bytes(&self) -> Result<u64, String> {
        self.sum(write_bytes)
    }
}

/// Opens connections until `upto` are open.
async fn open(
    readers: &mut Vec<tokio::task::JoinHandle<()>>,
    upto: usize,
    url: &str,
    tokens: &mut impl Iterator<Item = Option<String>>,
    arrived: &mpsc::UnboundedSender<(usize, Instant)>,
) -> Result<(), String> {
    while readers.len() < upto {
        let batch: Vec<_> = tokens
            .by_ref()
            .take(OPENING.min(upto - readers.len()))
            .map(|t| tokio::spawn(connection(url.to_string(), t, arrived.clone())))
            .collect();
        if batch.is_empty() {
            return Err("fewer tokens than users".into());
        }
        for task in batch {
            readers.push(task.await.map_err(|e| e.to_string())??);
        }
    }
    Ok(())
}

/// Runs the benchmark and returns its report.
pub async fn run(opts: Options) -> Result<UsersReport, String> {
    let users = opts.users.max(1);
    let opts = Options { users, broadcasts: opts.broadcasts.max(1), ..opts };
    // This process holds a socket per user, and so does the daemon (its limit is its own).
    let fds = crate::server::listen::raise_fd_limit();
    if fds < users as u64 + 64 {
        return Err(format!(
            "--users {users} needs {} open files in this process and the limit is {fds}: raise it (ulimit -Hn)",
            users + 64
        ));
    }
    let (server, admin, tokens, url) = match &opts.nchan {
        Some(n) => {
            let server = Server { daemon: None, pids: n.pids.clone(), addr: n.addr.clone() };
            let url = format!("ws://{}/sub/bench", n.addr);
            (server, None, vec![None; users], url)
        }
        None => {
            let (daemon, admin, tokens) = tokio::task::block_in_place(|| start_daemon(&opts))?;
            let (pid, addr) = (daemon.pid(), daemon.addr.clone());
            let url = format!("ws://{addr}/api/v1/stream");
            let server = Server { daemon: Some(daemon), pids: vec![pid], addr };
            (server, Some(admin), tokens.into_iter().map(Some).collect(), url)
        }
    };
    let addr = server.addr.clone();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = server.rss_kib()?;

    let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
    let started = Instant::now();
    let mut readers = Vec::with_capacity(users);
    let mut tokens = tokens.into_iter();
    // Half, then the rest: what the second half adds is what a connection costs, without
    // what the daemon grows by once (its runtime's and allocator's first arenas).
    open(&mut readers, users / 2, &url, &mut tokens, &arrived_tx).await?;
    let half_open = readers.len();
    let half_s = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_half = server.rss_kib()?;
    let resumed = Instant::now();
    open(&mut readers, users, &url, &mut tokens, &arrived_tx).await?;
    drop(arrived_tx);
    let connect_s = (half_s + resumed.elapsed()).as_secs_f64();
    // Idle: let the daemon settle before reading its memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = server.rss_kib()?;

    let mut reach = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).map_err(|e| e.to_string())?;
    let mut frames = reach.clone();
    let mut publish = reach.clone();
    let mut each = Vec::with_capacity(opts.broadcasts);
    let (mut cpu, mut writer, mut client, mut missing, mut written) = (0.0, 0.0, 0.0, 0u64, 0u64);
    for n in 0..opts.broadcasts {
        let cpu_before = server.cpu_ms()?;
        let writer_before = server.writer_cpu_ms()?;
        let written_before = server.write_bytes()?;
        let client_before = cpu_ms(std::process::id())?;
        let sent = Instant::now();
        post(&addr, admin.as_deref(), n).await?;
        let _ = publish.record(sent.elapsed().as_micros().max(1) as u64);
        let (mut got, mut last) = (0usize, sent);
        let deadline = sent + REACH_TIMEOUT;
        while got < users {
            match tokio::time::timeout_at(deadline.into(), arrived.recv()).await {
                Ok(Some((b, at))) if b == n => {
                    got += 1;
                    last = last.max(at);
                    let _ = frames.record(at.duration_since(sent).as_micros().max(1) as u64);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        cpu += server.cpu_ms()? - cpu_before;
        writer += server.writer_cpu_ms()? - writer_before;
        written += server.write_bytes()?.saturating_sub(written_before);
        client += cpu_ms(std::process::id())? - client_before;
        missing += (users - got) as u64;
        let took = last.duration_since(sent);
        let _ = reach.record(took.as_micros().max(1) as u64);
        each.push(took.as_secs_f64() * 1000.0);
    }
    for r in readers {
        r.abort();
    }
    let k = opts.broadcasts as f64;
    let report = UsersReport {
        target: match &server.daemon {
            Some(d) => format!("temporary daemon (pid {}) on {addr}", d.pid()),
            None => format!("nchan on {addr} (pids {:?})", server.pids),
        },
        users,
        broadcasts: opts.broadcasts,
        synchronous: opts.synchronous,
        connect_s,
        rss_before_kib: rss_before,
        rss_half_kib: rss_half,
        rss_idle_kib: rss_idle,
        idle_bytes_per_connection: rss_idle.saturating_sub(rss_before) as f64 * 1024.0 / users as f64,
        marginal_bytes_per_connection: rss_idle.saturating_sub(rss_half) as f64 * 1024.0
            / (users - half_open).max(1) as f64,
        reach_ms: latency(&reach),
        reach_each_ms: each,
        frame_ms: latency(&frames),
        publish_ms: latency(&publish),
        server_cpu_ms_per_broadcast: cpu / k,
        writer_cpu_ms_per_broadcast: writer / k,
        server_write_kib_per_broadcast: written as f64 / 1024.0 / k,
        client_cpu_ms_per_broadcast: client / k,
        frames_missing: missing,
    };
    drop(server);
    Ok(report)
}
