//! Probes: liveness never touches the database; readiness does.

use actix_web::web;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::{ApiError, AppState};

#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Ready, and whether the database answers right now.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// `reachable`, or `unreachable` while the database does not answer (requests then get 503
    /// with `Retry-After`, at once).
    #[schema(example = "reachable")]
    pub database: &'static str,
}

/// Liveness: the process is up and serving HTTP.
#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Status))
)]
pub async fn healthz() -> web::Json<Status> {
    web::Json(Status { status: "ok" })
}

/// Readiness: 503 until the database has been reached and migrated, and from SIGTERM on. A later
/// database outage keeps the process ready: every replica shares the database, and a Service
/// without ready pods refuses connections, where a ready pod answers 503 with `Retry-After` at
/// once; `database` reports it.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Serving (see `database`)", body = Readiness),
        (status = 503, description = "The database is not migrated yet, or the process is shutting down", body = ErrorBody),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Readiness>, ApiError> {
    if state.is_shutting_down() {
        return Err(ApiError::ShuttingDown);
    }
    state.store()?;
    let database = if state.database_health.is_reachable() {
        "reachable"
    } else {
        "unreachable"
    };
    Ok(web::Json(Readiness {
        status: "ok",
        database,
    }))
}
