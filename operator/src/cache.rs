//! What the operator knows of the cluster without asking: reflector stores, kept current by
//! watches (`controller.rs`), read by every reconcile instead of GET requests.

use std::fmt::Debug;
use std::sync::Arc;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Secret, Service};
use kube::Resource;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crd::Bookstore;

/// The stores. Children are watched by the `managed-by` label; other Secrets only by metadata,
/// to notice a referenced password Secret appear or change without holding every Secret's data.
#[derive(Clone)]
pub struct Caches {
    pub bookstores: Store<Bookstore>,
    pub deployments: Store<Deployment>,
    pub services: Store<Service>,
    pub autoscalers: Store<HorizontalPodAutoscaler>,
    /// The `<name>-db` children, with their data.
    pub secrets: Store<Secret>,
    /// Every Secret's name and resourceVersion (no data, no annotations).
    pub secret_metadata: Store<PartialObjectMeta<Secret>>,
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
    fn store(caches: &Caches) -> &Store<Self>;
}

impl Child for Deployment {
    fn store(caches: &Caches) -> &Store<Self> {
        &caches.deployments
    }
}

impl Child for Service {
    fn store(caches: &Caches) -> &Store<Self> {
        &caches.services
    }
}

impl Child for HorizontalPodAutoscaler {
    fn store(caches: &Caches) -> &Store<Self> {
        &caches.autoscalers
    }
}

impl Child for Secret {
    fn store(caches: &Caches) -> &Store<Self> {
        &caches.secrets
    }
}

impl Caches {
    /// Waits until every watch has listed once: before that, "not in the cache" means nothing.
    pub async fn ready(&self) {
        let _ = tokio::join!(
            self.bookstores.wait_until_ready(),
            self.deployments.wait_until_ready(),
            self.services.wait_until_ready(),
            self.autoscalers.wait_until_ready(),
            self.secrets.wait_until_ready(),
            self.secret_metadata.wait_until_ready(),
        );
    }

    pub fn child<K: Child>(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        K::store(self).get(&ObjectRef::new(name).within(namespace))
    }

    /// The resourceVersion of a Secret, `None` when it does not exist.
    pub fn secret_version(&self, namespace: &str, name: &str) -> Option<String> {
        self.secret_metadata
            .get(&ObjectRef::new(name).within(namespace))
            .map(|meta| meta.metadata.resource_version.clone().unwrap_or_default())
    }
}
