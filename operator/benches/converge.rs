//! Benchmark (prints figures; not a timed test): the operator, as installed, on a real API server.
//! For each size, Bookstores are created at once (100 in flight); it prints how long until every
//! child exists and every status is written, the operator's peak memory, its requests by verb
//! while converging, and then during an idle window in which nothing changes.
//!
//!   eval "$(.ci/k8s-up)"
//!   cargo bench -p bookstore-operator --bench converge -- [--sizes 100,1000] [--idle 60] [--noise-mib 50]
//!
//! `--noise-mib` first fills the cluster with that much unrelated Secret data (512 KiB each), to
//! show that it does not end up in the operator's memory. Exits non-zero when a size does not
//! converge within 5 minutes or the operator writes anything while idle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/cluster/mod.rs"]
mod cluster;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bookstore_operator::crd::Bookstore;
use cluster::{Cluster, Operator, eventually};
use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Namespace, Secret, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;

const NAMESPACES_PER_SIZE: usize = 10;
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(300);
const ADMIN: &str = "bench-admin";

struct Options {
    sizes: Vec<usize>,
    idle: Duration,
    noise_mib: usize,
    /// Passed to `bookstore-operator run`.
    operator_args: Vec<String>,
}

fn options() -> Options {
    let mut options = Options {
        sizes: vec![100, 1000],
        idle: Duration::from_secs(60),
        noise_mib: 50,
        operator_args: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sizes" => {
                options.sizes = args
                    .next()
                    .expect("--sizes N,M")
                    .split(',')
                    .map(|n| n.parse().expect("a number of Bookstores"))
                    .collect();
            }
            "--idle" => {
                options.idle = Duration::from_secs(
                    args.next()
                        .expect("--idle SECONDS")
                        .parse()
                        .expect("seconds"),
                );
            }
            "--noise-mib" => {
                options.noise_mib = args.next().expect("--noise-mib N").parse().expect("MiB")
            }
            "--operator-args" => {
                options.operator_args = args
                    .next()
                    .expect("--operator-args '...'")
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect();
            }
            // cargo bench passes --bench.
            "--bench" => {}
            other => panic!("unknown argument {other}; see the header of benches/converge.rs"),
        }
    }
    options
}

/// What the admin's own watches see of the cluster, to tell when the operator is done.
struct View {
    bookstores: Store<Bookstore>,
    deployments: Store<Deployment>,
    services: Store<Service>,
    autoscalers: Store<HorizontalPodAutoscaler>,
    budgets: Store<PodDisruptionBudget>,
}

fn watch<K>(client: &Client, config: watcher::Config) -> Store<K>
where
    K: Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store();
    let stream = watcher(Api::<K>::all(client.clone()), config)
        .default_backoff()
        .reflect(writer)
        .applied_objects();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while stream.next().await.is_some() {}
    });
    store
}

impl View {
    fn new(client: &Client) -> Self {
        let labelled =
            || watcher::Config::default().labels("app.kubernetes.io/managed-by=bookstore-operator");
        Self {
            bookstores: watch(client, watcher::Config::default()),
            deployments: watch(client, labelled()),
            services: watch(client, labelled()),
            autoscalers: watch(client, labelled()),
            budgets: watch(client, labelled()),
        }
    }

    /// Bookstores in `prefix`-namespaces whose four children exist and whose status describes
    /// their generation.
    fn converged(&self, prefix: &str) -> usize {
        let (deployments, services, autoscalers, budgets) = (
            names(&self.deployments),
            names(&self.services),
            names(&self.autoscalers),
            names(&self.budgets),
        );
        self.bookstores
            .state()
            .iter()
            .filter(|b| b.namespace().is_some_and(|n| n.starts_with(prefix)))
            .filter(|b| {
                let key = (b.namespace(), b.name_any());
                let written = b.status.as_ref().is_some_and(|s| {
                    s.observed_generation == b.metadata.generation && !s.conditions.is_empty()
                });
                written
                    && deployments.contains(&key)
                    && services.contains(&key)
                    && autoscalers.contains(&key)
                    && budgets.contains(&key)
            })
            .count()
    }
}

fn names<K: Resource<DynamicType = ()> + Clone>(
    store: &Store<K>,
) -> HashSet<(Option<String>, String)> {
    store
        .state()
        .iter()
        .map(|o| (o.namespace(), o.name_any()))
        .collect()
}

fn memory_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn by_verb(entries: &[cluster::AuditEntry]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in entries {
        *counts.entry(entry.verb.as_str()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(verb, n)| format!("{verb} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

struct Figures {
    size: usize,
    created: Duration,
    converged: Duration,
    after_last_create: Duration,
    peak_rss_mib: f64,
    cpu: Duration,
    converging: String,
    converging_total: usize,
    idle_writes: usize,
    idle_requests: usize,
    idle_lease: usize,
    idle: Duration,
}

async fn run_size(
    cluster: &Cluster,
    admin: &Client,
    view: &View,
    operator: &Operator,
    size: usize,
    idle: Duration,
) -> Figures {
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 100_000;
    let prefix = format!("bench-{run}-{size}-");
    let namespaces: Vec<String> = (0..NAMESPACES_PER_SIZE)
        .map(|i| format!("{prefix}{i}"))
        .collect();
    for namespace in &namespaces {
        Api::<Namespace>::all(admin.clone())
            .create(
                &PostParams::default(),
                &serde_json::from_value(
                    json!({"metadata": {"name": namespace, "labels": {"bookstore-bench": "true"}}}),
                )
                .unwrap(),
            )
            .await
            .unwrap();
        let secret = json!({"apiVersion": "v1", "kind": "Secret",
                            "metadata": {"name": "db-password", "labels": {"bookstore.dev/watch": "true"}},
                            "stringData": {"password": "bench"}});
        Api::<Secret>::namespaced(admin.clone(), namespace)
            .patch(
                "db-password",
                &PatchParams::apply(ADMIN),
                &Patch::Apply(secret),
            )
            .await
            .unwrap();
    }
    // Let the operator see the password Secrets before the clock starts.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mark = cluster.audit_mark();
    let cpu_before = operator.cpu_time();
    let started = Instant::now();
    futures_util::stream::iter(0..size)
        .for_each_concurrent(100, |i| {
            let namespace = namespaces[i % NAMESPACES_PER_SIZE].clone();
            let admin = admin.clone();
            async move {
                let name = format!("shop-{i}");
                let bookstore = json!({
                    "apiVersion": "bookstore.dev/v1alpha1", "kind": "Bookstore", "metadata": {"name": name},
                    "spec": {"image": "ghcr.io/bookstore-dev/bookstore-api:0.1.0",
                             "auth": {"openWrites": true},
                             "database": {"host": "db.invalid", "name": "bookstore", "user": "app",
                                          "passwordSecretRef": {"name": "db-password", "key": "password"}}}
                });
                Api::<Bookstore>::namespaced(admin, &namespace)
                    .patch(&name, &PatchParams::apply(ADMIN), &Patch::Apply(bookstore))
                    .await
                    .unwrap();
            }
        })
        .await;
    let created = started.elapsed();
    eventually(
        &format!("{size} Bookstores to converge"),
        CONVERGE_TIMEOUT,
        || async { (view.converged(&prefix) == size).then_some(()) },
    )
    .await;
    let converged = started.elapsed();
    let cpu = operator.cpu_time().saturating_sub(cpu_before);
    // The kernel's high-water mark of the process's resident memory.
    let peak_rss = memory_kib(operator.pid(), "VmHWM:");
    let converging = cluster.operator_requests(mark);

    // Idle: nothing changes; what does the operator do?
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle_mark = cluster.audit_mark();
    tokio::time::sleep(idle).await;
    let idle_requests = cluster.operator_requests(idle_mark);
    let (lease, others): (Vec<_>, Vec<_>) = idle_requests
        .into_iter()
        .partition(|r| r.resource == "leases");

    // Clean up, and wait until the cluster is back where it was.
    for namespace in &namespaces {
        Api::<Namespace>::all(admin.clone())
            .delete(namespace, &DeleteParams::background())
            .await
            .unwrap();
    }
    eventually(
        "the benchmark's namespaces to go",
        CONVERGE_TIMEOUT,
        || async {
            let left = Api::<Namespace>::all(admin.clone())
                .list(&ListParams::default().labels("bookstore-bench=true"))
                .await
                .ok()?;
            left.items.is_empty().then_some(())
        },
    )
    .await;
    Figures {
        size,
        created,
        converged,
        after_last_create: converged.saturating_sub(created),
        peak_rss_mib: peak_rss as f64 / 1024.0,
        cpu,
        converging_total: converging.len(),
        converging: by_verb(&converging),
        idle_writes: others.iter().filter(|r| r.is_write()).count(),
        idle_requests: others.len(),
        idle_lease: lease.len(),
        idle,
    }
}

async fn noise(admin: &Client, mib: usize) {
    if mib == 0 {
        return;
    }
    let namespace = "bench-noise";
    let _ = Api::<Namespace>::all(admin.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap(),
        )
        .await;
    let blob = "x".repeat(512 * 1024);
    futures_util::stream::iter(0..mib * 2)
        .for_each_concurrent(8, |i| {
            let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": format!("noise-{i}")},
                                "stringData": {"blob": blob}});
            let api = Api::<Secret>::namespaced(admin.clone(), namespace);
            async move {
                api.patch(&format!("noise-{i}"), &PatchParams::apply(ADMIN), &Patch::Apply(secret))
                    .await
                    .unwrap();
            }
        })
        .await;
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let failed = runtime.block_on(async {
        let Some(cluster) = Cluster::from_env("operator benchmark") else {
            return false;
        };
        cluster.install_operator();
        let admin = cluster.admin().await;
        noise(&admin, options.noise_mib).await;
        let kubeconfig = cluster.operator_kubeconfig("bench", None);
        let operator = Operator::start_with(
            &cluster,
            &kubeconfig,
            "bench",
            Some(cluster::OPERATOR_NAMESPACE),
            &options.operator_args,
        );
        eventually("the operator to lead", Duration::from_secs(60), || async { operator.leads().await.then_some(()) }).await;
        let view = View::new(&admin);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let started_rss = memory_kib(operator.pid(), "VmRSS:") as f64 / 1024.0;

        let mut all = Vec::new();
        for size in &options.sizes {
            let figures = run_size(&cluster, &admin, &view, &operator, *size, options.idle).await;
            eprintln!("{size} Bookstores: converged {:.1?} after the first create", figures.converged);
            all.push(figures);
        }
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("model name"))
            .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
            .unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        println!(
            "\nbookstore-operator ({} build, as installed: its ServiceAccount, leader election on{}), kube-apiserver v1.36 + etcd + controller manager on the same machine: {cores} cores ({cpu}); {} MiB of unrelated Secrets in the cluster; operator RSS at start {started_rss:.1} MiB\n",
            if cfg!(debug_assertions) { "debug" } else { "release" },
            if options.operator_args.is_empty() { String::new() } else { format!(", run {}", options.operator_args.join(" ")) },
            options.noise_mib
        );
        println!("| Bookstores | all created after | converged after first create | after last create | operator peak RSS | operator CPU while converging | operator requests while converging (audit log) | idle {} s: writes | idle: other requests | idle: per Bookstore per minute | idle: Lease requests |", options.idle.as_secs());
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
        let mut failed = false;
        for f in &all {
            let per_minute = f.idle_requests as f64 / f.size as f64 / (f.idle.as_secs_f64() / 60.0);
            println!(
                "| {} | {:.1} s | {:.1} s | {:.1} s | {:.1} MiB | {:.1} s | {} ({}) | {} | {} | {:.3} | {} |",
                f.size,
                f.created.as_secs_f64(),
                f.converged.as_secs_f64(),
                f.after_last_create.as_secs_f64(),
                f.peak_rss_mib,
                f.cpu.as_secs_f64(),
                f.converging_total,
                f.converging,
                f.idle_writes,
                f.idle_requests,
                per_minute,
                f.idle_lease
            );
            failed |= f.idle_writes > 0;
        }
        println!("\nTargets (1,000 Bookstores): converged within 30 s of the last create; 0 writes and at most 1 request per Bookstore per minute while idle; RSS < 64 MiB.");
        for f in all.iter().filter(|f| f.size == 1000) {
            let per_minute = f.idle_requests as f64 / f.size as f64 / (f.idle.as_secs_f64() / 60.0);
            let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
            println!(
                "  convergence: {}; idle writes: {}; idle requests: {}; memory: {}",
                verdict(f.after_last_create <= Duration::from_secs(30)),
                verdict(f.idle_writes == 0),
                verdict(per_minute <= 1.0),
                verdict(f.peak_rss_mib < 64.0)
            );
        }
        if cluster.audit_log.is_none() {
            println!("(no BOOKSTORE_E2E_AUDIT_LOG: request counts unavailable)");
        }
        if options.noise_mib > 0 {
            let _ = Api::<Namespace>::all(admin.clone()).delete("bench-noise", &DeleteParams::background()).await;
        }
        failed
    });
    if failed {
        eprintln!("the operator wrote while nothing changed");
        std::process::exit(1);
    }
}
