//! Reconcile: read what the Bookstore references, apply its children, observe them, report.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::children::{self, DatabasePassword, INITIAL_REPLICAS_MANAGER, MANAGER};
use crate::crd::Bookstore;
use crate::metrics::Metrics;
use crate::status::{self, Observed, Problem};

/// Periodic re-check when nothing happens (watches trigger reconciles on every change).
const RESYNC: Duration = Duration::from_secs(300);
const FIRST_RETRY: Duration = Duration::from_secs(5);
const LONGEST_RETRY: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    DatabaseSecretNotFound(String),
    #[error("Kubernetes API request failed: {0}")]
    Kube(#[from] kube::Error),
    #[error("the Bookstore has no namespace")]
    NotNamespaced,
}

impl Error {
    /// CamelCase reason, for conditions, Events and the failure metric.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::DatabaseSecretNotFound(_) => "DatabaseSecretNotFound",
            Self::Kube(_) => "KubernetesApiError",
            Self::NotNamespaced => "NotNamespaced",
        }
    }
}

/// Shared by every reconcile.
pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    /// Consecutive failures per Bookstore (by uid), for the retry backoff.
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    pub fn new(client: Client, recorder: Recorder, metrics: Arc<Metrics>) -> Self {
        Self {
            client,
            recorder,
            metrics,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn record_outcome(&self, bookstore: &Bookstore, failed: bool) -> u32 {
        let key = bookstore.uid().unwrap_or_else(|| bookstore.name_any());
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if failed {
            let count = failures.entry(key).or_insert(0);
            *count = count.saturating_add(1);
            *count
        } else {
            failures.remove(&key);
            0
        }
    }
}

#[tracing::instrument(skip_all, fields(namespace = bookstore.namespace(), name = bookstore.name_any()))]
pub async fn reconcile(bookstore: Arc<Bookstore>, context: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = apply_and_report(&bookstore, &context).await;
    context
        .metrics
        .observe_reconcile(started.elapsed(), result.as_ref().err().map(Error::reason));
    context.record_outcome(&bookstore, result.is_err());
    result.map(|()| Action::requeue(RESYNC))
}

/// Retries a failed Bookstore with exponential backoff; others are not held up.
pub fn error_policy(bookstore: Arc<Bookstore>, error: &Error, context: Arc<Context>) -> Action {
    let failures = context
        .failures
        .lock()
        .map(|f| {
            f.get(&bookstore.uid().unwrap_or_else(|| bookstore.name_any()))
                .copied()
                .unwrap_or(1)
        })
        .unwrap_or(1);
    let delay = FIRST_RETRY
        .saturating_mul(2_u32.saturating_pow(failures.saturating_sub(1).min(16)))
        .min(LONGEST_RETRY);
    tracing::warn!(error = %error, retry_in_s = delay.as_secs(), "reconcile failed");
    Action::requeue(delay)
}

async fn apply_and_report(bookstore: &Bookstore, context: &Context) -> Result<(), Error> {
    let namespace = bookstore.namespace().ok_or(Error::NotNamespaced)?;
    let client = &context.client;

    let password = match read_password(client, &namespace, bookstore).await {
        Ok(password) => password,
        Err(error @ Error::DatabaseSecretNotFound(_)) => {
            let problem = Problem {
                reason: error.reason(),
                message: error.to_string(),
            };
            publish(
                context,
                bookstore,
                EventType::Warning,
                problem.reason,
                &problem.message,
            )
            .await;
            let observed = Observed {
                problem: Some(problem),
                ..Observed::default()
            };
            write_status(client, &namespace, bookstore, &observed).await?;
            return Err(error);
        }
        Err(error) => return Err(error),
    };

    let children = children::desired(bookstore, password.as_ref());
    match &children.secret {
        Some(secret) => {
            apply(client, &namespace, secret).await?;
        }
        None => {
            delete_owned::<Secret>(
                client,
                &namespace,
                &children::secret_name(bookstore),
                bookstore,
            )
            .await?
        }
    }
    let mut deployment = apply(client, &namespace, &children.deployment).await?;
    if let Some(initial) = children::initial_replicas(bookstore, &deployment) {
        let params = PatchParams::apply(INITIAL_REPLICAS_MANAGER).force();
        deployment = Api::<Deployment>::namespaced(client.clone(), &namespace)
            .patch(&bookstore.name_any(), &params, &Patch::Apply(&initial))
            .await?;
    }
    let service = apply(client, &namespace, &children.service).await?;
    match &children.autoscaler {
        Some(autoscaler) => {
            apply(client, &namespace, autoscaler).await?;
        }
        None => {
            delete_owned::<HorizontalPodAutoscaler>(
                client,
                &namespace,
                &bookstore.name_any(),
                bookstore,
            )
            .await?
        }
    }

    let observed = Observed {
        deployment: Some(&deployment),
        service: Some(&service),
        problem: None,
    };
    write_status(client, &namespace, bookstore, &observed).await?;
    // One Normal Event per spec generation, not per resync.
    let seen = bookstore
        .status
        .as_ref()
        .and_then(|s| s.observed_generation);
    if seen != bookstore.metadata.generation || status_had_problem(bookstore) {
        let mut applied = vec![format!("Deployment {0}, Service {0}", bookstore.name_any())];
        if let Some(secret) = &children.secret {
            applied.push(format!("Secret {}", secret.name_any()));
        }
        if children.autoscaler.is_some() {
            applied.push(format!("HorizontalPodAutoscaler {}", bookstore.name_any()));
        }
        publish(
            context,
            bookstore,
            EventType::Normal,
            "Applied",
            &format!("applied {}", applied.join(", ")),
        )
        .await;
    }
    Ok(())
}

/// Whether the last status reported a problem (so recovering from it deserves an Event).
fn status_had_problem(bookstore: &Bookstore) -> bool {
    bookstore
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == status::DEGRADED))
        .is_some_and(|c| c.status == "True")
}

/// The password from the Secret the spec references; `None` in demo mode.
async fn read_password(
    client: &Client,
    namespace: &str,
    bookstore: &Bookstore,
) -> Result<Option<DatabasePassword>, Error> {
    let Some(database) = bookstore.database() else {
        return Ok(None);
    };
    let reference = &database.password_secret_ref;
    let secret = Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(&reference.name)
        .await?;
    let Some(secret) = secret else {
        return Err(Error::DatabaseSecretNotFound(format!(
            "Secret {namespace}/{} (spec.database.passwordSecretRef) not found",
            reference.name
        )));
    };
    let value = secret
        .data
        .as_ref()
        .and_then(|data| data.get(&reference.key))
        .map(|bytes| bytes.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()?
                .get(&reference.key)
                .map(|s| s.clone().into_bytes())
        });
    value
        .map(|bytes| Some(DatabasePassword::new(bytes)))
        .ok_or_else(|| {
            Error::DatabaseSecretNotFound(format!(
                "Secret {namespace}/{} has no key {:?} (spec.database.passwordSecretRef)",
                reference.name, reference.key
            ))
        })
}

/// Server-side apply under the operator's field manager; returns the object as stored.
async fn apply<K>(client: &Client, namespace: &str, object: &K) -> Result<K, Error>
where
    K: Resource<Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api = Api::<K>::namespaced(client.clone(), namespace);
    let params = PatchParams::apply(MANAGER).force();
    Ok(api
        .patch(&object.name_any(), &params, &Patch::Apply(object))
        .await?)
}

/// Deletes a child that is no longer wanted, but only one this Bookstore owns.
async fn delete_owned<K>(
    client: &Client,
    namespace: &str,
    name: &str,
    owner: &Bookstore,
) -> Result<(), Error>
where
    K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api = Api::<K>::namespaced(client.clone(), namespace);
    let Some(existing) = api.get_opt(name).await? else {
        return Ok(());
    };
    let owned = existing
        .owner_references()
        .iter()
        .any(|r| Some(&r.uid) == owner.meta().uid.as_ref());
    if owned {
        api.delete(name, &DeleteParams::default()).await?;
        tracing::info!(kind = %K::kind(&K::DynamicType::default()), name, "deleted child no longer wanted");
    }
    Ok(())
}

/// Writes the status through the status subresource, only when it changed.
async fn write_status(
    client: &Client,
    namespace: &str,
    bookstore: &Bookstore,
    observed: &Observed<'_>,
) -> Result<(), Error> {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let status = status::compute(bookstore, observed, &now);
    let previous = bookstore.status.as_ref();
    if previous == Some(&status) {
        return Ok(());
    }
    let api = Api::<Bookstore>::namespaced(client.clone(), namespace);
    let patch = serde_json::json!({
        "apiVersion": Bookstore::api_version(&()),
        "kind": Bookstore::kind(&()),
        "status": status,
    });
    api.patch_status(
        &bookstore.name_any(),
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    tracing::info!(ready = ?status::ready_condition(&status).map(|c| &c.status), "status updated");
    Ok(())
}

/// Records an Event on the Bookstore; failing to record one never fails the reconcile.
async fn publish(
    context: &Context,
    bookstore: &Bookstore,
    type_: EventType,
    reason: &str,
    note: &str,
) {
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note.to_owned()),
        action: "Reconcile".to_owned(),
        secondary: None,
    };
    if let Err(error) = context
        .recorder
        .publish(&event, &bookstore.object_ref(&()))
        .await
    {
        tracing::warn!(error = %error, "could not record an Event");
    }
}
