//! Start-up and shutdown: bind, serve, bring the database up in the background, drain on signals.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpServer;
use actix_web::dev::Server;

use crate::config::Config;
use crate::http::{self, AppState, Limiters, WriteAccess};
use crate::store::{self, BookStore, StoreError};

const FIRST_RETRY: Duration = Duration::from_millis(250);
const LONGEST_RETRY: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A bound, not yet running server.
pub struct Application {
    server: Server,
    addr: SocketAddr,
    store: Arc<dyn BookStore>,
}

impl Application {
    /// Binds the socket and starts preparing the database; serves once awaited.
    /// Must be called inside the actix (tokio) runtime that will run it.
    pub fn build(config: &Config) -> Result<Self, StartupError> {
        let store = store::connect_lazy(&config.database, &config.pool)?;
        let write_access = WriteAccess::new(&config.write_tokens);
        if write_access.is_open() {
            tracing::warn!(
                "writes are open: no write tokens are configured (API_WRITE_TOKENS or API_WRITE_TOKENS_FILE), so anyone who reaches the API may add, change and delete books"
            );
        }
        let state = AppState::new(Arc::clone(&store))
            .with_allowed_origins(&config.cors_allowed_origins)
            .with_write_access(write_access)
            .with_limiters(Limiters::new(&config.rate_limits));
        actix_web::rt::spawn(prepare_database(state.clone()));
        actix_web::rt::spawn(forget_quiet_clients(state.clone()));

        let bind_error = |source| StartupError::Bind {
            addr: config.bind_addr,
            source,
        };
        let server = HttpServer::new(move || http::app(state.clone()))
            .bind(config.bind_addr)
            .map_err(bind_error)?;
        let addr = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| bind_error(io::Error::other("no address bound")))?;
        // actix stops accepting on SIGTERM/SIGINT, then gives in-flight requests this long.
        let server = server
            .shutdown_timeout(config.shutdown_timeout.as_secs())
            .run();
        Ok(Self {
            server,
            addr,
            store,
        })
    }

    /// The address actually bound (port 0 in the configuration picks a free one).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until a shutdown signal (or a handle's stop) has drained the requests, then closes
    /// the database pool.
    pub async fn run_until_stopped(self) -> io::Result<()> {
        tracing::info!(addr = %self.addr, "listening");
        let result = self.server.await;
        self.store.close().await;
        tracing::info!("stopped");
        result
    }
}

/// Migrates the database, retrying with backoff for as long as it takes: a database that comes up
/// after the API must not crash-loop it. `/readyz` answers 503 until this succeeds.
async fn prepare_database(state: AppState) {
    let mut delay = FIRST_RETRY;
    loop {
        match state.store.migrate().await {
            Ok(()) => {
                state.mark_database_ready();
                tracing::info!("database ready");
                return;
            }
            Err(error) => {
                tracing::warn!(error = %error, retry_in_ms = delay.as_millis(), "database not ready");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(LONGEST_RETRY);
            }
        }
    }
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
