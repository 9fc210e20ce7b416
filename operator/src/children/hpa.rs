//! HorizontalPodAutoscaler `<name>` (autoscaling/v2): only while autoscaling applies.

use k8s_openapi::api::autoscaling::v2::{
    ContainerResourceMetricSource, CrossVersionObjectReference, HorizontalPodAutoscaler,
    HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
};
use kube::ResourceExt;

use crate::crd::Bookstore;

pub fn horizontal_pod_autoscaler(bookstore: &Bookstore) -> Option<HorizontalPodAutoscaler> {
    let autoscaling = bookstore.autoscaling()?;
    Some(HorizontalPodAutoscaler {
        metadata: super::metadata(bookstore, bookstore.name_any()),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".to_owned()),
                kind: "Deployment".to_owned(),
                name: bookstore.name_any(),
            },
            min_replicas: Some(autoscaling.min_replicas),
            max_replicas: autoscaling.max_replicas,
            // The API container's CPU, not the pod's: the node-exporter sidecar's would count.
            metrics: Some(vec![MetricSpec {
                type_: "ContainerResource".to_owned(),
                container_resource: Some(ContainerResourceMetricSource {
                    container: super::API_CONTAINER.to_owned(),
                    name: "cpu".to_owned(),
                    target: MetricTarget {
                        type_: "Utilization".to_owned(),
                        average_utilization: Some(autoscaling.target_cpu_utilization_percentage),
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            }]),
            ..HorizontalPodAutoscalerSpec::default()
        }),
        ..HorizontalPodAutoscaler::default()
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{bookstore, with_database};
    use super::*;

    #[test]
    fn defaults_to_one_to_three_pods_at_70_percent_cpu() {
        let hpa = horizontal_pod_autoscaler(&bookstore(with_database())).expect("autoscaler");
        let spec = hpa.spec.expect("spec");
        assert_eq!((spec.min_replicas, spec.max_replicas), (Some(1), 3));
        assert_eq!(spec.scale_target_ref.name, "shop");
        let metrics = spec.metrics.expect("metrics");
        let source = metrics[0]
            .container_resource
            .as_ref()
            .expect("the api container's CPU, not the pod's");
        assert_eq!(
            (source.container.as_str(), source.name.as_str()),
            ("api", "cpu")
        );
        assert_eq!(source.target.average_utilization, Some(70));
    }

    #[test]
    fn absent_when_disabled_or_in_demo_mode() {
        let mut spec = with_database();
        spec["autoscaling"] = serde_json::json!({"enabled": false});
        assert!(horizontal_pod_autoscaler(&bookstore(spec)).is_none());
        assert!(
            horizontal_pod_autoscaler(&bookstore(serde_json::json!({"image": "img"}))).is_none()
        );
    }
}
