//! Push devices in the Channels tab: the editor asks the shell for them when it opens
//! (`Effect::FetchDevices`), lists what comes back in the Push section, and removes one only
//! after asking (`x`, then `y`): `Effect::RemoveDevice` goes to the shell, and its answer
//! updates the list and asks for it again. Refusals and failures say why.

use super::fixtures::*;
use super::prefs_edit::goto;
use super::view::{rows, screen, sized};
use crate::model::Channel;
use crate::tui::action::{Action, Key, PrefsAction};
use crate::tui::app::App;
use crate::tui::effect::Effect;
use crate::tui::prefs::Devices;
use crate::tui::prefs::rows::RowId;
use crate::tui::state::{Mode, Tab};
use crate::tui::update::update;

const PHONE: &str = "ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]";
const TABLET: &str = "ExponentPushToken[tablet0000000000000001]";

fn answer(app: &mut App, action: PrefsAction) -> Vec<Effect> {
    update(app, Action::Prefs(action))
}

/// The editor open with three devices listed.
fn with_devices() -> App {
    let mut app = editing(serde_json::json!({"channels": {"push": {"enabled": true}}}));
    let list = vec![device("expo", PHONE, 0), device("ntfy", "alice-laptop", 75), device("expo", TABLET, 90)];
    answer(&mut app, PrefsAction::DevicesListed(Ok(list)));
    app
}

#[test]
fn opening_the_editor_asks_the_shell_for_the_devices_and_the_push_section_lists_them() {
    let mut app = app_with_prefs(showcase(), serde_json::json!({}));
    let fx = update(&mut app, Action::Preferences);
    assert!(fx.contains(&Effect::FetchDevices));
    assert_eq!(editor(&app).devices, Devices::Loading);
    assert_eq!(editor(&app).rows().last(), Some(&RowId::PushDevices), "a row says it is asking");
    answer(&mut app, PrefsAction::DevicesListed(Ok(vec![device("expo", PHONE, 0), device("ntfy", "t", 5)])));
    let ed = editor(&app);
    let list = ed.rows();
    assert_eq!(&list[list.len() - 2..], &[RowId::Device(0), RowId::Device(1)]);
    assert!(!list.contains(&RowId::PushDevices));
    assert_eq!(ed.device(RowId::Device(1)).map(|d| d.token.as_str()), Some("t"));
    assert!(!ed.dirty(), "devices are not preferences: nothing to save");
}

#[test]
fn x_on_a_device_asks_first_and_only_yes_asks_the_shell_to_remove_it() {
    let mut app = with_devices();
    goto(&mut app, RowId::Device(2));
    let fx = press(&mut app, &[Key::Char('x')]);
    assert_eq!(app.mode, Mode::PrefsRemoveDevice);
    assert!(!fx.iter().any(|e| matches!(e, Effect::RemoveDevice { .. })), "nothing removed before yes");
    assert_eq!(editor(&app).removing.as_ref().map(|d| d.token.as_str()), Some(TABLET));
    let fx = press(&mut app, &[Key::Char('n')]);
    assert_eq!((app.mode, editor(&app).removing.is_none()), (Mode::Prefs(Tab::Channels), true));
    assert!(!fx.iter().any(|e| matches!(e, Effect::RemoveDevice { .. })));
    press(&mut app, &[Key::Delete]);
    assert_eq!(app.mode, Mode::PrefsRemoveDevice, "Delete asks too");
    let fx = press(&mut app, &[Key::Char('y')]);
    assert!(fx.contains(&Effect::RemoveDevice { provider: "expo".into(), token: TABLET.into() }), "{fx:?}");
    assert_eq!(app.mode, Mode::Prefs(Tab::Channels));
    assert!(status(&app).contains("Removing the expo device"), "{}", status(&app));
}

#[test]
fn a_removed_device_leaves_the_list_which_is_asked_for_again() {
    let mut app = with_devices();
    goto(&mut app, RowId::Device(2));
    press(&mut app, &[Key::Char('x'), Key::Enter]);
    let fx = answer(
        &mut app,
        PrefsAction::DeviceRemoved { provider: "expo".into(), token: TABLET.into(), result: Ok(()) },
    );
    assert!(fx.contains(&Effect::FetchDevices));
    assert!(status(&app).starts_with("Removed the expo device ExponentPushToken[tablet"), "{}", status(&app));
    let Devices::Listed(list) = &editor(&app).devices else { panic!("listed") };
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|d| d.token != TABLET));
    assert_eq!(editor(&app).current(), Some(RowId::Device(1)), "the cursor stays in the list");
    // The server's list wins; an empty one brings back the row that says so.
    answer(&mut app, PrefsAction::DevicesListed(Ok(Vec::new())));
    assert_eq!(editor(&app).current(), Some(RowId::PushDevices));
}

#[test]
fn a_refused_removal_or_a_failed_list_says_why_and_enter_asks_again() {
    let mut app = with_devices();
    let fx = answer(
        &mut app,
        PrefsAction::DeviceRemoved {
            provider: "ntfy".into(),
            token: "alice-laptop".into(),
            result: Err("404 Not Found: no such device".into()),
        },
    );
    assert!(app.status.as_ref().is_some_and(|s| s.error));
    assert_eq!(status(&app), "The ntfy device alice-laptop was not removed: 404 Not Found: no such device");
    assert!(fx.contains(&Effect::FetchDevices), "the list is asked for again either way");
    answer(&mut app, PrefsAction::DevicesListed(Err("cannot reach example:8080: refused".into())));
    goto(&mut app, RowId::PushDevices);
    let fx = press(&mut app, &[Key::Enter]);
    assert!(fx.contains(&Effect::FetchDevices));
    assert_eq!(editor(&app).devices, Devices::Loading);
}

#[test]
fn x_away_from_a_device_says_where_devices_are() {
    let mut app = with_devices();
    goto(&mut app, RowId::Enabled(Channel::Push));
    let fx = press(&mut app, &[Key::Char('x')]);
    assert_eq!(app.mode, Mode::Prefs(Tab::Channels));
    assert!(!fx.iter().any(|e| matches!(e, Effect::RemoveDevice { .. })));
    assert!(status(&app).contains("move to one in the Push section"), "{}", status(&app));
}

#[test]
fn snapshots_of_the_listed_devices_and_the_remove_question() {
    let mut listed = with_devices();
    goto(&mut listed, RowId::Device(1));
    let mut asking = listed.clone();
    press(&mut asking, &[Key::Char('x')]);
    for (name, app) in [("prefs_devices", listed), ("prefs_remove_device", asking)] {
        for (w, h) in [(80, 24), (120, 40)] {
            let app = sized(app.clone(), w, h);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen(&app, w, h));
        }
    }
}

#[test]
fn a_device_row_shows_when_it_was_registered_and_its_token() {
    let app = sized(with_devices(), 120, 40);
    let text = rows(&super::view::draw(&app, 120, 40));
    let row = text.iter().find(|r| r.contains("ntfy device")).unwrap();
    // Registered 10:15 UTC; the editor's zone is UTC here.
    assert!(row.contains("since 2027-03-14 10:15") && row.contains("alice-laptop"), "{row}");
    assert!(text.iter().any(|r| r.contains(PHONE)), "a token that fits is shown whole");
}
