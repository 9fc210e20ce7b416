//! Reconcile one Bookstore: inputs (the Secret values it references) → desired children → apply what differs →
//! observe → status and Events. Reads come from the caches; a Bookstore whose children and
//! status already match costs no request at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::reflector::ObjectRef;
use kube::{Client, Resource, ResourceExt};

use crate::apply::{self, Applied};
use crate::cache::Caches;
use crate::children::{self, MANAGER, RollKey};
use crate::crd::{Bookstore, BookstoreStatus};
use crate::database_probe::DatabaseReports;
use crate::error::Error;
use crate::inputs;
use crate::metrics::Metrics;
use crate::problems::{self, Lasting, Problem};
use crate::status::{self, Observed};
use crate::zones::{self, Placement};

/// Periodic re-check when nothing happens (watches trigger reconciles on every change). It reads
/// only the caches, so it sends nothing unless something drifted unnoticed.
pub const RESYNC: Duration = Duration::from_secs(600);
const FIRST_RETRY: Duration = Duration::from_secs(5);
const LONGEST_RETRY: Duration = Duration::from_secs(300);
/// How long an autoscaler may go without metrics, or a load balancer without an address, before
/// it is reported: both are normal for a while after creation.
pub const PROBLEM_GRACE: Duration = Duration::from_secs(300);

/// Shared by every reconcile.
pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub caches: Caches,
    /// Keys the pod-template digests of referenced Secret values.
    pub roll_key: RollKey,
    /// What the API pods last said of their database (`database_probe`).
    pub database_reports: DatabaseReports,
    /// Per Bookstore uid: consecutive failures (for the retry backoff).
    failures: Mutex<HashMap<String, u32>>,
    /// Per Bookstore uid: the status last written, until the cache shows it.
    written: Mutex<HashMap<String, Written>>,
    /// Per Bookstore uid: since when its Service has waited for a load balancer address (first
    /// seen waiting by this replica: a Service switched to LoadBalancer waits from then).
    awaiting_address: Mutex<HashMap<String, Time>>,
    problem_grace: Duration,
}

/// A status write the Bookstore cache may not show yet.
struct Written {
    /// The Bookstore's resourceVersion before the write: while the cache still holds it, the
    /// cache is behind and `status` is the latest.
    before: Option<String>,
    status: BookstoreStatus,
}

impl Context {
    pub fn new(
        client: Client,
        recorder: Recorder,
        metrics: Arc<Metrics>,
        caches: Caches,
        roll_key: RollKey,
    ) -> Self {
        Self {
            client,
            recorder,
            metrics,
            caches,
            roll_key,
            database_reports: DatabaseReports::default(),
            failures: Mutex::default(),
            written: Mutex::default(),
            awaiting_address: Mutex::default(),
            problem_grace: PROBLEM_GRACE,
        }
    }

    /// Sets how long a problem that is normal for a while may last before it is reported.
    #[must_use]
    pub fn with_problem_grace(mut self, grace: Duration) -> Self {
        self.problem_grace = grace;
        self
    }

    /// Forgets what was kept for Bookstores that no longer exist.
    pub fn prune(&self) {
        let bookstores = self.caches.bookstores.state();
        let alive = |uid: &String| bookstores.iter().any(|b| b.uid().as_ref() == Some(uid));
        lock(&self.failures).retain(|uid, _| alive(uid));
        lock(&self.written).retain(|uid, _| alive(uid));
        lock(&self.awaiting_address).retain(|uid, _| alive(uid));
    }

    /// Consecutive failures so far, after counting this outcome.
    fn record_outcome(&self, bookstore: &Bookstore, failed: bool) -> u32 {
        let key = key(bookstore);
        let mut failures = lock(&self.failures);
        if failed {
            let count = failures.entry(key).or_insert(0);
            *count = count.saturating_add(1);
            *count
        } else {
            failures.remove(&key);
            0
        }
    }

    /// The newest status known: the one last written, while the cache has not caught up.
    fn latest_status(&self, bookstore: &Bookstore) -> Option<BookstoreStatus> {
        let mut written = lock(&self.written);
        let key = key(bookstore);
        match written.get(&key) {
            Some(w) if w.before == bookstore.resource_version() => Some(w.status.clone()),
            Some(_) => {
                written.remove(&key);
                bookstore.status.clone()
            }
            None => bookstore.status.clone(),
        }
    }
}

fn key(bookstore: &Bookstore) -> String {
    bookstore.uid().unwrap_or_else(|| bookstore.name_any())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[tracing::instrument(skip_all, fields(namespace = bookstore.namespace(), name = bookstore.name_any()))]
pub async fn reconcile(bookstore: Arc<Bookstore>, context: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_bookstore(&bookstore, &context).await;
    context
        .metrics
        .observe_reconcile(started.elapsed(), result.as_ref().err().map(Error::reason));
    context.record_outcome(&bookstore, result.is_err());
    // A problem still within its grace period is looked at again when that ends.
    result.map(|recheck| Action::requeue(recheck.unwrap_or_else(|| jittered(RESYNC))))
}

/// Retries a failed Bookstore with exponential backoff (5 s doubling to 5 min, ±10 %); others
/// are not held up.
pub fn error_policy(bookstore: Arc<Bookstore>, error: &Error, context: Arc<Context>) -> Action {
    let failures = lock(&context.failures)
        .get(&key(&bookstore))
        .copied()
        .unwrap_or(1);
    let delay = FIRST_RETRY
        .saturating_mul(2_u32.saturating_pow(failures.saturating_sub(1).min(16)))
        .min(LONGEST_RETRY);
    tracing::warn!(reason = error.reason(), error = %error, retry_in_s = delay.as_secs(), "reconcile failed");
    Action::requeue(jittered(delay))
}

/// `base` ±10 % (in whole milliseconds), so that Bookstores created together do not come back
/// together.
fn jittered(base: Duration) -> Duration {
    let millis = u64::try_from(base.as_millis()).unwrap_or(u64::MAX);
    let spread = millis / 10;
    Duration::from_millis(millis - spread + fastrand::u64(0..=spread * 2))
}

async fn reconcile_bookstore(
    bookstore: &Bookstore,
    context: &Context,
) -> Result<Option<Duration>, Error> {
    let namespace = bookstore.namespace().ok_or(Error::NotNamespaced)?;
    context.caches.synced().await?;
    let outcome = converge(bookstore, context, &namespace).await;
    let applied = outcome.as_ref().ok();
    // What stands now: as just applied, else as cached.
    let name = bookstore.name_any();
    let deployment = applied
        .and_then(|a| a.deployment.clone())
        .or_else(|| context.caches.child(&namespace, &name));
    let service = applied
        .and_then(|a| a.service.clone())
        .or_else(|| context.caches.child(&namespace, &name));

    // The Bookstore's pods, read once: its problems and its zones both come from them.
    let all_pods = context.caches.pods.state();
    let pods: Vec<&Pod> = problems::pods_of(bookstore, &all_pods).collect();
    let (problem, recheck) = match &outcome {
        Err(error) => (Some(Problem::from(error)), None),
        Ok(_) => find_problem(
            bookstore,
            context,
            deployment.as_deref(),
            service.as_deref(),
            &pods,
        ),
    };
    let previous = context.latest_status(bookstore);
    // One Warning per problem (not per retry), and a Normal Event for what was written.
    let warning = problem
        .as_ref()
        .filter(|problem| !status::reports(previous.as_ref(), problem));
    // Recovered from the problem reported before, even when another one (say, an autoscaler
    // without metrics) now stands in its place.
    let recovered = status::reported_problem(previous.as_ref())
        .filter(|reason| problem.as_ref().is_none_or(|p| p.reason != *reason))
        .map(str::to_owned);
    let changes = applied.map(|a| &a.changes).filter(|c| !c.is_empty());
    let placement = deployment.is_some().then(|| {
        Placement::of(pods.iter().copied(), |node| {
            zones::zone_of(&context.caches.nodes, node)
        })
    });
    let observed = Observed {
        deployment: deployment.as_deref(),
        service: service.as_deref(),
        problem: problem.clone(),
        placement,
    };
    let (written, (), (), ()) = tokio::join!(
        write_status(context, &namespace, bookstore, previous, &observed),
        async {
            if let Some(reason) = &recovered {
                // The problem as the action: Events of one reason and action are one series,
                // whose note stays the first one's, and each recovery is news of its own.
                let note = format!("no longer {reason}");
                let event = (EventType::Normal, "Recovered", reason.as_str());
                publish(context, bookstore, event, &note).await;
            }
        },
        async {
            if let Some(problem) = warning {
                let reason = problem.reason;
                let event = (EventType::Warning, reason, RECONCILE);
                publish(context, bookstore, event, &problem.message).await;
            }
        },
        async {
            if let Some(changes) = changes {
                let note = changes.join(", ");
                let event = (EventType::Normal, "Applied", RECONCILE);
                publish(context, bookstore, event, &note).await;
            }
        },
    );
    written?;
    outcome.map(|_| recheck)
}

/// The first problem of the children and pods, most specific first; and when to look again at
/// one still within its grace period.
fn find_problem(
    bookstore: &Bookstore,
    context: &Context,
    deployment: Option<&Deployment>,
    service: Option<&Service>,
    pods: &[&Pod],
) -> (Option<Problem>, Option<Duration>) {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let awaiting_since = {
        let mut awaiting = lock(&context.awaiting_address);
        match service.filter(|service| problems::awaits_load_balancer(bookstore, service)) {
            Some(_) => Some(
                awaiting
                    .entry(key(bookstore))
                    .or_insert_with(|| now.clone())
                    .clone(),
            ),
            None => {
                awaiting.remove(&key(bookstore));
                None
            }
        }
    };
    let found = deployment
        .and_then(problems::pod_creation_problem)
        .or_else(|| problems::pod_problem(pods.iter().copied(), &now))
        .or_else(|| deployment.and_then(|d| problems::rollout_problem(d, pods.iter().copied())))
        .or_else(|| {
            let report = context
                .database_reports
                .get(&ObjectRef::from_obj(bookstore))?;
            problems::database_problem(bookstore, report)
        });
    if found.is_some() {
        return (found, None);
    }
    let grace = context.problem_grace;
    let autoscaler = bookstore.autoscaling().and_then(|_| {
        let namespace = bookstore.namespace()?;
        context
            .caches
            .child::<HorizontalPodAutoscaler>(&namespace, &bookstore.name_any())
    });
    let lasting = [
        autoscaler.and_then(|hpa| problems::autoscaler_problem(&hpa, &now, grace)),
        service
            .zip(awaiting_since.as_ref())
            .and_then(|(service, since)| {
                problems::load_balancer_problem(bookstore, service, since, &now, grace)
            }),
    ];
    let mut recheck: Option<Duration> = None;
    for finding in lasting.into_iter().flatten() {
        match finding {
            Lasting::Lasted(problem) => return (Some(problem), None),
            Lasting::RecheckIn(wait) => recheck = Some(recheck.map_or(wait, |r| r.min(wait))),
        }
    }
    (None, recheck)
}

/// Input, desired state, apply.
async fn converge(
    bookstore: &Bookstore,
    context: &Context,
    namespace: &str,
) -> Result<Applied, Error> {
    let inputs = inputs::inputs(&context.client, &context.caches, bookstore, namespace).await?;
    let children = children::desired(bookstore, &inputs.digests(&context.roll_key, bookstore));
    apply::apply_children(&context.client, &context.caches, bookstore, &children).await
}

/// Writes the status through the status subresource, only when it changed.
async fn write_status(
    context: &Context,
    namespace: &str,
    bookstore: &Bookstore,
    previous: Option<BookstoreStatus>,
    observed: &Observed<'_>,
) -> Result<(), Error> {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let status = status::compute(bookstore, previous.as_ref(), observed, &now);
    if previous.as_ref() == Some(&status) {
        return Ok(());
    }
    let patch = serde_json::json!({
        "apiVersion": Bookstore::api_version(&()),
        "kind": Bookstore::kind(&()),
        "status": status,
    });
    Api::<Bookstore>::namespaced(context.client.clone(), namespace)
        .patch_status(
            &bookstore.name_any(),
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(|e| {
            Error::kube(
                "write the status of",
                format!("Bookstore {namespace}/{}", bookstore.name_any()),
                e,
            )
        })?;
    let ready = status::ready_condition(&status);
    tracing::info!(
        ready = ready.map_or("Unknown", |c| c.status.as_str()),
        reason = ready.map_or("", |c| c.reason.as_str()),
        "status updated"
    );
    lock(&context.written).insert(
        key(bookstore),
        Written {
            before: bookstore.resource_version(),
            status,
        },
    );
    Ok(())
}

/// The action of most Events.
const RECONCILE: &str = "Reconcile";

/// Records an Event (type, reason, action) on the Bookstore; failing to record one never fails
/// the reconcile.
async fn publish(
    context: &Context,
    bookstore: &Bookstore,
    (type_, reason, action): (EventType, &str, &str),
    note: &str,
) {
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note.to_owned()),
        action: action.to_owned(),
        secondary: None,
    };
    if let Err(error) = context
        .recorder
        .publish(&event, &bookstore.object_ref(&()))
        .await
    {
        tracing::warn!(
            error = crate::error::api_message(&error),
            "could not record an Event"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent_and_varies() {
        let samples: Vec<Duration> = (0..200).map(|_| jittered(RESYNC)).collect();
        assert!(samples.iter().all(|d| (540..=660).contains(&d.as_secs())));
        assert!(samples.iter().any(|d| *d != samples[0]), "not a constant");
    }
}
