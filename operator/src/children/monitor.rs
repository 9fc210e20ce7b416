//! PodMonitor `<name>` (prometheus-operator's `monitoring.coreos.com/v1`): with
//! `spec.monitoring.podMonitor.enabled`, for clusters whose Prometheus is run by prometheus-operator.
//! Typed here with the fields the operator sets (the rest of prometheus-operator's schema is
//! left to it).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::{CustomResource, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::deployment::{METRICS_PORT_NAME, NODE_METRICS_PORT_NAME};
use crate::crd::Bookstore;

/// The part of a PodMonitor's spec the operator sets.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "monitoring.coreos.com",
    version = "v1",
    kind = "PodMonitor",
    namespaced,
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct PodMonitorSpec {
    pub selector: LabelSelector,
    #[serde(default)]
    pub pod_metrics_endpoints: Vec<PodMetricsEndpoint>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodMetricsEndpoint {
    pub port: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
}

/// The API pods' metrics, and the sidecar's when it runs; labelled for the Prometheus that
/// selects PodMonitors by label (the operator's own labels win over the Bookstore's).
pub fn pod_monitor(bookstore: &Bookstore) -> Option<PodMonitor> {
    let monitoring = &bookstore.spec.monitoring;
    let settings = &monitoring.pod_monitor;
    if !settings.enabled {
        return None;
    }
    let mut metadata = super::metadata(bookstore, bookstore.name_any());
    let mut labels = settings.labels.clone();
    labels.extend(metadata.labels.take().unwrap_or_default());
    metadata.labels = Some(labels);
    let endpoint = |port: &str| PodMetricsEndpoint {
        port: port.to_owned(),
        path: Some(bookstore_contract::METRICS_PATH.to_owned()),
        interval: settings.interval.clone(),
    };
    let mut endpoints = vec![endpoint(METRICS_PORT_NAME)];
    if monitoring.node_exporter.enabled {
        endpoints.push(endpoint(NODE_METRICS_PORT_NAME));
    }
    Some(PodMonitor {
        metadata,
        spec: PodMonitorSpec {
            selector: LabelSelector {
                match_labels: Some(super::selector_labels(bookstore)),
                ..LabelSelector::default()
            },
            pod_metrics_endpoints: endpoints,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{bookstore, with_database};
    use super::*;

    #[test]
    fn only_when_asked_for_and_scraping_what_the_pods_serve() {
        assert!(
            pod_monitor(&bookstore(with_database())).is_none(),
            "off by default"
        );
        let mut spec = with_database();
        spec["monitoring"] = serde_json::json!({"podMonitor": {
            "enabled": true, "interval": "30s",
            "labels": {"release": "prometheus", "app.kubernetes.io/managed-by": "someone"}}});
        let monitor = pod_monitor(&bookstore(spec.clone())).expect("asked for");
        let labels = monitor.metadata.labels.clone().expect("labels");
        assert_eq!(
            labels["release"], "prometheus",
            "for the Prometheus' selector"
        );
        assert_eq!(
            labels["app.kubernetes.io/managed-by"], "bookstore-operator",
            "the operator's own labels win (its watch selects by them)"
        );
        assert_eq!(
            monitor
                .spec
                .selector
                .match_labels
                .as_ref()
                .expect("selector")["app.kubernetes.io/instance"],
            "shop"
        );
        let ports: Vec<_> = monitor
            .spec
            .pod_metrics_endpoints
            .iter()
            .map(|e| (e.port.as_str(), e.path.as_deref(), e.interval.as_deref()))
            .collect();
        assert_eq!(
            ports,
            [
                ("metrics", Some("/metrics"), Some("30s")),
                ("node-metrics", Some("/metrics"), Some("30s"))
            ]
        );
        spec["monitoring"]["nodeExporter"] = serde_json::json!({"enabled": false});
        let monitor = pod_monitor(&bookstore(spec)).expect("asked for");
        assert_eq!(
            monitor.spec.pod_metrics_endpoints.len(),
            1,
            "no sidecar, no endpoint for it"
        );
        let json = serde_json::to_value(&monitor).expect("json");
        assert_eq!(json["apiVersion"], "monitoring.coreos.com/v1");
        assert_eq!(json["kind"], "PodMonitor");
    }
}
