//! What the API pods say of their database. Pod readiness does not tell: the API stays ready
//! through a database outage (every replica shares the database, and a Service without ready pods
//! refuses connections), answering 503 at once instead. So the leader asks every ready pod of each
//! Bookstore with a database, every `PROBE_EVERY`, on its metrics port (`GET /readyz` answers
//! `"database": "reachable"` or `"unreachable"`), and a changed verdict (all pods reach it, some do
//! not, none does) triggers a reconcile, whose status then names the database as the cause.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::sync::mpsc;

use crate::children::INSTANCE_LABEL;
use crate::crd::Bookstore;

/// How often each Bookstore's pods are asked.
pub const PROBE_EVERY: Duration = Duration::from_secs(10);
/// The longest an answer is waited for (a pod that does not answer tells nothing).
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Pods asked at the same time.
const CONCURRENT_PROBES: usize = 32;
/// Larger answers are not the API's.
const LARGEST_ANSWER: usize = 4096;

/// What a Bookstore's pods said in the last round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseReport {
    /// Every pod that answered reaches the database.
    Reachable,
    /// Some pods do not (a node or zone cut off from it).
    PartlyUnreachable,
    /// No pod that answered does.
    Unreachable,
}

impl DatabaseReport {
    /// The verdict of `unreachable` pods out of `answered`; `None` when none answered.
    fn of(unreachable: usize, answered: usize) -> Option<Self> {
        match unreachable {
            _ if answered == 0 => None,
            0 => Some(Self::Reachable),
            n if n == answered => Some(Self::Unreachable),
            _ => Some(Self::PartlyUnreachable),
        }
    }
}

/// The last report per Bookstore.
#[derive(Debug, Default)]
pub struct DatabaseReports {
    by_bookstore: Mutex<HashMap<ObjectRef<Bookstore>, DatabaseReport>>,
}

impl DatabaseReports {
    pub fn get(&self, bookstore: &ObjectRef<Bookstore>) -> Option<DatabaseReport> {
        self.lock().get(bookstore).copied()
    }

    /// Whether the verdict changed.
    pub fn record(&self, bookstore: ObjectRef<Bookstore>, report: DatabaseReport) -> bool {
        self.lock().insert(bookstore, report) != Some(report)
    }

    fn retain(&self, alive: impl Fn(&ObjectRef<Bookstore>) -> bool) {
        self.lock().retain(|bookstore, _| alive(bookstore));
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ObjectRef<Bookstore>, DatabaseReport>> {
        self.by_bookstore
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A pod's address, if it is ready and not going away.
fn ready_address(pod: &Pod) -> Option<&str> {
    if pod.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let status = pod.status.as_ref()?;
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    ready.then_some(status.pod_ip.as_deref()?)
}

/// The ready pods of a Bookstore: name and address.
pub fn ready_pods(pods: &Store<Pod>, bookstore: &Bookstore) -> Vec<(String, String)> {
    let namespace = bookstore.namespace();
    let name = bookstore.name_any();
    let mut found: Vec<(String, String)> = pods
        .state()
        .iter()
        .filter(|pod| pod.namespace() == namespace)
        .filter(|pod| pod.labels().get(INSTANCE_LABEL) == Some(&name))
        .filter_map(|pod| Some((pod.name_any(), ready_address(pod)?.to_owned())))
        .collect();
    found.sort();
    found
}

/// Asks, every `PROBE_EVERY`, every ready pod of each Bookstore with a database, records the
/// verdicts and sends the Bookstores whose verdict changed.
pub async fn run(
    bookstores: Store<Bookstore>,
    pods: Store<Pod>,
    reports: &DatabaseReports,
    changed: mpsc::UnboundedSender<ObjectRef<Bookstore>>,
) {
    let mut every = tokio::time::interval(PROBE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let targets: Vec<(ObjectRef<Bookstore>, String)> = bookstores
            .state()
            .iter()
            .filter(|bookstore| bookstore.database().is_some())
            .flat_map(|bookstore| {
                let key = ObjectRef::from_obj(bookstore.as_ref());
                ready_pods(&pods, bookstore)
                    .into_iter()
                    .map(move |(_, address)| (key.clone(), address))
            })
            .collect();
        let answers: Vec<_> = futures_util::stream::iter(targets)
            .map(|(bookstore, address)| async move { (bookstore, ask(&address).await) })
            .buffer_unordered(CONCURRENT_PROBES)
            .collect()
            .await;
        // Per Bookstore: pods that cannot reach the database, pods that answered.
        let mut tallies: HashMap<ObjectRef<Bookstore>, (usize, usize)> = HashMap::new();
        for (bookstore, reachable) in answers {
            let Some(reachable) = reachable else { continue };
            let tally = tallies.entry(bookstore).or_default();
            tally.0 += usize::from(!reachable);
            tally.1 += 1;
        }
        for (bookstore, (unreachable, answered)) in tallies {
            let Some(report) = DatabaseReport::of(unreachable, answered) else {
                continue;
            };
            if reports.record(bookstore.clone(), report) {
                let _ = changed.send(bookstore);
            }
        }
        let alive = bookstores.state();
        reports.retain(|key| {
            alive
                .iter()
                .any(|b| ObjectRef::from_obj(b.as_ref()) == *key)
        });
    }
}

/// `GET http://ADDRESS:8081/readyz`: whether the pod finds its database reachable; `None` when it
/// does not answer, or is not ready.
async fn ask(address: &str) -> Option<bool> {
    let target =
        std::net::SocketAddr::new(address.parse().ok()?, bookstore_contract::API_METRICS_PORT);
    let answer = async {
        let stream = tokio::net::TcpStream::connect(target).await.ok()?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .ok()?;
        let connection = tokio::spawn(connection);
        let request = http::Request::get(bookstore_contract::READYZ_PATH)
            .header(http::header::HOST, target.to_string())
            .body(Empty::<Bytes>::new())
            .ok()?;
        let response = sender.send_request(request).await.ok()?;
        if response.status() != http::StatusCode::OK {
            connection.abort();
            return None;
        }
        let body = Limited::new(response.into_body(), LARGEST_ANSWER)
            .collect()
            .await
            .ok()?
            .to_bytes();
        connection.abort();
        database_reachable(&body)
    };
    tokio::time::timeout(PROBE_TIMEOUT, answer)
        .await
        .ok()
        .flatten()
}

/// Reads `{"status": "ok", "database": "reachable" | "unreachable"}`.
fn database_reachable(body: &[u8]) -> Option<bool> {
    let answer: serde_json::Value = serde_json::from_slice(body).ok()?;
    match answer.get("database")?.as_str()? {
        "reachable" => Some(true),
        "unreachable" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use kube::runtime::watcher;

    use super::*;

    #[test]
    fn the_api_readiness_answer_is_read_strictly() {
        assert_eq!(
            database_reachable(br#"{"status":"ok","database":"reachable"}"#),
            Some(true)
        );
        assert_eq!(
            database_reachable(br#"{"status":"ok","database":"unreachable"}"#),
            Some(false)
        );
        assert_eq!(database_reachable(br#"{"status":"ok"}"#), None);
        assert_eq!(database_reachable(b"not json"), None);
    }

    fn pod(name: &str, instance: &str, ip: &str, ready: bool, leaving: bool) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "books",
                         "labels": {"app.kubernetes.io/instance": instance},
                         "deletionTimestamp": leaving.then_some("2026-12-03T10:00:00Z")},
            "status": {"podIP": ip, "conditions": [
                {"type": "Ready", "status": if ready { "True" } else { "False" }}]}
        }))
        .expect("pod")
    }

    #[test]
    fn only_ready_pods_of_the_bookstore_that_stay_are_asked() {
        let (store, mut writer) = kube::runtime::reflector::store::<Pod>();
        for pod in [
            pod("shop-b", "shop", "10.0.0.2", true, false),
            pod("shop-a", "shop", "10.0.0.1", true, false),
            pod("shop-starting", "shop", "10.0.0.3", false, false),
            pod("shop-leaving", "shop", "10.0.0.4", true, true),
            pod("other", "other", "10.0.0.5", true, false),
        ] {
            writer.apply_watcher_event(&watcher::Event::Apply(pod));
        }
        let shop = crate::children::fixtures::bookstore(crate::children::fixtures::with_database());
        assert_eq!(
            ready_pods(&store, &shop),
            [
                ("shop-a".to_owned(), "10.0.0.1".to_owned()),
                ("shop-b".to_owned(), "10.0.0.2".to_owned())
            ]
        );
    }

    #[test]
    fn the_verdict_counts_the_pods_that_answered_and_only_its_change_is_news() {
        assert_eq!(DatabaseReport::of(0, 0), None, "nobody answered");
        assert_eq!(DatabaseReport::of(0, 3), Some(DatabaseReport::Reachable));
        assert_eq!(
            DatabaseReport::of(1, 3),
            Some(DatabaseReport::PartlyUnreachable)
        );
        assert_eq!(DatabaseReport::of(3, 3), Some(DatabaseReport::Unreachable));
        let reports = DatabaseReports::default();
        let shop = ObjectRef::new("shop").within("books");
        assert!(
            reports.record(shop.clone(), DatabaseReport::Reachable),
            "first"
        );
        assert!(!reports.record(shop.clone(), DatabaseReport::Reachable));
        assert!(reports.record(shop.clone(), DatabaseReport::PartlyUnreachable));
        assert!(reports.record(shop.clone(), DatabaseReport::Unreachable));
        assert_eq!(reports.get(&shop), Some(DatabaseReport::Unreachable));
    }
}
