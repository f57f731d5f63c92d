//! A new webhook secret, on the Channels tab's secret row only: `n` (or enter) asks first,
//! yes asks the shell for one (the core has no randomness), and the answer goes into the
//! draft and into a dialog that shows it whole until the user closes it, with `y` to copy
//! it. It is never shown again: the row and every other screen show the mask. Pure.

use crate::tui::action::PrefsAction;
use crate::tui::app::App;
use crate::tui::effect::Effect;
use crate::tui::prefs::NewSecret;
use crate::tui::prefs::rows::RowId;

/// The secret's actions; every other action is left alone (false).
pub(super) fn act(app: &mut App, action: &PrefsAction, fx: &mut Vec<Effect>) -> bool {
    let Some(ed) = app.editor.as_mut() else { return false };
    match action {
        PrefsAction::RegenerateSecret => ask(app),
        PrefsAction::ConfirmSecret if ed.secret == Some(NewSecret::Asking) => {
            ed.secret = None;
            fx.push(Effect::GenerateSecret);
        }
        PrefsAction::SecretGenerated(secret) => {
            ed.draft.channels.webhook.secret = secret.clone();
            ed.secret = Some(NewSecret::Shown(secret.clone()));
        }
        PrefsAction::CopySecret => {
            if let Some(NewSecret::Shown(s)) = &ed.secret {
                fx.push(Effect::Copy(s.clone()));
                app.say("Copied the new webhook secret to the clipboard");
            }
        }
        PrefsAction::DismissSecret => {
            ed.secret = None;
            app.say("The new webhook secret is in the draft: w saves it (the old one works until then)");
        }
        PrefsAction::ConfirmSecret => {}
        _ => return false,
    }
    true
}

/// Asks whether to make a new secret, on the secret row; elsewhere says where that is.
pub(super) fn ask(app: &mut App) {
    let Some(ed) = app.editor.as_mut() else { return };
    if ed.rule.is_none() && ed.current() == Some(RowId::WebhookSecret) {
        ed.secret = Some(NewSecret::Asking);
    } else {
        app.say("n makes a new webhook secret on the secret row (Channels, under Webhook)");
    }
}
