//! DESIGN §11's one "unread": not read, not archived, not snoozed into the future. After any
//! sequence of reads, archives, snoozes, wake-ups, bulk actions and their undo, the five
//! places a user sees it agree: the badge (`unread_count`), the category counts, the unread
//! view (`list --unread`), a walk over everything with `model::is_unread`, and what "mark all
//! read" (`R`) then marks.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

#[path = "support/stores.rs"]
mod stores;

use campanile::engine::{Policy, Presence};
use campanile::model::{Event, InboxFilter, View, is_unread};
use campanile::prefs::Preferences;
use campanile::store::InboxOp;
use campanile::store::ListFilter;
use campanile::store::prelude::*;
use campanile::store::{AcceptContext, Submission};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

const CATEGORIES: [&str; 3] = ["ci", "billing", "issue"];

#[derive(Debug, Clone)]
enum Step {
    Publish {
        category: usize,
        thread: Option<u8>,
    },
    ById {
        item: usize,
        op: u8,
    },
    Snooze {
        item: usize,
        minutes: i64,
    },
    Bulk {
        op: u8,
        category: Option<usize>,
        view: usize,
    },
    Undo,
    /// Time passes; the scheduler runs what fell due (snoozed items wake), or has not yet.
    Later {
        minutes: i64,
        wake: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..3usize, proptest::option::of(0..4u8)).prop_map(|(category, thread)| Step::Publish { category, thread }),
        3 => (0..64usize, 0..4u8).prop_map(|(item, op)| Step::ById { item, op }),
        1 => (0..64usize, 1..120i64).prop_map(|(item, minutes)| Step::Snooze { item, minutes }),
        1 => (0..4u8, proptest::option::of(0..3usize), 0..5usize)
            .prop_map(|(op, category, view)| Step::Bulk { op, category, view }),
        1 => Just(Step::Undo),
        1 => (1..90i64, any::<bool>()).prop_map(|(minutes, wake)| Step::Later { minutes, wake }),
    ]
}

fn op(code: u8) -> InboxOp {
    [InboxOp::MarkRead, InboxOp::MarkUnread, InboxOp::Archive, InboxOp::Unarchive][usize::from(code % 4)]
}

fn list(store: &dyn Store, view: View, now: Timestamp) -> Vec<campanile::model::Notification> {
    let f =
        ListFilter { filter: InboxFilter { view, ..InboxFilter::default() }, before: None, limit: 100_000 };
    store.list("alice", &f, now).unwrap()
}

/// The five counts, which must be one number.
fn counts(store: &dyn Store, now: Timestamp) -> [usize; 4] {
    let badge = store.unread_count("alice", now).unwrap() as usize;
    let categories: i64 = store.unread_by_category("alice", now).unwrap().values().sum();
    let view = list(store, View::Unread, now).len();
    let walked = list(store, View::All, now).iter().filter(|n| is_unread(&n.state(), now)).count();
    [badge, categories as usize, view, walked]
}

fn run(store: &mut dyn Store, steps: Vec<Step>) {
    let mut now: Timestamp = "2027-03-14T12:00:00Z".parse().unwrap();
    store.upsert_user("alice", None, now).unwrap();
    let policy = Policy::default();
    let defaults = Preferences::default();
    let away = |_: &str| Presence::default();
    let mut ids: Vec<String> = Vec::new();
    let mut bulks: Vec<String> = Vec::new();
    for step in steps {
        match step {
            Step::Publish { category, thread } => {
                let thread = thread.map(|t| format!(r#","thread":"t{t}""#)).unwrap_or_default();
                let json = format!(r#"{{"type":"{}.event","title":"x"{thread}}}"#, CATEGORIES[category]);
                let sub = Submission {
                    producer: "p".into(),
                    idempotency_key: None,
                    default_user: Some("alice".into()),
                    event: Event::from_json(&json).unwrap(),
                };
                let ctx = AcceptContext { policy: &policy, defaults: &defaults, presence: &away, now };
                for id in store.accept(&sub, &ctx).unwrap().notifications {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
            Step::ById { item, op: code } if !ids.is_empty() => {
                store.apply("alice", &[ids[item % ids.len()].clone()], op(code), now).unwrap();
            }
            Step::Snooze { item, minutes } if !ids.is_empty() => {
                let until = now + SignedDuration::from_mins(minutes);
                store.apply("alice", &[ids[item % ids.len()].clone()], InboxOp::Snooze(until), now).unwrap();
            }
            Step::Bulk { op: code, category, view } => {
                let filter = InboxFilter {
                    view: View::ALL[view],
                    category: category.map(|c| CATEGORIES[c].to_string()),
                    ..InboxFilter::default()
                };
                let done = store.bulk("alice", op(code), &filter, None, now).unwrap();
                bulks.extend(done.bulk);
            }
            Step::Undo => {
                if let Some(b) = bulks.pop() {
                    store.undo_bulk("alice", &b, now).unwrap();
                }
            }
            Step::Later { minutes, wake } => {
                now += SignedDuration::from_mins(minutes);
                if wake {
                    store.run_due(now).unwrap();
                }
            }
            Step::ById { .. } | Step::Snooze { .. } => {}
        }
        let c = counts(store, now);
        assert!(c.iter().all(|n| *n == c[0]), "badge, categories, unread view, walk disagree: {c:?}");
    }
    // `R` marks exactly what the badge counted, and then nothing is unread.
    let before = counts(store, now)[0] as u64;
    assert_eq!(store.mark_all_read("alice", None, now).unwrap().count, before);
    assert_eq!(counts(store, now), [0; 4]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_count_of_unread_agrees(steps in proptest::collection::vec(step(), 1..60)) {
        stores::each(|store| run(store, steps.clone()));
    }
}
