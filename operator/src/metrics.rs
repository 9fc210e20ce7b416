//! The operator's Prometheus metrics.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct VerbLabels {
    verb: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResourceLabels {
    resource: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReadyLabels {
    ready: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BookstoreLabels {
    namespace: String,
    name: String,
}

pub struct Metrics {
    registry: Registry,
    reconciliations: Family<ResultLabels, Counter>,
    failures: Family<ReasonLabels, Counter>,
    duration: Histogram,
    kube_requests: Family<VerbLabels, Counter>,
    bookstores: Family<ReadyLabels, Gauge>,
    bookstore_ready: Family<BookstoreLabels, Gauge>,
    watch_errors: Family<ResourceLabels, Counter>,
    leader: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("bookstore_operator");
        let reconciliations = Family::<ResultLabels, Counter>::default();
        let failures = Family::<ReasonLabels, Counter>::default();
        let duration = Histogram::new([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]);
        let kube_requests = Family::<VerbLabels, Counter>::default();
        let bookstores = Family::<ReadyLabels, Gauge>::default();
        let bookstore_ready = Family::<BookstoreLabels, Gauge>::default();
        let watch_errors = Family::<ResourceLabels, Counter>::default();
        let leader = Gauge::default();
        registry.register(
            "reconciliations",
            "Reconciliations, by result (success or error)",
            reconciliations.clone(),
        );
        registry.register(
            "reconcile_failures",
            "Failed reconciliations, by reason",
            failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconciliation took",
            duration.clone(),
        );
        registry.register(
            "kube_requests",
            "Requests to the Kubernetes API, by verb",
            kube_requests.clone(),
        );
        registry.register(
            "bookstores",
            "Bookstores managed, by Ready condition (true, false, unknown)",
            bookstores.clone(),
        );
        registry.register(
            "bookstore_ready",
            "1 while a Bookstore's Ready condition is True, else 0",
            bookstore_ready.clone(),
        );
        registry.register(
            "watch_errors",
            "Failed watch requests, by resource (retried with backoff)",
            watch_errors.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica leads (reconciles), else 0",
            leader.clone(),
        );
        Self {
            registry,
            reconciliations,
            failures,
            duration,
            kube_requests,
            bookstores,
            bookstore_ready,
            watch_errors,
            leader,
        }
    }
}

impl Metrics {
    pub fn observe_reconcile(&self, took: Duration, failure: Option<&'static str>) {
        self.duration.observe(took.as_secs_f64());
        let result = if failure.is_some() {
            "error"
        } else {
            "success"
        };
        self.reconciliations
            .get_or_create(&ResultLabels { result })
            .inc();
        if let Some(reason) = failure {
            self.failures.get_or_create(&ReasonLabels { reason }).inc();
        }
    }

    pub fn observe_kube_request(&self, verb: &str) {
        self.kube_requests
            .get_or_create(&VerbLabels {
                verb: verb.to_owned(),
            })
            .inc();
    }

    pub fn observe_watch_error(&self, resource: &str) {
        self.watch_errors
            .get_or_create(&ResourceLabels {
                resource: resource.to_owned(),
            })
            .inc();
    }

    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    pub fn is_leader(&self) -> bool {
        self.leader.get() == 1
    }

    /// Sets the readiness gauges from the Bookstores' current Ready conditions
    /// (`Some(true)`, `Some(false)`, or `None` before any status).
    pub fn set_bookstores<'a>(
        &self,
        readiness: impl IntoIterator<Item = (&'a str, &'a str, Option<bool>)>,
    ) {
        let (mut ready, mut not_ready, mut unknown) = (0, 0, 0);
        // Deleted Bookstores must disappear from the per-Bookstore gauge.
        self.bookstore_ready.clear();
        for (namespace, name, is_ready) in readiness {
            match is_ready {
                Some(true) => ready += 1,
                Some(false) => not_ready += 1,
                None => unknown += 1,
            }
            let labels = BookstoreLabels {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            };
            self.bookstore_ready
                .get_or_create(&labels)
                .set(i64::from(is_ready == Some(true)));
        }
        for (label, count) in [("true", ready), ("false", not_ready), ("unknown", unknown)] {
            self.bookstores
                .get_or_create(&ReadyLabels { ready: label })
                .set(count);
        }
    }

    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconciles_failures_and_requests_are_counted() {
        let metrics = Metrics::default();
        metrics.observe_reconcile(Duration::from_millis(20), None);
        metrics.observe_reconcile(Duration::from_millis(20), Some("DatabaseSecretNotFound"));
        metrics.observe_kube_request("patch");
        metrics.set_bookstores([
            ("books", "a", Some(true)),
            ("books", "b", Some(true)),
            ("books", "c", Some(false)),
        ]);
        let text = metrics.render().expect("render");
        for line in [
            r#"bookstore_operator_reconciliations_total{result="success"} 1"#,
            r#"bookstore_operator_reconciliations_total{result="error"} 1"#,
            r#"bookstore_operator_reconcile_failures_total{reason="DatabaseSecretNotFound"} 1"#,
            "bookstore_operator_reconcile_duration_seconds_count 2",
            r#"bookstore_operator_kube_requests_total{verb="patch"} 1"#,
            r#"bookstore_operator_bookstores{ready="true"} 2"#,
            r#"bookstore_operator_bookstore_ready{namespace="books",name="c"} 0"#,
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        metrics.set_bookstores([("books", "a", Some(true))]);
        assert!(
            !metrics.render().expect("render").contains(r#"name="c""#),
            "deleted Bookstores go"
        );
    }

    /// The names dashboards and alert rules may use are listed in operator/metrics.txt.
    #[test]
    fn the_exported_names_are_the_listed_ones() {
        let metrics = Metrics::default();
        metrics.observe_reconcile(Duration::from_millis(1), Some("X"));
        metrics.observe_kube_request("get");
        metrics.observe_watch_error("secrets");
        metrics.set_leader(true);
        metrics.set_bookstores([("n", "b", Some(true))]);
        let exported: std::collections::BTreeSet<String> = metrics
            .render()
            .expect("render")
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| line.split(['{', ' ']).next().unwrap_or_default().to_owned())
            .collect();
        let listed: std::collections::BTreeSet<String> = include_str!("../metrics.txt")
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(str::to_owned)
            .collect();
        assert_eq!(
            exported, listed,
            "update operator/metrics.txt (and the dashboards) with the names"
        );
    }
}
