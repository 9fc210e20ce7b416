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

/// The stores. Children are watched in full by the `managed-by` label. Every other object of their
/// four kinds is watched too, by metadata only (name, uid, owner references, resourceVersion):
/// enough to know whether a child's name is taken, and to notice a referenced Secret (password, write tokens) appear or
/// change, without holding every Secret's data.
#[derive(Clone)]
pub struct Caches {
    pub bookstores: Store<Bookstore>,
    pub deployments: Store<Deployment>,
    pub services: Store<Service>,
    pub autoscalers: Store<HorizontalPodAutoscaler>,
    /// The `<name>-db` children, with their data.
    pub secrets: Store<Secret>,
    pub deployment_names: Store<PartialObjectMeta<Deployment>>,
    pub service_names: Store<PartialObjectMeta<Service>>,
    pub autoscaler_names: Store<PartialObjectMeta<HorizontalPodAutoscaler>>,
    pub secret_names: Store<PartialObjectMeta<Secret>>,
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
child!(Secret, secrets, secret_names);

impl Caches {
    /// Waits until every watch has listed once: before that, "not in the cache" means nothing.
    pub async fn ready(&self) {
        let _ = tokio::join!(
            self.bookstores.wait_until_ready(),
            self.deployments.wait_until_ready(),
            self.services.wait_until_ready(),
            self.autoscalers.wait_until_ready(),
            self.secrets.wait_until_ready(),
            self.deployment_names.wait_until_ready(),
            self.service_names.wait_until_ready(),
            self.autoscaler_names.wait_until_ready(),
            self.secret_names.wait_until_ready(),
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

    /// The resourceVersion of a Secret, `None` when it does not exist.
    pub fn secret_version(&self, namespace: &str, name: &str) -> Option<String> {
        self.named::<Secret>(namespace, name)
            .map(|meta| meta.metadata.resource_version.clone().unwrap_or_default())
    }
}
