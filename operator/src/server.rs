//! The operator's own HTTP endpoints: `/healthz`, `/readyz`, `/metrics`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use actix_web::{App, HttpResponse, HttpServer, web};
use kube::runtime::reflector::Store;

use crate::crd::Bookstore;
use crate::metrics::Metrics;
use crate::status::ready_condition;

#[derive(Clone)]
pub struct State {
    pub metrics: Arc<Metrics>,
    /// Set once the operator is initialised (standby replicas are ready too).
    pub ready: Arc<AtomicBool>,
    /// The controller's cache of Bookstores, once this replica leads.
    pub bookstores: Arc<OnceLock<Store<Bookstore>>>,
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

async fn readyz(state: web::Data<State>) -> HttpResponse {
    if state.ready.load(Ordering::Acquire) {
        HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
    } else {
        HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "starting"}))
    }
}

async fn metrics(state: web::Data<State>) -> HttpResponse {
    if let Some(store) = state.bookstores.get() {
        let bookstores = store.state();
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
        Ok(text) => HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(text),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

pub fn serve(addr: SocketAddr, state: State) -> std::io::Result<actix_web::dev::Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics))
    })
    .workers(1)
    .disable_signals()
    .bind(addr)?
    .run();
    Ok(server)
}
