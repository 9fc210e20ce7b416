//! `bookstore-operator`: command line wiring only.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bookstore_telemetry::LogFormat;
use clap::{Parser, Subcommand};
use kube::runtime::events::{Recorder, Reporter};

use bookstore_operator::children::RollKey;
use bookstore_operator::controller::Scope;
use bookstore_operator::leader::{self, Candidate};
use bookstore_operator::metrics::Metrics;
use bookstore_operator::reconcile::Context;
use bookstore_operator::{controller, crd, rbac, render, server};

#[derive(Parser)]
#[command(name = "bookstore-operator", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controller (in-cluster configuration, or KUBECONFIG).
    Run(RunArgs),
    /// Print the Bookstore CustomResourceDefinition as YAML.
    Crd,
    /// Print the RBAC roles of the install as YAML: the operator's (a ClusterRole, or with
    /// --namespaced a Role for each watched namespace), its Lease's, and the aggregated
    /// bookstore-view and bookstore-edit ClusterRoles for tenants.
    Rbac {
        /// The namespaced install's roles (deploy/operator-namespaced).
        #[arg(long)]
        namespaced: bool,
    },
    /// Print, without a cluster, the objects the operator would apply for a Bookstore file.
    Render {
        /// The Bookstore manifest (YAML); `-` reads standard input.
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        /// Namespace for a Bookstore whose metadata names none.
        #[arg(short, long, default_value = "default")]
        namespace: String,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Address of the /healthz, /readyz and /metrics endpoints.
    #[arg(long, env = "METRICS_ADDR", default_value = "0.0.0.0:8080")]
    metrics_addr: SocketAddr,
    /// Elect a leader on a Lease, so that only one replica reconciles.
    #[arg(long, env = "LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set)]
    leader_election: bool,
    /// Name of the leader election Lease.
    #[arg(long, env = "LEASE_NAME", default_value = "bookstore-operator")]
    lease_name: String,
    /// Namespace of the Lease (the operator's own namespace) [default: the kubeconfig's namespace]
    #[arg(long, env = "POD_NAMESPACE")]
    lease_namespace: Option<String>,
    /// Seconds a Lease not seen to change stays held (then another replica may take it).
    #[arg(long, env = "LEASE_DURATION_SECS", default_value_t = 15)]
    lease_duration_secs: u64,
    /// Seconds the leader keeps trying to renew before it steps down (less than the lease
    /// duration).
    #[arg(long, env = "LEASE_RENEW_DEADLINE_SECS", default_value_t = 10)]
    lease_renew_deadline_secs: u64,
    /// Seconds between renewals, and between a standby's looks (less than the renew deadline).
    #[arg(long, env = "LEASE_RETRY_PERIOD_SECS", default_value_t = 3)]
    lease_retry_period_secs: u64,
    /// This replica's identity in the election and in Events (the pod name) [default: host name
    /// and a random suffix]
    #[arg(long, env = "POD_NAME")]
    pod_name: Option<String>,
    /// Bookstores reconciled at the same time.
    #[arg(long, env = "CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,
    /// Seconds an autoscaler without metrics, or a load balancer without an address, may last
    /// before the Bookstore reports it (both are normal for a while after creation).
    #[arg(long, env = "PROBLEM_GRACE_SECS", default_value_t = 300)]
    problem_grace_secs: u64,
    /// The key for the pod-template digests of the Secret values Bookstores reference (at
    /// least 32 bytes). Keep it: a new key rolls every Bookstore's pods once.
    #[arg(
        long,
        env = "ROLL_KEY_FILE",
        default_value = "/var/run/secrets/bookstore-operator/roll-key/key"
    )]
    roll_key_file: PathBuf,
    /// Namespaces to watch, comma-separated (the namespaced install) [default: every namespace]
    #[arg(long, env = "WATCH_NAMESPACES", value_delimiter = ',')]
    watch_namespaces: Vec<String>,
    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "pretty")]
    log_format: LogFormat,
}

/// The roll key, or what to do to have one (in `namespace`, the operator's own).
fn roll_key(path: &std::path::Path, namespace: &str) -> Result<RollKey, String> {
    let create = format!(
        "create it once with: kubectl -n {namespace} create secret generic \
bookstore-operator-roll-key --from-literal=key=\"$(head -c 32 /dev/urandom | base64)\""
    );
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "cannot read the roll key {} (ROLL_KEY_FILE): {e}; {create}",
            path.display()
        )
    })?;
    RollKey::new(&bytes).map_err(|e| format!("{} (ROLL_KEY_FILE): {e}", path.display()))
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Crd => match crd::definition()
            .map_err(|e| e.to_string())
            .and_then(|crd| yaml_serde::to_string(&crd).map_err(|e| e.to_string()))
        {
            Ok(yaml) => print_out(&yaml),
            Err(error) => fail(&format!("cannot print the CRD: {error}")),
        },
        Command::Rbac { namespaced } => match bookstore_operator::rbac::manifests(if namespaced {
            rbac::Install::Namespaced
        } else {
            rbac::Install::Cluster
        }) {
            Ok(yaml) => print_out(&yaml),
            Err(error) => fail(&format!("cannot print the RBAC rules: {error}")),
        },
        Command::Render { file, namespace } => {
            let input = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(&file)
            };
            match input.map_err(|e| format!("cannot read {}: {e}", file.display())) {
                Ok(yaml) => match render::render(&yaml, &namespace) {
                    Ok(out) => print_out(&out),
                    Err(error) => fail(&format!("{}: {error}", file.display())),
                },
                Err(message) => fail(&message),
            }
        }
        Command::Run(args) => {
            bookstore_telemetry::init(args.log_format);
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => return fail(&format!("cannot start the runtime: {error}")),
            };
            match runtime.block_on(run(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => fail(&message),
            }
        }
    }
}

/// Writes to standard output; a closed pipe (`| head`) is not an error worth a panic.
fn print_out(text: &str) -> ExitCode {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => fail(&format!("cannot write output: {error}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

async fn run(args: RunArgs) -> Result<(), String> {
    let timings = leader::Timings::from_secs(
        args.lease_duration_secs,
        args.lease_renew_deadline_secs,
        args.lease_retry_period_secs,
    )?;
    let metrics = Arc::new(Metrics::default());
    let listener = tokio::net::TcpListener::bind(args.metrics_addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.metrics_addr))?;
    let identity = args.pod_name.unwrap_or_else(leader::default_identity);
    let client = controller::client(Arc::clone(&metrics), &identity)
        .await
        .map_err(|e| format!("no Kubernetes configuration: {e}"))?;
    let roll_key = roll_key(
        &args.roll_key_file,
        args.lease_namespace
            .as_deref()
            .unwrap_or("bookstore-system"),
    )?;
    let pod_monitors_served = controller::serves_pod_monitors(&client).await;
    let scopes = Scope::from_list(&args.watch_namespaces);
    tracing::info!(scopes = ?scopes, "watching");

    let ready = Arc::new(AtomicBool::new(false));
    let reporter = Reporter {
        controller: "bookstore-operator".to_owned(),
        instance: Some(identity.clone()),
    };
    let (stop_controllers, controllers_stopped) = tokio::sync::watch::channel(false);
    let mut all_caches = Vec::new();
    let mut controllers = Vec::new();
    for scope in &scopes {
        let (caches, watches) = controller::watch(&client, &metrics, scope, pod_monitors_served);
        all_caches.push(caches.clone());
        let context = Arc::new(
            Context::new(
                client.clone(),
                Recorder::new(client.clone(), reporter.clone()),
                Arc::clone(&metrics),
                caches,
                roll_key.clone(),
            )
            .with_problem_grace(std::time::Duration::from_secs(args.problem_grace_secs)),
        );
        let mut stopped = controllers_stopped.clone();
        // Started once this replica leads; then it runs on the runtime's worker threads.
        controllers.push(controller::run(
            context,
            watches,
            args.concurrency,
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            },
        ));
    }
    // Each namespace's controller on a task of its own (they run in parallel); aborting this
    // task drops the set, which aborts them all.
    let controller = async move {
        let mut tasks = tokio::task::JoinSet::new();
        for controller in controllers {
            tasks.spawn(controller);
        }
        while tasks.join_next().await.is_some() {}
    };

    let state = server::State {
        metrics: Arc::clone(&metrics),
        ready: Arc::clone(&ready),
        bookstores: all_caches.iter().map(|c| c.bookstores.clone()).collect(),
    };
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let http = tokio::spawn(server::serve(listener, state, async {
        let _ = http_stopped.await;
    }));
    // Ready: a standby once it has read the Lease (it can take over), the leader once every
    // cache has listed (it can reconcile).
    let caches_synced = {
        let ready = Arc::clone(&ready);
        async move {
            futures_util::future::join_all(all_caches.iter().map(|c| c.ready())).await;
            ready.store(true, Ordering::Release);
            tracing::info!("caches synced");
        }
    };
    let signal = shutdown_signal();
    tokio::pin!(signal);

    let mut leadership = if args.leader_election {
        let namespace = args
            .lease_namespace
            .unwrap_or_else(|| client.default_namespace().to_owned());
        let candidate = Candidate::new(client.clone(), &namespace, &args.lease_name, &identity)
            .reporting_contact(Arc::clone(&ready))
            .with_timings(timings);
        tokio::select! {
            led = candidate.lead() => Some(led.map_err(|e| e.to_string())?),
            () = &mut signal => return Ok(()),
        }
    } else {
        None
    };
    metrics.set_leader(true);
    ready.store(false, Ordering::Release);
    let synced = tokio::spawn(caches_synced);
    let mut controller = tokio::spawn(controller);
    let lost = async {
        match leadership.as_mut() {
            Some(leadership) => leadership.lost().await,
            None => std::future::pending().await,
        }
    };
    let outcome = tokio::select! {
        _ = &mut controller => Ok(()),
        // Stop at once: aborting the controller cancels reconciles in flight.
        reason = lost => {
            controller.abort();
            Err(format!(
                "leadership lost ({reason}); exiting so that a fresh replica can stand for election"
            ))
        }
        () = &mut signal => {
            let _ = stop_controllers.send(true);
            let _ = controller.await;
            Ok(())
        }
    };
    // Stopped on purpose: hand the Lease to a standby at once.
    if outcome.is_ok()
        && let Some(leadership) = leadership
    {
        leadership.release().await;
    }
    synced.abort();
    metrics.set_leader(false);
    let _ = stop_http.send(());
    let _ = http.await;
    outcome
}

/// SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(stream) => stream,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutting down");
}
