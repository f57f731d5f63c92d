//! One error shape for every answer (DESIGN §7): `{"error": {"code", "message", "field"?}}`
//! with the right status. 4xx explain themselves; 5xx are logged and say little.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::dispatch::DispatchError;
use crate::model::FieldError;
use crate::store::StoreError;
use crate::sync::protocol::ErrorBody;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    pub retry_after: Option<u64>,
}

/// The body of every error answer, for the OpenAPI document.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    #[schema(value_type = Object)]
    pub error: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody { code: code.into(), message: message.into(), field: None },
            retry_after: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> ApiError {
        self.body.field = Some(field.into());
        self
    }

    pub fn malformed(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn invalid(e: FieldError) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.message).field(e.field)
    }

    pub fn too_many(retry_after: u64) -> ApiError {
        let mut e =
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests: slow down");
        e.retry_after = Some(retry_after.max(1));
        e
    }

    pub fn unavailable() -> ApiError {
        let mut e =
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the dispatcher is shutting down");
        e.retry_after = Some(1);
        e
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(f) => ApiError::invalid(f),
            StoreError::Conflict(_) | StoreError::VersionConflict { .. } | StoreError::Taken(_) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            StoreError::NotFound(what) => ApiError::not_found(format!("no such {what}")),
            StoreError::Storage(fault, ref detail) => {
                // The operator's problem, not the client's: nothing was stored, try later.
                tracing::error!(detail = %detail, "{}", fault.as_str());
                let mut a = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    fault.code(),
                    format!("{}: the server cannot use its store; retry later", fault.as_str()),
                );
                a.retry_after = Some(30);
                a
            }
            StoreError::Db(_) | StoreError::Corrupt(_) | StoreError::Io(_) | StoreError::Internal(_) => {
                tracing::error!(error = %e, "store failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the store failed; see the server log",
                )
            }
        }
    }
}

impl From<DispatchError> for ApiError {
    fn from(e: DispatchError) -> Self {
        match e {
            DispatchError::Store(s) => s.into(),
            DispatchError::Closed => ApiError::unavailable(),
        }
    }
}

impl From<crate::dispatch::commands::CommandError> for ApiError {
    fn from(e: crate::dispatch::commands::CommandError) -> Self {
        use crate::dispatch::commands::CommandError;
        match e {
            CommandError::Conflict { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "the preferences changed since the version you edited; fetch them and try again",
            ),
            CommandError::Dispatch(d) => d.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(serde_json::json!({ "error": self.body }))).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// Parses JSON with errors a client can act on: syntax → 400, shape (types, unknown or
/// missing fields) → 422 naming the field.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every body of this API is an object; serde would read a struct from an array too.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::invalid(FieldError::new("body", "expected a JSON object, not an array")));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let invalid =
            |message: String| ApiError::invalid(FieldError::new(field_of(&path, &message), message));
        match inner.classify() {
            serde_json::error::Category::Data => invalid(inner.to_string()),
            // serde_json calls some wrong shapes syntax errors (a number where an enum goes, an
            // object of two keys for `to`): well-formed JSON is a shape error, read again as a
            // tree for a message that says what is wrong.
            serde_json::error::Category::Syntax
                if let Ok(tree) = serde_json::from_slice::<serde_json::Value>(bytes) =>
            {
                let again = serde_path_to_error::deserialize::<_, T>(tree).err();
                invalid(again.map_or_else(|| inner.to_string(), |e| e.into_inner().to_string()))
            }
            _ => ApiError::malformed(format!("malformed JSON: {inner}")),
        }
    })
}

/// The field a shape error names: its path; for a missing or repeated field, which serde
/// reports at the enclosing object, that field; `body` for the body as a whole.
fn field_of(path: &str, message: &str) -> String {
    let named = ["missing field `", "duplicate field `"]
        .into_iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    match (path, named) {
        (".", Some(name)) => name.to_string(),
        (".", None) => "body".to_string(),
        (p, Some(name)) => format!("{p}.{name}"),
        (p, None) => p.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StorageFault;

    #[tokio::test]
    async fn storage_faults_are_503_with_retry_after_and_say_what_is_wrong() {
        for (fault, code, words) in [
            (StorageFault::DiskFull, "disk_full", "disk full"),
            (StorageFault::ReadOnly, "read_only", "read-only"),
            (StorageFault::PermissionDenied, "permission_denied", "permission denied"),
            (StorageFault::Damaged, "store_damaged", "damaged"),
        ] {
            let r = ApiError::from(StoreError::Storage(fault, "detail".into())).into_response();
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(r.headers()["retry-after"], "30");
            let body = axum::body::to_bytes(r.into_body(), 4096).await.unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["error"]["code"], code);
            let message = v["error"]["message"].as_str().unwrap();
            assert!(message.contains(words) && !message.contains("unreadable"), "{message}");
        }
    }
}
