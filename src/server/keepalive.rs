//! An answer given before the request body was read (a 401, a 429 refused before reading, a
//! 413 that stopped halfway) cannot leave the connection open: the rest of the body would be
//! read as the next request, so hyper closes it. This middleware makes such an answer say so
//! with `Connection: close`, so a client knows to open a new connection instead of finding
//! the old one gone. It decides nothing else and reads nothing itself.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, BodyDataStream, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::Stream;

/// The request body, noting when it has been read to its end.
struct Tracked {
    inner: BodyDataStream,
    done: Arc<AtomicBool>,
}

impl Stream for Tracked {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(None) = next {
            self.done.store(true, Ordering::Relaxed);
        }
        next
    }
}

/// Adds `Connection: close` to the answer to a request whose body was not read to its end.
pub async fn close_if_unread(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let done = Arc::new(AtomicBool::new(false));
    let body = Body::from_stream(Tracked { inner: body.into_data_stream(), done: Arc::clone(&done) });
    let mut resp = next.run(Request::from_parts(parts, body)).await;
    if !done.load(Ordering::Relaxed) {
        resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}
