//! Leader election on a Lease, as client-go does it: several replicas may run, one reconciles.
//!
//! Every write carries the resourceVersion the candidate last read, so two candidates can never
//! both take the Lease (the API server accepts one write and rejects the other with a conflict).
//! A Lease counts as expired `Timings::lease_duration` after a candidate last *saw* it change, by
//! its own clock, so clock skew between nodes does not matter. The leader gives up on its own when
//! it could not renew for `Timings::renew_deadline` (shorter than the lease duration): cut off from
//! the API server, it stops before anyone else may take over.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Client;
use kube::api::{Api, PostParams};
use tokio::sync::oneshot;

/// How long a Lease lasts, how long the leader keeps trying to renew it, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// A Lease not seen to change for this long is expired: another candidate may take it.
    pub lease_duration: Duration,
    /// The leader steps down when it could not renew for this long.
    pub renew_deadline: Duration,
    /// How often the leader renews and the others look.
    pub retry_period: Duration,
}

impl Default for Timings {
    /// client-go's defaults.
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(3),
        }
    }
}

impl Timings {
    /// Timings in whole seconds, refused unless retry period < renew deadline < lease duration
    /// (otherwise a leader cut off could still lead when another takes over).
    pub fn from_secs(
        lease_duration: u64,
        renew_deadline: u64,
        retry_period: u64,
    ) -> Result<Self, String> {
        if !(0 < retry_period && retry_period < renew_deadline && renew_deadline < lease_duration) {
            return Err(format!(
                "the leader election needs retry period < renew deadline < lease duration, got {retry_period} s, {renew_deadline} s and {lease_duration} s"
            ));
        }
        Ok(Self {
            lease_duration: Duration::from_secs(lease_duration),
            renew_deadline: Duration::from_secs(renew_deadline),
            retry_period: Duration::from_secs(retry_period),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error(
        "namespace {0:?} does not exist, so the leader election Lease cannot be created there: set POD_NAMESPACE (or --lease-namespace) to the operator's namespace, or run with --leader-election=false"
    )]
    NamespaceMissing(String),
    #[error(
        "not allowed to use Leases in namespace {namespace:?} ({message}): grant get, create and update on leases there (deploy/operator/rbac), or run with --leader-election=false"
    )]
    Forbidden { namespace: String, message: String },
    #[error("the leader election failed: {}", crate::error::api_message(.0))]
    Api(kube::Error),
}

/// The Lease as a candidate last saw it, and when (by its own clock).
struct Seen {
    lease: Lease,
    record: (Option<String>, Option<MicroTime>, Option<i32>),
    at: Instant,
}

/// One candidate.
pub struct Candidate {
    api: Api<Lease>,
    namespace: String,
    name: String,
    identity: String,
    seen: Option<Seen>,
    /// Set once the Lease has been read: this candidate can take over when the leader goes.
    in_contact: Option<Arc<AtomicBool>>,
    timings: Timings,
}

impl Candidate {
    pub fn new(client: Client, namespace: &str, name: &str, identity: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            identity: identity.to_owned(),
            seen: None,
            in_contact: None,
            timings: Timings::default(),
        }
    }

    #[must_use]
    pub fn with_timings(self, timings: Timings) -> Self {
        Self { timings, ..self }
    }

    /// `flag` is set once this candidate has read the Lease (a standby's readiness).
    pub fn reporting_contact(self, flag: Arc<AtomicBool>) -> Self {
        Self {
            in_contact: Some(flag),
            ..self
        }
    }

    /// Waits until this candidate leads. Fails at once when the Lease cannot be used at all (no
    /// such namespace, no permission); other errors are retried.
    pub async fn lead(mut self) -> Result<Leadership, LeaderError> {
        tracing::info!(lease = %self.name, namespace = %self.namespace, identity = %self.identity, "waiting for leadership");
        loop {
            let attempt = self.try_acquire_or_renew().await;
            if let (Ok(_), Some(flag)) = (&attempt, &self.in_contact) {
                flag.store(true, Ordering::Release);
            }
            match attempt {
                Ok(true) => break,
                Ok(false) => {}
                Err(error) => {
                    let error = self.classify(error);
                    if !matches!(error, LeaderError::Api(_)) {
                        return Err(error);
                    }
                    tracing::warn!(error = %error, "leader election attempt failed; retrying");
                }
            }
            tokio::time::sleep(self.timings.retry_period).await;
        }
        tracing::info!(lease = %self.name, identity = %self.identity, "leading");
        let (lost_tx, lost_rx) = oneshot::channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let renewing = tokio::spawn(self.keep(Instant::now(), lost_tx, stop_rx));
        Ok(Leadership {
            lost: lost_rx,
            stop: Some(stop_tx),
            renewing,
        })
    }

    /// Renews until the deadline passes without a renewal, another candidate holds the Lease, or
    /// `stop` asks to step down (then the Lease is released for the next leader).
    async fn keep(
        mut self,
        mut renewed: Instant,
        lost: oneshot::Sender<String>,
        mut stop: oneshot::Receiver<()>,
    ) {
        let reason = loop {
            // Wake for the next renewal, or at the deadline when renewals keep failing.
            let Timings {
                renew_deadline,
                retry_period,
                ..
            } = self.timings;
            let deadline = renewed + renew_deadline;
            let wake = (Instant::now() + retry_period).min(deadline);
            tokio::select! {
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
                _ = &mut stop => {
                    self.release().await;
                    return;
                }
            }
            if Instant::now() >= deadline {
                break format!("could not renew the Lease within {renew_deadline:?}");
            }
            let attempt = Instant::now();
            match tokio::time::timeout_at(
                tokio::time::Instant::from_std(deadline),
                self.try_acquire_or_renew(),
            )
            .await
            {
                Ok(Ok(true)) => renewed = attempt,
                Ok(Ok(false)) => break "another candidate holds the Lease".to_owned(),
                Ok(Err(error)) => {
                    tracing::warn!(
                        error = crate::error::api_message(&error),
                        "could not renew the Lease; retrying"
                    );
                }
                Err(_) => break format!("could not renew the Lease within {renew_deadline:?}"),
            }
        };
        tracing::warn!(%reason, "leadership lost");
        let _ = lost.send(reason);
    }

    /// One round: take the Lease if it is free or expired, renew it if it is ours. `Ok(true)` when
    /// this candidate holds it afterwards.
    async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
        // The leader writes straight on top of its last write; a conflict sends it back to read.
        let current = match self.seen.as_ref().filter(|s| self.holds(&s.lease)) {
            Some(seen) => seen.lease.clone(),
            None => match self.api.get_opt(&self.name).await? {
                Some(lease) => lease,
                None => return self.create(now).await,
            },
        };
        self.observe(&current);
        let spec = current.spec.clone().unwrap_or_default();
        let ours = self.holds(&current);
        let held_by_other = spec
            .holder_identity
            .as_deref()
            .is_some_and(|h| !h.is_empty())
            && !ours;
        if held_by_other && !self.expired(&spec) {
            return Ok(false);
        }
        let mut next = current;
        next.spec = Some(LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(seconds(self.timings.lease_duration)),
            acquire_time: if ours {
                spec.acquire_time
            } else {
                Some(now.clone())
            },
            renew_time: Some(now),
            lease_transitions: Some(spec.lease_transitions.unwrap_or(0) + i32::from(!ours)),
            ..spec
        });
        match self
            .api
            .replace(&self.name, &PostParams::default(), &next)
            .await
        {
            Ok(written) => {
                self.observe(&written);
                Ok(true)
            }
            Err(kube::Error::Api(status)) if status.code == 409 => {
                self.seen = None;
                Ok(false)
            }
            Err(error) => Err(error),
        }
    }

    async fn create(&mut self, now: MicroTime) -> Result<bool, kube::Error> {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.identity.clone()),
                lease_duration_seconds: Some(seconds(self.timings.lease_duration)),
                acquire_time: Some(now.clone()),
                renew_time: Some(now),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
        };
        match self.api.create(&PostParams::default(), &lease).await {
            Ok(created) => {
                self.observe(&created);
                Ok(true)
            }
            // Another candidate created it first.
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Notes when the Lease's record last changed, by this candidate's clock.
    fn observe(&mut self, lease: &Lease) {
        let spec = lease.spec.as_ref();
        let record = (
            spec.and_then(|s| s.holder_identity.clone()),
            spec.and_then(|s| s.renew_time.clone()),
            spec.and_then(|s| s.lease_transitions),
        );
        let changed = self.seen.as_ref().is_none_or(|seen| seen.record != record);
        let at = match &self.seen {
            Some(seen) if !changed => seen.at,
            _ => Instant::now(),
        };
        self.seen = Some(Seen {
            lease: lease.clone(),
            record,
            at,
        });
    }

    fn expired(&self, spec: &LeaseSpec) -> bool {
        let duration = spec
            .lease_duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map_or(self.timings.lease_duration, Duration::from_secs);
        self.seen
            .as_ref()
            .is_none_or(|seen| seen.at.elapsed() >= duration)
    }

    fn holds(&self, lease: &Lease) -> bool {
        lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref())
            == Some(self.identity.as_str())
    }

    /// Gives the Lease up so that a standby replica takes over at once.
    async fn release(&mut self) {
        let Some(seen) = self.seen.take().filter(|s| self.holds(&s.lease)) else {
            return;
        };
        let mut released = seen.lease;
        if let Some(spec) = released.spec.as_mut() {
            spec.holder_identity = None;
            spec.lease_duration_seconds = Some(1);
            spec.renew_time = Some(MicroTime(k8s_openapi::jiff::Timestamp::now()));
        }
        match self
            .api
            .replace(&self.name, &PostParams::default(), &released)
            .await
        {
            Ok(_) => tracing::info!(lease = %self.name, "released the Lease"),
            Err(error) => tracing::warn!(
                error = crate::error::api_message(&error),
                "could not release the Lease"
            ),
        }
    }

    fn classify(&self, error: kube::Error) -> LeaderError {
        match error {
            kube::Error::Api(status)
                if status.code == 404
                    && status
                        .details
                        .as_ref()
                        .is_some_and(|d| d.kind == "namespaces") =>
            {
                LeaderError::NamespaceMissing(self.namespace.clone())
            }
            kube::Error::Api(status) if status.code == 403 => LeaderError::Forbidden {
                namespace: self.namespace.clone(),
                message: status.message,
            },
            other => LeaderError::Api(other),
        }
    }
}

fn seconds(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs()).unwrap_or(i32::MAX)
}

/// Held while this replica leads.
pub struct Leadership {
    lost: oneshot::Receiver<String>,
    stop: Option<oneshot::Sender<()>>,
    renewing: tokio::task::JoinHandle<()>,
}

impl Leadership {
    /// Resolves, with the reason, when leadership is lost.
    pub async fn lost(&mut self) -> String {
        (&mut self.lost)
            .await
            .unwrap_or_else(|_| "the renewal task stopped".to_owned())
    }

    /// Steps down and releases the Lease.
    pub async fn release(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.renewing).await;
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        self.renewing.abort();
    }
}

/// A default identity for a replica run outside a pod: the host name and a random suffix, so
/// that two local runs never share one.
pub fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "bookstore-operator".to_owned());
    format!("{host}-{:06x}", fastrand::u32(..0x100_0000))
}

#[cfg(test)]
mod tests {

    #[test]
    fn timings_must_let_a_cut_off_leader_stop_before_another_takes_over() {
        assert_eq!(Timings::from_secs(15, 10, 3), Ok(Timings::default()));
        assert!(Timings::from_secs(8, 5, 1).is_ok());
        for (lease, renew, retry) in [(10, 10, 3), (15, 10, 10), (15, 20, 3), (15, 10, 0)] {
            let refused = Timings::from_secs(lease, renew, retry).expect_err("refused");
            assert!(
                refused.contains("retry period < renew deadline < lease duration"),
                "{refused}"
            );
        }
    }
    use super::*;

    fn lease(holder: Option<&str>, duration: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_owned),
            lease_duration_seconds: Some(duration),
            ..LeaseSpec::default()
        }
    }

    fn candidate() -> Candidate {
        let (service, _handle) = tower_test::mock::pair::<
            http::Request<kube::client::Body>,
            http::Response<kube::client::Body>,
        >();
        Candidate::new(Client::new(service, "ns"), "ns", "lease", "me")
    }

    #[tokio::test]
    async fn a_lease_expires_its_duration_after_it_was_last_seen_changing() {
        let mut me = candidate();
        assert!(
            me.expired(&lease(Some("other"), 15)),
            "never seen: treat as expired"
        );
        let other = Lease {
            spec: Some(lease(Some("other"), 15)),
            ..Lease::default()
        };
        me.observe(&other);
        assert!(!me.expired(&lease(Some("other"), 15)));
        // Seen again unchanged: the clock keeps running from the first sighting.
        let first = me.seen.as_ref().map(|s| s.at);
        me.observe(&other);
        assert_eq!(me.seen.as_ref().map(|s| s.at), first);
        assert!(me.expired(&lease(Some("other"), 0)));
    }

    #[tokio::test]
    async fn the_holder_is_recognised_by_identity() {
        let me = candidate();
        let mine = Lease {
            spec: Some(lease(Some("me"), 15)),
            ..Lease::default()
        };
        assert!(me.holds(&mine));
        assert!(!me.holds(&Lease::default()));
    }

    #[test]
    fn default_identities_differ() {
        assert_ne!(default_identity(), default_identity());
    }
}
