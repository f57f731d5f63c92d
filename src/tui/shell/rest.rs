//! The shell's REST calls to the server its sync connection reaches (the same host and
//! token over HTTP, or the same local engine socket): listing and removing push devices for
//! the preference editor, answered back to `update` as actions.

use crate::model::DeviceToken;
use crate::sync::client::Transport;
use crate::sync::protocol::Devices;
use crate::tui::action::{Action, PrefsAction};
use crate::tui::effect::Effect;

/// The REST side of the server a sync transport reaches: the same host and token over
/// HTTP, or the same local engine socket.
fn rest_target(transport: &Transport) -> crate::client::Target {
    match transport {
        Transport::Tcp { authority, token, tls } => crate::client::Target::Tcp {
            authority: authority.clone(),
            token: Some(token.clone()),
            tls: tls.clone(),
        },
        Transport::Unix(p) => crate::client::Target::Socket(p.clone()),
    }
}

/// Runs an effect that asks REST and returns the action that brings its answer to
/// `update`: the push devices listed, or one removed. `None` for every other effect.
pub async fn answer(transport: &Transport, effect: Effect) -> Option<Action> {
    let target = rest_target(transport);
    Some(Action::Prefs(match effect {
        Effect::FetchDevices => PrefsAction::DevicesListed(list_devices(&target).await),
        Effect::RemoveDevice { provider, token } => {
            let path = format!(
                "/api/v1/device-tokens/{}?provider={}",
                percent_encode(&token),
                percent_encode(&provider)
            );
            let result = match crate::client::request(&target, "DELETE", &path, &[], Vec::new()).await {
                Ok((status, _)) if status.is_success() => Ok(()),
                Ok((status, body)) => Err(crate::client::error_message(status, &body)),
                Err(e) => Err(e.to_string()),
            };
            PrefsAction::DeviceRemoved { provider, token, result }
        }
        _ => return None,
    }))
}

async fn list_devices(target: &crate::client::Target) -> Result<Vec<DeviceToken>, String> {
    let (status, body) = crate::client::request(target, "GET", "/api/v1/device-tokens", &[], Vec::new())
        .await
        .map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(crate::client::error_message(status, &body));
    }
    let list: Devices = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    Ok(list.devices)
}

/// A path segment or query value as a URL carries it (an Expo token has brackets).
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_tokens_travel_percent_encoded_in_the_path() {
        assert_eq!(percent_encode("ExponentPushToken[a b]"), "ExponentPushToken%5Ba%20b%5D");
        assert_eq!(percent_encode("alice-laptop_1.x~"), "alice-laptop_1.x~");
        assert_eq!(percent_encode("a/b?c"), "a%2Fb%3Fc");
    }
}
