//! Prometheus metrics of the API: requests, latency and the database pool.

use actix_web::{HttpResponse, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::AppState;
use crate::store::PoolStats;

pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route template (`/api/v1/books/{id}`), never the raw path: bounded cardinality.
    route: String,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily,
    pool_open: Gauge,
    pool_idle: Gauge,
    pool_in_use: Gauge,
    pool_max: Gauge,
    database_ready: Gauge,
    database_reachable: Gauge,
}

fn latency_histogram() -> Histogram {
    // 1 ms .. ~16 s
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 16.0,
    ])
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("bookstore");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = HistogramFamily::new_with_constructor(latency_histogram);
        let (pool_open, pool_idle, pool_in_use, pool_max, database_ready, database_reachable) =
            Default::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            durations.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Open database connections",
            Gauge::clone(&pool_open),
        );
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections",
            Gauge::clone(&pool_idle),
        );
        registry.register(
            "db_pool_in_use_connections",
            "Database connections in use",
            Gauge::clone(&pool_in_use),
        );
        registry.register(
            "db_pool_max_connections",
            "Largest number of database connections",
            Gauge::clone(&pool_max),
        );
        registry.register(
            "database_ready",
            "1 once the database is reachable and migrated, 0 before",
            Gauge::clone(&database_ready),
        );
        registry.register(
            "database_reachable",
            "1 while the database answers the API's checks (every second), 0 while it does not",
            Gauge::clone(&database_reachable),
        );
        Self {
            registry,
            requests,
            durations,
            pool_open,
            pool_idle,
            pool_in_use,
            pool_max,
            database_ready,
            database_reachable,
        }
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// Reads the gauges' current values and renders every metric.
    fn render(
        &self,
        pool: PoolStats,
        database_ready: bool,
        database_reachable: bool,
    ) -> Result<String, std::fmt::Error> {
        self.pool_open.set(i64::from(pool.size));
        self.pool_idle.set(i64::from(pool.idle));
        self.pool_in_use.set(i64::from(pool.in_use()));
        self.pool_max.set(i64::from(pool.max));
        self.database_ready.set(i64::from(database_ready));
        self.database_reachable.set(i64::from(database_reachable));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Prometheus metrics in the OpenMetrics text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Metrics in the OpenMetrics text format", body = String,
         content_type = "application/openmetrics-text"),
        (status = 500, description = "Metrics could not be rendered", body = super::error::ErrorBody),
    )
)]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, super::ApiError> {
    let text = state
        .metrics
        .render(
            state.store.pool_stats(),
            state.is_database_ready(),
            state.database_health.is_reachable(),
        )
        .map_err(|_| super::ApiError::Internal)?;
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).body(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names dashboards and alert rules may use are listed in bookstore-api/metrics.txt.
    #[test]
    fn the_exported_names_are_the_listed_ones() {
        let metrics = Metrics::new();
        metrics.observe_request("GET", "/healthz", 200, 0.001);
        let text = metrics
            .render(PoolStats::default(), true, true)
            .expect("render");
        let exported: std::collections::BTreeSet<&str> = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| line.split(['{', ' ']).next().unwrap_or_default())
            .collect();
        let listed: std::collections::BTreeSet<&str> = include_str!("../../metrics.txt")
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .collect();
        assert_eq!(
            exported, listed,
            "update bookstore-api/metrics.txt (and the dashboards)"
        );
    }
}
