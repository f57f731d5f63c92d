//! `campanile daemon`: the headless dispatcher. Logs go to stderr (structured, `RUST_LOG`
//! filters); SIGINT or SIGTERM drains and stops; systemd is told when it is ready.

use std::net::SocketAddr;

use clap::Args;

use super::{Env, Failure};
use crate::local::{Serve, notify_ready, run as run_engine};

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Address for the REST API and websocket stream [default: the config's daemon.listen]
    #[arg(long, env = "CAMPANILE_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Do not serve the local engine socket (by default it is served in a user session,
    /// that is when $XDG_RUNTIME_DIR is set)
    #[arg(long)]
    no_socket: bool,
    /// If the store file is not a usable store (empty, not a database, damaged), set it
    /// aside (renamed, never deleted) and begin a new, empty store; a sound store is kept
    #[arg(long)]
    new_store: bool,
}

pub fn run(env: Env, args: &DaemonArgs) -> Result<(), Failure> {
    let filter = crate::logging::filter();
    let ansi = super::colour(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
    if let Some(warning) = env.config.exposed_secrets(&env.paths.config_file) {
        tracing::warn!("{warning}");
    }
    let listen = match args.listen {
        Some(a) => a,
        None => {
            env.config.daemon.listen.parse().map_err(|_| Failure::input("daemon.listen: not an address"))?
        }
    };
    let socket = !args.no_socket && std::env::var_os("XDG_RUNTIME_DIR").is_some();
    let location = env.location()?;
    if args.new_store {
        let Some(path) = location.sqlite_path() else {
            return Err(Failure::input(format!(
                "--new-store sets a SQLite file aside; {location} is a PostgreSQL database (restore or recreate it there)"
            )));
        };
        if let Some(aside) = crate::store::SqliteStore::set_aside_unusable(path)? {
            tracing::warn!(
                store = %path.display(),
                set_aside = %aside.display(),
                "the store was not usable: set aside, beginning a new store"
            );
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::check(format!("cannot start the runtime: {e}")))?;
    let paths = env.paths.clone();
    let socket_path = paths.socket();
    runtime.block_on(async move {
        run_engine(
            &paths,
            env.config,
            Serve { tcp: Some(listen), socket },
            |addr| {
                let addr = addr.map(|a| a.to_string()).unwrap_or_default();
                if socket {
                    tracing::info!(listen = %addr, socket = %socket_path.display(), store = %location, "campanile daemon ready");
                } else {
                    tracing::info!(listen = %addr, store = %location, "campanile daemon ready");
                }
                notify_ready();
            },
            shutdown_signal(),
        )
        .await
        .map_err(|e| Failure::input(e.to_string()))
    })
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Publishing connections
    #[arg(long, default_value_t = 16)]
    publishers: usize,
    /// Websocket subscribers (each receives every event)
    #[arg(long, default_value_t = 4)]
    subscribers: usize,
    /// Seconds of load (and as many for the no-op bound)
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Total events per second; default: as fast as the server answers
    #[arg(long)]
    rate: Option<u64>,
    /// SQLite durability of the temporary daemon
    #[arg(long, value_enum, default_value = "full")]
    synchronous: SyncArg,
    /// Where to write the JSON report [default: bench-report.json in the state directory,
    /// ~/.local/state/campanile]
    #[arg(long)]
    report: Option<std::path::PathBuf>,
    /// Measure delivery instead: N webhook deliveries to a receiver on 127.0.0.1
    #[arg(long, value_name = "N")]
    deliveries: Option<u64>,
    /// With --deliveries: as many again to a second user whose webhook never answers
    #[arg(long, requires = "deliveries")]
    dead_endpoint: bool,
    /// Every event carries a thread of its own (the engine then looks for a series to
    /// collapse it into)
    #[arg(long)]
    threads: bool,
    /// The recipient's inbox holds N items before the load starts
    #[arg(long, value_name = "N", default_value_t = 0, conflicts_with = "deliveries")]
    prefill: usize,
    /// Measure a team instead: N users each with one websocket connection to a daemon in a
    /// child process, and --broadcasts broadcasts to all of them
    #[arg(long, value_name = "N", conflicts_with_all = ["deliveries", "prefill"])]
    users: Option<usize>,
    /// With --users: how many broadcasts, one after another
    #[arg(long, value_name = "K", default_value_t = 20, requires = "users")]
    broadcasts: usize,
    /// With --users: measure an nginx + nchan pub/sub server at this base URL instead of a
    /// campanile daemon (subscribers on `/sub/bench`, publishes to `/pub/bench`), with the
    /// same client (scripts/nchan-compare.sh sets one up)
    #[arg(long, value_name = "URL", requires = "users", hide = true)]
    nchan: Option<String>,
    /// With --nchan: the server's process ids, whose CPU and memory are read
    #[arg(long, value_name = "PID", requires = "nchan", value_delimiter = ',', hide = true)]
    nchan_pids: Vec<u32>,
    /// Another node of the same cluster (repeatable): publishers and subscribers are spread
    /// over --server and these in turn, so every subscriber sees what the others accepted
    #[arg(long, value_name = "URL")]
    also: Vec<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SyncArg {
    Full,
    Normal,
}

pub fn bench(env: &Env, args: &BenchArgs) -> Result<(), Failure> {
    let report_path = match &args.report {
        Some(p) => p.clone(),
        None => {
            std::fs::create_dir_all(&env.paths.state_dir)
                .map_err(|e| Failure::check(format!("{}: {e}", env.paths.state_dir.display())))?;
            env.paths.state_dir.join("bench-report.json")
        }
    };
    let server = match &env.server {
        Some(url) => {
            let target = crate::client::Target::from_url(url, env.token.clone(), env.ca_cert.as_deref())
                .map_err(|e| Failure::input(e.to_string()))?;
            match target {
                crate::client::Target::Tcp { authority, token: Some(t), tls } => Some((authority, t, tls)),
                _ => return Err(Failure::input("--server needs --token (a publisher or admin token)")),
            }
        }
        None => None,
    };
    if server.is_none() && !args.also.is_empty() {
        return Err(Failure::input("--also names more nodes of the --server's cluster: give --server too"));
    }
    let opts = crate::bench::Options {
        publishers: args.publishers.max(1),
        subscribers: args.subscribers,
        duration: std::time::Duration::from_secs(args.seconds.max(1)),
        rate: args.rate,
        server,
        synchronous: match args.synchronous {
            SyncArg::Full => crate::store::Synchronous::Full,
            SyncArg::Normal => crate::store::Synchronous::Normal,
        },
        threads: args.threads,
        prefill: args.prefill,
        also: args
            .also
            .iter()
            .map(|url| {
                match crate::client::Target::from_url(url, env.token.clone(), env.ca_cert.as_deref()) {
                    Ok(crate::client::Target::Tcp { authority, .. }) => Ok(authority),
                    Ok(_) => Err(Failure::input(format!("--also {url}: name a node as http(s)://host:port"))),
                    Err(e) => Err(Failure::input(format!("--also {url}: {e}"))),
                }
            })
            .collect::<Result<_, _>>()?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::check(format!("cannot start the runtime: {e}")))?;
    if let Some(users) = args.users {
        if opts.server.is_some() {
            return Err(Failure::input("--users runs its own daemon in a child process; drop --server"));
        }
        let nchan = args.nchan.as_ref().map(|url| crate::bench_users::Nchan {
            addr: url.trim_start_matches("http://").trim_end_matches('/').to_string(),
            pids: args.nchan_pids.clone(),
        });
        let o = crate::bench_users::Options {
            users,
            broadcasts: args.broadcasts,
            synchronous: opts.synchronous,
            nchan,
        };
        let r = runtime.block_on(crate::bench_users::run(o)).map_err(Failure::check)?;
        let mib = |kib: u64| kib as f64 / 1024.0;
        let slowest = r.reach_each_ms.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1));
        println!(
            "{}: {} users, one connection each, {} broadcasts\n  connect   {} connections open in {:.1} s\n  idle      {:.1} KiB per connection (RSS {:.1} MiB before, {:.1} MiB with half open, {:.1} MiB with all); the second half's {:.1} KiB each\n  reach     p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms (POST sent → the last connection has the frame; slowest: broadcast {})\n  frames    p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms (POST sent → each connection has it)\n  publish   p50 {:.1} ms  max {:.1} ms (POST sent → 201)\n  server    {:.0} ms CPU per broadcast (user + system; {:.0} ms of it the writer's), {:.0} KiB written to disk\n  client    {:.0} ms CPU per broadcast (this process, on the same cores)\n  missing   {} frames",
            r.target,
            r.users,
            r.broadcasts,
            r.users,
            r.connect_s,
            r.idle_bytes_per_connection / 1024.0,
            mib(r.rss_before_kib),
            mib(r.rss_half_kib),
            mib(r.rss_idle_kib),
            r.marginal_bytes_per_connection / 1024.0,
            r.reach_ms.p50,
            r.reach_ms.p99,
            r.reach_ms.max,
            slowest.map(|(i, _)| i.to_string()).unwrap_or_default(),
            r.frame_ms.p50,
            r.frame_ms.p99,
            r.frame_ms.max,
            r.publish_ms.p50,
            r.publish_ms.max,
            r.server_cpu_ms_per_broadcast,
            r.writer_cpu_ms_per_broadcast,
            r.server_write_kib_per_broadcast,
            r.client_cpu_ms_per_broadcast,
            r.frames_missing,
        );
        return write_report(&report_path, &r);
    }
    if let Some(n) = args.deliveries {
        if opts.server.is_some() {
            return Err(Failure::input("--deliveries runs its own temporary daemon; drop --server"));
        }
        let report = runtime
            .block_on(crate::bench_delivery::run(n.max(1), args.dead_endpoint, opts.synchronous))
            .map_err(Failure::check)?;
        let json = serde_json::to_string_pretty(&report).map_err(|e| Failure::check(e.to_string()))?;
        std::fs::write(&report_path, &json)
            .map_err(|e| Failure::check(format!("{}: {e}", report_path.display())))?;
        println!(
            "{}: {} webhook deliveries in {:.2} s: {:.0} deliveries/s ({} redelivered)\n  dead endpoint: {}\n  report   {}",
            report.target,
            report.deliveries,
            report.seconds,
            report.deliveries_per_s,
            report.duplicates,
            if report.dead_endpoint {
                format!("{} requests reached it (it never answers)", report.dead_endpoint_requests)
            } else {
                "none".into()
            },
            report_path.display()
        );
        return Ok(());
    }
    if opts.prefill > 0 {
        if opts.server.is_some() {
            return Err(Failure::input("--prefill fills a temporary daemon's store; drop --server"));
        }
        // The same load into an empty inbox and into a full one, in this run.
        let prefill = opts.prefill;
        let empty = runtime
            .block_on(crate::bench::run(crate::bench::Options { prefill: 0, ..opts.clone() }))
            .map_err(Failure::check)?;
        print_report(
            &empty,
            &format!("empty inbox{}", if opts.threads { ", a thread per event" } else { "" }),
        );
        let full = runtime.block_on(crate::bench::run(opts)).map_err(Failure::check)?;
        print_report(&full, &format!("inbox of {prefill} items"));
        if let Some(b) = &full.bulk {
            println!(
                "  connect  hello → welcome {:.1} ms; a fresh client's snapshot of {} items {:.0} ms",
                b.welcome_ms, b.snapshot_items, b.snapshot_ms
            );
            println!(
                "  bulk     mark all {} items read: {:.0} ms (unread after: {}); undo: {:.0} ms (unread after: {})",
                b.items, b.mark_read_ms, b.unread_after, b.undo_ms, b.unread_after_undo
            );
        }
        let ratio = if empty.events_per_s > 0.0 { full.events_per_s / empty.events_per_s } else { 0.0 };
        println!("growth: accepting into {prefill} items runs at {ratio:.2}x of the empty inbox");
        let json = serde_json::json!({"empty": empty, "prefilled": full, "prefill": prefill, "ratio": ratio});
        return write_report(&report_path, &json);
    }
    let report = runtime.block_on(crate::bench::run(opts)).map_err(Failure::check)?;
    print_report(&report, "");
    write_report(&report_path, &report)
}

fn write_report(path: &std::path::Path, report: &impl serde::Serialize) -> Result<(), Failure> {
    let json = serde_json::to_string_pretty(report).map_err(|e| Failure::check(e.to_string()))?;
    std::fs::write(path, &json).map_err(|e| Failure::check(format!("{}: {e}", path.display())))?;
    println!("  report   {}", path.display());
    Ok(())
}

fn print_report(report: &crate::bench::Report, what: &str) {
    println!(
        "{}{}{}: {} publishers, {} subscribers, {:.1} s\n  ingest   {:>9.0} events/s accepted ({} errors)\n  fan-out  {:>9.0} frames/s ({} missing)\n  latency  p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms (POST sent → frame received)\n  bound    {:>9.0} GET /healthz per s on the same server: ingest is {:.2}x of it",
        report.target,
        if what.is_empty() { "" } else { ", " },
        what,
        report.publishers,
        report.subscribers,
        report.duration_s,
        report.events_per_s,
        report.errors,
        report.frames_per_s,
        report.frames_missing,
        report.latency_ms.p50,
        report.latency_ms.p90,
        report.latency_ms.p99,
        report.latency_ms.max,
        report.healthz_per_s,
        report.ingest_to_healthz,
    );
}
