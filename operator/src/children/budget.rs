//! PodDisruptionBudget `<name>` (policy/v1): only for a Bookstore that can run more than one pod.

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use crate::crd::Bookstore;

/// A drain or a node upgrade evicts one API pod at a time: the others keep serving while its
/// replacement starts. One at a time, whatever the count, so a Bookstore an autoscaler has taken
/// down to one pod can still be drained. Pods that are not ready may always be evicted: a
/// crash-looping pod must not hold a node drain up.
pub fn pod_disruption_budget(bookstore: &Bookstore) -> Option<PodDisruptionBudget> {
    let most_pods = bookstore
        .autoscaling()
        .map_or_else(|| bookstore.fixed_replicas(), |a| a.max_replicas);
    (most_pods > 1).then(|| PodDisruptionBudget {
        metadata: super::metadata(bookstore, bookstore.name_any()),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(super::selector_labels(bookstore)),
                ..LabelSelector::default()
            }),
            unhealthy_pod_eviction_policy: Some("AlwaysAllow".to_owned()),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{bookstore, with_database};
    use super::*;

    #[test]
    fn one_pod_at_a_time_for_bookstores_that_can_run_more_than_one() {
        let budget = pod_disruption_budget(&bookstore(with_database())).expect("a budget");
        let spec = budget.spec.expect("spec");
        assert_eq!(spec.max_unavailable, Some(IntOrString::Int(1)));
        assert_eq!(spec.min_available, None);
        assert_eq!(
            spec.selector.and_then(|s| s.match_labels),
            Some(crate::children::selector_labels(
                &bookstore(with_database())
            ))
        );
        assert_eq!(
            spec.unhealthy_pod_eviction_policy.as_deref(),
            Some("AlwaysAllow")
        );

        let mut fixed = with_database();
        fixed["autoscaling"] = serde_json::json!({"enabled": false});
        fixed["replicas"] = serde_json::json!(1);
        assert!(
            pod_disruption_budget(&bookstore(fixed.clone())).is_none(),
            "one pod"
        );
        fixed["replicas"] = serde_json::json!(2);
        assert!(pod_disruption_budget(&bookstore(fixed)).is_some());
        let demo = serde_json::json!({"image": "img", "replicas": 3});
        assert!(
            pod_disruption_budget(&bookstore(demo)).is_none(),
            "an embedded database runs one pod"
        );
    }
}
