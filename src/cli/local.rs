//! Commands that work on the local store directly: publishing (`send`), listing, users.
//! The store's single-transaction accept makes this safe beside a running engine: SQLite
//! serialises writers, and the outbox rows wait for whichever engine runs next.

use std::io::{IsTerminal, Read};

use clap::Args;
use clap::builder::TypedValueParser;
use jiff::Timestamp;

use super::{Env, Failure, colour};
use crate::client::{self, Target};
use crate::engine::Presence;
use crate::model::{Event, Recipients, Urgency};
use crate::store::ListFilter;
use crate::store::{AcceptContext, Store, Submission};

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Event type, dotted: build.failed [default: message]
    #[arg(long = "type", value_name = "TYPE")]
    kind: Option<String>,
    /// Title (required unless a JSON event comes on stdin)
    #[arg(long)]
    title: Option<String>,
    /// Body text (light markdown: **bold**, `code`)
    #[arg(long)]
    body: Option<String>,
    /// A link the TUI's `o` opens
    #[arg(long)]
    url: Option<String>,
    /// How urgent [default: normal]
    #[arg(long, value_parser = clap::value_parser!(Urgency))]
    urgency: Option<Urgency>,
    /// Category [default: from the type's prefix, e.g. issue.assigned → issues, else system]
    #[arg(long)]
    category: Option<String>,
    /// Thread the item belongs to (grouping, mute, presence)
    #[arg(long)]
    thread: Option<String>,
    /// Idempotency key: sending the same id twice records once
    #[arg(long)]
    id: Option<String>,
    /// Recipients [default: yourself]
    #[arg(long, num_args = 1.., conflicts_with = "broadcast", value_name = "USER")]
    to: Vec<String>,
    /// Every user of the store
    #[arg(long)]
    broadcast: bool,
}

impl clap::builder::ValueParserFactory for Urgency {
    type Parser = clap::builder::ValueParser;
    fn value_parser() -> Self::Parser {
        // Possible values, so help and shell completions offer them.
        let values = clap::builder::PossibleValuesParser::new(["low", "normal", "high", "urgent"]);
        clap::builder::ValueParser::new(values.try_map(|s| s.parse::<Urgency>()))
    }
}

#[derive(Debug, Args, Default)]
pub struct ListArgs {
    /// Only unread items (the same as --view unread)
    #[arg(long, conflicts_with = "view")]
    unread: bool,
    /// Which items: inbox (not archived, not snoozed), unread, snoozed, archived, all
    #[arg(long, value_enum, default_value = "inbox")]
    view: crate::model::View,
    /// How many items [default: 20 on a terminal, every one in a pipe]
    #[arg(long)]
    limit: Option<u32>,
}

/// Opens the local store and makes sure the local user exists.
fn open_local(env: &Env) -> Result<(Box<dyn Store>, String), Failure> {
    let store = env.location()?.open(env.config.daemon.synchronous)?;
    let user = crate::local::ensure_local_user(&env.paths, &env.config)?;
    Ok((store, user))
}

pub fn send(env: &Env, a: &SendArgs) -> Result<(), Failure> {
    let stdin = std::io::stdin();
    let event = if a.title.is_none() && !stdin.is_terminal() {
        let mut text = String::new();
        stdin.lock().read_to_string(&mut text).map_err(|e| Failure::input(format!("stdin: {e}")))?;
        if text.trim().is_empty() {
            return Err(Failure::input(
                "nothing on stdin: give --title (and --body, --type…) or pipe a JSON event",
            ));
        }
        // The error names its field already (`event: …` for the whole object).
        Event::from_json(&text).map_err(|e| Failure::input(format!("{e} (stdin is read as a JSON event)")))?
    } else {
        let title = a
            .title
            .clone()
            .ok_or_else(|| Failure::input("--title: required (or pipe a JSON event on stdin)"))?;
        let to = if a.broadcast {
            Some(Recipients::Broadcast(true))
        } else if a.to.is_empty() {
            None
        } else {
            Some(Recipients::Users(a.to.clone()))
        };
        let event = Event {
            id: a.id.clone(),
            kind: a.kind.clone().unwrap_or_else(|| "message".to_string()),
            category: a.category.clone(),
            urgency: a.urgency,
            to,
            thread: a.thread.clone(),
            collapse_key: None,
            actor: None,
            title,
            body: a.body.clone(),
            url: a.url.clone(),
            data: serde_json::Value::Null,
            occurred_at: None,
        };
        event.validate().map_err(|e| Failure::input(format!("--{e}")))?;
        event
    };
    publish(env, event)
}

fn publish(env: &Env, event: Event) -> Result<(), Failure> {
    if let Some(t) = target(env)? {
        return send_to(&t, &event);
    }
    // An engine that holds the store but serves no socket is usually stopping: it unlinks
    // its socket when shutdown begins and lets go of the store once its writer is done
    // (a starting engine binds its socket before it takes the store). Wait for the store to
    // be free or for a successor's socket; an engine that never serves one (a daemon with
    // `--no-socket`) is refused by `send_direct` after the wait.
    let location = env.location()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| Failure::check(format!("cannot start the runtime: {e}")))?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while crate::dispatch::engine_running_at(&location) && std::time::Instant::now() < deadline {
        // The timer is made inside the runtime: `sleep` needs its reactor when called.
        runtime.block_on(async { tokio::time::sleep(std::time::Duration::from_millis(50)).await });
        if let Some(t) = target(env)? {
            return send_to(&t, &event);
        }
    }
    send_direct(env, event)
}

/// Seeds a realistic mix of events (categories, urgencies, threads, a collapsed series).
pub fn demo(env: &Env) -> Result<(), Failure> {
    let events: Vec<Event> = serde_json::from_str(include_str!("../../assets/demo-events.json"))
        .map_err(|e| Failure::check(format!("demo events: {e}")))?;
    for event in events {
        event.validate().map_err(|e| Failure::check(format!("demo event: {e}")))?;
        publish(env, event)?;
    }
    Ok(())
}

/// Where `send` goes: a configured server, else a running local engine, else nowhere (the
/// store directly).
fn target(env: &Env) -> Result<Option<Target>, Failure> {
    if let Some(url) = &env.server {
        return Target::from_url(url, env.token.clone(), env.ca_cert.as_deref())
            .map(Some)
            .map_err(|e| Failure::input(e.to_string()));
    }
    let socket = env.paths.socket();
    if socket.exists() && std::os::unix::net::UnixStream::connect(&socket).is_ok() {
        return Ok(Some(Target::Socket(socket)));
    }
    Ok(None)
}

fn send_to(target: &Target, event: &Event) -> Result<(), Failure> {
    let body = serde_json::to_vec(event).map_err(|e| Failure::check(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::check(format!("cannot start the runtime: {e}")))?;
    let (status, bytes) = runtime
        .block_on(client::request(
            target,
            "POST",
            "/api/v1/events",
            &[("content-type", "application/json")],
            body,
        ))
        .map_err(|e| Failure::check(e.to_string()))?;
    if !status.is_success() {
        let message = refusal(target, status, &bytes);
        return Err(if status.is_client_error() { Failure::input(message) } else { Failure::check(message) });
    }
    let answer: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| Failure::check(format!("unexpected answer: {e}")))?;
    for id in answer["notifications"].as_array().into_iter().flatten() {
        println!("{}", id.as_str().unwrap_or_default());
    }
    if answer["duplicate"] == serde_json::Value::Bool(true) {
        eprintln!("(already accepted: same id, same event)");
    }
    Ok(())
}

/// The server's error, in the words every client uses for a refused token.
fn refusal(target: &Target, status: hyper::StatusCode, body: &[u8]) -> String {
    let message = client::error_message(status, body);
    match target {
        Target::Tcp { authority, .. } if matches!(status.as_u16(), 401 | 403) => {
            let detail = message.split_once(": ").map_or("", |(_, m)| m);
            format!("{} ({detail})", client::token_refused(authority, &status.to_string()))
        }
        _ => message,
    }
}

/// No engine runs: write into the store. The outbox keeps the deliveries for the next
/// engine that starts.
fn send_direct(env: &Env, event: Event) -> Result<(), Failure> {
    let location = env.location()?;
    if crate::dispatch::engine_running_at(&location) {
        // Its live clients would not see what is written behind its back.
        return Err(Failure::input(format!(
            "an engine runs on {} but does not serve the local socket {}: send to it with --server",
            location,
            env.paths.socket().display()
        )));
    }
    let (mut store, user) = open_local(env)?;
    let policy = crate::dispatch::policy(&env.config);
    let away = |_: &str| Presence::default();
    let ctx = AcceptContext {
        policy: &policy,
        defaults: &env.config.defaults,
        presence: &away,
        now: Timestamp::now(),
    };
    let sub = Submission { producer: user.clone(), idempotency_key: None, default_user: Some(user), event };
    let accepted = store.accept(&sub, &ctx)?;
    for id in &accepted.notifications {
        println!("{id}");
    }
    if accepted.duplicate {
        eprintln!("(already accepted: same id, same event)");
    }
    Ok(())
}

/// `list` goes where `send` goes: a configured server, else a running local engine, else the
/// store directly. On a terminal it shows the newest 20; in a pipe, every item.
pub fn list(env: &Env, a: &ListArgs) -> Result<(), Failure> {
    let now = Timestamp::now();
    let view = if a.unread { crate::model::View::Unread } else { a.view };
    let tty = std::io::stdout().is_terminal();
    let limit = a.limit.or(tty.then_some(20));
    let (who, unread, items) = match target(env)? {
        Some(t) => {
            let who = match &t {
                Target::Tcp { authority, .. } => authority.clone(),
                Target::Socket(_) => crate::local::local_user(&env.config),
            };
            let (unread, items) = list_from(&t, view, limit)?;
            (who, unread, items)
        }
        None => {
            let (store, user) = open_local(env)?;
            let filter = ListFilter {
                filter: crate::model::InboxFilter { view, ..Default::default() },
                limit: limit.unwrap_or(u32::MAX),
                ..ListFilter::default()
            };
            let items = store.list(&user, &filter, now)?;
            let unread = store.unread_count(&user, now)?;
            (user, unread, items)
        }
    };
    print_list(&who, unread, &items, now, colour(tty));
    Ok(())
}

/// The unread count and up to `limit` items of `view` from a server, a page at a time.
fn list_from(
    target: &Target,
    view: crate::model::View,
    limit: Option<u32>,
) -> Result<(i64, Vec<crate::model::Notification>), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::check(format!("cannot start the runtime: {e}")))?;
    let get = |path: String| -> Result<serde_json::Value, Failure> {
        let (status, bytes) = runtime
            .block_on(client::request(target, "GET", &path, &[], Vec::new()))
            .map_err(|e| Failure::check(e.to_string()))?;
        if !status.is_success() {
            let message = refusal(target, status, &bytes);
            return Err(if status.is_client_error() {
                Failure::input(message)
            } else {
                Failure::check(message)
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| Failure::check(format!("unexpected answer: {e}")))
    };
    let unread = get("/api/v1/notifications/unread_count".into())?["unread"].as_i64().unwrap_or(0);
    let view =
        serde_json::to_value(view).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let want = limit.map_or(200, |l| (l as usize).saturating_sub(items.len()).min(200));
        if want == 0 {
            break;
        }
        let mut path = format!("/api/v1/notifications?view={view}&limit={want}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let mut page = get(path)?;
        let got: Vec<crate::model::Notification> = serde_json::from_value(page["items"].take())
            .map_err(|e| Failure::check(format!("unexpected answer: {e}")))?;
        items.extend(got);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    Ok((unread, items))
}

fn print_list(who: &str, unread: i64, items: &[crate::model::Notification], now: Timestamp, tty: bool) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) ends the listing quietly.
    if writeln!(out, "{who}: {unread} unread").is_err() {
        return;
    }
    for n in items {
        let dot = if n.read_at.is_none() { "●" } else { " " };
        let mark = match n.urgency {
            Urgency::Urgent => "!!",
            Urgency::High => "! ",
            _ => "  ",
        };
        let age = now.duration_since(n.created_at);
        let age = if age.as_secs() < 60 {
            "now".to_string()
        } else if age.as_secs() < 3600 {
            format!("{}m", age.as_secs() / 60)
        } else if age.as_secs() < 86_400 {
            format!("{}h", age.as_secs() / 3600)
        } else {
            format!("{}d", age.as_secs() / 86_400)
        };
        let count = if n.count > 1 { format!(" ×{}", n.count) } else { String::new() };
        // A publisher's text must not drive the terminal: control characters are shown, not sent.
        let clean: String = n.title.chars().map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect();
        let title = if tty && n.read_at.is_none() { format!("\x1b[1m{clean}\x1b[0m") } else { clean };
        if writeln!(out, "{dot} {mark} {age:>4}  {title}{count}  [{}]  {}", n.category, n.id).is_err() {
            return;
        }
    }
}

pub fn user_add(env: &Env, a: &super::UserAddArgs) -> Result<(), Failure> {
    let mut store = env.location()?.open(env.config.daemon.synchronous)?;
    store.upsert_user(&a.name, a.email.as_deref(), Timestamp::now())?;
    store.set_profile(&a.name, a.display_name.as_deref(), a.phone.as_deref(), a.avatar.as_deref())?;
    println!("user {} ready", a.name);
    Ok(())
}

pub fn user_import(
    env: &Env,
    file: &std::path::Path,
    tokens: Option<crate::store::Scope>,
    tokens_out: Option<&std::path::Path>,
) -> Result<(), Failure> {
    let text = if file.as_os_str() == "-" {
        let mut t = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut t)
            .map_err(|e| Failure::input(e.to_string()))?;
        t
    } else {
        std::fs::read_to_string(file).map_err(|e| Failure::input(format!("{}: {e}", file.display())))?
    };
    let users =
        parse_users(&text).map_err(|(line, e)| Failure::input(format!("{}:{line}: {e}", file.display())))?;
    if tokens == Some(crate::store::Scope::Admin) {
        return Err(Failure::input("--tokens: admin tokens are made one at a time with `token create`"));
    }
    // The token file exists, private, before any token does.
    let mut out = match tokens_out {
        Some(path) => Some(
            std::os::unix::fs::OpenOptionsExt::mode(&mut std::fs::OpenOptions::new(), 0o600)
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| {
                    Failure::input(format!("{}: {e} (the token file must be new)", path.display()))
                })?,
        ),
        None => None,
    };
    let mut store = env.location()?.open(env.config.daemon.synchronous)?;
    let done = store.import_users(&users, tokens, Timestamp::now())?;
    if let Some(out) = &mut out {
        use std::io::Write;
        for i in &done {
            if let Some(t) = &i.token {
                writeln!(out, "{}\t{t}", i.name).map_err(|e| Failure::check(e.to_string()))?;
            }
        }
    }
    match tokens_out {
        Some(path) => {
            println!("imported {} users; their tokens are in {} (mode 0600)", done.len(), path.display())
        }
        None => println!("imported {} users", done.len()),
    }
    Ok(())
}

/// Users from CSV (`name,email,display name`, an optional header) or JSON lines; the error
/// names the line.
fn parse_users(text: &str) -> Result<Vec<crate::store::NewUser>, (usize, String)> {
    let mut users = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty()
            || line.starts_with('#')
            || (i == 0 && line.to_ascii_lowercase().starts_with("name"))
        {
            continue;
        }
        let user = if line.starts_with('{') {
            serde_json::from_str(line).map_err(|e| (i + 1, e.to_string()))?
        } else {
            let mut cells = line.splitn(3, ',').map(|c| c.trim().trim_matches('"').to_string());
            let name = cells.next().unwrap_or_default();
            let some = |c: Option<String>| c.filter(|c| !c.is_empty());
            crate::store::NewUser { name, email: some(cells.next()), display_name: some(cells.next()) }
        };
        users.push(user);
    }
    if users.is_empty() {
        return Err((1, "no users in the file".into()));
    }
    Ok(users)
}

pub fn user_list(env: &Env) -> Result<(), Failure> {
    let store = env.location()?.open(env.config.daemon.synchronous)?;
    let users = store.users()?;
    if users.is_empty() {
        println!("no users (campanile user add NAME adds one; the TUI adds you on its first run)");
    }
    for (name, email) in users {
        println!("{name}\t{}", email.unwrap_or_default());
    }
    Ok(())
}

pub fn token_create(
    env: &Env,
    user: &str,
    scope: crate::store::Scope,
    label: Option<&str>,
    expires: Option<&str>,
) -> Result<(), Failure> {
    let now = Timestamp::now();
    let expires_at = match expires {
        None => None,
        Some(text) => Some(expiry(text, now)?),
    };
    let mut store = env.location()?.open(env.config.daemon.synchronous)?;
    let token = store.create_token_until(user, scope, label, expires_at, now)?;
    println!("{token}");
    match expires_at {
        Some(at) => eprintln!(
            "a {} token for {user}, until {}: shown once, keep it somewhere safe",
            scope.as_str(),
            at.strftime("%Y-%m-%d %H:%M UTC")
        ),
        None => eprintln!("a {} token for {user}: shown once, keep it somewhere safe", scope.as_str()),
    }
    Ok(())
}

/// `30d`, `12h`, `90m`, `2w` (jiff's friendly durations) from `now`.
fn expiry(text: &str, now: Timestamp) -> Result<Timestamp, Failure> {
    let bad =
        || Failure::input(format!("--expires: expected a duration like 30d, 12h or 90m, found `{text}`"));
    let span: jiff::Span = text.parse().map_err(|_| bad())?;
    if span.is_negative() || span.is_zero() {
        return Err(bad());
    }
    now.to_zoned(jiff::tz::TimeZone::UTC).checked_add(span).map(|z| z.timestamp()).map_err(|_| bad())
}

pub fn token_list(env: &Env, user: Option<&str>) -> Result<(), Failure> {
    let store = env.location()?.open(env.config.daemon.synchronous)?;
    let tokens = store.tokens(user)?;
    if tokens.is_empty() {
        println!("no tokens");
        return Ok(());
    }
    let when =
        |t: Option<Timestamp>| t.map(|t| t.strftime("%Y-%m-%d %H:%M").to_string()).unwrap_or("-".into());
    println!(
        "{:<12}  {:<16}  {:<9}  {:<20}  {:<16}  {:<16}  EXPIRES",
        "ID", "USER", "SCOPE", "LABEL", "CREATED", "LAST USED"
    );
    for t in tokens {
        println!(
            "{:<12}  {:<16}  {:<9}  {:<20}  {:<16}  {:<16}  {}",
            t.id,
            t.user,
            t.scope.as_str(),
            t.label.as_deref().unwrap_or("-"),
            when(Some(t.created_at)),
            when(t.last_used_at),
            when(t.expires_at)
        );
    }
    Ok(())
}

pub fn token_revoke(env: &Env, token: &str) -> Result<(), Failure> {
    let mut store = env.location()?.open(env.config.daemon.synchronous)?;
    for t in store.revoke_token(token, Timestamp::now())? {
        println!(
            "revoked {} ({}, {}{})",
            t.id,
            t.user,
            t.scope.as_str(),
            t.label.map(|l| format!(", {l}")).unwrap_or_default()
        );
    }
    Ok(())
}
