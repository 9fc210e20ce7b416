//! A real Kubernetes API server with the operator running as installed: `deploy/install.yaml`
//! applied, the operator binary run with a token of its ServiceAccount (never cluster-admin).
//! Shared by the end-to-end suite (`tests/e2e.rs`), the platform suite (`tests/on_node.rs`) and the
//! benchmark (`benches/converge.rs`).
//!
//! The cluster comes from `BOOKSTORE_E2E_KUBECONFIG` (cluster-admin: the harness installs the
//! operator and creates namespaces); `BOOKSTORE_E2E_AUDIT_LOG` may name the API server's audit
//! log (one JSON line per request) for counting the operator's requests. `.ci/k8s-up` starts a
//! local control plane from `../shared/k8s/` and prints both.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::Client;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// The operator's ServiceAccount, as the API server names it.
pub const OPERATOR_USER: &str = "system:serviceaccount:bookstore-system:bookstore-operator";
pub const OPERATOR_NAMESPACE: &str = "bookstore-system";
/// The installed operator's roll key Secret, in `OPERATOR_NAMESPACE`.
pub const ROLL_KEY_SECRET: &str = "bookstore-operator-roll-key";
/// The suite's operators elect their leader on a Lease of their own, never the installed
/// operator's (`bookstore-operator`).
pub const SUITE_LEASE: &str = "bookstore-operator-e2e";
/// The suite's operators' lease timings (`LEASE_*_SECS`): shorter than the defaults (15, 10, 3 s)
/// so that failovers take seconds, still with room for an API server on 2 busy cores.
pub const SUITE_LEASE_TIMINGS: (u64, u64, u64) = (8, 5, 1);

pub struct Cluster {
    pub admin_kubeconfig: PathBuf,
    pub audit_log: Option<PathBuf>,
    /// Where logs and generated kubeconfigs go.
    pub work_dir: PathBuf,
}

impl Cluster {
    /// The cluster named by the environment; `None` (and why) when there is none. With `CI` set
    /// a missing cluster is an error, not a skip.
    pub fn from_env(suite: &str) -> Option<Self> {
        Self::from_env_var(
            "BOOKSTORE_E2E_KUBECONFIG",
            suite,
            "start a control plane with `eval \"$(.ci/k8s-up)\"`, or point it at any cluster where you are cluster-admin",
        )
    }

    /// The cluster whose admin kubeconfig `variable` names; `how` says how to get one.
    pub fn from_env_var(variable: &str, suite: &str, how: &str) -> Option<Self> {
        let Some(kubeconfig) = std::env::var_os(variable) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but {variable} is not: {suite} must run against a real cluster ({how})"
            );
            eprintln!("SKIPPED: {suite}: {variable} is not set ({how})");
            return None;
        };
        let work_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/e2e")
            .join(format!(
                "{}-{}",
                suite.replace(' ', "-"),
                std::process::id()
            ));
        fs::create_dir_all(&work_dir).unwrap();
        Some(Self {
            admin_kubeconfig: PathBuf::from(kubeconfig),
            // The control plane's audit log goes with its kubeconfig only.
            audit_log: std::env::var_os("BOOKSTORE_E2E_AUDIT_LOG")
                .filter(|_| variable == "BOOKSTORE_E2E_KUBECONFIG")
                .map(PathBuf::from),
            work_dir,
        })
    }

    pub async fn admin(&self) -> Client {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.admin_kubeconfig).unwrap();
        let config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .unwrap();
        Client::try_from(config).unwrap()
    }

    /// Runs kubectl as cluster-admin; panics with its output when it fails.
    pub fn kubectl(&self, args: &[&str]) -> String {
        let output = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.admin_kubeconfig)
            .args(args)
            .output()
            .expect("kubectl runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "kubectl {}: {}{}",
            args.join(" "),
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    /// Installs the operator the way the README says (`deploy/install.yaml`, server-side).
    pub fn install_operator(&self) {
        let install = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/install.yaml");
        self.kubectl(&[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            install.to_str().unwrap(),
        ]);
        self.kubectl(&[
            "wait",
            "--for=condition=Established",
            "crd/bookstores.bookstore.dev",
            "--timeout=60s",
        ]);
        self.create_roll_key();
        self.install_pod_monitor_crd();
    }

    /// prometheus-operator's PodMonitor CRD, reduced to its names (any spec is kept): the API
    /// server then serves the kind, so the operator watches and applies PodMonitors. What the
    /// operator renders is checked against prometheus-operator's real schema elsewhere
    /// (`.ci/check-deploy`).
    pub fn install_pod_monitor_crd(&self) {
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "podmonitors.monitoring.coreos.com"},
            "spec": {
                "group": "monitoring.coreos.com", "scope": "Namespaced",
                "names": {"kind": "PodMonitor", "listKind": "PodMonitorList",
                          "plural": "podmonitors", "singular": "podmonitor"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object",
                        "x-kubernetes-preserve-unknown-fields": true}}}],
            },
        });
        let file = self.work_dir.join("podmonitor-crd.json");
        fs::write(&file, crd.to_string()).unwrap();
        self.kubectl(&["apply", "--server-side", "-f", file.to_str().unwrap()]);
        self.kubectl(&[
            "wait",
            "--for=condition=Established",
            "crd/podmonitors.monitoring.coreos.com",
            "--timeout=60s",
        ]);
    }

    /// The installed operator's roll key Secret (deploy/README.md, step 1), made once per
    /// cluster; the suite's own operators read the same key from `roll_key_file`, so that a pod
    /// template never changes with the operator that renders it.
    pub fn create_roll_key(&self) {
        let existing = self.kubectl(&[
            "-n",
            OPERATOR_NAMESPACE,
            "get",
            "secret",
            ROLL_KEY_SECRET,
            "--ignore-not-found",
            "-o",
            "go-template={{.data.key | base64decode}}",
        ]);
        let key = if existing.trim().is_empty() {
            let key = test_roll_key();
            self.kubectl(&[
                "-n",
                OPERATOR_NAMESPACE,
                "create",
                "secret",
                "generic",
                ROLL_KEY_SECRET,
                &format!("--from-literal=key={key}"),
            ]);
            key
        } else {
            existing
        };
        fs::write(self.work_dir.join("roll-key"), key).unwrap();
    }

    /// The roll key the suite's operators read (`ROLL_KEY_FILE`): the installed one, or one of
    /// the suite's own when nothing was installed.
    pub fn roll_key_file(&self) -> PathBuf {
        let path = self.work_dir.join("roll-key");
        if !path.exists() {
            fs::write(&path, test_roll_key()).unwrap();
        }
        path
    }

    /// Fails when an installed operator has pods here (before the suite installs its own copy):
    /// it would reconcile the suite's Bookstores too, and every count the suite takes would be
    /// wrong.
    pub fn assert_no_installed_operator(&self) {
        let pods = self.kubectl(&[
            "-n",
            OPERATOR_NAMESPACE,
            "get",
            "pods",
            "-l",
            "app.kubernetes.io/name=bookstore-operator",
            "-o",
            "name",
        ]);
        assert!(
            pods.trim().is_empty(),
            "an installed operator has pods here ({}): the suite's own operators would compete \
             with it for every Bookstore; run the suite on a cluster without it",
            pods.split_whitespace().collect::<Vec<_>>().join(", ")
        );
    }

    /// The installed Deployment at no pods: the suite runs the operator itself, as the installed
    /// ServiceAccount (on a cluster with a node, the Deployment would otherwise start it too).
    pub fn stop_installed_operator(&self) {
        self.kubectl(&[
            "-n",
            OPERATOR_NAMESPACE,
            "scale",
            "deployment",
            "bookstore-operator",
            "--replicas=0",
        ]);
    }

    /// A kubeconfig holding only a token of the operator's ServiceAccount, reaching the API
    /// server through `via` when given (a proxy the test controls).
    pub fn operator_kubeconfig(&self, name: &str, via: Option<SocketAddr>) -> PathBuf {
        self.service_account_kubeconfig(OPERATOR_NAMESPACE, name, via)
    }

    /// The same for the `bookstore-operator` ServiceAccount of `namespace` (a namespaced
    /// install's).
    pub fn service_account_kubeconfig(
        &self,
        namespace: &str,
        name: &str,
        via: Option<SocketAddr>,
    ) -> PathBuf {
        let token = self.kubectl(&[
            "-n",
            namespace,
            "create",
            "token",
            "bookstore-operator",
            "--duration=2h",
        ]);
        let mut cluster = self.admin_config()["clusters"][0]["cluster"].clone();
        if let Some(proxy) = via {
            let server = cluster["server"].as_str().unwrap().to_owned();
            let host = server
                .trim_start_matches("https://")
                .split(['/', ':'])
                .next()
                .unwrap_or_default()
                .to_owned();
            cluster["server"] = json!(format!("https://{proxy}"));
            if host.parse::<std::net::IpAddr>().is_err() {
                cluster["tls-server-name"] = json!(host);
            }
        }
        let kubeconfig = json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "cluster", "cluster": cluster}],
            "users": [{"name": "operator", "user": {"token": token.trim()}}],
            "contexts": [{"name": "operator", "context": {"cluster": "cluster", "user": "operator"}}],
            "current-context": "operator",
        });
        let path = self.work_dir.join(format!("{name}.kubeconfig"));
        fs::write(&path, kubeconfig.to_string()).unwrap();
        path
    }

    /// The admin kubeconfig's current context, self-contained, as JSON.
    fn admin_config(&self) -> Value {
        let json = self.kubectl(&[
            "config",
            "view",
            "--raw",
            "--minify",
            "--flatten",
            "-o",
            "json",
        ]);
        serde_json::from_str(&json).unwrap()
    }

    /// The admin kubeconfig with `namespace` as its context's namespace.
    pub fn admin_kubeconfig_in(&self, namespace: &str) -> PathBuf {
        let mut config = self.admin_config();
        config["contexts"][0]["context"]["namespace"] = json!(namespace);
        let path = self
            .work_dir
            .join(format!("admin-in-{namespace}.kubeconfig"));
        fs::write(&path, config.to_string()).unwrap();
        path
    }

    /// The audit log's current end (its inode and length): requests after it are the ones that
    /// follow.
    pub fn audit_mark(&self) -> AuditMark {
        use std::os::unix::fs::MetadataExt;
        let meta = self
            .audit_log
            .as_ref()
            .and_then(|path| fs::metadata(path).ok());
        AuditMark {
            inode: meta.as_ref().map_or(0, MetadataExt::ino),
            offset: meta.map_or(0, |m| m.len()),
        }
    }

    /// The operator's requests since `mark` (audit log entries of its ServiceAccount). The API
    /// server rotates its log (renaming it `audit-TIME.log`): the rotated file is read from the
    /// mark on, then the current one from its start.
    pub fn operator_requests(&self, mark: AuditMark) -> Vec<AuditEntry> {
        self.requests_of(OPERATOR_USER, mark)
    }

    /// The requests of `user` since `mark`, as `operator_requests`.
    pub fn requests_of(&self, user: &str, mark: AuditMark) -> Vec<AuditEntry> {
        use std::os::unix::fs::MetadataExt;
        let Some(path) = &self.audit_log else {
            return Vec::new();
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut files: Vec<(std::time::SystemTime, PathBuf, u64)> = fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                e.file_name().to_string_lossy().starts_with("audit")
                    && e.file_name().to_string_lossy().ends_with(".log")
            })
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                Some((meta.modified().ok()?, e.path(), meta.ino()))
            })
            .collect();
        files.sort();
        let Some(first) = files.iter().position(|(_, _, inode)| *inode == mark.inode) else {
            return Vec::new();
        };
        let mut text = String::new();
        for (index, (_, file, _)) in files[first..].iter().enumerate() {
            let bytes = fs::read(file).unwrap_or_default();
            let start = if index == 0 {
                usize::try_from(mark.offset).unwrap_or(0).min(bytes.len())
            } else {
                0
            };
            text.push_str(&String::from_utf8_lossy(&bytes[start..]));
        }
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|entry| entry["user"]["username"] == user)
            .map(|entry| AuditEntry {
                verb: entry["verb"].as_str().unwrap_or_default().to_owned(),
                resource: entry["objectRef"]["resource"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                namespace: entry["objectRef"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                name: entry["objectRef"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                user_agent: entry["userAgent"].as_str().unwrap_or_default().to_owned(),
                code: entry["responseStatus"]["code"].as_u64().unwrap_or(0),
            })
            .collect()
    }
}

/// A test cluster's roll key: random enough, not a production key.
fn test_roll_key() -> String {
    format!("{:032x}{:032x}", fastrand::u128(..), fastrand::u128(..))
}

#[derive(Debug, Clone, Copy)]
pub struct AuditMark {
    inode: u64,
    offset: u64,
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub verb: String,
    pub resource: String,
    pub namespace: String,
    pub name: String,
    pub user_agent: String,
    pub code: u64,
}

impl AuditEntry {
    pub fn is_write(&self) -> bool {
        matches!(self.verb.as_str(), "create" | "update" | "patch" | "delete")
    }
}

/// One operator process, killed when dropped.
pub struct Operator {
    pub identity: String,
    pub metrics_addr: SocketAddr,
    pub log: PathBuf,
    child: Child,
    pub exited_at: Option<Instant>,
}

impl Operator {
    /// Runs `bookstore-operator run` as a pod would (`POD_NAMESPACE`, `POD_NAME`), or as someone
    /// on their machine would when `pod_namespace` is `None` (the Lease namespace then comes
    /// from the kubeconfig).
    pub fn start(
        cluster: &Cluster,
        kubeconfig: &Path,
        identity: &str,
        pod_namespace: Option<&str>,
    ) -> Self {
        Self::start_with(cluster, kubeconfig, identity, pod_namespace, &[])
    }

    /// The same, with more arguments for `run`.
    pub fn start_with(
        cluster: &Cluster,
        kubeconfig: &Path,
        identity: &str,
        pod_namespace: Option<&str>,
        args: &[String],
    ) -> Self {
        let metrics_addr = free_port();
        let log = cluster.work_dir.join(format!("{identity}.log"));
        let output = fs::File::create(&log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_bookstore-operator"));
        command
            .arg("run")
            .arg("--metrics-addr")
            .arg(metrics_addr.to_string())
            .arg("--lease-name")
            .arg(SUITE_LEASE)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("KUBECONFIG", kubeconfig)
            .env("POD_NAME", identity)
            .env("LOG_FORMAT", "json")
            // No metrics API on this cluster: its autoscalers never get metrics. The node suite
            // tests that report; here it would only add a problem to every autoscaled Bookstore.
            .env("PROBLEM_GRACE_SECS", "3600")
            .env("LEASE_DURATION_SECS", SUITE_LEASE_TIMINGS.0.to_string())
            .env(
                "LEASE_RENEW_DEADLINE_SECS",
                SUITE_LEASE_TIMINGS.1.to_string(),
            )
            .env("LEASE_RETRY_PERIOD_SECS", SUITE_LEASE_TIMINGS.2.to_string())
            .env("RUST_LOG", "info")
            .env("ROLL_KEY_FILE", cluster.roll_key_file())
            .stdout(Stdio::from(output.try_clone().unwrap()))
            .stderr(Stdio::from(output));
        if let Some(namespace) = pod_namespace {
            command.env("POD_NAMESPACE", namespace);
        }
        let child = command.spawn().expect("the operator binary starts");
        Self {
            identity: identity.to_owned(),
            metrics_addr,
            log,
            child,
            exited_at: None,
        }
    }

    /// The operator's /metrics text, `None` while it does not answer.
    pub async fn metrics(&self) -> Option<String> {
        let mut stream = TcpStream::connect(self.metrics_addr).await.ok()?;
        stream
            .write_all(b"GET /metrics HTTP/1.0\r\nHost: operator\r\n\r\n")
            .await
            .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await.ok()?;
        response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
    }

    /// The sum of a metric's samples whose labels contain `labels` (e.g. `verb="patch"`).
    pub async fn metric(&self, name: &str, labels: &str) -> f64 {
        let text = self.metrics().await.unwrap_or_default();
        text.lines()
            .filter(|line| line.starts_with(name) && line.contains(labels))
            .filter(|line| line[name.len()..].starts_with(['{', ' ']))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    pub async fn leads(&self) -> bool {
        self.metric("bookstore_operator_leader", "").await == 1.0
    }

    /// Whether the process has ended (noting when it was first seen ended).
    pub fn has_exited(&mut self) -> bool {
        let ended = matches!(self.child.try_wait(), Ok(Some(_)));
        if ended && self.exited_at.is_none() {
            self.exited_at = Some(Instant::now());
        }
        ended
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time the process has used so far (user + system).
    pub fn cpu_time(&self) -> Duration {
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // Fields after the command name (which may hold spaces): utime and stime are 12th and 13th.
        let fields: Vec<u64> = stat
            .rsplit_once(')')
            .map(|(_, rest)| {
                rest.split_whitespace()
                    .filter_map(|f| f.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let ticks = fields.get(10).unwrap_or(&0) + fields.get(11).unwrap_or(&0);
        Duration::from_millis(ticks * 10)
    }

    /// The exit code once ended, waiting up to `timeout`.
    pub async fn exit_code(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// SIGTERM, as Kubernetes stops a pod.
    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = self.log_text();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            eprintln!("--- last lines of {} ---", self.identity);
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A TCP proxy to the API server that the test can cut, to cut one operator off.
pub struct Proxy {
    pub addr: SocketAddr,
    connections: Arc<Mutex<JoinSet<()>>>,
    accepting: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn to(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(Mutex::new(JoinSet::new()));
        let tasks = Arc::clone(&connections);
        let accepting = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                tasks.lock().unwrap().spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self {
            addr,
            connections,
            accepting,
        }
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.accepting.abort();
        self.connections.lock().unwrap().abort_all();
    }
}

/// The API server's address, from the admin kubeconfig.
pub fn api_server_addr(cluster: &Cluster) -> SocketAddr {
    let server = cluster.kubectl(&[
        "config",
        "view",
        "--minify",
        "-o",
        "jsonpath={.clusters[0].cluster.server}",
    ]);
    let authority = server.trim().trim_start_matches("https://");
    let authority = authority.split('/').next().unwrap_or(authority);
    use std::net::ToSocketAddrs;
    let with_port = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:443")
    };
    with_port.to_socket_addrs().unwrap().next().unwrap()
}

/// Polls `check` every 200 ms until it yields a value; panics after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
