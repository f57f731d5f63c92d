//! `campanile hook create|list|revoke`: incoming webhooks, made on the store like tokens.
//! `create` prints the hook's URL path and its secret once; the secret stays in the store
//! (a sender's HMAC needs it) and is never printed again.

use clap::{ArgGroup, Args, Subcommand};
use jiff::Timestamp;

use super::{Env, Failure};
use crate::model::{HookSource, HookTarget};
use crate::store::NewHook;

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Create a hook; prints its URL path and secret (shown once)
    Create(CreateArgs),
    /// List hooks (never their secrets)
    List,
    /// Revoke a hook: its URL answers 404 from now on
    Revoke { id: String },
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["user", "topic"])))]
pub struct CreateArgs {
    /// Whose payloads this hook reads
    #[arg(long, value_enum)]
    source: HookSource,
    /// A user its events go to (repeat for several)
    #[arg(long, value_name = "NAME")]
    user: Vec<String>,
    /// A topic its events go to, instead of users
    #[arg(long, value_name = "TOPIC")]
    topic: Option<String>,
    /// A note on what the hook is for
    #[arg(long)]
    label: Option<String>,
    /// For --source generic: the `[hooks.templates.NAME]` of the daemon's config it renders with
    #[arg(long, value_name = "NAME")]
    template: Option<String>,
}

pub fn run(env: &Env, command: &HookCommand) -> Result<(), Failure> {
    let mut store = env.location()?.open(env.config.daemon.synchronous)?;
    match command {
        HookCommand::Create(a) => {
            let target = match &a.topic {
                Some(t) => HookTarget::Topic(t.clone()),
                None => HookTarget::Users(a.user.clone()),
            };
            if let Some(t) = &a.template
                && a.source == HookSource::Generic
                && !env.config.hooks.templates.contains_key(t)
            {
                eprintln!("note: this config has no [hooks.templates.{t}]; the daemon's must have it");
            }
            let new =
                NewHook { source: a.source, target, label: a.label.clone(), template: a.template.clone() };
            let hook = store.create_hook(&new, Timestamp::now())?;
            println!("path    {}", hook.path());
            println!("secret  {}", hook.secret);
            eprintln!(
                "a {} hook to {}: post to the path on your server's address; the secret is shown once ({})",
                hook.source.as_str(),
                hook.target,
                match hook.source {
                    HookSource::Github => "GitHub: the webhook's Secret",
                    HookSource::Gitlab => "GitLab: the webhook's Secret token",
                    _ => "the sender's `Authorization: Bearer` credential",
                }
            );
        }
        HookCommand::List => {
            for h in store.hooks()? {
                let state = match h.revoked_at {
                    Some(at) => format!("revoked {at}"),
                    None => "active".to_string(),
                };
                println!(
                    "{}  {:<12} {:<24} {:<8} {}  {}",
                    h.id,
                    h.source.as_str(),
                    h.target.to_string(),
                    state.split(' ').next().unwrap_or_default(),
                    h.created_at,
                    h.label.as_deref().unwrap_or("")
                );
            }
        }
        HookCommand::Revoke { id } => {
            if store.revoke_hook(id, Timestamp::now())? {
                println!("revoked {id}");
            } else {
                return Err(Failure::input(format!("no active hook `{id}` (see `campanile hook list`)")));
            }
        }
    }
    Ok(())
}
