//! End to end against a real cluster, when `KUBECONFIG` points at one (otherwise: skipped, said
//! so). Installs the CRD, runs the controller in this process, and drives a Bookstore through
//! creation, a spec change, a deleted child and an invalid update. Needs cluster-admin.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bookstore_operator::controller;
use bookstore_operator::crd::Bookstore;
use bookstore_operator::metrics::Metrics;
use bookstore_operator::reconcile::Context;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Namespace, Secret, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, CustomResourceExt, ResourceExt};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(120);
/// The test plays the cluster admin, with a field manager of its own.
const ADMIN: &str = "bookstore-e2e";

/// Polls `check` until it yields a value, failing after `TIMEOUT`.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn bookstore_manifest(spec: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "bookstore.dev/v1alpha1", "kind": "Bookstore", "metadata": {"name": "shop"}, "spec": spec})
}

#[tokio::test]
async fn a_bookstore_is_reconciled_on_a_real_cluster() {
    if std::env::var_os("KUBECONFIG").is_none() {
        eprintln!(
            "SKIPPED: KUBECONFIG is not set, so the end-to-end test did not run against a cluster"
        );
        return;
    }
    let client = Client::try_default()
        .await
        .expect("a cluster from KUBECONFIG");
    let apply = PatchParams::apply(ADMIN).force();

    // The CRD, established.
    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    let crd_name = "bookstores.bookstore.dev";
    crds.patch(crd_name, &apply, &Patch::Apply(Bookstore::crd()))
        .await
        .expect("CRD applied");
    tokio::time::timeout(
        TIMEOUT,
        await_condition(crds, crd_name, conditions::is_crd_established()),
    )
    .await
    .expect("CRD established in time")
    .expect("CRD watch");

    // A namespace of our own.
    let suffix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % 1_000_000_000;
    let ns = format!("bookstore-e2e-{suffix}");
    let namespaces = Api::<Namespace>::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
        )
        .await
        .expect("namespace created");

    // The operator, in this process.
    let reporter = Reporter {
        controller: "bookstore-operator".into(),
        instance: Some("e2e".into()),
    };
    let context = Arc::new(Context::new(
        client.clone(),
        Recorder::new(client.clone(), reporter),
        Arc::new(Metrics::default()),
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let operator = tokio::spawn(controller::run(context, |_| {}, async move {
        let _ = stopped.await;
    }));

    let secrets = Api::<Secret>::namespaced(client.clone(), &ns);
    let deployments = Api::<Deployment>::namespaced(client.clone(), &ns);
    let services = Api::<Service>::namespaced(client.clone(), &ns);
    let autoscalers = Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), &ns);
    let bookstores = Api::<Bookstore>::namespaced(client.clone(), &ns);

    let password = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-password"},
                          "stringData": {"password": "e2e-password"}});
    secrets
        .patch("db-password", &apply, &Patch::Apply(&password))
        .await
        .expect("password Secret");
    let spec = json!({
        "image": "ghcr.io/bookstore-dev/bookstore-api:0.1.0",
        "service": {"type": "ClusterIP"},
        "database": {"host": "db.invalid", "name": "bookstore", "user": "app",
                     "passwordSecretRef": {"name": "db-password", "key": "password"}}
    });
    bookstores
        .patch(
            "shop",
            &apply,
            &Patch::Apply(bookstore_manifest(spec.clone())),
        )
        .await
        .expect("Bookstore applied");

    // Every child appears, owned by the Bookstore.
    let db_secret = eventually("Secret shop-db", || async {
        secrets.get_opt("shop-db").await.ok().flatten()
    })
    .await;
    let copied = &db_secret.data.as_ref().unwrap()["DB_PASSWORD"].0;
    assert_eq!(copied.as_slice(), b"e2e-password");
    let deployment = eventually("Deployment shop", || async {
        deployments.get_opt("shop").await.ok().flatten()
    })
    .await;
    let owner = &deployment.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("Bookstore", Some(true))
    );
    eventually("Service shop", || async {
        services.get_opt("shop").await.ok().flatten()
    })
    .await;
    eventually("HPA shop", || async {
        autoscalers.get_opt("shop").await.ok().flatten()
    })
    .await;

    // The status describes the current generation.
    let shop = eventually("status", || async {
        let shop = bookstores.get("shop").await.ok()?;
        let status = shop.status.as_ref()?;
        (status.observed_generation == shop.metadata.generation && !status.conditions.is_empty())
            .then_some(shop)
    })
    .await;
    let status = shop.status.unwrap();
    assert_eq!(
        status.url.as_deref(),
        Some(format!("http://shop.{ns}.svc.cluster.local").as_str())
    );
    assert!(status.conditions.iter().any(|c| c.type_ == "Ready"));

    // A spec change reaches the Deployment; the autoscaler goes when autoscaling does.
    let mut changed = spec.clone();
    changed["autoscaling"] = json!({"enabled": false});
    changed["replicas"] = json!(3);
    bookstores
        .patch("shop", &apply, &Patch::Apply(bookstore_manifest(changed)))
        .await
        .expect("spec changed");
    eventually("Deployment at 3 replicas", || async {
        let deployment = deployments.get("shop").await.ok()?;
        (deployment.spec?.replicas == Some(3)).then_some(())
    })
    .await;
    eventually("HPA deleted", || async {
        autoscalers
            .get_opt("shop")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;

    // A child deleted by hand is put back.
    let old_uid = services.get("shop").await.unwrap().uid();
    services
        .delete("shop", &DeleteParams::default())
        .await
        .expect("Service deleted");
    eventually("Service restored", || async {
        let service = services.get_opt("shop").await.ok()??;
        (service.uid() != old_uid).then_some(())
    })
    .await;

    // The API server itself rejects an invalid Bookstore (CRD schema and CEL rules).
    let mut invalid = spec.clone();
    invalid["autoscaling"] = json!({"minReplicas": 3, "maxReplicas": 2});
    let rejected = bookstores
        .patch("shop", &apply, &Patch::Apply(bookstore_manifest(invalid)))
        .await;
    match rejected {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 422, "{status:?}"),
        other => panic!("an invalid Bookstore was not rejected: {other:?}"),
    }

    let _ = stop.send(());
    operator.await.expect("operator stopped");
    namespaces
        .delete(&ns, &DeleteParams::default())
        .await
        .expect("namespace deleted");
}
