//! Where a Bookstore's ready pods run: the zones of their nodes, reported as the `ZoneRedundant`
//! condition (a zone outage stops a Bookstore whose ready pods all sit in one zone).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::ResourceExt;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};

/// The label nodes carry their zone in.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// The ready pods, by zone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    /// Zone → ready pods in it.
    pub by_zone: BTreeMap<String, usize>,
    /// Ready pods whose node (or its zone) is not known.
    pub unplaced: usize,
}

impl Placement {
    /// Where the ready ones of `pods` run, `zone_of` telling a node's zone.
    pub fn of<'a>(
        pods: impl IntoIterator<Item = &'a Pod>,
        zone_of: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let mut placement = Self::default();
        for pod in pods.into_iter().filter(|pod| is_ready(pod)) {
            let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
            match node.and_then(&zone_of) {
                Some(zone) => *placement.by_zone.entry(zone).or_default() += 1,
                None => placement.unplaced += 1,
            }
        }
        placement
    }

    /// The condition's status ("True", "False", "Unknown"), reason and message.
    pub fn verdict(&self) -> (&'static str, &'static str, String) {
        let ready: usize = self.by_zone.values().sum::<usize>() + self.unplaced;
        let zones: BTreeSet<&str> = self.by_zone.keys().map(String::as_str).collect();
        let listing = self
            .by_zone
            .iter()
            .map(|(zone, pods)| format!("{zone}: {pods}"))
            .collect::<Vec<_>>()
            .join(", ");
        match (ready, zones.len()) {
            (0, _) => ("False", "NoReadyPods", "no API pod is ready".to_owned()),
            (_, n) if n >= 2 => (
                "True",
                "MultipleZones",
                format!("ready API pods in {n} zones ({listing})"),
            ),
            _ if self.unplaced > 0 => (
                "Unknown",
                "ZoneUnknown",
                format!(
                    "{} of {ready} ready API pods run on nodes without a {ZONE_LABEL} label (or not yet seen)",
                    self.unplaced
                ),
            ),
            (1, _) => (
                "False",
                "OneReadyPod",
                format!("one ready API pod ({listing}): a zone or node outage stops the Bookstore"),
            ),
            _ => (
                "False",
                "SingleZone",
                format!(
                    "all {ready} ready API pods run in one zone ({listing}): its outage stops the Bookstore"
                ),
            ),
        }
    }
}

/// A node's zone, from the nodes' metadata cache.
pub fn zone_of(nodes: &Store<PartialObjectMeta<Node>>, node: &str) -> Option<String> {
    nodes
        .get(&ObjectRef::new(node))?
        .labels()
        .get(ZONE_LABEL)
        .cloned()
}

fn is_ready(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(node: Option<&str>, ready: bool) -> Pod {
        serde_json::from_value(serde_json::json!({
            "spec": {"containers": [], "nodeName": node},
            "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
        }))
        .expect("pod")
    }

    fn zone(node: &str) -> Option<String> {
        match node {
            "a-1" | "a-2" => Some("zone-a".into()),
            "b-1" => Some("zone-b".into()),
            _ => None,
        }
    }

    fn verdict(pods: &[Pod]) -> (&'static str, &'static str, String) {
        Placement::of(pods, zone).verdict()
    }

    #[test]
    fn two_zones_are_redundant_one_is_not() {
        let spread = [
            pod(Some("a-1"), true),
            pod(Some("b-1"), true),
            pod(Some("b-1"), false),
        ];
        assert_eq!(
            verdict(&spread),
            (
                "True",
                "MultipleZones",
                "ready API pods in 2 zones (zone-a: 1, zone-b: 1)".to_owned()
            )
        );
        let one_zone = [
            pod(Some("a-1"), true),
            pod(Some("a-2"), true),
            pod(Some("b-1"), false),
        ];
        let (status, reason, message) = verdict(&one_zone);
        assert_eq!((status, reason), ("False", "SingleZone"));
        assert!(
            message.starts_with("all 2 ready API pods run in one zone (zone-a: 2)"),
            "{message}"
        );
        assert_eq!(verdict(&[pod(Some("b-1"), true)]).1, "OneReadyPod");
        assert_eq!(verdict(&[pod(Some("b-1"), false)]).1, "NoReadyPods");
        assert_eq!(verdict(&[]).1, "NoReadyPods");
    }

    #[test]
    fn a_node_without_a_zone_leaves_it_unknown_unless_two_zones_are_seen() {
        let unlabelled = [pod(Some("a-1"), true), pod(Some("x"), true)];
        assert_eq!(verdict(&unlabelled).0, "Unknown");
        let unscheduled = [pod(None, true), pod(Some("a-1"), true)];
        assert_eq!(verdict(&unscheduled).1, "ZoneUnknown");
        let enough = [
            pod(Some("a-1"), true),
            pod(Some("b-1"), true),
            pod(Some("x"), true),
        ];
        assert_eq!(verdict(&enough).0, "True");
    }
}
