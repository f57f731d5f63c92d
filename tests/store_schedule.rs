//! Scheduled work on a real store with an injected clock: urgent repeats re-alert until
//! acknowledged or expired, snoozed items come back, held deliveries go out at the end of
//! quiet hours, escalations only when still unread.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

#[path = "support/stores.rs"]
mod stores;

use campanile::engine::{Policy, Presence};
use campanile::model::{Channel, Event};
use campanile::prefs::Preferences;
use campanile::store::InboxOp;
use campanile::store::prelude::*;
use campanile::store::{AcceptContext, Submission, Synchronous};
use jiff::{SignedDuration, Timestamp};

fn t0() -> Timestamp {
    "2027-03-15T12:00:00Z".parse().unwrap()
}

fn mins(m: i64) -> Timestamp {
    t0() + SignedDuration::from_mins(m)
}

fn store(s: &mut dyn Store) {
    s.upsert_user("alice", Some("alice@example.com"), t0()).unwrap();
}

fn publish(s: &mut dyn Store, prefs: &Preferences, json: &str, now: Timestamp) -> String {
    let policy = Policy::default();
    let away = |_: &str| Presence::default();
    let ctx = AcceptContext { policy: &policy, defaults: prefs, presence: &away, now };
    let sub = Submission {
        producer: "t".into(),
        idempotency_key: None,
        default_user: Some("alice".into()),
        event: Event::from_json(json).unwrap(),
    };
    s.accept(&sub, &ctx).unwrap().notifications.remove(0)
}

fn desktop_status(s: &dyn Store, id: &str) -> String {
    s.notification(id).unwrap().deliveries[&Channel::Desktop].status.to_string()
}

#[test]
fn urgent_repeats_until_acknowledged() {
    stores::each(|s| {
        store(s);
        let id = publish(
            s,
            &Preferences::default(),
            r#"{"type":"deploy.failed","title":"down","urgency":"urgent"}"#,
            t0(),
        );
        s.record_delivery(&id, Channel::Desktop, Ok(()), t0()).unwrap();
        assert_eq!(desktop_status(&*s, &id), "delivered");
        assert_eq!(s.next_due().unwrap(), Some(mins(10)), "the default repeat is every 10 minutes");

        assert!(s.run_due(mins(9)).unwrap().is_empty(), "nothing before it is due");
        let changes = s.run_due(mins(10)).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(desktop_status(&*s, &id), "pending", "re-alert");
        assert_eq!(s.next_due().unwrap(), Some(mins(20)));

        s.apply("alice", std::slice::from_ref(&id), InboxOp::MarkRead, mins(12)).unwrap();
        assert_eq!(s.next_due().unwrap(), None, "reading acknowledges: nothing left pending");
    });
}

#[test]
fn repeats_stop_when_they_expire() {
    stores::each(|s| {
        store(s);
        let prefs = Preferences::parse("[urgent]\nrepeat_every_minutes = 20\nexpire_minutes = 45\n").unwrap();
        publish(s, &prefs, r#"{"type":"deploy.failed","title":"down","urgency":"urgent"}"#, t0());
        let mut alerts = 0;
        while let Some(due) = s.next_due().unwrap() {
            alerts += s.run_due(due).unwrap().len();
            assert!(alerts < 10, "repeats must end");
        }
        assert_eq!(alerts, 2, "at +20 and +40 min, not after the 45 min expiry");
    });
}

#[test]
fn snoozed_items_come_back() {
    stores::each(|s| {
        store(s);
        let id = publish(s, &Preferences::default(), r#"{"type":"a.b","title":"later"}"#, t0());
        s.apply("alice", std::slice::from_ref(&id), InboxOp::Snooze(mins(60)), t0()).unwrap();
        assert_eq!(s.notification(&id).unwrap().snoozed_until, Some(mins(60)));
        let changes = s.run_due(mins(60)).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(s.notification(&id).unwrap().snoozed_until, None);
        assert!(changes[0].payload_value()["notification"]["snoozed_until"].is_null());
    });
}

#[test]
fn held_deliveries_go_out_when_quiet_hours_end() {
    stores::each(|s| {
        store(s);
        let prefs = Preferences::parse(
            "[channels.desktop]\nmin_urgency = \"low\"\n[quiet_hours]\nenabled = true\nstart = \"11:00\"\nend = \"13:30\"\ntimezone = \"UTC\"\n",
        )
        .unwrap();
        let id = publish(s, &prefs, r#"{"type":"a.b","title":"quietly"}"#, t0());
        assert_eq!(desktop_status(&*s, &id), "held");
        assert_eq!(s.next_due().unwrap(), Some(mins(90)));
        s.run_due(mins(90)).unwrap();
        assert_eq!(desktop_status(&*s, &id), "pending", "released at 13:30");
        assert_eq!(s.pending_deliveries("alice", Channel::Desktop).unwrap(), vec![id]);
    });
}

#[test]
fn escalation_only_when_still_unread() {
    stores::each(|s| {
        store(s);
        let prefs = Preferences::parse(
            "[channels.desktop]\nmin_urgency = \"low\"\n[escalation]\nafter_minutes = 30\nchannels = [\"desktop\"]\n",
        )
        .unwrap();
        let unread = publish(s, &prefs, r#"{"type":"a.b","title":"one"}"#, t0());
        let read = publish(s, &prefs, r#"{"type":"a.c","title":"two"}"#, t0());
        s.apply("alice", std::slice::from_ref(&read), InboxOp::MarkRead, mins(5)).unwrap();
        s.run_due(mins(30)).unwrap();
        assert_eq!(desktop_status(&*s, &unread), "pending");
        assert_eq!(desktop_status(&*s, &read), "skipped", "read in time: never escalated");
    });
}

#[test]
fn holds_until_dnd_is_off_go_when_it_is_turned_off() {
    stores::each(|s| {
        store(s);
        let mut prefs =
            Preferences::parse("[channels.desktop]\nmin_urgency = \"low\"\n[dnd]\nuntil = \"forever\"\n")
                .unwrap();
        let defaults = Preferences::default();
        s.put_prefs("alice", &prefs, Some(0), &defaults, t0()).unwrap();
        let id = publish(s, &defaults, r#"{"type":"a.b","title":"held"}"#, t0());
        assert_eq!(desktop_status(&*s, &id), "held");
        assert_eq!(s.next_due().unwrap(), None, "held until turned off: no time yet");
        prefs.dnd.until = None;
        s.put_prefs("alice", &prefs, Some(1), &defaults, mins(30)).unwrap();
        assert_eq!(s.next_due().unwrap(), Some(mins(30)));
        s.run_due(mins(30)).unwrap();
        assert_eq!(desktop_status(&*s, &id), "pending");
    });
}

#[test]
fn a_collapsed_repeat_keeps_one_repeat_chain() {
    stores::each(|s| {
        store(s);
        let e = r#"{"type":"deploy.failed","title":"down","urgency":"urgent","collapse_key":"prod"}"#;
        let a = publish(s, &Preferences::default(), e, t0());
        let b = publish(s, &Preferences::default(), e, mins(3));
        assert_eq!(a, b, "collapsed");
        let pending: Vec<_> = s.schedule_of(&a).unwrap().into_iter().filter(|r| r.kind == "repeat").collect();
        assert_eq!(pending.len(), 1, "{pending:?}");
        assert_eq!(pending[0].due, Some(mins(13)), "timed from the latest alert");
    });
}

fn outbox(s: &dyn Store, id: &str) -> Vec<(String, String, String)> {
    s.deliveries_of(id).unwrap().into_iter().map(|r| (r.channel, r.kind, r.status)).collect()
}

#[test]
fn held_items_on_one_channel_go_out_as_one_summary_without_the_read_ones() {
    stores::each(|s| {
        store(s);
        let prefs = Preferences::parse(
            "[channels.slack]\nenabled = true\nurl = \"https://hooks.slack.com/services/T/B/X\"\n\
             [quiet_hours]\nenabled = true\nstart = \"11:00\"\nend = \"13:30\"\ntimezone = \"UTC\"\n",
        )
        .unwrap();
        let ids: Vec<String> = (0..3)
            .map(|i| publish(s, &prefs, &format!(r#"{{"type":"a.b{i}","title":"t{i}"}}"#), t0()))
            .collect();
        for id in &ids {
            assert_eq!(s.notification(id).unwrap().deliveries[&Channel::Slack].status.as_str(), "held");
        }
        s.apply("alice", std::slice::from_ref(&ids[1]), InboxOp::MarkRead, mins(10)).unwrap();
        s.run_due(mins(89)).unwrap();
        assert!(outbox(&*s, &ids[0]).is_empty(), "nothing before the window ends");
        s.run_due(mins(90)).unwrap();
        let rows = outbox(&*s, &ids[0]);
        assert_eq!(rows, [("slack".to_string(), "summary".to_string(), "pending".to_string())]);
        assert_eq!(outbox(&*s, &ids[2]), rows, "the same summary carries both unread items");
        assert!(outbox(&*s, &ids[1]).is_empty(), "the read item is left out");
        assert_eq!(s.notification(&ids[1]).unwrap().deliveries[&Channel::Slack].status.as_str(), "skipped");
        let (jobs, _) = s.claim_deliveries(mins(90), 10, &prefs).unwrap();
        assert_eq!(jobs.len(), 1);
        let titles: Vec<&str> = jobs[0].notifications.iter().map(|n| n.title.as_str()).collect();
        assert_eq!(titles, ["t0", "t2"]);
    });
}

#[test]
fn a_daily_digest_goes_at_nine_local_with_the_unread_items_only() {
    stores::each(|s| {
        store(s);
        // 12:00 UTC on 2027-03-15 is 08:00 in New York (daylight time since the 14th).
        let prefs = Preferences::parse(
            "[channels.email]\nenabled = true\naddress = \"alice@example.com\"\nfrequency = \"daily\"\n\
             [quiet_hours]\ntimezone = \"America/New_York\"\n",
        )
        .unwrap();
        let a = publish(s, &prefs, r#"{"type":"a.b","title":"first"}"#, t0());
        let b = publish(s, &prefs, r#"{"type":"a.c","title":"second"}"#, mins(20));
        let c = publish(s, &prefs, r#"{"type":"a.d","title":"third"}"#, mins(40));
        assert_eq!(s.notification(&a).unwrap().deliveries[&Channel::Email].status.as_str(), "digest");
        assert_eq!(s.next_due().unwrap(), Some(mins(60)), "09:00 in New York is 13:00 UTC");
        s.apply("alice", std::slice::from_ref(&b), InboxOp::MarkRead, mins(50)).unwrap();
        s.run_due(mins(60)).unwrap();
        assert_eq!(outbox(&*s, &a), [("email".to_string(), "digest".to_string(), "pending".to_string())]);
        assert_eq!(outbox(&*s, &c), outbox(&*s, &a));
        assert!(outbox(&*s, &b).is_empty());
        let (jobs, _) = s.claim_deliveries(mins(60), 10, &prefs).unwrap();
        assert_eq!(jobs.len(), 1);
        let titles: Vec<&str> = jobs[0].notifications.iter().map(|n| n.title.as_str()).collect();
        assert_eq!(titles, ["first", "third"]);

        // The next day's digest with everything read sends nothing.
        let d = publish(s, &prefs, r#"{"type":"a.e","title":"fourth"}"#, mins(70));
        s.apply("alice", std::slice::from_ref(&d), InboxOp::MarkRead, mins(80)).unwrap();
        s.run_due(mins(60 + 24 * 60)).unwrap();
        assert!(outbox(&*s, &d).is_empty(), "an empty digest is not sent");
    });
}

#[test]
fn a_delivery_still_pending_when_the_item_is_read_is_not_sent_except_a_webhook() {
    stores::each(|s| {
        store(s);
        let prefs = Preferences::parse(
            "[channels.slack]\nenabled = true\nurl = \"https://hooks.slack.com/services/T/B/X\"\n\
             [channels.webhook]\nenabled = true\nurl = \"https://hooks.example/x\"\n",
        )
        .unwrap();
        let id = publish(s, &prefs, r#"{"type":"a.b","title":"seen in the TUI"}"#, t0());
        s.apply("alice", std::slice::from_ref(&id), InboxOp::MarkRead, mins(1)).unwrap();
        let (jobs, _) = s.claim_deliveries(mins(1), 10, &prefs).unwrap();
        let channels: Vec<Channel> = jobs.iter().map(|j| j.channel).collect();
        assert_eq!(channels, [Channel::Webhook], "the webhook goes; Slack is not sent for a read item");
        assert_eq!(s.notification(&id).unwrap().deliveries[&Channel::Slack].status.as_str(), "skipped");
    });
}

#[test]
fn a_provider_cannot_settle_a_delivery_that_was_not_sent_and_a_corrupt_row_blocks_nothing() {
    stores::each_location(|location| {
        let mut s = location.open(Synchronous::Normal).unwrap();
        store(s.as_mut());
        let prefs = Preferences::parse(
            "[channels.webhook]\nenabled = true\nurl = \"https://hooks.example/x\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n",
        )
        .unwrap();
        let a = publish(s.as_mut(), &prefs, r#"{"type":"a.b","title":"one"}"#, t0());
        let b = publish(s.as_mut(), &prefs, r#"{"type":"a.c","title":"two"}"#, t0());
        let delivery = s.deliveries_of(&a).unwrap()[0].id.clone();
        let e = s.provider_status(&delivery, false, Some("bounced"), t0()).unwrap_err();
        assert!(e.to_string().contains("can only report on a delivery that was sent"), "{e}");
        assert_eq!(s.deliveries_of(&a).unwrap()[0].status.as_str(), "pending");

        // Row `a` becomes unreadable: it goes dead with the reason, `b` is still claimed.
        stores::Raw::open(location).exec(&format!(
            "UPDATE outbox SET kind = 'summary', items = 'not json' WHERE id = {}",
            stores::literal(&delivery)
        ));
        let (jobs, _) = s.claim_deliveries(t0(), 10, &prefs).unwrap();
        let titles: Vec<&str> =
            jobs.iter().flat_map(|j| j.notifications.iter().map(|n| n.title.as_str())).collect();
        assert_eq!(titles, ["two"]);
        let row = &s.deliveries_of(&a).unwrap()[0];
        assert_eq!(row.status, "dead");
        assert!(row.last_error.as_deref().unwrap_or_default().starts_with("unreadable"), "{row:?}");
        let _ = b;
    });
}
