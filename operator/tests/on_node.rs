//! The whole platform on a real node: the images built from the Dockerfile (`.ci/build-images`),
//! the operator installed with the README's command and running as pods, Bookstores serving
//! traffic through their Services, a real Prometheus scraping them with the project's alert rules.
//! Under continuous load, every planned change must fail no request, and the failure drills must
//! end as users can live with. The test prints its figures.
//!
//! Needs `BOOKSTORE_NODE_KUBECONFIG` (`eval "$(.ci/k8s-up --node)"` after `.ci/build-images`, which
//! also sets `BOOKSTORE_NODE_API_IMAGE` and `BOOKSTORE_NODE_NEXT_API_IMAGE`), MariaDB on
//! 127.0.0.1:3306 (root, no password; the pods reach it through a relay on the node's bridge) and
//! Debian's `prometheus`. Skipped (said so) without the kubeconfig, failed with `CI` set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cluster;
mod node;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cluster::{Cluster, eventually};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret, Service};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use node::load::{Load, Tally};
use node::prometheus::Prometheus;
use node::relay::Relay;
use node::{http_get, mysql, percent_encode};
use serde_json::{Value, json};

const OPERATOR_NAMESPACE: &str = "bookstore-system";
/// The address of the first node on its pods' bridge (../shared/k8s/README.md).
const NODE_ADDRESS: &str = "10.244.0.1";
const SETTLE: Duration = Duration::from_secs(120);
/// Where the suite's figures go, for CI to print (a passing test's output is not shown).
const REPORT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/platform-report.txt");
/// Clients sending without pause (one more pauses between requests: `node::load`).
const WORKERS: usize = 4;
/// The installed operator's `PROBLEM_GRACE_SECS`.
const PROBLEM_GRACE: Duration = Duration::from_secs(20);
/// Where `kubectl get` and `describe` of failing Bookstores are kept (the README quotes them).
const FAILURE_REPORT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/failure-report.txt");
const ADMIN: &str = "platform-admin";

struct Platform {
    cluster: Cluster,
    admin: Client,
    run: String,
    api_image: String,
    next_api_image: String,
    prometheus: Prometheus,
}

/// A Bookstore on MariaDB, with a write token, as a cluster admin would set it up.
struct Shop {
    namespace: String,
    name: String,
    /// The token the load's writes carry now.
    token: Arc<Mutex<String>>,
    relay: Relay,
    database: String,
    user: String,
}

impl Drop for Platform {
    fn drop(&mut self) {
        let kubectl = |args: &[&str]| {
            let _ = std::process::Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(&self.cluster.admin_kubeconfig)
                .args(args)
                .output();
        };
        kubectl(&[
            "delete",
            "namespace",
            "-l",
            &format!("bookstore-platform={}", self.run),
            "--wait=false",
        ]);
        kubectl(&[
            "delete",
            "bookstore",
            "demo",
            "-n",
            "default",
            "--wait=false",
        ]);
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("mysql")
            .args(["--protocol=tcp", "-h", "127.0.0.1", "-u", "root", "-e"])
            .arg(format!(
                "DROP DATABASE IF EXISTS `{}`; DROP USER IF EXISTS '{}'@'%'",
                self.database, self.user
            ))
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_platform_serves_through_rollouts_and_failures() {
    let Some(cluster) = Cluster::from_env_var(
        "BOOKSTORE_NODE_KUBECONFIG",
        "platform suite",
        "run .ci/build-images, then `eval \"$(.ci/k8s-up --node)\"`",
    ) else {
        return;
    };
    let started = Instant::now();
    std::fs::write(REPORT, "").unwrap();
    let platform = Platform::install(cluster).await;
    the_operator_runs_as_installed(&platform).await;
    the_demo_serves_its_catalogue(&platform).await;
    let mut shop = Shop::create(&platform).await;
    every_failure_is_explained_then_recovered_from(&platform, &shop).await;
    shop_serves_with_its_token_and_exact_prices(&platform, &shop).await;
    metrics_reach_prometheus(&platform, &shop).await;
    planned_changes_fail_no_request(&platform, &shop).await;
    a_database_outage_answers_503_at_once_and_recovers(&platform, &mut shop).await;
    a_killed_api_pod_loses_no_written_book(&platform, &shop).await;
    the_standby_finishes_what_a_killed_leader_started(&platform, &shop).await;
    a_zone_drained_under_load_fails_no_request(&platform, &shop).await;
    deleting_the_bookstores_leaves_nothing(&platform, &shop).await;
    report(&format!(
        "platform suite: passed in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
}

/// A figure of the suite: printed, and kept in `REPORT`.
fn report(line: &str) {
    use std::io::Write;
    eprintln!("{line}");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(REPORT)
        .unwrap();
    writeln!(file, "{line}").unwrap();
}

impl Platform {
    /// The operator installed the README's way, and Prometheus started.
    async fn install(cluster: Cluster) -> Self {
        let admin = cluster.admin().await;
        let install = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/install.yaml");
        cluster.kubectl(&["apply", "--server-side", "-f", install]);
        // Its roll key (README step 1), before the rollout below starts the pods that read it.
        cluster.create_roll_key();
        // A documented setting: problems that are normal for a while after creation (an
        // autoscaler without metrics, as on this cluster; a load balancer without an address)
        // are reported after 20 s instead of 5 minutes.
        cluster.kubectl(&[
            "-n",
            OPERATOR_NAMESPACE,
            "set",
            "env",
            "deployment/bookstore-operator",
            &format!("PROBLEM_GRACE_SECS={}", PROBLEM_GRACE.as_secs()),
        ]);
        cluster.kubectl(&[
            "-n",
            OPERATOR_NAMESPACE,
            "rollout",
            "status",
            "deployment/bookstore-operator",
            "--timeout=120s",
        ]);
        let rules = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/monitoring/rules/bookstore.rules.yml"
        );
        let prometheus = Prometheus::start(&cluster.work_dir, rules.as_ref()).await;
        let image = |variable: &str| {
            std::env::var(variable)
                .unwrap_or_else(|_| panic!("{variable} is set by .ci/k8s-up --node"))
        };
        Self {
            run: format!("{}", std::process::id()),
            api_image: image("BOOKSTORE_NODE_API_IMAGE"),
            next_api_image: image("BOOKSTORE_NODE_NEXT_API_IMAGE"),
            cluster,
            admin,
            prometheus,
        }
    }

    fn api<K>(&self, namespace: &str) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.admin.clone(), namespace)
    }

    /// A new namespace `<purpose>-<run>`, labelled with the run.
    async fn namespace(&self, purpose: &str) -> String {
        let namespace = format!("{purpose}-{}", self.run);
        Api::<Namespace>::all(self.admin.clone())
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": namespace,
                    "labels": {"bookstore-platform": self.run}}}))
                .unwrap(),
            )
            .await
            .unwrap();
        namespace
    }

    /// The pods of a Bookstore, or of the operator (`app.kubernetes.io/name=bookstore-operator`).
    async fn pods(&self, namespace: &str, selector: &str) -> Vec<Pod> {
        self.api::<Pod>(namespace)
            .list(&ListParams::default().labels(selector))
            .await
            .unwrap()
            .items
    }

    async fn operator_pods(&self) -> Vec<Pod> {
        self.pods(
            OPERATOR_NAMESPACE,
            "app.kubernetes.io/name=bookstore-operator",
        )
        .await
    }

    /// The operator pod that holds the Lease.
    async fn leader(&self) -> String {
        let lease = self
            .api::<Lease>(OPERATOR_NAMESPACE)
            .get("bookstore-operator")
            .await
            .unwrap();
        lease
            .spec
            .and_then(|s| s.holder_identity)
            .unwrap_or_default()
    }

    async fn bookstore(&self, namespace: &str, name: &str) -> Value {
        let api: Api<kube::api::DynamicObject> = Api::namespaced_with(
            self.admin.clone(),
            namespace,
            &kube::api::ApiResource::erase::<bookstore_operator::crd::Bookstore>(&()),
        );
        serde_json::to_value(api.get(name).await.unwrap()).unwrap()
    }

    async fn patch_bookstore(&self, namespace: &str, name: &str, spec: Value) {
        let api: Api<bookstore_operator::crd::Bookstore> =
            Api::namespaced(self.admin.clone(), namespace);
        api.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": spec})),
        )
        .await
        .unwrap();
    }

    /// The Service's cluster address.
    async fn service_address(&self, namespace: &str, name: &str) -> SocketAddr {
        let service = self.api::<Service>(namespace).get(name).await.unwrap();
        let spec = service.spec.unwrap();
        format!(
            "{}:{}",
            spec.cluster_ip.unwrap(),
            spec.ports.unwrap()[0].port
        )
        .parse()
        .unwrap()
    }

    /// Waits until the Bookstore is Ready with its rollout complete for its latest spec, and its
    /// pods are exactly the Deployment's: all ready, none of an older template, none going away.
    /// Then its status must tell the same figures as the pods.
    async fn settled(&self, namespace: &str, name: &str) {
        let what = format!("Bookstore {namespace}/{name} to settle");
        eventually(&what, SETTLE, || async {
            let bookstore = self.bookstore(namespace, name).await;
            let status = &bookstore["status"];
            let current = status["observedGeneration"] == bookstore["metadata"]["generation"];
            let ready = condition(status, "Ready")["status"] == "True"
                && condition(status, "Progressing")["reason"] == "RolloutComplete";
            let deployment = self.api::<Deployment>(namespace).get(name).await.ok()?;
            let want = deployment.spec.as_ref()?.replicas?;
            let figures = deployment.status.clone()?;
            let rolled = figures.observed_generation == deployment.metadata.generation
                && figures.updated_replicas == Some(want)
                && figures.replicas == Some(want)
                && figures.ready_replicas == Some(want);
            let pods = self.pods(namespace, &instance(name)).await;
            let steady = pods.len() == want as usize
                && pods
                    .iter()
                    .all(|p| p.metadata.deletion_timestamp.is_none() && is_ready(p));
            // And the Service routes to them (kube-proxy follows the endpoints a moment later).
            let service = self.service_address(namespace, name).await.to_string();
            let routed = http_get(&service, "/api/v1/books?limit=1")
                .await
                .is_some_and(|(status, _)| status == 200);
            (current && ready && rolled && steady && routed).then_some(())
        })
        .await;
        // The status tells what the pods are.
        let bookstore = self.bookstore(namespace, name).await;
        let pods = self.pods(namespace, &instance(name)).await;
        let ready = pods.iter().filter(|p| is_ready(p)).count();
        assert_eq!(
            bookstore["status"]["readyReplicas"].as_u64(),
            Some(ready as u64),
            "{}",
            bookstore["status"]
        );
        assert_eq!(
            bookstore["status"]["replicas"].as_u64(),
            Some(pods.len() as u64)
        );
        assert_eq!(
            bookstore["status"]["replicasReady"].as_str(),
            Some(format!("{ready}/{}", pods.len()).as_str())
        );
    }

    async fn deployment_generation(&self, namespace: &str, name: &str) -> i64 {
        self.api::<Deployment>(namespace)
            .get(name)
            .await
            .unwrap()
            .metadata
            .generation
            .unwrap_or_default()
    }

    /// The pods' addresses as Prometheus would discover them.
    async fn point_prometheus_at(&self, shop: &Shop) {
        let labels = |pod: &Pod| {
            json!({"namespace": pod.namespace(), "bookstore": pod.labels()["app.kubernetes.io/instance"],
                   "pod": pod.name_any()})
        };
        let api_pods: Vec<Pod> = self
            .pods(&shop.namespace, &instance(&shop.name))
            .await
            .into_iter()
            .filter(is_ready)
            .collect();
        let at = |pod: &Pod, port: u16| format!("{}:{port}", pod_ip(pod));
        self.prometheus.set_targets(
            "bookstore-api",
            &api_pods
                .iter()
                .map(|p| (at(p, 8081), labels(p)))
                .collect::<Vec<_>>(),
        );
        self.prometheus.set_targets(
            "bookstore-node-exporter",
            &api_pods
                .iter()
                .map(|p| (at(p, 9100), labels(p)))
                .collect::<Vec<_>>(),
        );
        let operators = self.operator_pods().await;
        self.prometheus.set_targets(
            "bookstore-operator",
            &operators
                .iter()
                .filter(|p| is_ready(p))
                .map(|p| (at(p, 8080), json!({"pod": p.name_any()})))
                .collect::<Vec<_>>(),
        );
    }

    async fn events(&self, namespace: &str, name: &str, reason: &str) -> Vec<Event> {
        self.api::<Event>(namespace)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .filter(|e| e.reason.as_deref() == Some(reason))
            .collect()
    }
}

fn instance(name: &str) -> String {
    format!("app.kubernetes.io/instance={name}")
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == type_))
        .unwrap_or(&Value::Null)
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn pod_ip(pod: &Pod) -> String {
    pod.status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .unwrap_or_default()
}

/// A metric's samples from a `/metrics` text, summed over those whose labels contain `labels`.
fn metric(text: &str, name: &str, labels: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(name) && line[name.len()..].starts_with(['{', ' ']))
        .filter(|line| line.contains(labels))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn the_operator_runs_as_installed(platform: &Platform) {
    let pods = eventually("both operator pods ready", SETTLE, || async {
        let pods = platform.operator_pods().await;
        (pods.len() == 2 && pods.iter().all(is_ready)).then_some(pods)
    })
    .await;
    let leader = eventually("one operator pod leading", SETTLE, || async {
        let mut leading = Vec::new();
        for pod in &pods {
            let (_, text) = http_get(&format!("{}:8080", pod_ip(pod)), "/metrics").await?;
            if metric(&text, "bookstore_operator_leader", "") == 1.0 {
                leading.push(pod.name_any());
            }
        }
        (leading.len() == 1).then(|| leading.remove(0))
    })
    .await;
    assert_eq!(
        platform.leader().await,
        leader,
        "the Lease names the leader"
    );
    for pod in &pods {
        let (status, body) = http_get(&format!("{}:8080", pod_ip(pod)), "/readyz")
            .await
            .unwrap();
        assert_eq!(status, 200, "{}: {body}", pod.name_any());
        let container = pod.spec.as_ref().unwrap().containers[0].clone();
        let context = container.security_context.unwrap();
        assert_eq!(context.read_only_root_filesystem, Some(true));
    }
    let log = platform
        .cluster
        .kubectl(&["-n", OPERATOR_NAMESPACE, "logs", &leader, "--tail=200"]);
    for line in log.lines() {
        let entry: Value = serde_json::from_str(line)
            .unwrap_or_else(|_| panic!("a log line that is not JSON: {line}"));
        assert!(
            !line.contains("Some(") && !line.contains("None"),
            "Rust debug text in a log line: {line}"
        );
        assert!(entry["message"].is_string(), "{line}");
    }
    report(&format!(
        "operator: pods {:?} ready, {leader} leads",
        pods.iter().map(ResourceExt::name_any).collect::<Vec<_>>()
    ));
}

async fn the_demo_serves_its_catalogue(platform: &Platform) {
    let demo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/examples/bookstore-demo.yaml"
    );
    platform.cluster.kubectl(&["apply", "-f", demo]);
    platform.settled("default", "demo").await;
    let bookstore = platform.bookstore("default", "demo").await;
    assert_eq!(bookstore["status"]["database"], "embedded");
    let service = platform.service_address("default", "demo").await;
    crud_through(service, None).await;
    report(&format!(
        "demo: Ready, CRUD through its Service at {service}"
    ));
}

/// Create, read, list, replace, patch and delete one book through a Service.
async fn crud_through(service: SocketAddr, token: Option<&str>) -> i64 {
    let auth = token.map(|t| format!("Bearer {t}"));
    let send = |method: &'static str, path: String, body: Option<Value>| {
        let auth = auth.clone();
        async move {
            let mut request = http::Request::builder()
                .method(method)
                .uri(path)
                .header(http::header::HOST, service.to_string())
                .header(http::header::CONTENT_TYPE, "application/json");
            if let Some(auth) = &auth {
                request = request.header(http::header::AUTHORIZATION, auth);
            }
            let body = body.map(|b| b.to_string()).unwrap_or_default();
            request_once(service, request.body(body).unwrap()).await
        }
    };
    let book = json!({"title": "채식주의자", "author": "한강", "price": "18.50"});
    let (status, created) = send("POST", "/api/v1/books".into(), Some(book)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["price"], "18.50");
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/books/{id}");
    assert_eq!(
        send("GET", path.clone(), None).await,
        (200, created.clone())
    );
    let (status, page) = send(
        "GET",
        format!("/api/v1/books?q={}", percent_encode("식주의")),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["id"] == id),
        "{page}"
    );
    let replaced = json!({"title": "소년이 온다", "author": "한강", "price": "16.00"});
    let (status, body) = send("PUT", path.clone(), Some(replaced)).await;
    assert_eq!((status, &body["title"]), (200, &json!("소년이 온다")));
    let (status, body) = send("PATCH", path.clone(), Some(json!({"price": "9.99"}))).await;
    assert_eq!((status, &body["price"]), (200, &json!("9.99")));
    assert_eq!(send("DELETE", path.clone(), None).await.0, 204);
    assert_eq!(send("GET", path, None).await.0, 404);
    id
}

/// One request on a connection of its own: status and JSON body (`Null` when empty).
async fn request_once(target: SocketAddr, request: http::Request<String>) -> (u16, Value) {
    use http_body_util::BodyExt;
    let stream = tokio::net::TcpStream::connect(target).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, body)
}

impl Shop {
    /// A namespace, a MariaDB database and user reached through a relay, the password and write
    /// token Secrets, and the Bookstore: two pods, autoscaling off, no rate limits (all load
    /// comes from one address), the node-exporter sidecar.
    async fn create(platform: &Platform) -> Self {
        let namespace = platform.namespace("platform").await;
        let (database, user) = (
            format!("bookstore_platform_{}", platform.run),
            format!("platform_{}", platform.run),
        );
        mysql(&format!(
            "CREATE DATABASE `{database}` CHARACTER SET utf8mb4; \
             CREATE USER '{user}'@'%' IDENTIFIED BY 'first-password-0'; \
             GRANT ALL ON `{database}`.* TO '{user}'@'%'"
        ));
        let relay = Relay::start(NODE_ADDRESS, "127.0.0.1:3306".parse().unwrap()).await;
        let secrets = platform.api::<Secret>(&namespace);
        for (name, key, value) in [
            ("db-password", "password", "first-password-0"),
            ("writers", "tokens", "first-write-token-0123456789"),
        ] {
            secrets
                .create(
                    &PostParams::default(),
                    &serde_json::from_value(json!({
                        "metadata": {"name": name, "labels": {"bookstore.dev/watch": "true"}},
                        "stringData": {key: value}}))
                    .unwrap(),
                )
                .await
                .unwrap();
        }
        let bookstore = json!({
            "apiVersion": "bookstore.dev/v1alpha1", "kind": "Bookstore",
            "metadata": {"name": "shop", "namespace": namespace},
            "spec": {
                "image": platform.api_image,
                "replicas": 2,
                "autoscaling": {"enabled": false},
                "service": {"type": "ClusterIP", "port": 80},
                "auth": {"writeTokenSecretRef": {"name": "writers", "key": "tokens"}},
                "rateLimit": {"writesPerMinute": 0, "readsPerMinute": 0},
                "database": {"host": NODE_ADDRESS, "port": relay.addr.port(), "name": database,
                             "user": user,
                             "passwordSecretRef": {"name": "db-password", "key": "password"}},
                "monitoring": {"nodeExporter": {"enabled": true}},
                "resources": {"requests": {"cpu": "50m", "memory": "32Mi"},
                              "limits": {"memory": "128Mi"}}
            }
        });
        let file = platform.cluster.work_dir.join("shop.json");
        std::fs::write(&file, bookstore.to_string()).unwrap();
        platform
            .cluster
            .kubectl(&["apply", "-f", file.to_str().unwrap()]);
        let shop = Self {
            namespace,
            name: "shop".into(),
            token: Arc::new(Mutex::new("first-write-token-0123456789".into())),
            relay,
            database,
            user,
        };
        platform.settled(&shop.namespace, &shop.name).await;
        shop
    }

    fn token(&self) -> String {
        self.token.lock().unwrap().clone()
    }
}

async fn shop_serves_with_its_token_and_exact_prices(platform: &Platform, shop: &Shop) {
    let service = platform.service_address(&shop.namespace, &shop.name).await;
    crud_through(service, Some(&shop.token())).await;
    let post = |token: Option<&str>| {
        let mut request = http::Request::post("/api/v1/books")
            .header(http::header::HOST, service.to_string())
            .header(http::header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            request = request.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        request
            .body(json!({"title": "Dune", "author": "Frank Herbert", "price": "12.50"}).to_string())
            .unwrap()
    };
    assert_eq!(request_once(service, post(None)).await.0, 401);
    assert_eq!(
        request_once(service, post(Some("not-the-write-token-0123")))
            .await
            .0,
        401
    );
    let (status, book) = request_once(service, post(Some(&shop.token()))).await;
    assert_eq!(status, 201, "{book}");
    let stored = mysql(&format!(
        "SELECT price, COLUMN_TYPE FROM `{}`.books, information_schema.COLUMNS \
         WHERE id = {} AND TABLE_SCHEMA = '{}' AND TABLE_NAME = 'books' AND COLUMN_NAME = 'price'",
        shop.database, book["id"], shop.database
    ));
    assert_eq!(stored.trim(), "12.50\tdecimal(10,2)");
    // Operations are not published on the Service's port.
    let (status, _) = http_get(&service.to_string(), "/metrics").await.unwrap();
    assert_eq!(status, 404, "/metrics is not public");
    let pods = platform.pods(&shop.namespace, &instance(&shop.name)).await;
    let pod = pods[0].spec.clone().unwrap();
    assert_eq!(pod.enable_service_links, Some(false));
    report("shop: CRUD with its token (401 without), 12.50 stored as DECIMAL(10,2) in MariaDB");
}

async fn metrics_reach_prometheus(platform: &Platform, shop: &Shop) {
    platform.point_prometheus_at(shop).await;
    let prometheus = &platform.prometheus;
    let targets = eventually("every target scraped", Duration::from_secs(60), || async {
        let targets = prometheus.targets().await;
        let up = targets
            .iter()
            .filter(|(_, _, health)| health == "up")
            .count();
        (targets.len() >= 6 && up == targets.len()).then_some(targets)
    })
    .await;
    for query in [
        r#"bookstore_http_requests_total{bookstore="shop",route="/api/v1/books"}"#,
        r#"bookstore_database_reachable{bookstore="shop"}"#,
        r#"node_exporter_build_info{job="bookstore-node-exporter",bookstore="shop"}"#,
        r#"bookstore_operator_leader{job="bookstore-operator"}"#,
    ] {
        let samples = eventually(query, Duration::from_secs(30), || async {
            let samples = prometheus.query(query).await;
            (!samples.is_empty()).then_some(samples)
        })
        .await;
        assert!(samples.iter().all(|(_, v)| v.is_finite()), "{query}");
    }
    let leaders: f64 = prometheus
        .query("sum(bookstore_operator_leader)")
        .await
        .iter()
        .map(|(_, v)| v)
        .sum();
    assert_eq!(leaders, 1.0, "one leader among the scraped replicas");
    let rules = prometheus.rule_names().await;
    for alert in [
        "BookstoreDatabaseUnreachable",
        "BookstoreNotReady",
        "BookstoreOperatorDown",
    ] {
        assert!(
            rules.iter().any(|r| r == alert),
            "{alert} not loaded: {rules:?}"
        );
    }
    report(&format!(
        "prometheus: {} targets up ({:?}), {} rules loaded",
        targets.len(),
        targets
            .iter()
            .map(|(job, _, _)| job.as_str())
            .collect::<std::collections::BTreeSet<_>>(),
        rules.len()
    ));
}

/// Runs `change` under load, waits for `done` and for the Bookstore to settle, then asserts
/// that no request failed.
async fn under_load<C, D>(platform: &Platform, shop: &Shop, what: &str, change: C, done: D) -> Tally
where
    C: std::future::Future<Output = ()>,
    D: AsyncFnMut() -> bool,
{
    let service = platform.service_address(&shop.namespace, &shop.name).await;
    let load = Load::start(service, Arc::clone(&shop.token), WORKERS);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    change.await;
    let mut done = done;
    let deadline = Instant::now() + SETTLE;
    while !done().await {
        assert!(
            Instant::now() < deadline,
            "{what}: not done within {SETTLE:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    platform.settled(&shop.namespace, &shop.name).await;
    let took = started.elapsed();
    // The pods that left were answering until they left; a little more to be sure.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let tally = load.stop().await;
    report(&format!(
        "{what} ({:.1} s): {}",
        took.as_secs_f64(),
        tally.summary()
    ));
    assert!(tally.ok > 0, "{what}: no load went through");
    assert_eq!(
        (tally.failed(), tally.unavailable),
        (0, 0),
        "{what}: {}",
        tally.summary()
    );
    tally
}

/// `done` once the Deployment's spec changed (the operator applied the change).
fn applied_after<'a>(
    platform: &'a Platform,
    shop: &Shop,
    before: i64,
) -> impl AsyncFnMut() -> bool + 'a {
    let (namespace, name) = (shop.namespace.clone(), shop.name.clone());
    move || {
        let (namespace, name) = (namespace.clone(), name.clone());
        async move { platform.deployment_generation(&namespace, &name).await > before }
    }
}

async fn set_secret(platform: &Platform, namespace: &str, name: &str, key: &str, value: &str) {
    platform
        .api::<Secret>(namespace)
        .patch(
            name,
            &PatchParams::apply(ADMIN).force(),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": name, "labels": {"bookstore.dev/watch": "true"}},
                "stringData": {key: value}})),
        )
        .await
        .unwrap();
}

async fn planned_changes_fail_no_request(platform: &Platform, shop: &Shop) {
    let (ns, name) = (shop.namespace.as_str(), shop.name.as_str());
    let generation = || platform.deployment_generation(ns, name);

    // A write-token rotation: both tokens, the clients move, the old one goes.
    let before = generation().await;
    under_load(
        platform,
        shop,
        "write-token rotation, new token added",
        set_secret(
            platform,
            ns,
            "writers",
            "tokens",
            "first-write-token-0123456789\nsecond-write-token-0123456789",
        ),
        applied_after(platform, shop, before),
    )
    .await;
    *shop.token.lock().unwrap() = "second-write-token-0123456789".into();
    let before = generation().await;
    under_load(
        platform,
        shop,
        "write-token rotation, old token removed",
        set_secret(
            platform,
            ns,
            "writers",
            "tokens",
            "second-write-token-0123456789",
        ),
        applied_after(platform, shop, before),
    )
    .await;

    // A password rotation as MySQL and MariaDB allow it: the user takes both, the Secret moves,
    // the old one is dropped once every pod uses the new one.
    mysql(&format!(
        "ALTER USER '{0}'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('first-password-0') \
         OR mysql_native_password USING PASSWORD('second-password-0')",
        shop.user
    ));
    let before = generation().await;
    under_load(
        platform,
        shop,
        "database password change",
        set_secret(platform, ns, "db-password", "password", "second-password-0"),
        applied_after(platform, shop, before),
    )
    .await;
    mysql(&format!(
        "ALTER USER '{}'@'%' IDENTIFIED BY 'second-password-0'",
        shop.user
    ));

    let before = generation().await;
    under_load(
        platform,
        shop,
        "image change",
        platform.patch_bookstore(ns, name, json!({"image": platform.next_api_image})),
        applied_after(platform, shop, before),
    )
    .await;

    for (what, replicas) in [("replicas 2 -> 3", 3), ("replicas 3 -> 2", 2)] {
        let before = generation().await;
        under_load(
            platform,
            shop,
            what,
            platform.patch_bookstore(ns, name, json!({"replicas": replicas})),
            applied_after(platform, shop, before),
        )
        .await;
    }

    let autoscaler = |wanted: bool| {
        move || async move {
            let exists = platform
                .api::<HorizontalPodAutoscaler>(ns)
                .get_opt(name)
                .await
                .unwrap()
                .is_some();
            exists == wanted
        }
    };
    under_load(
        platform,
        shop,
        "autoscaling on",
        platform.patch_bookstore(
            ns,
            name,
            json!({"autoscaling": {"enabled": true, "minReplicas": 2, "maxReplicas": 3}}),
        ),
        autoscaler(true),
    )
    .await;
    under_load(
        platform,
        shop,
        "autoscaling off",
        platform.patch_bookstore(ns, name, json!({"autoscaling": {"enabled": false}})),
        autoscaler(false),
    )
    .await;

    let leader = platform.leader().await;
    under_load(
        platform,
        shop,
        "leading operator pod deleted",
        async {
            platform
                .cluster
                .kubectl(&["-n", OPERATOR_NAMESPACE, "delete", "pod", &leader]);
        },
        || async {
            let now = platform.leader().await;
            !now.is_empty() && now != leader
        },
    )
    .await;
}

async fn a_database_outage_answers_503_at_once_and_recovers(platform: &Platform, shop: &mut Shop) {
    platform.point_prometheus_at(shop).await;
    let service = platform.service_address(&shop.namespace, &shop.name).await;
    let load = Load::start(service, Arc::clone(&shop.token), WORKERS);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cut = Instant::now();
    shop.relay.blackhole();

    let bookstore = eventually(
        "the status to name the database",
        Duration::from_secs(60),
        || async {
            let bookstore = platform.bookstore(&shop.namespace, &shop.name).await;
            let ready = condition(&bookstore["status"], "Ready");
            (ready["reason"] == "DatabaseUnreachable").then_some(bookstore)
        },
    )
    .await;
    let named_after = cut.elapsed();
    let message = condition(&bookstore["status"], "Ready")["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains(&format!("{NODE_ADDRESS}:{}", shop.relay.addr.port())),
        "{message}"
    );
    assert!(
        !platform
            .events(&shop.namespace, &shop.name, "DatabaseUnreachable")
            .await
            .is_empty()
    );
    let alert = eventually("the alert to fire", Duration::from_secs(150), || async {
        platform.prometheus.alerts().await.into_iter().find(|a| {
            a["labels"]["alertname"] == "BookstoreDatabaseUnreachable"
                && a["labels"]["bookstore"] == "shop"
                && a["state"] == "firing"
        })
    })
    .await;
    let fired_after = cut.elapsed();
    let pods = platform.pods(&shop.namespace, &instance(&shop.name)).await;
    assert!(
        pods.iter().all(is_ready),
        "the pods stay ready through the outage"
    );

    shop.relay.restore().await;
    let restored = Instant::now();
    eventually(
        "the Bookstore Ready again",
        Duration::from_secs(60),
        || async {
            let bookstore = platform.bookstore(&shop.namespace, &shop.name).await;
            (condition(&bookstore["status"], "Ready")["status"] == "True").then_some(())
        },
    )
    .await;
    let status_back_after = restored.elapsed();
    tokio::time::sleep(Duration::from_secs(30).saturating_sub(restored.elapsed())).await;
    let tally = load.stop().await;
    let serving_after = tally.last_not_ok.map_or(Duration::ZERO, |last| {
        last.saturating_duration_since(restored)
    });
    report(&format!(
        "database outage ({:.0} s): {}; status named the database after {:.1} s, the alert fired after {:.0} s ({}); \
         after the database returned: every request served again within {:.1} s, status Ready after {:.1} s",
        restored.duration_since(cut).as_secs_f64(),
        tally.summary(),
        named_after.as_secs_f64(),
        fired_after.as_secs_f64(),
        alert["annotations"]["summary"],
        serving_after.as_secs_f64(),
        status_back_after.as_secs_f64(),
    ));
    assert_eq!(
        tally.failed(),
        0,
        "never refused, never hung: {}",
        tally.summary()
    );
    assert!(
        tally.unavailable > 0,
        "the outage was seen: {}",
        tally.summary()
    );
    assert!(
        tally.slowest < Duration::from_secs(3),
        "{}",
        tally.summary()
    );
    assert!(serving_after < Duration::from_secs(30), "{serving_after:?}");
    assert!(
        !platform
            .events(&shop.namespace, &shop.name, "Recovered")
            .await
            .is_empty()
    );
}

async fn a_killed_api_pod_loses_no_written_book(platform: &Platform, shop: &Shop) {
    let service = platform.service_address(&shop.namespace, &shop.name).await;
    let load = Load::start(service, Arc::clone(&shop.token), WORKERS);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let victim = platform.pods(&shop.namespace, &instance(&shop.name)).await[0].name_any();
    let killed = Instant::now();
    platform.cluster.kubectl(&[
        "-n",
        &shop.namespace,
        "delete",
        "pod",
        &victim,
        "--grace-period=0",
        "--force",
    ]);
    platform.settled(&shop.namespace, &shop.name).await;
    let replaced_after = killed.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let tally = load.stop().await;
    report(&format!(
        "API pod {victim} killed: {}; replaced and ready after {:.1} s",
        tally.summary(),
        replaced_after.as_secs_f64()
    ));
    assert!(
        tally.failed() <= WORKERS as u64 + 1,
        "only the requests in flight on the killed pod (one per client at most) may fail: {}",
        tally.summary()
    );
    let ids: Vec<String> = tally.created.iter().map(i64::to_string).collect();
    let stored = mysql(&format!(
        "SELECT COUNT(*) FROM `{}`.books WHERE id IN ({})",
        shop.database,
        ids.join(",")
    ));
    assert_eq!(
        stored.trim(),
        ids.len().to_string(),
        "every book answered 201 is stored"
    );
}

async fn the_standby_finishes_what_a_killed_leader_started(platform: &Platform, shop: &Shop) {
    let (ns, name) = (shop.namespace.as_str(), shop.name.as_str());
    let leader = platform.leader().await;
    let before = platform.deployment_generation(ns, name).await;
    let spec_with = |mark: &str| json!({"env": [{"name": "ROLLOUT_MARK", "value": mark}]});
    under_load(
        platform,
        shop,
        "leader killed mid-rollout",
        async {
            platform.patch_bookstore(ns, name, spec_with("one")).await;
            // The leader applied it and the pods are rolling: kill the leader, and change the
            // spec again, which only the standby can apply.
            eventually("the rollout to start", Duration::from_secs(30), || async {
                (platform.deployment_generation(ns, name).await > before).then_some(())
            })
            .await;
            platform.cluster.kubectl(&[
                "-n",
                OPERATOR_NAMESPACE,
                "delete",
                "pod",
                &leader,
                "--grace-period=0",
                "--force",
            ]);
            platform.patch_bookstore(ns, name, spec_with("two")).await;
        },
        || async {
            let deployment = platform.api::<Deployment>(ns).get(name).await.unwrap();
            let env = serde_json::to_string(&deployment.spec.unwrap().template).unwrap();
            let now = platform.leader().await;
            env.contains(r#""value":"two""#) && !now.is_empty() && now != leader
        },
    )
    .await;
    report(&format!(
        "leader {leader} killed mid-rollout: {} finished it",
        platform.leader().await
    ));
}

async fn deleting_the_bookstores_leaves_nothing(platform: &Platform, shop: &Shop) {
    platform.cluster.kubectl(&[
        "delete",
        "bookstore",
        "demo",
        "-n",
        "default",
        "--wait=true",
    ]);
    platform.cluster.kubectl(&[
        "delete",
        "bookstore",
        &shop.name,
        "-n",
        &shop.namespace,
        "--wait=true",
    ]);
    for (namespace, name) in [
        ("default", "demo"),
        (shop.namespace.as_str(), shop.name.as_str()),
    ] {
        let selector = instance(name);
        eventually("nothing left", Duration::from_secs(90), || async {
            let pods = platform.pods(namespace, &selector).await.len();
            let list = ListParams::default().labels(&selector);
            let services = platform
                .api::<Service>(namespace)
                .list(&list)
                .await
                .unwrap()
                .items
                .len();
            let secrets = platform
                .api::<Secret>(namespace)
                .list(&list)
                .await
                .unwrap()
                .items
                .len();
            let deployments = platform
                .api::<Deployment>(namespace)
                .list(&list)
                .await
                .unwrap()
                .items
                .len();
            (pods + services + secrets + deployments == 0).then_some(())
        })
        .await;
    }
    let _ = platform
        .api::<Secret>(&shop.namespace)
        .delete("writers", &DeleteParams::default())
        .await;
    report("deleted: no pod, Service, Secret or Deployment of either Bookstore is left");
}

/// A Bookstore taken through each failure the status must explain, each provoked for real: the
/// status names it (Ready's reason, the printer columns) with a readable message, a Warning Event
/// says it once, and fixing it brings a Normal `Recovered` Event.
async fn every_failure_is_explained_then_recovered_from(platform: &Platform, shop: &Shop) {
    let namespace = platform.namespace("failures").await;
    let ns = namespace.as_str();
    // The shop's database (an autoscaler needs one), its password copied here.
    set_secret(platform, ns, "db-password", "password", "first-password-0").await;
    let (repository, _) = platform.api_image.rsplit_once(':').unwrap();
    let missing_image = format!("{repository}:does-not-exist");
    let bookstore = json!({
        "apiVersion": "bookstore.dev/v1alpha1", "kind": "Bookstore",
        "metadata": {"name": "broken", "namespace": ns},
        "spec": {
            "image": missing_image,
            "replicas": 2,
            "service": {"type": "ClusterIP", "port": 80},
            "auth": {"openWrites": true},
            "database": {"host": NODE_ADDRESS, "port": shop.relay.addr.port(), "name": shop.database,
                         "user": shop.user,
                         "passwordSecretRef": {"name": "db-password", "key": "password"}},
            "resources": {"requests": {"cpu": "50m", "memory": "32Mi"},
                          "limits": {"memory": "128Mi"}}
        }
    });
    let file = platform.cluster.work_dir.join("broken.json");
    std::fs::write(&file, bookstore.to_string()).unwrap();
    platform
        .cluster
        .kubectl(&["apply", "-f", file.to_str().unwrap()]);
    let mut shown = String::new();

    // An image tag that does not exist.
    let message = platform.failure(ns, "ImagePullFailed", false).await;
    assert!(message.contains(&missing_image), "{message}");
    shown.push_str(&platform.shown(ns));

    // An environment value the API refuses at start: it exits, and its last words are quoted.
    platform
        .patch_bookstore(
            ns,
            "broken",
            json!({"image": platform.api_image, "env": [{"name": "TRUSTED_PROXIES", "value": "not-a-network"}]}),
        )
        .await;
    let message = platform.failure(ns, "CrashLooping", false).await;
    assert!(
        message.contains("code 2): error: TRUSTED_PROXIES: \"not-a-network\" is not an address"),
        "{message}"
    );
    shown.push_str(&platform.shown(ns));

    // Fixed: serving, but its autoscaler has no metrics (no metrics-server here) past the grace.
    platform
        .patch_bookstore(ns, "broken", json!({"env": null}))
        .await;
    let message = platform.failure(ns, "AutoscalerWithoutMetrics", true).await;
    assert!(
        message.starts_with("2/2 API pods ready; HorizontalPodAutoscaler broken cannot scale"),
        "{message}"
    );
    platform.recovered(ns, "CrashLooping").await;

    // A LoadBalancer Service no controller gives an address (none runs here).
    platform
        .patch_bookstore(
            ns,
            "broken",
            json!({"autoscaling": {"enabled": false}, "service": {"type": "LoadBalancer"}}),
        )
        .await;
    let message = platform.failure(ns, "LoadBalancerPending", true).await;
    assert!(
        message.contains("Service broken has waited over 20 s for a load balancer address"),
        "{message}"
    );

    // A rollout whose new pod no node takes, past its progress deadline.
    platform
        .patch_bookstore(
            ns,
            "broken",
            json!({"service": {"type": "ClusterIP"}, "progressDeadlineSeconds": 10,
                   "nodeSelector": {"bookstore.dev/nowhere": "true"}}),
        )
        .await;
    let message = platform.failure(ns, "RolloutStuck", false).await;
    assert!(
        message.contains("made no progress for 10 s") && message.contains("cannot be scheduled"),
        "{message}"
    );
    shown.push_str(&platform.shown(ns));

    platform
        .patch_bookstore(ns, "broken", json!({"nodeSelector": null}))
        .await;
    platform.settled(ns, "broken").await;
    let bookstore = platform.bookstore(ns, "broken").await;
    assert_eq!(
        condition(&bookstore["status"], "Ready")["reason"],
        "Available"
    );
    platform.recovered(ns, "RolloutStuck").await;
    std::fs::write(FAILURE_REPORT, &shown).unwrap();
    eprintln!("{shown}");
    report(
        "failures: ImagePullFailed, CrashLooping, AutoscalerWithoutMetrics, LoadBalancerPending, RolloutStuck each named in the status with a Warning Event, then Recovered",
    );
    platform
        .cluster
        .kubectl(&["delete", "namespace", ns, "--wait=false"]);
}

impl Platform {
    /// Waits until Bookstore `name` reports `reason` (Ready True if `pods_serve`, else False;
    /// Degraded True) with one Warning Event of it; its Ready message.
    async fn failure(&self, namespace: &str, reason: &str, pods_serve: bool) -> String {
        let what = format!("Bookstore {namespace}/broken to report {reason}");
        let status = eventually(&what, Duration::from_secs(150), || async {
            let bookstore = self.bookstore(namespace, "broken").await;
            let status = bookstore["status"].clone();
            let ready = condition(&status, "Ready");
            let degraded = condition(&status, "Degraded");
            (ready["reason"] == reason
                && ready["status"] == if pods_serve { "True" } else { "False" }
                && degraded["status"] == "True"
                && degraded["reason"] == reason)
                .then_some(status)
        })
        .await;
        let warnings = eventually("its Warning Event", Duration::from_secs(30), || async {
            let events = self.events(namespace, "broken", reason).await;
            (!events.is_empty()).then_some(events)
        })
        .await;
        assert!(
            warnings
                .iter()
                .all(|e| e.type_.as_deref() == Some("Warning"))
        );
        let message = condition(&status, "Ready")["message"]
            .as_str()
            .unwrap()
            .to_owned();
        report(&format!("{reason}: {message}"));
        message
    }

    /// Waits for the Normal Event that says the Bookstore no longer has `reason`.
    async fn recovered(&self, namespace: &str, reason: &str) {
        let note = format!("no longer {reason}");
        eventually(
            &format!("a Recovered Event for {reason}"),
            Duration::from_secs(30),
            || async {
                self.events(namespace, "broken", "Recovered")
                    .await
                    .into_iter()
                    .find(|e| {
                        e.note.as_deref() == Some(note.as_str())
                            && e.type_.as_deref() == Some("Normal")
                    })
            },
        )
        .await;
    }

    /// What `kubectl get bookstores` (plain and wide) and `kubectl describe` show.
    fn shown(&self, namespace: &str) -> String {
        let mut shown = String::new();
        for args in [
            vec!["get", "bookstores", "-n", namespace],
            vec!["get", "bookstores", "-n", namespace, "-o", "wide"],
            vec!["describe", "bookstore", "broken", "-n", namespace],
        ] {
            shown.push_str(&format!(
                "$ kubectl {}\n{}\n",
                args.join(" "),
                self.cluster.kubectl(&args)
            ));
        }
        shown
    }
}

/// The second zone's node drained (`kubectl drain`: evictions, which the disruption budget paces)
/// while clients read and write: no request fails, and the Bookstore is back at its full count of
/// ready pods in the first zone within a minute, its `ZoneRedundant` condition saying where.
async fn a_zone_drained_under_load_fails_no_request(platform: &Platform, shop: &Shop) {
    let (ns, name) = (shop.namespace.as_str(), shop.name.as_str());
    let nodes: Vec<String> = platform
        .cluster
        .kubectl(&["get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"])
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        nodes.len(),
        2,
        "two nodes, one per zone (K8S_NODES=2): {nodes:?}"
    );
    let zoned = |bookstore: &Value| condition(&bookstore["status"], "ZoneRedundant").clone();
    // Spreading is `ScheduleAnyway`: after the rollouts and kills above, both pods may share a
    // zone. The node drained is the one holding the most of them (all of them, at worst).
    let before = platform.pods(ns, &instance(name)).await;
    let node_of = |pod: &Pod| pod.spec.as_ref().and_then(|s| s.node_name.clone());
    let on = |node: &str| {
        before
            .iter()
            .filter(|p| node_of(p).as_deref() == Some(node))
            .count()
    };
    let drained = nodes.iter().max_by_key(|node| on(node)).unwrap().clone();
    let drained = drained.as_str();
    let on_drained = on(drained);
    assert!(on_drained > 0, "a pod runs on the drained node");
    let zone_before = zoned(&platform.bookstore(ns, name).await);
    let want = before.len();
    let drain = async {
        platform.cluster.kubectl(&[
            "drain",
            drained,
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            "--timeout=120s",
        ]);
    };
    let back = async || {
        let pods = platform.pods(ns, &instance(name)).await;
        pods.len() == want
            && pods.iter().all(|p| {
                is_ready(p)
                    && p.metadata.deletion_timestamp.is_none()
                    && p.spec.as_ref().and_then(|s| s.node_name.as_deref()) != Some(drained)
            })
    };
    let started = Instant::now();
    under_load(
        platform,
        shop,
        &format!(
            "node {drained} drained ({on_drained} of {want} API pods on it; before: {})",
            zone_before["message"]
        ),
        drain,
        back,
    )
    .await;
    let back_after = started.elapsed();
    let single = eventually(
        "the status to say one zone",
        Duration::from_secs(30),
        || async {
            let zoned = zoned(&platform.bookstore(ns, name).await);
            (zoned["reason"] == "SingleZone").then_some(zoned)
        },
    )
    .await;
    report(&format!(
        "after the drain: all {want} pods ready in the other zone after {:.1} s; ZoneRedundant: {}",
        back_after.as_secs_f64(),
        single["message"]
    ));
    assert!(back_after < Duration::from_secs(60), "{back_after:?}");
    platform.cluster.kubectl(&["uncordon", drained]);
}
