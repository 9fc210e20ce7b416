//! Deployment `<name>`: the API container and, when enabled, the node-exporter sidecar.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    HTTPGetAction, KeyToPath, Lifecycle, LifecycleHandler, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, SeccompProfile, SecretKeySelector, SecretVolumeSource, SecurityContext,
    SleepAction, TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use bookstore_contract::{self as contract, env};

use crate::crd::{Bookstore, DatabaseSpec, NodeExporter, SecretKeyRef};

/// The API's container in the pod (the autoscaler measures its CPU alone).
pub const API_CONTAINER: &str = "api";
/// The port bookstore-api listens on (as Kubernetes types it).
pub const API_PORT: i32 = contract::API_PORT as i32;
/// Its probes and metrics (`METRICS_ADDR`): apart from the API, so that the Service, which
/// publishes `API_PORT` only, does not put them on the load balancer.
pub const API_METRICS_PORT: i32 = contract::API_METRICS_PORT as i32;
/// A terminating pod keeps serving this long before it is told to stop: the time the endpoint
/// controller and every node's kube-proxy take to send new connections elsewhere.
const PRE_STOP_SECONDS: i64 = 5;
/// Pod-template annotation with the keyed digest of the database password: a new password rolls
/// the pods (environment variables are read once, at start).
pub const DB_PASSWORD_DIGEST_ANNOTATION: &str = "bookstore.dev/db-password-hmac-sha256";
/// Pod-template annotation with the keyed digest of the write tokens: new tokens roll the pods
/// (which also re-read the mounted file on their own).
pub const WRITE_TOKENS_DIGEST_ANNOTATION: &str = "bookstore.dev/write-tokens-hmac-sha256";
/// Where the API reads its write tokens: the referenced key of the token Secret, mounted.
pub const WRITE_TOKEN_FILE: &str = "/etc/bookstore/auth/write-tokens";
/// The names of the pods' metrics ports (the PodMonitor scrapes them by name).
pub(super) const METRICS_PORT_NAME: &str = "metrics";
pub(super) const NODE_METRICS_PORT_NAME: &str = "node-metrics";
const WRITE_TOKEN_VOLUME: &str = "write-tokens";
const WRITE_TOKEN_DIR: &str = "/etc/bookstore/auth";
const WRITE_TOKEN_FILE_NAME: &str = "write-tokens";
/// The non-root user the pods run as (the images' user).
const RUN_AS_USER: i64 = 65532;
const DATA_VOLUME: &str = "data";
const DATA_DIR: &str = "/data";

/// A key of the user's Secret that the pods read, and the keyed digest of its value (`None` in
/// `render`, which has no cluster to read it from).
#[derive(Debug, Clone)]
pub struct Referenced<'a> {
    pub reference: &'a SecretKeyRef,
    pub digest: Option<String>,
}

/// `password`: the database password's reference (the pods read the user's Secret themselves),
/// with an external database; `write_tokens`: the write tokens', with
/// `spec.auth.writeTokenSecretRef`.
pub fn deployment(
    bookstore: &Bookstore,
    password: Option<Referenced<'_>>,
    write_tokens: Option<Referenced<'_>>,
) -> Deployment {
    let spec = &bookstore.spec;
    let database = bookstore.database();
    let mut containers = vec![api_container(bookstore, database, write_tokens.is_some())];
    if spec.monitoring.node_exporter.enabled {
        containers.push(node_exporter_container(&spec.monitoring.node_exporter));
    }
    let mut volumes = Vec::new();
    // Without an external database the API writes SQLite to a scratch volume: the root file
    // system stays read-only.
    if database.is_none() {
        volumes.push(Volume {
            name: DATA_VOLUME.to_owned(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        });
    }
    // The user's Secret itself, mounted (not copied): the kubelet refreshes the file when the
    // Secret changes, and the API re-reads it.
    if let Some(Referenced { reference, .. }) = &write_tokens {
        volumes.push(Volume {
            name: WRITE_TOKEN_VOLUME.to_owned(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(reference.name.clone()),
                items: Some(vec![KeyToPath {
                    key: reference.key.clone(),
                    path: WRITE_TOKEN_FILE_NAME.to_owned(),
                    mode: None,
                }]),
                // Readable by the pod's group (fsGroup) only.
                default_mode: Some(0o440),
                optional: Some(false),
            }),
            ..Volume::default()
        });
    }
    Deployment {
        metadata: super::metadata(bookstore, bookstore.name_any()),
        spec: Some(DeploymentSpec {
            // With autoscaling the HorizontalPodAutoscaler owns the count.
            replicas: bookstore
                .autoscaling()
                .is_none()
                .then(|| bookstore.fixed_replicas()),
            selector: LabelSelector {
                match_labels: Some(super::selector_labels(bookstore)),
                ..LabelSelector::default()
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".to_owned()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString::Int(0)),
                    max_surge: Some(IntOrString::Int(1)),
                }),
            }),
            revision_history_limit: Some(5),
            progress_deadline_seconds: spec.progress_deadline_seconds,
            // A new pod counts as available (and an old one goes) only after staying ready this
            // long: a pod that passes one probe and then crashes does not carry a rollout.
            min_ready_seconds: Some(MIN_READY_SECONDS),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(super::labels(bookstore)),
                    annotations: Some(pod_annotations(bookstore, password, write_tokens)),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers,
                    volumes: non_empty(volumes),
                    automount_service_account_token: Some(false),
                    // Service links put every Service of the namespace into the environment:
                    // one named `db` would set DB_PORT=tcp://..., which the API cannot parse.
                    enable_service_links: Some(false),
                    // The pre-stop wait, then the API's own drain (its connections closing, then
                    // what is in flight: SHUTDOWN_TIMEOUT_SECS, 30 s at most).
                    termination_grace_period_seconds: Some(45),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(RUN_AS_USER),
                        run_as_group: Some(RUN_AS_USER),
                        fs_group: Some(RUN_AS_USER),
                        seccomp_profile: Some(runtime_default_seccomp()),
                        ..PodSecurityContext::default()
                    }),
                    image_pull_secrets: non_empty(spec.image_pull_secrets.clone()),
                    node_selector: (!spec.node_selector.is_empty())
                        .then(|| spec.node_selector.clone()),
                    tolerations: non_empty(spec.tolerations.clone()),
                    affinity: spec.affinity.clone(),
                    topology_spread_constraints: non_empty(topology_spread(bookstore)),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

/// Seconds a new pod must stay ready before it counts as available.
pub const MIN_READY_SECONDS: i32 = 5;

/// The Bookstore's spreading, or by default: over zones, then nodes, as evenly as they allow but
/// never blocking scheduling (`ScheduleAnyway`: a one-zone cluster still runs every pod). A
/// constraint without a `labelSelector` gets this Bookstore's pods.
fn topology_spread(bookstore: &Bookstore) -> Vec<TopologySpreadConstraint> {
    let own_pods = LabelSelector {
        match_labels: Some(super::selector_labels(bookstore)),
        ..LabelSelector::default()
    };
    let by = |topology_key: &str| TopologySpreadConstraint {
        topology_key: topology_key.to_owned(),
        max_skew: 1,
        when_unsatisfiable: "ScheduleAnyway".to_owned(),
        label_selector: None,
        ..TopologySpreadConstraint::default()
    };
    let constraints = bookstore
        .spec
        .topology_spread_constraints
        .clone()
        .unwrap_or_else(|| vec![by(ZONE_LABEL), by(HOST_LABEL)]);
    constraints
        .into_iter()
        .map(|constraint| TopologySpreadConstraint {
            label_selector: constraint.label_selector.clone().or(Some(own_pods.clone())),
            ..constraint
        })
        .collect()
}

const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
const HOST_LABEL: &str = "kubernetes.io/hostname";

/// With autoscaling, the Deployment is applied without `replicas` (the autoscaler owns it). While
/// it stands as created (generation 1, never scaled, no count given: right after creating it, or
/// later if that patch failed), this patch, applied as `REPLICAS_MANAGER`, gives it the starting
/// count `spec.replicas`; the autoscaler takes over from there.
pub fn initial_replicas(bookstore: &Bookstore, current: &Deployment) -> Option<serde_json::Value> {
    bookstore.autoscaling()?;
    let wanted = bookstore.spec.replicas;
    let fresh = current.metadata.generation == Some(1);
    // Made autoscaled and never given its count: neither manager holds `spec.replicas` (the
    // API server's default of one pod is nobody's). Not a Deployment made with a fixed count and
    // switched to autoscaling: the handover holds its count, which must not jump.
    let never_counted = !applies_replicas(current, super::MANAGER)
        && !applies_replicas(current, super::REPLICAS_MANAGER);
    let replicas = current.spec.as_ref().and_then(|s| s.replicas);
    (fresh && never_counted && replicas != Some(wanted))
        .then(|| replicas_only(bookstore, current, wanted))
}

/// Autoscaling was switched on while the main field manager still owns `spec.replicas`: applied
/// as `REPLICAS_MANAGER` before the main apply drops the field, this patch keeps the current
/// count (without it the API server would remove the field and the Deployment fall to one pod).
/// The autoscaler's first scaling takes the field over from `REPLICAS_MANAGER`.
pub fn replicas_handover(bookstore: &Bookstore, current: &Deployment) -> Option<serde_json::Value> {
    bookstore.autoscaling()?;
    let count = current.spec.as_ref()?.replicas?;
    applies_replicas(current, super::MANAGER).then(|| replicas_only(bookstore, current, count))
}

/// Whether `manager` owns `spec.replicas` through server-side apply.
pub fn applies_replicas(deployment: &Deployment, manager: &str) -> bool {
    deployment
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|entry| {
            entry.manager.as_deref() == Some(manager) && entry.operation.as_deref() == Some("Apply")
        })
        .filter_map(|entry| entry.fields_v1.as_ref())
        .any(|fields| fields.0["f:spec"].get("f:replicas").is_some())
}

/// An apply configuration holding nothing but the count: its manager must own nothing else. It
/// names the resource version the count was decided on: decided on a stale cache (the
/// autoscaler scaled since), the API server refuses it (409) and the next reconcile decides again.
fn replicas_only(bookstore: &Bookstore, current: &Deployment, count: i32) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": bookstore.name_any(),
            "namespace": bookstore.namespace(),
            "resourceVersion": current.metadata.resource_version,
        },
        "spec": {"replicas": count},
    })
}

fn api_container(
    bookstore: &Bookstore,
    database: Option<&DatabaseSpec>,
    write_token: bool,
) -> Container {
    let spec = &bookstore.spec;
    let mut env = vec![
        env_var(env::BIND_ADDR, &format!("0.0.0.0:{API_PORT}")),
        env_var(env::METRICS_ADDR, &format!("0.0.0.0:{API_METRICS_PORT}")),
        env_var(env::LOG_FORMAT, "json"),
    ];
    let mut mounts = Vec::new();
    if let Some(database) = database {
        env.extend(database_env(database));
    } else {
        env.push(env_var(
            env::SQLITE_PATH,
            &format!("{DATA_DIR}/bookstore.db"),
        ));
        mounts.push(VolumeMount {
            name: DATA_VOLUME.to_owned(),
            mount_path: DATA_DIR.to_owned(),
            ..VolumeMount::default()
        });
    }
    if write_token {
        env.push(env_var(env::API_WRITE_TOKENS_FILE, WRITE_TOKEN_FILE));
        mounts.push(VolumeMount {
            name: WRITE_TOKEN_VOLUME.to_owned(),
            mount_path: WRITE_TOKEN_DIR.to_owned(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
    if let Some(limit) = &spec.rate_limit {
        for (name, value) in [
            (env::RATE_LIMIT_WRITES_PER_MINUTE, limit.writes_per_minute),
            (env::RATE_LIMIT_READS_PER_MINUTE, limit.reads_per_minute),
        ] {
            if let Some(value) = value {
                env.push(env_var(name, &value.to_string()));
            }
        }
    }
    let probe = |path: &str, period: i32, failures: i32| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::String(METRICS_PORT_NAME.to_owned()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(3),
        failure_threshold: Some(failures),
        ..Probe::default()
    };
    Container {
        name: API_CONTAINER.to_owned(),
        image: Some(spec.image.clone()),
        image_pull_policy: Some(spec.image_pull_policy.as_str().to_owned()),
        // A container that exits on bad configuration says why on stderr: its last log line
        // becomes the termination message the status quotes (`problems::pod_problem`).
        termination_message_policy: Some("FallbackToLogsOnError".to_owned()),
        ports: Some(vec![
            ContainerPort {
                name: Some("http".to_owned()),
                container_port: API_PORT,
                protocol: Some("TCP".to_owned()),
                ..ContainerPort::default()
            },
            ContainerPort {
                name: Some(METRICS_PORT_NAME.to_owned()),
                container_port: API_METRICS_PORT,
                protocol: Some("TCP".to_owned()),
                ..ContainerPort::default()
            },
        ]),
        env: Some(merge_env(env, &spec.env)),
        liveness_probe: Some(probe(contract::HEALTHZ_PATH, 10, 3)),
        // Often: a new pod takes traffic, and a rollout moves on, soon after it is ready.
        readiness_probe: Some(probe(contract::READYZ_PATH, 2, 2)),
        // Native sleep (Kubernetes 1.33+): the image has no shell.
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                sleep: Some(SleepAction {
                    seconds: PRE_STOP_SECONDS,
                }),
                ..LifecycleHandler::default()
            }),
            ..Lifecycle::default()
        }),
        resources: Some(spec.resources.clone()),
        security_context: Some(restricted_security_context()),
        volume_mounts: non_empty(mounts),
        ..Container::default()
    }
}

fn node_exporter_container(exporter: &NodeExporter) -> Container {
    Container {
        name: "node-exporter".to_owned(),
        image: Some(exporter.image.clone()),
        args: Some(vec![format!("--web.listen-address=:{}", exporter.port)]),
        ports: Some(vec![ContainerPort {
            name: Some(NODE_METRICS_PORT_NAME.to_owned()),
            container_port: exporter.port,
            protocol: Some("TCP".to_owned()),
            ..ContainerPort::default()
        }]),
        resources: Some(crate::crd::resources(
            &[("cpu", "10m"), ("memory", "16Mi")],
            &[("memory", "64Mi")],
        )),
        security_context: Some(restricted_security_context()),
        ..Container::default()
    }
}

/// The connection settings, and the password from the user's own Secret: the operator copies it
/// nowhere, and needs no write access to Secrets.
fn database_env(database: &DatabaseSpec) -> Vec<EnvVar> {
    let reference = &database.password_secret_ref;
    vec![
        env_var(env::DB_HOST, &database.host),
        env_var(env::DB_PORT, &database.port.to_string()),
        env_var(env::DB_NAME, &database.name),
        env_var(env::DB_USER, &database.user),
        EnvVar {
            name: env::DB_PASSWORD.to_owned(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: reference.name.clone(),
                    key: reference.key.clone(),
                    optional: Some(false),
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        },
    ]
}

fn pod_annotations(
    bookstore: &Bookstore,
    password: Option<Referenced<'_>>,
    write_tokens: Option<Referenced<'_>>,
) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::from([
        ("prometheus.io/scrape".to_owned(), "true".to_owned()),
        (
            "prometheus.io/port".to_owned(),
            API_METRICS_PORT.to_string(),
        ),
        (
            "prometheus.io/path".to_owned(),
            contract::METRICS_PATH.to_owned(),
        ),
    ]);
    annotations.extend(bookstore.spec.pod_annotations.clone());
    for (annotation, referenced) in [
        (DB_PASSWORD_DIGEST_ANNOTATION, password),
        (WRITE_TOKENS_DIGEST_ANNOTATION, write_tokens),
    ] {
        if let Some(digest) = referenced.and_then(|r| r.digest) {
            annotations.insert(annotation.to_owned(), digest);
        }
    }
    annotations
}

/// The user's variables win over the operator's; one entry per name (server-side apply merges
/// `env` by name and rejects duplicates).
fn merge_env(base: Vec<EnvVar>, extra: &[EnvVar]) -> Vec<EnvVar> {
    let mut merged: Vec<EnvVar> = base
        .into_iter()
        .filter(|var| !extra.iter().any(|e| e.name == var.name))
        .collect();
    for var in extra {
        merged.retain(|existing| existing.name != var.name);
        merged.push(var.clone());
    }
    merged
}

fn env_var(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.to_owned()),
        ..EnvVar::default()
    }
}

fn restricted_security_context() -> SecurityContext {
    SecurityContext {
        run_as_non_root: Some(true),
        read_only_root_filesystem: Some(true),
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_owned()]),
            ..Capabilities::default()
        }),
        seccomp_profile: Some(runtime_default_seccomp()),
        ..SecurityContext::default()
    }
}

fn runtime_default_seccomp() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".to_owned(),
        ..SeccompProfile::default()
    }
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};

    use super::super::SecretValue;
    use super::super::fixtures::{bookstore, roll_key, with_database};
    use super::*;

    /// The Deployment of a Bookstore with this spec (an external database) and password.
    fn with_secret(spec: serde_json::Value, password: &[u8]) -> Deployment {
        let shop = bookstore(spec);
        let password = Referenced {
            reference: &shop.database().expect("database").password_secret_ref,
            digest: Some(
                roll_key().digest("database password", &SecretValue::new(password.to_vec())),
            ),
        };
        deployment(&shop, Some(password), None)
    }

    fn pod(deployment: &Deployment) -> &PodTemplateSpec {
        &deployment.spec.as_ref().expect("spec").template
    }

    fn container<'a>(deployment: &'a Deployment, name: &str) -> &'a Container {
        let spec = pod(deployment).spec.as_ref().expect("pod spec");
        spec.containers
            .iter()
            .find(|c| c.name == name)
            .expect("container")
    }

    #[test]
    fn pods_spread_over_zones_then_nodes_unless_told_otherwise() {
        let spread = |spec: serde_json::Value| {
            let deployment = with_secret(spec, b"pw");
            let spec = deployment.spec.as_ref().expect("spec");
            assert_eq!(spec.min_ready_seconds, Some(MIN_READY_SECONDS));
            pod(&deployment)
                .spec
                .as_ref()
                .expect("pod spec")
                .topology_spread_constraints
                .clone()
        };
        let default = spread(with_database()).expect("spread by default");
        let keys: Vec<_> = default.iter().map(|c| c.topology_key.as_str()).collect();
        assert_eq!(
            keys,
            ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
        );
        for constraint in &default {
            assert_eq!(
                (constraint.max_skew, constraint.when_unsatisfiable.as_str()),
                (1, "ScheduleAnyway"),
                "never blocks scheduling"
            );
            let selector = constraint.label_selector.as_ref().expect("selector");
            assert_eq!(
                selector.match_labels.as_ref().expect("labels")["app.kubernetes.io/instance"],
                "shop",
                "this Bookstore's pods"
            );
        }

        let mut own = with_database();
        own["topologySpreadConstraints"] = serde_json::json!([
            {"topologyKey": "topology.kubernetes.io/zone", "maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}
        ]);
        let own = spread(own).expect("the Bookstore's own");
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].when_unsatisfiable, "DoNotSchedule");
        assert!(own[0].label_selector.is_some(), "the selector is filled in");

        let mut off = with_database();
        off["topologySpreadConstraints"] = serde_json::json!([]);
        assert_eq!(spread(off), None, "an empty list turns spreading off");
    }

    #[test]
    fn the_api_container_reads_the_users_password_secret_and_is_probed() {
        let deployment = with_secret(with_database(), b"pw");
        let api = container(&deployment, "api");
        assert_eq!(
            api.image.as_deref(),
            Some("registry.example/bookstore-api:1.0.0")
        );
        assert_eq!(api.ports.as_ref().expect("ports")[0].container_port, 8080);
        assert_eq!(api.env_from, None, "no Secret of the operator's own");
        let env = api.env.clone().expect("env");
        let value = |name: &str| {
            env.iter()
                .find(|e| e.name == name)
                .and_then(|e| e.value.clone())
        };
        assert_eq!(value("DB_HOST").as_deref(), Some("db.example.internal"));
        assert_eq!(value("DB_PORT").as_deref(), Some("3306"));
        assert_eq!(value("DB_NAME").as_deref(), Some("bookstore"));
        assert_eq!(value("DB_USER").as_deref(), Some("app"));
        let password = env
            .iter()
            .find(|e| e.name == "DB_PASSWORD")
            .expect("DB_PASSWORD");
        assert_eq!(password.value, None, "never the value itself");
        let reference = password
            .value_from
            .as_ref()
            .and_then(|v| v.secret_key_ref.as_ref())
            .expect("from the Secret");
        assert_eq!(
            (reference.name.as_str(), reference.key.as_str()),
            ("db-password", "password"),
            "the Bookstore's passwordSecretRef"
        );
        assert_eq!(
            pod(&deployment)
                .spec
                .as_ref()
                .and_then(|s| s.volumes.clone()),
            None,
            "no SQLite scratch volume"
        );
        let path = |probe: &Option<Probe>| {
            probe
                .as_ref()
                .and_then(|p| p.http_get.as_ref())
                .and_then(|h| h.path.clone())
        };
        assert_eq!(path(&api.liveness_probe).as_deref(), Some("/healthz"));
        assert_eq!(path(&api.readiness_probe).as_deref(), Some("/readyz"));
        let requests = api
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .expect("requests");
        assert_eq!(
            requests["cpu"],
            k8s_openapi::apimachinery::pkg::api::resource::Quantity("100m".into()),
            "the HPA needs a CPU request"
        );
    }

    #[test]
    fn pods_stop_without_dropping_requests_and_keep_probes_off_the_service_port() {
        let deployment = with_secret(with_database(), b"pw");
        let api = container(&deployment, "api");
        let sleep = api
            .lifecycle
            .as_ref()
            .and_then(|l| l.pre_stop.as_ref())
            .and_then(|h| h.sleep.as_ref())
            .expect("a native pre-stop sleep: no shell in the image");
        let pod_spec = pod(&deployment).spec.clone().expect("pod spec");
        let grace = pod_spec.termination_grace_period_seconds.expect("grace");
        assert!(
            sleep.seconds + 30 < grace,
            "the wait and the API's 30 s drain fit in the grace period"
        );
        assert_eq!(pod_spec.enable_service_links, Some(false));
        let ports: Vec<_> = api
            .ports
            .iter()
            .flatten()
            .map(|p| (p.name.as_deref(), p.container_port))
            .collect();
        assert_eq!(ports, [(Some("http"), 8080), (Some("metrics"), 8081)]);
        for probe in [&api.liveness_probe, &api.readiness_probe] {
            let port = probe
                .as_ref()
                .and_then(|p| p.http_get.as_ref())
                .map(|h| h.port.clone());
            assert_eq!(port, Some(IntOrString::String("metrics".into())));
        }
        let env = api.env.clone().expect("env");
        assert!(
            env.iter()
                .any(|e| e.name == "METRICS_ADDR" && e.value.as_deref() == Some("0.0.0.0:8081"))
        );
        let annotations = pod(&deployment)
            .metadata
            .as_ref()
            .and_then(|m| m.annotations.clone())
            .expect("annotations");
        assert_eq!(annotations["prometheus.io/port"], "8081");
    }

    #[test]
    fn pods_run_restricted() {
        let deployment = with_secret(with_database(), b"pw");
        for name in ["api", "node-exporter"] {
            let context = container(&deployment, name)
                .security_context
                .clone()
                .expect("securityContext");
            assert_eq!(context.run_as_non_root, Some(true), "{name}");
            assert_eq!(context.read_only_root_filesystem, Some(true), "{name}");
            assert_eq!(context.allow_privilege_escalation, Some(false), "{name}");
            assert_eq!(
                context.capabilities.and_then(|c| c.drop),
                Some(vec!["ALL".to_owned()]),
                "{name}"
            );
            assert_eq!(
                context.seccomp_profile.map(|s| s.type_).as_deref(),
                Some("RuntimeDefault"),
                "{name}"
            );
        }
        let strategy = deployment
            .spec
            .as_ref()
            .and_then(|s| s.strategy.clone())
            .expect("strategy");
        assert_eq!(
            strategy.rolling_update.and_then(|r| r.max_unavailable),
            Some(IntOrString::Int(0))
        );
    }

    #[test]
    fn a_password_change_changes_the_pod_template_digest_but_never_shows_the_password() {
        let hash = |password: &[u8]| {
            let deployment = with_secret(with_database(), password);
            let annotations = pod(&deployment)
                .metadata
                .as_ref()
                .and_then(|m| m.annotations.clone())
                .expect("annotations");
            annotations[DB_PASSWORD_DIGEST_ANNOTATION].clone()
        };
        assert_eq!(hash(b"one"), hash(b"one"));
        assert_ne!(hash(b"one"), hash(b"two"));
        let rendered =
            serde_json::to_string(&with_secret(with_database(), b"super-secret-pw")).expect("json");
        assert!(!rendered.contains("super-secret-pw"));
    }

    fn with_token(spec: serde_json::Value, tokens: &[u8]) -> Deployment {
        let shop = bookstore(spec);
        let tokens = Referenced {
            reference: shop.spec.auth.write_token_secret_ref.as_ref().expect("ref"),
            digest: Some(roll_key().digest("write tokens", &SecretValue::new(tokens.to_vec()))),
        };
        deployment(&shop, None, Some(tokens))
    }

    fn token_spec() -> serde_json::Value {
        let mut spec = with_database();
        spec["auth"] =
            serde_json::json!({"writeTokenSecretRef": {"name": "shop-writers", "key": "tokens"}});
        spec
    }

    #[test]
    fn the_write_token_secret_is_mounted_and_named_to_the_api() {
        let deployment = with_token(token_spec(), b"writer-token-0123456789");
        let pod_spec = pod(&deployment).spec.clone().expect("pod spec");
        let volume = pod_spec
            .volumes
            .iter()
            .flatten()
            .find(|v| v.name == "write-tokens")
            .expect("the token volume");
        let source = volume.secret.as_ref().expect("a Secret volume");
        assert_eq!(source.secret_name.as_deref(), Some("shop-writers"));
        let item = &source.items.as_ref().expect("items")[0];
        assert_eq!(
            (item.key.as_str(), item.path.as_str()),
            ("tokens", "write-tokens")
        );
        assert_eq!(source.default_mode, Some(0o440));
        let api = container(&deployment, "api");
        let mount = api
            .volume_mounts
            .iter()
            .flatten()
            .find(|m| m.name == "write-tokens")
            .expect("mounted");
        assert_eq!(
            format!("{}/{}", mount.mount_path, item.path),
            WRITE_TOKEN_FILE,
            "the file the API is told about is the mounted key"
        );
        assert_eq!(mount.read_only, Some(true));
        let env = api.env.clone().expect("env");
        assert!(
            env.iter().any(|e| e.name == "API_WRITE_TOKENS_FILE"
                && e.value.as_deref() == Some(WRITE_TOKEN_FILE))
        );
        let rendered = serde_json::to_string(&deployment).expect("json");
        assert!(
            !rendered.contains("writer-token-0123456789"),
            "the token is never copied"
        );
    }

    #[test]
    fn new_write_tokens_roll_the_pods() {
        let hash = |tokens: &[u8]| {
            pod(&with_token(token_spec(), tokens))
                .metadata
                .as_ref()
                .and_then(|m| m.annotations.clone())
                .expect("annotations")[WRITE_TOKENS_DIGEST_ANNOTATION]
                .clone()
        };
        assert_eq!(
            hash(b"writer-token-0123456789"),
            hash(b"writer-token-0123456789")
        );
        assert_ne!(
            hash(b"writer-token-0123456789"),
            hash(b"writer-token-9876543210")
        );
        let open = with_secret(with_database(), b"pw");
        let annotations = pod(&open)
            .metadata
            .clone()
            .and_then(|m| m.annotations)
            .expect("annotations");
        assert!(!annotations.contains_key(WRITE_TOKENS_DIGEST_ANNOTATION));
        let env = container(&open, "api").env.clone().expect("env");
        assert!(
            !env.iter().any(|e| e.name == "API_WRITE_TOKENS_FILE"),
            "open writes: no file"
        );
    }

    #[test]
    fn rate_limits_pass_through_as_configuration() {
        let mut spec = with_database();
        spec["rateLimit"] = serde_json::json!({"writesPerMinute": 30, "readsPerMinute": 0});
        let env = container(&with_secret(spec, b"pw"), "api")
            .env
            .clone()
            .expect("env");
        let value = |name: &str| {
            env.iter()
                .find(|e| e.name == name)
                .and_then(|e| e.value.clone())
        };
        assert_eq!(value("RATE_LIMIT_WRITES_PER_MINUTE").as_deref(), Some("30"));
        assert_eq!(value("RATE_LIMIT_READS_PER_MINUTE").as_deref(), Some("0"));
        let env = container(&with_secret(with_database(), b"pw"), "api")
            .env
            .clone()
            .expect("env");
        assert!(
            !env.iter().any(|e| e.name.starts_with("RATE_LIMIT_")),
            "the API's defaults"
        );
    }

    #[test]
    fn replicas_are_left_to_the_autoscaler_unless_it_is_off() {
        let replicas = |deployment: Deployment| deployment.spec.expect("spec").replicas;
        assert_eq!(replicas(with_secret(with_database(), b"pw")), None);
        let mut spec = with_database();
        spec["autoscaling"] = serde_json::json!({"enabled": false});
        spec["replicas"] = serde_json::json!(4);
        assert_eq!(replicas(with_secret(spec, b"pw")), Some(4));
    }

    #[test]
    fn an_autoscaled_deployment_starts_at_spec_replicas_once() {
        let shop = bookstore(with_database());
        let mut created = with_secret(with_database(), b"pw");
        created.metadata.generation = Some(1);
        created.spec.as_mut().expect("spec").replicas = Some(1);
        let patch =
            initial_replicas(&shop, &created).expect("a fresh Deployment gets its starting count");
        assert_eq!(
            patch["spec"],
            serde_json::json!({"replicas": 2}),
            "nothing but the count"
        );
        created.metadata.generation = Some(2);
        assert!(
            initial_replicas(&shop, &created).is_none(),
            "scaled since: the autoscaler decides"
        );
        let mut fixed = with_database();
        fixed["autoscaling"] = serde_json::json!({"enabled": false});
        created.metadata.generation = Some(1);
        assert!(initial_replicas(&bookstore(fixed), &created).is_none());
    }

    #[test]
    fn only_a_deployment_made_autoscaled_gets_a_starting_count() {
        let shop = bookstore(with_database());
        let mut current = with_secret(with_database(), b"pw");
        current.metadata.generation = Some(1);
        current.metadata.resource_version = Some("41".into());
        current.spec.as_mut().expect("spec").replicas = Some(5);
        let patch = initial_replicas(&shop, &current).expect("never counted");
        assert_eq!(
            patch["metadata"]["resourceVersion"], "41",
            "decided on this version only"
        );
        // Made with a fixed count of 5 and switched to autoscaling (still generation 1): the
        // handover holds 5, and the count must not jump to spec.replicas.
        for holder in [super::super::MANAGER, super::super::REPLICAS_MANAGER] {
            current.metadata.managed_fields = Some(vec![owned_by(
                holder,
                serde_json::json!({"f:spec": {"f:replicas": {}}}),
            )]);
            assert!(initial_replicas(&shop, &current).is_none(), "{holder}");
        }
    }

    fn owned_by(manager: &str, fields: serde_json::Value) -> ManagedFieldsEntry {
        ManagedFieldsEntry {
            manager: Some(manager.into()),
            operation: Some("Apply".into()),
            fields_type: Some("FieldsV1".into()),
            fields_v1: Some(FieldsV1(fields)),
            ..ManagedFieldsEntry::default()
        }
    }

    #[test]
    fn switching_autoscaling_on_hands_the_current_count_over() {
        let shop = bookstore(with_database());
        let mut current = with_secret(with_database(), b"pw");
        current.spec.as_mut().expect("spec").replicas = Some(3);
        current.metadata.managed_fields = Some(vec![owned_by(
            "bookstore-operator",
            serde_json::json!({"f:spec": {"f:replicas": {}, "f:template": {}}}),
        )]);
        let patch = replicas_handover(&shop, &current).expect("the count is handed over");
        assert_eq!(patch["spec"], serde_json::json!({"replicas": 3}));

        current.metadata.managed_fields = Some(vec![
            owned_by(
                "bookstore-operator",
                serde_json::json!({"f:spec": {"f:template": {}}}),
            ),
            owned_by(
                "bookstore-operator-replicas",
                serde_json::json!({"f:spec": {"f:replicas": {}}}),
            ),
        ]);
        assert!(
            replicas_handover(&shop, &current).is_none(),
            "already handed over"
        );
        let mut fixed = with_database();
        fixed["autoscaling"] = serde_json::json!({"enabled": false});
        assert!(replicas_handover(&bookstore(fixed), &current).is_none());
    }

    #[test]
    fn demo_mode_runs_one_pod_on_a_scratch_volume() {
        let shop = bookstore(serde_json::json!({"image": "img", "replicas": 3}));
        let deployment = deployment(&shop, None, None);
        assert_eq!(deployment.spec.as_ref().and_then(|s| s.replicas), Some(1));
        let api = container(&deployment, "api");
        assert!(api.env_from.is_none());
        let env = api.env.as_ref().expect("env");
        assert!(
            env.iter().any(
                |e| e.name == "SQLITE_PATH" && e.value.as_deref() == Some("/data/bookstore.db")
            )
        );
        assert_eq!(
            api.volume_mounts.as_ref().expect("mounts")[0].mount_path,
            "/data"
        );
    }

    #[test]
    fn the_sidecar_follows_the_monitoring_settings() {
        let mut spec = with_database();
        spec["monitoring"] = serde_json::json!({"nodeExporter": {"port": 9200}});
        let deployment = with_secret(spec.clone(), b"pw");
        let exporter = container(&deployment, "node-exporter");
        assert_eq!(
            exporter.image.as_deref(),
            Some(crate::crd::DEFAULT_NODE_EXPORTER_IMAGE)
        );
        assert_eq!(
            exporter.ports.as_ref().expect("ports")[0].container_port,
            9200
        );
        spec["monitoring"] = serde_json::json!({"nodeExporter": {"enabled": false}});
        let deployment = with_secret(spec, b"pw");
        assert_eq!(
            pod(&deployment)
                .spec
                .as_ref()
                .expect("spec")
                .containers
                .len(),
            1
        );
    }

    #[test]
    fn user_env_and_annotations_are_added_and_win_over_defaults() {
        let mut spec = with_database();
        spec["env"] = serde_json::json!([{"name": "LOG_FORMAT", "value": "pretty"}, {"name": "RUST_LOG", "value": "debug"}]);
        spec["podAnnotations"] = serde_json::json!({"team": "books"});
        let deployment = with_secret(spec, b"pw");
        let env = container(&deployment, "api").env.clone().expect("env");
        let names: Vec<_> = env
            .iter()
            .map(|e| (e.name.as_str(), e.value.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            names,
            [
                ("BIND_ADDR", "0.0.0.0:8080"),
                ("METRICS_ADDR", "0.0.0.0:8081"),
                ("DB_HOST", "db.example.internal"),
                ("DB_PORT", "3306"),
                ("DB_NAME", "bookstore"),
                ("DB_USER", "app"),
                ("DB_PASSWORD", ""),
                ("LOG_FORMAT", "pretty"),
                ("RUST_LOG", "debug")
            ]
        );
        let annotations = pod(&deployment)
            .metadata
            .as_ref()
            .and_then(|m| m.annotations.clone())
            .expect("annotations");
        assert_eq!(annotations["team"], "books");
        assert_eq!(annotations["prometheus.io/scrape"], "true");
    }
}
