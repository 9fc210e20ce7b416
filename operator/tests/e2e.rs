//! End to end on a real Kubernetes API server, with the operator as installed: `deploy/install.yaml`
//! applied and the operator binary run with a token of its ServiceAccount (its RBAC, never
//! cluster-admin). The test itself acts as the cluster admin. Skipped (said so) without
//! `BOOKSTORE_E2E_KUBECONFIG`; see `tests/cluster/mod.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cluster;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bookstore_operator::crd::Bookstore;
use bookstore_operator::rules::{self, CelRule};
use bookstore_operator::validate::validate;
use cluster::{Cluster, Operator, Proxy, api_server_addr, eventually};
use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Namespace, Secret, Service};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(60);
/// The test plays the cluster admin, with a field manager of its own.
const ADMIN: &str = "e2e-admin";

/// A namespaced kind the suite reads.
trait Namespaced:
    kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
    + Clone
    + serde::de::DeserializeOwned
    + std::fmt::Debug
{
}

impl<K> Namespaced for K where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
{
}

struct Env {
    cluster: Cluster,
    admin: Client,
    run: u128,
}

/// The namespaces go, whether the suite passed or not (their Bookstores would keep the operator
/// of a later run busy).
impl Drop for Env {
    fn drop(&mut self) {
        let selector = format!("bookstore-e2e={}", self.run);
        let _ = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.cluster.admin_kubeconfig)
            .args(["delete", "namespace", "-l", &selector, "--wait=false"])
            .output();
    }
}

impl Env {
    async fn namespace(&self, purpose: &str) -> String {
        let name = format!("e2e-{}-{purpose}", self.run);
        Api::<Namespace>::all(self.admin.clone())
            .create(
                &PostParams::default(),
                &serde_json::from_value(
                    json!({"metadata": {"name": name, "labels": {"bookstore-e2e": self.run.to_string()}}}),
                )
                .unwrap(),
            )
            .await
            .expect("namespace created");
        name
    }

    fn api<K>(&self, namespace: &str) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.admin.clone(), namespace)
    }

    async fn apply(&self, namespace: &str, name: &str, spec: Value) -> Bookstore {
        let manifest = json!({"apiVersion": "bookstore.dev/v1alpha1", "kind": "Bookstore",
                              "metadata": {"name": name}, "spec": spec});
        self.api::<Bookstore>(namespace)
            .patch(
                name,
                &PatchParams::apply(ADMIN).force(),
                &Patch::Apply(manifest),
            )
            .await
            .expect("Bookstore applied")
    }

    async fn password(&self, namespace: &str, value: &str) {
        self.secret(namespace, "db-password", "password", value)
            .await;
    }

    async fn write_tokens(&self, namespace: &str, value: &str) {
        self.secret(namespace, "writers", "tokens", value).await;
    }

    /// A Secret labelled for the operator's watch (`bookstore.dev/watch=true`).
    async fn secret(&self, namespace: &str, name: &str, key: &str, value: &str) {
        self.secret_labelled(
            namespace,
            name,
            key,
            value,
            json!({"bookstore.dev/watch": "true"}),
        )
        .await;
    }

    async fn secret_labelled(
        &self,
        namespace: &str,
        name: &str,
        key: &str,
        value: &str,
        labels: Value,
    ) {
        let secret = json!({"apiVersion": "v1", "kind": "Secret",
                            "metadata": {"name": name, "labels": labels},
                            "stringData": {key: value}});
        self.api::<Secret>(namespace)
            .patch(
                name,
                &PatchParams::apply(ADMIN).force(),
                &Patch::Apply(secret),
            )
            .await
            .expect("Secret applied");
    }

    /// Waits for a child to exist (and satisfy `check`).
    async fn child<K: Namespaced>(
        &self,
        namespace: &str,
        name: &str,
        check: impl Fn(&K) -> bool,
    ) -> K {
        let api = self.api::<K>(namespace);
        let what = format!("{} {namespace}/{name}", K::kind(&()));
        eventually(&what, TIMEOUT, || async {
            api.get_opt(name).await.ok().flatten().filter(|o| check(o))
        })
        .await
    }

    async fn absent<K: Namespaced>(&self, namespace: &str, name: &str) {
        let api = self.api::<K>(namespace);
        let what = format!("{} {namespace}/{name} to be gone", K::kind(&()));
        eventually(&what, TIMEOUT, || async {
            api.get_opt(name).await.ok()?.is_none().then_some(())
        })
        .await;
    }

    /// Waits until the Bookstore's status describes its current generation and passes `check`.
    async fn status(&self, namespace: &str, name: &str, check: impl Fn(&Value) -> bool) -> Value {
        let api = self.api::<Bookstore>(namespace);
        let last = Mutex::new(Value::Null);
        let what = format!("the status of {namespace}/{name}");
        let found = tokio::time::timeout(
            TIMEOUT,
            eventually(&what, TIMEOUT * 2, || async {
                let bookstore = api.get(name).await.ok()?;
                let status = serde_json::to_value(bookstore.status.as_ref()?).ok()?;
                *last.lock().unwrap() = status.clone();
                (status["observedGeneration"].as_i64() == bookstore.metadata.generation
                    && check(&status))
                .then_some(status)
            }),
        )
        .await;
        found.unwrap_or_else(|_| {
            panic!(
                "timed out waiting for {what}; last seen: {}",
                last.lock().unwrap()
            )
        })
    }

    /// Waits until the Bookstore is Degraded for `reason` and the Warning Event for it exists;
    /// returns the condition's message.
    async fn degraded(&self, namespace: &str, name: &str, reason: &str) -> String {
        let status = self
            .status(namespace, name, |s| is(s, "Degraded", "True", reason))
            .await;
        self.event(namespace, "Warning", reason).await;
        condition(&status, "Degraded")["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn event(&self, namespace: &str, type_: &str, reason: &str) -> String {
        let api = self.api::<Event>(namespace);
        eventually(
            &format!("a {type_} Event {reason} in {namespace}"),
            TIMEOUT,
            || async {
                api.list(&Default::default())
                    .await
                    .ok()?
                    .items
                    .into_iter()
                    .find(|e| {
                        e.type_.as_deref() == Some(type_) && e.reason.as_deref() == Some(reason)
                    })
                    .map(|e| e.note.unwrap_or_default())
            },
        )
        .await
    }
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == type_))
        .unwrap_or(&Value::Null)
}

fn is(status: &Value, type_: &str, value: &str, reason: &str) -> bool {
    let c = condition(status, type_);
    c["status"] == value && c["reason"] == reason
}

fn rds(service_type: &str) -> Value {
    json!({
        "image": "ghcr.io/bookstore-dev/bookstore-api:0.1.0",
        "service": {"type": service_type},
        "database": {"host": "db.invalid", "name": "bookstore", "user": "app",
                     "passwordSecretRef": {"name": "db-password", "key": "password"}}
    })
}

/// On a public load balancer, writes need the tokens of Secret `writers`.
fn public_rds() -> Value {
    let mut spec = rds("LoadBalancer");
    spec["auth"] = json!({"writeTokenSecretRef": {"name": "writers", "key": "tokens"}});
    spec
}

fn demo() -> Value {
    json!({"image": "ghcr.io/bookstore-dev/bookstore-api:0.1.0", "service": {"type": "ClusterIP"}})
}

fn replicas(deployment: &Deployment) -> Option<i32> {
    deployment.spec.as_ref()?.replicas
}

fn image(deployment: &Deployment) -> Option<String> {
    deployment.spec.as_ref()?.template.spec.as_ref()?.containers[0]
        .image
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_as_installed_on_a_real_api_server() {
    let Some(cluster) = Cluster::from_env("operator end-to-end suite") else {
        return;
    };
    cluster.assert_no_installed_operator();
    cluster.install_operator();
    cluster.stop_installed_operator();
    let admin = cluster.admin().await;
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % 1_000_000;
    let env = Env {
        cluster,
        admin,
        run,
    };

    // Operator "a" reaches the API server through a proxy the test can cut.
    let proxy = Proxy::to(api_server_addr(&env.cluster)).await;
    let kubeconfig = env.cluster.operator_kubeconfig("e2e-a", Some(proxy.addr));
    let a = Operator::start(
        &env.cluster,
        &kubeconfig,
        "e2e-a",
        Some(cluster::OPERATOR_NAMESPACE),
    );
    eventually("operator e2e-a to lead", TIMEOUT, || async {
        a.leads().await.then_some(())
    })
    .await;

    // First, alone (so that its counts are its own): unchanged Bookstores cost no writes.
    no_op_reconciles_write_nothing(&env, &a).await;
    // Then independent scenarios, each in a namespace of its own, at once.
    tokio::join!(
        children_are_created_owned_and_reported(&env),
        drift_is_repaired(&env),
        spec_changes_flow(&env),
        autoscaling_on_and_off_keeps_the_replica_count(&env),
        a_missing_password_secret_is_reported_until_it_appears(&env),
        a_missing_write_token_secret_is_reported_until_it_appears(&env),
        a_rejected_apply_is_degraded_until_the_quota_allows_it(&env),
        pods_the_cluster_refuses_are_reported(&env),
        an_object_it_did_not_create_is_not_adopted(&env),
        a_pod_monitor_follows_the_bookstore(&env),
        the_crd_rules_and_validate_agree(&env),
        the_database_cannot_be_added_or_removed(&env),
    );
    // Last: replace the leader twice, then run it as someone would on their machine.
    leaders_hand_over_without_overlap(&env, a, &proxy).await;
    a_local_run_takes_its_lease_namespace_from_the_kubeconfig(&env).await;
    a_namespaced_install_reaches_only_its_namespace(&env).await;
    tenants_manage_bookstores_through_the_built_in_roles(&env).await;
}

async fn no_op_reconciles_write_nothing(env: &Env, operator: &Operator) {
    let ns = env.namespace("noop").await;
    env.password(&ns, "noop-password").await;
    env.apply(&ns, "shop", rds("ClusterIP")).await;
    env.status(&ns, "shop", |s| s["replicasReady"] == "0/2")
        .await;
    // Settled: no write by the operator in this namespace for 3 s.
    eventually("the operator to settle", TIMEOUT, || async {
        let mark = env.cluster.audit_mark();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let requests = env.cluster.operator_requests(mark);
        (!requests.iter().any(|r| r.is_write() && r.namespace == ns)).then_some(())
    })
    .await;
    let mark = env.cluster.audit_mark();
    let writes = || async {
        let mut total = 0.0;
        for verb in ["create", "patch", "delete"] {
            total += operator
                .metric(
                    "bookstore_operator_kube_requests_total",
                    &format!("verb=\"{verb}\""),
                )
                .await;
        }
        total
    };
    let writes_before = writes().await;
    let bookstores = env.api::<Bookstore>(&ns);
    for touch in 1..=3 {
        let reconciled = operator
            .metric("bookstore_operator_reconciliations_total", "")
            .await;
        let patch =
            json!({"metadata": {"annotations": {"e2e.bookstore.dev/touch": touch.to_string()}}});
        bookstores
            .patch("shop", &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap();
        eventually("a reconcile after the annotation", TIMEOUT, || async {
            (operator
                .metric("bookstore_operator_reconciliations_total", "")
                .await
                > reconciled)
                .then_some(())
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let writes_after = writes().await;
    match &env.cluster.audit_log {
        // The API server's record, for this Bookstore's namespace (others may be busy).
        Some(_) => {
            let audited: Vec<_> = env
                .cluster
                .operator_requests(mark)
                .into_iter()
                .filter(|r| r.is_write() && r.namespace == ns)
                .collect();
            assert!(audited.is_empty(), "no-op reconciles wrote: {audited:?}");
        }
        // Without it, the operator's own count (which needs a cluster where nothing else moves).
        None => assert_eq!(
            writes_after, writes_before,
            "the operator's own count of writes moved"
        ),
    }
    eprintln!(
        "ok: 3 annotations, 3+ reconciles, 0 writes in {ns} (audit log: {}; operator metrics: {writes_before} writes before, {writes_after} after, cluster-wide)",
        if env.cluster.audit_log.is_some() {
            "0 writes"
        } else {
            "not available"
        }
    );
}

async fn children_are_created_owned_and_reported(env: &Env) {
    let ns = env.namespace("create").await;
    env.password(&ns, "e2e-password").await;
    env.write_tokens(&ns, "e2e-writer-token-0123456789").await;
    let shop = env.apply(&ns, "shop", public_rds()).await;
    let uid = shop.uid().unwrap();

    let deployment: Deployment = env.child(&ns, "shop", |d| replicas(d) == Some(2)).await;
    let owner = &deployment.owner_references()[0];
    assert_eq!(
        (
            owner.uid.as_str(),
            owner.controller,
            owner.block_owner_deletion
        ),
        (uid.as_str(), Some(true), Some(true))
    );
    let pod = deployment
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap();
    let password = pod.containers[0]
        .env
        .iter()
        .flatten()
        .find(|e| e.name == "DB_PASSWORD")
        .and_then(|e| e.value_from.as_ref()?.secret_key_ref.as_ref())
        .unwrap();
    assert_eq!(
        (password.name.as_str(), password.key.as_str()),
        ("db-password", "password"),
        "the pods read the user's Secret"
    );
    assert!(
        env.api::<Secret>(&ns)
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .iter()
            .all(|secret| secret.owner_references().is_empty()),
        "the operator makes no Secret of its own"
    );
    let tokens = pod
        .volumes
        .iter()
        .flatten()
        .find_map(|v| v.secret.as_ref())
        .unwrap();
    assert_eq!(
        tokens.secret_name.as_deref(),
        Some("writers"),
        "the token Secret is mounted"
    );
    let replicas_owner: Vec<_> = deployment
        .managed_fields()
        .iter()
        .filter(|m| {
            m.fields_v1
                .as_ref()
                .is_some_and(|f| f.0["f:spec"].get("f:replicas").is_some())
        })
        .filter_map(|m| m.manager.clone())
        .collect();
    assert_eq!(
        replicas_owner,
        ["bookstore-operator-replicas"],
        "the main manager leaves replicas alone"
    );
    let service: Service = env.child(&ns, "shop", |_| true).await;
    assert_eq!(service.spec.unwrap().type_.as_deref(), Some("LoadBalancer"));
    let hpa: HorizontalPodAutoscaler = env.child(&ns, "shop", |_| true).await;
    let hpa = hpa.spec.unwrap();
    assert_eq!((hpa.min_replicas, hpa.max_replicas), (Some(1), 3));
    let budget: PodDisruptionBudget = env.child(&ns, "shop", |_| true).await;
    assert_eq!(
        budget.spec.unwrap().max_unavailable,
        Some(IntOrString::Int(1))
    );

    let status = env
        .status(&ns, "shop", |s| is(s, "Degraded", "False", "AsExpected"))
        .await;
    // No kubelet here: pods never become ready, and no load balancer gets an address.
    assert!(is(&status, "Ready", "False", "PodsNotReady"), "{status}");
    assert_eq!(status["database"], "external");
    let note = env.event(&ns, "Normal", "Applied").await;
    assert_eq!(
        note,
        "created Deployment shop, created Service shop, created HorizontalPodAutoscaler shop, created PodDisruptionBudget shop"
    );
    eprintln!("ok: children created, owned, reported");
}

async fn drift_is_repaired(env: &Env) {
    let ns = env.namespace("drift").await;
    env.apply(&ns, "shop", demo()).await;
    let deployments = env.api::<Deployment>(&ns);
    let wanted = image(&env.child(&ns, "shop", |_: &Deployment| true).await);
    let edit = json!({"spec": {"template": {"spec": {"containers": [{"name": "api", "image": "example.com/evil:1"}]}}}});
    deployments
        .patch("shop", &PatchParams::default(), &Patch::Strategic(edit))
        .await
        .unwrap();
    env.child(&ns, "shop", |d: &Deployment| image(d) == wanted)
        .await;

    let services = env.api::<Service>(&ns);
    let old = services.get("shop").await.unwrap().uid();
    services
        .delete("shop", &DeleteParams::default())
        .await
        .unwrap();
    env.child(&ns, "shop", |s: &Service| s.uid() != old).await;
    eprintln!("ok: an edited image and a deleted Service are put back");
}

async fn spec_changes_flow(env: &Env) {
    let ns = env.namespace("spec").await;
    env.apply(&ns, "shop", demo()).await;
    env.child(&ns, "shop", |_: &Service| true).await;
    let mut changed = demo();
    changed["service"]["port"] = json!(8081);
    changed["env"] = json!([{"name": "RUST_LOG", "value": "debug"}]);
    let shop = env.apply(&ns, "shop", changed).await;
    env.child(&ns, "shop", |s: &Service| {
        s.spec.as_ref().unwrap().ports.as_ref().unwrap()[0].port == 8081
    })
    .await;
    env.child(&ns, "shop", |d: &Deployment| {
        let env = d
            .spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .containers[0]
            .env
            .clone()
            .unwrap_or_default();
        env.iter()
            .any(|v| v.name == "RUST_LOG" && v.value.as_deref() == Some("debug"))
    })
    .await;
    let status = env.status(&ns, "shop", |_| true).await;
    assert_eq!(
        status["observedGeneration"].as_i64(),
        shop.metadata.generation
    );
    assert_eq!(
        status["url"],
        format!("http://shop.{ns}.svc.cluster.local:8081")
    );
    eprintln!("ok: a spec change reaches the Service and the Deployment");
}

async fn autoscaling_on_and_off_keeps_the_replica_count(env: &Env) {
    let ns = env.namespace("scale").await;
    env.password(&ns, "pw").await;
    let mut fixed = rds("ClusterIP");
    fixed["autoscaling"] = json!({"enabled": false});
    fixed["replicas"] = json!(3);
    env.apply(&ns, "shop", fixed.clone()).await;
    env.child(&ns, "shop", |d: &Deployment| replicas(d) == Some(3))
        .await;

    // Every replica count the Deployment passes through, from here on.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = {
        let seen = Arc::clone(&seen);
        let config = watcher::Config::default().fields("metadata.name=shop");
        let stream = watcher(env.api::<Deployment>(&ns), config).applied_objects();
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(Ok(deployment)) = stream.next().await {
                seen.lock().unwrap().push(replicas(&deployment));
            }
        })
    };
    let mut autoscaled = fixed.clone();
    autoscaled["autoscaling"] = json!({"enabled": true, "minReplicas": 1, "maxReplicas": 3});
    env.apply(&ns, "shop", autoscaled).await;
    env.child(&ns, "shop", |_: &HorizontalPodAutoscaler| true)
        .await;
    // The HPA is applied beside the Deployment: wait for the Deployment's apply too.
    let main_owns_replicas = |deployment: &Deployment| {
        deployment.managed_fields().iter().any(|m| {
            m.manager.as_deref() == Some("bookstore-operator")
                && m.fields_v1
                    .as_ref()
                    .is_some_and(|f| f.0["f:spec"].get("f:replicas").is_some())
        })
    };
    env.child(&ns, "shop", |d: &Deployment| !main_owns_replicas(d))
        .await;

    env.apply(&ns, "shop", fixed).await;
    env.absent::<HorizontalPodAutoscaler>(&ns, "shop").await;
    env.status(&ns, "shop", |_| true).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    recorder.abort();
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.len() >= 2,
        "the watch saw the Deployment change: {seen:?}"
    );
    assert!(
        seen.iter().all(|r| *r == Some(3)),
        "the count dipped: {seen:?}"
    );
    eprintln!(
        "ok: autoscaling off→on→off, spec.replicas stayed 3 across {} updates",
        seen.len()
    );

    // One pod: no disruption budget (it would be one pod at a time of one).
    env.child(&ns, "shop", |_: &PodDisruptionBudget| true).await;
    let mut single = rds("ClusterIP");
    single["autoscaling"] = json!({"enabled": false});
    single["replicas"] = json!(1);
    env.apply(&ns, "shop", single).await;
    env.absent::<PodDisruptionBudget>(&ns, "shop").await;
    eprintln!("ok: the disruption budget goes when the Bookstore runs one pod");
}

async fn a_missing_password_secret_is_reported_until_it_appears(env: &Env) {
    let ns = env.namespace("late").await;
    env.apply(&ns, "shop", rds("ClusterIP")).await;
    let message = env.degraded(&ns, "shop", "DatabaseSecretNotFound").await;
    assert!(message.contains(&format!("{ns}/db-password")), "{message}");
    assert!(
        env.api::<Deployment>(&ns)
            .get_opt("shop")
            .await
            .unwrap()
            .is_none()
    );

    // There, but without the watch label: the message says how to label it.
    env.secret_labelled(&ns, "db-password", "password", "first", json!({}))
        .await;
    let message = env.degraded(&ns, "shop", "SecretNotWatched").await;
    assert_eq!(
        message,
        format!(
            "Secret {ns}/db-password (spec.database.passwordSecretRef) is not labelled bookstore.dev/watch=true, so the operator does not see it: kubectl -n {ns} label secret db-password bookstore.dev/watch=true"
        )
    );
    env.cluster.kubectl(&[
        "-n",
        &ns,
        "label",
        "secret",
        "db-password",
        "bookstore.dev/watch=true",
    ]);
    let deployment: Deployment = env.child(&ns, "shop", |_| true).await;
    env.status(&ns, "shop", |s| is(s, "Degraded", "False", "AsExpected"))
        .await;
    let digest = |d: &Deployment| {
        d.spec
            .as_ref()
            .unwrap()
            .template
            .metadata
            .as_ref()
            .unwrap()
            .annotations
            .as_ref()
            .unwrap()["bookstore.dev/db-password-hmac-sha256"]
            .clone()
    };
    let before = digest(&deployment);
    // A new password rolls the pods (which read it from the Secret as they start).
    env.password(&ns, "rotated-e2e-password").await;
    let rolled = env
        .child(&ns, "shop", |d: &Deployment| digest(d) != before)
        .await;
    assert!(
        !serde_json::to_string(&rolled)
            .unwrap()
            .contains("rotated-e2e-password"),
        "the value itself is nowhere in the Deployment"
    );
    eprintln!(
        "ok: a missing password Secret is reported, an unlabelled one explained, its labelling and rotation picked up"
    );
}

async fn a_missing_write_token_secret_is_reported_until_it_appears(env: &Env) {
    let ns = env.namespace("tokens").await;
    env.password(&ns, "pw").await;
    env.apply(&ns, "shop", public_rds()).await;
    let message = env.degraded(&ns, "shop", "WriteTokenSecretNotFound").await;
    assert_eq!(
        message,
        format!("Secret {ns}/writers (spec.auth.writeTokenSecretRef) not found")
    );
    let warning = env.event(&ns, "Warning", "WriteTokenSecretNotFound").await;
    assert_eq!(warning, message);
    assert!(
        env.api::<Deployment>(&ns)
            .get_opt("shop")
            .await
            .unwrap()
            .is_none()
    );

    env.write_tokens(&ns, "first-writer-token-0123").await;
    let digest = |d: &Deployment| {
        d.spec
            .as_ref()?
            .template
            .metadata
            .as_ref()?
            .annotations
            .as_ref()?
            .get("bookstore.dev/write-tokens-hmac-sha256")
            .cloned()
    };
    let deployment: Deployment = env.child(&ns, "shop", |d| digest(d).is_some()).await;
    env.status(&ns, "shop", |s| is(s, "Degraded", "False", "AsExpected"))
        .await;
    let before = digest(&deployment);
    // A rotated token rolls the pods; the token itself is nowhere but in its own Secret.
    env.write_tokens(&ns, "second-writer-token-0123").await;
    let rolled: Deployment = env.child(&ns, "shop", |d| digest(d) != before).await;
    let everything = serde_json::to_string(&rolled).unwrap()
        + &serde_json::to_string(&env.api::<Bookstore>(&ns).get("shop").await.unwrap()).unwrap();
    assert!(!everything.contains("writer-token"), "a token was copied");
    // One too short for the API is refused before the pods roll.
    env.write_tokens(&ns, "hunter2").await;
    let message = env.degraded(&ns, "shop", "WriteTokenInvalid").await;
    assert!(!message.contains("hunter2"), "{message}");
    let kept: Deployment = env.child(&ns, "shop", |_| true).await;
    assert_eq!(digest(&kept), digest(&rolled), "the pods keep their tokens");
    eprintln!(
        "ok: a missing write-token Secret is reported, then mounted; rotation rolls the pods; a short token is refused"
    );
}

async fn a_rejected_apply_is_degraded_until_the_quota_allows_it(env: &Env) {
    let ns = env.namespace("quota").await;
    let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "no-load-balancers"},
                       "spec": {"hard": {"services.loadbalancers": "0"}}});
    let quotas = env.api::<k8s_openapi::api::core::v1::ResourceQuota>(&ns);
    quotas
        .patch(
            "no-load-balancers",
            &PatchParams::apply(ADMIN),
            &Patch::Apply(quota),
        )
        .await
        .unwrap();
    // The quota controller fills in `used` before admission enforces it.
    eventually("the quota to be counted", TIMEOUT, || async {
        quotas
            .get("no-load-balancers")
            .await
            .ok()?
            .status?
            .used
            .map(|_| ())
    })
    .await;
    let mut spec = demo();
    spec["service"] = json!({"type": "LoadBalancer"});
    env.apply(&ns, "shop", spec).await;
    let message = env.degraded(&ns, "shop", "QuotaExceeded").await;
    assert!(
        message.starts_with(&format!("cannot apply Service {ns}/shop:"))
            && message.contains("exceeded quota"),
        "{message}"
    );

    quotas
        .delete("no-load-balancers", &DeleteParams::default())
        .await
        .unwrap();
    env.child(&ns, "shop", |_: &Service| true).await;
    env.status(&ns, "shop", |s| is(s, "Degraded", "False", "AsExpected"))
        .await;
    eprintln!("ok: a quota-rejected Service is reported, then applied once the quota goes");
}

async fn pods_the_cluster_refuses_are_reported(env: &Env) {
    let ns = env.namespace("limits").await;
    let limits = json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "tiny"},
                        "spec": {"limits": [{"type": "Container", "max": {"cpu": "50m"}}]}});
    env.api::<k8s_openapi::api::core::v1::LimitRange>(&ns)
        .patch("tiny", &PatchParams::apply(ADMIN), &Patch::Apply(limits))
        .await
        .unwrap();
    env.apply(&ns, "shop", demo()).await;
    let message = env.degraded(&ns, "shop", "PodCreationFailed").await;
    assert!(
        message.starts_with("Deployment shop cannot create pods:"),
        "{message}"
    );
    eprintln!("ok: pods refused by a LimitRange are reported ({message})");
}

async fn an_object_it_did_not_create_is_not_adopted(env: &Env) {
    let ns = env.namespace("adopt").await;
    env.password(&ns, "pw").await;
    let mine = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "shop"},
                      "spec": {"ports": [{"port": 5432}], "selector": {"app": "theirs"}}});
    let services = env.api::<Service>(&ns);
    services
        .patch("shop", &PatchParams::apply(ADMIN), &Patch::Apply(mine))
        .await
        .unwrap();
    env.apply(&ns, "shop", rds("ClusterIP")).await;
    let message = env.degraded(&ns, "shop", "AdoptionRefused").await;
    assert!(
        message.starts_with(&format!("Service {ns}/shop already exists")),
        "{message}"
    );
    let untouched = services.get("shop").await.unwrap();
    assert!(untouched.owner_references().is_empty(), "not adopted");
    assert_eq!(untouched.spec.unwrap().ports.unwrap()[0].port, 5432);
    assert!(
        env.api::<Deployment>(&ns)
            .get_opt("shop")
            .await
            .unwrap()
            .is_none(),
        "nothing applied beside a foreign Service"
    );
    eprintln!("ok: a pre-existing Service named like a child is left alone ({message})");
}

/// Each rule of `rules.rs`: the API server (CEL in the CRD) and `validate` give the same verdict.
async fn the_crd_rules_and_validate_agree(env: &Env) {
    let with = |base: Value, patch: Value| {
        let mut spec = base;
        for (key, value) in patch.as_object().unwrap() {
            spec[key] = value.clone();
        }
        spec
    };
    let long_name = "a".repeat(64);
    let cases: Vec<(&str, &str, Value, Vec<CelRule>)> = vec![
        ("a valid Bookstore", "shop", public_rds(), vec![]),
        (
            "a public catalogue open to all by omission",
            "shop",
            rds("LoadBalancer"),
            vec![rules::PUBLIC_WRITES_NEED_A_DECISION],
        ),
        (
            "a public catalogue open to all on purpose",
            "shop",
            with(rds("LoadBalancer"), json!({"auth": {"openWrites": true}})),
            vec![],
        ),
        (
            "both a token and open writes",
            "shop",
            with(
                public_rds(),
                json!({"auth": {"openWrites": true, "writeTokenSecretRef": {"name": "writers", "key": "tokens"}}}),
            ),
            vec![rules::ONE_WAY_TO_WRITE],
        ),
        (
            "an open demo on a load balancer",
            "shop",
            with(demo(), json!({"service": {"type": "LoadBalancer"}})),
            vec![],
        ),
        (
            "a name a Service cannot have",
            "2shop",
            demo(),
            vec![rules::NAME_IS_DNS_LABEL],
        ),
        (
            "a 64-character name",
            &long_name,
            demo(),
            vec![rules::NAME_IS_DNS_LABEL],
        ),
        (
            "maxReplicas below minReplicas",
            "shop",
            with(
                rds("ClusterIP"),
                json!({"replicas": 2, "autoscaling": {"minReplicas": 2, "maxReplicas": 1}}),
            ),
            vec![rules::MAX_AT_LEAST_MIN, rules::REPLICAS_WITHIN_AUTOSCALING],
        ),
        (
            "replicas above maxReplicas",
            "shop",
            with(rds("ClusterIP"), json!({"replicas": 5})),
            vec![rules::REPLICAS_WITHIN_AUTOSCALING],
        ),
        (
            "replicas in demo mode, where they are ignored",
            "shop",
            with(demo(), json!({"replicas": 7})),
            vec![],
        ),
        (
            "autoscaling without a CPU request",
            "shop",
            with(
                rds("ClusterIP"),
                json!({"resources": {"requests": {"memory": "64Mi"}}}),
            ),
            vec![rules::AUTOSCALING_NEEDS_CPU_REQUEST],
        ),
        (
            "a CPU limit instead",
            "shop",
            with(
                rds("ClusterIP"),
                json!({"resources": {"limits": {"cpu": "1"}}}),
            ),
            vec![],
        ),
        (
            "node-exporter on the API's port",
            "shop",
            with(
                demo(),
                json!({"monitoring": {"nodeExporter": {"port": 8080}}}),
            ),
            vec![rules::NODE_EXPORTER_PORT_FREE],
        ),
        (
            "an environment variable the operator sets",
            "shop",
            with(
                demo(),
                json!({"env": [{"name": "DB_SSL_MODE", "value": "required"}, {"name": "DB_HOST", "value": "elsewhere"}]}),
            ),
            vec![rules::ENV_NOT_RESERVED],
        ),
        (
            "tunables the operator leaves alone",
            "shop",
            with(
                demo(),
                json!({"env": [{"name": "DB_SSL_MODE", "value": "required"}, {"name": "TRUSTED_PROXIES", "value": "10.0.0.0/8"}]}),
            ),
            vec![],
        ),
        (
            "a disabled node-exporter on that port",
            "shop",
            with(
                demo(),
                json!({"monitoring": {"nodeExporter": {"port": 8080, "enabled": false}}}),
            ),
            vec![],
        ),
    ];
    for rule in rules::ALL {
        assert!(
            cases.iter().any(|(.., broken)| broken.contains(&rule)),
            "no case breaks {}",
            rule.rule
        );
    }
    let api = env.api::<Bookstore>("default");
    let dry_run = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    for (case, name, spec, broken) in cases {
        let bookstore: Bookstore = serde_json::from_value(json!({
            "apiVersion": "bookstore.dev/v1alpha1", "kind": "Bookstore",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec,
        }))
        .unwrap();
        let expected: BTreeSet<String> = broken
            .iter()
            .map(|r| format!("{}|{}", r.path(), r.message))
            .collect();
        let local: BTreeSet<String> = validate(&bookstore)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|v| format!("{}|{}", v.path, v.message))
            .collect();
        assert_eq!(local, expected, "validate() on {case}");
        match api.create(&dry_run, &bookstore).await {
            Ok(_) => assert!(broken.is_empty(), "the API server accepted {case}"),
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 422, "{case}: {status:?}");
                assert!(
                    !broken.is_empty(),
                    "the API server rejected {case}: {}",
                    status.message
                );
                for rule in rules::ALL {
                    let said = status.message.contains(rule.message)
                        && (rule.field_path.is_empty() || status.message.contains(&rule.path()));
                    assert_eq!(
                        said,
                        broken.contains(&rule),
                        "{case}: {} in {}",
                        rule.message,
                        status.message
                    );
                }
            }
            Err(other) => panic!("{case}: {other}"),
        }
    }
    eprintln!(
        "ok: {} rules give the same verdicts on the API server and in validate()",
        rules::ALL.len()
    );
}

async fn the_database_cannot_be_added_or_removed(env: &Env) {
    let ns = env.namespace("switch").await;
    env.apply(&ns, "demo", demo()).await;
    env.apply(&ns, "shop", rds("ClusterIP")).await;
    for (name, spec, change) in [
        ("demo", rds("ClusterIP"), "adding a database"),
        ("shop", demo(), "removing the database"),
    ] {
        let manifest = json!({"apiVersion": "bookstore.dev/v1alpha1", "kind": "Bookstore",
                              "metadata": {"name": name}, "spec": spec});
        let result = env
            .api::<Bookstore>(&ns)
            .patch(
                name,
                &PatchParams::apply(ADMIN).force(),
                &Patch::Apply(manifest),
            )
            .await;
        match result {
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 422, "{change}: {status:?}");
                assert!(
                    status.message.contains(rules::DATABASE_STAYS.message)
                        && status.message.contains(&rules::DATABASE_STAYS.path()),
                    "{change}: {}",
                    status.message
                );
            }
            other => panic!("{change} was not refused: {other:?}"),
        }
    }
    eprintln!("ok: a Bookstore's database can be neither added nor removed");
}

async fn leaders_hand_over_without_overlap(env: &Env, mut a: Operator, proxy: &Proxy) {
    let direct = env.cluster.operator_kubeconfig("direct", None);
    let mut b = Operator::start(
        &env.cluster,
        &direct,
        "e2e-b",
        Some(cluster::OPERATOR_NAMESPACE),
    );
    eventually("operator e2e-b to serve metrics", TIMEOUT, || async {
        b.metrics().await.map(|_| ())
    })
    .await;
    let mark = env.cluster.audit_mark();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let standby_writes: Vec<_> = env
        .cluster
        .operator_requests(mark)
        .into_iter()
        .filter(|r| r.user_agent.contains("(e2e-b)") && r.resource != "leases")
        .collect();
    assert!(
        standby_writes.is_empty(),
        "a standby replica touched the cluster: {standby_writes:?}"
    );

    // Cut "a" off the API server: it must step down before "b" may take over.
    let cut = Instant::now();
    proxy.cut();
    let mut a_stepped_down = None;
    let mut b_led = None;
    let mut overlap = Vec::new();
    while b_led.is_none() || a_stepped_down.is_none() {
        assert!(
            cut.elapsed() < TIMEOUT,
            "no handover within {TIMEOUT:?} (a ended: {a_stepped_down:?})"
        );
        let a_leads = !a.has_exited() && a.leads().await;
        if a_stepped_down.is_none() && !a_leads {
            a_stepped_down = Some(cut.elapsed());
        }
        let b_leads = b.leads().await;
        if b_led.is_none() && b_leads {
            b_led = Some(cut.elapsed());
        }
        if a_leads && b_leads {
            overlap.push(cut.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        overlap.is_empty(),
        "two leaders at once from {:?} ({} samples 100 ms apart)",
        overlap[0],
        overlap.len()
    );
    let (a_down, b_up) = (a_stepped_down.unwrap(), b_led.unwrap());
    assert!(
        a_down < b_up,
        "a stepped down at {a_down:?}, b led at {b_up:?}"
    );
    assert!(
        a.log_text().contains("leadership lost"),
        "a says why it stopped"
    );
    // Its last renewal came before the cut: it stops within the renew deadline of the cut.
    let slack = Duration::from_millis(500);
    assert!(
        a_down <= Duration::from_secs(cluster::SUITE_LEASE_TIMINGS.1) + slack,
        "a stepped down after {a_down:?}"
    );
    a.kill();

    // The new leader reconciles.
    let ns = env.namespace("failover").await;
    env.apply(&ns, "shop", demo()).await;
    env.child(&ns, "shop", |_: &Deployment| true).await;

    // Killed outright, the leader is replaced once its Lease expires.
    let c = Operator::start(
        &env.cluster,
        &direct,
        "e2e-c",
        Some(cluster::OPERATOR_NAMESPACE),
    );
    eventually("operator e2e-c to serve metrics", TIMEOUT, || async {
        c.metrics().await.map(|_| ())
    })
    .await;
    assert!(!c.leads().await, "c waits while b leads");
    let killed = Instant::now();
    b.kill();
    eventually("operator e2e-c to lead", TIMEOUT, || async {
        c.leads().await.then_some(())
    })
    .await;
    let c_up = killed.elapsed();
    let mut changed = demo();
    changed["service"]["port"] = json!(8082);
    env.apply(&ns, "shop", changed).await;
    env.child(&ns, "shop", |s: &Service| {
        s.spec.as_ref().unwrap().ports.as_ref().unwrap()[0].port == 8082
    })
    .await;
    eprintln!(
        "ok: leader cut off: stepped down after {a_down:?}, standby led after {b_up:?}; leader killed: standby led after {c_up:?}"
    );
}

/// No `POD_NAMESPACE`: the Lease goes to the kubeconfig's namespace, and a namespace that does
/// not exist is said so, with what to do.
async fn a_local_run_takes_its_lease_namespace_from_the_kubeconfig(env: &Env) {
    let nowhere = format!("e2e-{}-nowhere", env.run);
    let kubeconfig = env.cluster.admin_kubeconfig_in(&nowhere);
    let mut lost = Operator::start(&env.cluster, &kubeconfig, "e2e-local-nowhere", None);
    assert_eq!(lost.exit_code(TIMEOUT).await, Some(1), "it stops");
    let said = lost.log_text();
    assert!(
        said.contains(&format!("error: namespace \"{nowhere}\" does not exist"))
            && said.contains("POD_NAMESPACE")
            && said.contains("--leader-election=false"),
        "{said}"
    );

    let ns = env.namespace("local").await;
    let kubeconfig = env.cluster.admin_kubeconfig_in(&ns);
    let mut local = Operator::start(&env.cluster, &kubeconfig, "e2e-local", None);
    eventually("the local run to lead", TIMEOUT, || async {
        local.leads().await.then_some(())
    })
    .await;
    let leases =
        Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(env.admin.clone(), &ns);
    let holder = |lease: k8s_openapi::api::coordination::v1::Lease| lease.spec?.holder_identity;
    let lease = leases
        .get(cluster::SUITE_LEASE)
        .await
        .expect("the Lease is in the kubeconfig's namespace");
    assert_eq!(holder(lease).as_deref(), Some("e2e-local"));
    // Stopped as Kubernetes stops a pod, it releases the Lease for a standby to take at once.
    local.terminate();
    assert_eq!(local.exit_code(TIMEOUT).await, Some(0), "a clean stop");
    let lease = leases.get(cluster::SUITE_LEASE).await.unwrap();
    assert_eq!(holder(lease), None, "released");
    eprintln!(
        "ok: a local run leads on a Lease in its kubeconfig's namespace and releases it on SIGTERM; a missing namespace is explained"
    );
}

/// `deploy/operator-namespaced` as a tenant's namespace gets it: its RBAC applied there (the suite
/// runs the operator binary itself, with that ServiceAccount's token and `WATCH_NAMESPACES`). It
/// reconciles its namespace's Bookstores with Roles alone, and the audit log shows it asking for
/// nothing outside its namespace but node metadata.
async fn a_namespaced_install_reaches_only_its_namespace(env: &Env) {
    use serde::Deserialize;
    let ns = env.namespace("tenant").await;
    let other = env.namespace("other").await;
    let package = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/operator-namespaced");
    let rendered = env.cluster.kubectl(&["kustomize", package]);
    let mut rbac = Vec::new();
    for document in yaml_serde::Deserializer::from_str(&rendered) {
        let mut object = Value::deserialize(document).unwrap();
        match object["kind"].as_str().unwrap() {
            "Deployment" => {
                let env_vars = &object["spec"]["template"]["spec"]["containers"][0]["env"];
                assert!(
                    env_vars
                        .as_array()
                        .unwrap()
                        .contains(&json!({"name": "WATCH_NAMESPACES",
                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}})),
                    "the package's operator watches its own namespace: {env_vars}"
                );
            }
            "ServiceAccount" | "Role" | "RoleBinding" | "ClusterRole" | "ClusterRoleBinding" => {
                if object["metadata"]["namespace"].is_string() {
                    object["metadata"]["namespace"] = json!(ns);
                }
                let subjects = object.get_mut("subjects").and_then(Value::as_array_mut);
                for subject in subjects.into_iter().flatten() {
                    subject["namespace"] = json!(ns);
                }
                rbac.push(object);
            }
            _ => {}
        }
    }
    assert!(
        !rbac
            .iter()
            .any(|o| o["kind"] == "ClusterRole" && o["metadata"]["name"] == "bookstore-operator"),
        "no cluster-wide operator role"
    );
    let file = env.cluster.work_dir.join("namespaced-rbac.json");
    std::fs::write(
        &file,
        json!({"apiVersion": "v1", "kind": "List", "items": rbac}).to_string(),
    )
    .unwrap();
    env.cluster.kubectl(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        file.to_str().unwrap(),
    ]);

    let mark = env.cluster.audit_mark();
    let kubeconfig = env
        .cluster
        .service_account_kubeconfig(&ns, "e2e-tenant", None);
    let tenant = Operator::start_with(
        &env.cluster,
        &kubeconfig,
        "e2e-tenant",
        Some(&ns),
        &["--watch-namespaces".to_owned(), ns.clone()],
    );
    for namespace in [&ns, &other] {
        env.password(namespace, "tenant-password").await;
        env.apply(namespace, "shop", rds("ClusterIP")).await;
    }
    env.status(&ns, "shop", |s| is(s, "Degraded", "False", "AsExpected"))
        .await;
    env.child(&ns, "shop", |_: &Deployment| true).await;
    let user = format!("system:serviceaccount:{ns}:bookstore-operator");
    let requests = env.cluster.requests_of(&user, mark);
    if env.cluster.audit_log.is_some() {
        assert!(
            !requests.is_empty(),
            "the audit log shows the tenant's operator"
        );
        // Discovery (whether PodMonitors are served) names no resource.
        let outside: Vec<_> = requests
            .iter()
            .filter(|r| r.namespace != ns && r.resource != "nodes" && !r.resource.is_empty())
            .collect();
        assert!(outside.is_empty(), "requests outside {ns}: {outside:?}");
        let refused: Vec<_> = requests.iter().filter(|r| r.code == 403).collect();
        assert!(refused.is_empty(), "refused: {refused:?}");
        eprintln!(
            "ok: a namespaced install reconciles {ns} with Roles only: {} requests, all in {ns} or node metadata, none refused",
            requests.len()
        );
    } else {
        eprintln!(
            "ok: a namespaced install reconciles {ns} with Roles only (no audit log to count its requests)"
        );
    }
    tenant.terminate();
}

/// `bookstore-view` and `bookstore-edit` aggregate into the built-in roles: a RoleBinding to
/// `view` or `edit` is all a tenant needs.
async fn tenants_manage_bookstores_through_the_built_in_roles(env: &Env) {
    let ns = env.namespace("rbac").await;
    for (user, role) in [("alice", "edit"), ("bob", "view")] {
        env.cluster.kubectl(&[
            "-n",
            &ns,
            "create",
            "rolebinding",
            user,
            &format!("--clusterrole={role}"),
            &format!("--user={user}"),
        ]);
    }
    let can = |user: &str, verb: &str| {
        let output = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&env.cluster.admin_kubeconfig)
            .args([
                "-n",
                &ns,
                "auth",
                "can-i",
                verb,
                "bookstores.bookstore.dev",
                "--as",
                user,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    // Aggregation is the controller manager's work: it fills the built-in roles shortly after.
    eventually(
        "the built-in roles to include Bookstores",
        TIMEOUT,
        || async { (can("alice", "create") == "yes" && can("bob", "list") == "yes").then_some(()) },
    )
    .await;
    assert_eq!(can("alice", "delete"), "yes");
    assert_eq!(can("bob", "create"), "no", "view reads only");
    assert_eq!(can("carol", "list"), "no", "nothing without a binding");
    eprintln!("ok: edit manages Bookstores, view reads them, through aggregation");
}

/// `spec.monitoring.podMonitor`: a PodMonitor for the pods while enabled, gone once disabled.
async fn a_pod_monitor_follows_the_bookstore(env: &Env) {
    use bookstore_operator::children::PodMonitor;
    let ns = env.namespace("monitor").await;
    env.password(&ns, "pw").await;
    let mut spec = rds("ClusterIP");
    spec["monitoring"] = json!({"podMonitor": {"enabled": true, "interval": "30s",
                                               "labels": {"release": "prometheus"}}});
    let shop = env.apply(&ns, "shop", spec.clone()).await;
    let monitor: PodMonitor = env.child(&ns, "shop", |_| true).await;
    assert_eq!(monitor.labels()["release"], "prometheus");
    assert_eq!(monitor.owner_references()[0].uid, shop.uid().unwrap());
    let endpoints: Vec<_> = monitor
        .spec
        .pod_metrics_endpoints
        .iter()
        .map(|e| (e.port.as_str(), e.interval.as_deref()))
        .collect();
    assert_eq!(
        endpoints,
        [("metrics", Some("30s")), ("node-metrics", Some("30s"))]
    );
    spec["monitoring"]["podMonitor"]["enabled"] = json!(false);
    env.apply(&ns, "shop", spec).await;
    env.absent::<PodMonitor>(&ns, "shop").await;
    eprintln!("ok: a PodMonitor is made for the pods while asked for, and removed after");
}
