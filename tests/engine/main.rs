//! The pure engine in one test binary. `steps_*` hold one table test per step and per reason
//! of DESIGN §4 as `engine::decide` implements them (dedupe, rules, preferences and the
//! organisation's required cells, presence, quiet hours and dnd, digest, escalation, repeat,
//! collapse); `plan_json` the JSON shape of a plan (DESIGN §13); `dst` and `dst_quiet` quiet
//! hours and digests across daylight-saving transitions in several zones; `props` and
//! `props_model` properties over random preferences, urgencies and instants, checked against an
//! independent reading of §4. Preferences come from TOML and events from JSON, the forms users
//! and producers write; the builders shared by all of them live in `common`.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod common;
mod dst;
mod dst_quiet;
mod plan_json;
mod props;
mod props_model;
mod steps_dedupe_rules;
mod steps_digest_escalation_repeat;
mod steps_preferences;
mod steps_presence_quiet;
mod steps_rule_actions;
