//! The Bookstore's status: conditions and figures computed from what the children report.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::ResourceExt;

use crate::crd::{Bookstore, BookstoreStatus, ServiceType};
use crate::problems::Problem;
use crate::zones::Placement;

pub const READY: &str = "Ready";
pub const PROGRESSING: &str = "Progressing";
pub const DEGRADED: &str = "Degraded";
pub const ZONE_REDUNDANT: &str = "ZoneRedundant";

/// The reason of the problem `status` reports, if any (a Bookstore that recovers from it gets a
/// Normal Event).
pub fn reported_problem(status: Option<&BookstoreStatus>) -> Option<&str> {
    status
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == DEGRADED))
        .filter(|c| c.status == "True")
        .map(|c| c.reason.as_str())
}

/// Whether `status` already reports `problem` (so it needs no new Warning Event).
pub fn reports(status: Option<&BookstoreStatus>, problem: &Problem) -> bool {
    status
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == DEGRADED))
        .is_some_and(|c| {
            c.status == "True" && c.reason == problem.reason && c.message == problem.message
        })
}

/// What reconciling observed.
#[derive(Debug, Default)]
pub struct Observed<'a> {
    pub deployment: Option<&'a Deployment>,
    pub service: Option<&'a Service>,
    pub problem: Option<Problem>,
    /// Where the ready pods run; no `ZoneRedundant` condition without it.
    pub placement: Option<Placement>,
}

/// The status to write, after `previous` (the last one written). Conditions keep their
/// `lastTransitionTime` unless their status flips, so an unchanged world yields an identical
/// status (and no write).
pub fn compute(
    bookstore: &Bookstore,
    previous: Option<&BookstoreStatus>,
    observed: &Observed<'_>,
    now: &Time,
) -> BookstoreStatus {
    let previous = previous
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    let generation = bookstore.metadata.generation;
    let deployment_status = observed
        .deployment
        .and_then(|d| d.status.clone())
        .unwrap_or_default();
    let desired = observed
        .deployment
        .and_then(|d| d.spec.as_ref())
        .and_then(|s| s.replicas)
        .unwrap_or(deployment_status.replicas.unwrap_or(0));
    let ready = deployment_status.ready_replicas.unwrap_or(0);
    let updated = deployment_status.updated_replicas.unwrap_or(0);
    let available = deployment_status.available_replicas.unwrap_or(0);
    // As `kubectl rollout status` judges it: the newest spec observed, every pod of the new
    // template, none of an old one left, and all of them available.
    let rolled_out = observed.deployment.is_some()
        && deployment_status.observed_generation
            >= observed.deployment.and_then(|d| d.metadata.generation)
        && updated >= desired
        && deployment_status.replicas.unwrap_or(0) == updated
        && available >= updated
        && ready >= desired;

    let condition_of = |type_: &str, status: &str, reason: &str, message: String| {
        let last_transition_time = previous
            .iter()
            .find(|c| c.type_ == type_ && c.status == status)
            .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
        Condition {
            type_: type_.to_owned(),
            status: status.to_owned(),
            reason: reason.to_owned(),
            message,
            last_transition_time,
            observed_generation: generation,
        }
    };
    let condition = |type_: &str, status: bool, reason: &str, message: String| {
        condition_of(
            type_,
            if status { "True" } else { "False" },
            reason,
            message,
        )
    };

    let mut conditions = match &observed.problem {
        Some(problem) if !problem.pods_serve => vec![
            condition(READY, false, problem.reason, problem.message.clone()),
            condition(
                PROGRESSING,
                false,
                problem.reason,
                "waiting for the problem to be fixed".to_owned(),
            ),
            condition(DEGRADED, true, problem.reason, problem.message.clone()),
        ],
        // No problem, or one the pods serve through: readiness as the pods are; a problem names
        // itself as the reason of a Ready Bookstore.
        serving => {
            let figures = format!("{ready}/{desired} API pods ready");
            vec![
                if ready > 0 && rolled_out {
                    match serving {
                        Some(problem) => condition(
                            READY,
                            true,
                            problem.reason,
                            format!("{figures}; {}", problem.message),
                        ),
                        None => condition(READY, true, "Available", figures.clone()),
                    }
                } else {
                    condition(READY, false, "PodsNotReady", figures.clone())
                },
                if rolled_out {
                    condition(PROGRESSING, false, "RolloutComplete", figures)
                } else {
                    condition(PROGRESSING, true, "RollingOut", figures)
                },
                match serving {
                    Some(problem) => {
                        condition(DEGRADED, true, problem.reason, problem.message.clone())
                    }
                    None => condition(
                        DEGRADED,
                        false,
                        "AsExpected",
                        "all children applied".to_owned(),
                    ),
                },
            ]
        }
    };

    if let Some(placement) = &observed.placement {
        let (status, reason, message) = placement.verdict();
        conditions.push(condition_of(ZONE_REDUNDANT, status, reason, message));
    }

    BookstoreStatus {
        observed_generation: generation,
        conditions,
        replicas: observed.deployment.map(|_| desired),
        ready_replicas: observed.deployment.map(|_| ready),
        replicas_ready: observed.deployment.map(|_| format!("{ready}/{desired}")),
        url: observed.service.and_then(|service| url(bookstore, service)),
        database: Some(
            if bookstore.database().is_some() {
                "external"
            } else {
                "embedded"
            }
            .to_owned(),
        ),
    }
}

/// The load balancer's address once assigned; the in-cluster DNS name otherwise.
fn url(bookstore: &Bookstore, service: &Service) -> Option<String> {
    let port = bookstore.spec.service.port;
    let with_port = |host: &str| {
        if port == 80 {
            format!("http://{host}")
        } else {
            format!("http://{host}:{port}")
        }
    };
    if bookstore.spec.service.type_ == ServiceType::LoadBalancer {
        let ingress = service
            .status
            .as_ref()?
            .load_balancer
            .as_ref()?
            .ingress
            .as_ref()?
            .first()?;
        return ingress
            .hostname
            .as_deref()
            .or(ingress.ip.as_deref())
            .map(with_port);
    }
    let namespace = bookstore.namespace()?;
    Some(with_port(&format!(
        "{}.{namespace}.svc.cluster.local",
        bookstore.name_any()
    )))
}

/// The Ready condition, if any.
pub fn ready_condition(status: &BookstoreStatus) -> Option<&Condition> {
    status.conditions.iter().find(|c| c.type_ == READY)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStatus};
    use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, ServiceStatus};
    use k8s_openapi::jiff::Timestamp;

    use super::*;
    use crate::children::fixtures::{bookstore, with_database};

    fn time(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).expect("valid time"))
    }

    fn deployment(replicas: i32, ready: i32) -> Deployment {
        Deployment {
            metadata: kube::api::ObjectMeta {
                generation: Some(1),
                ..Default::default()
            },
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                ..Default::default()
            }),
            status: Some(DeploymentStatus {
                observed_generation: Some(1),
                replicas: Some(replicas),
                ready_replicas: Some(ready),
                available_replicas: Some(ready),
                updated_replicas: Some(replicas),
                ..Default::default()
            }),
        }
    }

    fn load_balancer(hostname: &str) -> Service {
        Service {
            status: Some(ServiceStatus {
                load_balancer: Some(LoadBalancerStatus {
                    ingress: Some(vec![LoadBalancerIngress {
                        hostname: Some(hostname.into()),
                        ..Default::default()
                    }]),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn condition<'a>(status: &'a BookstoreStatus, type_: &str) -> &'a Condition {
        status
            .conditions
            .iter()
            .find(|c| c.type_ == type_)
            .expect("condition")
    }

    #[test]
    fn ready_once_every_pod_is_ready_with_the_load_balancer_url() {
        let shop = bookstore(with_database());
        let (deployment, service) = (deployment(2, 2), load_balancer("abc.elb.amazonaws.com"));
        let observed = Observed {
            deployment: Some(&deployment),
            service: Some(&service),
            problem: None,
            placement: None,
        };
        let status = compute(&shop, shop.status.as_ref(), &observed, &time(100));
        assert_eq!(condition(&status, READY).status, "True");
        assert_eq!(condition(&status, PROGRESSING).status, "False");
        assert_eq!(condition(&status, DEGRADED).status, "False");
        assert_eq!((status.replicas, status.ready_replicas), (Some(2), Some(2)));
        assert_eq!(status.replicas_ready.as_deref(), Some("2/2"));
        assert_eq!(status.url.as_deref(), Some("http://abc.elb.amazonaws.com"));
        assert_eq!(status.observed_generation, Some(3));
        assert_eq!(status.database.as_deref(), Some("external"));
    }

    #[test]
    fn a_rollout_is_complete_only_once_no_old_pod_is_left() {
        let shop = bookstore(with_database());
        let status_of = |deployment: &Deployment| {
            compute(
                &shop,
                None,
                &Observed {
                    deployment: Some(deployment),
                    ..Default::default()
                },
                &time(1),
            )
        };
        let mut rolling = deployment(2, 3);
        let figures = rolling.status.as_mut().expect("status");
        // Two new pods ready, the surge's old pod still running.
        figures.replicas = Some(3);
        figures.updated_replicas = Some(2);
        let status = status_of(&rolling);
        assert_eq!(condition(&status, PROGRESSING).reason, "RollingOut");
        assert_eq!(condition(&status, READY).status, "False");

        let mut unavailable = deployment(2, 2);
        unavailable
            .status
            .as_mut()
            .expect("status")
            .available_replicas = Some(1);
        assert_eq!(
            condition(&status_of(&unavailable), PROGRESSING).reason,
            "RollingOut"
        );
        let mut unobserved = deployment(2, 2);
        unobserved.metadata.generation = Some(2);
        assert_eq!(
            condition(&status_of(&unobserved), PROGRESSING).reason,
            "RollingOut"
        );
        assert_eq!(
            condition(&status_of(&deployment(2, 2)), PROGRESSING).reason,
            "RolloutComplete"
        );
    }

    #[test]
    fn transition_times_change_only_when_a_condition_flips() {
        let mut shop = bookstore(with_database());
        let (rolling, done) = (deployment(2, 1), deployment(2, 2));
        let first = compute(
            &shop,
            shop.status.as_ref(),
            &Observed {
                deployment: Some(&rolling),
                ..Default::default()
            },
            &time(100),
        );
        assert_eq!(condition(&first, READY).status, "False");
        shop.status = Some(first.clone());
        let same = compute(
            &shop,
            shop.status.as_ref(),
            &Observed {
                deployment: Some(&rolling),
                ..Default::default()
            },
            &time(200),
        );
        assert_eq!(same, first, "nothing changed: an identical status");
        let ready = compute(
            &shop,
            shop.status.as_ref(),
            &Observed {
                deployment: Some(&done),
                ..Default::default()
            },
            &time(300),
        );
        assert_eq!(condition(&ready, READY).last_transition_time, time(300));
        assert_eq!(condition(&ready, DEGRADED).last_transition_time, time(100));
    }

    #[test]
    fn a_problem_makes_the_bookstore_unready_and_degraded() {
        let shop = bookstore(with_database());
        let problem = Problem::from(&crate::error::Error::DatabaseSecretNotFound(
            "books/db-password".into(),
        ));
        let status = compute(
            &shop,
            shop.status.as_ref(),
            &Observed {
                problem: Some(problem),
                ..Default::default()
            },
            &time(1),
        );
        let ready = condition(&status, READY);
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "DatabaseSecretNotFound")
        );
        assert_eq!(condition(&status, DEGRADED).status, "True");
    }

    #[test]
    fn cluster_ip_services_get_the_in_cluster_dns_name_and_demo_mode_says_so() {
        let shop = bookstore(
            serde_json::json!({"image": "img", "service": {"type": "ClusterIP", "port": 8080}}),
        );
        let service = Service::default();
        let status = compute(
            &shop,
            shop.status.as_ref(),
            &Observed {
                service: Some(&service),
                ..Default::default()
            },
            &time(1),
        );
        assert_eq!(
            status.url.as_deref(),
            Some("http://shop.books.svc.cluster.local:8080")
        );
        assert_eq!(status.database.as_deref(), Some("embedded"));
        let pending = compute(
            &bookstore(with_database()),
            None,
            &Observed {
                service: Some(&service),
                ..Default::default()
            },
            &time(1),
        );
        assert_eq!(
            pending.url, None,
            "no URL before the load balancer has an address"
        );
    }

    #[test]
    fn a_deployment_that_cannot_create_pods_is_a_problem() {
        let mut failing = deployment(2, 0);
        failing.metadata.name = Some("shop".into());
        let status = failing.status.as_mut().expect("status");
        status.conditions = Some(vec![k8s_openapi::api::apps::v1::DeploymentCondition {
            type_: "ReplicaFailure".into(),
            status: "True".into(),
            reason: Some("FailedCreate".into()),
            message: Some("pods \"shop-1\" is forbidden: exceeded quota: pods".into()),
            ..Default::default()
        }]);
        let problem = crate::problems::pod_creation_problem(&failing).expect("a problem");
        assert_eq!(problem.reason, "PodCreationFailed");
        assert!(
            problem.message.contains("exceeded quota"),
            "{}",
            problem.message
        );
        assert!(crate::problems::pod_creation_problem(&deployment(2, 2)).is_none());

        let shop = bookstore(with_database());
        let reported = compute(
            &shop,
            None,
            &Observed {
                deployment: Some(&failing),
                problem: Some(problem.clone()),
                ..Default::default()
            },
            &time(1),
        );
        assert!(reports(Some(&reported), &problem));
        assert!(!reports(None, &problem));
    }

    #[test]
    fn a_problem_the_pods_serve_through_keeps_the_bookstore_ready_and_names_itself() {
        let shop = bookstore(with_database());
        let serving = deployment(2, 2);
        let problem = Problem {
            reason: "AutoscalerWithoutMetrics",
            message: "HorizontalPodAutoscaler shop cannot scale".into(),
            pods_serve: true,
        };
        let status = compute(
            &shop,
            None,
            &Observed {
                deployment: Some(&serving),
                problem: Some(problem),
                ..Default::default()
            },
            &time(1),
        );
        let ready = condition(&status, READY);
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("True", "AutoscalerWithoutMetrics")
        );
        assert_eq!(
            ready.message,
            "2/2 API pods ready; HorizontalPodAutoscaler shop cannot scale"
        );
        assert_eq!(condition(&status, PROGRESSING).reason, "RolloutComplete");
        let degraded = condition(&status, DEGRADED);
        assert_eq!(
            (degraded.status.as_str(), degraded.reason.as_str()),
            ("True", "AutoscalerWithoutMetrics")
        );
    }

    #[test]
    fn where_the_ready_pods_run_is_a_condition_of_its_own() {
        let shop = bookstore(with_database());
        let serving = deployment(2, 2);
        let placement = Placement {
            by_zone: [("zone-a".to_owned(), 1), ("zone-b".to_owned(), 1)].into(),
            unplaced: 0,
        };
        let status = compute(
            &shop,
            None,
            &Observed {
                deployment: Some(&serving),
                placement: Some(placement),
                ..Default::default()
            },
            &time(1),
        );
        let zoned = condition(&status, ZONE_REDUNDANT);
        assert_eq!(
            (zoned.status.as_str(), zoned.reason.as_str()),
            ("True", "MultipleZones")
        );
        assert_eq!(
            condition(&status, READY).status,
            "True",
            "Ready does not depend on it"
        );
        let unplaced = Placement {
            unplaced: 2,
            ..Placement::default()
        };
        let unknown = compute(
            &shop,
            Some(&status),
            &Observed {
                deployment: Some(&serving),
                placement: Some(unplaced),
                ..Default::default()
            },
            &time(5),
        );
        let zoned = condition(&unknown, ZONE_REDUNDANT);
        assert_eq!(
            (zoned.status.as_str(), zoned.last_transition_time.clone()),
            ("Unknown", time(5))
        );
        let without = compute(&shop, None, &Observed::default(), &time(1));
        assert!(without.conditions.iter().all(|c| c.type_ != ZONE_REDUNDANT));
    }
}
