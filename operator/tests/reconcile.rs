//! Reconcile scenarios against a mocked API server: every request is checked (method, path,
//! field manager, body) and answered the way kube-apiserver answers. The caches are filled the
//! way the watches would fill them, so each scenario also pins down which requests the operator
//! does *not* make.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use bookstore_operator::cache::Caches;
use bookstore_operator::children::{self, Inputs, RollKey, SecretValue};
use bookstore_operator::crd::Bookstore;
use bookstore_operator::metrics::Metrics;
use bookstore_operator::reconcile::{Context, error_policy, reconcile};
use bookstore_operator::status::{self, Observed};
use http::{Method, Request, Response, StatusCode};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service};
use kube::Client;
use kube::client::Body;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::Action;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use serde_json::{Value, json};

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

const NS: &str = "books";
const MANAGER: &str = "bookstore-operator";
const REPLICAS_MANAGER: &str = "bookstore-operator-replicas";

/// One request the operator must make, and the API server's answer.
struct Expect {
    method: Method,
    path: String,
    /// The field manager of a server-side apply.
    manager: &'static str,
    /// Requests of one group are sent at once and may come in any order; groups come in order.
    group: usize,
    /// Checks the request's JSON body; returns the reply.
    reply: Box<dyn FnOnce(Value) -> (StatusCode, Value) + Send>,
}

fn expect(
    method: Method,
    path: &str,
    reply: impl FnOnce(Value) -> (StatusCode, Value) + Send + 'static,
) -> Expect {
    static GROUPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    Expect {
        method,
        path: path.to_owned(),
        manager: MANAGER,
        group: GROUPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        reply: Box::new(reply),
    }
}

/// Groups of requests, one after the other.
fn in_order(groups: Vec<Vec<Expect>>) -> Vec<Expect> {
    groups.into_iter().flatten().collect()
}

/// Requests the operator sends at once (in any order).
fn at_once(mut expectations: Vec<Expect>) -> Vec<Expect> {
    let group = expectations.first().map_or(0, |e| e.group);
    for expectation in &mut expectations {
        expectation.group = group;
    }
    expectations
}

impl Expect {
    fn by(self, manager: &'static str) -> Self {
        Self { manager, ..self }
    }
}

fn failure(code: StatusCode, reason: &str, message: &str) -> (StatusCode, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code.as_u16()}),
    )
}

/// What an apply returns: the object as sent, with server fields added.
fn stored(mut body: Value) -> Value {
    body["metadata"]["uid"] = json!("child-uid");
    body["metadata"]["resourceVersion"] = json!("1");
    body["metadata"]["generation"] = json!(1);
    body
}

/// A server-side apply that the API server accepts as sent.
fn applied(path: &str) -> Expect {
    expect(Method::PATCH, path, |body| (StatusCode::OK, stored(body)))
}

const PASSWORD_PATH: &str = "/api/v1/namespaces/books/secrets/db-password";
const DEPLOYMENT_PATH: &str = "/apis/apps/v1/namespaces/books/deployments/shop";
const SERVICE_PATH: &str = "/api/v1/namespaces/books/services/shop";
const HPA_PATH: &str = "/apis/autoscaling/v2/namespaces/books/horizontalpodautoscalers/shop";
const BUDGET_PATH: &str = "/apis/policy/v1/namespaces/books/poddisruptionbudgets/shop";
const STATUS_PATH: &str = "/apis/bookstore.dev/v1alpha1/namespaces/books/bookstores/shop/status";
const EVENTS_PATH: &str = "/apis/events.k8s.io/v1/namespaces/books/events";
const TOKEN_PATH: &str = "/api/v1/namespaces/books/secrets/writers";

/// A Secret labelled `bookstore.dev/watch=true`, as the Secret watch caches it.
fn watched_secret(name: &str, key: &str, value: &str) -> Secret {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": NS, "resourceVersion": "7",
                     "labels": {"bookstore.dev/watch": "true"}},
        "stringData": {key: value},
    }))
    .unwrap()
}

/// A Deployment named like the Bookstore's, made by someone else (no owner, no operator label).
fn someone_elses_deployment() -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "shop", "namespace": NS, "uid": "theirs", "resourceVersion": "3"},
    }))
    .unwrap()
}

/// The password Secret, holding `s3cret`.
fn password_secret() -> Secret {
    watched_secret("db-password", "password", "s3cret")
}

/// The operator's roll key in these tests.
fn roll_key() -> RollKey {
    RollKey::new(b"reconcile-test-roll-key-0123456789").unwrap()
}

fn with_write_token(mut spec: Value) -> Value {
    spec["auth"] = json!({"writeTokenSecretRef": {"name": "writers", "key": "tokens"}});
    spec
}

fn event(kind: &'static str, reason: &'static str, note: impl Fn(&str) + Send + 'static) -> Expect {
    expect(Method::POST, EVENTS_PATH, move |body| {
        assert_eq!(
            (body["type"].as_str(), body["reason"].as_str()),
            (Some(kind), Some(reason))
        );
        assert_eq!(body["regarding"]["name"], "shop");
        let text = body["note"].as_str().unwrap_or_default();
        // A recovery's action is the problem it recovered from (one series per problem).
        let action = match reason {
            "Recovered" => text.strip_prefix("no longer ").unwrap_or("?"),
            _ => "Reconcile",
        };
        assert_eq!(body["action"], action);
        note(text);
        (StatusCode::CREATED, stored(body))
    })
}

fn status_write(check: impl FnOnce(&Value) + Send + 'static) -> Expect {
    expect(Method::PATCH, STATUS_PATH, |body| {
        check(&body["status"]);
        let mut object = serde_json::to_value(bookstore(json!({"image": "any"}))).unwrap();
        object["status"] = body["status"].clone();
        (StatusCode::OK, object)
    })
}

/// Serves the expected requests in order (any order within a group), then checks nothing else
/// came.
async fn serve(mut handle: Handle, expectations: Vec<Expect>) -> Handle {
    let mut pending: std::collections::VecDeque<Expect> = expectations.into();
    while let Some(group) = pending.front().map(|e| e.group) {
        let waiting: Vec<String> = pending
            .iter()
            .take_while(|e| e.group == group)
            .map(|e| format!("{} {}", e.method, e.path))
            .collect();
        let (request, respond) =
            tokio::time::timeout(Duration::from_secs(5), handle.next_request())
                .await
                .unwrap_or_else(|_| panic!("no request came; expected one of {waiting:?}"))
                .expect("the client hung up");
        let query = request.uri().query().unwrap_or_default().to_owned();
        let manager = query
            .split('&')
            .find_map(|p| p.strip_prefix("fieldManager="))
            .unwrap_or_default()
            .to_owned();
        let found = pending
            .iter()
            .take_while(|e| e.group == group)
            .position(|e| {
                (&e.method, e.path.as_str()) == (request.method(), request.uri().path())
                    && (e.method != Method::PATCH || e.manager == manager)
            })
            .unwrap_or_else(|| {
                panic!(
                    "unexpected request {} {} (manager {manager:?}); expected one of {waiting:?}",
                    request.method(),
                    request.uri().path()
                )
            });
        let expected = pending.remove(found).expect("found");
        if request.method() == Method::PATCH {
            assert!(query.contains("force=true"), "a forced apply: {query}");
            assert_eq!(
                request.headers()["content-type"],
                "application/apply-patch+yaml"
            );
        }
        let bytes = request.into_body().collect_bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        let (status, reply) = (expected.reply)(body);
        respond.send_response(
            Response::builder()
                .status(status)
                .body(Body::from(serde_json::to_vec(&reply).unwrap()))
                .unwrap(),
        );
    }
    let extra = tokio::time::timeout(Duration::from_millis(200), handle.next_request()).await;
    if let Ok(Some((request, _))) = extra {
        panic!(
            "unexpected extra request {} {}",
            request.method(),
            request.uri()
        );
    }
    handle
}

/// The caches as the watches would have filled them.
#[derive(Default)]
struct World {
    deployments: Vec<Deployment>,
    services: Vec<Service>,
    autoscalers: Vec<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler>,
    disruption_budgets: Vec<k8s_openapi::api::policy::v1::PodDisruptionBudget>,
    /// The Secrets labelled for the operator's watch.
    secrets: Vec<Secret>,
    /// Deployments known only to the metadata cache (no `managed-by` label).
    unlabelled_deployments: Vec<Deployment>,
    /// Whether the cluster serves prometheus-operator's PodMonitor.
    pod_monitors_served: bool,
}

fn listed<K>(objects: Vec<K>) -> Store<K>
where
    K: kube::Resource<DynamicType = ()> + Clone,
{
    let (store, mut writer) = reflector::store();
    writer.apply_watcher_event(&watcher::Event::Init);
    for object in objects {
        writer.apply_watcher_event(&watcher::Event::InitApply(object));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    store
}

/// A metadata cache holding the given objects' metadata.
fn names<K>(objects: &[K]) -> Store<PartialObjectMeta<K>>
where
    K: kube::Resource<DynamicType = ()> + Clone + Default,
    PartialObjectMeta<K>: kube::Resource<DynamicType = ()> + Clone,
{
    listed(
        objects
            .iter()
            .map(|object| PartialObjectMeta::<K> {
                metadata: object.meta().clone(),
                ..Default::default()
            })
            .collect(),
    )
}

impl World {
    fn caches(self) -> Caches {
        Caches {
            bookstores: listed(Vec::new()),
            // The metadata caches hold what has no managed-by label: not the children.
            deployment_names: names(&self.unlabelled_deployments),
            service_names: listed(Vec::new()),
            autoscaler_names: listed(Vec::new()),
            disruption_budget_names: listed(Vec::new()),
            deployments: listed(self.deployments),
            services: listed(self.services),
            autoscalers: listed(self.autoscalers),
            disruption_budgets: listed(self.disruption_budgets),
            secrets: listed(self.secrets),
            pods: listed(Vec::new()),
            nodes: listed(Vec::new()),
            pod_monitors: listed(Vec::new()),
            pod_monitor_names: listed(Vec::new()),
            pod_monitors_served: self.pod_monitors_served,
        }
    }
}

fn context(world: World) -> (Arc<Context>, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, NS);
    let reporter = Reporter {
        controller: "bookstore-operator".into(),
        instance: Some("test".into()),
    };
    let recorder = Recorder::new(client.clone(), reporter);
    let context = Context::new(
        client,
        recorder,
        Arc::new(Metrics::default()),
        world.caches(),
        roll_key(),
    );
    (Arc::new(context), handle)
}

fn bookstore(spec: Value) -> Bookstore {
    serde_json::from_value(json!({
        "apiVersion": "bookstore.dev/v1alpha1", "kind": "Bookstore",
        "metadata": {"name": "shop", "namespace": NS, "uid": "shop-uid", "generation": 1,
                     "resourceVersion": "100"},
        "spec": spec,
    }))
    .unwrap()
}

fn rds_spec() -> Value {
    json!({
        "image": "registry.example/bookstore-api:1.0.0",
        "database": {"host": "db.rds.amazonaws.com", "name": "bookstore", "user": "app",
                     "passwordSecretRef": {"name": "db-password", "key": "password"}}
    })
}

fn deployment_with_status(body: Value, ready: i32) -> Value {
    let mut deployment = stored(body);
    deployment["status"] = json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": ready,
                                  "availableReplicas": ready, "updatedReplicas": 2});
    deployment
}

/// A Deployment whose replica count changed since it was created.
fn scaled(mut deployment: Value) -> Value {
    deployment["metadata"]["generation"] = json!(2);
    deployment["status"]["observedGeneration"] = json!(2);
    deployment
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap()
}

/// The children exactly as applied before, as the API server stores them (server fields added).
fn converged(shop: &Bookstore) -> (World, Deployment, Service) {
    converged_with(
        shop,
        &Inputs {
            password: Some(SecretValue::new(b"s3cret".to_vec())),
            write_token: None,
        },
    )
}

/// The same, built from the given Secret values.
fn converged_with(shop: &Bookstore, inputs: &Inputs) -> (World, Deployment, Service) {
    let children = children::desired(shop, &inputs.digests(&roll_key(), shop));
    let as_stored = |object: Value| stored(object);
    let mut deployment: Deployment = serde_json::from_value(scaled(deployment_with_status(
        serde_json::to_value(&children.deployment).unwrap(),
        2,
    )))
    .unwrap();
    deployment.spec.as_mut().unwrap().replicas = Some(2);
    let mut service: Service =
        serde_json::from_value(as_stored(serde_json::to_value(&children.service).unwrap()))
            .unwrap();
    service.spec.as_mut().unwrap().cluster_ip = Some("10.96.0.10".into());
    let world = World {
        deployments: vec![deployment.clone()],
        services: vec![service.clone()],
        autoscalers: children
            .autoscaler
            .iter()
            .map(|a| serde_json::from_value(as_stored(serde_json::to_value(a).unwrap())).unwrap())
            .collect(),
        disruption_budgets: children
            .disruption_budget
            .iter()
            .map(|b| serde_json::from_value(as_stored(serde_json::to_value(b).unwrap())).unwrap())
            .collect(),
        secrets: vec![password_secret()],
        ..World::default()
    };
    (world, deployment, service)
}

/// The status a previous reconcile wrote for this very world.
fn settled(mut shop: Bookstore, deployment: &Deployment, service: &Service) -> Bookstore {
    let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
    );
    let observed = Observed {
        deployment: Some(deployment),
        service: Some(service),
        problem: None,
        // No pod in the cache: none ready anywhere.
        placement: Some(bookstore_operator::zones::Placement::default()),
    };
    shop.status = Some(status::compute(&shop, None, &observed, &now));
    shop
}

async fn run_with(
    context: &Arc<Context>,
    handle: Handle,
    bookstore: Bookstore,
    expectations: Vec<Expect>,
) -> (Result<Action, bookstore_operator::error::Error>, Handle) {
    let server = tokio::spawn(serve(handle, expectations));
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        reconcile(Arc::new(bookstore), Arc::clone(context)),
    )
    .await
    .expect("reconcile finished");
    let handle = server.await.expect("every expected request, and no other");
    (result, handle)
}

async fn run(
    world: World,
    bookstore: Bookstore,
    expectations: Vec<Expect>,
) -> (
    Result<Action, bookstore_operator::error::Error>,
    Arc<Context>,
) {
    let (context, handle) = context(world);
    let (result, _) = run_with(&context, handle, bookstore, expectations).await;
    (result, context)
}

fn failures(context: &Context, reason: &str) -> bool {
    context.metrics.render().unwrap().contains(&format!(
        r#"bookstore_operator_reconcile_failures_total{{reason="{reason}"}} 1"#
    ))
}

#[tokio::test]
async fn first_reconcile_creates_every_child_then_reports() {
    let world = World {
        secrets: vec![password_secret()],
        ..World::default()
    };
    let expectations = in_order(vec![
        // No name is taken (the metadata caches say so) and the password is in the cache of
        // watched Secrets: nothing to look up first. The four children at once.
        at_once(vec![
            expect(Method::PATCH, DEPLOYMENT_PATH, |body| {
                assert!(
                    body["spec"].get("replicas").is_none(),
                    "the HPA owns replicas"
                );
                let template = &body["spec"]["template"];
                let env = template["spec"]["containers"][0]["env"].as_array().unwrap();
                let password = env.iter().find(|e| e["name"] == "DB_PASSWORD").unwrap();
                assert_eq!(
                    password["valueFrom"]["secretKeyRef"],
                    json!({"name": "db-password", "key": "password", "optional": false}),
                    "the pods read the user's Secret"
                );
                let host = env.iter().find(|e| e["name"] == "DB_HOST").unwrap();
                assert_eq!(host["value"], "db.rds.amazonaws.com");
                let digest =
                    &template["metadata"]["annotations"]["bookstore.dev/db-password-hmac-sha256"];
                assert_eq!(
                    digest.as_str(),
                    Some(
                        roll_key()
                            .digest(
                                "database password books/db-password:password",
                                &SecretValue::new(b"s3cret".to_vec())
                            )
                            .as_str()
                    ),
                    "keyed with the operator's roll key"
                );
                assert!(
                    body["metadata"]["annotations"]["bookstore.dev/desired-sha256"].is_string()
                );
                assert!(
                    !body.to_string().contains("s3cret") && !body.to_string().contains("czNjcmV0")
                );
                (StatusCode::OK, deployment_with_status(body, 1))
            }),
            expect(Method::PATCH, SERVICE_PATH, |body| {
                assert_eq!(body["spec"]["type"], "LoadBalancer");
                (StatusCode::OK, stored(body))
            }),
            expect(Method::PATCH, HPA_PATH, |body| {
                assert_eq!(
                    (
                        body["spec"]["minReplicas"].as_i64(),
                        body["spec"]["maxReplicas"].as_i64()
                    ),
                    (Some(1), Some(3))
                );
                (StatusCode::OK, stored(body))
            }),
            expect(Method::PATCH, BUDGET_PATH, |body| {
                assert_eq!(body["spec"]["maxUnavailable"], 1);
                assert_eq!(
                    body["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"],
                    "shop"
                );
                (StatusCode::OK, stored(body))
            }),
        ]),
        vec![
            // Just created: the starting count, under a manager of its own, without a version
            // precondition (the deployment controller's status writes would fail it).
            expect(Method::PATCH, DEPLOYMENT_PATH, |body| {
                assert_eq!(body["spec"], json!({"replicas": 2}));
                assert!(body["metadata"].get("resourceVersion").is_none(), "{body}");
                assert_eq!(body["kind"], "Deployment");
                (StatusCode::OK, scaled(deployment_with_status(body, 1)))
            })
            .by(REPLICAS_MANAGER),
        ],
        at_once(vec![
            event("Normal", "Applied", |note| {
                assert_eq!(
                    note,
                    "created Deployment shop, created Service shop, created HorizontalPodAutoscaler shop, created PodDisruptionBudget shop"
                );
            }),
            status_write(|status| {
                assert_eq!(status["observedGeneration"], 1);
                assert_eq!(status["replicasReady"], "1/2");
                assert_eq!(condition(status, "Ready")["status"], "False");
                assert_eq!(condition(status, "Progressing")["reason"], "RollingOut");
                assert_eq!(condition(status, "Degraded")["status"], "False");
                assert_eq!(status["database"], "external");
            }),
        ]),
    ]);
    let (result, context) = run(world, bookstore(rds_spec()), expectations).await;
    assert!(result.is_ok(), "{result:?}");
    let metrics = context.metrics.render().unwrap();
    assert!(
        metrics.contains(r#"bookstore_operator_reconciliations_total{result="success"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_converged_bookstore_costs_no_request() {
    let shop = bookstore(rds_spec());
    let (world, deployment, service) = converged(&shop);
    let shop = settled(shop, &deployment, &service);
    let (context, handle) = context(world);
    // The password comes from the cache of watched Secrets: not even the first reconcile of this
    // process asks for it...
    let (result, handle) = run_with(&context, handle, shop.clone(), Vec::new()).await;
    assert!(result.is_ok(), "{result:?}");
    // ...and neither does a later one.
    let (quiet, _) = run_with(&context, handle, shop, Vec::new()).await;
    assert!(quiet.is_ok(), "{quiet:?}");
    let metrics = context.metrics.render().unwrap();
    assert!(
        metrics.contains(r#"bookstore_operator_reconciliations_total{result="success"} 2"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn drift_is_repaired_by_applying_only_the_drifted_child() {
    let shop = bookstore(rds_spec());
    let (mut world, deployment, service) = converged(&shop);
    let shop = settled(shop, &deployment, &service);
    // Someone changed the image by hand.
    let template = &mut world.deployments[0].spec.as_mut().unwrap().template;
    template.spec.as_mut().unwrap().containers[0].image = Some("evil:latest".into());
    let expectations = vec![
        expect(Method::PATCH, DEPLOYMENT_PATH, |body| {
            assert_eq!(
                body["spec"]["template"]["spec"]["containers"][0]["image"],
                "registry.example/bookstore-api:1.0.0"
            );
            (StatusCode::OK, scaled(deployment_with_status(body, 2)))
        }),
        event("Normal", "Applied", |note| {
            assert_eq!(note, "updated Deployment shop")
        }),
    ];
    let (result, _) = run(world, shop, expectations).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn a_missing_password_secret_is_reported_and_retried() {
    let world = World::default();
    let expectations = in_order(vec![
        // Not among the watched Secrets: one look tells "missing" from "not labelled".
        vec![expect(Method::GET, PASSWORD_PATH, |_| {
            failure(
                StatusCode::NOT_FOUND,
                "NotFound",
                r#"secrets "db-password" not found"#,
            )
        })],
        at_once(vec![
            event("Warning", "DatabaseSecretNotFound", |note| {
                assert!(note.contains("books/db-password"), "{note}");
            }),
            status_write(|status| {
                let ready = condition(status, "Ready");
                assert_eq!(
                    (&ready["status"], &ready["reason"]),
                    (&json!("False"), &json!("DatabaseSecretNotFound"))
                );
                assert_eq!(condition(status, "Degraded")["status"], "True");
            }),
        ]),
    ]);
    let shop = bookstore(rds_spec());
    let (result, context) = run(world, shop.clone(), expectations).await;
    let error = result.expect_err("the reconcile fails");
    assert_eq!(error.reason(), "DatabaseSecretNotFound");
    // Retried after the first backoff step (5 s, ±10 %), not the resync period.
    let retry = error_policy(Arc::new(shop), &error, Arc::clone(&context));
    assert!(
        (4500..=5500).any(|ms| retry == Action::requeue(Duration::from_millis(ms))),
        "{retry:?}"
    );
    assert!(failures(&context, "DatabaseSecretNotFound"));
}

#[tokio::test]
async fn a_password_secret_without_the_watch_label_says_how_to_label_it() {
    let expectations = in_order(vec![
        vec![expect(Method::GET, PASSWORD_PATH, |_| {
            (
                StatusCode::OK,
                json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
                       "metadata": {"name": "db-password", "namespace": NS, "resourceVersion": "7"}}),
            )
        })],
        at_once(vec![
            event("Warning", "SecretNotWatched", |note| {
                assert_eq!(
                    note,
                    "Secret books/db-password (spec.database.passwordSecretRef) is not labelled bookstore.dev/watch=true, so the operator does not see it: kubectl -n books label secret db-password bookstore.dev/watch=true"
                );
            }),
            status_write(|status| {
                let ready = condition(status, "Ready");
                assert_eq!(
                    (&ready["status"], &ready["reason"]),
                    (&json!("False"), &json!("SecretNotWatched"))
                );
            }),
        ]),
    ]);
    let (result, context) = run(World::default(), bookstore(rds_spec()), expectations).await;
    assert_eq!(result.expect_err("fails").reason(), "SecretNotWatched");
    assert!(failures(&context, "SecretNotWatched"));
}

#[tokio::test]
async fn an_object_it_did_not_create_is_never_adopted() {
    let theirs = someone_elses_deployment();
    let world = World {
        secrets: vec![password_secret()],
        unlabelled_deployments: vec![theirs],
        ..World::default()
    };
    let expectations = in_order(vec![at_once(vec![
        // Deployment `shop` is someone else's (in the metadata cache, without the operator's
        // label or owner reference). Nothing is applied at all.
        event("Warning", "AdoptionRefused", |note| {
            assert!(
                note.starts_with("Deployment books/shop already exists"),
                "{note}"
            );
        }),
        status_write(|status| {
            let degraded = condition(status, "Degraded");
            assert_eq!(
                (&degraded["status"], &degraded["reason"]),
                (&json!("True"), &json!("AdoptionRefused"))
            );
        }),
    ])]);
    let (result, context) = run(world, bookstore(rds_spec()), expectations).await;
    assert_eq!(result.expect_err("refused").reason(), "AdoptionRefused");
    assert!(failures(&context, "AdoptionRefused"));
}

#[tokio::test]
async fn switching_autoscaling_on_keeps_the_replica_count() {
    let mut fixed = rds_spec();
    fixed["autoscaling"] = json!({"enabled": false});
    fixed["replicas"] = json!(3);
    let (mut world, _, _) = converged(&bookstore(fixed));
    let deployment = &mut world.deployments[0];
    deployment.spec.as_mut().unwrap().replicas = Some(3);
    deployment.metadata.managed_fields = Some(vec![
        serde_json::from_value(json!({
            "manager": MANAGER, "operation": "Apply", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {}}}
        }))
        .unwrap(),
    ]);
    let mut autoscaled = rds_spec();
    autoscaled["replicas"] = json!(3);
    let shop = bookstore(autoscaled);
    let expectations = in_order(vec![
        at_once(vec![
            // The current count is held by the replicas manager before the main one lets go of it.
            expect(Method::PATCH, DEPLOYMENT_PATH, |body| {
                assert_eq!(body["spec"], json!({"replicas": 3}));
                (StatusCode::OK, scaled(deployment_with_status(body, 3)))
            })
            .by(REPLICAS_MANAGER),
            applied(HPA_PATH),
        ]),
        vec![expect(Method::PATCH, DEPLOYMENT_PATH, |body| {
            assert!(body["spec"].get("replicas").is_none());
            let mut stored = scaled(deployment_with_status(body, 3));
            stored["spec"]["replicas"] = json!(3);
            (StatusCode::OK, stored)
        })],
        at_once(vec![
            event("Normal", "Applied", |note| {
                assert_eq!(
                    note,
                    "updated Deployment shop, created HorizontalPodAutoscaler shop"
                );
            }),
            status_write(|status| assert_eq!(status["replicas"], 3)),
        ]),
    ]);
    let (result, _) = run(world, shop, expectations).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn switching_autoscaling_off_deletes_the_autoscaler_and_fixes_the_replicas() {
    let shop = bookstore(rds_spec());
    let (world, _, _) = converged(&shop);
    let mut spec = rds_spec();
    spec["autoscaling"] = json!({"enabled": false});
    spec["replicas"] = json!(3);
    let expectations = in_order(vec![
        at_once(vec![
            expect(Method::PATCH, DEPLOYMENT_PATH, |body| {
                assert_eq!(body["spec"]["replicas"], 3);
                (StatusCode::OK, deployment_with_status(body, 2))
            }),
            expect(Method::DELETE, HPA_PATH, |body| {
                assert_eq!(
                    body["preconditions"]["uid"], "child-uid",
                    "only the object the cache saw"
                );
                (
                    StatusCode::OK,
                    json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
                )
            }),
        ]),
        at_once(vec![
            event("Normal", "Applied", |note| {
                assert_eq!(
                    note,
                    "updated Deployment shop, deleted HorizontalPodAutoscaler shop"
                );
            }),
            status_write(|_| {}),
        ]),
    ]);
    let (result, _) = run(world, bookstore(spec), expectations).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn a_rejected_apply_is_degraded_with_the_api_servers_reason() {
    let shop = bookstore(rds_spec());
    let (mut world, deployment, service) = converged(&shop);
    let shop = settled(shop, &deployment, &service);
    world.services.clear();
    let expectations = in_order(vec![
        vec![expect(Method::PATCH, SERVICE_PATH, |_| {
            failure(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "services \"shop\" is forbidden: exceeded quota: no-lb, requested: services.loadbalancers=1, used: services.loadbalancers=0, limited: services.loadbalancers=0",
            )
        })],
        at_once(vec![
            event("Warning", "QuotaExceeded", |note| {
                assert!(note.starts_with("cannot apply Service books/shop: services \"shop\" is forbidden: exceeded quota"), "{note}");
            }),
            status_write(|status| {
                assert_eq!(condition(status, "Degraded")["reason"], "QuotaExceeded");
                assert_eq!(condition(status, "Ready")["status"], "False");
            }),
        ]),
    ]);
    let (result, context) = run(world, shop, expectations).await;
    assert_eq!(result.expect_err("rejected").reason(), "QuotaExceeded");
    assert!(failures(&context, "QuotaExceeded"));
}

#[tokio::test]
async fn demo_mode_runs_one_pod_on_sqlite_without_secret_or_autoscaler() {
    let expectations = in_order(vec![
        at_once(vec![
            expect(Method::PATCH, DEPLOYMENT_PATH, |body| {
                assert_eq!(body["spec"]["replicas"], 1);
                let env = body["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
                assert!(env.contains("SQLITE_PATH"), "{env}");
                (StatusCode::OK, deployment_with_status(body, 0))
            }),
            applied(SERVICE_PATH),
        ]),
        at_once(vec![
            event("Normal", "Applied", |_| {}),
            status_write(|status| assert_eq!(status["database"], "embedded")),
        ]),
    ]);
    let (result, _) = run(
        World::default(),
        bookstore(json!({"image": "bookstore-api:demo"})),
        expectations,
    )
    .await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn a_lasting_failure_is_reported_once_and_forgotten_with_its_bookstore() {
    let shop = bookstore(rds_spec());
    // Someone else's Deployment holds the name: refused on every reconcile, from the caches alone.
    let theirs = someone_elses_deployment();
    let (context, handle) = context(World {
        secrets: vec![password_secret()],
        unlabelled_deployments: vec![theirs],
        ..World::default()
    });
    let reported = in_order(vec![at_once(vec![
        event("Warning", "AdoptionRefused", |_| {}),
        status_write(|_| {}),
    ])]);
    let (first, handle) = run_with(&context, handle, shop.clone(), reported).await;
    assert!(first.is_err());
    // The same problem again: already reported, so no Event and no status write.
    let (second, handle) = run_with(&context, handle, shop.clone(), Vec::new()).await;
    let (third, _) = run_with(&context, handle, shop.clone(), Vec::new()).await;
    let error = third.expect_err("still failing");
    assert!(second.is_err());
    let backoff =
        |context: &Arc<Context>| error_policy(Arc::new(shop.clone()), &error, Arc::clone(context));
    let within = |action: Action, millis: std::ops::RangeInclusive<u64>| {
        millis
            .into_iter()
            .any(|ms| action == Action::requeue(Duration::from_millis(ms)))
    };
    assert!(
        within(backoff(&context), 18_000..=22_000),
        "third failure: 20 s"
    );
    // The Bookstore is gone from the cache: what was kept for it goes too.
    context.prune();
    assert!(
        within(backoff(&context), 4_500..=5_500),
        "forgotten: back to 5 s"
    );
}

#[tokio::test]
async fn a_child_that_lost_its_label_is_applied_again_not_refused() {
    let shop = bookstore(rds_spec());
    let (mut world, deployment, service) = converged(&shop);
    let shop = settled(shop, &deployment, &service);
    // Someone removed the managed-by label: only the metadata cache still sees it, as ours.
    world.unlabelled_deployments = std::mem::take(&mut world.deployments);
    let expectations = vec![
        expect(Method::PATCH, DEPLOYMENT_PATH, |body| {
            assert_eq!(
                body["metadata"]["labels"]["app.kubernetes.io/managed-by"],
                MANAGER
            );
            (StatusCode::OK, scaled(deployment_with_status(body, 2)))
        }),
        event("Normal", "Applied", |note| {
            assert_eq!(note, "updated Deployment shop")
        }),
    ];
    let (result, _) = run(world, shop, expectations).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn new_write_tokens_roll_the_pods_and_are_never_copied() {
    let shop = bookstore(with_write_token(rds_spec()));
    let before = Inputs {
        password: Some(SecretValue::new(b"s3cret".to_vec())),
        write_token: Some(SecretValue::new(b"first-writer-token-0123".to_vec())),
    };
    let (mut world, deployment, service) = converged_with(&shop, &before);
    // The Secret now holds another token.
    world.secrets.push(watched_secret(
        "writers",
        "tokens",
        "second-writer-token-0123\n",
    ));
    let shop = settled(shop, &deployment, &service);
    let old_digest = deployment
        .spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap()
        .annotations
        .as_ref()
        .unwrap()["bookstore.dev/write-tokens-hmac-sha256"]
        .clone();
    // The Deployment, and only it, is applied again.
    let expectations = in_order(vec![
        vec![expect(Method::PATCH, DEPLOYMENT_PATH, move |body| {
            let pod = &body["spec"]["template"];
            let digest = &pod["metadata"]["annotations"]["bookstore.dev/write-tokens-hmac-sha256"];
            assert!(
                digest.is_string() && *digest != json!(old_digest),
                "the pods roll"
            );
            assert_eq!(
                pod["spec"]["volumes"][0]["secret"],
                json!({"secretName": "writers", "items": [{"key": "tokens", "path": "write-tokens"}],
                       "defaultMode": 0o440, "optional": false}),
                "the Secret itself is mounted"
            );
            let api = &pod["spec"]["containers"][0];
            assert!(api["env"].as_array().unwrap().contains(
                &json!({"name": "API_WRITE_TOKENS_FILE", "value": "/etc/bookstore/auth/write-tokens"})
            ));
            assert_eq!(
                api["volumeMounts"][0],
                json!({"name": "write-tokens", "mountPath": "/etc/bookstore/auth", "readOnly": true})
            );
            assert!(!body.to_string().contains("writer-token"), "never copied");
            (StatusCode::OK, scaled(deployment_with_status(body, 2)))
        })],
        vec![event("Normal", "Applied", |note| {
            assert_eq!(note, "updated Deployment shop")
        })],
    ]);
    let (result, _) = run(world, shop, expectations).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn a_missing_write_token_secret_is_reported_like_a_missing_password() {
    let world = World {
        secrets: vec![password_secret()],
        ..World::default()
    };
    let expectations = in_order(vec![
        vec![expect(Method::GET, TOKEN_PATH, |_| {
            failure(
                StatusCode::NOT_FOUND,
                "NotFound",
                r#"secrets "writers" not found"#,
            )
        })],
        at_once(vec![
            event("Warning", "WriteTokenSecretNotFound", |note| {
                assert_eq!(
                    note,
                    "Secret books/writers (spec.auth.writeTokenSecretRef) not found"
                );
            }),
            status_write(|status| {
                let ready = condition(status, "Ready");
                assert_eq!(
                    (&ready["status"], &ready["reason"]),
                    (&json!("False"), &json!("WriteTokenSecretNotFound"))
                );
                assert_eq!(condition(status, "Degraded")["status"], "True");
            }),
        ]),
    ]);
    let shop = bookstore(with_write_token(rds_spec()));
    let (result, context) = run(world, shop, expectations).await;
    assert_eq!(
        result.expect_err("fails").reason(),
        "WriteTokenSecretNotFound"
    );
    assert!(failures(&context, "WriteTokenSecretNotFound"));
}

#[tokio::test]
async fn a_token_too_short_for_the_api_is_refused_before_any_pod_rolls() {
    let world = World {
        secrets: vec![
            password_secret(),
            watched_secret("writers", "tokens", "hunter2\n"),
        ],
        ..World::default()
    };
    let expectations = in_order(vec![at_once(vec![
        event("Warning", "WriteTokenInvalid", |note| {
            assert!(note.contains("at least 16 characters"), "{note}");
            assert!(!note.contains("hunter2"), "{note}");
        }),
        status_write(|status| {
            assert_eq!(condition(status, "Ready")["reason"], "WriteTokenInvalid");
            assert!(!status.to_string().contains("hunter2"));
        }),
    ])]);
    let (result, _) = run(world, bookstore(with_write_token(rds_spec())), expectations).await;
    assert_eq!(result.expect_err("fails").reason(), "WriteTokenInvalid");
}

#[tokio::test]
async fn a_starting_count_that_never_arrived_is_given_on_the_next_reconcile() {
    let shop = bookstore(rds_spec());
    let (mut world, mut deployment, service) = converged(&shop);
    // Created, but the patch with the starting count failed: generation 1, the API server's
    // default of one pod, nobody scaled it since.
    deployment.metadata.generation = Some(1);
    deployment.spec.as_mut().unwrap().replicas = Some(1);
    deployment.status.as_mut().unwrap().observed_generation = Some(1);
    world.deployments = vec![deployment.clone()];
    let shop = settled(shop, &deployment, &service);
    let expectations = in_order(vec![
        vec![
            expect(Method::PATCH, DEPLOYMENT_PATH, |body| {
                assert_eq!(body["spec"], json!({"replicas": 2}));
                // Decided on the cache: refused if the autoscaler scaled since.
                assert!(body["metadata"]["resourceVersion"].is_string(), "{body}");
                (StatusCode::OK, scaled(deployment_with_status(body, 2)))
            })
            .by(REPLICAS_MANAGER),
        ],
        vec![status_write(|status| {
            assert_eq!(status["replicasReady"], "2/2");
        })],
    ]);
    let (result, _) = run(world, shop, expectations).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn a_new_password_rolls_the_pods_and_is_never_copied() {
    let shop = bookstore(rds_spec());
    let (mut world, deployment, service) = converged(&shop);
    let shop = settled(shop, &deployment, &service);
    // The watch brought the Secret's new version: the pods' digest changes, nothing else.
    world.secrets = vec![watched_secret("db-password", "password", "n3w-password")];
    let expectations = vec![
        expect(Method::PATCH, DEPLOYMENT_PATH, |body| {
            let digest = &body["spec"]["template"]["metadata"]["annotations"]["bookstore.dev/db-password-hmac-sha256"];
            let expected = roll_key().digest(
                "database password books/db-password:password",
                &SecretValue::new(b"n3w-password".to_vec()),
            );
            assert_eq!(digest.as_str(), Some(expected.as_str()), "the pods roll");
            assert!(!body.to_string().contains("n3w-password"), "never copied");
            (StatusCode::OK, scaled(deployment_with_status(body, 2)))
        }),
        event("Normal", "Applied", |note| {
            assert_eq!(note, "updated Deployment shop")
        }),
    ];
    let (result, _) = run(world, shop, expectations).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn pods_that_cannot_reach_their_database_make_it_the_reason_until_it_returns() {
    use bookstore_operator::database_probe::DatabaseReport;
    use kube::runtime::reflector::ObjectRef;
    let shop = bookstore(rds_spec());
    let (world, deployment, service) = converged(&shop);
    let shop = settled(shop, &deployment, &service);
    let (context, handle) = context(world);
    let key = ObjectRef::from_obj(&shop);
    context
        .database_reports
        .record(key.clone(), DatabaseReport::Unreachable);
    let outage = in_order(vec![at_once(vec![
        event("Warning", "DatabaseUnreachable", |note| {
            assert!(note.contains("db.rds.amazonaws.com:3306"), "{note}");
        }),
        status_write(|status| {
            let ready = condition(status, "Ready");
            assert_eq!(
                (&ready["status"], &ready["reason"]),
                (&json!("False"), &json!("DatabaseUnreachable"))
            );
            assert_eq!(condition(status, "Degraded")["status"], "True");
            assert_eq!(
                status["readyReplicas"], 2,
                "the pods stay ready: they answer 503"
            );
        }),
    ])]);
    let (result, handle) = run_with(&context, handle, shop.clone(), outage).await;
    assert!(result.is_ok(), "not an error of the operator's: {result:?}");

    // The same report again (another reconcile, say): nothing new to write or say.
    let (result, handle) = run_with(&context, handle, shop.clone(), Vec::new()).await;
    assert!(result.is_ok(), "{result:?}");

    context
        .database_reports
        .record(key, DatabaseReport::Reachable);
    let recovery = vec![at_once(vec![
        event("Normal", "Recovered", |note| {
            assert_eq!(note, "no longer DatabaseUnreachable")
        }),
        status_write(|status| {
            assert_eq!(condition(status, "Ready")["status"], "True");
            assert_eq!(condition(status, "Degraded")["status"], "False");
        }),
    ])];
    let (result, _) = run_with(&context, handle, shop, in_order(recovery)).await;
    assert!(result.is_ok(), "{result:?}");
}

const POD_MONITOR_PATH: &str = "/apis/monitoring.coreos.com/v1/namespaces/books/podmonitors/shop";

fn with_pod_monitor(mut spec: Value) -> Value {
    spec["monitoring"] =
        json!({"podMonitor": {"enabled": true, "labels": {"release": "prometheus"}}});
    spec
}

#[tokio::test]
async fn a_pod_monitor_is_applied_where_the_cluster_serves_them() {
    let shop = bookstore(with_pod_monitor(rds_spec()));
    let (mut world, deployment, service) = converged(&shop);
    world.pod_monitors_served = true;
    let shop = settled(shop, &deployment, &service);
    let expectations = vec![
        expect(Method::PATCH, POD_MONITOR_PATH, |body| {
            assert_eq!(body["apiVersion"], "monitoring.coreos.com/v1");
            assert_eq!(body["metadata"]["labels"]["release"], "prometheus");
            assert_eq!(body["metadata"]["ownerReferences"][0]["uid"], "shop-uid");
            assert_eq!(
                body["spec"]["podMetricsEndpoints"][0],
                json!({"port": "metrics", "path": "/metrics"})
            );
            (StatusCode::OK, stored(body))
        }),
        event("Normal", "Applied", |note| {
            assert_eq!(note, "created PodMonitor shop")
        }),
    ];
    let (result, _) = run(world, shop, expectations).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn a_pod_monitor_where_none_can_be_made_is_reported_and_nothing_applied() {
    let shop = bookstore(with_pod_monitor(rds_spec()));
    let world = World {
        secrets: vec![password_secret()],
        ..World::default()
    };
    let expectations = in_order(vec![at_once(vec![
        event("Warning", "PodMonitorUnavailable", |note| {
            assert!(
                note.contains("install prometheus-operator's CRDs"),
                "{note}"
            );
        }),
        status_write(|status| {
            assert_eq!(
                condition(status, "Degraded")["reason"],
                "PodMonitorUnavailable"
            );
        }),
    ])]);
    let (result, _) = run(world, shop, expectations).await;
    assert_eq!(result.expect_err("fails").reason(), "PodMonitorUnavailable");
}
