//! Service `<name>`: exposes the API pods.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use crate::crd::{Bookstore, ServiceType};

pub fn service(bookstore: &Bookstore) -> Service {
    let spec = &bookstore.spec.service;
    let mut metadata = super::metadata(bookstore, bookstore.name_any());
    if !spec.annotations.is_empty() {
        metadata.annotations = Some(spec.annotations.clone());
    }
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some(spec.type_.as_str().to_owned()),
            selector: Some(super::selector_labels(bookstore)),
            ports: Some(vec![ServicePort {
                name: Some("http".to_owned()),
                port: spec.port,
                target_port: Some(IntOrString::String("http".to_owned())),
                protocol: Some("TCP".to_owned()),
                // A ClusterIP Service has no node port.
                node_port: spec
                    .node_port
                    .filter(|_| spec.type_ != ServiceType::ClusterIP),
                ..ServicePort::default()
            }]),
            // A ClusterIP Service has no external traffic to route.
            external_traffic_policy: spec
                .external_traffic_policy
                .filter(|_| spec.type_ != ServiceType::ClusterIP)
                .map(|policy| policy.as_str().to_owned()),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::bookstore;
    use super::*;

    #[test]
    fn the_traffic_policy_applies_to_external_services_only() {
        let policy = |service_spec: serde_json::Value| {
            service(&bookstore(
                serde_json::json!({"image": "img", "service": service_spec}),
            ))
            .spec
            .and_then(|s| s.external_traffic_policy)
        };
        assert_eq!(
            policy(serde_json::json!({"externalTrafficPolicy": "Local"})).as_deref(),
            Some("Local")
        );
        assert_eq!(policy(serde_json::json!({})), None, "Kubernetes' default");
        assert_eq!(
            policy(serde_json::json!({"type": "ClusterIP", "externalTrafficPolicy": "Local"})),
            None
        );
    }

    #[test]
    fn a_fixed_node_port_applies_to_external_services_only() {
        let node_port = |service_spec: serde_json::Value| {
            service(&bookstore(
                serde_json::json!({"image": "img", "service": service_spec}),
            ))
            .spec
            .and_then(|s| s.ports)
            .and_then(|ports| ports[0].node_port)
        };
        assert_eq!(
            node_port(serde_json::json!({"type": "NodePort", "nodePort": 30080})),
            Some(30080)
        );
        assert_eq!(node_port(serde_json::json!({"type": "NodePort"})), None);
        assert_eq!(
            node_port(serde_json::json!({"type": "ClusterIP", "nodePort": 30080})),
            None
        );
    }

    #[test]
    fn defaults_to_a_load_balancer_on_port_80() {
        let spec = service(&bookstore(serde_json::json!({"image": "img"})))
            .spec
            .expect("spec");
        assert_eq!(spec.type_.as_deref(), Some("LoadBalancer"));
        let port = &spec.ports.expect("ports")[0];
        assert_eq!(
            (port.port, port.target_port.clone()),
            (80, Some(IntOrString::String("http".into())))
        );
        assert_eq!(
            spec.selector.expect("selector")["app.kubernetes.io/instance"],
            "shop"
        );
    }

    #[test]
    fn takes_type_port_and_annotations_from_the_spec() {
        let svc = service(&bookstore(serde_json::json!({
            "image": "img",
            "service": {"type": "ClusterIP", "port": 8081,
                        "annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}}
        })));
        let annotations = svc.metadata.annotations.expect("annotations");
        assert_eq!(
            annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"],
            "internal"
        );
        let spec = svc.spec.expect("spec");
        assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
        assert_eq!(spec.ports.expect("ports")[0].port, 8081);
    }
}
