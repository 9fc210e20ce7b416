//! What keeps a Bookstore from working, found in what its children and pods report: each a
//! condition reason with a message for people (never a secret value), reported by `status` and
//! as a Warning Event.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ContainerStateTerminated, ContainerStatus, Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use crate::crd::{Bookstore, ServiceType};
use crate::database_probe::DatabaseReport;
use crate::error::Error;

/// Something that keeps the Bookstore from working, reported as a condition reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// CamelCase condition reason, e.g. `DatabaseSecretNotFound`.
    pub reason: &'static str,
    /// For people; never holds secret values.
    pub message: String,
    /// The pods serve regardless (the autoscaler cannot scale, the load balancer has no address):
    /// the Bookstore is degraded but stays Ready as its pods are.
    pub pods_serve: bool,
}

impl Problem {
    fn new(reason: &'static str, message: String) -> Self {
        Self {
            reason,
            message,
            pods_serve: false,
        }
    }

    fn serving(reason: &'static str, message: String) -> Self {
        Self {
            pods_serve: true,
            ..Self::new(reason, message)
        }
    }
}

impl From<&Error> for Problem {
    fn from(error: &Error) -> Self {
        Self::new(error.reason(), error.to_string())
    }
}

/// A problem that is normal for a while (an autoscaler waits for its first metrics, a cloud load
/// balancer takes minutes): reported only once it has lasted the grace period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lasting {
    /// It has lasted: report it.
    Lasted(Problem),
    /// Look again after this long.
    RecheckIn(Duration),
}

/// The Deployment cannot create its pods (a ResourceQuota, a LimitRange, an admission webhook
/// refused them): its `ReplicaFailure` condition, as a problem of the Bookstore.
pub fn pod_creation_problem(deployment: &Deployment) -> Option<Problem> {
    let failure = deployment_condition(deployment, "ReplicaFailure", "True", None)?;
    Some(Problem::new(
        "PodCreationFailed",
        format!(
            "Deployment {} cannot create pods: {}",
            deployment.name_any(),
            failure.message.as_deref().unwrap_or("no reason given")
        ),
    ))
}

/// The API pods cannot reach the database (their own reports, `database_probe`).
pub fn database_problem(bookstore: &Bookstore, report: DatabaseReport) -> Option<Problem> {
    let database = bookstore.database()?;
    let which = match report {
        DatabaseReport::Reachable => return None,
        DatabaseReport::Unreachable => "The API pods report",
        DatabaseReport::PartlyUnreachable => "Some of the API pods report",
    };
    Some(Problem::new(
        "DatabaseUnreachable",
        format!(
            "{which} that their database {}:{} does not answer: their requests get 503 until it does",
            database.host, database.port
        ),
    ))
}

/// Waiting reasons of a container whose image the kubelet cannot pull.
const IMAGE_PULL_FAILURES: [&str; 4] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
];
/// Waiting reasons of a container the kubelet cannot create (a Secret or ConfigMap it needs is
/// missing, ...): the kubelet's message says what.
const START_FAILURES: [&str; 2] = ["CreateContainerConfigError", "CreateContainerError"];
/// The longest part of a container's last words a message quotes.
const LONGEST_QUOTE: usize = 300;

/// The problem of the newest of `pods` (a Bookstore's pods; those going away are ignored) that
/// has one: an image that cannot be pulled, a container that cannot start, or one that keeps
/// exiting. The newest first: in a rollout, the new template's pods say what is wrong now, not
/// the old ones still waiting to be replaced. The message stays the same while the problem does
/// (no retry count, no alternating back-off wording), so it makes one Warning Event, not one per
/// retry.
pub fn pod_problem<'a>(pods: impl IntoIterator<Item = &'a Pod>, now: &Time) -> Option<Problem> {
    newest_first(pods).into_iter().find_map(|pod| {
        let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
        statuses
            .iter()
            .find_map(|container| container_problem(&pod.name_any(), container, now))
    })
}

/// The pods not going away, newest first, then by name: an order that does not depend on the
/// cache's.
fn newest_first<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> Vec<&'a Pod> {
    let mut pods: Vec<&Pod> = pods
        .into_iter()
        .filter(|pod| pod.metadata.deletion_timestamp.is_none())
        .collect();
    pods.sort_by(|a, b| {
        let created = |pod: &Pod| pod.metadata.creation_timestamp.clone();
        created(b)
            .cmp(&created(a))
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
    pods
}

/// A container restarted after a failed exit this recent, and not ready yet, is still
/// crash-looping: between two crashes the back-off is not shown. An exit longer ago (an OOM last
/// week) says nothing about a container now starting.
const RECENT_EXIT: Duration = Duration::from_secs(600);

fn container_problem(pod: &str, container: &ContainerStatus, now: &Time) -> Option<Problem> {
    let state = container.state.as_ref()?;
    let last_exit = container
        .last_state
        .as_ref()
        .and_then(|state| state.terminated.as_ref());
    let failed = |exit: &&ContainerStateTerminated| exit.exit_code != 0;
    // Just exited again (the back-off comes next), or running again right after a failed exit.
    let exited_again = state
        .terminated
        .as_ref()
        .filter(failed)
        .filter(|_| container.restart_count >= 1);
    let recent = |exit: &&ContainerStateTerminated| {
        exit.finished_at
            .as_ref()
            .and_then(|at| lasting(Some(at), now, RECENT_EXIT))
            .is_some_and(|left| left.is_some())
    };
    let restarted_after_failure = state.running.is_some()
        && !container.ready
        && container.restart_count >= 1
        && last_exit.filter(failed).is_some_and(|exit| recent(&exit));
    let (reason, last_exit) = match &state.waiting {
        Some(waiting) => (waiting.reason.as_deref()?, last_exit),
        None if exited_again.is_some() => ("CrashLoopBackOff", exited_again),
        None if restarted_after_failure => ("CrashLoopBackOff", last_exit),
        None => return None,
    };
    let waiting_message = state.waiting.as_ref().and_then(|w| w.message.as_deref());
    let name = &container.name;
    // The runtime could not start the process (a missing executable, a bad mount): one problem,
    // whether the kubelet shows the start error or the back-off after it.
    let start_error = last_exit.is_some_and(|exit| exit.reason.as_deref() == Some("StartError"));
    if reason == "RunContainerError" || (reason == "CrashLoopBackOff" && start_error) {
        return Some(Problem::new(
            "ContainerCannotStart",
            format!(
                "container {name} of pod {pod} cannot be started by the runtime (`kubectl describe pod {pod}` has its error)"
            ),
        ));
    }
    if IMAGE_PULL_FAILURES.contains(&reason) {
        return Some(Problem::new(
            "ImagePullFailed",
            format!(
                "container {name} of pod {pod} cannot pull its image {:?} (`kubectl describe pod {pod}` shows the registry's answer)",
                container.image
            ),
        ));
    }
    if START_FAILURES.contains(&reason) {
        return Some(Problem::new(
            "ContainerCannotStart",
            format!(
                "container {name} of pod {pod} cannot start: {}",
                waiting_message.unwrap_or(reason)
            ),
        ));
    }
    if reason == "CrashLoopBackOff" {
        let how = last_exit.map_or_else(
            || "it keeps exiting".to_owned(),
            |exit| {
                // Killed (an OOM, a signal: code 128 and above), the log's tail is whatever it
                // was doing, not why it stopped: not quoted.
                let words = (exit.exit_code < 128)
                    .then_some(exit.message.as_deref())
                    .flatten()
                    .and_then(|text| text.lines().rev().find(|line| !line.trim().is_empty()))
                    .map(|line| quote(line.trim()));
                let cause = exit.reason.as_deref().unwrap_or("exited");
                match words {
                    Some(words) => format!(
                        "it keeps exiting ({cause}, code {}): {words}",
                        exit.exit_code
                    ),
                    None => format!("it keeps exiting ({cause}, code {})", exit.exit_code),
                }
            },
        );
        return Some(Problem::new(
            "CrashLooping",
            format!("container {name} of pod {pod} is crash-looping: {how}"),
        ));
    }
    None
}

/// At most `LONGEST_QUOTE` characters of `text`.
fn quote(text: &str) -> String {
    match text.char_indices().nth(LONGEST_QUOTE) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// The reason of a Deployment's Progressing condition once its deadline passed.
pub const PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";

/// The Deployment made no progress within its deadline (`ProgressDeadlineExceeded`). Pods that
/// cannot be scheduled are the usual cause the other problems do not name: the message says so.
pub fn rollout_problem<'a>(
    deployment: &Deployment,
    pods: impl IntoIterator<Item = &'a Pod>,
) -> Option<Problem> {
    let stuck = deployment_condition(
        deployment,
        "Progressing",
        "False",
        Some(PROGRESS_DEADLINE_EXCEEDED),
    )?;
    let deadline = deployment
        .spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .unwrap_or(600);
    let mut message = format!(
        "Deployment {} made no progress for {deadline} s: {}",
        deployment.name_any(),
        stuck.message.as_deref().unwrap_or("no reason given")
    );
    let unschedulable = newest_first(pods).into_iter().find_map(|pod| {
        let condition = pod
            .status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == "PodScheduled" && c.status == "False")?;
        Some((
            pod.name_any(),
            condition.message.clone().unwrap_or_default(),
        ))
    });
    if let Some((pod, why)) = unschedulable {
        message.push_str(&format!("; pod {pod} cannot be scheduled: {why}"));
    }
    Some(Problem::new("RolloutStuck", message))
}

/// The autoscaler cannot scale (`ScalingActive` False: most often no metrics, as on a cluster
/// without metrics-server), for longer than `grace`.
pub fn autoscaler_problem(
    autoscaler: &HorizontalPodAutoscaler,
    now: &Time,
    grace: Duration,
) -> Option<Lasting> {
    let inactive = autoscaler
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "ScalingActive" && c.status == "False")?;
    let cause = inactive.reason.as_deref().unwrap_or("ScalingInactive");
    let reason = if cause.starts_with("FailedGet") {
        "AutoscalerWithoutMetrics"
    } else {
        "AutoscalingInactive"
    };
    lasting(inactive.last_transition_time.as_ref(), now, grace).map(|remaining| match remaining {
        Some(wait) => Lasting::RecheckIn(wait),
        None => Lasting::Lasted(Problem::serving(
            reason,
            format!(
                "HorizontalPodAutoscaler {} cannot scale ({cause}): {}",
                autoscaler.name_any(),
                inactive.message.as_deref().unwrap_or("no reason given")
            ),
        )),
    })
}

/// Whether the Bookstore wants a load balancer and its Service has no address yet.
pub fn awaits_load_balancer(bookstore: &Bookstore, service: &Service) -> bool {
    let addressed = service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .is_some_and(|ingress| !ingress.is_empty());
    bookstore.spec.service.type_ == ServiceType::LoadBalancer && !addressed
}

/// The Bookstore's load balancer has had no address for longer than `grace` since `since`, when
/// it was first seen waiting (the cloud's load balancer controller failed, or none runs).
pub fn load_balancer_problem(
    bookstore: &Bookstore,
    service: &Service,
    since: &Time,
    now: &Time,
    grace: Duration,
) -> Option<Lasting> {
    if !awaits_load_balancer(bookstore, service) {
        return None;
    }
    let name = service.name_any();
    lasting(Some(since), now, grace).map(|remaining| {
        match remaining {
            Some(wait) => Lasting::RecheckIn(wait),
            None => Lasting::Lasted(Problem::serving(
                "LoadBalancerPending",
                format!(
                    "Service {name} has waited over {} s for a load balancer address (`kubectl describe service {name}` shows the cloud provider's events)",
                    grace.as_secs()
                ),
            )),
        }
    })
}

/// How much longer something that began at `since` must last to outlast `grace`: `None` once it
/// has. `None` overall when the start is unknown.
fn lasting(since: Option<&Time>, now: &Time, grace: Duration) -> Option<Option<Duration>> {
    let since = since?;
    let elapsed = now.0.duration_since(since.0);
    let elapsed = Duration::try_from(elapsed).unwrap_or_default();
    Some(grace.checked_sub(elapsed).filter(|left| !left.is_zero()))
}

fn deployment_condition<'a>(
    deployment: &'a Deployment,
    type_: &str,
    status: &str,
    reason: Option<&str>,
) -> Option<&'a k8s_openapi::api::apps::v1::DeploymentCondition> {
    deployment
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| {
            c.type_ == type_
                && c.status == status
                && reason.is_none_or(|reason| c.reason.as_deref() == Some(reason))
        })
}

/// The pods of `bookstore` among `pods` (all the operator's pods, `Caches::pods`).
pub fn pods_of<'a>(
    bookstore: &'a Bookstore,
    pods: &'a [Arc<Pod>],
) -> impl Iterator<Item = &'a Pod> + 'a {
    let namespace = bookstore.namespace();
    let name = bookstore.name_any();
    pods.iter().map(AsRef::as_ref).filter(move |pod| {
        pod.metadata.namespace == namespace
            && pod
                .labels()
                .get(crate::children::INSTANCE_LABEL)
                .is_some_and(|instance| *instance == name)
    })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentSpec, DeploymentStatus};
    use k8s_openapi::api::autoscaling::v2::{
        HorizontalPodAutoscalerCondition, HorizontalPodAutoscalerStatus,
    };
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateTerminated, ContainerStateWaiting, PodCondition, PodStatus,
        ServiceStatus,
    };
    use k8s_openapi::jiff::Timestamp;
    use kube::api::ObjectMeta;

    use super::*;
    use crate::children::fixtures::{bookstore, with_database};

    fn time(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).expect("valid time"))
    }

    /// When the tests look: 100 s after the containers' last exit.
    fn now() -> Time {
        time(1100)
    }

    fn waiting(reason: &str, message: &str) -> ContainerState {
        ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(reason.into()),
                message: Some(message.into()),
            }),
            ..ContainerState::default()
        }
    }

    fn pod(name: &str, state: ContainerState, last: Option<ContainerStateTerminated>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            status: Some(PodStatus {
                container_statuses: Some(vec![ContainerStatus {
                    name: "api".into(),
                    image: "registry.example/bookstore-api:nope".into(),
                    state: Some(state),
                    last_state: last.map(|terminated| ContainerState {
                        terminated: Some(terminated),
                        ..ContainerState::default()
                    }),
                    ..ContainerStatus::default()
                }]),
                ..PodStatus::default()
            }),
            ..Pod::default()
        }
    }

    #[test]
    fn an_image_that_cannot_be_pulled_is_named_the_same_through_back_off() {
        let pulling = pod("shop-1", waiting("ErrImagePull", "not found"), None);
        let backing_off = pod(
            "shop-1",
            waiting("ImagePullBackOff", "Back-off pulling"),
            None,
        );
        let problem = pod_problem([&pulling], &now()).expect("a problem");
        assert_eq!(problem.reason, "ImagePullFailed");
        assert_eq!(
            problem.message,
            "container api of pod shop-1 cannot pull its image \"registry.example/bookstore-api:nope\" (`kubectl describe pod shop-1` shows the registry's answer)"
        );
        assert!(!problem.pods_serve);
        assert_eq!(
            pod_problem([&backing_off], &now()),
            Some(problem),
            "one Event, not one per retry"
        );
    }

    #[test]
    fn a_crash_loop_quotes_the_containers_last_line() {
        let exit = ContainerStateTerminated {
            exit_code: 2,
            finished_at: Some(time(1000)),
            reason: Some("Error".into()),
            message: Some(
                "{\"level\":\"INFO\"}\nerror: TRUSTED_PROXIES: \"nope\" is not an address\n\n"
                    .into(),
            ),
            ..ContainerStateTerminated::default()
        };
        let crashing = pod(
            "shop-1",
            waiting("CrashLoopBackOff", "back-off 20s"),
            Some(exit),
        );
        let problem = pod_problem([&crashing], &now()).expect("a problem");
        assert_eq!(problem.reason, "CrashLooping");
        assert_eq!(
            problem.message,
            "container api of pod shop-1 is crash-looping: it keeps exiting (Error, code 2): error: TRUSTED_PROXIES: \"nope\" is not an address"
        );
        let killed = ContainerStateTerminated {
            exit_code: 137,
            reason: Some("OOMKilled".into()),
            message: Some("{\"path\":\"/api/v1/books?q=anything\"}".into()),
            ..ContainerStateTerminated::default()
        };
        let oom = pod("shop-1", waiting("CrashLoopBackOff", ""), Some(killed));
        assert!(
            pod_problem([&oom], &now())
                .expect("a problem")
                .message
                .ends_with("it keeps exiting (OOMKilled, code 137)"),
            "a killed container's log tail is not quoted"
        );
        // Between a restart and its next exit: running, not ready, no back-off shown.
        let mut between = crashing.clone();
        if let Some(status) = between
            .status
            .as_mut()
            .and_then(|s| s.container_statuses.as_mut())
        {
            status[0].state = Some(ContainerState {
                running: Some(Default::default()),
                ..ContainerState::default()
            });
            status[0].restart_count = 3;
        }
        assert_eq!(
            pod_problem([&between], &now()),
            Some(problem),
            "no flapping"
        );
        if let Some(status) = between
            .status
            .as_mut()
            .and_then(|s| s.container_statuses.as_mut())
        {
            status[0].ready = true;
        }
        assert_eq!(pod_problem([&between], &now()), None, "ready again");
        // Not ready long after its last failed exit: starting, not crash-looping.
        if let Some(status) = between
            .status
            .as_mut()
            .and_then(|s| s.container_statuses.as_mut())
        {
            status[0].ready = false;
        }
        assert_eq!(
            pod_problem([&between], &time(1000 + 601)),
            None,
            "an old exit"
        );
        // Just exited again: the back-off is not shown yet.
        let mut exited = crashing.clone();
        if let Some(status) = exited
            .status
            .as_mut()
            .and_then(|s| s.container_statuses.as_mut())
        {
            status[0].state = status[0].last_state.clone();
            status[0].restart_count = 1;
        }
        assert_eq!(
            pod_problem([&exited], &now()).map(|p| p.reason),
            Some("CrashLooping")
        );
        let long = "x".repeat(1000);
        assert_eq!(quote(&long).chars().count(), LONGEST_QUOTE + 1);
    }

    #[test]
    fn a_process_the_runtime_cannot_start_is_one_problem_through_its_back_off() {
        let started = pod(
            "shop-1",
            waiting("RunContainerError", "exec: not found"),
            None,
        );
        let start_failed = ContainerStateTerminated {
            exit_code: 128,
            reason: Some("StartError".into()),
            message: Some("exec: \"bookstore-api\": not found".into()),
            ..ContainerStateTerminated::default()
        };
        let backing_off = pod(
            "shop-1",
            waiting("CrashLoopBackOff", ""),
            Some(start_failed),
        );
        let problem = pod_problem([&started], &now()).expect("a problem");
        assert_eq!(problem.reason, "ContainerCannotStart");
        assert_eq!(pod_problem([&backing_off], &now()), Some(problem));
    }

    #[test]
    fn the_newest_pod_with_a_problem_is_the_one_reported() {
        let mut old = pod("shop-old-1", waiting("ImagePullBackOff", ""), None);
        old.metadata.creation_timestamp = Some(time(100));
        let mut new = pod("shop-new-1", waiting("CrashLoopBackOff", ""), None);
        new.metadata.creation_timestamp = Some(time(200));
        assert_eq!(
            pod_problem([&old, &new], &now()).map(|p| p.reason),
            Some("CrashLooping")
        );
        let mut fine = pod("shop-new-2", ContainerState::default(), None);
        fine.metadata.creation_timestamp = Some(time(300));
        assert_eq!(
            pod_problem([&fine, &old, &new], &now()).map(|p| p.reason),
            Some("CrashLooping"),
            "a newer pod without a problem does not hide one"
        );
    }

    #[test]
    fn a_container_that_cannot_start_says_why_and_pods_going_away_do_not_count() {
        let config = pod(
            "shop-2",
            waiting("CreateContainerConfigError", "secret \"db\" not found"),
            None,
        );
        let problem = pod_problem([&config], &now()).expect("a problem");
        assert_eq!(problem.reason, "ContainerCannotStart");
        assert!(
            problem
                .message
                .ends_with("cannot start: secret \"db\" not found")
        );

        let mut leaving = config.clone();
        leaving.metadata.deletion_timestamp = Some(time(1));
        assert_eq!(pod_problem([&leaving], &now()), None);
        let running = pod("shop-3", ContainerState::default(), None);
        assert_eq!(pod_problem([&running], &now()), None);
    }

    fn deployment(conditions: Vec<DeploymentCondition>) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                name: Some("shop".into()),
                ..ObjectMeta::default()
            },
            spec: Some(DeploymentSpec {
                progress_deadline_seconds: Some(30),
                ..DeploymentSpec::default()
            }),
            status: Some(DeploymentStatus {
                conditions: Some(conditions),
                ..DeploymentStatus::default()
            }),
        }
    }

    #[test]
    fn a_rollout_past_its_deadline_is_stuck_and_names_an_unschedulable_pod() {
        let stuck = deployment(vec![DeploymentCondition {
            type_: "Progressing".into(),
            status: "False".into(),
            reason: Some(PROGRESS_DEADLINE_EXCEEDED.into()),
            message: Some("ReplicaSet \"shop-1\" has timed out progressing.".into()),
            ..DeploymentCondition::default()
        }]);
        let mut pending = pod("shop-1-a", ContainerState::default(), None);
        pending.status = Some(PodStatus {
            conditions: Some(vec![PodCondition {
                type_: "PodScheduled".into(),
                status: "False".into(),
                message: Some("0/2 nodes are available".into()),
                ..PodCondition::default()
            }]),
            ..PodStatus::default()
        });
        let problem = rollout_problem(&stuck, [&pending]).expect("a problem");
        assert_eq!(problem.reason, "RolloutStuck");
        assert_eq!(
            problem.message,
            "Deployment shop made no progress for 30 s: ReplicaSet \"shop-1\" has timed out progressing.; pod shop-1-a cannot be scheduled: 0/2 nodes are available"
        );
        let progressing = deployment(vec![DeploymentCondition {
            type_: "Progressing".into(),
            status: "True".into(),
            reason: Some("ReplicaSetUpdated".into()),
            ..DeploymentCondition::default()
        }]);
        assert_eq!(rollout_problem(&progressing, [&pending]), None);
    }

    #[test]
    fn an_autoscaler_without_metrics_is_reported_once_it_outlasts_the_grace() {
        let grace = Duration::from_secs(60);
        let autoscaler = HorizontalPodAutoscaler {
            metadata: ObjectMeta {
                name: Some("shop".into()),
                ..ObjectMeta::default()
            },
            status: Some(HorizontalPodAutoscalerStatus {
                conditions: Some(vec![HorizontalPodAutoscalerCondition {
                    type_: "ScalingActive".into(),
                    status: "False".into(),
                    reason: Some("FailedGetContainerResourceMetric".into()),
                    message: Some("no metrics returned from resource metrics API".into()),
                    last_transition_time: Some(time(1000)),
                }]),
                ..HorizontalPodAutoscalerStatus::default()
            }),
            ..HorizontalPodAutoscaler::default()
        };
        assert_eq!(
            autoscaler_problem(&autoscaler, &time(1040), grace),
            Some(Lasting::RecheckIn(Duration::from_secs(20)))
        );
        let Some(Lasting::Lasted(problem)) = autoscaler_problem(&autoscaler, &time(1060), grace)
        else {
            panic!("lasted");
        };
        assert_eq!(problem.reason, "AutoscalerWithoutMetrics");
        assert!(problem.pods_serve);
        assert_eq!(
            problem.message,
            "HorizontalPodAutoscaler shop cannot scale (FailedGetContainerResourceMetric): no metrics returned from resource metrics API"
        );
        let mut active = autoscaler.clone();
        if let Some(conditions) = active.status.as_mut().and_then(|s| s.conditions.as_mut()) {
            conditions[0].status = "True".into();
        }
        assert_eq!(autoscaler_problem(&active, &time(5000), grace), None);
    }

    #[test]
    fn a_load_balancer_without_an_address_is_reported_once_it_outlasts_the_grace() {
        let grace = Duration::from_secs(300);
        let exposed = bookstore(with_database());
        let service = Service {
            metadata: ObjectMeta {
                name: Some("shop".into()),
                creation_timestamp: Some(time(1000)),
                ..ObjectMeta::default()
            },
            status: Some(ServiceStatus::default()),
            ..Service::default()
        };
        let since = time(1000);
        assert_eq!(
            load_balancer_problem(&exposed, &service, &since, &time(1100), grace),
            Some(Lasting::RecheckIn(Duration::from_secs(200)))
        );
        let Some(Lasting::Lasted(problem)) =
            load_balancer_problem(&exposed, &service, &since, &time(1300), grace)
        else {
            panic!("lasted");
        };
        assert_eq!(problem.reason, "LoadBalancerPending");
        assert!(problem.pods_serve);
        let internal =
            bookstore(serde_json::json!({"image": "img", "service": {"type": "ClusterIP"}}));
        assert_eq!(
            load_balancer_problem(&internal, &service, &since, &time(9999), grace),
            None
        );
    }
}
