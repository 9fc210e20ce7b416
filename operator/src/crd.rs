//! The `Bookstore` custom resource: spec, status, defaults and validation rules.
//!
//! Defaults are declared once, through serde, so they land in the CRD schema (applied by the API
//! server) and apply the same way when `render` reads a file without a cluster.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, LocalObjectReference, ResourceRequirements, Toleration,
    TopologySpreadConstraint,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, CustomResourceExt, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::rules;

pub const GROUP: &str = "bookstore.dev";
pub const DEFAULT_NODE_EXPORTER_IMAGE: &str = "quay.io/prometheus/node-exporter:v1.9.1";

/// A bookstore API deployment: the `bookstore-api` image run as a Deployment with a Service, an
/// optional HorizontalPodAutoscaler, a Prometheus node-exporter sidecar and, with an external
/// database, a Secret holding its connection settings.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "bookstore.dev",
    version = "v1alpha1",
    kind = "Bookstore",
    plural = "bookstores",
    shortname = "bks",
    category = "bookstore",
    namespaced,
    status = "BookstoreStatus",
    doc = "A bookstore: the bookstore-api service, its scaling, exposure, database and monitoring.",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","description":"Why the Bookstore is (not) ready","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Replicas","type":"string","description":"Ready/desired API pods","jsonPath":".status.replicasReady"}"#,
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".status.url"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Message","type":"string","priority":1,"jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    validation = rules::NAME_IS_DNS_LABEL.to_rule()
)]
#[x_kube(validation = rules::REPLICAS_WITHIN_AUTOSCALING.to_rule())]
#[x_kube(validation = rules::AUTOSCALING_NEEDS_CPU_REQUEST.to_rule())]
#[x_kube(validation = rules::PUBLIC_WRITES_NEED_A_DECISION.to_rule())]
#[x_kube(validation = rules::DATABASE_STAYS.to_rule())]
#[serde(rename_all = "camelCase")]
pub struct BookstoreSpec {
    /// The bookstore-api container image, e.g. `ghcr.io/example/bookstore-api:0.1.0`.
    #[schemars(length(min = 1))]
    pub image: String,

    /// When the kubelet pulls the image.
    #[serde(default)]
    pub image_pull_policy: PullPolicy,

    /// Secrets for pulling the image from a private registry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,

    /// Starting number of API pods with autoscaling, or the fixed number without it. Ignored
    /// (one pod) when no `database` is set. With autoscaling it must lie within
    /// `[minReplicas, maxReplicas]`.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 0, max = 100))]
    pub replicas: i32,

    /// Horizontal pod autoscaling on CPU (only with an external `database`).
    #[serde(default)]
    pub autoscaling: Autoscaling,

    /// How the API is exposed.
    #[serde(default)]
    pub service: ServiceSpec,

    /// Who may change the catalogue. Reads are always public; writes (POST, PUT, PATCH, DELETE)
    /// need a bearer token once `writeTokenSecretRef` names one. A Bookstore with a database
    /// behind a LoadBalancer must name a token Secret or set `openWrites: true`.
    #[serde(default)]
    pub auth: Auth,

    /// Requests per minute each client address may make (the API's defaults when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,

    /// The external MySQL database (e.g. Amazon RDS). Without it the API keeps its data in an
    /// embedded SQLite file inside the pod: a demo mode with one replica, no autoscaling and no
    /// durability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseSpec>,

    /// Metrics and monitoring.
    #[serde(default)]
    pub monitoring: Monitoring,

    /// Compute resources of the API container. The CPU request is what the autoscaler's
    /// utilisation target is measured against, so autoscaling needs one.
    #[serde(default = "default_resources")]
    pub resources: ResourceRequirements,

    /// Extra environment variables for the API container (e.g. DB_SSL_MODE, TRUSTED_PROXIES,
    /// CORS_ALLOWED_ORIGINS); not the ones the operator sets from the rest of the spec.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    #[x_kube(validation = rules::ENV_NOT_RESERVED.to_rule())]
    pub env: Vec<EnvVar>,

    /// Annotations added to the API pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_annotations: BTreeMap<String, String>,

    /// Node labels the API pods must match.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,

    /// Taints the API pods tolerate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,

    /// Scheduling affinity of the API pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,

    /// How the API pods spread over the cluster. Unset: as evenly as the nodes allow over zones
    /// (`topology.kubernetes.io/zone`), then over nodes, never blocking scheduling; an empty list
    /// turns spreading off. Each constraint's `labelSelector` defaults to this Bookstore's pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_spread_constraints: Option<Vec<TopologySpreadConstraint>>,

    /// Seconds a rollout may go without progress before the Bookstore reports it stuck
    /// (`RolloutStuck`). Unset: the Deployment's default, 600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 86400))]
    pub progress_deadline_seconds: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum PullPolicy {
    Always,
    #[default]
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "Always",
            Self::IfNotPresent => "IfNotPresent",
            Self::Never => "Never",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(validation = rules::MAX_AT_LEAST_MIN.to_rule())]
#[serde(rename_all = "camelCase")]
pub struct Autoscaling {
    /// Scale the API between minReplicas and maxReplicas on CPU utilisation.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Fewest API pods.
    #[serde(default = "default_min_replicas")]
    #[schemars(range(min = 1, max = 100))]
    pub min_replicas: i32,
    /// Most API pods.
    #[serde(default = "default_max_replicas")]
    #[schemars(range(min = 1, max = 100))]
    pub max_replicas: i32,
    /// Average CPU utilisation (percent of the CPU request) the autoscaler aims for.
    #[serde(default = "default_cpu_target")]
    #[serde(rename = "targetCPUUtilizationPercentage")]
    #[schemars(range(min = 1, max = 100))]
    pub target_cpu_utilization_percentage: i32,
}

impl Default for Autoscaling {
    fn default() -> Self {
        Self {
            enabled: true,
            min_replicas: default_min_replicas(),
            max_replicas: default_max_replicas(),
            target_cpu_utilization_percentage: default_cpu_target(),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    /// Service type.
    #[serde(default, rename = "type")]
    pub type_: ServiceType,
    /// Port the Service listens on (the API itself listens on 8080).
    #[serde(default = "default_service_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// Annotations of the Service, e.g. for the AWS Load Balancer Controller.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// For LoadBalancer and NodePort: `Local` keeps the clients' addresses (so that rate limits
    /// apply per client) by sending traffic only to nodes running an API pod; `Cluster` (the
    /// Kubernetes default) spreads it over every node but the API sees node addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_traffic_policy: Option<TrafficPolicy>,
    /// For NodePort and LoadBalancer: a fixed node port (30000-32767), e.g. for a load balancer
    /// made outside Kubernetes whose target group names the port; unset, Kubernetes picks one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 30000, max = 32767))]
    pub node_port: Option<i32>,
}

impl Default for ServiceSpec {
    fn default() -> Self {
        Self {
            type_: ServiceType::default(),
            port: default_service_port(),
            annotations: BTreeMap::new(),
            external_traffic_policy: None,
            node_port: None,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum TrafficPolicy {
    Cluster,
    Local,
}

impl TrafficPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cluster => "Cluster",
            Self::Local => "Local",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(validation = rules::ONE_WAY_TO_WRITE.to_rule())]
#[serde(rename_all = "camelCase")]
pub struct Auth {
    /// The write token(s): a key of a Secret in the Bookstore's namespace, one token per line,
    /// each at least 16 characters. Mounted into the API pods, which re-read it when it changes;
    /// the pods also roll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_token_secret_ref: Option<SecretKeyRef>,
    /// Let anyone who reaches the API write, on purpose (the API logs a warning).
    #[serde(default)]
    pub open_writes: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Writes per minute per client address (the API's default: 60); 0 lifts the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000000))]
    pub writes_per_minute: Option<i32>,
    /// Reads of /api/ per minute per client address (the API's default: 1200); 0 lifts the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000000))]
    pub reads_per_minute: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ServiceType {
    #[default]
    LoadBalancer,
    ClusterIP,
    NodePort,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoadBalancer => "LoadBalancer",
            Self::ClusterIP => "ClusterIP",
            Self::NodePort => "NodePort",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseSpec {
    /// MySQL host name, e.g. the RDS endpoint.
    #[schemars(length(min = 1, max = 253))]
    pub host: String,
    /// MySQL port.
    #[serde(default = "default_database_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// Database (schema) name.
    #[schemars(length(min = 1, max = 64))]
    pub name: String,
    /// User the API connects as.
    #[schemars(length(min = 1, max = 80))]
    pub user: String,
    /// Where the password is: a key of a Secret in the Bookstore's namespace.
    pub password_secret_ref: SecretKeyRef,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key within the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Monitoring {
    /// The Prometheus node-exporter sidecar.
    #[serde(default)]
    pub node_exporter: NodeExporter,
    /// A prometheus-operator PodMonitor for the pods (needs its CRD, monitoring.coreos.com/v1).
    #[serde(default)]
    pub pod_monitor: PodMonitorSettings,
}

/// A PodMonitor `<name>` scraping the API's and the sidecar's metrics, for a Prometheus run by
/// prometheus-operator. The cluster must serve its CRD when the operator starts.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodMonitorSettings {
    /// Make the PodMonitor.
    #[serde(default)]
    pub enabled: bool,
    /// Labels on the PodMonitor, for the Prometheus' podMonitorSelector (e.g. release: prometheus).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Scrape interval, such as 30s [default: the Prometheus' own].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]+(ms|s|m|h)$"))]
    pub interval: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(validation = rules::NODE_EXPORTER_PORT_FREE.to_rule())]
#[serde(rename_all = "camelCase")]
pub struct NodeExporter {
    /// Run node-exporter beside each API container.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// node-exporter image (pinned).
    #[serde(default = "default_node_exporter_image")]
    #[schemars(length(min = 1))]
    pub image: String,
    /// Port node-exporter serves metrics on.
    #[serde(default = "default_node_exporter_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
}

impl Default for NodeExporter {
    fn default() -> Self {
        Self {
            enabled: true,
            image: default_node_exporter_image(),
            port: default_node_exporter_port(),
        }
    }
}

/// What the operator observed and did.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookstoreStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Progressing` and `Degraded`, following the Kubernetes API conventions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// API pods wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// API pods ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// `ready/desired`, for `kubectl get`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas_ready: Option<String>,
    /// Where the API answers: the load balancer's address once assigned, otherwise the
    /// in-cluster DNS name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `external` (MySQL) or `embedded` (SQLite demo mode: one replica, no autoscaling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

fn yes() -> bool {
    true
}
fn default_replicas() -> i32 {
    2
}
fn default_min_replicas() -> i32 {
    1
}
fn default_max_replicas() -> i32 {
    3
}
fn default_cpu_target() -> i32 {
    70
}
fn default_service_port() -> i32 {
    80
}
fn default_database_port() -> i32 {
    3306
}
fn default_node_exporter_image() -> String {
    DEFAULT_NODE_EXPORTER_IMAGE.to_owned()
}
fn default_node_exporter_port() -> i32 {
    9100
}

fn default_resources() -> ResourceRequirements {
    resources(
        &[("cpu", "100m"), ("memory", "64Mi")],
        &[("memory", "256Mi")],
    )
}

/// Resource requests and limits from (name, quantity) pairs.
pub fn resources(requests: &[(&str, &str)], limits: &[(&str, &str)]) -> ResourceRequirements {
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    let quantities = |pairs: &[(&str, &str)]| {
        Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Quantity((*v).to_owned())))
                .collect::<BTreeMap<_, _>>(),
        )
    };
    ResourceRequirements {
        requests: quantities(requests),
        limits: quantities(limits),
        ..ResourceRequirements::default()
    }
}

/// The version etcd stores Bookstores in. When `v1beta1` comes (operator/API-VERSIONS.md), it is
/// added to `served_versions` first, and becomes the storage version one release later.
pub const STORAGE_VERSION: &str = "v1alpha1";

/// One CRD per served version, each generated from its own Rust types.
fn served_versions() -> Vec<CustomResourceDefinition> {
    vec![Bookstore::crd()]
}

/// The CRD as installed: every served version, `STORAGE_VERSION` the stored one, with
/// descriptions made for `kubectl explain` (the line breaks of wrapped doc comments are not kept).
pub fn definition() -> Result<CustomResourceDefinition, kube::core::crd::MergeError> {
    definition_of(served_versions(), STORAGE_VERSION)
}

/// The CRD of these versions (one CRD each, as `CustomResourceExt::crd` makes them).
pub fn definition_of(
    versions: Vec<CustomResourceDefinition>,
    storage: &str,
) -> Result<CustomResourceDefinition, kube::core::crd::MergeError> {
    let mut crd = kube::core::crd::merge_crds(versions, storage)?;
    for version in &mut crd.spec.versions {
        if let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        {
            let mut value = serde_json::to_value(&*schema).unwrap_or_default();
            unwrap_descriptions(&mut value);
            if let Ok(unwrapped) = serde_json::from_value(value) {
                *schema = unwrapped;
            }
        }
    }
    Ok(crd)
}

/// Joins the lines of every `description` into one paragraph per blank-line-separated block.
fn unwrap_descriptions(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match child {
                    serde_json::Value::String(text) if key == "description" => {
                        *text = unwrap_lines(text);
                    }
                    _ => unwrap_descriptions(child),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

fn unwrap_lines(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| paragraph.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

impl Bookstore {
    /// The external database, if any: without one the API runs in demo mode.
    pub fn database(&self) -> Option<&DatabaseSpec> {
        self.spec.database.as_ref()
    }

    /// Autoscaling applies only with an external database (SQLite cannot be shared by pods).
    pub fn autoscaling(&self) -> Option<&Autoscaling> {
        (self.spec.autoscaling.enabled && self.database().is_some())
            .then_some(&self.spec.autoscaling)
    }

    /// The Secret keys this Bookstore reads: the database password and the write token.
    pub fn secret_refs(&self) -> impl Iterator<Item = &SecretKeyRef> {
        self.database()
            .map(|database| &database.password_secret_ref)
            .into_iter()
            .chain(self.spec.auth.write_token_secret_ref.as_ref())
    }

    /// Pods to run when no autoscaler decides.
    pub fn fixed_replicas(&self) -> i32 {
        if self.database().is_some() {
            self.spec.replicas
        } else {
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the next version will look like to `definition_of`: a type of its own.
    mod next {
        use kube::CustomResource;
        use schemars::JsonSchema;
        use serde::{Deserialize, Serialize};

        #[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
        #[kube(
            group = "bookstore.dev",
            version = "v1beta1",
            kind = "Bookstore",
            namespaced
        )]
        pub struct BookstoreSpec {
            /// The image.
            pub image: String,
        }
    }

    #[test]
    fn a_second_version_is_served_beside_the_stored_one() {
        use kube::CustomResourceExt;
        let crd = definition_of(
            vec![Bookstore::crd(), next::Bookstore::crd()],
            STORAGE_VERSION,
        )
        .expect("merged");
        let versions: Vec<(&str, bool, bool)> = crd
            .spec
            .versions
            .iter()
            .map(|v| (v.name.as_str(), v.served, v.storage))
            .collect();
        assert_eq!(
            versions,
            [("v1alpha1", true, true), ("v1beta1", true, false)]
        );
        let stored_elsewhere = definition_of(vec![Bookstore::crd()], "v1beta1");
        assert!(
            stored_elsewhere.is_err(),
            "the stored version must be served"
        );
        assert_eq!(
            definition().expect("merged").spec.versions.len(),
            1,
            "only v1alpha1 today"
        );
    }
}
