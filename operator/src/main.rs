//! `bookstore-operator`: command line wiring only.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use bookstore_telemetry::LogFormat;
use clap::{Parser, Subcommand};
use kube::CustomResourceExt;
use kube::runtime::events::{Recorder, Reporter};

use bookstore_operator::crd::Bookstore;
use bookstore_operator::leader::Leadership;
use bookstore_operator::metrics::Metrics;
use bookstore_operator::reconcile::Context;
use bookstore_operator::{controller, render, server};

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
    /// Print the RBAC rules the operator needs (ClusterRole, and a Role for its Lease) as YAML.
    Rbac,
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
    /// Namespace of the Lease (the operator's own namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "bookstore-system")]
    lease_namespace: String,
    /// This replica's identity in the election and in Events (the pod name).
    #[arg(long, env = "POD_NAME", default_value = "bookstore-operator")]
    pod_name: String,
    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "pretty")]
    log_format: LogFormat,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Crd => match yaml_serde::to_string(&Bookstore::crd()) {
            Ok(yaml) => print_out(&yaml),
            Err(error) => fail(&format!("cannot print the CRD: {error}")),
        },
        Command::Rbac => match bookstore_operator::rbac::manifests() {
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
            match actix_web::rt::System::new().block_on(run(args)) {
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
    let metrics = Arc::new(Metrics::default());
    let state = server::State {
        metrics: Arc::clone(&metrics),
        ready: Arc::default(),
        bookstores: Arc::new(OnceLock::new()),
    };
    let http = server::serve(args.metrics_addr, state.clone())
        .map_err(|e| format!("cannot listen on {}: {e}", args.metrics_addr))?;
    let http_handle = http.handle();
    actix_web::rt::spawn(http);

    let client = controller::client(Arc::clone(&metrics))
        .await
        .map_err(|e| format!("no Kubernetes configuration: {e}"))?;
    state.ready.store(true, Ordering::Release);

    let reporter = Reporter {
        controller: "bookstore-operator".to_owned(),
        instance: Some(args.pod_name.clone()),
    };
    let context = Arc::new(Context::new(
        client.clone(),
        Recorder::new(client.clone(), reporter),
        metrics,
    ));
    let store_out = |store| {
        let _ = state.bookstores.set(store);
    };
    let outcome = if args.leader_election {
        let leadership = Leadership::acquire(
            client,
            &args.lease_namespace,
            &args.lease_name,
            &args.pod_name,
        )
        .await
        .map_err(|e| format!("leader election failed: {e}"))?;
        let stopped_by_loss = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&stopped_by_loss);
        controller::run(context, store_out, async move {
            leadership.lost().await;
            flag.store(true, Ordering::Release);
        })
        .await;
        if stopped_by_loss.load(Ordering::Acquire) {
            Err(
                "leadership lost; exiting so that a fresh replica can stand for election"
                    .to_owned(),
            )
        } else {
            Ok(())
        }
    } else {
        controller::run(context, store_out, std::future::pending()).await;
        Ok(())
    };
    http_handle.stop(true).await;
    outcome
}
