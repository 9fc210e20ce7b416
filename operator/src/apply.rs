//! Apply: bring the children to their desired state with server-side apply, sending a request
//! only where the cache shows a difference, and never taking over an object this Bookstore does
//! not control.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Secret, Service};
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
    Ours(Arc<K>),
    /// Someone else's object: never adopted.
    Foreign,
}

pub async fn apply_children(
    client: &Client,
    caches: &Caches,
    bookstore: &Bookstore,
    children: &Children,
) -> Result<Applied, Error> {
    // Look before writing anything: while any name is taken by an object this Bookstore does not
    // control, nothing is applied (the Deployment must not read someone else's Secret).
    let mut foreign = Vec::new();
    let secret = match &children.secret {
        Some(desired) => Some(claim(
            existing(client, caches, bookstore, desired).await?,
            desired,
            &mut foreign,
        )),
        None => None,
    };
    let deployment = claim(
        existing(client, caches, bookstore, &children.deployment).await?,
        &children.deployment,
        &mut foreign,
    );
    let service = claim(
        existing(client, caches, bookstore, &children.service).await?,
        &children.service,
        &mut foreign,
    );
    let autoscaler = match &children.autoscaler {
        Some(desired) => Some(claim(
            existing(client, caches, bookstore, desired).await?,
            desired,
            &mut foreign,
        )),
        None => None,
    };
    if !foreign.is_empty() {
        return Err(Error::AdoptionRefused(foreign));
    }

    let mut applied = Applied::default();
    let changes = &mut applied.changes;
    match &children.secret {
        Some(desired) => {
            sync(client, desired, secret.flatten(), changes).await?;
        }
        None => {
            delete_unwanted::<Secret>(
                client,
                caches,
                bookstore,
                &children::secret_name(bookstore),
                changes,
            )
            .await?
        }
    }
    applied.deployment =
        Some(sync_deployment(client, bookstore, &children.deployment, deployment, changes).await?);
    applied.service = Some(sync(client, &children.service, service, changes).await?);
    match &children.autoscaler {
        Some(desired) => {
            sync(client, desired, autoscaler.flatten(), changes).await?;
        }
        None => {
            delete_unwanted::<HorizontalPodAutoscaler>(
                client,
                caches,
                bookstore,
                &bookstore.name_any(),
                changes,
            )
            .await?
        }
    }
    Ok(applied)
}

/// This Bookstore's object under the child's name, if any; a foreign one is noted.
fn claim<K: Child>(
    existing: Existing<K>,
    desired: &K,
    foreign: &mut Vec<String>,
) -> Option<Arc<K>> {
    match existing {
        Existing::Ours(current) => Some(current),
        Existing::Absent => None,
        Existing::Foreign => {
            foreign.push(describe::<K>(
                &desired.namespace().unwrap_or_default(),
                &desired.name_any(),
            ));
            None
        }
    }
}

/// The Deployment, with `spec.replicas` handed between the operator and the autoscaler so that
/// the count never drops (see `children::replicas_handover` and `children::initial_replicas`).
async fn sync_deployment(
    client: &Client,
    bookstore: &Bookstore,
    desired: &Deployment,
    current: Option<Arc<Deployment>>,
    changes: &mut Vec<String>,
) -> Result<Arc<Deployment>, Error> {
    let (namespace, name) = (bookstore.namespace(), bookstore.name_any());
    if let Some(hold) = current
        .as_deref()
        .and_then(|c| children::replicas_handover(bookstore, c))
    {
        patch::<Deployment, _>(client, namespace.as_deref(), &name, REPLICAS_MANAGER, &hold)
            .await?;
    }
    let created = current.is_none();
    let deployment = sync(client, desired, current, changes).await?;
    match children::initial_replicas(bookstore, &deployment).filter(|_| created) {
        Some(start) => Ok(Arc::new(
            patch::<Deployment, _>(
                client,
                namespace.as_deref(),
                &name,
                REPLICAS_MANAGER,
                &start,
            )
            .await?,
        )),
        None => Ok(deployment),
    }
}

/// Applies `desired` unless `current` already matches it; returns the object as stored.
async fn sync<K: Child>(
    client: &Client,
    desired: &K,
    current: Option<Arc<K>>,
    changes: &mut Vec<String>,
) -> Result<Arc<K>, Error> {
    let verb = match current {
        Some(current) if up_to_date(desired, &current) => return Ok(current),
        Some(_) => "updated",
        None => "created",
    };
    let stored = patch(
        client,
        desired.namespace().as_deref(),
        &desired.name_any(),
        MANAGER,
        desired,
    )
    .await?;
    changes.push(format!("{verb} {} {}", K::kind(&()), desired.name_any()));
    Ok(Arc::new(stored))
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

/// From the cache; a child missing there may still exist without the operator's label, so its
/// name is looked up before anything is created under it.
async fn existing<K: Child>(
    client: &Client,
    caches: &Caches,
    bookstore: &Bookstore,
    desired: &K,
) -> Result<Existing<K>, Error> {
    let namespace = desired.namespace().unwrap_or_default();
    let name = desired.name_any();
    let found = match caches.child::<K>(&namespace, &name) {
        Some(cached) => Some(cached),
        None => Api::<K>::namespaced(client.clone(), &namespace)
            .get_opt(&name)
            .await
            .map_err(|e| Error::kube("read", describe::<K>(&namespace, &name), e))?
            .map(Arc::new),
    };
    Ok(match found {
        None => Existing::Absent,
        Some(object) if children::controlled_by(object.as_ref(), bookstore) => {
            Existing::Ours(object)
        }
        Some(_) => Existing::Foreign,
    })
}

/// Deletes a child that is no longer wanted: only one this Bookstore controls, and only the very
/// object the cache saw (a uid precondition).
async fn delete_unwanted<K: Child>(
    client: &Client,
    caches: &Caches,
    bookstore: &Bookstore,
    name: &str,
    changes: &mut Vec<String>,
) -> Result<(), Error> {
    let namespace = bookstore.namespace().unwrap_or_default();
    let Some(current) = caches.child::<K>(&namespace, name) else {
        return Ok(());
    };
    if !children::controlled_by(current.as_ref(), bookstore) {
        return Ok(());
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
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
        Err(e) => return Err(Error::kube("delete", describe::<K>(&namespace, name), e)),
    }
    changes.push(format!("deleted {} {name}", K::kind(&())));
    Ok(())
}

pub fn describe<K: Child>(namespace: &str, name: &str) -> String {
    format!("{} {namespace}/{name}", K::kind(&()))
}
