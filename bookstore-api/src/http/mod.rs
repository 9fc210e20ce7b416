//! HTTP: routes, shared state and the middleware every request passes through.

mod auth;
mod books;
mod cors;
mod error;
mod headers;
mod health;
mod limit;
mod metrics;
mod observe;
mod openapi;
mod page;

use bookstore_contract::{HEALTHZ_PATH, METRICS_PATH, READYZ_PATH};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, Resource, web};

pub use auth::WriteAccess;
pub use error::ApiError;
pub use limit::Limiters;
pub use metrics::Metrics;

use crate::store::{BookStore, DatabaseHealth};

/// Largest accepted request body.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// What every handler shares: the store, whether it is ready, the metrics, and the rules of who
/// may do what.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn BookStore>,
    /// Set once the database has been reached and migrated.
    database_ready: Arc<AtomicBool>,
    /// Whether the database answers, as the monitor last found it.
    pub database_health: Arc<DatabaseHealth>,
    /// Set on SIGTERM: readiness fails and every answer closes its connection.
    shutting_down: Arc<AtomicBool>,
    pub metrics: Arc<Metrics>,
    /// Origins allowed to call the API from a browser (CORS); empty allows none.
    allowed_origins: Arc<[String]>,
    /// Who may write (open unless tokens are configured).
    write_access: Arc<WriteAccess>,
    /// Requests per client address (no limit unless configured).
    pub limiters: Arc<Limiters>,
}

impl AppState {
    pub fn new(store: Arc<dyn BookStore>) -> Self {
        Self {
            store,
            database_ready: Arc::new(AtomicBool::new(false)),
            database_health: Arc::default(),
            shutting_down: Arc::new(AtomicBool::new(false)),
            metrics: Arc::new(Metrics::new()),
            allowed_origins: Arc::from([]),
            write_access: Arc::new(WriteAccess::Open),
            limiters: Arc::new(Limiters::new(&crate::config::RateLimits {
                writes_per_minute: None,
                reads_per_minute: None,
                trusted_proxies: Vec::new(),
            })),
        }
    }

    /// The health the store's monitor keeps (see `store::Guarded`).
    pub fn with_database_health(self, health: Arc<DatabaseHealth>) -> Self {
        Self {
            database_health: health,
            ..self
        }
    }

    pub fn with_write_access(self, write_access: WriteAccess) -> Self {
        Self {
            write_access: Arc::new(write_access),
            ..self
        }
    }

    pub fn with_limiters(self, limiters: Limiters) -> Self {
        Self {
            limiters: Arc::new(limiters),
            ..self
        }
    }

    pub fn with_allowed_origins(self, origins: &[String]) -> Self {
        Self {
            allowed_origins: origins.into(),
            ..self
        }
    }

    fn allows_origin(&self, origin: &[u8]) -> bool {
        self.allowed_origins
            .iter()
            .any(|allowed| allowed.as_bytes() == origin)
    }

    /// Set once the database has been reached and migrated.
    pub fn mark_database_ready(&self) {
        self.database_ready.store(true, Ordering::Release);
    }

    pub fn is_database_ready(&self) -> bool {
        self.database_ready.load(Ordering::Acquire)
    }

    /// From now on readiness fails and each answer closes its connection, so that clients move
    /// to other replicas while this one finishes what it has.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// The store, once it can serve: before migrations ran, the table may not exist yet.
    fn store(&self) -> Result<&dyn BookStore, ApiError> {
        if self.is_database_ready() {
            Ok(self.store.as_ref())
        } else {
            Err(ApiError::DatabaseStarting)
        }
    }
}

/// What a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoints {
    /// The API, the page and the operations endpoints on one address (no `METRICS_ADDR`).
    All,
    /// The API and the page: what a load balancer may publish.
    Public,
    /// `/healthz`, `/readyz` and `/metrics`: for the kubelet and Prometheus.
    Operations,
}

/// The whole application; the server and the tests build it the same way.
pub fn app(
    state: AppState,
    endpoints: Endpoints,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state))
        .app_data(
            web::JsonConfig::default()
                .limit(BODY_LIMIT_BYTES)
                .error_handler(|error, _| ApiError::from(error).into()),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|error, _| ApiError::InvalidQuery(error.to_string()).into()),
        )
        // The last `wrap` runs first: every request is observed and gets the security headers;
        // CORS is answered inside that, then the rate limits, then the write tokens.
        .wrap(from_fn(auth::require_token))
        .wrap(from_fn(limit::rate_limit))
        .wrap(from_fn(cors::cors))
        .wrap(headers::security_headers())
        .wrap(from_fn(observe::observe))
        .configure(|config| {
            if endpoints != Endpoints::Operations {
                public_routes(config);
            }
            if endpoints != Endpoints::Public {
                operations_routes(config);
            }
        })
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ApiError::RouteNotFound)
        }))
}

fn public_routes(config: &mut web::ServiceConfig) {
    config
        .service(
            resource("/api/v1/books", "GET, POST")
                .route(web::get().to(books::list))
                .route(web::post().to(books::create)),
        )
        .service(
            resource("/api/v1/books/{id}", "GET, PUT, PATCH, DELETE")
                .route(web::get().to(books::read))
                .route(web::put().to(books::replace))
                .route(web::patch().to(books::patch))
                .route(web::delete().to(books::delete)),
        )
        .service(resource("/openapi.json", "GET").route(web::get().to(openapi::openapi_json)));
    for page_file in page::resources() {
        config.service(page_file);
    }
}

fn operations_routes(config: &mut web::ServiceConfig) {
    config
        .service(resource(HEALTHZ_PATH, "GET").route(web::get().to(health::healthz)))
        .service(resource(READYZ_PATH, "GET").route(web::get().to(health::readyz)))
        .service(resource(METRICS_PATH, "GET").route(web::get().to(metrics::metrics)));
}

/// A resource that answers 405 with `Allow` for methods it has no route for.
fn resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move || async move {
        Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow })
    }))
}
