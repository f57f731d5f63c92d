//! Who is in a store and how they are reached: the subscriber profile templates see, topics,
//! push devices, and the checks on names and device tokens that every store backend applies
//! the same way (they live here, not in a backend).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::FieldError;

/// The recipient as templates and channels know them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Subscriber {
    pub id: String,
    pub name: String,
    pub first_name: String,
    pub email: String,
    pub phone: String,
    pub avatar: String,
}

/// A topic as one user sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TopicInfo {
    pub topic: String,
    pub subscribers: i64,
    pub subscribed: bool,
}

/// A registered push device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceToken {
    pub provider: String,
    pub token: String,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

pub const PUSH_PROVIDERS: [&str; 2] = ["expo", "ntfy"];

/// A user name: 1 to 64 letters, digits, `.`, `_` or `-`.
pub fn check_user_name(name: &str) -> Result<(), FieldError> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_alphanumeric() || "._-".contains(c)) {
        return Err(FieldError::new("name", format!("`{name}` is not a user name (letters, digits, . _ -)")));
    }
    Ok(())
}

/// A topic name: 1 to 128 ASCII letters, digits, `.`, `_`, `-` or `/`.
pub fn check_topic(topic: &str) -> Result<(), FieldError> {
    if topic.is_empty()
        || topic.len() > 128
        || !topic.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
    {
        return Err(FieldError::new(
            "topic",
            format!("`{topic}` is not a topic name (letters, digits, . _ - /)"),
        ));
    }
    Ok(())
}

/// A push device token as its provider writes it.
pub fn check_device_token(provider: &str, token: &str) -> Result<(), FieldError> {
    if !PUSH_PROVIDERS.contains(&provider) {
        return Err(FieldError::new(
            "provider",
            format!("`{provider}` is not a push provider (expo or ntfy)"),
        ));
    }
    let valid = match provider {
        "expo" => {
            (token.starts_with("ExponentPushToken[") || token.starts_with("ExpoPushToken["))
                && token.ends_with(']')
        }
        _ => {
            !token.is_empty()
                && token.len() <= 64
                && token.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
        }
    };
    if !valid {
        let expected = if provider == "expo" { "ExponentPushToken[...]" } else { "an ntfy topic name" };
        return Err(FieldError::new("token", format!("not a valid {provider} token: expected {expected}")));
    }
    Ok(())
}
