//! The incrementally kept index (counts, unread badge, the list's order) against a
//! recomputation from scratch with the model's own definitions (`model::is_unread`,
//! `InboxFilter::admits`), after random sequences of server changes, bulk changes, user
//! commands and bulk actions, answers, views, filters, searches, snoozes waking as the clock
//! moves, disconnects and snapshots.

use std::collections::{BTreeMap, BTreeSet};

use jiff::SignedDuration;
use proptest::prelude::*;

use super::fixtures::*;
use crate::model::{InboxFilter, Urgency, View, is_unread};
use crate::sync::protocol::ServerFrame;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::index::{Index, Lens, Ranked};
use crate::tui::row::{Id, Row, Symbols};
use crate::tui::state::SnoozePreset;
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
    fn build(&self) -> crate::model::Notification {
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
    let view = prop::sample::select(View::ALL.to_vec());
    (view, category, urgency, search, -120..300i64).prop_map(|(view, category, urgency, search, m)| {
        let filter =
            InboxFilter { view, category: category.map(String::from), urgency_at_least: urgency, q: None };
        Lens::new(filter, search, now() + SignedDuration::from_mins(m))
    })
}

#[derive(Debug, Clone)]
enum Step {
    Change(Item),
    /// A bulk action's compact change: which items (by `n`), which field, set or cleared
    /// (a snooze: minutes from noon).
    SetMany {
        ns: Vec<u32>,
        field: usize,
        value: Option<i64>,
    },
    Answer {
        req: u64,
        ok: bool,
    },
    /// A bulk action's answer, with the id that undoes it.
    BulkAnswer {
        req: u64,
        bulk: bool,
    },
    User(Action),
    MarkAll,
    Tick(i64),
    Disconnect,
    Reconnect,
    /// A new connection's snapshot, cut short after `pages` pages of two.
    Snapshot {
        items: Vec<Item>,
        pages: usize,
    },
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
        Just(Action::Unsnooze),
        prop::sample::select(View::ALL.to_vec()).prop_map(Action::SetView),
        Just(Action::FilterNextView),
        Just(Action::FilterToggleUnread),
        Just(Action::FilterNextCategory),
        Just(Action::FilterNextUrgency),
        Just(Action::FilterClear),
        prop::sample::select(vec!['a', 'l', 'G', '1', ' ']).prop_map(Action::SearchInput),
        Just(Action::SearchBackspace),
        Just(Action::SearchCancel),
    ];
    let set_many = (prop::collection::vec(1..14u32, 0..6), 0..3usize, prop::option::of(-90..240i64))
        .prop_map(|(ns, field, value)| Step::SetMany { ns, field, value });
    prop_oneof![
        6 => item().prop_map(Step::Change),
        3 => set_many,
        2 => (0..12u64, any::<bool>()).prop_map(|(req, ok)| Step::Answer { req, ok }),
        1 => (0..12u64, any::<bool>()).prop_map(|(req, bulk)| Step::BulkAnswer { req, bulk }),
        6 => user.prop_map(Step::User),
        2 => Just(Step::MarkAll),
        2 => (-60..300i64).prop_map(Step::Tick),
        1 => Just(Step::Disconnect),
        1 => Just(Step::Reconnect),
        1 => (prop::collection::vec(item(), 0..8), 0..5usize)
            .prop_map(|(items, pages)| Step::Snapshot { items, pages }),
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
        Step::SetMany { ns, field, value } => {
            let ids: Vec<String> = ns.into_iter().map(id).collect();
            let (field, value) = match field {
                0 => ("read_at", value.map(|_| ts("2027-03-14T11:00:00Z"))),
                1 => ("archived_at", value.map(|_| ts("2027-03-14T11:30:00Z"))),
                _ => ("snoozed_until", value.map(|m| now() + SignedDuration::from_mins(m))),
            };
            update(app, frame(set_many(next, &ids, field, value)));
        }
        Step::BulkAnswer { req, bulk } => {
            let b = format!("bulk-{req}");
            update(app, frame(bulk_ok(&req.to_string(), bulk.then_some(b.as_str()), 1)));
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
        Step::Snapshot { items, pages } => {
            // A new connection, as the server sends it to a client with no history.
            let items: Vec<_> = items.iter().map(Item::build).collect();
            let seq = app.replica.server_seq + 1;
            update(app, Action::Connected { host: None });
            app.replica.last_seq = 0;
            update(app, frame(welcome("stream-1", seq, unread_of(&items), serde_json::json!({}), 1)));
            for f in snapshot(&items, 2).into_iter().take(pages) {
                update(app, frame(f));
            }
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

/// Everything the index answers, recomputed by walking the whole inbox with the model's
/// definitions.
fn assert_agrees(app: &App) {
    let lens = app.lens();
    let index = app.replica.index();
    assert_eq!(index.lens(), &lens, "update leaves the index on what the screen shows");
    index.check();
    let items = app.replica.items();
    assert_eq!(*index, Index::build(lens, items.values()), "index = rebuild");

    let filter =
        InboxFilter { q: (!app.search.is_empty()).then(|| app.search.clone()), ..app.filter.clone() };
    let shows = |r: &Row| filter.admits(&r.state, r.urgency, r.text(), app.now);
    let listed: Vec<&str> = items.values().rev().filter(|r| shows(r)).map(|r| &*r.id).collect();
    let ids: Vec<&str> = app.listed().iter().map(|r| &*r.id).collect();
    assert_eq!(ids, listed);
    assert_eq!(app.listed_len(), listed.len());
    assert_eq!(app.selected_item().map(|r| &*r.id), listed.get(app.selected).copied());
    for (row, id) in listed.iter().enumerate() {
        assert_eq!(app.listed_from(row).next().map(|r| &*r.id), Some(*id));
    }
    assert!(app.selected < listed.len().max(1), "the selection stays in the list");
    let unread = |r: &Row| is_unread(&r.state, app.now);
    let listed_unread: Vec<Id> =
        items.values().filter(|r| shows(r) && unread(r)).map(|r| Id::clone(&r.id)).collect();
    assert_eq!(app.listed_unread(), listed_unread.len(), "what R counts");
    assert_eq!(app.listed_unread_ids(), listed_unread, "what R marks");

    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in items.values().filter(|r| r.state.archived_at.is_none()) {
        *counts.entry(r.category.to_string()).or_default() += usize::from(unread(r));
    }
    if let Some(c) = &app.filter.category {
        counts.entry(c.clone()).or_default();
    }
    let tally = app.tally();
    assert_eq!(tally.categories, counts.into_iter().collect::<Vec<_>>());
    assert_eq!(tally.shown, listed.len());
    let awake = items
        .values()
        .any(|r| r.state.archived_at.is_none() && r.state.snoozed_until.is_none_or(|t| t <= app.now));
    assert_eq!(app.any_awake(), awake);

    // The badge follows the server's `welcome` while the inbox loads; otherwise it is the
    // recount, which walks nothing.
    let total = items.values().filter(|r| unread(r)).count();
    if !app.loading() {
        assert_eq!(app.replica.unread, i64::try_from(total).unwrap(), "the badge");
    }
    let mut replica = app.replica.clone();
    replica.loading = None;
    replica.resyncing = false;
    replica.recount();
    assert_eq!(replica.unread, i64::try_from(total).unwrap(), "the badge's count");
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
        let mut symbols = Symbols::default();
        let items: BTreeMap<Id, Row> =
            items.iter().map(|i| (Id::from(id(i.n)), Row::new(i.build(), &mut symbols))).collect();
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
            let key: Id = Id::from(format!("{k:05}"));
            if add {
                ranked.insert(Id::clone(&key));
                model.insert(key);
            } else {
                ranked.remove(&key);
                model.remove(&key);
            }
        }
        ranked.check();
        let all: Vec<&Id> = model.iter().collect();
        prop_assert_eq!(ranked.len(), all.len());
        for (i, k) in all.iter().enumerate().step_by(37) {
            prop_assert_eq!(ranked.rank(k), Some(i));
            prop_assert_eq!(ranked.get(i), Some(*k));
            let down: Vec<&Id> = ranked.down_from(Some(i)).take(5).collect();
            let want: Vec<&Id> = all[..=i].iter().rev().take(5).copied().collect();
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
    app.filter.view = View::All;
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
