//! Wiring the controller: what is watched, what each watch keeps in the caches, which of its
//! events are worth a reconcile, and how they map to Bookstores.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ContainerStatus, Node, Pod, PodSpec, PodStatus, Secret, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    FieldsV1, ManagedFieldsEntry, ObjectMeta, Time,
};
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;

use crate::cache::Caches;
use crate::children::{MANAGER, PodMonitor, REPLICAS_MANAGER};
use crate::crd::Bookstore;
use crate::database_probe;
use crate::inputs::WATCH_LABEL;
use crate::metrics::Metrics;
use crate::problems;
use crate::reconcile::{Context, RESYNC, error_policy, reconcile};

/// Events for one Bookstore within this time make one reconcile.
const DEBOUNCE: Duration = Duration::from_millis(500);
/// Objects per LIST page. A page is parsed whole, managed fields included, before the watch strips
/// what the cache does not keep: 500 (the default) Deployments make a 16 MB peak, 50 make 2 MB.
const PAGE_SIZE: u32 = 50;

/// A Kubernetes client that counts its requests by verb, and names this replica in its
/// User-Agent (`bookstore-operator/VERSION (IDENTITY)`, as the API server's audit log shows it).
pub async fn client(metrics: Arc<Metrics>, identity: &str) -> Result<Client, kube::Error> {
    let config = kube::Config::infer()
        .await
        .map_err(kube::Error::InferConfig)?;
    let user_agent = http::HeaderValue::from_str(&format!(
        "bookstore-operator/{} ({identity})",
        env!("CARGO_PKG_VERSION")
    ))
    .ok();
    let count =
        tower::util::MapRequestLayer::new(move |mut request: http::Request<kube::client::Body>| {
            metrics.observe_kube_request(verb(&request));
            if let Some(user_agent) = &user_agent {
                request
                    .headers_mut()
                    .insert(http::header::USER_AGENT, user_agent.clone());
            }
            request
        });
    Ok(kube::client::ClientBuilder::try_from(config)?
        .with_layer(&count)
        .build())
}

/// The Kubernetes verb of a request, as far as the method and query tell.
fn verb<B>(request: &http::Request<B>) -> &'static str {
    let watching = request
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "watch=true"));
    match *request.method() {
        http::Method::GET if watching => "watch",
        http::Method::GET => "get",
        http::Method::POST => "create",
        http::Method::PUT => "update",
        http::Method::PATCH => "patch",
        http::Method::DELETE => "delete",
        _ => "other",
    }
}

type Triggers<K> = BoxStream<'static, Result<K, watcher::Error>>;

/// The watches, before they run: the controller polls them, which fills the caches.
pub struct Watches {
    bookstores: Triggers<Bookstore>,
    deployments: Triggers<Deployment>,
    services: Triggers<Service>,
    autoscalers: Triggers<HorizontalPodAutoscaler>,
    disruption_budgets: Triggers<PodDisruptionBudget>,
    secrets: Triggers<Secret>,
    deployment_names: Triggers<PartialObjectMeta<Deployment>>,
    service_names: Triggers<PartialObjectMeta<Service>>,
    autoscaler_names: Triggers<PartialObjectMeta<HorizontalPodAutoscaler>>,
    disruption_budget_names: Triggers<PartialObjectMeta<PodDisruptionBudget>>,
    pods: Triggers<Pod>,
    nodes: BoxStream<'static, ()>,
    pod_monitors: Triggers<PodMonitor>,
    pod_monitor_names: Triggers<PartialObjectMeta<PodMonitor>>,
}

/// Whether the cluster serves prometheus-operator's PodMonitors (its CRD is installed): asked once,
/// at start; a CRD installed later is watched after a restart.
pub async fn serves_pod_monitors(client: &Client) -> bool {
    match client
        .list_api_group_resources("monitoring.coreos.com/v1")
        .await
    {
        Ok(list) => list.resources.iter().any(|r| r.name == "podmonitors"),
        Err(kube::Error::Api(status)) if status.code == 404 => false,
        Err(error) => {
            tracing::warn!(error = %error, "cannot tell whether the cluster serves PodMonitors: taking it does not");
            false
        }
    }
}

/// Where the operator looks for Bookstores and their children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every namespace (the ClusterRole install).
    Cluster,
    /// One namespace (the namespaced install: Roles only there; `WATCH_NAMESPACES` runs one
    /// controller, with caches of its own, per namespace).
    Namespace(String),
}

impl Scope {
    /// Every namespace when `namespaces` names none (blanks ignored: `WATCH_NAMESPACES=""`),
    /// else each named one, once.
    pub fn from_list(namespaces: &[String]) -> Vec<Self> {
        let mut named: Vec<Self> = Vec::new();
        for namespace in namespaces
            .iter()
            .map(|n| n.trim())
            .filter(|n| !n.is_empty())
        {
            let scope = Self::Namespace(namespace.to_owned());
            if !named.contains(&scope) {
                named.push(scope);
            }
        }
        if named.is_empty() {
            vec![Self::Cluster]
        } else {
            named
        }
    }

    fn api<K>(&self, client: &Client) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
    {
        match self {
            Self::Cluster => Api::all(client.clone()),
            Self::Namespace(namespace) => Api::namespaced(client.clone(), namespace),
        }
    }
}

/// Sets up every watch and the caches they fill.
pub fn watch(
    client: &Client,
    metrics: &Arc<Metrics>,
    scope: &Scope,
    pod_monitors_served: bool,
) -> (Caches, Watches) {
    let all = || watcher::Config::default().page_size(PAGE_SIZE);
    let labelled = || all().labels(&format!("app.kubernetes.io/managed-by={MANAGER}"));
    let (bookstores, bookstore_writer) = reflector::store();
    let (deployments, deployment_writer) = reflector::store();
    let (services, service_writer) = reflector::store();
    let (autoscalers, autoscaler_writer) = reflector::store();
    let (disruption_budgets, disruption_budget_writer) = reflector::store();
    let (secrets, secret_writer) = reflector::store();
    let (deployment_names, deployment_names_writer) = reflector::store();
    let (service_names, service_names_writer) = reflector::store();
    let (autoscaler_names, autoscaler_names_writer) = reflector::store();
    let (disruption_budget_names, disruption_budget_names_writer) = reflector::store();
    let (pods, pods_writer) = reflector::store();
    let (nodes, nodes_writer) = reflector::store();
    let (pod_monitors, pod_monitors_writer) = reflector::store();
    let (pod_monitor_names, pod_monitor_names_writer) = reflector::store();
    let caches = Caches {
        bookstores,
        deployments,
        services,
        autoscalers,
        disruption_budgets,
        secrets,
        deployment_names,
        service_names,
        autoscaler_names,
        disruption_budget_names,
        pods,
        nodes,
        pod_monitors,
        pod_monitor_names,
        pod_monitors_served,
    };
    let watches = Watches {
        bookstores: triggers(
            watcher(scope.api::<Bookstore>(client), all()).modify(forget_managed_fields),
            bookstore_writer,
            |b: &Bookstore| {
                digest(&json!([
                    b.metadata.generation,
                    b.metadata.labels,
                    b.metadata.annotations
                ]))
            },
            metrics,
        ),
        deployments: triggers(
            watcher(scope.api::<Deployment>(client), labelled()).modify(keep_own_apply_fields),
            deployment_writer,
            deployment_relevance,
            metrics,
        ),
        services: triggers(
            watcher(scope.api::<Service>(client), labelled()).modify(forget_managed_fields),
            service_writer,
            |s: &Service| {
                let balancer = s.status.as_ref().map(|status| &status.load_balancer);
                digest(&json!([identity(&s.metadata), s.spec, balancer]))
            },
            metrics,
        ),
        autoscalers: triggers(
            watcher(scope.api::<HorizontalPodAutoscaler>(client), labelled())
                .modify(forget_managed_fields),
            autoscaler_writer,
            // Spec changes bump the generation; of its status only whether it can scale.
            |h: &HorizontalPodAutoscaler| {
                let scaling = h
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .into_iter()
                    .flatten()
                    .find(|c| c.type_ == "ScalingActive")
                    .map(|c| (&c.status, &c.reason));
                digest(&json!([identity(&h.metadata), scaling]))
            },
            metrics,
        ),
        disruption_budgets: triggers(
            watcher(scope.api::<PodDisruptionBudget>(client), labelled())
                .modify(forget_managed_fields),
            disruption_budget_writer,
            // Its spec and metadata; not the disruption figures its status keeps counting.
            |b: &PodDisruptionBudget| digest(&identity(&b.metadata)),
            metrics,
        ),
        // Only the Secrets labelled for it, not every Secret of the cluster.
        secrets: triggers(
            watcher(
                scope.api::<Secret>(client),
                all().labels(&format!("{WATCH_LABEL}=true")),
            )
            .modify(|secret: &mut Secret| {
                secret.metadata.managed_fields = None;
                secret.metadata.annotations = None;
            }),
            secret_writer,
            |s: &Secret| digest(&json!([s.data, s.string_data])),
            metrics,
        ),
        deployment_names: names(client, scope, deployment_names_writer, metrics),
        service_names: names(client, scope, service_names_writer, metrics),
        autoscaler_names: names(client, scope, autoscaler_names_writer, metrics),
        disruption_budget_names: names(client, scope, disruption_budget_names_writer, metrics),
        pods: triggers(
            watcher(scope.api::<Pod>(client), labelled()).modify(keep_pod_essentials),
            pods_writer,
            // A pod's own problem (an image it cannot pull, a crash loop), as it would be
            // reported, whether it can be scheduled, its node and readiness (where the ready
            // pods run); not its every status change.
            |pod: &Pod| {
                let unschedulable = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "PodScheduled"));
                let now = Time(k8s_openapi::jiff::Timestamp::now());
                let problem = problems::pod_problem([pod], &now);
                let ready = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
                let node = pod.spec.as_ref().and_then(|s| s.node_name.as_ref());
                digest(&json!([
                    problem.map(|p| [p.reason.to_owned(), p.message]),
                    unschedulable,
                    ready,
                    node
                ]))
            },
            metrics,
        ),
        nodes: reflected(
            watcher(
                Api::<PartialObjectMeta<Node>>::all(client.clone()),
                watcher::Config::default().page_size(PAGE_SIZE),
            )
            .modify(|node: &mut PartialObjectMeta<Node>| {
                let meta = &mut node.metadata;
                *meta = ObjectMeta {
                    name: meta.name.take(),
                    resource_version: meta.resource_version.take(),
                    labels: meta.labels.take().map(|mut labels| {
                        labels.retain(|key, _| key == crate::zones::ZONE_LABEL);
                        labels
                    }),
                    ..ObjectMeta::default()
                };
            }),
            nodes_writer,
            metrics,
        ),
        pod_monitors: if pod_monitors_served {
            triggers(
                watcher(scope.api::<PodMonitor>(client), labelled()).modify(forget_managed_fields),
                pod_monitors_writer,
                |m: &PodMonitor| digest(&identity(&m.metadata)),
                metrics,
            )
        } else {
            futures_util::stream::pending().boxed()
        },
        pod_monitor_names: if pod_monitors_served {
            names(client, scope, pod_monitor_names_writer, metrics)
        } else {
            futures_util::stream::pending().boxed()
        },
    };
    (caches, watches)
}

/// Every object of a child's kind that the full watches do not hold (those without the
/// operator's `managed-by` label), metadata only, reduced to what tells whose a name is: no
/// labels, no annotations, no managed fields. Triggers on creation, deletion and a change of
/// owner.
fn names<K>(
    client: &Client,
    scope: &Scope,
    writer: reflector::store::Writer<PartialObjectMeta<K>>,
    metrics: &Arc<Metrics>,
) -> Triggers<PartialObjectMeta<K>>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Send
        + Sync
        + std::fmt::Debug
        + 'static,
    PartialObjectMeta<K>: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + serde::de::DeserializeOwned,
{
    let unlabelled = watcher::Config::default()
        .page_size(PAGE_SIZE)
        .labels(&format!("app.kubernetes.io/managed-by!={MANAGER}"));
    let watch = watcher(scope.api::<PartialObjectMeta<K>>(client), unlabelled).modify(
        |meta: &mut PartialObjectMeta<K>| {
            let kept = ObjectMeta {
                name: meta.metadata.name.take(),
                namespace: meta.metadata.namespace.take(),
                uid: meta.metadata.uid.take(),
                owner_references: meta.metadata.owner_references.take(),
                ..ObjectMeta::default()
            };
            meta.metadata = kept;
        },
    );
    triggers(
        watch,
        writer,
        |meta: &PartialObjectMeta<K>| {
            digest(&json!([meta.metadata.uid, meta.metadata.owner_references]))
        },
        metrics,
    )
}

/// Runs the controller until `shutdown` resolves. `concurrency` bounds parallel reconciles.
pub async fn run(
    context: Arc<Context>,
    watches: Watches,
    concurrency: u16,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let bookstores = context.caches.bookstores.clone();
    let (database_changed, database_changes) = tokio::sync::mpsc::unbounded_channel();
    let mut database_changes = database_changes;
    let prober = database_probe::run(
        bookstores.clone(),
        context.caches.pods.clone(),
        &context.database_reports,
        database_changed,
    );
    let cache = || bookstores.clone();
    let (for_deployments, for_services, for_autoscalers, for_budgets, for_secrets) =
        (cache(), cache(), cache(), cache(), cache());
    let for_monitors = cache();
    let controller = Controller::for_stream(watches.bookstores, cache())
        .with_config(
            controller::Config::default()
                .concurrency(concurrency)
                .debounce(DEBOUNCE),
        )
        .owns_stream(watches.deployments)
        .owns_stream(watches.services)
        .owns_stream(watches.autoscalers)
        .owns_stream(watches.disruption_budgets)
        .owns_stream(watches.pod_monitors)
        // A name freed or taken: the Bookstore of that name, if any (a refused child can go on).
        .watches_stream(watches.deployment_names, move |meta| {
            bookstore_named(&for_deployments, &meta)
        })
        .watches_stream(watches.service_names, move |meta| {
            bookstore_named(&for_services, &meta)
        })
        .watches_stream(watches.autoscaler_names, move |meta| {
            bookstore_named(&for_autoscalers, &meta)
        })
        .watches_stream(watches.disruption_budget_names, move |meta| {
            bookstore_named(&for_budgets, &meta)
        })
        .watches_stream(watches.pod_monitor_names, move |meta| {
            bookstore_named(&for_monitors, &meta)
        })
        // A referenced Secret appeared, changed or went.
        .watches_stream(watches.secrets, move |secret| {
            bookstores_referencing(&for_secrets, &secret)
        })
        // A pod's problem appeared or went.
        .watches_stream(watches.pods, |pod| {
            let instance = pod.labels().get(crate::children::INSTANCE_LABEL)?;
            Some(ObjectRef::new(instance).within(&pod.namespace()?))
        })
        // What the pods say of their database changed.
        .reconcile_on(futures_util::stream::poll_fn(move |cx| {
            database_changes.poll_recv(cx)
        }))
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, Arc::clone(&context))
        .for_each(|result| async move {
            match result {
                Ok(_) => {}
                // Logged by the error policy, with the reason.
                Err(controller::Error::ReconcilerFailed(..)) => {}
                // A Bookstore deleted before its turn came.
                Err(controller::Error::ObjectNotFound(object)) => {
                    tracing::debug!(%object, "gone before it was reconciled");
                }
                Err(controller::Error::QueueError(error)) => tracing::warn!(
                    error = crate::error::watch_message(&error),
                    "controller error"
                ),
                Err(error) => tracing::warn!(error = %error, "controller error"),
            }
        });
    let janitor = async {
        let mut every = tokio::time::interval(RESYNC);
        loop {
            every.tick().await;
            context.prune();
        }
    };
    let nodes = watches.nodes.for_each(|()| std::future::ready(()));
    tokio::select! {
        () = controller => {}
        () = janitor => {}
        () = prober => {}
        () = nodes => {}
    }
}

/// Reflects a watch into its cache and yields the objects whose `relevant` digest changed, and
/// deleted ones, as reconcile triggers: also those deleted while the watch was down, which the
/// re-list that follows shows only by their absence. Watch errors are retried with backoff, and
/// reported.
fn triggers<K>(
    events: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    writer: reflector::store::Writer<K>,
    relevant: fn(&K) -> u64,
    metrics: &Arc<Metrics>,
) -> Triggers<K>
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    let metrics = Arc::clone(metrics);
    let resource = K::plural(&()).into_owned();
    let store = writer.as_reader();
    // By a digest of each object's namespace, name and uid (small keys: these maps hold every
    // watched object).
    let mut seen: HashMap<u64, u64> = HashMap::new();
    // During a re-list: the objects cached before it, and the keys of those listed so far.
    let mut relisting: Option<(Vec<Arc<K>>, HashSet<u64>)> = None;
    reflector::reflector(writer, events.default_backoff())
        .flat_map(move |event| {
            let triggers: Vec<Result<K, watcher::Error>> = match event {
                // The store swaps to the new listing only when it is done: it still holds the
                // old objects now.
                Ok(watcher::Event::Init) => {
                    relisting = Some((store.state(), HashSet::new()));
                    Vec::new()
                }
                Ok(watcher::Event::InitDone) => match relisting.take() {
                    Some((before, listed)) => {
                        seen.retain(|object, _| listed.contains(object));
                        before
                            .iter()
                            .filter(|object| !listed.contains(&identify(object.as_ref())))
                            .map(|object| Ok(object.as_ref().clone()))
                            .collect()
                    }
                    None => Vec::new(),
                },
                Ok(watcher::Event::Apply(object) | watcher::Event::InitApply(object)) => {
                    let reference = identify(&object);
                    if let Some((_, listed)) = relisting.as_mut() {
                        listed.insert(reference);
                    }
                    let digest = relevant(&object);
                    if seen.insert(reference, digest) == Some(digest) {
                        Vec::new()
                    } else {
                        vec![Ok(object)]
                    }
                }
                Ok(watcher::Event::Delete(object)) => {
                    seen.remove(&identify(&object));
                    vec![Ok(object)]
                }
                Err(error) => {
                    report_watch_error(&metrics, &resource, &error);
                    Vec::new()
                }
            };
            futures_util::stream::iter(triggers)
        })
        .boxed()
}

/// Reflects a watch into its cache, without triggering anything. Watch errors are retried with
/// backoff, and reported.
fn reflected<K>(
    events: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    writer: reflector::store::Writer<K>,
    metrics: &Arc<Metrics>,
) -> BoxStream<'static, ()>
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    let metrics = Arc::clone(metrics);
    let resource = K::plural(&()).into_owned();
    reflector::reflector(writer, events.default_backoff())
        .filter_map(move |event| {
            if let Err(error) = event {
                report_watch_error(&metrics, &resource, &error);
            }
            std::future::ready(None)
        })
        .boxed()
}

/// A failed watch (retried with backoff): logged and counted.
fn report_watch_error(metrics: &Metrics, resource: &str, error: &watcher::Error) {
    tracing::warn!(resource = %resource, error = crate::error::watch_message(error), "watch failed; retrying");
    metrics.observe_watch_error(resource);
}

/// A pod keeps what `database_probe`, `problems` and `zones` read: name, namespace, the instance label,
/// when it was made and whether it is going away, its node, its address, its Ready condition, a PodScheduled condition that
/// says it cannot be scheduled, and of each container its state, last exit and image.
fn keep_pod_essentials(pod: &mut Pod) {
    let meta = &mut pod.metadata;
    *meta = ObjectMeta {
        name: meta.name.take(),
        namespace: meta.namespace.take(),
        uid: meta.uid.take(),
        resource_version: meta.resource_version.take(),
        creation_timestamp: meta.creation_timestamp.take(),
        deletion_timestamp: meta.deletion_timestamp.take(),
        labels: meta.labels.take().map(|mut labels| {
            labels.retain(|key, _| key == crate::children::INSTANCE_LABEL);
            labels
        }),
        ..ObjectMeta::default()
    };
    pod.spec = pod.spec.take().map(|spec| PodSpec {
        node_name: spec.node_name,
        ..PodSpec::default()
    });
    pod.status = pod.status.take().map(|status| PodStatus {
        pod_ip: status.pod_ip,
        conditions: status.conditions.map(|c| {
            c.into_iter()
                .filter(|c| {
                    c.type_ == "Ready" || (c.type_ == "PodScheduled" && c.status == "False")
                })
                .collect()
        }),
        container_statuses: status.container_statuses.map(|statuses| {
            statuses
                .into_iter()
                .map(|c| ContainerStatus {
                    name: c.name,
                    image: c.image,
                    ready: c.ready,
                    restart_count: c.restart_count,
                    state: c.state,
                    last_state: c.last_state,
                    ..ContainerStatus::default()
                })
                .collect()
        }),
        ..PodStatus::default()
    });
}

fn identify<K: Resource>(object: &K) -> u64 {
    let meta = object.meta();
    let mut hasher = DefaultHasher::new();
    (&meta.namespace, &meta.name, &meta.uid).hash(&mut hasher);
    hasher.finish()
}

fn digest(value: &serde_json::Value) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.to_string().hash(&mut hasher);
    hasher.finish()
}

/// What identifies a child's desired state: its spec generation and the metadata the operator
/// sets (a changed label or owner reference is drift too).
fn identity(meta: &ObjectMeta) -> serde_json::Value {
    json!([
        meta.generation,
        meta.labels,
        meta.annotations,
        meta.owner_references
    ])
}

/// Spec changes, and the status figures a Bookstore reports; not every status heartbeat.
fn deployment_relevance(deployment: &Deployment) -> u64 {
    let status = deployment.status.as_ref();
    let failures: Vec<_> = status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| c.type_ == "ReplicaFailure" || c.type_ == "Progressing")
        .map(|c| (&c.status, &c.reason, &c.message))
        .collect();
    digest(&json!([
        identity(&deployment.metadata),
        status.map(|s| json!([
            s.observed_generation,
            s.replicas,
            s.ready_replicas,
            s.updated_replicas,
            s.available_replicas
        ])),
        failures,
    ]))
}

fn forget_managed_fields<K: Resource>(object: &mut K) {
    object.meta_mut().managed_fields = None;
}

/// Deployments keep, of their managed fields, only what `children::replicas_handover` and
/// `children::initial_replicas` read: whether each of the operator's two apply entries holds
/// `spec.replicas` (a whole entry describes every field of the template: most of a cached
/// Deployment's memory); of their conditions only `ReplicaFailure` and a Progressing past its
/// deadline, which `problems` reads.
fn keep_own_apply_fields(deployment: &mut Deployment) {
    if let Some(conditions) = deployment
        .status
        .as_mut()
        .and_then(|s| s.conditions.as_mut())
    {
        conditions.retain(|c| {
            c.type_ == "ReplicaFailure"
                || c.reason.as_deref() == Some(crate::problems::PROGRESS_DEADLINE_EXCEEDED)
        });
    }
    let holders: Vec<ManagedFieldsEntry> = [MANAGER, REPLICAS_MANAGER]
        .into_iter()
        .filter(|manager| crate::children::applies_replicas(deployment, manager))
        .map(|manager| ManagedFieldsEntry {
            manager: Some(manager.to_owned()),
            operation: Some("Apply".to_owned()),
            fields_v1: Some(FieldsV1(json!({"f:spec": {"f:replicas": {}}}))),
            ..ManagedFieldsEntry::default()
        })
        .collect();
    deployment.metadata.managed_fields = (!holders.is_empty()).then_some(holders);
}

/// The Bookstore whose child would be named like `object`, if any.
fn bookstore_named<K: Resource>(
    bookstores: &Store<Bookstore>,
    object: &K,
) -> Option<ObjectRef<Bookstore>> {
    let name = object.meta().name.as_deref()?;
    let reference = ObjectRef::new(name).within(object.meta().namespace.as_deref()?);
    bookstores.get(&reference).map(|_| reference)
}

/// The Bookstores that read a Secret (their password or write tokens).
fn bookstores_referencing<K: Resource>(
    bookstores: &Store<Bookstore>,
    secret: &K,
) -> Vec<ObjectRef<Bookstore>> {
    let namespace = secret.namespace().unwrap_or_default();
    let name = secret.name_any();
    bookstores
        .state()
        .into_iter()
        .filter(|bookstore| {
            bookstore.namespace().as_deref() == Some(namespace.as_str())
                && bookstore
                    .secret_refs()
                    .any(|reference| reference.name == name)
        })
        .map(|bookstore| ObjectRef::from_obj(bookstore.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use futures_util::stream;

    use super::*;

    #[test]
    fn watch_namespaces_name_the_scopes() {
        let list = |items: &[&str]| {
            Scope::from_list(&items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
        };
        assert_eq!(list(&[]), [Scope::Cluster]);
        assert_eq!(list(&[""]), [Scope::Cluster], "WATCH_NAMESPACES=\"\"");
        assert_eq!(
            list(&["shop", " books ", "shop", ""]),
            [
                Scope::Namespace("shop".into()),
                Scope::Namespace("books".into())
            ]
        );
    }

    #[test]
    fn verbs_follow_method_and_watch_flag() {
        let request = |method: http::Method, uri: &str| {
            http::Request::builder()
                .method(method)
                .uri(uri)
                .body(())
                .expect("request")
        };
        assert_eq!(
            verb(&request(
                http::Method::GET,
                "/api/v1/secrets?watch=true&timeoutSeconds=290"
            )),
            "watch"
        );
        assert_eq!(
            verb(&request(
                http::Method::GET,
                "/api/v1/namespaces/a/secrets/b"
            )),
            "get"
        );
        assert_eq!(
            verb(&request(
                http::Method::PATCH,
                "/apis/apps/v1/namespaces/a/deployments/b"
            )),
            "patch"
        );
        assert_eq!(verb(&request(http::Method::DELETE, "/x")), "delete");
    }

    fn secret_metadata(namespace: &str, name: &str) -> PartialObjectMeta<Secret> {
        PartialObjectMeta {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(namespace.into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn a_referenced_secret_maps_to_the_bookstores_that_read_it() {
        let (reader, mut writer) = reflector::store::<Bookstore>();
        let mut spec = crate::children::fixtures::with_database();
        spec["auth"] = json!({"writeTokenSecretRef": {"name": "writers", "key": "tokens"}});
        let shop = crate::children::fixtures::bookstore(spec);
        writer.apply_watcher_event(&watcher::Event::Apply(shop));
        for name in ["db-password", "writers"] {
            assert_eq!(
                bookstores_referencing(&reader, &secret_metadata("books", name)),
                [ObjectRef::new("shop").within("books")],
                "{name}"
            );
        }
        assert!(
            bookstores_referencing(&reader, &secret_metadata("other", "db-password")).is_empty()
        );
        assert!(bookstores_referencing(&reader, &secret_metadata("books", "unrelated")).is_empty());
    }

    fn deployment(ready: i32, heartbeat: u32) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "shop", "namespace": "books", "uid": "u", "generation": 1},
            "status": {"observedGeneration": 1, "replicas": 2, "readyReplicas": ready,
                       "conditions": [{"type": "Progressing", "status": "True",
                                      "lastUpdateTime": format!("2026-11-27T10:00:{heartbeat:02}Z")}]}
        }))
        .expect("deployment")
    }

    #[tokio::test]
    async fn only_relevant_changes_and_deletions_trigger_a_reconcile() {
        let events = vec![
            Ok(watcher::Event::Init),
            Ok(watcher::Event::InitApply(deployment(0, 1))),
            Ok(watcher::Event::InitDone),
            // A status heartbeat: nothing the Bookstore reports changed.
            Ok(watcher::Event::Apply(deployment(0, 2))),
            Err(watcher::Error::NoResourceVersion),
            Ok(watcher::Event::Apply(deployment(1, 3))),
            Ok(watcher::Event::Delete(deployment(1, 3))),
        ];
        let (cache, writer) = reflector::store::<Deployment>();
        let metrics = Arc::new(Metrics::default());
        let triggered: Vec<_> =
            triggers(stream::iter(events), writer, deployment_relevance, &metrics)
                .map(|d| d.expect("no error").status.and_then(|s| s.ready_replicas))
                .collect()
                .await;
        assert_eq!(
            triggered,
            [Some(0), Some(1), Some(1)],
            "listed, ready, deleted"
        );
        assert!(cache.state().is_empty(), "the cache follows every event");
        let reported = metrics.render().expect("metrics");
        assert!(
            reported.contains(r#"bookstore_operator_watch_errors_total{resource="deployments"} 1"#),
            "a watch error is counted: {reported}"
        );
    }

    #[tokio::test]
    async fn an_object_deleted_while_the_watch_was_down_triggers_a_reconcile() {
        let events = vec![
            Ok(watcher::Event::Init),
            Ok(watcher::Event::InitApply(named("kept", 1))),
            Ok(watcher::Event::InitApply(named("gone", 1))),
            Ok(watcher::Event::InitDone),
            // The watch broke; "gone" was deleted meanwhile: the re-list lacks it.
            Err(watcher::Error::NoResourceVersion),
            Ok(watcher::Event::Init),
            Ok(watcher::Event::InitApply(named("kept", 1))),
            Ok(watcher::Event::InitDone),
        ];
        let (cache, writer) = reflector::store::<Deployment>();
        let metrics = Arc::new(Metrics::default());
        let triggered: Vec<String> =
            triggers(stream::iter(events), writer, deployment_relevance, &metrics)
                .map(|d| d.expect("no error").name_any())
                .collect()
                .await;
        assert_eq!(
            triggered,
            ["kept", "gone", "gone"],
            "listed twice, then the one the re-list no longer has"
        );
        assert_eq!(cache.state().len(), 1, "the cache holds the re-list");
    }

    fn named(name: &str, ready: i32) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "books", "uid": name},
            "status": {"readyReplicas": ready}
        }))
        .expect("deployment")
    }

    #[test]
    fn a_cached_deployment_keeps_only_who_holds_its_replicas() {
        let entries = |replicas_by: &str| -> Deployment {
            serde_json::from_value(json!({
                "status": {"conditions": [
                    {"type": "Progressing", "status": "True", "message": "a long story"},
                    {"type": "ReplicaFailure", "status": "True", "message": "exceeded quota"},
                    {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                     "message": "timed out"}
                ]},
                "metadata": {"managedFields": [
                    {"manager": replicas_by, "operation": "Apply",
                     "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {}}}}},
                    {"manager": "bookstore-operator", "operation": "Apply", "fieldsV1": {"f:spec": {"f:template": {}}}},
                    {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status"}
                ]}
            }))
            .expect("deployment")
        };
        let full = entries("bookstore-operator");
        let mut held = full.clone();
        keep_own_apply_fields(&mut held);
        let kept: Vec<_> = held
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        assert_eq!(kept.len(), 2, "{kept:?}");
        // What `problems` reads is kept.
        assert!(problems::pod_creation_problem(&held).is_some());
        assert_eq!(
            problems::pod_creation_problem(&held),
            problems::pod_creation_problem(&full)
        );
        let no_pods: [&Pod; 0] = [];
        assert!(problems::rollout_problem(&held, no_pods).is_some());
        assert_eq!(
            problems::rollout_problem(&held, no_pods),
            problems::rollout_problem(&full, no_pods)
        );
        assert!(crate::children::applies_replicas(&held, MANAGER));
        assert_eq!(held.metadata.managed_fields.as_ref().map(Vec::len), Some(1));
        let mut handed_over = entries("bookstore-operator-replicas");
        keep_own_apply_fields(&mut handed_over);
        assert!(
            crate::children::applies_replicas(&handed_over, REPLICAS_MANAGER)
                && !crate::children::applies_replicas(&handed_over, MANAGER),
            "what children::initial_replicas reads"
        );
        assert_eq!(
            handed_over.metadata.managed_fields.as_ref().map(Vec::len),
            Some(1)
        );
    }

    #[test]
    fn a_cached_pod_keeps_what_its_problems_are_read_from() {
        let pod = |waiting: &str| -> Pod {
            serde_json::from_value(json!({
                "metadata": {"name": "shop-1", "namespace": "books",
                             "labels": {"app.kubernetes.io/instance": "shop", "pod-template-hash": "abc"},
                             "annotations": {"note": "dropped"}},
                "spec": {"containers": [{"name": "api", "image": "img:1"}], "nodeName": "node-a"},
                "status": {
                    "podIP": "10.0.0.9",
                    "conditions": [
                        {"type": "Ready", "status": "False"},
                        {"type": "PodScheduled", "status": "False", "message": "0/1 nodes are available"},
                        {"type": "Initialized", "status": "True"}
                    ],
                    "containerStatuses": [{
                        "name": "api", "image": "img:1", "imageID": "sha256:1", "ready": false,
                        "restartCount": 4, "started": false,
                        "state": {"waiting": {"reason": waiting, "message": "back-off"}},
                        "lastState": {"terminated": {"exitCode": 2, "reason": "Error",
                                                     "message": "error: bad setting\n"}}
                    }]
                }
            }))
            .expect("pod")
        };
        for waiting in [
            "CrashLoopBackOff",
            "ImagePullBackOff",
            "CreateContainerConfigError",
        ] {
            let full = pod(waiting);
            let mut kept = full.clone();
            keep_pod_essentials(&mut kept);
            assert!(
                problems::pod_problem([&kept], &Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH))
                    .is_some(),
                "{waiting}"
            );
            assert_eq!(
                problems::pod_problem([&kept], &Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)),
                problems::pod_problem([&full], &Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH))
            );
            assert_eq!(
                kept.spec,
                Some(PodSpec {
                    node_name: Some("node-a".into()),
                    ..PodSpec::default()
                }),
                "only the node (zones::Placement reads it)"
            );
            assert_eq!(kept.metadata.annotations, None);
            let conditions = kept.status.as_ref().and_then(|s| s.conditions.as_ref());
            assert_eq!(conditions.map(Vec::len), Some(2), "Ready and PodScheduled");
        }
        let stuck: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "shop"},
            "status": {"conditions": [{"type": "Progressing", "status": "False",
                                       "reason": "ProgressDeadlineExceeded"}]}
        }))
        .expect("deployment");
        let (full, mut kept) = (pod("ContainerCreating"), pod("ContainerCreating"));
        keep_pod_essentials(&mut kept);
        assert_eq!(
            problems::rollout_problem(&stuck, [&kept]),
            problems::rollout_problem(&stuck, [&full])
        );
    }
}
