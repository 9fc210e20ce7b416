//! Apply: bring the children to their desired state with server-side apply, sending a request
//! only where the cache shows a difference, and never taking over an object this Bookstore does
//! not control.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::{Client, ResourceExt};
use serde::Serialize;

use crate::cache::{Caches, Child};
use crate::children::{self, Children, MANAGER, REPLICAS_MANAGER};
use crate::compare::up_to_date;
use crate::crd::Bookstore;
use crate::error::Error;

/// The children as they stand after applying, and what was written.
#[derive(Debug, Default)]
pub struct Applied {
    pub deployment: Option<Arc<Deployment>>,
    pub service: Option<Arc<Service>>,
    /// `created Deployment shop`, `updated Service shop`, `deleted HorizontalPodAutoscaler shop`.
    pub changes: Vec<String>,
}

/// What exists under a child's name.
enum Existing<K> {
    Absent,
    /// This Bookstore's; `None` when the full cache lacks it (its label was removed).
    Ours(Option<Arc<K>>),
    /// Someone else's object: never adopted.
    Foreign,
}

/// A child as it stands: the cached object, and whether one exists at all.
struct Current<K> {
    object: Option<Arc<K>>,
    exists: bool,
}

pub async fn apply_children(
    client: &Client,
    caches: &Caches,
    bookstore: &Bookstore,
    children: &Children,
) -> Result<Applied, Error> {
    // Look before writing anything: while any name is taken by an object this Bookstore does not
    // control, nothing is applied. Nor while a PodMonitor is asked for where none can be made.
    if children.pod_monitor.is_some() && !caches.pod_monitors_served {
        return Err(Error::PodMonitorUnavailable);
    }
    let mut foreign = Vec::new();
    let deployment = claim(
        existing(caches, bookstore, &children.deployment),
        &children.deployment,
        &mut foreign,
    );
    let service = claim(
        existing(caches, bookstore, &children.service),
        &children.service,
        &mut foreign,
    );
    let autoscaler = children
        .autoscaler
        .as_ref()
        .map(|desired| claim(existing(caches, bookstore, desired), desired, &mut foreign));
    let disruption_budget = children
        .disruption_budget
        .as_ref()
        .map(|desired| claim(existing(caches, bookstore, desired), desired, &mut foreign));
    let pod_monitor = children
        .pod_monitor
        .as_ref()
        .map(|desired| claim(existing(caches, bookstore, desired), desired, &mut foreign));
    if !foreign.is_empty() {
        return Err(Error::AdoptionRefused(foreign));
    }

    // The children do not depend on one another: applied at once, one round trip for all.
    let (deployment, service, autoscaler, disruption_budget, pod_monitor) = tokio::join!(
        sync_deployment(client, bookstore, &children.deployment, deployment),
        sync(client, &children.service, service),
        sync_optional(
            client,
            caches,
            bookstore,
            children.autoscaler.as_ref(),
            autoscaler
        ),
        sync_optional(
            client,
            caches,
            bookstore,
            children.disruption_budget.as_ref(),
            disruption_budget,
        ),
        sync_optional(
            client,
            caches,
            bookstore,
            children.pod_monitor.as_ref(),
            pod_monitor
        ),
    );
    let (deployment, deployment_change) = deployment?;
    let (service, service_change) = service?;
    let autoscaler_change = autoscaler?;
    let disruption_budget_change = disruption_budget?;
    let pod_monitor_change = pod_monitor?;
    Ok(Applied {
        deployment: Some(deployment),
        service: Some(service),
        changes: [
            deployment_change,
            service_change,
            autoscaler_change,
            disruption_budget_change,
            pod_monitor_change,
        ]
        .into_iter()
        .flatten()
        .collect(),
    })
}

impl<K> Default for Current<K> {
    fn default() -> Self {
        Self {
            object: None,
            exists: false,
        }
    }
}

/// This Bookstore's object under the child's name, if any; a foreign one is noted.
fn claim<K: Child>(existing: Existing<K>, desired: &K, foreign: &mut Vec<String>) -> Current<K> {
    match existing {
        Existing::Ours(object) => Current {
            object,
            exists: true,
        },
        Existing::Absent => Current::default(),
        Existing::Foreign => {
            foreign.push(describe::<K>(
                &desired.namespace().unwrap_or_default(),
                &desired.name_any(),
            ));
            Current::default()
        }
    }
}

/// The Deployment, with `spec.replicas` handed between the operator and the autoscaler so that
/// the count never drops (see `children::replicas_handover` and `children::initial_replicas`).
async fn sync_deployment(
    client: &Client,
    bookstore: &Bookstore,
    desired: &Deployment,
    current: Current<Deployment>,
) -> Result<(Arc<Deployment>, Option<String>), Error> {
    let (namespace, name) = (bookstore.namespace(), bookstore.name_any());
    let handover = current
        .object
        .as_deref()
        .and_then(|c| children::replicas_handover(bookstore, c));
    if let Some(hold) = handover {
        patch::<Deployment, _>(client, namespace.as_deref(), &name, REPLICAS_MANAGER, &hold)
            .await?;
    }
    let creating = !current.exists;
    let (deployment, change) = sync(client, desired, current).await?;
    // Not only right after creating it: when this patch failed, the Deployment still stands at
    // generation 1 with the API server's default of one pod, and the next reconcile gives it.
    let Some(mut start) = children::initial_replicas(bookstore, &deployment) else {
        return Ok((deployment, change));
    };
    if creating {
        // Created by this very apply: no autoscaler has scaled it (its first look is seconds
        // away), and the deployment controller's first status writes, which land in between,
        // would make a version precondition fail (409) on nearly every creation.
        if let Some(metadata) = start["metadata"].as_object_mut() {
            metadata.remove("resourceVersion");
        }
    }
    let started = patch::<Deployment, _>(
        client,
        namespace.as_deref(),
        &name,
        REPLICAS_MANAGER,
        &start,
    )
    .await?;
    Ok((Arc::new(started), change))
}

/// A child that exists only for some Bookstores (the autoscaler, the disruption budget): applied
/// when `desired`, deleted when not; what was done, if anything.
async fn sync_optional<K: Child>(
    client: &Client,
    caches: &Caches,
    bookstore: &Bookstore,
    desired: Option<&K>,
    current: Option<Current<K>>,
) -> Result<Option<String>, Error> {
    match desired {
        Some(desired) => Ok(sync(client, desired, current.unwrap_or_default()).await?.1),
        None => delete_unwanted::<K>(client, caches, bookstore, &bookstore.name_any()).await,
    }
}

/// Applies `desired` unless `current` already matches it; returns the object as stored, and what
/// was done (`created Service shop`), if anything.
async fn sync<K: Child>(
    client: &Client,
    desired: &K,
    current: Current<K>,
) -> Result<(Arc<K>, Option<String>), Error> {
    let verb = match current.object {
        Some(object) if up_to_date(desired, &object) => return Ok((object, None)),
        _ if current.exists => "updated",
        _ => "created",
    };
    let stored = patch(
        client,
        desired.namespace().as_deref(),
        &desired.name_any(),
        MANAGER,
        desired,
    )
    .await?;
    let change = format!("{verb} {} {}", K::kind(&()), desired.name_any());
    Ok((Arc::new(stored), Some(change)))
}

/// Server-side apply under `manager`, forced: the operator's own fields are taken back from
/// whoever changed them (the object is known to be this Bookstore's).
async fn patch<K: Child, P: Serialize + std::fmt::Debug>(
    client: &Client,
    namespace: Option<&str>,
    name: &str,
    manager: &str,
    body: &P,
) -> Result<K, Error> {
    let namespace = namespace.unwrap_or_default();
    Api::<K>::namespaced(client.clone(), namespace)
        .patch(
            name,
            &PatchParams::apply(manager).force(),
            &Patch::Apply(body),
        )
        .await
        .map_err(|e| Error::kube("apply", describe::<K>(namespace, name), e))
}

/// What holds the child's name, from the caches: the full one of the operator's objects, else the
/// metadata of every object of the kind (an object without the operator's label).
fn existing<K: Child>(caches: &Caches, bookstore: &Bookstore, desired: &K) -> Existing<K> {
    let namespace = desired.namespace().unwrap_or_default();
    let name = desired.name_any();
    if let Some(cached) = caches.child::<K>(&namespace, &name) {
        return if children::controlled_by(cached.as_ref(), bookstore) {
            Existing::Ours(Some(cached))
        } else {
            Existing::Foreign
        };
    }
    match caches.named::<K>(&namespace, &name) {
        None => Existing::Absent,
        Some(meta) if children::controlled_by(meta.as_ref(), bookstore) => Existing::Ours(None),
        Some(_) => Existing::Foreign,
    }
}

/// Deletes a child that is no longer wanted: only one this Bookstore controls, and only the very
/// object the cache saw (a uid precondition).
async fn delete_unwanted<K: Child>(
    client: &Client,
    caches: &Caches,
    bookstore: &Bookstore,
    name: &str,
) -> Result<Option<String>, Error> {
    let namespace = bookstore.namespace().unwrap_or_default();
    let Some(current) = caches.child::<K>(&namespace, name) else {
        return Ok(None);
    };
    if !children::controlled_by(current.as_ref(), bookstore) {
        return Ok(None);
    }
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: current.uid(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match Api::<K>::namespaced(client.clone(), &namespace)
        .delete(name, &params)
        .await
    {
        Ok(_) => {}
        // Gone already (the cache lags a little): nothing to do.
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(None),
        Err(e) => return Err(Error::kube("delete", describe::<K>(&namespace, name), e)),
    }
    Ok(Some(format!("deleted {} {name}", K::kind(&()))))
}

pub fn describe<K: Child>(namespace: &str, name: &str) -> String {
    format!("{} {namespace}/{name}", K::kind(&()))
}
