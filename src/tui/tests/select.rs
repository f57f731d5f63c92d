//! Multi-select: `space` and `*` pick items, `r`, `a`, `s` and `m` act on all of them (one
//! bulk command for what `*` picked, per-item commands of at most 1,000 ids otherwise), `u`
//! takes the whole action back, `esc` and `*` clear, and the screen shows what is picked.

use super::fixtures::*;
use super::view::{draw, rows, sized};
use crate::model::{InboxFilter, View};
use crate::sync::protocol::{BulkAction, Op};
use crate::tui::action::{Action, Key};
use crate::tui::app::App;
use crate::tui::state::{Mode, SnoozePreset};
use crate::tui::update::update;

#[test]
fn space_picks_and_steps_down_and_r_reads_every_picked_item_and_u_unreads_them_all() {
    let mut app = app_with(notes(4));
    // The cursor starts on note 4; space picks it and steps to 3, which the second skips.
    press(&mut app, &[Key::Char(' '), Key::Char('j'), Key::Char(' ')]);
    assert_eq!(app.marked.len(), 2);
    assert_eq!(selected_title(&app), "Notification 1");
    assert_eq!(status(&app), "2 selected · r a s m act on them, esc clears");

    let fx = press(&mut app, &[Key::Char('r')]);
    assert_eq!(ops(&fx), vec![Op::MarkRead { ids: vec![id(2), id(4)] }]);
    assert!(row(&app, 4).state.read_at.is_some() && row(&app, 2).state.read_at.is_some());
    assert!(row(&app, 3).state.read_at.is_none(), "the item stepped over stays unread");
    assert_eq!(app.replica.unread, 2);
    assert!(app.marked.is_empty(), "the selection is done with");
    assert_eq!(status(&app), "Marked read 2 · u to undo");

    let fx = press(&mut app, &[Key::Char('u')]);
    assert_eq!(ops(&fx), vec![Op::MarkUnread { ids: vec![id(2), id(4)] }]);
    assert_eq!(app.replica.unread, 4, "both are unread again at once");
    assert_eq!(status(&app), "Undone: marked read 2 selected");
}

#[test]
fn space_again_drops_an_item_and_esc_and_star_clear_the_selection() {
    let mut app = app_with(notes(3));
    press(&mut app, &[Key::Char(' '), Key::Char('k'), Key::Char(' ')]);
    assert!(app.marked.is_empty(), "the same item twice is no item");
    press(&mut app, &[Key::Char(' ')]);
    assert_eq!(app.marked.len(), 1);
    press(&mut app, &[Key::Esc]);
    assert!(app.marked.is_empty());
    assert_eq!(status(&app), "Selection cleared");
    press(&mut app, &[Key::Char('*')]);
    assert_eq!(app.marked.len(), 3);
    press(&mut app, &[Key::Char('*')]);
    assert!(app.marked.is_empty(), "a second * clears");
}

#[test]
fn star_picks_what_the_filter_shows_and_a_goes_as_one_bulk_command_undone_by_its_id() {
    let mut items = notes(5);
    for n in &mut items[..3] {
        n.category = "billing".into();
    }
    let mut app = app_with(items);
    app.filter.category = Some("billing".into());
    press(&mut app, &[Key::Char('*')]);
    assert_eq!(app.marked.len(), 3, "only what the list shows");
    let fx = press(&mut app, &[Key::Char('a')]);
    let billing = InboxFilter { view: View::Inbox, category: Some("billing".into()), ..Default::default() };
    assert_eq!(
        ops(&fx),
        vec![Op::Bulk { action: BulkAction::Archive, filter: billing, up_to: Some(5), until: None }]
    );
    assert!(titles(&app).is_empty(), "archived at once");
    assert_eq!(status(&app), "Archived 3 · u to undo");

    let fx = press(&mut app, &[Key::Char('u')]);
    assert!(ops(&fx).is_empty(), "the undo waits for the bulk action's id");
    let fx = update(&mut app, Action::Frame(bulk_ok("1", Some("b7"), 3)));
    assert_eq!(ops(&fx), vec![Op::UndoBulk { bulk: "b7".into() }]);
    assert_eq!(titles(&app).len(), 3, "all three back at once");
}

#[test]
fn a_selection_changed_by_hand_goes_as_item_commands_of_at_most_a_thousand_ids() {
    let mut app = app_with(notes(1_205));
    press(&mut app, &[Key::Char('*'), Key::Char(' ')]);
    assert_eq!(app.marked.len(), 1_204, "the cursor's item dropped");
    let fx = press(&mut app, &[Key::Char('a')]);
    let sizes: Vec<usize> = ops(&fx)
        .into_iter()
        .map(|op| match op {
            Op::Archive { ids } => ids.len(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(sizes, [1_000, 204]);
    assert_eq!(titles(&app), ["Notification 1205"]);
    let fx = press(&mut app, &[Key::Char('u')]);
    let back: Vec<usize> = ops(&fx)
        .into_iter()
        .map(|op| match op {
            Op::Unarchive { ids } => ids.len(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(back, [1_000, 204], "one undo brings back all of it");
    assert_eq!(titles(&app).len(), 1_205);
}

#[test]
fn snoozing_a_selection_is_undone_to_each_items_own_snooze() {
    let mut items = notes(3);
    items[0].snoozed_until = Some(ts("2027-03-20T09:00:00Z"));
    let mut app = app_with(items);
    app.filter.view = View::All;
    // `*` then space on the cursor's note 3: notes 1 and 2, picked by hand.
    press(&mut app, &[Key::Char('*'), Key::Char(' ')]);
    assert_eq!(app.marked.len(), 2);
    press(&mut app, &[Key::Char('s')]);
    assert_eq!(app.mode, Mode::SnoozeMenu);
    let fx = update(&mut app, Action::SnoozePick(SnoozePreset::Hour));
    let until = crate::tui::presets::snooze_until(SnoozePreset::Hour, now(), &jiff::tz::TimeZone::UTC);
    assert_eq!(ops(&fx), vec![Op::Snooze { ids: vec![id(1), id(2)], until }]);
    assert!(status(&app).starts_with("Snoozed 2 until "), "{}", status(&app));
    let fx = press(&mut app, &[Key::Char('u')]);
    assert_eq!(
        ops(&fx),
        vec![
            Op::Unsnooze { ids: vec![id(2)] },
            Op::Snooze { ids: vec![id(1)], until: ts("2027-03-20T09:00:00Z") }
        ]
    );
}

#[test]
fn m_mutes_every_thread_of_the_selection_in_one_save_and_u_unmutes_them() {
    let mut items = notes(3);
    items[0].thread = Some("deploy-1".into());
    items[1].thread = Some("deploy-2".into());
    items[2].thread = Some("deploy-1".into());
    let mut app = app_with(items);
    press(&mut app, &[Key::Char('*'), Key::Char('m')]);
    let rules = |app: &App| -> Vec<String> {
        app.replica.prefs["rules"]
            .as_array()
            .map(|r| r.iter().map(|r| r["name"].as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    assert_eq!(rules(&app), ["Mute thread deploy-1", "Mute thread deploy-2"]);
    assert_eq!(status(&app), "Muted 2 threads: they stay in the inbox but send nothing · u to undo");
    press(&mut app, &[Key::Char('u')]);
    assert!(rules(&app).is_empty(), "{:?}", rules(&app));
}

#[test]
fn picked_rows_carry_a_check_mark_and_the_header_and_footer_count_them_without_colour() {
    let mut app = sized(app_with(notes(4)), 120, 40);
    app.no_color = true;
    press(&mut app, &[Key::Char(' '), Key::Char(' ')]);
    let screen = rows(&draw(&app, 120, 40));
    assert!(screen[0].contains("2 selected"), "{}", screen[0]);
    let marked: Vec<&String> = screen.iter().filter(|r| r.contains("✓")).collect();
    assert_eq!(marked.len(), 2, "{screen:#?}");
    assert!(marked[0].contains("Notification 4") && marked[1].contains("Notification 3"));
    let unmarked = screen.iter().find(|r| r.contains("Notification 2")).unwrap();
    assert!(!unmarked.contains('✓'), "{unmarked}");
    let footer = screen.last().unwrap();
    assert!(
        footer.contains("2 selected:") && footer.contains("r read") && footer.contains("esc clear"),
        "{footer}"
    );
    // Without a selection the rows have no mark column at all.
    press(&mut app, &[Key::Esc]);
    let screen = rows(&draw(&app, 120, 40));
    assert!(!screen.iter().any(|r| r.contains("selected")), "{screen:#?}");
}
