//! A new webhook secret (issue 16, failure 4): its own key on the secret row only, a question
//! first, then the secret whole in a dialog that stays until closed (status messages do not
//! replace it) with `y` to copy it through OSC 52; never shown again after.

use super::fixtures::*;
use super::prefs_edit::goto;
use super::view::{draw, rows, sized};
use crate::prefs::MASKED_SECRET;
use crate::tui::action::{Action, Key, PrefsAction};
use crate::tui::effect::Effect;
use crate::tui::prefs::rows::RowId;
use crate::tui::state::{Mode, Tab};
use crate::tui::update::update;

fn secret() -> String {
    format!("whsec_{}", "Ab3+".repeat(11))
}

fn on_screen(app: &crate::tui::app::App, w: u16, h: u16) -> String {
    rows(&draw(&sized(app.clone(), w, h), w, h)).join("\n")
}

#[test]
fn no_key_makes_a_secret_away_from_the_secret_row_and_g_is_not_one_of_them() {
    let mut app = editing(serde_json::json!({"channels": {"webhook": {"secret": MASKED_SECRET}}}));
    for row in [RowId::Enabled(crate::model::Channel::Desktop), RowId::WebhookUrl, RowId::PushDevices] {
        goto(&mut app, row);
        let fx = press(&mut app, &[Key::Char('g'), Key::Char('n')]);
        assert!(!fx.contains(&Effect::GenerateSecret), "{row:?}");
        assert_eq!(app.mode, Mode::Prefs(Tab::Channels), "{row:?}: no question either");
        assert!(!editor(&app).dirty());
    }
    assert!(status(&app).contains("secret row"), "n elsewhere says where it works: {}", status(&app));
    // The footer offers it only on that row.
    assert!(!on_screen(&app, 120, 40).contains("new secret"));
    goto(&mut app, RowId::WebhookSecret);
    assert!(on_screen(&app, 120, 40).contains("n new secret"), "{}", on_screen(&app, 120, 40));
}

#[test]
fn on_the_secret_row_n_asks_first_and_no_keeps_the_old_secret() {
    let mut app = editing(serde_json::json!({"channels": {"webhook": {"secret": MASKED_SECRET}}}));
    goto(&mut app, RowId::WebhookSecret);
    let fx = press(&mut app, &[Key::Char('n')]);
    assert!(!fx.contains(&Effect::GenerateSecret), "nothing before the answer");
    assert_eq!(app.mode, Mode::PrefsAskSecret);
    assert!(on_screen(&app, 80, 24).contains("Make a new webhook secret?"));
    press(&mut app, &[Key::Char('n')]);
    assert_eq!(app.mode, Mode::Prefs(Tab::Channels));
    // Enter on the row asks too; esc says no.
    press(&mut app, &[Key::Enter]);
    assert_eq!(app.mode, Mode::PrefsAskSecret);
    let fx = press(&mut app, &[Key::Esc]);
    assert!(!fx.contains(&Effect::GenerateSecret) && !editor(&app).dirty());
}

#[test]
fn yes_shows_the_new_secret_whole_until_closed_and_y_copies_it() {
    let mut app = editing(serde_json::json!({"channels": {"webhook": {"secret": MASKED_SECRET}}}));
    goto(&mut app, RowId::WebhookSecret);
    let fx = press(&mut app, &[Key::Char('n'), Key::Char('y')]);
    assert!(fx.contains(&Effect::GenerateSecret));
    update(&mut app, Action::Prefs(PrefsAction::SecretGenerated(secret())));
    assert_eq!(app.mode, Mode::PrefsShowSecret);
    assert_eq!(editor(&app).draft.channels.webhook.secret, secret());
    assert!(editor(&app).dirty());
    assert!(!status(&app).contains(&secret()), "not on the status line, where the next message ends it");
    // Whole at every size: on one line when it fits, in pieces when the terminal is narrow.
    let wide = on_screen(&app, 120, 40);
    assert!(wide.contains(&secret()), "{wide}");
    let narrow = on_screen(&app, 40, 16);
    // The dialog's rows between the heading and the advice, inside its border.
    let inner: Vec<&str> = narrow.lines().filter_map(|l| l.split('│').nth(1)).map(str::trim).collect();
    let from = inner.iter().position(|t| t.ends_with("once:")).unwrap();
    let to = inner.iter().position(|t| t.starts_with("Give it")).unwrap();
    let pieces: String = inner[from + 1..to].concat();
    assert_eq!(pieces, secret(), "{narrow}");
    // Messages and other keys do not end it.
    app.say("Preferences changed elsewhere");
    press(&mut app, &[Key::Char('j'), Key::Char('w'), Key::Char('1')]);
    assert_eq!(app.mode, Mode::PrefsShowSecret);
    assert!(on_screen(&app, 120, 40).contains(&secret()));
    let fx = press(&mut app, &[Key::Char('y')]);
    assert!(fx.contains(&Effect::Copy(secret())), "{fx:?}");
    assert_eq!(app.mode, Mode::PrefsShowSecret, "copying keeps it up");
    press(&mut app, &[Key::Esc]);
    assert_eq!(app.mode, Mode::Prefs(Tab::Channels));
    let after = on_screen(&app, 120, 40);
    assert!(!after.contains("Ab3+") && after.contains(MASKED_SECRET), "never shown again:\n{after}");
    assert!(status(&app).contains("w saves it"), "{}", status(&app));
}
