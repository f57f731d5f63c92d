//! The incrementally kept index (counts, unread badge, the list's order) against a
//! recomputation from scratch, after random sequences of server changes, user commands,
//! answers, filters, searches, clock moves, disconnects and snapshots.

use std::collections::{BTreeMap, BTreeSet};

use jiff::SignedDuration;
use proptest::prelude::*;

use super::fixtures::*;
use crate::model::{Notification, Urgency};
use crate::sync::protocol::ServerFrame;
use crate::tui::action::{Action, SnoozePreset};
use crate::tui::app::{App, Filter};
use crate::tui::index::{Index, Lens, Ranked};
use crate::tui::replica::is_unread;
use crate::tui::update::update;

const CATEGORIES: [&str; 3] = ["billing", "issues", "system"];
const WORDS: [&str; 3] = ["alpha", "beta", "Gamma"];

/// One item as the server sends it.
#[derive(Debug, Clone)]
struct Item {
    n: u32,
    category: usize,
    urgency: usize,
    word: usize,
    read: bool,
    archived: bool,
    /// Minutes from the tests' noon.
    snoozed: Option<i64>,
}

impl Item {
    fn build(&self) -> Notification {
        let mut n = note(self.n, &format!("Item {} {}", self.n, WORDS[self.word]));
        n.category = CATEGORIES[self.category].into();
        n.urgency = [Urgency::Low, Urgency::Normal, Urgency::High, Urgency::Urgent][self.urgency];
        n.read_at = self.read.then(|| ts("2027-03-14T11:00:00Z"));
        n.archived_at = self.archived.then(|| ts("2027-03-14T11:30:00Z"));
        n.snoozed_until = self.snoozed.map(|m| now() + SignedDuration::from_mins(m));
        n
    }
}

fn item() -> impl Strategy<Value = Item> {
    (
        1..14u32,
        0..3usize,
        0..4usize,
        0..3usize,
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::option::weighted(0.3, -90..240i64),
    )
        .prop_map(|(n, category, urgency, word, read, archived, snoozed)| Item {
            n,
            category,
            urgency,
            word,
            read,
            archived,
            snoozed,
        })
}

fn lens() -> impl Strategy<Value = Lens> {
    let category = prop::option::of(prop::sample::select(CATEGORIES.to_vec()));
    let urgency =
        prop::option::of(prop::sample::select(vec![Urgency::Normal, Urgency::High, Urgency::Urgent]));
    let search = prop::sample::select(vec!["", "a", "ALPHA", "item 1", "sys"]);
    (any::<bool>(), category, urgency, search, -120..300i64).prop_map(
        |(unread_only, category, urgency, search, m)| Lens {
            filter: Filter { unread_only, category: category.map(String::from), urgency_at_least: urgency },
            search: search.into(),
            now: now() + SignedDuration::from_mins(m),
        },
    )
}

#[derive(Debug, Clone)]
enum Step {
    Change(Item),
    Answer { req: u64, ok: bool },
    User(Action),
    MarkAll,
    Tick(i64),
    Disconnect,
    Reconnect,
    Snapshot(Vec<Item>),
    SnapshotRequired,
    NewStream,
}

fn step() -> impl Strategy<Value = Step> {
    let user = prop_oneof![
        Just(Action::MoveDown),
        Just(Action::MoveUp),
        Just(Action::Top),
        Just(Action::Bottom),
        Just(Action::ToggleRead),
        Just(Action::Archive),
        Just(Action::Undo),
        Just(Action::OpenDetail),
        Just(Action::SnoozePick(SnoozePreset::Hour)),
        Just(Action::FilterToggleUnread),
        Just(Action::FilterNextCategory),
        Just(Action::FilterNextUrgency),
        Just(Action::FilterClear),
        prop::sample::select(vec!['a', 'l', 'G', '1', ' ']).prop_map(Action::SearchInput),
        Just(Action::SearchBackspace),
        Just(Action::SearchCancel),
    ];
    prop_oneof![
        6 => item().prop_map(Step::Change),
        2 => (0..12u64, any::<bool>()).prop_map(|(req, ok)| Step::Answer { req, ok }),
        6 => user.prop_map(Step::User),
        1 => Just(Step::MarkAll),
        2 => (-60..300i64).prop_map(Step::Tick),
        1 => Just(Step::Disconnect),
        1 => Just(Step::Reconnect),
        1 => prop::collection::vec(item(), 0..8).prop_map(Step::Snapshot),
        1 => Just(Step::SnapshotRequired),
        1 => Just(Step::NewStream),
    ]
}

fn apply(app: &mut App, step: Step) {
    let next = app.replica.last_seq + 1;
    let frame = |f: ServerFrame| Action::Frame(f);
    match step {
        Step::Change(i) => {
            update(app, frame(change(next, "notification_updated", &i.build())));
        }
        Step::Answer { req, ok: true } => {
            update(app, frame(ok(&req.to_string())));
        }
        Step::Answer { req, ok: false } => {
            update(app, frame(refused(&req.to_string(), "nope", "refused")));
        }
        Step::User(a) => {
            update(app, a);
        }
        Step::MarkAll => {
            run(app, [Action::MarkAllRead, Action::ConfirmYes]);
        }
        Step::Tick(m) => {
            update(app, Action::Tick(now() + SignedDuration::from_mins(m)));
        }
        Step::Disconnect => {
            update(app, Action::Disconnected { retry_in_secs: Some(2) });
        }
        Step::Reconnect => {
            update(app, Action::Connected { host: Some("example:8080".into()) });
        }
        Step::Snapshot(items) => {
            update(app, Action::Snapshot { items: items.iter().map(Item::build).collect() });
        }
        Step::SnapshotRequired => {
            update(app, frame(ServerFrame::SnapshotRequired { seq: None }));
        }
        Step::NewStream => {
            let seq = app.replica.server_seq + 3;
            update(app, frame(welcome("stream-2", seq, 1, serde_json::json!({}), 1)));
        }
    }
}

/// Everything the index answers, recomputed by walking the whole inbox.
fn assert_agrees(app: &App) {
    let lens = Lens { filter: app.filter.clone(), search: app.search.clone(), now: app.now };
    let index = app.replica.index();
    assert_eq!(index.lens(), &lens, "update leaves the index on what the screen shows");
    index.check();
    assert_eq!(*index, Index::build(lens, app.replica.notifications.values()), "index = rebuild");

    let items = &app.replica.notifications;
    let listed: Vec<&str> = items.values().rev().filter(|n| app.shows(n)).map(|n| n.id.as_str()).collect();
    let ids: Vec<&str> = app.listed().iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, listed);
    assert_eq!(app.listed_len(), listed.len());
    assert_eq!(app.selected_notification().map(|n| n.id.as_str()), listed.get(app.selected).copied());
    for (row, id) in listed.iter().enumerate() {
        assert_eq!(app.listed_from(row).next().map(|n| n.id.as_str()), Some(*id));
    }
    assert!(app.selected < listed.len().max(1), "the selection stays in the list");

    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for n in items.values().filter(|n| n.archived_at.is_none()) {
        let awake = n.snoozed_until.is_none_or(|t| t <= app.now);
        *counts.entry(n.category.clone()).or_default() += usize::from(awake && is_unread(n));
    }
    if let Some(c) = &app.filter.category {
        counts.entry(c.clone()).or_default();
    }
    let tally = app.tally();
    assert_eq!(tally.categories, counts.into_iter().collect::<Vec<_>>());
    assert_eq!(tally.shown, listed.len());
    let awake =
        items.values().any(|n| n.archived_at.is_none() && n.snoozed_until.is_none_or(|t| t <= app.now));
    assert_eq!(app.any_awake(), awake);

    // The badge follows the server's `welcome` until the next recount; a recount walks nothing.
    let mut replica = app.replica.clone();
    replica.awaiting_snapshot = false;
    replica.initial_replay = false;
    replica.recount();
    let unread = items.values().filter(|n| is_unread(n)).count();
    assert_eq!(replica.unread, i64::try_from(unread).unwrap(), "the badge");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn the_index_stays_equal_to_a_recount(
        start in prop::collection::vec(item(), 0..10),
        steps in prop::collection::vec(step(), 1..60),
    ) {
        let mut app = app_with(start.iter().map(Item::build).collect());
        assert_agrees(&app);
        for s in steps {
            apply(&mut app, s);
            assert_agrees(&app);
        }
    }

    /// Another filter, search and clock at once: the same as indexing anew.
    #[test]
    fn refocusing_equals_indexing_anew(
        items in prop::collection::vec(item(), 0..14),
        from in lens(),
        to in lens(),
    ) {
        let items: BTreeMap<String, Notification> =
            items.iter().map(|i| (id(i.n), i.build())).collect();
        let mut index = Index::build(from, items.values());
        index.refocus(&to, &items);
        index.check();
        prop_assert_eq!(index, Index::build(to, items.values()));
    }

    #[test]
    fn the_chunked_list_keeps_order_rank_and_position(
        ops in prop::collection::vec((any::<bool>(), 0..3000u32), 1..4000),
    ) {
        let mut ranked = Ranked::default();
        let mut model = BTreeSet::new();
        for (add, k) in ops {
            let key = format!("{k:05}");
            if add {
                ranked.insert(key.clone());
                model.insert(key);
            } else {
                ranked.remove(&key);
                model.remove(&key);
            }
        }
        ranked.check();
        let all: Vec<&String> = model.iter().collect();
        prop_assert_eq!(ranked.len(), all.len());
        for (i, k) in all.iter().enumerate().step_by(37) {
            prop_assert_eq!(ranked.rank(k), Some(i));
            prop_assert_eq!(ranked.get(i), Some(*k));
            let down: Vec<&String> = ranked.down_from(Some(i)).take(5).collect();
            let want: Vec<&String> = all[..=i].iter().rev().take(5).copied().collect();
            prop_assert_eq!(down, want);
        }
        prop_assert_eq!(ranked.rank("99999"), None);
        prop_assert_eq!(ranked.get(all.len()), None);
        prop_assert_eq!(ranked.down_from(None).count(), 0);
        prop_assert_eq!(ranked.down_from(all.len().checked_sub(1)).count(), all.len());
    }
}

/// A state changed behind `update`'s back (a test setting the filter directly) is answered
/// the long way, not from an index kept for another filter.
#[test]
fn a_filter_set_outside_update_is_not_answered_from_a_stale_index() {
    let mut items = notes(4);
    items[0].category = "billing".into();
    let mut app = app_with(items);
    app.filter.category = Some("billing".into());
    assert_eq!(titles(&app), vec!["Notification 1"]);
    assert_eq!(app.tally().shown, 1);
    update(&mut app, Action::MoveDown);
    assert_agrees(&app);
}

/// Ticks only wake the snoozed items whose time came, and put them back when the clock goes
/// back.
#[test]
fn a_moving_clock_wakes_snoozed_items_in_the_counts_and_the_list() {
    let mut items = notes(3);
    items[1].snoozed_until = Some(now() + SignedDuration::from_mins(30));
    let mut app = app_with(items);
    assert_eq!(titles(&app), vec!["Notification 3", "Notification 1"]);
    assert_eq!(app.tally().categories, vec![("system".to_string(), 2)]);
    update(&mut app, Action::Tick(now() + SignedDuration::from_mins(30)));
    assert_eq!(titles(&app), vec!["Notification 3", "Notification 2", "Notification 1"]);
    assert_eq!(app.tally().categories, vec![("system".to_string(), 3)]);
    assert_agrees(&app);
    update(&mut app, Action::Tick(now()));
    assert_eq!(titles(&app), vec!["Notification 3", "Notification 1"]);
    assert_agrees(&app);
}
