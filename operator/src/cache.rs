//! What the operator knows of the cluster without asking: reflector stores, kept current by
//! watches (`controller.rs`), read by every reconcile instead of GET requests.

use std::fmt::Debug;
use std::sync::Arc;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Node, Pod, Secret, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Resource;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::children::PodMonitor;
use crate::crd::Bookstore;

/// The stores. Children are watched in full by the `managed-by` label. Every other object of their
/// kinds is watched too, by metadata only (name, uid, owner references): enough to know whether a
/// child's name is taken. Secrets only where labelled `bookstore.dev/watch=true`.
#[derive(Clone)]
pub struct Caches {
    pub bookstores: Store<Bookstore>,
    pub deployments: Store<Deployment>,
    pub services: Store<Service>,
    pub autoscalers: Store<HorizontalPodAutoscaler>,
    pub disruption_budgets: Store<PodDisruptionBudget>,
    /// The Secrets labelled `inputs::WATCH_LABEL` (those Bookstores reference), with their data;
    /// no annotations (kubectl's last-applied-configuration holds a copy of the data).
    pub secrets: Store<Secret>,
    pub deployment_names: Store<PartialObjectMeta<Deployment>>,
    pub service_names: Store<PartialObjectMeta<Service>>,
    pub autoscaler_names: Store<PartialObjectMeta<HorizontalPodAutoscaler>>,
    pub disruption_budget_names: Store<PartialObjectMeta<PodDisruptionBudget>>,
    /// The API pods (by the `managed-by` label), reduced to what `database_probe` (their
    /// address), `problems` (their containers' states) and `zones` (their node) read.
    pub pods: Store<Pod>,
    /// The nodes, reduced to their name and zone label: where the ready pods run (`zones`).
    pub nodes: Store<PartialObjectMeta<Node>>,
    /// prometheus-operator's PodMonitors, where the cluster serves them: watched like the other
    /// children when `pod_monitors_served`, else empty and never listed.
    pub pod_monitors: Store<PodMonitor>,
    pub pod_monitor_names: Store<PartialObjectMeta<PodMonitor>>,
    /// Whether the cluster served PodMonitors (their CRD) when the operator started.
    pub pod_monitors_served: bool,
}

/// A kind of child, and where its cache is.
pub trait Child:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The operator's objects of this kind, in full.
    fn store(caches: &Caches) -> &Store<Self>;
    /// Every other object of this kind (without the `managed-by` label), metadata only.
    fn names(caches: &Caches) -> &Store<PartialObjectMeta<Self>>;
}

/// `impl Child for KIND`, its caches being the fields `full` and `names` of `Caches`.
macro_rules! child {
    ($kind:ty, $full:ident, $names:ident) => {
        impl Child for $kind {
            fn store(caches: &Caches) -> &Store<Self> {
                &caches.$full
            }
            fn names(caches: &Caches) -> &Store<PartialObjectMeta<Self>> {
                &caches.$names
            }
        }
    };
}

child!(Deployment, deployments, deployment_names);
child!(Service, services, service_names);
child!(HorizontalPodAutoscaler, autoscalers, autoscaler_names);
child!(
    PodDisruptionBudget,
    disruption_budgets,
    disruption_budget_names
);
child!(PodMonitor, pod_monitors, pod_monitor_names);

/// The longest a reconcile waits for the caches to fill (a watch the RBAC forbids never does).
pub const SYNC_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl Caches {
    /// Waits, at most `SYNC_TIMEOUT`, until every watch has listed once: before that, "not in
    /// the cache" means nothing.
    pub async fn synced(&self) -> Result<(), crate::error::Error> {
        tokio::time::timeout(SYNC_TIMEOUT, self.ready())
            .await
            .map_err(|_| crate::error::Error::CachesNotSynced(SYNC_TIMEOUT))
    }

    /// Waits until every watch has listed once.
    pub async fn ready(&self) {
        tokio::join!(
            listed(&self.bookstores),
            listed(&self.deployments),
            listed(&self.services),
            listed(&self.autoscalers),
            listed(&self.disruption_budgets),
            listed(&self.secrets),
            listed(&self.deployment_names),
            listed(&self.service_names),
            listed(&self.autoscaler_names),
            listed(&self.disruption_budget_names),
            // The status reads the pods and their nodes: an empty store would report every
            // Bookstore's pods gone, then back.
            listed(&self.pods),
            listed(&self.nodes),
            async {
                if self.pod_monitors_served {
                    tokio::join!(listed(&self.pod_monitors), listed(&self.pod_monitor_names));
                }
            },
        );
    }

    pub fn child<K: Child>(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        K::store(self).get(&ObjectRef::new(name).within(namespace))
    }

    /// An object of `K`'s kind without the operator's label that has this name, as metadata.
    pub fn named<K: Child>(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<Arc<PartialObjectMeta<K>>> {
        K::names(self).get(&ObjectRef::new(name).within(namespace))
    }

    /// A watched Secret (labelled `inputs::WATCH_LABEL`).
    pub fn secret(&self, namespace: &str, name: &str) -> Option<Arc<Secret>> {
        self.secrets.get(&ObjectRef::new(name).within(namespace))
    }
}

/// How often a wait for a store's first listing looks again.
const LISTED_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Waits until `store` has listed once. kube-runtime's readiness signal wakes only the last of
/// several waiters (a oneshot channel's single waker): the controller waits on the Bookstore store
/// too, and a waiter it overtook slept forever (seen on a fresh install). Waiting in short rounds,
/// each of which looks again, cannot miss it.
async fn listed<K>(store: &Store<K>)
where
    K: Resource + Clone,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    while tokio::time::timeout(LISTED_POLL, store.wait_until_ready())
        .await
        .is_err()
    {}
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::FutureExt;
    use kube::runtime::{reflector, watcher};

    use super::*;

    #[tokio::test]
    async fn a_waiter_overtaken_by_another_still_sees_the_store_listed() {
        let (store, mut writer) = reflector::store::<Bookstore>();
        // Ours waits first (its task polls it once and sleeps)...
        let ours = tokio::spawn({
            let store = store.clone();
            async move { listed(&store).await }
        });
        tokio::task::yield_now().await;
        // ...then the controller's wait takes the only waker.
        let mut theirs = Box::pin(store.wait_until_ready());
        assert!((&mut theirs).now_or_never().is_none());
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitDone);
        assert!(theirs.await.is_ok());
        tokio::time::timeout(Duration::from_secs(2), ours)
            .await
            .expect("not left asleep")
            .expect("no panic");
    }
}
