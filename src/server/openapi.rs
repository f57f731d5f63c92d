//! Completes the OpenAPI document the routes' annotations build, with what every route shares
//! so no annotation can forget it: the bearer token every route but the probes requires (and
//! its 401), and the answers any route can give — 500 when the store fails, 503 while the
//! dispatcher shuts down, and for a route that reads a body 400 (not JSON) and 413 (too
//! large). A route's own entry for a status, where it has one, is kept. `tests/openapi_exact.rs`
//! and the schemathesis step of `.ci/run` hold the document to what the server answers.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};

/// Routes anyone may call: the probes.
const PUBLIC: &[&str] = &["/healthz", "/metrics"];

/// The name of the security scheme in the document.
const BEARER: &str = "bearer";

fn error(description: &str) -> RefOr<Response> {
    let content = Content::new(Some(Ref::from_schema_name("ErrorResponse")));
    RefOr::T(Response::builder().description(description).content("application/json", content).build())
}

fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses.responses.entry(status.to_string()).or_insert_with(|| error(description));
}

/// Adds the shared security scheme and answers to every operation of `doc`.
pub fn complete(doc: &mut OpenApi) {
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme(BEARER, SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    doc.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    for (path, item) in &mut doc.paths.paths {
        let public = PUBLIC.contains(&path.as_str());
        let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for op in ops.into_iter().flatten() {
            if public {
                op.security = Some(vec![SecurityRequirement::default()]);
            } else {
                add(op, "401", "no token, or one this server does not know");
            }
            if op.request_body.is_some() {
                add(op, "400", "the body is not JSON (or a header does not parse)");
                add(op, "413", "the body is larger than daemon.max_body_bytes");
            }
            add(op, "500", "the store failed (logged on the server)");
            add(op, "503", "the dispatcher is shutting down (with Retry-After)");
        }
    }
}
