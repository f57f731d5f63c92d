//! Who is calling: a bearer token (hashed, looked up once and cached) or, on the local
//! engine socket, the local user implicitly. Also the rate limit for `user` tokens.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::store::{Principal, Scope};

/// The authenticated caller of a request.
pub struct Auth(pub Principal);

impl Auth {
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.0.scope >= scope {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("this needs a {} token", scope.as_str())))
        }
    }
}

/// How long a looked-up token is trusted before the store is asked again.
const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// Looks a bearer token up, through a cache of tokens already seen. A cached entry is
/// dropped when it is older than [`TOKEN_CACHE_TTL`], when any token was revoked since, or
/// when the token expired; each lookup in the store records the token as used.
pub async fn principal(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let generation = state.dispatch.token_generation();
    if let Some(c) = state.tokens.lock().unwrap_or_else(PoisonError::into_inner).get(token)
        && c.at.elapsed() < TOKEN_CACHE_TTL
        && c.generation == generation
        && c.principal.expires_at.is_none_or(|e| e > jiff::Timestamp::now())
    {
        return Ok(c.principal.clone());
    }
    let found = state.dispatch.authenticate(token.to_string()).await?;
    match found {
        Some(p) => {
            if let Some(id) = &p.token {
                state.dispatch.touch_token(id.clone());
            }
            let mut cache = state.tokens.lock().unwrap_or_else(PoisonError::into_inner);
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(token.to_string(), Cached { principal: p.clone(), at: Instant::now(), generation });
            Ok(p)
        }
        None => Err(ApiError::unauthorized("unknown, revoked or expired token")),
    }
}

/// A token already looked up.
pub struct Cached {
    principal: Principal,
    at: Instant,
    /// The revocation generation it was looked up in.
    generation: u64,
}

pub fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    match parts.headers.get(header::AUTHORIZATION) {
        None => Ok(None),
        Some(v) => {
            let v = v.to_str().map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
            // The scheme name is case-insensitive (RFC 9110 §11.1).
            match v.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(Some(token.trim())),
                _ => Err(ApiError::unauthorized("expected `Authorization: Bearer <token>`")),
            }
        }
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(token) = bearer(parts)? {
            return principal(state, token).await.map(Auth);
        }
        match &state.local_user {
            Some(user) => Ok(Auth(Principal::local(user.clone()))),
            None => Err(ApiError::unauthorized("send a token: `Authorization: Bearer <token>`")),
        }
    }
}

/// Token buckets per user: `per_second` refill, `burst` capacity.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter { per_second: f64::from(per_second), burst: f64::from(burst), buckets: Mutex::default() }
    }

    /// Takes one token for `user`, or says how many seconds until one is there.
    pub fn take(&self, user: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let (tokens, last) = buckets.entry(user.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.per_second).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.per_second).ceil() as u64)
        }
    }
}
