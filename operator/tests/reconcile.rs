//! Reconcile scenarios against a mocked API server: every request is checked (method, path,
//! field manager, body) and answered the way kube-apiserver answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use bookstore_operator::crd::Bookstore;
use bookstore_operator::metrics::Metrics;
use bookstore_operator::reconcile::{Context, Error, error_policy, reconcile};
use bookstore_operator::status::{self, Observed};
use http::{Method, Request, Response, StatusCode};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::Client;
use kube::client::Body;
use kube::runtime::controller::Action;
use kube::runtime::events::{Recorder, Reporter};
use serde_json::{Value, json};

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

const NS: &str = "books";

/// One request the operator must make, and the API server's answer.
struct Expect {
    method: Method,
    path: String,
    /// The field manager of a server-side apply.
    manager: &'static str,
    /// Checks the request body (JSON); returns the reply body.
    reply: Box<dyn FnOnce(Value) -> (StatusCode, Value) + Send>,
}

fn expect(
    method: Method,
    path: &str,
    reply: impl FnOnce(Value) -> (StatusCode, Value) + Send + 'static,
) -> Expect {
    Expect {
        method,
        path: path.to_owned(),
        manager: "bookstore-operator",
        reply: Box::new(reply),
    }
}

impl Expect {
    fn by(self, manager: &'static str) -> Self {
        Self { manager, ..self }
    }
}

fn not_found(what: &str) -> (StatusCode, Value) {
    (
        StatusCode::NOT_FOUND,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": format!("{what} not found"), "reason": "NotFound", "code": 404}),
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

fn reads_password() -> Expect {
    expect(
        Method::GET,
        "/api/v1/namespaces/books/secrets/db-password",
        |_| password_secret(),
    )
}

const SECRET_PATH: &str = "/api/v1/namespaces/books/secrets/shop-db";
const DEPLOYMENT_PATH: &str = "/apis/apps/v1/namespaces/books/deployments/shop";
const SERVICE_PATH: &str = "/api/v1/namespaces/books/services/shop";
const HPA_PATH: &str = "/apis/autoscaling/v2/namespaces/books/horizontalpodautoscalers/shop";
const STATUS_PATH: &str = "/apis/bookstore.dev/v1alpha1/namespaces/books/bookstores/shop/status";

fn event_expectation(kind: &'static str, reason: &'static str) -> Expect {
    expect(
        Method::POST,
        "/apis/events.k8s.io/v1/namespaces/books/events",
        move |body| {
            assert_eq!(body["type"], kind);
            assert_eq!(body["reason"], reason);
            assert_eq!(body["regarding"]["name"], "shop");
            (StatusCode::CREATED, stored(body))
        },
    )
}

/// Serves the expected requests in order, then checks nothing else came.
async fn serve(mut handle: Handle, expectations: Vec<Expect>) {
    for expected in expectations {
        let (request, respond) =
            tokio::time::timeout(Duration::from_secs(5), handle.next_request())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "no request came; expected {} {}",
                        expected.method, expected.path
                    )
                })
                .expect("the client hung up");
        assert_eq!(
            (request.method(), request.uri().path()),
            (&expected.method, expected.path.as_str()),
            "unexpected request order"
        );
        if request.method() == Method::PATCH {
            let query = request.uri().query().unwrap_or_default();
            let manager = format!("fieldManager={}", expected.manager);
            assert!(
                query.split('&').any(|p| p == manager) && query.contains("force=true"),
                "server-side apply as {}: {query}",
                expected.manager
            );
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
}

fn context() -> (Arc<Context>, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, NS);
    let reporter = Reporter {
        controller: "bookstore-operator".into(),
        instance: Some("test".into()),
    };
    let recorder = Recorder::new(client.clone(), reporter);
    (
        Arc::new(Context::new(client, recorder, Arc::new(Metrics::default()))),
        handle,
    )
}

fn bookstore(spec: Value) -> Bookstore {
    serde_json::from_value(json!({
        "apiVersion": "bookstore.dev/v1alpha1", "kind": "Bookstore",
        "metadata": {"name": "shop", "namespace": NS, "uid": "shop-uid", "generation": 1},
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

fn password_secret() -> (StatusCode, Value) {
    // "s3cret" in base64.
    (
        StatusCode::OK,
        json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db-password", "namespace": NS}, "data": {"password": "czNjcmV0"}}),
    )
}

fn deployment_with_status(body: Value, ready: i32) -> Value {
    let mut deployment = stored(body);
    deployment["status"] = json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": ready, "updatedReplicas": 2});
    deployment
}

/// What a status apply returns: the whole Bookstore, with the applied status.
fn with_status(body: Value) -> Value {
    let mut object = serde_json::to_value(bookstore(json!({"image": "any"}))).unwrap();
    object["status"] = body["status"].clone();
    object
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

async fn run(
    bookstore: Bookstore,
    expectations: Vec<Expect>,
) -> (Result<Action, Error>, Arc<Context>) {
    let (context, handle) = context();
    let server = tokio::spawn(serve(handle, expectations));
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        reconcile(Arc::new(bookstore), Arc::clone(&context)),
    )
    .await
    .expect("reconcile finished");
    server.await.expect("every expected request, and no other");
    (result, context)
}

#[tokio::test]
async fn first_reconcile_applies_every_child_then_writes_status_and_an_event() {
    let expectations = vec![
        reads_password(),
        expect(Method::PATCH, SECRET_PATH, |body| {
            assert_eq!(body["kind"], "Secret");
            assert_eq!(
                body["data"]["DB_PASSWORD"], "czNjcmV0",
                "the password is copied"
            );
            assert_eq!(body["data"]["DB_HOST"], "ZGIucmRzLmFtYXpvbmF3cy5jb20=");
            assert_eq!(body["metadata"]["ownerReferences"][0]["uid"], "shop-uid");
            (StatusCode::OK, stored(body))
        }),
        expect(Method::PATCH, DEPLOYMENT_PATH, |body| {
            assert_eq!(body["kind"], "Deployment");
            assert!(
                body["spec"].get("replicas").is_none(),
                "the HPA owns replicas"
            );
            let template = &body["spec"]["template"];
            assert_eq!(
                template["spec"]["containers"][0]["envFrom"][0]["secretRef"]["name"],
                "shop-db"
            );
            assert!(
                template["metadata"]["annotations"]["bookstore.dev/db-secret-sha256"].is_string()
            );
            assert!(!body.to_string().contains("s3cret") && !body.to_string().contains("czNjcmV0"));
            (StatusCode::OK, deployment_with_status(body, 1))
        }),
        // Just created: the starting count, under a manager of its own.
        expect(Method::PATCH, DEPLOYMENT_PATH, |body| {
            assert_eq!(body["spec"], json!({"replicas": 2}));
            assert_eq!(body["kind"], "Deployment");
            (StatusCode::OK, scaled(deployment_with_status(body, 1)))
        })
        .by("bookstore-operator-initial-replicas"),
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
        expect(Method::PATCH, STATUS_PATH, |body| {
            let status = &body["status"];
            assert_eq!(status["observedGeneration"], 1);
            assert_eq!(status["replicasReady"], "1/2");
            assert_eq!(condition(status, "Ready")["status"], "False");
            assert_eq!(condition(status, "Progressing")["reason"], "RollingOut");
            assert_eq!(status["database"], "external");
            (StatusCode::OK, with_status(body))
        }),
        event_expectation("Normal", "Applied"),
    ];
    let (result, context) = run(bookstore(rds_spec()), expectations).await;
    assert!(result.is_ok(), "{result:?}");
    let metrics = context.metrics.render().unwrap();
    assert!(
        metrics.contains(r#"bookstore_operator_reconciliations_total{result="success"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_unchanged_bookstore_applies_children_but_does_not_rewrite_its_status() {
    let mut shop = bookstore(rds_spec());
    // The status a previous reconcile wrote for the very same world.
    let deployment: Deployment = serde_json::from_value(scaled(deployment_with_status(
        serde_json::to_value(bookstore_operator::children::deployment(&shop, None)).unwrap(),
        2,
    )))
    .unwrap();
    let service = Service::default();
    let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
    );
    let mut previous = status::compute(
        &shop,
        &Observed {
            deployment: Some(&deployment),
            service: Some(&service),
            problem: None,
        },
        &now,
    );
    previous.url = None;
    shop.status = Some(previous);

    let expectations = vec![
        reads_password(),
        applied(SECRET_PATH),
        expect(Method::PATCH, DEPLOYMENT_PATH, |body| {
            (StatusCode::OK, scaled(deployment_with_status(body, 2)))
        }),
        applied(SERVICE_PATH),
        applied(HPA_PATH),
        // No starting-count patch (scaled since), no status write and no Event: nothing changed.
    ];
    let (result, _) = run(shop, expectations).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn a_missing_password_secret_is_reported_and_retried() {
    let expectations = vec![
        expect(
            Method::GET,
            "/api/v1/namespaces/books/secrets/db-password",
            |_| not_found("secrets \"db-password\""),
        ),
        event_expectation("Warning", "DatabaseSecretNotFound"),
        expect(Method::PATCH, STATUS_PATH, |body| {
            let ready = condition(&body["status"], "Ready");
            assert_eq!(
                (&ready["status"], &ready["reason"]),
                (&json!("False"), &json!("DatabaseSecretNotFound"))
            );
            assert!(
                ready["message"]
                    .as_str()
                    .unwrap()
                    .contains("books/db-password")
            );
            assert_eq!(condition(&body["status"], "Degraded")["status"], "True");
            (StatusCode::OK, with_status(body))
        }),
    ];
    let shop = bookstore(rds_spec());
    let (result, context) = run(shop.clone(), expectations).await;
    let error = result.expect_err("the reconcile fails");
    assert!(matches!(error, Error::DatabaseSecretNotFound(_)), "{error}");
    assert_eq!(
        error_policy(Arc::new(shop), &error, Arc::clone(&context)),
        Action::requeue(Duration::from_secs(5))
    );
    let metrics = context.metrics.render().unwrap();
    assert!(metrics.contains(
        r#"bookstore_operator_reconcile_failures_total{reason="DatabaseSecretNotFound"} 1"#
    ));
}

#[tokio::test]
async fn demo_mode_runs_one_pod_on_sqlite_without_secret_or_autoscaler() {
    let expectations = vec![
        expect(Method::GET, SECRET_PATH, |_| {
            not_found("secrets \"shop-db\"")
        }),
        expect(Method::PATCH, DEPLOYMENT_PATH, |body| {
            assert_eq!(body["spec"]["replicas"], 1);
            let env = body["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
            assert!(env.contains("SQLITE_PATH"), "{env}");
            (StatusCode::OK, deployment_with_status(body, 0))
        }),
        applied(SERVICE_PATH),
        expect(Method::GET, HPA_PATH, |_| {
            not_found("horizontalpodautoscalers.autoscaling \"shop\"")
        }),
        expect(Method::PATCH, STATUS_PATH, |body| {
            assert_eq!(body["status"]["database"], "embedded");
            (StatusCode::OK, with_status(body))
        }),
        event_expectation("Normal", "Applied"),
    ];
    let (result, _) = run(
        bookstore(json!({"image": "bookstore-api:demo"})),
        expectations,
    )
    .await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn switching_autoscaling_off_deletes_the_autoscaler_and_fixes_the_replicas() {
    let mut spec = rds_spec();
    spec["autoscaling"] = json!({"enabled": false});
    spec["replicas"] = json!(3);
    let owned_hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "shop", "namespace": NS, "ownerReferences": [
            {"apiVersion": "bookstore.dev/v1alpha1", "kind": "Bookstore", "name": "shop", "uid": "shop-uid", "controller": true}]},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "shop"}, "maxReplicas": 3}});
    let deleted = owned_hpa.clone();
    let expectations = vec![
        reads_password(),
        applied(SECRET_PATH),
        expect(Method::PATCH, DEPLOYMENT_PATH, |body| {
            assert_eq!(body["spec"]["replicas"], 3);
            (StatusCode::OK, deployment_with_status(body, 2))
        }),
        applied(SERVICE_PATH),
        expect(Method::GET, HPA_PATH, move |_| (StatusCode::OK, owned_hpa)),
        expect(Method::DELETE, HPA_PATH, move |_| (StatusCode::OK, deleted)),
        expect(Method::PATCH, STATUS_PATH, |body| {
            (StatusCode::OK, with_status(body))
        }),
        event_expectation("Normal", "Applied"),
    ];
    let (result, _) = run(bookstore(spec), expectations).await;
    assert!(result.is_ok(), "{result:?}");
}
