//! Start-up and shutdown: bind, serve, bring the database up in the background, drain on signals.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::HttpServer;
use actix_web::dev::Server;

use crate::config::Config;
use crate::http::{self, AppState, Endpoints, Limiters, WriteAccess};
use crate::store::{self, BookStore, DatabaseHealth, Guarded, StoreError};

const FIRST_RETRY: Duration = Duration::from_millis(250);
const LONGEST_RETRY: Duration = Duration::from_secs(15);
/// How often a shutdown looks whether every connection has closed.
const CONNECTIONS_POLL: Duration = Duration::from_millis(50);

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A bound, not yet running server.
pub struct Application {
    public: Server,
    /// The public listener's connections now open.
    connections: Arc<AtomicUsize>,
    shutdown_timeout: Duration,
    /// The probes and metrics, when they have an address of their own.
    operations: Option<Server>,
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    state: AppState,
}

impl Application {
    /// Binds the sockets and starts preparing the database; serves once awaited.
    /// Must be called inside the actix (tokio) runtime that will run it.
    pub fn build(config: &Config) -> Result<Self, StartupError> {
        let health = Arc::new(DatabaseHealth::default());
        let store: Arc<dyn BookStore> = Arc::new(Guarded::new(
            store::connect_lazy(&config.database, &config.pool)?,
            Arc::clone(&health),
            config.pool.timeout,
        ));
        let write_access = WriteAccess::new(&config.write_tokens);
        if write_access.is_open() {
            tracing::warn!(
                "writes are open: no write tokens are configured (API_WRITE_TOKENS or API_WRITE_TOKENS_FILE), so anyone who reaches the API may add, change and delete books"
            );
        }
        let state = AppState::new(store)
            .with_database_health(health)
            .with_allowed_origins(&config.cors_allowed_origins)
            .with_write_access(write_access)
            .with_limiters(Limiters::new(&config.rate_limits));
        actix_web::rt::spawn(prepare_database(state.clone()));
        actix_web::rt::spawn(forget_quiet_clients(state.clone()));

        let public_endpoints = if config.metrics_addr.is_some() {
            Endpoints::Public
        } else {
            Endpoints::All
        };
        let connections = Arc::new(AtomicUsize::new(0));
        let (public, addr) = serve(
            &state,
            public_endpoints,
            config.bind_addr,
            config,
            Some(&connections),
        )?;
        let (operations, metrics_addr) = match config.metrics_addr {
            Some(metrics_addr) => {
                let (server, addr) =
                    serve(&state, Endpoints::Operations, metrics_addr, config, None)?;
                (Some(server), Some(addr))
            }
            None => (None, None),
        };
        Ok(Self {
            public,
            connections,
            shutdown_timeout: config.shutdown_timeout,
            operations,
            addr,
            metrics_addr,
            state,
        })
    }

    /// The address actually bound (port 0 in the configuration picks a free one).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of the probes and metrics, when apart from the API's.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Serves until SIGTERM or Ctrl-C (or a handle's stop), then shuts down without dropping a
    /// request: readiness fails and every answer closes its connection, so that clients reconnect
    /// (to other replicas, behind a Service). Once every connection has closed (each after its next
    /// answer, or when idle for keep-alive's 5 s) it stops accepting and lets what is still in
    /// flight finish, all within `SHUTDOWN_TIMEOUT_SECS`; the probes answer until then. Then the
    /// database pool is closed.
    pub async fn run_until_stopped(self) -> io::Result<()> {
        tracing::info!(addr = %self.addr, metrics_addr = self.metrics_addr.map(|a| a.to_string()), "listening");
        let public_handle = self.public.handle();
        // A server runs while it is polled: both run on their own while this waits for a signal.
        let mut public = actix_web::rt::spawn(self.public);
        let operations = self
            .operations
            .map(|server| (server.handle(), actix_web::rt::spawn(server)));
        let result = tokio::select! {
            result = &mut public => result,
            () = shutdown_signal() => {
                self.state.begin_shutdown();
                tracing::info!("shutting down: finishing the requests in flight");
                // actix drops idle kept-alive connections when it stops, so a client's next
                // request could meet a closed socket: each is given its answer and its close.
                let deadline = tokio::time::Instant::now() + self.shutdown_timeout;
                while self.connections.load(Ordering::Acquire) > 0
                    && tokio::time::Instant::now() < deadline
                {
                    tokio::time::sleep(CONNECTIONS_POLL).await;
                }
                // What is still in flight gets the rest of the time, not a full timeout again.
                if tokio::time::timeout_at(deadline, public_handle.stop(true)).await.is_err() {
                    tracing::warn!("shutdown timeout reached: closing the connections left");
                    public_handle.stop(false).await;
                }
                public.await
            }
        };
        if let Some((handle, server)) = operations {
            handle.stop(true).await;
            let _ = server.await;
        }
        self.state.store.close().await;
        tracing::info!("stopped");
        result.unwrap_or_else(|join| Err(io::Error::other(join)))
    }
}

/// Counts a connection while it is open (its on-connect data lives as long as it does).
struct OpenConnection(Arc<AtomicUsize>);

impl OpenConnection {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(count))
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One listener of the application; `connections` counts its open connections.
fn serve(
    state: &AppState,
    endpoints: Endpoints,
    addr: SocketAddr,
    config: &Config,
    connections: Option<&Arc<AtomicUsize>>,
) -> Result<(Server, SocketAddr), StartupError> {
    let bind_error = |source| StartupError::Bind { addr, source };
    let state = state.clone();
    let connections = connections.cloned();
    let server = HttpServer::new(move || http::app(state.clone(), endpoints))
        .on_connect(move |_, extensions| {
            if let Some(count) = &connections {
                extensions.insert(OpenConnection::new(count));
            }
        })
        // The probes and metrics need no more than one worker thread.
        .workers(if endpoints == Endpoints::Operations {
            1
        } else {
            num_workers()
        })
        .bind(addr)
        .map_err(bind_error)?;
    let bound = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| bind_error(io::Error::other("no address bound")))?;
    // Signals are handled by `run_until_stopped`, which drains before stopping.
    let server = server
        .disable_signals()
        .shutdown_timeout(config.shutdown_timeout.as_secs())
        .run();
    Ok((server, bound))
}

/// actix's default: one worker per CPU the process may use.
fn num_workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// Migrates the database, retrying with backoff for as long as it takes: a database that comes up
/// after the API must not crash-loop it. `/readyz` answers 503 until this succeeds; then the
/// database is checked every second for as long as the process runs.
async fn prepare_database(state: AppState) {
    let mut delay = FIRST_RETRY;
    loop {
        match state.store.migrate().await {
            Ok(()) => {
                // The migration reached the database: requests need not wait for the first check.
                state.database_health.record(&Ok(()));
                state.mark_database_ready();
                tracing::info!("database ready");
                break;
            }
            Err(error) => {
                tracing::warn!(error = %error, retry_in_ms = delay.as_millis(), "database not ready");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(LONGEST_RETRY);
            }
        }
    }
    store::watch(state.store.as_ref(), &state.database_health).await;
}

/// The rate limiters keep a state per client address; clients back at full allowance go.
async fn forget_quiet_clients(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        every.tick().await;
        state.limiters.forget_quiet_clients();
    }
}

/// `bookstore-api migrate`: one attempt, a clear error when it fails.
pub async fn migrate(config: &Config) -> Result<(), StoreError> {
    let store = store::connect_lazy(&config.database, &config.pool)?;
    let result = store.migrate().await;
    store.close().await;
    result
}
