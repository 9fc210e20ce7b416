//! The operator's own HTTP endpoints: `/healthz`, `/readyz`, `/metrics`.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use kube::runtime::reflector::Store;
use tokio::net::TcpListener;

use crate::crd::Bookstore;
use crate::metrics::Metrics;
use crate::status::ready_condition;

#[derive(Clone)]
pub struct State {
    pub metrics: Arc<Metrics>,
    /// Set once the operator is initialised (standby replicas are ready too).
    pub ready: Arc<AtomicBool>,
    /// The Bookstore caches, one per watched scope (filled while this replica leads).
    pub bookstores: Vec<Store<Bookstore>>,
}

/// Serves until `shutdown` resolves.
pub async fn serve(listener: TcpListener, state: State, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(error = %error, "cannot accept a connection");
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let response = respond(&state, &request);
                async move { Ok::<_, Infallible>(response) }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %error, "metrics connection ended");
            }
        });
    }
}

fn respond(state: &State, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "GET only\n");
    }
    match request.uri().path() {
        "/healthz" => reply(StatusCode::OK, "application/json", r#"{"status":"ok"}"#),
        "/readyz" if state.ready.load(Ordering::Acquire) => {
            reply(StatusCode::OK, "application/json", r#"{"status":"ok"}"#)
        }
        "/readyz" => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "application/json",
            r#"{"status":"starting"}"#,
        ),
        "/metrics" => metrics(state),
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
    }
}

fn metrics(state: &State) -> Response<Full<Bytes>> {
    // Only the leader knows the Bookstores; standby replicas report none.
    if state.metrics.is_leader() {
        let bookstores: Vec<_> = state.bookstores.iter().flat_map(Store::state).collect();
        state
            .metrics
            .set_bookstores(bookstores.iter().map(|bookstore| {
                let ready = bookstore
                    .status
                    .as_ref()
                    .and_then(ready_condition)
                    .map(|c| c.status == "True");
                (
                    bookstore.metadata.namespace.as_deref().unwrap_or_default(),
                    bookstore.metadata.name.as_deref().unwrap_or_default(),
                    ready,
                )
            }));
    }
    match state.metrics.render() {
        Ok(text) => reply(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            text,
        ),
        Err(_) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            "cannot render\n",
        ),
    }
}

fn reply(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}
